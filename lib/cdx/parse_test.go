package cdx

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/internal/testinput"
	"github.com/meguri/meguri/lib/record"
)

func fullParser() *Parser { return &Parser{Grouping: canon.ByDomain, RangeHi: Full} }

func TestParseForms(t *testing.T) {
	p := fullParser()
	c, r := p.Parse([]byte(`{"url": "https://www.austria.info/de/aktivitaten/radfahren"}`))
	if r != OK || !c.Discovered || c.URL != "https://www.austria.info/de/aktivitaten/radfahren" {
		t.Fatalf("discovered line: %+v %s", c, r)
	}
	c, r = p.Parse([]byte(`org,example)/ 20200101000000 {"url": "http://example.org/", "status": "404", "mime": "text/html", "digest": "sha1:4L3SB3BB44TUVPDI4ALQFW5TE3BMBAI3", "length": "12"}`))
	if r != OK || c.Discovered || c.HTTPStatus != 404 || c.Length != 12 || c.Digest == 0 {
		t.Fatalf("cdxj line: %+v %s", c, r)
	}
	// a bare URL is a discovered link, as {"url": ...}; the canonicalizer
	// strips the ASCII spaces at its ends, and no other whitespace
	for _, line := range []string{"https://www.austria.info/de/aktivitaten/radfahren", "  https://www.austria.info/de/aktivitaten/radfahren\t"} {
		c, r = p.Parse([]byte(line))
		if r != OK || !c.Discovered || c.URL != "https://www.austria.info/de/aktivitaten/radfahren" {
			t.Fatalf("bare URL %q: %+v %s", line, c, r)
		}
	}
	for line, want := range map[string]Reason{
		// an href with raw spaces (three corpus links have them)
		"https://twitter.com/share?url=https://www.macwelt.de/2631553/twitter&text=iPhone 14: Warum sich das Warten wirklich lohnt&via=MACWELT": OK,
		"HTTPS://example.com/a b":                                OK,
		"http://example.com/a 2014":                              BadJSON,   // a number second: read as CDX, two fields
		"http://example.com/a 2014 b":                            BadFields, // three fields
		"https://ideas.repec.org/p/han/dpaper/dp-671.html\u00a0": OK, "de9bdbe518d8a37d168c41506f4f4c59": NotURL, "dns:www.archive.org": DNS, "[::1]": BadJSON} {
		js, _ := json.Marshal(map[string]string{"url": line})
		wc, _ := p.Parse(js)
		if c, r = p.Parse([]byte(line)); r != want || r == OK && c != wc {
			t.Errorf("bare %q: %+v %s, want %+v %s", line, c, r, wc, want)
		}
	}
	// numbers where strings are expected are read too
	c, r = p.Parse([]byte(`{"url": "http://example.org/", "timestamp": 20200101000000, "status": 200, "length": 5}`))
	if r != OK || c.HTTPStatus != 200 || c.Length != 5 {
		t.Fatalf("numeric fields: %+v %s", c, r)
	}
	// The Wayback CDX server's field names (an output=json row turned into
	// an object by jq) read as meguri's; where both are given, meguri's win.
	for line, want := range map[string]string{
		`{"urlkey":"org,example)/","timestamp":"20200101000000","original":"http://example.org/","mimetype":"text/html","statuscode":"404","digest":"4L3SB3BB44TUVPDI4ALQFW5TE3BMBAI3","length":"12"}`: `{"timestamp":"20200101000000","url":"http://example.org/","mime":"text/html","status":"404","digest":"4L3SB3BB44TUVPDI4ALQFW5TE3BMBAI3","length":"12"}`,
		`{"timestamp":"20200101000000","original":"http://example.org/a","url":"http://example.org/","statuscode":301,"status":"404","mimetype":"warc/request"}`:                                       `{"timestamp":"20200101000000","url":"http://example.org/","status":"404","mime":"warc/request"}`,
		`{"original":"http://example.org/","statuscode":"200"}`: `{"url":"http://example.org/","status":"200"}`,
	} {
		c, r := p.Parse([]byte(line))
		wc, wr := p.Parse([]byte(want))
		if r != wr || c != wc {
			t.Errorf("%s: %+v %s, want %+v %s", line, c, r, wc, wr)
		}
	}
	// A tab in a line that is not JSON separates columns: the URL parser
	// would drop it and join them into one URL ("https://a.example/p200").
	for _, line := range []string{"https://a.example/x\thttps://b.example/y", "https://a.example/p\t200", "https://a.example/p b\tanchor text", "url\thost_key\tstatus"} {
		if c, r = p.Parse([]byte(line)); r != TabSeparated {
			t.Errorf("%q: %+v %s, want %s", line, c, r, TabSeparated)
		}
	}
	// A record as meguri-inspect --rows prints it holds captures that no
	// CDX line can carry; one with none is a discovered URL, as its row says.
	for line, want := range map[string]Reason{
		`{"url":"https://basicthinking.com/","host_key":"0x001cb4e3d201e2c0","path_key":"0x71de42fa629d7aa8","status":"crawled","http_status":200,"first_seen":"20240101000000","last_seen":"20240301000000","captures":2,"changes":1,"digest":"0a1b2c3d4e5f6071","first_digest":"1a1b2c3d4e5f6071","mime":"text/html","length":4242,"redirect":""}`: FoldedRecord,
		`{"url":"https://basicthinking.com/","captures":1}`:                                                   FoldedRecord,
		`{"url":"https://basicthinking.com/", "captures": 1, "last_seen": "20240301000000"}`:                  FoldedRecord,
		`{"url":"https://basicthinking.com/","status":"discovered","http_status":0,"captures":0,"changes":0}`: OK,
		`{"url":"https://basicthinking.com/","captures":"3"}`:                                                 OK, // not a count a row prints
		`{"url":"https://basicthinking.com/","timestamp":"20240101000000","captures":3}`:                      OK, // a capture, whatever else it says
		`com,basicthinking)/ 20240101000000 {"url":"https://basicthinking.com/","captures":3}`:                OK,
		// A capture whose timestamp was lost (an HTTP status or a digest
		// without it) is no discovered link; a link's own fields are no
		// capture's.
		`{"url":"https://basicthinking.com/","status":"200","mime":"text/html"}`:                  NoTimestamp,
		`{"url":"https://basicthinking.com/","status":301}`:                                       NoTimestamp,
		`{"url":"https://basicthinking.com/","digest":"4L3SB3BB44TUVPDI4ALQFW5TE3BMBAI3"}`:        NoTimestamp,
		`{"url":"https://basicthinking.com/","timestamp":"","status":"200"}`:                      NoTimestamp,
		`{"url":"https://basicthinking.com/","status":"-","digest":"-","mime":"-"}`:               OK,
		`{"url":"https://basicthinking.com/","status":"queued","mime":"text/html","text":"Home"}`: OK,
		`{"url":"https://basicthinking.com/","digest":null,"length":0,"redirect":""}`:             OK,
	} {
		c, r = p.Parse([]byte(line))
		if r != want || want == OK && c.Discovered != !strings.Contains(line, "2024") {
			t.Errorf("%s: %+v %s, want %s", line, c, r, want)
		}
	}
}

// spacedAsJSON is the oracle for space-separated CDX lines: the JSON line
// the documented mapping makes of one (legend letters to keys, "-" fields
// left out; a bare URL, not JSON, is {"url": line}), or false when the
// line is none of these.
func spacedAsJSON(line string) ([]byte, bool) {
	if u := strings.Trim(line, " \t\n\v\f\r"); u != "" && u[0] != '{' && u[0] != '[' {
		// a bare URL: one field, or http(s) with spaces and a second
		// field that is no number
		f, low := spaceFields(u), strings.ToLower(u)
		if len(f) == 1 || (strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://")) && strings.Trim(f[1], "0123456789") != "" {
			b, _ := json.Marshal(map[string]string{"url": u})
			return b, true
		}
	}
	tok := spaceFields(line)
	keys := map[int][]string{
		11: {"urlkey", "timestamp", "url", "mime", "status", "digest", "redirect", "meta", "length", "offset", "filename"},
		9:  {"urlkey", "timestamp", "url", "mime", "status", "digest", "redirect", "offset", "filename"},
		7:  {"urlkey", "timestamp", "url", "mime", "status", "digest", "length"},
	}[len(tok)]
	if keys == nil || len(tok) > 2 && strings.HasPrefix(tok[2], "{") {
		return nil, false
	}
	m := map[string]string{}
	for i, k := range keys {
		if tok[i] != "-" {
			m[k] = tok[i]
		}
	}
	b, _ := json.Marshal(m)
	return b, true
}

// spaceFields splits a line at runs of spaces (only: U+2000 and the other
// Unicode spaces are field bytes, as they are to the parser).
func spaceFields(line string) []string {
	var tok []string
	for _, f := range strings.Split(line, " ") {
		if f != "" {
			tok = append(tok, f)
		}
	}
	return tok
}

// Space-separated CDX lines (real ones, from the corpus's sources) read as
// the JSON lines the documented mapping makes of them; a legend line is
// rejected as such, a line of another field count as bad_cdx_fields.
func TestParseSpaced(t *testing.T) {
	p := fullParser()
	for _, line := range []string{
		// CDX-11, an Internet Archive crawl (solrwayback's blackbook WARC)
		`org,archive)/ 20080430204826 http://www.archive.org/ text/html 200 J7HIRVLXR2DUUZE3OYBYSMEI4O36NOMS - - 11123 2622 IAH-20080430204825-00000-blackbook.warc.gz`,
		// CDX-11, a revisit without status, redirect and meta tags
		`com,example)/ 20140127171251 http://example.com warc/revisit - B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A - - 553 1864 example.warc.gz`,
		// 9 fields (N b a m s k r V g)
		`com,example)/?example=1 20140103030321 http://example.com?example=1 text/html 200 B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A - 1043 example.cdx`,
		// the Wayback CDX server's text output, a redirect and a 404
		`de,zew)/ 19970427191925 http://www.zew.de:80/ text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 1001`,
		`gov,nasa)/ 19961231235847 http://www.nasa.gov:80/ text/html 301 2RDQLJDHNV6CVXPO6XNSVOPVMYIRWPKY 366`,
		`gov,epa)/ 20041019055935 http://www.epa.gov:80/ text/html 404 3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ 272`,
		// an IPv6 host's SURT starts with '[' (not a Wayback JSON row)
		`[2001:db8::1])/ 20200101000000 http://[2001:db8::1]/ text/html 200 - -`,
		// a non-SURT index whose urlkey is the URL itself
		`http://example.com/?example=1 20140103030321 http://example.com?example=1 text/html 200 B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A - - 1043 333 example.warc.gz`,
		// runs of spaces, a hashed URL, a dns: record
		`de,zew)/  19970427191925   http://www.zew.de:80/ text/html 200 - -`,
		`88668b008e9da770f181951e081cd07d 20160803104942 de9bdbe518d8a37d168c41506f4f4c59 application/octet-stream 226 VBSREBICBHIYYWCXOL6HW6O2MRQZHGVD - - 348 408 ftp.mayn.de.warc.gz`,
		`org,archive,www) 20080430204825 dns:www.archive.org text/dns - RUIV2DUDYXONM2YTMGPAJVQKG3FSYHXE - - 244 463 IAH-20080430204825-00000-blackbook.warc.gz`,
	} {
		js, ok := spacedAsJSON(line)
		if !ok {
			t.Fatalf("not a spaced line: %s", line)
		}
		wc, wr := p.Parse(js)
		// the same values as a row of the Wayback server's JSON output, in
		// each of the row's three spellings
		row, _ := json.Marshal(spaceFields(line))
		for _, l := range []string{line, string(row) + ",", "[" + string(row) + ",", string(row) + "]"} {
			c, r := p.Parse([]byte(l))
			if c != wc || r != wr {
				t.Errorf("%s\n  read as %+v %s\n  want    %+v %s (%s)", l, c, r, wc, wr, js)
			}
		}
	}
	c, r := p.Parse([]byte(`de,zew)/ 19970427191925 http://www.zew.de:80/ text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 1001`))
	if r != OK || c.Time == 0 || c.HTTPStatus != 200 || c.Length != 1001 || c.Mime != "text/html" || c.URL != "http://www.zew.de/" {
		t.Fatalf("7 fields: %+v %s", c, r)
	}
	for line, want := range map[string]Reason{
		` CDX N b a m s k r M S V g`:          Legend,
		`CDX N b a m s k r V g`:               Legend,
		`CDX A b e a m s c k r V v D d g n`:   Legend,
		`de,zew)/ 19970427191925 http://x/ a`: BadFields,
		`de,zew)/ 19970427191925 http://www.zew.de:80/ text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 1001 x`: BadFields,
		strings.Repeat("x ", 13): BadFields,
		`a b c`:                  BadFields,
		`a b {`:                  BadJSON,
		`a b`:                    BadJSON,
		`[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],`: Legend,
		`[["original","timestamp"],`: Legend,
		// showResumeKey=true: an empty row, then the next page's key
		`[],`: ResumeKey,
		`["com%2Cexample%29%2Fb+20200101000000%21"]]`: ResumeKey,
		`com%2Cexample%29%2Fb+20200101000000%21`:      ResumeKey,
		`de%2Czew%29%2F+1997`:                         ResumeKey,
		`["resumekey"]]`:                              BadFields,
		`["com%2Cexample%29%2F+x"]]`:                  BadFields,
		`com%2Cexample%29%2F+x`:                       NotURL,
		`com%2Cexample%2F+20200101000000`:             NotURL,
		`com%zzexample%29+20200101000000`:             NotURL,
		`["a","b","c",1],`:                            BadJSON,
		`["a","b","c"`:                                BadJSON,
	} {
		if _, r := p.Parse([]byte(line)); r != want {
			t.Errorf("%q: %s, want %s", line, r, want)
		}
	}
	for _, c := range []struct {
		line, layout string
		ok           bool   // a legend or header
		err          string // the error's start
	}{
		{line: ` CDX N b a m s k r M S V g`, ok: true},
		{line: `CDX N b a m s k r V g`, ok: true},
		{line: `CDX  N b a m s k r V g `, ok: true},
		{line: `CDX N b a m s k S`, ok: true},
		{line: `de,zew)/ 19970427191925 http://x/`},
		{line: `["urlkey","timestamp"],`},
		{line: " CDX N b a m s k r M S V g\r", ok: true},
		{line: "[[\"urlkey\",\"timestamp\",\"original\",\"mimetype\",\"statuscode\",\"digest\",\"length\"],\r", ok: true},
		{line: `[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],`, ok: true},
		{line: ` [["urlkey","timestamp","original","mimetype","statuscode","digest","length"]]`, ok: true},
		// other layouts are read by what they name
		{line: ` CDX A b e a m s c k r V v D d g n`, layout: "AbeamsckrVvDdgn", ok: true},
		{line: `CDX N b a m s k r V v D d`, layout: "NbamskrVvDd", ok: true},
		{line: "\xef\xbb\xbf CDX a b s", layout: "abs", ok: true},
		{line: `[["original","timestamp","urlkey","mimetype","statuscode","digest","length"],`, layout: "abNmskS", ok: true},
		{line: `  [["urlkey","timestamp","original"],`, layout: "Nba", ok: true},
		{line: `[["original","dupecount","uniqcount"],`, layout: "a--", ok: true},
		// and refused when they lack the URL or name a field twice
		{line: ` CDX A b m s`, ok: true, err: `CDX legend "A b m s": not a field layout meguri reads: no original URL`},
		{line: `CDX`, ok: true, err: `CDX legend "": not a field layout meguri reads: no original URL`},
		{line: ` CDX a b s s`, ok: true, err: `CDX legend "a b s s": not a field layout meguri reads: field s (legend letters) named twice`},
		{line: `[["timestamp","statuscode"],`, ok: true, err: `Wayback JSON header ["timestamp" "statuscode"]: not a field layout meguri reads: no original URL`},
		{line: ` CDX N b a mime s`, ok: true, err: `CDX legend "N b a mime s": not a field layout meguri reads: "mime" is no legend letter`},
		{line: `[["original","original"],`, ok: true, err: `Wayback JSON header ["original" "original"]: not a field layout meguri reads: field "original" named twice`},
	} {
		layout, ok, err := legendLayout([]byte(c.line), false)
		if layout != c.layout || ok != c.ok || c.err == "" && err != nil || c.err != "" && (err == nil || !strings.HasPrefix(err.Error(), c.err)) {
			t.Errorf("legendLayout(%q) = %q, %v, %v; want %q, %v, %q", c.line, layout, ok, err, c.layout, c.ok, c.err)
		}
		// route split passes lines on without their legend: it refuses
		// every legend that reading by count would misread
		_, _, err = legendLayout([]byte(c.line), true)
		if c.layout != "" && (err == nil || !strings.Contains(err.Error(), "ingest them first and split the .meguri stream")) {
			t.Errorf("legendLayout(%q, verbatim) = %v", c.line, err)
		}
	}
}

// FuzzParseSpaced holds the reading of space-separated CDX lines (and of
// bare URLs) to the documented mapping (spacedAsJSON): any line of 1, 7, 9
// or 11 fields reads as the JSON line the mapping makes of it.
func FuzzParseSpaced(f *testing.F) {
	for _, s := range []string{
		`org,archive)/ 20080430204826 http://www.archive.org/ text/html 200 J7HIRVLXR2DUUZE3OYBYSMEI4O36NOMS - - 11123 2622 IAH.warc.gz`,
		`com,example)/?example=1 20140103030321 http://example.com?example=1 text/html 200 B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A - 1043 example.cdx`,
		`de,zew)/ 19970427191925 http://www.zew.de:80/ text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 1001`,
		`a - - - - - -`, ` CDX N b a m s k S`, `x 1 http://a/ - 999 - -5`, `http://www.zew.de/`, ` CDX`,
	} {
		f.Add(s)
	}
	p := fullParser()
	f.Fuzz(func(t *testing.T, line string) {
		if !utf8.ValidString(line) || strings.ContainsAny(line, "\t\n\r\v\f\x00\x85\u00a0") || strings.HasPrefix(strings.TrimSpace(line), "{") {
			return // the oracle splits on spaces alone and marshals valid UTF-8
		}
		if _, legend := isLegend([]byte(line)); legend {
			return
		}
		js, ok := spacedAsJSON(line)
		if !ok {
			return
		}
		wc, wr := p.Parse(js)
		c, r := p.Parse([]byte(line))
		if c != wc || r != wr {
			t.Fatalf("%q\n  read as %+v %s\n  want    %+v %s (%s)", line, c, r, wc, wr, js)
		}
		// as a row of the Wayback server's JSON output, when the line is
		// one of the layouts (a row is never a bare URL)
		vals := spaceFields(line)
		row, _ := json.Marshal(vals)
		if _, header, _ := arrayRow(row); !header && layouts[len(vals)] != "" && !canon.BareURL([]byte(strings.Trim(line, " "))) {
			if c, r := p.Parse(append(row, ',')); c != wc || r != wr {
				t.Fatalf("%s\n  read as %+v %s\n  want    %+v %s (%s)", row, c, r, wc, wr, js)
			}
		}
	})
}

// FuzzParse: no line makes the parser panic, and whatever it takes is a
// canonical http(s) URL in range, with values a .meguri row holds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://www.zew.de:80/", "mime": "text/html", "status": "200", "digest": "GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4", "length": "1001"}`,
		`com,example)/ 20250802232428 {"url": "http://www.example.com/", "status": "200"}`,
		`{"url": "https://www.austria.info/de/"}`,
		`{"url": "dns:www.archive.org", "timestamp": "20080430204825"}`,
		`{"url": 5}`, `{`, ``, `a b {`,
		`de,zew)/ 19970427191925 http://www.zew.de:80/ text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 1001`,
		` CDX N b a m s k r M S V g`,
		`{"url":"https://basicthinking.com/","status":"crawled","captures":2,"last_seen":"20240301000000"}`,
		"https://a.example/x\thttps://b.example/y",
	} {
		f.Add([]byte(s))
	}
	p := fullParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		// by field count, and by layouts a legend or --cdx-fields names
		for _, layout := range []string{"", "abs", "AbeamsckrVvDdgn", "a"} {
			checkTaken(t, p, line, layout)
		}
	})
}

// checkTaken parses line by layout and, when it is taken, holds the
// capture to what FuzzParse asserts.
func checkTaken(t *testing.T, p *Parser, line []byte, layout string) {
	c, r := p.parse(line, layout)
	if r != OK {
		return
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		t.Fatalf("took non-http URL %q", c.URL)
	}
	if again, err := canon.Canonicalize(c.URL); err != nil || again != c.URL {
		t.Fatalf("taken URL %q is not canonical: %q %v", c.URL, again, err)
	}
	if bytes.IndexByte([]byte(c.URL), 0) >= 0 {
		t.Fatalf("URL with NUL: %q", c.URL)
	}
	// what a .meguri row holds (codec.Writer refuses the rest)
	if c.Length < 0 || c.Length >= record.LengthLimit || c.HTTPStatus >= record.HTTPStatusLimit || c.Time < 0 || c.Time >= record.TimeLimit {
		t.Fatalf("took a capture no file holds: %+v", c)
	}
}

// FuzzDecodeFlat holds the allocation-free reader of plain JSON lines to the
// JSON decoder: whatever it takes, the decoder takes with the same fields.
func FuzzDecodeFlat(f *testing.F) {
	for _, s := range []string{
		`{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://www.zew.de:80/", "mime": "text/html", "status": "200", "digest": "GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4", "length": "1001"}`,
		`{"url":"http://a/","url":"http://b/"}`,
		`{"URL": "http://a/"}`, `{"Url": "x", "url": "y"}`,
		`{}`, ` { } `, `{"a":"b",}`, `{"a":"b"} x`, `{"a":"\u0041"}`, `{"a":5}`,
		"{\"url\":\"http://a/\x7f\"}", `{"redirect": "-", "length": "", "timestamp": "2020"}`,
		`{"original": "http://a/", "statuscode": "200", "mimetype": "text/html"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := decodeFlat(s)
		if !ok {
			return
		}
		want, ok := decodeJSON(s)
		if !ok {
			t.Fatalf("flat reader took %q, the JSON decoder refuses it", s)
		}
		if got != want {
			t.Fatalf("%q: flat %+v, decoder %+v", s, got, want)
		}
	})
}

// TestDecodeFlatLines: on the sample (or the corpus), every line the flat
// reader takes decodes to the same fields as with the JSON decoder, and the
// flat reader takes every line without escapes or non-ASCII bytes.
func TestDecodeFlatLines(t *testing.T) {
	data := testinput.Read(t)
	var flat, plain int
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		s := string(line)
		isPlain := !strings.ContainsAny(s, "\\") && !bytes.ContainsFunc(line, func(r rune) bool { return r >= 0x80 })
		got, ok := decodeFlat(s)
		if isPlain {
			plain++
		}
		if !ok {
			if isPlain && s[0] == '{' {
				t.Errorf("flat reader refused a plain line: %s", s)
			}
			continue
		}
		flat++
		if want, ok := decodeJSON(s); !ok || got != want {
			t.Fatalf("%s: flat %+v, decoder %+v (%v)", s, got, want, ok)
		}
	}
	t.Logf("%d lines of %d plain ones read by the flat reader", flat, plain)
	if flat == 0 {
		t.Fatal("no line took the flat reader")
	}
}

// TestWorkerParser: a Worker parser, whose host-key cache has 8 slots here
// (so hosts overwrite each other's all the time), gives exactly what the
// shared parser gives, line by line.
func TestWorkerParser(t *testing.T) {
	data := testinput.Read(t)
	defer func(n int) { keyCacheSize = n }(keyCacheSize)
	keyCacheSize = 8
	for _, g := range []canon.Grouping{canon.ByDomain, canon.ByHost} {
		shared := &Parser{Grouping: g, RangeHi: Full}
		w := shared.Worker()
		var taken int
		for _, line := range bytes.Split(data, []byte("\n")) {
			want, wr := shared.Parse(line)
			got, gr := w.Parse(line)
			if got != want || gr != wr {
				t.Fatalf("grouping %v, %s:\nworker %+v %s\nshared %+v %s", g, line, got, gr, want, wr)
			}
			if wr == OK {
				taken++
			}
		}
		if taken == 0 {
			t.Fatal("no line taken")
		}
	}
}

// TestSpecial8: the eight-byte test in flatString flags a word exactly when
// one of its bytes is a quote, a backslash, a control byte or >= 0x80: every
// byte value at every position among plain bytes, and random words (where
// several special bytes, and borrows between them, occur together).
func TestSpecial8(t *testing.T) {
	special := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	ref := func(w uint64) bool {
		for k := 0; k < 8; k++ {
			if special(byte(w >> (8 * k))) {
				return true
			}
		}
		return false
	}
	for _, fill := range []byte{' ', '!', '#', '[', ']', 'a', '~', 0x7f} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				var w uint64
				for k := 0; k < 8; k++ {
					b := fill
					if k == pos {
						b = byte(c)
					}
					w |= uint64(b) << (8 * k)
				}
				if got := special8(w); got != ref(w) {
					t.Fatalf("special8(%#016x) = %v, want %v", w, got, ref(w))
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 1<<20; i++ {
		w := rng.Uint64() & 0x7f7f7f7f7f7f7f7f // mostly 7-bit, as in CDX lines
		if i%2 == 0 {
			w = rng.Uint64()
		}
		if got := special8(w); got != ref(w) {
			t.Fatalf("special8(%#016x) = %v, want %v", w, got, ref(w))
		}
	}
}

// FuzzRejectLine: whatever bytes a rejected line holds, the rejects file
// gives them back exactly (text, or text_base64 when they are not UTF-8),
// with its source, number and reason.
func FuzzRejectLine(f *testing.F) {
	for _, s := range []string{"", "plain", "garbage \xff\xfe here", "tab\tand\r", "\x00nul", `{"url": "ftp://x/"}`, "é\u2028\u2029<>&", "\xed\xa0\x80"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		WriteReject(w, "in.jsonl", 7, FTP, line)
		w.Flush()
		if bytes.Count(buf.Bytes(), []byte("\n")) != 1 || !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
			t.Fatalf("reject of %q is not one JSON line: %q", line, buf.Bytes())
		}
		var rl RejectLine
		if err := json.Unmarshal(buf.Bytes(), &rl); err != nil {
			t.Fatalf("reject of %q: %v", line, err)
		}
		got, err := rl.Bytes()
		if err != nil || !bytes.Equal(got, line) || rl.Source != "in.jsonl" || rl.Line != 7 || rl.Reason != FTP.String() {
			t.Fatalf("reject of %q came back as %+v (%q, %v)", line, rl, got, err)
		}
	})
}

// TestNonGet: a capture of a request other than GET is rejected however
// the index says so (pywb's method field, in any case; its urlkey's
// __wb_method= in JSON, CDXJ, CDX-11 and Wayback rows), and a GET is
// taken, as is a line that names no method.
func TestNonGet(t *testing.T) {
	p := Parser{RangeHi: Full}
	for line, want := range map[string]Reason{
		`{"url":"http://httpbin.org/post","timestamp":"20140610000859","status":"200","method":"POST"}`:                                                                       NonGet,
		`{"url":"http://httpbin.org/post","timestamp":"20140610000859","status":"200","method":"post"}`:                                                                       NonGet,
		`{"url":"http://httpbin.org/anything","timestamp":"20140610000859","status":"200","method":"HEAD"}`:                                                                   NonGet,
		`{"url":"http://httpbin.org/get","timestamp":"20140610000859","status":"200","method":"GET"}`:                                                                         OK,
		`{"url":"http://httpbin.org/get","timestamp":"20140610000859","status":"200","method":"get"}`:                                                                         OK,
		`{"url":"http://httpbin.org/get","timestamp":"20140610000859","status":"200","method":""}`:                                                                            OK,
		`{"url":"http://httpbin.org/post","timestamp":"20140610000859","status":"200","Method":"PUT"}`:                                                                        NonGet, // keys match in any case
		`{"url":"http://httpbin.org/post","timestamp":"20140610000859","status":"200","method":1}`:                                                                            NonGet, // not a method
		`{"urlkey":"org,httpbin)/post?__wb_method=post&foo=bar","url":"http://httpbin.org/post","timestamp":"20140610000859"}`:                                                NonGet,
		`{"urlkey":"org,httpbin)/post?__wb_method=put","url":"http://httpbin.org/post","timestamp":"20140610000859"}`:                                                         NonGet,
		`{"urlkey":"org,httpbin)/get?__wb_method=get&a=1","url":"http://httpbin.org/get","timestamp":"20140610000859"}`:                                                       OK,
		`{"urlkey":"org,httpbin)/post?__wb_method=post","url":"http://httpbin.org/post","timestamp":"20140610000859","method":"GET"}`:                                         OK,     // the field decides
		`{"urlkey":"org,httpbin)/post?__wb_method=post","url":"http://httpbin.org/post"}`:                                                                                     NonGet, // a link, but a form's
		`org,httpbin)/post?__wb_method=post&foo=bar 20140610000859 {"url":"http://httpbin.org/post","status":"200"}`:                                                          NonGet,
		`org,httpbin)/post 20140610000859 {"url":"http://httpbin.org/post?__wb_method=post","status":"200"}`:                                                                  OK, // the URL is no key
		`org,httpbin)/post?__wb_method=post&foo=bar 20140610000859 http://httpbin.org/post application/json 200 M532K5WS4GY2H4OVZO6HRPOP47A7KDWU - - 720 0 post-test.warc.gz`: NonGet,
		`["org,httpbin)/post?__wb_method=post", "20140610000859", "http://httpbin.org/post", "application/json", "200", "M532K5WS4GY2H4OVZO6HRPOP47A7KDWU", "720"],`:          NonGet,
	} {
		if _, r := p.Parse([]byte(line)); r != want {
			t.Errorf("%s: %s, want %s", line, r, want)
		}
	}
}

// FuzzLegendLayout: no line makes the reading of legends and header rows
// panic, and every layout it returns is one lines can be read by: at
// most maxLayout fields, the URL among them, no kept field twice. Lines
// read by it are held to FuzzParse's assertions.
func FuzzLegendLayout(f *testing.F) {
	for _, s := range []string{
		` CDX N b a m s k r M S V g`, ` CDX A b e a m s c k r V v D d g n`, `CDX a b s s`, `CDX`,
		`[["original","timestamp","statuscode"],`, `[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],`,
		`[["timestamp"]]`, `[[`,
	} {
		f.Add([]byte(s), []byte(`http://www.zew.de/ 19970427191925 200`))
	}
	p := fullParser()
	f.Fuzz(func(t *testing.T, legend, line []byte) {
		layout, ok, err := legendLayout(legend, false)
		if err != nil || layout == "" {
			return
		}
		if !ok || len(layout) > maxLayout || strings.Count(layout, "a") != 1 {
			t.Fatalf("legendLayout(%q) = %q, %v", legend, layout, ok)
		}
		for _, c := range "NbmskrS" {
			if strings.Count(layout, string(c)) > 1 {
				t.Fatalf("legendLayout(%q) = %q: %c twice", legend, layout, c)
			}
		}
		checkTaken(t, p, line, layout)
	})
}
