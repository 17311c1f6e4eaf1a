// Package atomicfile writes an output so that it appears whole or not at
// all: bytes go to a temporary file in the destination's directory, which is
// synced and renamed over the destination on Commit. Abort (or a crash)
// leaves the destination untouched; so does an interrupt, in a binary that
// called cli.Init (the temporary file is removed on SIGINT or SIGTERM).
//
//	f, err := atomicfile.Create("part-7.meguri")
//	defer f.Abort() // no-op after Commit
//	... write to f ...
//	return f.Commit()
//
// The name "-" means stdout, which is written directly; so is a destination
// that is a pipe or a device (a named FIFO, the shell's >(...), /dev/stdout
// on a pipe, /dev/null), which a rename cannot replace. A destination that
// is a symbolic link is written through: the file it names is replaced and
// the link stays, as the shell's > would do (a fleet may keep its files on
// several disks behind links in one directory).
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/internal/fdpool"
	"github.com/meguri/meguri/lib/internal/tempfiles"
)

// newFileMode is the mode of a new output: 0666 less the umask, read once
// at start (reading it means setting it, so it is not read while files
// are being made).
var newFileMode = func() fs.FileMode {
	mask := syscall.Umask(0)
	syscall.Umask(mask)
	return 0o666 &^ fs.FileMode(mask)
}()

// File is an output being written.
type File struct {
	*bufio.Writer
	f      handle // nil for stdout
	path   string // as given
	target string // path after following symbolic links
	before fileID // the destination at Create
	done   bool
	closed bool // the temporary file, by Written
	// direct: written in place, not through a temporary file (stdout,
	// a pipe, a device); f is nil for stdout
	direct bool
}

// handle is the file an output is written to: an *os.File, or a file in
// a pool of descriptors (CreateIn).
type handle interface {
	Write([]byte) (int, error)
	Name() string
	Sync() error
	Close() error
}

// Create starts writing path ("-" for stdout) through a 1 MiB buffer.
func Create(path string) (*File, error) { return CreateSize(path, 1<<20) }

// CreateSize is Create with a buffer of size bytes. Writers that hand over
// large chunks of their own need little: a write at least as large as the
// buffer goes straight to the file.
func CreateSize(path string, size int) (*File, error) {
	return CreateIn(nil, path, size)
}

// CreateIn is CreateSize with the temporary file kept in pool, for a run
// that writes more outputs at once than it may hold files open (a split
// into thousands of partitions): the pool closes the file while it is
// idle and opens it again to write. With a nil pool it is CreateSize.
func CreateIn(pool *fdpool.Pool, path string, size int) (*File, error) {
	if path == "-" || path == "" {
		return &File{Writer: bufio.NewWriterSize(os.Stdout, size), direct: true}, nil
	}
	// A pipe or a device holds no file to replace, and a reader at its
	// other end would wait forever for a rename: write it in place.
	if dirs.Stream(path) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, cannotWrite(path, err)
		}
		return &File{Writer: bufio.NewWriterSize(namedPipe{f}, size), f: f, path: path, direct: true}, nil
	}
	target, err := Target(path)
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err) // which link of a chain failed
	}
	// The destination as it is: refuse what the final rename would
	// refuse, before the work is done, naming the destination rather
	// than the temporary file; keep its permissions; and know it again
	// at Commit.
	st, err := os.Stat(target)
	if err != nil {
		st = nil // none there yet
	} else if st.IsDir() {
		return nil, fmt.Errorf("cannot write %s: it is a directory (give a file path)", path)
	}
	// CreateTemp makes 0600. A file replaced keeps its permissions, as
	// sed -i and gzip keep them (a manifest kept private stays so);
	// a new one gets what the shell's > would give it.
	mode := newFileMode
	if st != nil {
		mode = st.Mode().Perm()
	}
	create := func() (*os.File, error) {
		f, err := tempfiles.Create(filepath.Dir(target), "."+tempBase(target)+".tmp-*")
		if err == nil {
			f.Chmod(mode)
		}
		return f, err
	}
	var f handle
	if pool == nil {
		f, err = create()
	} else {
		f, err = pool.Add(create, os.O_WRONLY|os.O_APPEND)
	}
	if err != nil {
		return nil, cannotCreate(path, target, err)
	}
	return &File{Writer: bufio.NewWriterSize(tempFile{f, path}, size), f: f, path: path, target: target, before: idOf(st)}, nil
}

// tempBase is the destination's name as its temporary file's name holds
// it: cut to 120 bytes, so that with the tag tempfiles adds (the host,
// the process) it fits in a file name's 255 bytes whatever the
// destination's length.
func tempBase(target string) string {
	b := filepath.Base(target)
	return b[:min(len(b), 120)]
}

// Written is told that the output is complete, for a run that finishes
// its outputs one after another and commits them together (a split into
// many ranges): the buffer is flushed and let go, so that 1 MiB of buffer
// is not held per output until the commit (a split into 1,024 ranges held
// 1 GiB of them). Nor is a descriptor: a file in a pool (CreateIn) stays
// there, to be let go of when the pool needs room and opened again to be
// synced; another one is closed, and CommitAll syncs it by name. Nothing
// may be written after it. An output written in place (stdout, a pipe;
// one a run, not thousands) is only flushed, and keeps its buffer and
// descriptor until the commit.
func (f *File) Written() error {
	if err := f.Flush(); err != nil || f.direct {
		return err
	}
	f.Writer = bufio.NewWriterSize(writtenFile{f.path}, 64)
	if _, pooled := f.f.(*fdpool.File); f.closed || pooled {
		return nil
	}
	f.closed = true
	if err := f.f.Close(); err != nil {
		return cannotWrite(f.path, err)
	}
	return nil
}

// writtenFile is where an output writes after Written: nowhere.
type writtenFile struct{ path string }

func (w writtenFile) Write([]byte) (int, error) {
	return 0, fmt.Errorf("cannot write %s: written after it was complete", w.path)
}

// tempFile writes an output's temporary file, and names the output in
// its errors: "cannot write out.meguri: no space left on device" says
// what failed; the hidden temporary name, removed by then, would not.
type tempFile struct {
	f    handle
	path string
}

func (t tempFile) Write(b []byte) (int, error) {
	n, err := t.f.Write(b)
	if err != nil {
		err = cannotWrite(t.path, err)
	}
	return n, err
}

// namedPipe writes to a pipe given by name. A reader gone from its other
// end fails the run: the tools end quietly on EPIPE, for stdout into
// `| head`, but an output named by the user (`-o >(ssh node 'cat > x')`,
// whose exit status the shell does not see) is not whole, and the run
// must say so and exit 1.
type namedPipe struct{ f *os.File }

func (p namedPipe) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		err = fmt.Errorf("cannot write %s: the reader at the pipe's other end is gone, so the output is not whole", p.f.Name())
	}
	return n, err
}

// cannotWrite is the error of a failed operation on the output at path:
// the path an *fs.PathError or a rename's *os.LinkError adds (a temporary
// file's, or path again) gives way to path itself.
func cannotWrite(path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("cannot write %s: %w", path, err)
}

// cannotCreate is the error of a temporary file that could not be made
// beside the output. Denied, it names the directory: a user whose file
// is writable in a directory that is not would otherwise read
// "permission denied" of a file they can write.
func cannotCreate(path, target string, err error) error {
	if !errors.Is(err, fs.ErrPermission) {
		return cannotWrite(path, err)
	}
	return fmt.Errorf("cannot write %s: no permission to make a file in %s "+
		"(an output is written to a temporary file beside it and renamed into place, "+
		"so its directory must be writable, not only the file)", path, dirName(target))
}

// dirName is the directory of path as a message names it.
func dirName(path string) string {
	if d := filepath.Dir(path); d != "." {
		return d
	}
	return "the current directory"
}

// fileID tells whether a destination was replaced or rewritten: which
// file it is, its size and its modification time (zero: none there).
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

func idOf(st os.FileInfo) fileID {
	if st == nil {
		return fileID{}
	}
	id := fileID{size: st.Size(), mtime: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(sys.Dev), sys.Ino
	}
	return id
}

// ErrReplaced is Commit's error when the destination was made, replaced
// or rewritten by someone else while the output was being written (two
// runs given one output, as parallel's {/.} makes of a/x.gz and b/x.gz):
// replacing it would silently lose the other run's file, so the output is
// dropped instead, and the run fails.
var ErrReplaced = errors.New("was written by someone else while this run wrote it (two runs given one output?); this run's output was dropped, the other left in place: give each run its own output")

// unchanged refuses a destination that is not what it was at Create.
func (f *File) unchanged() error {
	if f.direct {
		return nil
	}
	st, err := os.Stat(f.target)
	if err != nil {
		st = nil // none there (now)
	}
	if idOf(st) != f.before {
		return fmt.Errorf("%s %w", f.path, ErrReplaced)
	}
	return nil
}

// Target returns the file an output at path replaces: path after following
// symbolic links (path itself when it is none). A dangling link names the
// file it would create, so that writing it makes the link whole.
func Target(path string) (string, error) {
	for range 40 {
		st, err := os.Lstat(path)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		to, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(filepath.Dir(path), to)
		}
		path = to
	}
	return "", errors.New("too many levels of symbolic links")
}

// Name returns the destination path ("-" for stdout).
func (f *File) Name() string {
	if f.direct && f.f == nil {
		return "-"
	}
	return f.path
}

// CommitAll commits a set of outputs as one: every file is flushed and
// synced first, so that a full disk or a failing device fails the set
// before any of it appears, and every destination checked to be as it was
// at Create (ErrReplaced), and only then is each renamed into place. On
// an error the caller aborts them all; only a failed rename (the disk
// space is already held by then) can leave the files before it in place.
// nil entries, and files already committed or aborted, are skipped.
func CommitAll(files []*File) error {
	if err := syncAll(files); err != nil {
		return err
	}
	for _, f := range files {
		if f != nil && !f.done {
			if err := f.unchanged(); err != nil {
				return err
			}
		}
	}
	// Each directory is synced once, after the renames into it: a split
	// into 4,806 files synced its directory 4,806 times.
	var dirs []string
	for _, f := range files {
		if f != nil && !f.done {
			if err := f.publish(); err != nil {
				return err
			}
			if !f.direct {
				if d := filepath.Dir(f.target); !slices.Contains(dirs, d) {
					dirs = append(dirs, d)
				}
			}
		}
	}
	for _, d := range dirs {
		// Best effort: some file systems refuse to sync a directory, and
		// the files themselves are whole on the device by now.
		SyncDir(d)
	}
	return nil
}

// syncAll flushes and syncs the files not yet committed, up to 16 at
// once (a file system can commit several syncs together; on this
// project's test machine a split into 4,806 files took a sixth less
// time), and returns the error of the first that failed, in order. Files
// in a pool take turns on its descriptors to be synced.
func syncAll(files []*File) error {
	if len(files) == 1 {
		if f := files[0]; f != nil && !f.done {
			return f.sync()
		}
		return nil
	}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 16)
	for i, f := range files {
		if f == nil || f.done {
			continue
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			errs[i] = f.sync()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Commit flushes, syncs and renames the file into place, then syncs the
// directory so the rename is durable. On an error the temporary file is
// removed.
func (f *File) Commit() error {
	if err := CommitAll([]*File{f}); err != nil {
		f.Abort()
		return err
	}
	return nil
}

// sync flushes the buffer and syncs the temporary file to the device.
func (f *File) sync() error {
	if err := f.Flush(); err != nil || f.direct {
		return err
	}
	if f.closed {
		// Closed by Written: a sync through any descriptor of the file
		// writes out its data.
		r, err := os.Open(f.f.Name())
		if err != nil {
			return cannotWrite(f.path, err)
		}
		defer r.Close()
		if err := r.Sync(); err != nil {
			return cannotWrite(f.path, err)
		}
		return nil
	}
	if err := f.f.Sync(); err != nil {
		return cannotWrite(f.path, err)
	}
	return nil
}

// publish renames the synced temporary file into place (CommitAll then
// syncs its directory); after it the file is done, whatever happened.
func (f *File) publish() error {
	f.done = true
	if f.direct {
		if f.f != nil {
			// The reader at a pipe's other end sees its end now.
			return f.f.Close()
		}
		return nil
	}
	if !f.closed {
		if err := f.f.Close(); err != nil {
			tempfiles.Remove(f.f.Name())
			return cannotWrite(f.path, err)
		}
	}
	if err := os.Rename(f.f.Name(), f.target); err != nil {
		tempfiles.Remove(f.f.Name())
		return cannotWrite(f.path, err)
	}
	tempfiles.Forget(f.f.Name())
	return nil
}

// WriteFile writes b to path as Create and Commit do: whole or not at all,
// synced, and the rename synced in its directory.
func WriteFile(path string, b []byte) error {
	f, err := CreateSize(path, 0)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Commit()
}

// SyncDir makes the creations, renames and removals in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Abort drops the temporary file. It does nothing after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.abort()
}

func (f *File) abort() {
	if f.direct {
		f.Flush()
		if f.f != nil {
			f.f.Close()
		}
		return
	}
	if !f.closed {
		f.f.Close()
	}
	tempfiles.Remove(f.f.Name())
}
