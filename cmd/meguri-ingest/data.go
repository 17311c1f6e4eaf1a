package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/ingest"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/merge"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

// errNotAppended marks an error that says already that the run appended
// nothing.
var errNotAppended = errors.New("nothing was appended")

// uncommitted is the error of a --data run that failed before its commit:
// the directory holds nothing of it.
type uncommitted struct {
	err error
	dir string
}

func (u *uncommitted) Error() string {
	return u.err.Error() + "; nothing of this run was committed to " + u.dir
}

func (u *uncommitted) Unwrap() error { return u.err }

// runData appends the inputs to the partition directory a.Data as one
// transaction.
func runData(a *args, ctx *kong.Context) (err error) {
	if cli.Given(ctx, "output") {
		return cli.Usagef("-o and --data: a run writes a file or appends to a partition directory, not both")
	}
	dur, err := logstore.ParseDurability(a.Durability)
	if err != nil {
		return err
	}
	opt, meter, finish, err := options(a)
	if err != nil {
		return err
	}
	defer func() { err = finish(err) }()
	start := time.Now()
	h := codec.Header{PartitionID: opt.PartitionID, Lo: opt.Lo, Hi: opt.Hi, Grouping: uint8(opt.Grouping)}
	w, err := logstore.OpenWriter(a.Data, logstore.WriterOptions{Durability: dur, Create: &h, CreateOnCommit: true, Notify: cli.Notify("meguri-ingest", a.Data, a.Quiet)})
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		// Close rolls back what was not committed. A run that failed
		// says so, so that it can be run again once mended without a
		// capture counting twice.
		cerr := w.Close()
		switch {
		case err == nil || committed || errors.Is(err, errNotAppended):
		case cerr != nil:
			err = fmt.Errorf("%w; rolling back the run's uncommitted frames: %v", err, cerr)
		default:
			err = &uncommitted{err: err, dir: a.Data}
		}
	}()
	got := w.Header()
	if !w.Created {
		if err := sameParams(a.Data, ctx, a.rangeFrom, a.groupingFrom, h, got); err != nil {
			return err
		}
	}
	opt.PartitionID, opt.Lo, opt.Hi, opt.Grouping = got.PartitionID, got.Lo, got.Hi, canon.Grouping(got.Grouping)
	// What the directory has committed, to tell a run run again (the
	// writer holds it: no other run commits meanwhile).
	var commits []logstore.Commit
	if !a.Again {
		if commits, err = w.Commits(); err != nil {
			return err
		}
	}
	// the prefixes of each file hashed whole below, for grownInputs
	scanned := map[string][]input.Prefix{}
	names := logstore.CommittedNames(commits)
	if !a.Again && a.Rejects == "" && !a.Strict {
		// A run of files all committed before under their names (GNU
		// parallel running a batch again) is told by hashing them, not
		// by parsing and appending them first. The hashing keeps each
		// file's end, for a Wayback page's resume key, which a script
		// fetching page after page needs though the page was committed;
		// and, in the same pass, what grownInputs looks for.
		var key string
		fingerprint := func(name string) (uint64, int64, error) {
			f, err := input.Fingerprint(name, tailSize, committedSizes(names.Under(name)))
			if err != nil {
				return 0, 0, err
			}
			scanned[name] = f.Prefixes
			tail := f.Tail
			if f.Size > int64(len(tail)) {
				_, tail, _ = bytes.Cut(tail, []byte("\n")) // a line cut short
			}
			if k := cdx.LastResumeKey(tail); k != "" {
				key = k
			}
			return f.Hash, f.Size, nil
		}
		if found := logstore.CommittedFiles(commits, a.Files, fingerprint); found != nil {
			sayDone(a, w.Generation(), found, key)
			return nil
		}
	}
	// A file that has grown since a run committed it under its name (a
	// crawler's log appended to, ingested each hour) is read from where
	// that run ended, so the lines it had count once; one unchanged
	// since is not read.
	var grown []grownInput
	var unchanged []logstore.Match
	files := a.Files
	if !a.Again {
		if grown, err = grownInputs(names, a.Files, scanned); err != nil {
			return err
		}
		files, grown, unchanged = leaveUnchanged(a.Files, grown)
		skip := map[string]int64{}
		for _, g := range grown {
			skip[g.name] = g.skip
		}
		opt.Skip = func(name string) int64 { return skip[name] }
	}
	// Each input's content fingerprint goes into the transaction; one the
	// directory has committed before means the run is being run again.
	var ins []logstore.Input
	opt.Fingerprint = func(name string, hash uint64, size int64) {
		if size > 0 { // an empty input adds nothing, however often
			ins = append(ins, logstore.Input{Name: name, Hash: hash, Size: size})
		}
	}
	sum, err := ingest.Parse(files, opt, w.Append)
	meter.Clear()
	if err != nil {
		return err
	}
	if sum.Cut.Inputs > 0 && !a.AllowUnterminated {
		// A run commits for good: part of a download that failed in a
		// pipe, committed, makes the whole download, run once fetched
		// again, count the captures before the cut twice.
		return sum.Cut.Refusal("a committed run stays, and the whole input run later would count the lines before the cut twice", "run")
	}
	if sum.Lines > 0 && sum.Taken == 0 && sum.Rejected[cdx.OutOfRange] == sum.Rejected.Total() {
		// Every line belongs to another partition: in a fan-out, an
		// input paired with the wrong directory. Committing the empty
		// run would exit 0 and leave that input's partition without it.
		if !a.Quiet && !a.JSON {
			printLines(&sum)
		}
		return fmt.Errorf("no line of %d was taken: every one lies outside the range of %s, partition %d (%s..%s); is this input that partition's? (meguri-route --manifest MAP --url URL names a URL's partition)",
			sum.Lines, a.Data, got.PartitionID, units.Key(got.Lo), units.Key(got.Hi))
	}
	if !a.Again {
		// A run re-run appends nothing: done already when every input
		// was committed, refused when only some of those read were
		// (committed under another name: a copy, a pipe).
		found := logstore.CommittedBefore(commits, ins)
		if len(found) > 0 && len(found) == len(ins) {
			sayDone(a, w.Generation(), append(unchanged, found...), sum.ResumeKey)
			return finish(nil) // its rejects are what they were
		}
		if len(found) > 0 {
			return fmt.Errorf("%s, but not the run's other inputs; %w, so no capture counts twice: run the others alone, or give --again",
				joinNamed(committedLines(found, w.Generation(), a.Data)), errNotAppended)
		}
	}
	if err := finish(nil); err != nil { // no transaction without its rejects
		return err
	}
	if err := w.AppendInputs(ins); err != nil {
		return err
	}
	if err := w.Commit(sum.Lines, sum.Taken); err != nil {
		return err
	}
	committed = true
	logBytes, gen := w.LogBytes(), w.Generation()
	var cp *merge.Result
	if a.Checkpoint {
		if cp, err = w.Checkpoint(logstore.PackOptions{Mem: opt.Mem, TmpDir: opt.TmpDir}); err != nil {
			return fmt.Errorf("checkpoint (the run itself is committed): %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	warnNothingTaken(a, &sum, false)
	warnFuture(a, &sum)
	warnUnterminated(a, &sum)
	warnGrownCut(a, grown, gen)
	if a.Quiet {
		return nil
	}
	if a.JSON {
		fmt.Fprintf(os.Stderr, `%s,"data":%s,"generation":%d,"log_bytes":%d,"recovered_bytes":%d,"durability":%q`,
			linesJSON(&sum), record.AppendString(nil, a.Data), gen, logBytes, w.Recovered, dur)
		if w.Created {
			fmt.Fprint(os.Stderr, `,"created":true`)
		}
		if len(unchanged) > 0 {
			fmt.Fprintf(os.Stderr, `,"inputs_committed_before":%d`, len(unchanged))
		}
		if len(grown) > 0 {
			var lines int64
			for _, g := range grown {
				lines += g.lines
			}
			fmt.Fprintf(os.Stderr, `,"grown_inputs":%d,"skipped_lines":%d`, len(grown), lines)
			if n := grownCut(grown); n > 0 {
				fmt.Fprintf(os.Stderr, `,"grown_cut_lines":%d`, n)
			}
		}
		if cp != nil {
			o := cp.Outputs[0]
			fmt.Fprintf(os.Stderr, `,"checkpoint":{"generation":%d,"urls":%d,"hosts":%d,"file_bytes":%d}`,
				w.Generation(), o.Stats.URLs, o.Stats.Hosts, o.Bytes)
		}
		fmt.Fprintln(os.Stderr, "}")
		return nil
	}
	printLines(&sum)
	for _, g := range grown[:min(len(grown), namedAtMost)] {
		fmt.Fprintf(os.Stderr, "meguri-ingest: %s: its first %d lines (%s) are the content %s committed %s: the file has grown since, and the run read it from line %d\n",
			g.name, g.lines, units.Bytes(g.skip), a.Data, committedWhen(g.match, gen), g.lines+1)
	}
	if more := len(grown) - namedAtMost; more > 0 {
		var lines int64
		for _, g := range grown[namedAtMost:] {
			lines += g.lines
		}
		fmt.Fprintf(os.Stderr, "meguri-ingest: and %d more inputs grown since the directory committed them, read past their first %d lines in all\n", more, lines)
	}
	for _, line := range committedLines(unchanged[:min(len(unchanged), namedAtMost)], gen, a.Data) {
		fmt.Fprintf(os.Stderr, "meguri-ingest: %s; none of it was read\n", line)
	}
	if more := len(unchanged) - namedAtMost; more > 0 {
		fmt.Fprintf(os.Stderr, "meguri-ingest: and %d more inputs the directory committed before; none of them was read\n", more)
	}
	if w.Created {
		// a path mistyped makes a partition of its own: say so
		fmt.Fprintf(os.Stderr, "meguri-ingest: made %s a new partition directory: partition %d, host keys %s..%s, grouping %s\n",
			a.Data, got.PartitionID, units.Key(got.Lo), units.Key(got.Hi), canon.Grouping(got.Grouping))
	}
	fmt.Fprintf(os.Stderr, "meguri-ingest: committed to %s (generation %d): log %s, durability %s, %.2fs\n",
		a.Data, gen, units.Bytes(logBytes), dur, time.Since(start).Seconds())
	if cp != nil {
		o := cp.Outputs[0]
		fmt.Fprintf(os.Stderr, "meguri-ingest: checkpoint: generation %d, snapshot %d urls, %d hosts, %s\n",
			w.Generation(), o.Stats.URLs, o.Stats.Hosts, units.Bytes(o.Bytes))
	}
	return nil
}

// namedAtMost is how many inputs found committed before are named one by
// one; a re-run of thousands says how many more there were.
const namedAtMost = 5

// tailSize is how much of each input's end a run of files committed
// before keeps, for a resume key: a key and the blank line or empty row
// before it, whatever the length of the last record's line.
const tailSize = 16 << 10

// sayDone says of a run whose every input was committed before that it
// appended nothing, a line for each input (the first namedAtMost); with
// --json one object. It names the inputs' resume key, when they end
// with one, as a run that appends does: a loop fetching a query's pages
// and run again from its first goes on to the next.
func sayDone(a *args, gen uint64, found []logstore.Match, resumeKey string) {
	committed := committedLines(found, gen, a.Data)
	if a.JSON {
		// the one JSON object --json promises, for a script that runs a
		// batch again
		key := ""
		if resumeKey != "" {
			key = `,"resume_key":` + string(record.AppendString(nil, resumeKey))
		}
		fmt.Fprintf(os.Stderr, `{"data":%s,"generation":%d,"appended":false,"inputs_committed_before":%d%s}`+"\n",
			record.AppendString(nil, a.Data), gen, len(committed), key)
		return
	}
	defer sayResumeKey(resumeKey)
	for _, c := range committed[:min(len(committed), namedAtMost)] {
		fmt.Fprintf(os.Stderr, "meguri-ingest: %s; nothing was appended (--again appends it again)\n", c)
	}
	if more := len(committed) - namedAtMost; more > 0 {
		fmt.Fprintf(os.Stderr, "meguri-ingest: and %d more inputs the directory committed before; nothing was appended (--again appends them again)\n", more)
	}
}

// joinNamed joins the first namedAtMost of the committed inputs' lines
// into one, saying how many more there were.
func joinNamed(committed []string) string {
	s := strings.Join(committed[:min(len(committed), namedAtMost)], "; ")
	if more := len(committed) - namedAtMost; more > 0 {
		s += fmt.Sprintf("; and %d more inputs committed before", more)
	}
	return s
}

// committedLines says, for each input found committed before, when and
// as what.
func committedLines(found []logstore.Match, gen uint64, dir string) []string {
	lines := make([]string, len(found))
	for i, f := range found {
		var more []string
		if f.As != f.Input.Name {
			more = append(more, "as "+f.As)
		}
		if c := f.Commit; !c.Carried() && c.Taken < c.Lines {
			more = append(more, fmt.Sprintf("which took %d of its %d lines", c.Taken, c.Lines))
		}
		lines[i] = fmt.Sprintf("%s: %s committed the same content %s", f.Input.Name, dir, committedWhen(f, gen, more...))
	}
	return lines
}

// committedWhen says when a match was committed: "at T (transaction K
// of generation G, MORE...)", or before a checkpoint.
func committedWhen(f logstore.Match, gen uint64, more ...string) string {
	when := fmt.Sprintf("at %s (transaction %d of generation %d", record.FormatTimestamp(f.Commit.Unix), f.Run, gen)
	if f.Commit.Carried() {
		when = fmt.Sprintf("before a checkpoint (carried into generation %d", gen)
	}
	for _, m := range more {
		when += ", " + m
	}
	return when + ")"
}

// grownCut counts the grown inputs whose committed part ended inside a
// line.
func grownCut(grown []grownInput) int {
	n := 0
	for _, g := range grown {
		if g.unterminated {
			n++
		}
	}
	return n
}

// warnGrownCut names each grown input whose committed part ended inside
// a line that the file now goes on with: that line was taken as it then
// was, and the run read from the line after it (under -q too; under
// --json, grown_cut_lines counts them).
func warnGrownCut(a *args, grown []grownInput, gen uint64) {
	if a.JSON && !a.Quiet {
		return
	}
	said := 0
	for _, g := range grown {
		if !g.unterminated {
			continue
		}
		if said++; said > namedAtMost {
			continue
		}
		fmt.Fprintf(os.Stderr, "meguri-ingest: warning: %s: its line %d was committed %s with no line end, as it then was, and the file now goes on in it: the run read from line %d, so what that line gained is not read (a file still being written when it was run ends so; --allow-unterminated let that run commit it)\n",
			g.name, g.lines, committedWhen(g.match, gen), g.lines+1)
	}
	if more := said - namedAtMost; more > 0 {
		fmt.Fprintf(os.Stderr, "meguri-ingest: warning: and %d more inputs whose last line committed went on since, not read further\n", more)
	}
}

// A grownInput is a file that begins with content committed before
// under its name: a run reads the lines that start past skip.
type grownInput struct {
	name  string
	skip  int64 // bytes at its start committed before
	lines int64 // the lines that start in them
	// unterminated: the run that committed them read their last line
	// without its line end, as it was then
	unterminated bool
	// unchanged: the file holds that content and no more; it is not
	// read at all
	unchanged bool
	match     logstore.Match
}

// leaveUnchanged takes the unchanged files out of a run's inputs: those
// committed before under their names that hold that content and no more.
// It returns the files to read, the grown inputs that did grow, and the
// commits of those left out. When every input is unchanged, the run is a
// re-run, read through as before (its --rejects written again, its
// --strict checks made), and none is left out.
func leaveUnchanged(files []string, grown []grownInput) (read []string, grew []grownInput, unchanged []logstore.Match) {
	whole := map[string]bool{}
	for _, g := range grown {
		if g.unchanged {
			whole[g.name] = true
		}
	}
	if len(whole) == len(files) {
		return files, nil, nil
	}
	for _, f := range files {
		if !whole[f] {
			read = append(read, f)
		}
	}
	for _, g := range grown {
		if g.unchanged {
			unchanged = append(unchanged, g.match)
		} else {
			grew = append(grew, g)
		}
	}
	return read, grew, unchanged
}

// committedSizes returns the sizes to look at in a file for the contents
// committed under its name (under, from logstore.Names.Under): each
// content's size, in the order of under, then each size plus one (which
// the file reaches only when it holds more than that content, and whose
// last byte tells whether a line end follows it), then each plus two
// (for a line end of \r\n).
func committedSizes(under []logstore.Match) []int64 {
	n := len(under)
	sizes := make([]int64, 3*n)
	for i, m := range under {
		sizes[i], sizes[n+i], sizes[2*n+i] = m.Input.Size, m.Input.Size+1, m.Input.Size+2
	}
	return sizes
}

// grownInputs finds the files that begin with the whole content of an
// input committed before under the same name, the longest such, and
// returns where each is to be read from. scanned holds the prefixes of
// files read already (at committedSizes), which are not read again.
func grownInputs(names logstore.Names, files []string, scanned map[string][]input.Prefix) ([]grownInput, error) {
	var grown []grownInput
	for _, name := range files {
		under := names.Under(name)
		if len(under) == 0 {
			continue
		}
		pre, ok := scanned[name]
		if !ok {
			var err error
			pre, err = input.Prefixes(name, committedSizes(under))
			if errors.Is(err, input.ErrReadsOnce) {
				continue // stdin and pipes: read once, by the run
			}
			if err != nil {
				return nil, err
			}
		}
		best := -1
		for i, m := range under {
			if p := pre[i]; p.Reached && p.Hash == m.Input.Hash && (best < 0 || p.Size > pre[best].Size) {
				best = i
			}
		}
		if best < 0 {
			continue
		}
		m := under[best]
		m.Input.Name = name // as given now
		// the probes one and two bytes on
		next, after := pre[len(under)+best], pre[2*len(under)+best]
		g := grownInput{name: name, skip: pre[best].Size, lines: pre[best].Lines, match: m, unchanged: !next.Reached}
		if !g.unchanged && pre[best].Last != '\n' {
			g.lines++ // the line that run read last, with no line end
			// it was whole when its line end is all that follows
			g.unterminated = next.Last != '\n' && (next.Last != '\r' || after.Last != '\n')
		}
		grown = append(grown, g)
	}
	return grown, nil
}

// sameParams refuses --partition-id, --range or --grouping given for an
// existing directory (or taken from --manifest: rangeFrom and groupingFrom
// name what gave them, "" for none) with other values than it has.
func sameParams(dir string, ctx *kong.Context, rangeFrom, groupingFrom string, want, got codec.Header) error {
	switch {
	case cli.Given(ctx, "partition-id") && want.PartitionID != got.PartitionID:
		return fmt.Errorf("--partition-id %d: %s is partition %d", want.PartitionID, dir, got.PartitionID)
	case rangeFrom != "" && (want.Lo != got.Lo || want.Hi != got.Hi):
		return fmt.Errorf("%s %s:%s: %s owns %s:%s", rangeFrom, units.Key(want.Lo), units.Key(want.Hi), dir, units.Key(got.Lo), units.Key(got.Hi))
	case groupingFrom != "" && want.Grouping != got.Grouping:
		return fmt.Errorf("%s %s: %s groups by %s", groupingFrom, canon.Grouping(want.Grouping), dir, canon.Grouping(got.Grouping))
	}
	return nil
}
