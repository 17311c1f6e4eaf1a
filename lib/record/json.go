package record

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/meguri/meguri/lib/canon"
)

// Field is one printed field of a record. The fields, in their default
// order, are url, host_key, path_key, status, http_status, first_seen,
// last_seen, captures, changes, digest, first_digest, mime, length,
// redirect; host and group print only when named.
type Field uint8

// The printed fields: the default ones in their default order, then those
// printed only when named.
const (
	FieldURL Field = iota
	FieldHostKey
	FieldPathKey
	FieldStatus
	FieldHTTPStatus
	FieldFirstSeen
	FieldLastSeen
	FieldCaptures
	FieldChanges
	FieldDigest
	FieldFirstDigest
	FieldMime
	FieldLength
	FieldRedirect
	FieldHost  // the URL's host: the authority without userinfo and port
	FieldGroup // the host grouping string, whose xxHash64 is the host key
	numFields
)

// numDefault is the number of fields printed when none are named.
const numDefault = FieldHost

var fieldNames = [numFields]string{"url", "host_key", "path_key", "status", "http_status",
	"first_seen", "last_seen", "captures", "changes", "digest", "first_digest", "mime",
	"length", "redirect", "host", "group"}

// String returns the field's name, its JSON key.
func (f Field) String() string {
	if f < numFields {
		return fieldNames[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}

// FieldNames lists every field name: the default ones in their order,
// then host and group.
func FieldNames() []string { return slices.Clone(fieldNames[:]) }

// ParseFields reads field names (as --fields gives them). An unknown name,
// a name given twice, or no name at all is an error that lists the names.
func ParseFields(names []string) ([]Field, error) {
	if len(names) == 0 {
		return nil, errors.New("no fields named; choose from " + strings.Join(fieldNames[:], ","))
	}
	out := make([]Field, 0, len(names))
	var seen [numFields]bool
	for _, n := range names {
		f := Field(0)
		for f < numFields && fieldNames[f] != n {
			f++
		}
		if f == numFields {
			return nil, fmt.Errorf("unknown field %q; choose from %s", n, strings.Join(fieldNames[:], ","))
		}
		if seen[f] {
			return nil, fmt.Errorf("field %q named twice", n)
		}
		seen[f] = true
		out = append(out, f)
	}
	return out, nil
}

// Layout says how records print: which fields in which order, as one JSON
// object per line or as tab-separated values. The zero Layout prints every
// field as JSON.
//
// A TSV value is what jq's @tsv makes of the field's JSON value: strings
// unquoted with backslash, tab, newline and carriage return escaped as \\,
// \t, \n and \r; null (a time never captured, an unknown digest) as
// nothing. With Raw, strings are written as jq -r prints them, unescaped,
// and a record with a tab or line break in a printed string cannot be
// written (ErrUnprintable).
type Layout struct {
	Fields []Field // nil: every field in the default order
	TSV    bool
	Raw    bool // with TSV: strings unescaped
}

// ErrUnprintable is AppendLine's error for a record a raw TSV line cannot
// hold.
var ErrUnprintable = errors.New("a tab or line break in a value cannot be written as raw TSV")

func (l *Layout) fields() []Field {
	if l.Fields == nil {
		return defaultFields[:]
	}
	return l.Fields
}

var defaultFields = func() (a [numDefault]Field) {
	for i := range a {
		a[i] = Field(i)
	}
	return
}()

// NeedsPathKey reports whether the layout prints path_key, which callers
// then compute.
func (l *Layout) NeedsPathKey() bool {
	for _, f := range l.fields() {
		if f == FieldPathKey {
			return true
		}
	}
	return false
}

// Header returns the TSV header line: the field names, tab-separated, with
// a newline.
func (l *Layout) Header() []byte {
	var b []byte
	for i, f := range l.fields() {
		if i > 0 {
			b = append(b, '\t')
		}
		b = append(b, fieldNames[f]...)
	}
	return append(b, '\n')
}

// AppendLine appends r as one line, newline included; pathKey is printed
// as path_key. Only a Raw layout fails, with ErrUnprintable naming the
// field, and then b is returned unchanged.
func (l *Layout) AppendLine(b []byte, r *Record, pathKey uint64) ([]byte, error) {
	start := len(b)
	if !l.TSV {
		b = append(b, '{')
	}
	for i, f := range l.fields() {
		switch {
		case l.TSV && i > 0:
			b = append(b, '\t')
		case !l.TSV:
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, fieldNames[f]...)
			b = append(b, '"', ':')
		}
		at := len(b)
		b = l.appendField(b, f, r, pathKey)
		if l.Raw && l.TSV && bytes.ContainsAny(b[at:], "\t\n\r") {
			return b[:start], fmt.Errorf("%w: %s of %s is %q", ErrUnprintable, f, r.URL, b[at:])
		}
	}
	if !l.TSV {
		b = append(b, '}')
	}
	return append(b, '\n'), nil
}

func (l *Layout) appendField(b []byte, f Field, r *Record, pathKey uint64) []byte {
	switch f {
	case FieldURL:
		return l.appendString(b, r.URL)
	case FieldHostKey:
		return l.appendKey(b, r.HostKey)
	case FieldPathKey:
		return l.appendKey(b, pathKey)
	case FieldStatus:
		return l.appendString(b, r.Status.String())
	case FieldHTTPStatus:
		return strconv.AppendUint(b, uint64(r.HTTPStatus), 10)
	case FieldFirstSeen:
		return l.appendTime(b, r.FirstSeen)
	case FieldLastSeen:
		return l.appendTime(b, r.LastSeen)
	case FieldCaptures:
		return strconv.AppendUint(b, r.Captures, 10)
	case FieldChanges:
		return strconv.AppendUint(b, r.Changes, 10)
	case FieldDigest:
		return l.appendDigest(b, r.Digest)
	case FieldFirstDigest:
		return l.appendDigest(b, r.FirstDigest)
	case FieldMime:
		return l.appendString(b, r.Mime)
	case FieldLength:
		return strconv.AppendInt(b, r.Length, 10)
	case FieldRedirect:
		return l.appendString(b, r.Redirect)
	case FieldHost:
		host, _, _ := canon.HostOf(r.URL)
		return l.appendString(b, host)
	case FieldGroup: // null for a key that is no hash of the URL's host
		g := canon.KeyedGroup(r.URL, r.HostKey)
		if g == "" {
			return l.appendOrNull(b, true, nil)
		}
		return l.appendString(b, g)
	}
	return b
}

// appendKey appends "0x" + 16 lowercase hex digits, quoted in JSON.
func (l *Layout) appendKey(b []byte, k uint64) []byte {
	if l.TSV {
		return appendHex16(append(b, '0', 'x'), k)
	}
	return append(appendHex16(append(b, '"', '0', 'x'), k), '"')
}

// appendDigest appends 16 hex digits, or null for 0 (unknown).
func (l *Layout) appendDigest(b []byte, d uint64) []byte {
	return l.appendOrNull(b, d == 0, func(b []byte) []byte { return appendHex16(b, d) })
}

// appendTime appends a 14-digit CDX timestamp, or null for 0 (never).
func (l *Layout) appendTime(b []byte, t int64) []byte {
	return l.appendOrNull(b, t == 0, func(b []byte) []byte { return AppendTimestamp(b, t) })
}

// appendOrNull appends what put appends, quoted in JSON; or, when the
// value is absent, null in JSON and nothing in TSV.
func (l *Layout) appendOrNull(b []byte, absent bool, put func([]byte) []byte) []byte {
	switch {
	case absent && l.TSV:
		return b
	case absent:
		return append(b, "null"...)
	case l.TSV:
		return put(b)
	}
	return append(put(append(b, '"')), '"')
}

func (l *Layout) appendString(b []byte, s string) []byte {
	if l.TSV && l.Raw {
		return appendRaw(b, s)
	}
	if l.TSV {
		return appendTSV(b, s)
	}
	return AppendString(b, s)
}

const hexDigits = "0123456789abcdef"

func appendHex16(b []byte, v uint64) []byte {
	var h [16]byte
	for i := 15; i >= 0; i-- {
		h[i] = hexDigits[v&15]
		v >>= 4
	}
	return append(b, h[:]...)
}

// appendTSV appends s as a TSV value, as jq's @tsv writes the JSON string
// AppendString makes of it: invalid UTF-8 as U+FFFD; backslash, tab,
// newline and carriage return escaped.
func appendTSV(b []byte, s string) []byte {
	return appendEscaped(b, s, &plainTSV, "\uFFFD")
}

// appendRaw appends s as jq -r prints the JSON string AppendString makes
// of it: as it is, invalid UTF-8 as U+FFFD.
func appendRaw(b []byte, s string) []byte {
	if utf8.ValidString(s) {
		return append(b, s...)
	}
	return appendEscaped(b, s, &plainASCII, "\uFFFD")
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(b []byte, s string) []byte {
	return append(appendEscaped(append(b, '"'), s, &plainJSON, `\ufffd`), '"')
}

// appendEscaped appends s, copying the ASCII bytes plain marks as they
// are, escaping the other ASCII bytes (as JSON or TSV needs: \n, \t, \r,
// \\, \" and \u00XX), copying valid UTF-8 sequences, and writing bad
// for each byte of invalid UTF-8.
func appendEscaped(b []byte, s string, plain *[256]bool, bad string) []byte {
	for i := 0; i < len(s); {
		// copy the run of bytes that need no escaping at once
		j := i
		for j < len(s) && plain[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, bad...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// The ASCII bytes each escaper copies as they are (appendEscaped escapes
// the others): JSON all but control characters, '"' and '\\'; TSV all
// but '\\', tab, newline and carriage return; raw all.
var plainJSON, plainTSV, plainASCII = func() (j, t, a [256]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		j[c] = c >= 0x20 && c != '"' && c != '\\'
		t[c] = c != '\\' && c != '\t' && c != '\n' && c != '\r'
		a[c] = true
	}
	return
}()
