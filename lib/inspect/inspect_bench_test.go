package inspect

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/ingest"
	"github.com/meguri/meguri/lib/internal/testinput"
	"github.com/meguri/meguri/lib/record"
)

// corpusFile ingests MEGURI_CORPUS and returns the file and its URLs in a
// fixed random order.
func corpusFile(b *testing.B) (*codec.File, []string) {
	var buf bytes.Buffer
	if _, err := ingest.Run([]string{testinput.Corpus(b)}, &buf, ingest.Options{Lo: 0, Hi: ^uint64(0), TmpDir: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	rows, err := codec.ReadAll(bytes.NewReader(buf.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	urls := make([]string, len(rows))
	for i := range rows {
		urls[i] = rows[i].URL
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(urls), func(i, j int) { urls[i], urls[j] = urls[j], urls[i] })
	f, err := codec.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		b.Fatal(err)
	}
	return f, urls
}

// BenchmarkLookupLines looks every URL of the corpus's ingest up in it, in
// a random order, with as many absent URLs mixed in (--urls); it reports
// the time per listed URL.
func BenchmarkLookupLines(b *testing.B) {
	f, urls := corpusFile(b)
	var list bytes.Buffer
	for i, u := range urls {
		fmt.Fprintf(&list, "%s\nhttp://absent-%d.example/\n", u, i)
	}
	b.SetBytes(int64(list.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := (&Source{Name: "corpus", File: f}).LookupLines(bytes.NewReader(list.Bytes()), io.Discard, BatchOptions{})
		if err != nil || n.Present != len(urls) || n.Absent != len(urls) {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2*len(urls)), "ns/url")
}

// BenchmarkLookupOne looks one URL up at a time (--url, less the process
// start), for the ratio with BenchmarkLookupLines.
func BenchmarkLookupOne(b *testing.B) {
	f, urls := corpusFile(b)
	src := &Source{Name: "corpus", File: f}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r, _, err := src.Lookup(urls[i%len(urls)]); r == nil || err != nil {
			b.Fatal(urls[i%len(urls)], err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/url")
}

// BenchmarkRows prints every row of the corpus's ingest: all fields as JSON
// (--rows), and one field as TSV (--rows --fields url --tsv).
func BenchmarkRows(b *testing.B) {
	f, urls := corpusFile(b)
	for _, c := range []struct {
		name string
		l    record.Layout
	}{{"json", record.Layout{}}, {"url-tsv", record.Layout{Fields: []record.Field{record.FieldURL}, TSV: true}}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := (&Source{Name: "corpus", File: f}).Rows(io.Discard, &c.l, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(urls)), "ns/row")
		})
	}
}
