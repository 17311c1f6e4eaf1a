// Package twins tells whether two inputs of one size hold the same bytes,
// so that a tool can refuse one input given twice under two names (a
// shard copied or fetched back twice): read twice, its captures would
// count twice.
//
//	same, err := twins.Equal(f1, f2, size)
//
// The ends are compared first (a gzip member's or a .meguri file's
// trailer holds a checksum of what precedes it), so inputs that differ
// usually cost two small reads.
package twins

import (
	"bytes"
	"io"
	"os"
)

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
	tail := min(4096, size)
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

// Paths reports whether the files at two paths, both of the given size,
// hold the same bytes. Files that cannot be read are not twins: the run
// that reads them reports why.
func Paths(p, q string, size int64) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	g, err := os.Open(q)
	if err != nil {
		return false
	}
	defer g.Close()
	same, err := Equal(f, g, size)
	return same && err == nil
}
