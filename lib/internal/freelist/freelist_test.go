package freelist

import "testing"

// TestReuseAndBound: Get hands back what Put kept, at most n of them, and
// builds new values once the idle ones are gone.
func TestReuseAndBound(t *testing.T) {
	built := 0
	l := New(2, func() *int { built++; v := built; return &v })
	a, b, c := l.Get(), l.Get(), l.Get()
	if built != 3 {
		t.Fatalf("built %d values for 3 gets on an empty list", built)
	}
	l.Put(a)
	l.Put(b)
	l.Put(c) // dropped: the list keeps 2
	if x, y := l.Get(), l.Get(); x != a || y != b {
		t.Fatal("Get did not return the values Put kept, in order")
	}
	if z := l.Get(); z == c || built != 4 {
		t.Fatalf("a third Get should build a new value (built %d)", built)
	}
}
