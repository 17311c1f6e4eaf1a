package logstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/meguri/meguri/lib/codec"
)

// UnpackOptions configure Unpack.
type UnpackOptions struct {
	// Source names src in errors (its path, or "stdin").
	Source string
	// Notify, when set, is told that Unpack waits for a writer that holds
	// the directory.
	Notify func(msg string)
	// Progress, when set, is called after each block is checked with the
	// blocks, rows and bytes read so far.
	Progress func(blocks int, rows uint64, bytes int64)
}

// Unpacked is what Unpack made: the partition's header and counts, and the
// snapshot's size.
type Unpacked struct {
	Header codec.Header
	Stats  codec.Stats
	Bytes  int64
}

// Unpack makes dir a live partition whose first snapshot is the .meguri
// stream src (a file, or a pipe: the stream is read once, front to back),
// the reverse of a pack: the partition's id, range and grouping are the
// file's, its log starts empty, and a pack of it gives src's bytes again.
// It is how a packed partition that moved, or a file cut by a split or a
// merge, goes on receiving captures.
//
// dir may be missing (it is made), empty, or hold what an earlier create
// that died left; a directory that is a partition already is refused, and
// so is any other. Every page of src is checked, every block decoded and
// the rows' order and range checked as meguri-inspect --verify does,
// before the snapshot is renamed into place: a damaged or truncated src
// leaves no partition behind (and no directory, when Unpack made it).
func Unpack(dir string, src io.Reader, opt UnpackOptions) (u Unpacked, err error) {
	made, err := prepare(dir)
	if err != nil {
		return u, err
	}
	say := func(msg string) {
		if opt.Notify != nil {
			opt.Notify(msg)
		}
	}
	var lockF *os.File
	defer func() {
		if err != nil && made {
			// Nothing else can have come to depend on a directory this
			// run made and filled with nothing but the lock.
			os.Remove(filepath.Join(dir, lockName))
			os.Remove(dir)
		}
		if lockF != nil {
			lockF.Close()
		}
	}()
	if lockF, err = lock(dir, say); err != nil {
		return u, err
	}
	if sb, err := readSuper(dir); err == nil {
		h, herr := snapshotHeader(filepath.Join(dir, snapName(sb.gen)))
		if herr != nil {
			return u, fmt.Errorf("%s is a partition directory already: unpack makes a new one; give a directory that does not exist yet", dir)
		}
		return u, fmt.Errorf("%s is partition %d already (generation %d): unpack makes a new live partition; give a directory that does not exist yet (a file of this partition folds into it at a checkpoint: meguri-compact --data %s --fold FILE)", dir, h.PartitionID, sb.gen, dir)
	} else if !errors.Is(err, ErrNotPartition) {
		return u, err
	}
	err = create(dir, func(snap io.Writer) error {
		var perr error
		if u, perr = checkCopy(snap, bufio.NewReaderSize(src, 1<<20), opt.Progress); perr != nil {
			return fmt.Errorf("%s: %w (%s was not made a partition)", opt.Source, perr, dir)
		}
		return nil
	})
	return u, err
}

// checkCopy copies the .meguri stream src to dst, checking it as it goes.
func checkCopy(dst io.Writer, src io.Reader, progress func(int, uint64, int64)) (Unpacked, error) {
	r, err := codec.NewReader(io.TeeReader(src, dst))
	if err != nil {
		return Unpacked{}, err
	}
	h := r.Header()
	u := Unpacked{Header: h}
	if h.Version != codec.Version {
		return u, fmt.Errorf("%w %d: a live partition starts from a file of format version %d, which ingest writes; convert it first (meguri-compact --format-version %d FILE -o NEW)", codec.ErrVersion, h.Version, codec.Version, codec.Version)
	}
	var order codec.Order
	var rows uint64
	for {
		b, err := r.NextBlock()
		if err == io.EOF {
			u.Stats, u.Bytes = r.Stats(), r.Offset()
			return u, nil
		}
		if err != nil {
			return u, err
		}
		recs, err := b.Decode()
		if err != nil {
			return u, err
		}
		if err := order.Check(h, b, recs); err != nil {
			return u, err
		}
		rows += uint64(len(recs))
		if progress != nil {
			progress(b.Index+1, rows, r.Offset())
		}
	}
}
