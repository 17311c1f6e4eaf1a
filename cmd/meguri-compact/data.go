package main

import (
	"fmt"
	"os"
	"time"

	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/merge"
)

// checkpoint folds the log of the partition directory a.Data into its next
// snapshot generation.
func checkpoint(a *args, opt merge.Options) error {
	start := time.Now()
	w, err := logstore.OpenWriter(a.Data, logstore.WriterOptions{Notify: cli.Notify("meguri-compact", a.Data)})
	if err != nil {
		return err
	}
	defer w.Close()
	res, err := w.Checkpoint(logstore.PackOptions{Mem: opt.Mem, TmpDir: a.Tmp, GC: opt.GC, Cutoff: opt.Cutoff})
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if !a.Quiet {
		if !a.JSON {
			fmt.Fprintf(os.Stderr, "meguri-compact: %s: checkpoint to generation %d\n", a.Data, w.Generation())
		}
		summary(res, time.Since(start), a.JSON)
	}
	return nil
}
