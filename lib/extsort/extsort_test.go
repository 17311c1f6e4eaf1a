package extsort

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/meguri/meguri/lib/record"
)

// groups sorts caps with a Sorter of the given budget and returns what the
// iterator hands back, each group sorted by capture so groups compare.
func groups(t *testing.T, caps []record.Capture, budget int64, batch int) ([][]record.Capture, int) {
	t.Helper()
	s := New(Options{Budget: budget, TmpDir: t.TempDir()})
	for i := 0; i < len(caps); i += batch {
		b := NewBatch(1024)
		for j := i; j < min(i+batch, len(caps)); j++ {
			b.Add(&caps[j])
		}
		if err := s.AddBatch(&b); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.Finish()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][]record.Capture
	for it.Next() {
		g := slices.Clone(it.Group())
		slices.SortFunc(g, func(a, b record.Capture) int { return record.CompareCapture(&a, &b) })
		out = append(out, g)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out, s.Spills()
}

// TestSorterSpillsAgree: whether everything fits in memory (the iterator
// walks the sorted index) or runs spill to disk (it merges them), the same
// URL groups come back, in (host key, URL) order, holding every capture.
func TestSorterSpillsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var caps []record.Capture
	for i := 0; i < 5000; i++ {
		host := rng.Uint64N(50)
		caps = append(caps, record.Capture{
			URL:        fmt.Sprintf("http://h%d.example/%d", host, rng.IntN(300)),
			HostKey:    host * 0x9e3779b97f4a7c15,
			Time:       int64(rng.IntN(4)), // equal times with different fields
			HTTPStatus: uint16(200 + rng.IntN(3)),
			Digest:     rng.Uint64N(3),
			Mime:       []string{"text/html", "image/png", ""}[rng.IntN(3)],
			Redirect:   []string{"", "http://x/"}[rng.IntN(2)],
			Discovered: rng.IntN(10) == 0,
		})
	}
	mem, spills := groups(t, caps, 1<<30, 700)
	if spills != 0 {
		t.Fatalf("%d spills with a 1 GiB budget", spills)
	}
	disk, spills := groups(t, caps, 16<<10, 300)
	if spills < 5 {
		t.Fatalf("only %d spills with a 16 KiB budget", spills)
	}
	if len(mem) != len(disk) {
		t.Fatalf("%d groups in memory, %d with spills", len(mem), len(disk))
	}
	n := 0
	for i := range mem {
		if !slices.Equal(mem[i], disk[i]) {
			t.Fatalf("group %d differs:\n%v\n%v", i, mem[i], disk[i])
		}
		if i > 0 {
			a, b := mem[i-1][0], mem[i][0]
			if c := cmp.Or(cmp.Compare(a.HostKey, b.HostKey), cmp.Compare(a.URL, b.URL)); c >= 0 {
				t.Fatalf("group %d (%#x %s) after (%#x %s)", i, b.HostKey, b.URL, a.HostKey, a.URL)
			}
		}
		for _, c := range mem[i] {
			if c.URL != mem[i][0].URL || c.HostKey != mem[i][0].HostKey {
				t.Fatalf("group %d mixes %s and %s", i, c.URL, mem[i][0].URL)
			}
		}
		n += len(mem[i])
	}
	if n != len(caps) {
		t.Fatalf("%d captures back, %d in", n, len(caps))
	}
}
