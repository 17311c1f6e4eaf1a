package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/merge"
	"github.com/meguri/meguri/lib/record"
)

// checkpoint folds the log of the partition directory a.Data into its next
// snapshot generation; with a.Salvage, a damaged log's intact transactions.
func checkpoint(a *args, opt merge.Options) error {
	start := time.Now()
	// What a salvage leaves out is said whatever -q: it is data to re-run.
	say := cli.Notify("meguri-compact", a.Data, false)
	w, err := logstore.OpenWriter(a.Data, logstore.WriterOptions{Notify: cli.Notify("meguri-compact", a.Data, a.Quiet), Salvage: a.Salvage})
	if err != nil {
		return err
	}
	defer w.Close()
	rep := w.Salvaged()
	if rep != nil && (rep.Damaged() || !a.Quiet) {
		for _, m := range salvageLines(rep) {
			say(m)
		}
	}
	// what is dropped is keyed under the partition's grouping
	h := w.Header()
	g := canon.Grouping(h.Grouping)
	drops, err := dropList(a, g)
	if err != nil {
		return err
	}
	urls, err := urlList(a, g)
	if err != nil {
		return err
	}
	urlKeys := merge.SortURLKeys(slices.Clone(urls))
	var fold []*merge.Input
	if len(a.Files) > 0 {
		for _, f := range a.Files {
			// the directory's own snapshot, folded into itself, would
			// count every capture twice
			if fs, err := os.Stat(filepath.Dir(f)); err == nil {
				if ds, err := os.Stat(a.Data); err == nil && os.SameFile(fs, ds) {
					return fmt.Errorf("--fold %s lies in the partition directory %s: its own files are in the checkpoint already; fold files of the partition from elsewhere", f, a.Data)
				}
			}
		}
		if fold, err = merge.OpenInputs(a.Files); err != nil {
			return err
		}
		defer merge.CloseInputs(fold)
	}
	meter := cli.NewMeter(a.Progress)
	res, err := w.Checkpoint(logstore.PackOptions{Mem: opt.Mem, TmpDir: a.Tmp, GC: opt.GC, Cutoff: opt.Cutoff,
		DropHosts: drops.keys(), DropURLs: urlKeys, Fold: fold,
		Check: func(res *merge.Result) error {
			// a file folded in already would count its captures twice
			for _, c := range res.Covered {
				if slices.Contains(a.Files, c.Input) && !a.Again {
					return fmt.Errorf("%s looks folded into %s already: for every URL it holds captures of, %s holds them too (their time span, and as many or more; the first is %s). Folding it again would count its captures twice. If they are other captures (another source's, of the same times), give --again",
						c.Input, a.Data, c.By, c.URL)
				}
			}
			return emptiedByDrops(res, a.AllowEmpty)
		},
		Progress: cli.PackProgress("meguri-compact", meter)})
	meter.Clear()
	if err != nil && res == nil && (rep == nil || !rep.Damaged()) {
		// failed before the superblock named the new generation
		return fmt.Errorf("%w; no checkpoint was made, and %s is as it was", err, a.Data)
	}
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if rep != nil && rep.Damaged() {
		say(fmt.Sprintf("the damaged log is kept as %s; remove it once the lost runs are re-run", rep.DamagedLog))
	}
	if !a.Quiet {
		if !a.JSON {
			fmt.Fprintf(os.Stderr, "meguri-compact: %s: checkpoint to generation %d\n", a.Data, w.Generation())
		}
		extra := salvageJSON(rep)
		if u := unmatchedJSON(drops, res.HostsDropped, urls, urlKeys, res.URLsDropped); u != "" {
			if extra != "" {
				extra += ","
			}
			extra += u
		}
		summary(res, time.Since(start), a.JSON, extra)
	}
	if !a.JSON && (len(drops) > 0 || len(urls) > 0) {
		sc := scope{lo: h.Lo, hi: h.Hi, dir: a.Data}
		drops.report(res.HostsDropped, a.Quiet, sc)
		snap, f, err := codec.Open(w.SnapshotPath())
		if err != nil {
			return err
		}
		defer f.Close()
		reportURLs(urls, urlKeys, res.URLsDropped, a.Quiet, sc, func(k merge.URLKey) bool {
			_, ok, err := snap.Find(k.Host, k.URL)
			return ok && err == nil
		})
	}
	return nil
}

// salvageLines says what a salvage keeps and leaves out.
func salvageLines(s *logstore.Salvage) []string {
	log := filepath.Base(s.Log)
	if !s.Damaged() {
		return []string{log + " is not damaged; checkpointing as usual"}
	}
	var out []string
	if s.HeaderDamaged {
		out = append(out, log+": the header is damaged; it holds only the generation number, so nothing is lost with it")
	}
	for _, l := range s.Lost {
		m := fmt.Sprintf("%s: leaving out bytes %d to %d (%d bytes), damaged", log, l.From, l.To, l.To-l.From)
		if c := l.Commit; c != nil && c.Carried() {
			m += ": the record of the inputs of runs before the last checkpoint (no captures); nothing to re-run, but a re-run of those runs is no longer told and would count twice"
		} else if c != nil {
			m += fmt.Sprintf(": the run committed at %s (%d lines, %d captures); re-run it", record.FormatTimestamp(c.Unix), c.Lines, c.Taken)
		} else {
			m += ": a run whose commit frame is damaged too, so its time and counts are lost; re-run what it held"
		}
		out = append(out, m)
	}
	k := s.Kept
	out = append(out, fmt.Sprintf("%s: keeping %d intact runs (%d lines, %d captures)", log, k.Transactions, k.Lines, k.Taken))
	if s.Unfinished > 0 {
		out = append(out, fmt.Sprintf("%s: dropping %d bytes of an unfinished run at its end", log, s.Unfinished))
	}
	return out
}

// salvageJSON renders a salvage report as a "salvage" JSON member, or ""
// without one.
func salvageJSON(s *logstore.Salvage) string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	k := s.Kept
	fmt.Fprintf(&b, `"salvage":{"damaged":%t,"log":%s,"damaged_log":%s,"header_damaged":%t,"unfinished_bytes":%d,"kept":{"transactions":%d,"lines":%d,"taken":%d},"lost":[`,
		s.Damaged(), record.AppendString(nil, s.Log), record.AppendString(nil, s.DamagedLog), s.HeaderDamaged, s.Unfinished, k.Transactions, k.Lines, k.Taken)
	for i, l := range s.Lost {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"from":%d,"to":%d`, l.From, l.To)
		if c := l.Commit; c != nil && c.Carried() {
			b.WriteString(`,"carried":true`) // the record of earlier runs' inputs
		} else if c != nil {
			fmt.Fprintf(&b, `,"committed":%q,"lines":%d,"taken":%d`, record.FormatTimestamp(c.Unix), c.Lines, c.Taken)
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.String()
}
