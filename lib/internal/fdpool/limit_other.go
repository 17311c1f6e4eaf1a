//go:build !unix

package fdpool

// Limit returns the process's limit on open files (0 if unknown).
func Limit() uint64 { return 0 }
