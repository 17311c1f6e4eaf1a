package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	"github.com/meguri/meguri/lib/units"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// input is the corpus when MEGURI_CORPUS is set, else the sample.
func input(t *testing.T) string {
	if p := os.Getenv("MEGURI_CORPUS"); p != "" {
		return p
	}
	return sample
}

func mustRun(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	o, e, code := run(t, stdin, name, args...)
	if code != 0 {
		t.Fatalf("%s %v: exit %d: %s", name, args, code, e)
	}
	return o
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

type manifestRow struct {
	id          uint64
	lo, hi      uint64
	file        string
	urls, hosts uint64
}

func readManifest(t *testing.T, path string) []manifestRow {
	var rows []manifestRow
	for _, l := range lines(t, path) {
		if strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 8 {
			t.Fatalf("manifest line %q", l)
		}
		var r manifestRow
		r.id, _ = strconv.ParseUint(f[0], 10, 64)
		r.lo, _ = strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
		r.hi, _ = strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 64)
		r.file = f[3]
		r.urls, _ = strconv.ParseUint(f[4], 10, 64)
		r.hosts, _ = strconv.ParseUint(f[5], 10, 64)
		rows = append(rows, r)
	}
	return rows
}

// hostKey computes a CDX line's host key independently of lib/canon: the
// URL's host through net/url and IDNA, then the registrable domain, then
// xxHash64. ok is false for lines it cannot key (those the tools reject).
func hostKey(line string) (uint64, bool) {
	if i := strings.IndexByte(line, '{'); i > 0 {
		line = line[i:] // "SURT TIMESTAMP {json}"
	}
	var v struct {
		URL string `json:"url"`
	}
	if json.Unmarshal([]byte(line), &v) != nil {
		return 0, false
	}
	u, err := url.Parse(strings.TrimSpace(v.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return 0, false
	}
	h, err := idna.Lookup.ToASCII(strings.ToLower(u.Hostname()))
	if err != nil || h == "" {
		return 0, false
	}
	group := h
	if d, err := publicsuffix.EffectiveTLDPlusOne(h); err == nil && strings.HasSuffix(h, d) && !strings.HasSuffix(h, ".") {
		group = d
	}
	return xxhash.Sum64String(group), true
}

// TestFleetPipeline is the worked example of the README, through the
// binaries: balance 8 partitions, split the input by the map, ingest each
// partition, publish the counts, print the map, and merge the partitions
// back into the bytes of one whole ingest.
func TestFleetPipeline(t *testing.T) {
	in := input(t)
	dir := t.TempDir()
	man := filepath.Join(dir, "fleet.manifest")
	_, report, code := run(t, nil, "meguri-route", "balance", "--partitions", "8", in, "-o", man)
	if code != 0 {
		t.Fatalf("balance: %s", report)
	}
	rows := readManifest(t, man)
	if len(rows) != 8 {
		t.Fatalf("%d partitions", len(rows))
	}
	var total uint64
	for _, r := range rows {
		total += r.urls
	}
	mean := float64(total) / 8
	for _, r := range rows {
		if dev := (float64(r.urls) - mean) / mean; dev > 0.15 || dev < -0.15 {
			// allowed only when the report names the host that explains it
			if !strings.Contains(string(report), fmt.Sprintf("partition %d ", r.id)) || !strings.Contains(string(report), "alone holds") {
				t.Errorf("partition %d holds %d urls, %.0f%% off the mean, and the report does not say why:\n%s", r.id, r.urls, dev*100, report)
			}
		}
	}

	parts := filepath.Join(dir, "parts")
	rej := filepath.Join(dir, "rejects.jsonl")
	js := mustRun(t, nil, "meguri-route", "split", "-q", "--json", "--manifest", man, "--out-dir", parts, "--rejects", rej, in)
	var sum struct {
		Partitions []struct {
			ID      uint64 `json:"partition_id"`
			File    string `json:"file"`
			Records int64  `json:"records"`
		} `json:"partitions"`
		Rejected int64 `json:"rejected"`
	}
	if err := json.Unmarshal(js, &sum); err != nil {
		t.Fatalf("split --json: %v: %s", err, js)
	}
	// every output line lies in its partition's range, by an independent key
	var got []string
	var unkeyed int
	for _, p := range sum.Partitions {
		var r manifestRow
		for _, x := range rows {
			if x.id == p.ID {
				r = x
			}
		}
		ls := lines(t, p.File)
		if int64(len(ls)) != p.Records {
			t.Errorf("partition %d: %d lines, summary says %d", p.ID, len(ls), p.Records)
		}
		for _, l := range ls {
			k, ok := hostKey(l)
			if !ok {
				unkeyed++
				continue
			}
			if k < r.lo || k > r.hi {
				t.Errorf("partition %d (%x..%x) got a line keyed %x: %.120s", p.ID, r.lo, r.hi, k, l)
			}
		}
		got = append(got, ls...)
	}
	if unkeyed > len(got)/1000 {
		t.Errorf("the independent key computation could not key %d of %d routed lines", unkeyed, len(got))
	}
	// outputs plus rejects are exactly the input lines, as a multiset
	rejLines := lines(t, rej)
	if int64(len(rejLines)) != sum.Rejected {
		t.Errorf("%d reject lines, summary says %d", len(rejLines), sum.Rejected)
	}
	for _, l := range rejLines {
		var rl struct {
			Text string `json:"text"`
		}
		json.Unmarshal([]byte(l), &rl)
		got = append(got, rl.Text)
	}
	want := lines(t, in)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("outputs and rejects hold %d lines; the input has %d (or they differ)", len(got), len(want))
	}

	// ingest each partition with its id and range, publish the counts
	var megs []string
	for _, p := range sum.Partitions {
		var r manifestRow
		for _, x := range rows {
			if x.id == p.ID {
				r = x
			}
		}
		out := filepath.Join(dir, r.file)
		mustRun(t, nil, "meguri-ingest", "-q", "--partition-id", fmt.Sprint(r.id), "--range", fmt.Sprintf("%x:%x", r.lo, r.hi), p.File, "-o", out)
		megs = append(megs, out)
	}
	mustRun(t, nil, "meguri-route", "update", "--manifest", man, "--refresh", "-o", man)
	mapOut := mustRun(t, nil, "meguri-route", "--manifest", man)
	if !bytes.Contains(mapOut, []byte("tiles [0, 2^64): yes")) {
		t.Errorf("map:\n%s", mapOut)
	}
	var refreshed uint64
	for _, r := range readManifest(t, man) {
		refreshed += r.urls
	}
	if refreshed != total {
		t.Errorf("refreshed manifest counts %d urls, balance counted %d", refreshed, total)
	}

	// merging the partitions gives the bytes of one whole ingest
	whole := filepath.Join(dir, "whole.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", in, "-o", whole)
	merged := filepath.Join(dir, "merged.meguri")
	slices.Reverse(megs) // input order does not matter
	mustRun(t, nil, "meguri-compact", append(megs, "-q", "-o", merged)...)
	a, _ := os.ReadFile(whole)
	b, _ := os.ReadFile(merged)
	if !bytes.Equal(a, b) {
		t.Fatal("merging the ingested partitions differs from ingesting the whole input")
	}

	// splitting the .meguri by the same map gives files whose rows,
	// concatenated, are the whole file's rows
	mparts := filepath.Join(dir, "mparts")
	js = mustRun(t, nil, "meguri-route", "split", "-q", "--json", "--manifest", man, "--out-dir", mparts, whole)
	if err := json.Unmarshal(js, &sum); err != nil {
		t.Fatal(err)
	}
	var cat []byte
	for _, p := range sum.Partitions {
		cat = append(cat, mustRun(t, nil, "meguri-inspect", "--rows", p.File)...)
		// and each equals the ingest of that partition
		a, _ := os.ReadFile(p.File)
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("part-%04d.meguri", p.ID)))
		if !bytes.Equal(a, b) {
			t.Errorf("partition %d split from .meguri differs from its ingest", p.ID)
		}
	}
	// its summary counts records, not lines
	var urls int64
	for _, p := range sum.Partitions {
		urls += p.Records
	}
	_, e, code := run(t, nil, "meguri-route", "split", "--manifest", man, "--out-dir", filepath.Join(dir, "mparts2"), whole)
	if want := fmt.Sprintf(": %d records: %d routed to ", urls, urls); code != 0 || !strings.Contains(string(e), want) {
		t.Errorf("split of a .meguri: exit %d, %s; want %q", code, e, want)
	}
	if !bytes.Equal(cat, mustRun(t, nil, "meguri-inspect", "--rows", whole)) {
		t.Error("rows of the .meguri split, concatenated, differ from the whole file's rows")
	}
	// a queue of a hundred million buffers a partition (a typo) is no
	// usage: it made the runtime die out of memory, with a goroutine dump
	wantUsage(t, "--queue 100000000: want 1 to 64", "meguri-route", "split", "--queue", "100000000", "--manifest", man, "--out-dir", filepath.Join(dir, "q"), whole)
}

// mergesBack reports whether meguri-compact merges files into the bytes of
// the file want.
func mergesBack(t *testing.T, files []string, want string) bool {
	t.Helper()
	back := filepath.Join(t.TempDir(), "back.meguri")
	mustRun(t, nil, "meguri-compact", append(files, "-q", "-o", back)...)
	return bytes.Equal(fileBytes(t, want), fileBytes(t, back))
}

// TestSplitEveryHost: --split N gives N ranges whenever the file holds N
// host groups, big hosts or not (cuts drawn to one host change once left
// 18 ranges of 41 asked), one host each at N = hosts; asking for more
// says how many there are, and the parts merge back to the file.
func TestSplitEveryHost(t *testing.T) {
	dir := t.TempDir()
	golden := "../testdata/sample.meguri"
	var info struct{ Hosts int }
	if err := json.Unmarshal(mustRun(t, nil, "meguri-inspect", "--json", golden), &info); err != nil {
		t.Fatal(err)
	}
	// a billion (a typo) is as many as there are hosts, at once
	for _, n := range []int{info.Hosts / 2, info.Hosts, info.Hosts + 10, 1 << 30} {
		out := filepath.Join(dir, strconv.Itoa(n))
		o, e, code := run(t, nil, "meguri-compact", "--split", strconv.Itoa(n), "--out-dir", out, golden)
		if code != 0 {
			t.Fatalf("--split %d: exit %d: %s", n, code, e)
		}
		mf := out + ".manifest"
		os.WriteFile(mf, o, 0o644)
		rows := readManifest(t, mf)
		if want := min(n, info.Hosts); len(rows) != want {
			t.Errorf("--split %d: %d ranges, want %d", n, len(rows), want)
		}
		fewer := fmt.Sprintf("writing %d ranges, not %d: the input holds %d host groups, and a host is never cut", info.Hosts, n, info.Hosts)
		if got := strings.Contains(string(e), fewer); got != (n > info.Hosts) {
			t.Errorf("--split %d: stderr says %q: %v\n%s", n, fewer, got, e)
		}
		var files []string
		for _, r := range rows {
			if r.urls == 0 || n == info.Hosts && r.hosts != 1 {
				t.Errorf("--split %d: range %x..%x holds %d urls in %d hosts", n, r.lo, r.hi, r.urls, r.hosts)
			}
			files = append(files, r.file)
		}
		if !mergesBack(t, files, golden) {
			t.Errorf("--split %d, merged back: not the file's bytes", n)
		}
	}
	// a file of one host group is told in the singular
	one := filepath.Join(dir, "one.meguri")
	mustRun(t, []byte(`{"url": "http://www.zew.de/", "timestamp": "19970427191925"}`+"\n"), "meguri-ingest", "-q", "-o", one)
	_, e, code := run(t, nil, "meguri-compact", "--split", "3", "--out-dir", filepath.Join(dir, "one"), one)
	if want := "writing 1 range, not 3: the input holds 1 host group, and a host is never cut"; code != 0 || !strings.Contains(string(e), want) {
		t.Errorf("--split 3 of one host: exit %d, stderr %s; want %q", code, e, want)
	}
}

// TestSplitUnderFileLimit: a split into more ranges than the tool may
// open files (every host group of the sample, 147 ranges, under ulimit -n
// 12) writes them all, since an output is closed once complete (and the
// commit syncs fewer at once when few descriptors are left), and they
// merge back to the file's bytes, under the same limit too (the inputs
// take turns on the descriptors).
func TestSplitUnderFileLimit(t *testing.T) {
	dir := t.TempDir()
	golden := "../testdata/sample.meguri"
	mf := filepath.Join(dir, "rows.manifest")
	o, err := runUnderLimit("-n 12", "meguri-compact", "-q", "--split", "147", "--out-dir", dir, "--manifest-out", mf, golden)
	if err != nil {
		t.Fatalf("%v: %s", err, o)
	}
	var files []string
	for _, r := range readManifest(t, mf) {
		files = append(files, r.file)
	}
	if len(files) != 147 {
		t.Fatalf("%d ranges, want 147", len(files))
	}
	if !mergesBack(t, files, golden) {
		t.Error("merged back: not the file's bytes")
	}
	back := filepath.Join(dir, "back.meguri")
	if o, err := runUnderLimit("-n 12", "meguri-compact", append(files, "-q", "-o", back)...); err != nil {
		t.Fatalf("merged back under ulimit -n 12: %v: %s", err, o)
	}
	if !bytes.Equal(fileBytes(t, back), fileBytes(t, golden)) {
		t.Error("merged back under ulimit -n 12: not the file's bytes")
	}
}

// TestCompactIdentity: --split 4 and merging back gives the original
// bytes; folding two halves of the input, or a base and two newer deltas,
// gives the bytes of ingesting it all.
func TestCompactIdentity(t *testing.T) {
	in := input(t)
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", in, "-o", whole)

	rowsOut := mustRun(t, nil, "meguri-compact", "-q", "--split", "4", "--out-dir", filepath.Join(dir, "q"), whole)
	mf := filepath.Join(dir, "q.manifest")
	os.WriteFile(mf, rowsOut, 0o644)
	rows := readManifest(t, mf)
	if len(rows) != 4 || rows[0].lo != 0 || rows[3].hi != ^uint64(0) {
		t.Fatalf("split rows:\n%s", rowsOut)
	}
	var files []string
	for i, r := range rows {
		if i > 0 && r.lo != rows[i-1].hi+1 {
			t.Errorf("split ranges do not tile: %x after %x", r.lo, rows[i-1].hi)
		}
		files = append(files, r.file)
	}
	slices.Reverse(files)
	if !mergesBack(t, files, whole) {
		t.Error("split 4 then merge did not give the original bytes")
	}

	// two halves of the lines, ingested apart, fold to the whole
	a := fileBytes(t, whole)
	all := lines(t, in)
	h1, h2 := filepath.Join(dir, "h1.jsonl"), filepath.Join(dir, "h2.jsonl")
	os.WriteFile(h1, []byte(strings.Join(all[:len(all)/2], "\n")+"\n"), 0o644)
	os.WriteFile(h2, []byte(strings.Join(all[len(all)/2:], "\n")+"\n"), 0o644)
	m1, m2 := filepath.Join(dir, "h1.meguri"), filepath.Join(dir, "h2.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", h1, "-o", m1)
	mustRun(t, nil, "meguri-ingest", "-q", h2, "-o", m2)
	folded := mustRun(t, nil, "meguri-compact", "-q", "--fold", m2, m1)
	if !bytes.Equal(folded, a) {
		t.Error("folding two halves differs from ingesting all lines")
	}

	// the fleet's own case: a base of older captures and deltas of newer
	// ones (split by capture time; lines without a time go to the base),
	// folded in one go
	var base, d1, d2 []string
	stamp := regexp.MustCompile(`"timestamp":\s*"(\d{4})`)
	for _, l := range all {
		switch m := stamp.FindStringSubmatch(l); {
		case m == nil || m[1] < "2012":
			base = append(base, l)
		case m[1] < "2018":
			d1 = append(d1, l)
		default:
			d2 = append(d2, l)
		}
	}
	var parts []string
	for i, ls := range [][]string{base, d1, d2} {
		if len(ls) == 0 {
			t.Fatalf("part %d of the time split is empty", i)
		}
		j, m := filepath.Join(dir, fmt.Sprintf("t%d.jsonl", i)), filepath.Join(dir, fmt.Sprintf("t%d.meguri", i))
		os.WriteFile(j, []byte(strings.Join(ls, "\n")+"\n"), 0o644)
		mustRun(t, nil, "meguri-ingest", "-q", j, "-o", m)
		parts = append(parts, m)
	}
	if folded := mustRun(t, nil, "meguri-compact", "-q", "--fold", parts[2], parts[0], parts[1]); !bytes.Equal(folded, a) {
		t.Error("folding a base and two newer deltas differs from ingesting all lines")
	}
}

// Keys are written as the tools print them: a cut given as 16 bare hex
// digits is hex even when no digit is a letter (it was read as decimal, and
// 8000000000000000 cut at 0x001c6bf526340000), and --host takes a key as
// xxhsum prints it.
func TestKeysAsPrinted(t *testing.T) {
	golden := "../testdata/sample.meguri"
	dir := t.TempDir()
	mf := filepath.Join(dir, "m")
	os.WriteFile(mf, mustRun(t, nil, "meguri-compact", "-q", "--split-at", "4000000000000000,0x8000000000000000,C000000000000000",
		"--out-dir", filepath.Join(dir, "q"), golden), 0o644)
	rows := readManifest(t, mf)
	if len(rows) != 4 {
		t.Fatalf("%d ranges, want 4", len(rows))
	}
	for i, r := range rows {
		if lo := uint64(i) << 62; r.lo != lo || r.hi != lo+1<<62-1 {
			t.Errorf("range %d is %#x..%#x, want the quarter from %#x", i, r.lo, r.hi, lo)
		}
	}

	first := bytes.SplitN(mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "host_key", "--tsv", "--raw", golden), []byte("\n"), 2)[0]
	want := mustRun(t, nil, "meguri-inspect", "--host", string(first), golden)
	if len(want) == 0 {
		t.Fatalf("--host %s printed nothing", first)
	}
	if got := mustRun(t, nil, "meguri-inspect", "--host", strings.TrimPrefix(string(first), "0x"), golden); !bytes.Equal(got, want) {
		t.Errorf("--host %s (as xxhsum prints it) printed\n%s\nwant\n%s", strings.TrimPrefix(string(first), "0x"), got, want)
	}
}

func TestCompactRefusals(t *testing.T) {
	dir := t.TempDir()
	ing := func(name, rng string, id int) string {
		p := filepath.Join(dir, name)
		mustRun(t, nil, "meguri-ingest", "-q", "--range", rng, "--partition-id", fmt.Sprint(id), sample, "-o", p)
		return p
	}
	a := ing("a.meguri", "0:7fffffffffffffff", 1)
	b := ing("b.meguri", "8000000000000000:ffffffffffffffff", 2)
	c := ing("c.meguri", "7000000000000000:ffffffffffffffff", 3)
	g := ing("g.meguri", "9000000000000000:ffffffffffffffff", 4)
	raw, _ := os.ReadFile(b)
	raw[len(raw)/3] ^= 0x20
	bad := filepath.Join(dir, "bad.meguri")
	os.WriteFile(bad, raw, 0o644)
	out := filepath.Join(dir, "out.meguri")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{a, c}, "overlap on host keys 0x7000000000000000..0x7fffffffffffffff"},
		{[]string{a, g}, "leave host keys 0x8000000000000000..0x8fffffffffffffff uncovered"},
		{[]string{a, bad}, "bad.meguri: "},
		{[]string{a, a}, a + " and " + a + " are the same file: give each input once"},
		// a fold joins files of one partition: one range, one id
		{[]string{"--fold", b, g}, b + " owns host keys 0x8000000000000000..0xffffffffffffffff and " + g + " owns 0x9000000000000000..0xffffffffffffffff: a fold joins files of one partition, which own one range"},
		{[]string{"--fold", "--partition-id", "2", b, g}, "a fold joins files of one partition, which own one range"},
		{[]string{"--fold", a, "../testdata/sample.meguri"}, " owns host keys 0x0000000000000000..0x7fffffffffffffff and ../testdata/sample.meguri owns 0x0000000000000000..0xffffffffffffffff"},
	} {
		_, e, code := run(t, nil, "meguri-compact", append(c.args, "-o", out)...)
		if code == 0 || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d: %s (want %q)", c.args, code, e, c.want)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 5 {
			t.Errorf("%v left files behind: %v", c.args, ents)
		}
	}
	// Files of one range but two ids fold only when --partition-id says
	// which the result is; it holds the other's rows folded in.
	b5 := ing("b5.meguri", "8000000000000000:ffffffffffffffff", 5)
	wantFail(t, b+" is partition 2 and "+b5+" partition 5: a fold joins files of one partition; give --partition-id N to say which the result is", "meguri-compact", "--fold", b, b5, "-o", out)
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused fold left its output")
	}
	// (b5 holds b's captures: without --again the fold is refused as one
	// that counts them twice, see TestFoldTwiceRefused)
	mustRun(t, nil, "meguri-compact", "-q", "--fold", "--again", "--partition-id", "5", b, b5, "-o", out)
	if j := mustRun(t, nil, "meguri-inspect", "--json", out); !bytes.Contains(j, []byte(`"partition_id":5,"host_key_lo":"0x8000000000000000","host_key_hi":"0xffffffffffffffff"`)) {
		t.Errorf("fold with --partition-id 5: %s", j)
	}
	os.Remove(out)
	os.Remove(b5)
	// the gap is allowed on request, and the union covers it
	mustRun(t, nil, "meguri-compact", "-q", "--allow-gap", a, g, "-o", out)
	j := mustRun(t, nil, "meguri-inspect", "--json", out)
	if !bytes.Contains(j, []byte(`"host_key_lo":"0x0000000000000000","host_key_hi":"0xffffffffffffffff"`)) || !bytes.Contains(j, []byte(`"partition_id":1`)) {
		t.Errorf("allow-gap output: %s", j)
	}
}

// TestGCThroughBinary: with --now and --horizon, exactly the Gone rows
// captured before the cutoff go; every other row is unchanged.
func TestGCThroughBinary(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", input(t), "-o", in)
	rowsIn := strings.Split(strings.TrimSpace(string(mustRun(t, nil, "meguri-inspect", "--rows", in))), "\n")
	const now, horizon = "20240601000000", "365d"
	cutoff := "20230602000000" // now minus 365 days
	var want []string
	dropped := 0
	for _, l := range rowsIn {
		var r struct {
			Status   string `json:"status"`
			LastSeen string `json:"last_seen"`
		}
		json.Unmarshal([]byte(l), &r)
		if r.Status == "gone" && r.LastSeen < cutoff {
			dropped++
			continue
		}
		want = append(want, l)
	}
	if dropped == 0 {
		t.Fatal("fixture has no expired tombstones")
	}
	out := filepath.Join(dir, "gc.meguri")
	_, e, code := run(t, nil, "meguri-compact", "--gc", "--horizon", horizon, "--now", now, in, "-o", out)
	if code != 0 {
		t.Fatal(string(e))
	}
	if !strings.Contains(string(e), fmt.Sprintf("%d dropped by gc", dropped)) {
		t.Errorf("summary does not say %d dropped: %s", dropped, e)
	}
	if strings.Contains(string(e), "warning") {
		t.Errorf("a --now in the past warns: %s", e)
	}
	// a --now later than the clock (a typo of the year) drops tombstones
	// younger than the horizon today: the run says so
	_, e, code = run(t, nil, "meguri-compact", "-q", "--gc", "--horizon", horizon, "--now", "29990101000000", in, "-o", filepath.Join(dir, "future.meguri"))
	if code != 0 || !strings.Contains(string(e), "meguri-compact: warning: --now 29990101000000 is ") ||
		!strings.Contains(string(e), " days after this machine's clock, so --gc drops tombstones younger than --horizon today\n") {
		t.Errorf("--now in the future: exit %d, stderr %q", code, e)
	}
	got := strings.Split(strings.TrimSpace(string(mustRun(t, nil, "meguri-inspect", "--rows", out))), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("gc kept %d rows, want %d", len(got), len(want))
	}
}

func TestRouteOneAndPlace(t *testing.T) {
	dir := t.TempDir()
	man := filepath.Join(dir, "m")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "64", sample, "-o", man)
	k, _ := hostKey(`{"url":"http://www.zew.de/x"}`)
	for _, args := range [][]string{
		{"--manifest", man, "--url", "HTTP://WWW.ZEW.DE:80/x#frag", "--json"},
		{"map", "--manifest", man, "--host", fmt.Sprintf("0x%x", k), "--json"},
		{"--manifest", man, "--host", fmt.Sprint(k), "--json"},
	} {
		var r struct {
			ID   uint64 `json:"partition_id"`
			Key  string `json:"host_key"`
			File string `json:"file"`
		}
		if err := json.Unmarshal(mustRun(t, nil, "meguri-route", args...), &r); err != nil {
			t.Fatal(err)
		}
		if r.Key != fmt.Sprintf("0x%016x", k) || r.File == "" {
			t.Errorf("%v: %+v", args, r)
		}
		for _, row := range readManifest(t, man) {
			if row.id == r.ID && (k < row.lo || k > row.hi) {
				t.Errorf("%v: routed to %d, which does not own %x", args, r.ID, k)
			}
		}
	}
	p1 := mustRun(t, nil, "meguri-route", "place", "--manifest", man, "--nodes", "a,b,c", "--rf", "2")
	p2 := mustRun(t, nil, "meguri-route", "place", "--manifest", man, "--nodes", "c,a,b", "--rf", "2")
	if !bytes.Equal(p1, p2) || bytes.Count(p1, []byte("\n")) != 64 {
		t.Errorf("placement differs by node order or has the wrong count:\n%s", p1)
	}
	sc := bufio.NewScanner(bytes.NewReader(p1))
	for sc.Scan() {
		var l struct {
			Nodes []string `json:"nodes"`
		}
		json.Unmarshal(sc.Bytes(), &l)
		if len(l.Nodes) != 2 || l.Nodes[0] == l.Nodes[1] {
			t.Errorf("replicas %v", l.Nodes)
		}
	}
	var plan struct {
		Moved int `json:"partitions_moved"`
		Moves []struct {
			Join []string `json:"join"`
		} `json:"moves"`
	}
	json.Unmarshal(mustRun(t, nil, "meguri-route", "plan", "--manifest", man, "--from", "a,b,c", "--to", "a,b,c,d", "--json"), &plan)
	if plan.Moved == 0 || plan.Moved > 32 || len(plan.Moves) != plan.Moved {
		t.Errorf("plan moved %d", plan.Moved)
	}
	for _, m := range plan.Moves {
		if !slices.Equal(m.Join, []string{"d"}) {
			t.Errorf("a move joins %v", m.Join)
		}
	}
	// the text plan: a line per move (one replica: the partition leaves
	// its old node for d), then the totals
	text := strings.Split(strings.TrimSpace(string(mustRun(t, nil, "meguri-route", "plan", "--manifest", man, "--from", "a,b,c", "--to", "a,b,c,d"))), "\n")
	if len(text) != plan.Moved+1 || !strings.HasPrefix(text[len(text)-1], fmt.Sprintf("%d of 64 partitions move: %d copies, ", plan.Moved, plan.Moved)) {
		t.Errorf("text plan for %d moves:\n%s", plan.Moved, strings.Join(text, "\n"))
	}
	for _, l := range text[:len(text)-1] {
		if f := strings.Fields(l); len(f) < 6 || f[0] != "partition" || f[2] != "leave" || !strings.Contains("a b c", f[3]) || f[4] != "join" || f[5] != "d" {
			t.Errorf("text plan line %q", l)
		}
	}
	// a map from balance records no sizes: the plan says they are
	// unknown (not 0 B) and how to fill them in; with sizes recorded for
	// some partitions it adds theirs up and counts the rest
	if !strings.HasSuffix(text[len(text)-1], " copies, sizes unknown") || !strings.HasSuffix(text[0], " size unknown") {
		t.Errorf("a plan over a map without sizes:\n%s", strings.Join(text, "\n"))
	}
	_, e, _ := run(t, nil, "meguri-route", "plan", "--manifest", man, "--from", "a,b,c", "--to", "a,b,c,d")
	if want := fmt.Sprintf("the map records no size for %d of the partitions that move", plan.Moved); !strings.Contains(string(e), want) || !strings.Contains(string(e), "--refresh") {
		t.Errorf("stderr %q, want %q and --refresh", e, want)
	}
	if m := string(mustRun(t, nil, "meguri-route", "--manifest", man)); !strings.Contains(m, "64 partitions, 1736 urls (mean 27), 147 hosts, sizes not measured (update --refresh fills them in)") {
		t.Errorf("the map of a balance says:\n%s", m)
	}
	var sized strings.Builder
	for i, l := range lines(t, man) {
		if f := strings.Split(l, "\t"); len(f) == 8 && i%2 == 0 {
			f[6] = "1024"
			l = strings.Join(f, "\t")
		}
		sized.WriteString(l + "\n")
	}
	os.WriteFile(man, []byte(sized.String()), 0o644)
	var half struct {
		Moves []struct {
			Bytes uint64 `json:"bytes"`
		} `json:"moves"`
		Bytes   uint64 `json:"bytes_to_ship"`
		Unknown int    `json:"sizes_unknown"`
	}
	json.Unmarshal(mustRun(t, nil, "meguri-route", "plan", "--manifest", man, "--from", "a,b,c", "--to", "a,b,c,d", "--json"), &half)
	known := 0
	for _, m := range half.Moves {
		if m.Bytes == 1024 {
			known++
		}
	}
	if known+half.Unknown != len(half.Moves) || half.Bytes != uint64(known)*1024 || known == 0 || half.Unknown == 0 {
		t.Errorf("a plan over a map with half its sizes: %+v", half)
	}
	text = strings.Split(strings.TrimSpace(string(mustRun(t, nil, "meguri-route", "plan", "--manifest", man, "--from", "a,b,c", "--to", "a,b,c,d"))), "\n")
	if want := fmt.Sprintf(" copies, %s to ship, and %d partitions of unknown size", units.Bytes(int64(known)*1024), half.Unknown); !strings.HasSuffix(text[len(text)-1], want) {
		t.Errorf("text plan ends %q, want %q", text[len(text)-1], want)
	}
	// a manifest with a gap is refused for routing, naming the gap
	os.WriteFile(man, []byte("0 0x0 0x0fffffffffffffff a 0 0 0 1\n1 0x2000000000000000 0xffffffffffffffff b 0 0 0 1\n"), 0o644)
	_, e, code := run(t, nil, "meguri-route", "--manifest", man, "--host", "0x1000000000000000")
	if code == 0 || !strings.Contains(string(e), "gap 0x1000000000000000..0x1fffffffffffffff between partitions 0 and 1") {
		t.Errorf("exit %d: %s", code, e)
	}
}

// TestCompactFlagErrors: flag combinations compaction cannot honour are
// refused before anything is read, each with its own message, and leave
// no file.
func TestCompactFlagErrors(t *testing.T) {
	golden := "../testdata/sample.meguri"
	dir := t.TempDir()
	out, parts := filepath.Join(dir, "out.meguri"), filepath.Join(dir, "parts")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--split", "2", golden, "-o", out}, "give --out-dir"},
		{[]string{"--split", "2", "--split-at", "0x5", "--out-dir", parts, golden}, "give --split or --split-at, not both"},
		{[]string{"--split", "0", "--out-dir", parts, golden}, "--split 0: want at least 1"},
		{[]string{"--out-dir", parts, golden}, "--out-dir is for --split/--split-at"},
		{[]string{"--split-at", "0x9,0x5", "--out-dir", parts, golden}, "--split-at: cut keys must increase"},
		{[]string{"--gc", golden, "-o", out}, "--gc needs --horizon"},
		{[]string{"--horizon", "5d", golden, "-o", out}, "--horizon and --now only apply with --gc"},
		{[]string{"--split", "2", "--prefix", "../x", "--out-dir", parts, golden}, `--prefix "../x": a file name prefix, not a path`},
		{[]string{"--split-at", "", "--out-dir", parts, golden}, "--split-at: "},
	} {
		wantUsage(t, c.want, "meguri-compact", c.args...)
	}
	// A cut is checked against the input's range once the file is open.
	wantFail(t, "cut key 0x0000000000000000 is outside the range", "meguri-compact", "--split-at", "0x0", "--out-dir", parts, golden)
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestBalancePartitionsFlag: --partitions 0 is refused as such; without it
// balance needs --from, whose partition count it then keeps.
func TestBalancePartitionsFlag(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "fleet.manifest")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"balance", "-n", "0", sample, "-o", m}, "--partitions 0: want at least 1"},
		{[]string{"balance", sample, "-o", m}, "give --partitions N"},
	} {
		wantUsage(t, c.want, "meguri-route", c.args...)
	}
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "3", sample, "-o", m)
	m2 := filepath.Join(dir, "again.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "--from", m, sample, "-o", m2)
	if got := len(lines(t, m2)); got != 2+3 {
		t.Errorf("re-balance --from a 3-partition map wrote %d lines, want a header, the grouping and 3", got)
	}
}

// TestSplitOpenFileLimit: a split of CDX into more partitions than the
// open-file limit lets it hold open (147, a host each, under ulimit -n
// 12; plain and --zstd) writes the same files as a split without the
// limit: the outputs take turns on the descriptors it may hold.
func TestSplitOpenFileLimit(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "147", sample, "-o", m)
	for _, zst := range []string{"--zstd=false", "--zstd"} {
		free, limited := filepath.Join(dir, "free"+zst), filepath.Join(dir, "limited"+zst)
		mustRun(t, nil, "meguri-route", "split", "-q", zst, "--manifest", m, "--out-dir", free, sample)
		if e, err := runUnderLimit("-n 12", "meguri-route", "split", "-q", zst, "--manifest", m, "--out-dir", limited, sample); err != nil {
			t.Fatalf("%s under ulimit -n 12: %v, %s", zst, err, e)
		}
		ls := func(dir string) (names []string) {
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				names = append(names, e.Name())
			}
			return names
		}
		want, got := ls(free), ls(limited)
		if len(want) != 147 || !slices.Equal(got, want) {
			t.Fatalf("%s: wrote %d files, want the %d of the split without a limit", zst, len(got), len(want))
		}
		for _, n := range want {
			if !bytes.Equal(fileBytes(t, filepath.Join(limited, n)), fileBytes(t, filepath.Join(free, n))) {
				t.Errorf("%s: %s differs from the split without a limit", zst, n)
			}
		}
	}
}

// TestWorkedRebalance runs the README's worked rebalance with relative
// names, from a fleet directory: balance, split, ingest each partition,
// refresh the map; then split the hottest partition, merge the two coldest
// neighbours (their rows written into a subdirectory), publish both sets
// of rows, and check the result: it tiles, every row names its file
// relative to the fleet's --dir and matches that file's header and counts,
// a refresh changes nothing, and the files merge back to the whole ingest.
// A publish that would reuse an id is refused and leaves the map alone.
func TestWorkedRebalance(t *testing.T) {
	in, err := filepath.Abs(input(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must := mustIn(t, dir)
	must("meguri-route", "balance", "-q", "--partitions", "4", in, "-o", "fleet.manifest")
	must("meguri-route", "split", "-q", "--manifest", "fleet.manifest", "--out-dir", "parts", in)
	man := filepath.Join(dir, "fleet.manifest")
	for _, r := range readManifest(t, man) {
		must("meguri-ingest", "-q", "--partition-id", fmt.Sprint(r.id), "--range", fmt.Sprintf("%x:%x", r.lo, r.hi),
			"-o", "parts/"+r.file, "parts/"+strings.TrimSuffix(r.file, ".meguri")+".jsonl")
	}
	must("meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "parts", "--refresh", "-o", "fleet.manifest")

	rows := readManifest(t, man)
	hot := 0
	for i, r := range rows {
		if r.urls > rows[hot].urls {
			hot = i
		}
	}
	cold := -1 // the coldest neighbouring pair, hot left out
	for i := 0; i+1 < len(rows); i++ {
		if i != hot && i+1 != hot && (cold < 0 || rows[i].urls+rows[i+1].urls < rows[cold].urls+rows[cold+1].urls) {
			cold = i
		}
	}
	// the split's rows written over the map (--manifest-out meant as
	// "publish into it") would drop the other partitions: refused, before
	// anything is written
	before := fileBytes(t, man)
	_, e, code := runIn(t, dir, nil, "meguri-compact", "-q", "--split", "2", "--partition-id", "8", "--out-dir", "parts", "parts/"+rows[hot].file, "--manifest-out", "fleet.manifest")
	wantErr := fmt.Sprintf("meguri-compact: --manifest-out fleet.manifest is a map of %d partitions, %d of them outside this run's range 0x%016x..0x%016x: writing this run's 2 rows in its place would drop those from the map. Write the rows to a file of their own and publish them into the map: --manifest-out new.rows, then meguri-route update --manifest fleet.manifest --rows new.rows -o fleet.manifest\n",
		len(rows), len(rows)-1, rows[hot].lo, rows[hot].hi)
	if _, err := os.Stat(filepath.Join(dir, "parts", "part-0008.meguri")); code != 1 || string(e) != wantErr || !bytes.Equal(fileBytes(t, man), before) || err == nil {
		t.Fatalf("split rows over the map: exit %d, %q (want %q); map kept: %v; part-0008 absent: %v", code, e, wantErr, bytes.Equal(fileBytes(t, man), before), err != nil)
	}
	hotRows := must("meguri-compact", "-q", "--split", "2", "--partition-id", "8", "--out-dir", "parts", "parts/"+rows[hot].file)
	os.WriteFile(filepath.Join(dir, "hot.rows"), hotRows, 0o644)
	os.Mkdir(filepath.Join(dir, "rows"), 0o755)
	must("meguri-compact", "-q", "parts/"+rows[cold].file, "parts/"+rows[cold+1].file, "--partition-id", "10",
		"-o", "parts/part-0010.meguri", "--manifest-out", "rows/cold.rows")
	if got := readManifest(t, filepath.Join(dir, "rows", "cold.rows")); len(got) != 1 || got[0].file != "../parts/part-0010.meguri" {
		t.Fatalf("cold rows name %+v, want ../parts/part-0010.meguri (relative to rows/)", got)
	}
	_, e, code = runIn(t, dir, nil, "meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "parts", "--rows", "hot.rows", "--rows", "rows/cold.rows", "-o", "fleet.manifest")
	if code != 0 {
		t.Fatalf("publishing: exit %d: %s", code, e)
	}
	// stderr lists what the publish replaced and what it published; the
	// replaced files are the old layout's, which no row names any more
	var said []string
	for _, l := range strings.Split(strings.TrimSpace(string(e)), "\n") {
		f := strings.Fields(l)
		said = append(said, f[2]+" "+f[4]+" "+f[6])
		retired := strings.HasSuffix(l, " (no longer in the map: remove it once no reader holds the old map)")
		if retired != (f[2] == "replaced") {
			t.Errorf("publishing said %q", l)
		}
	}
	want := []string{
		fmt.Sprintf("replaced %d %s", rows[cold].id, rows[cold].file),
		fmt.Sprintf("replaced %d %s", rows[cold+1].id, rows[cold+1].file),
		fmt.Sprintf("replaced %d %s", rows[hot].id, rows[hot].file),
		"published 8 part-0008.meguri", "published 9 part-0009.meguri", "published 10 part-0010.meguri",
	}
	slices.Sort(want[:3])
	slices.Sort(said[:min(3, len(said))])
	if !slices.Equal(said, want) {
		t.Errorf("publishing said %q, want %q", said, want)
	}
	// -q says nothing; publishing the same rows again changes nothing
	if _, e, code := runIn(t, dir, nil, "meguri-route", "update", "-q", "--manifest", "fleet.manifest", "--dir", "parts", "--rows", "hot.rows", "--rows", "rows/cold.rows", "-o", "again.manifest"); code != 0 || len(e) != 0 {
		t.Errorf("update -q: exit %d, stderr %q", code, e)
	}
	if a, b := fileBytes(t, man), fileBytes(t, filepath.Join(dir, "again.manifest")); !bytes.Equal(a, b) {
		t.Errorf("publishing the same rows again changed the manifest:\n%s\n%s", a, b)
	}
	// a file compacted in place keeps its row's name: nothing to remove
	must("meguri-compact", "-q", "parts/part-0010.meguri", "-o", "parts/part-0010.meguri", "--manifest-out", "inplace.rows")
	_, e, code = runIn(t, dir, nil, "meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "parts", "--rows", "inplace.rows", "-o", "inplace.manifest")
	if l, _, _ := strings.Cut(string(e), "\n"); code != 0 || !strings.HasPrefix(l, "meguri-route update: replaced partition 10 ") || !strings.HasSuffix(l, " part-0010.meguri") {
		t.Errorf("publishing a file compacted in place: exit %d, %q", code, e)
	}

	var mj struct {
		Tiles bool
	}
	if err := json.Unmarshal(must("meguri-route", "--manifest", "fleet.manifest", "--json"), &mj); err != nil || !mj.Tiles {
		t.Fatalf("the published map does not tile (%v)", err)
	}
	after := readManifest(t, man)
	if len(after) != len(rows)-1-2+2+1 {
		t.Fatalf("%d partitions after the rebalance, want %d", len(after), len(rows))
	}
	var files []string
	for _, r := range after {
		if strings.Contains(r.file, "/") {
			t.Errorf("partition %d names %s, not a name relative to parts/", r.id, r.file)
		}
		path := filepath.Join(dir, "parts", r.file)
		var s struct {
			PartitionID uint64 `json:"partition_id"`
			Lo          string `json:"host_key_lo"`
			Hi          string `json:"host_key_hi"`
			URLs, Hosts uint64
		}
		if err := json.Unmarshal(mustRun(t, nil, "meguri-inspect", "--json", path), &s); err != nil {
			t.Fatal(err)
		}
		if s.PartitionID != r.id || s.Lo != fmt.Sprintf("0x%016x", r.lo) || s.Hi != fmt.Sprintf("0x%016x", r.hi) || s.URLs != r.urls || s.Hosts != r.hosts {
			t.Errorf("row %+v, file %+v", r, s)
		}
		files = append(files, path)
	}
	before, _ = os.ReadFile(man)
	must("meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "parts", "--refresh", "-o", "fleet.manifest")
	if again, _ := os.ReadFile(man); !bytes.Equal(again, before) {
		t.Errorf("a refresh after publishing changed the map:\n%s\nto\n%s", before, again)
	}
	whole := filepath.Join(dir, "whole.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", in, "-o", whole)
	slices.Reverse(files)
	merged := filepath.Join(dir, "merged.meguri")
	mustRun(t, nil, "meguri-compact", append(files, "-q", "--partition-id", "0", "-o", merged)...)
	if a, b := fileBytes(t, whole), fileBytes(t, merged); !bytes.Equal(a, b) {
		t.Error("the rebalanced fleet does not merge back to the whole ingest")
	}

	// rows that reuse a kept partition's id are refused; the map stays
	kept := after[0].id
	for _, r := range after {
		if r.hi < rows[hot].lo || r.lo > rows[hot].hi {
			kept = r.id // not among those the hot rows replace
		}
	}
	dup := bytes.Replace(hotRows, []byte("\n8\t"), []byte(fmt.Sprintf("\n%d\t", kept)), 1)
	os.WriteFile(filepath.Join(dir, "dup.rows"), dup, 0o644)
	if _, e, code := runIn(t, dir, nil, "meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "parts", "--rows", "dup.rows", "-o", "fleet.manifest"); code != 1 || !strings.Contains(string(e), "would not tile") || !strings.Contains(string(e), fmt.Sprintf("duplicate partition id %d", kept)) {
		t.Errorf("a reused id: exit %d, %s", code, e)
	}
	if again, _ := os.ReadFile(man); !bytes.Equal(again, before) {
		t.Error("a refused publish changed the map")
	}
	// two reshapes of the same keys in one update are refused too
	_, e, code = runIn(t, dir, nil, "meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "parts", "--rows", "hot.rows", "--rows", "dup.rows", "-o", "fleet.manifest")
	if code != 1 || !strings.Contains(string(e), "(dup.rows) overlaps partition 8 ") || !strings.Contains(string(e), "(hot.rows), published in the same update") {
		t.Errorf("overlapping rows: exit %d, %s", code, e)
	}
	if again, _ := os.ReadFile(man); !bytes.Equal(again, before) {
		t.Error("a refused publish changed the map")
	}
	// a row whose file is missing, or is another partition's
	for name, c := range map[string]struct{ from, to, want string }{
		"missing.rows": {"part-0008.meguri", "part-0099.meguri", "partition 8: cannot read "},
		"swapped.rows": {"part-0008.meguri", "part-0009.meguri", "part-0009.meguri: its header says partition 9 "},
	} {
		os.WriteFile(filepath.Join(dir, name), bytes.Replace(hotRows, []byte(c.from), []byte(c.to), 1), 0o644)
		_, e, code := runIn(t, dir, nil, "meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "parts", "--rows", name, "-o", "fleet.manifest")
		if code != 1 || !strings.Contains(string(e), name+": ") || !strings.Contains(string(e), c.want) || !strings.Contains(string(e), "nothing was written") {
			t.Errorf("%s: exit %d, %s; want %q", name, code, e, c.want)
		}
		if again, _ := os.ReadFile(man); !bytes.Equal(again, before) {
			t.Errorf("%s: a refused publish changed the map", name)
		}
	}
	// rows a failed compact left empty (the shell's > made the file) are
	// refused: publishing nothing would look done
	os.WriteFile(filepath.Join(dir, "empty.rows"), nil, 0o644)
	_, e, code = runIn(t, dir, nil, "meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "parts", "--rows", "hot.rows", "--rows", "empty.rows", "-o", "fleet.manifest")
	if want := "meguri-route: --rows empty.rows holds no partition row (did the meguri-compact that was to write it fail?); nothing was published\n"; code != 1 || string(e) != want {
		t.Errorf("empty rows: exit %d, %q; want %q", code, e, want)
	}
	if again, _ := os.ReadFile(man); !bytes.Equal(again, before) {
		t.Error("a refused publish changed the map")
	}
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSplitKeepsOtherPartitions: a split whose --partition-id is already
// in use would replace another partition's file; it is refused before
// anything is written. Running the same split again replaces its own
// outputs, with the same bytes.
func TestSplitKeepsOtherPartitions(t *testing.T) {
	dir := t.TempDir()
	whole := "../testdata/sample.meguri"
	parts := filepath.Join(dir, "parts")
	split := func(id string) ([]byte, string, int) {
		o, e, code := run(t, nil, "meguri-compact", "-q", "--split", "2", "--partition-id", id, "--out-dir", parts, whole)
		return o, string(e), code
	}
	rows, e, code := split("5")
	if code != 0 {
		t.Fatalf("split: %s", e)
	}
	five := fileBytes(t, filepath.Join(parts, "part-0005.meguri"))
	if again, e, code := split("5"); code != 0 || !bytes.Equal(again, rows) || !bytes.Equal(fileBytes(t, filepath.Join(parts, "part-0005.meguri")), five) {
		t.Fatalf("the same split again: exit %d %s", code, e)
	}
	if _, e, code := split("4"); code != 1 || !strings.Contains(e, "part-0005.meguri exists and holds partition 5 (") || !strings.Contains(e, "choose another --partition-id") {
		t.Errorf("split over partition 5's file: exit %d %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(parts, "part-0004.meguri")); err == nil {
		t.Error("the refused split wrote part-0004.meguri")
	}
	if !bytes.Equal(fileBytes(t, filepath.Join(parts, "part-0005.meguri")), five) {
		t.Error("the refused split changed part-0005.meguri")
	}
	// rows into the --out-dir the split makes: relative to the rows file
	fresh := filepath.Join(dir, "fresh")
	abs, _ := filepath.Abs(whole)
	if _, e, code := runIn(t, dir, nil, "meguri-compact", "-q", "--split", "2", "--out-dir", "fresh", "--manifest-out", "fresh/rows", abs); code != 0 {
		t.Fatalf("split with rows into its new --out-dir: %s", e)
	}
	if got := readManifest(t, filepath.Join(fresh, "rows")); len(got) != 2 || got[0].file != "part-0000.meguri" || got[1].file != "part-0001.meguri" {
		t.Errorf("rows written into the new --out-dir: %+v", got)
	}
	os.WriteFile(filepath.Join(parts, "part-0008.meguri"), []byte("notes\n"), 0o644)
	if _, e, code := split("7"); code != 1 || !strings.Contains(e, "part-0008.meguri exists and is not a .meguri file") {
		t.Errorf("split over a file that is not a .meguri: exit %d %s", code, e)
	}
}

// TestRouteSplitWritesEveryPartition: a split writes one output for every
// partition of the map, empty where nothing was routed, so a second split
// into the same directory replaces every file of the first (none is left
// to pass for its own), and ingesting every file the map names works
// and gives the partitions of the second input alone. The same holds for
// --zstd and for a .meguri stream.
func TestRouteSplitWritesEveryPartition(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "6", sample, "-o", m)
	few := filepath.Join(dir, "few.jsonl")
	os.WriteFile(few, []byte(strings.Join(lines(t, sample)[:3], "\n")+"\n"), 0o644)
	fewMeguri := filepath.Join(dir, "few.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", few, "-o", fewMeguri)
	want := fileBytes(t, fewMeguri)
	parts := readManifest(t, m)

	for _, c := range []struct{ ext, in string }{{".jsonl", few}, {".jsonl.zst", few}, {".meguri", fewMeguri}} {
		out := filepath.Join(dir, "out"+strings.ReplaceAll(c.ext, ".", "-"))
		args := []string{"split", "--json", "--manifest", m, "--out-dir", out}
		if c.ext == ".jsonl.zst" {
			args = append(args, "--zstd")
		}
		if c.ext == ".meguri" {
			args = append(args, "--replace") // the first split's outputs
		}
		in := sample
		if c.ext == ".meguri" {
			in = "../testdata/sample.meguri"
		}
		mustRun(t, nil, "meguri-route", append(args, in)...) // the whole sample first
		o, e, code := run(t, nil, "meguri-route", append(args, c.in)...)
		var res struct {
			Partitions []struct {
				ID      uint64 `json:"partition_id"`
				File    string `json:"file"`
				Records int64  `json:"records"`
			} `json:"partitions"`
		}
		if code != 0 || json.Unmarshal(o, &res) != nil || len(res.Partitions) != len(parts) {
			t.Fatalf("%s: second split: exit %d, %s %s", c.ext, code, o, e)
		}
		if ents, _ := os.ReadDir(out); len(ents) != len(parts) {
			t.Errorf("%s: %d files in the output directory, want %d", c.ext, len(ents), len(parts))
		}
		// every partition's file, ingested (or read) with its range, then
		// merged: the few lines alone
		var files []string
		empty := 0
		for i, p := range parts {
			stem := strings.SplitN(p.file, ".", 2)[0]
			f := filepath.Join(out, stem+c.ext)
			if res.Partitions[i].File != f {
				t.Fatalf("%s: partition %d written to %s, want %s", c.ext, i, res.Partitions[i].File, f)
			}
			if res.Partitions[i].Records == 0 {
				empty++
			}
			if c.ext != ".meguri" {
				g := filepath.Join(out, stem+".ingested.meguri")
				mustRun(t, nil, "meguri-ingest", "-q", "--partition-id", fmt.Sprint(p.id), "--range", fmt.Sprintf("%x:%x", p.lo, p.hi), f, "-o", g)
				f = g
			}
			files = append(files, f)
		}
		if empty == 0 {
			t.Fatalf("%s: the few lines reached every partition; the test needs empty ones", c.ext)
		}
		merged := filepath.Join(dir, "merged.meguri")
		mustRun(t, nil, "meguri-compact", append([]string{"-q", "--partition-id", "0", "-o", merged}, files...)...)
		if !bytes.Equal(fileBytes(t, merged), want) {
			t.Errorf("%s: the partitions of the second split do not merge to its input alone", c.ext)
		}
	}
}

// TestRouteSplitKeepsFleetFiles: a fleet made by splitting one .meguri
// into its directory holds files under the names a split of a .meguri
// writes; a later split of a delta into that directory is refused, every
// partition file left as it was, until --replace says to replace them.
func TestRouteSplitKeepsFleetFiles(t *testing.T) {
	dir := t.TempDir()
	m, parts := filepath.Join(dir, "fleet.manifest"), filepath.Join(dir, "parts")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "3", sample, "-o", m)
	mustRun(t, nil, "meguri-route", "split", "-q", "--manifest", m, "--out-dir", parts, "../testdata/sample.meguri")
	before := map[string][]byte{}
	for _, p := range readManifest(t, m) {
		before[p.file] = fileBytes(t, filepath.Join(parts, p.file))
	}
	delta := filepath.Join(dir, "delta.meguri")
	few := strings.Join(lines(t, sample)[:3], "\n") + "\n"
	mustRun(t, []byte(few), "meguri-ingest", "-q", "-o", delta)

	_, e, code := run(t, nil, "meguri-route", "split", "--manifest", m, "--out-dir", parts, delta)
	want := filepath.Join(parts, "part-0000.meguri") + " exists: a split of a .meguri stream writes each partition's part under the map's file name"
	if code != 1 || !strings.Contains(string(e), want) || !strings.Contains(string(e), "--replace") {
		t.Fatalf("split of a delta over the fleet: exit %d, %s", code, e)
	}
	for name, b := range before {
		if !bytes.Equal(fileBytes(t, filepath.Join(parts, name)), b) {
			t.Fatalf("the refused split changed %s", name)
		}
	}
	if ents, _ := os.ReadDir(parts); len(ents) != len(before) {
		t.Errorf("the refused split left files: %v", ents)
	}
	// CDX lines into the same directory write .jsonl, beside the files
	mustRun(t, []byte(few), "meguri-route", "split", "-q", "--manifest", m, "--out-dir", parts)
	// --replace: the delta's parts
	mustRun(t, nil, "meguri-route", "split", "-q", "--replace", "--manifest", m, "--out-dir", parts, delta)
	var files []string
	for _, p := range readManifest(t, m) {
		files = append(files, filepath.Join(parts, p.file))
	}
	merged := filepath.Join(dir, "merged.meguri")
	mustRun(t, nil, "meguri-compact", append([]string{"-q", "-o", merged}, files...)...)
	if !bytes.Equal(fileBytes(t, merged), fileBytes(t, delta)) {
		t.Error("the parts written with --replace do not merge to the delta")
	}
}

// TestNoOutputOverAnotherPartition: -o naming the file of another
// partition (or range) is refused before anything is read, and the file
// is left as it was; rebuilding a partition's file with its own id and
// range, compacting it in place, or replacing a file whose header does
// not read, goes ahead.
func TestNoOutputOverAnotherPartition(t *testing.T) {
	dir := t.TempDir()
	rows := mustRun(t, nil, "meguri-compact", "-q", "--split", "3", "--out-dir", dir, "../testdata/sample.meguri")
	m := filepath.Join(dir, "rows")
	os.WriteFile(m, rows, 0o644)
	parts := readManifest(t, m)
	file := func(i int) string { return parts[i].file }
	live := filepath.Join(dir, "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", live, sample)
	keep := fileBytes(t, file(2))
	rng := func(i int) string { return fmt.Sprintf("%x:%x", parts[i].lo, parts[i].hi) }

	for _, c := range [][]string{
		{"meguri-compact", file(0), file(1), "-o", file(2)},
		{"meguri-ingest", sample, "-o", file(2)},
		{"meguri-ingest", "--partition-id", "2", "--range", rng(1), sample, "-o", file(2)},
		{"meguri-pack", "--data", live, "-o", file(2)},
	} {
		_, e, code := run(t, nil, c[0], c[1:]...)
		want := "-o " + file(2) + " holds partition 2 (0x"
		if code != 1 || !strings.Contains(string(e), want) || !strings.Contains(string(e), "replacing it would lose that partition's file") {
			t.Errorf("%v: exit %d, %s; want exit 1 and %q", c, code, e, want)
		}
		if !bytes.Equal(fileBytes(t, file(2)), keep) {
			t.Fatalf("%v changed %s", c, file(2))
		}
	}
	// its own id and range: a rebuild, the same bytes as the split wrote
	mustRun(t, nil, "meguri-route", "split", "-q", "--manifest", m, "--out-dir", dir, sample)
	mustRun(t, nil, "meguri-ingest", "-q", "--partition-id", "2", "--range", rng(2), filepath.Join(dir, "part-0002.jsonl"), "-o", file(2))
	if !bytes.Equal(fileBytes(t, file(2)), keep) {
		t.Error("rebuilding partition 2 from its lines changed its bytes")
	}
	mustRun(t, nil, "meguri-compact", "-q", file(2), "-o", file(2))
	// a file whose header does not read is replaced
	os.WriteFile(file(2), []byte("half a download"), 0o644)
	mustRun(t, nil, "meguri-compact", "-q", file(0), file(1), "-o", file(2))
}

// TestRouteSplitOneAtATime: while a split writes into a directory (here
// the test holds the lock a split takes, on the directory itself), another
// split into it is refused before reading anything, and nothing of it is
// left; once the lock is free, the split goes ahead.
func TestRouteSplitOneAtATime(t *testing.T) {
	dir := t.TempDir()
	m, out := filepath.Join(dir, "fleet.manifest"), filepath.Join(dir, "parts")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "3", sample, "-o", m)
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{sample, "../testdata/sample.meguri"} {
		_, e, code := run(t, nil, "meguri-route", "split", "--manifest", m, "--out-dir", out, in)
		want := "another meguri-route split is writing into " + out + ", and the outputs of the two would replace each other: give each split its own --out-dir"
		if code != 1 || !strings.Contains(string(e), want) {
			t.Errorf("split of %s into a locked directory: exit %d, %s", in, code, e)
		}
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Errorf("the refused split left %v", ents)
		}
	}
	d.Close() // releases the lock
	mustRun(t, nil, "meguri-route", "split", "-q", "--manifest", m, "--out-dir", out, sample)
	if ents, _ := os.ReadDir(out); len(ents) != 3 {
		t.Errorf("split after the lock was released: %v", ents)
	}
}

// TestRouteSplitDistinctOutputs: two partitions whose file names share a
// stem (x/data.meguri, y/data.e2.meguri) would split into one output, the
// last one renamed dropping the other's lines; split refuses the map.
func TestRouteSplitDistinctOutputs(t *testing.T) {
	dir := t.TempDir()
	m, out := filepath.Join(dir, "fleet.manifest"), filepath.Join(dir, "parts")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "3", sample, "-o", m)
	b, _ := os.ReadFile(m)
	b = bytes.Replace(b, []byte("part-0001.meguri"), []byte("x/data.meguri"), 1)
	b = bytes.Replace(b, []byte("part-0002.meguri"), []byte("y/data.e2.meguri"), 1)
	os.WriteFile(m, b, 0o644)
	for _, in := range []string{sample, "../testdata/sample.meguri"} {
		_, e, code := run(t, nil, "meguri-route", "split", "--manifest", m, "--out-dir", out, in)
		want := "partitions 1 (x/data.meguri) and 2 (y/data.e2.meguri) would write one output, data.*"
		if code != 1 || !strings.Contains(string(e), want) {
			t.Errorf("split of %s: exit %d, %s; want %q", in, code, e, want)
		}
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Errorf("the refused split left %v", ents)
		}
	}
}

// TestRouteSplitSummary: the summary lists up to 32 partitions one by one;
// past that it gives the spread of their counts, and --json lists each.
func TestRouteSplitSummary(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{4, 40} {
		m := filepath.Join(dir, fmt.Sprintf("m%d", n))
		mustRun(t, nil, "meguri-route", "balance", "-q", "-n", fmt.Sprint(n), sample, "-o", m)
		o, e, code := run(t, nil, "meguri-route", "split", "--json", "--manifest", m, "--out-dir", filepath.Join(dir, fmt.Sprint(n)), sample)
		var res struct {
			Partitions []struct{ Records int64 } `json:"partitions"`
		}
		if code != 0 || json.Unmarshal(o, &res) != nil || len(res.Partitions) != n {
			t.Fatalf("%d partitions: exit %d, %s %s", n, code, o, e)
		}
		listed := strings.Count(string(e), "\n  partition ")
		spread := strings.Contains(string(e), "  records per partition: min ")
		if n <= 32 && (listed != n || spread) || n > 32 && (listed != 0 || !spread) {
			t.Errorf("%d partitions: %d listed, spread %v:\n%s", n, listed, spread, e)
		}
	}
}

// TestConcurrentUpdates: two `route update -o` of one manifest at once
// take turns, and the later reads what the earlier published. Here the
// test plays the earlier update: it holds the manifest's lock, lets the
// tool start and wait, then publishes a new manifest (epoch 7) and lets
// go. The tool must refresh the new manifest, not write its counts over
// the one it would have read first (which lost the earlier publish).
func TestConcurrentUpdates(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "meguri-ingest", "-q", sample, "-o", filepath.Join(dir, "part-0000.meguri"))
	man := filepath.Join(dir, "fleet.manifest")
	row := "0 0x0000000000000000 0xffffffffffffffff part-0000.meguri 0 0 0 %d\n"
	os.WriteFile(man, fmt.Appendf(nil, row, 1), 0o644)

	held, err := os.Open(man)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "meguri-route"), "update", "--manifest", man, "--refresh", "-o", man)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	if !sc.Scan() || !strings.Contains(sc.Text(), "another update of "+man+" is running; waiting") {
		held.Close()
		cmd.Wait()
		t.Fatalf("the update did not wait for the one holding the manifest: %q", sc.Text())
	}
	// the earlier update publishes (as update does: a new file renamed
	// over the old), then lets go
	tmp := man + ".new"
	os.WriteFile(tmp, fmt.Appendf(nil, row, 7), 0o644)
	if err := os.Rename(tmp, man); err != nil {
		t.Fatal(err)
	}
	held.Close()
	for sc.Scan() {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	got := lines(t, man)
	f := strings.Fields(got[len(got)-1])
	if len(f) != 8 || f[7] != "7" || f[4] == "0" {
		t.Fatalf("after both updates: %q; want epoch 7 (the earlier update's) with refreshed counts", got)
	}

	// balance --from M -o M counts first, then waits for the update that
	// holds M, finds M changed by it, and writes nothing
	published := fmt.Appendf(nil, row, 8)
	os.WriteFile(man, fmt.Appendf(nil, row, 7), 0o644)
	held, err = os.Open(man)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Flock(int(held.Fd()), syscall.LOCK_EX)
	cmd = exec.Command(filepath.Join(binDir, "meguri-route"), "balance", "-q", "--from", man, "-n", "2", sample, "-o", man)
	if stderr, err = cmd.StderrPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc = bufio.NewScanner(stderr)
	if !sc.Scan() || !strings.Contains(sc.Text(), "an update of "+man+" is running; waiting") {
		held.Close()
		cmd.Wait()
		t.Fatalf("balance in place did not wait for the update holding the manifest: %q", sc.Text())
	}
	os.WriteFile(tmp, published, 0o644)
	os.Rename(tmp, man)
	held.Close()
	var msg strings.Builder
	for sc.Scan() {
		msg.WriteString(sc.Text())
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(msg.String(), man+" changed while balance counted") {
		t.Fatalf("balance over a manifest published meanwhile: %v, %q", err, msg.String())
	}
	if b, _ := os.ReadFile(man); !bytes.Equal(b, published) {
		t.Fatalf("balance wrote over the update's manifest: %q", b)
	}
	// with no update meanwhile, it re-balances in place
	mustRun(t, nil, "meguri-route", "balance", "-q", "--from", man, "-n", "2", sample, "-o", man)
	if rows := readManifest(t, man); len(rows) != 2 {
		t.Fatalf("balance in place: %d rows, want 2", len(rows))
	}
}

// A split into a directory an earlier split of another map left files in
// says so: a glob over the directory (ingest split/*.jsonl) would read
// those lines a second time. What this split wrote, and its rejects, are
// not named; nor is anything after a .meguri split, whose directory may
// hold the fleet's files.
func TestSplitLeftovers(t *testing.T) {
	dir := t.TempDir()
	m2, m4 := filepath.Join(dir, "m2"), filepath.Join(dir, "m4")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", sample, "-o", m2)
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "4", sample, "-o", m4)
	out := filepath.Join(dir, "split")
	split := func(m string, flags ...string) string {
		t.Helper()
		_, e, code := run(t, nil, "meguri-route", append([]string{"split", "-q", "--manifest", m, "--out-dir", out, "--rejects", filepath.Join(out, "rejects.jsonl"), sample}, flags...)...)
		if code != 0 {
			t.Fatalf("split: exit %d: %s", code, e)
		}
		return string(e)
	}
	if e := split(m4); e != "" {
		t.Errorf("first split: %q", e)
	}
	if e := split(m4); e != "" {
		t.Errorf("the same split again: %q", e)
	}
	want := "meguri-route split: warning: " + out + " also holds 2 CDX file(s) this split did not write (part-0002.jsonl, part-0003.jsonl), left by an earlier split of another map or with other flags? A glob over the directory would read their lines again: remove them, or split into an empty directory\n"
	if e := split(m2); e != want {
		t.Errorf("a split of another map: %q, want %q", e, want)
	}
	if e := split(m2, "--zstd"); !strings.Contains(e, "4 CDX file(s) this split did not write (part-0000.jsonl, part-0001.jsonl, part-0002.jsonl, part-0003.jsonl)") {
		t.Errorf("with --zstd over plain outputs: %q", e)
	}
	mustRun(t, nil, "meguri-ingest", "-q", sample, "-o", filepath.Join(dir, "all.meguri"))
	if _, e, code := run(t, nil, "meguri-route", "split", "-q", "--manifest", m2, "--out-dir", out, filepath.Join(dir, "all.meguri")); code != 0 || len(e) != 0 {
		t.Errorf("a .meguri split: exit %d, %q", code, e)
	}
}

// TestFailedSplitLeavesNoDir: a split that fails leaves no --out-dir it
// made (nor its parents), empty as the failure left it; an --out-dir that
// was there stays.
func TestFailedSplitLeavesNoDir(t *testing.T) {
	tmp := t.TempDir()
	man := filepath.Join(tmp, "m")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", sample, "-o", man)
	raw, err := os.ReadFile("../testdata/sample.meguri")
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x40 // inside a page: found only when the split reads it
	bad := filepath.Join(tmp, "bad.meguri")
	os.WriteFile(bad, raw, 0o644)
	kept := filepath.Join(tmp, "kept")
	os.Mkdir(kept, 0o755)
	for _, c := range []struct {
		args []string
		dir  string
	}{
		{[]string{"meguri-route", "split", "-q", "--manifest", man, "--out-dir", filepath.Join(tmp, "new", "parts"), filepath.Join(tmp, "missing.jsonl")}, filepath.Join(tmp, "new")},
		{[]string{"meguri-compact", "-q", "--split-at", "0x8000000000000000", "--out-dir", filepath.Join(tmp, "new", "parts"), bad}, filepath.Join(tmp, "new")},
		{[]string{"meguri-compact", "-q", "--split", "2", "--out-dir", kept, bad}, ""},
	} {
		_, e, code := run(t, nil, c.args[0], c.args[1:]...)
		if code != 1 {
			t.Fatalf("%v: exit %d: %s", c.args, code, e)
		}
		if c.dir != "" {
			if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%v: left %s: %v", c.args, c.dir, err)
			}
		} else if ents, err := os.ReadDir(kept); err != nil || len(ents) != 0 {
			t.Errorf("%v: the --out-dir that was there: %v, %v; want it kept, empty", c.args, ents, err)
		}
	}
	// Damage met while choosing even cuts names the file, as damage met
	// while merging does.
	wantFail(t, "meguri-compact: "+bad+": corrupt .meguri: block 0, ", "meguri-compact", "--split", "2", "--out-dir", kept, bad)
}

// TestDropHosts: compact --drop-host takes host groups out of a partition
// file, giving the bytes an ingest of the CDX without their lines gives;
// the summary names what each lost, and a host that matched nothing is a
// warning (under -q too). A value that is no host is a usage error.
func TestDropHosts(t *testing.T) {
	dir := t.TempDir()
	in := input(t)
	all := filepath.Join(dir, "all.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", in, "-o", all)
	// the biggest host group by rows, and the last row's group
	count := map[string]int{}
	var groups []string
	for _, l := range strings.Split(strings.TrimSpace(string(mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "group,host_key", "--tsv", "--raw", all))), "\n") {
		if count[l] == 0 {
			groups = append(groups, l)
		}
		count[l]++
	}
	big := groups[0]
	for _, g := range groups {
		if count[g] > count[big] {
			big = g
		}
	}
	last := groups[len(groups)-1]
	bigName, bigKey, _ := strings.Cut(big, "\t")
	lastName, lastKey, _ := strings.Cut(last, "\t")
	// the CDX lines of every other host group, ingested
	p := cdx.Parser{Grouping: canon.ByDomain, RangeHi: cdx.Full}
	var rest []byte
	for _, l := range bytes.SplitAfter(fileBytes(t, in), []byte("\n")) {
		if c, r := p.Parse(l); r == cdx.OK {
			if k := fmt.Sprintf("0x%016x", c.HostKey); k == bigKey || k == lastKey {
				continue
			}
		}
		rest = append(rest, l...)
	}
	want := filepath.Join(dir, "want.meguri")
	mustRun(t, rest, "meguri-ingest", "-q", "-o", want)
	list := filepath.Join(dir, "takedown.txt")
	os.WriteFile(list, []byte("# removal requests\n\n"+lastKey+"\nnothere.example\n"), 0o644)
	out := filepath.Join(dir, "out.meguri")
	_, e, code := run(t, nil, "meguri-compact", "--drop-host", "www."+bigName, "--drop-hosts", list, all, "-o", out)
	wantErr := fmt.Sprintf("meguri-compact: dropped %d rows of %s (host key %s)\nmeguri-compact: dropped %d rows of %s\n"+
		"meguri-compact: warning: nothere.example dropped nothing: the inputs hold no record of nothere.example (host key 0x%016x)\n",
		count[big], bigName, bigKey, count[last], lastKey, xxhash.Sum64String("nothere.example"))
	if code != 0 || !strings.HasSuffix(string(e), wantErr) {
		t.Fatalf("--drop-host: exit %d, stderr:\n%s\nwant it to end:\n%s", code, e, wantErr)
	}
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, want)) {
		t.Errorf("--drop-host %s and %s (%s) differs from an ingest without their lines", bigName, lastName, lastKey)
	}
	// -q keeps the warning alone
	if _, e, code = run(t, nil, "meguri-compact", "-q", "--drop-host", "nothere.example", all, "-o", out); code != 0 || !strings.HasPrefix(string(e), "meguri-compact: warning: nothere.example dropped nothing") || strings.Count(string(e), "\n") != 1 {
		t.Errorf("-q: exit %d, stderr %q", code, e)
	}
	// --json names it in its one object
	if _, e, code = run(t, nil, "meguri-compact", "--json", "--drop-host", "www."+bigName, "--drop-hosts", list, all, "-o", out); code != 0 || strings.Count(string(e), "\n") != 1 || !strings.HasSuffix(string(e), `,"unmatched_drop_hosts":["nothere.example"]}`+"\n") {
		t.Errorf("--json: exit %d, stderr %q", code, e)
	}
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("example.com\nnot a host\n"), 0o644)
	compactRefused(t, out, []refusal{
		{[]string{"--drop-host", "not a host", all, "-o", out}, `meguri-compact: --drop-host "not a host" is neither a host key`},
		{[]string{"--drop-hosts", bad, all, "-o", out}, `meguri-compact: --drop-hosts ` + bad + `: line 2: "not a host" is neither a host key`},
	})
}

// TestDropURLs: --drop-url and --drop-urls take single records out (a
// takedown of pages): the URL most captured, the first and last rows, a
// discovered link, one spelled as no file spells it. The result equals an
// ingest of the CDX without those URLs' lines; the summary counts what was
// dropped and names each listed URL that matched nothing (an absent page,
// and the other scheme of a held one, saying the inputs hold that one),
// under -q too. A list of inspect --rows lines drops the rows' URLs. A
// line that is no URL is a usage error naming it.
func TestDropURLs(t *testing.T) {
	dir := t.TempDir()
	in := input(t)
	all := filepath.Join(dir, "all.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", in, "-o", all)
	var urls []string
	most, mostCaptures, link := "", 0, ""
	for _, l := range strings.Split(strings.TrimSpace(string(mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url,captures", "--tsv", "--raw", all))), "\n") {
		u, c, _ := strings.Cut(l, "\t")
		urls = append(urls, u)
		n, _ := strconv.Atoi(c)
		if n > mostCaptures {
			most, mostCaptures = u, n
		}
		if n == 0 && link == "" && strings.HasPrefix(u, "http://") {
			link = u
		}
	}
	first, last := urls[0], urls[len(urls)-1]
	if mostCaptures < 2 || link == "" || !strings.HasPrefix(most, "http") {
		t.Fatalf("bad fixture: most captures %d, link %q", mostCaptures, link)
	}
	drop := map[string]bool{most: true, first: true, last: true, link: true} // the same URL may be two of them
	if len(drop) < 3 {
		t.Fatalf("bad fixture: %d distinct URLs", len(drop))
	}
	// an https URL the file does not hold, whose http one it holds and
	// the list does not name
	var kept, other string
	for _, u := range urls {
		if o := "https://" + strings.TrimPrefix(u, "http://"); strings.HasPrefix(u, "http://") && !drop[u] && !slices.Contains(urls, o) {
			kept, other = u, o
			break
		}
	}
	p := cdx.Parser{Grouping: canon.ByDomain, RangeHi: cdx.Full}
	var rest []byte
	for _, l := range bytes.SplitAfter(fileBytes(t, in), []byte("\n")) {
		if c, r := p.Parse(l); r == cdx.OK && drop[c.URL] {
			continue
		}
		rest = append(rest, l...)
	}
	want := filepath.Join(dir, "want.meguri")
	mustRun(t, rest, "meguri-ingest", "-q", "-o", want)
	list := filepath.Join(dir, "takedown.txt")
	shouted := strings.Replace(most, "http", "HTTP", 1) // a scheme's case is no part of a URL
	os.WriteFile(list, []byte("# pages taken down\n\n"+shouted+"\n"+first+"\n"+link+"\nhttp://nothere.example/page\n"+other+"\n"), 0o644)
	out := filepath.Join(dir, "out.meguri")
	_, e, code := run(t, nil, "meguri-compact", "--drop-url", last, "--drop-urls", list, all, "-o", out)
	warnings := "meguri-compact: warning: http://nothere.example/page dropped nothing: the inputs hold no record of it\n" +
		"meguri-compact: warning: " + other + " dropped nothing: the inputs hold no record of it, but hold " + kept + " (http and https are two URLs: list both to drop both)\n"
	if wantErr := fmt.Sprintf("meguri-compact: dropped %d of %d listed URLs\n", len(drop), len(drop)+2) + warnings; code != 0 || !strings.HasSuffix(string(e), wantErr) {
		t.Fatalf("--drop-urls: exit %d, stderr:\n%s\nwant it to end:\n%s", code, e, wantErr)
	}
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, want)) {
		t.Errorf("--drop-urls differs from an ingest without those URLs' lines")
	}
	if _, e, _ := run(t, nil, "meguri-compact", "--json", "--drop-url", last, "--drop-urls", list, all, "-o", out); !strings.Contains(string(e), fmt.Sprintf(`"dropped_urls":%d,`, len(drop))) {
		t.Errorf("--json does not count the rows dropped: %s", e)
	} else if want := `,"unmatched_drop_urls":["http://nothere.example/page","` + other + `"]}` + "\n"; strings.Count(string(e), "\n") != 1 || !strings.HasSuffix(string(e), want) {
		// the warnings' news, for a script: a takedown that dropped nothing
		t.Errorf("--json: %s; want one object ending %s", e, want)
	}
	if _, e, code = run(t, nil, "meguri-compact", "-q", "--drop-urls", list, all, "-o", out); code != 0 || !strings.HasSuffix(string(e), warnings) || strings.Count(string(e), "\n") != 2 {
		t.Errorf("-q: exit %d, stderr %q", code, e)
	}
	// the list gzipped, as ingest would read it
	gz := list + ".gz"
	writeGzip(t, gz, fileBytes(t, list))
	if _, e, code = run(t, nil, "meguri-compact", "-q", "--drop-urls", gz, all, "-o", out); code != 0 || string(e) != warnings {
		t.Errorf("a gzipped list: exit %d, stderr %q", code, e)
	}
	// the rows of the dropped URLs, as inspect --rows prints them: each
	// JSON line stands for its "url"
	var rows []byte
	for _, l := range bytes.SplitAfter(mustRun(t, nil, "meguri-inspect", "--rows", all), []byte("\n")) {
		var r struct{ URL string }
		if json.Unmarshal(l, &r) == nil && (drop[r.URL] || r.URL == kept) {
			rows = append(rows, l...)
		}
	}
	rowsList := filepath.Join(dir, "takedown.jsonl")
	os.WriteFile(rowsList, rows, 0o644)
	wantRows := filepath.Join(dir, "want-rows.meguri")
	mustRun(t, nil, "meguri-compact", "-q", "--drop-url", kept, "--drop-url", last, "--drop-urls", list, all, "-o", wantRows)
	if _, e, code = run(t, nil, "meguri-compact", "--drop-urls", rowsList, all, "-o", out); code != 0 || !strings.HasSuffix(string(e), fmt.Sprintf("meguri-compact: dropped %d of %d listed URLs\n", len(drop)+1, len(drop)+1)) {
		t.Errorf("a list of inspect --rows lines: exit %d, stderr %q", code, e)
	}
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, wantRows)) {
		t.Errorf("a list of inspect --rows lines drops other records than the list of their URLs")
	}
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte(first+"\nwww.example.com/page\n"), 0o644)
	tabbed := filepath.Join(dir, "tabbed.txt")
	os.WriteFile(tabbed, []byte(first+"\tDMCA 2024-001\n"), 0o644)
	noURL := filepath.Join(dir, "no-url.jsonl")
	os.WriteFile(noURL, []byte(`{"href": "`+first+`"}`+"\n"), 0o644)
	compactRefused(t, out, []refusal{
		{[]string{"--drop-urls", bad, all, "-o", out}, `meguri-compact: --drop-urls ` + bad + `: line 2: "www.example.com/page": not a URL: no scheme (give http://www.example.com/page or https://www.example.com/page)`},
		{[]string{"--drop-urls", tabbed, all, "-o", out}, `meguri-compact: --drop-urls ` + tabbed + `: line 1: "` + first + `\tDMCA 2024-001": a tab in the line: columns, not one URL (cut -f1 gives the first column)`},
		{[]string{"--drop-urls", noURL, all, "-o", out}, `meguri-compact: --drop-urls ` + noURL + `: line 1: "{\"href\": \"` + first + `\"}": a JSON line without a "url" string`},
		{[]string{"--drop-urls", "-", "--drop-hosts", "-", all, "-o", out}, "meguri-compact: --drop-hosts - and --drop-urls - would both read stdin"},
	})
}

// TestDropOutsideRange: a host or URL to drop whose key lies outside the
// inputs' range is another partition's; the warning says so, naming the
// range and the command that finds the owner, and the output is the
// input's bytes.
func TestDropOutsideRange(t *testing.T) {
	dir := t.TempDir()
	half := filepath.Join(dir, "half.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", sample, "--range", "0:7fffffffffffffff", "-o", half)
	key := xxhash.Sum64String("a.com")
	if key <= 0x7fffffffffffffff {
		t.Fatalf("bad fixture: a.com's key 0x%016x lies in the lower half", key)
	}
	out := filepath.Join(dir, "out.meguri")
	_, e, code := run(t, nil, "meguri-compact", "-q", "--drop-host", "a.com", "--drop-url", "https://a.com/x", half, "-o", out)
	want := fmt.Sprintf("meguri-compact: warning: a.com dropped nothing: a.com (host key 0x%016x) lies outside the inputs' range 0x0000000000000000..0x7fffffffffffffff, in another partition's (meguri-route --manifest MAP --host a.com names which)\n"+
		"meguri-compact: warning: https://a.com/x dropped nothing: its host key 0x%016x lies outside the inputs' range 0x0000000000000000..0x7fffffffffffffff, in another partition's (meguri-route --manifest MAP --url URL names which)\n", key, key)
	if code != 0 || string(e) != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, e, want)
	}
	if !bytes.Equal(fileBytes(t, out), fileBytes(t, half)) {
		t.Errorf("dropping another partition's host changed the file")
	}
}

// refusal is a meguri-compact run refused as bad usage: its arguments,
// and how stderr starts.
type refusal struct {
	args []string
	want string
}

// compactRefused runs each refusal, wanting exit 2, its message, and no
// file at out.
func compactRefused(t *testing.T, out string, rs []refusal) {
	t.Helper()
	for _, c := range rs {
		os.Remove(out)
		_, e, code := run(t, nil, "meguri-compact", c.args...)
		if code != 2 || !strings.HasPrefix(string(e), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, e, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v left %s", c.args, out)
		}
	}
}

// timeHalves writes the input's captures before the median time to
// dir/h1.jsonl, the newer ones to dir/h2.jsonl, and its links to both in
// turn: a base and a newer delta, as a fold expects them.
func timeHalves(t *testing.T, dir string) (h1, h2 string) {
	t.Helper()
	var stamps []string
	for _, l := range lines(t, input(t)) {
		var c struct{ Timestamp string }
		if json.Unmarshal([]byte(l), &c) == nil && c.Timestamp != "" {
			stamps = append(stamps, c.Timestamp)
		}
	}
	slices.Sort(stamps)
	median := stamps[len(stamps)/2]
	var older, newer []byte
	for i, l := range lines(t, input(t)) {
		var c struct{ Timestamp string }
		json.Unmarshal([]byte(l), &c)
		if c.Timestamp != "" && c.Timestamp < median || c.Timestamp == "" && i%2 == 0 {
			older = append(older, l+"\n"...)
		} else {
			newer = append(newer, l+"\n"...)
		}
	}
	h1, h2 = filepath.Join(dir, "h1.jsonl"), filepath.Join(dir, "h2.jsonl")
	os.WriteFile(h1, older, 0o644)
	os.WriteFile(h2, newer, 0o644)
	return h1, h2
}

// TestFoldTwiceRefused: folding a delta into its base in place, then
// running the same command again (a retried script, shell history) would
// count the delta's captures twice, with the base already replaced. The
// second fold is refused, naming both files, and the base is left as it
// was; --again folds anyway.
func TestFoldTwiceRefused(t *testing.T) {
	dir := t.TempDir()
	h1, h2 := timeHalves(t, dir)
	base, delta, once := filepath.Join(dir, "base.meguri"), filepath.Join(dir, "delta.meguri"), filepath.Join(dir, "once.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", h1, "-o", base)
	mustRun(t, nil, "meguri-ingest", "-q", h2, "-o", delta)
	mustRun(t, nil, "meguri-compact", "-q", "--fold", base, delta, "-o", base)
	folded := fileBytes(t, base)
	os.WriteFile(once, folded, 0o644)
	for _, args := range [][]string{{base, delta}, {delta, base}} {
		_, e, code := run(t, nil, "meguri-compact", "--fold", args[0], args[1], "-o", base)
		want := regexp.MustCompile("^meguri-compact: " + regexp.QuoteMeta(delta+" looks folded into "+base+" already: for every URL it holds captures of, "+base+" holds them too (their time span, and as many or more; the first is ") +
			`\S+` + regexp.QuoteMeta("). Folding it again would count its captures twice; nothing was written. If they are other captures (another source's, of the same times), give --again") + "\n$")
		if code != 1 || !want.Match(e) {
			t.Errorf("fold %v again: exit %d, stderr %q", args, code, e)
		}
		if !bytes.Equal(fileBytes(t, base), folded) {
			t.Fatalf("a refused fold changed %s", base)
		}
	}
	// --again folds: every capture of the delta counts twice
	sum := func(path string) (n int) {
		for _, l := range strings.Split(strings.TrimSpace(string(mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "captures", "--tsv", path))), "\n") {
			k, _ := strconv.Atoi(l)
			n += k
		}
		return n
	}
	mustRun(t, nil, "meguri-compact", "-q", "--fold", "--again", base, delta, "-o", base)
	if got, want := sum(base), sum(once)+sum(delta); got != want || sum(delta) == 0 {
		t.Errorf("--again: %d captures, want %d", got, want)
	}
	wantUsage(t, "--again is for --fold", "meguri-compact", "--again", once, "-o", filepath.Join(dir, "x.meguri"))
}

// TestIngestManifestRange: --manifest M --partition-id N takes the range
// of row N (an id written as a Makefile's part-%.meguri stem gives it,
// zero-padded), giving the bytes of --range with that range, for a file
// and for a partition directory; a directory of another range, a missing
// or repeated row, and the flags that do not go with it are refused.
func TestIngestManifestRange(t *testing.T) {
	in := input(t)
	dir := t.TempDir()
	man := filepath.Join(dir, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "--partitions", "3", in, "-o", man)
	parts := filepath.Join(dir, "parts")
	mustRun(t, nil, "meguri-route", "split", "-q", "--manifest", man, "--out-dir", parts, in)
	rows := readManifest(t, man)
	for _, r := range rows {
		cdxPart := filepath.Join(parts, strings.TrimSuffix(r.file, ".meguri")+".jsonl")
		want := filepath.Join(dir, "want-"+r.file)
		mustRun(t, nil, "meguri-ingest", "-q", "--partition-id", fmt.Sprint(r.id), "--range", fmt.Sprintf("%x:%x", r.lo, r.hi), cdxPart, "-o", want)
		got := filepath.Join(dir, r.file)
		mustRun(t, nil, "meguri-ingest", "-q", "--manifest", man, "--partition-id", fmt.Sprintf("%04d", r.id), cdxPart, "-o", got)
		if !bytes.Equal(fileBytes(t, got), fileBytes(t, want)) {
			t.Errorf("partition %d: --manifest differs from --range", r.id)
		}
		// everything else in the input lies outside the row's range
		if _, e, _ := run(t, nil, "meguri-ingest", "--manifest", man, "--partition-id", fmt.Sprint(r.id), in, "-o", got); !strings.Contains(string(e), "rejected out_of_range") {
			t.Errorf("partition %d: the whole input under --manifest rejects nothing as out of range:\n%s", r.id, e)
		}
	}
	r := rows[1]
	cdxPart := filepath.Join(parts, strings.TrimSuffix(r.file, ".meguri")+".jsonl")
	live := filepath.Join(dir, "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", live, "--manifest", man, "--partition-id", fmt.Sprint(r.id), cdxPart)
	if !bytes.Equal(mustRun(t, nil, "meguri-pack", "-q", live), fileBytes(t, filepath.Join(dir, "want-"+r.file))) {
		t.Errorf("a partition directory made with --manifest differs from the ingest with --range")
	}
	// a map rebalanced since: row 1 moved its low end
	moved := filepath.Join(dir, "moved.manifest")
	text := string(fileBytes(t, man))
	os.WriteFile(moved, []byte(strings.Replace(text, fmt.Sprintf("%d\t0x%016x", r.id, r.lo), fmt.Sprintf("%d\t0x%016x", r.id, r.lo+1), 1)), 0o644)
	twice := filepath.Join(dir, "twice.manifest")
	os.WriteFile(twice, []byte(text+fmt.Sprintf("%d\t0x0\t0x1\t-\t0\t0\t0\t1\n", r.id)), 0o644)
	out := filepath.Join(dir, "out.meguri")
	id := fmt.Sprint(r.id)
	wantFail(t, fmt.Sprintf("meguri-ingest: --manifest %s (partition %d's range) 0x%016x:0x%016x: %s owns 0x%016x:0x%016x", moved, r.id, r.lo+1, r.hi, live, r.lo, r.hi),
		"meguri-ingest", "-q", "--data", live, "--manifest", moved, "--partition-id", id, cdxPart)
	wantFail(t, fmt.Sprintf("meguri-ingest: --partition-id 7: %s has no row for it (it holds partitions 0 1 2)", man), "meguri-ingest", "--manifest", man, "--partition-id", "7", cdxPart, "-o", out)
	wantFail(t, fmt.Sprintf("meguri-ingest: --partition-id %d: %s has 2 rows for it: which range is meant?", r.id, twice), "meguri-ingest", "--manifest", twice, "--partition-id", id, cdxPart, "-o", out)
	wantUsage(t, "meguri-ingest: --manifest needs --partition-id: the row whose range to take", "meguri-ingest", "--manifest", man, cdxPart, "-o", out)
	wantUsage(t, "meguri-ingest: --range and --manifest both give the range: give one", "meguri-ingest", "--manifest", man, "--partition-id", id, "--range", "0:ff", cdxPart, "-o", out)
	wantUsage(t, "meguri-ingest: --manifest - and the input would both read stdin", "meguri-ingest", "--manifest", "-", "--partition-id", id, "-o", out)
	wantUsage(t, `meguri-ingest: --range: bad range ""`, "meguri-ingest", "--range", "", cdxPart, "-o", out) // an unset make variable
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused run left %s", out)
	}
}

// TestGroupingFromMap: a map records the grouping it was cut on, and the
// tools that key lines for it key them alike. Before, a map balanced with
// --grouping host and an ingest of one of its parts without the flag
// rejected a third of the part out_of_range, with exit 0. Now a run
// without --grouping takes the map's; one whose --grouping disagrees is
// refused before it reads a line; files, rows and partition directories
// of another grouping are refused by update, and by inspect --manifest.
func TestGroupingFromMap(t *testing.T) {
	dir := t.TempDir()
	in, _ := filepath.Abs(sample)
	must := mustIn(t, dir)
	refused := func(want string, name string, args ...string) {
		t.Helper()
		if _, e, code := runIn(t, dir, nil, name, args...); code != 1 || !strings.Contains(string(e), want) {
			t.Errorf("%s %v: exit %d, %q; want exit 1 and %q", name, args, code, e, want)
		}
	}
	must("meguri-route", "balance", "-q", "--grouping", "host", "-n", "2", in, "-o", "host.manifest")
	if m := string(fileBytes(t, filepath.Join(dir, "host.manifest"))); !strings.HasPrefix(m, "# partition_id\thost_key_lo\thost_key_hi\tfile\turls\thosts\tbytes\tepoch\n# grouping: host\n") {
		t.Fatalf("balance --grouping host wrote:\n%s", m)
	}
	clash := "--grouping domain, but host.manifest was cut on host keys of grouping host"
	refused(clash, "meguri-route", "split", "-q", "--grouping", "domain", "--manifest", "host.manifest", "--out-dir", "parts", in)
	must("meguri-route", "split", "-q", "--manifest", "host.manifest", "--out-dir", "parts", in)
	refused(clash, "meguri-ingest", "-q", "--grouping", "domain", "--manifest", "host.manifest", "--partition-id", "0", "-o", "x.meguri", "parts/part-0000.jsonl")
	var urls uint64
	for _, r := range readManifest(t, filepath.Join(dir, "host.manifest")) {
		_, e, code := runIn(t, dir, nil, "meguri-ingest", "--json", "--manifest", "host.manifest", "--partition-id", fmt.Sprint(r.id),
			"-o", "parts/"+r.file, "parts/"+strings.TrimSuffix(r.file, ".meguri")+".jsonl")
		var sum struct{ Rejected, URLs uint64 }
		if err := json.Unmarshal(e, &sum); code != 0 || err != nil || sum.Rejected != 0 {
			t.Fatalf("ingest of partition %d by the map's grouping: exit %d, %s", r.id, code, e)
		}
		urls += sum.URLs
	}
	must("meguri-route", "update", "-q", "--manifest", "host.manifest", "--dir", "parts", "--refresh", "-o", "host.manifest")
	// balance from the files keys as they were keyed, and cuts as the
	// lines were cut
	must("meguri-route", "balance", "-q", "-n", "2", "parts/part-0000.meguri", "parts/part-0001.meguri", "-o", "files.manifest")
	if m := string(fileBytes(t, filepath.Join(dir, "files.manifest"))); !strings.Contains(m, "\n# grouping: host\n") {
		t.Errorf("balance of host-grouped files wrote:\n%s", m)
	}
	cut := readManifest(t, filepath.Join(dir, "host.manifest"))
	for i, r := range readManifest(t, filepath.Join(dir, "files.manifest")) {
		if w := cut[i]; r.lo != w.lo || r.hi != w.hi || r.urls != w.urls {
			t.Errorf("balance of the files: partition %d %x..%x (%d urls), of the lines %x..%x (%d urls)", r.id, r.lo, r.hi, r.urls, w.lo, w.hi, w.urls)
		}
	}
	whole := must("meguri-ingest", "-q", "--grouping", "host", in)
	must("meguri-compact", "-q", "parts/part-0000.meguri", "parts/part-0001.meguri", "-o", "merged.meguri")
	if !bytes.Equal(fileBytes(t, filepath.Join(dir, "merged.meguri")), whole) {
		t.Errorf("the parts ingested by the map's grouping do not merge to the whole ingest under --grouping host (%d urls)", urls)
	}
	// route and inspect key a URL as the map does
	var routed struct {
		Key string `json:"host_key"`
	}
	json.Unmarshal(must("meguri-route", "--manifest", "host.manifest", "--url", "http://www.zew.de/", "--json"), &routed)
	found := must("meguri-inspect", "--manifest", "host.manifest", "--dir", "parts", "--url", "http://www.zew.de/", "--fields", "host_key", "--tsv")
	if routed.Key == "" || strings.TrimSpace(string(found)) != routed.Key {
		t.Errorf("route keys www.zew.de %q, inspect finds it under %q", routed.Key, found)
	}
	refused(clash, "meguri-route", "--manifest", "host.manifest", "--grouping", "domain", "--url", "http://www.zew.de/")

	// rows, a file or a partition directory of the other grouping
	must("meguri-ingest", "-q", "-o", "domain.meguri", in)
	rows := must("meguri-compact", "-q", "--split", "2", "--partition-id", "5", "--out-dir", "dparts", "domain.meguri")
	if !bytes.Contains(rows, []byte("\n# grouping: domain\n")) {
		t.Errorf("compact's rows do not record the grouping:\n%s", rows)
	}
	os.WriteFile(filepath.Join(dir, "domain.rows"), rows, 0o644)
	refused("--rows domain.rows: its partitions key hosts by grouping domain, but host.manifest was cut on grouping host; nothing was published",
		"meguri-route", "update", "--manifest", "host.manifest", "--rows", "domain.rows", "-o", "host.manifest")
	r1 := readManifest(t, filepath.Join(dir, "host.manifest"))[1]
	rng := fmt.Sprintf("%x:%x", r1.lo, r1.hi)
	os.Mkdir(filepath.Join(dir, "mixed"), 0o755)
	os.Link(filepath.Join(dir, "parts", "part-0000.meguri"), filepath.Join(dir, "mixed", "part-0000.meguri"))
	must("meguri-ingest", "-q", "--grouping", "domain", "--partition-id", "1", "--range", rng, "-o", "mixed/part-0001.meguri", in)
	other := "mixed/part-0001.meguri keys hosts by grouping domain, but the map was cut on grouping host"
	refused(other, "meguri-route", "update", "--manifest", "host.manifest", "--dir", "mixed", "--refresh", "-o", "m2.manifest")
	refused(other, "meguri-inspect", "--manifest", "host.manifest", "--dir", "mixed", "--rows")
	os.Remove(filepath.Join(dir, "mixed", "part-0001.meguri"))
	must("meguri-ingest", "-q", "--grouping", "domain", "--partition-id", "1", "--range", rng, "--data", "mixed/part-0001.meguri", in)
	refused(other, "meguri-route", "update", "--manifest", "host.manifest", "--dir", "mixed", "--refresh", "-o", "m2.manifest")
	refused(other, "meguri-inspect", "--manifest", "host.manifest", "--dir", "mixed", "--rows")
	if _, err := os.Stat(filepath.Join(dir, "m2.manifest")); err == nil {
		t.Error("a refused update wrote its manifest")
	}
	// nor does ingest append lines keyed by the map's grouping to a
	// directory keyed by the other
	refused("--manifest host.manifest (its grouping) host: mixed/part-0001.meguri groups by domain; nothing of this run was committed",
		"meguri-ingest", "-q", "--data", "mixed/part-0001.meguri", "--manifest", "host.manifest", "--partition-id", "1", in)
}

// mustIn returns a runner of the tools in dir that fails the test on an
// exit other than 0 and returns stdout.
func mustIn(t *testing.T, dir string) func(name string, args ...string) []byte {
	return func(name string, args ...string) []byte {
		t.Helper()
		o, e, code := runIn(t, dir, nil, name, args...)
		if code != 0 {
			t.Fatalf("%s %v: exit %d: %s", name, args, code, e)
		}
		return o
	}
}

// TestEmptyShardsFanOut: shards split apart (a split each, --zstd), then
// each partition ingested from every shard's output: a partition that got
// no line from two shards has two outputs of the same bytes (an empty
// zstd frame), which hold nothing and are ingested, not refused as one
// input given twice; so are the empty .meguri files that come of them,
// counted together by balance. Outputs of the same lines still are.
func TestEmptyShardsFanOut(t *testing.T) {
	dir := t.TempDir()
	all := lines(t, sample)
	shards := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}
	os.WriteFile(shards[0], []byte(strings.Join(all[:5], "\n")+"\n"), 0o644)
	os.WriteFile(shards[1], []byte(strings.Join(all[5:10], "\n")+"\n"), 0o644)
	m := filepath.Join(dir, "fleet.manifest")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "40", sample, "-o", m)
	for _, s := range shards {
		mustRun(t, nil, "meguri-route", "split", "-q", "--zstd", "--manifest", m, "--out-dir", strings.TrimSuffix(s, ".jsonl"), s)
	}
	empty := 0
	for _, r := range readManifest(t, m) {
		stem := strings.TrimSuffix(filepath.Base(r.file), ".meguri") + ".jsonl.zst"
		a, b := filepath.Join(dir, "a", stem), filepath.Join(dir, "b", stem)
		out := filepath.Join(dir, strings.TrimSuffix(stem, ".jsonl.zst")+".meguri")
		if _, e, code := run(t, nil, "meguri-ingest", "-q", a, b, "-o", out); code != 0 {
			t.Fatalf("ingest %s %s: exit %d, %s", a, b, code, e)
		}
		if bytes.Equal(fileBytes(t, a), fileBytes(t, b)) {
			empty++
		}
	}
	if empty < 20 {
		t.Fatalf("only %d partitions got no line from both shards", empty)
	}
	megs, _ := filepath.Glob(filepath.Join(dir, "*.meguri"))
	if _, e, code := run(t, nil, "meguri-route", append([]string{"balance", "-q", "-n", "1"}, megs...)...); code != 0 {
		t.Errorf("balance over the partitions' files, empty ones alike: exit %d, %s", code, e)
	}
	os.WriteFile(shards[1], fileBytes(t, shards[0]), 0o644)
	if _, e, code := run(t, nil, "meguri-ingest", "-q", shards[0], shards[1], "-o", filepath.Join(dir, "x.meguri")); code != 1 || !strings.Contains(string(e), "hold the same bytes") {
		t.Errorf("two shards of the same lines: exit %d, %s", code, e)
	}
}
