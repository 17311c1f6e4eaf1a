// Package dirs tells a partition directory by its superblock, and words
// the error for a directory named where a file is wanted, pointing a
// partition directory at the tool that turns it into a file; it also
// tells a path that names a stream (a pipe or a device) from a file. The
// superblock's name and magic live here, for lib/logstore (which writes
// it) and for the readers that only need to recognize it.
package dirs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The superblock of a partition directory: its file name, and the magic
// each of its slots starts with (docs/FORMAT.md).
const (
	SuperName  = "super"
	SuperMagic = "MGSUPER1"
)

// IsPartition reports whether dir is a partition directory: it holds a
// superblock file whose first slot starts with the superblock's magic.
func IsPartition(dir string) bool {
	f, err := os.Open(filepath.Join(dir, SuperName))
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 8)
	_, err = io.ReadFull(f, b)
	return err == nil && bytes.Equal(b, []byte(SuperMagic))
}

// PartitionAt returns dir, or the nearest directory above it, that is a
// partition directory, or "" when none is: what is written or made there
// goes with the partition when it is retired and removed, and a name like
// its snapshot's would replace partition state. dir itself need not
// exist. A relative dir is climbed by its own name up to ".", then by the
// absolute names above.
func PartitionAt(dir string) string {
	d := filepath.Clean(dir)
	for {
		if IsPartition(d) {
			return d
		}
		if d == "." {
			// on above the current directory, by its absolute name
			abs, err := filepath.Abs(d)
			if err != nil {
				return ""
			}
			d = abs
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// Stream reports whether path names a pipe or a device: it is there, and
// neither a regular file nor a directory (a FIFO, the shell's <(...) and
// >(...), /dev/null). What flows through one does so once and in place:
// there is no file to seek in, to hash before a run reads it, or to
// rename an output over.
func Stream(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.Mode().IsRegular() && !st.IsDir()
}

// NotA returns the error for the directory path given where a file of the
// kind what (".meguri file", "CDX file") is wanted.
func NotA(path, what string) error {
	if IsPartition(path) {
		return fmt.Errorf("%s is a partition directory, not a %s: meguri-pack --data %s -o part.meguri packs it into one", path, what, path)
	}
	return fmt.Errorf("%s is a directory, not a %s", path, what)
}

// CannotRead words a missing or unreadable input as every tool does:
// "cannot read PATH: no such file or directory", without the system
// call's own "open PATH:" or "stat PATH:" in between. It wraps err.
func CannotRead(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %s: %w", path, err)
}
