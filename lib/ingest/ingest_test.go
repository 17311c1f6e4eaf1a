package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	cdxinput "github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/testinput"
	"github.com/meguri/meguri/lib/record"
)

var update = flag.Bool("update", false, "rewrite the golden file")

const samplePath = "../../testdata/sample.jsonl"

func full() Options { return Options{Lo: 0, Hi: ^uint64(0), Workers: 2} }

func ingestBytes(t testing.TB, input []byte, opt Options) ([]byte, Summary) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := Run([]string{in}, &out, opt)
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), sum
}

func readRows(t testing.TB, b []byte) []record.Record {
	t.Helper()
	rows, err := codec.ReadAll(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func corpus(t testing.TB) []byte {
	b, err := os.ReadFile(testinput.Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sample(t testing.TB) []byte {
	b, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- an independent fold, written from the rules in MISSION.md ----

type refCapture struct {
	url            string
	time           int64
	status         int
	digest         uint64
	length         int64
	mime, redirect string
	discovered     bool
}

// refParse reads a corpus line with encoding/json (not the parser under
// test) and keeps only what the rules keep.
func refParse(line []byte) (refCapture, bool) {
	var m map[string]any
	s := strings.TrimSpace(string(line))
	var key, ts string
	if s == "" {
		return refCapture{}, false
	}
	if s[0] != '{' {
		f := strings.SplitN(s, " ", 3)
		if len(f) < 3 {
			return refCapture{}, false
		}
		key, ts, s = f[0], f[1], f[2]
	}
	if json.Unmarshal([]byte(s), &m) != nil {
		return refCapture{}, false
	}
	get := func(k string) string { v, _ := m[k].(string); return v }
	// a POST (pywb's method field, or its urlkey's __wb_method=post)
	if k := get("urlkey"); k != "" {
		key = k
	}
	if meth := get("method"); meth != "" && strings.ToUpper(meth) != "GET" ||
		meth == "" && strings.Contains(key, "__wb_method=") && !strings.Contains(key, "__wb_method=get") {
		return refCapture{}, false
	}
	raw := get("url")
	mime := get("mime")
	lm := strings.ToLower(mime)
	if lm == "warc/request" || lm == "warc/metadata" || strings.HasPrefix(lm, "application/http;msgtype=request") || lm == "warc-info" {
		return refCapture{}, false
	}
	u, err := canon.Canonicalize(raw)
	if err != nil {
		return refCapture{}, false
	}
	if t := get("timestamp"); t != "" {
		ts = t
	}
	c := refCapture{url: u, mime: mime, redirect: get("redirect")}
	if ts == "" {
		c.discovered = true
		c.mime = ""
		return c, true
	}
	tm, err := record.ParseTimestamp(ts)
	if err != nil {
		return refCapture{}, false
	}
	c.time = tm
	if st := get("status"); st != "" {
		c.status, _ = strconv.Atoi(st)
	}
	if l := get("length"); l != "" {
		c.length, _ = strconv.ParseInt(l, 10, 64)
	}
	c.digest = record.Fingerprint(get("digest"))
	return c, true
}

func refFold(caps []refCapture) record.Record {
	r := record.Record{URL: caps[0].url}
	var real []refCapture
	for _, c := range caps {
		if !c.discovered {
			real = append(real, c)
		}
	}
	if len(real) == 0 {
		return r
	}
	// winner: the greatest (time, status, length, mime, redirect)
	w := real[0]
	for _, c := range real[1:] {
		if c.time > w.time || c.time == w.time && (c.status > w.status || c.status == w.status &&
			(c.length > w.length || c.length == w.length && (c.mime > w.mime || c.mime == w.mime && c.redirect > w.redirect))) {
			w = c
		}
	}
	r.HTTPStatus = uint16(w.status)
	r.Status = record.StatusFor(uint16(w.status), w.mime)
	r.Mime, r.Length, r.Redirect, r.LastSeen = w.mime, w.length, w.redirect, w.time
	r.FirstSeen = real[0].time
	for _, c := range real {
		r.FirstSeen = min(r.FirstSeen, c.time)
	}
	r.Captures = uint64(len(real))
	// digests in (time, digest) order; unknown (0) digests are skipped
	type td struct {
		t int64
		d uint64
	}
	var ds []td
	for _, c := range real {
		if c.digest != 0 {
			ds = append(ds, td{c.time, c.digest})
		}
	}
	slices.SortFunc(ds, func(a, b td) int {
		if a.t != b.t {
			return int(a.t - b.t)
		}
		if a.d < b.d {
			return -1
		} else if a.d > b.d {
			return 1
		}
		return 0
	})
	for i := 1; i < len(ds); i++ {
		if ds[i].d != ds[i-1].d {
			r.Changes++
		}
	}
	if len(ds) > 0 {
		r.FirstDigest, r.Digest = ds[0].d, ds[len(ds)-1].d
	}
	return r
}

func checkAgainstReference(t *testing.T, input []byte) {
	out, sum := ingestBytes(t, input, full())
	rows := readRows(t, out)
	groups := map[string][]refCapture{}
	lines := 0
	for _, l := range bytes.Split(input, []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		lines++
		if c, ok := refParse(l); ok {
			groups[c.url] = append(groups[c.url], c)
		}
	}
	if int64(lines) != sum.Lines || sum.Lines != sum.Taken+sum.Rejected.Total() {
		t.Fatalf("lines %d, summary %+v: lines != taken + rejected", lines, sum)
	}
	if len(rows) != len(groups) {
		t.Fatalf("%d rows, reference fold has %d urls", len(rows), len(groups))
	}
	var captures uint64
	for i := range rows {
		r := rows[i]
		caps, ok := groups[r.URL]
		if !ok {
			t.Fatalf("row %s not in the reference fold", r.URL)
		}
		want := refFold(caps)
		host, _, _ := canon.HostOf(r.URL)
		want.HostKey = xxhash.Sum64String(canon.GroupOf(host, canon.ByDomain))
		if r != want {
			t.Fatalf("row %d differs from the reference fold:\n got %+v\nwant %+v", i, r, want)
		}
		if i > 0 && record.CompareKey(rows[i-1].HostKey, rows[i-1].URL, r.HostKey, r.URL) >= 0 {
			t.Fatalf("rows %d and %d out of order", i-1, i)
		}
		captures += r.Captures
	}
	if captures != uint64(sum.Captures) {
		t.Fatalf("captures taken %d, sum over rows %d", sum.Captures, captures)
	}
}

func TestRoundTripSample(t *testing.T) { checkAgainstReference(t, sample(t)) }
func TestRoundTripCorpus(t *testing.T) { checkAgainstReference(t, corpus(t)) }

func shuffled(b []byte, seed uint64) []byte {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	r := rand.New(rand.NewPCG(seed, 1))
	r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	return append(bytes.Join(lines, []byte("\n")), '\n')
}

func checkDeterminism(t *testing.T, input []byte) {
	base, _ := ingestBytes(t, input, full())
	shuf, _ := ingestBytes(t, shuffled(input, 7), full())
	if !bytes.Equal(base, shuf) {
		t.Fatal("shuffled input gives different bytes")
	}
	small := full()
	small.Mem = 64 << 10 // forces many spilled runs
	small.TmpDir = t.TempDir()
	spilled, sum := ingestBytes(t, shuffled(input, 9), small)
	if sum.Spills < 2 {
		t.Fatalf("expected spills with a 64 KiB budget, got %d", sum.Spills)
	}
	if !bytes.Equal(base, spilled) {
		t.Fatal("spilling gives different bytes")
	}
	if left, _ := os.ReadDir(small.TmpDir); len(left) != 0 {
		t.Fatalf("spilled runs left behind: %v", left)
	}
	one := full()
	one.Workers = 1
	single, _ := ingestBytes(t, input, one)
	if !bytes.Equal(base, single) {
		t.Fatal("one worker gives different bytes")
	}
}

func TestDeterminismSample(t *testing.T) { checkDeterminism(t, sample(t)) }
func TestDeterminismCorpus(t *testing.T) { checkDeterminism(t, corpus(t)) }

// TestGolden pins the format: the sample must encode to the committed bytes.
func TestGolden(t *testing.T) {
	got, _ := ingestBytes(t, sample(t), full())
	golden := "../../testdata/sample.meguri"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding of the sample changed (%d bytes, golden %d); if on purpose, run with -update", len(got), len(want))
	}
}

// TestRejectReasons feeds one line per reason, real corpus lines where the
// corpus has one, and checks each is rejected for that reason alone.
func TestRejectReasons(t *testing.T) {
	long := `{"urlkey": "com,facebook)/ajax/bz", "timestamp": "20140306012510", "url": "https://www.facebook.com/ajax/bz?x=` + strings.Repeat("a", 5000) + `"}`
	cases := []struct {
		reason cdx.Reason
		line   string
		opt    func(*Options)
	}{
		{cdx.TooLong, long, func(o *Options) { o.MaxLine = 4096 }},
		{cdx.BadJSON, `{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://www.zew.de:80/"`, nil},
		{cdx.BadJSON, `{"url": "http://www.zew.de/", "timestamp": }`, nil},
		{cdx.MissingURL, `{"urlkey": "de,zew)/", "timestamp": "19970427191925"}`, nil},
		{cdx.NotURL, `{"urlkey": "88668b008e9da770f181951e081cd07d", "timestamp": "20160803104942", "url": "de9bdbe518d8a37d168c41506f4f4c59", "mime": "application/octet-stream", "status": "226", "digest": "VBSREBICBHIYYWCXOL6HW6O2MRQZHGVD", "length": "348", "offset": "408", "filename": "ftp-mayn-de-2016-08-04/ftp.mayn.de.warc.gz"}`, nil},
		{cdx.DNS, `{"urlkey": "org,archive,www)", "timestamp": "20080430204825", "url": "dns:www.archive.org", "mime": "text/dns", "digest": "RUIV2DUDYXONM2YTMGPAJVQKG3FSYHXE", "length": "244", "offset": "463", "filename": "IAH-20080430204825-00000-blackbook.warc.gz"}`, nil},
		{cdx.Whois, `{"urlkey": "whois://whois.arin.net/z+%2B+132.177.133.114", "timestamp": "20170713120653", "url": "whois://whois.arin.net/z+%2B+132.177.133.114", "mime": "text/plain", "digest": "IDEID4YQ6MVJSOE57NPVDLL53ZB3J4DX", "length": "876"}`, nil},
		{cdx.FTP, `{"urlkey": "de,mayn,ftp)/pub/", "timestamp": "20160803104942", "url": "ftp://ftp.mayn.de/pub/", "status": "226"}`, nil},
		{cdx.Warcinfo, `{"urlkey": "warcinfo:/IAH-20080430204825-00000-blackbook.warc.gz/ia-web-commons.1.1.5-SNAPSHOT-${maven.build.timestamp}", "timestamp": "20080430204825", "url": "warcinfo:/IAH-20080430204825-00000-blackbook.warc.gz/ia-web-commons.1.1.5-SNAPSHOT-${maven.build.timestamp}", "mime": "warc-info", "digest": "B3CPX3Q4JK373UZA6HDKGYZVSNQDTGFQ", "length": "463", "offset": "0", "filename": "IAH-20080430204825-00000-blackbook.warc.gz"}`, nil},
		{cdx.Metadata, `{"urlkey": "org,archive)/robots.txt", "timestamp": "20080430204825", "url": "http://www.archive.org/robots.txt", "mime": "warc/metadata", "digest": "UC6T35EULJ3NDNXGP55U2ZM7JS3JTZIP", "length": "276", "offset": "1776", "filename": "IAH-20080430204825-00000-blackbook.warc.gz"}`, nil},
		{cdx.Metadata, `{"urlkey": "metadata)/www.youtube.com/v/2b7y5lzx3nw&hl=en&fs=1&rel=0&loop=1&showinfo=0", "timestamp": "20141201164830", "url": "metadata://www.youtube.com/v/2B7y5lZX3Nw&hl=en&fs=1&rel=0&loop=1&showinfo=0", "mime": "application/vnd.youtube-dl_formats+json"}`, nil},
		{cdx.Request, `{"urlkey": "org,archive)/robots.txt", "timestamp": "20080430204825", "url": "http://www.archive.org/robots.txt", "mime": "warc/request", "digest": "562266FCC665IW6ENSS3C74D7V66EDMH", "length": "384", "offset": "1392", "filename": "IAH-20080430204825-00000-blackbook.warc.gz"}`, nil},
		{cdx.NonWebScheme, `{"url": "mailto:someone@example.com", "timestamp": "20200101000000"}`, nil},
		{cdx.BadURL, `{"url": "http://[ccpa-preferences]"}`, nil},
		{cdx.BadTimestamp, `{"urlkey": "de,zew)/", "timestamp": "19970231191925", "url": "http://www.zew.de:80/", "status": "200"}`, nil},
		{cdx.BadStatus, `{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://www.zew.de:80/", "status": "OK"}`, nil},
		{cdx.BadLength, `{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://www.zew.de:80/", "status": "200", "length": "-5"}`, nil},
		// generated: a length of 2^62, more than a .meguri row holds (such
		// a line once made ingest write a file no reader could read)
		{cdx.BadLength, `{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://www.zew.de:80/", "status": "200", "length": "4611686018427387904"}`, nil},
		{cdx.Legend, ` CDX N b a m s k r M S V g`, nil},
		{cdx.Legend, `CDX N b a m s k r V g`, nil},
		{cdx.BadFields, `de,zew)/ 19970427191925 http://www.zew.de:80/a b text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 1001`, nil},
		{cdx.BadFields, `de,zew)/ 19970427191925 http://www.zew.de:80/`, nil},
		{cdx.TabSeparated, "http://www.zew.de:80/\tZEW Mannheim", nil},
		// generated: a corpus line with its timestamp taken out
		{cdx.NoTimestamp, `{"urlkey": "de,zew)/", "url": "http://www.zew.de:80/", "mime": "text/html", "status": "200", "digest": "GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4", "length": "1001"}`, nil},
		// generated: the end of a Wayback CDX server page asked with
		// showResumeKey=true, in its text and its JSON output
		{cdx.ResumeKey, `de%2Czew%29%2F+19970427191925%21`, nil},
		{cdx.ResumeKey, `[],`, nil},
		{cdx.ResumeKey, `["de%2Czew%29%2F+19970427191925%21"]]`, nil},
		{cdx.NonGet, `{"urlkey": "com,googleapis,jnn-pa)/$rpc/google.internal.waa.v1.waa/create?__wb_method=post", "timestamp": "20220510010326", "url": "https://jnn-pa.googleapis.com/$rpc/google.internal.waa.v1.Waa/Create", "mime": "application/json+protobuf", "status": "200", "digest": "sha1:BZTWTHK6CCM4DEP5WM2CSIYRT47CIQWV", "length": "23212", "offset": "15747565", "filename": "apod.warc.gz", "requestBody": "", "method": "POST"}`, nil},
		// pywb's key of a POST capture alone, in the JSON and in the
		// CDXJ of pywb's post-test.cdxj (the corpus keeps it as JSON)
		{cdx.NonGet, `{"urlkey": "org,httpbin)/post?__wb_method=post&foo=bar&test=abc", "timestamp": "20140610000859", "url": "http://httpbin.org/post", "mime": "application/json", "status": "200", "digest": "M532K5WS4GY2H4OVZO6HRPOP47A7KDWU", "length": "720", "offset": "0", "filename": "post-test.warc.gz"}`, nil},
		{cdx.NonGet, `org,httpbin)/post?__wb_method=post&foo=bar&test=abc 20140610000859 {"url": "http://httpbin.org/post", "mime": "application/json", "status": "200", "digest": "M532K5WS4GY2H4OVZO6HRPOP47A7KDWU", "length": "720", "offset": "0", "filename": "post-test.warc.gz"}`, nil},
		// generated: a URL past canon.MaxURL, a user name of junk before
		// the host (the URL parser's time grew with its square)
		{cdx.LongURL, `{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://` + strings.Repeat("u", canon.MaxURL) + `@www.zew.de:80/"}`, nil},
		{cdx.OutOfRange, `{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://www.zew.de:80/", "mime": "text/html", "status": "200", "digest": "GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4", "length": "1001"}`,
			func(o *Options) { o.Lo, o.Hi = 0, 1 }},
	}
	seen := map[cdx.Reason]bool{}
	for _, c := range cases {
		opt := full()
		if c.opt != nil {
			c.opt(&opt)
		}
		var rej bytes.Buffer
		opt.Rejects = &rej
		_, sum := ingestBytes(t, []byte(c.line+"\n"), opt)
		if sum.Rejected[c.reason] != 1 || sum.Rejected.Total() != 1 || sum.Taken != 0 {
			t.Errorf("%s: summary %+v", c.reason, sum)
			continue
		}
		var rl cdx.RejectLine
		if err := json.Unmarshal(rej.Bytes(), &rl); err != nil {
			t.Fatalf("%s: rejects line %q: %v", c.reason, rej.String(), err)
		}
		wantText := c.line
		if c.reason == cdx.TooLong {
			wantText = c.line[:4096]
		}
		if rl.Reason != c.reason.String() || rl.Line != 1 || rl.Text != wantText || !strings.HasSuffix(rl.Source, "in.jsonl") {
			t.Errorf("%s: reject line %+v", c.reason, rl)
		}
		seen[c.reason] = true
	}
	for r := cdx.Reason(1); r < cdx.NumReasons; r++ {
		if !seen[r] {
			t.Errorf("no test for reject reason %s", r)
		}
	}
}

// TestLongestLength: the longest length a row holds, 2^62-1, is taken
// and reads back.
func TestLongestLength(t *testing.T) {
	b, sum := ingestBytes(t, []byte(`{"url": "http://www.zew.de/", "timestamp": "19970427191925", "status": "200", "length": "4611686018427387903"}`+"\n"), full())
	rows, err := codec.ReadAll(bytes.NewReader(b))
	if err != nil || sum.Taken != 1 || len(rows) != 1 || rows[0].Length != record.LengthLimit-1 {
		t.Fatalf("taken %d, rows %+v, %v", sum.Taken, rows, err)
	}
}

// TestRejectBytesExact: a rejected line that is not UTF-8 keeps its exact
// bytes in the rejects file (text_base64); a UTF-8 one has text alone; a
// carriage return before the newline stays (split keeps it too).
func TestRejectBytesExact(t *testing.T) {
	lines := []string{"garbage \xff\xfe here", `{"url": "ftp://x.example/\xe9t\xe9"}`, `{"url": "ftp://x.example/été"}`, "crlf garbage\r"}
	opt := full()
	var rej bytes.Buffer
	opt.Rejects = &rej
	ingestBytes(t, []byte(strings.Join(lines, "\n")+"\n"), opt)
	dec := json.NewDecoder(&rej)
	for i, want := range lines {
		var rl cdx.RejectLine
		if err := dec.Decode(&rl); err != nil {
			t.Fatalf("reject %d: %v", i, err)
		}
		got, err := rl.Bytes()
		if err != nil || string(got) != want || rl.Line != int64(i+1) {
			t.Errorf("reject %d: line %d, bytes %q (%v), want %q", i, rl.Line, got, err, want)
		}
		if hasB64 := rl.TextBase64 != ""; hasB64 == utf8.ValidString(want) {
			t.Errorf("reject %d: text_base64 %q for a line whose UTF-8 validity is %v", i, rl.TextBase64, utf8.ValidString(want))
		}
	}
}

func TestStrict(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"url": "http://example.com/"}`+"\n\n"+`{"url": "dns:example.com", "timestamp": "20200101000000"}`+"\n"), 0o644)
	opt := full()
	opt.Strict = true
	_, err := Run([]string{in}, io.Discard, opt)
	se, ok := err.(*StrictError)
	if !ok || se.Line != 3 || se.Reason != cdx.DNS || se.Source != in {
		t.Fatalf("strict error = %v, want %s:3 dns", err, in)
	}
	if !strings.Contains(err.Error(), in+":3") {
		t.Fatalf("message %q does not name file and line", err)
	}
}

// TestFailureRemovesSpills: a run that stops after spilling sorted runs
// (here --strict at a reject on the last line) removes them.
func TestFailureRemovesSpills(t *testing.T) {
	dir := t.TempDir()
	var in bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&in, `{"url": "http://h%d.example/p%d"}`+"\n", i%97, i)
	}
	in.WriteString(`{"url": "dns:example.com", "timestamp": "20200101000000"}` + "\n")
	name := filepath.Join(dir, "in.jsonl")
	os.WriteFile(name, in.Bytes(), 0o644)
	opt := full()
	opt.Strict = true
	opt.Mem = 64 << 10
	opt.TmpDir = t.TempDir()
	var runs int
	opt.Progress = func(int64, int64, int64) {
		if e, _ := os.ReadDir(opt.TmpDir); len(e) > runs {
			runs = len(e)
		}
	}
	_, err := Run([]string{name}, io.Discard, opt)
	if se, ok := err.(*StrictError); !ok || se.Line != 20001 {
		t.Fatalf("err = %v, want a strict error at line 20001", err)
	}
	if runs < 2 {
		t.Fatalf("only %d runs spilled before the reject; the test needs some", runs)
	}
	if left, _ := os.ReadDir(opt.TmpDir); len(left) != 0 {
		t.Fatalf("%d spilled runs left behind after the failure", len(left))
	}
}

// TestWritingProgress: after the reading, a run says once that it sorts
// every taken line, then how many it has folded and written, never more
// than it took; the spilled and the in-memory sort say the same.
func TestWritingProgress(t *testing.T) {
	dir := t.TempDir()
	var in bytes.Buffer
	for i := range 40000 {
		fmt.Fprintf(&in, `{"url": "http://h%d.example/p%d"}`+"\n", i%97, i%30000)
	}
	name := filepath.Join(dir, "in.jsonl")
	os.WriteFile(name, in.Bytes(), 0o644)
	for _, mem := range []int64{1 << 30, 64 << 10} {
		opt := full()
		opt.Mem = mem
		opt.TmpDir = dir
		var calls []string
		var last int64
		var stage0 string
		opt.Writing = func(stage string, done, total int64) {
			if stage == "write" && (done <= last || done > total) {
				t.Errorf("mem %d: write %d of %d after %d", mem, done, total, last)
			}
			last = done
			if stage != stage0 {
				calls = append(calls, fmt.Sprintf("%s %d", stage, total))
				stage0 = stage
			}
		}
		sum, err := Run([]string{name}, io.Discard, opt)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"sort 40000", "write 40000"}; !slices.Equal(calls, want) || sum.Taken != 40000 {
			t.Errorf("mem %d: stages %v, want %v (taken %d)", mem, calls, want, sum.Taken)
		}
		if mem < 1<<20 && sum.Spills == 0 {
			t.Errorf("mem %d: no spill", mem)
		}
	}
}

// TestCompressedInputs: gzip (multi-member), zstd and plain give the same
// file; HTML under a .gz name is refused naming the file, and so is a
// compressed file cut short.
func TestCompressedInputs(t *testing.T) {
	input := sample(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.jsonl")
	os.WriteFile(plain, input, 0o644)
	half := bytes.LastIndexByte(input[:len(input)/2], '\n') + 1
	gz := filepath.Join(dir, "a.jsonl.gz")
	writeGzipMembers(t, gz, input[:half], input[half:])
	zs := filepath.Join(dir, "a.jsonl.zst")
	writeZstd(t, zs, input)
	var want bytes.Buffer
	if _, err := Run([]string{plain}, &want, full()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{gz, zs} {
		var got bytes.Buffer
		if _, err := Run([]string{p}, &got, full()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s gives different bytes from plain input", p)
		}
	}
	html := filepath.Join(dir, "cdx-00000.gz")
	os.WriteFile(html, []byte("<!DOCTYPE html>\n<html><body>403 Forbidden</body></html>\n"), 0o644)
	_, err := Run([]string{html}, io.Discard, full())
	if err == nil || !strings.Contains(err.Error(), html) || !strings.Contains(err.Error(), "not compressed") {
		t.Fatalf("HTML under .gz: err = %v", err)
	}
	// a download cut short: the message names the file, the line reached
	// and the compression
	for _, c := range []struct{ path, kind string }{{gz, "gzip"}, {zs, "zstd"}} {
		b, _ := os.ReadFile(c.path)
		cut := c.path + ".cut"
		os.WriteFile(cut, b[:len(b)*2/3], 0o644)
		_, err := Run([]string{cut}, io.Discard, full())
		if err == nil || !strings.HasPrefix(err.Error(), cut+": line ") || !strings.Contains(err.Error(), ": "+c.kind+" data damaged or cut short: ") ||
			strings.Count(err.Error(), cut) != 1 {
			t.Errorf("truncated %s: err = %v", c.kind, err)
		}
	}
	// a .meguri compressed for shipping is named as one, not read as lines
	// that are all rejected
	var meg bytes.Buffer
	if _, err := Run([]string{plain}, &meg, full()); err != nil {
		t.Fatal(err)
	}
	megGz, megZst := filepath.Join(dir, "p.meguri.gz"), filepath.Join(dir, "p.meguri.zst")
	writeGzipMembers(t, megGz, meg.Bytes())
	writeZstd(t, megZst, meg.Bytes())
	for _, c := range []struct{ path, kind string }{{megGz, "gzip"}, {megZst, "zstd"}} {
		_, err := Run([]string{c.path}, io.Discard, full())
		if !errors.Is(err, cdxinput.ErrMeguri) || err.Error() != c.path+": is a .meguri file, not CDX lines (compressed with "+c.kind+")" {
			t.Errorf("a .meguri compressed with %s: err = %v", c.kind, err)
		}
	}
	htmlPlain := filepath.Join(dir, "page.jsonl")
	os.WriteFile(htmlPlain, []byte("<html><body>error</body></html>\n"), 0o644)
	_, err = Run([]string{htmlPlain}, io.Discard, full())
	if want := htmlPlain + `: looks like an HTML or XML page (a server's error for a download?), not CDX lines: "<html><body>error</body></html>\n"`; err == nil || err.Error() != want {
		t.Fatalf("HTML input: err = %v, want %s", err, want)
	}
	// S3's error for a key that is not there, as curl saves it
	s3 := filepath.Join(dir, "cdx-00000")
	os.WriteFile(s3, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>NoSuchKey</Code></Error>"), 0o644)
	if _, err = Run([]string{s3}, io.Discard, full()); err == nil || !strings.HasPrefix(err.Error(), s3+": looks like an HTML or XML page") {
		t.Fatalf("an S3 error: err = %v", err)
	}
}

// TestByteOrderMark: a file that starts with a byte-order mark (saved by a
// Windows tool) ingests like one without.
func TestByteOrderMark(t *testing.T) {
	in := sample(t)
	want, _ := ingestBytes(t, in, full())
	got, sum := ingestBytes(t, append([]byte("\xef\xbb\xbf"), in...), full())
	if !bytes.Equal(got, want) || sum.Rejected[cdx.BadJSON] != 0 {
		t.Fatalf("a leading byte-order mark changes the file (bad_json rejects: %d)", sum.Rejected[cdx.BadJSON])
	}
}

// TestCDXJLines: the same capture as a JSON line and as a SURT TIMESTAMP
// {json} line give the same record.
func TestCDXJLines(t *testing.T) {
	a, _ := ingestBytes(t, []byte(`{"urlkey": "com,example)/", "timestamp": "20250802232428", "url": "http://www.example.com/", "mime": "text/html", "status": "200", "digest": "JI6OR3QR4CI526JD6TMMNZNV4QPMPQCH", "length": "1219"}`+"\n"), full())
	b, _ := ingestBytes(t, []byte(`com,example)/ 20250802232428 {"url": "http://www.example.com/", "mime": "text/html", "status": "200", "digest": "JI6OR3QR4CI526JD6TMMNZNV4QPMPQCH", "length": "1219"}`+"\n"), full())
	if !bytes.Equal(a, b) {
		t.Fatal("CDXJ line and JSON line give different files")
	}
	rows := readRows(t, a)
	if len(rows) != 1 || rows[0].Captures != 1 || rows[0].HTTPStatus != 200 || record.FormatTimestamp(rows[0].LastSeen) != "20250802232428" {
		t.Fatalf("rows = %+v", rows)
	}
}

// TestSpacedCDX: the lines of the corpus (or of the sample) written back as
// bare URLs (the discovered links) and as the space-separated CDX they
// were taken from (see testinput.Spaced; most of the corpus came from
// CDX-11 files and Wayback server text output, SOURCES.md; half the
// 7-field lines as rows of the Wayback server's JSON output) ingest to the
// same bytes as the JSON lines, with the same lines rejected, plus the
// legend lines and the JSON header row, rejected as cdx_legend.
func TestSpacedCDX(t *testing.T) {
	var spaced, ref bytes.Buffer
	spaced.WriteString(" CDX N b a m s k r M S V g\n")
	spaced.WriteString(`[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],` + "\n")
	byLayout := map[int]int{}
	for i, line := range bytes.Split(bytes.TrimSuffix(testinput.Read(t), []byte("\n")), []byte("\n")) {
		s, r, n := testinput.Spaced(line, i%5 == 0)
		if n == 7 && i%2 == 0 {
			// a row of the Wayback server's JSON output instead
			row, _ := json.Marshal(strings.Split(string(s), " "))
			s, n = append(row, ','), -7
		}
		byLayout[n]++
		spaced.Write(append(s, '\n'))
		ref.Write(append(r, '\n'))
	}
	spaced.WriteString("CDX N b a m s k r V g\n")
	t.Logf("lines by layout (0: kept as JSON, 1: bare URLs, -7: Wayback JSON rows): %v", byLayout)
	if byLayout[11] < 100 || byLayout[9] < 100 || byLayout[7] < 100 || byLayout[-7] < 100 || byLayout[1] < 100 {
		t.Fatalf("the corpus gives too few lines of some layout: %v", byLayout)
	}
	want, wsum := ingestBytes(t, ref.Bytes(), full())
	got, gsum := ingestBytes(t, spaced.Bytes(), full())
	if !bytes.Equal(got, want) {
		t.Fatalf("space-separated CDX ingests to other bytes (%d, JSON lines %d)", len(got), len(want))
	}
	wsum.Rejected[cdx.Legend] += 3
	wsum.Lines += 3
	if gsum.Lines != wsum.Lines || gsum.Taken != wsum.Taken || gsum.Captures != wsum.Captures || gsum.Rejected.Total() != wsum.Rejected.Total() || gsum.Rejected[cdx.Legend] != 3 {
		t.Fatalf("summaries differ:\n spaced %+v\n json   %+v", gsum, wsum)
	}
}

// TestBatchSize: the line batches a run holds in flight (5 a worker and 2,
// cdx.PipelineConfig.Memory) stay within an eighth of the budget however
// many workers parse them, and a batch is 1 MiB when the budget allows.
func TestBatchSize(t *testing.T) {
	for _, mem := range []int64{4 << 20, 64 << 20, 256 << 20, 1 << 30} {
		for _, workers := range []int{1, 2, 8, 32, 128} {
			b := batchSize(mem, workers)
			held := cdx.PipelineConfig{BatchBytes: b, Workers: workers}.Memory()
			if held > mem/8 && b > 4<<10 {
				t.Errorf("--mem %d MiB, %d workers: batches of %d bytes hold %d MiB", mem>>20, workers, b, held>>20)
			}
		}
	}
	if b := batchSize(1<<30, 2); b != 1<<20 {
		t.Errorf("--mem 1G, 2 workers: batches of %d bytes, want 1 MiB", b)
	}
}

// TestFutureCounted: Options.Future counts the captures dated after it,
// the first by input order though many batches are parsed at once, and
// the newest time; the bytes are those of a run that counts nothing.
func TestFutureCounted(t *testing.T) {
	var in bytes.Buffer
	for i := range 5000 {
		ts := "20200101000000"
		if i == 3001 || i == 4500 {
			ts = "20990101000000"
		}
		if i == 4000 {
			ts = "20991231235959"
		}
		fmt.Fprintf(&in, `{"url":"http://h%d.example/p","timestamp":"%s","status":"200"}`+"\n", i, ts)
	}
	opt := full()
	opt.Mem = 256 << 10 // batches of 4 KiB: the three are in three batches
	plain, _ := ingestBytes(t, in.Bytes(), opt)
	opt.Future = time.Date(2098, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	out, sum := ingestBytes(t, in.Bytes(), opt)
	if sum.Future != 3 || sum.FirstFuture.Line != 3002 || record.FormatTimestamp(sum.NewestFuture) != "20991231235959" {
		t.Errorf("future %d, first line %d, newest %s; want 3, 3002, 20991231235959",
			sum.Future, sum.FirstFuture.Line, record.FormatTimestamp(sum.NewestFuture))
	}
	if !bytes.Equal(out, plain) {
		t.Error("counting future captures changed the bytes")
	}
}
