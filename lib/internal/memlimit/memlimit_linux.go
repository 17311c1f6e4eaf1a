package memlimit

import (
	"os"
	"syscall"
)

// AddressSpace returns the address space this process may still map
// under its RLIMIT_AS (ulimit -v: set on some shared login nodes and
// batch clusters), the limit itself, and false when there is none. The
// Go runtime maps a gigabyte or more at start (reserved, not resident),
// which a limit counts, so what is left is the limit less the process's
// size now (VmSize in /proc/self/status), not the limit.
func AddressSpace() (free, limit int64, ok bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err != nil || rl.Cur >= unlimited {
		return 0, 0, false
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, false
	}
	size, ok := kbField(string(b), "VmSize")
	if !ok {
		return 0, 0, false
	}
	return max(int64(rl.Cur)-size, 0), int64(rl.Cur), true
}

// Physical returns the machine's memory (MemTotal in /proc/meminfo), and
// false when it cannot be read.
func Physical() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return kbField(string(b), "MemTotal")
}
