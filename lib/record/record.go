// Package record defines the meguri data model: a Capture is one CDX line
// about one canonical URL, a Record is every capture of that URL folded into
// one row, and Combine is the merge rule that folds them.
//
// The merge rule is a pure function of the values it folds: the newest
// capture wins the per-capture fields, captures with equal times are ordered
// by their own fields, counts add and first-seen takes the minimum. Every
// field but the change count is a max, min or sum over a total order, so it
// does not depend on the order or grouping of the inputs; the change count
// needs the captures in time order, which Fold and FoldRecords ensure (exactly
// for captures, and for records whose capture spans do not interleave).
//
//	var r record.Record
//	r.FromCapture(&c1)
//	var s record.Record
//	s.FromCapture(&c2)
//	r.Combine(&s) // r now holds both captures
//
// A Layout prints records (JSON lines or TSV, chosen fields) and a Filter
// chooses them by status and last capture time, as meguri-inspect does.
package record

import (
	"cmp"
	"slices"
	"strings"
)

// Status is the crawl status of a URL, derived from its newest capture.
type Status uint8

// Status values. They are part of the file format and never change meaning.
const (
	Discovered Status = 0 // seen as a link, never captured
	Crawled    Status = 1 // newest capture is a 2xx (or a non-HTTP success code such as 226)
	Redirect   Status = 2 // newest capture is a 3xx
	Gone       Status = 3 // newest capture is a 404 or 410: a tombstone
	Error      Status = 4 // newest capture is another 4xx or a 5xx
	Revisit    Status = 5 // newest capture is a revisit record with no HTTP status
	Unknown    Status = 6 // newest capture carries no usable status
	numStatus         = 7
)

var statusNames = [numStatus]string{"discovered", "crawled", "redirect", "gone", "error", "revisit", "unknown"}

// String returns the status name used in JSON output.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "invalid"
}

// Valid reports whether s is a defined status.
func (s Status) Valid() bool { return s < numStatus }

// ParseStatus maps a status name back to its value.
func ParseStatus(name string) (Status, bool) {
	for i, n := range statusNames {
		if n == name {
			return Status(i), true
		}
	}
	return 0, false
}

// StatusFor derives the crawl status of a capture from its HTTP status code
// (0 when the line had none) and its mime type.
func StatusFor(httpStatus uint16, mime string) Status {
	switch {
	case httpStatus == 404 || httpStatus == 410:
		return Gone
	case httpStatus >= 200 && httpStatus < 300:
		return Crawled
	case httpStatus >= 300 && httpStatus < 400:
		return Redirect
	case httpStatus >= 400 && httpStatus < 600:
		return Error
	case httpStatus == 0 && strings.EqualFold(mime, "warc/revisit"):
		return Revisit
	}
	return Unknown
}

// The limits, exclusive, of the values a record holds: a .meguri row
// (and a live partition's log) holds an HTTP status below
// HTTPStatusLimit, times below TimeLimit and lengths below LengthLimit.
// The CDX parser rejects a line past one (a status of more than three
// digits is bad_status, a length of 2^62 or more bad_length).
const (
	HTTPStatusLimit = 1000
	TimeLimit       = 1 << 62
	LengthLimit     = 1 << 62
)

// Capture is one observation of a canonical URL: a CDX line, or a discovered
// link (Time == 0, Discovered true) that has not been fetched.
type Capture struct {
	URL        string // canonical URL
	HostKey    uint64
	Time       int64  // capture time, Unix seconds UTC; 0 for a discovered link
	HTTPStatus uint16 // 0 when the line had no status
	Digest     uint64 // content fingerprint (see Fingerprint); 0 when unknown
	Length     int64  // record length from the CDX line; 0 when absent
	Mime       string
	Redirect   string
	Discovered bool // a link with no capture
}

// Record is every capture of one canonical URL folded into one row.
type Record struct {
	URL        string
	HostKey    uint64
	Status     Status
	HTTPStatus uint16
	FirstSeen  int64  // earliest capture time (Unix seconds); 0 if never captured
	LastSeen   int64  // newest capture time; 0 if never captured
	Captures   uint64 // number of captures folded in
	Changes    uint64 // number of digest changes between captures in time order
	Digest     uint64 // newest known content fingerprint (0: none known)
	// FirstDigest is the oldest known content fingerprint. It equals Digest
	// whenever Changes is 0, and the file stores it only when Changes > 0.
	FirstDigest uint64
	Mime        string
	Length      int64
	Redirect    string
}

// FromCapture sets r to the record of the single capture c.
func (r *Record) FromCapture(c *Capture) {
	*r = Record{URL: c.URL, HostKey: c.HostKey}
	if c.Discovered {
		return
	}
	r.Status = StatusFor(c.HTTPStatus, c.Mime)
	r.HTTPStatus = c.HTTPStatus
	r.FirstSeen, r.LastSeen = c.Time, c.Time
	r.Captures = 1
	r.Digest, r.FirstDigest = c.Digest, c.Digest
	r.Mime = c.Mime
	r.Length = c.Length
	r.Redirect = c.Redirect
}

// CompareWinner orders two records' newest captures: the one that sorts
// later wins the per-capture fields. The order is last-seen time, then HTTP
// status, length, mime and redirect, so equal times are settled by the
// captures' own fields and never by input position. Records with no capture
// sort first.
func CompareWinner(a, b *Record) int {
	if c := cmpBool(a.Captures > 0, b.Captures > 0); c != 0 {
		return c
	}
	if c := cmp.Compare(a.LastSeen, b.LastSeen); c != 0 {
		return c
	}
	if c := cmp.Compare(a.HTTPStatus, b.HTTPStatus); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Length, b.Length); c != 0 {
		return c
	}
	if c := strings.Compare(a.Mime, b.Mime); c != 0 {
		return c
	}
	return strings.Compare(a.Redirect, b.Redirect)
}

// Combine folds o into r. Both must describe the same URL. The result does
// not depend on which of the two is the receiver. To fold more than two
// records, use FoldRecords, which combines them in time order.
//
// Digest changes are exact when the capture spans of r and o do not
// interleave in time (a newer delta folded onto a base, or single captures
// folded in time order); when they interleave, each side's span is taken as a
// block ordered by first-seen time. The newest digest comes from the side
// whose span ends later and the first digest from the one whose span starts
// earlier, so both are also exact for a span nested inside the other when
// the outer side's newest and oldest captures have known digests.
func (r *Record) Combine(o *Record) {
	if o.Captures == 0 {
		return
	}
	if r.Captures == 0 {
		url, key := r.URL, r.HostKey
		*r = *o
		r.URL, r.HostKey = url, key
		return
	}
	// Order the two spans in time for the change count.
	early, late := r, o
	if compareSpan(o, r) < 0 {
		early, late = o, r
	}
	changes := early.Changes + late.Changes
	if early.Digest != 0 && late.FirstDigest != 0 && early.Digest != late.FirstDigest {
		changes++
	}
	firstDigest := early.FirstDigest
	if firstDigest == 0 {
		firstDigest = late.FirstDigest
	}
	// The newest digest: the late side's, unless the early side's span
	// reaches past it (a late side nested inside it, say older captures
	// folded onto a base), whose newest capture is then the newer one.
	digest := late.Digest
	if digest == 0 || (early.LastSeen > late.LastSeen && early.Digest != 0) {
		digest = early.Digest
	}
	first := min(r.FirstSeen, o.FirstSeen)
	captures := r.Captures + o.Captures
	if CompareWinner(o, r) > 0 {
		url, key := r.URL, r.HostKey
		*r = *o
		r.URL, r.HostKey = url, key
	}
	r.FirstSeen = first
	r.Captures = captures
	r.Changes = changes
	r.Digest = digest
	r.FirstDigest = firstDigest
}

// compareSpan orders records by the time span of their captures, then by
// their digests, so that Combine picks the same early side whichever record
// is the receiver.
func compareSpan(a, b *Record) int {
	if c := cmp.Compare(a.FirstSeen, b.FirstSeen); c != 0 {
		return c
	}
	if c := cmp.Compare(a.LastSeen, b.LastSeen); c != 0 {
		return c
	}
	if c := cmp.Compare(a.FirstDigest, b.FirstDigest); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Digest, b.Digest); c != 0 {
		return c
	}
	return CompareWinner(a, b)
}

// CompareCapture orders captures of the same URL for folding: by time, then
// by digest, then by the fields CompareWinner uses. Folding captures in this
// order counts digest changes exactly.
func CompareCapture(a, b *Capture) int {
	if c := cmpBool(!a.Discovered, !b.Discovered); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Time, b.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Digest, b.Digest); c != 0 {
		return c
	}
	if c := cmp.Compare(a.HTTPStatus, b.HTTPStatus); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Length, b.Length); c != 0 {
		return c
	}
	if c := strings.Compare(a.Mime, b.Mime); c != 0 {
		return c
	}
	return strings.Compare(a.Redirect, b.Redirect)
}

// CompareKey orders rows in a file: by host key, then by URL text.
func CompareKey(aHost uint64, aURL string, bHost uint64, bURL string) int {
	if aHost != bHost {
		if aHost < bHost {
			return -1
		}
		return 1
	}
	return strings.Compare(aURL, bURL)
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// Fold folds the captures of one URL into its record. It sorts caps in
// place by CompareCapture first, so the result does not depend on their
// order.
func Fold(caps []Capture) Record {
	slices.SortFunc(caps, func(a, b Capture) int { return CompareCapture(&a, &b) })
	var r Record
	r.FromCapture(&caps[0])
	for i := 1; i < len(caps); i++ {
		var o Record
		o.FromCapture(&caps[i])
		r.Combine(&o)
	}
	return r
}

// FoldRecords folds records of one URL (from several files, say) into one.
// It sorts recs in place by their capture spans and combines them in that
// order, so the result does not depend on the order recs come in; when the
// spans do not interleave in time, it equals folding all their captures at
// once.
func FoldRecords(recs []Record) Record {
	slices.SortFunc(recs, func(a, b Record) int { return compareSpan(&a, &b) })
	r := recs[0]
	for i := 1; i < len(recs); i++ {
		r.Combine(&recs[i])
	}
	return r
}
