package merge

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/internal/fdpool"
	"github.com/meguri/meguri/lib/internal/twins"
	"github.com/meguri/meguri/lib/units"
)

// Input is a .meguri file opened for compaction.
type Input struct {
	Path string
	File *codec.File
	f    *fdpool.File
	st   os.FileInfo
}

// newPool makes the pool of descriptors a set of files takes turns on
// (a test makes it smaller).
var newPool = fdpool.ForRun

// OpenInputs opens every file and reads its two ends, so a truncated or
// damaged footer, a foreign file or an unknown version is refused before
// anything is written, and so is one file named twice or two files of the
// same bytes that hold records (Run refuses inputs that disagree on
// version or grouping).
// The inputs come back sorted by range.
func OpenInputs(paths []string) ([]*Input, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input files")
	}
	var ins []*Input
	fail := func(err error) ([]*Input, error) {
		CloseInputs(ins)
		return nil, err
	}
	var same twins.Set
	var files twins.Files
	// The inputs share a pool of descriptors: a compaction of more files
	// than the open-file limit lets it hold open keeps those it read most
	// recently open, and opens the others again as it reads them.
	fds := newPool()
	for _, p := range paths {
		if p == "-" {
			return fail(errors.New("inputs must be files (compaction reads their footers first), not stdin"))
		}
		f, err := fds.Open(p)
		if err != nil {
			return fail(dirs.CannotRead(p, err))
		}
		cf, err := codec.OpenFrom(p, f)
		if err != nil {
			f.Close()
			return fail(err)
		}
		// One file under two names (./x, a link) would fold with itself.
		st, _ := f.Stat() // as opened
		// Nor would one file's bytes under two names (a delta copied, a
		// shard fetched back twice); only inputs of one size are compared.
		// Files holding no record are alike whenever their headers are
		// (shards that had nothing for one partition) and count nothing.
		if o := files.Add(p, st); o != "" {
			f.Close()
			return fail(fmt.Errorf("%s and %s are the same file: give each input once (read twice, its records would count twice)", o, p))
		}
		if cf.Stats.URLs > 0 {
			o, err := same.Add(p, st.Size(), func() (io.ReaderAt, func(), error) { return f, func() {}, nil })
			if err != nil {
				f.Close()
				return fail(err)
			}
			if o != "" {
				f.Close()
				return fail(fmt.Errorf("%s and %s hold the same bytes: folded, every capture in them would count twice, and merged they overlap (give each input once)", o, p))
			}
		}
		ins = append(ins, &Input{Path: p, File: cf, f: f, st: st})
	}
	slices.SortStableFunc(ins, func(a, b *Input) int {
		return cmp.Or(cmp.Compare(a.File.Header.Lo, b.File.Header.Lo), cmp.Compare(a.File.Header.Hi, b.File.Header.Hi))
	})
	return ins, nil
}

// CloseInputs closes the files.
func CloseInputs(ins []*Input) {
	for _, in := range ins {
		in.f.Close()
	}
}

// Sources returns the inputs as merge sources.
func Sources(ins []*Input) []Source {
	out := make([]Source, len(ins))
	for i, in := range ins {
		out[i] = &FileSource{Path: in.Path, File: in.File}
	}
	return out
}

// Union checks inputs for a disjoint merge and returns the range they
// cover together. Overlapping ranges are refused naming both files and the
// overlap; a gap between ranges is refused unless allowGap (the union then
// covers it).
func Union(ins []*Input, allowGap bool) (lo, hi uint64, err error) {
	lo, hi = ins[0].File.Header.Lo, ins[0].File.Header.Hi
	prev := ins[0]
	for _, in := range ins[1:] {
		h := in.File.Header
		if h.Lo <= hi {
			return 0, 0, fmt.Errorf("%s and %s overlap on host keys %s..%s; merging needs disjoint ranges (use --fold for files of one partition)",
				prev.Path, in.Path, units.Key(h.Lo), units.Key(min(h.Hi, hi)))
		}
		if h.Lo > hi+1 && !allowGap {
			return 0, 0, fmt.Errorf("%s and %s leave host keys %s..%s uncovered; pass --allow-gap to let the output cover the gap",
				prev.Path, in.Path, units.Key(hi+1), units.Key(h.Lo-1))
		}
		hi = max(hi, h.Hi)
		prev = in
	}
	return lo, hi, nil
}

// OnePartition checks the inputs of a fold, which joins files of one
// partition (a base and its deltas), and returns that partition's range.
// Inputs that own different ranges are refused naming two of them, as
// are inputs of different partition ids unless idGiven (--partition-id
// chooses the result's): folding them would give a file that owns a range,
// or carries an id, that none of the inputs had.
func OnePartition(ins []*Input, idGiven bool) (lo, hi uint64, err error) {
	first := ins[0]
	h0 := first.File.Header
	for _, in := range ins[1:] {
		h := in.File.Header
		if h.Lo != h0.Lo || h.Hi != h0.Hi {
			return 0, 0, fmt.Errorf("%s owns host keys %s..%s and %s owns %s..%s: a fold joins files of one partition, which own one range; "+
				"cut a delta to the partition's range first (meguri-route split --manifest MAP takes a .meguri, or ingest its lines with --range), or merge neighbouring partitions before folding (meguri-compact A B -o AB)",
				first.Path, units.Key(h0.Lo), units.Key(h0.Hi), in.Path, units.Key(h.Lo), units.Key(h.Hi))
		}
		if h.PartitionID != h0.PartitionID && !idGiven {
			return 0, 0, fmt.Errorf("%s is partition %d and %s partition %d: a fold joins files of one partition; give --partition-id N to say which the result is",
				first.Path, h0.PartitionID, in.Path, h.PartitionID)
		}
	}
	return h0.Lo, h0.Hi, nil
}
