package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/alecthomas/kong"

	"github.com/meguri/meguri/lib/codec"
)

// revision is the build's source revision, set by the Makefile with
// -ldflags "-X github.com/meguri/meguri/lib/cli.revision=..." to
// `git describe --always --dirty`. Builds that do not set it (go install,
// go build) fall back to what the Go toolchain stamped.
var revision string

// VersionFlag is the --version flag every meguri binary has; embed it in a
// command's flags. It prints Version's line on stdout and exits 0, before
// any other flag or argument is checked.
type VersionFlag struct {
	Version kong.VersionFlag `help:"Print the build's revision, the .meguri format versions it writes and reads, and the Go release it was built with, then exit. Compare it across nodes before a fan-out: one build keys, canonicalizes and writes alike everywhere."`
}

// Version is the line --version prints for the binary name:
//
//	meguri-ingest 7220c4d (writes .meguri format 2, reads 1-2; go1.26.8 linux/amd64)
//
// The revision is the Makefile's `git describe --always --dirty`, else the
// module version (go install), else the VCS revision the toolchain stamped
// (12 hex digits, "-dirty" when the tree was modified), else "devel".
func Version(name string) string {
	return fmt.Sprintf("%s %s (writes .meguri format %d, reads %d-%d; %s %s/%s)",
		name, buildRevision(), codec.Version, codec.MinVersion, codec.Version,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func buildRevision() string {
	if revision != "" {
		return revision
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return rev + dirty
}
