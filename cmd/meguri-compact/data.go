package main

import (
	"fmt"
	"os"
	"time"

	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/merge"
)

// checkpoint folds the log of the partition directory a.Data into its next
// snapshot generation.
func checkpoint(a *args, opt merge.Options) error {
	start := time.Now()
	w, err := logstore.OpenWriter(a.Data, logstore.WriterOptions{OnWait: func() {
		fmt.Fprintf(os.Stderr, "meguri-compact: %s: another writer holds it; waiting\n", a.Data)
	}})
	if err != nil {
		return err
	}
	defer w.Close()
	if w.Recovered > 0 {
		fmt.Fprintf(os.Stderr, "meguri-compact: %s: dropped %d bytes of an unfinished run from the log\n", a.Data, w.Recovered)
	}
	for _, name := range w.Removed {
		fmt.Fprintf(os.Stderr, "meguri-compact: %s: removed %s, left by a checkpoint that did not finish\n", a.Data, name)
	}
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
