//go:build unix

// Package flock takes advisory locks on files (flock(2)), which go with
// the process: one that dies releases them.
package flock

import (
	"errors"
	"os"
	"syscall"
)

// Lock takes an exclusive lock on f, calling wait first if another process
// holds it.
func Lock(f *os.File, wait func()) error {
	held, err := TryLock(f)
	if err != nil || held {
		return err
	}
	if wait != nil {
		wait()
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// TryLock takes an exclusive lock on f if no other process holds one, and
// reports whether it did.
func TryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
