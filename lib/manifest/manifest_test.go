package manifest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

const max = ^uint64(0)

func parts(ranges ...[3]uint64) *Manifest {
	m := &Manifest{}
	for _, r := range ranges {
		m.Parts = append(m.Parts, Partition{ID: r[0], Lo: r[1], Hi: r[2], File: "f", Epoch: 1})
	}
	return m
}

func TestCleanMapTiles(t *testing.T) {
	for _, m := range []*Manifest{
		parts([3]uint64{0, 0, max}),
		parts([3]uint64{2, 1 << 63, max}, [3]uint64{1, 0, 1<<63 - 1}),
		parts([3]uint64{0, 0, 0}, [3]uint64{1, 1, 1}, [3]uint64{2, 2, max - 1}, [3]uint64{3, max, max}),
	} {
		if probs := m.Check(); len(probs) != 0 {
			t.Errorf("clean map reported %v", probs)
		}
		if err := m.MustTile(); err != nil {
			t.Error(err)
		}
	}
}

func TestTilingProblems(t *testing.T) {
	cases := []struct {
		name string
		m    *Manifest
		want string
	}{
		{"empty", parts(), "gap 0x0000000000000000..0xffffffffffffffff: the manifest has no partitions"},
		{"gap first", parts([3]uint64{0, 0x100, max}),
			"gap 0x0000000000000000..0x00000000000000ff before the first partition 0"},
		{"gap first one key", parts([3]uint64{0, 1, max}),
			"gap 0x0000000000000000..0x0000000000000000 before the first partition 0"},
		{"gap middle", parts([3]uint64{0, 0, 0x0f}, [3]uint64{1, 0x20, max}),
			"gap 0x0000000000000010..0x000000000000001f between partitions 0 and 1"},
		{"gap middle one key", parts([3]uint64{0, 0, 0x0f}, [3]uint64{1, 0x11, max}),
			"gap 0x0000000000000010..0x0000000000000010 between partitions 0 and 1"},
		{"gap last", parts([3]uint64{0, 0, 0xfff}),
			"gap 0x0000000000001000..0xffffffffffffffff after the last partition 0"},
		{"gap last one key", parts([3]uint64{0, 0, max - 1}),
			"gap 0xffffffffffffffff..0xffffffffffffffff after the last partition 0"},
		{"overlap first", parts([3]uint64{0, 0, 0x10}, [3]uint64{1, 0, max}),
			"overlap 0x0000000000000000..0x0000000000000010 claimed by partitions 0 and 1"},
		{"overlap middle", parts([3]uint64{0, 0, 0x20}, [3]uint64{1, 0x10, 0x30}, [3]uint64{2, 0x31, max}),
			"overlap 0x0000000000000010..0x0000000000000020 claimed by partitions 0 and 1"},
		{"overlap middle one key", parts([3]uint64{0, 0, 0x20}, [3]uint64{1, 0x20, max}),
			"overlap 0x0000000000000020..0x0000000000000020 claimed by partitions 0 and 1"},
		{"overlap nested", parts([3]uint64{0, 0, max}, [3]uint64{1, 0x10, 0x20}),
			"overlap 0x0000000000000010..0x0000000000000020 claimed by partitions 0 and 1"},
		{"overlap last", parts([3]uint64{0, 0, max}, [3]uint64{1, max - 5, max}),
			"overlap 0xfffffffffffffffa..0xffffffffffffffff claimed by partitions 0 and 1"},
		{"overlap last one key", parts([3]uint64{0, 0, max}, [3]uint64{1, max, max}),
			"overlap 0xffffffffffffffff..0xffffffffffffffff claimed by partitions 0 and 1"},
		{"duplicate id", parts([3]uint64{7, 0, 0xff}, [3]uint64{7, 0x100, max}),
			"duplicate partition id 7 (ranges 0x0000000000000000..0x00000000000000ff and 0x0000000000000100..0xffffffffffffffff)"},
	}
	for _, c := range cases {
		probs := c.m.Check()
		if len(probs) != 1 {
			t.Errorf("%s: %d problems %v, want 1", c.name, len(probs), probs)
			continue
		}
		if got := probs[0].Error(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		if err := c.m.MustTile(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: MustTile = %v", c.name, err)
		}
	}
}

func TestSeveralProblemsAllReported(t *testing.T) {
	m := parts([3]uint64{0, 5, 0x10}, [3]uint64{1, 0x10, 0x20}, [3]uint64{1, 0x30, max - 1})
	var kinds []string
	for _, p := range m.Check() {
		kinds = append(kinds, p.Kind)
	}
	if got := strings.Join(kinds, ","); got != "duplicate id,gap,overlap,gap,gap" {
		t.Errorf("kinds = %s", got)
	}
}

func TestWriteParseRoundTrip(t *testing.T) {
	m := parts([3]uint64{3, 1 << 63, max}, [3]uint64{1, 0, 1<<63 - 1})
	m.Parts[0].URLs, m.Parts[0].Hosts, m.Parts[0].Bytes = 10, 2, 300
	var a bytes.Buffer
	if err := m.Write(&a); err != nil {
		t.Fatal(err)
	}
	want := Header + "\n" +
		"1\t0x0000000000000000\t0x7fffffffffffffff\tf\t0\t0\t0\t1\n" +
		"3\t0x8000000000000000\t0xffffffffffffffff\tf\t10\t2\t300\t1\n"
	if a.String() != want {
		t.Fatalf("written:\n%s\nwant:\n%s", a.String(), want)
	}
	// comments, blank lines, spaces instead of tabs and short hex all
	// parse; so do CRLF line ends and a byte-order mark (a Windows editor)
	in := "# fleet\n\n3 0x8000000000000000 0xffffffffffffffff f 10 2 300 1  # hot\n1\t0x0\t0x7fffffffffffffff\tf\t0\t0\t0\t1\n"
	for _, text := range []string{in, "\ufeff" + strings.ReplaceAll(in, "\n", "\r\n"), "\ufeff" + in[strings.IndexByte(in, '\n')+1:]} {
		p, err := Parse(strings.NewReader(text), "m")
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		var b bytes.Buffer
		p.Write(&b)
		if b.String() != want {
			t.Fatalf("reparsed:\n%s", b.String())
		}
	}
}

// TestGroupingLine: the grouping a map was cut on is a comment line that
// Write puts after the header and Parse reads back (with spaces or a tab
// around it); a manifest without one records none, and writes none.
func TestGroupingLine(t *testing.T) {
	m := parts([3]uint64{0, 0, max})
	m.Grouping = "host"
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := Header + "\n# grouping: host\n0\t0x0000000000000000\t0xffffffffffffffff\tf\t0\t0\t0\t1\n"
	if b.String() != want {
		t.Fatalf("written:\n%s\nwant:\n%s", b.String(), want)
	}
	for in, g := range map[string]string{
		b.String(): "host",
		"#grouping:\tdomain  \n0 0x0 0xffffffffffffffff f 0 0 0 1\n":        "domain",
		"# grouping: host\n# grouping: host\n":                              "host",
		"# groupings are noted below\n0 0x0 0xffffffffffffffff f 0 0 0 1\n": "",
		"0 0x0 0xffffffffffffffff f 0 0 0 1 # grouping: host\n":             "",
	} {
		p, err := Parse(strings.NewReader(in), "m")
		if err != nil || p.Grouping != g {
			t.Errorf("Parse(%q): grouping %q, %v; want %q", in, p.Grouping, err, g)
		}
	}
	m.Grouping = ""
	b.Reset()
	m.Write(&b)
	if strings.Contains(b.String(), "grouping") {
		t.Errorf("a manifest without a grouping wrote one:\n%s", b.String())
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"# grouping: site\n":                   "m: line 1: grouping \"site\": want domain or host",
		"# grouping: host\n# grouping: domain": "m: line 2: grouping domain, but an earlier line says host",
		"0 0x0 0xff f 1 1 1":                   "m: line 1: 7 columns, want 8",
		"\n0 00 0xff f 1 1 1 1":                "m: line 2: host_key_lo: \"00\" does not start with 0x",
		"0 0x0 0xfffffffffffffffff f 1 1 1 1":  "m: line 1: host_key_hi: bad host key",
		"0 0x10 0x0f f 1 1 1 1":                "m: line 1: host_key_lo 0x10 is above host_key_hi 0x0f",
		"x 0x0 0xff f 1 1 1 1":                 "m: line 1: partition_id \"x\" is not a non-negative integer",
		"0 0x0 0xff f 1 -1 1 1":                "m: line 1: hosts \"-1\" is not a non-negative integer",
	} {
		_, err := Parse(strings.NewReader(in), "m")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
	m := parts([3]uint64{0, 0, max})
	m.Parts[0].File = "a b"
	if err := m.Write(&bytes.Buffer{}); err == nil {
		t.Error("wrote a file name with a space")
	}
}

func TestLookup(t *testing.T) {
	m := parts([3]uint64{0, 0, 0x0f}, [3]uint64{1, 0x10, 0x10}, [3]uint64{2, 0x11, max - 1}, [3]uint64{3, max, max})
	for key, want := range map[uint64]uint64{0: 0, 0x0f: 0, 0x10: 1, 0x11: 2, 1 << 40: 2, max - 1: 2, max: 3} {
		p, ok := m.Lookup(key)
		if !ok || p.ID != want {
			t.Errorf("Lookup(%#x) = %v %v, want %d", key, p, ok, want)
		}
	}
	gappy := parts([3]uint64{0, 0x10, 0x20})
	for _, key := range []uint64{0, 0x0f, 0x21, max} {
		if _, ok := gappy.Lookup(key); ok {
			t.Errorf("Lookup(%#x) found a partition in a gap", key)
		}
	}
}

// FuzzParse: a manifest is text edited by hand, so Parse must refuse bad
// bytes with an error and never panic; whatever it accepts, Write gives
// back in a form that parses to the same partitions, and Check can judge.
func FuzzParse(f *testing.F) {
	f.Add(Header + "\n1\t0x0000000000000000\t0x7fffffffffffffff\tf\t0\t0\t0\t1\n3 0x8 0xffffffffffffffff g 10 2 300 1 # hot\n")
	f.Add("0 0x10 0x0f f 1 1 1 1")
	f.Add("0 0x0 0xff f 1 1 1\n\n# c")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := Parse(strings.NewReader(in), "m")
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		m.Check()
		var b bytes.Buffer
		if err := m.Write(&b); err != nil {
			t.Fatal(err) // parsed names hold neither whitespace nor '#'
		}
		back, err := Parse(&b, "m")
		if err != nil {
			t.Fatalf("written manifest does not parse: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(back.Parts, m.Parts) {
			t.Fatalf("round trip changed the partitions:\n%+v\n%+v", m.Parts, back.Parts)
		}
	})
}

// TestRebase: relative names keep naming the same files from another
// directory; absolute names and "-" are left alone.
func TestRebase(t *testing.T) {
	for _, c := range []struct{ from, to, in, want string }{
		{"fleet/rows", "fleet/parts", "../parts/p-8.meguri", "p-8.meguri"},
		{".", "fleet", "fleet/parts/p-8.meguri", "parts/p-8.meguri"},
		{"fleet", ".", "p-8.meguri", "fleet/p-8.meguri"},
		{"a", "b", "p.meguri", "../a/p.meguri"},
		{"a", "a/", "p.meguri", "p.meguri"},
		{"a", "b", "/data/p.meguri", "/data/p.meguri"},
		{"a", "b", "-", "-"},
	} {
		m := &Manifest{Parts: []Partition{{ID: 1, File: c.in}}}
		if err := m.Rebase(c.from, c.to); err != nil || m.Parts[0].File != c.want {
			t.Errorf("Rebase(%q, %q) of %q: %q %v, want %q", c.from, c.to, c.in, m.Parts[0].File, err, c.want)
		}
	}
}
