// Package testinput names the CDX input of the library's tests and
// benchmarks: the corpus given by MEGURI_CORPUS, or the sample in
// testdata/ that every test run has.
package testinput

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Path returns MEGURI_CORPUS when it is set, else the path of
// testdata/sample.jsonl.
func Path() string {
	if p := os.Getenv("MEGURI_CORPUS"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "sample.jsonl")
}

// Corpus returns MEGURI_CORPUS, skipping tb when it is not set: for tests
// and benchmarks that mean nothing on the small sample.
func Corpus(tb testing.TB) string {
	p := os.Getenv("MEGURI_CORPUS")
	if p == "" {
		tb.Skip("MEGURI_CORPUS not set")
	}
	return p
}

// Read returns the bytes of Path.
func Read(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
