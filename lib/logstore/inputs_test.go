package logstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/meguri/meguri/lib/extsort"
	"github.com/meguri/meguri/lib/ingest"
)

// TestInputsFrame: an inputs frame reads back what was written, and to a
// reader that knows nothing of it (the captures decoder of earlier
// builds, which pack and checkpoint still use) it is a frame of no
// captures; a frame of captures is no inputs frame.
func TestInputsFrame(t *testing.T) {
	ins := []Input{
		{Name: "cdx-00000.gz", Hash: 0x0123456789abcdef, Size: 1 << 40},
		{Name: "<stdin>", Hash: 1, Size: 1},
		{Name: "a name with\nodd bytes \xff", Hash: ^uint64(0), Size: 7},
	}
	f := appendInputs(nil, ins)
	if int(binary.LittleEndian.Uint32(f)) != len(f)-frameHeaderSize || f[4] != kindCaptures || !intact(f[:frameHeaderSize], f[frameHeaderSize:]) {
		t.Fatal("not a sealed captures frame")
	}
	p := f[frameHeaderSize:]
	got, ok, err := parseInputs(p)
	if !ok || err != nil || !reflect.DeepEqual(got, ins) {
		t.Fatalf("read back %+v, %v, %v", got, ok, err)
	}
	if b, err := decodeCaptures(p); err != nil || b.Len() != 0 {
		t.Fatalf("as captures: %d, %v", b.Len(), err)
	}
	if got, ok, err := parseInputs(appendInputs(nil, nil)[frameHeaderSize:]); !ok || err != nil || len(got) != 0 {
		t.Fatalf("no inputs: %v %v %v", got, ok, err)
	}
	var b extsort.Batch
	c, _, err := appendCaptures(nil, nil, &b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := parseInputs(c[frameHeaderSize:]); ok {
		t.Fatal("an empty captures frame read as an inputs frame")
	}
}

// FuzzInputsFrame: any payload parses as inputs, as not an inputs frame,
// or as a malformed one, never a panic; what parses writes back the same.
func FuzzInputsFrame(f *testing.F) {
	f.Add(appendInputs(nil, []Input{{Name: "x", Hash: 2, Size: 3}})[frameHeaderSize:])
	f.Add(appendInputs(nil, nil)[frameHeaderSize:])
	f.Fuzz(func(t *testing.T, p []byte) {
		ins, ok, err := parseInputs(p)
		if !ok || err != nil {
			return
		}
		again, _, err := parseInputs(appendInputs(nil, ins)[frameHeaderSize:])
		if err != nil || len(again) != len(ins) || len(ins) > 0 && !reflect.DeepEqual(again, ins) {
			t.Fatalf("%+v wrote back as %+v (%v)", ins, again, err)
		}
	})
}

// TestInputsCarried: a checkpoint starts the new log with the inputs of
// every run before it, each content once, in a transaction that is no
// run (the log counts none); the next checkpoint carries them again, with
// the runs since.
func TestInputsCarried(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "part-7")
	files := chunks(t, 3)
	run := func(f string) {
		w := openWriter(t, dir, Full)
		defer w.Close()
		recordedRun(t, w, f)
	}
	checkpoint := func() {
		w := openWriter(t, dir, Full)
		defer w.Close()
		if _, err := w.Checkpoint(PackOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	carried := func() ([]string, int64) { return carriedNames(t, dir) }
	run(files[0])
	run(files[1])
	run(files[1]) // again: the same content twice in the log
	checkpoint()
	if names, runs := carried(); !slices.Equal(names, files[:2]) || runs != 0 {
		t.Fatalf("after the first checkpoint: carried %v, %d transactions counted", names, runs)
	}
	run(files[2])
	if names, runs := carried(); !slices.Equal(names, files[:2]) || runs != 1 {
		t.Fatalf("a run after it: carried %v, %d transactions counted", names, runs)
	}
	checkpoint()
	if names, runs := carried(); !slices.Equal(names, files) || runs != 0 {
		t.Fatalf("after the second checkpoint: carried %v, %d transactions counted", names, runs)
	}
	// the carried transaction holds no capture: the packs equal the
	// ingest of the runs, the second file twice
	want := ingestBytes(t, append(append([]string{}, files...), copyOf(t, files[1]))...)
	if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, want) {
		t.Fatal("pack after carrying differs from ingesting the runs")
	}
}

// recordedRun appends a file as one transaction that records its input,
// as meguri-ingest --data does.
func recordedRun(t *testing.T, w *Writer, f string) {
	t.Helper()
	h := w.Header()
	sum, err := ingest.Parse([]string{f}, ingest.Options{Lo: h.Lo, Hi: h.Hi}, w.Append)
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(f)
	if err := w.AppendInputs([]Input{{Name: f, Hash: xxhash.Sum64(content), Size: int64(len(content))}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(sum.Lines, sum.Taken); err != nil {
		t.Fatal(err)
	}
}

// copyOf copies a file under another name.
func copyOf(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(t.TempDir(), "copy")
	if err := os.WriteFile(c, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSalvageCarried: damage in the carried transaction loses the record
// of the runs before the checkpoint and no capture: the salvage reports
// it as carried, keeps the run after it, and the next log carries only
// what survived.
func TestSalvageCarried(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "part-7")
	files := chunks(t, 2)
	for i, f := range files {
		w := openWriter(t, dir, Full)
		recordedRun(t, w, f)
		if i == 0 {
			if _, err := w.Checkpoint(PackOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
	}
	want := pack(t, dir, PackOptions{})
	log := filepath.Join(dir, logName(1))
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	b[logHeaderSize+frameHeaderSize+capturesPrefix+12] ^= 0x40 // inside the carried inputs
	os.WriteFile(log, b, 0o644)
	if _, err := Open(dir); err == nil {
		t.Fatal("the damaged log was read")
	}
	w, err := OpenWriter(dir, WriterOptions{Salvage: true})
	if err != nil {
		t.Fatal(err)
	}
	rep := w.Salvaged()
	if len(rep.Lost) != 1 || rep.Lost[0].Commit == nil || !rep.Lost[0].Commit.Carried() || rep.Kept.Transactions != 1 {
		t.Fatalf("salvage report %+v", rep)
	}
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, want) {
		t.Fatal("the salvage lost captures")
	}
	if names, _ := carriedNames(t, dir); !slices.Equal(names, files[1:]) {
		t.Fatalf("carried after the salvage: %v, want %v", names, files[1:])
	}
}

// carriedNames returns the inputs the directory's log carries, and the
// runs it counts.
func carriedNames(t *testing.T, dir string) (names []string, runs int64) {
	t.Helper()
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	commits, err := v.Commits()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range commits {
		if c.Carried() != (i == 0 && v.Generation > 0 && len(c.Inputs) > 0) {
			t.Fatalf("commit %d of generation %d: carried %v", i, v.Generation, c.Carried())
		}
		if c.Carried() {
			for _, in := range c.Inputs {
				names = append(names, in.Name)
			}
		}
	}
	return names, v.Log.Transactions
}

// TestCommittedFiles: a run is told done before by its files' names and
// contents. A file under a name never committed ends the look before any
// file is fingerprinted; one whose content changed, or that cannot be
// read, leaves the run to tell by what it reads (nil). Matches say the
// first commit of the content, its run number (carried: 0) and the name
// it was committed as.
func TestCommittedFiles(t *testing.T) {
	carried := Commit{Inputs: []Input{{Name: "old.gz", Hash: 1, Size: 10}}}
	if !carried.Carried() {
		t.Fatal("a commit of no lines is the carried one")
	}
	commits := []Commit{
		carried,
		{Lines: 5, Taken: 5, Unix: 100, Inputs: []Input{{Name: "a.gz", Hash: 2, Size: 20}, {Name: "b.gz", Hash: 3, Size: 30}}},
		{Lines: 7, Taken: 6, Unix: 200, Inputs: []Input{{Name: "c.gz", Hash: 4, Size: 40}, {Name: "b-copy.gz", Hash: 3, Size: 30}}},
	}
	content := map[string]Input{
		"old.gz": {Hash: 1, Size: 10}, "a.gz": {Hash: 2, Size: 20}, "b.gz": {Hash: 3, Size: 30},
		"c.gz": {Hash: 4, Size: 40}, "b-copy.gz": {Hash: 3, Size: 30}, "new.gz": {Hash: 9, Size: 90},
	}
	var hashed []string
	fp := func(name string) (uint64, int64, error) {
		hashed = append(hashed, name)
		c, ok := content[name]
		if !ok {
			return 0, 0, fmt.Errorf("%s: cannot read", name)
		}
		return c.Hash, c.Size, nil
	}
	type want struct {
		name, as string
		run      int
		unix     int64
	}
	for _, c := range []struct {
		files  []string
		hashed int
		want   []want
	}{
		{[]string{"c.gz", "a.gz"}, 2, []want{{"c.gz", "c.gz", 2, 200}, {"a.gz", "a.gz", 1, 100}}},
		{[]string{"b-copy.gz"}, 1, []want{{"b-copy.gz", "b.gz", 1, 100}}}, // first committed as b.gz
		{[]string{"old.gz"}, 1, []want{{"old.gz", "old.gz", 0, 0}}},
		{[]string{"a.gz", "new.gz"}, 0, nil}, // new.gz was never committed: nothing is hashed
		{[]string{"a.gz", "-"}, 0, nil},
		{nil, 0, nil},
	} {
		hashed = nil
		got := CommittedFiles(commits, c.files, fp)
		var g []want
		for _, m := range got {
			g = append(g, want{m.Input.Name, m.As, m.Run, m.Commit.Unix})
		}
		if !slices.Equal(g, c.want) || len(hashed) != c.hashed {
			t.Errorf("%v: %+v after hashing %v; want %+v after hashing %d", c.files, g, hashed, c.want, c.hashed)
		}
	}
	// a.gz now holds other content: the run must read it
	content["a.gz"] = Input{Hash: 5, Size: 20}
	if got := CommittedFiles(commits, []string{"c.gz", "a.gz"}, fp); got != nil {
		t.Errorf("a changed file: %+v", got)
	}
	delete(content, "c.gz") // gone, or unreadable
	if got := CommittedFiles(commits, []string{"c.gz"}, fp); got != nil {
		t.Errorf("an unreadable file: %+v", got)
	}
}

// TestCommittedBeforeSkipsEmptyRuns: a run that took no line appended
// nothing of its inputs, so their content is not committed (a run of
// them again, mended, is no re-run); a run that took lines, or the
// carried transaction, does hold its inputs. Runs count as --commits
// counts them either way.
func TestCommittedBeforeSkipsEmptyRuns(t *testing.T) {
	a := Input{Name: "a", Hash: 1, Size: 10}
	b := Input{Name: "b", Hash: 2, Size: 20}
	c := Input{Name: "c", Hash: 3, Size: 30}
	commits := []Commit{
		{Inputs: []Input{c}}, // carried
		{Lines: 5, Taken: 0, Unix: 100, Inputs: []Input{a}}, // run 1: took nothing
		{Lines: 5, Taken: 4, Unix: 200, Inputs: []Input{b}}, // run 2
	}
	found := CommittedBefore(commits, []Input{a, b, c})
	if len(found) != 2 || found[0].Input != b || found[0].Run != 2 || found[1].Input != c || found[1].Run != 0 {
		t.Fatalf("found %+v", found)
	}
}

// TestCommittedNames: the contents committed under one name, each once
// with the first commit that holds it, in commit order; runs that took no
// line hold none, and other names are not looked at.
func TestCommittedNames(t *testing.T) {
	small := Input{Name: "log", Hash: 1, Size: 10}
	grown := Input{Name: "log", Hash: 2, Size: 20}
	commits := []Commit{
		{Inputs: []Input{small}}, // carried
		{Lines: 5, Taken: 0, Unix: 100, Inputs: []Input{{Name: "log", Hash: 3, Size: 30}}}, // took nothing
		{Lines: 5, Taken: 5, Unix: 200, Inputs: []Input{grown, {Name: "other", Hash: 4, Size: 40}}},
		{Lines: 5, Taken: 5, Unix: 300, Inputs: []Input{grown}}, // the same again (--again)
		{Lines: 5, Taken: 5, Unix: 400, Inputs: []Input{{Name: "log2", Hash: 5, Size: 50}}},
	}
	names := CommittedNames(commits)
	got := names.Under("./log")
	if len(got) != 2 || got[0].Input != small || got[0].Run != 0 || got[1].Input != grown || got[1].Run != 2 || got[1].Commit.Unix != 200 {
		t.Fatalf("got %+v", got)
	}
	if got := names.Under("nothing"); got != nil {
		t.Errorf("a name never committed: %+v", got)
	}
}
