package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/cespare/xxhash/v2"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/ingest"
	"github.com/meguri/meguri/lib/internal/testinput"
	"github.com/meguri/meguri/lib/merge"
)

var testHeader = codec.Header{PartitionID: 7, Lo: 0, Hi: math.MaxUint64}

// chunks writes the sample's lines into n files of consecutive lines. The
// tests that pack hundreds of times use the sample even when MEGURI_CORPUS
// is set; tests/ runs the directory on the corpus through the binaries.
func chunks(t *testing.T, n int) []string {
	t.Helper()
	return chunksOf(t, sample(t), n)
}

func sample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/sample.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chunksOf writes the lines of in into n files of consecutive lines.
func chunksOf(t *testing.T, in []byte, n int) []string {
	t.Helper()
	lines := bytes.SplitAfter(in, []byte("\n"))
	dir := t.TempDir()
	var paths []string
	for i := range n {
		p := filepath.Join(dir, "chunk-"+string(rune('a'+i)))
		lo, hi := len(lines)*i/n, len(lines)*(i+1)/n
		if err := os.WriteFile(p, bytes.Join(lines[lo:hi], nil), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func ingestBytes(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := ingest.Run(files, &buf, ingest.Options{PartitionID: testHeader.PartitionID, Lo: testHeader.Lo, Hi: testHeader.Hi}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openWriter(t *testing.T, dir string, dur Durability) *Writer {
	t.Helper()
	h := testHeader
	w, err := OpenWriter(dir, WriterOptions{Durability: dur, Create: &h})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// appendRun appends the files as one transaction, as meguri-ingest --data
// does.
func appendRun(t *testing.T, w *Writer, files ...string) ingest.Summary {
	t.Helper()
	h := w.Header()
	sum, err := ingest.Parse(files, ingest.Options{Lo: h.Lo, Hi: h.Hi}, w.Append)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(sum.Lines, sum.Taken); err != nil {
		t.Fatal(err)
	}
	return sum
}

func pack(t *testing.T, dir string, opt PackOptions) []byte {
	t.Helper()
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var buf bytes.Buffer
	if _, err := v.Pack(&buf, opt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPackEqualsIngest(t *testing.T) {
	files := chunksOf(t, testinput.Read(t), 3)
	dir := filepath.Join(t.TempDir(), "part-7")
	var lines, taken int64
	var runs []Commit
	start := time.Now().Unix()
	for _, f := range files {
		// A writer per run, as each meguri-ingest --data run opens one,
		// recording its input as meguri-ingest does
		w := openWriter(t, dir, Full)
		h := w.Header()
		var ins []Input
		sum, err := ingest.Parse([]string{f}, ingest.Options{Lo: h.Lo, Hi: h.Hi, Fingerprint: func(name string, hash uint64, size int64) {
			ins = append(ins, Input{Name: name, Hash: hash, Size: size})
		}}, w.Append)
		if err != nil {
			t.Fatal(err)
		}
		content, _ := os.ReadFile(f)
		if len(ins) != 1 || ins[0] != (Input{Name: f, Hash: xxhash.Sum64(content), Size: int64(len(content))}) {
			t.Fatalf("fingerprint of %s: %+v", f, ins)
		}
		if err := w.AppendInputs(ins); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(sum.Lines, sum.Taken); err != nil {
			t.Fatal(err)
		}
		lines, taken = lines+sum.Lines, taken+sum.Taken
		runs = append(runs, Commit{Lines: sum.Lines, Taken: sum.Taken, Inputs: ins})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want := ingestBytes(t, files...)
	if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, want) {
		t.Fatalf("pack of three appends: %d bytes, ingest of the same lines: %d bytes", len(got), len(want))
	}
	// A small budget makes the log's captures spill: same bytes.
	if got := pack(t, dir, PackOptions{Mem: 64 << 10, TmpDir: t.TempDir()}); !bytes.Equal(got, want) {
		t.Fatal("pack under a 64K budget differs")
	}
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Log.Transactions != 3 || v.Log.Lines != lines || v.Log.Taken != taken || v.Log.Captures != taken {
		t.Fatalf("log stats %+v, want 3 transactions, %d lines, %d taken", v.Log, lines, taken)
	}
	if v.UncommittedBytes() != 0 || v.Generation != 0 {
		t.Fatalf("generation %d, %d uncommitted bytes", v.Generation, v.UncommittedBytes())
	}
	if err := v.VerifyLog(); err != nil {
		t.Fatal(err)
	}
	// Each run's commit: its lines and captures, at its time.
	commits, err := v.Commits()
	if err != nil {
		t.Fatal(err)
	}
	for i := range commits {
		if commits[i].Unix < start || commits[i].Unix > time.Now().Unix() {
			t.Errorf("commit %d at %d, outside the test's run", i, commits[i].Unix)
		}
		commits[i].Unix = 0
	}
	if !reflect.DeepEqual(commits, runs) {
		t.Fatalf("commits %+v, want the runs %+v", commits, runs)
	}
	// Progress: the log stage ends at its committed bytes past the
	// header, then the merge stage counts rows.
	var logDone, logTotal, rows int64
	_, err = v.Pack(io.Discard, PackOptions{Progress: func(stage string, done, total int64) {
		switch stage {
		case "log":
			logDone, logTotal = done, total
		case "merge":
			rows = done
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if logTotal != v.committed-logHeaderSize || logDone > logTotal || logDone < logTotal-3*(frameHeaderSize+commitPayloadSize) || rows == 0 {
		t.Fatalf("progress: log %d of %d (committed %d), %d rows merged", logDone, logTotal, v.committed, rows)
	}
	// A spill that fails is the sort's error, not the log's: it must not
	// name a frame of the log, as damage would.
	_, err = v.Pack(io.Discard, PackOptions{Mem: 64 << 10, TmpDir: filepath.Join(t.TempDir(), "gone")})
	if err == nil || strings.Contains(err.Error(), "frame") || !strings.Contains(err.Error(), "spill") {
		t.Fatalf("pack whose spills fail: %v", err)
	}
}

func TestCheckpoint(t *testing.T) {
	files := chunks(t, 2)
	dir := t.TempDir()
	w := openWriter(t, dir, Normal)
	defer w.Close()
	appendRun(t, w, files[0])
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	// The first checkpoint's snapshot is the ingest of what was logged.
	snap, err := os.ReadFile(filepath.Join(dir, "snap-1.meguri"))
	if err != nil {
		t.Fatal(err)
	}
	a := ingestBytes(t, files[0])
	if !bytes.Equal(snap, a) {
		t.Fatal("snap-1.meguri differs from the ingest of the first run")
	}
	wantNames(t, dir, "lock", "log-1", "snap-1.meguri", "super")
	appendRun(t, w, files[1])
	got := pack(t, dir, PackOptions{})

	// The snapshot folded with the later run equals meguri-compact --fold
	// of the two runs' files.
	if !bytes.Equal(got, fold(t, a, ingestBytes(t, files[1]))) {
		t.Fatal("pack after a checkpoint differs from folding the two runs' files")
	}
	// A second checkpoint writes exactly what pack wrote.
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	snap, _ = os.ReadFile(filepath.Join(dir, "snap-2.meguri"))
	if !bytes.Equal(snap, got) {
		t.Fatal("snap-2.meguri differs from the pack before it")
	}
	if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, snap) {
		t.Fatal("pack of an empty log differs from its snapshot")
	}
	wantNames(t, dir, "lock", "log-2", "snap-2.meguri", "super")
}

// fold folds the files base and delta of partition 7 as meguri-compact
// --fold does.
func fold(t *testing.T, base, delta []byte) []byte {
	t.Helper()
	tmp := t.TempDir()
	pa, pb := filepath.Join(tmp, "a.meguri"), filepath.Join(tmp, "b.meguri")
	os.WriteFile(pa, base, 0o644)
	os.WriteFile(pb, delta, 0o644)
	ins, err := merge.OpenInputs([]string{pa, pb})
	if err != nil {
		t.Fatal(err)
	}
	defer merge.CloseInputs(ins)
	var out bytes.Buffer
	if _, err := merge.Run(merge.Sources(ins), merge.Options{Fold: true,
		Outputs: []merge.Output{{ID: 7, Lo: 0, Hi: math.MaxUint64}},
		Create:  func(int) (io.Writer, error) { return &out, nil }}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func wantNames(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("directory holds %v, want %v", got, want)
	}
}

// A run that dies leaves any prefix of its frames: readers see the state
// before it, and the next writer drops the tail and carries on.
func TestTornTail(t *testing.T) {
	files := chunks(t, 4)
	dir := t.TempDir()
	w := openWriter(t, dir, None)
	appendRun(t, w, files[0])
	before := w.committed
	appendRun(t, w, files[1])
	after := w.committed
	w.Close()
	log := filepath.Join(dir, "log-0")
	full, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := ingestBytes(t, files[0])
	wantNext := ingestBytes(t, files[0], files[2])
	step := max(1, (after-before)/200)
	for cut := before; cut < after; cut += step {
		for _, c := range []int64{cut, after - 1 - (cut - before)} {
			if err := os.WriteFile(log, full[:c], 0o644); err != nil {
				t.Fatal(err)
			}
			if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, want) {
				t.Fatalf("log cut at %d: pack differs from the state before the second run", c)
			}
			if st, _ := os.Stat(log); st.Size() != c {
				t.Fatalf("a reader changed the log (%d -> %d bytes)", c, st.Size())
			}
			w := openWriter(t, dir, None)
			if w.Recovered != c-before {
				t.Fatalf("log cut at %d: recovered %d bytes, want %d", c, w.Recovered, c-before)
			}
			if c == before+(after-before)/2 {
				// Appending after the recovery gives what the two runs
				// give.
				appendRun(t, w, files[2])
				if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, wantNext) {
					t.Fatal("append after recovery differs")
				}
			}
			w.Close()
		}
	}
}

// Damage followed by committed transactions is not a torn tail: nothing
// is dropped and every reader and writer refuses.
func TestDamageRefused(t *testing.T) {
	files := chunks(t, 2)
	dir := t.TempDir()
	w := openWriter(t, dir, None)
	appendRun(t, w, files[0])
	appendRun(t, w, files[1])
	w.Close()
	log := filepath.Join(dir, "log-0")
	b, _ := os.ReadFile(log)
	for _, off := range []int{logHeaderSize + 2, logHeaderSize + frameHeaderSize + 100} {
		bad := flipped(b, off, 0x10)
		os.WriteFile(log, bad, 0o644)
		var de *DamageError
		if _, err := Open(dir); !errors.As(err, &de) || de.Offset != logHeaderSize {
			t.Fatalf("flipped byte %d: Open gave %v, want damage at %d", off, err, logHeaderSize)
		}
		// A writer reads only the log's last frame when it is a commit,
		// and appends; when the tail is unfinished it reads the whole log
		// to find the last commit, meets the damage and refuses.
		os.WriteFile(log, append(slices.Clone(bad), 1, 2, 3), 0o644)
		if _, err := OpenWriter(dir, WriterOptions{}); !errors.As(err, &de) {
			t.Fatalf("flipped byte %d: OpenWriter gave %v", off, err)
		}
		bad = append(bad, 1, 2, 3)
		if now, _ := os.ReadFile(log); !bytes.Equal(now, bad) {
			t.Fatal("the damaged log was changed")
		}
	}
	// A damaged header is refused too.
	bad := flipped(b, 3, 1)
	os.WriteFile(log, bad, 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "damaged log header") {
		t.Fatalf("damaged header: %v", err)
	}
}

// A checkpoint that dies at any step leaves a whole generation: the
// state reads the same, and the next writer clears what was left.
func TestCheckpointCrash(t *testing.T) {
	files := chunks(t, 2)
	for _, at := range []string{"snapshot", "log", "super"} {
		t.Run(at, func(t *testing.T) {
			dir := t.TempDir()
			w := openWriter(t, dir, Full)
			appendRun(t, w, files[0])
			if _, err := w.Checkpoint(PackOptions{}); err != nil {
				t.Fatal(err)
			}
			appendRun(t, w, files[1])
			want := pack(t, dir, PackOptions{})
			crash := errors.New("crash")
			crashHook = func(s string) error {
				if s == at {
					return crash
				}
				return nil
			}
			_, err := w.Checkpoint(PackOptions{})
			crashHook = nil
			if err != crash {
				t.Fatalf("checkpoint: %v", err)
			}
			w.closeFiles() // the process is gone: no rollback, no cleanup
			if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, want) {
				t.Fatal("state after the crash differs")
			}
			w = openWriter(t, dir, Full)
			defer w.Close()
			gen := "1"
			if at == "super" {
				gen = "2"
			}
			wantNames(t, dir, "lock", "log-"+gen, "snap-"+gen+".meguri", "super")
			if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, want) {
				t.Fatal("state after recovery differs")
			}
		})
	}
}

func TestSuperblock(t *testing.T) {
	dir := t.TempDir()
	w := openWriter(t, dir, Full)
	appendRun(t, w, chunks(t, 1)...)
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	sp := filepath.Join(dir, "super")
	b, _ := os.ReadFile(sp)
	// The older slot (sequence 0) is damaged: generation 1 still opens.
	bad := flipped(b, 20, 1)
	os.WriteFile(sp, bad, 0o644)
	v, err := Open(dir)
	if err != nil || v.Generation != 1 || v.Sequence != 1 {
		t.Fatalf("older slot damaged: %v, %+v", err, v)
	}
	v.Close()
	bad[slotSize+20] ^= 1
	os.WriteFile(sp, bad, 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "both superblock slots are damaged") {
		t.Fatalf("both slots damaged: %v", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotPartition) {
		t.Fatalf("empty directory: %v", err)
	}
}

func TestCreateRefusesOtherDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644)
	h := testHeader
	_, err := OpenWriter(dir, WriterOptions{Create: &h})
	if err == nil || !strings.Contains(err.Error(), "not empty and not a partition directory (it holds notes.txt)") {
		t.Fatalf("got %v", err)
	}
	wantNames(t, dir, "notes.txt") // no lock file left in someone else's directory
	// nor is a partition made inside another's directory, at any depth:
	// it would go with that one when it is retired and removed
	outer := filepath.Join(t.TempDir(), "outer")
	w0 := openWriter(t, outer, None)
	w0.Close()
	for _, nested := range []string{filepath.Join(outer, "inner"), filepath.Join(outer, "a", "b")} {
		if _, err := OpenWriter(nested, WriterOptions{Create: &h}); err == nil || !strings.Contains(err.Error(), "lies inside the partition directory "+outer+": ") {
			t.Fatalf("%s: %v", nested, err)
		}
		if _, err := Unpack(nested, bytes.NewReader(ingestBytes(t, chunks(t, 1)...)), UnpackOptions{}); err == nil || !strings.Contains(err.Error(), "lies inside the partition directory "+outer+": ") {
			t.Fatalf("unpack %s: %v", nested, err)
		}
	}
	wantNames(t, outer, "lock", "log-0", "snap-0.meguri", "super")
	if _, err := OpenWriter(t.TempDir(), WriterOptions{}); !errors.Is(err, ErrNotPartition) {
		t.Fatalf("no Create: %v", err)
	}
	// What a create that died left (a log, the superblock's temporary
	// file) does not stop the next one, which clears it.
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "log-0"), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(dir, ".super.tmp-123"), nil, 0o644)
	w, err := OpenWriter(dir, WriterOptions{Create: &h})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	wantNames(t, dir, "lock", "log-0", "snap-0.meguri", "super")
}

// TestSuperMissing: a directory that lost its superblock (a copy that
// stopped before it, a removed file) but holds a partition's data is
// neither made a new partition, which would remove that data as a
// checkpoint's leftovers, nor read as no partition: every opening names
// what it holds and the salvage that rebuilds the superblock, which takes
// the newest generation whose snapshot and log are whole. Generation 0
// counts when its log holds a committed run; an empty one is what a create
// that died leaves, and is made a partition as before.
func TestSuperMissing(t *testing.T) {
	files := chunks(t, 3)
	h := testHeader
	files0 := func(dir string) map[string][]byte {
		m := map[string][]byte{}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			m[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
		}
		return m
	}
	refused := func(dir string, holds ...string) {
		t.Helper()
		before := files0(dir)
		want := &SuperMissingError{Dir: dir, Holds: holds}
		_, err := OpenWriter(dir, WriterOptions{Create: &h})
		var got *SuperMissingError
		if !errors.As(err, &got) || !reflect.DeepEqual(got, want) {
			t.Fatalf("a writer with Create: %v, want %v", err, want)
		}
		if _, err := Open(dir); !errors.As(err, &got) {
			t.Fatalf("a reader: %v", err)
		}
		if _, err := OpenWriter(dir, WriterOptions{}); !errors.As(err, &got) {
			t.Fatalf("a writer: %v", err)
		}
		if after := files0(dir); !reflect.DeepEqual(after, before) {
			t.Fatalf("the directory changed")
		}
	}
	salvaged := func(dir string, want []byte) {
		t.Helper()
		var said []string
		w, err := OpenWriter(dir, WriterOptions{Salvage: true, Notify: func(m string) { said = append(said, m) }})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, want) {
			t.Fatalf("after the salvage the partition packs to other bytes")
		}
		if len(said) == 0 || !strings.HasPrefix(said[0], "rebuilt the missing superblock: generation ") {
			t.Fatalf("the salvage said %q", said)
		}
	}

	// generation 0, a committed run
	dir := filepath.Join(t.TempDir(), "part-7")
	w := openWriter(t, dir, None)
	appendRun(t, w, files[0])
	w.Close()
	want := pack(t, dir, PackOptions{})
	os.Remove(filepath.Join(dir, "super"))
	refused(dir, "log-0")
	salvaged(dir, want)

	// generation 1, and a checkpoint to generation 2 that died before its
	// log was written
	dir = filepath.Join(t.TempDir(), "part-7")
	w = openWriter(t, dir, None)
	appendRun(t, w, files[0])
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	appendRun(t, w, files[1])
	w.Close()
	want = pack(t, dir, PackOptions{})
	os.WriteFile(filepath.Join(dir, "snap-2.meguri"), want, 0o644)
	os.Remove(filepath.Join(dir, "super"))
	refused(dir, "log-1", "snap-1.meguri", "snap-2.meguri")
	salvaged(dir, want)
	if sb, err := readSuper(dir); err != nil || sb.gen != 1 {
		t.Fatalf("rebuilt superblock: generation %d, %v; want 1 (generation 2 has no log)", sb.gen, err)
	}
	wantNames(t, dir, "lock", "log-1", "snap-1.meguri", "super") // the leftover removed

	// what a create that died leaves is made a partition
	dir = filepath.Join(t.TempDir(), "part-7")
	openWriter(t, dir, None).Close()
	os.Remove(filepath.Join(dir, "super"))
	w = openWriter(t, dir, None)
	if !w.Created {
		t.Errorf("an empty generation 0 without a superblock was not made a partition")
	}
	w.Close()
}

// TestCreateRace: writers started at once on a new directory. One finds no
// superblock; before it looks at what else the directory holds, another
// makes it a partition. It appends to that partition rather than calling
// the directory someone else's (as it did 2 runs in 360 of six
// meguri-ingest --data at once).
func TestCreateRace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "part-7")
	os.Mkdir(dir, 0o755)
	testNoSuper = func(d string) {
		testNoSuper = nil
		openWriter(t, d, None).Close()
	}
	defer func() { testNoSuper = nil }()
	w := openWriter(t, dir, None)
	if w.Created {
		t.Errorf("the writer that lost the race says it made the partition")
	}
	appendRun(t, w, chunks(t, 1)...)
	w.Close()
	if got, want := pack(t, dir, PackOptions{}), ingestBytes(t, chunks(t, 1)...); !bytes.Equal(got, want) {
		t.Errorf("the partition made by the other writer does not hold this one's run")
	}
}

// TestCreateOnCommit: a writer that made the directory a partition and
// commits nothing leaves it as it found it (but for the lock file), so the
// next writer's header counts; one that commits keeps it. A writer waiting
// for the lock meanwhile creates the partition with its own header.
func TestCreateOnCommit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "part")
	h := testHeader
	w, err := OpenWriter(dir, WriterOptions{Create: &h, CreateOnCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	wantNames(t, dir, "lock", "log-0", "snap-0.meguri", "super")
	other := codec.Header{PartitionID: 9, Lo: 1 << 62, Hi: 1<<63 - 1}
	opened := make(chan *Writer)
	go func() {
		w2, err := OpenWriter(dir, WriterOptions{Create: &other, CreateOnCommit: true, Notify: func(string) {}})
		if err != nil {
			t.Error(err)
		}
		opened <- w2
	}()
	time.Sleep(50 * time.Millisecond) // let the second writer wait, mostly
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := <-opened
	if w2 == nil {
		t.FailNow()
	}
	if got := w2.Header(); !w2.Created || got.PartitionID != 9 || got.Lo != other.Lo || got.Hi != other.Hi {
		t.Fatalf("the writer after a create that committed nothing: created %v, header %+v; want its own header", w2.Created, got)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	wantNames(t, dir, "lock")
	if _, err := Open(dir); !errors.Is(err, ErrNotPartition) {
		t.Fatalf("after two writers committed nothing: %v, want ErrNotPartition", err)
	}
	// A commit, even of nothing, keeps the partition.
	w = openWriter(t, dir, None)
	if err := w.Commit(0, 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	wantNames(t, dir, "lock", "log-0", "snap-0.meguri", "super")
	// Without CreateOnCommit a create stays, committed to or not.
	dir = t.TempDir()
	w = openWriter(t, dir, None)
	w.Close()
	wantNames(t, dir, "lock", "log-0", "snap-0.meguri", "super")
}

func TestRollback(t *testing.T) {
	files := chunks(t, 2)
	dir := t.TempDir()
	w := openWriter(t, dir, None)
	appendRun(t, w, files[0])
	size := w.committed
	// A run that fails part way (a --strict reject, a bad input) leaves
	// nothing behind.
	_, err := ingest.Parse(append(files[1:], "/nonexistent"), ingest.Options{Lo: 0, Hi: math.MaxUint64}, w.Append)
	if err == nil {
		t.Fatal("missing input accepted")
	}
	h := w.Header()
	if _, err := ingest.Parse(files[1:], ingest.Options{Lo: h.Lo, Hi: h.Hi}, w.Append); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "log-0")); st.Size() != size {
		t.Fatalf("log is %d bytes after an uncommitted run, want %d", st.Size(), size)
	}
	if got, want := pack(t, dir, PackOptions{}), ingestBytes(t, files[0]); !bytes.Equal(got, want) {
		t.Fatal("state after rollback differs")
	}
}

func TestDurability(t *testing.T) {
	files := chunks(t, 2)
	for _, c := range []struct {
		dur   Durability
		syncs int // after two commits
	}{{None, 0}, {Normal, 0}, {Full, 2}} {
		w := openWriter(t, t.TempDir(), c.dur)
		appendRun(t, w, files[0])
		appendRun(t, w, files[1])
		if w.Syncs() != c.syncs {
			t.Errorf("%s: %d flushes after two commits, want %d", c.dur, w.Syncs(), c.syncs)
		}
		w.Close()
	}
}

func TestOneWriter(t *testing.T) {
	dir := t.TempDir()
	w := openWriter(t, dir, None)
	waited := make(chan struct{})
	opened := make(chan *Writer)
	go func() {
		w2, err := OpenWriter(dir, WriterOptions{Notify: func(msg string) {
			if strings.Contains(msg, "waiting") {
				close(waited)
			}
		}})
		if err != nil {
			t.Error(err)
		}
		opened <- w2
	}()
	<-waited
	select {
	case <-opened:
		t.Fatal("a second writer opened while the first held the directory")
	default:
	}
	w.Close()
	if w2 := <-opened; w2 != nil {
		w2.Close()
	}
}

// emptyPartition is a new partition directory with an empty snapshot,
// whose log the fuzz targets replace.
func emptyPartition(tb testing.TB) string {
	dir := tb.TempDir()
	h := testHeader
	w, err := OpenWriter(dir, WriterOptions{Create: &h})
	if err != nil {
		tb.Fatal(err)
	}
	w.Close()
	return dir
}

// flipped returns a copy of b with the bits of mask flipped at off.
func flipped(b []byte, off int, mask byte) []byte {
	c := slices.Clone(b)
	c[off] ^= mask
	return c
}

// framesFrom builds a log body from fuzz bytes: each frame is a kind byte,
// a one-byte length and that many payload bytes, sealed with a correct
// checksum so that the decoding behind it is reached. Kind 1 takes the
// payload's first byte as the count and compresses the rest, as the writer
// does; kind 3 is sealed as a captures frame holding the bytes as they are;
// kind 2 makes a well-formed commit. raw uses the bytes as the body
// unchanged.
func framesFrom(data []byte, raw bool) []byte {
	log := encodeLogHeader(0)
	if raw {
		return append(log, data...)
	}
	for len(data) >= 2 {
		kind, n := data[0], min(int(data[1]), len(data)-2)
		payload := data[2 : 2+n]
		data = data[2+n:]
		switch {
		case kind == kindCommit:
			log = append(log, commitFrame(int64(len(log)), 1, 1, 1)...)
			continue
		case kind == kindCaptures && n > 0:
			p := binary.LittleEndian.AppendUint32(nil, uint32(payload[0]))
			p = binary.LittleEndian.AppendUint32(p, uint32(n-1))
			payload = encoder().EncodeAll(payload[1:], p)
		case kind == 3:
			kind = kindCaptures
		}
		start := len(log)
		log = append(log, make([]byte, frameHeaderSize)...)
		log = append(log, payload...)
		log = sealFrame(log, start, kind)
	}
	return log
}

// FuzzLog: no log bytes make a reader or writer panic; a log that opens
// and verifies also packs; a writer only ever truncates the log, and never
// makes a log that readers opened one they refuse. (A writer does not read
// the whole log when its last frame is a commit, so damage before it is
// left for readers to report.)
func FuzzLog(f *testing.F) {
	dir := emptyPartition(f)
	b := appendSeed(f, 1)
	f.Add(b, true)
	f.Add(b[:len(b)-3], true)
	f.Add([]byte{3, 4, 0, 0, 0, 0, 2, 0}, false)
	// One capture of http://a/ (host key 0x0807060504030201), committed.
	f.Add([]byte{1, 33, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 'h', 't', 't', 'p', ':', '/', '/', 'a', '/', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		log := filepath.Join(dir, "log-0")
		body := framesFrom(data, raw)
		if err := os.WriteFile(log, body, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := Open(dir)
		opened := err == nil
		if opened {
			if v.VerifyLog() == nil {
				if _, err := v.Pack(io.Discard, PackOptions{Mem: 1 << 20}); err != nil {
					t.Fatalf("log verifies but does not pack: %v", err)
				}
			}
			v.Close()
		}
		w, err := OpenWriter(dir, WriterOptions{Durability: None})
		if err != nil {
			return
		}
		w.Close()
		kept, _ := os.ReadFile(log)
		if len(kept) > len(body) || !bytes.Equal(kept, body[:len(kept)]) {
			t.Fatalf("writer changed the log beyond truncating it")
		}
		if v, err := Open(dir); err == nil {
			v.Close()
		} else if opened {
			t.Fatalf("a log that opened does not open after a writer recovered it: %v", err)
		}
	})
}

// appendSeed returns the body of a log holding runs small committed runs.
func appendSeed(f *testing.F, runs int) []byte {
	dir := f.TempDir()
	h := testHeader
	w, err := OpenWriter(dir, WriterOptions{Create: &h})
	if err != nil {
		f.Fatal(err)
	}
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"url":"http://example.com/a","timestamp":"20200101000000","status":"200","digest":"sha1:AAAA"}`+"\n"+`{"url":"http://b.example/"}`+"\n"), 0o644)
	for range runs {
		sum, err := ingest.Parse([]string{in}, ingest.Options{Lo: h.Lo, Hi: h.Hi}, w.Append)
		if err != nil {
			f.Fatal(err)
		}
		if err := w.Commit(sum.Lines, sum.Taken); err != nil {
			f.Fatal(err)
		}
	}
	w.Close()
	b, err := os.ReadFile(filepath.Join(dir, "log-0"))
	if err != nil {
		f.Fatal(err)
	}
	return b[logHeaderSize:]
}

// Readers take no lock: packing while a writer appends and checkpoints
// always gives the state after some whole number of its steps.
func TestReadWhileWriting(t *testing.T) {
	files := chunks(t, 6)
	// Append, append, checkpoint, append, ...: the same steps twice, once
	// alone to learn each state's bytes, once under readers.
	steps := func(dir string, after func()) {
		w := openWriter(t, dir, None)
		defer w.Close()
		after()
		for i, f := range files {
			appendRun(t, w, f)
			after()
			if i%2 == 1 {
				if _, err := w.Checkpoint(PackOptions{}); err != nil {
					t.Error(err)
					return
				}
				after()
			}
		}
	}
	states := map[string]bool{}
	first := t.TempDir()
	steps(first, func() { states[string(pack(t, first, PackOptions{}))] = true })

	dir := t.TempDir()
	done := make(chan struct{})
	go func() {
		defer close(done)
		steps(dir, func() {})
	}()
	seen := 0
	for {
		select {
		case <-done:
			t.Logf("%d packs while the writer ran", seen)
			return
		default:
		}
		v, err := Open(dir)
		if errors.Is(err, ErrNotPartition) || errors.Is(err, os.ErrNotExist) {
			continue // not made yet
		}
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := v.Pack(&buf, PackOptions{}); err != nil {
			t.Fatal(err)
		}
		v.Close()
		if !states[buf.String()] {
			t.Fatalf("read %d: a pack (%d bytes) that matches no state between the writer's steps", seen, buf.Len())
		}
		seen++
	}
}

// A checkpoint folds files of the partition in (PackOptions.Fold) as a
// fold of files would; a file of another partition, or a Check that
// refuses the result, stops it with the directory as it was.
func TestCheckpointFoldsFiles(t *testing.T) {
	files := chunks(t, 2)
	dir := t.TempDir()
	w := openWriter(t, dir, Normal)
	defer w.Close()
	appendRun(t, w, files[0])
	tmp := t.TempDir()
	delta := filepath.Join(tmp, "delta.meguri")
	os.WriteFile(delta, ingestBytes(t, files[1]), 0o644)
	var other bytes.Buffer
	if _, err := ingest.Run(files[1:], &other, ingest.Options{PartitionID: 8, Hi: math.MaxUint64}); err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(tmp, "other.meguri")
	os.WriteFile(otherPath, other.Bytes(), 0o644)
	open := func(path string) *merge.Input {
		ins, err := merge.OpenInputs([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { merge.CloseInputs(ins) })
		return ins[0]
	}
	deltaIn, otherIn := open(delta), open(otherPath)
	before := pack(t, dir, PackOptions{})
	if _, err := w.Checkpoint(PackOptions{Fold: []*merge.Input{otherIn}}); err == nil || !strings.Contains(err.Error(), "other.meguri is partition 8 ") {
		t.Fatalf("another partition's file: %v", err)
	}
	refused := errors.New("refused")
	if _, err := w.Checkpoint(PackOptions{Fold: []*merge.Input{deltaIn}, Check: func(*merge.Result) error { return refused }}); !errors.Is(err, refused) {
		t.Fatalf("a Check that refuses: %v", err)
	}
	wantNames(t, dir, "lock", "log-0", "snap-0.meguri", "super")
	if !bytes.Equal(pack(t, dir, PackOptions{}), before) {
		t.Fatal("a stopped checkpoint changed the directory")
	}
	if _, err := w.Checkpoint(PackOptions{Fold: []*merge.Input{deltaIn}}); err != nil {
		t.Fatal(err)
	}
	snap, _ := os.ReadFile(filepath.Join(dir, "snap-1.meguri"))
	d, _ := os.ReadFile(delta)
	if !bytes.Equal(snap, fold(t, before, d)) {
		t.Fatal("the checkpoint folding a file differs from folding it into the pack")
	}
}
