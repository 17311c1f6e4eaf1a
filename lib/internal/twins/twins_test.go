package twins

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
	dir := t.TempDir()
	p, q, r := filepath.Join(dir, "p"), filepath.Join(dir, "q"), filepath.Join(dir, "r")
	os.WriteFile(p, base, 0o644)
	os.WriteFile(q, base, 0o644)
	os.WriteFile(r, flipped(3), 0o644)
	if !Paths(p, q, size) || Paths(p, r, size) || Paths(p, filepath.Join(dir, "missing"), size) {
		t.Error("Paths: want p and q twins, p and r not, a missing file not")
	}
}
