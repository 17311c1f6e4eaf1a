package logstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/meguri/meguri/lib/atomicfile"
)

// A partition directory is sealed when its records have gone elsewhere,
// packed for a rebalance or a move: a writer refuses it from then on, so a
// run cannot append to a directory whose records no longer go anywhere
// (its replacements are published, and it is removed). The seal is a file
// in the directory holding a note of what sealed it; readers ignore it.
const sealName = "sealed"

// SealedError is what OpenWriter (so every run of meguri-ingest --data and
// every checkpoint) returns for a sealed directory.
type SealedError struct {
	Dir  string
	Note string // what sealed it, and when
}

func (e *SealedError) Error() string {
	return fmt.Sprintf("%s is sealed (%s): its records went to that file for a rebalance or a move, and runs appended here now would not reach the partitions that replace it; write to those (route by the new map), or unseal it to write here again (meguri-pack --data %s --unseal)",
		e.Dir, e.Note, e.Dir)
}

// Sealed reports whether dir is sealed, and the note its seal holds.
func Sealed(dir string) (note string, sealed bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, sealName))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(string(b)), true, nil
}

// Seal takes dir's writer lock (waiting, and saying so through say, while
// a writer runs), calls pack, and when pack succeeds seals dir with note.
// The lock is held from before the pack until the seal is on the device,
// so no run is appended between them: what pack wrote is all dir will
// ever hold. A pack that fails leaves dir as it was. Sealing a sealed
// directory again replaces its note.
func Seal(dir, note string, say func(string), pack func() error) error {
	if _, err := readSuper(dir); err != nil {
		return err
	}
	f, err := lock(dir, say)
	if err != nil {
		return err
	}
	defer f.Close() // releases the lock
	if err := pack(); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, sealName), []byte(note+"\n"))
}

// Unseal lets writers into a sealed directory again (a rebalance called
// off). It reports whether dir was sealed.
func Unseal(dir string, say func(string)) (bool, error) {
	if _, err := readSuper(dir); err != nil {
		return false, err
	}
	f, err := lock(dir, say)
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = os.Remove(filepath.Join(dir, sealName))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, atomicfile.SyncDir(dir)
}
