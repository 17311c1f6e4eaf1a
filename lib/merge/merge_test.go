package merge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/fdpool"
	"github.com/meguri/meguri/lib/record"
)

const shift = 5 // ~32 rows a block: many blocks, so copies and re-encodes both happen

// sampleRows decodes the golden sample file.
func sampleRows(t testing.TB) []record.Record {
	t.Helper()
	b, err := os.ReadFile("../../testdata/sample.meguri")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := codec.ReadAll(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func encode(t testing.TB, id, lo, hi uint64, rows []record.Record) []byte {
	t.Helper()
	return encodeVersion(t, 0, id, lo, hi, rows)
}

// encodeVersion is encode in format version v (0: the current one).
func encodeVersion(t testing.TB, v uint16, id, lo, hi uint64, rows []record.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := codec.WriteAll(&buf, codec.Header{Version: v, Shift: shift, PartitionID: id, Lo: lo, Hi: hi}, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func source(t testing.TB, name string, b []byte) Source {
	t.Helper()
	f, err := codec.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return &FileSource{Path: name, File: f}
}

// run merges in-memory files into outputs and returns their bytes.
func run(t testing.TB, srcs []Source, opt Options) ([][]byte, *Result, error) {
	t.Helper()
	bufs := make([]*bytes.Buffer, len(opt.Outputs))
	opt.Create = func(i int) (io.Writer, error) {
		bufs[i] = &bytes.Buffer{}
		return bufs[i], nil
	}
	res, err := Run(srcs, opt)
	out := make([][]byte, len(bufs))
	for i, b := range bufs {
		if b != nil {
			out[i] = b.Bytes()
		}
	}
	return out, res, err
}

func inRange(rows []record.Record, lo, hi uint64) []record.Record {
	var out []record.Record
	for _, r := range rows {
		if r.HostKey >= lo && r.HostKey <= hi {
			out = append(out, r)
		}
	}
	return out
}

// TestSplitMergeIdentity: cutting a file at host keys gives, for each range,
// the bytes of a fresh encoding of its rows; merging the parts back gives
// the original bytes; and blocks were copied on both ways.
func TestSplitMergeIdentity(t *testing.T) {
	rows := sampleRows(t)
	all := encode(t, 9, 0, ^uint64(0), rows)
	// cut keys at hosts a quarter, half and three quarters through
	cuts := []uint64{rows[len(rows)/4].HostKey, rows[len(rows)/2].HostKey, rows[3*len(rows)/4].HostKey}
	outs, err := Ranges(0, ^uint64(0), cuts, 20)
	if err != nil {
		t.Fatal(err)
	}
	parts, res, err := run(t, []Source{source(t, "all", all)}, Options{Outputs: outs})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlocksCopied == 0 || res.BlocksDecoded == 0 {
		t.Errorf("split copied %d blocks and decoded %d; want both", res.BlocksCopied, res.BlocksDecoded)
	}
	var srcs []Source
	for i, o := range outs {
		want := encode(t, o.ID, o.Lo, o.Hi, inRange(rows, o.Lo, o.Hi))
		if !bytes.Equal(parts[i], want) {
			t.Errorf("part %d differs from a fresh encoding of its rows", i)
		}
		if res.Outputs[i].Stats.URLs != uint64(len(inRange(rows, o.Lo, o.Hi))) {
			t.Errorf("part %d: stats say %d urls", i, res.Outputs[i].Stats.URLs)
		}
		srcs = append(srcs, source(t, "part", parts[i]))
	}
	// inputs in reverse order: the merge does not care
	for i, j := 0, len(srcs)-1; i < j; i, j = i+1, j-1 {
		srcs[i], srcs[j] = srcs[j], srcs[i]
	}
	back, res, err := run(t, srcs, Options{Outputs: []Output{{ID: 9, Lo: 0, Hi: ^uint64(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back[0], all) {
		t.Error("merging the parts back did not give the original bytes")
	}
	if res.BlocksCopied == 0 {
		t.Error("merge copied no blocks")
	}
}

// captures makes n captures of url at increasing times with a digest that
// changes every other capture.
func captures(url string, host uint64, t0 int64, n int) []record.Capture {
	var cs []record.Capture
	for i := 0; i < n; i++ {
		cs = append(cs, record.Capture{URL: url, HostKey: host, Time: t0 + int64(i)*3600, HTTPStatus: 200,
			Digest: uint64(1 + i/2), Length: int64(100 + i), Mime: "text/html"})
	}
	return cs
}

// TestFoldIdentity: rows spread over two files, some URLs in both with
// their captures divided between them, fold to the bytes of encoding the
// fold of all captures, in either input order.
func TestFoldIdentity(t *testing.T) {
	rows := sampleRows(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var a, b, want []record.Record
	for i, r := range rows {
		if i%7 == 3 {
			// a URL captured in both: early captures in a, later in b
			cs := captures(r.URL, r.HostKey, 1_600_000_000+int64(i), 5)
			ra, rb := record.Fold(cs[:2]), record.Fold(cs[2:])
			a, b = append(a, ra), append(b, rb)
			want = append(want, record.Fold(cs))
			continue
		}
		if rng.IntN(2) == 0 {
			a = append(a, r)
		} else {
			b = append(b, r)
		}
		want = append(want, r)
	}
	fa, fb := encode(t, 4, 0, ^uint64(0), a), encode(t, 4, 0, ^uint64(0), b)
	expect := encode(t, 4, 0, ^uint64(0), want)
	for _, order := range [][]Source{{source(t, "a", fa), source(t, "b", fb)}, {source(t, "b", fb), source(t, "a", fa)}} {
		got, res, err := run(t, order, Options{Fold: true, Outputs: []Output{{ID: 4, Lo: 0, Hi: ^uint64(0)}}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[0], expect) {
			t.Error("fold differs from encoding the fold of all captures")
		}
		if res.Folded != uint64(len(rows)/7+1) && res.Folded != uint64(len(rows)/7) {
			t.Errorf("folded %d rows", res.Folded)
		}
	}
	// without --fold the shared URLs are refused, naming both inputs
	_, _, err := run(t, []Source{source(t, "a.meguri", fa), source(t, "b.meguri", fb)}, Options{Outputs: []Output{{ID: 4, Lo: 0, Hi: ^uint64(0)}}})
	var oe *OverlapError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "a.meguri and b.meguri both hold") {
		t.Errorf("overlapping rows without fold: %v", err)
	}
}

// TestCovered: a fold reports an input whose every captured row another
// input holds (a delta folded in before), and no input of a fold of a base
// and a newer delta, nor one with a URL of its own or with no capture.
func TestCovered(t *testing.T) {
	rows := sampleRows(t)
	var base, delta, fresh, links, backfill []record.Record
	for i, r := range rows {
		cs := captures(r.URL, r.HostKey, 1_600_000_000+int64(i), 5)
		base = append(base, record.Fold(cs[:3]))
		// another archive's capture within the base's span
		mid := cs[1]
		mid.Time += 60
		mid.Digest = 99
		backfill = append(backfill, record.Fold([]record.Capture{mid}))
		if i%3 == 0 {
			delta = append(delta, record.Fold(cs[3:]))
		}
		fresh = append(fresh, r)
		links = append(links, record.Record{URL: r.URL, HostKey: r.HostKey})
	}
	folded := func(a, b []record.Record) []record.Record {
		var out []record.Record
		j := 0
		for _, r := range a {
			if j < len(b) && b[j].URL == r.URL {
				out = append(out, record.FoldRecords([]record.Record{r, b[j]}))
				j++
				continue
			}
			out = append(out, r)
		}
		return out
	}
	src := func(name string, rs []record.Record) Source { return source(t, name, encode(t, 4, 0, ^uint64(0), rs)) }
	once := folded(base, delta)
	firstCaptured := fresh[slices.IndexFunc(fresh, func(r record.Record) bool { return r.Captures > 0 })].URL
	for _, c := range []struct {
		srcs []Source
		want []Cover
	}{
		{[]Source{src("base", base), src("delta", delta)}, nil},
		{[]Source{src("base", once), src("delta", delta)}, []Cover{{Input: "delta", By: "base", URL: delta[0].URL}}},
		{[]Source{src("delta", delta), src("base", once)}, []Cover{{Input: "delta", By: "base", URL: delta[0].URL}}},
		{[]Source{src("base", once), src("delta", append(slices.Clone(delta[:len(delta)-1]), record.Fold(captures(delta[len(delta)-1].URL, delta[len(delta)-1].HostKey, 1_700_000_000, 1))))}, nil},
		{[]Source{src("base", once), src("links", links)}, nil},
		{[]Source{src("base", base), src("backfill", backfill)}, nil},
		{[]Source{src("a", fresh), src("b", fresh)}, []Cover{{Input: "a", By: "b", URL: firstCaptured}, {Input: "b", By: "a", URL: firstCaptured}}},
	} {
		_, res, err := run(t, c.srcs, Options{Fold: true, Outputs: []Output{{ID: 4, Lo: 0, Hi: ^uint64(0)}}})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Covered, c.want) {
			t.Errorf("%s, %s: covered %+v, want %+v", c.srcs[0].Name(), c.srcs[1].Name(), res.Covered, c.want)
		}
	}
}

// TestGC: exactly the Gone rows captured before the cutoff disappear, the
// rest are unchanged, and the file is a fresh encoding of what is left.
// Blocks whose tombstones are all young are copied, not re-encoded.
func TestGC(t *testing.T) {
	rows := sampleRows(t)
	// make every fifth row a tombstone; old ones only in the first half
	var gone, old int
	for i := range rows {
		if i%5 == 0 && rows[i].Captures > 0 {
			rows[i].Status, rows[i].HTTPStatus = record.Gone, 404
			gone++
			if i%10 == 0 && i < len(rows)/2 {
				rows[i].FirstSeen, rows[i].LastSeen = 1_000_000_000, 1_000_000_000
				old++
			}
		}
	}
	const cutoff = 1_100_000_000
	var kept []record.Record
	for _, r := range rows {
		if !(r.Status == record.Gone && r.LastSeen < cutoff) {
			kept = append(kept, r)
		}
	}
	if old == 0 || len(kept) != len(rows)-old {
		t.Fatalf("bad fixture: %d old of %d gone", old, gone)
	}
	in := encode(t, 1, 0, ^uint64(0), rows)
	got, res, err := run(t, []Source{source(t, "in", in)}, Options{GC: true, Cutoff: cutoff, Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dropped != uint64(old) {
		t.Errorf("dropped %d, want %d", res.Dropped, old)
	}
	if !bytes.Equal(got[0], encode(t, 1, 0, ^uint64(0), kept)) {
		t.Error("gc output differs from encoding the kept rows")
	}
	back, err := codec.ReadAll(bytes.NewReader(got[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, kept) {
		t.Error("gc changed rows it kept")
	}
	if res.BlocksCopied == 0 {
		t.Error("no block with only young tombstones was copied")
	}
	// A GC that finds nothing to drop gives the input's bytes, every
	// block copied.
	got, res, err = run(t, []Source{source(t, "in", in)}, Options{GC: true, Cutoff: 1, Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := codec.OpenFile(bytes.NewReader(in), int64(len(in)))
	if !bytes.Equal(got[0], in) || res.Dropped != 0 || res.BlocksCopied != uint64(len(f.Blocks)) {
		t.Errorf("gc with nothing to drop: %d dropped, %d of %d blocks copied, same bytes %v",
			res.Dropped, res.BlocksCopied, len(f.Blocks), bytes.Equal(got[0], in))
	}
}

// TestCopyWholeFile: compacting one file into the same range passes every
// block through undecoded, also one that ends at the row cap and the last
// one, which ends with the file; from a file and from a stream alike.
// TestDropHosts: dropping host groups gives the bytes of a fresh encoding
// of the other rows, counts what each key lost, and still copies the
// blocks that span no dropped key.
func TestDropHosts(t *testing.T) {
	rows := sampleRows(t)
	count := map[uint64]uint64{}
	for _, r := range rows {
		count[r.HostKey]++
	}
	// the host with most rows (it spans blocks), one with a single row,
	// and a key no row has
	var big, one uint64
	for k, n := range count {
		if n > count[big] {
			big = k
		}
		if n == 1 && one == 0 {
			one = k
		}
	}
	none := uint64(0x0123456789abcdef)
	if count[big] < 100 || one == 0 || count[none] != 0 {
		t.Fatalf("bad fixture: %d rows of the biggest host", count[big])
	}
	drop := []uint64{big, one, none}
	slices.Sort(drop)
	kept := slices.DeleteFunc(slices.Clone(rows), func(r record.Record) bool { return r.HostKey == big || r.HostKey == one })
	in := encode(t, 1, 0, ^uint64(0), rows)
	got, res, err := run(t, []Source{source(t, "in", in)}, Options{DropHosts: drop, Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0], encode(t, 1, 0, ^uint64(0), kept)) {
		t.Error("output differs from encoding the kept rows")
	}
	if want := map[uint64]uint64{big: count[big], one: 1}; !reflect.DeepEqual(res.HostsDropped, want) {
		t.Errorf("HostsDropped %v, want %v", res.HostsDropped, want)
	}
	if res.BlocksCopied == 0 || res.Dropped != 0 {
		t.Errorf("%d blocks copied, %d dropped by gc", res.BlocksCopied, res.Dropped)
	}
	if _, _, err := run(t, []Source{source(t, "in", in)}, Options{DropHosts: []uint64{2, 1}, Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}}); err == nil {
		t.Error("keys out of order taken")
	}
}

// TestDropURLs: the listed URLs' rows go (the first and last row of the
// file, one inside a block, one of a host also dropped whole), the output
// equals encoding the rest, blocks no listed URL falls in are still
// copied, and each listed URL says whether its row went; a URL no row has
// drops nothing. A list out of order is refused.
func TestDropURLs(t *testing.T) {
	rows := sampleRows(t)
	in := encode(t, 1, 0, ^uint64(0), rows)
	f, _ := codec.OpenFile(bytes.NewReader(in), int64(len(in)))
	if len(f.Blocks) < 3 {
		t.Fatalf("bad fixture: %d blocks", len(f.Blocks))
	}
	first, last, mid := rows[0], rows[len(rows)-1], rows[f.Blocks[1].Rows/2+f.Blocks[0].Rows]
	hostRow := rows[len(rows)/3]
	list := SortURLKeys([]URLKey{
		{first.HostKey, first.URL}, {last.HostKey, last.URL}, {mid.HostKey, mid.URL},
		{hostRow.HostKey, hostRow.URL}, {mid.HostKey, mid.URL + "/absent"}, {last.HostKey, last.URL},
	})
	if len(list) != 5 {
		t.Fatalf("SortURLKeys kept %d of 5 distinct keys", len(list))
	}
	gone := map[string]bool{first.URL: true, last.URL: true, mid.URL: true}
	kept := slices.DeleteFunc(slices.Clone(rows), func(r record.Record) bool { return gone[r.URL] || r.HostKey == hostRow.HostKey })
	got, res, err := run(t, []Source{source(t, "in", in)}, Options{DropURLs: list, DropHosts: []uint64{hostRow.HostKey}, Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0], encode(t, 1, 0, ^uint64(0), kept)) {
		t.Error("output differs from encoding the kept rows")
	}
	for i, k := range list {
		if want := k.URL != mid.URL+"/absent"; res.URLsDropped[i] != want {
			t.Errorf("%s: dropped %v, want %v", k.URL, res.URLsDropped[i], want)
		}
	}
	t.Logf("%d blocks: %d copied, %d checked, %d decoded", len(f.Blocks), res.BlocksCopied, res.BlocksChecked, res.BlocksDecoded)
	if res.URLRowsDropped != 3 || res.BlocksCopied == 0 {
		t.Errorf("%d rows dropped by the list (want 3), %d of %d blocks copied", res.URLRowsDropped, res.BlocksCopied, len(f.Blocks))
	}
	// a listed URL between two rows of a block: the block is read, and
	// copied, since nothing in it goes
	between := []URLKey{{mid.HostKey, mid.URL + "\x00"}}
	got, res, err = run(t, []Source{source(t, "in", in)}, Options{DropURLs: between, Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}})
	if err != nil || !bytes.Equal(got[0], in) || res.BlocksChecked != 1 || res.BlocksDecoded != 0 || res.URLsDropped[0] {
		t.Errorf("a URL no row has: %v, same bytes %v, %d checked, %d decoded", err, bytes.Equal(got[0], in), res.BlocksChecked, res.BlocksDecoded)
	}
	if _, _, err := run(t, []Source{source(t, "in", in)}, Options{DropURLs: []URLKey{list[1], list[0]}, Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}}); err == nil {
		t.Error("URLs out of order taken")
	}
}

func TestCopyWholeFile(t *testing.T) {
	rows := sampleRows(t)
	// one host past all others whose URLs never end a block by content,
	// so its blocks end at the row cap
	for i := 0; i < 3*codec.MaxBlockRows(shift); i++ {
		u := "http://z.example/" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i)
		if xxhash.Sum64String(u)&(1<<shift-1) != 0 {
			rows = append(rows, record.Record{URL: u, HostKey: ^uint64(0), Status: record.Discovered})
		}
	}
	slices.SortFunc(rows, func(a, b record.Record) int { return record.CompareKey(a.HostKey, a.URL, b.HostKey, b.URL) })
	in := encode(t, 4, 0, ^uint64(0), rows)
	f, _ := codec.OpenFile(bytes.NewReader(in), int64(len(in)))
	caps := 0
	for _, b := range f.Blocks {
		if !b.Boundary && int(b.Rows) == codec.MaxBlockRows(shift) {
			caps++
		}
	}
	if caps == 0 || f.Blocks[len(f.Blocks)-1].Boundary {
		t.Fatalf("want blocks ending at the row cap and a last block ending with the file: %d cap blocks", caps)
	}
	r, _ := codec.NewReader(bytes.NewReader(in))
	for _, src := range []Source{source(t, "in", in), &StreamSource{Label: "stdin", R: r}} {
		got, res, err := run(t, []Source{src}, Options{Outputs: []Output{{ID: 4, Hi: ^uint64(0)}}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[0], in) {
			t.Errorf("%s: compacting a file alone changed its bytes", src.Name())
		}
		if res.BlocksDecoded != 0 || res.BlocksCopied != uint64(len(f.Blocks)) {
			t.Errorf("%s: %d blocks copied, %d decoded; want all %d copied", src.Name(), res.BlocksCopied, res.BlocksDecoded, len(f.Blocks))
		}
	}
	// Reading a stream one block ahead still reports a damaged trailer,
	// naming the stream.
	bad := slices.Clone(in)
	bad[len(bad)-20] ^= 0xff
	r, _ = codec.NewReader(bytes.NewReader(bad))
	_, _, err := run(t, []Source{&StreamSource{Label: "stdin", R: r}}, Options{Outputs: []Output{{ID: 4, Hi: ^uint64(0)}}})
	if !errors.Is(err, codec.ErrCorrupt) || !strings.Contains(err.Error(), "stdin") {
		t.Fatalf("damaged trailer in a stream: %v", err)
	}
}

func TestEmptyOutputs(t *testing.T) {
	rows := sampleRows(t)[:50]
	in := encode(t, 1, 0, ^uint64(0), rows)
	outs, _ := Ranges(0, ^uint64(0), []uint64{1, 2, rows[49].HostKey + 1}, 0)
	got, _, err := run(t, []Source{source(t, "in", in)}, Options{Outputs: outs})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if !bytes.Equal(got[i], encode(t, o.ID, o.Lo, o.Hi, inRange(rows, o.Lo, o.Hi))) {
			t.Errorf("output %d is not the encoding of its rows", i)
		}
	}
}

func TestRanges(t *testing.T) {
	outs, err := Ranges(0x10, 0xff, []uint64{0x20, 0x80}, 5)
	want := []Output{{5, 0x10, 0x1f}, {6, 0x20, 0x7f}, {7, 0x80, 0xff}}
	if err != nil || !reflect.DeepEqual(outs, want) {
		t.Errorf("Ranges = %v, %v", outs, err)
	}
	for _, cuts := range [][]uint64{{0x10}, {0x100}, {0x80, 0x20}, {0x20, 0x20}} {
		if _, err := Ranges(0x10, 0xff, cuts, 0); err == nil {
			t.Errorf("cuts %x accepted", cuts)
		}
	}
}

func TestEvenCuts(t *testing.T) {
	rows := sampleRows(t)
	in := encode(t, 1, 0, ^uint64(0), rows)
	f, _ := codec.OpenFile(bytes.NewReader(in), int64(len(in)))
	for _, n := range []int{1, 2, 4, 7} {
		cuts, err := EvenCuts([]*Input{{Path: "f", File: f}}, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(cuts) != n-1 {
			t.Fatalf("n=%d: %d cuts", n, len(cuts))
		}
		outs, err := Ranges(0, ^uint64(0), cuts, 0)
		if err != nil {
			t.Fatal(err)
		}
		// the biggest host bounds how even a cut can be
		biggest := map[uint64]int{}
		most := 0
		for _, r := range rows {
			biggest[r.HostKey]++
			most = max(most, biggest[r.HostKey])
		}
		mean := len(rows) / n
		for _, o := range outs {
			got := len(inRange(rows, o.Lo, o.Hi))
			if d := got - mean; d > most || -d > most {
				t.Errorf("n=%d: range %x..%x holds %d rows, mean %d, largest host %d", n, o.Lo, o.Hi, got, mean, most)
			}
		}
	}
	// a single host cannot be divided
	one := rows[:0:0]
	for _, r := range rows {
		if r.HostKey == rows[0].HostKey {
			one = append(one, r)
		}
	}
	b := encode(t, 1, 0, ^uint64(0), one)
	f1, _ := codec.OpenFile(bytes.NewReader(b), int64(len(b)))
	if cuts, err := EvenCuts([]*Input{{Path: "f1", File: f1}}, 3); err != nil || len(cuts) != 0 {
		t.Errorf("one host: cuts %v, %v", cuts, err)
	}
}

// writtenBuffer is an output that records when the merge says it is
// complete.
type writtenBuffer struct {
	bytes.Buffer
	written int // bytes when Written was called; -1 until then
}

func (w *writtenBuffer) Written() error { w.written = w.Len(); return nil }

// TestOutputsWritten: each output is told it is complete (so a file
// committed with the others at the end can let its buffer go) once its
// last byte is written, before the merge moves on.
func TestOutputsWritten(t *testing.T) {
	rows := sampleRows(t)
	all := encode(t, 9, 0, ^uint64(0), rows)
	cuts := []uint64{rows[len(rows)/3].HostKey, rows[2*len(rows)/3].HostKey}
	outs, err := Ranges(0, ^uint64(0), cuts, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bufs []*writtenBuffer
	opt := Options{Outputs: outs, Create: func(i int) (io.Writer, error) {
		for _, b := range bufs {
			if b.written < 0 {
				t.Errorf("output %d created before output %d was complete", i, len(bufs)-1)
			}
		}
		bufs = append(bufs, &writtenBuffer{written: -1})
		return bufs[i], nil
	}}
	if _, err := Run([]Source{source(t, "all", all)}, opt); err != nil {
		t.Fatal(err)
	}
	if len(bufs) != 3 {
		t.Fatalf("%d outputs", len(bufs))
	}
	for i, b := range bufs {
		if b.written != b.Len() || b.Len() == 0 {
			t.Errorf("output %d: complete at %d bytes, holds %d", i, b.written, b.Len())
		}
	}
}

// TestEvenCutsBigHost: a host bigger than a range's share still leaves n
// ranges when there are n hosts (the targets on either side of it were
// drawn to one host change, and --split 64 of the corpus wrote 63 files):
// the big host gets a range of its own, every range holds rows, and only
// asking for more ranges than there are hosts gives fewer.
func TestEvenCutsBigHost(t *testing.T) {
	var rows []record.Record
	add := func(key uint64, n int) {
		for i := range n {
			rows = append(rows, record.Record{URL: fmt.Sprintf("http://h%016x.example/%04d", key, i), HostKey: key, Status: record.Discovered})
		}
	}
	for h := range 20 {
		add(uint64(h+1)<<56, 10)
	}
	big := uint64(0x80) << 56
	add(big, 600)
	for h := range 20 {
		add(uint64(h+0x90)<<56, 10)
	}
	b := encode(t, 1, 0, ^uint64(0), rows)
	f, err := codec.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Blocks) < 4 {
		t.Fatalf("%d blocks; the search is to cross blocks", len(f.Blocks))
	}
	for _, tc := range []struct{ n, ranges int }{{2, 2}, {4, 4}, {8, 8}, {41, 41}, {42, 41}, {100, 41}} {
		cuts, err := EvenCuts([]*Input{{Path: "f", File: f}}, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		// keeping no block's host changes between lookups (each decoded
		// again) cuts at the same keys
		func() {
			defer func(old int) { keptBytes = old }(keptBytes)
			keptBytes = candidateSize
			again, err := EvenCuts([]*Input{{Path: "f", File: f}}, tc.n)
			if err != nil || !slices.Equal(again, cuts) {
				t.Errorf("n=%d: keeping little, cuts %x, %v; want %x", tc.n, again, err, cuts)
			}
		}()
		outs, err := Ranges(0, ^uint64(0), cuts, 0)
		if err != nil {
			t.Fatalf("n=%d: %v", tc.n, err)
		}
		if len(outs) != tc.ranges {
			t.Errorf("n=%d: %d ranges, want %d", tc.n, len(outs), tc.ranges)
		}
		for _, o := range outs {
			got := inRange(rows, o.Lo, o.Hi)
			if len(got) == 0 {
				t.Errorf("n=%d: range %x..%x holds no row", tc.n, o.Lo, o.Hi)
			}
			if o.Lo <= big && big <= o.Hi && tc.n > 2 && len(got) != 600 {
				t.Errorf("n=%d: the big host's range holds %d rows, want its 600 alone", tc.n, len(got))
			}
		}
	}
}

// TestEvenCutsFolded: cutting files of one range that hold different
// hosts (a base and a delta) never leaves a range without a row, however
// many ranges are asked for: each input's host changes are its own, and
// two cuts between one pair of hosts once left empty files.
func TestEvenCutsFolded(t *testing.T) {
	rows := sampleRows(t)
	var a, b []record.Record
	for i, r := range rows {
		if r.HostKey>>8%3 == 0 || i%5 == 0 {
			a = append(a, r)
		} else {
			b = append(b, r)
		}
	}
	var ins []*Input
	for _, part := range [][]record.Record{a, b} {
		enc := encode(t, 1, 0, ^uint64(0), part)
		f, err := codec.OpenFile(bytes.NewReader(enc), int64(len(enc)))
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, &Input{Path: "f", File: f})
	}
	hosts := map[uint64]bool{}
	for _, r := range rows {
		hosts[r.HostKey] = true
	}
	for _, n := range []int{2, 10, len(hosts) / 2, len(hosts), 2 * len(hosts)} {
		cuts, err := EvenCuts(ins, n)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := Ranges(0, ^uint64(0), cuts, 0)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if len(outs) > n || len(outs) > len(hosts) || n <= 10 && len(outs) != n {
			t.Errorf("n=%d: %d ranges of %d hosts", n, len(outs), len(hosts))
		}
		for _, o := range outs {
			if len(inRange(rows, o.Lo, o.Hi)) == 0 {
				t.Errorf("n=%d: range %x..%x holds no row", n, o.Lo, o.Hi)
			}
		}
	}
}

// writeFile encodes rows to a file in dir.
func writeFile(t *testing.T, dir, name string, id, lo, hi uint64, rows []record.Record) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, encode(t, id, lo, hi, rows), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInputsRefused(t *testing.T) {
	rows := sampleRows(t)
	dir := t.TempDir()
	mid := rows[len(rows)/2].HostKey
	a := writeFile(t, dir, "a.meguri", 1, 0, mid-1, inRange(rows, 0, mid-1))
	b := writeFile(t, dir, "b.meguri", 2, mid, ^uint64(0), inRange(rows, mid, ^uint64(0)))
	c := writeFile(t, dir, "c.meguri", 3, mid-5, ^uint64(0), inRange(rows, mid, ^uint64(0)))
	g := writeFile(t, dir, "g.meguri", 4, mid+10, ^uint64(0), inRange(rows, mid+10, ^uint64(0)))

	ins, err := OpenInputs([]string{b, a})
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi, err := Union(ins, false); err != nil || lo != 0 || hi != ^uint64(0) || ins[0].Path != a {
		t.Errorf("clean union: %x %x %v", lo, hi, err)
	}
	CloseInputs(ins)

	check := func(paths []string, allowGap bool, want string) {
		t.Helper()
		ins, err := OpenInputs(paths)
		if err == nil {
			_, _, err = Union(ins, allowGap)
			CloseInputs(ins)
		}
		if want == "" {
			if err != nil {
				t.Errorf("%v: %v", paths, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want %q", paths, err, want)
		}
	}
	check([]string{a, c}, false, "a.meguri and "+c+" overlap on host keys 0x")
	check([]string{a, g}, false, "leave host keys")
	check([]string{a, g}, true, "")

	// another format version
	raw, _ := os.ReadFile(b)
	binary.LittleEndian.PutUint16(raw[8:], codec.Version+1)
	binary.LittleEndian.PutUint32(raw[60:], crc32.Checksum(raw[:60], crc32.MakeTable(crc32.Castagnoli)))
	v3 := filepath.Join(dir, "v3.meguri")
	os.WriteFile(v3, raw, 0o644)
	check([]string{a, v3}, false, "v3.meguri: unsupported .meguri format version 3")

	// damage in a page is found during the merge, naming the file
	raw, _ = os.ReadFile(b)
	raw[len(raw)/2] ^= 0x40
	bad := filepath.Join(dir, "bad.meguri")
	os.WriteFile(bad, raw, 0o644)
	ins, err = OpenInputs([]string{a, bad})
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	_, _, err = run(t, Sources(ins), Options{Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}})
	if err == nil || !strings.Contains(err.Error(), "bad.meguri: ") || !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("damaged input: %v", err)
	}
}

// TestVersionMix: inputs of two format versions are refused unless the
// output's version is named; then the output is the fresh encoding of all
// rows in that version, copying blocks only from inputs of that version.
func TestVersionMix(t *testing.T) {
	rows := sampleRows(t)
	mid := rows[len(rows)/2].HostKey
	lo, hi := inRange(rows, 0, mid-1), inRange(rows, mid, ^uint64(0))
	srcs := func() []Source {
		return []Source{source(t, "a.meguri", encode(t, 1, 0, mid-1, lo)),
			source(t, "b.meguri", encodeVersion(t, 1, 2, mid, ^uint64(0), hi))}
	}
	outs := []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}
	out, _, err := run(t, srcs(), Options{Outputs: outs})
	want := "a.meguri is format version 2 but b.meguri is version 1; give the output's version (meguri-compact --format-version) to convert them"
	if err == nil || err.Error() != want || out[0] != nil {
		t.Fatalf("mixed versions: %v (output written: %v)", err, out[0] != nil)
	}
	for _, v := range []uint16{1, 2} {
		out, res, err := run(t, srcs(), Options{Outputs: outs, Version: v})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out[0], encodeVersion(t, v, 1, 0, ^uint64(0), rows)) {
			t.Fatalf("version %d: the merge differs from a fresh encoding", v)
		}
		if res.BlocksCopied == 0 {
			t.Fatalf("version %d: no block copied", v)
		}
	}
	if _, _, err := run(t, srcs(), Options{Outputs: outs, Version: 3}); !errors.Is(err, codec.ErrVersion) {
		t.Fatalf("version 3: %v", err)
	}
}

func TestGroupingMismatchRefused(t *testing.T) {
	rows := sampleRows(t)[:20]
	a := encode(t, 1, 0, ^uint64(0), rows)
	var buf bytes.Buffer
	if err := codec.WriteAll(&buf, codec.Header{Shift: shift, Grouping: 1, PartitionID: 2, Hi: ^uint64(0)}, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, []Source{source(t, "a.meguri", a), source(t, "h.meguri", buf.Bytes())}, Options{Outputs: []Output{{ID: 1, Hi: ^uint64(0)}}})
	if err == nil || !strings.Contains(err.Error(), "a.meguri and h.meguri key hosts by different groupings") {
		t.Errorf("grouping mismatch: %v", err)
	}
}

// TestMemLimit: a soft memory limit, even one far below what the merge
// holds, changes no output byte, and the process's limit is restored after
// the run.
func TestMemLimit(t *testing.T) {
	rows := sampleRows(t)
	mid := rows[len(rows)/2].HostKey
	a := encode(t, 1, 0, mid-1, inRange(rows, 0, mid-1))
	b := encode(t, 2, mid, ^uint64(0), inRange(rows, mid, ^uint64(0)))
	want := encode(t, 1, 0, ^uint64(0), rows)
	before := debug.SetMemoryLimit(-1)
	got, res, err := run(t, []Source{source(t, "a", a), source(t, "b", b)},
		Options{Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}, Mem: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0], want) {
		t.Error("merge under a 1 MiB memory limit differs from a fresh encoding")
	}
	// the run decoded blocks, and holds more than 1 MiB live: the limit
	// rose to what the collector needs, plus the margin
	if res.BlocksDecoded == 0 || !res.MemRaised || res.MemLimit < 32<<20 {
		t.Errorf("under 1 MiB: %d blocks decoded, limit raised %v to %d; want it raised past 32 MiB", res.BlocksDecoded, res.MemRaised, res.MemLimit)
	}
	if after := debug.SetMemoryLimit(-1); after != before {
		t.Errorf("memory limit %d after the run, %d before", after, before)
	}
	// a limit above what the run holds stays as given
	_, res, err = run(t, []Source{source(t, "a", a), source(t, "b", b)},
		Options{Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}, Mem: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if res.MemRaised || res.MemLimit != 1<<40 {
		t.Errorf("under 1 TiB: limit raised %v to %d", res.MemRaised, res.MemLimit)
	}
	if after := debug.SetMemoryLimit(-1); after != before {
		t.Errorf("memory limit %d after the run, %d before", after, before)
	}
}

// randomCuts picks up to max increasing cut keys: host keys of rows (a
// cut there starts a host's range) or, now and then, keys between hosts.
func randomCuts(rng *rand.Rand, rows []record.Record, max int) []uint64 {
	var cuts []uint64
	for range rng.IntN(max + 1) {
		k := rows[rng.IntN(len(rows))].HostKey
		if rng.IntN(4) == 0 && k > 0 {
			k -= uint64(rng.IntN(1000)) // between hosts, usually
		}
		if k > 0 {
			cuts = append(cuts, k)
		}
	}
	slices.Sort(cuts)
	return slices.Compact(cuts)
}

// fuzzSample adds the seeds 0 to 7 and returns the sample's rows.
func fuzzSample(f *testing.F) []record.Record {
	for seed := range uint64(8) {
		f.Add(seed)
	}
	return sampleRows(f)
}

// stretch returns a generator for a fuzz seed and a random stretch of
// rows, so that files start and end anywhere.
func stretch(seed uint64, rows []record.Record) (*rand.Rand, []record.Record) {
	rng := rand.New(rand.NewPCG(seed, seed>>32|1))
	i := rng.IntN(len(rows))
	return rng, rows[i : i+1+rng.IntN(len(rows)-i)]
}

// FuzzEvenCuts: cutting a random stretch of rows into n ranges, as one
// file, as files of disjoint ranges (a merge), or spread over files of
// one range (a fold): the cuts tile the range, no range is without a
// row, and, but for a fold, there are n ranges whenever there are n hosts.
func FuzzEvenCuts(f *testing.F) {
	rows := fuzzSample(f)
	f.Fuzz(func(t *testing.T, seed uint64) {
		rng, sub := stretch(seed, rows)
		hosts := map[uint64]bool{}
		for _, r := range sub {
			hosts[r.HostKey] = true
		}
		open := func(id, lo, hi uint64, part []record.Record) *Input {
			b := encode(t, id, lo, hi, part)
			f, err := codec.OpenFile(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			return &Input{Path: fmt.Sprint(id), File: f}
		}
		var ins []*Input
		mode := rng.IntN(3)
		switch mode {
		case 0: // one file
			ins = append(ins, open(1, 0, ^uint64(0), sub))
		case 1: // disjoint ranges, merged
			parts, err := Ranges(0, ^uint64(0), randomCuts(rng, sub, 4), 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range parts {
				ins = append(ins, open(o.ID, o.Lo, o.Hi, inRange(sub, o.Lo, o.Hi)))
			}
		case 2: // one range, rows spread over files, folded
			spread := make([][]record.Record, 2+rng.IntN(2))
			for _, r := range sub {
				i := rng.IntN(len(spread))
				spread[i] = append(spread[i], r)
			}
			for i, part := range spread {
				ins = append(ins, open(uint64(i+1), 0, ^uint64(0), part))
			}
		}
		n := 1 + rng.IntN(2*len(hosts)+2)
		cuts, err := EvenCuts(ins, n)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := Ranges(0, ^uint64(0), cuts, 0)
		if err != nil {
			t.Fatalf("mode %d, n=%d: %v", mode, n, err)
		}
		if len(outs) > n || mode < 2 && len(outs) != min(n, len(hosts)) {
			t.Fatalf("mode %d: %d ranges for n=%d and %d hosts", mode, len(outs), n, len(hosts))
		}
		for _, o := range outs {
			if len(inRange(sub, o.Lo, o.Hi)) == 0 {
				t.Fatalf("mode %d, n=%d: range %#x..%#x holds no row", mode, n, o.Lo, o.Hi)
			}
		}
	})
}

// FuzzMergeIdentity: a file split at random host keys gives, for each
// range, the bytes of a fresh encoding of its rows; those parts, in random
// order, merged and cut again at other random keys give fresh encodings
// again; merged whole they give the original bytes. Small blocks (shift 5)
// put the cuts at every kind of place: inside blocks, on content
// boundaries, next to the row cap.
func FuzzMergeIdentity(f *testing.F) {
	rows := fuzzSample(f)
	f.Fuzz(func(t *testing.T, seed uint64) {
		rng, sub := stretch(seed, rows)
		all := encode(t, 1, 0, ^uint64(0), sub)
		fresh := func(o Output) []byte { return encode(t, o.ID, o.Lo, o.Hi, inRange(sub, o.Lo, o.Hi)) }
		check := func(what string, srcs []Source, outs []Output) []Source {
			got, _, err := run(t, srcs, Options{Outputs: outs})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			var next []Source
			for j, o := range outs {
				if !bytes.Equal(got[j], fresh(o)) {
					t.Fatalf("%s: output %d (%#x..%#x) differs from a fresh encoding of its rows", what, j, o.Lo, o.Hi)
				}
				next = append(next, source(t, "part", got[j]))
			}
			return next
		}
		first, err := Ranges(0, ^uint64(0), randomCuts(rng, sub, 6), 10)
		if err != nil {
			t.Fatal(err)
		}
		parts := check("split", []Source{source(t, "all", all)}, first)
		rng.Shuffle(len(parts), func(a, b int) { parts[a], parts[b] = parts[b], parts[a] })
		second, err := Ranges(0, ^uint64(0), randomCuts(rng, sub, 6), 20)
		if err != nil {
			t.Fatal(err)
		}
		parts = check("merge and split again", parts, second)
		rng.Shuffle(len(parts), func(a, b int) { parts[a], parts[b] = parts[b], parts[a] })
		back, _, err := run(t, parts, Options{Outputs: []Output{{ID: 1, Lo: 0, Hi: ^uint64(0)}}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back[0], all) {
			t.Fatal("merging the parts back did not give the original bytes")
		}
	})
}

// FuzzFoldGCIdentity: rows spread at random over two or three files, some
// URLs' captures divided between files by time (a base and newer deltas),
// folded with or without GC at a random cutoff and cut at random keys: each
// output is the fresh encoding of its share of the fold of all captures,
// less the tombstones GC drops.
func FuzzFoldGCIdentity(f *testing.F) {
	rows := fuzzSample(f)
	f.Fuzz(func(t *testing.T, seed uint64) {
		rng, sub := stretch(seed, rows)
		nfiles := 2 + rng.IntN(2)
		files := make([][]record.Record, nfiles)
		var want []record.Record
		for _, r := range sub {
			if rng.IntN(4) == 0 {
				// captures split by time over consecutive files
				cs := captures(r.URL, r.HostKey, 1_000_000_000+int64(rng.IntN(1<<20)), 2+rng.IntN(5))
				if rng.IntN(3) == 0 {
					for k := range cs {
						cs[k].HTTPStatus = 404 // a tombstone, maybe old enough to drop
					}
				}
				from := rng.IntN(nfiles)
				at := 1 + rng.IntN(len(cs)-1)
				files[from] = append(files[from], record.Fold(slices.Clone(cs[:at])))
				files[(from+1)%nfiles] = append(files[(from+1)%nfiles], record.Fold(slices.Clone(cs[at:])))
				want = append(want, record.Fold(slices.Clone(cs)))
				continue
			}
			k := rng.IntN(nfiles)
			files[k] = append(files[k], r)
			want = append(want, r)
		}
		gc := rng.IntN(2) == 0
		cutoff := int64(1_000_000_000 + rng.IntN(1<<20))
		if gc {
			want = slices.DeleteFunc(want, func(r record.Record) bool { return r.Status == record.Gone && r.LastSeen < cutoff })
		}
		// and drop a few host groups
		var drop []uint64
		for range rng.IntN(4) {
			drop = append(drop, sub[rng.IntN(len(sub))].HostKey)
		}
		slices.Sort(drop)
		drop = slices.Compact(drop)
		want = slices.DeleteFunc(want, func(r record.Record) bool { _, found := slices.BinarySearch(drop, r.HostKey); return found })
		// and a few URLs, some of which no row has
		var urls []URLKey
		for range rng.IntN(6) {
			r := sub[rng.IntN(len(sub))]
			if rng.IntN(3) == 0 {
				r.URL += "-absent"
			}
			urls = append(urls, URLKey{r.HostKey, r.URL})
		}
		urls = SortURLKeys(urls)
		want = slices.DeleteFunc(want, func(r record.Record) bool {
			_, found := slices.BinarySearchFunc(urls, URLKey{r.HostKey, r.URL}, compareURLKeys)
			return found
		})
		var srcs []Source
		for _, fr := range files {
			slices.SortFunc(fr, func(a, b record.Record) int { return record.CompareKey(a.HostKey, a.URL, b.HostKey, b.URL) })
			srcs = append(srcs, source(t, "in", encode(t, 3, 0, ^uint64(0), fr)))
		}
		outs, err := Ranges(0, ^uint64(0), randomCuts(rng, sub, 4), 3)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := run(t, srcs, Options{Fold: true, GC: gc, Cutoff: cutoff, DropHosts: drop, DropURLs: urls, Outputs: outs})
		if err != nil {
			t.Fatal(err)
		}
		for k, o := range outs {
			if !bytes.Equal(got[k], encode(t, o.ID, o.Lo, o.Hi, inRange(want, o.Lo, o.Hi))) {
				t.Fatalf("output %d (%#x..%#x, gc %v, dropping %#x and %d URLs) differs from a fresh encoding of its rows", k, o.Lo, o.Hi, gc, drop, len(urls))
			}
		}
	})
}

// TestInputsTakeTurns: inputs kept open one at a time (as under an
// open-file limit below their count) merge, and fold, to the bytes they
// give all open at once; an input replaced under its name while the run
// reads it is refused, naming it, rather than read.
func TestInputsTakeTurns(t *testing.T) {
	rows := sampleRows(t)
	dir := t.TempDir()
	cuts := []uint64{0, rows[len(rows)/4].HostKey, rows[len(rows)/2].HostKey, rows[3*len(rows)/4].HostKey}
	var parts, deltas []string
	for i, lo := range cuts {
		hi := ^uint64(0)
		if i+1 < len(cuts) {
			hi = cuts[i+1] - 1
		}
		parts = append(parts, writeFile(t, dir, fmt.Sprint("p", i), uint64(i), lo, hi, inRange(rows, lo, hi)))
		// every row in one of three files of the whole range
		var d []record.Record
		for j := i; j < len(rows); j += len(cuts) {
			d = append(d, rows[j])
		}
		deltas = append(deltas, writeFile(t, dir, fmt.Sprint("d", i), 0, 0, ^uint64(0), d))
	}
	merged := func(paths []string, fold bool) ([]byte, error) {
		t.Helper()
		ins, err := OpenInputs(paths)
		if err != nil {
			t.Fatal(err)
		}
		defer CloseInputs(ins)
		out, _, err := run(t, Sources(ins), Options{Fold: fold, Outputs: []Output{{ID: 0, Lo: 0, Hi: ^uint64(0)}}})
		return out[0], err
	}
	open, err := merged(parts, false)
	if err != nil {
		t.Fatal(err)
	}
	folded, err := merged(deltas, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func(f func() *fdpool.Pool) { newPool = f }(newPool)
	newPool = func() *fdpool.Pool { return fdpool.New(1) }
	if b, err := merged(parts, false); err != nil || !bytes.Equal(b, open) {
		t.Errorf("merged one input open at a time: %v, same bytes %v", err, bytes.Equal(b, open))
	}
	if b, err := merged(deltas, true); err != nil || !bytes.Equal(b, folded) {
		t.Errorf("folded one input open at a time: %v, same bytes %v", err, bytes.Equal(b, folded))
	}

	ins, err := OpenInputs(parts)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	// parts[0] was let go of when the others were opened
	os.Rename(parts[1], parts[0])
	_, _, err = run(t, Sources(ins), Options{Outputs: []Output{{ID: 0, Lo: 0, Hi: ^uint64(0)}}})
	if want := parts[0] + " was replaced by another file while this run used it"; err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("input replaced: %v; want %q, not damage", err, want)
	}
}
