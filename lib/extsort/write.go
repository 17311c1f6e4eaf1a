package extsort

import (
	"io"
	"runtime"

	"github.com/meguri/meguri/lib/codec"
)

// ForMem returns the sorter ingest and the log store's pack use under a
// working-set budget of mem bytes (0: 1 GiB): the arena gets a share of it;
// the rest covers batches in flight, the encoders (as many as it holds,
// codec.SlotsFor) and the garbage collector's headroom.
func ForMem(mem int64, tmp string) *Sorter {
	if mem <= 0 {
		mem = 1 << 30
	}
	return New(Options{Budget: mem * 2 / 5, TmpDir: tmp, Writers: codec.SlotsFor(mem)})
}

// Holds is about what a sorter holds at most: its arena's budget and the
// blocks its writer encodes at once (codec.SlotBytes each). At least one
// block is encoded whatever the budget, so under a small one this is
// more than the budget: a floor.
func (s *Sorter) Holds() int64 {
	w := s.opt.Writers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0) // what WriteMeguri encodes with
	}
	return s.opt.Budget + int64(w)*codec.SlotBytes
}

// WriteMeguri folds every URL's captures into its record and writes the
// records to out as a .meguri stream with header h. It removes the spilled
// runs. It lives here, not in package ingest, so that the tools which link
// the log store but never parse CDX (meguri-pack, meguri-compact,
// meguri-inspect) do not link the CDX parser and its JSON library, whose
// initialization costs every process several milliseconds.
func (s *Sorter) WriteMeguri(out io.Writer, h codec.Header) (stats codec.Stats, size int64, err error) {
	progress := s.Progress
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	progress("sort", 0, s.added)
	it, err := s.Finish()
	if err != nil {
		return stats, 0, err
	}
	defer func() {
		// Close removes the spilled runs; its error matters only if
		// nothing failed before it.
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	w, err := codec.NewWriter(out, h, codec.WithConcurrency(s.opt.Writers))
	if err != nil {
		return stats, 0, err
	}
	var folded, shown int64
	for it.Next() {
		if err := w.Add(it.Record()); err != nil {
			w.Close()
			return stats, 0, err
		}
		if folded += int64(it.Captures()); folded-shown >= 1<<14 {
			progress("write", folded, s.added)
			shown = folded
		}
	}
	if err := it.Err(); err != nil {
		w.Close()
		return stats, 0, err
	}
	if err := w.Close(); err != nil {
		return stats, 0, err
	}
	return w.Stats(), w.Size(), nil
}
