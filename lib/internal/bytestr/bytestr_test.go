package bytestr

import (
	"math/rand/v2"
	"testing"
)

// TestSharedPrefix: the word-at-a-time prefix equals a byte loop's, for
// strings and byte slices, on pairs that differ at every position of the
// first three words and pairs where one is a prefix of the other.
func TestSharedPrefix(t *testing.T) {
	slow := func(a, b string) int {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		return i
	}
	rng := rand.New(rand.NewPCG(7, 8))
	base := make([]byte, 30)
	for i := range base {
		base[i] = byte('a' + rng.IntN(26))
	}
	for n := 0; n <= len(base); n++ {
		for d := 0; d <= n; d++ {
			a := string(base[:n])
			b := []byte(a)
			if d < n {
				b[d] ^= 0x80 // differ at d
			}
			for _, m := range []int{len(b), d} { // b whole, or cut at d
				want := slow(a, string(b[:m]))
				if got := SharedPrefix(a, string(b[:m])); got != want {
					t.Fatalf("SharedPrefix(%q, %q) = %d, want %d", a, b[:m], got, want)
				}
				if got := SharedPrefix([]byte(a), b[:m]); got != want {
					t.Fatalf("SharedPrefix([]byte %q, %q) = %d, want %d", a, b[:m], got, want)
				}
			}
		}
	}
}

func TestLE64(t *testing.T) {
	if got := LE64("xx\x01\x02\x03\x04\x05\x06\x07\x08", 2); got != 0x0807060504030201 {
		t.Errorf("LE64 = %#x", got)
	}
	if got := LE64([]byte("\xff\x00\x00\x00\x00\x00\x00\x01"), 0); got != 0x01000000000000ff {
		t.Errorf("LE64 = %#x", got)
	}
}
