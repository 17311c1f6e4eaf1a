package record

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

// line is l.AppendLine(nil, r, path), which must not fail.
func line(t *testing.T, l *Layout, r *Record, path uint64) []byte {
	t.Helper()
	b, err := l.AppendLine(nil, r, path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// odd is a record whose strings hold every byte the two layouts escape.
var odd = Record{URL: "http://example.com/a\\b\tc", HostKey: 0x00ab, Status: Redirect, HTTPStatus: 301,
	FirstSeen: 1_000_000_000, LastSeen: 1_600_000_000, Captures: 3, Changes: 1, Digest: 0x1234,
	FirstDigest: 0xfedcba9876543210, Mime: "text/\"x\"\r\n\x01caf\xc3\xa9 \xff", Length: 42,
	Redirect: "http://example.com/b"}

// The default layout prints every field as JSON that decodes back to the
// record's values, with the documented keys in the documented order.
func TestLayoutJSON(t *testing.T) {
	var l Layout
	got := line(t, &l, &odd, 0x77)
	want := `{"url":"http://example.com/a\\b\tc","host_key":"0x00000000000000ab","path_key":"0x0000000000000077",` +
		`"status":"redirect","http_status":301,"first_seen":"20010909014640","last_seen":"20200913122640",` +
		`"captures":3,"changes":1,"digest":"0000000000001234","first_digest":"fedcba9876543210",` +
		`"mime":"text/\"x\"\r\n\u0001café \ufffd","length":42,"redirect":"http://example.com/b"}` + "\n"
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if m["mime"] != "text/\"x\"\r\n\x01café \uFFFD" || m["url"] != odd.URL {
		t.Fatalf("strings do not decode back: %q %q", m["mime"], m["url"])
	}
	none := Record{URL: "http://example.com/", Status: Discovered}
	nulls := string(line(t, &l, &none, 1))
	for _, f := range []string{`"first_seen":null`, `"last_seen":null`, `"digest":null`, `"first_digest":null`} {
		if !strings.Contains(nulls, f) {
			t.Errorf("a discovered URL's line lacks %s: %s", f, nulls)
		}
	}
}

// Chosen fields print in the order given, in JSON and in TSV; TSV escapes
// as jq's @tsv does and prints null as nothing.
func TestLayoutFields(t *testing.T) {
	fs, err := ParseFields([]string{"mime", "url", "digest", "first_seen"})
	if err != nil {
		t.Fatal(err)
	}
	j := Layout{Fields: fs}
	if got, want := string(line(t, &j, &odd, 0)), `{"mime":"text/\"x\"\r\n\u0001café \ufffd","url":"http://example.com/a\\b\tc","digest":"0000000000001234","first_seen":"20010909014640"}`+"\n"; got != want {
		t.Fatalf("json got  %s\nwant %s", got, want)
	}
	ts := Layout{Fields: fs, TSV: true}
	if got, want := string(line(t, &ts, &odd, 0)), "text/\"x\"\\r\\n\x01café \uFFFD\thttp://example.com/a\\\\b\\tc\t0000000000001234\t20010909014640\n"; got != want {
		t.Fatalf("tsv got  %q\nwant %q", got, want)
	}
	if got := string(ts.Header()); got != "mime\turl\tdigest\tfirst_seen\n" {
		t.Fatalf("header %q", got)
	}
	none := Record{URL: "http://example.com/", Status: Discovered}
	if got := string(line(t, &ts, &none, 0)); got != "\thttp://example.com/\t\t\n" {
		t.Fatalf("nulls in tsv: %q", got)
	}
	all := Layout{TSV: true}
	if got := string(all.Header()); got != strings.Join(FieldNames()[:numDefault], "\t")+"\n" {
		t.Fatalf("default header %q", got)
	}
	if got, want := string(line(t, &all, &odd, 0x77)), "http://example.com/a\\\\b\\tc\t0x00000000000000ab\t0x0000000000000077\tredirect\t301\t20010909014640\t20200913122640\t3\t1\t0000000000001234\tfedcba9876543210\ttext/\"x\"\\r\\n\x01café \uFFFD\t42\thttp://example.com/b\n"; got != want {
		t.Fatalf("all tsv got  %q\nwant %q", got, want)
	}
	// host and group print only when named; the group is the suffix of
	// the host the key hashes, null when none does
	hg := Layout{Fields: []Field{FieldHost, FieldGroup}}
	for _, c := range []struct {
		url  string
		key  uint64
		want string
	}{
		{"http://www.example.co.uk:8080/x?y", xxhash.Sum64String("example.co.uk"), `{"host":"www.example.co.uk","group":"example.co.uk"}`},
		{"https://user@a.b.example.com/", xxhash.Sum64String("a.b.example.com"), `{"host":"a.b.example.com","group":"a.b.example.com"}`},
		{"http://[::1]:80/", xxhash.Sum64String("[::1]"), `{"host":"[::1]","group":"[::1]"}`},
		{"http://www.example.com/", 42, `{"host":"www.example.com","group":null}`},
	} {
		r := Record{URL: c.url, HostKey: c.key}
		if got := string(line(t, &hg, &r, 0)); got != c.want+"\n" {
			t.Errorf("%s: %s, want %s", c.url, got, c.want)
		}
	}
	if (&Layout{Fields: []Field{FieldURL}}).NeedsPathKey() || !(&Layout{}).NeedsPathKey() {
		t.Fatal("NeedsPathKey")
	}
}

// Raw TSV writes strings as jq -r prints them; a record with a tab or line
// break in a printed string fails, naming the field, and appends nothing.
func TestLayoutRaw(t *testing.T) {
	raw := Layout{Fields: []Field{FieldURL, FieldStatus, FieldMime}, TSV: true, Raw: true}
	r := Record{URL: "http://example.com/q?a\\b", Status: Crawled, Mime: "caf\xc3\xa9 \xff"}
	if got, want := string(line(t, &raw, &r, 0)), "http://example.com/q?a\\b\tcrawled\tcafé \uFFFD\n"; got != want {
		t.Fatalf("raw got %q, want %q", got, want)
	}
	for _, c := range []struct {
		r    Record
		want string
	}{
		{odd, `a tab or line break in a value cannot be written as raw TSV: url of http://example.com/a\b` + "\t" + `c is "http://example.com/a\\b\tc"`},
		{Record{URL: "http://example.com/", Mime: "text/html\r\n"}, `mime of http://example.com/ is "text/html\r\n"`},
		{Record{URL: "http://example.com/", Mime: "a\nb"}, `mime of http://example.com/ is "a\nb"`},
	} {
		b, err := raw.AppendLine([]byte("kept"), &c.r, 0)
		if !errors.Is(err, ErrUnprintable) || !strings.Contains(err.Error(), c.want) || string(b) != "kept" {
			t.Errorf("%+v: %q, %v; want %q", c.r, b, err, c.want)
		}
	}
	// a redirect is printed only when named
	r.Redirect = "http://example.com/\t"
	if got := string(line(t, &raw, &r, 0)); !strings.HasPrefix(got, "http://") {
		t.Fatal(got)
	}
	raw.Fields = append(raw.Fields, FieldRedirect)
	if _, err := raw.AppendLine(nil, &r, 0); err == nil || !strings.Contains(err.Error(), "redirect of") {
		t.Fatalf("redirect with a tab: %v", err)
	}
}

func TestParseFields(t *testing.T) {
	all, err := ParseFields(FieldNames())
	if err != nil || len(all) != int(numFields) {
		t.Fatal(all, err)
	}
	for i, f := range all {
		if f != Field(i) || f.String() != FieldNames()[i] {
			t.Fatalf("field %d is %v", i, f)
		}
	}
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, "no fields named; choose from url,host_key,"},
		{[]string{"url", "URL"}, `unknown field "URL"; choose from url,host_key,`},
		{[]string{"status", "url", "status"}, `field "status" named twice`},
		{[]string{""}, `unknown field ""`},
	} {
		if _, err := ParseFields(c.in); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("ParseFields(%q): %v, want %q...", c.in, err, c.want)
		}
	}
}

// AppendTimestamp writes what time's layout "20060102150405" writes, from
// the web's first years to beyond year 9999 (a damaged file's times).
func TestAppendTimestamp(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100_000; i++ {
		var sec int64
		switch i % 3 {
		case 0:
			sec = 1 + r.Int64N(4_102_444_800) // to 2100
		case 1:
			sec = 1 + r.Int64N(253_402_300_800+1000) // around year 9999
		default:
			sec = 1 + r.Int64N(1<<62)
		}
		want := time.Unix(sec, 0).UTC().Format("20060102150405")
		if got := string(AppendTimestamp([]byte("x"), sec)); got != "x"+want {
			t.Fatalf("%d: %q, want %q", sec, got, want)
		}
	}
	if got := string(AppendTimestamp(nil, 0)); got != "" {
		t.Fatalf("0 gives %q", got)
	}
	if got := FormatTimestamp(253_402_300_799); got != "99991231235959" {
		t.Fatal(got)
	}
	if got := FormatTimestamp(253_402_300_800); got != "100000101000000" {
		t.Fatal(got)
	}
}
