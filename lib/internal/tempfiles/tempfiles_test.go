package tempfiles

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

// A full disk under a spill names where runs go and the way out; other
// errors pass as they are, wrapped.
func TestSpillError(t *testing.T) {
	full := &fs.PathError{Op: "write", Path: "/t/meguri-run-1", Err: syscall.ENOSPC}
	err := SpillError("/t", full)
	if !errors.Is(err, syscall.ENOSPC) || err.Error() != "spill: write /t/meguri-run-1: no space left on device: sorted runs spill to /t; give --tmp a directory on a disk with more room, or raise --mem" {
		t.Errorf("SpillError(/t) = %v", err)
	}
	t.Setenv("TMPDIR", "")
	if err := SpillError("", full); !strings.Contains(err.Error(), "sorted runs spill to "+os.TempDir()+" (the system temp dir); give --tmp") {
		t.Errorf("SpillError(\"\") = %v", err)
	}
	// The system temp dir is not checked until a run spills: a TMPDIR
	// that names no directory is named as the cause.
	t.Setenv("TMPDIR", "/nonexistent")
	missing := &fs.PathError{Op: "open", Path: "/nonexistent/meguri-run-1", Err: syscall.ENOENT}
	if err := SpillError("", missing); err.Error() != "spill: open /nonexistent/meguri-run-1: no such file or directory: sorted runs spill to /nonexistent (the system temp dir, from TMPDIR); give --tmp a directory to write them in" {
		t.Errorf("SpillError(\"\", missing) = %v", err)
	}
	other := errors.New("input/output error")
	if err := SpillError("/t", other); !errors.Is(err, other) || err.Error() != "spill: input/output error" {
		t.Errorf("SpillError(other) = %v", err)
	}
}
