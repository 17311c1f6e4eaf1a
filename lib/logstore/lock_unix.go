//go:build unix

package logstore

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f, calling wait first if another
// process holds it. The lock goes with the process: a writer that dies
// releases it.
func lockFile(f *os.File, wait func()) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		if wait != nil {
			wait()
		}
		for {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
			if !errors.Is(err, syscall.EINTR) {
				break
			}
		}
	}
	return err
}
