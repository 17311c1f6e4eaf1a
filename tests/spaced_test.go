package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// spacedLines are real CDX lines of the corpus's sources in the
// space-separated layouts (CDX-11 with its legend, 9 fields, the Wayback
// server's 7), and spacedAsJSON the same records as JSON lines, as the
// documented mapping gives them ("-" fields left out).
var spacedLines = []string{
	` CDX N b a m s k r M S V g`,
	`org,archive)/ 20080430204826 http://www.archive.org/ text/html 200 J7HIRVLXR2DUUZE3OYBYSMEI4O36NOMS - - 11123 2622 IAH-20080430204825-00000-blackbook.warc.gz`,
	`org,archive,www) 20080430204825 dns:www.archive.org text/dns - RUIV2DUDYXONM2YTMGPAJVQKG3FSYHXE - - 244 463 IAH-20080430204825-00000-blackbook.warc.gz`,
	`com,example)/ 20140127171251 http://example.com warc/revisit - B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A - - 553 1864 example.warc.gz`,
	`com,example)/?example=1 20140103030321 http://example.com?example=1 text/html 200 B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A - 1043 example.cdx`,
	`de,zew)/ 19970427191925 http://www.zew.de:80/ text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 1001`,
	`gov,nasa)/ 19961231235847 http://www.nasa.gov:80/ text/html 301 2RDQLJDHNV6CVXPO6XNSVOPVMYIRWPKY 366`,
}

var spacedAsJSON = []string{
	`{"urlkey": "org,archive)/", "timestamp": "20080430204826", "url": "http://www.archive.org/", "mime": "text/html", "status": "200", "digest": "J7HIRVLXR2DUUZE3OYBYSMEI4O36NOMS", "length": "11123", "offset": "2622", "filename": "IAH-20080430204825-00000-blackbook.warc.gz"}`,
	`{"urlkey": "org,archive,www)", "timestamp": "20080430204825", "url": "dns:www.archive.org", "mime": "text/dns", "digest": "RUIV2DUDYXONM2YTMGPAJVQKG3FSYHXE", "length": "244", "offset": "463", "filename": "IAH-20080430204825-00000-blackbook.warc.gz"}`,
	`{"urlkey": "com,example)/", "timestamp": "20140127171251", "url": "http://example.com", "mime": "warc/revisit", "digest": "B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A", "length": "553", "offset": "1864", "filename": "example.warc.gz"}`,
	`{"urlkey": "com,example)/?example=1", "timestamp": "20140103030321", "url": "http://example.com?example=1", "mime": "text/html", "status": "200", "digest": "B2LTWWPUOYAH7UIPQ7ZUPQ4VMBSVC36A", "offset": "1043", "filename": "example.cdx"}`,
	`{"urlkey": "de,zew)/", "timestamp": "19970427191925", "url": "http://www.zew.de:80/", "mime": "text/html", "status": "200", "digest": "GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4", "length": "1001"}`,
	`{"urlkey": "gov,nasa)/", "timestamp": "19961231235847", "url": "http://www.nasa.gov:80/", "mime": "text/html", "status": "301", "digest": "2RDQLJDHNV6CVXPO6XNSVOPVMYIRWPKY", "length": "366"}`,
}

// TestSpacedCDX: meguri-ingest and meguri-route split read space-separated
// CDX (and the Wayback server's JSON rows) as the same records in JSON;
// the legend line is accounted for as a cdx_legend reject; a legend of
// another layout (or a JSON header of other fields, or --cdx-fields)
// names the fields of the lines after it, and one meguri cannot read
// them by stops the run before any output appears, naming file and line.
func TestSpacedCDX(t *testing.T) {
	dir := t.TempDir()
	cdxFile, jsonFile := filepath.Join(dir, "in.cdx"), filepath.Join(dir, "in.jsonl")
	os.WriteFile(cdxFile, []byte(strings.Join(spacedLines, "\n")+"\n"), 0o644)
	os.WriteFile(jsonFile, []byte(strings.Join(spacedAsJSON, "\n")+"\n"), 0o644)
	want := mustRun(t, nil, "meguri-ingest", "-q", jsonFile)
	out, e, code := run(t, nil, "meguri-ingest", cdxFile)
	if code != 0 || string(out) != string(want) {
		t.Fatalf("ingest of the CDX lines: exit %d, %s, %d bytes, want %d", code, e, len(out), len(want))
	}
	for _, s := range []string{"7 lines: 5 taken (5 captures, 0 discovered), 2 rejected", "rejected dns ", "rejected cdx_legend      1"} {
		if !strings.Contains(string(e), s) {
			t.Errorf("summary lacks %q:\n%s", s, e)
		}
	}
	// testdata/blackbook.cdx is sample lines 529-588 as their CDX-11 index
	lines := strings.SplitAfter(string(fileBytes(t, sample)), "\n")
	bbJSON := filepath.Join(dir, "blackbook.jsonl")
	os.WriteFile(bbJSON, []byte(strings.Join(lines[528:588], "")), 0o644)
	if got, want := mustRun(t, nil, "meguri-ingest", "-q", "../testdata/blackbook.cdx"), mustRun(t, nil, "meguri-ingest", "-q", bbJSON); string(got) != string(want) {
		t.Errorf("testdata/blackbook.cdx: %d bytes, its JSON lines %d", len(got), len(want))
	}
	// --strict passes the legend line and stops at the dns: record
	_, e, code = run(t, nil, "meguri-ingest", "--strict", cdxFile, "-o", filepath.Join(dir, "strict.meguri"))
	if code != 1 || !strings.Contains(string(e), cdxFile+":3: rejected (dns)") {
		t.Errorf("--strict: exit %d, %s", code, e)
	}
	clean := filepath.Join(dir, "clean.cdx")
	os.WriteFile(clean, []byte(spacedLines[0]+"\n"+spacedLines[1]+"\n"), 0o644)
	if _, e, code = run(t, nil, "meguri-ingest", "--strict", "-q", clean); code != 0 {
		t.Errorf("--strict on a CDX-11 file with its legend: exit %d, %s", code, e)
	}
	man := filepath.Join(dir, "m")
	mustRun(t, nil, "meguri-route", "balance", "-q", "-n", "2", jsonFile, "-o", man)
	_, e, code = run(t, nil, "meguri-route", "split", "--manifest", man, "--out-dir", filepath.Join(dir, "parts"), cdxFile)
	if code != 0 || !strings.Contains(string(e), "7 lines: 5 routed to 2 of 2 partitions, 2 rejected") {
		t.Fatalf("split: exit %d, %s", code, e)
	}

	// the Wayback CDX server's JSON output (output=json), one row per line
	wb, wbJSON := filepath.Join(dir, "wayback.json"), filepath.Join(dir, "wayback.jsonl")
	os.WriteFile(wb, []byte(`[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],
["de,zew)/", "19970427191925", "http://www.zew.de:80/", "text/html", "200", "GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4", "1001"],
["gov,nasa)/", "19961231235847", "http://www.nasa.gov:80/", "text/html", "301", "2RDQLJDHNV6CVXPO6XNSVOPVMYIRWPKY", "366"]]
`), 0o644)
	os.WriteFile(wbJSON, []byte(strings.Join(spacedAsJSON[4:], "\n")+"\n"), 0o644)
	want = mustRun(t, nil, "meguri-ingest", "-q", wbJSON)
	out, e, code = run(t, nil, "meguri-ingest", wb)
	if code != 0 || string(out) != string(want) || !strings.Contains(string(e), "3 lines: 2 taken (2 captures, 0 discovered), 1 rejected") {
		t.Fatalf("ingest of Wayback JSON rows: exit %d, %s, %d bytes, want %d", code, e, len(out), len(want))
	}
	// with showResumeKey=true the output ends with the next page's key
	// (after an empty row, or a blank line in the text output): rejected
	// as resume_key, passed by --strict, and named in the summary
	const key = "gov%2Cnasa%29%2Fimages+19961231235847%21"
	wbKey, txtKey := filepath.Join(dir, "wayback-key.json"), filepath.Join(dir, "wayback-key.txt")
	os.WriteFile(wbKey, []byte(strings.Replace(string(fileBytes(t, wb)), `"366"]]`, `"366"],
[],
["`+key+`"]]`, 1)), 0o644)
	os.WriteFile(txtKey, []byte(spacedLines[5]+"\n"+spacedLines[6]+"\n\n"+key+"\n"), 0o644)
	for _, c := range []struct{ file, lines string }{
		{wbKey, "5 lines: 2 taken (2 captures, 0 discovered), 3 rejected"},
		{txtKey, "3 lines: 2 taken (2 captures, 0 discovered), 1 rejected"},
	} {
		rejects := filepath.Join(dir, "rejects.jsonl")
		out, e, code := run(t, nil, "meguri-ingest", "--strict", "--rejects", rejects, c.file)
		if code != 0 || string(out) != string(want) || !strings.Contains(string(e), c.lines) ||
			!strings.Contains(string(e), "\nmeguri-ingest: the Wayback CDX server's output ended with a resume key: the next page is the same query with &resumeKey="+key+"\n") {
			t.Errorf("ingest --strict of %s: exit %d, %d bytes (want %d), %s", c.file, code, len(out), len(want), e)
		}
		if r := string(fileBytes(t, rejects)); !strings.Contains(r, `"reason":"resume_key","text":"`) || !strings.Contains(r, key) {
			t.Errorf("%s: the rejects file lacks the key:\n%s", c.file, r)
		}
		if _, e, _ := run(t, nil, "meguri-ingest", "--json", c.file); !strings.Contains(string(e), `,"resume_key":"`+key+`",`) {
			t.Errorf("%s: --json summary %s", c.file, e)
		}
	}

	// A legend of another layout names the fields of the lines after it
	// (here an old 11-field CDX with no length); route split, which
	// passes lines on without their legend, refuses it.
	other := filepath.Join(dir, "other.cdx")
	os.WriteFile(other, []byte(spacedLines[1]+"\n CDX N b a m s k r V v D d\n"+
		"de,zew)/ 19970427191925 http://www.zew.de:80/ text/html 200 GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4 - 1001 - - -\n"), 0o644)
	otherJSON := filepath.Join(dir, "other.jsonl")
	os.WriteFile(otherJSON, []byte(spacedAsJSON[0]+"\n"+strings.Replace(spacedAsJSON[4], `, "length": "1001"`, "", 1)+"\n"), 0o644)
	out, e, code = run(t, nil, "meguri-ingest", other)
	if want := mustRun(t, nil, "meguri-ingest", "-q", otherJSON); code != 0 || string(out) != string(want) ||
		!strings.Contains(string(e), "3 lines: 2 taken (2 captures, 0 discovered), 1 rejected") {
		t.Errorf("ingest of a CDX file of another legend: exit %d, %d bytes (want %d), %s", code, len(out), len(want), e)
	}
	_, e, code = run(t, nil, "meguri-route", "split", "--manifest", man, "--out-dir", filepath.Join(dir, "other"), other)
	if code != 1 || !strings.Contains(string(e), other+`: line 2: CDX legend "N b a m s k r V v D d" names fields that the lines after it are read by, and passed on as they are they would part from it and be misread: ingest them first`) {
		t.Errorf("route split of a CDX file of another legend: exit %d, %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "other")); !os.IsNotExist(err) {
		t.Errorf("a refused split left its out-dir behind")
	}

	// A Wayback query with fl=: its JSON output's header row names the
	// fields; its text output has none, and --cdx-fields gives them.
	flJSON, flText, flObjects := filepath.Join(dir, "fl.json"), filepath.Join(dir, "fl.txt"), filepath.Join(dir, "fl.jsonl")
	os.WriteFile(flJSON, []byte(`[["original","timestamp","statuscode"],`+"\n"+
		`["http://www.zew.de/", "19970427191925", "200"],`+"\n"+`["http://www.nasa.gov/", "19961231235847", "301"]]`+"\n"), 0o644)
	os.WriteFile(flText, []byte("http://www.zew.de/ 19970427191925 200\nhttp://www.nasa.gov/ 19961231235847 301\n"), 0o644)
	os.WriteFile(flObjects, []byte(`{"url": "http://www.zew.de/", "timestamp": "19970427191925", "status": "200"}`+"\n"+
		`{"url": "http://www.nasa.gov/", "timestamp": "19961231235847", "status": "301"}`+"\n"), 0o644)
	want = mustRun(t, nil, "meguri-ingest", "-q", flObjects)
	for _, args := range [][]string{{flJSON}, {"--cdx-fields", "original,timestamp,statuscode", flText}} {
		out, e, code = run(t, nil, "meguri-ingest", args...)
		if code != 0 || string(out) != string(want) || !strings.Contains(string(e), "2 taken (2 captures, 0 discovered)") {
			t.Errorf("ingest %v: exit %d, %d bytes (want %d), %s", args, code, len(out), len(want), e)
		}
	}
	// without it the text output's lines are rejected, and the warning
	// names the flag
	_, e, _ = run(t, nil, "meguri-ingest", flText, "-o", filepath.Join(dir, "fl.meguri"))
	if !strings.Contains(string(e), "rejected as bad_cdx_fields") || !strings.Contains(string(e), "give them as --cdx-fields (the fl= list)") {
		t.Errorf("ingest of fl= text output without --cdx-fields: %s", e)
	}
	// balance counts the lines as ingest reads them
	_, e, code = run(t, nil, "meguri-route", "balance", "-n", "1", "--cdx-fields", "original,timestamp,statuscode", flText)
	if code != 0 || !strings.Contains(string(e), "2 urls in 2 hosts (0 lines rejected)") {
		t.Errorf("balance --cdx-fields: exit %d, %s", code, e)
	}
	// a list that does not match the lines is named as the cause
	_, e, _ = run(t, nil, "meguri-ingest", "--cdx-fields", "original,timestamp", flText, "-o", filepath.Join(dir, "fl.meguri"))
	if !strings.Contains(string(e), "rejected as bad_cdx_fields") || !strings.Contains(string(e), "; --cdx-fields names 2 fields, and a line of another count is rejected: does the list match the query's fl=?") {
		t.Errorf("ingest of fl= text output with a --cdx-fields of another count: %s", e)
	}
	_, e, code = run(t, nil, "meguri-ingest", "--cdx-fields", "original,time", flText)
	if code != 2 || !strings.Contains(string(e), `--cdx-fields: not a field layout meguri reads: unknown field "time"`) {
		t.Errorf("--cdx-fields with an unknown name: exit %d, %s", code, e)
	}

	// a legend or header row without the URL is refused before any
	// output appears, naming file and line
	bad := filepath.Join(dir, "bad.cdx")
	outFile := filepath.Join(dir, "bad.meguri")
	for _, c := range []struct{ text, err string }{
		{spacedLines[1] + "\n CDX A b m s\n", `: line 2: CDX legend "A b m s": not a field layout meguri reads: no original URL`},
		{`[["timestamp","statuscode"],` + "\n" + `["19970427191925", "200"]]` + "\n", `: line 1: Wayback JSON header ["timestamp" "statuscode"]: not a field layout meguri reads: no original URL`},
	} {
		os.WriteFile(bad, []byte(c.text), 0o644)
		_, e, code = run(t, nil, "meguri-ingest", bad, "-o", outFile)
		if code != 1 || !strings.Contains(string(e), bad+c.err) {
			t.Errorf("%q: exit %d, %s", c.text, code, e)
		}
		if _, err := os.Stat(outFile); !os.IsNotExist(err) {
			t.Errorf("a refused input left %s behind", outFile)
		}
	}
}

// TestDedupLoop: the frontier's dedup step closes through the binaries:
// the lines of a URL list that a partition does not hold (meguri-inspect
// --urls --absent) ingest as they are, bare URLs, into discovered records
// of exactly those URLs; appended to a live partition directory they make
// the pack equal to one ingest of the sample and the new links together.
func TestDedupLoop(t *testing.T) {
	dir := t.TempDir()
	golden := "../testdata/sample.meguri"
	// an href with raw spaces, as a corpus page links it
	spaces := "https://new.example/share?text=iPhone 14: Warum"
	list := "http://www.zew.de/\nhttps://new.example/a\nhttps://basicthinking.com/\nHTTPS://NEW.example:443/b#x\n" + spaces + "\n"
	absent, e, code := run(t, []byte(list), "meguri-inspect", "--urls", "-", "--absent", golden)
	if code != 0 || string(absent) != "https://new.example/a\nHTTPS://NEW.example:443/b#x\n"+spaces+"\n" {
		t.Fatalf("--absent: exit %d, %s, %q", code, e, absent)
	}
	got := mustRun(t, mustRun(t, absent, "meguri-ingest", "-q"), "meguri-inspect", "--rows", "--fields", "url,status,captures", "--tsv", "-")
	if string(got) != "https://new.example/a\tdiscovered\t0\nhttps://new.example/b\tdiscovered\t0\nhttps://new.example/share?text=iPhone%2014:%20Warum\tdiscovered\t0\n" {
		t.Fatalf("the absent lines ingest to %q", got)
	}
	newLinks := filepath.Join(dir, "new.txt")
	os.WriteFile(newLinks, absent, 0o644)
	live := filepath.Join(dir, "live")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", live, sample)
	mustRun(t, absent, "meguri-ingest", "-q", "--data", live, "-")
	packed := mustRun(t, nil, "meguri-pack", "--data", live)
	if want := mustRun(t, nil, "meguri-ingest", "-q", sample, newLinks); string(packed) != string(want) {
		t.Fatalf("pack after appending the new links: %d bytes, one ingest of both %d", len(packed), len(want))
	}
}
