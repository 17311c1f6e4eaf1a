package memlimit

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLimitFrom: the least limit at the process's cgroup and above it, in
// either version; "max", v1's page-aligned MaxInt64 and a missing file are
// no limit.
func TestLimitFrom(t *testing.T) {
	root := t.TempDir()
	write := func(rel, v string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(v+"\n"), 0o644)
	}
	// v2: a job below a slice with a lower limit
	write("memory.max", "max")
	write("batch.slice/memory.max", "1073741824")
	write("batch.slice/job-7/memory.max", "2147483648")
	// v1: a container whose cgroup the mount shows as its root
	write("memory/memory.limit_in_bytes", "314572800")
	write("memory/docker/memory.limit_in_bytes", "9223372036854771712")
	for _, c := range []struct {
		cgroups string
		want    int64
		ok      bool
	}{
		{"0::/batch.slice/job-7\n", 1 << 30, true},
		{"0::/\n", 0, false},
		{"0::/elsewhere\n", 0, false},
		{"12:pids:/x\n4:memory:/docker/0123abcd\n1:name=systemd:/x\n", 314572800, true},
		{"4:cpu,memory:/\n", 314572800, true},
		{"3:cpuset:/\n", 0, false},
		{"", 0, false},
	} {
		got, ok := limitFrom(c.cgroups, root)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("%q: %d, %v; want %d, %v", c.cgroups, got, ok, c.want, c.ok)
		}
	}
}

// TestKBField: VmSize and MemTotal read from /proc texts, in bytes; a
// text without the field (or with a value that is no number) gives none.
func TestKBField(t *testing.T) {
	status := "Name:\tmeguri-ingest\nVmPeak:\t 1338292 kB\nVmSize:\t 1337476 kB\nVmLck:\t       0 kB\n"
	if got, ok := kbField(status, "VmSize"); !ok || got != 1337476<<10 {
		t.Errorf("VmSize = %d, %v; want %d", got, ok, 1337476<<10)
	}
	meminfo := "MemTotal:       24684084 kB\nMemFree:        17006780 kB\n"
	if got, ok := kbField(meminfo, "MemTotal"); !ok || got != 24684084<<10 {
		t.Errorf("MemTotal = %d, %v; want %d", got, ok, 24684084<<10)
	}
	for _, s := range []string{"Name:\tx\n", "VmSize:\t lots kB\n", ""} {
		if got, ok := kbField(s, "VmSize"); ok {
			t.Errorf("kbField(%q) = %d, want none", s, got)
		}
	}
}
