package fdpool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// held is how many descriptors p holds.
func held(p *Pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

func create(t *testing.T, p *Pool, name string) *File {
	t.Helper()
	f, err := p.Add(func() (*os.File, error) { return os.Create(name) }, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestManyFilesFewDescriptors: 50 files written in turns through a pool
// of 3 descriptors hold, each, exactly what was written to it, and read
// back through the pool in turns too; the pool never holds more than 3.
func TestManyFilesFewDescriptors(t *testing.T) {
	dir := t.TempDir()
	p := New(3)
	var files []*File
	for i := range 50 {
		files = append(files, create(t, p, filepath.Join(dir, fmt.Sprint(i))))
		if n := held(p); n > 3 {
			t.Fatalf("holds %d descriptors", n)
		}
	}
	for round := range 4 {
		for i, f := range files {
			if _, err := fmt.Fprintf(f, "file %d round %d\n", i, round); err != nil {
				t.Fatal(err)
			}
			if n := held(p); n > 3 {
				t.Fatalf("holds %d descriptors", n)
			}
		}
	}
	for _, f := range files {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := held(p); n != 0 {
		t.Fatalf("holds %d descriptors after every file closed", n)
	}
	var readers []*File
	for i := range files {
		f, err := p.Open(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		readers = append(readers, f)
	}
	for round := 3; round >= 0; round-- {
		for i, f := range readers {
			want := fmt.Sprintf("file %d round %d\n", i, round)
			off := int64(0)
			for r := range round {
				off += int64(len(fmt.Sprintf("file %d round %d\n", i, r)))
			}
			got := make([]byte, len(want))
			if _, err := f.ReadAt(got, off); err != nil || string(got) != want {
				t.Fatalf("file %d at %d: %q, %v; want %q", i, off, got, err, want)
			}
		}
	}
	for _, f := range readers {
		f.Close()
	}
	if err := readers[0].Close(); err != os.ErrClosed {
		t.Errorf("second close: %v", err)
	}
	if _, err := readers[0].ReadAt(make([]byte, 1), 0); err != os.ErrClosed {
		t.Errorf("read after close: %v", err)
	}
}

// TestReplacedOrRemoved: a file the pool let go of, then replaced by
// another under its name or removed, is refused at its next use, naming
// it; the pool does not read another file's bytes in its place.
func TestReplacedOrRemoved(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	for _, n := range []string{a, b, c} {
		os.WriteFile(n, []byte("bytes of "+n), 0o644)
	}
	p := New(1)
	fa, err := p.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := p.Open(b) // lets a's descriptor go
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "new"), []byte("other bytes"), 0o644)
	os.Rename(filepath.Join(dir, "new"), a)
	if _, err := fa.ReadAt(make([]byte, 4), 0); err == nil || err.Error() != a+" was replaced by another file while this run used it" {
		t.Errorf("replaced: %v", err)
	}
	fc, err := p.Open(c) // lets b's go
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(b)
	if _, err := fb.ReadAt(make([]byte, 4), 0); err == nil || !strings.HasPrefix(err.Error(), b+" was removed or renamed while this run used it") {
		t.Errorf("removed: %v", err)
	}
	got := make([]byte, 8)
	if _, err := fc.ReadAt(got, 0); err != nil || string(got) != "bytes of" {
		t.Errorf("the file still there: %q %v", got, err)
	}
}

// TestLimitReached: when opening fails for the open-file limit, the pool
// lets go of a descriptor it holds and goes on holding fewer, rather than
// failing; with none to let go of, the error is returned.
func TestLimitReached(t *testing.T) {
	dir := t.TempDir()
	limit := 4 // descriptors the "process" may still open
	// Add holds the pool's lock while it opens: open reads the count
	// directly.
	p2 := New(100)
	open := func(name string) func() (*os.File, error) {
		return func() (*os.File, error) {
			if p2.open >= limit {
				return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
			}
			return os.Create(name)
		}
	}
	var files []*File
	for i := range 10 {
		f, err := p2.Add(open(filepath.Join(dir, fmt.Sprint(i))), os.O_WRONLY|os.O_APPEND)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		files = append(files, f)
	}
	if p2.max != limit || held(p2) != limit {
		t.Errorf("holds %d of at most %d; want %d", held(p2), p2.max, limit)
	}
	for i, f := range files {
		if _, err := f.Write([]byte{byte('0' + i)}); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for i := range files {
		if b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprint(i))); string(b) != string(rune('0'+i)) {
			t.Errorf("file %d holds %q", i, b)
		}
	}
	limit = 0
	if _, err := p2.Add(open(filepath.Join(dir, "x")), os.O_WRONLY); err == nil || !strings.Contains(err.Error(), "too many open files") {
		t.Errorf("no descriptor to let go of: %v", err)
	}
}

// TestConcurrent: goroutines writing their own files through a pool of 2
// descriptors all finish, and every file holds what its goroutine wrote
// (run under -race).
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	p := New(2)
	var wg sync.WaitGroup
	want := make([][]byte, 8)
	for g := range 8 {
		f := create(t, p, filepath.Join(dir, fmt.Sprint(g)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				line := fmt.Appendf(nil, "%d:%d\n", g, i)
				want[g] = append(want[g], line...)
				if _, err := f.Write(line); err != nil {
					t.Error(err)
					return
				}
			}
			if err := f.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for g := range want {
		if b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprint(g))); !bytes.Equal(b, want[g]) {
			t.Errorf("file %d differs", g)
		}
	}
	if n := held(p); n != 0 {
		t.Errorf("holds %d after every file closed", n)
	}
}

// TestFree: what Free counts is what can be opened.
func TestFree(t *testing.T) {
	if Limit() == 0 {
		t.Skip("no open-file limit known on this system")
	}
	if n := Free(0); n < 1 || uint64(n) > Limit() {
		t.Errorf("Free(0) = %d, limit %d", n, Limit())
	}
	if a, b := Free(0), Free(10); a > 10 && b != a-10 {
		t.Errorf("Free(10) = %d, Free(0) = %d", b, a)
	}
}
