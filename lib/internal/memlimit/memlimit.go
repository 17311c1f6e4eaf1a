// Package memlimit reads the memory limit of the cgroup (the container,
// the systemd slice, the batch job) a process runs in, so that a tool's
// default memory budget fits inside it rather than getting the process
// killed by the kernel's OOM killer with no word said.
//
//	if limit, ok := memlimit.Limit(); ok && budget > limit/2 {
//		budget = limit / 2
//	}
//
// Both cgroup versions are read: v2's memory.max and v1's
// memory.limit_in_bytes, at the process's own cgroup and every one above
// it (a limit binds everything below it; a container may see its own
// cgroup as the root of the mount), the least of them taken.
package memlimit

import (
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Limit returns the memory limit in bytes that binds this process, and
// false when there is none (or it cannot be read).
func Limit() (int64, bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	return limitFrom(string(b), "/sys/fs/cgroup")
}

// unlimited is where a limit counts as none: cgroup v1 writes the largest
// page-aligned int64 for "no limit".
const unlimited = 1 << 60

// limitFrom reads the limits named by a /proc/self/cgroup text under the
// cgroup mount root.
func limitFrom(cgroups, root string) (int64, bool) {
	least := int64(math.MaxInt64)
	for _, line := range strings.Split(cgroups, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "": // v2
			dir, file = root, "memory.max"
		case hasController(parts[1], "memory"): // v1
			dir, file = filepath.Join(root, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		for p := path.Clean("/" + parts[2]); ; p = path.Dir(p) {
			if v, ok := readLimit(filepath.Join(dir, p, file)); ok && v < least {
				least = v
			}
			if p == "/" {
				break
			}
		}
	}
	return least, least < unlimited
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readLimit reads one limit file: a number of bytes, or "max".
func readLimit(file string) (int64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v <= 0 || v >= unlimited {
		return 0, false
	}
	return v, true
}

// kbField reads the field name ("VmSize", "MemTotal"), a count of kB, in
// bytes, from a /proc/PID/status or /proc/meminfo text.
func kbField(text, name string) (int64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// SetSoft sets the garbage collector's soft limit (debug.SetMemoryLimit)
// to bytes for a run, and returns what puts the old one back. A lower
// limit already set (GOMEMLIMIT) stays, and in a cgroup the limit stays
// under seven eighths of the cgroup's: there a collector that works hard
// beats a process the kernel kills.
func SetSoft(bytes int64) (restore func()) {
	if c, ok := Limit(); ok {
		bytes = min(bytes, c/8*7)
	}
	old := debug.SetMemoryLimit(-1)
	if bytes >= old {
		return func() {}
	}
	debug.SetMemoryLimit(bytes)
	return func() { debug.SetMemoryLimit(old) }
}
