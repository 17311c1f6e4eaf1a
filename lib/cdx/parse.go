// Package cdx reads CDX index lines and turns each into a capture or a
// reject with a reason.
//
// It accepts, line by line, the JSON objects of the CDX server and of
// `ccrawl ... -o jsonl`, the `SURT TIMESTAMP {json}` lines of Common Crawl's
// cdx-NNNNN.gz files, space-separated CDX lines (CDX-11 and 9-field index
// files, the Wayback CDX server's 7-field text output and its JSON rows,
// told apart by their field count, or read by the fields a legend line,
// a header row or FieldsLayout names), and `{"url": ...}` lines and bare URLs
// (a discovered link with no capture). JSON keys match in any case, and
// the Wayback server's names original, mimetype and statuscode stand in
// for url, mime and status. Input streams may be plain, gzip (also
// multi-member) or zstd; package input opens them, detecting which from
// the first bytes.
//
//	p := cdx.Parser{Grouping: canon.ByDomain, RangeHi: cdx.Full}
//	c, reason := p.Parse(line)
//	if reason != cdx.OK { ... }
//
// A run over files reads them through a Pipeline, which keeps each
// input's legend for the lines after it:
//
//	workers := p.Workers(n)
//	err := cdx.Pipeline(files, cdx.PipelineConfig{MaxLine: 1 << 20, BatchBytes: 1 << 20, Workers: n},
//		func(w int, b *cdx.Batch) { for i := range b.Ends { c, reason, blank := workers[w].ParseLine(b, i); ... } },
//		func(b *cdx.Batch) error { ...; return nil })
package cdx

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/bytedance/sonic"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/record"
)

// Reason says why a line was rejected. OK means it was taken.
type Reason uint8

// Reject reasons. Their names appear in summaries and reject files.
const (
	OK           Reason = iota
	TooLong             // longer than the line limit
	BadJSON             // not a JSON object (after an optional SURT and timestamp)
	MissingURL          // no "url" field
	NotURL              // no scheme: e.g. an MD5 hash in place of the URL
	DNS                 // dns: record
	Whois               // whois: record
	FTP                 // ftp: record
	Warcinfo            // warcinfo: record
	Metadata            // metadata: URL or warc/metadata record
	Request             // warc/request record
	NonWebScheme        // any other scheme that is not http(s)
	BadURL              // http(s) URL the WHATWG parser rejects
	BadTimestamp        // timestamp that is not a valid 4-14 digit UTC time
	BadStatus           // status that is not a 3-digit number
	BadLength           // length that is not an integer from 0 to 2^62-1
	OutOfRange          // host key outside the requested range
	Legend              // a CDX legend line (" CDX N b a ...") or Wayback JSON header row, not a record
	BadFields           // a space-separated CDX line or Wayback JSON row of neither 7, 9 nor 11 fields
	TabSeparated        // a line that is not JSON and holds a tab: columns, not one URL
	NoTimestamp         // a capture's HTTP status or digest without its timestamp
	ResumeKey           // the Wayback CDX server's resume key (showResumeKey=true) or the empty row before it, not a record
	NonGet              // a capture of a request other than GET (pywb's "method", "__wb_method=" in the urlkey)
	LongURL             // an http(s) URL longer than canon.MaxURL
	NumReasons
)

// FoldedRecord is what Parse says of a record as meguri-inspect --rows
// prints it. It is no reject reason (Counts has no place for it): the tools
// stop at such a line with a FoldedError.
const FoldedRecord = NumReasons

var reasonNames = [NumReasons]string{
	"ok", "too_long", "bad_json", "missing_url", "not_a_url", "dns", "whois", "ftp",
	"warcinfo", "metadata", "request", "non_web_scheme", "bad_url", "bad_timestamp",
	"bad_status", "bad_length", "out_of_range", "cdx_legend", "bad_cdx_fields",
	"tab_separated", "no_timestamp", "resume_key", "non_get", "long_url",
}

// Counts holds a count of rejected lines per reason.
type Counts [NumReasons]int64

// Total sums the counts over all reasons.
func (c *Counts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Print writes one "  rejected REASON N" line per reason that has any.
func (c *Counts) Print(w io.Writer) {
	for r := Reason(1); r < NumReasons; r++ {
		if c[r] > 0 {
			fmt.Fprintf(w, "  rejected %-15s %d\n", r.String(), c[r])
		}
	}
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	if r == FoldedRecord {
		return "folded_record"
	}
	return "invalid"
}

// FoldedError stops a run at a line that is a record as meguri-inspect
// --rows prints it. Such a record folds captures (a count, first and last
// times, the digest changes) that no CDX line can carry: read as one, only
// its URL would stay, so the records a user meant to keep (say, filtered
// with jq) would come back as bare discovered URLs. Each tool adds what to
// do instead, as for ErrMeguri.
type FoldedError struct {
	Source string
	Line   int64
}

func (e *FoldedError) Error() string {
	return fmt.Sprintf("%s:%d: a record as meguri-inspect --rows prints it, not a CDX capture: it folds captures that no CDX line carries, and read as one would keep only its URL",
		e.Source, e.Line)
}

// fields are the CDX fields meguri reads; all others are ignored.
type fields struct {
	Timestamp string `json:"timestamp"`
	URL       string `json:"url"`
	Mime      string `json:"mime"`
	Status    string `json:"status"`
	Digest    string `json:"digest"`
	Length    string `json:"length"`
	Redirect  string `json:"redirect"`
	// The Wayback CDX server's names for url, mime and status, as the
	// rows of its output=json keep them when jq turns them into objects;
	// dropped, a status and mime would vanish without a word. Where an
	// object has both names, meguri's win (useWaybackNames).
	Original   string `json:"original"`
	Mimetype   string `json:"mimetype"`
	Statuscode string `json:"statuscode"`
	// The request's method where an index records it: pywb's "method"
	// field, or "__wb_method=" in the urlkey (pywb's key of a POST
	// capture, its body appended). See nonGet.
	Method string `json:"method"`
	URLKey string `json:"urlkey"`
	hasTS  bool
	// folded: the line has no timestamp and a "captures" count above 0,
	// the shape of a record meguri-inspect --rows prints.
	folded bool
}

// Parser turns lines into captures. A Parser is safe for concurrent use;
// one returned by Worker is not, and caches host keys for its goroutine.
type Parser struct {
	Grouping canon.Grouping
	// RangeLo and RangeHi bound the host keys taken (inclusive). The zero
	// Parser, with both 0, takes only host key 0; use Full.
	RangeLo, RangeHi uint64
	keys             []keySlot // host -> host key, direct-mapped; Worker parsers only
	seed             maphash.Seed
}

// keySlot is a slot of a Worker parser's host-key cache.
type keySlot struct {
	host []byte // a copy: the host the line held may be overwritten
	key  uint64
	ok   bool
}

// Worker returns a copy of p for one goroutine, with its own cache of host
// keys: finding a host's registrable domain costs more than the rest of a
// line, and CDX files list a host's captures together.
func (p *Parser) Worker() *Parser {
	w := *p
	w.keys = make([]keySlot, keyCacheSize)
	w.seed = maphash.MakeSeed()
	return &w
}

// Workers returns n Worker copies of p, one for each goroutine of a
// Pipeline (index them by its worker argument).
func (p *Parser) Workers(n int) []*Parser {
	ws := make([]*Parser, n)
	for i := range ws {
		ws[i] = p.Worker()
	}
	return ws
}

var bom = []byte("\xef\xbb\xbf")

// ParseLine parses line i of a batch the way every tool treats an input
// line: one cut at the line limit is rejected TooLong, a blank one is only
// reported blank, and a carriage return before the newline and a leading
// byte-order mark are ignored.
func (p *Parser) ParseLine(b *Batch, i int) (c record.Capture, reason Reason, blank bool) {
	line := b.Line(i)
	if b.TooLong[i] {
		return c, TooLong, false
	}
	if IsBlank(line) {
		return c, OK, true
	}
	if n := len(line); line[n-1] == '\r' {
		line = line[:n-1]
	}
	// a byte-order mark (a file saved by a Windows tool starts with one;
	// split passes it on to whichever partition gets that line)
	line = bytes.TrimPrefix(line, bom)
	c, reason = p.parse(line, b.Layout)
	return c, reason, false
}

// keyCacheSize is how many slots a Worker parser's cache of host keys has,
// a power of two (a variable so that tests can make it small).
var keyCacheSize = 4096

// hostKey keys a canonical URL's host (as canon.HostOf returns it). A
// Worker parser keeps keys in a direct-mapped cache: one slot per hash,
// overwritten by the next host that maps there. A map cleared when full
// cost more than it saved where hosts do not repeat soon (~3% of the CPU
// of the 20x scaled copy's ingest, with 138K hosts), and a slot is as
// quick as the map where they do (CDX files list a host's captures
// together).
func (p *Parser) hostKey(host string) uint64 {
	if p.keys == nil {
		return canon.KeyOfHost(host, p.Grouping)
	}
	s := &p.keys[maphash.String(p.seed, host)&uint64(len(p.keys)-1)]
	if s.ok && string(s.host) == host {
		return s.key
	}
	s.key = canon.KeyOfHost(host, p.Grouping)
	s.host, s.ok = append(s.host[:0], host...), true
	return s.key
}

// Full is the inclusive range of all host keys.
const Full = ^uint64(0)

// Parse parses one line (without its newline). It returns the capture and
// OK, or a reject reason. The capture's strings may point into line: copy
// them to keep them longer than the line.
func (p *Parser) Parse(line []byte) (record.Capture, Reason) {
	return p.parse(line, "")
}

// parse is Parse reading space-separated lines and Wayback JSON rows by
// layout (see Batch.Layout).
func (p *Parser) parse(line []byte, layout string) (record.Capture, Reason) {
	var c record.Capture
	f, r := decode(line, layout)
	if r != OK {
		return c, r
	}
	if f.folded {
		return c, FoldedRecord
	}
	if f.URL == "" {
		return c, MissingURL
	}
	if r := classify(&f); r != OK {
		if r == NotURL && !f.hasTS && IsResumeKey(f.URL) {
			return c, ResumeKey
		}
		return c, r
	}
	if nonGet(&f) {
		return c, NonGet
	}
	if !f.hasTS && captured(&f) {
		return c, NoTimestamp
	}
	u, host, err := canon.CanonicalizeHost(f.URL)
	if err != nil {
		switch err {
		case canon.ErrNotURL:
			return c, NotURL
		case canon.ErrLongURL:
			return c, LongURL
		}
		return c, BadURL
	}
	c.URL = u
	c.HostKey = p.hostKey(host)
	if !f.hasTS {
		c.Discovered = true
	} else {
		t, err := record.ParseTimestamp(f.Timestamp)
		if err != nil {
			return c, BadTimestamp
		}
		c.Time = t
		if f.Status != "" && f.Status != "-" {
			s, err := strconv.ParseUint(f.Status, 10, 16)
			if err != nil || s < 100 || s > 999 {
				return c, BadStatus
			}
			c.HTTPStatus = uint16(s)
		}
		if f.Length != "" && f.Length != "-" {
			n, err := strconv.ParseInt(f.Length, 10, 64)
			if err != nil || n < 0 || n >= record.LengthLimit {
				return c, BadLength
			}
			c.Length = n
		}
		c.Digest = record.Fingerprint(f.Digest)
		if f.Mime != "-" {
			c.Mime = f.Mime
		}
		if f.Redirect != "-" {
			c.Redirect = f.Redirect
		}
	}
	if c.HostKey < p.RangeLo || c.HostKey > p.RangeHi {
		return c, OutOfRange
	}
	return c, OK
}

// captured says whether a line without a timestamp carries what only a
// capture has: an HTTP status code or a content digest. Such a line is a
// capture whose time was lost (a jq filter that dropped it, a Wayback
// query whose fl= left it out), not a discovered link: read as one, its
// status and digest would be dropped without a word. A link may carry
// other fields (anchor text, a mime type hint, a frontier's own status
// word such as "discovered", as meguri-inspect --rows prints it).
func captured(f *fields) bool {
	if f.Digest != "" && f.Digest != "-" {
		return true
	}
	// a status code: digits, not all zero (by hand: strconv's error for
	// the empty status of every link line would allocate)
	nonzero := false
	for i := 0; i < len(f.Status); i++ {
		c := f.Status[i]
		if c < '0' || c > '9' {
			return false
		}
		nonzero = nonzero || c != '0'
	}
	return nonzero
}

// nonGet reports whether a line is a capture of a request other than a
// GET: a POST to a form or an API, as browser-based crawlers record them
// (pywb's "method" field, and its urlkey's "__wb_method=post&" with the
// request body after it). Its response is what that request got, not
// what a crawler's GET of the URL gets: folded into the URL's record, a
// POST's 200 would mark a GET-only 405 page live, and each new body would
// count as a content change.
func nonGet(f *fields) bool {
	if f.Method != "" {
		return !strings.EqualFold(f.Method, "GET")
	}
	_, m, ok := strings.Cut(f.URLKey, "__wb_method=")
	if !ok {
		return false
	}
	m, _, _ = strings.Cut(m, "&")
	return !strings.EqualFold(m, "get")
}

// classify rejects non-web records by scheme and record type.
func classify(f *fields) Reason {
	switch canon.Scheme(f.URL) {
	case "http", "https":
	case "":
		return NotURL
	case "dns":
		return DNS
	case "whois":
		return Whois
	case "ftp":
		return FTP
	case "warcinfo":
		return Warcinfo
	case "metadata":
		return Metadata
	default:
		return NonWebScheme
	}
	m := strings.ToLower(f.Mime)
	switch {
	case m == "warc/request" || strings.HasPrefix(m, "application/http;msgtype=request"):
		return Request
	case m == "warc/metadata":
		return Metadata
	case m == "warc-info" || m == "warc/warcinfo":
		return Warcinfo
	}
	return OK
}

// decode reads the fields of a JSON line, a SURT TIMESTAMP {json} line or
// a space-separated CDX line, this by layout.
func decode(line []byte, layout string) (fields, Reason) {
	var f fields
	// a bare URL, a discovered link read as {"url": line} (the
	// canonicalizer strips the ASCII spaces and controls at its ends, and
	// no other whitespace, so neither is this check); under a layout a
	// line of fields is read by it, whatever the fields hold
	if u := canon.TrimSpace(line); (layout == "" || bytes.IndexByte(u, ' ') < 0) && canon.BareURL(u) {
		if canon.Columns(u) {
			return f, TabSeparated
		}
		f.URL = unsafe.String(unsafe.SliceData(u), len(u))
		return f, OK
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return f, BadJSON
	}
	if line[0] == '[' {
		// a row of the Wayback JSON output; or a space-separated line whose
		// urlkey starts with '[' (an IPv6 host's SURT)
		if f, r := decodeArray(line, layout); r != BadJSON {
			return f, r
		}
	}
	var prefixKey, prefixTS string
	if line[0] != '{' {
		// SURT TIMESTAMP {json}, or SURT TIMESTAMP URL ... space-separated
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			return f, BadJSON
		}
		rest := bytes.TrimLeft(line[sp+1:], " ")
		sp2 := bytes.IndexByte(rest, ' ')
		if sp2 < 0 {
			if layout != "" {
				return decodeSpaced(line, layout) // two fields
			}
			return f, BadJSON
		}
		prefixKey = unsafe.String(unsafe.SliceData(line), sp)
		prefixTS = unsafe.String(unsafe.SliceData(rest), sp2)
		third := bytes.TrimLeft(rest[sp2+1:], " ")
		if len(third) == 0 {
			return f, BadJSON
		}
		if third[0] != '{' {
			return decodeSpaced(line, layout)
		}
		line = third
	}
	// The fields point into line (no copy), so they live as long as it.
	js := unsafe.String(unsafe.SliceData(line), len(line))
	var ok bool
	if f, ok = decodeFlat(js); !ok {
		if f, ok = decodeJSON(js); !ok {
			return f, BadJSON
		}
	}
	f.useWaybackNames()
	if prefixTS != "" && f.Timestamp == "" {
		f.Timestamp = prefixTS
	}
	if prefixKey != "" && f.URLKey == "" {
		f.URLKey = prefixKey
	}
	f.hasTS = f.Timestamp != ""
	f.folded = f.folded && !f.hasTS
	return f, OK
}

// layouts are the space-separated CDX layouts meguri reads, each told by
// its field count, as legend letters: N urlkey, b timestamp, a URL, m mime
// type, s status, k digest, r redirect, M meta tags, S length, V offset,
// g file name. They are CDX-11 (" CDX N b a m s k r M S V g", what
// Internet Archive tools write), the older 9-field CDX (" CDX N b a m s k
// r V g") and the Wayback CDX server's default text output (N b a m s k
// S, no legend).
var layouts = map[int]string{11: "NbamskrMSVg", 9: "NbamskrVg", 7: "NbamskS"}

// isLegend reports whether line is a CDX legend line: its first field is
// "CDX". It returns the legend's letters, without spaces.
func isLegend(line []byte) (letters string, ok bool) {
	line = bytes.TrimSpace(line)
	if !bytes.HasPrefix(line, []byte("CDX")) || len(line) > 3 && line[3] != ' ' && line[3] != '\t' {
		return "", false
	}
	return string(bytes.Join(bytes.Fields(line[3:]), nil)), true
}

// decodeSpaced reads a space-separated CDX line by layout, or by its
// field count (see layouts); a "-" field is absent.
func decodeSpaced(line []byte, layout string) (fields, Reason) {
	if _, ok := isLegend(line); ok {
		return fields{}, Legend
	}
	var tok [maxLayout + 1]string
	n := 0
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		if j == i {
			break
		}
		if n == len(tok) {
			return fields{}, BadFields
		}
		tok[n] = unsafe.String(&line[i], j-i)
		n++
		i = j
	}
	return fromLayout(tok[:n], layout)
}

// fromLayout maps the values of a space-separated line or a Wayback JSON
// row to fields by layout, or when it is "" by their count (see layouts);
// a "-" value is absent.
func fromLayout(vals []string, layout string) (fields, Reason) {
	var f fields
	if layout == "" {
		layout = layouts[len(vals)]
	}
	if len(vals) != len(layout) {
		return f, BadFields
	}
	for i, v := range vals {
		if v == "-" {
			continue
		}
		switch layout[i] {
		case 'N':
			f.URLKey = v
		case 'b':
			f.Timestamp = v
		case 'a':
			f.URL = v
		case 'm':
			f.Mime = v
		case 's':
			f.Status = v
		case 'k':
			f.Digest = v
		case 'r':
			f.Redirect = v
		case 'S':
			f.Length = v
		}
	}
	f.hasTS = f.Timestamp != ""
	return f, OK
}

// waybackLetters are the field names the Wayback CDX server's fl= takes,
// each with the legend letter of the field (as layouts spell them): '-'
// for the counts and end time of its collapsed output, which no CDX file
// holds. pywb's CDX server (Common Crawl's index server among them) names
// three fields otherwise, as its JSON lines do: url, mime and status.
var waybackLetters = map[string]byte{"urlkey": 'N', "timestamp": 'b', "original": 'a', "mimetype": 'm',
	"statuscode": 's', "digest": 'k', "length": 'S', "redirect": 'r', "robotflags": 'M', "offset": 'V',
	"filename": 'g', "dupecount": '-', "groupcount": '-', "uniqcount": '-', "endtimestamp": '-',
	"url": 'a', "mime": 'm', "status": 's'}

// maxLayout is the most fields a layout names.
const maxLayout = 32

// ErrLayout is the error of a legend, a header row or a field list that
// meguri cannot read lines by.
var ErrLayout = errors.New("not a field layout meguri reads")

// checkLayout returns the layout that legend letters name: "" when
// reading by field count reads lines as they say (a layouts entry), else
// the letters. It refuses letters without the URL (a), one that names a
// field meguri reads twice, and more than maxLayout fields.
func checkLayout(letters string) (string, error) {
	if l, ok := layouts[len(letters)]; ok && l == letters {
		return "", nil
	}
	if len(letters) > maxLayout {
		return "", fmt.Errorf("%w: %d fields, more than %d", ErrLayout, len(letters), maxLayout)
	}
	if !strings.Contains(letters, "a") {
		return "", fmt.Errorf("%w: no original URL (legend letter a, Wayback field original)", ErrLayout)
	}
	for i := 0; i < len(letters); i++ {
		if strings.IndexByte("NbamskrS", letters[i]) >= 0 && strings.IndexByte(letters[i+1:], letters[i]) >= 0 {
			return "", fmt.Errorf("%w: field %c (legend letters) named twice", ErrLayout, letters[i])
		}
	}
	return letters, nil
}

// FieldsLayout returns the layout of lines whose fields are names, in
// order, as a Wayback CDX query's fl= parameter gives them
// ("original,timestamp,statuscode"): for lines that come without their
// header row, such as the server's text output.
func FieldsLayout(names []string) (string, error) {
	letters := make([]byte, len(names))
	for i, n := range names {
		l, ok := waybackLetters[n]
		if !ok {
			known := slices.Sorted(maps.Keys(waybackLetters))
			return "", fmt.Errorf("%w: unknown field %q (the Wayback CDX server's fl= takes %s)", ErrLayout, n, strings.Join(known, ", "))
		}
		if j := slices.IndexFunc(names[:i], func(m string) bool { return waybackLetters[m] == l }); l != '-' && j >= 0 {
			if names[j] != n {
				return "", fmt.Errorf("%w: fields %q and %q name one field", ErrLayout, names[j], n)
			}
			return "", fmt.Errorf("%w: field %q named twice", ErrLayout, n)
		}
		letters[i] = l
	}
	return checkLayout(string(letters))
}

// arrayRow reads a line of the Wayback CDX server's JSON output, one row
// per line: `[["urlkey", ...],` (the header row, first), `["...", ...],`
// and `["...", ...]]` (the last). It reports whether the row is a header
// (every value a field name).
func arrayRow(line []byte) (vals []string, header, ok bool) {
	line = bytes.TrimSpace(line)
	line = bytes.TrimSuffix(line, []byte(","))
	if bytes.HasPrefix(line, []byte("[[")) {
		line = line[1:]
	}
	if bytes.HasSuffix(line, []byte("]]")) {
		line = line[:len(line)-1]
	}
	if sonic.Unmarshal(line, &vals) != nil {
		return nil, false, false
	}
	header = len(vals) > 0
	for _, v := range vals {
		_, known := waybackLetters[v]
		header = header && known
	}
	return vals, header, true
}

// decodeArray reads a row of the Wayback CDX server's JSON output as the
// same line of its text output; its header row is rejected as Legend, and
// a line that is no JSON array of strings as BadJSON.
func decodeArray(line []byte, layout string) (fields, Reason) {
	vals, header, ok := arrayRow(line)
	switch {
	case !ok:
		return fields{}, BadJSON
	case header:
		return fields{}, Legend
	case len(vals) == 0 || len(vals) == 1 && IsResumeKey(vals[0]):
		return fields{}, ResumeKey
	}
	return fromLayout(vals, layout)
}

// ResumeKeyOf returns the resume key a line rejected as ResumeKey holds:
// the line itself, or the one value of its JSON row; "" for the empty
// row before it.
func ResumeKeyOf(line []byte) string {
	if vals, _, ok := arrayRow(line); ok {
		if len(vals) == 1 {
			return vals[0]
		}
		return ""
	}
	return string(bytes.TrimSpace(line))
}

// LastResumeKey returns the last resume key that lines (text, newline
// separated: the end of a page of the Wayback CDX server's output) hold,
// as ingest's summary names it; "" for none.
func LastResumeKey(text []byte) string {
	key := ""
	var p Parser
	for line := range bytes.Lines(text) {
		line = bytes.TrimRight(line, "\r\n")
		if _, r := p.Parse(line); r == ResumeKey {
			if k := ResumeKeyOf(line); k != "" {
				key = k
			}
		}
	}
	return key
}

// IsResumeKey reports whether s is a resume key of the Wayback CDX server
// (its showResumeKey=true output ends with one, after a blank line or an
// empty JSON row): the next page's first urlkey and timestamp,
// URL-encoded ("com%2Cexample%29%2F+20200101000000%21"), which the next
// request gives as resumeKey=.
func IsResumeKey(s string) bool {
	u, err := url.QueryUnescape(s)
	if err != nil || strings.ContainsAny(s, " {") {
		return false
	}
	surt, ts, ok := strings.Cut(u, " ")
	if !ok || !strings.Contains(surt, ")") || len(ts) < 4 {
		return false
	}
	for _, c := range ts[:4] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// decodeJSON reads the fields with the full JSON decoder; lines that
// decodeFlat does not take come here. Keys match as encoding/json matches
// them (case-insensitively; of two keys for one field, the last wins).
func decodeJSON(js string) (fields, bool) {
	var f fields
	// A record printed by meguri-inspect --rows has a "captures" count:
	// read with the loose fields, which hold it.
	if !strings.Contains(js, `"captures"`) && sonic.UnmarshalString(js, &f) == nil {
		return f, true
	}
	// Values that are not strings (numbers, say) are read as their text.
	var l looseFields
	if sonic.UnmarshalString(js, &l) != nil {
		return f, false
	}
	f = fields{Timestamp: string(l.Timestamp), URL: string(l.URL), Mime: string(l.Mime), Status: string(l.Status),
		Digest: string(l.Digest), Length: string(l.Length), Redirect: string(l.Redirect),
		Original: string(l.Original), Mimetype: string(l.Mimetype), Statuscode: string(l.Statuscode),
		Method: string(l.Method), URLKey: string(l.URLKey)}
	f.folded = l.Captures > 0
	return f, true
}

// useWaybackNames takes the Wayback names' values where meguri's names
// gave none.
func (f *fields) useWaybackNames() {
	if f.URL == "" {
		f.URL = f.Original
	}
	if f.Mime == "" {
		f.Mime = f.Mimetype
	}
	if f.Status == "" {
		f.Status = f.Statuscode
	}
}

// looseFields are fields whose values may be any JSON: a number reads as
// its shortest decimal text, null as nothing.
type looseFields struct {
	Timestamp  looseText  `json:"timestamp"`
	URL        looseText  `json:"url"`
	Mime       looseText  `json:"mime"`
	Status     looseText  `json:"status"`
	Digest     looseText  `json:"digest"`
	Length     looseText  `json:"length"`
	Redirect   looseText  `json:"redirect"`
	Original   looseText  `json:"original"`
	Mimetype   looseText  `json:"mimetype"`
	Statuscode looseText  `json:"statuscode"`
	Method     looseText  `json:"method"`
	URLKey     looseText  `json:"urlkey"`
	Captures   looseCount `json:"captures"`
}

// looseText is a JSON value read as text.
type looseText string

func (t *looseText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := sonic.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = looseText(s)
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		x, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return err
		}
		*t = looseText(strconv.FormatFloat(x, 'f', -1, 64))
	default:
		*t = "\x00" // an object, array or boolean where a string belongs: fails later parsing
	}
	return nil
}

// looseCount is a JSON number, or 0 for any other value.
type looseCount float64

func (c *looseCount) UnmarshalJSON(b []byte) error {
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		x = 0
	}
	*c = looseCount(x)
	return nil
}
