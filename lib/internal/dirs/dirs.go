// Package dirs words the error for a directory named where a file is
// wanted, pointing a partition directory (one with a superblock) at the
// tool that turns it into a file.
package dirs

import (
	"fmt"
	"os"
	"path/filepath"
)

// NotA returns the error for the directory path given where a file of the
// kind what (".meguri file", "CDX file") is wanted.
func NotA(path, what string) error {
	if st, err := os.Stat(filepath.Join(path, "super")); err == nil && st.Mode().IsRegular() {
		return fmt.Errorf("%s is a partition directory, not a %s: meguri-pack --data %s -o part.meguri packs it into one", path, what, path)
	}
	return fmt.Errorf("%s is a directory, not a %s", path, what)
}
