package cdx

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestPipelineRaw: each batch's Raw counts the bytes read from the inputs
// as stored, over all of them: it never goes back, and the last batch's is
// their total size, compressed or not.
func TestPipelineRaw(t *testing.T) {
	dir := t.TempDir()
	var text bytes.Buffer
	for i := 0; i < 20000; i++ {
		text.WriteString(`{"url": "http://example.com/` + strings.Repeat("x", i%50) + `"}` + "\n")
	}
	plain, gz := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl.gz")
	os.WriteFile(plain, text.Bytes(), 0o644)
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(text.Bytes())
	zw.Close()
	os.WriteFile(gz, zb.Bytes(), 0o644)
	var last, batches int64
	err := Pipeline([]string{plain, gz}, PipelineConfig{MaxLine: 1 << 20, BatchBytes: 16 << 10, Workers: 2}, func(int, *Batch) {}, func(b *Batch) error {
		if b.Raw < last {
			t.Fatalf("raw went back from %d to %d", last, b.Raw)
		}
		last = b.Raw
		batches++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(text.Len() + zb.Len()); last != want || batches < 10 {
		t.Fatalf("last batch's raw %d over %d batches; the inputs hold %d bytes as stored", last, batches, want)
	}
}

// TestPipelineManyInputs: a run over hundreds of small inputs (one line
// each, some empty) hands every line over once, in input order, each
// batch holding lines of one input, and reuses its batches and read
// buffers: each input once took a batch buffer it never used and two
// fresh 1 MiB read buffers, 3 MiB of garbage an input, and a run over
// 3,000 one-line files spent 10 s collecting it (now 0.3 s).
func TestPipelineManyInputs(t *testing.T) {
	dir := t.TempDir()
	var inputs, want []string
	for i := range 300 {
		p := filepath.Join(dir, fmt.Sprintf("f%03d.jsonl", i))
		text := fmt.Sprintf(`{"url": "http://example.com/%d"}`+"\n", i)
		if i%7 == 3 {
			text = "" // nothing to batch
		} else {
			want = append(want, fmt.Sprintf("%s:1", p))
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, p)
	}
	var got []string
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := Pipeline(inputs, PipelineConfig{MaxLine: 1 << 20, BatchBytes: 1 << 20, Workers: 2}, func(int, *Batch) {}, func(b *Batch) error {
		for i := range b.Ends {
			got = append(got, fmt.Sprintf("%s:%d", b.Source, b.Nums[i]))
		}
		return nil
	})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("lines handed over:\n%v\nwant\n%v", got, want)
	}
	// a dozen batches and read buffers at most (the pool may drop
	// buffers at a collection), not 3 MiB for each of 300 inputs
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("%d MiB allocated for 300 one-line inputs", alloc>>20)
	}
}

// TestLayoutLines: space-separated lines and Wayback JSON rows are read
// by the layout in effect: the last legend line or header row of their
// input, else PipelineConfig.Layout, else by their field count. A legend
// holds to the end of its input (the next input starts afresh), and a
// legend of a layout reading by count reads by count again.
func TestLayoutLines(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.cdx")
	os.WriteFile(a, []byte(strings.Join([]string{
		`http://a.example/1 20200101000000 200`, // by --cdx-fields (original,timestamp,statuscode)
		` CDX b a s k`,
		`20200102000000 http://a.example/2 404 AAAA`,
		`[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],`,
		`["example,a)/3","20200103000000","http://a.example/3","text/html","301","-","12"],`,
		`example,a)/4 20200104000000 http://a.example/4 text/html 200 BBBB - - 99 0 f.warc.gz`,
		`[["timestamp","original"],`,
		`["20200105000000","http://a.example/5"]]`,
	}, "\n")+"\n"), 0o644)
	b := filepath.Join(dir, "b.cdx")
	os.WriteFile(b, []byte("http://a.example/6 20200106000000 500\n"), 0o644)
	layout, err := FieldsLayout([]string{"original", "timestamp", "statuscode"})
	if err != nil {
		t.Fatal(err)
	}
	p := fullParser()
	var got []string
	// small batches: a batch that a legend does not end would be read
	// by one layout throughout
	cfg := PipelineConfig{MaxLine: 1 << 20, BatchBytes: 4 << 10, Workers: 2, Layout: layout}
	err = Pipeline([]string{a, b}, cfg, func(int, *Batch) {}, func(bt *Batch) error {
		for i := range bt.Ends {
			c, r, _ := p.ParseLine(bt, i)
			got = append(got, fmt.Sprintf("%s:%d %s %s %d %d", filepath.Base(bt.Source), bt.Nums[i], r, c.URL, c.Time, c.HTTPStatus))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a.cdx:1 ok http://a.example/1 1577836800 200",
		"a.cdx:2 cdx_legend  0 0",
		"a.cdx:3 ok http://a.example/2 1577923200 404",
		"a.cdx:4 cdx_legend  0 0",
		"a.cdx:5 ok http://a.example/3 1578009600 301",
		"a.cdx:6 ok http://a.example/4 1578096000 200",
		"a.cdx:7 cdx_legend  0 0",
		"a.cdx:8 ok http://a.example/5 1578182400 0",
		"b.cdx:1 ok http://a.example/6 1578268800 500",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// under a layout, a line of fields is read by it, though read alone
	// it would be a URL with a space in it
	if c, r := p.parse([]byte(`http://a.example/7 -`), "ab"); r != OK || c.URL != "http://a.example/7" || !c.Discovered {
		t.Errorf(`"http://a.example/7 -" under layout ab: %+v %s`, c, r)
	}
	// a line of another field count than the layout is rejected, not
	// read by its count
	if _, r := p.parse([]byte(`example,a)/ 20200101000000 http://a.example/ text/html 200 AAAA 12`), "abs"); r != BadFields {
		t.Errorf("7 fields under a 3-field layout: %s", r)
	}
	// route split refuses a legend it would part from its lines
	err = Pipeline([]string{a}, PipelineConfig{MaxLine: 1 << 20, BatchBytes: 4 << 10, Workers: 2, Verbatim: true},
		func(int, *Batch) {}, func(*Batch) error { return nil })
	if err == nil || !strings.HasPrefix(err.Error(), a+`: line 2: CDX legend "b a s k" names fields`) {
		t.Errorf("verbatim: %v", err)
	}
}

// TestFieldsLayout: a Wayback query's fl= names map to legend letters;
// unknown and repeated names, and a list without the URL, are refused.
func TestFieldsLayout(t *testing.T) {
	for _, c := range []struct {
		names, layout, err string
	}{
		{"original,timestamp,statuscode", "abs", ""},
		{"urlkey,timestamp,original,mimetype,statuscode,digest,length", "", ""}, // the default: by count
		{"original,groupcount,uniqcount", "a--", ""},
		{"url,timestamp,status,mime", "absm", ""}, // pywb's names
		{"original,time", "", `not a field layout meguri reads: unknown field "time" (the Wayback CDX server's fl= takes digest, dupecount,`},
		{"original,timestamp,url", "", `not a field layout meguri reads: fields "original" and "url" name one field`},
		{"timestamp,statuscode", "", "not a field layout meguri reads: no original URL"},
		{"original,timestamp,timestamp", "", `not a field layout meguri reads: field "timestamp" named twice`},
	} {
		layout, err := FieldsLayout(strings.Split(c.names, ","))
		if layout != c.layout || c.err == "" && err != nil || c.err != "" && (err == nil || !strings.HasPrefix(err.Error(), c.err)) {
			t.Errorf("FieldsLayout(%s) = %q, %v; want %q, %q", c.names, layout, err, c.layout, c.err)
		}
	}
}
