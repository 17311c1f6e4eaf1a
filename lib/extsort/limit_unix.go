//go:build unix

package extsort

import "syscall"

// openFileLimit returns the process's limit on open files (0 if unknown).
// Go raises the soft limit to the hard one at start-up, so this is what a
// merge can count on.
func openFileLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Cur
}
