// Package fdpool lets a run use more files at once than it may hold open:
// a Pool keeps at most a set number of descriptors, closes the least
// recently used idle one when it needs another, and opens a file again by
// its name when it is next used, refusing it if the name no longer names
// the same file.
//
// A split into more partitions than the open-file limit allows, or a
// compaction of more inputs, works through one:
//
//	p := fdpool.ForRun() // as many as the limit leaves, less Reserve for the rest
//	f, err := p.Open("part-7.meguri")   // read-only, for ReadAt
//	w, err := p.Add(func() (*os.File, error) { return os.Create(name) }, os.O_WRONLY|os.O_APPEND)
//	... f.ReadAt(b, off); w.Write(b); w.Sync() ...
//	f.Close(); w.Close()
//
// A file written through the pool is reopened for appending, so it must
// be written front to back (as an output is). An error closing a
// descriptor the pool let go of (a write the file system had yet to
// report) is kept and returned by the file's next operation.
package fdpool

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// Pool holds up to a set number of descriptors for its files. It is safe
// for concurrent use, by any number of goroutines each using one file at
// a time.
type Pool struct {
	mu   sync.Mutex
	wait *sync.Cond // signalled when a descriptor may be had
	max  int
	open int       // descriptors held
	idle list.List // files open and not in use, least recently used first
}

// New returns a pool that holds at most n descriptors (at least 1).
func New(n int) *Pool {
	p := &Pool{max: max(1, n)}
	p.wait = sync.NewCond(&p.mu)
	return p
}

// File is a file in a pool.
type File struct {
	p    *Pool
	name string
	flag int         // how it is opened again
	info os.FileInfo // the file as first opened, to know it again
	fd   *os.File    // nil while the pool holds no descriptor for it
	busy int         // operations under way
	elem *list.Element
	err  error // from closing a descriptor the pool let go of
	done bool  // closed by its owner
}

// Open opens name for reading.
func (p *Pool) Open(name string) (*File, error) {
	return p.Add(func() (*os.File, error) { return os.Open(name) }, os.O_RDONLY)
}

// Add takes into the pool the file that open opens (with a descriptor the
// pool makes room for first); the pool opens it again by its name with
// flag when it is used after the pool let its descriptor go.
func (p *Pool) Add(open func() (*os.File, error), flag int) (*File, error) {
	f := &File{p: p, flag: flag}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.room(func() (err error) { f.fd, err = open(); return err }); err != nil {
		return nil, err
	}
	st, err := f.fd.Stat()
	if err != nil {
		f.fd.Close()
		p.open--
		p.wait.Broadcast()
		return nil, err
	}
	f.name, f.info = f.fd.Name(), st
	f.elem = p.idle.PushBack(f)
	return f, nil
}

// room waits until the pool may hold one more descriptor, letting go of
// the least recently used idle one if it must, and runs open, which
// makes it. The open-file limit reached (by this pool or by others) makes
// the pool hold fewer from then on, while it holds any.
func (p *Pool) room(open func() error) error {
	for {
		if p.open >= p.max {
			if e := p.idle.Front(); e != nil {
				p.letGo(e.Value.(*File))
				continue
			}
			p.wait.Wait()
			continue
		}
		err := open()
		if errors.Is(err, syscall.EMFILE) && p.open > 0 {
			p.max = p.open
			continue
		}
		if err != nil {
			return err
		}
		p.open++
		return nil
	}
}

// letGo closes an idle file's descriptor.
func (p *Pool) letGo(f *File) {
	p.idle.Remove(f.elem)
	f.elem = nil
	if err := f.fd.Close(); err != nil && f.err == nil {
		f.err = fmt.Errorf("%s: %w", f.name, err)
	}
	f.fd = nil
	p.open--
}

// acquire returns a descriptor of f for one operation, opening f again if
// the pool let its descriptor go.
func (p *Pool) acquire(f *File) (*os.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if f.done {
			return nil, os.ErrClosed
		}
		if f.err != nil {
			return nil, f.err
		}
		if f.fd != nil {
			if f.elem != nil {
				p.idle.Remove(f.elem)
				f.elem = nil
			}
			f.busy++
			return f.fd, nil
		}
		var fd *os.File
		if err := p.room(func() (err error) { fd, err = f.reopen(); return err }); err != nil {
			return nil, err
		}
		if f.fd != nil {
			// opened again meanwhile by another operation on f, while
			// room waited
			fd.Close()
			p.open--
			p.wait.Broadcast()
			continue
		}
		f.fd = fd
	}
}

// reopen opens f again by its name and makes sure it is the same file.
func (f *File) reopen() (*os.File, error) {
	fd, err := os.OpenFile(f.name, f.flag, 0)
	if errors.Is(err, syscall.EMFILE) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s was removed or renamed while this run used it: %w", f.name, err)
	}
	st, err := fd.Stat()
	if err == nil && !os.SameFile(st, f.info) {
		err = fmt.Errorf("%s was replaced by another file while this run used it", f.name)
	}
	if err != nil {
		fd.Close()
		return nil, err
	}
	return fd, nil
}

// release ends an operation on f.
func (p *Pool) release(f *File) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f.busy--
	if f.busy == 0 && f.fd != nil {
		f.elem = p.idle.PushBack(f)
		p.wait.Broadcast()
	}
}

// Name returns the name the file was opened by.
func (f *File) Name() string { return f.name }

// Stat returns the file's information as it was when first opened.
func (f *File) Stat() (os.FileInfo, error) { return f.info, nil }

// ReadAt reads len(b) bytes at off, as os.File.ReadAt does.
func (f *File) ReadAt(b []byte, off int64) (int, error) {
	fd, err := f.p.acquire(f)
	if err != nil {
		return 0, err
	}
	defer f.p.release(f)
	return fd.ReadAt(b, off)
}

// Write writes b at the file's end.
func (f *File) Write(b []byte) (int, error) {
	fd, err := f.p.acquire(f)
	if err != nil {
		return 0, err
	}
	defer f.p.release(f)
	return fd.Write(b)
}

// Sync commits the file's contents to the device.
func (f *File) Sync() error {
	fd, err := f.p.acquire(f)
	if err != nil {
		return err
	}
	defer f.p.release(f)
	return fd.Sync()
}

// Close closes the file and gives its descriptor back to the pool. It
// returns the error of an earlier close by the pool, if there was one.
// No operation on f may be under way.
func (f *File) Close() error {
	p := f.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.done {
		return os.ErrClosed
	}
	f.done = true
	err := f.err
	if f.fd != nil {
		if f.elem != nil {
			p.idle.Remove(f.elem)
			f.elem = nil
		}
		if cerr := f.fd.Close(); cerr != nil && err == nil {
			err = cerr
		}
		f.fd = nil
		p.open--
		p.wait.Broadcast()
	}
	return err
}
