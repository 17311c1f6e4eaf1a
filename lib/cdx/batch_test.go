package cdx

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
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
