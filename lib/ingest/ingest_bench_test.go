package ingest

import (
	"io"
	"os"
	"testing"

	"github.com/meguri/meguri/lib/internal/testinput"
)

// BenchmarkIngest ingests MEGURI_CORPUS (or any CDX file named there, such as
// the generated 20x copy scripts/bench.sh builds) to io.Discard.
func BenchmarkIngest(b *testing.B) {
	in := testinput.Corpus(b)
	st, err := os.Stat(in)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Run([]string{in}, io.Discard, Options{Lo: 0, Hi: ^uint64(0), TmpDir: b.TempDir()}); err != nil {
			b.Fatal(err)
		}
	}
}
