package record

import (
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Fingerprint reduces a CDX digest to a 64-bit content fingerprint. A
// recognised prefix (sha1:, sha256:, md5:, sha512:) is dropped; base32 and
// hex digests are decoded and their first eight bytes read big-endian, so the
// same content gives the same fingerprint whether the index spelled its SHA-1
// in base32 or in hex. Any other string is hashed with xxHash64. An empty
// digest gives 0 (unknown); a digest that would give 0 gives 1 instead.
func Fingerprint(digest string) uint64 {
	if digest == "" || digest == "-" {
		return 0
	}
	d := digest
	if i := strings.IndexByte(d, ':'); i > 0 && i <= 7 {
		switch strings.ToLower(d[:i]) {
		case "sha1", "sha256", "sha512", "md5":
			d = d[i+1:]
		}
	}
	var fp uint64
	switch {
	case len(d) >= 16 && len(d)%8 == 0 && isBase32(d) && !isHex(d):
		// the first 16 characters are the first 10 bytes: all that is
		// read (decoding the whole digest overran a fixed buffer on a
		// digest of over 102 characters)
		var buf [10]byte
		n, err := base32.StdEncoding.Decode(buf[:], []byte(strings.ToUpper(d[:16])))
		if err == nil && n >= 8 {
			fp = binary.BigEndian.Uint64(buf[:8])
		} else {
			fp = xxhash.Sum64String(digest)
		}
	case len(d) >= 16 && len(d)%2 == 0 && isHex(d):
		var buf [8]byte
		if _, err := hex.Decode(buf[:], []byte(d[:16])); err == nil {
			fp = binary.BigEndian.Uint64(buf[:])
		} else {
			fp = xxhash.Sum64String(digest)
		}
	default:
		fp = xxhash.Sum64String(digest)
	}
	if fp == 0 {
		fp = 1
	}
	return fp
}

func isBase32(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// ErrTimestamp is returned for a CDX timestamp that is not 4 to 14 digits
// naming a valid UTC time.
var ErrTimestamp = errors.New("bad timestamp")

// ParseTimestamp converts a CDX timestamp (YYYYMMDDhhmmss, UTC; shorter
// prefixes are padded with the earliest value) to Unix seconds.
func ParseTimestamp(ts string) (int64, error) {
	if len(ts) < 4 || len(ts) > 14 {
		return 0, ErrTimestamp
	}
	var d [14]byte
	copy(d[:], "00000101000000")
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return 0, ErrTimestamp
		}
		d[i] = ts[i]
	}
	n := func(a, b int) int {
		v := 0
		for _, c := range d[a:b] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, da, h, mi, s := n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14)
	if y < 1000 || mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, ErrTimestamp
	}
	t := time.Date(y, time.Month(mo), da, h, mi, s, 0, time.UTC)
	if t.Day() != da && s != 60 {
		return 0, ErrTimestamp // e.g. 31 February
	}
	if t.Unix() <= 0 {
		return 0, ErrTimestamp // 0 means "never captured"; the web is younger than 1970
	}
	return t.Unix(), nil
}

// FormatTimestamp renders Unix seconds as a 14-digit CDX timestamp, or ""
// for 0 (never captured).
func FormatTimestamp(sec int64) string {
	if sec == 0 {
		return ""
	}
	return string(AppendTimestamp(nil, sec))
}

// AppendTimestamp appends Unix seconds as a 14-digit CDX timestamp, the
// text FormatTimestamp returns (nothing for 0), without time's layout
// interpreter: printing rows spent a third of its time there.
func AppendTimestamp(b []byte, sec int64) []byte {
	if sec == 0 {
		return b
	}
	t := time.Unix(sec, 0).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "20060102150405")
	}
	h, mi, s := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10))
	for _, v := range [...]int{y % 100, int(mo), d, h, mi, s} {
		b = append(b, byte('0'+v/10), byte('0'+v%10))
	}
	return b
}
