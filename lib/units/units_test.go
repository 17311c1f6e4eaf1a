package units

import (
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	for in, want := range map[string]uint64{
		"0x3fffffffffffffff":   0x3fffffffffffffff,
		"0X10":                 16,
		"16":                   16,
		"18446744073709551615": ^uint64(0),
		" 0 ":                  0,
		// 16 digits are hex, as a key prints and xxhsum prints it, even
		// when none is a letter; a cut at 8000000000000000 read as decimal
		// split at 0x001c6bf526340000
		"8000000000000000": 0x8000000000000000,
		"3FFFFFFFFFFFFFFF": 0x3fffffffffffffff,
		"000000000000000a": 10,
	} {
		got, err := ParseKey(in)
		if err != nil || got != want {
			t.Errorf("ParseKey(%q) = %#x, %v; want %#x", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0x", "ff", "-1", "18446744073709551616", "0x1ffffffffffffffff", "3ffffffffffffff", "3ffffffffffffffff", "000000000000000g"} {
		if _, err := ParseKey(in); err == nil {
			t.Errorf("ParseKey(%q) succeeded", in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]int64{
		"90d": 90 * 86400, "12h": 12 * 3600, "30m": 1800, "45s": 45, "2w": 14 * 86400, "1d12h": 86400 + 12*3600, "0s": 0,
		"30min": 1800, "1h30min": 5400, "2min30s": 150,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "90", "d", "9x", "1.5d", "-1d", "99999999999999999999d", "3mi", "3mins", "3mo",
		// each term fits, the sum would overflow (and a negative horizon
		// would make GC drop every tombstone)
		"4611686018427387903s4611686018427387903s4611686018427387903s", "53375995583333d53375995583333d53375995583333d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}

// TestDurationMonthsYears: months and years, which vary in length, are
// refused with the days to give instead.
func TestDurationMonthsYears(t *testing.T) {
	for in, want := range map[string]string{
		"3mo": "months are no unit here", "6months": "months are no unit here", "6M": "months are no unit here",
		"1y": "years are no unit here", "2Y": "years are no unit here", "1d1y": "365d for a year",
	} {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q): %v, want %q", in, err, want)
		}
	}
}

func TestMinutesOnly(t *testing.T) {
	for s, want := range map[string]bool{"6m": true, " 90m ": true, "6min": false, "1h30m": false, "m": false, "6d": false, "x6m": false} {
		if got := MinutesOnly(s); got != want {
			t.Errorf("MinutesOnly(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"512M": 512 << 20, "1G": 1 << 30, "64KiB": 64 << 10, "1.5k": 1536, "100": 100, "0": 0, " 2 mb ": 2 << 20, "4T": 4 << 40,
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	// a size too large for int64 must not wrap to a negative budget
	for _, in := range []string{"", "M", "-1M", "3q", "NaN", "Inf", "99999999999999999999G", "4194305T"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		}
	}
}

// TestParseRange: LO:HI in hex, or LO..HI as the tools print a range
// (spaces around the dots too); a bound left out, a reversed range or
// another separator is an error.
func TestParseRange(t *testing.T) {
	for _, in := range []string{
		"8000000000000000:ffffffffffffffff", "0x8000000000000000:0xffffffffffffffff",
		"0x8000000000000000..0xffffffffffffffff", "0x8000000000000000 .. 0xffffffffffffffff",
	} {
		lo, hi, err := ParseRange(in)
		if err != nil || lo != 1<<63 || hi != ^uint64(0) {
			t.Errorf("ParseRange(%q) = %#x, %#x, %v", in, lo, hi, err)
		}
	}
	for in, want := range map[string]string{
		"8000000000000000:":                     `bad host key "" (want hex, with or without 0x)`,
		"0x8000000000000000-0xffffffffffffffff": `bad range "0x8000000000000000-0xffffffffffffffff" (want LO:HI in hex)`,
		"0x10..0x1":                             `bad range "0x10..0x1": low end above high end`,
		"1...2":                                 `bad host key ".2" (want hex, with or without 0x)`,
	} {
		if _, _, err := ParseRange(in); err == nil || err.Error() != want {
			t.Errorf("ParseRange(%q): %v, want %s", in, err, want)
		}
	}
}
