package inspect

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

// readLog is an io.ReaderAt that records the byte ranges read from it.
type readLog struct {
	b     []byte
	mu    sync.Mutex
	reads [][2]int64
}

func (r *readLog) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	r.reads = append(r.reads, [2]int64{off, off + int64(len(p))})
	r.mu.Unlock()
	return bytes.NewReader(r.b).ReadAt(p, off)
}

// TestHostRows: the records of one host key, from a file and from a stream,
// are exactly the lines of --rows with that key, in order; on a file only
// the blocks whose key span holds the key are read. The golden rows are
// rewritten with small blocks so that host groups span block boundaries.
func TestHostRows(t *testing.T) {
	data, rows, lines := smallBlocks(t)
	want := map[uint64]string{}
	var keys []uint64
	for i, line := range lines {
		k := rows[i].HostKey
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
		want[k] += line
	}
	rl := &readLog{b: data}
	f, err := codec.OpenFile(rl, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Blocks) < 50 {
		t.Fatalf("%d blocks; the test wants many", len(f.Blocks))
	}
	spanning := 0
	for i := 1; i < len(f.Blocks); i++ {
		if f.Blocks[i].FirstHost == f.Blocks[i-1].LastHost {
			spanning++
		}
	}
	if spanning < 5 {
		t.Fatalf("%d host groups span a block boundary; the test wants several", spanning)
	}
	// keys absent from the file: below, above, and between two of its keys
	absent := []uint64{0, ^uint64(0), keys[len(keys)/2] + 1}
	for _, k := range append(keys, absent...) {
		key := func(canon.Grouping) (uint64, error) { return k, nil }
		for _, src := range []*Source{{Name: "file", File: f}, {Name: "stream", r: bytes.NewReader(data)}} {
			rl.reads = nil
			var got bytes.Buffer
			held, n, err := src.HostRows(&got, nil, nil, key)
			if err != nil {
				t.Fatalf("%s %s: %v", src.Name, units.Key(k), err)
			}
			if got.String() != want[k] || n != strings.Count(want[k], "\n") || held != n {
				t.Fatalf("%s %s: %d rows\n%s\nwant\n%s", src.Name, units.Key(k), n, got.String(), want[k])
			}
			if src.File == nil {
				continue
			}
			for _, r := range rl.reads {
				if !inBlockOf(f, k, r) {
					t.Fatalf("host %s read bytes %d..%d, outside the blocks that hold it", units.Key(k), r[0], r[1])
				}
			}
		}
	}
	// a key function's error stops the run before anything is read
	boom := fmt.Errorf("boom")
	for _, src := range []*Source{{Name: "file", File: f}, {Name: "stream", r: bytes.NewReader(data)}} {
		if _, _, err := src.HostRows(&bytes.Buffer{}, nil, nil, func(canon.Grouping) (uint64, error) { return 0, boom }); err != boom {
			t.Errorf("%s: error %v, want %v", src.Name, err, boom)
		}
	}
}

// inBlockOf reports whether byte range r lies inside a block whose key span
// holds k.
func inBlockOf(f *codec.File, k uint64, r [2]int64) bool {
	for _, b := range f.Blocks {
		if b.FirstHost <= k && k <= b.LastHost && b.Offset <= r[0] && r[1] <= b.Offset+b.Length {
			return true
		}
	}
	return false
}

// TestHostRowsGrouping: the key function is asked with the file's grouping.
func TestHostRowsGrouping(t *testing.T) {
	for _, g := range []canon.Grouping{canon.ByDomain, canon.ByHost} {
		var buf bytes.Buffer
		if err := codec.WriteAll(&buf, codec.Header{Grouping: uint8(g), Hi: ^uint64(0)}, nil); err != nil {
			t.Fatal(err)
		}
		f, err := codec.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		var asked canon.Grouping = 99
		_, n, err := (&Source{Name: "f", File: f}).HostRows(bufio.NewWriter(&bytes.Buffer{}), nil, nil, func(got canon.Grouping) (uint64, error) {
			asked = got
			return 1, nil
		})
		if err != nil || n != 0 || asked != g {
			t.Errorf("grouping %v: asked %v, %d rows, %v", g, asked, n, err)
		}
	}
}

// smallBlocks returns the golden file's rows rewritten with block shift 5
// (many blocks, hosts spanning them): the file's bytes, its rows, and the
// line --rows prints for each row.
func smallBlocks(t testing.TB) (data []byte, rows []record.Record, lines []string) {
	t.Helper()
	golden, err := os.ReadFile("../../testdata/sample.meguri")
	if err != nil {
		t.Fatal(err)
	}
	if rows, err = codec.ReadAll(bytes.NewReader(golden)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := codec.WriteAll(&buf, codec.Header{Hi: ^uint64(0), Shift: 5}, rows); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	if err := (&Source{Name: "s", r: bytes.NewReader(buf.Bytes())}).Rows(&all, nil, nil); err != nil {
		t.Fatal(err)
	}
	lines = strings.SplitAfter(strings.TrimSuffix(all.String(), "\n"), "\n")
	lines[len(lines)-1] += "\n"
	if len(lines) != len(rows) {
		t.Fatalf("%d rows, %d lines", len(rows), len(lines))
	}
	return buf.Bytes(), rows, lines
}

// smallFile is smallBlocks opened as a file, with its --rows lines by URL
// and its URLs in row order.
func smallFile(t testing.TB) (*codec.File, map[string]string, []string) {
	t.Helper()
	data, rows, lines := smallBlocks(t)
	f, err := codec.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]string{}
	urls := make([]string, len(rows))
	for i := range rows {
		byURL[rows[i].URL] = lines[i]
		urls[i] = rows[i].URL
	}
	return f, byURL, urls
}

// TestLookupLines: a batch lookup prints, in input order, the --rows line
// of every listed URL the file holds (spelled in any way that
// canonicalizes to it, listed more than once, across chunks), or with
// Absent the lines it does not hold, verbatim; lines that are not http(s)
// URLs, or too long, are skipped and reported with their line numbers;
// blank lines are not counted.
func TestLookupLines(t *testing.T) {
	f, byURL, urls := smallFile(t)
	var in, wantPresent, wantAbsent strings.Builder
	wantSkip := map[int]string{}
	line, present, absent := 0, 0, 0
	add := func(text string) { line++; in.WriteString(text) }
	for i := len(urls) - 1; i >= 0; i -= 7 { // backwards: not in key order
		u := urls[i]
		spelled := u
		if i%2 == 0 {
			spelled = strings.ToUpper(u[:4]) + u[4:] + "#frag"
		}
		add(spelled + "\r\n")
		wantPresent.WriteString(byURL[u])
		present++
		if i%3 == 0 {
			add("http://absent-" + fmt.Sprint(i) + ".example/x\n")
			wantAbsent.WriteString("http://absent-" + fmt.Sprint(i) + ".example/x\n")
			absent++
			add("\n")
			add("ftp://example.com/\n")
			wantSkip[line] = `scheme "ftp" is not http(s)`
			add("http://example.com/" + strings.Repeat("a", 3000) + "\n")
			wantSkip[line] = "line too long"
		}
	}
	add(urls[0]) // no line end
	wantPresent.WriteString(byURL[urls[0]])
	present++
	for _, chunk := range []struct{ lines, bytes int }{{0, 0}, {1, 0}, {3, 0}, {1000, 0}, {0, 1}, {1000, 700}} {
		for _, abs := range []bool{false, true} {
			gotSkip := map[int]string{}
			var out bytes.Buffer
			n, err := (&Source{Name: "f", File: f}).LookupLines(strings.NewReader(in.String()), &out, BatchOptions{
				Absent: abs, Chunk: chunk.lines, ChunkBytes: chunk.bytes, MaxLine: 2000,
				Skip: func(l int, text []byte, err error) { gotSkip[l] = err.Error() },
			})
			if err != nil {
				t.Fatal(err)
			}
			want := wantPresent.String()
			if abs {
				want = wantAbsent.String()
			}
			if out.String() != want {
				t.Fatalf("chunk %d absent %v: %+v %v:\n%s\nwant\n%s", chunk, abs, n, gotSkip, out.String(), want)
			}
			// the list ends inside its last line, a URL: told by its number
			if n != (BatchCounts{Lines: present + absent + len(wantSkip), Present: present, Absent: absent, Skipped: len(wantSkip), Unterminated: line}) {
				t.Errorf("chunk %d: counts %+v, want %d present, %d absent, %d skipped", chunk, n, present, absent, len(wantSkip))
			}
			if len(gotSkip) != len(wantSkip) {
				t.Fatalf("skipped lines %v, want %v", gotSkip, wantSkip)
			}
			for l, e := range wantSkip {
				if !strings.Contains(gotSkip[l], e) {
					t.Errorf("line %d skipped with %q, want %q", l, gotSkip[l], e)
				}
			}
		}
	}
	if _, err := (&Source{Name: "s", r: strings.NewReader("")}).LookupLines(strings.NewReader("http://a/\n"), io.Discard, BatchOptions{}); err == nil || !strings.Contains(err.Error(), "not a pipe") {
		t.Errorf("a stream: %v", err)
	}
}

// TestLookupLinesCores: a list long enough to be parsed and looked up on
// several cores at once (each a share of the lines, then of the blocks)
// prints what one core prints: every line's record in input order, or
// the absent lines.
func TestLookupLinesCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	f, byURL, urls := smallFile(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	var in, wantPresent, wantAbsent strings.Builder
	for i := range 30000 {
		if i%7 == 0 {
			u := fmt.Sprintf("http://absent-%d.example/", i)
			in.WriteString(u + "\n")
			wantAbsent.WriteString(u + "\n")
			continue
		}
		u := urls[rnd.IntN(len(urls))]
		in.WriteString(u + "\n")
		wantPresent.WriteString(byURL[u])
	}
	for _, absent := range []bool{false, true} {
		var out bytes.Buffer
		if _, err := (&Source{Name: "f", File: f}).LookupLines(strings.NewReader(in.String()), &out, BatchOptions{Absent: absent, Chunk: 20000}); err != nil {
			t.Fatal(err)
		}
		want := wantPresent.String()
		if absent {
			want = wantAbsent.String()
		}
		if out.String() != want {
			t.Errorf("absent %v: %d bytes printed, want %d", absent, out.Len(), len(want))
		}
	}
}

// TestChunkFor: the default budget gives the chunk that has always been
// the default; others scale it, within floors.
func TestChunkFor(t *testing.T) {
	for _, c := range []struct {
		mem          int64
		lines, bytes int
	}{
		{512 << 20, 1 << 18, 128 << 20},
		{4 << 30, 1 << 21, 1 << 30},
		{128 << 20, 1 << 16, 32 << 20},
		{64 << 10, 64, 64 << 10},
	} {
		if l, b := ChunkFor(c.mem); l != c.lines || b != c.bytes {
			t.Errorf("ChunkFor(%d) = %d lines, %d bytes; want %d, %d", c.mem, l, b, c.lines, c.bytes)
		}
	}
}

// TestLookupProgress: a batch lookup tells Progress the lines read so
// far, blank and skipped ones too, every 4,096 lines, and LookingUp the
// lines and URLs of each chunk before it looks them up.
func TestLookupProgress(t *testing.T) {
	var in strings.Builder
	for i := range 10000 {
		switch i % 3 {
		case 0:
			in.WriteString("\n")
		case 1:
			in.WriteString("ftp://example.com/\n")
		default:
			fmt.Fprintf(&in, "http://example.com/%d\n", i)
		}
	}
	var calls []int
	var chunks [][3]int
	_, err := lookupLines(strings.NewReader(in.String()), io.Discard, BatchOptions{
		Chunk:     5000,
		Progress:  func(lines int) { calls = append(calls, lines) },
		LookingUp: func(first, last, urls int) { chunks = append(chunks, [3]int{first, last, urls}) },
	}, canon.ByDomain, 0, math.MaxUint64, func([]query) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []int{4096, 8192}) {
		t.Errorf("Progress told %v, want [4096 8192]", calls)
	}
	// chunks of 5,000 lines that are not blank (every third is, the
	// first and the last among them), half of them URLs
	if want := [][3]int{{2, 7500, 2500}, {7502, 9999, 833}}; !slices.Equal(chunks, want) {
		t.Errorf("LookingUp told %v, want %v", chunks, want)
	}
}

// TestLookupChunkBytes: a chunk ends at ChunkBytes of what it holds: each
// line's text while it is parsed and its URL, then with --absent the text
// again, otherwise the record line it may print (counted as 256 bytes), so
// long lines make short chunks and the memory of a batch lookup does not
// grow with the length of its lines.
func TestLookupChunkBytes(t *testing.T) {
	u := "http://example.com/" + strings.Repeat("a", 81) // 100 bytes, canonical
	line := `{"url": "` + u + `"}`                       // 111 bytes
	in := strings.Repeat(line+"\n", 10)
	for _, c := range []struct {
		absent bool
		want   []int
	}{
		{true, []int{5, 5}},        // 222 bytes a line: 1,110 held after 5
		{false, []int{3, 3, 3, 1}}, // 367 a line: 1,101 after 3
	} {
		var sizes []int
		_, err := lookupLines(strings.NewReader(in), io.Discard, BatchOptions{Absent: c.absent, ChunkBytes: 1000}, canon.ByDomain, 0, math.MaxUint64,
			func(qs []query) error {
				sizes = append(sizes, len(qs))
				for _, q := range qs {
					if (q.text != nil) != c.absent {
						t.Errorf("absent %v: a query holds its line's text: %v", c.absent, q.text != nil)
					}
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sizes, c.want) {
			t.Errorf("absent %v: chunks of %v lines, want %v", c.absent, sizes, c.want)
		}
	}
}

// TestReadLine: line ends, a last line without one, and lines at, over and
// far over the limit (longer than the reader's buffer), whose rest is read
// past so the next line comes out whole.
func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 100000)
	in := "a\r\nb\n\nc\r\n" + long[:10] + "\n" + long[:11] + "\r\n" + long + "\nd\r\n" + long[:11] + "\ne"
	want := []struct {
		line string
		long bool
	}{{"a", false}, {"b", false}, {"", false}, {"c", false}, {long[:10], false}, {long[:10], true}, {long[:10], true}, {"d", false}, {long[:10], true}, {"e", false}}
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	for i, w := range want {
		got, err := readLine(br, 10)
		if string(got) != w.line || (err == ErrLongLine) != w.long || (err != nil && err != ErrLongLine) {
			t.Fatalf("line %d: %q %v, want %q long %v", i, got, err, w.line, w.long)
		}
	}
	if _, err := readLine(br, 10); err != io.EOF {
		t.Errorf("after the last line: %v, want EOF", err)
	}
}

// FuzzLookupLines: any bytes as a URL list. The lookup never fails on a
// good file, and agrees with a plain oracle: a line (line ends "\n" or
// "\r\n", blank lines aside; a JSON object line stands for its "url"
// string) is skipped when it holds columns (a tab inside it) or does not
// canonicalize, present when its canonical URL is one of the file's, absent otherwise;
// the records printed are those lines' rows, and --absent prints the rest.
func FuzzLookupLines(f *testing.F) {
	file, byURL, urls := smallFile(f)
	f.Add([]byte(urls[0] + "\n" + urls[len(urls)-1] + "\r\nhttp://absent.example/\n\nftp://x/\n"))
	f.Add([]byte("HTTP://" + strings.TrimPrefix(urls[7], "http://") + "#x\r\n\r\n \n"))
	f.Add([]byte("\n\n\r\r\n\x00\xff"))
	f.Add([]byte(`{"url": "` + urls[3] + `", "anchor": "a\tb"}` + "\n{\"URL\": \"" + urls[4] + "\"}\n{\"url\": 5}\n{\"url\": \"http://absent.example/\"}\n{bad\n"))
	f.Add([]byte("com,x)/ 20240101000000 {\"url\": \"" + urls[5] + "\"}\nde,zew)/ 1997 " + urls[6] + " text/html 200 - 5\n CDX N b a m s k r M S V g\n"))
	// whole chunks shared out a line at a time among four cores
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	defer func(m int) { minShare = m }(minShare)
	minShare = 1
	f.Fuzz(func(t *testing.T, in []byte) {
		var wantPresent, wantAbsent strings.Builder
		var n BatchCounts
		lines := strings.Split(string(in), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		} else if t := strings.TrimSpace(strings.TrimSuffix(lines[len(lines)-1], "\r")); t != "" && !strings.HasSuffix(t, "}") && !strings.HasSuffix(t, "]") {
			// it ends inside its last line, which is no blank line and no
			// whole JSON object
			n.Unterminated = len(lines)
		}
		for _, l := range lines {
			l = strings.TrimSuffix(l, "\r")
			if strings.TrimSpace(l) == "" {
				continue
			}
			n.Lines++
			// the URL the line stands for, as ingest reads it (FuzzListURL
			// holds ListURL to the CDX parser)
			u, err := canon.ListURL([]byte(l))
			if err == nil {
				u, err = canon.Canonicalize(u)
			}
			switch {
			case err != nil:
				n.Skipped++
			case byURL[u] != "":
				n.Present++
				wantPresent.WriteString(byURL[u])
			default:
				n.Absent++
				wantAbsent.WriteString(l + "\n")
			}
		}
		for _, c := range []struct {
			absent bool
			chunk  int
		}{{false, 2}, {true, 2}, {false, 0}, {true, 0}} {
			var out bytes.Buffer
			got, err := (&Source{Name: "f", File: file}).LookupLines(bytes.NewReader(in), &out, BatchOptions{Absent: c.absent, Chunk: c.chunk})
			if err != nil {
				t.Fatal(err)
			}
			want := wantPresent.String()
			if c.absent {
				want = wantAbsent.String()
			}
			if got != n || out.String() != want {
				t.Fatalf("%+v: %+v, want %+v\n%q\nwant\n%q", c, got, n, out.String(), want)
			}
		}
	})
}

// TestFiltered: with a filter, --rows, --host and --urls print exactly the
// lines of the records it keeps, from a file and from a stream; a host or
// URL whose records it leaves out still counts as held. The filters range
// from none kept to all kept, with blocks that hold no match (not decoded).
func TestFiltered(t *testing.T) {
	data, rows, lines := smallBlocks(t)
	f, err := codec.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var times []int64
	for i := range rows {
		if rows[i].LastSeen != 0 {
			times = append(times, rows[i].LastSeen)
		}
	}
	slices.Sort(times)
	mid := times[len(times)/2] // the median last capture
	mask := func(ss ...record.Status) uint8 {
		var m uint8
		for _, s := range ss {
			m |= 1 << s
		}
		return m
	}
	filters := []record.Filter{
		{Statuses: mask(record.Gone)},
		{Statuses: mask(record.Discovered)},
		{Statuses: mask(record.Crawled, record.Redirect), UnseenSince: mid},
		{SeenSince: mid},
		{UnseenSince: mid},
		{SeenSince: mid, UnseenSince: mid + 86400*365},
		{SeenSince: mid, UnseenSince: mid}, // an empty window
		{Statuses: 0x7f},
	}
	var list strings.Builder
	for i := range rows {
		list.WriteString(rows[i].URL + "\n")
	}
	skippable := 0
	for _, fl := range filters {
		var want strings.Builder
		kept, byHost := 0, map[uint64]string{}
		for i := range rows {
			if fl.Match(&rows[i]) {
				want.WriteString(lines[i])
				byHost[rows[i].HostKey] += lines[i]
				kept++
			}
		}
		if kept == 0 && fl.UnseenSince != fl.SeenSince {
			t.Fatalf("%+v keeps no row of the sample; the test wants some", fl)
		}
		for _, b := range f.Blocks {
			if !fl.MayMatch(uint64(b.Rows), b.Captures, b.Gone) {
				skippable++
			}
		}
		for _, src := range []*Source{{Name: "file", File: f}, {Name: "stream", r: bytes.NewReader(data)}} {
			var got bytes.Buffer
			if err := src.Rows(&got, nil, &fl); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("%s %+v: %d lines, want %d", src.Name, fl, strings.Count(got.String(), "\n"), kept)
			}
		}
		for i := 0; i < len(rows); i += 17 {
			k := rows[i].HostKey
			var got bytes.Buffer
			held, n, err := (&Source{Name: "file", File: f}).HostRows(&got, nil, &fl, func(canon.Grouping) (uint64, error) { return k, nil })
			if err != nil || got.String() != byHost[k] || n != strings.Count(byHost[k], "\n") || held == 0 {
				t.Fatalf("host %s %+v: held %d, wrote %d, %v:\n%s\nwant\n%s", units.Key(k), fl, held, n, err, got.String(), byHost[k])
			}
		}
		var got bytes.Buffer
		n, err := (&Source{Name: "file", File: f}).LookupLines(strings.NewReader(list.String()), &got, BatchOptions{Filter: fl})
		if err != nil || got.String() != want.String() || n.Present != len(rows) {
			t.Fatalf("urls %+v: %+v, %v, %d lines, want %d", fl, n, err, strings.Count(got.String(), "\n"), kept)
		}
	}
	if skippable == 0 {
		t.Fatal("no filter rules out a whole block; the test wants some")
	}
}

// TestVerifyProgress: Verify tells Progress after each block, file or
// stream alike: the blocks and rows checked so far, ending at the file's
// block and URL counts.
func TestVerifyProgress(t *testing.T) {
	data, rows, _ := smallBlocks(t)
	f, err := codec.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []*Source{{Name: "file", File: f}, {Name: "stream", r: bytes.NewReader(data)}} {
		var calls [][2]uint64
		src.Progress = func(blocks int, rows uint64) { calls = append(calls, [2]uint64{uint64(blocks), rows}) }
		sum, err := src.Verify()
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != len(f.Blocks) || sum.Stats.URLs != uint64(len(rows)) {
			t.Fatalf("%s: %d calls for %d blocks", src.Name, len(calls), len(f.Blocks))
		}
		var done uint64
		for i, c := range calls {
			done += uint64(f.Blocks[i].Rows)
			if c != [2]uint64{uint64(i + 1), done} {
				t.Fatalf("%s: call %d says %v, want [%d %d]", src.Name, i, c, i+1, done)
			}
		}
	}
}
