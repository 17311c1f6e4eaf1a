// Package canon turns raw URLs into canonical http(s) URLs and computes
// their 128-bit keys.
//
// A URL is parsed by the WHATWG URL Standard (github.com/nlnwa/whatwg-url),
// which lowercases the scheme and host, converts IDNA hosts to ASCII,
// normalises IPv4 and IPv6 hosts, drops the default port, resolves dot
// segments and percent-encodes what must be. meguri then applies its own
// rules on top:
//
//  1. a byte that is no part of valid UTF-8 (a Latin-1 é in an old
//     archive's URL) is percent-escaped before parsing, not read as
//     U+FFFD, so that URLs differing only in such bytes stay apart;
//  2. the fragment is dropped;
//  3. every percent-escape is normalised: an escape of an unreserved
//     character (A-Z a-z 0-9 - . _ ~) is decoded, and the hex digits of
//     every other escape are uppercased.
//
// Plain ASCII URLs take a fast path that gives the same result as the
// parser without allocating a parse tree; tests and a fuzz target hold the
// two to agreement.
//
// Keys:
//
//	u, err := canon.Canonicalize("HTTP://WWW.Example.com:80/a/./b#x")
//	// u == "http://www.example.com/a/b"
//	k := canon.KeysOf(u, canon.ByDomain)
//	// k.Group == "example.com", k.Host == xxhash.Sum64String("example.com")
package canon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	whatwg "github.com/nlnwa/whatwg-url/url"
)

// ErrNotURL is returned for a string with no URL scheme, such as the MD5
// hashes some Internet Archive indexes store in place of URLs.
var ErrNotURL = errors.New("not a URL")

// MissingScheme reports whether s, refused with ErrNotURL, reads as a
// host and path written without a scheme (www.example.com/a): its text
// before the first slash holds a dot. A hashed URL (hex digits) does not.
func MissingScheme(s string) bool {
	host, _, _ := strings.Cut(strings.TrimSpace(s), "/")
	return Scheme(s) == "" && strings.Contains(host, ".")
}

// TrimSpace returns line without the ASCII spaces and controls " \t\n\v\f\r"
// at its ends, the whitespace a bare URL's line is read without (the
// canonicalizer strips those and no other), as bytes.Trim with that
// cutset would, without building the cutset's table on every line (1.6%
// of an ingest's CPU, which calls it on every CDX line).
func TrimSpace(line []byte) []byte {
	space := func(c byte) bool { return c == ' ' || c-'\t' <= '\r'-'\t' }
	for len(line) > 0 && space(line[0]) {
		line = line[1:]
	}
	for len(line) > 0 && space(line[len(line)-1]) {
		line = line[:len(line)-1]
	}
	return line
}

// Columns reports whether a line of a URL list holds a tab between its
// first and last non-space bytes: tab-separated columns (a URL and its
// anchor text, a link's source and target), not one URL. Canonicalize
// would drop the tab, as the URL standard does, and join the columns
// into one URL; the tools refuse such a line instead.
func Columns(line []byte) bool {
	return bytes.IndexByte(TrimSpace(line), '\t') >= 0
}

// ErrColumns is ListURL's error for a line with a tab in it: tab-separated
// columns (a URL and its anchor text, a link's source and target), not one
// URL. The URL parser would drop the tab and take the columns joined as one
// URL.
var ErrColumns = errors.New("a tab in the line: columns, not one URL (cut -f1 gives the first column)")

// ErrNoURLField is ListURL's error for a JSON line that is no object with
// a "url" string.
var ErrNoURLField = errors.New(`a JSON line without a "url" string`)

// ErrLegend is ListURL's error for the legend line of a space-separated
// CDX file (" CDX N b a m s k r M S V g") or the header row of the Wayback
// CDX server's JSON output: no record.
var ErrLegend = errors.New("a CDX legend line, not a record")

// ErrCDXFields is ListURL's error for a space-separated CDX line (or a
// Wayback JSON row) of a field count meguri-ingest does not read.
var ErrCDXFields = errors.New("a CDX line of neither 7, 9 nor 11 fields")

// ListURL returns the URL a line of a URL list stands for, not yet
// canonicalized, reading a line of CDX as meguri-ingest reads it (with
// encoding/json, so that the tools that read URL lists do not link the
// CDX parser's JSON library; FuzzListURL holds the two to one reading):
//   - a bare URL: a line of one field, or an http(s) URL with spaces whose
//     second field is no number: the line itself, unless a tab inside
//     makes it columns (ErrColumns);
//   - a JSON object (a CDX line, a discovered URL, a row of
//     meguri-inspect --rows): its "url" string, the key in any case, or
//     the Wayback server's "original" where "url" gives none;
//   - a row of the Wayback CDX server's JSON output: its third value;
//   - Common Crawl's SURT TIMESTAMP {json}: the object's "url";
//   - space-separated CDX of 7, 9 or 11 fields: the third field.
func ListURL(line []byte) (string, error) {
	if u := TrimSpace(line); BareURL(u) {
		if Columns(u) {
			return "", ErrColumns
		}
		return string(line), nil
	}
	t := bytes.TrimSpace(line)
	switch {
	case len(t) == 0:
		return string(line), nil
	case t[0] == '{':
		return objectURL(t)
	case t[0] == '[':
		if u, err, ok := waybackRow(t); ok {
			return u, err
		}
	}
	fields := bytes.FieldsFunc(t, func(r rune) bool { return r == ' ' })
	if len(fields) == 2 && digits(fields[1]) {
		// a URL and a timestamp (a Wayback query's fl=original,timestamp),
		// which ingest rejects: read as one URL with a space, it would
		// be looked up as another URL than the first field
		return "", ErrCDXFields
	}
	if len(fields) < 3 {
		return string(line), nil
	}
	// the rest of the line from the third field on
	rest := bytes.TrimLeft(t[bytes.IndexByte(t, ' '):], " ")
	rest = bytes.TrimLeft(rest[bytes.IndexByte(rest, ' '):], " ")
	switch n := len(fields); {
	case rest[0] == '{':
		return objectURL(rest)
	case string(fields[0]) == "CDX":
		return "", ErrLegend
	case n != 7 && n != 9 && n != 11:
		return "", ErrCDXFields
	}
	return string(fields[2]), nil
}

// digits reports whether b is one or more ASCII digits.
func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// BareURL reports whether a line (without the spaces at its ends) is a
// bare URL as meguri-ingest tells one: not JSON, and one field, or an
// http(s) URL with spaces in it whose second field is not a number (in
// every CDX form the second field is the timestamp), as link extractors
// write an href they did not encode.
func BareURL(u []byte) bool {
	if len(u) == 0 || u[0] == '{' || u[0] == '[' {
		return false
	}
	sp := bytes.IndexByte(u, ' ')
	if sp < 0 {
		return true
	}
	if !hasHTTPScheme(u) {
		return false
	}
	second := bytes.TrimLeft(u[sp:], " ")
	if end := bytes.IndexByte(second, ' '); end >= 0 {
		second = second[:end]
	}
	return !digits(second)
}

// hasHTTPScheme reports whether u starts with http:// or https://, in any
// case.
func hasHTTPScheme(u []byte) bool {
	const p = "http"
	if len(u) < len("http://") {
		return false
	}
	for i := range len(p) {
		if u[i]|0x20 != p[i] {
			return false
		}
	}
	rest := u[len(p):]
	if rest[0]|0x20 == 's' {
		rest = rest[1:]
	}
	return bytes.HasPrefix(rest, []byte("://"))
}

// objectURL returns the "url" string of a JSON object. Control bytes
// inside its strings, which JSON wants escaped, are taken as ingest takes
// them.
func objectURL(t []byte) (string, error) {
	// keys match as ingest matches them: case-insensitively, the last of
	// two for one field winning, the Wayback server's "original" where
	// "url" gives nothing
	var o struct {
		URL      json.RawMessage `json:"url"`
		Original json.RawMessage `json:"original"`
	}
	err := json.Unmarshal(t, &o)
	if err != nil {
		err = json.Unmarshal(looseJSON(t), &o)
	}
	if none := func(v json.RawMessage) bool { return v == nil || string(v) == "null" || string(v) == `""` }; none(o.URL) {
		o.URL = o.Original
	}
	u, ok := jsonString(o.URL)
	if err != nil || !ok || u == "" {
		return "", ErrNoURLField
	}
	return u, nil
}

// jsonString decodes a JSON string as ingest's decoder (sonic) does:
// escapes as JSON has them (a lone surrogate half as U+FFFD), and every
// other byte as it is, invalid UTF-8 too. encoding/json would replace an
// invalid byte with U+FFFD, and the URL parser, dropping a tab that sat
// between two bytes, would then see two characters where ingest sees
// one. ok is false for a value that is no string; raw is what
// encoding/json accepted.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	raw = raw[1 : len(raw)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), true
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(raw[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2 = hex4(raw[i+3:])
				}
				if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
					r = pair
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, raw[i])
		}
	}
	return string(out), true
}

// hex4 reads the 4 hex digits of a \u escape.
func hex4(b []byte) rune {
	var r rune
	for _, h := range b[:4] {
		switch {
		case '0' <= h && h <= '9':
			h -= '0'
		case 'a' <= h && h <= 'f':
			h -= 'a' - 10
		default:
			h -= 'A' - 10
		}
		r = r<<4 | rune(h)
	}
	return r
}

// looseJSON returns t with what encoding/json refuses inside a string
// and the CDX parser's JSON decoder (sonic) takes, where it reads past a
// value or reads it raw, written as encoding/json reads it: a byte below
// 0x20 as a \u escape, and a backslash that starts no escape as an
// escaped backslash.
func looseJSON(t []byte) []byte {
	out := make([]byte, 0, len(t)+16)
	in := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case in && c == '\\':
			if i+1 < len(t) && validEscape(t[i+1:]) {
				out = append(out, c, t[i+1])
				i++
			} else {
				out = append(out, '\\', '\\')
			}
			continue
		case c == '"':
			in = !in
		case in && c < 0x20:
			out = append(out, fmt.Sprintf("\\u%04x", c)...)
			continue
		}
		out = append(out, c)
	}
	return out
}

// validEscape reports whether b, following a backslash inside a JSON
// string, is an escape JSON has.
func validEscape(b []byte) bool {
	switch b[0] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if len(b) < 5 {
			return false
		}
		for _, h := range b[1:5] {
			if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
				return false
			}
		}
		return true
	}
	return false
}

// waybackRow reads a row of the Wayback CDX server's output=json (one
// row a line, the first opening and the last closing the outer array);
// ok is false for a line that is no JSON array of strings.
func waybackRow(t []byte) (u string, err error, ok bool) {
	t = bytes.TrimSuffix(t, []byte(","))
	if bytes.HasPrefix(t, []byte("[[")) {
		t = t[1:]
	}
	if bytes.HasSuffix(t, []byte("]]")) {
		t = t[:len(t)-1]
	}
	var raws []json.RawMessage
	// what ingest's decoder takes inside its strings is taken too
	if json.Unmarshal(t, &raws) != nil && json.Unmarshal(looseJSON(t), &raws) != nil {
		return "", nil, false
	}
	vals := make([]string, len(raws))
	for i, r := range raws {
		v, ok := jsonString(r)
		if !ok {
			return "", nil, false // an array of strings only
		}
		vals[i] = v
	}
	switch {
	case len(vals) > 1 && vals[1] == "timestamp":
		return "", ErrLegend, true
	case len(vals) != 7 && len(vals) != 9 && len(vals) != 11:
		// read by their count, as space-separated lines are (ingest
		// does): the URL is the third value in each layout
		return "", ErrCDXFields, true
	}
	return vals[2], nil, true
}

// ErrBadURL is returned for an http(s) URL the WHATWG parser rejects.
var ErrBadURL = errors.New("unparsable URL")

// MaxURL is the longest URL canonicalized, in bytes: 32 KiB, four times
// the request line that Apache and nginx accept (8 KiB), so no URL a
// server answers is refused. Past it the WHATWG parser's time grows with
// the square of the length (its path, user name and password are built
// by adding to a string): a junk line's URL of 1 MiB took minutes.
const MaxURL = 32 << 10

// ErrLongURL is returned for an http(s) URL longer than MaxURL.
var ErrLongURL = fmt.Errorf("URL longer than %d KiB", MaxURL>>10)

// longURL is the error for raw, longer than MaxURL: what its scheme makes
// it first, as for any other URL.
func longURL(raw string) error {
	switch sch := Scheme(raw); {
	case sch == "":
		return ErrNotURL
	case sch != "http" && sch != "https":
		return &SchemeError{Scheme: sch}
	}
	return ErrLongURL
}

// SchemeError is returned for a URL whose scheme is not http or https.
type SchemeError struct{ Scheme string }

func (e *SchemeError) Error() string { return fmt.Sprintf("scheme %q is not http(s)", e.Scheme) }

var parser = whatwg.NewParser()

// Scheme returns the lowercased scheme of raw, or "" if raw does not start
// with one (leading spaces and control characters are skipped, as WHATWG
// does).
func Scheme(raw string) string {
	s := raw
	if s != "" && s[0] <= ' ' {
		s = strings.TrimLeft(raw, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\v\f\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':' && i > 0:
			return strings.ToLower(s[:i])
		case c == '\t' || c == '\n' || c == '\r':
			// WHATWG removes these anywhere in the input.
			return Scheme(strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s))
		default:
			return ""
		}
	}
	return ""
}

// Canonicalize returns the canonical form of an http or https URL.
func Canonicalize(raw string) (string, error) {
	if len(raw) > MaxURL {
		return "", longURL(raw)
	}
	if u, _, ok := fastCanonical(raw); ok {
		return u, nil
	}
	return canonicalizeSlow(raw)
}

// CanonicalizeHost is Canonicalize that also returns the canonical URL's
// host, as HostOf(u) would, without scanning u again in the common case.
func CanonicalizeHost(raw string) (u, host string, err error) {
	if len(raw) > MaxURL {
		return "", "", longURL(raw)
	}
	if u, host, ok := fastCanonical(raw); ok {
		return u, host, nil
	}
	u, err = canonicalizeSlow(raw)
	if err != nil {
		return "", "", err
	}
	host, _, _ = HostOf(u)
	return u, host, nil
}

// canonicalizeSlow canonicalizes through the WHATWG parser.
func canonicalizeSlow(raw string) (string, error) {
	sch := Scheme(raw)
	if sch == "" {
		return "", ErrNotURL
	}
	if sch != "http" && sch != "https" {
		return "", &SchemeError{Scheme: sch}
	}
	p, err := parser.Parse(escapeInvalid(raw))
	if err != nil {
		return "", ErrBadURL
	}
	if s := p.Protocol(); s != "http:" && s != "https:" {
		return "", &SchemeError{Scheme: strings.TrimSuffix(s, ":")}
	}
	if p.Hostname() == "" {
		return "", ErrBadURL
	}
	u := NormalizeEscapes(p.Href(true))
	// IDNA can write a label it will not read back ("http:İ!" gives
	// "http://xn--i!-rub/", which does not parse): a canonical URL must
	// canonicalize to itself, so such a URL is refused. Only punycode hosts
	// can do this, so only they pay for the second parse.
	if strings.Contains(p.Hostname(), "xn--") {
		if q, err := parser.Parse(u); err != nil || NormalizeEscapes(q.Href(true)) != u {
			return "", ErrBadURL
		}
	}
	return u, nil
}

// escapeInvalid percent-escapes each byte of s that is no part of valid
// UTF-8. The URL parser reads text, and would read each such byte as
// U+FFFD, so that "/caf\xe9" and "/caf\xe8" (Latin-1 bytes an archive
// kept raw) became one URL, "/caf%EF%BF%BD"; escaped, each keeps its
// byte, which is what a server decodes either spelling to.
func escapeInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, "%%%02X", s[i])
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// NormalizeEscapes applies meguri's percent-escape rule to a URL that is
// already WHATWG-serialized: escapes of unreserved characters are decoded,
// all other escapes get uppercase hex digits. Malformed escapes (a % not
// followed by two hex digits) are left as they are, and so is an escape
// whose decoded digit would turn such a stray % into an escape ("%7%30"
// must not become "%70", which would then decode to "p"): the rule is its
// own fixed point.
func NormalizeEscapes(u string) string {
	i := strings.IndexByte(u, '%')
	if i < 0 || escapesNormal(u[i:]) {
		return u
	}
	var b strings.Builder
	b.Grow(len(u))
	b.WriteString(u[:i])
	for ; i < len(u); i++ {
		c := u[i]
		if c != '%' || i+2 >= len(u) || !isHex(u[i+1]) || !isHex(u[i+2]) {
			b.WriteByte(c)
			continue
		}
		v := unhex(u[i+1])<<4 | unhex(u[i+2])
		if isUnreserved(v) && !makesEscape(b.String(), v, u[i+3:]) {
			b.WriteByte(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(upperHex(u[i+1]))
			b.WriteByte(upperHex(u[i+2]))
		}
		i += 2
	}
	return b.String()
}

// makesEscape reports whether writing the decoded character v after out,
// with rest still to come, would complete an escape from a stray %: out
// ends in "%" and a hex digit (v is the second digit), or in "%" with a
// hex digit first in rest (v is the first). A % in out is stray when fewer
// than two characters follow it, as every escape written has two.
func makesEscape(out string, v byte, rest string) bool {
	if !isHex(v) {
		return false
	}
	n := len(out)
	return n >= 2 && out[n-2] == '%' && isHex(out[n-1]) ||
		n >= 1 && out[n-1] == '%' && len(rest) > 0 && isHex(rest[0])
}

// escapesNormal reports whether u has no escape NormalizeEscapes would
// change (it may still leave u as it is when this says false).
func escapesNormal(u string) bool {
	for i := 0; i < len(u); i++ {
		if u[i] != '%' || i+2 >= len(u) || !isHex(u[i+1]) || !isHex(u[i+2]) {
			continue
		}
		v := unhex(u[i+1])<<4 | unhex(u[i+2])
		if isUnreserved(v) || upperHex(u[i+1]) != u[i+1] || upperHex(u[i+2]) != u[i+2] {
			return false
		}
		i += 2
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
