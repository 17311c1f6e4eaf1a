package ingest

import (
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func writeGzipMembers(t *testing.T, path string, parts ...[]byte) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range parts {
		w := gzip.NewWriter(f)
		w.Write(p)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func writeZstd(t *testing.T, path string, b []byte) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, _ := zstd.NewWriter(f)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
