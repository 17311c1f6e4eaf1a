// Package cli holds what the meguri binaries share around their flags:
// exit handling, quiet exits on a closed pipe, and terminal detection for
// progress lines.
package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Init makes a write to a closed pipe return EPIPE instead of killing the
// process, so Fail can exit quietly (`meguri-inspect --rows f | head -1`).
func Init() {
	signal.Ignore(syscall.SIGPIPE)
}

// Fail prints "prog: err" to stderr and exits 1, or exits 0 quietly when
// err is a closed pipe on stdout.
func Fail(prog string, err error) {
	if errors.Is(err, syscall.EPIPE) {
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
	os.Exit(1)
}

// StderrIsTerminal reports whether stderr is a character device.
func StderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Progress decides whether to show progress: flag when given, otherwise
// whether stderr is a terminal.
func Progress(flag *bool) bool {
	if flag != nil {
		return *flag
	}
	return StderrIsTerminal()
}
