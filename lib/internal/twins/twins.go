// Package twins tells whether two inputs of one size hold the same bytes,
// so that a tool can refuse one input given twice under two names (a
// shard copied or fetched back twice): read twice, its captures would
// count twice.
//
//	same, err := twins.Equal(f1, f2, size)
//
// or, among many inputs, which earlier one each repeats:
//
//	var s twins.Set
//	for _, p := range paths {
//		if twin, err := s.Add(p, size(p), twins.OpenPath(p)); twin != "" {
//			... p repeats twin
//		}
//	}
//
// Files tells, among many, an input that is an earlier one's file under
// another name (a hard link, a path given twice).
//
// The ends are compared first (a gzip member's or a .meguri file's
// trailer holds a checksum of what precedes it), so inputs that differ
// usually cost two small reads, and a Set hashes each end once.
package twins

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"
)

// tailSize is how much of an input's end is compared (and hashed) first.
const tailSize = 4096

// Equal reports whether the first size bytes of a and b are equal.
func Equal(a, b io.ReaderAt, size int64) (bool, error) {
	if size <= 0 {
		return true, nil
	}
	ba, bb := make([]byte, min(1<<20, size)), make([]byte, min(1<<20, size))
	equalAt := func(off, n int64) (bool, error) {
		if _, err := a.ReadAt(ba[:n], off); err != nil {
			return false, err
		}
		if _, err := b.ReadAt(bb[:n], off); err != nil {
			return false, err
		}
		return bytes.Equal(ba[:n], bb[:n]), nil
	}
	tail := min(tailSize, size)
	if same, err := equalAt(size-tail, tail); !same || err != nil {
		return false, err
	}
	for off := int64(0); off < size; off += int64(len(ba)) {
		if same, err := equalAt(off, min(int64(len(ba)), size-off)); !same || err != nil {
			return false, err
		}
	}
	return true, nil
}

// Opener gives access to an input's bytes for a comparison; done releases
// what it opened.
type Opener func() (r io.ReaderAt, done func(), err error)

// Set finds inputs that repeat an earlier one's bytes among many, without
// comparing every pair of one size: an input is hashed (its last 4 KiB)
// only once another of its size comes along, and compared in full only
// with earlier inputs whose ends hash alike, found by their hash. A run
// given thousands of small files, many of one size, opens each about once
// and does not walk the others of its size for each (50,000 files of a
// few sizes took seconds so).
type Set struct {
	bySize map[int64]*sized
}

// sized is the inputs of one size: the first, until a second comes and
// both are hashed, and then all of them by the hash of their ends, each
// list in the order they were added.
type sized struct {
	first  *member
	byTail map[uint64][]*member
}

type member struct {
	name   string
	open   Opener
	tail   uint64
	hashed bool
}

// Add records an input of size bytes and returns the name of the first
// earlier input, in the order they were added, that holds the same bytes
// ("" when none). An error opening or reading an input ends the search
// and is returned, naming the input.
func (s *Set) Add(name string, size int64, open Opener) (string, error) {
	if size <= 0 {
		return "", nil
	}
	if s.bySize == nil {
		s.bySize = map[int64]*sized{}
	}
	m := &member{name: name, open: open}
	g := s.bySize[size]
	if g == nil {
		s.bySize[size] = &sized{first: m}
		return "", nil
	}
	if g.byTail == nil {
		if err := g.first.hash(size); err != nil {
			return "", err
		}
		g.byTail = map[uint64][]*member{g.first.tail: {g.first}}
	}
	if err := m.hash(size); err != nil {
		return "", err
	}
	earlier := g.byTail[m.tail]
	g.byTail[m.tail] = append(earlier, m)
	for _, o := range earlier {
		same, err := equalOpened(o.open, m.open, size)
		if err != nil {
			return "", fmt.Errorf("comparing %s and %s: %w", o.name, m.name, err)
		}
		if same {
			return o.name, nil
		}
	}
	return "", nil
}

func (m *member) hash(size int64) error {
	if m.hashed {
		return nil
	}
	r, done, err := m.open()
	if err != nil {
		return fmt.Errorf("reading %s: %w", m.name, err)
	}
	defer done()
	b := make([]byte, min(tailSize, size))
	if _, err := r.ReadAt(b, size-int64(len(b))); err != nil {
		return fmt.Errorf("reading %s: %w", m.name, err)
	}
	m.tail, m.hashed = xxhash.Sum64(b), true
	return nil
}

func equalOpened(p, q Opener, size int64) (bool, error) {
	a, doneA, err := p()
	if err != nil {
		return false, err
	}
	defer doneA()
	b, doneB, err := q()
	if err != nil {
		return false, err
	}
	defer doneB()
	return Equal(a, b, size)
}

// OpenPath is an Opener of the file at path.
func OpenPath(path string) Opener {
	return func() (io.ReaderAt, func(), error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
}

// Files finds inputs that are one file under two names (a path given
// twice, a hard link): os.SameFile, asked only of files of the same size,
// time and mode, as one file has one of each, so that many inputs are
// not compared pair by pair.
type Files struct {
	alike map[fileKey][]named
}

type fileKey struct {
	size, mod int64
	mode      os.FileMode
}

type named struct {
	name string
	st   os.FileInfo
}

// Add records the file st names and returns the name of the earlier one
// it is ("" when none), the first in the order they were added.
func (s *Files) Add(name string, st os.FileInfo) string {
	if s.alike == nil {
		s.alike = map[fileKey][]named{}
	}
	k := fileKey{st.Size(), st.ModTime().UnixNano(), st.Mode()}
	for _, o := range s.alike[k] {
		if os.SameFile(o.st, st) {
			return o.name
		}
	}
	s.alike[k] = append(s.alike[k], named{name, st})
	return ""
}
