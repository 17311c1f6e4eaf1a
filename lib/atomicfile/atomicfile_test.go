package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// names lists dir's entries, hidden temporary files included.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	os.WriteFile(path, []byte("old"), 0o644)

	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("destination changed before Commit: %q", b)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit: nothing
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("after Commit: %q", b)
	}

	f, err = Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("lost")
	f.Abort()
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("after Abort: %q", b)
	}
	if got := names(t, dir); len(got) != 1 || got[0] != "out" {
		t.Fatalf("left behind: %v", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}

	if _, err := Create(dir); err == nil || !strings.Contains(err.Error(), "it is a directory") {
		t.Fatalf("Create(dir): %v", err)
	}
	if _, err := Create(filepath.Join(dir, "no", "such")); err == nil || !strings.HasPrefix(err.Error(), "cannot write ") {
		t.Fatalf("Create in a missing directory: %v", err)
	}
}

// A set of outputs appears whole or not at all: when one of them cannot be
// written out (here its file is closed under it, as a full disk would fail
// the flush), none is renamed into place, even those that synced.
func TestCommitAllFailsWhole(t *testing.T) {
	dir := t.TempDir()
	var files []*File
	for _, n := range []string{"a", "b", "c"} {
		f, err := Create(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("bytes of " + n) // held in the buffer until the flush
		files = append(files, f)
	}
	files[1].f.Close()
	if err := CommitAll(files); err == nil {
		t.Fatal("CommitAll with a failing file succeeded")
	}
	for _, f := range files {
		f.Abort()
	}
	if got := names(t, dir); len(got) != 0 {
		t.Fatalf("after a failed CommitAll: %v", got)
	}

	files = files[:0]
	for _, n := range []string{"a", "b"} {
		f, err := Create(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("bytes of " + n)
		files = append(files, f)
	}
	if err := CommitAll(append(files, nil)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(b) != "bytes of "+n {
			t.Fatalf("%s: %q, %v", n, b, err)
		}
	}
	if got := names(t, dir); len(got) != 2 {
		t.Fatalf("after CommitAll: %v", got)
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	if err := WriteFile(path, []byte("whole")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "whole" {
		t.Fatalf("%q", b)
	}
}
