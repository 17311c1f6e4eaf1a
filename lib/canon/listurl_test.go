package canon_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	"github.com/meguri/meguri/lib/internal/testinput"
)

// agrees checks that a line meguri-ingest takes stands, in a URL list, for
// the URL ingest keys it under (inspect --urls looks that URL up, compact
// --drop-urls drops it). It returns whether ingest took the line.
func agrees(t *testing.T, p *cdx.Parser, line []byte) bool {
	t.Helper()
	c, r := p.Parse(line)
	if r != cdx.OK {
		return false
	}
	raw, err := canon.ListURL(line)
	u := ""
	if err == nil {
		u, err = canon.Canonicalize(raw)
	}
	if err != nil || u != c.URL {
		t.Errorf("ingest takes %.150q as %.80s; ListURL gives %.80q (raw %.80q), %v", line, c.URL, u, raw, err)
	}
	return true
}

// TestListURLAgreesWithIngest: every line ingest takes from the corpus (or
// the sample), written in each CDX form ingest reads (the JSON line,
// Common Crawl's SURT TIMESTAMP {json}, space-separated CDX of 7, 9 and
// 11 fields, a Wayback JSON row, a bare URL), and every line of the CDX-11
// sample, stands in a URL list for the URL ingest keys.
func TestListURLAgreesWithIngest(t *testing.T) {
	p := &cdx.Parser{Grouping: canon.ByDomain, RangeHi: cdx.Full}
	taken, forms := 0, map[int]int{}
	for _, line := range bytes.Split(testinput.Read(t), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if agrees(t, p, line) {
			taken++
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			if ts, ok := m["timestamp"].(string); ok {
				key, _ := m["urlkey"].(string)
				agrees(t, p, []byte(strings.ReplaceAll(key+"x", " ", "")+" "+ts+" "+string(line)))
			}
		}
		for _, nine := range []bool{false, true} {
			spaced, _, layout := testinput.Spaced(line, nine)
			if layout == 0 || !agrees(t, p, spaced) {
				continue
			}
			forms[layout]++
			// the same values as a Wayback JSON row, read by their
			// count as the spaced line is
			row, _ := json.Marshal(strings.Split(string(spaced), " "))
			if agrees(t, p, append(row, ',')) {
				forms[-layout]++
			}
		}
	}
	blackbook, err := os.ReadFile("../../testdata/blackbook.cdx")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(blackbook, []byte("\n")) {
		if agrees(t, p, line) {
			forms[11]++
		}
	}
	if taken == 0 || forms[1] == 0 || forms[7] == 0 || forms[9] == 0 || forms[11] == 0 || forms[-7] == 0 || forms[-9] == 0 || forms[-11] == 0 {
		t.Fatalf("bad fixture: %d lines taken, by layout %v", taken, forms)
	}
}

// FuzzListURL: whatever line ingest takes, ListURL gives the URL it keys.
func FuzzListURL(f *testing.F) {
	for _, s := range []string{
		`{"url": "http://a.example/p", "timestamp": "20240101000000"}`,
		`{"original": "http://a.example/p", "timestamp": "20240101000000", "statuscode": "200"}`,
		`{"original": "http://a.example/p", "url": "http://b.example/"}`,
		`com,example)/a 20240101000000 {"url": "http://example.com/a", "status": "200"}`,
		`com,2024)/ 2024 {"url": "http://2024.com/"}`,
		`de,zew)/ 19970427191925 http://www.zew.de:80/ text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 1001`,
		`["de,zew)/", "19970427191925", "http://www.zew.de:80/", "text/html", "200", "GOE2BMK6", "1001"],`,
		`["de,zew)/", "19970427191925", "http://www.zew.de:80/", "text/html", "200", "GOE2BMK6", "-", "0", "x.arc.gz"],`,
		`[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],`,
		` CDX N b a m s k r M S V g`,
		"http://a.example/a b c",
		"http://a.example/a 2024 c",
		"[2001:db8::1])/ 2024 http://[2001:db8::1]/ - 200 - 5",
	} {
		f.Add([]byte(s))
	}
	p := &cdx.Parser{Grouping: canon.ByDomain, RangeHi: cdx.Full}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.ContainsAny(line, "\n") {
			return
		}
		agrees(t, p, line)
	})
}
