package cdx

import (
	"strings"

	"github.com/meguri/meguri/lib/internal/bytestr"
)

// decodeFlat reads the common shape of a CDX JSON line, a flat object of
// plain ASCII string values without escapes, with no allocation: the field
// values point into s. It reports false for anything else (escapes,
// non-ASCII, numbers, nested values, a key that matches one of ours only
// case-insensitively, malformed JSON), and the caller then asks the full
// JSON decoder, which stays the judge of what is valid. On what it accepts
// it gives exactly the decoder's result: FuzzDecodeFlat holds it to that.
func decodeFlat(s string) (f fields, ok bool) {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return f, false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return f, skipWS(s, i+1) == len(s)
	}
	for {
		key, j, ok := flatString(s, i)
		if !ok {
			return f, false
		}
		i = skipWS(s, j)
		if i >= len(s) || s[i] != ':' {
			return f, false
		}
		val, j, ok := flatString(s, skipWS(s, i+1))
		if !ok {
			return f, false
		}
		if dst := f.field(key); dst != nil {
			*dst = val
		} else if ours(key) {
			return f, false // the decoder matches keys case-insensitively
		}
		i = skipWS(s, j)
		if i >= len(s) {
			return f, false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			return f, skipWS(s, i+1) == len(s)
		default:
			return f, false
		}
	}
}

// field returns where the value of key goes, or nil for keys meguri does
// not read.
func (f *fields) field(key string) *string {
	switch key {
	case "timestamp":
		return &f.Timestamp
	case "url":
		return &f.URL
	case "mime":
		return &f.Mime
	case "status":
		return &f.Status
	case "digest":
		return &f.Digest
	case "length":
		return &f.Length
	case "redirect":
		return &f.Redirect
	case "original":
		return &f.Original
	case "mimetype":
		return &f.Mimetype
	case "statuscode":
		return &f.Statuscode
	case "method":
		return &f.Method
	case "urlkey":
		return &f.URLKey
	}
	return nil
}

// ours reports whether key names one of the read fields in another case.
func ours(key string) bool {
	switch len(key) {
	case 3:
		return strings.EqualFold(key, "url")
	case 4:
		return strings.EqualFold(key, "mime")
	case 6:
		return strings.EqualFold(key, "status") || strings.EqualFold(key, "digest") || strings.EqualFold(key, "length") ||
			strings.EqualFold(key, "method") || strings.EqualFold(key, "urlkey")
	case 8:
		return strings.EqualFold(key, "redirect") || strings.EqualFold(key, "original") || strings.EqualFold(key, "mimetype")
	case 9:
		return strings.EqualFold(key, "timestamp")
	case 10:
		return strings.EqualFold(key, "statuscode")
	}
	return false
}

// flatString reads a JSON string at s[i] made only of printable ASCII with
// no escapes, returning its contents and the index after the closing quote.
func flatString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	j := i + 1
	// Eight bytes at a time while none of them is special: a quote, a
	// backslash, a control byte or a byte >= 0x80.
	for ; j+8 <= len(s); j += 8 {
		if special8(bytestr.LE64(s, j)) {
			break
		}
	}
	for ; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", 0, false
		}
	}
	return "", 0, false
}

// special8 reports whether any byte of w is a quote, a backslash, below
// 0x20 or at or above 0x80. It is exact: the bytes are 7-bit when the
// subtractions run, so no borrow crosses a byte.
func special8(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	if w&hi != 0 {
		return true
	}
	zero := func(x uint64) uint64 { return (x - lo) & ^x & hi }
	return zero(w^(lo*'"'))|zero(w^(lo*'\\'))|((w-lo*0x20)&hi) != 0
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
