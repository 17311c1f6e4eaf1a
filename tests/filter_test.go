package tests

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// filterRow is what the filter flags look at in a --rows line.
type filterRow struct {
	URL      string `json:"url"`
	HostKey  string `json:"host_key"`
	Status   string `json:"status"`
	LastSeen string `json:"last_seen"` // "" when never captured (null)
}

// TestInspectFilter: --status, --seen-since and --unseen-since print, with
// --rows (from a file and a pipe), --host and --urls, exactly the --rows
// lines whose status and last capture the flags name, as an oracle reads
// them from the JSON; a time is a CDX timestamp prefix or a duration back
// from --now. --status gone --unseen-since H lists exactly the rows that
// meguri-compact --gc --horizon H drops. On the sample and on the corpus.
func TestInspectFilter(t *testing.T) {
	files := goldenAndCorpus(t)
	const now = "20250101000000"
	back := func(d time.Duration) string {
		n, _ := time.Parse("20060102150405", now)
		return n.Add(-d).Format("20060102150405")
	}
	day := 24 * time.Hour
	seenSince := func(ts string) func(r filterRow) bool {
		return func(r filterRow) bool { return r.LastSeen != "" && r.LastSeen >= ts }
	}
	unseenSince := func(ts string) func(r filterRow) bool {
		return func(r filterRow) bool { return r.LastSeen == "" || r.LastSeen < ts }
	}
	status := func(names ...string) func(r filterRow) bool {
		return func(r filterRow) bool { return slices.Contains(names, r.Status) }
	}
	and := func(fs ...func(filterRow) bool) func(filterRow) bool {
		return func(r filterRow) bool {
			for _, f := range fs {
				if !f(r) {
					return false
				}
			}
			return true
		}
	}
	cases := []struct {
		args []string
		keep func(filterRow) bool
	}{
		{[]string{"--status", "gone"}, status("gone")},
		{[]string{"--status", "discovered,redirect"}, status("discovered", "redirect")},
		{[]string{"--seen-since", "2014"}, seenSince("20140101000000")},
		{[]string{"--unseen-since", "20140615"}, unseenSince("20140615000000")},
		{[]string{"--unseen-since", "20140615123456"}, unseenSince("20140615123456")},
		{[]string{"--unseen-since", "2014-06-15"}, unseenSince("20140615000000")},
		{[]string{"--seen-since", "2014-06-15T14:34:56+02:00"}, seenSince("20140615123456")},
		{[]string{"--seen-since", "3650d", "--now", now}, seenSince(back(3650 * day))},
		{[]string{"--unseen-since", "4w2d12h", "--now", now}, unseenSince(back(30*day + 12*time.Hour))},
		{[]string{"--status", "crawled,revisit", "--seen-since", "2008", "--unseen-since", "2015"},
			and(status("crawled", "revisit"), seenSince("20080101000000"), unseenSince("20150101000000"))},
		{[]string{"--status", "gone", "--unseen-since", "365d", "--now", now}, and(status("gone"), unseenSince(back(365*day)))},
	}
	for _, file := range files {
		all := bytes.SplitAfter(mustRun(t, nil, "meguri-inspect", "--rows", file), []byte("\n"))
		all = all[:len(all)-1]
		rows := make([]filterRow, len(all))
		var urls strings.Builder
		for i, line := range all {
			if err := json.Unmarshal(line, &rows[i]); err != nil {
				t.Fatal(err)
			}
			urls.WriteString(rows[i].URL + "\n")
		}
		data := fileBytes(t, file)
		for _, c := range cases {
			var want []byte
			kept := 0
			for i, r := range rows {
				if c.keep(r) {
					want = append(want, all[i]...)
					kept++
				}
			}
			if kept == 0 || kept == len(rows) {
				t.Fatalf("%s %v keeps %d of %d rows; the test wants a filter that chooses", file, c.args, kept, len(rows))
			}
			for _, run := range []struct {
				args  []string
				stdin []byte
			}{
				{append([]string{"--rows", file}, c.args...), nil},
				{append([]string{"--rows", "-"}, c.args...), data},
				{append([]string{"--urls", "-", file}, c.args...), []byte(urls.String())},
			} {
				if out := mustRun(t, run.stdin, "meguri-inspect", run.args...); !bytes.Equal(out, want) {
					t.Fatalf("%v: %d lines, want %d", run.args, bytes.Count(out, []byte("\n")), kept)
				}
			}
			// --host: the first kept row's host group, only its kept rows
			var first filterRow
			var host []byte
			for i, r := range rows {
				if c.keep(r) && (first.HostKey == "" || r.HostKey == first.HostKey) {
					first = r
					host = append(host, all[i]...)
				}
			}
			if out := mustRun(t, nil, "meguri-inspect", append([]string{"--host", first.HostKey, file}, c.args...)...); !bytes.Equal(out, host) {
				t.Fatalf("--host %s %v: %q, want %q", first.HostKey, c.args, out, host)
			}
		}
		// the GC preview is what GC drops
		gc := filepath.Join(t.TempDir(), "gc.meguri")
		mustRun(t, nil, "meguri-compact", "-q", "--gc", "--horizon", "365d", "--now", now, file, "-o", gc)
		kept := bytes.SplitAfter(mustRun(t, nil, "meguri-inspect", "--rows", gc), []byte("\n"))
		dropped := bytes.SplitAfter(mustRun(t, nil, "meguri-inspect", "--rows", "--status", "gone", "--unseen-since", "365d", "--now", now, file), []byte("\n"))
		if len(dropped) < 2 {
			t.Fatalf("%s: nothing past the horizon; the test wants some", file)
		}
		var rest [][]byte
		for _, line := range all {
			if !slices.ContainsFunc(dropped, func(d []byte) bool { return bytes.Equal(d, line) }) {
				rest = append(rest, line)
			}
		}
		if !slices.EqualFunc(rest, kept[:len(kept)-1], bytes.Equal) {
			t.Fatalf("%s: GC kept %d rows; all but the preview's %d are %d", file, len(kept)-1, len(dropped)-1, len(rest))
		}
	}
	// a host group held, but with no record the filter keeps: nothing
	// printed, exit 0; a host group not held: exit 1
	golden := files[0]
	if out, e, code := run(t, nil, "meguri-inspect", "--host", "brigitte.de", "--status", "gone", golden); code != 0 || len(out) != 0 || len(e) != 0 {
		t.Errorf("--host held, none kept: exit %d, %q, %q", code, out, e)
	}
	if _, e, code := run(t, nil, "meguri-inspect", "--host", "absent.example", "--status", "gone", golden); code != 1 || !strings.Contains(string(e), "not in") {
		t.Errorf("--host not held: exit %d, %q", code, e)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rows", "--status", "gon"}, `unknown status "gon"; choose from discovered,crawled,redirect,gone,error,revisit,unknown`},
		{[]string{"--rows", "--status="}, "no status named"},
		{[]string{"--rows", "--seen-since", "90"}, "want a CDX timestamp of 4 to 14 digits"},
		{[]string{"--rows", "--seen-since", "20141301"}, "want a CDX timestamp of 4 to 14 digits"},
		{[]string{"--rows", "--unseen-since", "90y"}, "years are no unit here: give days, 365d for a year"},
		{[]string{"--rows", "--unseen-since", "3000w", "--now", "19990101000000"}, "reaches back before 1970"},
		{[]string{"--rows", "--unseen-since", "90d", "--now", "2025"}, "want a 14-digit timestamp"},
		{[]string{"--rows", "--now", now}, "--now goes with --seen-since or --unseen-since"},
		{[]string{"--url", "http://www.brigitte.de/", "--status", "gone"}, "--status goes with a mode that prints many records"},
		{[]string{"--status", "gone", "--seen-since", "2020"}, "--status, --seen-since go with a mode"},
		{[]string{"--urls", "-", "--absent", "--unseen-since", "2020"}, "--unseen-since: --absent prints the list's own lines"},
		{[]string{"--rows", "--progress"}, "--progress goes with --verify or --urls"},
		{[]string{"--rows", "--mem", "1G"}, "--mem goes with --urls"},
	} {
		out, e, code := run(t, nil, "meguri-inspect", append(c.args, golden)...)
		if code != 2 || len(out) != 0 || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, e, c.want)
		}
	}
}
