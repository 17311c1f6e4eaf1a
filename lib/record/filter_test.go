package record

import (
	"strings"
	"testing"
)

// filterCases are records of every status: captured ones at three times,
// and a discovered one (never captured).
func filterCases() []Record {
	var rs []Record
	for s := Crawled; s < numStatus; s++ {
		for _, t := range []int64{1000, 2000, 3000} {
			rs = append(rs, Record{Status: s, FirstSeen: t - 1, LastSeen: t, Captures: uint64(t / 1000)})
		}
	}
	return append(rs, Record{Status: Discovered})
}

// filters are every status mask with every pair of time bounds, among
// them bounds that fall on a capture time.
func filters() []Filter {
	bounds := []int64{0, 1000, 2000, 2001, 3001}
	var fs []Filter
	for m := 0; m < 1<<numStatus; m++ {
		for _, since := range bounds {
			for _, unseen := range bounds {
				fs = append(fs, Filter{Statuses: uint8(m), SeenSince: since, UnseenSince: unseen})
			}
		}
	}
	return fs
}

// Match keeps a record when its status is named (or none is) and its last
// capture falls in the bounds, a record never captured counting as older
// than any bound.
func TestFilterMatch(t *testing.T) {
	for _, f := range filters() {
		for _, r := range filterCases() {
			want := f.Statuses == 0 || f.Statuses>>r.Status&1 == 1
			if f.SeenSince != 0 && (r.Captures == 0 || r.LastSeen < f.SeenSince) {
				want = false
			}
			if f.UnseenSince != 0 && r.Captures > 0 && r.LastSeen >= f.UnseenSince {
				want = false
			}
			if got := f.Match(&r); got != want {
				t.Fatalf("%+v.Match(%+v) = %v, want %v", f, r, got, want)
			}
		}
	}
	if !(&Filter{}).IsZero() || (&Filter{UnseenSince: 1}).IsZero() {
		t.Fatal("IsZero")
	}
}

// MayMatch never says no to a group of rows holding a record the filter
// keeps (every group of up to three of the cases), and does say no where
// the counts rule every match out.
func TestFilterMayMatch(t *testing.T) {
	rs := filterCases()
	var groups [][]Record
	for i := range rs {
		groups = append(groups, []Record{rs[i]})
		for j := i; j < len(rs); j++ {
			groups = append(groups, []Record{rs[i], rs[j]})
			for k := j; k < len(rs); k++ {
				groups = append(groups, []Record{rs[i], rs[j], rs[k]})
			}
		}
	}
	noes := 0
	for _, f := range filters() {
		for _, g := range groups {
			var captures, gone uint64
			any := false
			for i := range g {
				captures += g[i].Captures
				if g[i].Status == Gone {
					gone++
				}
				any = any || f.Match(&g[i])
			}
			may := f.MayMatch(uint64(len(g)), captures, gone)
			if any && !may {
				t.Fatalf("%+v.MayMatch(%d, %d, %d) = false, but it keeps a row of %+v", f, len(g), captures, gone, g)
			}
			if !may {
				noes++
			}
		}
	}
	gonly := Filter{Statuses: 1 << Gone}
	switch {
	case gonly.MayMatch(5, 9, 0):
		t.Error("a gone-only filter may match a block without gone rows")
	case (&Filter{SeenSince: 1}).MayMatch(5, 0, 0):
		t.Error("a time bound may match a block that was never captured")
	case (&Filter{Statuses: 1 << Crawled}).MayMatch(5, 0, 0):
		t.Error("a crawled-only filter may match a block that was never captured")
	case (&Filter{Statuses: 1 << Crawled}).MayMatch(5, 9, 5):
		t.Error("a crawled-only filter may match a block that is all gone")
	case !gonly.MayMatch(5, 9, 1) || !(&Filter{}).MayMatch(5, 0, 0):
		t.Error("MayMatch says no where a row may match")
	}
	if noes == 0 {
		t.Fatal("MayMatch never said no")
	}
}

func TestParseStatuses(t *testing.T) {
	m, err := ParseStatuses([]string{"gone", "discovered", "crawled"})
	if err != nil || m != 1<<Gone|1<<Discovered|1<<Crawled {
		t.Fatalf("ParseStatuses = %b, %v", m, err)
	}
	for _, bad := range [][]string{nil, {"Gone"}, {"gone", ""}, {"404"}} {
		if _, err := ParseStatuses(bad); err == nil || !strings.Contains(err.Error(), "discovered,crawled,redirect,gone,error,revisit,unknown") {
			t.Errorf("ParseStatuses(%q) = %v, want an error listing the names", bad, err)
		}
	}
}
