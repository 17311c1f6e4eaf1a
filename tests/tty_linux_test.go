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
			cmd := exec.Command(filepath.Join(binDir, c[0]), c[1:]...)
			cmd.Stdout = out
			var e bytes.Buffer
			cmd.Stderr = &e
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if out == tty && (code != 2 || !strings.Contains(e.String(), "stdout is a terminal, and a .meguri file is binary: give -o PATH or redirect stdout")) {
				t.Errorf("%v to a terminal: exit %d, %q", c, code, e.String())
			}
			if out == null && (err != nil || e.Len() != 0) {
				t.Errorf("%v to /dev/null: %v, %q", c, err, e.String())
			}
		}
	}
}
