package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReadmeMakefile runs the README's Makefile rule as make runs it: a
// first make builds every partition, and after `route update --refresh`
// rewrote the map's counts a second make builds none (with the map as a
// plain prerequisite it rebuilt them all, every time); a new split's part
// rebuilds its partition alone.
func TestReadmeMakefile(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```make\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no make block")
	}
	rule := strings.ReplaceAll(string(m[1]), "meguri-", filepath.Join(binDir, "meguri-"))
	in, err := filepath.Abs(sample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must := mustIn(t, dir)
	must("meguri-route", "balance", "-q", "--partitions", "3", in, "-o", "fleet.manifest")
	must("meguri-route", "split", "-q", "--manifest", "fleet.manifest", "--out-dir", "parts", in)
	mk := "all: $(patsubst %.jsonl,%.meguri,$(wildcard parts/part-*.jsonl))\n" + rule
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(mk), 0o644); err != nil {
		t.Fatal(err)
	}
	builds := func() int {
		t.Helper()
		cmd := exec.Command("make")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make: %v\n%s", err, out)
		}
		return strings.Count(string(out), "meguri-ingest -q")
	}
	if n := builds(); n != 3 {
		t.Fatalf("the first make built %d partitions, want 3", n)
	}
	time.Sleep(10 * time.Millisecond) // mtimes a file system can tell apart
	must("meguri-route", "update", "-q", "--manifest", "fleet.manifest", "--dir", "parts", "--refresh", "-o", "fleet.manifest")
	if n := builds(); n != 0 {
		t.Errorf("make after a refresh of the map rebuilt %d partitions, want none", n)
	}
	time.Sleep(10 * time.Millisecond)
	part := filepath.Join(dir, "parts", "part-0001.jsonl")
	now := time.Now()
	if err := os.Chtimes(part, now, now); err != nil {
		t.Fatal(err)
	}
	if n := builds(); n != 1 {
		t.Errorf("make after a new part 1 rebuilt %d partitions, want 1", n)
	}
}
