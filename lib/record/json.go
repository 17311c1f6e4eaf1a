package record

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends r as one JSON object (no newline) with the fields
// url, host_key, path_key, status, http_status, first_seen, last_seen,
// captures, changes, digest, first_digest, mime, length, redirect. Keys are
// "0x" + 16 lowercase hex digits; times are 14-digit CDX timestamps, null
// when never captured; digests are 16 hex digits, null when unknown.
func AppendJSON(b []byte, r *Record, pathKey uint64) []byte {
	b = append(b, `{"url":`...)
	b = AppendString(b, r.URL)
	b = append(b, `,"host_key":`...)
	b = appendKey(b, r.HostKey)
	b = append(b, `,"path_key":`...)
	b = appendKey(b, pathKey)
	b = append(b, `,"status":"`...)
	b = append(b, r.Status.String()...)
	b = append(b, `","http_status":`...)
	b = strconv.AppendUint(b, uint64(r.HTTPStatus), 10)
	b = append(b, `,"first_seen":`...)
	b = appendTime(b, r.FirstSeen)
	b = append(b, `,"last_seen":`...)
	b = appendTime(b, r.LastSeen)
	b = append(b, `,"captures":`...)
	b = strconv.AppendUint(b, r.Captures, 10)
	b = append(b, `,"changes":`...)
	b = strconv.AppendUint(b, r.Changes, 10)
	b = append(b, `,"digest":`...)
	b = appendDigest(b, r.Digest)
	b = append(b, `,"first_digest":`...)
	b = appendDigest(b, r.FirstDigest)
	b = append(b, `,"mime":`...)
	b = AppendString(b, r.Mime)
	b = append(b, `,"length":`...)
	b = strconv.AppendInt(b, r.Length, 10)
	b = append(b, `,"redirect":`...)
	b = AppendString(b, r.Redirect)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendKey appends "0x" + 16 lowercase hex digits, quoted.
func appendKey(b []byte, k uint64) []byte {
	return append(appendHex16(append(b, '"', '0', 'x'), k), '"')
}

// appendDigest appends 16 hex digits quoted, or null for 0 (unknown).
func appendDigest(b []byte, d uint64) []byte {
	if d == 0 {
		return append(b, "null"...)
	}
	return append(appendHex16(append(b, '"'), d), '"')
}

func appendHex16(b []byte, v uint64) []byte {
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexDigits[v>>uint(i)&15])
	}
	return b
}

func appendTime(b []byte, t int64) []byte {
	if t == 0 {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = append(b, FormatTimestamp(t)...)
	return append(b, '"')
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				switch c {
				case '\n':
					b = append(b, '\\', 'n')
				case '\t':
					b = append(b, '\\', 't')
				case '\r':
					b = append(b, '\\', 'r')
				default:
					b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
				}
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
