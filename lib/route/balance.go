package route

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/internal/memlimit"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/units"
)

// HostCount is one host's distinct URLs.
type HostCount struct {
	Key  uint64
	URLs uint64
	Name string // the grouping string (registrable domain or host)
}

// CountOptions configure CountHosts.
type CountOptions struct {
	// Grouping keys the hosts of CDX inputs; a .meguri input must have
	// been written with the same one.
	Grouping canon.Grouping
	MaxLine  int
	Workers  int
	// Memory bounds the URL keys held (16 bytes per capture); past it they
	// spill, sorted and unique, to TmpDir. 0 means 256 MiB.
	Memory int64
	TmpDir string
	// Progress, when set, is called now and then with the CDX lines and
	// input bytes read so far, and the bytes read from the inputs as
	// stored (see cdx.Batch.Raw).
	Progress func(lines, bytes, raw int64)
	// Sorting, when set, is called once after the reading, with the URL
	// keys gathered (a CDX line taken is one; so is a .meguri row, when
	// the inputs make the rows counted by key), before they are sorted and
	// counted (the shape of extsort.Sorter.Progress, stage "sort").
	Sorting func(stage string, done, total int64)
	// Layout is the fields of space-separated lines and Wayback JSON rows
	// that come without a legend (cdx.PipelineConfig.Layout).
	Layout string
}

// CountHosts reads CDX lines, .meguri files or live partition directories
// and counts the distinct canonical URLs of each host, sorted by host key.
// Lines ingest would reject are skipped and counted in rejected. For CDX it
// keeps 16 bytes per capture, spilling past opt.Memory. .meguri inputs that
// own disjoint ranges hold each URL once, so a count per host is exact;
// where inputs may share URLs (.meguri ranges that overlap, or CDX beside
// them) the rows take the CDX lines' distinct count too, so that a URL in
// two inputs (a retired file of an earlier layout caught by a glob,
// whole-range files of a fan-out) counts once.
func CountHosts(inputs []string, opt CountOptions) (hosts []HostCount, rejected int64, err error) {
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = 1 << 20
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Memory <= 0 {
		opt.Memory = 256 << 20
	}
	var cdxIn []string
	var megs []megInput
	for _, in := range inputs {
		m, ok, err := sniffInput(in)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			cdxIn = append(cdxIn, in)
			continue
		}
		megs = append(megs, m)
	}
	// Hosts are appended as they come in key order: a .meguri input's
	// rows, or the key set's distinct keys. No map of counts: a crawl's
	// sample has tens of millions of hosts.
	names := newHostNames()
	// A .meguri input whose range meets another's, or any beside CDX,
	// may share URLs: its rows go through the key set. One that meets no
	// other holds hosts no other input has, and counts per host.
	shared := overlapping(megs)
	var all *keySet
	if len(cdxIn) > 0 || slices.Contains(shared, true) {
		all = newKeySet(opt.Memory, opt.TmpDir)
		defer all.discard()
	}
	// one read buffer and one batch of keys for every .meguri input: a
	// 1 MiB buffer of its own for each of 30,000 files took most of a
	// balance over them
	scratch := &meguriScratch{br: bufio.NewReaderSize(nil, 1<<20)}
	for i, m := range megs {
		keys := all
		if len(cdxIn) == 0 && !shared[i] {
			keys = nil
		}
		if hosts, err = countMeguri(m, opt.Grouping, hosts, keys, names, scratch); err != nil {
			return nil, 0, err
		}
	}
	if len(cdxIn) > 0 {
		if rejected, err = countCDX(cdxIn, opt, all, names); err != nil {
			return nil, 0, err
		}
	}
	if all != nil {
		if opt.Sorting != nil {
			opt.Sorting("sort", 0, all.added)
		}
		// each URL once, whatever its captures and inputs; every host
		// has its name by now, so the hosts to come are known in number
		hosts = slices.Grow(hosts, len(names.at)-len(hosts))
		err = all.each(func(k keyed) { hosts = countHost(hosts, k.host) })
		if err != nil {
			return nil, 0, err
		}
	}
	// Each input's hosts came in key order, and no two inputs counted
	// per host hold one host; put them all in key order.
	slices.SortFunc(hosts, func(a, b HostCount) int { return cmp.Compare(a.Key, b.Key) })
	out := hosts[:0]
	for _, h := range hosts {
		if n := len(out); n > 0 && out[n-1].Key == h.Key {
			out[n-1].URLs += h.URLs
			continue
		}
		h.Name = names.name(h.Key)
		out = append(out, h)
	}
	return out, rejected, nil
}

// countHost counts a URL of host key into hosts, whose last host it is
// when it has been counted before.
func countHost(hosts []HostCount, key uint64) []HostCount {
	if n := len(hosts); n > 0 && hosts[n-1].Key == key {
		hosts[n-1].URLs++
		return hosts
	}
	return append(hosts, HostCount{Key: key, URLs: 1})
}

// megInput is a .meguri input, or a live partition directory read as
// meguri-pack writes it, and the range its header claims.
type megInput struct {
	name   string
	dir    bool
	lo, hi uint64
}

// sniffInput tells a .meguri input or partition directory (ok) from CDX.
func sniffInput(in string) (m megInput, ok bool, err error) {
	m.name = in
	if in != "-" && dirs.IsPartition(in) {
		h, err := logstore.Header(in)
		if err != nil {
			return m, false, err
		}
		m.dir, m.lo, m.hi = true, h.Lo, h.Hi
		return m, true, nil
	}
	head, err := input.Peek(in, codec.HeaderSize)
	if err != nil || !input.IsMeguri(head) {
		return m, false, err
	}
	m.lo, m.hi = 0, ^uint64(0) // as if it owned everything, until its header says otherwise
	if h, err := codec.ParseHeader(head); err == nil {
		m.lo, m.hi = h.Lo, h.Hi
	}
	return m, true, nil
}

// overlapping reports, for each input, whether its range meets another's.
func overlapping(megs []megInput) []bool {
	order := make([]int, len(megs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(megs[a].lo, megs[b].lo) })
	shared := make([]bool, len(megs))
	// In order of lo, an input meets an earlier one exactly when its lo
	// is at most the greatest hi before it; marking that input and the
	// one with the greatest hi marks every input of every meeting pair
	// (of a pair i<j that meets, the greatest hi before j reaches j, and
	// that input meets i's too, or is i).
	far := -1
	for _, i := range order {
		if far >= 0 && megs[i].lo <= megs[far].hi {
			shared[i], shared[far] = true, true
		}
		if far < 0 || megs[i].hi > megs[far].hi {
			far = i
		}
	}
	return shared
}

// meguriScratch is what countMeguri reuses from one input to the next.
type meguriScratch struct {
	br   *bufio.Reader
	keys []keyed
}

// countMeguri counts a .meguri input's rows per host into hosts (its rows
// come in host-key order) or, when all is set, adds their URL keys to it;
// it adds their host names to names.
func countMeguri(m megInput, want canon.Grouping, hosts []HostCount, all *keySet, names *hostNames, scratch *meguriScratch) ([]HostCount, error) {
	name := m.name
	var r io.Reader
	if m.dir {
		v, err := logstore.Open(name)
		if err != nil {
			return hosts, err
		}
		defer v.Close()
		ps := v.PackStream()
		defer ps.Close()
		r = ps
	} else {
		f, err := input.OpenRaw(name)
		if err != nil {
			return hosts, err
		}
		defer f.Close()
		if name == "-" || name == "" {
			name = "<stdin>"
		}
		r = f
	}
	scratch.br.Reset(r)
	defer scratch.br.Reset(nil)
	cr, err := codec.NewReader(scratch.br)
	if err != nil {
		return hosts, fmt.Errorf("%s: %w", name, err)
	}
	g := canon.Grouping(cr.Header().Grouping)
	if err := sameGrouping(name, g, want); err != nil {
		return hosts, err
	}
	keys := scratch.keys[:0]
	defer func() { scratch.keys = keys[:0] }()
	flush := func() error {
		err := all.add(keys)
		keys = keys[:0]
		return err
	}
	for {
		rec, err := cr.Next()
		if err == io.EOF {
			if all != nil {
				return hosts, flush()
			}
			return hosts, nil
		}
		if err != nil {
			return hosts, fmt.Errorf("%s: %w", name, err)
		}
		if !names.has(rec.HostKey) {
			names.add(rec.HostKey, canon.KeysOf(rec.URL, g).Group)
		}
		if all == nil {
			hosts = countHost(hosts, rec.HostKey)
			continue
		}
		keys = append(keys, keyed{rec.HostKey, xxhash.Sum64String(rec.URL)})
		if len(keys) == 1<<16 {
			if err := flush(); err != nil {
				return hosts, err
			}
		}
	}
}

// countCDX adds the URL keys of the CDX inputs' taken lines to all, and
// their host names to names, returning the lines rejected.
func countCDX(inputs []string, opt CountOptions, all *keySet, names *hostNames) (int64, error) {
	parser := cdx.Parser{Grouping: opt.Grouping, RangeHi: cdx.Full}
	type result struct {
		keys    []keyed
		names   map[uint64]string
		rejects int64
		folded  int64 // the line number of a folded record, which stops the run
	}
	var rejected int64
	parsers := parser.Workers(opt.Workers)
	work := func(worker int, b *cdx.Batch) {
		r := &result{names: map[uint64]string{}}
		for i := range b.Ends {
			c, reason, blank := parsers[worker].ParseLine(b, i)
			if blank {
				continue
			}
			if reason != cdx.OK {
				if reason == cdx.FoldedRecord && r.folded == 0 {
					r.folded = b.Nums[i]
				}
				r.rejects++
				continue
			}
			r.keys = append(r.keys, keyed{c.HostKey, xxhash.Sum64String(c.URL)})
			if _, ok := r.names[c.HostKey]; !ok {
				// a copy: c.URL may point into the batch, which is reused
				r.names[c.HostKey] = strings.Clone(canon.KeysOf(c.URL, opt.Grouping).Group)
			}
		}
		b.Result = r
	}
	var lines, inBytes int64
	collect := func(b *cdx.Batch) error {
		r := b.Result.(*result)
		if r.folded != 0 {
			return &cdx.FoldedError{Source: b.Source, Line: r.folded}
		}
		if err := all.add(r.keys); err != nil {
			return err
		}
		rejected += r.rejects
		lines += int64(len(b.Ends))
		inBytes += b.Bytes
		if opt.Progress != nil {
			opt.Progress(lines, inBytes, b.Raw)
		}
		for k, n := range r.names {
			names.add(k, n)
		}
		return nil
	}
	pcfg := cdx.PipelineConfig{MaxLine: opt.MaxLine, BatchBytes: 1 << 20, Workers: opt.Workers, Layout: opt.Layout}
	// The keys are one slice of the budget's size; what else is live is the
	// pipeline's batches and their results. A memory limit there keeps the
	// garbage collector from letting the heap grow to twice the keys.
	defer memlimit.SetSoft(opt.Memory + pcfg.Memory() + 64<<20)()
	return rejected, cdx.Pipeline(inputs, pcfg, work, collect)
}

// Tolerance is how far from the mean a partition's URL count may be before
// the skew report names it: 15%.
const Tolerance = 0.15

// counter answers "how many URLs lie below key" over sorted host counts.
type counter struct {
	hosts []HostCount
	cum   []uint64 // cum[i]: URLs of hosts[:i]
}

func newCounter(hosts []HostCount) *counter {
	c := &counter{hosts: hosts, cum: make([]uint64, len(hosts)+1)}
	for i, h := range hosts {
		c.cum[i+1] = c.cum[i] + h.URLs
	}
	return c
}

func (c *counter) total() uint64 { return c.cum[len(c.hosts)] }

// below returns the number of hosts with a key below k.
func (c *counter) below(k uint64) int {
	return sort.Search(len(c.hosts), func(i int) bool { return c.hosts[i].Key >= k })
}

// cutKey is the boundary key between host j-1 and host j.
func (c *counter) cutKey(j int) uint64 {
	return manifest.CutBetween(c.hosts[j-1].Key, c.hosts[j].Key)
}

// bestCut returns the host index j in (lo, hi) (a cut before host j) whose
// cumulative count is closest to target.
func (c *counter) bestCut(target uint64, lo, hi int) int {
	// first j with cum[j] >= target
	j := sort.Search(len(c.cum), func(i int) bool { return c.cum[i] >= target })
	best := -1
	for _, cand := range []int{j - 1, j} {
		if cand <= lo || cand >= hi {
			continue
		}
		if best < 0 || absDiff(c.cum[cand], target) < absDiff(c.cum[best], target) {
			best = cand
		}
	}
	if best < 0 {
		// the target falls outside (lo, hi): take the nearest end inside
		switch {
		case lo+1 < hi && j <= lo:
			best = lo + 1
		case lo+1 < hi:
			best = hi - 1
		}
	}
	return best
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// Skew is a partition whose URL count strays past the tolerance, with the
// largest host that explains it.
type Skew struct {
	Partition manifest.Partition
	Mean      float64
	Largest   HostCount
}

func (s Skew) String() string {
	dev := (float64(s.Partition.URLs) - s.Mean) / s.Mean * 100
	msg := fmt.Sprintf("partition %d (%s..%s) holds %d URLs, %+.0f%% off the mean %.0f", s.Partition.ID,
		units.Key(s.Partition.Lo), units.Key(s.Partition.Hi), s.Partition.URLs, dev, s.Mean)
	if s.Largest.URLs > 0 {
		msg += fmt.Sprintf("; its largest host %s (%s) alone holds %d URLs", s.Largest.Name, units.Key(s.Largest.Key), s.Largest.URLs)
		if float64(s.Largest.URLs) > Tolerance*s.Mean {
			msg += ", more than the tolerance, and a host is never split"
		}
	}
	return msg
}

// Balanced is a proposed manifest and its skew report.
type Balanced struct {
	Manifest *manifest.Manifest
	Skews    []Skew
	Changed  []Change // with a base manifest: the partitions that change
}

// Change is a partition whose range differs from the base manifest: a
// moved range (Old and New), a new partition (no Old) or a removed one
// (New zero).
type Change struct {
	New         manifest.Partition
	Old         *manifest.Partition // the base partition with the same id, if any
	Description string
}

// Balance divides the hosts into n ranges tiling the key space with close
// to equal URL counts. A host is never split.
func Balance(hosts []HostCount, n int) (*Balanced, error) {
	if n < 1 {
		return nil, errors.New("balance: need at least 1 partition")
	}
	c := newCounter(hosts)
	cuts := c.evenCuts(n, nil)
	m := &manifest.Manifest{}
	for i := 0; i <= len(cuts); i++ {
		p := c.partition(cuts, i)
		p.ID, p.Epoch, p.File = uint64(i), 1, fmt.Sprintf("part-%04d.meguri", i)
		m.Parts = append(m.Parts, p)
	}
	if len(m.Parts) < n {
		return nil, fmt.Errorf("balance: %d hosts cannot fill %d partitions", len(hosts), n)
	}
	return &Balanced{Manifest: m, Skews: c.skews(m)}, nil
}

// evenCuts chooses n-1 cut keys. keep, if given, holds existing boundary
// keys to prefer, in increasing order: a target is served by an existing
// boundary when that boundary's count lies within half the tolerance of
// the target.
func (c *counter) evenCuts(n int, keep []uint64) []uint64 {
	total := c.total()
	mean := float64(total) / float64(n)
	kept := c.kept(keep)
	var cuts []uint64
	last := 0 // host index of the last cut
	for k := 1; k < n; k++ {
		target := uint64(float64(total) * float64(k) / float64(n))
		// an existing boundary close enough to the target stays
		if cut, ok := kept.nearest(target, mean, cuts); ok {
			cuts = append(cuts, cut)
			last = c.below(cut)
			continue
		}
		// leave at least one host for each partition still to come
		j := c.bestCut(target, last, len(c.hosts)-(n-1-k))
		if j < 0 {
			break
		}
		cut := c.cutKey(j)
		if len(cuts) > 0 && cut <= cuts[len(cuts)-1] {
			break
		}
		cuts = append(cuts, cut)
		last = j
	}
	return cuts
}

// kept is the boundaries of a base map that a re-balance prefers, in
// increasing order, with the URLs below each.
type kept struct {
	keys   []uint64
	counts []uint64 // counts[i]: URLs of the hosts below keys[i]
}

func (c *counter) kept(keys []uint64) kept {
	k := kept{keys: keys, counts: make([]uint64, len(keys))}
	for i, key := range keys {
		k.counts[i] = c.cum[c.below(key)]
	}
	return k
}

// nearest returns the boundary above the last cut whose count lies
// nearest the target (the lowest of those equally near), if that is
// within half the tolerance of the mean. Counts grow with the keys, so
// it is found by binary search: a map of 100,000 partitions re-balanced
// compared every boundary with every target before, for minutes.
func (k kept) nearest(target uint64, mean float64, cuts []uint64) (uint64, bool) {
	lo := 0
	if len(cuts) > 0 {
		last := cuts[len(cuts)-1]
		lo = sort.Search(len(k.keys), func(i int) bool { return k.keys[i] > last })
	}
	// the first boundary at or past the target, and the first of those
	// whose count is the one just below it
	j := lo + sort.Search(len(k.keys)-lo, func(i int) bool { return k.counts[lo+i] >= target })
	best := -1
	if j > lo {
		below := k.counts[j-1]
		best = lo + sort.Search(j-lo, func(i int) bool { return k.counts[lo+i] >= below })
	}
	if j < len(k.keys) && (best < 0 || absDiff(k.counts[j], target) < absDiff(k.counts[best], target)) {
		best = j
	}
	if best < 0 || float64(absDiff(k.counts[best], target)) > Tolerance/2*mean {
		return 0, false
	}
	return k.keys[best], true
}

// partition returns range i of the cuts with its counts.
func (c *counter) partition(cuts []uint64, i int) manifest.Partition {
	p := manifest.Partition{Lo: 0, Hi: ^uint64(0)}
	if i > 0 {
		p.Lo = cuts[i-1]
	}
	if i < len(cuts) {
		p.Hi = cuts[i] - 1
	}
	c.count(&p)
	return p
}

// count sets p's URL and host counts from the data.
func (c *counter) count(p *manifest.Partition) {
	a := c.below(p.Lo)
	b := len(c.hosts)
	if p.Hi < ^uint64(0) {
		b = c.below(p.Hi + 1)
	}
	p.URLs, p.Hosts = c.cum[b]-c.cum[a], uint64(b-a)
}

// largest returns the host with the most URLs in p.
func (c *counter) largest(p *manifest.Partition) HostCount {
	var best HostCount
	for _, h := range c.hosts[c.below(p.Lo):] {
		if h.Key > p.Hi {
			break
		}
		if h.URLs > best.URLs {
			best = h
		}
	}
	return best
}

func (c *counter) skews(m *manifest.Manifest) []Skew {
	mean := float64(c.total()) / float64(len(m.Parts))
	var out []Skew
	for _, p := range m.Parts {
		if mean > 0 && absF(float64(p.URLs)-mean) > Tolerance*mean {
			out = append(out, Skew{Partition: p, Mean: mean, Largest: c.largest(&p)})
		}
	}
	return out
}

func absF(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// Rebalance proposes n partitions over the hosts starting from base,
// keeping every base boundary that is close enough to an even cut, so as
// few ranges change as it can. Partitions whose range is unchanged keep
// their id, file, bytes and epoch; changed ones get the next epoch, a new
// file name and bytes 0 (the file is not built yet), and reuse the ids of
// base partitions whose ranges no longer exist before taking new ones.
func Rebalance(hosts []HostCount, base *manifest.Manifest, n int) (*Balanced, error) {
	if err := base.MustTile(); err != nil {
		return nil, fmt.Errorf("base manifest: %w", err)
	}
	if n < 1 {
		n = len(base.Parts)
	}
	c := newCounter(hosts)
	var keep []uint64
	var epoch, maxID uint64
	for i, p := range base.Parts {
		if i > 0 {
			keep = append(keep, p.Lo)
		}
		epoch, maxID = max(epoch, p.Epoch), max(maxID, p.ID)
	}
	epoch++
	cuts := c.evenCuts(n, keep)
	oldByRange := map[[2]uint64]*manifest.Partition{}
	for i := range base.Parts {
		p := &base.Parts[i]
		oldByRange[[2]uint64{p.Lo, p.Hi}] = p
	}
	m := &manifest.Manifest{}
	var changed []int
	used := map[uint64]bool{}
	for i := 0; i <= len(cuts); i++ {
		p := c.partition(cuts, i)
		if old, ok := oldByRange[[2]uint64{p.Lo, p.Hi}]; ok {
			p.ID, p.File, p.Bytes, p.Epoch = old.ID, old.File, old.Bytes, old.Epoch
			used[p.ID] = true
		} else {
			changed = append(changed, len(m.Parts))
		}
		m.Parts = append(m.Parts, p)
	}
	// free ids: base partitions whose ranges are gone, in key order
	var free []uint64
	for _, p := range base.Parts {
		if !used[p.ID] {
			free = append(free, p.ID)
		}
	}
	res := &Balanced{Manifest: m}
	for _, i := range changed {
		p := &m.Parts[i]
		if len(free) > 0 {
			p.ID, free = free[0], free[1:]
		} else {
			maxID++
			p.ID = maxID
		}
		p.Epoch = epoch
		p.File = fmt.Sprintf("part-%04d.e%d.meguri", p.ID, epoch)
	}
	byID := map[uint64]*manifest.Partition{}
	for i := range base.Parts {
		byID[base.Parts[i].ID] = &base.Parts[i]
	}
	for _, p := range m.Parts {
		old := byID[p.ID]
		switch {
		case old == nil:
			res.Changed = append(res.Changed, Change{New: p,
				Description: fmt.Sprintf("partition %d: new, %s..%s, %d URLs", p.ID, units.Key(p.Lo), units.Key(p.Hi), p.URLs)})
		case old.Lo != p.Lo || old.Hi != p.Hi:
			res.Changed = append(res.Changed, Change{New: p, Old: old,
				Description: fmt.Sprintf("partition %d: %s..%s -> %s..%s, %d URLs", p.ID,
					units.Key(old.Lo), units.Key(old.Hi), units.Key(p.Lo), units.Key(p.Hi), p.URLs)})
		}
	}
	for _, id := range free {
		o := byID[id]
		res.Changed = append(res.Changed, Change{Old: o,
			Description: fmt.Sprintf("partition %d: removed (was %s..%s)", id, units.Key(o.Lo), units.Key(o.Hi))})
	}
	res.Skews = c.skews(m)
	return res, nil
}
