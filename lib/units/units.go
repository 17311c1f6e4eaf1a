// Package units parses and prints the values meguri's flags take: byte
// sizes, host keys and host-key ranges.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize parses a byte size: a number with an optional unit K, M, G, T
// (powers of 1024; KiB, MB and the like are accepted too).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10},
		{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	// !(f >= 0) also refuses NaN; the upper bound keeps the conversion
	// from wrapping (a huge size must not turn negative)
	if err != nil || !(f >= 0) || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("bad size %q (want e.g. 512M, 1G)", s)
	}
	return int64(f * float64(mult)), nil
}

// ParseHexKey parses a host key in hex, with or without 0x.
func ParseHexKey(s string) (uint64, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	v, err := strconv.ParseUint(t, 16, 64)
	if err != nil || t == "" {
		return 0, fmt.Errorf("bad host key %q (want hex, with or without 0x)", s)
	}
	return v, nil
}

// ParseRange parses LO:HI, inclusive host keys in hex; LO..HI too, the
// form the tools print a range in (meguri-inspect's "range 0x... ..
// 0x...", pasted whole).
func ParseRange(s string) (lo, hi uint64, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		a, b, ok = strings.Cut(s, "..")
	}
	if !ok {
		return 0, 0, fmt.Errorf("bad range %q (want LO:HI in hex)", s)
	}
	if lo, err = ParseHexKey(a); err != nil {
		return 0, 0, err
	}
	if hi, err = ParseHexKey(b); err != nil {
		return 0, 0, err
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("bad range %q: low end above high end", s)
	}
	return lo, hi, nil
}

// Key formats a host key as 0x + 16 lowercase hex digits.
func Key(k uint64) string { return fmt.Sprintf("0x%016x", k) }

// Bytes formats a byte count for people: 1.5 MiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ParseKey parses a host key as --host takes it: 0x + hex digits; exactly
// 16 hex digits, as the tools print a key and xxhsum prints an xxHash64
// (read as hex even when every digit is a decimal one); or otherwise a
// decimal number.
func ParseKey(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") || len(t) == 16 && isHex(t) {
		return ParseHexKey(t)
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad host key %q (want 0x + hex digits, 16 hex digits, or decimal)", s)
	}
	return v, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// ParseDuration parses a duration such as 90d, 12h, 30m (or 30min), 45s
// or 2w, or a sum of them such as 1d12h. It returns seconds.
func ParseDuration(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("bad duration %q (want e.g. 90d, 12h)", s)
	}
	var total int64
	for t != "" {
		i := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == 0 || i == len(t) {
			return 0, fmt.Errorf("bad duration %q (want e.g. 90d, 12h)", s)
		}
		n, err := strconv.ParseInt(t[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q (want e.g. 90d, 12h)", s)
		}
		var unit int64
		switch t[i] {
		case 'w':
			unit = 7 * 86400
		case 'd':
			unit = 86400
		case 'h':
			unit = 3600
		case 'm':
			unit = 60
			if strings.HasPrefix(t[i:], "min") {
				i += 2
			} else if strings.HasPrefix(t[i:], "mo") {
				return 0, noMonths(s)
			}
		case 's':
			unit = 1
		case 'M':
			return 0, noMonths(s)
		case 'y', 'Y':
			return 0, fmt.Errorf("bad duration %q: years are no unit here: give days, 365d for a year", s)
		default:
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (use w, d, h, m or min, s)", s, t[i])
		}
		// the sum too: an overflow would turn a huge horizon negative, and
		// GC would then drop every tombstone
		if n > (1<<62)/unit || total > 1<<62-n*unit {
			return 0, fmt.Errorf("bad duration %q: too long", s)
		}
		total += n * unit
		t = t[i+1:]
	}
	return total, nil
}

// noMonths is the error of a duration written in months, which vary in
// length.
func noMonths(s string) error {
	return fmt.Errorf("bad duration %q: months are no unit here (they vary in length): give days, 180d for six months", s)
}

// MinutesOnly reports whether the duration s is written in minutes alone
// with "m" (6m, 90m), which a person may have meant as months.
func MinutesOnly(s string) bool {
	t, ok := strings.CutSuffix(strings.TrimSpace(s), "m")
	if !ok || t == "" {
		return false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
