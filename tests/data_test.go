package tests

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chunkFiles writes the input's lines into n files of consecutive lines.
func chunkFiles(t *testing.T, n int) []string {
	t.Helper()
	ls := lines(t, input(t))
	dir := t.TempDir()
	var paths []string
	for i := range n {
		p := filepath.Join(dir, "chunk-"+string(rune('a'+i))+".jsonl")
		part := ls[len(ls)*i/n : len(ls)*(i+1)/n]
		if err := os.WriteFile(p, []byte(strings.Join(part, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func ingestFile(t *testing.T, out string, files ...string) []byte {
	t.Helper()
	mustRun(t, nil, "meguri-ingest", append([]string{"-q", "--partition-id", "9", "-o", out}, files...)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func packDir(t *testing.T, dir string) []byte {
	t.Helper()
	return mustRun(t, nil, "meguri-pack", "-q", "--data", dir)
}

type dirStats struct {
	Generation  uint64   `json:"generation"`
	DamagedLogs []string `json:"damaged_logs"`
	Snapshot    struct {
		URLs uint64 `json:"urls"`
	} `json:"snapshot"`
	Log struct {
		Transactions int64 `json:"transactions"`
		Lines        int64 `json:"lines"`
		Taken        int64 `json:"taken"`
		Uncommitted  int64 `json:"uncommitted_bytes"`
	} `json:"log"`
}

func statsOf(t *testing.T, dir string) dirStats {
	t.Helper()
	var s dirStats
	if err := json.Unmarshal(mustRun(t, nil, "meguri-inspect", "--json", dir), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Four writers started at once append to one directory (they take turns);
// packing it gives the bytes of one ingest of all their lines, and so does
// its first checkpoint.
func TestPartitionDirectory(t *testing.T) {
	files := chunkFiles(t, 4)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "part-9")
	var cmds []*exec.Cmd
	var errs []*bytes.Buffer
	var stats []map[string]any
	for _, f := range files {
		cmd := exec.Command(filepath.Join(binDir, "meguri-ingest"), "--json", "--data", dir, "--partition-id", "9", f)
		e := &bytes.Buffer{}
		cmd.Stderr = e
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, errs = append(cmds, cmd), append(errs, e)
	}
	var lines, taken int64
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer %d: %v: %s", i, err, errs[i])
		}
		// The summary is the last line; a writer that waited for the
		// directory said so first.
		ls := strings.Split(strings.TrimSpace(errs[i].String()), "\n")
		var s map[string]any
		if err := json.Unmarshal([]byte(ls[len(ls)-1]), &s); err != nil {
			t.Fatalf("writer %d summary: %v: %s", i, err, errs[i])
		}
		stats = append(stats, s)
		lines += int64(s["lines"].(float64))
		taken += int64(s["taken"].(float64))
	}
	// the writer that made the directory says so, and only it
	made := 0
	for _, s := range stats {
		if s["created"] == true {
			made++
		}
	}
	if made != 1 {
		t.Errorf("%d of the four writers say they made the directory, want 1", made)
	}
	whole := ingestFile(t, filepath.Join(tmp, "whole.meguri"), input(t))
	if got := packDir(t, dir); !bytes.Equal(got, whole) {
		t.Fatalf("pack of four concurrent appends (%d bytes) differs from one ingest (%d bytes)", len(got), len(whole))
	}
	s := statsOf(t, dir)
	if s.Log.Transactions != 4 || s.Log.Lines != lines || s.Log.Taken != taken || s.Log.Uncommitted != 0 {
		t.Fatalf("directory stats %+v; want 4 transactions, %d lines, %d taken", s, lines, taken)
	}
	mustRun(t, nil, "meguri-inspect", "--verify", dir)
	// --commits lists each writer's run: its lines and captures taken
	var want, got []string
	for _, s := range stats {
		want = append(want, fmt.Sprintf("%v %v", s["lines"], s["taken"]))
	}
	for _, l := range strings.Split(strings.TrimSpace(string(mustRun(t, nil, "meguri-inspect", "--commits", "--json", dir))), "\n") {
		var c struct {
			Generation, Transaction int
			CommitTime              string `json:"commit_time"`
			Lines, Taken            int64
		}
		if err := json.Unmarshal([]byte(l), &c); err != nil || c.Generation != 0 || c.Transaction != len(got)+1 || len(c.CommitTime) != 14 {
			t.Fatalf("--commits line %q: %v", l, err)
		}
		got = append(got, fmt.Sprintf("%d %d", c.Lines, c.Taken))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("--commits lists runs of (lines taken) %v; the writers said %v", got, want)
	}
	// pack --stats prints what inspect prints of a directory, and pack's
	// own summary counts what it packed
	if a, b := mustRun(t, nil, "meguri-pack", "--stats", "--json", "--data", dir), mustRun(t, nil, "meguri-inspect", "--json", dir); !bytes.Equal(a, b) {
		t.Errorf("pack --stats --json %s differs from inspect --json %s", a, b)
	}
	if a, b := mustRun(t, nil, "meguri-pack", "--stats", "--data", dir), mustRun(t, nil, "meguri-inspect", dir); !bytes.Equal(a, b) {
		t.Errorf("pack --stats %s differs from inspect %s", a, b)
	}
	// the directory given as the argument is the same as --data
	if a, b := mustRun(t, nil, "meguri-pack", "-q", dir), packDir(t, dir); !bytes.Equal(a, b) || len(a) == 0 {
		t.Errorf("meguri-pack DIR wrote %d bytes, meguri-pack --data DIR %d", len(a), len(b))
	}
	packed := filepath.Join(tmp, "packed.meguri")
	_, e, code := run(t, nil, "meguri-pack", "--json", "--data", dir, "-o", packed)
	var ps struct {
		Transactions int64  `json:"transactions"`
		LogCaptures  int64  `json:"log_captures"`
		URLs         uint64 `json:"urls"`
		FileBytes    int    `json:"file_bytes"`
	}
	if code != 0 || json.Unmarshal(e, &ps) != nil || ps.Transactions != 4 || ps.LogCaptures != taken || ps.FileBytes != len(whole) || ps.URLs != inspectURLs(t, packed) {
		t.Errorf("pack --json: exit %d, %s; want 4 transactions, %d log captures, %d bytes", code, e, taken, len(whole))
	}

	// the directory's records read as the packed file's, without packing
	// first: every row, one URL present (exit 0) and one absent (exit 1),
	// and a reader that stops early
	wantRows := mustRun(t, nil, "meguri-inspect", "--rows", packed)
	if got := mustRun(t, nil, "meguri-inspect", "--rows", dir); !bytes.Equal(got, wantRows) {
		t.Errorf("inspect --rows %s differs from the packed file's rows", dir)
	}
	firstRow := wantRows[:bytes.IndexByte(wantRows, '\n')+1]
	var first struct{ URL string }
	if err := json.Unmarshal(firstRow, &first); err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, nil, "meguri-inspect", "--url", first.URL, dir); !bytes.Equal(got, firstRow) {
		t.Errorf("inspect --url %s %s: %s", first.URL, dir, got)
	}
	wantFail(t, "http://absent.example/: not in "+dir, "meguri-inspect", "--url", "http://absent.example/", dir)
	// a batch lookup seeks: the directory is packed to a temporary file
	list := filepath.Join(tmp, "list.txt")
	os.WriteFile(list, []byte(first.URL+"\nhttp://absent.example/\n"), 0o644)
	if got := mustRun(t, nil, "meguri-inspect", "--urls", list, dir); !bytes.Equal(got, firstRow) {
		t.Errorf("inspect --urls %s: %s", dir, got)
	}
	packTmp := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "meguri-inspect"), "--urls", list, "--absent", dir)
	cmd.Env = append(os.Environ(), "TMPDIR="+packTmp)
	if got, err := cmd.Output(); err != nil || string(got) != "http://absent.example/\n" {
		t.Errorf("inspect --urls --absent %s: %v, %q", dir, err, got)
	}
	if left, _ := os.ReadDir(packTmp); len(left) != 0 {
		t.Errorf("the packed file was left in TMPDIR: %v", left)
	}
	if out, err := exec.Command("sh", "-c", filepath.Join(binDir, "meguri-inspect")+" --rows "+dir+" | head -1").CombinedOutput(); err != nil || !bytes.Equal(out, firstRow) {
		t.Errorf("inspect --rows DIR | head -1: %v, %q", err, out)
	}

	// Each run recorded its input: --commits names it, and the same
	// content run again (by name, or piped in) is refused, appending
	// nothing.
	listed := string(mustRun(t, nil, "meguri-inspect", "--commits", dir))
	for _, f := range files {
		if strings.Count(listed, " taken  "+f+"\n") != 1 {
			t.Errorf("--commits does not name %s once:\n%s", f, listed)
		}
	}
	// of a directory not there, or of a file, it says which
	wantExit(t, 1, "meguri-inspect: cannot read "+dir+"-nope: no such file or directory\n", "meguri-inspect", "--commits", dir+"-nope")
	wantExit(t, 2, "meguri-inspect: --commits lists the runs meguri-ingest --data committed to a partition directory; "+files[0]+" is a file\n", "meguri-inspect", "--commits", files[0])
	// a run of inputs all committed is done already: exit 0, nothing
	// appended; one that mixes them with new input is refused
	if _, e, code := run(t, nil, "meguri-ingest", "-q", "--data", dir, files[1]); code != 0 || !strings.HasPrefix(string(e), "meguri-ingest: "+files[1]+": "+dir+" committed the same content at ") || !strings.HasSuffix(string(e), "; nothing was appended (--again appends it again)\n") {
		t.Errorf("a run re-run: exit %d, %s", code, e)
	}
	again, _ := os.ReadFile(files[2])
	if _, e, code := run(t, again, "meguri-ingest", "--data", dir); code != 0 || !strings.Contains(string(e), "<stdin>: "+dir+" committed the same content") || !regexp.MustCompile(`, as `+regexp.QuoteMeta(files[2])+`(, which took \d+ of its \d+ lines)?\); nothing was appended`).Match(e) {
		t.Errorf("the same content on stdin: exit %d, %s", code, e)
	}
	// --json says so as its one object, from files or stdin
	wantJSON := fmt.Sprintf(`{"data":%q,"generation":0,"appended":false,"inputs_committed_before":2}`+"\n", dir)
	if _, e, code := run(t, nil, "meguri-ingest", "--json", "--data", dir, files[1], files[2]); code != 0 || string(e) != wantJSON {
		t.Errorf("a run re-run, --json: exit %d, %s; want %s", code, e, wantJSON)
	}
	wantJSON = strings.Replace(wantJSON, `:2}`, `:1}`, 1)
	if _, e, code := run(t, again, "meguri-ingest", "--json", "--data", dir); code != 0 || string(e) != wantJSON {
		t.Errorf("the same content on stdin, --json: exit %d, %s; want %s", code, e, wantJSON)
	}
	// a copy of a committed input (content committed under another
	// name) is read, so with a new input the run is refused
	fresh := filepath.Join(tmp, "fresh.jsonl")
	os.WriteFile(fresh, []byte(`{"url":"http://fresh.example/"}`+"\n"), 0o644)
	copied := filepath.Join(tmp, "copy.jsonl")
	os.WriteFile(copied, fileBytes(t, files[0]), 0o644)
	wantFail(t, "but not the run's other inputs; nothing was appended", "meguri-ingest", "--data", dir, copied, fresh)
	if got := packDir(t, dir); !bytes.Equal(got, whole) {
		t.Fatal("a re-run changed the directory")
	}

	mustRun(t, nil, "meguri-compact", "-q", "--data", dir)
	snap, err := os.ReadFile(filepath.Join(dir, "snap-1.meguri"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, whole) {
		t.Fatal("the checkpoint's snapshot differs from one ingest")
	}
	if got := packDir(t, dir); !bytes.Equal(got, whole) {
		t.Fatal("pack after the checkpoint differs")
	}
	if s := statsOf(t, dir); s.Generation != 1 || s.Log.Transactions != 0 {
		t.Fatalf("after checkpoint: %+v", s)
	}
	// the checkpoint carried the runs' inputs: a re-run is still refused
	if _, e, code := run(t, nil, "meguri-ingest", "--data", dir, files[0]); code != 0 || !strings.Contains(string(e), files[0]+": "+dir+" committed the same content before a checkpoint (carried into generation 1); nothing was appended") {
		t.Errorf("a run re-run after the checkpoint: exit %d, %s", code, e)
	}
	if s := statsOf(t, dir); s.Log.Transactions != 0 {
		t.Fatalf("a re-run appended: %+v", s)
	}

	// The directory's id and range are fixed when it is made.
	wantFail(t, "--partition-id 3: "+dir+" is partition 9", "meguri-ingest", "--data", dir, "--partition-id", "3", files[0])
	wantFail(t, "owns 0x0000000000000000:0xffffffffffffffff", "meguri-ingest", "--data", dir, "--range", "0:ff", files[0])
	wantUsage(t, "-o and --data", "meguri-ingest", "--data", dir, "-o", filepath.Join(tmp, "x.meguri"), files[0])
	wantUsage(t, "--durability is for --data", "meguri-ingest", "--durability", "none", files[0])
	wantUsage(t, "--again is for --data", "meguri-ingest", "--again", files[0])
	wantUsage(t, "--checkpoint is for --data", "meguri-ingest", "--checkpoint", files[0])
	wantUsage(t, "--salvage is for --data DIR", "meguri-compact", "--salvage", "-o", filepath.Join(tmp, "x.meguri"), filepath.Join(tmp, "a.meguri"))
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644)
	wantFail(t, "not empty and not a partition directory (it holds notes.txt)", "meguri-ingest", "--data", other, files[0])
	wantFail(t, "is a directory, but not a partition directory", "meguri-pack", "--data", t.TempDir())
	aFile := filepath.Join(tmp, "whole.meguri")
	wantFail(t, aFile+" is a file, not a partition directory", "meguri-ingest", "--data", aFile, files[0])
	wantFail(t, aFile+" is a file, not a partition directory", "meguri-pack", "--data", aFile)
	wantFail(t, aFile+" is a file, not a partition directory", "meguri-compact", "--data", aFile)
}

// TestRunAgain: a --data run of an input the directory has committed
// appends nothing; with --again it is appended, and its captures count
// twice, as ingesting its lines twice does.
func TestRunAgain(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "part-1")
	in := filepath.Join(tmp, "in.jsonl")
	b, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(in, b, 0o644)
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--partition-id", "9", in)
	// done already: nothing appended, saying what the earlier run took
	if _, e, code := run(t, nil, "meguri-ingest", "-q", "--data", dir, in); code != 0 || !strings.Contains(string(e), " (transaction 1 of generation 0, which took 2231 of its 2403 lines); nothing was appended") {
		t.Fatalf("a re-run: exit %d, %s", code, e)
	}
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--again", in)
	// the same lines in other bytes (gzip): a copy of the same bytes is
	// refused as one input named twice
	twice := filepath.Join(tmp, "twice.jsonl.gz")
	writeGzip(t, twice, b)
	want := ingestFile(t, filepath.Join(tmp, "want.meguri"), in, twice)
	if got := packDir(t, dir); !bytes.Equal(got, want) {
		t.Fatal("--again: the pack differs from ingesting the input twice")
	}
	if n := strings.Count(string(mustRun(t, nil, "meguri-inspect", "--commits", dir)), " taken  "+in+"\n"); n != 2 {
		t.Fatalf("--commits lists %s %d times, want 2", in, n)
	}
}

// TestRunAgainMended: a --data run that took no line (Wayback fl= output
// without --cdx-fields) appended nothing, so the same input run again
// with the flag is appended, not refused as committed before; a run that
// took lines is.
func TestRunAgainMended(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "part-1")
	in := filepath.Join(tmp, "fl.txt")
	os.WriteFile(in, []byte("http://www.zew.de/ 19970427191925 200\nhttp://www.nasa.gov/ 19961231235847 301\n"), 0o644)
	_, e, code := run(t, nil, "meguri-ingest", "--data", dir, "--partition-id", "1", in)
	if code != 0 || !strings.Contains(string(e), "2 lines: 0 taken (0 captures, 0 discovered), 2 rejected") {
		t.Fatalf("first run: exit %d, %s", code, e)
	}
	fields := []string{"--cdx-fields", "original,timestamp,statuscode"}
	_, e, code = run(t, nil, "meguri-ingest", append([]string{"--data", dir, in}, fields...)...)
	if code != 0 || !strings.Contains(string(e), "2 lines: 2 taken (2 captures, 0 discovered), 0 rejected") {
		t.Fatalf("the run mended: exit %d, %s", code, e)
	}
	_, e, code = run(t, nil, "meguri-ingest", append([]string{"--data", dir, in}, fields...)...)
	if code != 0 || !strings.Contains(string(e), "committed the same content") {
		t.Fatalf("the mended run again: exit %d, %s", code, e)
	}
	want := mustRun(t, nil, "meguri-ingest", append([]string{"-q", "--partition-id", "1", in}, fields...)...)
	if got := packDir(t, dir); !bytes.Equal(got, want) {
		t.Fatal("the pack differs from ingesting the input once")
	}
	// so also across a checkpoint, which carries no input of a run that
	// took nothing
	dir2 := filepath.Join(tmp, "part-2")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir2, "--partition-id", "1", "--checkpoint", in)
	mustRun(t, nil, "meguri-ingest", append([]string{"-q", "--data", dir2, in}, fields...)...)
	if got := packDir(t, dir2); !bytes.Equal(got, want) {
		t.Fatal("after a checkpoint: the pack differs from ingesting the input once")
	}
}

// TestRunAgainMany: a re-run of many inputs names the first five it
// finds committed and counts the rest: on its own; with a new input,
// which alone is read (the others, committed under their names, are
// passed over); and in the refusal of a run that mixes copies of them
// (read, as their names were never committed) with a new one (a re-run
// of 3,000 shards printed 3,000 lines, and its refusal one line of all
// of them).
func TestRunAgainMany(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "part-1")
	lines := strings.SplitAfter(string(fileBytes(t, sample)), "\n")
	var files []string
	for i := range 8 {
		f := filepath.Join(tmp, fmt.Sprintf("in-%d.jsonl", i))
		os.WriteFile(f, []byte(lines[i]), 0o644)
		files = append(files, f)
	}
	mustRun(t, nil, "meguri-ingest", append([]string{"-q", "--data", dir, "--partition-id", "1"}, files...)...)
	_, e, code := run(t, nil, "meguri-ingest", append([]string{"--data", dir}, files...)...)
	if got := strings.Count(string(e), "; nothing was appended (--again appends it again)\n"); code != 0 || got != 5 ||
		!strings.HasSuffix(string(e), "meguri-ingest: and 3 more inputs the directory committed before; nothing was appended (--again appends them again)\n") {
		t.Errorf("a re-run of 8: exit %d, %d named:\n%s", code, got, e)
	}
	fresh := filepath.Join(tmp, "fresh.jsonl")
	os.WriteFile(fresh, []byte(lines[9]), 0o644)
	var copies []string
	for i, f := range files {
		c := filepath.Join(tmp, fmt.Sprintf("copy-%d.jsonl", i))
		os.WriteFile(c, fileBytes(t, f), 0o644)
		copies = append(copies, c)
	}
	_, e, code = run(t, nil, "meguri-ingest", append(append([]string{"--data", dir}, copies...), fresh)...)
	if code != 1 || strings.Count(string(e), "committed the same content") != 5 || !strings.Contains(string(e), "; and 3 more inputs committed before, but not the run's other inputs; nothing was appended") {
		t.Errorf("copies of 8 with a new input: exit %d:\n%s", code, e)
	}
	_, e, code = run(t, nil, "meguri-ingest", append(append([]string{"--data", dir}, files...), fresh)...)
	if code != 0 || strings.Count(string(e), "committed the same content") != 5 || strings.Count(string(e), "; none of it was read\n") != 5 ||
		!strings.Contains(string(e), "meguri-ingest: and 3 more inputs the directory committed before; none of them was read\n") ||
		!strings.HasPrefix(string(e), "meguri-ingest: 1 lines: 1 taken") {
		t.Errorf("a re-run of 8 with a new input: exit %d:\n%s", code, e)
	}
	if s := statsOf(t, dir); s.Log.Transactions != 2 || s.Log.Lines != 9 {
		t.Errorf("after the run of 8 and a new input: %+v", s)
	}
}

// A writer killed in the middle of a run leaves the directory as it was
// before the run; the next writer drops the unfinished tail.
func TestPartitionDirectoryKill(t *testing.T) {
	files := chunkFiles(t, 2)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "part-9")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--partition-id", "9", files[0])
	before := packDir(t, dir)
	if !bytes.Equal(before, ingestFile(t, filepath.Join(tmp, "a.meguri"), files[0])) {
		t.Fatal("pack after one run differs from its ingest")
	}

	// A small --mem makes small batches, each appended as it is parsed.
	// The run is killed once the log grows (on the corpus; the sample's
	// frames stay in the writer's buffer) or after two seconds.
	logPath := filepath.Join(dir, "log-0")
	st, _ := os.Stat(logPath)
	cmd := exec.Command(filepath.Join(binDir, "meguri-ingest"), "--data", dir, "--mem", "256K")
	stdin, _ := start(t, cmd)
	b, _ := os.ReadFile(files[1])
	stdin.Write(b[:len(b)*3/4])
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if now, _ := os.Stat(logPath); now.Size() > st.Size() {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	stdin.Close()

	if got := packDir(t, dir); !bytes.Equal(got, before) {
		t.Fatal("pack after a killed run differs from the state before it")
	}
	tail := statsOf(t, dir).Log.Uncommitted
	_, stderr, code := run(t, nil, "meguri-ingest", "--data", dir, files[1])
	if code != 0 {
		t.Fatalf("ingest after the kill: %s", stderr)
	}
	if tail > 0 && !strings.Contains(string(stderr), "dropped") {
		t.Fatalf("%d uncommitted bytes, but the next run did not say it dropped them: %s", tail, stderr)
	}
	if got, want := packDir(t, dir), ingestFile(t, filepath.Join(tmp, "ab.meguri"), files...); !bytes.Equal(got, want) {
		t.Fatal("pack after recovery differs from ingesting both halves")
	}
	t.Logf("killed run left %d uncommitted bytes", tail)
}

// A --strict run that meets a rejected line commits nothing.
func TestPartitionDirectoryStrict(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "part-9")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--partition-id", "9", sample)
	before := packDir(t, dir)
	st, _ := os.Stat(filepath.Join(dir, "log-0"))
	bad := filepath.Join(tmp, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"url":"http://example.com/a"}`+"\nnot json\n"), 0o644)
	wantFail(t, "bad.jsonl:2: rejected (bad_json)", "meguri-ingest", "--data", dir, "--strict", bad)
	if now, _ := os.Stat(filepath.Join(dir, "log-0")); now.Size() != st.Size() {
		t.Fatalf("log grew from %d to %d bytes in a failed run", st.Size(), now.Size())
	}
	if !bytes.Equal(packDir(t, dir), before) {
		t.Fatal("a failed run changed the directory")
	}
}

// TestFailedFirstRun: the run that would make a partition directory and
// fails (a missing input, a reject under --strict, a .meguri given as
// CDX) leaves no partition behind, so the corrected run's --partition-id
// and --range count instead of being refused as another partition's.
func TestFailedFirstRun(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "part-9")
	bad := filepath.Join(tmp, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"url":"http://example.com/a"}`+"\nnot json\n"), 0o644)
	for _, args := range [][]string{
		{filepath.Join(tmp, "missing.jsonl")},
		{"--strict", bad},
		{"../testdata/sample.meguri"},
	} {
		_, e, code := run(t, nil, "meguri-ingest", append([]string{"-q", "--data", dir}, args...)...)
		if code != 1 {
			t.Fatalf("%v: exit %d: %s", args, code, e)
		}
		if _, err := os.Stat(filepath.Join(dir, "super")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v: a failed first run left a partition: %v", args, err)
		}
		wantFail(t, dir+" is a directory, but not a partition directory (no superblock)", "meguri-inspect", dir)
	}
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--partition-id", "9", "--range", "0:7fffffffffffffff", sample)
	want := filepath.Join(tmp, "want.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", "--partition-id", "9", "--range", "0:7fffffffffffffff", sample, "-o", want)
	if w, _ := os.ReadFile(want); !bytes.Equal(packDir(t, dir), w) {
		t.Fatal("the run after failed first runs differs from an ingest with its flags")
	}
}

// TestDataWrongPartition: a fan-out that pairs a split's part with the
// wrong directory (every line outside its range) fails and commits
// nothing, where it used to commit an empty run with exit 0, which also
// recorded the input as done; the right pairing then appends it.
// TestDataMadeSaid: a run that makes a partition directory says so, with
// the partition it made (a mistyped path makes one of its own, partition 0
// of every key when no flag says otherwise); a later run does not.
func TestDataMadeSaid(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "part-0007")
	want := "meguri-ingest: made " + dir + " a new partition directory: partition 0, host keys 0x0000000000000000..0xffffffffffffffff, grouping domain\n"
	if _, e, code := run(t, nil, "meguri-ingest", "--data", dir, sample); code != 0 || !strings.Contains(string(e), want) {
		t.Errorf("first run: exit %d, %s; want %q", code, e, want)
	}
	if _, e, code := run(t, nil, "meguri-ingest", "--data", dir, "--again", sample); code != 0 || strings.Contains(string(e), "made") {
		t.Errorf("second run: exit %d, %s", code, e)
	}
}

func TestDataWrongPartition(t *testing.T) {
	dir := t.TempDir()
	must := mustIn(t, dir)
	in, err := filepath.Abs(input(t))
	if err != nil {
		t.Fatal(err)
	}
	must("meguri-route", "balance", "-q", "--partitions", "2", in, "-o", "fleet.manifest")
	must("meguri-route", "split", "-q", "--manifest", "fleet.manifest", "--out-dir", "parts", in)
	must("meguri-ingest", "-q", "--data", "p1", "--manifest", "fleet.manifest", "--partition-id", "1", "parts/part-0001.jsonl")
	before := packDir(t, filepath.Join(dir, "p1"))
	n := len(lines(t, filepath.Join(dir, "parts", "part-0000.jsonl")))
	r := readManifest(t, filepath.Join(dir, "fleet.manifest"))[1]
	for _, d := range []string{"p1", "new"} {
		_, e, code := runIn(t, dir, nil, "meguri-ingest", "-q", "--data", d, "--manifest", "fleet.manifest", "--partition-id", "1", "parts/part-0000.jsonl")
		want := fmt.Sprintf("meguri-ingest: no line of %d was taken: every one lies outside the range of %s, partition 1 (0x%016x..0x%016x); is this input that partition's? (meguri-route --manifest MAP --url URL names a URL's partition); nothing of this run was committed to %s\n", n, d, r.lo, r.hi, d)
		if code != 1 || string(e) != want {
			t.Errorf("%s: exit %d, %q; want %q", d, code, e, want)
		}
	}
	if after := packDir(t, filepath.Join(dir, "p1")); !bytes.Equal(after, before) {
		t.Error("the refused run changed p1")
	}
	if s := statsOf(t, filepath.Join(dir, "p1")); s.Log.Transactions != 1 {
		t.Errorf("p1 holds %d transactions, want the first run's alone", s.Log.Transactions)
	}
	if _, err := os.Stat(filepath.Join(dir, "new", "super")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused first run made new a partition: %v", err)
	}
	// the right pairing, into the directory the wrong one could not settle
	must("meguri-ingest", "-q", "--data", "new", "--manifest", "fleet.manifest", "--partition-id", "0", "parts/part-0000.jsonl")
	must("meguri-ingest", "-q", "--manifest", "fleet.manifest", "--partition-id", "0", "-o", "p0.meguri", "parts/part-0000.jsonl")
	if !bytes.Equal(packDir(t, filepath.Join(dir, "new")), fileBytes(t, filepath.Join(dir, "p0.meguri"))) {
		t.Error("the right pairing after a wrong one differs from an ingest of the part")
	}
}

// TestCheckpointDrops: a takedown on a live partition. A checkpoint with
// --drop-host and --drop-urls writes the snapshot that dropping the same
// from its packed file writes, whether a dropped record sat in the
// snapshot, the log or both; and a list naming what is not there says so.
func TestCheckpointDrops(t *testing.T) {
	files := chunkFiles(t, 2)
	tmp := t.TempDir()
	must := mustIn(t, tmp)
	must("meguri-ingest", "-q", "--data", "p", files[0])
	must("meguri-compact", "-q", "--data", "p")
	must("meguri-ingest", "-q", "--data", "p", files[1])
	must("meguri-pack", "-q", "p", "-o", "p.meguri")
	rows := strings.Split(strings.TrimSpace(string(must("meguri-inspect", "--rows", "--fields", "url,host", "--tsv", "--raw", "p.meguri"))), "\n")
	var list []string
	for i := 0; i < len(rows); i += len(rows)/7 + 1 {
		list = append(list, strings.Split(rows[i], "\t")[0])
	}
	host := strings.Split(rows[len(rows)/2], "\t")[1]
	list = append(list, "http://absent.example/")
	os.WriteFile(filepath.Join(tmp, "takedown.txt"), []byte(strings.Join(list, "\n")+"\n"), 0o644)
	must("meguri-compact", "-q", "p.meguri", "--drop-urls", "takedown.txt", "--drop-host", host, "-o", "want.meguri")
	_, e, code := runIn(t, tmp, nil, "meguri-compact", "--data", "p", "--drop-urls", "takedown.txt", "--drop-host", host)
	if code != 0 || !strings.Contains(string(e), "meguri-compact: p: checkpoint to generation 2\n") ||
		!strings.Contains(string(e), fmt.Sprintf("meguri-compact: dropped %d of %d listed URLs\n", len(list)-1, len(list))) ||
		!strings.Contains(string(e), "meguri-compact: warning: http://absent.example/ dropped nothing: ") || strings.Contains(string(e), "the inputs") {
		t.Fatalf("checkpoint with drops: exit %d: %s", code, e)
	}
	if !bytes.Equal(fileBytes(t, filepath.Join(tmp, "p", "snap-2.meguri")), fileBytes(t, filepath.Join(tmp, "want.meguri"))) {
		t.Fatal("the checkpoint with drops differs from dropping the same from the packed file")
	}
	if got := inspectURLs(t, filepath.Join(tmp, "p")); got >= inspectURLs(t, filepath.Join(tmp, "p.meguri"))-uint64(len(list)-1) {
		t.Fatalf("%d urls left after the drops", got)
	}
}

// TestCheckpointFold: a delta ingested elsewhere (a .meguri is far
// smaller to ship than its CDX) folds into a live partition at a
// checkpoint, as meguri-compact --fold folds it into the packed file; the
// same delta folded again is refused and changes nothing (--again folds
// it anyway); a file of another partition is refused.
func TestCheckpointFold(t *testing.T) {
	tmp := t.TempDir()
	must := mustIn(t, tmp)
	h1, h2 := timeHalves(t, tmp)
	lines1 := lines(t, h1)
	third := filepath.Join(tmp, "h1b.jsonl")
	os.WriteFile(h1, []byte(strings.Join(lines1[:len(lines1)/2], "\n")+"\n"), 0o644)
	os.WriteFile(third, []byte(strings.Join(lines1[len(lines1)/2:], "\n")+"\n"), 0o644)
	// the directory: a checkpointed run and a run in its log
	must("meguri-ingest", "-q", "--data", "p", h1)
	must("meguri-compact", "-q", "--data", "p")
	must("meguri-ingest", "-q", "--data", "p", third)
	must("meguri-ingest", "-q", h2, "-o", "delta.meguri")
	must("meguri-pack", "-q", "p", "-o", "before.meguri")
	must("meguri-compact", "-q", "--fold", "before.meguri", "delta.meguri", "-o", "want.meguri")
	must("meguri-compact", "-q", "--data", "p", "--fold", "delta.meguri")
	want := fileBytes(t, filepath.Join(tmp, "want.meguri"))
	if !bytes.Equal(fileBytes(t, filepath.Join(tmp, "p", "snap-2.meguri")), want) {
		t.Fatal("the checkpoint folding the delta differs from folding it into the packed file")
	}
	// again: refused, nothing changed
	_, e, code := runIn(t, tmp, nil, "meguri-compact", "--data", "p", "--fold", "delta.meguri")
	if code != 1 || !strings.Contains(string(e), "meguri-compact: delta.meguri looks folded into p already: ") ||
		!strings.Contains(string(e), "Folding it again would count its captures twice. If they are other captures (another source's, of the same times), give --again; no checkpoint was made, and p is as it was\n") {
		t.Errorf("folding the delta again: exit %d: %s", code, e)
	}
	if s := statsOf(t, filepath.Join(tmp, "p")); s.Generation != 2 || !bytes.Equal(packDir(t, filepath.Join(tmp, "p")), want) {
		t.Errorf("a refused fold changed p (generation %d)", s.Generation)
	}
	// another partition's file
	must("meguri-ingest", "-q", "--partition-id", "4", "--range", "0:7fffffffffffffff", h2, "-o", "other.meguri")
	_, e, code = runIn(t, tmp, nil, "meguri-compact", "--data", "p", "--fold", "other.meguri")
	if code != 1 || !strings.Contains(string(e), "meguri-compact: other.meguri is partition 4 (0x0000000000000000..0x7fffffffffffffff, grouping domain, format version 2), but p is partition 0 (") {
		t.Errorf("folding another partition's file: exit %d: %s", code, e)
	}
	// its own snapshot
	_, e, code = runIn(t, tmp, nil, "meguri-compact", "--data", "p", "--fold", "--again", "p/snap-2.meguri")
	if code != 1 || string(e) != "meguri-compact: --fold p/snap-2.meguri lies in the partition directory p: its own files are in the checkpoint already; fold files of the partition from elsewhere\n" {
		t.Errorf("folding its own snapshot: exit %d: %s", code, e)
	}
	for _, args := range [][]string{{"--data", "p", "delta.meguri"}, {"--data", "p", "--fold"}} {
		if _, e, code := runIn(t, tmp, nil, "meguri-compact", args...); code != 2 {
			t.Errorf("%v: exit %d: %s", args, code, e)
		}
	}
	// --again folds it anyway: its captures count twice
	must("meguri-compact", "-q", "--data", "p", "--fold", "--again", "delta.meguri")
	if s := statsOf(t, filepath.Join(tmp, "p")); s.Generation != 3 {
		t.Errorf("--again: generation %d, want 3", s.Generation)
	}
}

// A damaged log is refused by every tool with the way out named; a
// salvage keeps the intact runs, reports the damaged one by its line
// count, and re-running that run gives what the four runs give.
func TestPartitionDirectorySalvage(t *testing.T) {
	files := chunkFiles(t, 4)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "part-9")
	logPath := filepath.Join(dir, "log-0")
	var ends []int64
	for _, f := range files {
		mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--partition-id", "9", f)
		st, err := os.Stat(logPath)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, st.Size())
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	b[(ends[1]+ends[2])/2] ^= 0x55
	if err := os.WriteFile(logPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	hint := "meguri-compact --data " + dir + " --salvage"
	wantFail(t, hint, "meguri-pack", "--data", dir, "-o", filepath.Join(tmp, "p.meguri"))
	wantFail(t, hint, "meguri-inspect", dir)
	wantFail(t, hint, "meguri-compact", "--data", dir)
	if now, _ := os.ReadFile(logPath); !bytes.Equal(now, b) {
		t.Fatal("a refused checkpoint changed the log")
	}
	if _, err := os.Stat(filepath.Join(tmp, "p.meguri")); err == nil {
		t.Fatal("a refused pack left a file")
	}

	_, stderr, code := run(t, nil, "meguri-compact", "--data", dir, "--salvage", "--json")
	if code != 0 {
		t.Fatalf("salvage: exit %d: %s", code, stderr)
	}
	jl := bytes.Split(bytes.TrimSpace(stderr), []byte("\n"))
	var sum struct {
		Salvage struct {
			Damaged    bool   `json:"damaged"`
			DamagedLog string `json:"damaged_log"`
			Kept       struct {
				Transactions int64 `json:"transactions"`
			} `json:"kept"`
			Lost []struct {
				From  int64 `json:"from"`
				To    int64 `json:"to"`
				Lines int64 `json:"lines"`
			} `json:"lost"`
		} `json:"salvage"`
	}
	if err := json.Unmarshal(jl[len(jl)-1], &sum); err != nil {
		t.Fatalf("salvage summary %q: %v", jl[len(jl)-1], err)
	}
	s := sum.Salvage
	runLines := int64(len(lines(t, files[2])))
	if !s.Damaged || s.Kept.Transactions != 3 || len(s.Lost) != 1 || s.Lost[0].From != ends[1] || s.Lost[0].To != ends[2] || s.Lost[0].Lines != runLines {
		t.Fatalf("salvage report %+v; want the third run (bytes %d..%d, %d lines) lost and 3 kept", s, ends[1], ends[2], runLines)
	}
	if kept, _ := os.ReadFile(s.DamagedLog); !bytes.Equal(kept, b) {
		t.Fatalf("the damaged log is not kept as %s", s.DamagedLog)
	}
	if !strings.Contains(string(stderr), "the damaged log is kept as") {
		t.Fatalf("salvage did not say where the damaged log is: %s", stderr)
	}
	if st := statsOf(t, dir); len(st.DamagedLogs) != 1 || st.DamagedLogs[0] != "damaged-log-0" || st.Generation != 1 {
		t.Fatalf("inspect after the salvage: %+v, want generation 1 and damaged-log-0", st)
	}

	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, files[2])
	kept := filepath.Join(tmp, "kept.meguri")
	ingestFile(t, kept, files[0], files[1], files[3])
	lost := filepath.Join(tmp, "lost.meguri")
	ingestFile(t, lost, files[2])
	want := mustRun(t, nil, "meguri-compact", "-q", "--fold", kept, lost)
	if got := packDir(t, dir); !bytes.Equal(got, want) {
		t.Fatal("salvage and re-running the lost run differs from folding the runs")
	}
	// On an undamaged directory --salvage is a checkpoint, silent under -q.
	if _, stderr, code := run(t, nil, "meguri-compact", "-q", "--data", dir, "--salvage"); code != 0 || len(stderr) > 0 {
		t.Fatalf("salvage of an undamaged directory under -q: exit %d, stderr %q", code, stderr)
	}
	if got := packDir(t, dir); !bytes.Equal(got, want) {
		t.Fatal("a checkpoint by --salvage changed the state")
	}
}

func inspectURLs(t *testing.T, path string) uint64 {
	t.Helper()
	var s struct{ URLs uint64 }
	if err := json.Unmarshal(mustRun(t, nil, "meguri-inspect", "--json", path), &s); err != nil {
		t.Fatal(err)
	}
	return s.URLs
}

// TestLostSuperblock: a partition directory copied without its superblock
// (a copy that stopped before it) is refused by writers and readers alike,
// naming what it holds, with no byte of it changed; meguri-compact --salvage
// rebuilds the superblock, and the partition packs to what it packed to
// before. (A writer once made it a new partition and removed the data as
// a dead checkpoint's leftovers.)
func TestLostSuperblock(t *testing.T) {
	files := chunkFiles(t, 3)
	dir := filepath.Join(t.TempDir(), "part-9")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--partition-id", "9", files[0])
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--checkpoint", files[1])
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, files[2])
	want := packDir(t, dir)
	os.Remove(filepath.Join(dir, "super"))
	snap := fileBytes(t, filepath.Join(dir, "snap-1.meguri"))
	log := fileBytes(t, filepath.Join(dir, "log-1"))
	msg := fmt.Sprintf("%s holds a live partition's data (log-1, snap-1.meguri) but no superblock (%s is missing: a copy that stopped before it, or a removed file?): restore it from where the directory came from, or rebuild it from the newest whole generation (meguri-compact --data %s --salvage)\n",
		dir, filepath.Join(dir, "super"), dir)
	for _, c := range [][]string{
		{"meguri-ingest", "-q", "--data", dir, "--partition-id", "9", files[0]},
		{"meguri-pack", "-q", "--data", dir},
		{"meguri-inspect", "--json", dir},
		{"meguri-compact", "-q", "--data", dir},
	} {
		if _, e, code := run(t, nil, c[0], c[1:]...); code != 1 || string(e) != c[0]+": "+msg {
			t.Errorf("%v: exit %d, %q; want exit 1, %q", c, code, e, c[0]+": "+msg)
		}
	}
	if !bytes.Equal(fileBytes(t, filepath.Join(dir, "snap-1.meguri")), snap) || !bytes.Equal(fileBytes(t, filepath.Join(dir, "log-1")), log) {
		t.Fatalf("a refusal changed the partition's files")
	}
	_, e, code := run(t, nil, "meguri-compact", "--data", dir, "--salvage")
	if code != 0 || !strings.HasPrefix(string(e), "meguri-compact: "+dir+": rebuilt the missing superblock: generation 1 (snap-1.meguri and log-1), the newest whole one\n") {
		t.Fatalf("--salvage: exit %d, %s", code, e)
	}
	if !bytes.Equal(packDir(t, dir), want) {
		t.Errorf("after the salvage the partition packs to other bytes than before its superblock was lost")
	}
}

// TestResumeKeyRerun: a page of a Wayback query committed before names
// its resume key all the same (--json and text, piped or named, the
// named file told without parsing it): the README's loop that fetches
// page after page into a directory, run again from its first page after
// an interruption, goes on to the next page instead of stopping there.
func TestResumeKeyRerun(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "zew")
	const key = "de%2Czew%29%2Fen+19970427191925%21"
	page := []byte(spacedLines[5] + "\n\n" + key + "\n")
	named := filepath.Join(tmp, "page.txt.gz")
	writeGzip(t, named, page)
	wantJSON := `"resume_key":"` + key + `"}` + "\n"
	wantText := "meguri-ingest: the Wayback CDX server's output ended with a resume key: the next page is the same query with &resumeKey=" + key + "\n"
	byName := filepath.Join(tmp, "by-name")
	for _, c := range []struct {
		stdin []byte
		args  []string
		want  string
	}{
		{page, []string{"--data", dir, "--json", "--partition-id", "0"}, `,"resume_key":"` + key + `","data":`}, // appended
		{page, []string{"--data", dir, "--json"}, `{"data":"` + dir + `","generation":0,"appended":false,"inputs_committed_before":1,` + wantJSON},
		{page, []string{"--data", dir}, wantText},
		// a file committed under its name is told by its hash alone
		{nil, []string{"--data", byName, "-q", "--partition-id", "0", named}, ""},
		{nil, []string{"--data", byName, "--json", named}, `"appended":false,"inputs_committed_before":1,` + wantJSON},
		{nil, []string{"--data", byName, named}, "; nothing was appended (--again appends it again)\n" + wantText},
	} {
		_, e, code := run(t, c.stdin, "meguri-ingest", c.args...)
		if code != 0 || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d, %s; want %q", c.args, code, e, c.want)
		}
	}
}

// TestGrownInput: a file that grows between runs (a crawler's log,
// ingested each hour under one name) is read from where the run that
// committed it under that name ended, across a checkpoint and in gzip
// members appended alike: its lines count once, and the directory packs
// to the bytes of one ingest of the whole. A file of other content under
// the name is read whole; --again reads it whole.
func TestGrownInput(t *testing.T) {
	ls := lines(t, input(t))
	tmp := t.TempDir()
	cuts := []int{len(ls) / 3, 2 * len(ls) / 3, len(ls)}
	text := func(from, to int) []byte { return []byte(strings.Join(ls[from:to], "\n") + "\n") }
	for _, gz := range []bool{false, true} {
		name := filepath.Join(tmp, fmt.Sprintf("log-%v.jsonl", gz))
		dir := filepath.Join(tmp, fmt.Sprintf("dir-%v", gz))
		from := 0
		for i, to := range cuts {
			part := text(from, to)
			if gz {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write(part)
				zw.Close()
				part = b.Bytes()
			}
			f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(part)
			f.Close()
			_, e, code := run(t, nil, "meguri-ingest", "--json", "--partition-id", "9", "--data", dir, name)
			want := fmt.Sprintf(`{"lines":%d,`, to-from)
			if i > 0 {
				want2 := fmt.Sprintf(`"grown_inputs":1,"skipped_lines":%d}`, from)
				if !strings.Contains(string(e), want2) {
					t.Errorf("gzip %v, run %d: %s; want %s", gz, i, e, want2)
				}
			}
			if code != 0 || !strings.HasPrefix(string(e), want) {
				t.Errorf("gzip %v, run %d: exit %d, %s; want %s", gz, i, code, e, want)
			}
			if i == 1 {
				mustRun(t, nil, "meguri-compact", "-q", "--data", dir) // the inputs are carried
			}
			from = to
		}
		whole := ingestFile(t, filepath.Join(tmp, "whole.meguri"), input(t))
		if !bytes.Equal(packDir(t, dir), whole) {
			t.Errorf("gzip %v: a file grown twice, ingested after each growth, packs otherwise than one ingest of it", gz)
		}
	}

	// The text summary says so; rejects keep the file's line numbers.
	dir := filepath.Join(tmp, "said")
	name := filepath.Join(tmp, "said.jsonl")
	os.WriteFile(name, []byte("http://a.example/1\n"), 0o644)
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, name)
	os.WriteFile(name, []byte("http://a.example/1\nhttp://a.example/2\nftp://a.example/3\n"), 0o644)
	rejects := filepath.Join(tmp, "rejects.jsonl")
	_, e, _ := run(t, nil, "meguri-ingest", "--data", dir, "--rejects", rejects, name)
	if want := "meguri-ingest: " + name + ": its first 1 lines (19 B) are the content " + dir + " committed at "; !strings.Contains(string(e), want) ||
		!strings.Contains(string(e), "(transaction 1 of generation 0): the file has grown since, and the run read it from line 2\n") {
		t.Errorf("text summary: %s; want %q", e, want)
	}
	if r := fileBytes(t, rejects); !bytes.Contains(r, []byte(`"line":3,"reason":"ftp"`)) {
		t.Errorf("rejects of a grown file: %s", r)
	}
	// other content under the name is read whole; so is all with --again
	os.WriteFile(name, []byte("http://b.example/1\n"), 0o644)
	if _, e, _ := run(t, nil, "meguri-ingest", "--json", "--data", dir, name); !strings.HasPrefix(string(e), `{"lines":1,`) || strings.Contains(string(e), "grown") {
		t.Errorf("other content under a committed name: %s", e)
	}
	os.WriteFile(name, []byte("http://b.example/1\nhttp://b.example/2\n"), 0o644)
	if _, e, _ := run(t, nil, "meguri-ingest", "--json", "--again", "--data", dir, name); !strings.HasPrefix(string(e), `{"lines":2,`) {
		t.Errorf("--again of a grown file: %s", e)
	}
}

// TestGrownInputCutLine: a run that committed a file whose last line had
// no line end took that line as it was. Grown by the line end alone, the
// line was whole: the next run reads from the line after it, silently.
// Grown inside the line (committed with --allow-unterminated), the run
// reads from the line after it too, and warns that the line's rest is
// not read.
func TestGrownInputCutLine(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "live")
	name := filepath.Join(tmp, "log.jsonl")
	first := `{"url":"http://a.example/1","timestamp":"20200101000000","status":"200"}`
	os.WriteFile(name, []byte(first), 0o644)
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, name)
	os.WriteFile(name, []byte(first+"\r\nhttp://a.example/2\nhttp://a.ex"), 0o644)
	if _, e, code := run(t, nil, "meguri-ingest", "--data", dir, "--allow-unterminated", name); code != 0 || strings.Contains(string(e), "was committed") ||
		!strings.Contains(string(e), "its first 1 lines (72 B)") || !strings.Contains(string(e), "2 lines: 2 taken") {
		t.Errorf("grown by a line end: exit %d, %s", code, e)
	}
	os.WriteFile(name, []byte(first+"\r\nhttp://a.example/2\nhttp://a.example/3\nhttp://a.example/4\n"), 0o644)
	_, e, code := run(t, nil, "meguri-ingest", "--data", dir, name)
	if want := "meguri-ingest: warning: " + name + ": its line 3 was committed at "; code != 0 || !strings.Contains(string(e), want) ||
		!strings.Contains(string(e), "the run read from line 4, so what that line gained is not read") || !strings.Contains(string(e), "1 lines: 1 taken") {
		t.Errorf("grown inside a line: exit %d, %s; want %q", code, e, want)
	}
	if _, e, _ := run(t, nil, "meguri-ingest", "--data", dir, "--json", "--again", name); strings.Contains(string(e), "grown") {
		t.Errorf("--again: %s", e)
	}
	rows := mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url,captures", "--tsv", "--raw", dir)
	want := "http://a.example/1\t2\nhttp://a.example/2\t0\nhttp://a.example/3\t0\nhttp://a.example/4\t0\nhttp://a.ex/\t0\n"
	if string(rows) != want {
		t.Errorf("rows:\n%s\nwant\n%s", rows, want)
	}
}

// TestCheckpointEmptiedByDrops: a checkpoint whose drops would leave no
// record (a takedown list of the wrong file) makes no checkpoint, and the
// directory stays as it was; --allow-empty makes it.
func TestCheckpointEmptiedByDrops(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, sample)
	list := filepath.Join(tmp, "all.txt")
	os.WriteFile(list, mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url", "--tsv", "--raw", dir), 0o644)
	before := packDir(t, dir)
	_, e, code := run(t, nil, "meguri-compact", "--data", dir, "--drop-urls", list)
	if code != 1 || !strings.Contains(string(e), "the drops leave no record of the 1736 read") || !strings.HasSuffix(string(e), "; no checkpoint was made, and "+dir+" is as it was\n") {
		t.Errorf("exit %d, %s", code, e)
	}
	if s := statsOf(t, dir); s.Generation != 0 || !bytes.Equal(packDir(t, dir), before) {
		t.Errorf("a refused checkpoint changed the directory: %+v", s)
	}
	mustRun(t, nil, "meguri-compact", "-q", "--data", dir, "--drop-urls", list, "--allow-empty")
	if s := statsOf(t, dir); s.Generation != 1 || s.Snapshot.URLs != 0 {
		t.Errorf("--allow-empty: %+v", s)
	}
}

// TestGrownSplitParts: a growing log split again into the same directory
// each time grows each partition's part alike, so live partitions fed
// from the parts after each split hold each line once: each packs to the
// bytes of one ingest of its part of the whole log.
func TestGrownSplitParts(t *testing.T) {
	ls := lines(t, sample)
	tmp := t.TempDir()
	man := filepath.Join(tmp, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "--partitions", "3", sample, "-o", man)
	log, parts := filepath.Join(tmp, "log.jsonl"), filepath.Join(tmp, "parts")
	for _, upto := range []int{len(ls) / 2, len(ls)} {
		os.WriteFile(log, []byte(strings.Join(ls[:upto], "\n")+"\n"), 0o644)
		mustRun(t, nil, "meguri-route", "split", "-q", "--manifest", man, "--out-dir", parts, log)
		for id := range 3 {
			mustRun(t, nil, "meguri-ingest", "-q", "--manifest", man, "--partition-id", fmt.Sprint(id),
				"--data", filepath.Join(tmp, fmt.Sprintf("live-%d", id)), filepath.Join(parts, fmt.Sprintf("part-%04d.jsonl", id)))
		}
	}
	for id := range 3 {
		want := mustRun(t, nil, "meguri-ingest", "-q", "--manifest", man, "--partition-id", fmt.Sprint(id), filepath.Join(parts, fmt.Sprintf("part-%04d.jsonl", id)))
		if got := packDir(t, filepath.Join(tmp, fmt.Sprintf("live-%d", id))); !bytes.Equal(got, want) {
			t.Errorf("partition %d: fed its part twice as the log grew, it packs otherwise than one ingest of its part", id)
		}
	}
}

// TestGrownInputsMany: a run of many grown files names the first five
// and counts the others, rather than a line for each.
func TestGrownInputsMany(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "live")
	var files []string
	for i := range 7 {
		f := filepath.Join(tmp, fmt.Sprintf("%d.txt", i))
		os.WriteFile(f, fmt.Appendf(nil, "http://h%d.example/a\n", i), 0o644)
		files = append(files, f)
	}
	mustRun(t, nil, "meguri-ingest", append([]string{"-q", "--data", dir}, files...)...)
	for i, f := range files {
		os.WriteFile(f, fmt.Appendf(nil, "http://h%d.example/a\nhttp://h%d.example/b\n", i, i), 0o644)
	}
	_, e, code := run(t, nil, "meguri-ingest", append([]string{"--data", dir}, files...)...)
	if code != 0 || strings.Count(string(e), ": the file has grown since, and the run read it from line 2\n") != 5 ||
		!strings.Contains(string(e), "meguri-ingest: and 2 more inputs grown since the directory committed them, read past their first 2 lines in all\n") ||
		!strings.Contains(string(e), "7 lines: 7 taken") {
		t.Errorf("exit %d, %s", code, e)
	}
}

// TestDailyLogs: a run over a directory of daily logs, from cron (the
// days past unchanged, today's grown, a new day begun), reads each line
// once: what grew and what is new. The directory packs to the bytes of
// one ingest of every line.
func TestDailyLogs(t *testing.T) {
	ls := lines(t, input(t))
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "live")
	day := func(d int) string { return filepath.Join(tmp, fmt.Sprintf("crawl-%d.cdxj", d)) }
	appendLines := func(path string, from, to int) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(strings.Join(ls[from:to], "\n") + "\n")
		f.Close()
	}
	cut := func(i int) int { return len(ls) * i / 6 }
	runs := func() []string {
		m, _ := filepath.Glob(filepath.Join(tmp, "crawl-*.cdxj"))
		return append([]string{"-q", "--data", dir}, m...)
	}
	appendLines(day(1), cut(0), cut(1))
	mustRun(t, nil, "meguri-ingest", runs()...)
	appendLines(day(1), cut(1), cut(2)) // day 1 grows
	appendLines(day(2), cut(2), cut(3)) // day 2 begins
	mustRun(t, nil, "meguri-ingest", runs()...)
	appendLines(day(2), cut(3), cut(4))
	appendLines(day(3), cut(4), cut(6))
	_, e, code := run(t, nil, "meguri-ingest", append(runs()[1:], "--json")...)
	if want := fmt.Sprintf(`{"lines":%d,`, cut(6)-cut(3)); code != 0 || !strings.HasPrefix(string(e), want) ||
		!strings.Contains(string(e), `"inputs_committed_before":1,"grown_inputs":1,"skipped_lines":`) {
		t.Errorf("exit %d, %s; want %s...", code, e, want)
	}
	mustRun(t, nil, "meguri-ingest", runs()...) // all committed: nothing
	if !bytes.Equal(packDir(t, dir), mustRun(t, nil, "meguri-ingest", "-q", input(t))) {
		t.Error("daily logs run from cron pack otherwise than one ingest of every line")
	}
}

// TestRerunRejects: a run re-run with --rejects writes its rejects again
// (the same lines), though it appends nothing; with a new input beside
// the committed one, the committed one is not read, and the rejects are
// the new input's alone.
func TestRerunRejects(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "live")
	first, again := filepath.Join(tmp, "r1.jsonl"), filepath.Join(tmp, "r2.jsonl")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", dir, "--rejects", first, sample)
	if _, e, code := run(t, nil, "meguri-ingest", "-q", "--data", dir, "--rejects", again, sample); code != 0 || !strings.Contains(string(e), "nothing was appended") {
		t.Errorf("re-run: exit %d, %s", code, e)
	}
	if a, b := fileBytes(t, first), fileBytes(t, again); len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("a re-run's rejects differ: %d bytes, then %d", len(a), len(b))
	}
	fresh := filepath.Join(tmp, "fresh.txt")
	os.WriteFile(fresh, []byte("ftp://x.example/\n"), 0o644)
	if _, e, code := run(t, nil, "meguri-ingest", "--data", dir, "--rejects", again, sample, fresh); code != 0 || !strings.Contains(string(e), "; none of it was read\n") {
		t.Errorf("with a new input: exit %d, %s", code, e)
	}
	if r := fileBytes(t, again); strings.Count(string(r), "\n") != 1 || !strings.Contains(string(r), `"reason":"ftp"`) {
		t.Errorf("rejects with a new input: %s", r)
	}
}
