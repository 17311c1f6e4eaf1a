package route

import (
	"os"
	"testing"

	"github.com/meguri/meguri/lib/internal/testinput"
)

// BenchmarkSplitCDX splits the corpus (MEGURI_CORPUS) by an 8-partition map.
func BenchmarkSplitCDX(b *testing.B) {
	in := testinput.Corpus(b)
	bal := balanceOf(b, in, 8)
	st, _ := os.Stat(in)
	b.SetBytes(st.Size())
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		if _, err := SplitCDX([]string{in}, SplitOptions{Manifest: bal.Manifest, OutDir: dir}); err != nil {
			b.Fatal(err)
		}
	}
}
