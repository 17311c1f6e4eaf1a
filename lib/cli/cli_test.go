package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

// Since reads a CDX timestamp prefix as its first second, and a duration
// as that long before now; every other value is an error naming the flag.
func TestSince(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	at := func(y int, m time.Month, d, h, mi, s int) int64 {
		return time.Date(y, m, d, h, mi, s, 0, time.UTC).Unix()
	}
	for in, want := range map[string]int64{
		"2024":           at(2024, 1, 1, 0, 0, 0),
		"202406":         at(2024, 6, 1, 0, 0, 0),
		"20240615":       at(2024, 6, 15, 0, 0, 0),
		"20240615123456": at(2024, 6, 15, 12, 34, 56),
		// ISO 8601, as people type dates: in UTC, as CDX times are
		"2024-06":                   at(2024, 6, 1, 0, 0, 0),
		"2024-06-15":                at(2024, 6, 15, 0, 0, 0),
		"2024-06-15T12:34":          at(2024, 6, 15, 12, 34, 0),
		"2024-06-15 12:34:56":       at(2024, 6, 15, 12, 34, 56),
		"2024-06-15T12:34:56Z":      at(2024, 6, 15, 12, 34, 56),
		"2024-06-15T14:34:56+02:00": at(2024, 6, 15, 12, 34, 56),
		"30d":                       now - 30*86400,
		"1d12h":                     now - 36*3600,
		"2w":                        now - 14*86400,
	} {
		if got, err := Since("--x", in, now); err != nil || got != want {
			t.Errorf("Since(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"":                     "--x: bad duration",
		"90":                   "--x \"90\": want a CDX timestamp of 4 to 14 digits",
		"20241301":             "want a CDX timestamp",
		"202401011200001":      "want a CDX timestamp",
		"2024-13-01":           "--x \"2024-13-01\": want a CDX timestamp of 4 to 14 digits (YYYYMMDDhhmmss), an ISO date or time",
		"2024-06-15T25:00:00Z": "--x \"2024-06-15T25:00:00Z\": want a CDX timestamp",
		"90y":                  "years are no unit here",
		"90q":                  "unknown unit",
		"3000w":                "--x 3000w reaches back before 1970",
	} {
		if _, err := Since("--x", in, now); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Since(%q): %v, want an error with %q", in, err, msg)
		}
	}
}

func TestNow(t *testing.T) {
	if got, err := Now("20250101000000"); err != nil || got != 1735689600 {
		t.Errorf("Now = %d, %v", got, err)
	}
	before := time.Now().Unix()
	got, err := Now("")
	if after := time.Now().Unix(); err != nil || got < before || got > after {
		t.Errorf("Now(\"\") = %d, %v; want the current time, between %d and %d", got, err, before, after)
	}
	if got, err := Now("2025-01-01T01:00:00+01:00"); err != nil || got != 1735689600 {
		t.Errorf("Now(ISO) = %d, %v", got, err)
	}
	for _, bad := range []string{"2025", "20251301000000", "2025010100000x", "2025-01-01"} {
		if _, err := Now(bad); err == nil || !strings.HasPrefix(err.Error(), "--now ") {
			t.Errorf("Now(%q): %v", bad, err)
		}
	}
}

// The rejects file is kept whether or not the run failed, and a rejects
// file that cannot be committed fails a run that had no error of its own.
func TestRejectsFinish(t *testing.T) {
	dir := t.TempDir()
	runErr := errors.New("line 7: bad record")

	path := filepath.Join(dir, "kept.jsonl")
	w, finish, err := Rejects("prog", path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "a reject\n")
	if got := finish(runErr); got != runErr {
		t.Fatalf("finish(runErr) = %v", got)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a reject\n" {
		t.Fatalf("rejects of a failed run: %q, %v", b, err)
	}
	if got := finish(nil); got != nil {
		t.Fatalf("second finish = %v", got)
	}

	// The directory is gone by the time the file is committed.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	w, finish, err = Rejects("prog", filepath.Join(sub, "lost.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "a reject\n")
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	if got := finish(nil); got == nil || !strings.HasPrefix(got.Error(), "writing rejects: ") {
		t.Fatalf("finish(nil) after a failed commit = %v", got)
	}
	if got := finish(nil); got != nil { // committed (or failed) once
		t.Fatalf("second finish = %v", got)
	}

	// No --rejects: finish passes the run's error through.
	w, finish, err = Rejects("prog", "")
	if w != nil || err != nil || finish(runErr) != runErr || finish(nil) != nil {
		t.Fatal("Rejects without a path")
	}
}

// TestMeterReading: the progress line of a run reading files says how
// much of their total size it has read (and, of compressed files, how much
// of it the lines came from) and about how long the rest of the reading
// takes; of stdin or a pipe, whose size is not known, only what
// it has read.
func TestMeterReading(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, make([]byte, 3000), 0o644)
	os.WriteFile(b, make([]byte, 1000), 0o644)
	errFile, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = errFile
	defer func() { os.Stderr = saved }()
	for _, c := range []struct {
		files      []string
		bytes, raw int64
		want       string
	}{
		{[]string{a, b}, 1000, 1000, "tool: 10 lines, 1000 B read, 25% of 3.9 KiB, about 30s left to read"},
		{[]string{a, b}, 2048, 1000, "tool: 10 lines, 2.0 KiB read (1000 B compressed), 25% of 3.9 KiB, about 30s left to read"},
		{[]string{a, "-"}, 2048, 1000, "tool: 10 lines, 2.0 KiB read"},
		{nil, 2048, 1000, "tool: 10 lines, 2.0 KiB read"},
		{[]string{a, "/dev/null"}, 2048, 1000, "tool: 10 lines, 2.0 KiB read"},
	} {
		errFile.Truncate(0)
		errFile.Seek(0, io.SeekStart)
		m := &Meter{start: time.Now().Add(-10 * time.Second), last: time.Now().Add(-time.Second)}
		m.Reading("tool", c.files)(10, c.bytes, c.raw)
		got, _ := os.ReadFile(errFile.Name())
		if want := "\r" + c.want + "\033[K"; string(got) != want {
			t.Errorf("%v: %q, want %q", c.files, got, want)
		}
	}
	if (*Meter)(nil).Reading("tool", nil) != nil {
		t.Error("a nil Meter gave a progress function")
	}
	// the stages after the reading: the sort's line shows at once, even
	// right after a reading line; the writing's says how far and how long
	errFile.Truncate(0)
	errFile.Seek(0, io.SeekStart)
	m := &Meter{start: time.Now(), last: time.Now()}
	w := m.Writing("tool")
	w("sort", 0, 1000)
	m.phase = time.Now().Add(-10 * time.Second)
	m.last = time.Now().Add(-time.Second)
	w("write", 250, 1000)
	w("write", 500, 1000) // within half a second of the last: not shown
	got, _ := os.ReadFile(errFile.Name())
	if want := "\rtool: sorting 1000 taken lines\033[K\rtool: writing: 250 of 1000 taken lines folded (25%), about 30s left\033[K"; string(got) != want {
		t.Errorf("Writing: %q, want %q", got, want)
	}
	if (*Meter)(nil).Writing("tool") != nil {
		t.Error("a nil Meter gave a progress function")
	}
	for d, want := range map[time.Duration]string{45 * time.Second: "45s", 190 * time.Second: "3m10s", 2*time.Hour + 5*time.Minute: "2h05m"} {
		if got := roughDuration(d); got != want {
			t.Errorf("roughDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestNumbers: number flags read decimal, leading zeros and all (an id
// as part-0010.meguri spells it is 10, not octal 8, and 0009 is 9), or
// hex after 0x; anything else is an error naming the value.
func TestNumbers(t *testing.T) {
	type flags struct {
		ID    uint64  `name:"id"`
		PID   *uint64 `name:"pid"`
		N     int     `name:"n"`
		Split *int    `name:"split"`
		V     uint16  `name:"v"`
	}
	parse := func(args ...string) (flags, error) {
		var f flags
		k, err := kong.New(&f, Kong("prog", "")...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Parse(args)
		return f, err
	}
	f, err := parse("--id", "0010", "--pid", "0009", "--n", "010", "--split", "0x10", "--v", "02")
	if err != nil || f.ID != 10 || *f.PID != 9 || f.N != 10 || *f.Split != 16 || f.V != 2 {
		t.Fatalf("parsed %+v (pid %v, split %v), %v", f, f.PID, f.Split, err)
	}
	for _, c := range []struct{ args []string }{
		{[]string{"--id", "1e3"}},
		{[]string{"--id", "0o7"}},
		{[]string{"--id", "18446744073709551616"}},
		{[]string{"--v", "65536"}},
		{[]string{"--n", "ten"}},
		{[]string{"--id="}},
	} {
		if _, err := parse(c.args...); err == nil || !strings.Contains(err.Error(), "not \"") && !strings.Contains(err.Error(), "too large") {
			t.Errorf("%v: %v", c.args, err)
		}
	}
}

// TestMemDefault: a --mem default is lowered to half the least limit that
// binds the process, which the note names, never below 16 MiB; limits
// above twice the default leave it.
func TestMemDefault(t *testing.T) {
	const def = 1 << 30
	for _, c := range []struct {
		l      limits
		mem    int64
		whyHas string
	}{
		{limits{}, def, ""},
		{limits{physical: 24 << 30, hasPhysical: true}, def, ""},
		{limits{physical: 1 << 30, hasPhysical: true}, 512 << 20, "half this machine's memory (1.0 GiB)"},
		{limits{physical: 1 << 30, hasPhysical: true, cgroup: 300 << 20, hasCgroup: true}, 150 << 20, "half the memory limit of the cgroup this runs in (300.0 MiB)"},
		{limits{physical: 1 << 30, hasPhysical: true, cgroup: 4 << 30, hasCgroup: true}, 512 << 20, "half this machine's memory"},
		{limits{cgroup: 300 << 20, hasCgroup: true, asFree: 200 << 20, asLimit: 1400 << 20, hasAS: true}, 100 << 20, "half the address space left under its limit (ulimit -v 1.4 GiB, of which 1.2 GiB was mapped at start)"},
		{limits{asFree: 10 << 20, asLimit: 700 << 20, hasAS: true}, 16 << 20, "half the address space left"},
	} {
		mem, why := c.l.memDefault(def)
		if mem != c.mem || c.whyHas == "" && why != "" || !strings.Contains(why, c.whyHas) {
			t.Errorf("%+v: %d, %q; want %d, %q", c.l, mem, why, c.mem, c.whyHas)
		}
	}
}
