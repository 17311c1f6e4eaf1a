package minheap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// With pushes and pops interleaved at random, every Pop (and Top) returns
// the least element held, as a sorted reference slice says.
func TestHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := New(func(a, b int) bool { return a < b })
	var ref []int // sorted
	for i := range 20000 {
		if h.Len() == 0 || rng.IntN(3) != 0 {
			x := rng.IntN(100)
			h.Push(x)
			j, _ := slices.BinarySearch(ref, x)
			ref = slices.Insert(ref, j, x)
			continue
		}
		if top := h.Top(); top != ref[0] {
			t.Fatalf("step %d: Top %d, want %d", i, top, ref[0])
		}
		if got := h.Pop(); got != ref[0] {
			t.Fatalf("step %d: Pop %d, want %d", i, got, ref[0])
		}
		ref = ref[1:]
		if h.Len() != len(ref) {
			t.Fatalf("step %d: Len %d, want %d", i, h.Len(), len(ref))
		}
	}
}
