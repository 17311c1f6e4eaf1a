package twins

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEqual: inputs are twins only when every byte agrees; a difference
// anywhere (the first byte, one past the first chunk, inside the tail
// compared first, the last byte) makes them distinct.
func TestEqual(t *testing.T) {
	base := make([]byte, 5<<19) // 2.5 MiB: three chunks
	for i := range base {
		base[i] = byte(i * 7)
	}
	flipped := func(at int) []byte {
		b := append([]byte(nil), base...)
		b[at] ^= 1
		return b
	}
	size := int64(len(base))
	for _, at := range []int{0, 1<<20 - 1, 1<<20 + 5, len(base) - 4097, len(base) - 4096, len(base) - 1} {
		if same, err := Equal(bytes.NewReader(base), bytes.NewReader(flipped(at)), size); same || err != nil {
			t.Errorf("a byte flipped at %d: same %v, %v", at, same, err)
		}
	}
	if same, err := Equal(bytes.NewReader(base), bytes.NewReader(append([]byte(nil), base...)), size); !same || err != nil {
		t.Errorf("a copy: same %v, %v", same, err)
	}
	for _, n := range []int64{0, 1, 4095, 4096, 4097} {
		if same, err := Equal(bytes.NewReader(base[:n]), bytes.NewReader(base[:n]), n); !same || err != nil {
			t.Errorf("%d bytes: same %v, %v", n, same, err)
		}
	}
	// a reader shorter than size fails to read
	if _, err := Equal(bytes.NewReader(base), bytes.NewReader(base[:10]), size); err == nil {
		t.Error("a short reader: no error")
	}
}

// TestSet: among many inputs, each one that repeats an earlier one's bytes
// is named with the first such earlier input, in the order they came;
// inputs of one size that differ anywhere (in the head behind equal tails
// too) are not twins; each input's end is read about once, not once per
// pair; a file that cannot be read is an error naming it.
func TestSet(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	body := func(seed byte, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*13)
		}
		return b
	}
	headFlipped := body(1, 9000)
	headFlipped[0] ^= 0xff // same last 4 KiB as "a"
	inputs := []struct {
		name string
		b    []byte
		twin string
	}{
		{"a", body(1, 9000), ""},
		{"b", body(2, 9000), ""},
		{"c", headFlipped, ""},
		{"d", body(1, 100), ""},
		{"e", body(2, 9000), "b"},
		{"f", body(1, 9000), "a"},
		{"g", nil, ""}, // empty inputs are never twins
		{"h", nil, ""},
		{"i", headFlipped, "c"},
		{"j", body(1, 100), "d"},
		{"k", body(1, 9000), "a"}, // the first of its twins, a and f
	}
	var s Set
	opens := 0
	for _, in := range inputs {
		p := write(in.name, in.b)
		open := func() (io.ReaderAt, func(), error) {
			opens++
			return OpenPath(p)()
		}
		twin, err := s.Add(in.name, int64(len(in.b)), open)
		if err != nil || twin != in.twin {
			t.Errorf("%s: twin %q, %v; want %q", in.name, twin, err, in.twin)
		}
	}
	// an end hashed once per input of a shared size (a, b and d when a
	// second of their size came), two opens per full comparison: e-b,
	// f-a, j-d, i-c, k-a, and c-a and i-a, whose tails match
	if want := 9 + 2*7; opens != want {
		t.Errorf("%d opens, want %d", opens, want)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := s.Add("missing", 9000, OpenPath(missing)); err == nil || !strings.Contains(err.Error(), "reading missing") {
		t.Errorf("a missing file: %v", err)
	}
	if twin, err := s.Add("lone", 12345, OpenPath(missing)); twin != "" || err != nil {
		t.Errorf("an input of a size no other has is not read: %q, %v", twin, err)
	}
}

// TestFiles: a path given twice and a hard link are the same file, named
// by the first; a copy is not, nor another file of the same size, time
// and mode.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("same size"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range []string{a, b} {
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(a, c); err != nil {
		t.Fatal(err)
	}
	stat := func(p string) os.FileInfo {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	var s Files
	for _, c := range []struct{ name, path, want string }{
		{"a", a, ""}, {"b", b, ""}, {"./a", a, "a"}, {"c", c, "a"}, {"b again", b, "b"},
	} {
		if got := s.Add(c.name, stat(c.path)); got != c.want {
			t.Errorf("%s: the same file as %q, want %q", c.name, got, c.want)
		}
	}
}
