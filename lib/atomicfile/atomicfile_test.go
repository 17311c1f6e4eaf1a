package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/meguri/meguri/lib/internal/fdpool"
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

// overOld makes dir/out holding "old" and starts an output over it.
func overOld(t *testing.T) (dir, path string, f *File) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "out")
	os.WriteFile(path, []byte("old"), 0o644)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return dir, path, f
}

func TestCommitAndAbort(t *testing.T) {
	dir, path, f := overOld(t)
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

	f, err := Create(path)
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

// TestLongName: a destination whose name is as long as a name can be
// (255 bytes) is written: its temporary file's name holds only the start
// of it.
func TestLongName(t *testing.T) {
	for _, n := range []int{100, 200, 255} {
		path := filepath.Join(t.TempDir(), strings.Repeat("p", n-len(".meguri"))+".meguri")
		if err := WriteFile(path, []byte("bytes")); err != nil {
			t.Fatalf("a name of %d bytes: %v", n, err)
		}
		if b, _ := os.ReadFile(path); string(b) != "bytes" {
			t.Errorf("a name of %d bytes: %q", n, b)
		}
	}
}

// TestWritten: Written hands what was buffered to the temporary file
// (the destination stays as it was until Commit), lets the buffer go and
// closes the file; a write after it fails, and Commit puts what was
// written in place.
func TestWritten(t *testing.T) {
	dir, path, f := overOld(t)
	f.WriteString("first ")
	if err := f.Written(); err != nil {
		t.Fatal(err)
	}
	if f.Buffered() != 0 || f.Size() >= 1<<20 {
		t.Errorf("after Written: %d bytes buffered, a buffer of %d", f.Buffered(), f.Size())
	}
	if _, err := f.f.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("temporary file after Written: write gives %v, want it closed", err)
	}
	if b, _ := os.ReadFile(f.f.Name()); string(b) != "first " {
		t.Errorf("temporary file after Written: %q", b)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("destination changed before Commit: %q", b)
	}
	f.WriteString(strings.Repeat("x", 100) + " last")
	if err := f.Flush(); err == nil || !strings.Contains(err.Error(), "cannot write "+path+": written after it was complete") {
		t.Errorf("a write after Written: %v", err)
	}
	g, err := Create(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	g.WriteString("other")
	if err := g.Written(); err != nil {
		t.Fatal(err)
	}
	if err := CommitAll([]*File{g}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(g.path); string(b) != "other" {
		t.Errorf("after Commit: %q", b)
	}
	if entries := names(t, dir); len(entries) != 3 {
		t.Errorf("%d entries in the directory, want out, its temporary file and other", len(entries))
	}
	f.Abort()
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("destination after Abort: %q", b)
	}
	if entries := names(t, dir); len(entries) != 2 {
		t.Errorf("%d entries after Abort, want out and other", len(entries))
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

// TestThroughLink: a destination that is a symbolic link (a fleet spread
// over disks behind links in one directory) is written through, as the
// shell's > does: the file it names gets the bytes, and the link stays.
func TestThroughLink(t *testing.T) {
	dir, disk := t.TempDir(), t.TempDir()
	real := filepath.Join(disk, "part-3.meguri")
	os.WriteFile(real, []byte("old"), 0o644)
	link := filepath.Join(dir, "part-3.meguri")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	// A relative link, through a second one, and a dangling one.
	os.Symlink("part-3.meguri", filepath.Join(dir, "current.meguri"))
	os.Symlink(filepath.Join(disk, "new.meguri"), filepath.Join(dir, "new.meguri"))

	for _, c := range []struct{ path, want string }{
		{link, "one"},
		{filepath.Join(dir, "current.meguri"), "two"},
		{filepath.Join(dir, "new.meguri"), "three"},
	} {
		if err := WriteFile(c.path, []byte(c.want)); err != nil {
			t.Fatal(err)
		}
		st, err := os.Lstat(c.path)
		if err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s: the link was replaced (%v)", c.path, err)
		}
		if b, _ := os.ReadFile(c.path); string(b) != c.want {
			t.Fatalf("%s reads %q, want %q", c.path, b, c.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(disk, "new.meguri")); string(b) != "three" {
		t.Fatalf("dangling link's target: %q", b)
	}
	if got := names(t, disk); len(got) != 2 {
		t.Fatalf("left on the disk: %v", got)
	}
	if got := names(t, dir); len(got) != 3 {
		t.Fatalf("left beside the links: %v", got)
	}

	loop := filepath.Join(dir, "loop")
	os.Symlink("loop", loop)
	if _, err := Create(loop); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Fatalf("a link to itself: %v", err)
	}
}

// TestMode: a new output gets 0666 less the umask, as the shell's > gives
// it; a file replaced keeps its permissions (a private manifest stays
// private, a group-readable partition stays so), through a link too.
func TestMode(t *testing.T) {
	mask := syscall.Umask(0)
	syscall.Umask(mask)
	dir := t.TempDir()
	write := func(path string) {
		t.Helper()
		if err := WriteFile(path, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	mode := func(path string) os.FileMode {
		t.Helper()
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}
	fresh := filepath.Join(dir, "new")
	write(fresh)
	if got, want := mode(fresh), os.FileMode(0o666)&^os.FileMode(mask); got != want {
		t.Errorf("a new file: mode %o, want %o (umask %o)", got, want, mask)
	}
	for _, m := range []os.FileMode{0o600, 0o640, 0o604, 0o755} {
		path := filepath.Join(dir, fmt.Sprintf("old-%o", m))
		os.WriteFile(path, []byte("old"), 0o644)
		os.Chmod(path, m)
		write(path)
		if got := mode(path); got != m {
			t.Errorf("replacing a file of mode %o left mode %o", m, got)
		}
		link := path + ".link"
		os.Symlink(filepath.Base(path), link)
		write(link)
		if got := mode(path); got != m {
			t.Errorf("replacing a file of mode %o through a link left mode %o", m, got)
		}
	}
}

// TestReplacedMeanwhile: a destination made, replaced or rewritten by
// someone else between Create and Commit (two runs given one output) is
// left as the other made it, and Commit fails with ErrReplaced, leaving
// no temporary file; in a set, no file of it is published.
func TestReplacedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		before bool // the destination exists at Create
		other  func(path string)
	}{
		{"made", false, func(p string) { os.WriteFile(p, []byte("other"), 0o644) }},
		{"replaced", true, func(p string) {
			os.WriteFile(p+".x", []byte("other"), 0o644)
			os.Rename(p+".x", p)
		}},
		{"rewritten", true, func(p string) {
			os.WriteFile(p, []byte("other, longer"), 0o644)
		}},
		{"removed", true, func(p string) { os.Remove(p) }},
	} {
		path := filepath.Join(dir, c.name)
		if c.before {
			os.WriteFile(path, []byte("old"), 0o644)
		}
		f, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("ours")
		c.other(path)
		want, _ := os.ReadFile(path)
		if err := f.Commit(); !errors.Is(err, ErrReplaced) || !strings.HasPrefix(err.Error(), path+" was written by someone else") {
			t.Errorf("%s meanwhile: Commit gave %v", c.name, err)
		}
		if got, _ := os.ReadFile(path); string(got) != string(want) {
			t.Errorf("%s meanwhile: the destination holds %q, want %q", c.name, got, want)
		}
	}
	// a set: one destination changed, none is published
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	fa, _ := Create(a)
	fb, _ := Create(b)
	fa.WriteString("a")
	fb.WriteString("b")
	os.WriteFile(b, []byte("other"), 0o644)
	if err := CommitAll([]*File{fa, fb}); !errors.Is(err, ErrReplaced) {
		t.Errorf("CommitAll: %v", err)
	}
	fa.Abort()
	fb.Abort()
	if _, err := os.Stat(a); err == nil {
		t.Error("CommitAll published a file of a set whose other destination changed")
	}
	for _, n := range names(t, dir) {
		if strings.Contains(n, ".tmp-") {
			t.Errorf("left %s", n)
		}
	}
}

// A FIFO (where the shell's >(...) writes go) is written in place: a
// rename could not replace it, and its reader waits for its end, which
// Commit gives it. Nothing is made beside it.
func TestPipeWrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	got := make(chan string)
	go func() {
		b, err := os.ReadFile(path)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}()
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != path {
		t.Errorf("Name() = %q, want %q", f.Name(), path)
	}
	f.WriteString("through the pipe")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("the reader got %q", s)
	}
	if st, err := os.Lstat(path); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", st.Mode(), err)
	}
	if n := names(t, dir); len(n) != 1 {
		t.Errorf("left beside it: %v", n)
	}
}

// TestCreateIn: outputs written by turns through a pool of one descriptor
// commit whole, each with its own bytes; aborted ones leave nothing.
func TestCreateIn(t *testing.T) {
	dir := t.TempDir()
	pool := fdpool.New(1)
	var files []*File
	for i := range 4 {
		f, err := CreateIn(pool, filepath.Join(dir, fmt.Sprint("out", i)), 16)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for round := range 3 {
		for i, f := range files {
			// longer than the buffer: written through at once
			fmt.Fprintf(f, "output %d, round %d, past the buffer\n", i, round)
		}
	}
	files[3].Abort()
	if err := CommitAll(files[:3]); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		want := ""
		for round := range 3 {
			want += fmt.Sprintf("output %d, round %d, past the buffer\n", i, round)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprint("out", i))); string(b) != want {
			t.Errorf("out%d holds %q", i, b)
		}
	}
	if got := names(t, dir); !slices.Equal(got, []string{"out0", "out1", "out2"}) {
		t.Errorf("left %q", got)
	}
}

// TestCannotCreate: a temporary file the directory refuses is reported as
// the directory's, since the output file itself may well be writable (the
// tests run as root, for whom no mode denies, so the errors are made here);
// other errors name the output as they came.
func TestCannotCreate(t *testing.T) {
	denied := func(errno syscall.Errno) error {
		return &os.PathError{Op: "open", Path: "ro/.out.meguri.tmp-1", Err: errno}
	}
	for _, c := range []struct {
		path, target string
		err          error
		want         string
	}{
		{"ro/out.meguri", "ro/out.meguri", denied(syscall.EACCES),
			"cannot write ro/out.meguri: no permission to make a file in ro (an output is written to a temporary file beside it and renamed into place, so its directory must be writable, not only the file)"},
		{"link.meguri", "/data/p/out.meguri", denied(syscall.EPERM),
			"cannot write link.meguri: no permission to make a file in /data/p (an output is written to a temporary file beside it and renamed into place, so its directory must be writable, not only the file)"},
		{"out.meguri", "out.meguri", denied(syscall.EACCES),
			"cannot write out.meguri: no permission to make a file in the current directory (an output is written to a temporary file beside it and renamed into place, so its directory must be writable, not only the file)"},
		{"ro/out.meguri", "ro/out.meguri", denied(syscall.EROFS), "cannot write ro/out.meguri: read-only file system"},
		{"ro/out.meguri", "ro/out.meguri", denied(syscall.ENOSPC), "cannot write ro/out.meguri: no space left on device"},
	} {
		if got := cannotCreate(c.path, c.target, c.err).Error(); got != c.want {
			t.Errorf("%s, %v:\n got %s\nwant %s", c.path, c.err, got, c.want)
		}
	}
}
