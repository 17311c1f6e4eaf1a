//go:build !linux

package memlimit

// AddressSpace reports no limit where /proc/self/status is not there to
// say what the process has mapped.
func AddressSpace() (free, limit int64, ok bool) { return 0, 0, false }

// Physical reports the machine's memory unknown where /proc/meminfo is
// not there to say it.
func Physical() (int64, bool) { return 0, false }
