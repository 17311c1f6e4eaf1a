// Package tempfiles keeps the list of temporary files a process has on disk
// (outputs being written, sorted runs spilled by the external sort), so
// that an interrupted run can remove them instead of leaving them behind.
//
//	f, err := tempfiles.Create(dir, "meguri-run-*")
//	...
//	tempfiles.Remove(f.Name()) // deletes the file and forgets it
//
// OnSignal, called once by every binary at start, removes every file still
// listed when SIGINT, SIGTERM or SIGHUP arrives (GNU parallel's --timeout
// and --halt send SIGTERM) and exits 128 + the signal number.
package tempfiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var (
	mu   sync.Mutex
	live = map[string]struct{}{}
)

// Create makes a new temporary file as os.CreateTemp does and lists it,
// both under the lock, so that an interrupt cannot fall between the two.
func Create(dir, pattern string) (*os.File, error) {
	mu.Lock()
	defer mu.Unlock()
	f, err := os.CreateTemp(dir, pattern)
	if err == nil {
		live[f.Name()] = struct{}{}
	}
	return f, err
}

// Forget takes a file off the list without removing it (it was renamed
// into place, say).
func Forget(name string) {
	mu.Lock()
	delete(live, name)
	mu.Unlock()
}

// Remove deletes a listed file and takes it off the list.
func Remove(name string) error {
	Forget(name)
	return os.Remove(name)
}

// removeAll deletes every listed file. It keeps the lock, so no file is
// listed or renamed through this package meanwhile.
func removeAll() {
	mu.Lock()
	for name := range live {
		os.Remove(name)
	}
	clear(live)
}

// OnSignal makes SIGINT, SIGTERM and SIGHUP remove every listed file and
// exit 128 + the signal number, saying so on stderr as prog. Signals the
// process started with ignored stay ignored.
func OnSignal(prog string) {
	ch := make(chan os.Signal, 1)
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		// A signal the process was started with ignored (nohup ignores
		// SIGHUP, a shell's background job SIGINT) stays ignored:
		// Notify would turn it back on.
		if !signal.Ignored(sig) {
			signal.Notify(ch, sig)
		}
	}
	go func() {
		sig := <-ch
		removeAll()
		fmt.Fprintf(os.Stderr, "%s: %v: stopped, temporary files removed\n", prog, sig)
		n := 1
		if s, ok := sig.(syscall.Signal); ok {
			n = int(s)
		}
		os.Exit(128 + n)
	}()
}

// SpillError wraps an error met writing a run spilled to dir ("" for the
// system temp dir). When the disk is full it says where runs spill and
// what to do: the temp directory (often a small tmpfs) is not where the
// user asked anything to be written.
func SpillError(dir string, err error) error {
	where := dir
	if dir == "" {
		where = os.TempDir() + " (the system temp dir)"
		if os.Getenv("TMPDIR") != "" {
			where = os.TempDir() + " (the system temp dir, from TMPDIR)"
		}
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("spill: %w: sorted runs spill to %s; give --tmp a directory on a disk with more room, or raise --mem", err, where)
	case dir == "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)):
		// --tmp is checked when given; the system's is not until used.
		return fmt.Errorf("spill: %w: sorted runs spill to %s; give --tmp a directory to write them in", err, where)
	}
	return fmt.Errorf("spill: %w", err)
}
