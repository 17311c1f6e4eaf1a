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
//
// A process that cannot remove its files (killed with SIGKILL, by the
// kernel's OOM killer, or a machine that went down) leaves them. So each
// file's name says which process made it: the "*" of the pattern becomes
// HOST@PID-RANDOM. The first Create in a directory (or Reap) removes from
// it the files that a process on this host made and that is gone (Reaped
// is told of each), so a run killed again and again does not fill the
// disk with hidden outputs and spilled runs.
package tempfiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

var (
	mu   sync.Mutex
	live = map[string]struct{}{}
	// reaped lists the directories Create has removed dead processes'
	// files from
	reaped = map[string]bool{}
)

// Reaped, when set, is told of the files removed from a directory
// because the process that made them is gone, once per process.
var Reaped func(Reaping)

// Reaping is what a gone process left in a directory, and was removed.
type Reaping struct {
	Dir   string
	PID   int
	Files []string // paths, in directory order
	Bytes int64
}

// host names this machine, and on Linux the process-id namespace, as a
// file name holds them: a dead process is told by its id only where its
// id means the same (a directory may be shared over the network, or
// between containers on one machine with the host's name).
var host = func() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	b := []byte(h)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	h = string(b[:min(len(b), 48)])
	// "pid:[4026531836]"
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		if _, n, ok := strings.Cut(strings.TrimSuffix(ns, "]"), "["); ok && digits(n) {
			h += "~" + n
		}
	}
	return h
}()

// Create makes a new temporary file as os.CreateTemp does, with the "*"
// of pattern standing for HOST@PID-RANDOM (HOST~NS on Linux, with the
// process-id namespace), and lists it, both under the lock, so that an
// interrupt cannot fall between the two. The first Create in a directory
// removes the files there that dead processes of this host made (see
// Reap).
func Create(dir, pattern string) (*os.File, error) {
	mu.Lock()
	defer mu.Unlock()
	reapOnce(dir)
	prefix, suffix, _ := strings.Cut(pattern, "*")
	f, err := os.CreateTemp(dir, prefix+host+"@"+strconv.Itoa(os.Getpid())+"-*"+suffix)
	if err == nil {
		live[f.Name()] = struct{}{}
	}
	return f, err
}

// Reap removes from dir ("" for the system temp dir) the files there that
// dead processes of this host made, unless Create or Reap has looked at
// dir before: a run that may spill calls it at its start, so that what a
// killed run spilled goes even when this one does not spill.
func Reap(dir string) {
	mu.Lock()
	defer mu.Unlock()
	reapOnce(dir)
}

func reapOnce(dir string) {
	if !reaped[dir] {
		reaped[dir] = true
		reap(dir)
	}
}

// reap removes from dir ("" for the system temp dir) the temporary
// files a process of this host made and that is gone: hidden outputs
// (".NAME.tmp-HOST@PID-N") and spilled runs ("meguri-KIND-HOST@PID-N").
// A process that still runs (or whose id was taken by another) keeps its
// files, as do other hosts' processes and this one.
func reap(dir string) {
	d := dir
	if d == "" {
		d = os.TempDir()
	}
	entries, err := os.ReadDir(d)
	if err != nil {
		return
	}
	var done []*Reaping
	byPID := map[int]*Reaping{} // nil: the process runs
	for _, e := range entries {
		pid, ok := madeBy(e.Name())
		if !ok || !e.Type().IsRegular() || pid == os.Getpid() {
			continue
		}
		r, seen := byPID[pid]
		if !seen {
			if gone(pid) {
				r = &Reaping{Dir: d, PID: pid}
				done = append(done, r)
			}
			byPID[pid] = r
		}
		if r == nil {
			continue
		}
		path := filepath.Join(d, e.Name())
		var size int64
		if st, err := e.Info(); err == nil {
			size = st.Size()
		}
		if os.Remove(path) == nil {
			r.Files = append(r.Files, path)
			r.Bytes += size
		}
	}
	for _, r := range done {
		if len(r.Files) > 0 && Reaped != nil {
			Reaped(*r)
		}
	}
}

// madeBy returns the id of the process of this host that made the
// temporary file called name, if Create made it.
func madeBy(name string) (pid int, ok bool) {
	mark := host + "@"
	i := strings.LastIndex(name, mark)
	if i < 0 {
		return 0, false
	}
	before, tag := name[:i], name[i+len(mark):]
	if !(strings.HasPrefix(before, ".") && strings.HasSuffix(before, ".tmp-") && len(before) > len("..tmp-") ||
		strings.HasPrefix(before, "meguri-") && strings.Count(before, "-") == 2 && strings.HasSuffix(before, "-")) {
		return 0, false
	}
	p, random, ok := strings.Cut(tag, "-")
	if !ok || !digits(p) || !digits(random) {
		return 0, false
	}
	pid, err := strconv.Atoi(p)
	return pid, err == nil && pid > 0
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// gone reports whether no process has the id pid (one of another user
// that runs is not gone: signalling it is refused).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
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

// InMemory, when set, is told once per directory that sorted runs are
// about to spill to a file system held in memory (a tmpfs /tmp): there
// they take memory that --mem does not count, which is what spilling was
// to avoid.
var InMemory func(dir string)

var spillDirs = map[string]bool{}

// CreateSpill makes the file of a sorted run spilled to dir ("" for the
// system temp dir), as Create does. Before the first in a directory held
// in memory it tells InMemory; a failure is worded by SpillError.
func CreateSpill(dir, pattern string) (*os.File, error) {
	where := dir
	if where == "" {
		where = os.TempDir()
	}
	mu.Lock()
	seen := spillDirs[where]
	spillDirs[where] = true
	mu.Unlock()
	if !seen && InMemory != nil && inMemory(where) {
		InMemory(where)
	}
	f, err := Create(dir, pattern)
	if err != nil {
		return nil, SpillError(dir, err)
	}
	return f, nil
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
