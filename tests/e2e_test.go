// Package tests runs the meguri binaries as a user would.
package tests

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	cdxinput "github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/units"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meguri-bin-")
	if err != nil {
		panic(err)
	}
	// the revision as the Makefile stamps it, so TestVersion sees it; and
	// static, as the Makefile builds them (a cgo build's threads take
	// 8 MiB stacks from libc, which TestAddressSpaceLimit would see)
	cmd := exec.Command("go", "build", "-ldflags", "-X github.com/meguri/meguri/lib/cli.revision="+testRevision, "-o", dir+"/", "../cmd/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const sample = "../testdata/sample.jsonl"

// testRevision is the revision the tools under test are stamped with.
const testRevision = "e2e-test"

func run(t *testing.T, stdin []byte, name string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	return runIn(t, "", stdin, name, args...)
}

// runIn runs a tool with dir as its working directory ("" for the
// test's), so relative names are exercised as a user there types them.
func runIn(t *testing.T, dir string, stdin []byte, name string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.Bytes(), e.Bytes(), code
}

// runOn runs a tool with its stdin and stdout on the given files (nil:
// none), and returns its stderr and exit code.
func runOn(t *testing.T, stdin, stdout *os.File, name string, args ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return e.String(), code
}

// writeGzip writes data gzip-compressed to path.
func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantFail runs a tool and expects exit 1 with want in its stderr.
func wantFail(t *testing.T, want, name string, args ...string) {
	t.Helper()
	wantExit(t, 1, want, name, args...)
}

// wantUsage runs a command line that is wrong as such (flags that do not
// go together): exit 2, naming the problem.
func wantUsage(t *testing.T, want, name string, args ...string) {
	t.Helper()
	wantExit(t, 2, want, name, args...)
}

func wantExit(t *testing.T, wantCode int, want, name string, args ...string) {
	t.Helper()
	_, e, code := run(t, nil, name, args...)
	if code != wantCode || !strings.Contains(string(e), want) {
		t.Errorf("%s %v: exit %d, stderr %q; want exit %d and %q", name, args, code, e, wantCode, want)
	}
}

// runUnderLimit runs a tool under a shell limit (ulimit -n 40: open
// files; -f 16: file size, in blocks) and returns its combined output.
func runUnderLimit(limit, name string, args ...string) ([]byte, error) {
	sh := fmt.Sprintf(`ulimit %s && exec "$0" "$@"`, limit)
	return exec.Command("sh", append([]string{"-c", sh, filepath.Join(binDir, name)}, args...)...).CombinedOutput()
}

// writingFixture makes, from the sample, what the tools that write are
// tried on: a file, a map of two partitions and a live directory.
func writingFixture(t *testing.T) (dir, file, manifest, live string) {
	dir = t.TempDir()
	file = filepath.Join(dir, "sample.meguri")
	manifest = filepath.Join(dir, "fleet.manifest")
	live = filepath.Join(dir, "live")
	mustRun(t, nil, "meguri-ingest", "-q", sample, "-o", file)
	mustRun(t, nil, "meguri-route", "balance", "-q", "--partitions", "2", file, "-o", manifest)
	mustRun(t, nil, "meguri-ingest", "-q", "--data", live, sample)
	return dir, file, manifest, live
}

// File and pipe give the same bytes, and equal the golden file.
func TestPipeAndFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "a.meguri")
	if _, e, code := run(t, nil, "meguri-ingest", "-q", sample, "-o", out); code != 0 {
		t.Fatalf("ingest: %s", e)
	}
	in, _ := os.ReadFile(sample)
	piped, e, code := run(t, in, "meguri-ingest", "-q")
	if code != 0 {
		t.Fatalf("ingest from stdin: %s", e)
	}
	file, _ := os.ReadFile(out)
	golden, _ := os.ReadFile("../testdata/sample.meguri")
	if !bytes.Equal(file, piped) || !bytes.Equal(file, golden) {
		t.Fatal("file, pipe and golden bytes differ")
	}
	fi, _ := os.Stat(out)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("output mode %v, want 0644", fi.Mode().Perm())
	}
	// inspect from a file and from a pipe agree
	a, _, _ := run(t, nil, "meguri-inspect", "--rows", out)
	b, _, _ := run(t, file, "meguri-inspect", "--rows", "-")
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Fatal("--rows from file and from pipe differ")
	}
	var sum map[string]any
	j, _, _ := run(t, nil, "meguri-inspect", "--json", out)
	if err := json.Unmarshal(j, &sum); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format_version", "partition_id", "host_key_lo", "host_key_hi", "urls", "hosts", "captures", "file_bytes", "bytes_per_url"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("--json lacks %s", k)
		}
	}
	if sum["host_key_hi"] != "0xffffffffffffffff" {
		t.Errorf("host_key_hi = %v", sum["host_key_hi"])
	}
}

// A failed run leaves no output file, and the error names the problem.
func TestFailureLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "a.meguri")
	bad := filepath.Join(dir, "cdx-00000.gz")
	os.WriteFile(bad, []byte("<!DOCTYPE html><html>503</html>"), 0o644)
	_, e, code := run(t, nil, "meguri-ingest", sample, bad, "-o", out)
	if code == 0 || !strings.Contains(string(e), bad) {
		t.Fatalf("exit %d, stderr %q", code, e)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("failed run left files: %v", entries)
	}
	_, e, code = run(t, nil, "meguri-ingest", "--strict", sample, "-o", out)
	if code == 0 || !strings.Contains(string(e), "sample.jsonl:") {
		t.Fatalf("strict: exit %d, stderr %q", code, e)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("strict failure left an output file")
	}
	// compact checks where its manifest rows go before writing any output
	_, e, code = run(t, nil, "meguri-compact", "../testdata/sample.meguri", "-o", out, "--manifest-out", filepath.Join(dir, "no", "rows"))
	if code != 1 || !strings.Contains(string(e), "no such file or directory") {
		t.Fatalf("--manifest-out into a missing directory: exit %d, stderr %q", code, e)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("compact whose rows could not be written left its output")
	}
}

// TestDirectoryInput: a directory named as an input is refused by name
// before anything is read or written.
func TestDirectoryInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.meguri")
	for _, args := range [][]string{
		{"meguri-ingest", dir, "-o", out},
		{"meguri-route", "balance", "-n", "2", dir, "-o", out},
		{"meguri-inspect", dir},
		{"meguri-compact", dir, "-o", out},
	} {
		wantFail(t, dir+" is a directory", args[0], args[1:]...)
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v left an output file", args)
		}
	}
	// a partition directory: the message names the way to a file
	live := filepath.Join(dir, "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", live, sample)
	for _, args := range [][]string{
		{"meguri-ingest", live, "-o", out},
		{"meguri-compact", live, "-o", out},
	} {
		wantFail(t, live+" is a partition directory, not a ", args[0], args[1:]...)
		wantFail(t, ": meguri-pack --data "+live+" -o part.meguri packs it into one", args[0], args[1:]...)
	}
	// balance counts one as it would count its packed file, keyed by its
	// grouping when --grouping is not given
	if a, b := mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", live, "-o", "-"), mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", sample, "-o", "-"); !bytes.Equal(a, b) {
		t.Errorf("balance of a partition directory:\n%s\nof the lines it holds:\n%s", a, b)
	}
	byHost := filepath.Join(dir, "live-host")
	mustRun(t, nil, "meguri-ingest", "-q", "--grouping", "host", "--data", byHost, sample)
	if a, b := mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", byHost, "-o", "-"), mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", "--grouping", "host", sample, "-o", "-"); !bytes.Equal(a, b) {
		t.Errorf("balance of a partition directory keyed by host:\n%s\nof the lines it holds:\n%s", a, b)
	}
}

// TestMissingInput: a missing input among several is refused before the
// first is read (inputs are read one after another), naming it.
func TestMissingInput(t *testing.T) {
	dir, mdir := t.TempDir(), t.TempDir()
	m := filepath.Join(mdir, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", sample, "-o", m)
	out, missing := filepath.Join(dir, "out"), filepath.Join(dir, "cdx-00299.gz")
	rej := filepath.Join(mdir, "rejects.jsonl")
	for _, args := range [][]string{
		{"meguri-ingest", sample, missing, "-o", out, "--rejects", rej},
		{"meguri-route", "balance", "-n", "2", sample, missing, "-o", out},
		{"meguri-route", "split", "--manifest", m, "--out-dir", out, sample, missing},
	} {
		wantFail(t, missing+": no such file or directory", args[0], args[1:]...)
	}
	// the rejects file is kept even when a run fails (it holds the line
	// that stopped a --strict run); here nothing was read, so it is empty
	if b, err := os.ReadFile(rej); err != nil || len(b) != 0 {
		t.Errorf("rejects file: %d bytes (%v); the sample was read before the missing input was found", len(b), err)
	}
	// split makes its --out-dir before reading; nothing may be in it
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if left, _ := os.ReadDir(dir); len(left) > 1 {
		t.Errorf("left behind: %v", left)
	}
}

// TestMissingInputWording: every tool words a missing input, map or
// partition directory the same way, whatever reads it: "TOOL: cannot read
// PATH: no such file or directory" (ingest names its --manifest flag
// first), exit 1, and not the system call's "open PATH: ..." that
// compaction and inspect used to print.
func TestMissingInputWording(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "gone.meguri")
	m := filepath.Join(dir, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", sample, "-o", m)
	out := filepath.Join(dir, "out.meguri")
	for _, args := range [][]string{
		{"meguri-ingest", missing, "-o", out},
		{"meguri-ingest", "--manifest", missing, "--partition-id", "0", sample, "-o", out},
		{"meguri-route", "--manifest", missing},
		{"meguri-route", "balance", "-n", "2", missing, "-o", out},
		{"meguri-compact", missing, "-o", out},
		{"meguri-compact", "--fold", "../testdata/sample.meguri", missing, "-o", out},
		{"meguri-inspect", missing},
		{"meguri-inspect", "--verify", missing},
		{"meguri-inspect", "--rows", missing},
		{"meguri-pack", "--data", missing, "-o", out},
	} {
		_, e, code := run(t, nil, args[0], args[1:]...)
		want := args[0] + ": cannot read " + missing + ": no such file or directory"
		if args[0] == "meguri-ingest" && args[1] == "--manifest" {
			want = "meguri-ingest: --manifest: cannot read " + missing + ": no such file or directory"
		}
		if code != 1 || !strings.HasPrefix(string(e), want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", args, code, e, want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output was left behind")
	}
}

// TestSpillsUnderFileLimit: an ingest that spills more runs than it may
// open files (84 runs of the sample under ulimit -n 40) merges them in
// steps and gives the golden bytes.
func TestSpillsUnderFileLimit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.meguri")
	e, err := runUnderLimit("-n 40", "meguri-ingest", "--json", "--mem", "4K", "--tmp", t.TempDir(), sample, "-o", out)
	if err != nil {
		t.Fatalf("%v: %s", err, e)
	}
	var sum struct{ Spills int }
	if json.Unmarshal(e, &sum) != nil || sum.Spills <= 40 {
		t.Errorf("summary %q: want more spills than the open-file limit", e)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile("../testdata/sample.meguri")
	if !bytes.Equal(got, want) {
		t.Error("output differs from the golden file")
	}
}

// TestOutputPathErrors: an -o the final rename could not take (a
// directory) or a directory that does not exist is refused at once, naming
// the destination, not the temporary file, and nothing is left behind.
func TestOutputPathErrors(t *testing.T) {
	sample := "../testdata/sample.jsonl"
	golden := "../testdata/sample.meguri"
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "out.meguri")
	for _, c := range []struct{ out, want string }{
		{dir, "cannot write " + dir + ": it is a directory"},
		{missing, "cannot write " + missing + ": no such file or directory"},
	} {
		for _, args := range [][]string{
			{"meguri-ingest", sample, "-o", c.out},
			{"meguri-route", "balance", "-n", "2", sample, "-o", c.out},
			{"meguri-compact", golden, "-o", c.out},
		} {
			wantFail(t, c.want, args[0], args[1:]...)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind in the output directory: %v", left)
	}
}

func TestInspectModes(t *testing.T) {
	golden := "../testdata/sample.meguri"
	// --rows | head -1 exits quietly
	cmd := exec.Command("sh", "-c", filepath.Join(binDir, "meguri-inspect")+" --rows "+golden+" | head -1")
	var e bytes.Buffer
	cmd.Stderr = &e
	out, err := cmd.Output()
	if err != nil || e.Len() != 0 || bytes.Count(out, []byte("\n")) != 1 {
		t.Fatalf("--rows | head -1: %v %q %q", err, out, e.String())
	}
	o, _, code := run(t, nil, "meguri-inspect", "--url", "HTTP://WWW.ZEW.DE:80/#top", golden)
	var row map[string]any
	if code != 0 || json.Unmarshal(o, &row) != nil || row["url"] != "http://www.zew.de/" || row["first_seen"] == nil {
		t.Fatalf("--url present: exit %d %s", code, o)
	}
	_, _, code = run(t, nil, "meguri-inspect", "--url", "http://absent.example/", golden)
	if code != 1 {
		t.Fatalf("--url absent: exit %d, want 1", code)
	}
	// damage: --verify names the region
	b, _ := os.ReadFile(golden)
	b[len(b)/2] ^= 0x10
	damaged := filepath.Join(t.TempDir(), "d.meguri")
	os.WriteFile(damaged, b, 0o644)
	_, e2, code := run(t, nil, "meguri-inspect", "--verify", damaged)
	if code != 1 || !strings.Contains(string(e2), "corrupt .meguri: block 0, url page at offset") {
		t.Fatalf("--verify damaged: exit %d %q", code, e2)
	}
	// a lookup exits as grep: 1 absent, 2 when it cannot tell (a damaged,
	// truncated or missing file), so a script never reads one for the other
	full, _ := os.ReadFile(golden)
	truncated := filepath.Join(t.TempDir(), "t.meguri")
	os.WriteFile(truncated, full[:len(full)-100], 0o644)
	for _, c := range []struct{ file, want string }{
		{damaged, "corrupt .meguri: block 0, url page at offset"},
		{truncated, "corrupt .meguri: trailer at offset"},
		{filepath.Join(t.TempDir(), "missing.meguri"), "no such file or directory"},
	} {
		for _, mode := range [][]string{{"--url", "http://www.zew.de/"}, {"--url", "http://absent.example/"}, {"--host", "zew.de"}, {"--host", "absent.example"}} {
			out, e, code := run(t, nil, "meguri-inspect", append(mode, c.file)...)
			if code != 2 || len(out) != 0 || !strings.Contains(string(e), c.want) {
				t.Errorf("%v %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", mode, c.file, code, out, e, c.want)
			}
		}
	}
}

// TestInspectHost: --host prints the records of one host group, exactly
// the lines of --rows with its host key, whichever way the host is named
// (a host name in any case, with a port, a URL, the key in hex or
// decimal); under grouping host only that host's. An absent host exits 1
// with nothing on stdout, a value that is neither key nor host exits 2;
// meguri-route --host takes the same names and gives the same key.
func TestInspectHost(t *testing.T) {
	dir := t.TempDir()
	byHost := filepath.Join(dir, "byhost.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", "--grouping", "host", sample, "-o", byHost)
	for _, tc := range []struct {
		file, key string
		names     []string
	}{
		{"../testdata/sample.meguri", "brigitte.de", []string{"brigitte.de", "WWW.BRIGITTE.DE:8080", "http://bfriends.brigitte.de/x?y#z"}},
		{byHost, "bfriends.brigitte.de", []string{"bfriends.brigitte.de", "http://BFRIENDS.brigitte.de/a"}},
	} {
		k := xxhash.Sum64String(tc.key)
		var want []byte
		for _, line := range bytes.SplitAfter(mustRun(t, nil, "meguri-inspect", "--rows", tc.file), []byte("\n")) {
			if bytes.Contains(line, []byte(fmt.Sprintf(`"host_key":"0x%016x"`, k))) {
				want = append(want, line...)
			}
		}
		if bytes.Count(want, []byte("\n")) < 2 {
			t.Fatalf("%s: %d rows of %s; the test wants several", tc.file, bytes.Count(want, []byte("\n")), tc.key)
		}
		for _, name := range append(tc.names, fmt.Sprintf("0x%x", k), fmt.Sprint(k)) {
			out, e, code := run(t, nil, "meguri-inspect", "--host", name, tc.file)
			if code != 0 || !bytes.Equal(out, want) || len(e) != 0 {
				t.Errorf("%s --host %s: exit %d, %q\n%s\nwant\n%s", tc.file, name, code, e, out, want)
			}
		}
	}
	out, e, code := run(t, nil, "meguri-inspect", "--host", "absent.example", byHost)
	if code != 1 || len(out) != 0 || !strings.Contains(string(e), fmt.Sprintf("absent.example (host key 0x%016x): not in %s", xxhash.Sum64String("absent.example"), byHost)) {
		t.Errorf("absent host: exit %d, stdout %q, stderr %q", code, out, e)
	}
	for _, args := range [][]string{{"--host", "a b", byHost}, {"--host", "zew.de", "--rows", byHost}} {
		out, e, code := run(t, nil, "meguri-inspect", args...)
		if code != 2 || len(out) != 0 || len(e) == 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2", args, code, out, e)
		}
	}
	// a directory is read only when it is a partition directory
	wantUsage(t, dir+" is a directory, but not a partition directory", "meguri-inspect", "--host", "zew.de", dir)
	man := filepath.Join(dir, "m")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "4", sample, "-o", man)
	var byName, byURL struct {
		Key   string `json:"host_key"`
		Group string `json:"group"`
		ID    uint64 `json:"partition_id"`
	}
	json.Unmarshal(mustRun(t, nil, "meguri-route", "--manifest", man, "--host", "Www.Zew.De", "--json"), &byName)
	json.Unmarshal(mustRun(t, nil, "meguri-route", "--manifest", man, "--url", "http://www.zew.de/", "--json"), &byURL)
	if byName != byURL || byName.Key != fmt.Sprintf("0x%016x", xxhash.Sum64String("zew.de")) || byName.Group != "zew.de" {
		t.Errorf("route --host by name %+v, --url %+v", byName, byURL)
	}
}

// TestURLListsOfCDX: a CDX file is a URL list as it is, in Common
// Crawl's SURT TIMESTAMP {json} form and gzipped as the cdx-NNNNN.gz files
// ship: inspect --urls looks up each line ingest takes (none absent from
// the file ingested from it), and compact --drop-urls, given the lines
// ingest takes, drops every record.
func TestURLListsOfCDX(t *testing.T) {
	dir := t.TempDir()
	// the sample in Common Crawl's form, and the lines of it ingest takes
	// (a line ingest rejects, a warc/request record say, may still name a
	// URL that other lines capture)
	p := cdx.Parser{Grouping: canon.ByDomain, RangeHi: cdx.Full}
	var cc, taken []byte
	for _, l := range bytes.SplitAfter(fileBytes(t, sample), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil && m["timestamp"] != nil && m["urlkey"] != nil {
			l = append(fmt.Appendf(nil, "%s %s ", strings.ReplaceAll(fmt.Sprint(m["urlkey"]), " ", ""), m["timestamp"]), l...)
		}
		cc = append(cc, l...)
		if _, r := p.Parse(bytes.TrimSuffix(l, []byte("\n"))); r == cdx.OK {
			taken = append(taken, l...)
		}
	}
	ccFile, list := filepath.Join(dir, "cdx-00000.gz"), filepath.Join(dir, "taken.gz")
	writeGzip(t, ccFile, cc)
	writeGzip(t, list, taken)
	whole := filepath.Join(dir, "whole.meguri")
	_, e, code := run(t, nil, "meguri-ingest", "--json", ccFile, "-o", whole)
	var sum struct{ Taken int }
	if code != 0 || json.Unmarshal(e, &sum) != nil || sum.Taken != bytes.Count(taken, []byte("\n")) {
		t.Fatalf("ingest: exit %d, %s; want %d lines taken", code, e, bytes.Count(taken, []byte("\n")))
	}
	if !bytes.Equal(fileBytes(t, whole), mustRun(t, nil, "meguri-ingest", "-q", sample)) {
		t.Fatal("bad fixture: the SURT form ingests to other bytes")
	}
	out, e, code := run(t, nil, "meguri-inspect", "--urls", list, whole)
	if n := bytes.Count(out, []byte("\n")); code != 0 || n != sum.Taken || len(e) != 0 {
		t.Errorf("--urls of the CDX lines ingest took: exit %d, %d records printed for %d lines\n%s", code, n, sum.Taken, e)
	}
	// a small budget: chunks of 64 lines, the same records in the same order
	if small := mustRun(t, nil, "meguri-inspect", "--mem", "64K", "--urls", list, whole); !bytes.Equal(small, out) {
		t.Errorf("--urls under --mem 64K printed %d bytes, not the %d of the default", len(small), len(out))
	}
	if out, e, code = run(t, nil, "meguri-inspect", "--urls", list, "--absent", whole); code != 0 || len(out) != 0 {
		t.Errorf("--urls --absent of the CDX lines ingest took: exit %d, printed %.300q\n%s", code, out, e)
	}
	dropped := filepath.Join(dir, "dropped.meguri")
	// a list that drops every record is refused (a list of the wrong file
	// would empty a partition in place), unless --allow-empty
	if _, e, code = run(t, nil, "meguri-compact", "--drop-urls", list, whole, "-o", dropped); code != 1 ||
		!strings.Contains(string(e), "meguri-compact: the drops leave no record of the 1736 read (0 dropped with their hosts, 1736 by the URL list): is it the list meant? --allow-empty writes the empty partition; nothing was written") {
		t.Errorf("--drop-urls of every URL: exit %d\n%s", code, e)
	}
	if _, err := os.Stat(dropped); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--drop-urls of every URL, refused, left %s: %v", dropped, err)
	}
	if _, e, code = run(t, nil, "meguri-compact", "--allow-empty", "--drop-urls", list, whole, "-o", dropped); code != 0 || !strings.Contains(string(e), " urls out") {
		t.Fatalf("--drop-urls of the CDX lines: exit %d\n%s", code, e)
	}
	if js := mustRun(t, nil, "meguri-inspect", "--json", dropped); !bytes.Contains(js, []byte(`"urls":0,`)) {
		t.Errorf("--drop-urls of the CDX lines the file was ingested from left records: %s", js)
	}
}

// TestInspectURLs: --urls looks up a list of URLs in one run: the --rows
// line of each, in the list's order; with --absent the lines the file does
// not hold, verbatim. Every URL of the sample's CDX lines is either in its
// ingest or named on stderr as not an http(s) URL.
func TestInspectURLs(t *testing.T) {
	golden := "../testdata/sample.meguri"
	rows := bytes.SplitAfter(mustRun(t, nil, "meguri-inspect", "--rows", golden), []byte("\n"))
	rows = rows[:len(rows)-1]
	var list, want []byte
	for i := len(rows) - 1; i >= 0; i-- {
		var r struct{ URL string }
		json.Unmarshal(rows[i], &r)
		list = append(list, r.URL+"\n"...)
		want = append(want, rows[i]...)
	}
	out, e, code := run(t, list, "meguri-inspect", "--urls", "-", golden)
	if code != 0 || !bytes.Equal(out, want) || len(e) != 0 {
		t.Fatalf("--urls of every row backwards: exit %d, %q, %d of %d bytes", code, e, len(out), len(want))
	}
	path := filepath.Join(t.TempDir(), "urls.txt")
	os.WriteFile(path, append([]byte("http://new.example/a\r\n"), list...), 0o644)
	out, e, code = run(t, nil, "meguri-inspect", "--urls", path, "--absent", golden)
	if code != 0 || string(out) != "http://new.example/a\n" || len(e) != 0 {
		t.Fatalf("--absent: exit %d, %q, stdout %q", code, e, out)
	}
	// the URL of every CDX line of the sample (and of the corpus), looked
	// up in its ingest
	ins := []string{sample}
	if input(t) != sample {
		ins = append(ins, input(t))
	}
	for _, in := range ins {
		file := golden
		if in != sample {
			file = filepath.Join(t.TempDir(), "corpus.meguri")
			mustRun(t, nil, "meguri-ingest", "-q", in, "-o", file)
		}
		cdx, _ := os.ReadFile(in)
		var urls []byte
		for _, l := range bytes.Split(bytes.TrimSpace(cdx), []byte("\n")) {
			var r struct{ URL, Method, URLKey string }
			if json.Unmarshal(l, &r) != nil || r.URL == "" ||
				r.Method == "POST" || strings.Contains(r.URLKey, "__wb_method=post") {
				continue // a POST's URL is not taken (non_get)
			}
			urls = append(urls, r.URL+"\n"...)
		}
		out, e, code = run(t, urls, "meguri-inspect", "--urls", "-", "--absent", file)
		if code != 0 || len(out) != 0 {
			t.Fatalf("%s: CDX URLs absent from their ingest: exit %d\n%s", in, code, out)
		}
		lines := strings.Split(strings.TrimSpace(string(e)), "\n")
		if len(lines) != 21 || !strings.Contains(lines[0], "<stdin>: line ") || !strings.Contains(lines[0], "is not http(s)") ||
			!regexp.MustCompile(`^meguri-inspect: <stdin>: \d+ lines skipped in all \(the first 20 named above\)$`).MatchString(lines[20]) {
			t.Errorf("%s: stderr:\n%s", in, e)
		}
	}
	// a list of hosts and paths without a scheme is told how to look it
	// up; a hashed URL is not such a line
	out, e, code = run(t, []byte("www.zew.de/\nde9bdbe518d8a37d168c41506f4f4c59\nwww.zew.de\n"), "meguri-inspect", "--urls", "-", golden)
	if code != 0 || len(out) != 0 || !strings.Contains(string(e), "<stdin>: 2 of the lines skipped have no scheme (www.example.com/): put http:// in front") {
		t.Errorf("--urls of lines without a scheme: exit %d, stdout %q, stderr:\n%s", code, out, e)
	}
	// a line of tab-separated columns is skipped: looked up as the columns
	// joined into one URL, --absent would print a URL the file holds
	held := strings.TrimSpace(string(list[:bytes.IndexByte(list, '\n')]))
	out, e, code = run(t, []byte(held+"\tanchor text\n"), "meguri-inspect", "--urls", "-", "--absent", golden)
	if want := fmt.Sprintf("meguri-inspect: <stdin>: line 1: skipped, a tab in the line: columns, not one URL (cut -f1 gives the first column): %q\n", held+"\tanchor text"); code != 0 || len(out) != 0 || string(e) != want {
		t.Errorf("--urls of a tab-separated line: exit %d, stdout %q, stderr %q; want %q", code, out, e, want)
	}
	// JSON lines (links as ingest reads them, the CDX lines themselves)
	// stand for their "url": the sample's own lines are all held, and an
	// absent one prints whole, ready for ingest
	jsonl := []byte(`{"url": "http://new.example/b", "anchor": "x"}` + "\n")
	for _, l := range lines(t, sample) {
		// but for the POSTs ingest rejects (non_get), whose URLs no GET
		// of the sample captured: those are absent, and --absent says so
		if !strings.Contains(l, `"method": "POST"`) {
			jsonl = append(jsonl, l+"\n"...)
		}
	}
	out, _, code = run(t, jsonl, "meguri-inspect", "--urls", "-", "--absent", golden)
	if code != 0 || string(out) != `{"url": "http://new.example/b", "anchor": "x"}`+"\n" {
		t.Errorf("--urls of JSON lines: exit %d, stdout %q", code, out)
	}
	if out, e, code := run(t, []byte(`{"href": "http://new.example/b"}`+"\n"), "meguri-inspect", "--urls", "-", golden); code != 0 || len(out) != 0 ||
		string(e) != "meguri-inspect: <stdin>: line 1: skipped, a JSON line without a \"url\" string: \"{\\\"href\\\": \\\"http://new.example/b\\\"}\"\n" {
		t.Errorf("--urls of a JSON line without \"url\": exit %d, stdout %q, stderr %q", code, out, e)
	}
	// a list read as ingest reads its inputs: gzip too, from a file or a
	// pipe; a .meguri given as the list (the arguments swapped) is refused
	gz := filepath.Join(t.TempDir(), "urls.txt.gz")
	writeGzip(t, gz, append([]byte("http://new.example/a\r\n"), list...))
	for _, c := range []struct {
		stdin []byte
		arg   string
	}{{nil, gz}, {fileBytes(t, gz), "-"}} {
		if out, e, code := run(t, c.stdin, "meguri-inspect", "--urls", c.arg, "--absent", golden); code != 0 || string(out) != "http://new.example/a\n" || len(e) != 0 {
			t.Errorf("--urls %s (gzip): exit %d, %q, stdout %q", c.arg, code, e, out)
		}
	}
	if _, e, code := run(t, nil, "meguri-inspect", "--urls", golden, golden); code != 2 || string(e) != "meguri-inspect: --urls "+golden+" is a .meguri file, not a list of URLs: the list goes to --urls, the file to look them up in as FILE\n" {
		t.Errorf("--urls FILE.meguri: exit %d, %q", code, e)
	}
	for _, args := range [][]string{{"--urls", "-", "-"}, {"--absent", golden}, {"--urls", path, "--rows", golden}} {
		out, e, code := run(t, nil, "meguri-inspect", args...)
		if code != 2 || len(out) != 0 || len(e) == 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2", args, code, out, e)
		}
	}
	data, _ := os.ReadFile(golden)
	_, e, code = run(t, data, "meguri-inspect", "--urls", path, "-")
	if code != 1 || !strings.Contains(string(e), "needs a .meguri file it can seek in, not a pipe") {
		t.Errorf("--urls on a pipe: exit %d, %s", code, e)
	}
}

// TestConvertVersion: a file of format version 1 still reads, and
// meguri-compact --format-version 2 turns it into the bytes a fresh ingest
// writes today; mixing the two versions without the flag is refused.
func TestConvertVersion(t *testing.T) {
	v1, v2 := "../testdata/sample-v1.meguri", "../testdata/sample.meguri"
	r1, _, code1 := run(t, nil, "meguri-inspect", "--rows", v1)
	r2, _, code2 := run(t, nil, "meguri-inspect", "--rows", v2)
	if code1 != 0 || code2 != 0 || !bytes.Equal(r1, r2) {
		t.Fatalf("rows of v1 (exit %d) and v2 (exit %d) differ", code1, code2)
	}
	out, e, code := run(t, nil, "meguri-compact", "-q", "--format-version", "2", v1)
	want, _ := os.ReadFile(v2)
	if code != 0 || !bytes.Equal(out, want) {
		t.Fatalf("convert: exit %d, %s; %d bytes, want the golden %d", code, e, len(out), len(want))
	}
	back, _, code := run(t, nil, "meguri-compact", "-q", "--format-version", "1", v2)
	old, _ := os.ReadFile(v1)
	if code != 0 || !bytes.Equal(back, old) {
		t.Fatalf("convert back to v1: exit %d, %d bytes, want %d", code, len(back), len(old))
	}
	_, e, code = run(t, nil, "meguri-compact", "--fold", v1, v2)
	if code == 0 || !strings.Contains(string(e), "version 1") || !strings.Contains(string(e), "(meguri-compact --format-version) to convert them") {
		t.Fatalf("mixed versions: exit %d, %s", code, e)
	}
}

// TestUsageErrors: a bad flag or flag value is refused on stderr, naming
// the flag, with exit 2 and nothing on stdout (which carries data only);
// --help goes to stdout with exit 0.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"meguri-ingest", "--mem", "3q", sample}, `--mem: bad size "3q"`},
		{[]string{"meguri-ingest", "--max-line", "1x", sample}, `--max-line: bad size "1x"`},
		{[]string{"meguri-ingest", "--max-line", "0", sample}, `--max-line: bad size "0": must be more than 0`},
		{[]string{"meguri-ingest", "--mem", "99999999999999999999G", sample}, `--mem: bad size "99999999999999999999G"`},
		// a URL typed without its scheme is told how to spell it
		{[]string{"meguri-inspect", "--url", "www.zew.de/", "../testdata/sample.meguri"}, `--url "www.zew.de/": not a URL: no scheme (give http://www.zew.de/ or https://www.zew.de/)`},
		{[]string{"meguri-route", "--manifest", "x.manifest", "--url", "www.zew.de"}, `--url "www.zew.de": not a URL: no scheme (give http://www.zew.de or https://www.zew.de)`},
		{[]string{"meguri-pack"}, "give the partition directory: meguri-pack --data DIR (or meguri-pack DIR)"},
		{[]string{"meguri-pack", "--data", "a", "b"}, "--data a and the argument b name two directories"},
		{[]string{"meguri-ingest", "--mem", "512", sample}, `--mem: bad size "512": a bare number is bytes; give a unit (512M, 512K, or 512B for bytes)`},
		{[]string{"meguri-route", "split", "--manifest", "x.manifest", "--out-dir", "d", "--mem", "64", sample}, `--mem: bad size "64": a bare number is bytes`},
		// checked before any line is read, not when the first run spills
		{[]string{"meguri-ingest", "--tmp", "/nonexistent-meguri-tmp", sample}, "--tmp: stat /nonexistent-meguri-tmp: no such file or directory"},
		{[]string{"meguri-inspect", "--bogus", "x.meguri"}, "unknown flag --bogus"},
		// a subcommand's usage error points to its own --help
		{[]string{"meguri-route", "split", "--manifest", "x.manifest"}, "meguri-route: see meguri-route split --help\n"},
		{[]string{"meguri-route", "--bogus"}, "meguri-route: see meguri-route --help\n"},
		{[]string{"meguri-route", "balance", "-n", "2", "--max-line", "z", sample}, `--max-line: bad size "z"`},
		{[]string{"meguri-compact", "--mem", "1q", "x.meguri"}, `--mem: bad size "1q"`},
		{[]string{"meguri-compact", "--partition-id", "abc", "x.meguri"}, "--partition-id"},
		{[]string{"meguri-ingest", "--range", "ff:0", sample}, `--range: bad range "ff:0": low end above high end`},
		{[]string{"meguri-compact", "--gc", "--horizon", "90", "../testdata/sample.meguri"}, `--horizon: bad duration "90"`},
		{[]string{"meguri-compact", "--gc", "--horizon", "90d", "--now", "2025", "../testdata/sample.meguri"}, "want a 14-digit timestamp"},
		// 6m for six months would drop nearly every tombstone
		{[]string{"meguri-compact", "--gc", "--horizon", "6m", "../testdata/sample.meguri"}, "--horizon 6m: m is minutes, and months are no unit here: give 6min for minutes, or days (180d for 6 months)"},
		{[]string{"meguri-compact", "--data", "no-such-dir", "--gc", "--horizon", "1m"}, "(30d for 1 month)"},
		{[]string{"meguri-route", "place", "--manifest", "x.manifest", "--nodes", "a,a"}, `--nodes: node "a" named twice`},
		// two things to one stdout
		{[]string{"meguri-ingest", "--rejects", "-", sample}, "--rejects - and the .meguri file would both go to stdout"},
		{[]string{"meguri-compact", "--manifest-out", "-", "../testdata/sample.meguri"}, "--manifest-out - and the .meguri file would both go to stdout"},
		{[]string{"meguri-route", "split", "--json", "--rejects", "-", "--manifest", "x.manifest", "--out-dir", "x", sample}, "--rejects - and the --json summary would both go to stdout"},
		// two things from one stdin
		{[]string{"meguri-route", "split", "--manifest", "-", "--out-dir", "x"}, "--manifest - and the input would both read stdin"},
		{[]string{"meguri-route", "balance", "-n", "2", "--from", "-", "-"}, "--from - and the input would both read stdin"},
		{[]string{"meguri-route", "update", "--manifest", "-", "--rows", "-"}, "--manifest - and --rows - would both read stdin"},
	} {
		stdout, stderr, code := run(t, nil, tc.args[0], tc.args[1:]...)
		if code != 2 || len(stdout) != 0 || !strings.Contains(string(stderr), tc.want) {
			t.Errorf("%v: exit %d, %d bytes on stdout, stderr %q; want exit 2, no stdout, %q",
				tc.args, code, len(stdout), stderr, tc.want)
		}
	}
	stdout, _, code := run(t, nil, "meguri-ingest", "--help")
	if code != 0 || !strings.HasPrefix(string(stdout), "Usage: meguri-ingest") {
		t.Errorf("--help: exit %d, stdout %.40q", code, stdout)
	}
}

// start starts cmd with a pipe to its stdin and its stderr collected.
func start(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, *bytes.Buffer) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	e := &bytes.Buffer{}
	cmd.Stderr = e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdin, e
}

// spilling starts an ingest into out and feeds it lines until it has
// spilled sorted runs into tmp, keeping its stdin open so that it is still
// running when the test stops it.
func spilling(t *testing.T, out, tmp string) (*exec.Cmd, io.WriteCloser, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "meguri-ingest"), "--mem", "64K", "--tmp", tmp, "-o", out)
	stdin, e := start(t, cmd)
	var buf bytes.Buffer
	for i := 0; ; i++ {
		buf.Reset()
		for j := range 2000 {
			fmt.Fprintf(&buf, `{"url": "http://h%d.example/p%d-%d"}`+"\n", j%53, i, j)
		}
		if _, err := stdin.Write(buf.Bytes()); err != nil {
			t.Fatalf("ingest stopped early: %v: %s", err, e.String())
		}
		if runs, _ := os.ReadDir(tmp); len(runs) >= 2 {
			return cmd, stdin, e
		}
		if i > 5000 {
			t.Fatal("no runs spilled")
		}
	}
}

// TestInterruptRemovesTemporaries: SIGTERM (what GNU parallel --timeout
// sends) or SIGINT in the middle of an ingest that has spilled sorted runs
// removes them and the half-written output, and exits 128 + the signal.
func TestInterruptRemovesTemporaries(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		dir, tmp := t.TempDir(), t.TempDir()
		cmd, stdin, e := spilling(t, filepath.Join(dir, "out.meguri"), tmp)
		if left, _ := os.ReadDir(dir); len(left) != 1 {
			t.Fatalf("want the output's temporary file while running, have %v", left)
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		stdin.Close()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 128+int(sig) {
			t.Fatalf("%v: exit %v, want %d; stderr %q", sig, err, 128+int(sig), e.String())
		}
		for _, d := range []string{dir, tmp} {
			if left, _ := os.ReadDir(d); len(left) != 0 {
				t.Errorf("%v left %d files in %s", sig, len(left), d)
			}
		}
	}
}

// TestKilledRunLeftovers: a run killed outright (SIGKILL, the OOM killer)
// cannot remove its temporary files; the next run that writes beside them
// removes them, saying so, and keeps its own.
func TestKilledRunLeftovers(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	out := filepath.Join(dir, "out.meguri")
	cmd, stdin, _ := spilling(t, out, tmp)
	cmd.Process.Kill()
	cmd.Wait()
	stdin.Close()
	var left []string
	for _, d := range []string{dir, tmp} {
		es, _ := os.ReadDir(d)
		for _, e := range es {
			left = append(left, filepath.Join(d, e.Name()))
		}
	}
	if len(left) < 3 {
		t.Fatalf("the killed run left %v; want its output's temporary file and its runs", left)
	}
	_, e2, code := run(t, nil, "meguri-ingest", "-q", "--mem", "4K", "--tmp", tmp, sample, "-o", out)
	stderr := string(e2)
	if code != 0 {
		t.Fatalf("the second run: exit %d: %s", code, stderr)
	}
	for _, l := range left {
		if _, err := os.Stat(l); err == nil {
			t.Errorf("%s is still there", l)
		}
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	for _, want := range []string{
		fmt.Sprintf("meguri-ingest: removed %d files in %s (", len(left)-1, tmp),
		"meguri-ingest: removed " + left[0] + " (",
		"), left by process " + pid + ", which ended without finishing or removing its temporary files (killed?)\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q: %s", want, stderr)
		}
	}
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Errorf("the second run left %d files in --tmp", len(es))
	}
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, "../testdata/sample.meguri")) {
		t.Error("the second run's output differs from the golden file")
	}
}

// TestIgnoredHangupStaysIgnored: under nohup (SIGHUP ignored from the
// start) a hangup does not stop a run; the cleanup handler must not turn
// the signal back on.
func TestIgnoredHangupStaysIgnored(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.meguri")
	cmd := exec.Command("sh", "-c", `trap "" HUP; exec "$0" -q -o "$1"`, filepath.Join(binDir, "meguri-ingest"), out)
	stdin, e := start(t, cmd)
	if _, err := stdin.Write([]byte(`{"url": "http://example.com/a"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) > 0 {
			// the output's temporary file: the binary has replaced the
			// shell and installed its handlers (cli.Init comes first)
			break
		}
		if i > 500 {
			t.Fatal("ingest did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(100 * time.Millisecond)
	stdin.Write([]byte(`{"url": "http://example.com/b"}` + "\n"))
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ingest under an ignored SIGHUP: %v; stderr %q", err, e.String())
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

// TestNoParserInReaders keeps the CDX parser and its JSON library out of
// the tools that never parse CDX: sonic's package initialization alone
// costs each process several milliseconds, which a shell loop of
// meguri-inspect --url lookups or a GNU parallel fan-out of merges pays
// every time.
func TestNoParserInReaders(t *testing.T) {
	for _, tool := range []string{"meguri-inspect", "meguri-compact", "meguri-pack"} {
		out, err := exec.Command("go", "list", "-deps", "../cmd/"+tool).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", tool, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if strings.HasPrefix(pkg, "github.com/bytedance/sonic") || strings.HasSuffix(pkg, "/lib/cdx") || strings.HasSuffix(pkg, "/lib/ingest") {
				t.Errorf("%s links %s", tool, pkg)
			}
		}
	}
}

// TestInspectFileAndPipe: every inspect mode gives the same answer from a
// file and from a pipe (where the reader cannot seek to the footer and
// reads the stream through), and the human summary shows the counts that
// --json gives. Both golden files, and with MEGURI_CORPUS the corpus's
// ingest, whose two blocks make --url pick one.
func TestInspectFileAndPipe(t *testing.T) {
	for _, path := range readableFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rows := bytes.Split(bytes.TrimSpace(mustRun(t, nil, "meguri-inspect", "--rows", path)), []byte("\n"))
		var first, last struct {
			URL     string
			HostKey string `json:"host_key"`
		}
		json.Unmarshal(rows[0], &first)
		json.Unmarshal(rows[len(rows)-1], &last)
		for _, mode := range [][]string{
			nil, {"--json"}, {"--verify"}, {"--verify", "--json"},
			{"--url", first.URL}, {"--url", last.URL}, {"--url", "http://absent.example/"},
			{"--host", first.URL}, {"--host", last.HostKey}, {"--host", "absent.example"},
		} {
			fo, fe, fc := run(t, nil, "meguri-inspect", append(mode, path)...)
			po, pe, pc := run(t, data, "meguri-inspect", append(mode, "-")...)
			fo = bytes.ReplaceAll(fo, []byte(path), []byte("<stdin>"))
			fe = bytes.ReplaceAll(fe, []byte(path), []byte("<stdin>"))
			if fc != pc || !bytes.Equal(fo, po) || !bytes.Equal(fe, pe) {
				t.Errorf("%s %v: file gives exit %d %q %q, pipe exit %d %q %q", path, mode, fc, fo, fe, pc, po, pe)
			}
			wantCode := 0
			if len(mode) == 2 && strings.Contains(mode[1], "absent.example") {
				wantCode = 1
			}
			if fc != wantCode {
				t.Errorf("%s %v: exit %d, want %d", path, mode, fc, wantCode)
			}
		}
		var s struct {
			URLs, Hosts, Captures, Gone, Blocks int
			FileBytes                           int `json:"file_bytes"`
		}
		if err := json.Unmarshal(mustRun(t, nil, "meguri-inspect", "--json", path), &s); err != nil {
			t.Fatal(err)
		}
		if s.URLs != len(rows) || s.FileBytes != len(data) {
			t.Errorf("%s: --json says %d urls, %d bytes; the file has %d rows, %d bytes", path, s.URLs, s.FileBytes, len(rows), len(data))
		}
		text := string(mustRun(t, nil, "meguri-inspect", path))
		for _, want := range []string{
			fmt.Sprintf("\nurls        %d\n", s.URLs), fmt.Sprintf("\nhosts       %d\n", s.Hosts),
			fmt.Sprintf("\ncaptures    %d\n", s.Captures), fmt.Sprintf("\ngone        %d\n", s.Gone),
			fmt.Sprintf("\nblocks      %d\n", s.Blocks), fmt.Sprintf("(%d bytes, ", len(data)),
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the summary lacks %q:\n%s", path, want, text)
			}
		}
	}
}

// TestNoOutputOverAnInput: no tool writes an output over one of its own
// inputs, under any spelling (./name, a symlink), nor two outputs to one
// path, nor a packed file into the partition directory (where one named
// like the snapshot replaced it, and the log then counted twice), nor is
// one input read twice, under two names or as two copies (its captures
// would count twice). Each is
// refused before anything is written, and the input is left as it was. A
// compaction in place (-o naming its input) is allowed: it reads the input
// whole before the output replaces it.
func TestNoOutputOverAnInput(t *testing.T) {
	dir := t.TempDir()
	cdxIn := filepath.Join(dir, "shard.jsonl")
	orig, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cdxIn, orig, 0o644)
	link := filepath.Join(dir, "link.jsonl")
	os.Symlink(cdxIn, link)
	copied := filepath.Join(dir, "copy.jsonl") // the same bytes under another name
	os.WriteFile(copied, orig, 0o644)
	meg := filepath.Join(dir, "p.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", cdxIn, "-o", meg)
	megBytes, _ := os.ReadFile(meg)
	data := filepath.Join(dir, "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", data, cdxIn)
	man := filepath.Join(dir, "one.manifest")
	os.WriteFile(man, []byte("0 0x0 0xffffffffffffffff shard.meguri 0 0 0 1\n"), 0o644)
	other := filepath.Join(dir, "x.meguri")
	kept := filepath.Join(dir, "kept.meguri") // a .meguri no run reads
	os.WriteFile(kept, megBytes, 0o644)
	intoData := filepath.Join(dir, "into-live.meguri") // a link into the directory
	os.Symlink(filepath.Join(data, "snap-0.meguri"), intoData)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"meguri-ingest", cdxIn, "-o", cdxIn}, "-o " + cdxIn + " would overwrite the input " + cdxIn},
		{[]string{"meguri-ingest", cdxIn, "-o", filepath.Join(dir, ".", "shard.jsonl")}, "would overwrite the input " + cdxIn},
		{[]string{"meguri-ingest", link, "-o", cdxIn}, "would overwrite the input " + link},
		{[]string{"meguri-ingest", cdxIn, "-o", other, "--rejects", cdxIn}, "--rejects " + cdxIn + " would overwrite the input"},
		{[]string{"meguri-ingest", "--data", data, cdxIn, "--rejects", cdxIn}, "--rejects " + cdxIn + " would overwrite the input"},
		{[]string{"meguri-ingest", cdxIn, "-o", other, "--rejects", other}, "-o and --rejects both name " + other},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", dir, cdxIn}, "the output " + cdxIn + " would overwrite the input " + cdxIn},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", t.TempDir(), "--rejects", cdxIn, cdxIn}, "--rejects " + cdxIn + " would overwrite the input"},
		{[]string{"meguri-route", "balance", "-n", "2", cdxIn, "-o", cdxIn}, "-o " + cdxIn + " would overwrite the input"},
		{[]string{"meguri-compact", meg, "-o", other, "--manifest-out", meg}, "--manifest-out " + meg + " would overwrite the input"},
		{[]string{"meguri-compact", meg, "-o", other, "--manifest-out", other}, "-o and --manifest-out both name " + other},
		{[]string{"meguri-compact", "--split", "2", "--out-dir", dir, meg, "--manifest-out", filepath.Join(dir, "part-0001.meguri")}, "an output of the split and --manifest-out both name "},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", dir, "--rejects", filepath.Join(dir, "shard.jsonl"), other}, "--rejects " + filepath.Join(dir, "shard.jsonl") + " is partition 0's output"},
		{[]string{"meguri-pack", "--data", data, "-o", filepath.Join(data, "snap-0.meguri")}, "is inside the partition directory " + data},
		{[]string{"meguri-ingest", "--data", data, "--rejects", filepath.Join(data, "log-0"), cdxIn}, "--rejects " + filepath.Join(data, "log-0") + " is inside the partition directory " + data},
		{[]string{"meguri-ingest", cdxIn, "-o", filepath.Join(data, "snap-0.meguri")}, "-o " + filepath.Join(data, "snap-0.meguri") + " is inside the partition directory " + data},
		{[]string{"meguri-compact", meg, "-o", filepath.Join(data, "snap-0.meguri")}, " is inside the partition directory " + data},
		{[]string{"meguri-ingest", cdxIn, "-o", intoData}, "-o " + intoData + " is inside the partition directory " + data},
		{[]string{"meguri-route", "balance", "-n", "2", cdxIn, "-o", filepath.Join(data, "fleet.manifest")}, " is inside the partition directory " + data},
		// deeper down, where removing a retired partition would take it along
		{[]string{"meguri-compact", meg, "-o", filepath.Join(data, "sub", "x.meguri")}, " is inside the partition directory " + data},
		{[]string{"meguri-compact", "--split", "2", "--out-dir", filepath.Join(data, "split"), meg}, "--out-dir " + filepath.Join(data, "split") + " is inside the partition directory " + data},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", data, cdxIn}, "--out-dir " + data + " is inside the partition directory " + data},
		// a text output over a .meguri file
		{[]string{"meguri-ingest", cdxIn, "-o", other, "--rejects", kept}, "--rejects " + kept + " is a .meguri file"},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", t.TempDir(), "--rejects", kept, cdxIn}, "--rejects " + kept + " is a .meguri file"},
		{[]string{"meguri-route", "balance", "-n", "2", cdxIn, "-o", kept}, "-o " + kept + " is a .meguri file"},
		{[]string{"meguri-route", "update", "--manifest", man, "-o", kept}, "-o " + kept + " is a .meguri file"},
		{[]string{"meguri-compact", meg, "-o", other, "--manifest-out", kept}, "--manifest-out " + kept + " is a .meguri file"},
		// one input named twice would count its captures twice
		{[]string{"meguri-ingest", cdxIn, link, "-o", other}, cdxIn + " and " + link + " are the same file: give each input once"},
		{[]string{"meguri-ingest", "--data", data, cdxIn, filepath.Join(dir, ".", "shard.jsonl")}, " are the same file: give each input once"},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", t.TempDir(), link, cdxIn}, link + " and " + cdxIn + " are the same file"},
		{[]string{"meguri-route", "balance", "-n", "2", cdxIn, cdxIn, "-o", other}, cdxIn + " and " + cdxIn + " are the same file"},
		{[]string{"meguri-compact", "--fold", meg, filepath.Join(dir, ".", "p.meguri"), "-o", other}, " are the same file: give each input once"},
		// ... and so would one file's bytes under two names
		{[]string{"meguri-ingest", cdxIn, copied, "-o", other}, cdxIn + " and " + copied + " hold the same bytes: give each input once"},
		{[]string{"meguri-ingest", "--data", data, "--again", copied, cdxIn}, copied + " and " + cdxIn + " hold the same bytes: give each input once"},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", t.TempDir(), cdxIn, copied}, cdxIn + " and " + copied + " hold the same bytes"},
		{[]string{"meguri-compact", "--fold", meg, kept, "-o", other}, meg + " and " + kept + " hold the same bytes: folded, every capture in them would count twice"},
	} {
		before, _ := os.ReadFile(filepath.Join(data, "snap-0.meguri"))
		_, e, code := run(t, nil, c.args[0], c.args[1:]...)
		if code != 1 || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d, %q; want exit 1 and %q", c.args, code, e, c.want)
		}
		if b, _ := os.ReadFile(cdxIn); !bytes.Equal(b, orig) {
			t.Fatalf("%v changed its input", c.args)
		}
		if b, _ := os.ReadFile(meg); !bytes.Equal(b, megBytes) {
			t.Fatalf("%v changed the .meguri input", c.args)
		}
		if after, _ := os.ReadFile(filepath.Join(data, "snap-0.meguri")); !bytes.Equal(before, after) {
			t.Fatalf("%v changed the directory's snapshot", c.args)
		}
		if _, err := os.Stat(other); err == nil {
			t.Fatalf("%v left %s", c.args, other)
		}
		if b, _ := os.ReadFile(kept); !bytes.Equal(b, megBytes) {
			t.Fatalf("%v changed %s", c.args, kept)
		}
	}
	// stdin redirected from an input, or from the output, is that file
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"meguri-ingest", cdxIn, "-", "-o", other}, cdxIn + " and <stdin> are the same file: give each input once"},
		{[]string{"meguri-ingest", "-", "-o", cdxIn}, "-o " + cdxIn + " would overwrite the input <stdin>"},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", t.TempDir(), "-", link}, "<stdin> and " + link + " are the same file"},
	} {
		in, err := os.Open(cdxIn)
		if err != nil {
			t.Fatal(err)
		}
		e, code := runOn(t, in, nil, c.args[0], c.args[1:]...)
		in.Close()
		if code != 1 || !strings.Contains(e, c.want) {
			t.Errorf("%v < %s: exit %d, %q; want exit 1 and %q", c.args, cdxIn, code, e, c.want)
		}
		if b, _ := os.ReadFile(cdxIn); !bytes.Equal(b, orig) {
			t.Fatalf("%v changed its input", c.args)
		}
		if _, err := os.Stat(other); err == nil {
			t.Fatalf("%v left %s", c.args, other)
		}
	}
	// ... and from a copy of an input, its bytes
	if in, err := os.Open(copied); err == nil {
		e, code := runOn(t, in, nil, "meguri-ingest", cdxIn, "-", "-o", other)
		in.Close()
		if want := cdxIn + " and <stdin> hold the same bytes"; code != 1 || !strings.Contains(e, want) {
			t.Errorf("ingest %s - < %s: exit %d, %q; want exit 1 and %q", cdxIn, copied, code, e, want)
		}
	}
	// in place: allowed, and the bytes a compaction of the file gives
	mustRun(t, nil, "meguri-compact", "-q", meg, "-o", meg)
	if b, _ := os.ReadFile(meg); !bytes.Equal(b, megBytes) {
		t.Error("compacting a file in place changed it")
	}
	// in place through a link (a fleet's files on other disks behind
	// links): the file behind the link is rebuilt, and the link stays
	disk := t.TempDir()
	os.Rename(meg, filepath.Join(disk, "p.meguri"))
	os.Symlink(filepath.Join(disk, "p.meguri"), meg)
	was, _ := os.Stat(meg)
	mustRun(t, nil, "meguri-compact", "-q", meg, "-o", meg)
	if st, err := os.Lstat(meg); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("compacting through a link replaced the link (%v)", err)
	}
	now, _ := os.Stat(filepath.Join(disk, "p.meguri"))
	if b, _ := os.ReadFile(meg); os.SameFile(was, now) || !bytes.Equal(b, megBytes) {
		t.Error("compacting through a link did not rebuild the file behind it")
	}
}

// TestFoldEmptyShards: shards that had nothing for a partition (every
// line rejected, or outside its range) ingest to files of identical bytes,
// since they hold only the header and footer. Folded with the rest they
// count nothing twice, so they are not refused as copies of one file.
func TestFoldEmptyShards(t *testing.T) {
	dir := t.TempDir()
	var megs []string
	for i, text := range []string{"ftp://files.example/a\n", "dns:www.example.com\n", ""} {
		cdxIn := sample
		if text != "" {
			cdxIn = filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", i))
			os.WriteFile(cdxIn, []byte(text), 0o644)
		}
		megs = append(megs, filepath.Join(dir, fmt.Sprintf("shard-%d.meguri", i)))
		mustRun(t, nil, "meguri-ingest", "-q", cdxIn, "-o", megs[i])
	}
	if !bytes.Equal(fileBytes(t, megs[0]), fileBytes(t, megs[1])) {
		t.Fatal("bad fixture: the two empty shards differ")
	}
	out := filepath.Join(dir, "folded.meguri")
	mustRun(t, nil, "meguri-compact", "-q", "--fold", megs[0], megs[2], megs[1], "-o", out)
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, megs[2])) {
		t.Error("folding two empty shards into a partition changed it")
	}
	mustRun(t, nil, "meguri-compact", "-q", "--fold", megs[0], megs[1], "-o", out)
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, megs[0])) {
		t.Error("folding two empty shards is not the empty partition")
	}
}

// TestFoldRaisesMemLimit: a fold that holds more live than --mem gives
// the same bytes, and says the limit rose; --json carries the limit.
func TestFoldRaisesMemLimit(t *testing.T) {
	dir := t.TempDir()
	lines := bytes.SplitAfter(fileBytes(t, sample), []byte("\n"))
	var megs []string
	for i := range 4 {
		part := filepath.Join(dir, fmt.Sprintf("part-%d.jsonl", i))
		os.WriteFile(part, bytes.Join(lines[i*len(lines)/4:(i+1)*len(lines)/4], nil), 0o644)
		megs = append(megs, strings.TrimSuffix(part, ".jsonl")+".meguri")
		mustRun(t, nil, "meguri-ingest", "-q", part, "-o", megs[i])
	}
	want := filepath.Join(dir, "want.meguri")
	mustRun(t, nil, "meguri-compact", "-q", "--fold", megs[0], megs[1], megs[2], megs[3], "-o", want)
	out := filepath.Join(dir, "out.meguri")
	_, e, code := run(t, nil, "meguri-compact", "--mem", "1M", "--fold", megs[0], megs[1], megs[2], megs[3], "-o", out)
	if code != 0 || !strings.Contains(string(e), "meguri-compact: memory limit raised above --mem to ") {
		t.Errorf("fold under --mem 1M: exit %d, stderr %q", code, e)
	}
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, want)) {
		t.Error("the fold under --mem 1M differs from the fold under the default")
	}
	_, e, code = run(t, nil, "meguri-compact", "--json", "--mem", "1T", "--fold", megs[0], megs[1], megs[2], megs[3], "-o", out)
	if code != 0 || !strings.Contains(string(e), `,"mem_limit":1099511627776}`) || strings.Contains(string(e), "raised") {
		t.Errorf("fold --json under --mem 1T: exit %d, stderr %q", code, e)
	}
}

// TestHelpIntoClosedPipe: --help read only in part (`| head -1`) ends
// quietly, as data does, for every tool and a route command.
func TestHelpIntoClosedPipe(t *testing.T) {
	for _, tool := range []string{"meguri-ingest", "meguri-route", "meguri-route split", "meguri-pack", "meguri-compact", "meguri-inspect"} {
		// true has exited long before the tool starts up and writes, so
		// the write meets a closed pipe
		cmd := exec.Command("sh", "-c", filepath.Join(binDir, tool)+" --help | true")
		var e bytes.Buffer
		cmd.Stderr = &e
		if err := cmd.Run(); err != nil || e.Len() != 0 {
			t.Errorf("%s --help | head: %v, stderr %q", tool, err, e.String())
		}
	}
}

// --version prints one line on stdout and exits 0 in every tool, before
// anything else is checked: pack without --data, a route subcommand,
// compact with an input that does not exist.
func TestVersion(t *testing.T) {
	for _, c := range [][]string{
		{"meguri-ingest", "--version"},
		{"meguri-inspect", "--version"},
		{"meguri-pack", "--version"},
		{"meguri-route", "--version"},
		{"meguri-route", "split", "--version"},
		{"meguri-compact", "--version", "no-such.meguri"},
	} {
		out, errb, code := run(t, nil, c[0], c[1:]...)
		want := fmt.Sprintf("%s %s (writes .meguri format %d, reads %d-%d; %s %s/%s)\n", c[0], testRevision,
			codec.Version, codec.MinVersion, codec.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		if code != 0 || string(out) != want || len(errb) != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c, code, out, errb, want)
		}
	}
}

// Whatever a tool prints on stdout, a write that fails (a full disk, here
// /dev/full) fails the run with the error, never exit 0 over a short
// output.
func TestStdoutFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer full.Close()
	_, file, mf, live := writingFixture(t)
	for _, c := range [][]string{
		{"meguri-ingest", "-q", sample},
		{"meguri-inspect", file},
		{"meguri-inspect", "--json", file},
		{"meguri-inspect", "--verify", file},
		{"meguri-inspect", "--rows", file},
		{"meguri-inspect", "--url", "http://www.zew.de/", file},
		{"meguri-inspect", live},
		{"meguri-route", "--manifest", mf},
		{"meguri-route", "--manifest", mf, "--url", "http://www.zew.de/"},
		{"meguri-route", "balance", "-q", "--partitions", "2", file},
		{"meguri-route", "place", "--manifest", mf, "--nodes", "a,b"},
		{"meguri-route", "plan", "--manifest", mf, "--from", "a", "--to", "a,b"},
		{"meguri-pack", "-q", "--data", live},
		{"meguri-pack", "--stats", "--data", live},
		{"meguri-compact", "-q", file},
	} {
		want := 1
		if c[1] == "--url" {
			want = 2 // a lookup that cannot answer exits as grep does
		}
		if e, code := runOn(t, nil, full, c[0], c[1:]...); code != want || !strings.Contains(e, "no space left on device") {
			t.Errorf("%v > /dev/full: exit %d, stderr %q; want exit %d naming the full device", c, code, e, want)
		}
	}
}

// readableFiles are the files the reading tests read: both golden files
// (format versions 2 and 1) and, with MEGURI_CORPUS, the corpus as ingest
// writes it.
func readableFiles(t *testing.T) []string {
	files := []string{"../testdata/sample.meguri", "../testdata/sample-v1.meguri"}
	if os.Getenv("MEGURI_CORPUS") != "" {
		out := filepath.Join(t.TempDir(), "corpus.meguri")
		mustRun(t, nil, "meguri-ingest", "-q", input(t), "-o", out)
		files = append(files, out)
	}
	return files
}

// Several inputs: the summary or --verify of each, as one input gives it
// (text apart by blank lines, JSON a line each, --verify a line each); a
// failure is named and the others still checked, then exit 1; the modes
// that print records take one FILE.
func TestInspectMany(t *testing.T) {
	dir := t.TempDir()
	rows := mustRun(t, nil, "meguri-compact", "-q", "--split", "3", "--out-dir", dir, "../testdata/sample.meguri")
	var files []string
	for _, l := range strings.Split(strings.TrimSpace(string(rows)), "\n") {
		if !strings.HasPrefix(l, "#") {
			files = append(files, strings.Fields(l)[3])
		}
	}
	live := filepath.Join(dir, "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", live, sample)
	inputs := append(append([]string{}, files...), live)

	var text, jsonl []string
	for _, in := range inputs {
		text = append(text, string(mustRun(t, nil, "meguri-inspect", in)))
		jsonl = append(jsonl, string(mustRun(t, nil, "meguri-inspect", "--json", "--verify", in)))
	}
	if got := string(mustRun(t, nil, "meguri-inspect", inputs...)); got != strings.Join(text, "\n") {
		t.Errorf("summaries:\n%s\nwant\n%s", got, strings.Join(text, "\n"))
	}
	if got := string(mustRun(t, nil, "meguri-inspect", append([]string{"--json", "--verify"}, inputs...)...)); got != strings.Join(jsonl, "") {
		t.Errorf("--json --verify:\n%s\nwant\n%s", got, strings.Join(jsonl, ""))
	}
	out := strings.Split(string(mustRun(t, nil, "meguri-inspect", append([]string{"--verify"}, inputs...)...)), "\n")
	if len(out) != len(inputs)+2 || !strings.HasPrefix(out[len(inputs)], "verify ok: 4 inputs (3 files, 1736 urls in them)") {
		t.Fatalf("--verify:\n%s", strings.Join(out, "\n"))
	}
	for i, in := range inputs {
		if !strings.HasPrefix(out[i], "ok  partition ") || !strings.HasSuffix(out[i], "  "+in) {
			t.Errorf("--verify line %d: %q", i, out[i])
		}
	}

	// A damaged file and a missing one among good ones.
	b, _ := os.ReadFile(files[1])
	b[len(b)/2] ^= 0xff
	bad := filepath.Join(dir, "bad.meguri")
	os.WriteFile(bad, b, 0o644)
	missing := filepath.Join(dir, "missing.meguri")
	o, e, code := run(t, nil, "meguri-inspect", "--verify", files[0], bad, missing, files[2])
	lines := strings.Split(strings.TrimSpace(string(o)), "\n")
	if code != 1 || len(lines) != 2 || !strings.HasSuffix(lines[0], files[0]) || !strings.HasSuffix(lines[1], files[2]) {
		t.Errorf("--verify with failures: exit %d, stdout %q", code, o)
	}
	for _, want := range []string{"meguri-inspect: " + bad + ": corrupt .meguri", missing, "meguri-inspect: 2 of 4 inputs failed (named above)"} {
		if !strings.Contains(string(e), want) {
			t.Errorf("--verify with failures: stderr %q lacks %q", e, want)
		}
	}

	wantFail2 := func(want string, args ...string) {
		t.Helper()
		_, e, code := run(t, nil, "meguri-inspect", args...)
		if code != 2 || !strings.Contains(string(e), want) {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q", args, code, e, want)
		}
	}
	wantFail2("--rows reads one FILE; to read many partitions as one, give their manifest (--manifest)", "--rows", files[0], files[1])
	wantFail2("--url reads one FILE", "--url", "http://www.zew.de/", files[0], files[1])
	wantFail2("FILE - (stdin) given twice", "-", files[0], "-")
}

// An input of which no line is taken (here a JSON array, and lines of
// another partition's range) still gives its file, with a warning that
// names the first reject and, where it can tell, what to do; under -q
// too. A run that takes lines warns of nothing.
func TestNothingTakenWarns(t *testing.T) {
	dir := t.TempDir()
	first := lines(t, sample)[:3]
	arr := filepath.Join(dir, "array.json")
	os.WriteFile(arr, []byte("["+strings.Join(first, ",")+"]\n"), 0o644)
	// a Wayback query's text output with fl=original,timestamp,statuscode
	fl := filepath.Join(dir, "fl.txt")
	os.WriteFile(fl, []byte("http://www.zew.de:80/ 19970427191925 200\n"), 0o644)
	tsv := filepath.Join(dir, "links.tsv")
	os.WriteFile(tsv, []byte("https://a.example/x\thttps://b.example/y\n"), 0o644)
	idx := filepath.Join(dir, "cluster.idx")
	os.WriteFile(idx, []byte("0,1,189,223)/ 20240712175212\tcdx-00000.gz\t0\t188224\t1\n"), 0o644)
	// a WACZ's ZipNum index, in CDXJ form
	waczIdx := filepath.Join(dir, "index.idx")
	os.WriteFile(waczIdx, []byte(`com,example)/ 20200101000000 {"offset": 0, "length": 1843, "digest": "sha256:0f1e", "filename": "index.cdx.gz"}`+"\n"), 0o644)
	// a Heritrix crawl.log
	crawlLog := filepath.Join(dir, "crawl.log")
	os.WriteFile(crawlLog, []byte("2024-06-15T10:00:00.123Z   200      12345 http://www.zew.de/ L http://www.zew.de/robots.txt text/html #042 20240615095959876+120 sha1:GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 - -\n"), 0o644)
	// captures whose timestamps a jq filter dropped (jq -c '{url, status}')
	noTS := filepath.Join(dir, "no-ts.jsonl")
	os.WriteFile(noTS, []byte(`{"url":"http://www.zew.de:80/","status":"200"}`+"\n"), 0o644)
	// ingest's own rejects file, given back to it
	rejects := filepath.Join(dir, "rejects.jsonl")
	mustRun(t, nil, "meguri-ingest", "-q", sample, "-o", filepath.Join(dir, "all.meguri"), "--rejects", rejects)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-q", arr}, "meguri-ingest: warning: no line was taken (1 rejected, the output holds no record); the first, " + arr + ":1, was rejected as "},
		{[]string{arr}, "a JSON array? ingest takes one object a line: jq -c '.[]' FILE | meguri-ingest"},
		{[]string{"--range", "0:1", sample}, "was rejected as out_of_range: "},
		{[]string{idx}, "was rejected as bad_json: \"0,1,189,223)/ 20240712175212\\tcdx-00000.gz\\t0\\t188224\\t1\"; Common Crawl's cluster.idx? it indexes the cdx-NNNNN.gz files, whose lines ingest reads: give it those\n"},
		{[]string{waczIdx}, `was rejected as missing_url: "com,example)/ 20200101000000 {\"offset\": 0, \"length\": 1843, \""; a ZipNum index (a WACZ's indexes/index.idx)? it indexes the blocks of a .cdx.gz, whose lines ingest reads: give it that file` + "\n"},
		{[]string{crawlLog}, `; a Heritrix crawl.log? it logs fetches, not captures' CDX: index the crawl's WARCs (cdx-indexer, pywb's cdxj-indexer) and give ingest that` + "\n"},
		{[]string{noTS}, `was rejected as no_timestamp: "{\"url\":\"http://www.zew.de:80/\",\"status\":\"200\"}"; an HTTP status or digest without a timestamp is a capture whose time was lost: keep the timestamp field (a bare {"url": ...} line is a discovered link)`},
		{[]string{fl}, `was rejected as bad_cdx_fields: "http://www.zew.de:80/ 19970427191925 200"; space-separated CDX lines and Wayback JSON rows are read by their field count, 7 (the Wayback CDX server's default fields), 9 or 11: did a query's fl= choose others? give them as --cdx-fields (the fl= list), or ask for the default fields (no fl=)` + "\n"},
		{[]string{tsv}, `was rejected as tab_separated: "https://a.example/x\thttps://b.example/y"; tab-separated columns? give ingest the URL column alone: cut -f1 FILE | meguri-ingest`},
		{[]string{rejects}, `"; a --rejects file? its lines' "text" is what was rejected: jq -r .text FILE | meguri-ingest (mend the lines first)` + "\n"},
		{[]string{"-q", "--data", filepath.Join(dir, "live"), arr}, "meguri-ingest: warning: no line was taken"},
	} {
		out := filepath.Join(dir, "out.meguri")
		os.Remove(out)
		args := c.args
		if !slices.Contains(args, "--data") {
			args = append(args, "-o", out)
		}
		_, e, code := run(t, nil, "meguri-ingest", args...)
		if code != 0 || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d, %s; want %q", c.args, code, e, c.want)
		}
	}
	if _, e, _ := run(t, nil, "meguri-ingest", sample, "-o", filepath.Join(dir, "s.meguri")); strings.Contains(string(e), "warning") {
		t.Errorf("a run that takes lines warned: %s", e)
	}
	// --json: the summary object is stderr's one line, and says taken 0
	if _, e, code := run(t, nil, "meguri-ingest", "--json", arr, "-o", filepath.Join(dir, "j.meguri")); code != 0 || strings.Count(string(e), "\n") != 1 || !strings.Contains(string(e), `"taken":0`) {
		t.Errorf("--json with nothing taken: exit %d, %s", code, e)
	}
}

// TestFutureCapturesWarn: captures dated after the clock (a crawler's
// clock run ahead) are taken as dated, since a run's bytes do not depend
// on the day it is made, but ingest warns, naming the first and the
// newest, because each will decide its URL's record over every later
// capture. A capture within a day of the clock (local time written as
// UTC) is not named.
func TestFutureCapturesWarn(t *testing.T) {
	dir := t.TempDir()
	soon := time.Now().UTC().Add(12 * time.Hour).Format("20060102150405")
	in := filepath.Join(dir, "ahead.jsonl")
	os.WriteFile(in, []byte(`{"url":"http://a.example/","timestamp":"20240101000000","status":"200"}
{"url":"http://a.example/","timestamp":"20990101000000","status":"404"}
{"url":"http://b.example/","timestamp":"`+soon+`","status":"200"}
{"url":"http://c.example/","timestamp":"20991231235959","status":"200"}
`), 0o644)
	out := filepath.Join(dir, "a.meguri")
	want := "meguri-ingest: warning: 2 captures are dated after the clock (the first " + in + ":2, the newest 20991231235959); they are taken as dated"
	for _, args := range [][]string{{in, "-o", out}, {"-q", in, "-o", out}, {"-q", "--data", filepath.Join(dir, "live"), in}} {
		_, e, code := run(t, nil, "meguri-ingest", args...)
		if code != 0 || !strings.Contains(string(e), want) {
			t.Errorf("%v: exit %d, %s; want %q", args, code, e, want)
		}
	}
	rows := string(mustRun(t, nil, "meguri-inspect", "--url", "http://a.example/", out))
	if !strings.Contains(rows, `"http_status":404`) || !strings.Contains(rows, `"last_seen":"20990101000000"`) {
		t.Errorf("the capture dated 2099 was not taken as dated: %s", rows)
	}
	// one capture: named alone
	os.WriteFile(in, []byte(`{"url":"http://c.example/","timestamp":"20991231235959","status":"200"}`+"\n"), 0o644)
	if _, e, _ := run(t, nil, "meguri-ingest", in, "-o", out); !strings.Contains(string(e), "warning: 1 capture is dated after the clock ("+in+":1, 20991231235959); it is taken as dated") {
		t.Errorf("one capture ahead: %s", e)
	}
	// --json: the count in the one object, no warning line
	_, e, code := run(t, nil, "meguri-ingest", "--json", in, "-o", out)
	if code != 0 || strings.Count(string(e), "\n") != 1 || !strings.Contains(string(e), `"future_captures":1,`) {
		t.Errorf("--json with a capture ahead: exit %d, %s", code, e)
	}
	// a day's slack: no warning, and no count under --json
	os.WriteFile(in, []byte(`{"url":"http://b.example/","timestamp":"`+soon+`","status":"200"}`+"\n"), 0o644)
	for _, args := range [][]string{{in, "-o", out}, {"--json", in, "-o", out}} {
		if _, e, _ := run(t, nil, "meguri-ingest", args...); strings.Contains(string(e), "warning") || strings.Contains(string(e), "future") {
			t.Errorf("%v: a capture 12 hours ahead was named: %s", args, e)
		}
	}
}

// TestUnterminatedWarn: an input that ends inside a line (a download
// cut short in a pipe ends so, its last URL cut too) is taken as it is,
// with a warning naming the line; under --json a count instead. A whole
// JSON object or Wayback row at the end (a cut one is rejected bad_json)
// and a last blank line are not named.
func TestUnterminatedWarn(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "u.meguri")
	cut := []byte("http://a.example/x\nhttp://a.example/some/long/pa")
	want := "meguri-ingest: warning: <stdin> ends inside its line 2, with no line end: a stream cut short ends so"
	live := filepath.Join(dir, "live")
	for _, args := range [][]string{{"-o", out}, {"-q", "-o", out}, {"-q", "--data", live, "--allow-unterminated"}} {
		_, e, code := run(t, cut, "meguri-ingest", args...)
		if code != 0 || !strings.Contains(string(e), want) {
			t.Errorf("%v: exit %d, %s; want %q", args, code, e, want)
		}
	}
	// A --data run commits for good: one cut short commits nothing, so
	// the whole input run later counts each capture once.
	whole := filepath.Join(dir, "whole")
	refused := "meguri-ingest: <stdin> ends inside its line 2, with no line end, as a stream cut short does"
	if _, e, code := run(t, cut, "meguri-ingest", "-q", "--data", whole); code != 1 || !strings.Contains(string(e), refused) ||
		!strings.HasSuffix(string(e), "; nothing of this run was committed to "+whole+"\n") {
		t.Errorf("--data of a cut stream: exit %d, %s", code, e)
	}
	mustRun(t, append(cut, "th\n"...), "meguri-ingest", "-q", "--data", whole)
	if rows := mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url", "--tsv", "--raw", whole); string(rows) != "http://a.example/some/long/path\nhttp://a.example/x\n" {
		t.Errorf("--data after a cut run, then the whole: %q", rows)
	}
	if _, e, code := run(t, cut, "meguri-ingest", "--allow-unterminated", "-o", out); code != 2 || !strings.Contains(string(e), "--allow-unterminated is for --data") {
		t.Errorf("--allow-unterminated without --data: exit %d, %s", code, e)
	}
	if _, e, code := run(t, cut, "meguri-ingest", "--json", "-o", out); code != 0 || strings.Count(string(e), "\n") != 1 || !strings.Contains(string(e), `"unterminated_inputs":1,`) {
		t.Errorf("--json: exit %d, %s", code, e)
	}
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(a, []byte("http://a.example/1"), 0o644)
	os.WriteFile(b, []byte("http://b.example/1"), 0o644)
	if _, e, _ := run(t, nil, "meguri-ingest", a, b, "-o", out); !strings.Contains(string(e), "warning: 2 inputs end inside a line, with no line end (the first, "+a+", its line 1)") {
		t.Errorf("two inputs: %s", e)
	}
	// inspect --urls too: --absent would print the cut URL as a new link
	if out, e, code := run(t, cut, "meguri-inspect", "--urls", "-", "--absent", "../testdata/sample.meguri"); code != 0 ||
		!strings.Contains(string(out), "http://a.example/some/long/pa\n") || !strings.Contains(string(e), "meguri-inspect: warning: <stdin> ends inside its line 2, with no line end") {
		t.Errorf("inspect --urls: exit %d, %s, %s", code, out, e)
	}
	if _, e, _ := run(t, []byte(`{"url": "http://a.example/1"}`), "meguri-inspect", "--urls", "-", "../testdata/sample.meguri"); strings.Contains(string(e), "line end") {
		t.Errorf("inspect --urls of a whole JSON line named as cut short: %s", e)
	}
	// route split too: a part holds the line with a line end, hiding it
	man := filepath.Join(dir, "one.manifest")
	os.WriteFile(man, []byte("0\t0x0000000000000000\t0xffffffffffffffff\tpart-0000.meguri\t0\t0\t0\t1\n"), 0o644)
	// and a part fed to a partition directory would be committed, the
	// cut hidden: route split writes no part unless --allow-unterminated
	parts := filepath.Join(dir, "parts")
	if _, e, code := run(t, cut, "meguri-route", "split", "-q", "--manifest", man, "--out-dir", parts); code != 1 ||
		!strings.Contains(string(e), "meguri-route: <stdin> ends inside its line 2, with no line end, as a stream cut short does") ||
		!strings.Contains(string(e), "; no part was written: fetch it whole and split it again (or give --allow-unterminated") {
		t.Errorf("route split: exit %d, %s", code, e)
	}
	if _, err := os.Stat(parts); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("route split of a cut input left %s: %v", parts, err)
	}
	if _, e, code := run(t, cut, "meguri-route", "split", "-q", "--allow-unterminated", "--manifest", man, "--out-dir", parts); code != 0 ||
		!strings.Contains(string(e), "meguri-route split: warning: <stdin> ends inside its line 2, with no line end") {
		t.Errorf("route split --allow-unterminated: exit %d, %s", code, e)
	}
	for _, in := range []string{`{"url": "http://a.example/1"}`, `[["original"],` + "\n" + `["http://a.example/1"]]`, "http://a.example/1\n  ", "http://a.example/1\n"} {
		if _, e, _ := run(t, []byte(in), "meguri-ingest", "-o", out); strings.Contains(string(e), "line end") {
			t.Errorf("%q: named as cut short: %s", in, e)
		}
	}
}

// TestCompressedRejects: a --rejects name ending in .gz or .zst is
// written compressed (a user who names rejects.jsonl.gz runs zcat on it),
// holding the lines a plain file holds, for ingest and route split alike,
// and whole when --strict stops the run at its first reject.
func TestCompressedRejects(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "rejects.jsonl")
	mustRun(t, nil, "meguri-ingest", "-q", sample, "-o", filepath.Join(dir, "a.meguri"), "--rejects", plain)
	want := fileBytes(t, plain)
	man := filepath.Join(dir, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "--partitions", "2", sample, "-o", man)
	// read back as ingest reads its inputs, which must find each
	// compressed as its name says
	unzip := func(path string, want cdxinput.Compression) ([]byte, error) {
		in, err := cdxinput.Open(path)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		if in.Compression != want {
			return nil, fmt.Errorf("%s, not %s", in.Compression, want)
		}
		return io.ReadAll(in)
	}
	for ext, comp := range map[string]cdxinput.Compression{".gz": cdxinput.Gzip, ".zst": cdxinput.Zstd} {
		for _, tool := range [][]string{
			{"meguri-ingest", "-q", sample, "-o", filepath.Join(dir, "b.meguri")},
			{"meguri-route", "split", "--manifest", man, "--out-dir", filepath.Join(dir, "parts"), sample},
		} {
			path := filepath.Join(dir, "rejects.jsonl"+ext)
			mustRun(t, nil, tool[0], append(tool[1:], "--rejects", path)...)
			got, err := unzip(path, comp)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s --rejects %s: %d bytes (%v), want the %d of the plain file", tool[0], ext, len(got), err, len(want))
			}
		}
		// --strict: the run fails, its rejects file holds the one line
		// that stopped it, compressed whole
		path := filepath.Join(dir, "strict.jsonl"+ext)
		if _, _, code := run(t, nil, "meguri-ingest", "--strict", sample, "-o", filepath.Join(dir, "c.meguri"), "--rejects", path); code != 1 {
			t.Errorf("--strict: exit %d", code)
		}
		got, err := unzip(path, comp)
		if first := want[:bytes.IndexByte(want, '\n')+1]; err != nil || !bytes.Equal(got, first) {
			t.Errorf("--strict --rejects %s: %q (%v), want %q", ext, got, err, first)
		}
	}
}

// TestNothingTakenKeepsPartition: a run that takes no line (an empty pipe
// after a failed command, a file of the wrong kind, another partition's
// --range) does not replace an -o file holding records with an empty
// partition: it exits 1, naming the file, which keeps its bytes.
// --allow-empty replaces it; a file that holds no record is replaced.
func TestNothingTakenKeepsPartition(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.meguri")
	if _, e, code := run(t, nil, "meguri-ingest", "-q", sample, "-o", out); code != 0 {
		t.Fatalf("ingest: exit %d, %s", code, e)
	}
	held := fileBytes(t, out)
	arr := filepath.Join(dir, "array.json")
	os.WriteFile(arr, []byte("["+lines(t, sample)[0]+"]\n"), 0o644)
	for _, c := range []struct {
		stdin []byte
		args  []string
		want  string
	}{
		{nil, []string{"-q"}, "meguri-ingest: the input held no line (did the command before it fail?): " + out + ", which holds 1736 urls, is left as it was; --allow-empty replaces it with an empty partition\n"},
		{[]byte("\n\n"), nil, "meguri-ingest: 0 lines: 0 taken (0 captures, 0 discovered), 0 rejected\n"},
		{nil, []string{arr}, "meguri-ingest: warning: no line was taken (1 rejected); the first, " + arr + ":1, was rejected as "},
		{nil, []string{"-q", arr}, "meguri-ingest: no line of 1 was taken: " + out + ", which holds 1736 urls, is left as it was"},
		{nil, []string{"-q", "--range", "0:1", "--partition-id", "0", sample, "-o", out}, "-o " + out + " holds partition 0 (0x0000000000000000..0xffffffffffffffff), not the output's"},
	} {
		args := append([]string{"-o", out}, c.args...)
		_, e, code := run(t, c.stdin, "meguri-ingest", args...)
		if code != 1 || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d, %s; want exit 1 and %q", c.args, code, e, c.want)
		}
		if !bytes.Equal(fileBytes(t, out), held) {
			t.Fatalf("%v: the partition's bytes changed", c.args)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 2 {
		t.Errorf("left behind: %v", es)
	}
	empty := filepath.Join(dir, "empty.meguri")
	if _, e, code := run(t, nil, "meguri-ingest", "-q", "-o", empty); code != 0 {
		t.Fatalf("an empty input to a new file: exit %d, %s", code, e)
	}
	if _, e, code := run(t, nil, "meguri-ingest", "-q", "--allow-empty", "-o", out); code != 0 || !bytes.Equal(fileBytes(t, out), fileBytes(t, empty)) {
		t.Fatalf("--allow-empty: exit %d, %s, or not the empty partition", code, e)
	}
	// nothing left to lose: an empty partition is replaced without the flag
	if _, e, code := run(t, nil, "meguri-ingest", "-q", "-o", out); code != 0 {
		t.Errorf("an empty input over an empty partition: exit %d, %s", code, e)
	}
	if _, e, code := run(t, nil, "meguri-ingest", "--allow-empty", "--data", filepath.Join(dir, "live")); code != 2 || !strings.Contains(string(e), "--allow-empty is for -o") {
		t.Errorf("--allow-empty --data: exit %d, %s", code, e)
	}
}

// TestMaxLineLimit: --max-line cannot take lines longer than a .meguri row
// holds: a usage error before anything is read or written.
func TestMaxLineLimit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.meguri")
	want := "meguri-ingest: --max-line 129.0 MiB: at most 128.0 MiB (a line's URL and redirect grow up to fourfold once canonical, and a .meguri row holds 512.0 MiB of them)\n"
	if _, e, code := run(t, nil, "meguri-ingest", "--max-line", "129M", sample, "-o", out); code != 2 || string(e) != want {
		t.Errorf("--max-line 129M: exit %d, %q, want %q", code, e, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--max-line 129M left %s: %v", out, err)
	}
	mustRun(t, nil, "meguri-ingest", "-q", "--max-line", "128M", sample, "-o", out)
}

// TestJoinedFiles: .meguri files joined end to end (parallel ... >
// all.meguri) are named as such by every reader, from a file and from a
// pipe, with where the later one begins; nothing is written from them.
func TestJoinedFiles(t *testing.T) {
	dir := t.TempDir()
	one := fileBytes(t, "../testdata/sample.meguri")
	joined := filepath.Join(dir, "all.meguri")
	os.WriteFile(joined, slices.Concat(one, one), 0o644)
	want := fmt.Sprintf(".meguri files joined end to end: another one begins at byte %d (`cat a.meguri b.meguri`, or several runs writing one stdout, make this); give each run its own -o file, and meguri-compact merges or folds them\n", len(one))
	out := filepath.Join(dir, "out.meguri")
	manifest := filepath.Join(dir, "fleet.manifest")
	if _, e, code := run(t, nil, "meguri-route", "balance", "-q", "--partitions", "2", sample, "-o", manifest); code != 0 {
		t.Fatalf("balance: exit %d, %s", code, e)
	}
	for _, c := range []struct {
		tool  string
		stdin []byte
		args  []string
		code  int
	}{
		{"meguri-inspect", nil, []string{joined}, 1},
		{"meguri-inspect", nil, []string{"--verify", joined}, 1},
		{"meguri-inspect", nil, []string{"--url", "http://www.zew.de/", joined}, 2},
		{"meguri-inspect", slices.Concat(one, one), []string{"--json", "-"}, 1},
		{"meguri-compact", nil, []string{joined, "-o", out}, 1},
		{"meguri-route", slices.Concat(one, one), []string{"split", "--manifest", manifest, "--out-dir", filepath.Join(dir, "split"), "-"}, 1},
	} {
		_, e, code := run(t, c.stdin, c.tool, c.args...)
		if code != c.code || !strings.HasSuffix(string(e), want) {
			t.Errorf("%s %v: exit %d, %s; want exit %d and %q", c.tool, c.args, code, e, c.code, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("an output was written from joined files: %v", err)
	}
}

// TestOutputWrittenMeanwhile: two runs given one output (parallel's {/.}
// makes one name of a/x.gz and b/x.gz) do not silently lose one run's
// file: a run whose output another run wrote while it ran fails, naming
// it, and leaves the other's file in place.
func TestOutputWrittenMeanwhile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.meguri")
	cmd := exec.Command(filepath.Join(binDir, "meguri-ingest"), "-q", "-o", out)
	stdin, e := start(t, cmd)
	stdin.Write(fileBytes(t, sample))
	// the run has begun its output once its temporary file is there
	for i := 0; ; i++ {
		if es, _ := os.ReadDir(dir); len(es) == 1 && strings.HasPrefix(es[0].Name(), ".x.meguri.tmp-") {
			break
		}
		if i == 1000 {
			t.Fatal("no temporary output after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	other := fileBytes(t, "../testdata/sample.meguri")
	other[len(other)-1] ^= 1 // not the bytes this run writes
	os.WriteFile(out, other, 0o644)
	stdin.Close()
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(e.String(), out+" was written by someone else while this run wrote it") {
		t.Fatalf("exit %d (%v), stderr %q", code, err, e)
	}
	if got := fileBytes(t, out); !bytes.Equal(got, other) {
		t.Error("the other run's file was replaced")
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("left %v", es)
	}
}

// The system temp dir is used without being asked for: when TMPDIR names
// no directory, a run that spills, and a batch lookup that packs a live
// partition, say that it is where they write and what to give instead.
func TestTempDirMissing(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", live, sample)
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"meguri-ingest", "-q", "--mem", "64K", sample, "-o", filepath.Join(dir, "x.meguri")},
			"sorted runs spill to /nonexistent (the system temp dir, from TMPDIR); give --tmp a directory to write them in"},
		{"", []string{"meguri-route", "balance", "-q", "-n", "2", "--mem", "16K", sample},
			"sorted runs spill to /nonexistent (the system temp dir, from TMPDIR); give --tmp a directory to write them in"},
		{"http://example.com/\n", []string{"meguri-inspect", "--urls", "-", live},
			live + ": a batch lookup packs a live partition into a temporary file in /nonexistent first: "},
	} {
		cmd := exec.Command(filepath.Join(binDir, c.args[0]), c.args[1:]...)
		cmd.Env = append(os.Environ(), "TMPDIR=/nonexistent")
		cmd.Stdin = strings.NewReader(c.stdin)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), c.want) {
			t.Errorf("%v with TMPDIR=/nonexistent: %v, %q; want exit 1 and %q", c.args, err, out, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.meguri")); err == nil {
		t.Error("the failed ingest left x.meguri")
	}
}

// A text output named as stdout under another name (/dev/stdout, or the
// file stdout is redirected to) while the data goes to stdout is refused
// (exit 2): the rejects would replace the .meguri file, or mix into it.
// /dev/null takes both.
func TestStdoutUnderAnotherName(t *testing.T) {
	dir := t.TempDir()
	outPath := filepath.Join(dir, "out.meguri")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	m := filepath.Join(dir, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", sample, "-o", m)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"meguri-ingest", "-q", sample, "--rejects", "/dev/stdout"},
			"--rejects /dev/stdout is stdout, where the .meguri file goes: give -o PATH, or --rejects another PATH"},
		{[]string{"meguri-ingest", "-q", sample, "--rejects", outPath},
			"--rejects " + outPath + " is stdout, where the .meguri file goes"},
		{[]string{"meguri-compact", "-q", "../testdata/sample.meguri", "--manifest-out", "/dev/stdout"},
			"--manifest-out /dev/stdout is stdout, where the .meguri file goes: give -o PATH, or --manifest-out another PATH"},
		{[]string{"meguri-route", "split", "-q", "--json", "--manifest", m, "--out-dir", filepath.Join(dir, "split"), sample, "--rejects", "/dev/stdout"},
			"--rejects /dev/stdout and the --json summary would both go to stdout: give --rejects PATH"},
	} {
		e, code := runOn(t, nil, out, c.args[0], c.args[1:]...)
		if code != 2 || !strings.Contains(e, c.want) {
			t.Errorf("%v > out.meguri: exit %d, %q; want exit 2 and %q", c.args, code, e, c.want)
		}
		if st, err := out.Stat(); err != nil || st.Size() != 0 {
			t.Errorf("%v wrote to stdout (%v)", c.args, err)
		}
		if _, err := os.Stat(outPath); err != nil {
			t.Errorf("%v: out.meguri replaced: %v", c.args, err)
		}
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if e, code := runOn(t, nil, null, "meguri-ingest", "-q", sample, "--rejects", os.DevNull); code != 0 || e != "" {
		t.Errorf("--rejects /dev/null > /dev/null: exit %d, %q", code, e)
	}
	// with --data nothing else goes to stdout: the rejects may
	if e, code := runOn(t, nil, out, "meguri-ingest", "-q", "--data", filepath.Join(dir, "live"), sample, "--rejects", "/dev/stdout"); code != 0 || e != "" {
		t.Errorf("--data --rejects /dev/stdout: exit %d, %q", code, e)
	}
	if n := strings.Count(string(fileBytes(t, outPath)), "\n"); n != 172 {
		t.Errorf("--data --rejects /dev/stdout wrote %d lines, want the sample's 172 rejects", n)
	}
}

// An empty .meguri input, a file the shell's > made for a command that
// failed or a pipe from one, is named as empty rather than as damaged or
// foreign: the cause is the command before.
func TestEmptyMeguriInput(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "part.meguri")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fileWant := empty + ": empty (0 bytes): was it written by > from a command that failed? (-o PATH leaves no file when a run fails)"
	for _, args := range [][]string{
		{"meguri-inspect", empty},
		{"meguri-inspect", "--verify", empty},
		{"meguri-compact", empty, "-o", filepath.Join(t.TempDir(), "x.meguri")},
	} {
		wantFail(t, fileWant, args[0], args[1:]...)
	}
	_, e, code := run(t, []byte{}, "meguri-inspect", "--rows", "-")
	if code != 1 || !strings.Contains(string(e), "<stdin>: empty: not one byte of a .meguri file (did the command that writes it fail?)") {
		t.Errorf("inspect of an empty stdin: exit %d, %q", code, e)
	}
}

// TestLookupOutsideRange: a URL or host that a partition file cannot hold,
// its key lying outside the file's range, is absent as any other (exit 1,
// nothing on stdout), and the message says why: another partition owns
// it. From a file and from a stream alike; a key inside the range gets
// the plain message.
func TestLookupOutsideRange(t *testing.T) {
	dir := t.TempDir()
	part := filepath.Join(dir, "half.meguri")
	lo, hi, rng := uint64(0), uint64(1<<63-1), "0:7fffffffffffffff"
	if xxhash.Sum64String("absent.example") <= hi {
		lo, hi, rng = 1<<63, 1<<64-1, "8000000000000000:ffffffffffffffff"
	}
	mustRun(t, nil, "meguri-ingest", "-q", "--range", rng, "-o", part, sample)
	inside := ""
	for i := 0; inside == ""; i++ {
		if h := fmt.Sprintf("in-%d.example", i); xxhash.Sum64String(h) >= lo && xxhash.Sum64String(h) <= hi {
			inside = h
		}
	}
	data, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	span := fmt.Sprintf(", whose range is 0x%016x..0x%016x: ", lo, hi)
	key := xxhash.Sum64String("absent.example")
	for _, c := range []struct {
		stdin []byte
		args  []string
		want  string
	}{
		{nil, []string{"--url", "http://absent.example/x", part}, fmt.Sprintf("http://absent.example/x: not in %s%sits host key 0x%016x lies outside it, in another partition's (meguri-route --manifest MAP --url URL names which)\n", part, span, key)},
		{data, []string{"--url", "http://absent.example/x", "-"}, fmt.Sprintf("http://absent.example/x: not in <stdin>%sits host key 0x%016x lies outside it", span, key)},
		{nil, []string{"--host", "absent.example", part}, fmt.Sprintf("absent.example (host key 0x%016x): not in %s%sthe key lies outside it, in another partition's (meguri-route --manifest MAP --host HOST names which)\n", key, part, span)},
		{nil, []string{"--url", "http://" + inside + "/", part}, "http://" + inside + "/: not in " + part + "\n"},
		{data, []string{"--host", inside, "-"}, fmt.Sprintf("%s (host key 0x%016x): not in <stdin>\n", inside, xxhash.Sum64String(inside))},
	} {
		out, e, code := run(t, c.stdin, "meguri-inspect", c.args...)
		if code != 1 || len(out) != 0 || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", c.args, code, out, e, c.want)
		}
	}
	// A batch lookup counts the URLs it could not have found, and says so
	// once: with --absent they print (they are absent), but may be known
	// to another partition.
	held := strings.SplitN(string(mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url", "--tsv", "--raw", part)), "\n", 2)[0]
	list := []byte("http://absent.example/x\n" + held + "\nhttp://" + inside + "/\n")
	for _, absent := range []bool{false, true} {
		args, want, wantOut := []string{"--urls", "-", part}, "were not found", "http://absent.example/x\nhttp://"+inside+"/\n"
		if absent {
			args, want = append(args, "--absent"), "were printed as absent"
		}
		out, e, code := run(t, list, "meguri-inspect", args...)
		want = fmt.Sprintf("%s: 1 of the 3 URLs looked up %s because their host keys lie outside its range 0x%016x..0x%016x: other partitions own them (give --manifest MAP to look up in the whole fleet)\n", part, want, lo, hi)
		if code != 0 || string(e) != "meguri-inspect: "+want || absent && string(out) != wantOut || !absent && !strings.HasPrefix(string(out), `{"url":"`+held+`"`) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 0 and %q", args, code, out, e, want)
		}
	}
}

// TestLookupRespelled: a --url that misses names the spellings of it the
// file holds (the other scheme, www. on or off, a trailing slash), from
// a file, a stream, a partition directory and a fleet, where under
// grouping host the www. spelling lies in another partition.
func TestLookupRespelled(t *testing.T) {
	dir := t.TempDir()
	lines := []byte(`{"url": "http://www.example.com/a"}
{"url": "https://example.com/a"}
{"url": "https://example.org/b/"}
{"url": "http://www.shop.example.net/"}
{"url": "http://other.example/"}
`)
	file, live := filepath.Join(dir, "f.meguri"), filepath.Join(dir, "live")
	mustRun(t, lines, "meguri-ingest", "-q", "-o", file)
	mustRun(t, lines, "meguri-ingest", "-q", "--data", live)
	data := fileBytes(t, file)
	for _, c := range []struct{ url, want string }{
		{"https://www.example.com/a", "https://www.example.com/a: not in %s; it holds https://example.com/a and http://www.example.com/a\n"},
		{"http://example.com/a/", "http://example.com/a/: not in %s; it holds http://www.example.com/a and https://example.com/a\n"},
		{"http://example.org/b", "http://example.org/b: not in %s; it holds https://example.org/b/\n"},
		{"http://shop.example.net/", "http://shop.example.net/: not in %s; it holds http://www.shop.example.net/\n"},
		{"http://example.net/", "http://example.net/: not in %s\n"},
		{"https://other.example/x", "https://other.example/x: not in %s\n"},
	} {
		for _, in := range []struct {
			name  string
			stdin []byte
			arg   string
		}{{file, nil, file}, {"<stdin>", data, "-"}, {live, nil, live}} {
			out, e, code := run(t, in.stdin, "meguri-inspect", "--url", c.url, in.arg)
			if want := "meguri-inspect: " + fmt.Sprintf(c.want, in.name); code != 1 || len(out) != 0 || string(e) != want {
				t.Errorf("--url %s %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", c.url, in.arg, code, out, e, want)
			}
		}
	}
	// under grouping host, www.example.com and example.com are two host
	// keys: cut between them, each is in its own partition
	byHost := filepath.Join(dir, "byhost.meguri")
	mustRun(t, []byte(`{"url": "http://www.example.com/a"}`+"\n"+`{"url": "https://www.example.com/a"}`+"\n"), "meguri-ingest", "-q", "--grouping", "host", "-o", byHost)
	k1, k2 := xxhash.Sum64String("www.example.com"), xxhash.Sum64String("example.com")
	man := filepath.Join(dir, "parts", "fleet.manifest")
	mustRun(t, nil, "meguri-compact", "-q", "--split-at", fmt.Sprintf("%x", max(k1, k2)), "--out-dir", filepath.Join(dir, "parts"), "--manifest-out", man, byHost)
	want := "meguri-inspect: http://example.com/a: not in " + man + "; it holds http://www.example.com/a and https://www.example.com/a\n"
	if out, e, code := run(t, nil, "meguri-inspect", "--url", "http://example.com/a", "--manifest", man); code != 1 || len(out) != 0 || string(e) != want {
		t.Errorf("--url over a fleet: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, e, want)
	}
	mustRun(t, nil, "meguri-inspect", "--url", "http://www.example.com/a", "--manifest", man)
	// --host under grouping host: the host with www. on or off, from a
	// file or a fleet (a stream cannot be read again)
	keyOf := func(h string) string { return fmt.Sprintf("0x%016x", xxhash.Sum64String(h)) }
	for _, c := range []struct{ arg, name, want string }{
		{byHost, byHost, "; it holds 2 records of www.example.com (--host www.example.com)\n"},
		{"-", "<stdin>", "\n"},
	} {
		want := "meguri-inspect: example.com (host key " + keyOf("example.com") + "): not in " + c.name + c.want
		if out, e, code := run(t, fileBytes(t, byHost), "meguri-inspect", "--host", "example.com", c.arg); code != 1 || len(out) != 0 || string(e) != want {
			t.Errorf("--host example.com %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", c.arg, code, out, e, want)
		}
	}
	want = "meguri-inspect: example.com (host key " + keyOf("example.com") + "): not in " + man + "; it holds 2 records of www.example.com (--host www.example.com)\n"
	if out, e, code := run(t, nil, "meguri-inspect", "--host", "example.com", "--manifest", man); code != 1 || len(out) != 0 || string(e) != want {
		t.Errorf("--host over a fleet: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, e, want)
	}
}

// TestMeguriGivenAsCDX: a .meguri file named where CDX lines go is named
// as one, with the tool that reads it: meguri-inspect and meguri-compact
// for ingest; for route, which reads a .meguri but not a compressed one,
// decompressing it.
func TestMeguriGivenAsCDX(t *testing.T) {
	dir := t.TempDir()
	golden := "../testdata/sample.meguri"
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "sample.meguri.gz")
	writeGzip(t, gz, raw)
	man := filepath.Join(dir, "m")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", sample, "-o", man)
	hint := ": its records are read by meguri-inspect, and combined with other .meguri files by meguri-compact (--fold for a base and a delta of one partition)\n"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"meguri-ingest", golden, "-o", filepath.Join(dir, "x.meguri")}, "meguri-ingest: " + golden + ": is a .meguri file, not CDX lines" + hint},
		{[]string{"meguri-ingest", gz, "-o", filepath.Join(dir, "x.meguri")}, "meguri-ingest: " + gz + ": is a .meguri file, not CDX lines (compressed with gzip)" + hint},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", filepath.Join(dir, "parts"), gz}, "meguri-route: " + gz + ": is a .meguri file, not CDX lines (compressed with gzip): decompress it first\n"},
		// given to a live partition, it names the way to start one from it
		{[]string{"meguri-ingest", "--data", filepath.Join(dir, "live"), golden}, "meguri-ingest: " + golden + ": is a .meguri file, not CDX lines" + strings.TrimSuffix(hint, "\n") +
			"; a live partition starts from one (meguri-pack --unpack FILE --data NEWDIR), or folds one in at a checkpoint (meguri-compact --data DIR --fold FILE); nothing of this run was committed to " + filepath.Join(dir, "live") + "\n"},
	} {
		_, e, code := run(t, nil, c.args[0], c.args[1:]...)
		if code != 1 || string(e) != c.want {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", c.args, code, e, c.want)
		}
	}
}

// TestRowsGivenAsCDX: the records meguri-inspect --rows prints, given back
// to a tool that reads CDX (filtered with jq, say, to drop a host), would
// each come back as a bare discovered URL, their captures lost. The run
// stops at the first one, naming it, and writes nothing; rows of
// discovered URLs and a list of URLs from --fields url still read as
// discovered links.
func TestRowsGivenAsCDX(t *testing.T) {
	dir := t.TempDir()
	golden := "../testdata/sample.meguri"
	rows := mustRun(t, nil, "meguri-inspect", "--rows", golden)
	all := bytes.Count(rows, []byte("\n"))
	first := 1 + bytes.Count(rows[:bytes.Index(rows, []byte(`"captures":1`))], []byte("\n"))
	man := filepath.Join(dir, "m")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", sample, "-o", man)
	what := ": a record as meguri-inspect --rows prints it, not a CDX capture: it folds captures that no CDX line carries, and read as one would keep only its URL; "
	out, live, parts := filepath.Join(dir, "x.meguri"), filepath.Join(dir, "live"), filepath.Join(dir, "parts")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"meguri-ingest", "-o", out}, "meguri-ingest: <stdin>:%d" + what + "combine .meguri files with meguri-compact, or ingest the CDX they came from\n"},
		{[]string{"meguri-ingest", "--data", live}, "meguri-ingest: <stdin>:%d" + what + "combine .meguri files with meguri-compact, or ingest the CDX they came from; nothing of this run was committed to " + live + "\n"},
		{[]string{"meguri-route", "split", "--manifest", man, "--out-dir", parts}, "meguri-route: <stdin>:%d" + what + "meguri-route reads the .meguri file itself\n"},
		{[]string{"meguri-route", "balance", "-n", "2", "-o", out}, "meguri-route: <stdin>:%d" + what + "meguri-route reads the .meguri file itself\n"},
	} {
		_, e, code := run(t, rows, c.args[0], c.args[1:]...)
		if want := fmt.Sprintf(c.want, first); code != 1 || string(e) != want {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", c.args, code, e, want)
		}
		for _, p := range []string{out, parts, filepath.Join(live, "super")} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%v left %s", c.args, p)
			}
		}
	}
	// discovered rows, and URLs alone, are links: every one is taken
	for _, args := range [][]string{{"--rows", "--status", "discovered"}, {"--rows", "--fields", "url"}} {
		in := mustRun(t, nil, "meguri-inspect", append(args, golden)...)
		n := bytes.Count(in, []byte("\n"))
		_, e, code := run(t, in, "meguri-ingest", "--json", "-o", out)
		if want := fmt.Sprintf(`"lines":%d,"blank":0,"taken":%d,"captures":0,"discovered":%d,"rejected":0,`, n, n, n); code != 0 || !strings.Contains(string(e), want) {
			t.Errorf("inspect %v | ingest: exit %d, %s; want %s", args, code, e, want)
		}
		if args[1] == "--fields" && n != all {
			t.Errorf("--fields url printed %d lines, --rows %d", n, all)
		}
	}
}

// TestOutputTooLarge: an output the disk cannot take (a file size limit
// here; a full disk fails the same write with ENOSPC) fails the run with
// an error naming the output, not its hidden temporary file, and leaves
// nothing behind; a run appending to a live partition says that none of
// it was committed, and the partition reads as it did.
func TestOutputTooLarge(t *testing.T) {
	dir, file, mf, live := writingFixture(t)
	before := mustRun(t, nil, "meguri-inspect", "--rows", live)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"meguri-ingest", "-q", sample, "-o", filepath.Join(out, "a.meguri")}, "cannot write " + filepath.Join(out, "a.meguri") + ": file too large"},
		{[]string{"meguri-compact", "-q", file, "-o", filepath.Join(out, "c.meguri")}, "cannot write " + filepath.Join(out, "c.meguri") + ": file too large"},
		{[]string{"meguri-compact", "-q", "--split-at", "0x8000000000000000", "--out-dir", out, file}, "cannot write " + filepath.Join(out, "part-0000.meguri") + ": file too large"},
		{[]string{"meguri-route", "split", "-q", "--manifest", mf, "--out-dir", out, sample}, "cannot write " + out + "/part-000"},
		{[]string{"meguri-pack", "-q", live, "-o", filepath.Join(out, "p.meguri")}, "cannot write " + filepath.Join(out, "p.meguri") + ": file too large"},
		{[]string{"meguri-ingest", "-q", "--again", "--data", live, sample}, "file too large; nothing of this run was committed to " + live},
		{[]string{"meguri-compact", "-q", "--data", live}, "cannot write " + filepath.Join(live, "snap-1.meguri") + ": file too large; no checkpoint was made, and " + live + " is as it was"},
	} {
		// 16 blocks: 8 KiB where sh counts 512-byte blocks, 16 KiB
		// where it counts KiB; every output here is larger.
		o, err := runUnderLimit("-f 16", c.args[0], c.args[1:]...)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(o), c.want) {
			t.Errorf("%v under ulimit -f: %v, %q; want exit 1 and %q", c.args, err, o, c.want)
		}
		if strings.Contains(string(o), ".tmp-") {
			t.Errorf("%v: the error names a temporary file: %q", c.args, o)
		}
		if left, _ := os.ReadDir(out); len(left) != 0 {
			t.Errorf("%v left %v", c.args, left)
		}
	}
	if after := mustRun(t, nil, "meguri-inspect", "--rows", live); !bytes.Equal(after, before) {
		t.Error("the failed append and checkpoint changed the live partition's rows")
	}
	if entries, _ := os.ReadDir(live); len(entries) != 4 { // lock, super, snap-0, log-0
		t.Errorf("the failed checkpoint left files: %v", entries)
	}
}

// underShell runs args by sh -c script (script's $0 is arg0, and it
// ends in exec "$@", so that what it sets binds args) and returns their
// stderr and exit code.
func underShell(t *testing.T, script, arg0 string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", script, arg0}, args...)...)
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return e.String(), code
}

// TestCgroupMemoryLimit: in a cgroup whose memory limit is below twice a
// tool's default --mem (a container), the default is lowered to half the
// limit and the tool says so (not under -q); a --mem given stands. The
// output is the same bytes. (At the 1G default, ingest of the 20x copy
// in a 300 MiB container was killed by the kernel without a word.) It
// needs a cgroup v1 memory controller it may make a group in, as root in
// CI has; elsewhere it says why it cannot run.
func TestCgroupMemoryLimit(t *testing.T) {
	cg := fmt.Sprintf("/sys/fs/cgroup/memory/meguri-test-%d", os.Getpid())
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Skipf("cannot make a memory cgroup here (%v): the limit is read from /proc/self/cgroup, which the unit test of lib/internal/memlimit covers", err)
	}
	defer os.Remove(cg)
	if err := os.WriteFile(filepath.Join(cg, "memory.limit_in_bytes"), []byte("209715200"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	want := filepath.Join(dir, "want.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", sample, "-o", want)
	inGroup := func(args ...string) (string, int) {
		return underShell(t, `echo $$ > "$0"/cgroup.procs && exec "$@"`, cg, args...)
	}
	ingest := filepath.Join(binDir, "meguri-ingest")
	out := filepath.Join(dir, "out.meguri")
	note := "meguri-ingest: --mem 100.0 MiB, half the memory limit of the cgroup this runs in (200.0 MiB); --mem sets it\n"
	if e, code := inGroup(ingest, sample, "-o", out); code != 0 || !strings.HasPrefix(e, note) {
		t.Fatalf("the default in a 200 MiB cgroup: exit %d, %q; want it to start %q", code, e, note)
	}
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, want)) {
		t.Errorf("the lowered budget changed the output")
	}
	for _, args := range [][]string{{"-q"}, {"--mem", "1G"}, {"--json"}} {
		if e, code := inGroup(append(append([]string{ingest}, args...), sample, "-o", out)...); code != 0 || strings.Contains(e, "--mem 100.0 MiB") {
			t.Errorf("%v in a 200 MiB cgroup: exit %d, %q", args, code, e)
		}
	}
	// a --mem given past the limit stands, with a warning (also under
	// -q, not under --json)
	warning := "meguri-ingest: warning: --mem 1.0 GiB is more than the memory limit of the cgroup this runs in (200.0 MiB): a run that reaches it is killed by the kernel; give at most half of that\n"
	for _, args := range [][]string{{"-q", "--mem", "1G"}, {"--json", "--mem", "1G"}, {"-q", "--mem", "100M"}} {
		e, code := inGroup(append(append([]string{ingest}, args...), sample, "-o", out)...)
		if want := args[0] == "-q" && args[2] == "1G"; code != 0 || strings.Contains(e, warning) != want {
			t.Errorf("%v in a 200 MiB cgroup: exit %d, %q; want the warning: %v", args, code, e, want)
		}
	}
}

// TestAddressSpaceLimit: under ulimit -v (RLIMIT_AS, set on some shared
// login nodes and batch clusters) the --mem default is lowered to half
// the address space the Go runtime left at start (it maps over a
// gigabyte at start, reserved, not used), and the tool says so (not
// under -q); a --mem given stands; the output is the same bytes. Under a
// limit that leaves little, every tool warns at start, naming the limit.
// (At the 1G default, ingest of the 20x copy under ulimit -v 1500000
// died "out of memory" with 196 MiB in use.)
func TestAddressSpaceLimit(t *testing.T) {
	dir := t.TempDir()
	want := filepath.Join(dir, "want.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", sample, "-o", want)
	limited := func(kb int, args ...string) (string, int) {
		return underShell(t, `ulimit -v "$0" && exec "$@"`, strconv.Itoa(kb), args...)
	}
	ingest := filepath.Join(binDir, "meguri-ingest")
	out := filepath.Join(dir, "out.meguri")
	const note = "meguri-ingest: --mem "
	for _, kb := range []int{1000000, 2000000} {
		limit := fmt.Sprintf(", half the address space left under its limit (ulimit -v %s, of which ", units.Bytes(int64(kb)<<10))
		e, code := limited(kb, ingest, sample, "-o", out)
		if code != 0 || !strings.Contains(e, note) || !strings.Contains(e, limit) {
			t.Fatalf("the default under ulimit -v %d: exit %d, %q; want a line %q...%q", kb, code, e, note, limit)
		}
		if !bytes.Equal(fileBytes(t, out), fileBytes(t, want)) {
			t.Errorf("the lowered budget changed the output")
		}
		// the runtime cannot start under 600 MB: under a 1 GB limit it
		// leaves less than 512 MiB
		warned := strings.Contains(e, "meguri-ingest: warning: ulimit -v is "+units.Bytes(int64(kb)<<10)+", and the Go runtime mapped ")
		if kb == 1000000 && !warned {
			t.Errorf("under ulimit -v %d no warning: %q", kb, e)
		}
		for _, args := range [][]string{{"-q"}, {"--mem", "64M"}, {"--json"}} {
			if e, code := limited(kb, append(append([]string{ingest}, args...), sample, "-o", out)...); code != 0 || strings.Contains(e, note) {
				t.Errorf("%v under ulimit -v %d: exit %d, %q", args, kb, code, e)
			}
		}
	}
	// every tool warns, also where it has no --mem; not under --json,
	// whose object is stderr's one line
	if e, code := limited(1000000, filepath.Join(binDir, "meguri-inspect"), want); code != 0 || !strings.Contains(e, "meguri-inspect: warning: ulimit -v is 976.6 MiB") {
		t.Errorf("inspect under ulimit -v 1000000: exit %d, %q", code, e)
	}
	if e, code := limited(1000000, ingest, "--json", sample, "-o", out); code != 0 || strings.Count(e, "\n") != 1 || !strings.HasPrefix(e, `{"lines":`) {
		t.Errorf("ingest --json under ulimit -v 1000000: exit %d, %q; want one JSON object", code, e)
	}
}

// TestEveryFlagDocumented: every flag each tool's --help lists (in every
// route subcommand too) has its row in docs/CLI.md, so a flag added
// without its documentation fails here.
func TestEveryFlagDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/CLI.md")
	if err != nil {
		t.Fatal(err)
	}
	flag := regexp.MustCompile(`(?m)^\s+(?:-[a-zA-Z], )?(--[a-z0-9-]+)`)
	for _, c := range [][]string{
		{"meguri-ingest"}, {"meguri-inspect"}, {"meguri-pack"}, {"meguri-compact"},
		{"meguri-route", "map"}, {"meguri-route", "balance"}, {"meguri-route", "split"},
		{"meguri-route", "update"}, {"meguri-route", "place"}, {"meguri-route", "plan"},
	} {
		help, _, code := run(t, nil, c[0], append(c[1:], "--help")...)
		found := flag.FindAllSubmatch(help, -1)
		if code != 0 || len(found) < 3 {
			t.Fatalf("%v --help: exit %d, %d flags: %s", c, code, len(found), help)
		}
		for _, m := range found {
			f := string(m[1])
			if f == "--help" {
				continue
			}
			if !regexp.MustCompile("(`|, )" + regexp.QuoteMeta(f) + "[^A-Za-z0-9_-]").Match(doc) {
				t.Errorf("%v: %s is not in docs/CLI.md", c, f)
			}
		}
	}
}
