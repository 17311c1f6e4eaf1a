// Command meguri-ingest reads CDX lines and writes one sorted, folded
// .meguri partition file.
package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/meguri/meguri/lib/atomicfile"
	"github.com/meguri/meguri/lib/cdx"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/ingest"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

type args struct {
	cli.VersionFlag
	Files       []string `arg:"" optional:"" name:"FILE" help:"CDX inputs, line by line: JSON objects, 'SURT TIMESTAMP {json}' lines, space-separated CDX (CDX-11, 9-field, the Wayback CDX server's 7 fields, or its output=json rows; other fields by their legend line, header row or --cdx-fields), or discovered links ({\"url\":...} lines or bare URLs); plain, gzip or zstd (detected from the bytes). None or '-' reads stdin."`
	Output      string   `short:"o" default:"-" placeholder:"PATH" help:"Write the .meguri file here ('-' for stdout). Written atomically: a failed run leaves no file."`
	PartitionID uint64   `name:"partition-id" default:"0" placeholder:"N" help:"Partition id recorded in the header."`
	Range       string   `placeholder:"LO:HI" help:"Inclusive host-key range in hex, 0x optional; LO..HI too, as meguri-inspect prints a file's range (default: all keys). Records outside are rejected (out_of_range)."`
	Manifest    string   `placeholder:"PATH" help:"Take the range from the row of --partition-id in this manifest (a map from meguri-route balance, or rows from meguri-compact) instead of --range."`
	cli.GroupingFlag
	Mem     cli.Size `default:"1G" placeholder:"SIZE" help:"Working-set budget (default 1G, or half the machine's memory, the container's memory limit or the address space ulimit -v leaves, when less); past it sorted runs spill to --tmp. Output bytes do not depend on it."`
	Tmp     string   `type:"existingdir" placeholder:"DIR" help:"Directory for spilled runs (default: the system temp dir); must exist."`
	MaxLine cli.Size `name:"max-line" default:"1M" placeholder:"SIZE" help:"Longest line taken (default 1M, at most 128M); longer lines are rejected (too_long)."`
	cdx.FieldsFlag
	Rejects    string `placeholder:"PATH" help:"Write every rejected line as JSON {source,line,reason,text} to PATH (gzip when PATH ends in .gz, zstd in .zst)."`
	Strict     bool   `help:"Stop at the first rejected line and exit non-zero, naming file and line (a CDX legend line or a Wayback resume key does not stop it)."`
	Progress   *bool  `negatable:"" help:"Show progress on stderr (default: when stderr is a terminal)."`
	Quiet      bool   `short:"q" help:"Do not print the run summary."`
	AllowEmpty bool   `name:"allow-empty" help:"Replace an -o file that holds records even when this run takes no line. Without it such a run (an empty pipe after a failed command, every line rejected or out of --range) leaves the file as it was and exits 1."`
	JSON       bool   `name:"json" help:"Print the run summary as JSON on stderr."`

	Data       string `placeholder:"DIR" help:"Append the captures to the live partition directory DIR (made on first use with --partition-id, --range and --grouping) as one transaction, instead of writing a file. Pack it with meguri-pack."`
	Durability string `enum:"none,normal,full" default:"full" help:"With --data, when the log reaches the device: full (before the run reports success), normal (at checkpoints), none (never). Default full."`
	Checkpoint bool   `help:"With --data, fold the log into a new snapshot after appending (what meguri-compact --data does)."`
	Again      bool   `help:"With --data, append inputs even when the directory has committed the same content before (a run re-run): their captures then count twice. Without it a run whose inputs were all committed appends nothing and exits 0; beside new inputs, a file committed under its name and unchanged is not read, one grown since is read from where that run ended, and content committed under another name (a copy) is refused."`
	// AllowUnterminated commits a --data run an input of which ends
	// inside a line; without it such a run commits nothing.
	AllowUnterminated bool `name:"allow-unterminated" help:"With --data, commit a run though an input ends inside a line, with no line end. Without it such a run commits nothing and exits 1: a stream cut short ends so, and the whole input run later would count the lines before the cut twice."`

	rangeFrom string // the flag that gave the range, "" for none: "--range" or "--manifest M (...)"
	// groupingFrom is what gave the grouping, "" for the default:
	// "--grouping" or "--manifest M (its grouping)"
	groupingFrom string
	ins          cli.Inputs // the inputs, looked up once by options
}

const description = `Turn CDX records into a sorted, folded .meguri partition file.

Every capture of a canonical URL folds into one record (newest capture wins,
equal times decided by the captures' own fields, counts add). Only http(s)
records are taken; every other line is counted as rejected with a reason.
A summary goes to stderr: lines = taken + rejected.

Examples:
  meguri-ingest cdx-00000.gz -o part-0.meguri
  curl -s 'https://web.archive.org/cdx/search/cdx?url=example.com' | meguri-ingest > ex.meguri
  zcat cdx-*.gz | meguri-ingest --rejects rejects.jsonl > all.meguri
  meguri-ingest --range 0:7fffffffffffffff --partition-id 1 in.jsonl -o p1.meguri
  meguri-ingest --manifest fleet.manifest --partition-id 3 parts/part-0003.jsonl -o parts/part-0003.meguri
  meguri-ingest --data part-1/ --partition-id 1 --range 0:7fffffffffffffff cdx-00001.gz`

func main() {
	cli.Init("meguri-ingest")
	var a args
	ctx := kong.Parse(&a, cli.Kong("meguri-ingest", description)...)
	cli.DefaultMem(ctx, "meguri-ingest", &a.Mem)
	err := a.fromManifest(ctx)
	only := dataOnly(&a, ctx)
	switch {
	case err != nil:
	case a.MaxLine > ingest.MaxLineLimit:
		err = cli.Usagef("--max-line %s: at most %s (a line's URL and redirect grow up to fourfold once canonical, and a .meguri row holds %s of them)",
			units.Bytes(int64(a.MaxLine)), units.Bytes(ingest.MaxLineLimit), units.Bytes(codec.MaxRowBytes))
	case a.AllowEmpty && a.Data != "":
		err = cli.Usagef("--allow-empty is for -o: a --data run that takes nothing appends nothing")
	case a.Data != "":
		err = runData(&a, ctx)
	case only != "":
		err = cli.Usagef("%s is for --data: it says how a run appends to a partition directory", only)
	default:
		err = run(&a)
	}
	if u := (*uncommitted)(nil); errors.As(err, &u) {
		u.err = hint(u.err, a.Data) // the hint next to what it mends, not after the note
	} else {
		err = hint(err, a.Data)
	}
	cli.Done("meguri-ingest", err)
}

// dataOnly returns the first flag given that only a --data run takes,
// "" for none.
func dataOnly(a *args, ctx *kong.Context) string {
	for _, f := range []struct {
		name string
		set  bool
	}{{"--durability", cli.Given(ctx, "durability")}, {"--checkpoint", a.Checkpoint}, {"--again", a.Again}, {"--allow-unterminated", a.AllowUnterminated}} {
		if f.set {
			return f.name
		}
	}
	return ""
}

// hint adds what to do instead to an error that means the input was not
// CDX but records; data is the --data directory, if any.
func hint(err error, data string) error {
	if errors.Is(err, input.ErrMeguri) {
		live := ""
		if data != "" {
			live = "; a live partition starts from one (meguri-pack --unpack FILE --data NEWDIR), or folds one in at a checkpoint (meguri-compact --data DIR --fold FILE)"
		}
		return fmt.Errorf("%w: its records are read by meguri-inspect, and combined with other .meguri files by meguri-compact (--fold for a base and a delta of one partition)%s", err, live)
	}
	if errors.As(err, new(*cdx.FoldedError)) {
		return fmt.Errorf("%w; combine .meguri files with meguri-compact, or ingest the CDX they came from", err)
	}
	return err
}

// fromManifest notes whether the range was given, and sets --range to
// the range of the --manifest row of --partition-id.
func (a *args) fromManifest(ctx *kong.Context) error {
	if cli.Given(ctx, "range") {
		a.rangeFrom = "--range"
	}
	if cli.Given(ctx, "grouping") {
		a.groupingFrom = "--grouping"
	}
	switch {
	case a.Manifest == "":
		return nil
	case a.rangeFrom != "":
		return cli.Usagef("--range and --manifest both give the range: give one")
	case !cli.Given(ctx, "partition-id"):
		return cli.Usagef("--manifest needs --partition-id: the row whose range to take")
	case a.Manifest == "-" && cli.ReadsStdin(a.Files):
		return cli.Usagef("--manifest - and the input would both read stdin: give the manifest or the input by name")
	}
	m, err := manifest.Load(a.Manifest)
	if err != nil {
		return fmt.Errorf("--manifest: %w", err)
	}
	var rows []manifest.Partition
	for _, p := range m.Parts {
		if p.ID == a.PartitionID {
			rows = append(rows, p)
		}
	}
	name := a.Manifest
	if name == "-" {
		name = "<stdin>"
	}
	if err := a.FromManifest(m, name); err != nil {
		return err
	}
	if a.groupingFrom == "" && m.Grouping != "" {
		a.groupingFrom = fmt.Sprintf("--manifest %s (its grouping)", name)
	}
	switch len(rows) {
	case 0:
		ids := make([]uint64, len(m.Parts))
		for i, p := range m.Parts {
			ids[i] = p.ID
		}
		slices.Sort(ids)
		held := "no partition"
		switch n := len(ids); {
		case n > 12:
			held = fmt.Sprintf("%d partitions, %d to %d", n, ids[0], ids[n-1])
		case n > 0:
			held = "partitions " + strings.Trim(fmt.Sprint(ids), "[]")
		}
		return fmt.Errorf("--partition-id %d: %s has no row for it (it holds %s)", a.PartitionID, name, held)
	case 1:
		a.Range = units.Key(rows[0].Lo) + ":" + units.Key(rows[0].Hi)
		a.rangeFrom = fmt.Sprintf("--manifest %s (partition %d's range)", name, a.PartitionID)
		return nil
	default:
		return fmt.Errorf("--partition-id %d: %s has %d rows for it: which range is meant? (meguri-route --manifest %s says what else is wrong)", a.PartitionID, name, len(rows), name)
	}
}

// options returns the ingest options the flags give, and what must run
// when the ingest ends (closing the rejects file).
func options(a *args) (opt ingest.Options, meter *cli.Meter, finish func(error) error, err error) {
	lo, hi := uint64(0), ^uint64(0)
	if a.rangeFrom != "" {
		if lo, hi, err = units.ParseRange(a.Range); err != nil {
			return opt, nil, nil, cli.Usagef("--range: %v", err)
		}
	}
	// No input is read twice; nothing is written over an input, or twice
	// to one path.
	ins := cli.StatInputs(a.Files)
	a.ins = ins
	if err := ins.NamedTwice(); err != nil {
		return opt, nil, nil, err
	}
	if err := ins.Clobbers("-o", a.Output); err != nil {
		return opt, nil, nil, err
	}
	if err := ins.Clobbers("--rejects", a.Rejects); err != nil {
		return opt, nil, nil, err
	}
	if a.Data == "" && cli.SamePath(a.Output, a.Rejects) {
		if a.Output == "-" {
			return opt, nil, nil, cli.Usagef("--rejects %s is stdout, where the .meguri file goes: give -o PATH, or --rejects another PATH", a.Rejects)
		}
		return opt, nil, nil, fmt.Errorf("-o and --rejects both name %s", a.Output)
	}
	if a.Rejects == "-" && a.Output == "-" && a.Data == "" {
		return opt, nil, nil, cli.Usagef("--rejects - and the .meguri file would both go to stdout: give -o PATH, or --rejects PATH")
	}
	if err := ins.OtherPartition("-o", a.Output, a.PartitionID, lo, hi); err != nil {
		return opt, nil, nil, err
	}
	if err := cli.InsideDir("-o", a.Output, ""); err != nil {
		return opt, nil, nil, err
	}
	if err := cli.InsideDir("--rejects", a.Rejects, a.Data); err != nil {
		return opt, nil, nil, err
	}
	opt = ingest.Options{PartitionID: a.PartitionID, Lo: lo, Hi: hi, Mem: int64(a.Mem), TmpDir: a.Tmp,
		MaxLine: int(a.MaxLine), Strict: a.Strict, Grouping: a.Value(), Layout: string(a.CDXFields),
		Future: time.Now().Add(futureSlack).Unix()}
	rejects, finish, err := cli.Rejects("meguri-ingest", a.Rejects)
	if err != nil {
		return opt, nil, nil, err
	}
	opt.Rejects = rejects
	meter = cli.NewMeter(a.Progress)
	opt.Progress = meter.Reading("meguri-ingest", a.Files)
	opt.Writing = meter.Writing("meguri-ingest")
	if cli.ReadsStdin(a.Files) {
		cli.LinesFromTerminal("meguri-ingest", "CDX lines", "give FILE... to read files")
	}
	return opt, meter, finish, nil
}

func run(a *args) (err error) {
	if err := cli.BinaryToTerminal(a.Output); err != nil {
		return err
	}
	opt, meter, finish, err := options(a)
	if err != nil {
		return err
	}
	defer func() { err = finish(err) }()
	held := a.ins.HeldURLs(a.Output)
	start := time.Now()
	out, err := atomicfile.Create(a.Output)
	if err != nil {
		return err
	}
	defer out.Abort()
	sum, err := ingest.Run(a.Files, out, opt)
	meter.Clear()
	if err != nil {
		return err
	}
	if err := finish(nil); err != nil { // no output without its rejects
		return err
	}
	keep := sum.Stats.URLs == 0 && held > 0 && !a.AllowEmpty
	if !keep {
		if err := out.Commit(); err != nil {
			return err
		}
	}
	if !a.Quiet {
		printSummary(&sum, time.Since(start), a.JSON)
	}
	warnNothingTaken(a, &sum, !keep)
	warnFuture(a, &sum)
	warnUnterminated(a, &sum)
	if keep {
		return keptError(a.Output, held, &sum)
	}
	return nil
}

// keptError says why a run that took nothing left the -o file, which
// holds records, as it was: an empty partition in its place is far more
// often the trace of a failed command upstream than what was meant.
func keptError(path string, held uint64, s *ingest.Summary) error {
	why := "the input held no line (did the command before it fail?)"
	if s.Lines > 0 {
		why = fmt.Sprintf("no line of %d was taken", s.Lines)
	}
	return fmt.Errorf("%s: %s, which holds %d urls, is left as it was; --allow-empty replaces it with an empty partition", why, path, held)
}

// jsonArray reports whether a line opens a JSON array of objects (a whole
// CDX result saved as one array) rather than being a Wayback row.
func jsonArray(line string) bool {
	t := strings.TrimSpace(line)
	return t == "[" || strings.HasPrefix(strings.TrimLeft(strings.TrimPrefix(t, "["), " \t"), "{")
}

// clusterIdx matches a line of a ZipNum index: Common Crawl's
// cluster.idx, the index of its cdx-NNNNN.gz files (SURT, timestamp, then
// the file, offset, length and cluster number, tab-separated), or
// pywb's, of one .cdx.gz.
var clusterIdx = regexp.MustCompile(`^\S+ \d{14}\t\S+\.gz\t\d+\t\d+`)

// cdxjIdx matches a line of a ZipNum index in CDXJ form, as a WACZ's
// indexes/index.idx holds it: SURT, timestamp, then a JSON object of a
// block's offset, length and file, and no URL.
var cdxjIdx = regexp.MustCompile(`^\S+ \d{4,14} \{\s*"(offset|length|digest|filename)"`)

// crawlLog matches a line of a Heritrix crawl.log: the log time, the
// fetch status, the size and the URL, space-padded.
var crawlLog = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z +-?\d+ +(\d+|-) +\S`)

// rejectsLine matches a line of a --rejects file.
var rejectsLine = regexp.MustCompile(`^\{"source":".*","line":\d+,"reason":"[a-z_]+",`)

// warnNothingTaken says so when every line was rejected: most likely the
// input is not CDX at all, or --range is another partition's, and the
// output, though written, is empty. It prints under -q too, but not with
// the --json summary, which says as much to a program and must stay the
// only line on stderr.
func warnNothingTaken(a *args, s *ingest.Summary, written bool) {
	if s.Taken > 0 || s.Rejected.Total() == 0 || a.JSON && !a.Quiet {
		return
	}
	r := s.FirstReject
	hint := ""
	switch {
	case (r.Reason == cdx.BadJSON || r.Reason == cdx.BadFields) && jsonArray(r.Text):
		hint = "; a JSON array? ingest takes one object a line: jq -c '.[]' FILE | meguri-ingest"
	case r.Reason == cdx.OutOfRange:
		hint = "; its host key lies outside --range: is that this input's partition?"
	case r.Reason == cdx.BadJSON && clusterIdx.MatchString(r.Text):
		hint = "; Common Crawl's cluster.idx? it indexes the cdx-NNNNN.gz files, whose lines ingest reads: give it those"
	case r.Reason == cdx.MissingURL && cdxjIdx.MatchString(r.Text):
		hint = "; a ZipNum index (a WACZ's indexes/index.idx)? it indexes the blocks of a .cdx.gz, whose lines ingest reads: give it that file"
	case r.Reason == cdx.MissingURL && rejectsLine.MatchString(r.Text):
		hint = "; a --rejects file? its lines' \"text\" is what was rejected: jq -r .text FILE | meguri-ingest (mend the lines first)"
	case r.Reason == cdx.NoTimestamp:
		hint = "; an HTTP status or digest without a timestamp is a capture whose time was lost: keep the timestamp field (a bare {\"url\": ...} line is a discovered link)"
	case crawlLog.MatchString(r.Text):
		hint = "; a Heritrix crawl.log? it logs fetches, not captures' CDX: index the crawl's WARCs (cdx-indexer, pywb's cdxj-indexer) and give ingest that"
	case r.Reason == cdx.BadFields && a.CDXFields != "":
		hint = fmt.Sprintf("; --cdx-fields names %d fields, and a line of another count is rejected: does the list match the query's fl=?", len(a.CDXFields))
	case r.Reason == cdx.BadFields:
		hint = "; space-separated CDX lines and Wayback JSON rows are read by their field count, 7 (the Wayback CDX server's default fields), 9 or 11: did a query's fl= choose others? give them as --cdx-fields (the fl= list), or ask for the default fields (no fl=)"
	case r.Reason == cdx.TabSeparated:
		hint = "; tab-separated columns? give ingest the URL column alone: cut -f1 FILE | meguri-ingest"
	}
	held := ", the output holds no record"
	if !written {
		held = ""
	}
	fmt.Fprintf(os.Stderr, "meguri-ingest: warning: no line was taken (%d rejected%s); the first, %s:%d, was rejected as %s: %.60q%s\n",
		s.Rejected.Total(), held, r.Source, r.Line, r.Reason, r.Text, hint)
}

// futureSlack is how far past the clock a capture may be dated before
// warnFuture names it: a day, past any time zone a crawler might have
// written its local time in.
const futureSlack = 24 * time.Hour

// warnFuture says so when captures are dated after the clock (a crawler's
// clock run ahead, a year mistyped): the newest capture of a URL decides
// its fields, so such a capture stands over every later capture of its
// URL until one dated later still. The lines are taken all the same (a
// run's bytes do not depend on the day it is made). It prints under -q
// too, but not with the --json summary, whose "future_captures" says so.
func warnFuture(a *args, s *ingest.Summary) {
	if s.Future == 0 || a.JSON && !a.Quiet {
		return
	}
	at, when := fmt.Sprintf("%s:%d", s.FirstFuture.Source, s.FirstFuture.Line), record.FormatTimestamp(s.NewestFuture)
	if s.Future == 1 {
		fmt.Fprintf(os.Stderr, "meguri-ingest: warning: 1 capture is dated after the clock (%s, %s); it is taken as dated, and as its URL's newest capture it decides the URL's record until a capture dated later still: mend the timestamp at the source\n", at, when)
		return
	}
	fmt.Fprintf(os.Stderr, "meguri-ingest: warning: %d captures are dated after the clock (the first %s, the newest %s); they are taken as dated, and as their URLs' newest captures they decide the URLs' records until captures dated later still: mend the timestamps at the source\n", s.Future, at, when)
}

// warnUnterminated says so when an input ends inside a line: a stream cut
// short (curl or zcat failing in a pipe, whose exit status the pipe
// hides) ends so, and its last line may then read as a shorter URL or
// value than it was, or a query's last page seem to be its last. It
// prints under -q too, but not with the --json summary, whose
// "unterminated_inputs" says so.
func warnUnterminated(a *args, s *ingest.Summary) {
	if s.Cut.Inputs == 0 || a.JSON && !a.Quiet {
		return
	}
	fmt.Fprintf(os.Stderr, "meguri-ingest: warning: %s\n", s.Cut.Warning())
}

func printSummary(s *ingest.Summary, took time.Duration, asJSON bool) {
	bpu := 0.0
	if s.Stats.URLs > 0 {
		bpu = float64(s.Bytes) / float64(s.Stats.URLs)
	}
	if asJSON {
		fmt.Fprintf(os.Stderr, `%s,"urls":%d,"hosts":%d,"file_bytes":%d,"bytes_per_url":%.2f,"spills":%d}`+"\n",
			linesJSON(s), s.Stats.URLs, s.Stats.Hosts, s.Bytes, bpu, s.Spills)
		return
	}
	printLines(s)
	fmt.Fprintf(os.Stderr, "meguri-ingest: %d urls, %d hosts, %s, %.2f bytes/url, %d spills, %.2fs\n",
		s.Stats.URLs, s.Stats.Hosts, units.Bytes(s.Bytes), bpu, s.Spills, took.Seconds())
}

// linesJSON returns the line accounting as an unclosed JSON object.
func linesJSON(s *ingest.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"lines":%d,"blank":%d,"taken":%d,"captures":%d,"discovered":%d,"rejected":%d,"rejected_by_reason":{`,
		s.Lines, s.Blank, s.Taken, s.Captures, s.Discovered, s.Rejected.Total())
	first := true
	for r := cdx.Reason(1); r < cdx.NumReasons; r++ {
		if s.Rejected[r] > 0 {
			if !first {
				b.WriteByte(',')
			}
			first = false
			fmt.Fprintf(&b, "%q:%d", r.String(), s.Rejected[r])
		}
	}
	b.WriteByte('}')
	if s.Future > 0 {
		fmt.Fprintf(&b, `,"future_captures":%d`, s.Future)
	}
	if s.Cut.Inputs > 0 {
		fmt.Fprintf(&b, `,"unterminated_inputs":%d`, s.Cut.Inputs)
	}
	if s.ResumeKey != "" {
		b.WriteString(`,"resume_key":`)
		b.Write(record.AppendString(nil, s.ResumeKey))
	}
	return b.String()
}

// printLines prints the line accounting for people, and where a Wayback
// CDX query's next page starts when its output ended with a resume key.
func printLines(s *ingest.Summary) {
	fmt.Fprintf(os.Stderr, "meguri-ingest: %d lines: %d taken (%d captures, %d discovered), %d rejected\n",
		s.Lines, s.Taken, s.Captures, s.Discovered, s.Rejected.Total())
	s.Rejected.Print(os.Stderr)
	sayResumeKey(s.ResumeKey)
}

// sayResumeKey says where a Wayback CDX query's next page starts, when
// its output ended with a resume key.
func sayResumeKey(key string) {
	if key != "" {
		fmt.Fprintf(os.Stderr, "meguri-ingest: the Wayback CDX server's output ended with a resume key: the next page is the same query with &resumeKey=%s\n", key)
	}
}
