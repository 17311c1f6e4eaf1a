package record

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func randCapture(r *rand.Rand) Capture {
	mimes := []string{"text/html", "warc/revisit", "image/png", ""}
	c := Capture{URL: "http://example.com/", HostKey: 7, Time: int64(1_000_000 + r.IntN(5)),
		HTTPStatus: []uint16{0, 200, 301, 404}[r.IntN(4)], Digest: uint64(r.IntN(3)),
		Length: int64(r.IntN(3)), Mime: mimes[r.IntN(len(mimes))]}
	if r.IntN(8) == 0 {
		c = Capture{URL: c.URL, HostKey: 7, Discovered: true}
	}
	return c
}

// Folding captures gives the same record whatever their order, and folding
// time-ordered groups of records gives the same record as folding all the
// captures at once.
func TestFoldOrderAndGrouping(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 3000; iter++ {
		n := 1 + r.IntN(8)
		caps := make([]Capture, n)
		for i := range caps {
			caps[i] = randCapture(r)
		}
		want := Fold(append([]Capture(nil), caps...))
		shuf := append([]Capture(nil), caps...)
		r.Shuffle(len(shuf), func(i, j int) { shuf[i], shuf[j] = shuf[j], shuf[i] })
		if got := Fold(shuf); got != want {
			t.Fatalf("order changes the fold:\n%+v\n%+v", got, want)
		}
		// split the time-sorted captures into consecutive groups, fold each,
		// then combine the group records in a random order
		sorted := append([]Capture(nil), caps...)
		Fold(sorted) // sorts in place
		var parts []Record
		for i := 0; i < len(sorted); {
			j := i + 1 + r.IntN(len(sorted)-i)
			// groups must not split captures of equal time (they would interleave)
			for j < len(sorted) && sorted[j].Time == sorted[j-1].Time {
				j++
			}
			parts = append(parts, Fold(append([]Capture(nil), sorted[i:j]...)))
			i = j
		}
		r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		got := FoldRecords(parts)
		if got != want {
			t.Fatalf("grouping changes the fold:\n got %+v\nwant %+v\ncaps %+v", got, want, sorted)
		}
	}
}

// Folding a record whose captures lie strictly inside another's span (older
// captures arriving late, folded onto a base) keeps every field but the
// change count exact, the newest and first digests included, when the
// base's newest and oldest captures have known digests.
func TestFoldNestedSpan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	nested := 0
	for iter := 0; iter < 10000; iter++ {
		var outer, inner []Capture
		for i := 0; i < 2+r.IntN(6); i++ {
			c := randCapture(r)
			c.Discovered = false
			c.Time = int64(1_000_000 + r.IntN(10))
			if c.Time > 1_000_001 && c.Time < 1_000_008 && r.IntN(2) == 0 {
				inner = append(inner, c)
			} else {
				outer = append(outer, c)
			}
		}
		if len(inner) == 0 || len(outer) == 0 {
			continue
		}
		base := Fold(append([]Capture(nil), outer...))
		delta := Fold(append([]Capture(nil), inner...))
		// only where the base's span strictly contains the delta's and its
		// newest capture has a digest
		if !(base.FirstSeen < delta.FirstSeen && delta.LastSeen < base.LastSeen) {
			continue
		}
		newestKnown, oldestKnown := false, false
		for _, c := range outer {
			newestKnown = newestKnown || (c.Time == base.LastSeen && c.Digest != 0)
			oldestKnown = oldestKnown || (c.Time == base.FirstSeen && c.Digest != 0)
		}
		if !newestKnown || !oldestKnown {
			continue
		}
		nested++
		want := Fold(append(append([]Capture(nil), outer...), inner...))
		for _, got := range []Record{FoldRecords([]Record{base, delta}), FoldRecords([]Record{delta, base})} {
			got.Changes = want.Changes // not exact for interleaving spans
			if got != want {
				t.Fatalf("nested fold:\n got %+v\nwant %+v\nouter %+v\ninner %+v", got, want, outer, inner)
			}
		}
	}
	if nested < 500 {
		t.Fatalf("only %d nested cases generated", nested)
	}
}

func TestFoldRules(t *testing.T) {
	caps := []Capture{
		{URL: "u", Time: 100, HTTPStatus: 200, Digest: 5, Mime: "text/html"},
		{URL: "u", Time: 300, HTTPStatus: 404, Digest: 6},
		{URL: "u", Time: 200, HTTPStatus: 200, Digest: 5, Mime: "warc/revisit"},
		{URL: "u", Discovered: true},
	}
	r := Fold(caps)
	if r.Captures != 3 || r.FirstSeen != 100 || r.LastSeen != 300 || r.Status != Gone || r.HTTPStatus != 404 ||
		r.Changes != 1 || r.Digest != 6 || r.FirstDigest != 5 {
		t.Fatalf("fold = %+v", r)
	}
	// equal times: the greater HTTP status wins, never input position
	a := Fold([]Capture{{URL: "u", Time: 5, HTTPStatus: 200}, {URL: "u", Time: 5, HTTPStatus: 301}})
	b := Fold([]Capture{{URL: "u", Time: 5, HTTPStatus: 301}, {URL: "u", Time: 5, HTTPStatus: 200}})
	if a != b || a.HTTPStatus != 301 || a.Status != Redirect {
		t.Fatalf("tie: %+v %+v", a, b)
	}
	if d := Fold([]Capture{{URL: "u", Discovered: true}}); d.Status != Discovered || d.Captures != 0 || d.LastSeen != 0 {
		t.Fatalf("discovered = %+v", d)
	}
}

func TestFingerprint(t *testing.T) {
	// the same SHA-1 in base32, base32 with prefix, and hex
	b32 := "GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4"
	hex := "3389a0b15ec5420f1dafca5da6f6470a5e7484 7c"
	hex = hex[:38] + hex[39:]
	if Fingerprint(b32) != Fingerprint("sha1:"+b32) || Fingerprint(b32) != Fingerprint(hex) {
		t.Fatalf("fingerprints differ: %x %x %x", Fingerprint(b32), Fingerprint("sha1:"+b32), Fingerprint(hex))
	}
	if Fingerprint(b32) != 0x3389a0b15ec5420f {
		t.Fatalf("fingerprint %x, want the first 8 bytes of the digest", Fingerprint(b32))
	}
	// a base32 digest of any length is read by its first eight bytes (one
	// of 1,000 characters made the decoder overrun its buffer)
	long := "J7HIRVLXR2DUUZE3OYBYSMEI4O36NOMS" + strings.Repeat("z", 968)
	if Fingerprint(long) != Fingerprint(long[:32]) || Fingerprint(long[:32]) != Fingerprint("sha1:J7HIRVLXR2DUUZE3OYBYSMEI4O36NOMS") {
		t.Fatalf("long base32 digest: %x, its first 32 characters %x", Fingerprint(long), Fingerprint(long[:32]))
	}
	if Fingerprint("") != 0 || Fingerprint("-") != 0 || Fingerprint("odd digest") == 0 {
		t.Fatal("empty digest must be 0, any other non-zero")
	}
}

func TestTimestamps(t *testing.T) {
	s, err := ParseTimestamp("19970427191925")
	if err != nil || FormatTimestamp(s) != "19970427191925" {
		t.Fatalf("%d %v", s, err)
	}
	if p, err := ParseTimestamp("2019"); err != nil || FormatTimestamp(p) != "20190101000000" {
		t.Fatalf("short timestamp: %v", err)
	}
	for _, bad := range []string{"", "123", "19970231000000", "1997042719192x", "199704271919250", "19691231235959"} {
		if _, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) accepted", bad)
		}
	}
}
