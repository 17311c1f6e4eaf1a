// Package testinput names the CDX input of the library's tests and
// benchmarks: the corpus given by MEGURI_CORPUS, or the sample in
// testdata/ that every test run has.
package testinput

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// Spaced writes a corpus line {"url": ...} back as the bare URL (layout
// 1), and a capture line as the space-separated CDX its fields fit: the Wayback server's 7 fields when it has no redirect,
// meta tags, offset or file name, CDX-11 otherwise; "-" for a field it
// lacks. With nine it writes the 9-field layout (N b a m s k r V g) when
// the line has no meta tags, and returns the JSON line without its length,
// which that layout does not hold. It keeps a line that is neither, has a
// field no layout holds, or a value with a space, empty or not a string,
// as it is (layout 0).
func Spaced(line []byte, nine bool) (spaced, ref []byte, layout int) {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return line, line, 0
	}
	if u, ok := m["url"].(string); ok && len(m) == 1 {
		// a discovered link: a bare URL, spaces and all when it is http(s)
		// and its second field is no number
		f, low := strings.Fields(u), strings.ToLower(u)
		web := strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://")
		if u == "" || strings.ContainsAny(u, "\t\r\n") || u[0] == '{' || u[0] == '[' ||
			len(f) > 1 && (!web || strings.Trim(f[1], "0123456789") == "") {
			return line, line, 0
		}
		return []byte(u), line, 1
	}
	if m["timestamp"] == nil {
		return line, line, 0
	}
	letter := map[string]byte{"urlkey": 'N', "timestamp": 'b', "url": 'a', "mime": 'm', "status": 's', "digest": 'k',
		"redirect": 'r', "meta": 'M', "length": 'S', "offset": 'V', "filename": 'g'}
	has := map[byte]string{}
	for k, v := range m {
		s, ok := v.(string)
		if letter[k] == 0 || !ok || s == "" || strings.ContainsAny(s, " \t") {
			return line, line, 0
		}
		has[letter[k]] = s
	}
	letters := "NbamskrMSVg"
	switch {
	case nine && has['M'] == "":
		letters = "NbamskrVg"
		delete(m, "length")
		if line, _ = json.Marshal(m); line == nil {
			panic("marshal")
		}
	case has['r'] == "" && has['M'] == "" && has['V'] == "" && has['g'] == "":
		letters = "NbamskS"
	}
	var f []string
	for i := range letters {
		v := has[letters[i]]
		if v == "" {
			v = "-"
		}
		f = append(f, v)
	}
	return []byte(strings.Join(f, " ")), line, len(letters)
}
