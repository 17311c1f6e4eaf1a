package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meguri/meguri/lib/inspect"
)

// TestInspectFleet: meguri-inspect --manifest reads a fleet as one file.
// The fleet is the whole ingest cut in 4 by meguri-compact --split, so
// every mode must print exactly what it prints for the whole file: --rows
// (with filters and layouts), --url, --host, and --urls with and without
// --absent. A file that disagrees with its row, a mixed grouping, a
// manifest that does not tile, a missing or damaged file are refused.
func TestInspectFleet(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", input(t), "-o", whole)
	parts := filepath.Join(dir, "parts")
	man := filepath.Join(parts, "fleet.manifest")
	// relative names, so that the manifest names its files relative to
	// its own directory
	if _, e, code := runIn(t, dir, nil, "meguri-compact", "-q", "--split", "4", "--out-dir", "parts", "--manifest-out", "parts/fleet.manifest", "whole.meguri"); code != 0 {
		t.Fatalf("split: %s", e)
	}
	if m := string(fileBytes(t, man)); !strings.Contains(m, "\tpart-0000.meguri\t") {
		t.Fatalf("the manifest does not name its files relative to its directory:\n%s", m)
	}

	rows := bytes.SplitAfter(mustRun(t, nil, "meguri-inspect", "--rows", whole), []byte("\n"))
	rows = rows[:len(rows)-1]
	var list strings.Builder
	var hosts []string
	seen := map[string]bool{}
	for i, line := range rows {
		var r struct {
			URL     string `json:"url"`
			HostKey string `json:"host_key"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		list.WriteString(r.URL + "\n")
		if i%5 == 0 { // spelled otherwise, and a URL the fleet lacks
			list.WriteString(strings.ToUpper(r.URL[:4]) + r.URL[4:] + "#x\n")
			fmt.Fprintf(&list, "http://absent-%d.example/\n", i)
		}
		if !seen[r.HostKey] && len(hosts) < 40 && i%7 == 0 {
			seen[r.HostKey] = true
			hosts = append(hosts, r.HostKey)
		}
	}
	list.WriteString("ftp://not.http/\n")
	listFile := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(listFile, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// the same run on the whole file and on the fleet: same exit, same
	// stdout; stderr the same but for the name of what was read
	same := func(args ...string) {
		t.Helper()
		o1, e1, c1 := run(t, nil, "meguri-inspect", append(args, whole)...)
		o2, e2, c2 := run(t, nil, "meguri-inspect", append(args, "--manifest", man)...)
		e1 = bytes.ReplaceAll(e1, []byte(whole), []byte(man))
		if c1 != c2 || !bytes.Equal(o1, o2) || !bytes.Equal(e1, e2) {
			t.Fatalf("%v: the whole file gives exit %d, %d bytes, %q; the fleet exit %d, %d bytes, %q", args, c1, len(o1), e1, c2, len(o2), e2)
		}
	}
	same("--rows")
	same("--rows", "--status", "crawled,gone", "--fields", "url,status,last_seen", "--tsv", "--header")
	same("--rows", "--unseen-since", "2014", "--fields", "url", "--tsv", "--raw")
	same("--urls", listFile)
	same("--urls", listFile, "--absent")
	same("--urls", listFile, "--seen-since", "2010", "--fields", "url,last_seen")
	for i := 0; i < len(rows); i += len(rows) / 25 {
		var r struct {
			URL string `json:"url"`
		}
		json.Unmarshal(rows[i], &r)
		same("--url", r.URL)
		same("--url", r.URL+"-absent")
	}
	for _, h := range hosts {
		same("--host", h)
		same("--host", h, "--status", "discovered", "--fields", "url", "--tsv")
	}
	same("--host", "absent.example")

	out := mustRun(t, nil, "meguri-inspect", "--verify", "--manifest", man)
	if !bytes.Contains(out, []byte(fmt.Sprintf("verify ok: 4 files, %d urls", len(rows)))) {
		t.Errorf("--verify --manifest: %s", out)
	}

	// a manifest elsewhere: its names are taken from --dir
	moved := filepath.Join(dir, "moved.manifest")
	if err := os.WriteFile(moved, fileBytes(t, man), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, nil, "meguri-inspect", "--rows", "--manifest", moved, "--dir", parts); !bytes.Equal(out, bytes.Join(rows, nil)) {
		t.Errorf("--dir: %d bytes of rows, want %d", len(out), len(bytes.Join(rows, nil)))
	}
	wantFail(t, "relative names are taken from "+dir, "meguri-inspect", "--rows", "--manifest", moved)

	// refusals: each exit 1, naming what is wrong; most on a manifest
	// that records no grouping (as before meguri wrote one), so that the
	// files' groupings are checked against each other
	lines := strings.SplitAfter(string(fileBytes(t, man)), "\n")
	grouping := lines[1]
	if grouping != "# grouping: domain\n" {
		t.Fatalf("compact --split wrote rows without their grouping:\n%s", strings.Join(lines, ""))
	}
	lines = slices.Delete(lines, 1, 2)
	write := func(name string, ls ...string) string {
		p := filepath.Join(parts, name)
		if err := os.WriteFile(p, []byte(strings.Join(ls, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// lines[0] is the header, 1..4 the partitions
	swapped := write("swapped.manifest", lines[0], lines[1], strings.Replace(lines[2], "part-0001", "part-0002", 1),
		strings.Replace(lines[3], "part-0002", "part-0001", 1), lines[4])
	wantFail(t, "its header says partition 2", "meguri-inspect", "--rows", "--manifest", swapped)
	gap := write("gap.manifest", lines[0], lines[1], lines[2], lines[4])
	wantFail(t, "gap", "meguri-inspect", "--rows", "--manifest", gap)
	// partition 1's range ingested under grouping host: same id and range
	f := strings.Fields(lines[2])
	byHost := filepath.Join(parts, "byhost.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", "--grouping", "host", "--partition-id", f[0], "--range", f[1]+":"+f[2], input(t), "-o", byHost)
	mixed := write("mixed.manifest", lines[0], lines[1], strings.Replace(lines[2], "part-0001.meguri", "byhost.meguri", 1), lines[3], lines[4])
	wantFail(t, "written with grouping host, the fleet's other files with domain", "meguri-inspect", "--rows", "--manifest", mixed)
	mixed = write("mixed-map.manifest", lines[0], grouping, lines[1], strings.Replace(lines[2], "part-0001.meguri", "byhost.meguri", 1), lines[3], lines[4])
	wantFail(t, byHost+" keys hosts by grouping host, but the map was cut on grouping domain", "meguri-inspect", "--rows", "--manifest", mixed)
	// a partition without a file holds nothing
	noFile := write("nofile.manifest", lines[0], lines[1], strings.Replace(lines[2], "part-0001.meguri", "-", 1), lines[3], lines[4])
	var want []byte
	for _, p := range []string{"part-0000", "part-0002", "part-0003"} {
		want = append(want, mustRun(t, nil, "meguri-inspect", "--rows", filepath.Join(parts, p+".meguri"))...)
	}
	if out := mustRun(t, nil, "meguri-inspect", "--rows", "--manifest", noFile); !bytes.Equal(out, want) || len(want) == 0 {
		t.Errorf("a partition without a file: %d bytes of rows, want %d", len(out), len(want))
	}
	first := string(mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url", "--tsv", "--raw", filepath.Join(parts, "part-0001.meguri")))
	first = first[:strings.IndexByte(first, '\n')]
	wantFail(t, ": not in "+noFile, "meguri-inspect", "--url", first, "--manifest", noFile)
	mustRun(t, nil, "meguri-inspect", "--url", first, "--manifest", man)
	// a lookup whose partition file is missing cannot answer: exit 2, not 1
	missing := write("missing.manifest", lines[0], lines[1], strings.Replace(lines[2], "part-0001.meguri", "gone.meguri", 1), lines[3], lines[4])
	for _, args := range [][]string{{"--url", first}, {"--host", first}} {
		wantExit(t, 2, "gone.meguri: no such file or directory", "meguri-inspect", append(args, "--manifest", missing)...)
	}
	// --rows finds it missing before it prints partition 0's rows
	if out, e, code := run(t, nil, "meguri-inspect", "--rows", "--manifest", missing); code == 0 || len(out) != 0 || !strings.Contains(string(e), "partition 1: stat "+filepath.Join(parts, "gone.meguri")+": no such file or directory") {
		t.Errorf("--rows with partition 1's file missing: exit %d, %d bytes out, %s", code, len(out), e)
	}
	// a damaged file: --verify names it
	data := fileBytes(t, filepath.Join(parts, "part-0002.meguri"))
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(filepath.Join(parts, "part-0002.meguri"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	wantFail(t, "part-0002.meguri", "meguri-inspect", "--verify", "--manifest", man)
	// ... and the other files are still checked, each a line, then exit 1
	o, e, code := run(t, nil, "meguri-inspect", "--verify", "--manifest", man)
	if code != 1 || strings.Count(string(o), "ok  partition ") != 3 || bytes.Contains(o, []byte("verify ok")) ||
		!strings.Contains(string(e), "part-0002.meguri: corrupt .meguri") || !strings.Contains(string(e), "meguri-inspect: 1 of 4 files failed (named above)") {
		t.Errorf("--verify --manifest with a damaged file: exit %d\n%s%s", code, o, e)
	}

	for _, args := range [][]string{
		{"--rows", "--manifest", man, whole},
		{"--manifest", man},
		{"--rows", "--dir", parts, whole},
		{"--rows"},
		{"--urls", "-", "--manifest", "-"},
	} {
		out, e, code := run(t, nil, "meguri-inspect", args...)
		if code != 2 || len(out) != 0 || len(e) == 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2", args, code, out, e)
		}
	}
}

// TestInspectFleetLive: a fleet whose manifest names live partition
// directories (appended to by meguri-ingest --data) for some partitions
// reads as the fleet of their packed files: every record mode prints what
// it prints for the whole ingest, --verify checks each directory's
// snapshot and log, and the packs made for the lookups leave nothing in
// the temp directory.
func TestInspectFleetLive(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	in := input(t)
	whole := filepath.Join(dir, "whole.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", in, "-o", whole)
	if _, e, code := runIn(t, dir, nil, "meguri-compact", "-q", "--split", "4", "--out-dir", "parts", "--manifest-out", "parts/fleet.manifest", "whole.meguri"); code != 0 {
		t.Fatalf("split: %s", e)
	}
	man := filepath.Join(dir, "parts", "fleet.manifest")

	// partition 1 live from two runs over the input's halves; partition
	// 2 live from one run, checkpointed, then the same again appended
	all := lines(t, in)
	h1, h2 := filepath.Join(dir, "h1.jsonl"), filepath.Join(dir, "h2.jsonl")
	os.WriteFile(h1, []byte(strings.Join(all[:len(all)/2], "\n")+"\n"), 0o644)
	os.WriteFile(h2, []byte(strings.Join(all[len(all)/2:], "\n")+"\n"), 0o644)
	ls := strings.SplitAfter(string(fileBytes(t, man)), "\n")
	for _, i := range []int{1, 2} {
		f := strings.Fields(ls[i+2]) // ls[0] is the header, ls[1] the grouping
		live := fmt.Sprintf("live-%d", i)
		d := filepath.Join(dir, "parts", live)
		ingest := []string{"-q", "--data", d, "--partition-id", f[0], "--range", f[1] + ":" + f[2]}
		if i == 1 {
			mustRun(t, nil, "meguri-ingest", append(ingest, h1)...)
			mustRun(t, nil, "meguri-ingest", append(ingest, h2)...)
		} else {
			mustRun(t, nil, "meguri-ingest", append(ingest, h1)...)
			mustRun(t, nil, "meguri-compact", "-q", "--data", d)
			mustRun(t, nil, "meguri-ingest", append(ingest, h2)...)
		}
		ls[i+2] = strings.Replace(ls[i+2], f[3], live, 1)
	}
	liveMan := filepath.Join(dir, "parts", "live.manifest")
	if err := os.WriteFile(liveMan, []byte(strings.Join(ls, "")), 0o644); err != nil {
		t.Fatal(err)
	}

	rows := mustRun(t, nil, "meguri-inspect", "--rows", whole)
	var urls []string
	for _, u := range strings.Split(string(mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url", "--tsv", "--raw", whole)), "\n") {
		if u != "" {
			urls = append(urls, u)
		}
	}
	var list strings.Builder
	for i, u := range urls {
		list.WriteString(u + "\n")
		if i%3 == 0 {
			fmt.Fprintf(&list, "http://absent-%d.example/\n", i)
		}
	}
	listFile := filepath.Join(dir, "list.txt")
	os.WriteFile(listFile, []byte(list.String()), 0o644)
	same := func(args ...string) {
		t.Helper()
		o1, _, c1 := run(t, nil, "meguri-inspect", append(args, whole)...)
		o2, e2, c2 := run(t, nil, "meguri-inspect", append(args, "--manifest", liveMan)...)
		if c1 != c2 || !bytes.Equal(o1, o2) {
			t.Fatalf("%v: the whole file gives exit %d, %d bytes; the fleet with live partitions exit %d, %d bytes, %s", args, c1, len(o1), c2, len(o2), e2)
		}
	}
	if out := mustRun(t, nil, "meguri-inspect", "--rows", "--manifest", liveMan); !bytes.Equal(out, rows) {
		t.Fatalf("--rows over the fleet with live partitions: %d bytes, want the whole file's %d", len(out), len(rows))
	}
	same("--urls", listFile)
	same("--urls", listFile, "--absent")
	for i := 0; i < len(urls); i += len(urls)/20 + 1 {
		same("--url", urls[i])
		same("--host", urls[i])
	}

	out := string(mustRun(t, nil, "meguri-inspect", "--verify", "--manifest", liveMan))
	if strings.Count(out, "directory  ") != 2 || !strings.Contains(out, "verify ok: 2 files, ") || !strings.Contains(out, "and 2 partition directories, their snapshot and log") {
		t.Errorf("--verify over the fleet with live partitions:\n%s", out)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the lookups left %d files in TMPDIR, the first %s", len(left), left[0].Name())
	}

	// several chunks: each live partition is packed once, for the fleet's
	// life, and Close removes the packs
	fl, err := inspect.OpenFleet(liveMan, "")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := fl.LookupLines(strings.NewReader(list.String()), &got, inspect.BatchOptions{Absent: true, Chunk: strings.Count(list.String(), "\n")/6 + 1}); err != nil {
		t.Fatal(err)
	}
	if want := mustRun(t, nil, "meguri-inspect", "--urls", listFile, "--absent", whole); !bytes.Equal(got.Bytes(), want) {
		t.Errorf("LookupLines in 6 chunks over the fleet: %d bytes, want %d", got.Len(), len(want))
	}
	if packs, _ := os.ReadDir(tmp); len(packs) != 2 {
		t.Errorf("%d packs in TMPDIR during the lookups, want one for each of the 2 live partitions", len(packs))
	}
	if err := fl.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %d files in TMPDIR", len(left))
	}

	// meguri-route update --refresh counts a live partition as its
	// packed file: here the very counts and bytes of the split's files
	refreshed := mustRun(t, nil, "meguri-route", "update", "-q", "--manifest", liveMan, "--refresh", "-o", "-")
	want := strings.NewReplacer("part-0001.meguri", "live-1", "part-0002.meguri", "live-2").Replace(string(fileBytes(t, man)))
	if string(refreshed) != want {
		t.Errorf("route update --refresh of the fleet with live partitions:\n%s\nwant\n%s", refreshed, want)
	}
	// and publishes a row that names one, checked as a file is
	row := filepath.Join(dir, "parts", "live-1.rows")
	os.WriteFile(row, []byte(ls[3]), 0o644)
	mustRun(t, nil, "meguri-route", "update", "-q", "--manifest", man, "--rows", row, "-o", filepath.Join(dir, "parts", "published.manifest"))
	os.WriteFile(row, []byte(strings.Replace(ls[3], "live-1", "live-2", 1)), 0o644)
	wantFail(t, "its header says partition 2", "meguri-route", "update", "-q", "--manifest", man, "--rows", row, "-o", "-")

	// a directory whose partition disagrees with its row is refused
	bad := filepath.Join(dir, "parts", "bad.manifest")
	os.WriteFile(bad, []byte(strings.Replace(strings.Join(ls, ""), "live-1", "live-2", 1)), 0o644)
	wantFail(t, "its header says partition 2", "meguri-inspect", "--rows", "--manifest", bad)
	wantFail(t, "its header says partition 2", "meguri-inspect", "--verify", "--manifest", bad)
	wantFail(t, "its header says partition 2", "meguri-route", "update", "-q", "--manifest", bad, "--refresh", "-o", "-")
}
