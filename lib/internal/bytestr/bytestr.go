// Package bytestr holds the word-at-a-time byte-string helpers that the
// codec (front coding), the sorter (URL keys) and the CDX reader (JSON
// strings) share, for strings and byte slices alike.
//
//	n := bytestr.SharedPrefix(prevURL, url) // bytes the two have in common
//	w := bytestr.LE64(line, i)              // line[i:i+8] as one integer
package bytestr

import "math/bits"

// Bytes is a string or a byte slice.
type Bytes interface{ ~string | ~[]byte }

// LE64 returns s[i:i+8] as a little-endian integer (one load on amd64).
func LE64[T Bytes](s T, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// SharedPrefix returns the length of the longest common prefix of a and b,
// comparing eight bytes at a time.
func SharedPrefix[T Bytes](a, b T) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := LE64(a, i) ^ LE64(b, i); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}
