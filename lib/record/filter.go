package record

import (
	"fmt"
	"strings"
)

// Filter selects records by crawl status and by the time of their last
// capture: the questions a frontier asks of a partition (what is due for a
// re-crawl, what was never fetched, which tombstones a GC would drop). The
// zero Filter keeps every record.
//
//	f := record.Filter{UnseenSince: cutoff}
//	f.Statuses, _ = record.ParseStatuses([]string{"crawled", "redirect"})
//	if f.Match(&r) { ... }
type Filter struct {
	// Statuses keeps the records whose status s has bit 1<<s set; 0
	// keeps every status.
	Statuses uint8
	// SeenSince, when not 0, keeps the records last captured at or after
	// it (Unix seconds); a record never captured is not kept.
	SeenSince int64
	// UnseenSince, when not 0, keeps the records not captured since it:
	// last captured before it, or never captured. With SeenSince it
	// bounds the window [SeenSince, UnseenSince).
	UnseenSince int64
}

// ParseStatuses reads status names (as --status gives them) into a
// Filter's Statuses mask. An unknown name, or none at all, is an error that
// lists the names.
func ParseStatuses(names []string) (uint8, error) {
	if len(names) == 0 {
		return 0, fmt.Errorf("no status named; choose from %s", strings.Join(statusNames[:], ","))
	}
	var m uint8
	for _, n := range names {
		s, ok := ParseStatus(n)
		if !ok {
			return 0, fmt.Errorf("unknown status %q; choose from %s", n, strings.Join(statusNames[:], ","))
		}
		m |= 1 << s
	}
	return m, nil
}

// IsZero reports whether f keeps every record.
func (f *Filter) IsZero() bool { return *f == Filter{} }

// Match reports whether f keeps r.
func (f *Filter) Match(r *Record) bool {
	if f.Statuses != 0 && f.Statuses&(1<<r.Status) == 0 {
		return false
	}
	if f.SeenSince != 0 && r.LastSeen < f.SeenSince {
		return false // a record never captured has LastSeen 0
	}
	return f.UnseenSince == 0 || r.LastSeen < f.UnseenSince
}

// MayMatch reports whether a group of rows with these counts (a block's
// zone data: its rows, the sum of their captures and how many are gone)
// can hold a record f keeps. When it says no, none does: a gone record has
// been captured, and a group without captures holds only discovered URLs.
func (f *Filter) MayMatch(rows, captures, gone uint64) bool {
	if captures == 0 {
		// every row discovered, never captured
		return f.SeenSince == 0 && (f.Statuses == 0 || f.Statuses&(1<<Discovered) != 0)
	}
	if f.Statuses == 0 {
		return true
	}
	return (f.Statuses&(1<<Gone) != 0 && gone > 0) || (f.Statuses&^(1<<Gone) != 0 && gone < rows)
}
