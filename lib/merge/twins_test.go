package merge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTwins: inputs are twins only when every byte agrees; a difference
// anywhere (the first byte, one past the first chunk, the trailer) makes
// them distinct, and so does a size.
func TestTwins(t *testing.T) {
	dir := t.TempDir()
	base := make([]byte, 5<<19) // 2.5 MiB: three chunks
	for i := range base {
		base[i] = byte(i * 7)
	}
	open := func(name string, b []byte) *Input {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		st, _ := f.Stat()
		return &Input{Path: name, f: f, st: st}
	}
	flipped := func(at int) []byte {
		b := append([]byte(nil), base...)
		b[at] ^= 1
		return b
	}
	a := open("a", base)
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"first byte", flipped(0)},
		{"second chunk", flipped(1<<20 + 5)},
		{"last byte", flipped(len(base) - 1)},
		{"shorter", base[:len(base)-1]},
	} {
		if err := Twins([]*Input{a, open(c.name, c.b)}); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	err := Twins([]*Input{a, open("other", flipped(9)), open("copy", base)})
	if err == nil || !strings.Contains(err.Error(), "a and copy hold the same bytes") {
		t.Errorf("a copy: %v", err)
	}
}
