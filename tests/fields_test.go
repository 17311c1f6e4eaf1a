package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/net/publicsuffix"
)

// fieldNames are the fields of a --rows line, in order, as docs/CLI.md
// lists them.
var fieldNames = []string{"url", "host_key", "path_key", "status", "http_status", "first_seen",
	"last_seen", "captures", "changes", "digest", "first_digest", "mime", "length", "redirect"}

// tsvEscape is jq's @tsv escaping of a string.
var tsvEscape = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// The layouts project knows.
const (
	asJSON = iota
	asTSV
	asRaw
)

// project is the oracle for --fields, --tsv and --raw: what a full --rows
// JSON line becomes with only the named fields, as a JSON line, as jq's
// `[.f1, .f2, ...] | @tsv` prints it, or with the strings as jq -r prints
// them.
func project(t *testing.T, m map[string]json.RawMessage, fields []string, layout int) string {
	t.Helper()
	var parts []string
	for _, f := range fields {
		raw := m[f]
		switch {
		case layout == asJSON:
			parts = append(parts, fmt.Sprintf("%q:%s", f, raw))
		case string(raw) == "null":
			parts = append(parts, "")
		case raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			if layout == asTSV {
				s = tsvEscape.Replace(s)
			}
			parts = append(parts, s)
		default:
			parts = append(parts, string(raw))
		}
	}
	if layout != asJSON {
		return strings.Join(parts, "\t") + "\n"
	}
	return "{" + strings.Join(parts, ",") + "}\n"
}

// goldenAndCorpus returns the sample's golden .meguri file and, when the
// corpus gates are on, the corpus's ingest.
func goldenAndCorpus(t *testing.T) []string {
	files := []string{"../testdata/sample.meguri"}
	if input(t) != sample {
		f := filepath.Join(t.TempDir(), "corpus.meguri")
		mustRun(t, nil, "meguri-ingest", "-q", input(t), "-o", f)
		files = append(files, f)
	}
	return files
}

// TestInspectFields: --fields and --tsv print, in every mode that prints
// records (--rows, --url, --host, --urls) and from a file or a pipe, what
// the full --rows JSON lines say, cut to the named fields in their order;
// TSV values are what jq's @tsv makes of the JSON values. On the sample and
// on the corpus.
func TestInspectFields(t *testing.T) {
	files := goldenAndCorpus(t)
	some := []string{"last_seen", "url", "digest", "path_key", "mime"}
	brigitteKey := fmt.Sprintf("0x%016x\n", xxhash.Sum64String("brigitte.de"))
	for _, file := range files {
		rows := bytes.SplitAfter(mustRun(t, nil, "meguri-inspect", "--rows", file), []byte("\n"))
		rows = rows[:len(rows)-1]
		var allTSV, someTSV, someJSON, allRaw, urls, rawURLs, brigitte, brigitteURLs strings.Builder
		for _, line := range rows {
			var r map[string]json.RawMessage
			if err := json.Unmarshal(line, &r); err != nil || len(r) != len(fieldNames) {
				t.Fatalf("--rows line %q: %v", line, err)
			}
			allTSV.WriteString(project(t, r, fieldNames, asTSV))
			someTSV.WriteString(project(t, r, some, asTSV))
			someJSON.WriteString(project(t, r, some, asJSON))
			allRaw.WriteString(project(t, r, fieldNames, asRaw))
			u := project(t, r, []string{"url"}, asTSV)
			urls.WriteString(u)
			rawURLs.WriteString(project(t, r, []string{"url"}, asRaw))
			if project(t, r, []string{"host_key"}, asTSV) == brigitteKey {
				brigitte.WriteString(project(t, r, []string{"url", "status"}, asTSV))
				brigitteURLs.WriteString(u)
			}
		}
		if brigitte.Len() == 0 {
			t.Fatalf("%s: no brigitte.de rows; the test wants some", file)
		}
		data := fileBytes(t, file)
		header := strings.Join(some, "\t") + "\n"
		for _, c := range []struct {
			args  []string
			stdin []byte
			want  string
		}{
			{[]string{"--rows", "--tsv", file}, nil, allTSV.String()},
			{[]string{"--rows", "--tsv", "--header", "-"}, data, strings.Join(fieldNames, "\t") + "\n" + allTSV.String()},
			{[]string{"--rows", "--fields", strings.Join(some, ","), file}, nil, someJSON.String()},
			{[]string{"--rows", "--fields", strings.Join(some, ","), "--tsv", "--header", file}, nil, header + someTSV.String()},
			{[]string{"--rows", "--fields", "url", "--tsv", "-"}, data, urls.String()},
			{[]string{"--rows", "--fields", "url", "--tsv", "--raw", file}, nil, rawURLs.String()},
			{[]string{"--rows", "--tsv", "--raw", file}, nil, allRaw.String()},
			{[]string{"--host", "www.brigitte.de", "--fields", "url,status", "--tsv", file}, nil, brigitte.String()},
			{[]string{"--urls", "-", "--fields", "url,status", "--tsv", file}, []byte(brigitteURLs.String()), brigitte.String()},
			{[]string{"--url", strings.TrimSpace(urls.String()[:strings.IndexByte(urls.String(), '\n')]), "--fields", strings.Join(some, ","), "--tsv", "--header", file}, nil,
				header + someTSV.String()[:strings.IndexByte(someTSV.String(), '\n')+1]},
		} {
			out, e, code := run(t, c.stdin, "meguri-inspect", c.args...)
			if code != 0 || string(out) != c.want || len(e) != 0 {
				got, want := strings.Split(string(out), "\n"), strings.Split(c.want, "\n")
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Errorf("%v: line %d\n got %q\nwant %q", c.args, i+1, got[i], want[i])
						break
					}
				}
				t.Fatalf("%v: exit %d, %q; %d lines, want %d", c.args, code, e, len(got), len(want))
			}
		}
	}
	// a record with a tab in its mime type: escaped in TSV, refused raw
	// unless the mime type is not printed
	tab := filepath.Join(t.TempDir(), "tab.meguri")
	mustRun(t, []byte(`{"url":"http://x.example/","timestamp":"20200101000000","mime":"a\tb","status":"200"}`+"\n"),
		"meguri-ingest", "-q", "-o", tab)
	if out := mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url,mime", "--tsv", tab); string(out) != "http://x.example/\ta\\tb\n" {
		t.Errorf("tab escaped: %q", out)
	}
	if out := mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url,status", "--tsv", "--raw", tab); string(out) != "http://x.example/\tcrawled\n" {
		t.Errorf("raw without the mime: %q", out)
	}
	out, e, code := run(t, nil, "meguri-inspect", "--rows", "--tsv", "--raw", tab)
	if code != 1 || len(out) != 0 || !strings.Contains(string(e), `a tab or line break in a value cannot be written as raw TSV: mime of http://x.example/ is "a\tb"`) {
		t.Errorf("raw with a tab: exit %d, stdout %q, stderr %q", code, out, e)
	}
	golden := files[0]
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fields", "url", golden}, "--fields goes with a mode that prints records: --rows, --url, --host or --urls"},
		{[]string{"--verify", "--tsv", "--header", golden}, "--tsv, --header go with a mode that prints records"},
		{[]string{"--rows", "--header", golden}, "--header goes with --tsv"},
		{[]string{"--rows", "--raw", golden}, "--raw goes with --tsv"},
		{[]string{"--urls", "-", "--absent", "--tsv", golden}, "--tsv: --absent prints the list's own lines, not records"},
		{[]string{"--rows", "--fields", "url,hostname", golden}, `--fields: unknown field "hostname"; choose from url,host_key,path_key,`},
		{[]string{"--rows", "--fields", "url,url", golden}, `--fields: field "url" named twice`},
	} {
		out, e, code := run(t, nil, "meguri-inspect", c.args...)
		if code != 2 || len(out) != 0 || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, e, c.want)
		}
	}
}

// TestHostAndGroupFields: --fields host,group print each record's host
// (the URL's authority without userinfo and port) and its grouping string:
// a suffix of the host whose xxHash64 is the record's host key, under
// grouping domain its registrable domain (or the host itself, for an IP
// address or a name without one), under grouping host the host. Neither
// is in the default --rows line. On the sample (both groupings) and on
// the corpus.
func TestHostAndGroupFields(t *testing.T) {
	byHost := filepath.Join(t.TempDir(), "byhost.meguri")
	mustRun(t, nil, "meguri-ingest", "-q", "--grouping", "host", sample, "-o", byHost)
	if bytes.Contains(mustRun(t, nil, "meguri-inspect", "--rows", byHost), []byte(`"group"`)) {
		t.Error("--rows prints group unasked")
	}
	for _, file := range append(goldenAndCorpus(t), byHost) {
		out := mustRun(t, nil, "meguri-inspect", "--rows", "--fields", "url,host_key,host,group", "--tsv", "--raw", file)
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		subdomains := 0
		for _, l := range lines {
			f := strings.Split(l, "\t")
			if len(f) != 4 {
				t.Fatalf("%s: %q", file, l)
			}
			u, key, host, group := f[0], f[1], f[2], f[3]
			authority := u[strings.Index(u, "://")+3:]
			if i := strings.IndexAny(authority, "/?#"); i >= 0 {
				authority = authority[:i]
			}
			authority = authority[strings.LastIndexByte(authority, '@')+1:]
			want := authority
			if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.HasSuffix(authority, "]") {
				want = authority[:i]
			}
			wantGroup := want
			if d, err := publicsuffix.EffectiveTLDPlusOne(want); file != byHost && err == nil && strings.HasSuffix(want, d) && !strings.HasSuffix(want, ".") {
				wantGroup = d
			}
			if host != want || group != wantGroup || key != fmt.Sprintf("0x%016x", xxhash.Sum64String(group)) {
				t.Fatalf("%s: %s: host %q group %q key %s; want host %q group %q", file, u, host, group, key, want, wantGroup)
			}
			if group != host {
				subdomains++
			}
		}
		if (subdomains == 0) != (file == byHost) {
			t.Errorf("%s: %d of %d rows have a group other than their host", file, subdomains, len(lines))
		}
	}
}
