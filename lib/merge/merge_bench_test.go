package merge

import (
	"bytes"
	"io"
	"testing"

	"github.com/meguri/meguri/lib/ingest"
	"github.com/meguri/meguri/lib/internal/testinput"
)

// BenchmarkMerge16 ingests MEGURI_CORPUS (any CDX file: the generated 20x
// copy scripts/bench.sh builds makes a better one), cuts the file into 16
// parts of close to equal URL counts and measures merging them back, which
// must give the whole file's bytes. It reports how many blocks were copied
// and how many re-encoded.
func BenchmarkMerge16(b *testing.B) {
	in := testinput.Corpus(b)
	var whole bytes.Buffer
	if _, err := ingest.Run([]string{in}, &whole, ingest.Options{Lo: 0, Hi: ^uint64(0), TmpDir: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	f := source(b, "whole", whole.Bytes()).(*FileSource)
	cuts, err := EvenCuts([]*Input{{Path: "f", File: f.File}}, 16)
	if err != nil {
		b.Fatal(err)
	}
	outs, err := Ranges(0, ^uint64(0), cuts, 0)
	if err != nil {
		b.Fatal(err)
	}
	parts, _, err := run(b, []Source{f}, Options{Outputs: outs})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, p := range parts {
		size += int64(len(p))
	}
	b.SetBytes(size)
	b.ResetTimer()
	var res *Result
	for i := 0; i < b.N; i++ {
		srcs := make([]Source, len(parts))
		for j, p := range parts {
			srcs[j] = source(b, "part", p)
		}
		var out bytes.Buffer
		res, err = Run(srcs, Options{Outputs: []Output{{ID: 0, Lo: 0, Hi: ^uint64(0)}},
			Create: func(int) (io.Writer, error) { return &out, nil }})
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), whole.Bytes()) {
			b.Fatal("the merged parts differ from the whole file")
		}
	}
	b.ReportMetric(float64(res.BlocksCopied), "blocks-copied")
	b.ReportMetric(float64(res.BlocksDecoded), "blocks-decoded")
}
