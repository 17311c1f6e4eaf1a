//go:build !unix

package logstore

import "os"

// lockFile does nothing where flock is missing: one writer per directory
// is then up to the caller.
func lockFile(f *os.File, wait func()) error { return nil }
