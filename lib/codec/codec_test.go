package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/meguri/meguri/lib/record"
)

// The golden files: the sample ingested in the current format, and the
// same rows in format version 1 (written by the first releases).
const (
	golden   = "../../testdata/sample.meguri"
	goldenV1 = "../../testdata/sample-v1.meguri"
)

func readAll(b []byte) ([]record.Record, error) { return ReadAll(bytes.NewReader(b)) }

func readAllAt(b []byte) ([]record.Record, error) {
	f, err := OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	var out []record.Record
	for i := range f.Blocks {
		blk, err := f.ReadBlock(i)
		if err != nil {
			return nil, err
		}
		recs, err := blk.Decode()
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// encode writes rows into a new file with header h.
func encode(t *testing.T, h Header, rows []record.Record, opts ...Option) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteAll(&buf, h, rows, opts...); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// TestRewrite: decoding a golden file and writing its rows again gives the
// same bytes, with small blocks too (many boundaries), in each version.
func TestRewrite(t *testing.T) {
	for _, g := range []string{golden, goldenV1} {
		t.Run(g[len("../../testdata/"):], func(t *testing.T) { checkRewrite(t, g) })
	}
}

// readGolden returns a golden file's bytes and rows.
func readGolden(t testing.TB, path string) ([]byte, []record.Record) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, rows
}

func checkRewrite(t *testing.T, path string) {
	want, rows := readGolden(t, path)
	f, _ := OpenFile(bytes.NewReader(want), int64(len(want)))
	buf := encode(t, f.Header, rows, WithConcurrency(1))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("rewriting the golden rows gives different bytes")
	}
	// small blocks: many blocks, same rows back, by both readers
	h := f.Header
	h.Shift = 5
	buf = encode(t, h, rows)
	for _, read := range []func([]byte) ([]record.Record, error){readAll, readAllAt} {
		back, err := read(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if d := diffRows(back, rows); d != "" {
			t.Fatal(d)
		}
	}
	sf, _ := OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if len(sf.Blocks) < 20 {
		t.Fatalf("shift 5 gave only %d blocks", len(sf.Blocks))
	}
	// every row is found by Find, reading one block
	for _, i := range []int{0, 1, len(rows) / 2, len(rows) - 1} {
		got, ok, err := sf.Find(rows[i].HostKey, rows[i].URL)
		if err != nil || !ok || got != rows[i] {
			t.Fatalf("Find row %d: %v %v", i, ok, err)
		}
	}
	if _, ok, _ := sf.Find(rows[0].HostKey, rows[0].URL+"zz-absent"); ok {
		t.Fatal("Find found an absent URL")
	}
}

func TestWriterRefusesDisorder(t *testing.T) {
	w, _ := NewWriter(io.Discard, Header{Lo: 10, Hi: 20})
	a := record.Record{URL: "http://b/", HostKey: 12}
	b := record.Record{URL: "http://a/", HostKey: 12}
	if err := w.Add(&a); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(&b); !errors.Is(err, ErrOrder) {
		t.Fatalf("out-of-order row: %v", err)
	}
	c := record.Record{URL: "http://c/", HostKey: 21}
	if err := w.Add(&c); !errors.Is(err, ErrOrder) {
		t.Fatalf("out-of-range row: %v", err)
	}
}

// diffRows says how got differs from want, or returns "".
func diffRows(got, want []record.Record) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	return ""
}

// checkDamaged reads damaged bytes both ways; it must never panic and must
// fail (damage is never silently accepted) unless the rows are intact.
func checkDamaged(t *testing.T, b []byte, what string, rows []record.Record) {
	t.Helper()
	for name, read := range map[string]func([]byte) ([]record.Record, error){"stream": readAll, "file": readAllAt} {
		got, err := read(b)
		if err == nil {
			// Every byte is covered by a checksum or checked for zero:
			// damage that still decodes to the same rows is damage too.
			if d := diffRows(got, rows); d != "" {
				t.Fatalf("%s (%s): no error but %s", what, name, d)
			}
			t.Fatalf("%s (%s): no error, though the rows are intact", what, name)
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotMeguri) && !errors.Is(err, ErrVersion) {
			t.Fatalf("%s (%s): error %v is not a corruption error", what, name, err)
		}
	}
}

// TestDamage flips bytes in every region and truncates everywhere, in
// files of each version.
func TestDamage(t *testing.T) {
	for _, g := range []string{golden, goldenV1} {
		t.Run(g[len("../../testdata/"):], func(t *testing.T) { checkDamage(t, g) })
	}
}

func checkDamage(t *testing.T, path string) {
	orig, rows := readGolden(t, path)
	step := 1
	if testing.Short() {
		step = 97
	}
	flips := 0
	for i := 0; i < len(orig); i += step {
		if i > 4096 && i < len(orig)-4096 && i%53 != 0 {
			continue // the middle of pages: sample it
		}
		b := bytes.Clone(orig)
		b[i] ^= 0x40
		checkDamaged(t, b, fmt.Sprintf("flip at %d", i), rows)
		flips++
	}
	for n := 0; n < len(orig); n += max(1, len(orig)/400) {
		checkDamaged(t, orig[:n], fmt.Sprintf("truncated to %d", n), rows)
	}
	t.Logf("%d flips checked", flips)
}

func TestDamageMessages(t *testing.T) {
	orig, _ := os.ReadFile(golden)
	f, _ := OpenFile(bytes.NewReader(orig), int64(len(orig)))
	blk, _ := f.ReadBlock(0)
	_ = blk
	// a byte inside the first block's url page
	b := bytes.Clone(orig)
	hlen := int(f.Blocks[0].Offset) + int(uint32(orig[f.Blocks[0].Offset+4])|uint32(orig[f.Blocks[0].Offset+5])<<8)
	// first page is "host"; skip it to land in "url"
	b[hlen+int(blk.descs[ColHost].stored)+3] ^= 1
	_, err := readAllAt(b)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Region != "page" || ce.Column != "url" || ce.Block != 0 {
		t.Fatalf("url page damage: %v", err)
	}
	b = bytes.Clone(orig)
	b[20] ^= 1
	if _, err := readAll(b); !errors.As(err, &ce) || ce.Region != "header" {
		t.Fatalf("header damage: %v", err)
	}
	b = bytes.Clone(orig)
	b[len(b)-20] ^= 1
	if _, err := readAllAt(b); !errors.As(err, &ce) || ce.Region != "trailer" {
		t.Fatalf("trailer damage: %v", err)
	}
	for _, v := range []byte{0, Version + 1} {
		b = bytes.Clone(orig)
		b[8] = v
		binary.LittleEndian.PutUint32(b[60:], crc(b[:60]))
		want := fmt.Sprintf("unsupported .meguri format version %d (this build reads versions 1 to 2)", v)
		if _, err := readAll(b); !errors.Is(err, ErrVersion) || err.Error() != want {
			t.Fatalf("version %d: %v", v, err)
		}
	}
}

// TestJoined: files joined end to end are named as such, with where the
// later one begins, read from a stream (which meets the first join) and
// from a file (which reads the last file's trailer); a join's first bytes
// alone are still "bytes after the trailer".
func TestJoined(t *testing.T) {
	a, _ := os.ReadFile(golden)
	b, _ := os.ReadFile(goldenV1)
	ab, abb := slices.Concat(a, b), slices.Concat(a, b, b)
	for _, c := range []struct {
		name   string
		read   func([]byte) ([]record.Record, error)
		data   []byte
		joined int64 // -1: not a join
	}{
		{"stream", readAll, ab, int64(len(a))},
		{"stream of three", readAll, abb, int64(len(a))},
		{"file", readAllAt, ab, int64(len(a))},
		{"file of three", readAllAt, abb, int64(len(a) + len(b))},
		{"stream, a magic's half after", readAll, slices.Concat(a, b[:4]), -1},
		{"file, a byte after", readAllAt, slices.Concat(ab, []byte{0}), -1},
	} {
		_, err := c.read(c.data)
		var je *JoinedError
		if c.joined < 0 {
			if errors.As(err, &je) || !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: %v, want a corruption error", c.name, err)
			}
			continue
		}
		if !errors.As(err, &je) || je.At != c.joined || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want joined at %d", c.name, err, c.joined)
		}
	}
}

// TestVersions: the two golden files hold the same rows, each version's
// writer gives its golden bytes, and host keys that are no suffix of
// their URLs' hosts (the escape in version 2) round-trip in both.
func TestVersions(t *testing.T) {
	v2, rows := readGolden(t, golden)
	v1, rows1 := readGolden(t, goldenV1)
	if d := diffRows(rows1, rows); d != "" {
		t.Fatalf("v1 against v2: %s", d)
	}
	f, _ := OpenFile(bytes.NewReader(v2), int64(len(v2)))
	if f.Header.Version != 2 || len(v1) <= len(v2) {
		t.Fatalf("golden is version %d, %d bytes; v1 %d bytes", f.Header.Version, len(v2), len(v1))
	}
	h := f.Header
	h.Version = 0 // the default
	if !bytes.Equal(encode(t, h, rows).Bytes(), v2) {
		t.Fatal("the default version does not give the golden bytes")
	}
	h.Version = 1
	if !bytes.Equal(encode(t, h, rows).Bytes(), v1) {
		t.Fatal("version 1 does not give the v1 golden bytes")
	}
	// every other host run gets a key of its own, so version 2 must store
	// those keys (g = 0) and derive the others
	odd := slices.Clone(rows)
	run := 0
	for i := range odd {
		if i > 0 && rows[i].HostKey != rows[i-1].HostKey {
			run++
		}
		if run%2 == 1 {
			odd[i].HostKey++
		}
	}
	for i := range rows {
		if g := groupLen(rows[i].URL, rows[i].HostKey); g == 0 {
			t.Fatalf("row %d: no suffix of %s's host hashes to its key", i, rows[i].URL)
		}
		if g := groupLen(odd[i].URL, odd[i].HostKey); (g == 0) != (odd[i].HostKey != rows[i].HostKey) {
			t.Fatalf("row %d: groupLen %d for key %#x", i, g, odd[i].HostKey)
		}
	}
	h.Shift = 5
	for _, v := range []uint16{1, 2} {
		h.Version = v
		back, err := readAll(encode(t, h, odd).Bytes())
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if !slices.Equal(back, odd) {
			t.Fatalf("v%d: rows with stored host keys do not round-trip", v)
		}
	}
	for _, v := range []uint16{3, 99} {
		if _, err := NewWriter(io.Discard, Header{Version: v}); !errors.Is(err, ErrVersion) {
			t.Fatalf("writer took version %d: %v", v, err)
		}
	}
}

func FuzzReader(f *testing.F) {
	orig, err := os.ReadFile(golden)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(orig)
	if v1, err := os.ReadFile(goldenV1); err == nil {
		f.Add(v1)
	}
	f.Add(orig[:HeaderSize])
	f.Add([]byte("\x89MGR\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		readAll(b)
		readAllAt(b)
	})
}

// reseal returns a copy of b with every checksum it can find recomputed:
// the header's, each block header's and page's, the footer's and the
// trailer's. Checksums keep damaged bytes away from the column decoders;
// a resealed file reaches them, as a file from a faulty or hostile writer
// would.
func reseal(b []byte) []byte {
	b = bytes.Clone(b)
	le := binary.LittleEndian
	if len(b) >= HeaderSize {
		le.PutUint32(b[60:], crc(b[:60]))
	}
	off := HeaderSize
	for off+8 <= len(b) && string(b[off:off+4]) == blockMagic {
		h := int(le.Uint32(b[off+4:]))
		if h < 8+blockFixed+numCols*pageDescLen+4 || h > len(b)-off {
			break
		}
		hdr := b[off : off+h]
		descs, pos := hdr[h-4-numCols*pageDescLen:h-4], off+h
		for i := 0; i < numCols; i++ {
			d := descs[i*pageDescLen:]
			n := int(le.Uint32(d[8:]))
			if n > len(b)-pos {
				break
			}
			le.PutUint32(d[12:], crc(b[pos:pos+n]))
			pos += n
		}
		le.PutUint32(hdr[h-4:], crc(hdr[:h-4]))
		off = pos
	}
	if len(b) >= HeaderSize+TrailerSize {
		t := b[len(b)-TrailerSize:]
		foff, flen := le.Uint64(t), le.Uint64(t[8:])
		if foff <= uint64(len(b)) && flen <= uint64(len(b))-foff {
			le.PutUint32(t[60:], crc(b[foff:foff+flen]))
		}
		le.PutUint32(t[64:], crc(t[:64]))
	}
	return b
}

// FuzzResealed: a file whose bytes are damaged under valid checksums
// reads back as an error or as rows, never a panic or an allocation of
// what its lengths claim rather than what it holds; the stream reader and
// the random-access one read the same rows. The seeds are files of a few
// small blocks, in each format version, whose pages are mostly stored
// raw, so that mutations reach the column decoders rather than zstd (the
// golden files, 1 ms a read, slowed the fuzzer tenfold; FuzzReader has
// them).
func FuzzResealed(f *testing.F) {
	orig, rows := readGolden(f, golden)
	o, _ := OpenFile(bytes.NewReader(orig), int64(len(orig)))
	h := o.Header
	h.Shift = 4
	for _, v := range []uint16{1, 2} {
		h.Version = v
		var small bytes.Buffer
		if err := WriteAll(&small, h, rows[:40]); err != nil {
			f.Fatal(err)
		}
		f.Add(small.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = reseal(b)
		a, errA := readAll(b)
		r, errR := readAllAt(b)
		if errA == nil && errR == nil && !slices.Equal(a, r) {
			t.Fatalf("the stream reader and the random-access one read different rows")
		}
	})
}

// TestHostileLengths: lengths under valid checksums that claim more than
// a block can hold are refused, by both readers, naming what is wrong,
// before anything is allocated for them: rows past the block cap, a page
// longer than its column can be. Pages that claim gigabytes in a stream
// that then ends cost the memory the stream held, not what they claimed.
func TestHostileLengths(t *testing.T) {
	orig, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	hlen := int(le.Uint32(orig[HeaderSize+4:]))
	// desc is block 0's page descriptor of column id
	desc := func(b []byte, id int) []byte {
		for i := range numCols {
			if d := b[HeaderSize+hlen-4-(numCols-i)*pageDescLen:]; int(d[0]) == id {
				return d
			}
		}
		t.Fatalf("block 0 has no page of column %d", id)
		return nil
	}
	if desc(orig, ColStatus)[1] != codecZstd || desc(orig, ColURL)[1] != codecZstd {
		t.Fatal("bad fixture: block 0's status and url pages are not compressed")
	}
	const block0 = "corrupt .meguri: block 0 at offset 64: "
	for _, c := range []struct {
		name string
		mod  func(b []byte)
		want string
	}{
		{"rows past the cap", func(b []byte) { le.PutUint32(b[HeaderSize+8:], 1<<32-1) },
			"malformed header: 4294967295 rows, more than a block of shift 15 holds (131072)"},
		{"a status page of other than a byte a row", func(b []byte) { le.PutUint32(desc(b, ColStatus)[4:], 1<<31) },
			"malformed page directory: 1736 rows cannot make a status page of 2147483648 bytes"},
		{"a url page past the page cap", func(b []byte) { le.PutUint32(desc(b, ColURL)[4:], 1<<30+1) },
			"malformed page directory: 1736 rows cannot make a url page of 1073741825 bytes"},
	} {
		b := bytes.Clone(orig)
		c.mod(b)
		b = reseal(b)
		for name, read := range map[string]func([]byte) ([]record.Record, error){"stream": readAll, "random access": readAllAt} {
			if _, err := read(b); !errors.Is(err, ErrCorrupt) || err.Error() != block0+c.want {
				t.Errorf("%s, read by the %s reader: %v\nwant %s%s", c.name, name, err, block0, c.want)
			}
		}
	}
	// a stream whose url page claims 3 GiB of stored bytes, then ends
	b := bytes.Clone(orig)
	le.PutUint32(desc(b, ColURL)[8:], 3<<30)
	b = reseal(b)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = readAll(b)
	runtime.ReadMemStats(&after)
	if want := block0 + "truncated pages"; !errors.Is(err, ErrCorrupt) || err.Error() != want {
		t.Errorf("pages claiming 3 GiB: %v, want %s", err, want)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 256<<20 {
		t.Errorf("pages claiming 3 GiB in a stream of %d bytes: %d MiB allocated", len(b), got>>20)
	}
}

// TestWriterValueLimits: the writer refuses a row the reader would refuse
// (so it never writes a file no reader reads), and takes the largest
// values the format holds, which read back.
func TestWriterValueLimits(t *testing.T) {
	base := record.Record{URL: "http://a.example/", HostKey: xxhash.Sum64String("a.example"), Status: record.Crawled, HTTPStatus: 200, FirstSeen: 1, LastSeen: 2, Captures: 1}
	h := Header{Version: 2, Shift: DefaultShift, Hi: math.MaxUint64}
	for name, mod := range map[string]func(r *record.Record){
		"http_status 1000":      func(r *record.Record) { r.HTTPStatus = 1000 },
		"last_seen 2^62":        func(r *record.Record) { r.LastSeen = 1 << 62 },
		"length 2^62":           func(r *record.Record) { r.Length = record.LengthLimit },
		"a negative first_seen": func(r *record.Record) { r.FirstSeen = -1 },
	} {
		r := base
		mod(&r)
		w, _ := NewWriter(io.Discard, h)
		if err := w.Add(&r); err == nil || err.Error() != "invalid record http://a.example/" {
			t.Errorf("%s: %v", name, err)
		}
	}
	r := base
	r.HTTPStatus, r.LastSeen, r.Length = 999, 1<<62-1, record.LengthLimit-1
	back, err := readAll(encode(t, h, []record.Record{r}).Bytes())
	if err != nil || len(back) != 1 || back[0] != r {
		t.Fatalf("the largest values: %+v, %v", back, err)
	}
}

// TestCopyBlock: copying a file's boundary blocks into a new writer, and
// re-encoding only the rest, gives the bytes of a fresh encoding. This is
// what lets compaction pass untouched blocks through without decoding them.
func TestCopyBlock(t *testing.T) {
	orig, _ := os.ReadFile(golden)
	rows, _ := readAll(orig)
	f0, _ := OpenFile(bytes.NewReader(orig), int64(len(orig)))
	h := f0.Header
	h.Shift = 5
	fresh := encode(t, h, rows)
	f, err := OpenFile(bytes.NewReader(fresh.Bytes()), int64(fresh.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, _ := NewWriter(&out, h)
	copied := 0
	for i := range f.Blocks {
		b, err := f.ReadBlock(i)
		if err != nil {
			t.Fatal(err)
		}
		// copy every other boundary block, re-encode the rest row by row
		if b.Info.Boundary && w.Pending() == 0 && i%2 == 0 {
			if err := w.CopyBlock(b); err != nil {
				t.Fatal(err)
			}
			copied++
			continue
		}
		recs, err := b.Decode()
		if err != nil {
			t.Fatal(err)
		}
		for k := range recs {
			if err := w.Add(&recs[k]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if copied < 5 {
		t.Fatalf("only %d blocks copied", copied)
	}
	if !bytes.Equal(out.Bytes(), fresh.Bytes()) {
		t.Fatal("copying blocks gives different bytes from a fresh encoding")
	}
	// a copied block out of order is refused
	w, _ = NewWriter(io.Discard, h)
	b1, _ := f.ReadBlock(1)
	b0, _ := f.ReadBlock(0)
	if err := w.CopyBlock(b1); err != nil {
		t.Fatal(err)
	}
	if err := w.CopyBlock(b0); !errors.Is(err, ErrOrder) {
		t.Fatalf("out-of-order copy: %v", err)
	}
	// a block of another format version is refused
	h.Version = 1
	w, _ = NewWriter(io.Discard, h)
	if err := w.CopyBlock(b0); !errors.Is(err, ErrVersion) {
		t.Fatalf("copy of a version %d block into a version 1 file: %v", b0.Version, err)
	}
}

// capRows returns n rows of one host, none of whose URLs ends a block by
// the content rule under shift s: blocks of them end at the row cap.
func capRows(n int, s uint8) []record.Record {
	var rows []record.Record
	for i := 0; len(rows) < n; i++ {
		u := fmt.Sprintf("http://cap.example/%06d", i)
		if xxhash.Sum64String(u)&(1<<s-1) != 0 {
			rows = append(rows, record.Record{URL: u, HostKey: 7, Status: record.Discovered})
		}
	}
	return rows
}

// TestCopyCapAndLastBlocks: blocks that end at the row cap, and a file's
// last block, copy byte for byte too; nothing can follow a copied block
// that ended only because its file did.
func TestCopyCapAndLastBlocks(t *testing.T) {
	const s = 5
	h := Header{Shift: s, Hi: ^uint64(0)}
	rows := capRows(2*MaxBlockRows(s)+44, s)
	fresh := encode(t, h, rows)
	f, err := OpenFile(bytes.NewReader(fresh.Bytes()), int64(fresh.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Blocks) != 3 || f.Blocks[0].Boundary || f.Blocks[0].Rows != uint32(MaxBlockRows(s)) || f.Blocks[2].Rows != 44 {
		t.Fatalf("want blocks of %d, %d and 44 rows ending at the cap and the file's end; got %+v", MaxBlockRows(s), MaxBlockRows(s), f.Blocks)
	}
	var out bytes.Buffer
	w, _ := NewWriter(&out, h)
	for i := range f.Blocks {
		b, err := f.ReadBlock(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.CopyBlock(b); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
	}
	if err := w.Add(&record.Record{URL: "http://later.example/", HostKey: 8, Status: record.Discovered}); !errors.Is(err, errSealed) {
		t.Fatalf("a row after a copied last block: %v", err)
	}
	b0, _ := f.ReadBlock(0)
	if err := w.CopyBlock(b0); !errors.Is(err, errSealed) {
		t.Fatalf("a block after a copied last block: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), fresh.Bytes()) {
		t.Fatal("copying cap-ended and last blocks gives different bytes from a fresh encoding")
	}
}

// TestNotMeguriHint: a stream that is not a .meguri file is refused with
// ErrNotMeguri, from a pipe and from a file; where it starts like CDX
// input (text, gzip, zstd) the error says so and names meguri-ingest.
func TestNotMeguriHint(t *testing.T) {
	pad := func(s string) []byte { return append([]byte(s), make([]byte, 200)...) }
	for _, c := range []struct {
		in    []byte
		looks string
	}{
		{pad(`{"urlkey":"com,example)/","timestamp":"20240101000000"}`), "text"},
		{pad("com,example)/ 20240101000000 {\"url\":\"http://example.com/\"}"), "text"},
		{pad("h\xc3\xa9llo w\xc3"), "text"}, // UTF-8, its last rune cut by the 8-byte window
		{append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, make([]byte, 200)...), "gzip"},
		{append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x24, 0, 0, 0}, make([]byte, 200)...), "zstd"},
		{append([]byte{0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x90, 0x07}, make([]byte, 200)...), ""},
		{pad("ab\x00cdefgh"), ""},
	} {
		_, rerr := NewReader(bytes.NewReader(c.in))
		_, ferr := OpenFile(bytes.NewReader(c.in), int64(len(c.in)))
		for _, err := range []error{rerr, ferr} {
			if !errors.Is(err, ErrNotMeguri) {
				t.Errorf("%q: %v, want ErrNotMeguri", c.in[:8], err)
				continue
			}
			hint := "it starts like " + c.looks + ", as CDX input does: meguri-ingest reads that"
			if c.looks == "gzip" || c.looks == "zstd" {
				hint = "it is compressed with " + c.looks + ": CDX input (meguri-ingest reads that), or a compressed .meguri file (decompress it first)"
			}
			if got := strings.Contains(err.Error(), "meguri-ingest"); got != (c.looks != "") || c.looks != "" && !strings.Contains(err.Error(), hint) {
				t.Errorf("%q: %v, want the hint %q: %v", c.in[:8], err, hint, c.looks != "")
			}
		}
	}
}

// An empty input is no .meguri file, and says what usually made it: a
// command before that failed, in a pipe or under the shell's >.
func TestEmptyInput(t *testing.T) {
	_, rerr := NewReader(bytes.NewReader(nil))
	_, ferr := OpenFile(bytes.NewReader(nil), 0)
	for _, c := range []struct {
		err, want error
		text      string
	}{
		{rerr, ErrEmptyStream, "empty: not one byte of a .meguri file (did the command that writes it fail?)"},
		{ferr, ErrEmptyFile, "empty (0 bytes): was it written by > from a command that failed? (-o PATH leaves no file when a run fails)"},
	} {
		if !errors.Is(c.err, c.want) || !errors.Is(c.err, ErrNotMeguri) || c.err.Error() != c.text {
			t.Errorf("%v: want %q, which is ErrNotMeguri", c.err, c.text)
		}
	}
}

// TestSlotsFor: the blocks a writer encodes at once follow the budget,
// not the cores, on a machine of many (32 here): three fifths of the
// budget at 64 MiB a block, at most one per core, at least one.
func TestSlotsFor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(32))
	for mem, want := range map[int64]int{4 << 20: 1, 128 << 20: 1, 256 << 20: 2, 1 << 30: 9, 1 << 40: 32} {
		if got := SlotsFor(mem); got != want {
			t.Errorf("SlotsFor(%d MiB) on 32 cores = %d, want %d", mem>>20, got, want)
		}
	}
	runtime.GOMAXPROCS(2)
	if got := SlotsFor(1 << 30); got != 2 {
		t.Errorf("SlotsFor(1 GiB) on 2 cores = %d, want 2", got)
	}
}

// failingAt reads b, then fails with err at offset n: a device error, or
// the writer of a pipe that failed.
type failingAt struct {
	b   []byte
	n   int
	err error
}

func (f *failingAt) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := copy(p, f.b[:min(f.n, len(f.b))])
	f.b, f.n = f.b[k:], f.n-k
	return k, nil
}

func (f *failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(f.n) {
		return 0, f.err
	}
	return copy(p, f.b[off:]), nil
}

// TestReadErrorIsNotDamage: a read that fails, anywhere in a stream or
// in a file's block, returns the reader's own error, not a claim that the
// file is damaged (a pack whose log writer failed said "corrupt .meguri:
// header ... truncated"); a read that ends early still is damage.
func TestReadErrorIsNotDamage(t *testing.T) {
	orig, _ := os.ReadFile(golden)
	cause := errors.New("input/output error")
	for n := 0; n < len(orig); n += max(1, len(orig)/300) {
		_, err := ReadAll(&failingAt{b: orig, n: n, err: cause})
		if !errors.Is(err, cause) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("stream failing at %d: %v", n, err)
		}
	}
	f, err := OpenFile(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	f.r = &failingAt{b: orig, n: int(f.Blocks[0].Offset) + 10, err: cause}
	if _, err := f.ReadBlock(0); !errors.Is(err, cause) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "reading block 0 at offset ") {
		t.Errorf("block read failing: %v", err)
	}
	f.r = &failingAt{b: orig, n: int(f.Blocks[0].Offset) + 10, err: io.ErrUnexpectedEOF}
	if _, err := f.ReadBlock(0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("block read ending early: %v", err)
	}
}
