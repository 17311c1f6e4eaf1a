// Command meguri-inspect reads .meguri files, one or a fleet through its
// manifest: a summary from the two ends, full verification, row dumps as
// JSON lines or TSV (all records, or those of chosen statuses and capture
// times), and lookups (one URL, one host group, a list of URLs) that read
// only the blocks they need.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/inspect"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

type args struct {
	cli.VersionFlag
	Files    []string  `arg:"" optional:"" name:"FILE" help:"A .meguri file, '-' for stdin, or a partition directory (its counters; --verify checks its snapshot and log; the modes that print records read its records as meguri-pack would write them). Several: the summary, or --verify, of each (exit 1 if any fails); the modes that print records read one. Omitted with --manifest, which reads a fleet's files instead."`
	JSON     bool      `name:"json" help:"Print the summary as one JSON object (stable field names)."`
	Verify   bool      `help:"Check every checksum and decode every page; on damage exit 1 naming the region, block and column. Prints per-column sizes."`
	Progress *bool     `negatable:"" help:"With --verify: show the blocks checked so far on stderr; with --urls, the lines read (default: when stderr is a terminal)."`
	Rows     bool      `help:"Print every record as one JSON line (for jq), or as --fields and --tsv say."`
	URL      string    `name:"url" placeholder:"URL" help:"Print the record of URL (canonicalized first), reading only the block that can hold it. Exit 0 when found, 1 when absent (the message names the URL's other spellings the file holds: http or https, www. or not, a trailing slash or not), 2 when the file cannot be read (as grep)."`
	URLs     string    `name:"urls" placeholder:"PATH" help:"Look up every URL listed in PATH, one per line ('-' for stdin; plain, gzip or zstd; a line of CDX in any form ingest reads, such as a {\"url\":...} JSON line, stands for its URL): print the record of each one the file holds, as --rows prints it, in input order. Each chunk of lines is sorted by key and every block it needs is read once. Lines that are not http(s) URLs are named on stderr and skipped. FILE must be a file or a partition directory, not a pipe."`
	Absent   bool      `help:"With --urls, print instead the input lines whose URL the file does not hold (the new URLs), verbatim."`
	Mem      *cli.Size `placeholder:"SIZE" help:"With --urls: the working set of a chunk of lines (default 512M, or half the machine's memory, the container's memory limit or the address space ulimit -v leaves, when less; a chunk is 262,144 lines, fewer when they are long). Each chunk decodes every block its URLs fall in, so a long list against large files or a fleet makes about one pass over them per chunk: a larger budget makes fewer, larger chunks (--mem 4G: 2M lines)."`
	Commits  bool      `help:"With a partition directory: list the transactions committed to its log since the last checkpoint, one meguri-ingest --data run each, in order: commit time, input lines, captures and links taken, and the inputs it recorded. --json prints one object a line."`
	Host     string    `name:"host" placeholder:"HOST|KEY" help:"Print the records of one host group as --rows prints them, reading only the blocks that hold its key: a host name or URL (keyed as ingest keys it; under grouping domain the whole registrable domain, every subdomain), or a host key (0x + hex, 16 hex digits as xxhsum prints it, or decimal). Exit 0 when it has records, 1 when it has none, 2 when the file cannot be read (as grep)."`

	Fields []string `name:"fields" sep:"," placeholder:"FIELD" help:"With --rows, --url, --host or --urls: print only these fields, in this order (url, host_key, path_key, status, http_status, first_seen, last_seen, captures, changes, digest, first_digest, mime, length, redirect; and, printed only when named, host and group: the grouping string whose xxHash64 is host_key). --rows --fields group --tsv --raw | uniq -c counts the URLs of each host group (rows are in host-key order)."`
	TSV    bool     `name:"tsv" help:"With --rows, --url, --host or --urls: print tab-separated values instead of JSON lines, each value as jq's @tsv would print it (strings unquoted with \\, \\t, \\n, \\r escaped; null as nothing)."`
	Raw    bool     `help:"With --tsv: print strings unescaped, as jq -r prints them (--rows --fields url --tsv --raw is a plain URL list). A record with a tab or line break in a printed string is an error (exit 1), never a broken line."`
	Header bool     `help:"With --tsv: print the field names as a first line."`

	Status      []string `name:"status" sep:"," placeholder:"STATUS" help:"With --rows, --host or --urls: print only the records of these statuses (discovered, crawled, redirect, gone, error, revisit, unknown)."`
	SeenSince   string   `name:"seen-since" placeholder:"TIME" help:"With --rows, --host or --urls: print only the records last captured at or after TIME: a CDX timestamp of 4 to 14 digits (2024, 20240601) or a duration back from --now (30d, 12h)."`
	UnseenSince string   `name:"unseen-since" placeholder:"TIME" help:"With --rows, --host or --urls: print only the records not captured since TIME (as --seen-since reads it): last captured before it, or never captured. What is due for a fetch; --status gone --unseen-since 90d lists what meguri-compact --gc --horizon 90d drops."`
	Now         string   `placeholder:"TIMESTAMP" help:"The time the durations of --seen-since and --unseen-since count back from, as a 14-digit CDX timestamp or an ISO time to the second (2024-06-15T10:00:00Z; no zone is UTC). Default: the current time."`

	Manifest string `name:"manifest" placeholder:"PATH" help:"Read the fleet this manifest lists instead of one FILE ('-' for stdin): --rows prints every partition's records in key order; --url, --host and --urls look each URL or host up in the partition that owns it (--urls --absent: the URLs new to the whole fleet); --verify checks every file. Each file must agree with its manifest row (id, range) and all must share a grouping. A row may name a partition directory: it reads as meguri-pack would write it."`
	Dir      string `name:"dir" placeholder:"DIR" help:"With --manifest: the directory its relative file names are taken from (default: the manifest's own directory), as for meguri-route update --dir."`
}

const description = `Read a .meguri file, or a fleet's files through its manifest.

With no mode flag, print a short summary read from the file's two ends
(header and trailer) without decoding any column. --rows, --url, --host and
--urls print records; --status, --seen-since and --unseen-since choose
which; --fields and --tsv shape them.

Examples:
  meguri-inspect part-7.meguri
  meguri-inspect --verify part-7.meguri
  meguri-inspect --verify parts/*.meguri # a line each; exit 1 if any fails
  meguri-inspect --rows part-7.meguri | jq -r 'select(.status=="gone") | .url'
  meguri-inspect --url https://example.com/ part-7.meguri
  meguri-inspect --host example.com part-7.meguri | jq -r .url
  meguri-inspect --urls discovered.txt --absent part-7.meguri > new.txt
  meguri-inspect --rows --fields url --tsv --raw part-7.meguri > urls.txt
  meguri-inspect --rows --fields url,status,last_seen --tsv --header part-7.meguri
  meguri-inspect --rows --unseen-since 30d --fields url --tsv --raw part-7.meguri > due.txt
  meguri-inspect --rows --status gone --unseen-since 90d part-7.meguri   # what --gc would drop
  meguri-inspect part-7/                 # a live partition directory's counters
  meguri-inspect --rows part-7/          # and its records, packed on the fly
  meguri-inspect --commits part-7/       # the --data runs committed since its last checkpoint
  meguri-inspect --manifest fleet.manifest --urls links.txt --absent > new.txt   # new to the fleet
  meguri-inspect --manifest fleet.manifest --rows --unseen-since 30d --fields url --tsv --raw`

func main() {
	cli.Init("meguri-inspect")
	var a args
	kong.Parse(&a, cli.Kong("meguri-inspect", description)...)
	code, err := run(&a)
	if err != nil && code == 1 && (a.URL != "" || a.Host != "") && !errors.Is(err, syscall.EPIPE) {
		// A lookup exits as grep does: 1 means absent, so anything that
		// keeps it from answering (a damaged or missing file) is 2, and
		// a script's `if meguri-inspect --url U f` never takes a file it
		// could not read for a URL it does not hold.
		code = 2
	}
	if err != nil && code == 2 {
		fmt.Fprintf(os.Stderr, "meguri-inspect: %v\n", err)
		os.Exit(2)
	}
	cli.Done("meguri-inspect", err)
	os.Exit(code)
}

// flag is a flag of a group that may conflict, by name.
type flag struct {
	on   bool
	name string
}

// given returns the names of the flags that are on.
func given(flags ...flag) []string {
	var names []string
	for _, f := range flags {
		if f.on {
			names = append(names, f.name)
		}
	}
	return names
}

// modes returns the mode flags given, by name: at most one may be.
func (a *args) modes() []string {
	return given(flag{a.Verify, "--verify"}, flag{a.Rows, "--rows"}, flag{a.URL != "", "--url"},
		flag{a.Host != "", "--host"}, flag{a.URLs != "", "--urls"}, flag{a.Commits, "--commits"})
}

// layout checks the flags that shape printed records and returns the
// layout they ask for.
func (a *args) layout() (record.Layout, error) {
	var l record.Layout
	given := given(flag{a.Fields != nil, "--fields"}, flag{a.TSV, "--tsv"}, flag{a.Raw, "--raw"}, flag{a.Header, "--header"})
	switch {
	case len(given) == 0:
		return l, nil
	case a.Absent:
		return l, fmt.Errorf("%s: --absent prints the list's own lines, not records", strings.Join(given, ", "))
	case !a.Rows && a.URL == "" && a.Host == "" && a.URLs == "":
		verb := "goes"
		if len(given) > 1 {
			verb = "go"
		}
		return l, fmt.Errorf("%s %s with a mode that prints records: --rows, --url, --host or --urls", strings.Join(given, ", "), verb)
	case a.Header && !a.TSV:
		return l, fmt.Errorf("--header goes with --tsv")
	case a.Raw && !a.TSV:
		return l, fmt.Errorf("--raw goes with --tsv")
	}
	l.TSV, l.Raw = a.TSV, a.Raw
	if a.Fields != nil {
		var err error
		if l.Fields, err = record.ParseFields(a.Fields); err != nil {
			return l, fmt.Errorf("--fields: %w", err)
		}
	}
	return l, nil
}

// filter checks the flags that choose records and returns the filter they
// ask for.
func (a *args) filter() (record.Filter, error) {
	var f record.Filter
	given := given(flag{a.Status != nil, "--status"}, flag{a.SeenSince != "", "--seen-since"}, flag{a.UnseenSince != "", "--unseen-since"})
	switch {
	case len(given) == 0 && a.Now != "":
		return f, fmt.Errorf("--now goes with --seen-since or --unseen-since")
	case len(given) == 0:
		return f, nil
	case a.Absent:
		return f, fmt.Errorf("%s: --absent prints the list's own lines, not records", strings.Join(given, ", "))
	case !a.Rows && a.Host == "" && a.URLs == "":
		verb := "goes"
		if len(given) > 1 {
			verb = "go"
		}
		return f, fmt.Errorf("%s %s with a mode that prints many records: --rows, --host or --urls", strings.Join(given, ", "), verb)
	}
	var err error
	if a.Status != nil {
		if f.Statuses, err = record.ParseStatuses(a.Status); err != nil {
			return f, fmt.Errorf("--status: %w", err)
		}
	}
	now, err := cli.Now(a.Now)
	if err != nil {
		return f, err
	}
	if a.SeenSince != "" {
		if f.SeenSince, err = cli.Since("--seen-since", a.SeenSince, now); err != nil {
			return f, err
		}
	}
	if a.UnseenSince != "" {
		if f.UnseenSince, err = cli.Since("--unseen-since", a.UnseenSince, now); err != nil {
			return f, err
		}
	}
	return f, nil
}

func run(a *args) (int, error) {
	modes := a.modes()
	if len(modes) > 1 {
		return 2, fmt.Errorf("%s are separate modes; give one", strings.Join(modes, ", "))
	}
	if a.Absent && a.URLs == "" {
		return 2, fmt.Errorf("--absent goes with --urls")
	}
	if a.Progress != nil && *a.Progress && !a.Verify && a.URLs == "" {
		return 2, fmt.Errorf("--progress goes with --verify or --urls")
	}
	if a.Mem != nil && a.URLs == "" {
		return 2, fmt.Errorf("--mem goes with --urls")
	}
	layout, err := a.layout()
	if err != nil {
		return 2, err
	}
	filter, err := a.filter()
	if err != nil {
		return 2, err
	}
	switch {
	case a.URLs == "-" && slices.Contains(a.Files, "-"):
		return 2, fmt.Errorf("--urls - and FILE - both name stdin; give the .meguri file by name")
	case a.URLs == "-" && a.Manifest == "-":
		return 2, fmt.Errorf("--urls - and --manifest - both name stdin; give the manifest by name")
	case a.Manifest != "" && len(a.Files) > 0:
		return 2, fmt.Errorf("give FILE or --manifest, not both")
	case a.Manifest == "" && len(a.Files) == 0:
		return 2, fmt.Errorf("give a .meguri FILE ('-' for stdin), a partition directory, or --manifest")
	case len(a.Files) > 1 && len(modes) == 1 && !a.Verify:
		return 2, fmt.Errorf("%s reads one FILE; to read many partitions as one, give their manifest (--manifest)", modes[0])
	case stdinTwice(a.Files):
		return 2, fmt.Errorf("FILE - (stdin) given twice")
	case a.Manifest == "" && a.Dir != "":
		return 2, fmt.Errorf("--dir goes with --manifest")
	case a.Manifest != "" && len(modes) == 0:
		return 2, fmt.Errorf("--manifest reads the fleet's files with --rows, --url, --host, --urls or --verify; meguri-route --manifest %s prints its map", a.Manifest)
	}
	if err := cli.BinaryFromTerminal(a.Files); err != nil {
		return 2, err
	}
	if a.Commits {
		if len(a.Files) != 1 {
			return 2, fmt.Errorf("--commits reads one partition directory")
		}
		if st, err := os.Stat(a.Files[0]); err != nil {
			return 1, cli.CannotRead(a.Files[0], err)
		} else if !st.IsDir() {
			return 2, fmt.Errorf("--commits lists the runs meguri-ingest --data committed to a partition directory; %s is a file", a.Files[0])
		}
		return listCommits(a, a.Files[0])
	}
	// --host keyed under the default grouping: checks the value before
	// anything is read, and names the host of a file that has no block
	var key uint64
	var group string
	if a.Host != "" {
		var err error
		if key, group, err = cli.HostKey("--host", a.Host, canon.ByDomain); err != nil {
			return 2, err
		}
	}
	if a.URL != "" {
		if _, err := cli.URL("--url", a.URL); err != nil {
			return 2, err
		}
	}
	if a.Manifest != "" {
		fl, err := inspect.OpenFleet(a.Manifest, a.Dir)
		if err != nil {
			return 1, err
		}
		defer fl.Close()
		if a.Verify {
			return verifyFleet(a, fl)
		}
		return printRecords(a, fl, fl.Name, "", layout, filter, key, group)
	}
	if len(a.Files) > 1 {
		return summarizeAll(a)
	}
	file := a.Files[0]
	if len(modes) == 1 && !a.Verify {
		if isDir(file) {
			return readDir(a, file, layout, filter, key, group)
		}
		src, err := inspect.Open(file)
		if err != nil {
			return 1, err
		}
		defer src.Close()
		return printRecords(a, src, src.Name, src.Name, layout, filter, key, group)
	}
	s, checked, err := summarize(a, file)
	if err != nil {
		return 1, err
	}
	printSummary(a, s, checked)
	return 0, nil
}

func stdinTwice(files []string) bool {
	n := 0
	for _, f := range files {
		if f == "-" {
			n++
		}
	}
	return n > 1
}

// readDir reads a partition directory's records as meguri-pack would
// write them.
func readDir(a *args, dir string, layout record.Layout, filter record.Filter, key uint64, group string) (int, error) {
	src, err := inspect.OpenDir(dir, a.URLs != "") // a batch lookup seeks
	if err != nil {
		return 1, err
	}
	defer src.Close()
	return printRecords(a, src, dir, dir, layout, filter, key, group)
}

// listCommits is --commits: the transactions of a partition directory's
// log since its last checkpoint.
func listCommits(a *args, dir string) (int, error) {
	v, err := logstore.Open(dir)
	if err != nil {
		return 1, err
	}
	defer v.Close()
	commits, err := v.Commits()
	if err != nil {
		return 1, err
	}
	i, carried := -1, 0
	for _, c := range commits {
		if c.Carried() {
			carried += len(c.Inputs)
			continue
		}
		i++
		ts := record.FormatTimestamp(c.Unix)
		if a.JSON {
			b := fmt.Appendf(nil, `{"generation":%d,"transaction":%d,"commit_time":"%s","lines":%d,"taken":%d,"inputs":[`, v.Generation, i+1, ts, c.Lines, c.Taken)
			for j, in := range c.Inputs {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"name":`...)
				b = record.AppendString(b, in.Name)
				b = fmt.Appendf(b, `,"hash":"%s","bytes":%d}`, units.Key(in.Hash), in.Size)
			}
			fmt.Fprintf(cli.Stdout, "%s]}\n", b)
		} else {
			names := make([]string, len(c.Inputs))
			for j, in := range c.Inputs {
				names[j] = in.Name
			}
			line := fmt.Sprintf("transaction %-5d committed %s  %10d lines  %10d taken  %s", i+1, ts, c.Lines, c.Taken, strings.Join(names, " "))
			fmt.Fprintln(cli.Stdout, strings.TrimRight(line, " "))
		}
	}
	if !a.JSON {
		fmt.Fprintf(os.Stderr, "meguri-inspect: %s generation %d: %d transactions since the snapshot; %d inputs of earlier runs carried by checkpoints\n", dir, v.Generation, i+1, carried)
	}
	return 0, nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// summarize reads the summary of a .meguri file or a partition directory
// (after checking every checksum with --verify), and says what --verify
// checked.
func summarize(a *args, path string) (summary, string, error) {
	if isDir(path) {
		return inspectDir(a, path)
	}
	src, err := inspect.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer src.Close()
	var sum inspect.Summary
	if a.Verify {
		sum, err = verifyMetered(a, src)
	} else {
		sum, err = src.Summarize()
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src.Name, err)
	}
	return &sum, "every checksum matches and every block decodes", nil
}

// summarizeAll is the summary, or --verify, of several inputs: each as
// for one (text summaries apart by a blank line; --json one object a
// line), except that --verify as text prints a line for each; a failure
// is named on stderr and the others still go. Exit 1 if any failed.
func summarizeAll(a *args) (int, error) {
	failed, files := 0, 0
	var urls uint64
	for i, path := range a.Files {
		s, _, err := summarize(a, path)
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "meguri-inspect: %v\n", err)
			continue
		}
		switch {
		case a.JSON:
			fmt.Fprintln(cli.Stdout, s.JSON())
		case a.Verify:
			var h codec.Header
			var what string
			if sum, ok := s.(*inspect.Summary); ok {
				h, what = sum.Header, fmt.Sprintf("%10d urls", sum.Stats.URLs)
				urls += sum.Stats.URLs
				files++
			} else {
				v := s.(*logstore.View)
				h, what = v.Header, fmt.Sprintf("%15s", "directory")
			}
			fmt.Fprintf(cli.Stdout, "ok  partition %-6d %s .. %s  %s  %s\n", h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), what, path)
		default:
			if i > 0 {
				fmt.Fprintln(cli.Stdout)
			}
			fmt.Fprint(cli.Stdout, s.Text())
		}
	}
	if failed > 0 {
		return 1, fmt.Errorf("%d of %d inputs failed (named above)", failed, len(a.Files))
	}
	if a.Verify && !a.JSON {
		fmt.Fprintf(cli.Stdout, "verify ok: %d inputs (%d files, %d urls in them); every checksum matches, every block (and log frame) decodes\n", len(a.Files), files, urls)
	}
	return 0, nil
}

// summary is a summary that prints for people and as one JSON object.
type summary interface {
	JSON() string
	Text() string
}

// printSummary prints s as one JSON object with --json, else as text
// followed, with --verify, by the line saying what was checked.
func printSummary(a *args, s summary, checked string) {
	if a.JSON {
		fmt.Fprintln(cli.Stdout, s.JSON())
		return
	}
	fmt.Fprint(cli.Stdout, s.Text())
	if a.Verify {
		fmt.Fprintln(cli.Stdout, "verify      ok: "+checked)
	}
}

// records is what the modes that print records read: one file, or a
// fleet.
type records interface {
	Rows(w io.Writer, l *record.Layout, f *record.Filter) error
	LookupNear(rawURL string) (*record.Record, uint64, []string, error)
	HostRows(w io.Writer, l *record.Layout, f *record.Filter, key func(canon.Grouping) (uint64, error)) (held, written int, err error)
	LookupLines(r io.Reader, w io.Writer, opt inspect.BatchOptions) (inspect.BatchCounts, error)
}

// printRecords runs the mode that prints records (--rows, --url, --host,
// --urls) on rd, named name in messages. rd's errors are prefixed with
// errName unless it is "" (a fleet's errors name their file already). key
// and group are --host's key and grouping string under the default
// grouping.
func printRecords(a *args, rd records, name, errName string, layout record.Layout, filter record.Filter, key uint64, group string) (int, error) {
	named := func(err error) error {
		if errName == "" {
			return err
		}
		return fmt.Errorf("%s: %w", errName, err)
	}
	if a.Header {
		if _, err := os.Stdout.Write(layout.Header()); err != nil {
			return 1, err
		}
	}
	switch {
	case a.Rows:
		if err := rd.Rows(os.Stdout, &layout, &filter); err != nil {
			return 1, named(err)
		}
	case a.URL != "":
		r, path, held, err := rd.LookupNear(a.URL)
		if err != nil {
			return 1, named(err)
		}
		if r == nil {
			u, _ := canon.Canonicalize(a.URL)
			fmt.Fprintf(os.Stderr, "meguri-inspect: %s: not in %s%s%s\n", u, name, outside(rd, 0, u), heldInstead(held))
			return 1, nil
		}
		line, err := layout.AppendLine(nil, r, path)
		if err != nil {
			return 1, named(err)
		}
		if _, err := os.Stdout.Write(line); err != nil {
			return 1, err
		}
	case a.URLs != "":
		return lookupLines(a, rd, named, layout, filter)
	case a.Host != "":
		var grouping canon.Grouping
		held, _, err := rd.HostRows(os.Stdout, &layout, &filter, func(g canon.Grouping) (uint64, error) {
			var err error
			grouping = g
			key, group, err = cli.HostKey("--host", a.Host, g)
			return key, err
		})
		if err != nil {
			return 1, named(err)
		}
		if held == 0 {
			what := units.Key(key)
			if group != "" {
				what = group + " (host key " + what + ")"
			}
			fmt.Fprintf(os.Stderr, "meguri-inspect: %s: not in %s%s%s\n", what, name, outside(rd, key, ""), otherHost(rd, &layout, grouping, group))
			return 1, nil
		}
	}
	return 0, nil
}

// heldInstead is what follows "not in FILE" when the file holds other
// spellings of the URL (LookupNear): the one likely meant.
func heldInstead(held []string) string {
	switch len(held) {
	case 0:
		return ""
	case 1:
		return "; it holds " + held[0]
	}
	return "; it holds " + strings.Join(held[:len(held)-1], ", ") + " and " + held[len(held)-1]
}

// otherHost is what follows "not in FILE" for a host under grouping host
// when the file holds records of the host with "www." on or off (under
// grouping domain both are one group already). It reads the file again,
// so a stream (or a directory, which would be folded again) gets none.
func otherHost(rd records, l *record.Layout, g canon.Grouping, host string) string {
	other, ok := canon.OtherWWW(host)
	if g != canon.ByHost || host == "" || !ok {
		return ""
	}
	if src, ok := rd.(*inspect.Source); ok && src.File == nil {
		return ""
	}
	n, _, err := rd.HostRows(io.Discard, l, &record.Filter{}, func(canon.Grouping) (uint64, error) {
		return canon.KeyOfHost(other, g), nil
	})
	if err != nil || n == 0 {
		return ""
	}
	records := "records"
	if n == 1 {
		records = "record"
	}
	return fmt.Sprintf("; it holds %d %s of %s (--host %s)", n, records, other, other)
}

// outside is what follows "not in FILE" when the file could not hold the
// key (or, when url is not "", the canonical url's host key) at all: its
// range leaves it to another partition. A fleet covers the key space, so
// it has nothing to add.
func outside(rd records, key uint64, url string) string {
	src, ok := rd.(*inspect.Source)
	if !ok {
		return ""
	}
	lo, hi, g, ok := src.Range()
	if !ok {
		return ""
	}
	what, flag := "the key lies", "--host HOST"
	if url != "" {
		key = canon.KeysOf(url, g).Host
		what, flag = "its host key "+units.Key(key)+" lies", "--url URL"
	}
	if key >= lo && key <= hi {
		return ""
	}
	return fmt.Sprintf(", whose range is %s..%s: %s outside it, in another partition's (meguri-route --manifest MAP %s names which)", units.Key(lo), units.Key(hi), what, flag)
}

// verifyFleet is --verify --manifest: every file of the fleet checked, a
// line (or a JSON object) for each; a file that fails is named on stderr
// and the others are still checked.
func verifyFleet(a *args, fl *inspect.Fleet) (int, error) {
	checked, files, dirs := 0, 0, 0
	var urls uint64
	meter := cli.NewMeter(a.Progress)
	if meter != nil {
		fl.Progress = func(name string, blocks int, rows uint64) {
			meter.Printf("meguri-inspect: verify %s: %d blocks, %d urls checked", name, blocks, rows)
		}
	}
	failed := fl.Verify(func(sum inspect.Summary, err error) {
		meter.Clear()
		checked++
		h := sum.Header
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "meguri-inspect: %v\n", err)
		case sum.Live != nil: // a partition directory: its snapshot and log
			dirs++
			if a.JSON {
				fmt.Fprintln(cli.Stdout, sum.Live.JSON())
			} else {
				fmt.Fprintf(cli.Stdout, "ok  partition %-6d %s .. %s  %15s  %s\n", h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), "directory", sum.Name)
			}
		default:
			files++
			urls += sum.Stats.URLs
			if a.JSON {
				fmt.Fprintln(cli.Stdout, sum.JSON())
			} else {
				fmt.Fprintf(cli.Stdout, "ok  partition %-6d %s .. %s  %10d urls  %s\n", h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), sum.Stats.URLs, sum.Name)
			}
		}
	})
	if failed > 0 {
		return 1, fmt.Errorf("%d of %d files failed (named above)", failed, checked)
	}
	if !a.JSON {
		live := ""
		if dirs > 0 {
			live = fmt.Sprintf(", and %d partition directories, their snapshot and log", dirs)
		}
		fmt.Fprintf(cli.Stdout, "verify ok: %d files, %d urls%s; every checksum matches, every block decodes, each agrees with its manifest row\n", files, urls, live)
	}
	return 0, nil
}

// verifyMetered is src.Verify with a progress line on stderr, if asked
// for or on a terminal.
func verifyMetered(a *args, src *inspect.Source) (inspect.Summary, error) {
	meter := cli.NewMeter(a.Progress)
	if meter != nil {
		of := ""
		if src.File != nil {
			of = fmt.Sprintf(" of %d", len(src.File.Blocks))
		}
		src.Progress = func(blocks int, rows uint64) {
			meter.Printf("meguri-inspect: verify %s: block %d%s, %d urls checked", src.Name, blocks, of, rows)
		}
	}
	defer meter.Clear()
	return src.Verify()
}

// lookupLines is --urls: a batch lookup of the URLs listed in a.URLs.
func lookupLines(a *args, rd records, named func(error) error, layout record.Layout, filter record.Filter) (int, error) {
	if a.URLs == "-" {
		cli.LinesFromTerminal("meguri-inspect", "URLs", "give --urls FILE to read a list")
	}
	// opened as ingest opens its inputs: plain, gzip or zstd
	var raw int64
	in, err := input.OpenCounting(a.URLs, &raw)
	if errors.Is(err, input.ErrMeguri) {
		return 2, fmt.Errorf("--urls %s is a .meguri file, not a list of URLs: the list goes to --urls, the file to look them up in as FILE", a.URLs)
	}
	if err != nil {
		return 1, fmt.Errorf("--urls %w", err)
	}
	defer in.Close()
	name := in.Name
	const shown = 20
	skipped, bare := 0, 0
	// a list of millions of lines takes a while: the share of it read
	meter := cli.NewMeter(a.Progress)
	defer meter.Clear()
	var list io.Reader = in
	var progress func(int)
	var lookingUp func(int, int, int)
	if reading := meter.Reading("meguri-inspect --urls", []string{a.URLs}); reading != nil {
		var read int64 // decompressed, as the lines count them
		list = input.CountBytes(in, &read)
		progress = func(lines int) { reading(int64(lines), read, raw) }
		lookingUp = func(first, last, urls int) {
			meter.Now("meguri-inspect --urls: looking up the %d URLs of lines %d to %d", urls, first, last)
		}
	}
	var chunk, chunkBytes int // 0: the library's, for inspect.LookupMem
	if a.Mem != nil {
		chunk, chunkBytes = inspect.ChunkFor(int64(*a.Mem))
	} else if mem, why := cli.MemDefault(inspect.LookupMem); why != "" {
		chunk, chunkBytes = inspect.ChunkFor(mem)
		cli.SayMemLowered("meguri-inspect", mem, why)
	}
	n, err := rd.LookupLines(list, os.Stdout, inspect.BatchOptions{Absent: a.Absent, Layout: layout, Filter: filter,
		Chunk: chunk, ChunkBytes: chunkBytes,
		Skip: func(line int, text []byte, err error) {
			skipped++
			if errors.Is(err, canon.ErrNotURL) && canon.MissingScheme(string(text)) {
				bare++
			}
			if skipped <= shown {
				meter.Clear()
				fmt.Fprintf(os.Stderr, "meguri-inspect: %s: line %d: skipped, %v: %.200q\n", name, line, err, text)
			}
		},
		Progress:  progress,
		LookingUp: lookingUp,
	})
	meter.Clear()
	if err != nil {
		return 1, named(err)
	}
	if n.Skipped > shown {
		fmt.Fprintf(os.Stderr, "meguri-inspect: %s: %d lines skipped in all (the first %d named above)\n", name, n.Skipped, shown)
	}
	if n.Unterminated > 0 {
		// --absent would print a cut URL as a new link
		cut := input.Cut{Inputs: 1, Source: name, Line: int64(n.Unterminated)}
		fmt.Fprintf(os.Stderr, "meguri-inspect: warning: %s\n", cut.Warning())
	}
	if bare > 0 {
		fmt.Fprintf(os.Stderr, "meguri-inspect: %s: %d of the lines skipped have no scheme (www.example.com/): put http:// in front to look them up (sed 's|^|http://|')\n", name, bare)
	}
	if src, ok := rd.(*inspect.Source); ok && n.Outside > 0 {
		lo, hi, _, _ := src.Range()
		what := "were not found"
		if a.Absent {
			what = "were printed as absent"
		}
		fmt.Fprintf(os.Stderr, "meguri-inspect: %s: %d of the %d URLs looked up %s because their host keys lie outside its range %s..%s: other partitions own them (give --manifest MAP to look up in the whole fleet)\n",
			src.Name, n.Outside, n.Lines-n.Skipped, what, units.Key(lo), units.Key(hi))
	}
	return 0, nil
}

// inspectDir reads a partition directory's counters, after checking every
// checksum of its snapshot and log with --verify.
func inspectDir(a *args, dir string) (summary, string, error) {
	v, err := logstore.Open(dir)
	if err != nil {
		return nil, "", err
	}
	defer v.Close()
	if a.Verify {
		src, err := inspect.Open(v.SnapshotPath())
		if err != nil {
			return nil, "", err
		}
		defer src.Close()
		if _, err := verifyMetered(a, src); err != nil {
			return nil, "", fmt.Errorf("%s: %w", src.Name, err)
		}
		if err := v.VerifyLog(); err != nil {
			return nil, "", err
		}
	}
	return v, "every checksum matches, every snapshot block and log frame decodes", nil
}
