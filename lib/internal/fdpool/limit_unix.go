//go:build unix

package fdpool

import "syscall"

// Limit returns the process's limit on open files (0 if unknown).
func Limit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return uint64(l.Cur) // int64 on the BSDs, where RLIM_INFINITY is -1
}
