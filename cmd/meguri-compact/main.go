// Command meguri-compact merges, folds, garbage-collects and splits .meguri
// partition files.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/meguri/meguri/lib/atomicfile"
	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/merge"
	"github.com/meguri/meguri/lib/units"
)

type args struct {
	cli.VersionFlag
	Files       []string `arg:"" optional:"" name:"FILE" help:".meguri inputs, in any order."`
	Data        string   `placeholder:"DIR" help:"Checkpoint the live partition directory DIR instead of merging files: fold its log into a new snapshot generation (with --gc, dropping old tombstones; with the --drop flags, a takedown; with --fold FILE..., folding in files of the partition) and start an empty log."`
	Salvage     bool     `help:"With --data, checkpoint a directory whose log is damaged (the tools refuse it and say so): every transaction whose frames are all intact goes into the new snapshot, each one that is not is left out whole and reported with its commit time and counts, so that its run can be re-run, and the damaged log is kept as DIR/damaged-log-<gen>. On an undamaged directory it is an ordinary checkpoint."`
	Tmp         string   `type:"existingdir" placeholder:"DIR" help:"With --data, the directory for spilled runs while sorting the log (default: the system temp dir)."`
	Output      string   `short:"o" default:"-" placeholder:"PATH" help:"Merged output ('-' for stdout). Written atomically: a failed run leaves no file."`
	PartitionID *uint64  `name:"partition-id" placeholder:"N" help:"Partition id of the output (default: the lowest input id). With --split, the first output's id; the others count up from it."`
	AllowGap    bool     `name:"allow-gap" help:"Merge inputs whose ranges leave a gap; the output's range covers it."`
	Fold        bool     `help:"Fold files of one partition that may hold the same URLs (a base and a newer delta): newest capture wins, counts add. They must own the same range, and carry the same id unless --partition-id is given. An input whose every capture another input holds already (a delta folded in before) is refused: its captures would count twice."`
	Again       bool     `help:"With --fold, fold an input even when another holds all its captures already (captures of another source that fall within the base's)."`
	GC          bool     `name:"gc" help:"Drop Gone tombstones whose last capture is older than --now minus --horizon."`
	Horizon     string   `placeholder:"DURATION" help:"Re-probe horizon for --gc: 90d, 12h, 2w, 1d12h, 30min ... (no months: 6m, minutes alone with m, is refused; give 180d)"`
	Now         string   `placeholder:"TIMESTAMP" help:"The time --gc measures from, as a 14-digit CDX timestamp or an ISO time to the second (2024-06-15T10:00:00Z; no zone is UTC). Default: the current time."`
	DropHost    []string `name:"drop-host" sep:"," placeholder:"HOST|KEY" help:"Drop every record of this host group (repeat it, or separate with commas): a host name or URL, keyed under the inputs' grouping as ingest keys it (under grouping domain the whole registrable domain, every subdomain), or a host key (0x + hex, 16 hex digits, or decimal). For a host taken out of the crawl: a removal request, a spam farm. The summary names the rows dropped of each, and each that matched none."`
	DropHosts   string   `name:"drop-hosts" placeholder:"PATH" help:"Drop the host groups listed in PATH, one HOST|KEY a line as --drop-host takes it (blank lines and lines starting with # are skipped; '-' for stdin; plain, gzip or zstd)."`
	DropURL     []string `name:"drop-url" sep:"none" placeholder:"URL" help:"Drop the record of this URL (repeatable), canonicalized as ingest canonicalizes it: http and https, or two spellings of a query, are two URLs. For a page taken out of the crawl. The summary says how many listed URLs were dropped, and names those that matched none."`
	AllowEmpty  bool     `name:"allow-empty" help:"With the --drop flags, write the result even when the drops leave no record: without it such a run writes nothing and exits 1 (a list of the wrong file, every URL of the partition, would empty it in place)."`
	DropURLs    string   `name:"drop-urls" placeholder:"PATH" help:"Drop the records of the URLs listed in PATH, one a line; a line of CDX in any form ingest reads, or a JSON line with a url field such as inspect --rows prints, stands for its URL (blank lines and lines starting with # are skipped; '-' for stdin; plain, gzip or zstd)."`
	Split       *int     `placeholder:"N" help:"Cut the input range into N ranges of close to equal URL counts (never inside a host); needs --out-dir."`
	SplitAt     *string  `name:"split-at" placeholder:"K1,K2,..." help:"Cut at these host keys, in hex with or without 0x as --range and the manifest write them; each starts a new range. Needs --out-dir."`
	OutDir      string   `name:"out-dir" placeholder:"DIR" help:"Directory for the outputs of --split/--split-at."`
	Prefix      string   `default:"part-" help:"Output file name prefix with --out-dir: PREFIX + 4-digit id + .meguri."`
	ManifestOut string   `name:"manifest-out" placeholder:"PATH" help:"Write the outputs' manifest rows here (with --out-dir they go to stdout by default)."`
	Epoch       uint64   `default:"1" help:"Epoch written in the outputs' manifest rows."`
	Format      uint16   `name:"format-version" placeholder:"V" help:"Format version of the outputs, 1 or 2 (default: the inputs' version, which must then be the same for all). Converts files: --format-version 2 old.meguri -o new.meguri."`
	Mem         cli.Size `default:"256M" placeholder:"SIZE" help:"Soft memory limit (default 256M, or half the machine's memory, the container's memory limit or the address space ulimit -v leaves, when less): the garbage collector works harder near it, so the resident size stays near what the run holds live instead of the freed memory the runtime keeps. A merge holds a block of each input it reads from plus the blocks being encoded, whatever the files' size (about 135 MiB live merging or folding the bench's files); a run that holds more (a fold of many files) raises the limit to what it holds, and says so. With --data it is also the budget for sorting the log, a quarter of meguri-pack's default: --mem 1G checkpoints a large log without spilling sooner than a pack. Output bytes do not depend on it."`
	Progress    *bool    `negatable:"" help:"Show progress on stderr (default: when stderr is a terminal)."`
	Quiet       bool     `short:"q" help:"Do not print the summary."`
	JSON        bool     `name:"json" help:"Print the summary as JSON on stderr."`
}

const description = `Merge, fold, garbage-collect and split .meguri partition files.

Merging takes files that own disjoint host-key ranges and writes one file
owning their union; overlapping ranges are refused before anything is written.
--fold instead folds files of one partition (one range, one id) that may hold
the same URLs, with the same result as ingesting all their captures at once.
--gc drops Gone tombstones past the horizon, --drop-host whole host groups,
--drop-url single URLs.
--split N and --split-at cut the result into new ranges, one file each, and
print their manifest rows. Blocks that pass through unchanged are copied
without decoding; the output is byte-identical to a fresh ingest of the same
records.

Examples:
  meguri-compact part-7.meguri part-8.meguri -o merged.meguri
  meguri-compact --fold base.meguri delta.meguri -o part-3.meguri
  meguri-compact --gc --horizon 90d part-3.meguri -o part-3.gc.meguri
  meguri-compact --drop-host spam.example part-3.meguri -o part-3.meguri
  meguri-compact --drop-urls takedown.txt part-3.meguri -o part-3.meguri
  meguri-compact --split 4 --out-dir new/ --partition-id 40 hot.meguri > rows.manifest
  meguri-compact --data part-3/ --gc --horizon 90d
  meguri-compact --data part-3/ --drop-urls takedown.txt
  meguri-compact --data part-3/ --fold delta.meguri
  meguri-compact --data part-3/ --salvage`

func main() {
	cli.Init("meguri-compact")
	var a args
	ctx := kong.Parse(&a, cli.Kong("meguri-compact", description)...)
	cli.DefaultMem(ctx, "meguri-compact", &a.Mem)
	cli.Done("meguri-compact", run(&a))
}

func run(a *args) (err error) {
	splitting := a.Split != nil || a.SplitAt != nil
	switch {
	case a.Data != "" && len(a.Files) > 0 && !a.Fold:
		return cli.Usagef("give .meguri files or --data DIR, not both (--data DIR --fold FILE... folds files of the partition into its checkpoint)")
	case a.Data == "" && len(a.Files) == 0:
		return cli.Usagef("no inputs: give .meguri files, or --data DIR to checkpoint a partition directory")
	case a.DropHosts == "-" && a.DropURLs == "-":
		return cli.Usagef("--drop-hosts - and --drop-urls - would both read stdin: give one of them a file")
	case a.Data != "" && a.Fold && len(a.Files) == 0:
		return cli.Usagef("--data DIR --fold folds .meguri files into the checkpoint: name them")
	case a.Data != "" && (splitting || a.AllowGap || a.OutDir != "" || a.Output != "-" || a.Format != 0 || a.PartitionID != nil || a.ManifestOut != ""):
		return cli.Usagef("--data checkpoints a directory in place; of the other options only --salvage, --fold (with files), --again, --gc, --horizon, --now, --drop-host(s), --drop-url(s), --allow-empty, --mem and --tmp apply (pack it with meguri-pack to get a file)")
	case a.Data == "" && a.Tmp != "":
		return cli.Usagef("--tmp is for --data")
	case a.Data == "" && a.Salvage:
		return cli.Usagef("--salvage is for --data DIR, a partition directory whose log is damaged; a damaged .meguri file cannot be salvaged")
	case a.Split != nil && a.SplitAt != nil:
		return cli.Usagef("give --split or --split-at, not both")
	case a.Split != nil && *a.Split < 1:
		return cli.Usagef("--split %d: want at least 1", *a.Split)
	case splitting && a.OutDir == "":
		return cli.Usagef("--split and --split-at write one file per range: give --out-dir")
	case !splitting && a.OutDir != "":
		return cli.Usagef("--out-dir is for --split/--split-at; a merge writes one file (-o)")
	case splitting && a.Output != "-":
		return cli.Usagef("-o is for a single output; --split/--split-at write into --out-dir")
	case strings.ContainsRune(a.Prefix, '/'):
		return cli.Usagef("--prefix %q: a file name prefix, not a path (the files go into --out-dir)", a.Prefix)
	case a.Again && !a.Fold:
		return cli.Usagef("--again is for --fold")
	case a.AllowEmpty && len(a.DropHost) == 0 && a.DropHosts == "" && len(a.DropURL) == 0 && a.DropURLs == "":
		return cli.Usagef("--allow-empty is for the --drop flags")
	case a.GC && a.Horizon == "":
		return cli.Usagef("--gc needs --horizon (e.g. 90d)")
	case !a.GC && (a.Horizon != "" || a.Now != ""):
		return cli.Usagef("--horizon and --now only apply with --gc")
	}
	if err := cli.BinaryFromTerminal(a.Files); err != nil {
		return err
	}
	opt := merge.Options{Fold: a.Fold, GC: a.GC, Version: a.Format, Mem: int64(a.Mem)}
	if a.GC {
		h, err := units.ParseDuration(a.Horizon)
		if err != nil {
			return cli.Usagef("--horizon: %v", err)
		}
		if units.MinutesOnly(a.Horizon) {
			// 6m for six months would drop every tombstone younger than
			// the months meant
			n, months := h/60, "months"
			if n == 1 {
				months = "month"
			}
			return cli.Usagef("--horizon %dm: m is minutes, and months are no unit here: give %dmin for minutes, or days (%dd for %d %s)", n, n, n*30, n, months)
		}
		now, err := cli.Now(a.Now)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		opt.Cutoff = now - h
		warnFutureNow(a.Now, now, time.Now().Unix())
	}
	if a.Data != "" {
		return checkpoint(a, opt)
	}

	ins, err := merge.OpenInputs(a.Files)
	if err != nil {
		return err
	}
	defer merge.CloseInputs(ins)
	// what is dropped is keyed under the inputs' grouping (merging checks
	// that they share one)
	g := canon.Grouping(ins[0].File.Header.Grouping)
	drops, err := dropList(a, g)
	if err != nil {
		return err
	}
	opt.DropHosts = drops.keys()
	urls, err := urlList(a, g)
	if err != nil {
		return err
	}
	opt.DropURLs = merge.SortURLKeys(slices.Clone(urls))
	var lo, hi uint64
	if a.Fold {
		if lo, hi, err = merge.OnePartition(ins, a.PartitionID != nil); err != nil {
			return err
		}
	} else if lo, hi, err = merge.Union(ins, a.AllowGap); err != nil {
		return err
	}
	firstID := ins[0].File.Header.PartitionID
	for _, in := range ins {
		firstID = min(firstID, in.File.Header.PartitionID)
	}
	if a.PartitionID != nil {
		firstID = *a.PartitionID
	}

	var cuts []uint64
	switch {
	case a.Split != nil:
		n := *a.Split
		if cuts, err = merge.EvenCuts(ins, n); err != nil {
			return err
		}
		switch {
		case len(cuts) >= n-1:
		case a.Fold:
			// each input's host changes are its own: one between two
			// hosts of different inputs is not seen without folding
			fmt.Fprintf(os.Stderr, "meguri-compact: writing %s, not %d: a host is never cut, and cutting while folding finds only %s between hosts; for more, fold first (-o), then split the folded file\n",
				count(len(cuts)+1, "range", "ranges"), n, count(len(cuts), "place", "places"))
		default:
			fmt.Fprintf(os.Stderr, "meguri-compact: writing %s, not %d: the input holds %s, and a host is never cut\n",
				count(len(cuts)+1, "range", "ranges"), n, count(len(cuts)+1, "host group", "host groups"))
		}
	case a.SplitAt != nil:
		for _, s := range strings.Split(*a.SplitAt, ",") {
			k, err := units.ParseHexKey(s)
			if err != nil {
				return cli.Usagef("--split-at: %v", err)
			}
			if n := len(cuts); n > 0 && k <= cuts[n-1] {
				return cli.Usagef("--split-at: cut keys must increase: 0x%016x after 0x%016x", k, cuts[n-1])
			}
			cuts = append(cuts, k)
		}
	}
	opt.Outputs, err = merge.Ranges(lo, hi, cuts, firstID)
	if err != nil {
		return err
	}

	names := make([]string, len(opt.Outputs))
	rows := &manifest.Manifest{Grouping: g.String()}
	for i, o := range opt.Outputs {
		names[i] = a.Output
		if splitting {
			names[i] = filepath.Join(a.OutDir, fmt.Sprintf("%s%04d.meguri", a.Prefix, o.ID))
		}
		rows.Parts = append(rows.Parts, manifest.Partition{ID: o.ID, Lo: o.Lo, Hi: o.Hi, File: names[i], Epoch: a.Epoch})
	}
	// -o may name an input (a compaction in place: the input is read
	// whole before the output replaces it); the rows may not. The inputs
	// are looked up once for every output check below.
	named := cli.StatInputs(a.Files)
	if err := named.Clobbers("--manifest-out", a.ManifestOut); err != nil {
		return err
	}
	if err := cli.NotMeguri("--manifest-out", a.ManifestOut); err != nil {
		return err
	}
	if err := cli.InsideDir("--manifest-out", a.ManifestOut, ""); err != nil {
		return err
	}
	if err := keepsMap(a.ManifestOut, lo, hi, len(rows.Parts)); err != nil {
		return err
	}
	if err := cli.InsideDir("-o", a.Output, ""); err != nil {
		return err
	}
	for _, name := range names {
		if cli.SamePath(name, a.ManifestOut) {
			if name == "-" {
				return cli.Usagef("--manifest-out %s is stdout, where the .meguri file goes: give -o PATH, or --manifest-out another PATH", a.ManifestOut)
			}
			what := "-o"
			if splitting {
				what = "an output of the split"
			}
			return fmt.Errorf("%s and --manifest-out both name %s", what, a.ManifestOut)
		}
	}
	if a.ManifestOut == "-" && !splitting && a.Output == "-" {
		return cli.Usagef("--manifest-out - and the .meguri file would both go to stdout: give -o PATH, or --manifest-out PATH")
	}
	writeRows := a.ManifestOut != "" || splitting
	if writeRows {
		// The rows name the files relative to where they are written:
		// the current directory on stdout, else their file's directory.
		if err := rows.Rebase(".", manifest.DirOf(a.ManifestOut)); err != nil {
			return err
		}
		for _, p := range rows.Parts {
			if err := manifest.CheckFileName(p.File); err != nil {
				return err
			}
		}
	}
	if splitting {
		if err := checkSplitTargets(names, opt.Outputs, named); err != nil {
			return err
		}
		var undo func()
		if undo, err = cli.MakeOutDir(a.OutDir); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				undo()
			}
		}()
	} else {
		if err := cli.BinaryToTerminal(a.Output); err != nil {
			return err
		}
		o := opt.Outputs[0]
		if err := named.OtherPartition("-o", a.Output, o.ID, o.Lo, o.Hi); err != nil {
			return err
		}
	}
	// The rows' file is opened before any output is written, so that a
	// destination it cannot have fails the run first.
	var rowsOut *atomicfile.File
	if a.ManifestOut != "" && a.ManifestOut != "-" {
		if rowsOut, err = atomicfile.Create(a.ManifestOut); err != nil {
			return err
		}
		defer rowsOut.Abort()
	}
	meter := cli.NewMeter(a.Progress)
	if meter != nil {
		var total uint64
		for _, in := range ins {
			total += in.File.Stats.URLs
		}
		opt.Progress = func(rows uint64) {
			meter.Printf("meguri-compact: %d of %d rows (%.0f%%)", rows, total, 100*float64(rows)/float64(max(total, 1)))
		}
	}
	start := time.Now()
	// Outputs appear only when every one of them is complete.
	// The rows' file is committed with them; rows for stdout print after.
	res, err := merge.RunFiles(merge.Sources(ins), opt, names, func(res *merge.Result) (*atomicfile.File, error) {
		if len(res.Covered) > 0 && !a.Again {
			c := res.Covered[0]
			return nil, fmt.Errorf("%s looks folded into %s already: for every URL it holds captures of, %s holds them too (their time span, and as many or more; the first is %s). Folding it again would count its captures twice; nothing was written. If they are other captures (another source's, of the same times), give --again",
				c.Input, c.By, c.By, c.URL)
		}
		if err := emptiedByDrops(res, a.AllowEmpty); err != nil {
			return nil, fmt.Errorf("%w; nothing was written", err)
		}
		for i, o := range res.Outputs {
			p := &rows.Parts[i]
			p.URLs, p.Hosts, p.Bytes = o.Stats.URLs, o.Stats.Hosts, uint64(o.Bytes)
		}
		if rowsOut == nil {
			return nil, nil
		}
		return rowsOut, rows.Write(rowsOut)
	})
	meter.Clear()
	if err != nil {
		return err
	}
	if writeRows && rowsOut == nil {
		if err := rows.WriteFile("-"); err != nil {
			return err
		}
	}
	if !a.Quiet {
		summary(res, time.Since(start), a.JSON, unmatchedJSON(drops, res.HostsDropped, urls, opt.DropURLs, res.URLsDropped))
	}
	if !a.JSON {
		drops.report(res.HostsDropped, a.Quiet, scope{lo: lo, hi: hi})
		reportURLs(urls, opt.DropURLs, res.URLsDropped, a.Quiet, scope{lo: lo, hi: hi}, func(k merge.URLKey) bool {
			for _, in := range ins {
				if _, ok, err := in.File.Find(k.Host, k.URL); ok && err == nil {
					return true
				}
			}
			return false
		})
	}
	return nil
}

// warnFutureNow warns of a --now given later than the clock by more than
// a day (a typo of a year or a month, say): GC would drop tombstones
// younger than the horizon, which a later run cannot bring back.
func warnFutureNow(given string, now, clock int64) {
	const day = 86400
	if given == "" || now <= clock+day {
		return
	}
	days, unit := (now-clock)/day, "days"
	if days == 1 {
		unit = "day"
	}
	fmt.Fprintf(os.Stderr, "meguri-compact: warning: --now %s is %d %s after this machine's clock, so --gc drops tombstones younger than --horizon today\n",
		given, days, unit)
}

// summary prints the run's summary; extra, when not empty, is more
// "key":value JSON members for the JSON form.
func summary(r *merge.Result, took time.Duration, asJSON bool, extra string) {
	var urls, bytes uint64
	for _, o := range r.Outputs {
		urls += o.Stats.URLs
		bytes += uint64(o.Bytes)
	}
	if asJSON {
		if extra != "" {
			extra = "," + extra
		}
		var byHost uint64
		for _, n := range r.HostsDropped {
			byHost += n
		}
		fmt.Fprintf(os.Stderr, `{"rows_in":%d,"folded":%d,"dropped":%d,"dropped_hosts":%d,"dropped_urls":%d,"urls":%d,"bytes":%d,"outputs":%d,"blocks_copied":%d,"blocks_checked":%d,"blocks_decoded":%d,"mem_limit":%d%s}`+"\n",
			r.RowsIn, r.Folded, r.Dropped, byHost, r.URLRowsDropped, urls, bytes, len(r.Outputs), r.BlocksCopied, r.BlocksChecked, r.BlocksDecoded, r.MemLimit, extra)
		return
	}
	if r.MemRaised {
		fmt.Fprintf(os.Stderr, "meguri-compact: memory limit raised above --mem to %s, to hold a decoded block of each input at once\n",
			units.Bytes(r.MemLimit))
	}
	fmt.Fprintf(os.Stderr, "meguri-compact: %d rows in, %d folded, %d dropped by gc, %d urls out in %d file(s), %s\n",
		r.RowsIn, r.Folded, r.Dropped, urls, len(r.Outputs), units.Bytes(int64(bytes)))
	checked := ""
	if r.BlocksChecked > 0 {
		checked = fmt.Sprintf(" (%d read first to check what is dropped)", r.BlocksChecked)
	}
	fmt.Fprintf(os.Stderr, "meguri-compact: %d blocks copied unchanged%s, %d decoded and re-encoded, %.2fs\n",
		r.BlocksCopied, checked, r.BlocksDecoded, took.Seconds())
}

// checkSplitTargets refuses a split whose generated output names an
// existing file that is not one of its inputs and not this output from an
// earlier run of the same split (the same partition id and range): with a
// --partition-id already in use, the split would replace another
// partition's file, which the manifest still names.
func checkSplitTargets(names []string, outs []merge.Output, named cli.Inputs) error {
	for i, name := range names {
		h, found, err := named.Existing(name)
		if !found {
			continue // nothing to replace, or a split in place
		}
		if err != nil {
			return fmt.Errorf("%s exists and is not a .meguri file (%v); the split would replace it: remove it or write elsewhere", name, err)
		}
		if o := outs[i]; h.PartitionID != o.ID || h.Lo != o.Lo || h.Hi != o.Hi {
			return fmt.Errorf("%s exists and holds partition %d (%s..%s), not the output partition %d (%s..%s); choose another --partition-id, or remove it",
				name, h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), o.ID, units.Key(o.Lo), units.Key(o.Hi))
		}
	}
	return nil
}

// keepsMap refuses a --manifest-out that is a fleet map with partitions
// outside the range this run writes: the run's rows in its place would
// drop them from the map (--manifest-out fleet.manifest, meant as "publish
// into it"). Rows that this run writes again (a split re-run into its own
// rows file) may be replaced.
func keepsMap(path string, lo, hi uint64, rows int) error {
	if path == "" || path == "-" {
		return nil
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	m, err := manifest.Load(path)
	if err != nil {
		return nil // no manifest: nothing of a map to lose
	}
	outside := 0
	for _, p := range m.Parts {
		if p.Lo < lo || p.Hi > hi {
			outside++
		}
	}
	if outside == 0 {
		return nil
	}
	return fmt.Errorf("--manifest-out %s is a map of %d partitions, %d of them outside this run's range 0x%016x..0x%016x: writing this run's %d rows in its place would drop those from the map. Write the rows to a file of their own and publish them into the map: --manifest-out new.rows, then meguri-route update --manifest %s --rows new.rows -o %s",
		path, len(m.Parts), outside, lo, hi, rows, path, path)
}

// count says n things, in the singular for one.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
