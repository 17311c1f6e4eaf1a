package route

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/internal/fdpool"
	"github.com/meguri/meguri/lib/internal/testinput"
)

// TestSplitZstd: with Zstd each output is a zstd stream that decompresses to
// exactly the bytes the plain split writes for that partition.
func TestSplitZstd(t *testing.T) {
	in := testinput.Path()
	bal := balanceOf(t, in, 4)
	plainDir, zstdDir := t.TempDir(), t.TempDir()
	plain, err := SplitCDX([]string{in}, SplitOptions{Manifest: bal.Manifest, OutDir: plainDir})
	if err != nil {
		t.Fatal(err)
	}
	packed, err := SplitCDX([]string{in}, SplitOptions{Manifest: bal.Manifest, OutDir: zstdDir, Zstd: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Partitions) != len(packed.Partitions) || len(plain.Partitions) == 0 {
		t.Fatalf("%d plain outputs, %d zstd outputs", len(plain.Partitions), len(packed.Partitions))
	}
	for i, p := range packed.Partitions {
		want, err := os.ReadFile(plain.Partitions[i].File)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(p.File, ".jsonl.zst") || p.Records != plain.Partitions[i].Records {
			t.Fatalf("output %s with %d records, plain %s with %d", p.File, p.Records, plain.Partitions[i].File, plain.Partitions[i].Records)
		}
		raw, err := os.ReadFile(p.File)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) < 4 || !bytes.Equal(raw[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			t.Fatalf("%s is not a zstd stream", p.File)
		}
		got := unzstd(t, p.File)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s decompresses to %d bytes that differ from the plain output (%d bytes)", p.File, len(got), len(want))
		}
	}
}

// TestSplitFewDescriptors: outputs that take turns on two descriptors,
// written by their goroutines at once, hold the bytes of a split that
// keeps every output open, plain and zstd (run under -race).
func TestSplitFewDescriptors(t *testing.T) {
	in := testinput.Path()
	bal := balanceOf(t, in, 40)
	for _, zst := range []bool{false, true} {
		open, few := t.TempDir(), t.TempDir()
		if _, err := SplitCDX([]string{in}, SplitOptions{Manifest: bal.Manifest, OutDir: open, Zstd: zst}); err != nil {
			t.Fatal(err)
		}
		restore := newPool
		newPool = func() *fdpool.Pool { return fdpool.New(2) }
		// small chunks: many writes, so the outputs take turns often
		res, err := SplitCDX([]string{in}, SplitOptions{Manifest: bal.Manifest, OutDir: few, Zstd: zst, Memory: 1})
		newPool = restore
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Partitions {
			// zstd frames end where chunks do, which Memory sets: compare
			// what they hold
			if got, want := unzstd(t, p.File), unzstd(t, strings.Replace(p.File, few, open, 1)); !bytes.Equal(got, want) {
				t.Errorf("%s holds other bytes than the split that keeps it open", p.File)
			}
		}
	}
}

// unzstd returns the bytes of a split output, decompressed if it is zstd.
func unzstd(t *testing.T, path string) []byte {
	t.Helper()
	f, err := input.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// balanceOf counts the hosts of the CDX file in and balances them into n
// partitions.
func balanceOf(tb testing.TB, in string, n int) *Balanced {
	tb.Helper()
	hosts, _, err := CountHosts([]string{in}, CountOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	bal, err := Balance(hosts, n)
	if err != nil {
		tb.Fatal(err)
	}
	return bal
}
