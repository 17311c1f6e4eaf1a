//go:build !unix

// Package flock takes advisory locks on files (flock(2)), which go with
// the process: one that dies releases them.
package flock

import "os"

// Lock does nothing where flock is missing: one writer at a time is then
// up to the caller.
func Lock(f *os.File, wait func()) error { return nil }

// TryLock always succeeds where flock is missing.
func TryLock(f *os.File) (bool, error) { return true, nil }
