package tempfiles

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A full disk under a spill names where runs go and the way out; other
// errors pass as they are, wrapped.
func TestSpillError(t *testing.T) {
	full := &fs.PathError{Op: "write", Path: "/t/meguri-run-1", Err: syscall.ENOSPC}
	err := SpillError("/t", full)
	if !errors.Is(err, syscall.ENOSPC) || err.Error() != "spill: write /t/meguri-run-1: no space left on device: sorted runs spill to /t; give --tmp a directory on a disk with more room, or raise --mem" {
		t.Errorf("SpillError(/t) = %v", err)
	}
	t.Setenv("TMPDIR", "")
	if err := SpillError("", full); !strings.Contains(err.Error(), "sorted runs spill to "+os.TempDir()+" (the system temp dir); give --tmp") {
		t.Errorf("SpillError(\"\") = %v", err)
	}
	// The system temp dir is not checked until a run spills: a TMPDIR
	// that names no directory is named as the cause.
	t.Setenv("TMPDIR", "/nonexistent")
	missing := &fs.PathError{Op: "open", Path: "/nonexistent/meguri-run-1", Err: syscall.ENOENT}
	if err := SpillError("", missing); err.Error() != "spill: open /nonexistent/meguri-run-1: no such file or directory: sorted runs spill to /nonexistent (the system temp dir, from TMPDIR); give --tmp a directory to write them in" {
		t.Errorf("SpillError(\"\", missing) = %v", err)
	}
	other := errors.New("input/output error")
	if err := SpillError("/t", other); !errors.Is(err, other) || err.Error() != "spill: input/output error" {
		t.Errorf("SpillError(other) = %v", err)
	}
}

// deadPID returns the id of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	pid := cmd.Process.Pid
	if !gone(pid) {
		t.Skipf("process %d is still there", pid)
	}
	return pid
}

// TestReap: a file's name says which process of which host made it, and
// the first Create in a directory removes the files a gone process of
// this host made there (hidden outputs and spilled runs), telling Reaped
// of each. Files of a running process, of another host, of this process,
// and every name Create does not make are kept.
func TestReap(t *testing.T) {
	dir := t.TempDir()
	dead, alive := deadPID(t), os.Getppid()
	tag := func(h string, pid int) string { return h + "@" + strconv.Itoa(pid) + "-123" }
	removed := []string{
		".part-7.meguri.tmp-" + tag(host, dead),
		"meguri-run-" + tag(host, dead),
		"meguri-keys-" + tag(host, dead),
	}
	kept := []string{
		".part-7.meguri.tmp-" + tag(host, alive),        // running
		".part-7.meguri.tmp-" + tag("other"+host, dead), // another host's
		"meguri-run-" + tag(host, os.Getpid()),          // this process's
		".part-7.meguri.tmp-123",                        // made before names said whose
		"part-7.meguri",
		"notes-" + tag(host, dead),        // not a name Create makes
		"meguri-run-x-" + tag(host, dead), // nor this
		".tmp-" + tag(host, dead),         // nor this
		".part-7.meguri.tmp-" + host + "@" + strconv.Itoa(dead) + "-12x",
	}
	for _, n := range append(removed, kept...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("12345"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "meguri-run-"+host+"@"+strconv.Itoa(dead)+"-9"), 0o755) // a directory
	var told []string
	Reaped = func(r Reaping) {
		if r.Dir != dir || r.PID != dead || r.Bytes != 5*int64(len(r.Files)) || told != nil {
			t.Errorf("Reaped(%+v)", r)
		}
		for _, f := range r.Files {
			told = append(told, filepath.Base(f))
		}
	}
	defer func() { Reaped = nil }()
	f, err := Create(dir, "meguri-run-*")
	if err != nil {
		t.Fatal(err)
	}
	defer Remove(f.Name())
	if want := "meguri-run-" + host + "@" + strconv.Itoa(os.Getpid()) + "-"; !strings.HasPrefix(filepath.Base(f.Name()), want) {
		t.Errorf("Create made %s, want a name starting %s", f.Name(), want)
	}
	slices.Sort(told)
	slices.Sort(removed)
	if !slices.Equal(told, removed) {
		t.Errorf("removed %v, want %v", told, removed)
	}
	for _, n := range removed {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s is still there", n)
		}
	}
	for _, n := range kept {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed", n)
		}
	}
	// once a directory: a file a gone process left after the first Create
	// waits for the next run
	late := filepath.Join(dir, "meguri-run-"+tag(host, dead))
	os.WriteFile(late, nil, 0o644)
	g, err := Create(dir, "meguri-run-*")
	if err != nil {
		t.Fatal(err)
	}
	Remove(g.Name())
	if _, err := os.Stat(late); err != nil {
		t.Error("a second Create in the directory looked again")
	}
}

// TestSpillingInMemory: spilling to a tmpfs is told once a directory;
// to a directory on a disk, never. /dev/shm is a tmpfs on Linux; the
// working directory of the test (the package's source) lies on a disk.
func TestSpillingInMemory(t *testing.T) {
	if !inMemory("/dev/shm") {
		t.Skip("/dev/shm is no tmpfs here")
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if inMemory(dir) {
		t.Skipf("the source tree %s is itself on a tmpfs", dir)
	}
	var told []string
	InMemory = func(d string) { told = append(told, d) }
	defer func() { InMemory = nil }()
	for range 2 {
		for _, d := range []string{"/dev/shm", dir} {
			f, err := CreateSpill(d, "meguri-test-*")
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			Remove(f.Name())
		}
	}
	if len(told) != 1 || told[0] != "/dev/shm" {
		t.Errorf("told %q, want /dev/shm once", told)
	}
}
