package extsort

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"

	"github.com/meguri/meguri/lib/internal/bytestr"
)

// The index is sorted by host key, then URL text, then entry bytes (see
// Sorter.cmp), in three steps that keep most comparisons off the arena:
//
//  1. one counting pass gathers the refs of every batch into one index,
//     distributed into buckets by the top bits of the host key, about 16
//     refs a bucket;
//  2. the buckets are sorted on two goroutines, each taking a contiguous
//     half of the refs, so the halves need no merge;
//  3. within a bucket, refs are ordered by host key (integers), and the
//     refs of one host by their URLs, five bytes at a time: the URLs'
//     common prefix is skipped, the next five bytes become an integer key,
//     and only refs whose keys tie are looked at further. The keys carry an
//     index into the group in their low bits, so they sort as plain integers.
//
// Comparing whole URLs through the arena, as a plain comparison sort does
// at every level, cost ~0.7 s of CPU for the 1.37M captures of the 20x
// scaled corpus.

// maxGroup returns the largest host group sorted with cached keys; a larger
// one is sorted with Sorter.cmp. The cached keys cost groupBytes of scratch
// per ref on each of the two sorting goroutines; the limit keeps that under
// a sixteenth of the budget (at least 1<<16 refs), and within the index bits
// of a packed key. A 1 GiB --mem allows host groups of about 560K captures.
func (s *Sorter) maxGroup() int {
	return int(min(max(1<<16, s.opt.Budget/16/groupBytes), 1<<idxBits))
}

// groupBytes is the scratch space per ref of a sorted host group: its URL
// slice, its ref and its key.
const groupBytes = 24 + refSize + 8

// A packed key holds keyBytes bytes of a URL, from the current depth, above
// an index into the host group, so that the keys sort as plain integers.
const (
	keyBytes = 5
	idxBits  = 64 - 8*keyBytes
)

// group is the scratch space of one goroutine for sorting a host group.
type group struct {
	urls [][]byte
	refs []ref
	keys []uint64
}

func (s *Sorter) sortRefs() {
	n := s.nrefs
	b := min(max(bits.Len(uint(n))-4, 1), 16)
	shift := 64 - b
	starts := make([]int, 1<<b+1)
	for _, refs := range s.batches {
		for _, r := range refs {
			starts[r.host>>shift+1]++
		}
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	out := make([]ref, n)
	pos := slices.Clone(starts[:1<<b])
	for k, refs := range s.batches {
		for _, r := range refs {
			i := r.host >> shift
			out[pos[i]] = r
			pos[i]++
		}
		s.batches[k] = nil
	}
	s.refs, s.batches, s.nrefs, s.refCap = out, s.batches[:0], 0, 0

	// Split the buckets where the first half of the refs ends.
	mid := 1
	for mid < 1<<b && starts[mid] < n/2 {
		mid++
	}
	sortBuckets := func(lo, hi int) {
		var g group
		for i := lo; i < hi; i++ {
			s.sortBucket(out[starts[i]:starts[i+1]], &g)
		}
	}
	if n < 1<<14 {
		sortBuckets(0, 1<<b)
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { sortBuckets(0, mid); wg.Done() }()
	sortBuckets(mid, 1<<b)
	wg.Wait()
}

func (s *Sorter) sortBucket(b []ref, g *group) {
	if len(b) < 2 {
		return
	}
	slices.SortFunc(b, func(x, y ref) int { return cmp.Compare(x.host, y.host) })
	limit := s.maxGroup()
	for i := 0; i < len(b); {
		j := i + 1
		for j < len(b) && b[j].host == b[i].host {
			j++
		}
		if h := b[i:j]; len(h) > limit {
			slices.SortFunc(h, s.cmp)
		} else if len(h) > 1 {
			g.refs = append(g.refs[:0], h...)
			g.urls, g.keys = g.urls[:0], g.keys[:0]
			for k, r := range h {
				g.urls = append(g.urls, entryURL(s.arena.at(r.off)))
				g.keys = append(g.keys, uint64(k))
			}
			s.sortText(g, g.keys, 0)
			for k, key := range g.keys {
				h[k] = g.refs[key&(1<<idxBits-1)]
			}
			clear(g.urls) // they pin arena chunks
		}
		i = j
	}
}

// sortText sorts the packed keys of refs whose URLs share their first depth
// bytes.
func (s *Sorter) sortText(g *group, keys []uint64, depth int) {
	const mask = 1<<idxBits - 1
	// Skip the prefix all of them share.
	first := g.urls[keys[0]&mask]
	common := len(first) - depth
	for _, k := range keys[1:] {
		common = min(common, bytestr.SharedPrefix(first[depth:depth+common], g.urls[k&mask][depth:]))
	}
	depth += common
	for i, k := range keys {
		keys[i] = load(g.urls[k&mask], depth)<<idxBits | k&mask
	}
	slices.Sort(keys)
	for i := 0; i < len(keys); {
		j := i + 1
		short := len(g.urls[keys[i]&mask]) < depth+keyBytes
		for j < len(keys) && keys[j]>>idxBits == keys[i]>>idxBits {
			short = short || len(g.urls[keys[j]&mask]) < depth+keyBytes
			j++
		}
		switch {
		case j-i < 2:
		case short:
			// A URL ends inside the key: the key cannot tell it from a
			// longer URL or an equal one; compare in full.
			slices.SortFunc(keys[i:j], func(x, y uint64) int { return s.cmp(g.refs[x&mask], g.refs[y&mask]) })
		default:
			s.sortText(g, keys[i:j], depth+keyBytes)
		}
		i = j
	}
}

// load returns keyBytes bytes of u from off as a big-endian integer,
// zero-padded past the end of u.
func load(u []byte, off int) uint64 {
	if off+8 <= len(u) {
		return binary.BigEndian.Uint64(u[off:]) >> idxBits
	}
	var b [8]byte
	if off < len(u) {
		copy(b[:], u[off:])
	}
	return binary.BigEndian.Uint64(b[:]) >> idxBits
}
