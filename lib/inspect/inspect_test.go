package inspect

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/codec"
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
	golden, err := os.ReadFile("../../testdata/sample.meguri")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := codec.ReadAll(bytes.NewReader(golden))
	if err != nil {
		t.Fatal(err)
	}
	h := codec.Header{Hi: ^uint64(0), Shift: 5}
	var buf bytes.Buffer
	if err := codec.WriteAll(&buf, h, rows); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	var all bytes.Buffer
	if err := (&Source{Name: "s", r: bytes.NewReader(data)}).Rows(&all); err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{}
	var keys []uint64
	for _, line := range strings.SplitAfter(all.String(), "\n") {
		if line == "" {
			continue
		}
		i := strings.Index(line, `"host_key":"`)
		k, err := units.ParseKey(line[i+12 : i+30])
		if err != nil {
			t.Fatal(err)
		}
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
			n, err := src.HostRows(&got, key)
			if err != nil {
				t.Fatalf("%s %s: %v", src.Name, units.Key(k), err)
			}
			if got.String() != want[k] || n != strings.Count(want[k], "\n") {
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
		if _, err := src.HostRows(&bytes.Buffer{}, func(canon.Grouping) (uint64, error) { return 0, boom }); err != boom {
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
		n, err := (&Source{Name: "f", File: f}).HostRows(bufio.NewWriter(&bytes.Buffer{}), func(got canon.Grouping) (uint64, error) {
			asked = got
			return 1, nil
		})
		if err != nil || n != 0 || asked != g {
			t.Errorf("grouping %v: asked %v, %d rows, %v", g, asked, n, err)
		}
	}
}
