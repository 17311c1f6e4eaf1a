package merge

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/minheap"
	"github.com/meguri/meguri/lib/manifest"
)

// Ranges cuts [lo, hi] at the given keys: each cut key starts a new range.
// Cuts must increase strictly and lie in (lo, hi].
func Ranges(lo, hi uint64, cuts []uint64, firstID uint64) ([]Output, error) {
	outs := make([]Output, 0, len(cuts)+1)
	start := lo
	for i, c := range cuts {
		if c <= start || c > hi {
			if i > 0 && c <= cuts[i-1] {
				return nil, fmt.Errorf("cut keys must increase: 0x%016x after 0x%016x", c, cuts[i-1])
			}
			return nil, fmt.Errorf("cut key 0x%016x is outside the range 0x%016x..0x%016x (a cut starts a new range, so it must lie above the low end)", c, lo, hi)
		}
		outs = append(outs, Output{ID: firstID + uint64(i), Lo: start, Hi: c - 1})
		start = c
	}
	return append(outs, Output{ID: firstID + uint64(len(cuts)), Lo: start, Hi: hi}), nil
}

type blockRef struct {
	name  string // the file's, for errors
	file  *codec.File
	index int
	info  *codec.BlockInfo
	cum   uint64 // rows in the blocks before this one
}

// EvenCuts chooses n-1 cut keys that divide the rows of the inputs into n
// ranges of close to equal row counts, never inside a host. It reads only
// the zone maps, and decodes just the blocks where the cuts fall (damage
// there is named with the input's path). Fewer cuts come back only when
// there are fewer hosts than ranges, or, rarely, for inputs whose ranges
// overlap (a fold): a place between two hosts of different inputs that
// no input's own host changes reach is not seen without folding.
func EvenCuts(ins []*Input, n int) ([]uint64, error) {
	if n < 1 {
		return nil, errors.New("split: need at least 1 range")
	}
	var refs []blockRef
	for _, in := range ins {
		f := in.File
		for i := range f.Blocks {
			refs = append(refs, blockRef{name: in.Path, file: f, index: i, info: &f.Blocks[i]})
		}
	}
	if len(refs) == 0 {
		if n == 1 {
			return nil, nil
		}
		return nil, errors.New("split: the input has no rows to divide")
	}
	// No more ranges than hosts, since a host is never cut: a --split of
	// ten million (a typo) looked for cuts that cannot be, for minutes.
	var hosts uint64
	for _, in := range ins {
		hosts += in.File.Stats.Hosts
	}
	n = int(min(uint64(n), max(hosts, 1)))
	slices.SortStableFunc(refs, func(a, b blockRef) int { return cmp.Compare(a.info.FirstHost, b.info.FirstHost) })
	var total uint64
	for i := range refs {
		refs[i].cum = total
		total += uint64(refs[i].info.Rows)
	}
	s := &cutter{refs: refs, cands: map[int]*kept{}}
	for i, a := range ins {
		for _, b := range ins[:i] {
			if a.File.Header.Lo <= b.File.Header.Hi && b.File.Header.Lo <= a.File.Header.Hi {
				s.overlap = true
			}
		}
	}
	start, end := cutAt{}, cutAt{pos: total, key: ^uint64(0), end: true}
	var cuts []cutAt
	for k := 1; k < n; k++ {
		target := total * uint64(k) / uint64(n)
		cut, ok, err := s.nearest(target, start, end)
		if err != nil {
			return nil, err
		}
		if ok && (len(cuts) == 0 || cuts[len(cuts)-1].leaves(cut.below, cut.key)) {
			cuts = append(cuts, cut)
		}
	}
	// A host bigger than a range's share draws the targets on either
	// side of it to the same host change, which leaves fewer ranges than
	// asked. Cut the biggest range that holds more than one host (the
	// first of the biggest, in key order) at the change nearest its
	// middle, until there are n (as route balance gives n partitions
	// whenever there are n hosts). The ranges wait in a heap: looking
	// through all of them for each cut took a split of a file into 30,000
	// ranges tens of seconds.
	type span struct{ lo, hi cutAt }
	spans := minheap.New(func(a, b span) bool {
		if sa, sb := rowsBetween(a.lo, a.hi), rowsBetween(b.lo, b.hi); sa != sb {
			return sa > sb
		}
		return a.lo.key < b.lo.key
	})
	for i := 0; i <= len(cuts) && len(cuts) < n-1; i++ {
		l, h := start, end
		if i > 0 {
			l = cuts[i-1]
		}
		if i < len(cuts) {
			h = cuts[i]
		}
		spans.Push(span{l, h})
	}
	for len(cuts) < n-1 && spans.Len() > 0 {
		sp := spans.Pop()
		cut, ok, err := s.nearest(sp.lo.pos+rowsBetween(sp.lo, sp.hi)/2, sp.lo, sp.hi)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // one host: it stays whole
		}
		cuts = append(cuts, cut)
		spans.Push(span{sp.lo, cut})
		spans.Push(span{cut, sp.hi})
	}
	slices.SortFunc(cuts, func(a, b cutAt) int { return cmp.Compare(a.key, b.key) })
	keys := make([]uint64, len(cuts))
	for i, c := range cuts {
		keys[i] = c.key
	}
	return keys, nil
}

// cutAt is a cut: its key, the host just below it, and the rows that lie
// before it. The ends of the input are cuts too, the last with end set
// (its key is no cut).
type cutAt struct {
	pos, key, below uint64
	end             bool
	atHost          bool // key is a host's own (cutKey over folded inputs)
}

// leaves reports whether a cut at key, above host below, leaves a host
// between it and the lower cut c: below itself, or c's own host.
func (c cutAt) leaves(below, key uint64) bool {
	return below >= c.key || c.atHost && key > c.key
}

// cutKey is where a cut at host change c starts the upper range: midway
// between the two hosts (manifest.CutBetween), so that hosts not seen yet
// fall evenly on either side; over folded inputs, at the upper host
// itself. There another input's host may lie between a and b, on either
// side of a midpoint; a cut at b leaves it below, and a range whose lower
// cut is a host holds that host (leaves), so the changes of all the
// inputs together reach nearly every place between two hosts of the fold.
func (s *cutter) cutKey(c *candidate) uint64 {
	if s.overlap {
		return c.b
	}
	return manifest.CutBetween(c.a, c.b)
}

// rowsBetween is about how many rows lie between two cuts (for folded
// inputs, whose positions are estimates, never below zero).
func rowsBetween(lo, hi cutAt) uint64 {
	if hi.pos < lo.pos {
		return 0
	}
	return hi.pos - lo.pos
}

// between reports whether cutting at host change c leaves a host on
// either side of it between the cuts lo and hi. (Folded inputs have
// host changes of their own: two cuts between one pair of hosts would
// leave a range with no row.)
func (s *cutter) between(c *candidate, lo, hi cutAt) bool {
	return lo.leaves(c.a, s.cutKey(c)) && (hi.end || c.b < hi.key)
}

// keptBytes bounds the host changes a cutter keeps (a candidate is 24
// bytes): a split of a big file into many ranges would otherwise hold
// every block's at once. Past it, the blocks used longest ago go first.
// It kept 16 blocks, oldest first, before: a split into 10,000 ranges of
// a file of 33 blocks decoded blocks thousands of times over, half its
// time, as the search for the ranges left short jumps over the file.
var keptBytes = 64 << 20

const candidateSize = 24

type cutter struct {
	refs  []blockRef
	cands map[int]*kept // host changes of the blocks looked at last
	held  int           // bytes of candidates in cands
	tick  uint64        // counts lookups, for the last use of each block
	// overlap is set when the inputs' ranges overlap (a fold): a row
	// position is then only an estimate, and blocks of one key span lie
	// apart in refs, so a search looks at every block
	overlap bool
}

// kept is a block's host changes and when they were last looked up.
type kept struct {
	cands []candidate
	used  uint64
}

// candidate is a place between two hosts: pos rows lie before it, the last
// of them in host a, the next row in host b > a.
type candidate struct {
	pos  uint64
	a, b uint64
}

// edges lists the host changes at the start of block j and inside it.
// The list is shared: callers only read it.
func (s *cutter) edges(j int) ([]candidate, error) {
	s.tick++
	if k, ok := s.cands[j]; ok {
		k.used = s.tick
		return k.cands, nil
	}
	r := s.refs[j]
	var out []candidate
	if j > 0 {
		prev := s.refs[j-1].info.LastHost
		if prev < r.info.FirstHost {
			out = append(out, candidate{pos: r.cum, a: prev, b: r.info.FirstHost})
		}
	}
	if r.info.Hosts > 1 {
		b, err := r.file.ReadBlock(r.index)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		recs, err := b.Decode()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		for i := 1; i < len(recs); i++ {
			if a, b := recs[i-1].HostKey, recs[i].HostKey; a != b {
				out = append(out, candidate{pos: r.cum + uint64(i), a: a, b: b})
			}
		}
	}
	for s.held+len(out)*candidateSize > keptBytes && len(s.cands) > 0 {
		oldest, at := uint64(0), -1
		for i, k := range s.cands {
			if at < 0 || k.used < oldest {
				oldest, at = k.used, i
			}
		}
		s.held -= len(s.cands[at].cands) * candidateSize
		delete(s.cands, at)
	}
	s.cands[j] = &kept{cands: out, used: s.tick}
	s.held += len(out) * candidateSize
	return out, nil
}

// nearest finds the host change closest to row position target among
// those that leave a host on either side between the cuts lo and hi, and
// returns it as a cut (at manifest.CutBetween the two hosts).
func (s *cutter) nearest(target uint64, lo, hi cutAt) (cutAt, bool, error) {
	at := func(pos uint64) int {
		return max(sort.Search(len(s.refs), func(i int) bool { return s.refs[i].cum > pos })-1, 0)
	}
	first, last := at(lo.pos), at(hi.pos)
	if s.overlap {
		first, last = 0, len(s.refs)-1
	}
	j := min(max(at(target), first), last)
	var best cutAt
	found := false
	dist := func(pos uint64) uint64 {
		if pos > target {
			return pos - target
		}
		return target - pos
	}
	// Look outward from the target's block until a host change turns up,
	// then one ring further, which may still hold a closer one.
	extra := -1
	for d := 0; (j-d >= first || j+d+1 <= last) && extra != 0; d++ {
		for _, i := range []int{j - d, j + d + 1} {
			if i < first || i > last {
				continue
			}
			cs, err := s.edges(i)
			if err != nil {
				return cutAt{}, false, err
			}
			for k := range cs {
				c := &cs[k]
				if found && dist(c.pos) >= dist(best.pos) {
					continue
				}
				if s.between(c, lo, hi) {
					best, found = cutAt{pos: c.pos, key: s.cutKey(c), below: c.a, atHost: s.overlap}, true
				}
			}
		}
		switch {
		case extra > 0:
			extra--
		case found && extra < 0:
			extra = 1
		}
	}
	return best, found, nil
}
