package extsort

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/meguri/meguri/lib/record"
)

// records sorts caps with a Sorter of the given budget and returns the
// records the iterator folds, and how many captures it says went into them.
func records(t *testing.T, caps []record.Capture, budget int64, batch int) ([]record.Record, int, int) {
	t.Helper()
	tmp := t.TempDir()
	s := New(Options{Budget: budget, TmpDir: tmp})
	for i := 0; i < len(caps); i += batch {
		b := NewBatch(1024, 0)
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
	// the merge reads at most maxFanIn runs at once
	if open, _ := os.ReadDir(tmp); len(open) > maxFanIn {
		t.Fatalf("%d runs read at once (%d spilled), fan-in %d", len(open), s.Spills(), maxFanIn)
	}
	var out []record.Record
	n := 0
	for it.Next() {
		out = append(out, *it.Record())
		n += it.Captures()
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("%d run files left after Close", len(left))
	}
	return out, n, s.Spills()
}

// foldEach folds caps URL by URL with record.Fold, in (host key, URL)
// order: what the iterator must give, found without it.
func foldEach(caps []record.Capture) []record.Record {
	byURL := map[string][]record.Capture{}
	for _, c := range caps {
		k := fmt.Sprintf("%016x %s", c.HostKey, c.URL)
		byURL[k] = append(byURL[k], c)
	}
	var out []record.Record
	for _, k := range slices.Sorted(maps.Keys(byURL)) {
		out = append(out, record.Fold(byURL[k]))
	}
	return out
}

// TestSorterSpillsAgree: whether everything fits in memory (the iterator
// walks the sorted index) or runs spill to disk (it merges them), the
// iterator gives each URL's record in (host key, URL) order, folded from
// every one of its captures as record.Fold folds them: equal times with
// different fields, discovered links, a URL captured in many runs.
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
			Length:     int64(rng.IntN(3)),
			Mime:       []string{"text/html", "image/png", ""}[rng.IntN(3)],
			Redirect:   []string{"", "http://x/"}[rng.IntN(2)],
			Discovered: rng.IntN(10) == 0,
		})
	}
	// one URL captured 1500 times over a long span: in every run
	for i := 0; i < 1500; i++ {
		caps = append(caps, record.Capture{URL: "http://often.example/", HostKey: 7, Time: int64(rng.IntN(1e6)),
			HTTPStatus: 200, Digest: rng.Uint64N(4), Length: int64(rng.IntN(5))})
	}
	rng.Shuffle(len(caps), func(i, j int) { caps[i], caps[j] = caps[j], caps[i] })
	want := foldEach(slices.Clone(caps))
	check := func(what string, got []record.Record, n int) {
		t.Helper()
		if n != len(caps) {
			t.Fatalf("%s: %d captures folded, %d in", what, n, len(caps))
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: record %d:\n%+v\nwant\n%+v", what, i, got[i], want[i])
			}
		}
	}
	mem, n, spills := records(t, caps, 1<<30, 700)
	if spills != 0 {
		t.Fatalf("%d spills with a 1 GiB budget", spills)
	}
	check("in memory", mem, n)
	// with spills, read all at once (the default fan-in) and, when there
	// are more runs than a lowered fan-in, merged into fewer runs first
	for _, fanIn := range []int{maxFanIn, 3, 2} {
		defer func(old int) { maxFanIn = old }(maxFanIn)
		maxFanIn = fanIn
		disk, n, spills := records(t, caps, 16<<10, 300)
		if spills < 5 {
			t.Fatalf("only %d spills with a 16 KiB budget", spills)
		}
		check(fmt.Sprintf("fan-in %d", fanIn), disk, n)
	}
}

// TestSortRefsMatchesCmp: the bucketed, keyed index sort puts the refs in
// exactly the order a plain comparison sort with Sorter.cmp gives, on URLs
// built to defeat the five-byte keys: long shared prefixes, URLs that are
// prefixes of others, NUL and 0xff bytes, one URL captured many times, host
// keys that share their top bits, and a host group above maxGroup; the
// captures come in several batches.
func TestSortRefsMatchesCmp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	piece := []string{"", "a", "a\x00", "a\x00\x00", "\xff", "ab", "abcdefgh", "abcdefghi", "abcdefgh\x00", "/x/y/z/0123456789"}
	url := func() string {
		u := "https://h.example/"
		for k := rng.IntN(6); k > 0; k-- {
			u += piece[rng.IntN(len(piece))]
		}
		return u
	}
	for _, tc := range []struct {
		name   string
		n      int
		hosts  func() uint64
		budget int64
		full   bool // the group is above maxGroup: compared in full
	}{
		{"few hosts", 20000, func() uint64 { return rng.Uint64N(8) << 60 }, 1 << 30, false},
		{"shared top bits", 20000, func() uint64 { return 0xabcd<<48 | rng.Uint64N(40) }, 1 << 30, false},
		{"many hosts", 30000, func() uint64 { return rng.Uint64N(3000) * 0x9e3779b97f4a7c15 }, 1 << 30, false},
		{"one big host, keyed", 1<<16 + 5000, func() uint64 { return 42 }, 1 << 30, false},
		{"one big host, above maxGroup", 1<<16 + 5000, func() uint64 { return 42 }, 16 << 20, true},
		{"tiny", 3, func() uint64 { return rng.Uint64N(2) }, 1 << 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{Budget: tc.budget, TmpDir: t.TempDir()})
			if full := tc.n > s.maxGroup(); full != tc.full {
				t.Fatalf("maxGroup %d under a budget of %d: full comparison %v, want %v", s.maxGroup(), tc.budget, full, tc.full)
			}
			// batches of up to 7000 captures: the sort gathers them
			for i := 0; i < tc.n; i += 7000 {
				b := NewBatch(1<<20, 0)
				for j := i; j < min(i+7000, tc.n); j++ {
					c := record.Capture{URL: url(), HostKey: tc.hosts(), Time: int64(rng.IntN(3)), Digest: rng.Uint64N(2)}
					b.Add(&c)
				}
				if err := s.AddBatch(&b); err != nil {
					t.Fatal(err)
				}
			}
			want := slices.Concat(s.batches...)
			slices.SortFunc(want, s.cmp)
			s.sortRefs()
			if len(s.refs) != len(want) {
				t.Fatalf("%d refs after the sort, want %d", len(s.refs), len(want))
			}
			for i := range want {
				if s.cmp(s.refs[i], want[i]) != 0 {
					t.Fatalf("ref %d: %q (host %#x), want %q (host %#x)", i,
						entryURL(s.arena.at(s.refs[i].off)), s.refs[i].host, entryURL(s.arena.at(want[i].off)), want[i].host)
				}
			}
		})
	}
}

// FuzzDecodeBatch: any bytes either fail to decode (never panic) or decode
// to captures that encode back to the same bytes (each entry decoded to a
// capture and encoded again, not copied).
// TestDecodeBatchLimits: a capture whose values no .meguri row holds is
// damage to a batch read back (a live partition's log frame): found when
// the log is read, not when a pack writes it. The largest values a row
// holds decode.
func TestDecodeBatchLimits(t *testing.T) {
	ok := record.Capture{URL: "http://example.com/", HostKey: 42, Time: record.TimeLimit - 1, HTTPStatus: record.HTTPStatusLimit - 1, Length: record.LengthLimit - 1}
	for _, c := range []struct {
		mod  func(c *record.Capture)
		want string
	}{
		{func(c *record.Capture) {}, ""},
		{func(c *record.Capture) { c.Time = record.TimeLimit }, "capture 0: time 4611686018427387904 out of range"},
		{func(c *record.Capture) { c.HTTPStatus = record.HTTPStatusLimit }, "capture 0: http status 1000 out of range"},
		{func(c *record.Capture) { c.Length = record.LengthLimit }, "capture 0: length 4611686018427387904 out of range"},
	} {
		capt := ok
		c.mod(&capt)
		b := NewBatch(0, 0)
		b.Add(&capt)
		_, err := DecodeBatch(b.AppendEncoded(nil))
		if c.want == "" && err != nil || c.want != "" && (err == nil || err.Error() != c.want) {
			t.Errorf("%+v: %v, want %q", capt, err, c.want)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	b := NewBatch(0, 0)
	b.Add(&record.Capture{URL: "http://example.com/", HostKey: 42, Time: 1e9, HTTPStatus: 200, Digest: 7, Length: 1234, Mime: "text/html"})
	b.Add(&record.Capture{URL: "https://a.example/x?y", Discovered: true})
	b.Add(&record.Capture{URL: "http://b.example/", HostKey: 1 << 63, Time: 1, HTTPStatus: 301, Redirect: "http://c.example/"})
	f.Add(b.AppendEncoded(nil))
	f.Add([]byte{})
	// An overlong varint (0x80 0x00 is 0) decoded, and re-encoded shorter.
	f.Add(append(make([]byte, 8), append([]byte{0x80, 0x00}, make([]byte, 14)...)...))
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := DecodeBatch(p)
		if err != nil {
			return
		}
		it := &Iterator{s: New(Options{})}
		var got []byte
		for i, r := range d.refs {
			e := d.arena[r.off:]
			c := it.decode(r.host, e, string(entryURL(e)))
			if c.HostKey != r.host {
				t.Fatalf("capture %d: host key %x, want %x", i, c.HostKey, r.host)
			}
			got = binary.LittleEndian.AppendUint64(got, c.HostKey)
			got = encode(got, &c)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("decoded %d captures re-encode to %x, want %x", d.Len(), got, p)
		}
	})
}

// TestUvarintLen: the shortest encoding's length, at every boundary.
func TestUvarintLen(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<63 - 1, 1 << 63, math.MaxUint64} {
		if got, want := uvarintLen(v), len(binary.AppendUvarint(nil, v)); got != want {
			t.Errorf("uvarintLen(%d) = %d, want %d", v, got, want)
		}
	}
}
