package route

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/meguri/meguri/lib/internal/memlimit"
	"github.com/meguri/meguri/lib/internal/minheap"
	"github.com/meguri/meguri/lib/internal/tempfiles"
)

// keyed is one capture's host key and URL hash.
type keyed struct {
	host, url uint64
}

func compareKeyed(a, b keyed) int {
	return cmp.Or(cmp.Compare(a.host, b.host), cmp.Compare(a.url, b.url))
}

// keySet collects keys within a memory budget and hands back the distinct
// ones in order: past the budget, the keys held are sorted, made unique and
// spilled to a run file in the temp directory; each merges the runs.
type keySet struct {
	max   int    // keys held before a spill
	tmp   string // where runs go ("" for the system's temp dir)
	keys  []keyed
	runs  []string
	added int64 // keys given to add, repeats included
}

const keySize = 16

func newKeySet(budget int64, tmp string) *keySet {
	tempfiles.Reap(tmp) // what killed runs spilled there
	// The keys' slice is made at the budget's size at once (see add): a
	// budget past the machine's memory (--mem 100G on 24 GiB, warned of)
	// made the runtime die out of memory before a key was read. Hold at
	// most half the machine's memory; the counts do not depend on it.
	if phys, ok := memlimit.Physical(); ok {
		budget = min(budget, phys/2)
	}
	return &keySet{max: int(max(budget/keySize, 1024)), tmp: tmp}
}

// add takes ks. The keys held never outgrow the budget: the slice is
// made at its full size once (pages are touched only as it fills), since
// doubling it by append would briefly hold three times the keys.
func (s *keySet) add(ks []keyed) error {
	if s.keys == nil {
		s.keys = make([]keyed, 0, s.max)
	}
	s.added += int64(len(ks))
	for len(ks) > 0 {
		n := min(len(ks), s.max-len(s.keys))
		s.keys = append(s.keys, ks[:n]...)
		ks = ks[n:]
		if len(s.keys) == s.max {
			if err := s.spill(); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortUnique(ks []keyed) []keyed {
	slices.SortFunc(ks, compareKeyed)
	return slices.Compact(ks)
}

func (s *keySet) spill() error {
	s.keys = sortUnique(s.keys)
	f, err := tempfiles.CreateSpill(s.tmp, "meguri-keys-*")
	if err != nil {
		return err
	}
	s.runs = append(s.runs, f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	var b [keySize]byte
	for _, k := range s.keys {
		binary.LittleEndian.PutUint64(b[:8], k.host)
		binary.LittleEndian.PutUint64(b[8:], k.url)
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return tempfiles.SpillError(s.tmp, err)
	}
	if err := f.Close(); err != nil {
		return tempfiles.SpillError(s.tmp, err)
	}
	s.keys = s.keys[:0]
	return nil
}

// each calls fn for every distinct key, in (host, url) order.
func (s *keySet) each(fn func(keyed)) error {
	s.keys = sortUnique(s.keys)
	if len(s.runs) == 0 {
		for _, k := range s.keys {
			fn(k)
		}
		return nil
	}
	type head struct {
		k   keyed
		src int // a run's index, or len(runs) for the keys in memory
	}
	var readers []*bufio.Reader
	// More runs than the open-file limit lets a run hold open take turns
	// on the descriptors it may hold.
	fds := newPool()
	for _, name := range s.runs {
		f, err := fds.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		st, _ := f.Stat()
		readers = append(readers, bufio.NewReaderSize(io.NewSectionReader(f, 0, st.Size()), 64<<10))
	}
	mem := 0
	next := func(src int) (keyed, bool, error) {
		if src == len(readers) {
			if mem == len(s.keys) {
				return keyed{}, false, nil
			}
			mem++
			return s.keys[mem-1], true, nil
		}
		var b [keySize]byte
		if _, err := io.ReadFull(readers[src], b[:]); err != nil {
			if err == io.EOF {
				return keyed{}, false, nil
			}
			return keyed{}, false, fmt.Errorf("reading spilled keys: %w", err)
		}
		return keyed{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}, true, nil
	}
	h := minheap.New(func(a, b head) bool { return compareKeyed(a.k, b.k) < 0 })
	push := func(src int) error {
		k, ok, err := next(src)
		if ok {
			h.Push(head{k, src})
		}
		return err
	}
	for src := range len(readers) + 1 {
		if err := push(src); err != nil {
			return err
		}
	}
	var last keyed
	for first := true; h.Len() > 0; first = false {
		top := h.Pop()
		if first || top.k != last {
			fn(top.k)
			last = top.k
		}
		if err := push(top.src); err != nil {
			return err
		}
	}
	return nil
}

// discard removes the runs.
func (s *keySet) discard() {
	for _, name := range s.runs {
		tempfiles.Remove(name)
	}
	s.runs = nil
}
