package flock

import "os"

// LockPath opens path for reading and locks it, for a read-modify-write
// that replaces the file by renaming a new one over it. A process that
// waited for the lock while another replaced the file holds a lock on the
// old file, which no longer has the name; LockPath sees that and locks
// the new one instead, so each such update reads the one before it.
// Where the lock cannot be taken (flock is missing, or a network file
// system refuses it) the file is returned open and unlocked. Closing the
// file releases the lock.
func LockPath(path string, wait func()) (*os.File, error) {
	for {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		if err := Lock(f, wait); err != nil {
			return f, nil
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || os.SameFile(held, now) {
			return f, nil
		}
		f.Close()
		wait = nil // said once
	}
}
