// Package dirs words the error for a directory named where a file is
// wanted, pointing a partition directory (one with a superblock) at the
// tool that turns it into a file.
package dirs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// IsPartition reports whether dir is a partition directory: it holds a
// superblock file, "super", that starts with the superblock's magic.
func IsPartition(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "super"))
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 8)
	_, err = io.ReadFull(f, b)
	return err == nil && bytes.Equal(b, []byte("MGSUPER1"))
}

// NotA returns the error for the directory path given where a file of the
// kind what (".meguri file", "CDX file") is wanted.
func NotA(path, what string) error {
	if IsPartition(path) {
		return fmt.Errorf("%s is a partition directory, not a %s: meguri-pack --data %s -o part.meguri packs it into one", path, what, path)
	}
	return fmt.Errorf("%s is a directory, not a %s", path, what)
}
