package logstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meguri/meguri/lib/extsort"
)

// salvageLog is a directory whose log holds three committed runs of the
// sample's thirds; ends[i] is the offset just past run i's commit.
type salvageLog struct {
	dir   string
	files []string
	log   []byte
	ends  [3]int64
	sums  [3]Commit
}

func newSalvageLog(t *testing.T) *salvageLog {
	t.Helper()
	s := &salvageLog{dir: t.TempDir(), files: chunks(t, 3)}
	w := openWriter(t, s.dir, None)
	for i, f := range s.files {
		sum := appendRun(t, w, f)
		s.ends[i] = w.committed
		s.sums[i] = Commit{Lines: sum.Lines, Taken: sum.Taken}
	}
	w.Close()
	var err error
	if s.log, err = os.ReadFile(filepath.Join(s.dir, "log-0")); err != nil {
		t.Fatal(err)
	}
	return s
}

// start returns the offset where run i begins.
func (s *salvageLog) start(i int) int64 {
	if i == 0 {
		return logHeaderSize
	}
	return s.ends[i-1]
}

// commitAt returns the offset of run i's commit frame.
func (s *salvageLog) commitAt(i int) int64 { return s.ends[i] - commitFrameSize }

// damage writes the log with a byte flipped at each offset, plus tail.
func (s *salvageLog) damage(t *testing.T, tail []byte, offs ...int64) []byte {
	t.Helper()
	b := slices.Clone(s.log)
	for _, o := range offs {
		b[o] ^= 0x40
	}
	b = append(b, tail...)
	if err := os.WriteFile(filepath.Join(s.dir, "log-0"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSalvage(t *testing.T) {
	s0 := newSalvageLog(t)
	a, b, c := s0.files[0], s0.files[1], s0.files[2]
	cases := []struct {
		name string
		// damage returns the offsets to flip and the tail to add.
		damage     func(s *salvageLog) ([]int64, []byte)
		lost       func(s *salvageLog) []Lost
		kept       []string // the runs whose captures survive
		header     bool
		unfinished int64
	}{{
		name:   "capture frame",
		damage: func(s *salvageLog) ([]int64, []byte) { return []int64{s.start(1) + frameHeaderSize + 20}, nil },
		lost: func(s *salvageLog) []Lost {
			return []Lost{{From: s.start(1), To: s.ends[1], Commit: &s.sums[1]}}
		},
		kept: []string{a, c},
	}, {
		name:   "frame header",
		damage: func(s *salvageLog) ([]int64, []byte) { return []int64{s.start(2) + 1}, nil },
		lost: func(s *salvageLog) []Lost {
			return []Lost{{From: s.start(2), To: s.ends[2], Commit: &s.sums[2]}}
		},
		kept: []string{a, b},
	}, {
		// The run whose commit is damaged is lost with its counts; the
		// next run is found whole and kept.
		name:   "commit frame",
		damage: func(s *salvageLog) ([]int64, []byte) { return []int64{s.commitAt(0) + frameHeaderSize + 9}, nil },
		lost:   func(s *salvageLog) []Lost { return []Lost{{From: logHeaderSize, To: s.start(1)}} },
		kept:   []string{b, c},
	}, {
		// A damaged commit followed by a damaged frame: one stretch, which
		// ends with the second run's intact commit.
		name: "commit and the next run",
		damage: func(s *salvageLog) ([]int64, []byte) {
			return []int64{s.commitAt(0) + 3, s.start(1) + frameHeaderSize + 5}, nil
		},
		lost: func(s *salvageLog) []Lost {
			return []Lost{{From: logHeaderSize, To: s.ends[1], Commit: &s.sums[1]}}
		},
		kept: []string{c},
	}, {
		name: "two stretches",
		damage: func(s *salvageLog) ([]int64, []byte) {
			return []int64{s.start(0) + frameHeaderSize + 50, s.start(2) + frameHeaderSize + 50}, nil
		},
		lost: func(s *salvageLog) []Lost {
			return []Lost{{From: logHeaderSize, To: s.ends[0], Commit: &s.sums[0]}, {From: s.start(2), To: s.ends[2], Commit: &s.sums[2]}}
		},
		kept: []string{b},
	}, {
		name:       "header, with an unfinished tail",
		damage:     func(s *salvageLog) ([]int64, []byte) { return []int64{3}, []byte{1, 2, 3} },
		lost:       func(*salvageLog) []Lost { return nil },
		kept:       []string{a, b, c},
		header:     true,
		unfinished: 3,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSalvageLog(t)
			offs, tail := tc.damage(s)
			damaged := s.damage(t, tail, offs...)
			var de *DamageError
			if _, err := Open(s.dir); !errors.As(err, &de) {
				t.Fatalf("Open of the damaged log: %v", err)
			}
			w, err := OpenWriter(s.dir, WriterOptions{Salvage: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			rep := w.Salvaged()
			if !rep.Damaged() || rep.HeaderDamaged != tc.header || rep.Unfinished != tc.unfinished || !slices.EqualFunc(rep.Lost, tc.lost(s), lostEqual) {
				t.Fatalf("salvage report %+v lost %v, want lost %v", rep, rep.Lost, tc.lost(s))
			}
			if rep.Kept.Transactions != int64(len(tc.kept)) {
				t.Fatalf("kept %d transactions, want %d", rep.Kept.Transactions, len(tc.kept))
			}
			if err := w.Append(&extsort.Batch{}); err == nil {
				t.Fatal("append to a damaged log accepted")
			}
			if err := w.Commit(0, 0); err == nil {
				t.Fatal("commit to a damaged log accepted")
			}
			if now, _ := os.ReadFile(filepath.Join(s.dir, "log-0")); !bytes.Equal(now, damaged) {
				t.Fatal("opening for a salvage changed the log")
			}
			if _, err := w.Checkpoint(PackOptions{}); err != nil {
				t.Fatal(err)
			}
			if rep.DamagedLog != filepath.Join(s.dir, "damaged-log-0") {
				t.Fatalf("damaged log kept as %q", rep.DamagedLog)
			}
			if kept, _ := os.ReadFile(rep.DamagedLog); !bytes.Equal(kept, damaged) {
				t.Fatal("the kept damaged log differs from the damaged log")
			}
			wantNames(t, s.dir, "damaged-log-0", "lock", "log-1", "snap-1.meguri", "super")
			if got, want := pack(t, s.dir, PackOptions{}), ingestBytes(t, tc.kept...); !bytes.Equal(got, want) {
				t.Fatal("salvaged state differs from an ingest of the intact runs")
			}
			// Re-running the lost runs gives the whole: nothing of them
			// was kept in part.
			var rerun []string
			for _, f := range s.files {
				if !slices.Contains(tc.kept, f) {
					rerun = append(rerun, f)
				}
			}
			if len(rerun) > 0 {
				appendRun(t, w, rerun...)
			}
			if _, err := w.Checkpoint(PackOptions{}); err != nil {
				t.Fatal(err)
			}
			if got, want := pack(t, s.dir, PackOptions{}), foldBytes(t, tc.kept, rerun); !bytes.Equal(got, want) {
				t.Fatal("salvage then re-running the lost runs differs from the whole")
			}
		})
	}
}

func lostEqual(a, b Lost) bool {
	return a.From == b.From && a.To == b.To && (a.Commit == nil) == (b.Commit == nil) &&
		(a.Commit == nil || a.Commit.Lines == b.Commit.Lines && a.Commit.Taken == b.Commit.Taken)
}

// foldBytes is the state of a directory that took the first files as a
// run, checkpointed, and took the others as a second run: a salvage
// leaves a snapshot, so re-running what it lost is a fold (equal to an
// ingest of all the files but where a fold of summaries cannot count
// interleaved changes exactly; FORMAT.md's merge rule).
func foldBytes(t *testing.T, first, then []string) []byte {
	t.Helper()
	dir := t.TempDir()
	w := openWriter(t, dir, None)
	defer w.Close()
	appendRun(t, w, first...)
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(then) > 0 {
		appendRun(t, w, then...)
	}
	return pack(t, dir, PackOptions{})
}

// A run that took nothing (every line rejected) is a commit frame alone;
// after a damaged commit it is found whole and kept.
func TestSalvageEmptyRun(t *testing.T) {
	files := chunks(t, 2)
	empty := filepath.Join(t.TempDir(), "rejected.jsonl")
	os.WriteFile(empty, []byte("not json\n"), 0o644)
	dir := t.TempDir()
	w := openWriter(t, dir, None)
	appendRun(t, w, files[0])
	c0 := w.committed - commitFrameSize
	start1 := w.committed
	appendRun(t, w, empty)
	appendRun(t, w, files[1])
	w.Close()
	log := filepath.Join(dir, "log-0")
	b, _ := os.ReadFile(log)
	sample, _ := os.ReadFile(files[1])
	b[c0+frameHeaderSize+1] ^= 1
	os.WriteFile(log, b, 0o644)
	w, err := OpenWriter(dir, WriterOptions{Salvage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rep := w.Salvaged()
	if len(rep.Lost) != 1 || rep.Lost[0] != (Lost{From: logHeaderSize, To: start1}) || rep.Kept.Transactions != 2 || rep.Kept.Lines != 1+int64(bytes.Count(sample, []byte("\n"))) {
		t.Fatalf("salvage report %+v, lost %v", rep, rep.Lost)
	}
}

// A power loss under durability normal can keep the end of the log and
// lose a stretch before it, which reads back as zeros.
func TestSalvageZeroedStretch(t *testing.T) {
	s := newSalvageLog(t)
	b := slices.Clone(s.log)
	clear(b[s.start(1)+100 : s.start(1)+4196])
	os.WriteFile(filepath.Join(s.dir, "log-0"), b, 0o644)
	w, err := OpenWriter(s.dir, WriterOptions{Salvage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if lost := w.Salvaged().Lost; len(lost) != 1 || lost[0].From != s.start(1) || lost[0].To != s.ends[1] {
		t.Fatalf("lost %v, want run 1 (%d..%d)", lost, s.start(1), s.ends[1])
	}
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := pack(t, s.dir, PackOptions{}), ingestBytes(t, s.files[0], s.files[2]); !bytes.Equal(got, want) {
		t.Fatal("salvaged state differs")
	}
}

// A salvage on an undamaged log is an ordinary writer; one that died after
// keeping the damaged log can be run again.
func TestSalvageUndamagedAndRerun(t *testing.T) {
	s := newSalvageLog(t)
	w, err := OpenWriter(s.dir, WriterOptions{Salvage: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep := w.Salvaged(); rep.Damaged() || rep.Kept.Transactions != 3 {
		t.Fatalf("undamaged log: %+v", rep)
	}
	w.Close()

	s.damage(t, nil, s.start(1)+frameHeaderSize+20)
	want := ingestBytes(t, s.files[0], s.files[2])
	crash := errors.New("crash")
	crashHook = func(step string) error {
		if step == "snapshot" {
			return crash
		}
		return nil
	}
	w, err = OpenWriter(s.dir, WriterOptions{Salvage: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Checkpoint(PackOptions{})
	crashHook = nil
	if err != crash {
		t.Fatalf("checkpoint: %v", err)
	}
	w.closeFiles()
	// A copy of the damaged log cut short (where links are not supported)
	// is a leftover like any other.
	os.WriteFile(filepath.Join(s.dir, ".damaged-log-0.tmp-123"), []byte("part"), 0o644)
	w, err = OpenWriter(s.dir, WriterOptions{Salvage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := pack(t, s.dir, PackOptions{}); !bytes.Equal(got, want) {
		t.Fatal("salvage run twice differs")
	}
	wantNames(t, s.dir, "damaged-log-0", "lock", "log-1", "snap-1.meguri", "super")
}

func TestCommitCountsAppended(t *testing.T) {
	w := openWriter(t, t.TempDir(), None)
	defer w.Close()
	if err := w.Commit(1, 1); err == nil || !strings.Contains(err.Error(), "0 were appended") {
		t.Fatalf("commit of a capture never appended: %v", err)
	}
	if err := w.Commit(1, 0); err != nil {
		t.Fatal(err)
	}
}

// The damage error names the way out, for frames and for the header.
func TestSalvageHint(t *testing.T) {
	s := newSalvageLog(t)
	for _, off := range []int64{s.start(1) + 20, 3} {
		s.damage(t, nil, off)
		_, err := Open(s.dir)
		var de *DamageError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "meguri-compact --data "+s.dir+" --salvage") {
			t.Fatalf("byte %d flipped: %v", off, err)
		}
	}
}

// FuzzSalvage: no log bytes make a salvage panic; what it keeps and what
// it reports lost lie in order inside the log; a log that readers open
// needs no salvage and keeps every transaction; and a salvage that
// checkpoints leaves a directory that opens, with the damaged log kept
// byte for byte.
func FuzzSalvage(f *testing.F) {
	b := appendSeed(f, 1)
	f.Add(b, true)
	// Three runs, the second's frame damaged.
	three := appendSeed(f, 3)
	f.Add(three, true)
	f.Add(flipped(three, len(three)/2, 4), true)
	f.Add(flipped(b, 20, 1), true)
	f.Add(slices.Concat(b[:30], []byte{0, 0, 0, 0}, b[34:], b), true)
	f.Add([]byte{1, 3, 1, 0, 0, 2, 0, 1, 3, 1, 0, 0, 2, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		dir := emptyPartition(t)
		body := framesFrom(data, raw)
		log := filepath.Join(dir, "log-0")
		if err := os.WriteFile(log, body, 0o644); err != nil {
			t.Fatal(err)
		}
		var before *LogStats
		if v, err := Open(dir); err == nil {
			before = &v.Log
			v.Close()
		}
		w, err := OpenWriter(dir, WriterOptions{Durability: None, Salvage: true})
		if err != nil {
			if before != nil {
				t.Fatalf("a log that opens cannot be salvaged: %v", err)
			}
			return
		}
		defer w.Close()
		rep := w.Salvaged()
		if before != nil && (rep.Damaged() || rep.Kept != *before) {
			t.Fatalf("a log that opens: salvage reports %+v, readers %+v", rep, *before)
		}
		pos := int64(logHeaderSize)
		for _, l := range rep.Lost {
			if l.From < pos || l.To <= l.From || l.To > int64(len(body)) {
				t.Fatalf("lost stretches %v out of order in a log of %d bytes", rep.Lost, len(body))
			}
			pos = l.To
		}
		if !rep.Damaged() {
			return
		}
		if now, _ := os.ReadFile(log); !bytes.Equal(now, body) {
			t.Fatal("opening for a salvage changed the log")
		}
		if _, err := w.Checkpoint(PackOptions{Mem: 1 << 20}); err != nil {
			return // a kept frame that is intact but does not decode
		}
		if kept, _ := os.ReadFile(filepath.Join(dir, "damaged-log-0")); !bytes.Equal(kept, body) {
			t.Fatal("the damaged log was not kept as it was")
		}
		v, err := Open(dir)
		if err != nil {
			t.Fatalf("the salvaged directory does not open: %v", err)
		}
		v.Close()
	})
}
