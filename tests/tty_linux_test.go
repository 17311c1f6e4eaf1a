//go:build linux

package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair: what a tool writes to the second
// file, it writes to a terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	if _, err := os.Stat("/dev/ptmx"); os.IsNotExist(err) {
		t.Skip("no /dev/ptmx on this machine")
	}
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// A .meguri file is not written to a terminal: with stdout on one and no
// -o, ingest, compact and pack exit 2 saying what to do. /dev/null is no
// terminal, and takes the bytes.
func TestNoBinaryToTerminal(t *testing.T) {
	_, tty := openPTY(t)
	live := filepath.Join(t.TempDir(), "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", live, sample)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, c := range [][]string{
		{"meguri-ingest", "-q", sample},
		{"meguri-compact", "-q", "../testdata/sample.meguri"},
		{"meguri-pack", "-q", "--data", live},
	} {
		for _, out := range []*os.File{tty, null} {
			e, code := runOn(t, nil, out, c[0], c[1:]...)
			if out == tty && (code != 2 || !strings.Contains(e, "stdout is a terminal, and a .meguri file is binary: give -o PATH or redirect stdout")) {
				t.Errorf("%v to a terminal: exit %d, %q", c, code, e)
			}
			if out == null && (code != 0 || e != "") {
				t.Errorf("%v to /dev/null: exit %d, %q", c, code, e)
			}
		}
	}
}

// With stdin on a terminal, a .meguri input ("-") is refused (exit 2),
// and a tool about to read lines from it says it waits for them there,
// then reads what is typed up to Ctrl-D as it would a file.
func TestStdinFromTerminal(t *testing.T) {
	for _, c := range [][]string{
		{"meguri-inspect", "-"},
		{"meguri-compact", "-q", "-", "-o", filepath.Join(t.TempDir(), "x.meguri")},
	} {
		_, tty := openPTY(t)
		if e, code := runOn(t, tty, nil, c[0], c[1:]...); code != 2 || !strings.Contains(e, "stdin is a terminal, and a .meguri file is binary: give FILE or pipe one in") {
			t.Errorf("%v from a terminal: exit %d, %q", c, code, e)
		}
	}

	out := filepath.Join(t.TempDir(), "typed.meguri")
	for _, c := range []struct {
		args  []string
		typed string
		hint  string
		want  string // on stdout
	}{
		{[]string{"meguri-ingest", "-q", "-o", out}, `{"url":"http://example.com/a"}` + "\n",
			"meguri-ingest: reading CDX lines from the terminal; end with Ctrl-D (give FILE... to read files)", ""},
		{[]string{"meguri-inspect", "--urls", "-", "--fields", "url", "--tsv", out}, "http://example.com/a\nhttp://example.com/b\n",
			"meguri-inspect: reading URLs from the terminal; end with Ctrl-D (give --urls FILE to read a list)", "http://example.com/a\n"},
	} {
		master, tty := openPTY(t)
		cmd := exec.Command(filepath.Join(binDir, c.args[0]), c.args[1:]...)
		cmd.Stdin = tty
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { // the echo comes back on the master; drop it
			b := make([]byte, 4096)
			for {
				if _, err := master.Read(b); err != nil {
					return
				}
			}
		}()
		master.WriteString(c.typed + "\x04") // Ctrl-D at a line's start: end of input
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Minute): // a tool still reading waits for another Ctrl-D
			cmd.Process.Kill()
			<-done
			t.Errorf("%v: still reading after Ctrl-D", c.args)
			continue
		}
		if err != nil || !strings.HasPrefix(e.String(), c.hint+"\n") || o.String() != c.want {
			t.Errorf("%v typed in: %v, stdout %q, stderr %q", c.args, err, o.String(), e.String())
		}
	}
}
