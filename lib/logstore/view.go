package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/extsort"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/merge"
	"github.com/meguri/meguri/lib/units"
)

// View is a partition directory as of one moment: the generation the
// superblock named and its log up to the last commit then. Opening a view
// takes no lock and writes nothing, so it can read a directory a writer is
// appending to or checkpointing.
type View struct {
	Dir        string
	Generation uint64
	Sequence   uint64
	Header     codec.Header
	Snapshot   *codec.File // the snapshot's two ends
	SnapBytes  int64
	LogBytes   int64    // the log's size when the view was opened
	Log        LogStats // what its committed transactions hold
	// DamagedLogs are the damaged logs salvages kept in the directory
	// (damaged-log-G), which wait for someone to re-run the runs they
	// lost and remove them.
	DamagedLogs []string
	// Sealed is the note of the directory's seal (see Seal); "" when it
	// is not sealed.
	Sealed string

	snap      *os.File
	log       *os.File
	committed int64
	spans     []span // the transactions to read: all up to committed, or what a salvage keeps
}

// OpenPartition takes a view of the live partition directory that row p
// of the map m names at path, refusing one of another partition, range or
// grouping as m.CheckFile refuses a file.
func OpenPartition(m *manifest.Manifest, p *manifest.Partition, path string) (*View, error) {
	v, err := Open(path)
	if err != nil {
		return nil, fmt.Errorf("partition %d: %w", p.ID, err)
	}
	if err := m.Agrees(p, path, v.Header); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// Header returns the partition directory dir's header (id, range,
// grouping, format version): its current snapshot's, read from that
// file's two ends, without reading the log as Open does.
func Header(dir string) (codec.Header, error) {
	for try := 0; ; try++ {
		sb, err := readSuper(dir)
		if err != nil {
			return codec.Header{}, err
		}
		h, err := snapshotHeader(filepath.Join(dir, snapName(sb.gen)))
		// a checkpoint may have removed that generation meanwhile
		if errors.Is(err, os.ErrNotExist) && try < 10 {
			continue
		}
		return h, err
	}
}

// Open takes a view of the partition directory dir.
func Open(dir string) (*View, error) {
	for try := 0; ; try++ {
		v, err := open(dir)
		// A checkpoint may remove the generation between reading the
		// superblock and opening its files: read the superblock again.
		if errors.Is(err, os.ErrNotExist) && try < 10 {
			if _, serr := readSuper(dir); serr == nil {
				continue
			}
		}
		return v, err
	}
}

func open(dir string) (_ *View, err error) {
	sb, err := readSuper(dir)
	if err != nil {
		return nil, err
	}
	v := &View{Dir: dir, Generation: sb.gen, Sequence: sb.seq}
	if v.log, err = os.Open(v.logPath()); err != nil {
		return nil, err
	}
	if err := v.openSnapshot(); err != nil {
		v.log.Close()
		return nil, err
	}
	defer func() {
		if err != nil {
			v.Close()
		}
	}()
	st, err := v.log.Stat()
	if err != nil {
		return nil, err
	}
	v.LogBytes = st.Size()
	res, err := scan(v.log, v.logPath(), sb.gen, v.LogBytes, nil)
	if err != nil {
		return nil, err
	}
	v.Log, v.committed = res.LogStats, res.committed
	v.spans = []span{{logHeaderSize, res.committed}}
	if v.DamagedLogs, err = filepath.Glob(filepath.Join(dir, "damaged-log-*")); err != nil {
		return nil, err
	}
	if v.Sealed, _, err = Sealed(dir); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *View) logPath() string { return filepath.Join(v.Dir, logName(v.Generation)) }

// eachBatch decodes the captures of every committed frame, in log order,
// and hands each to fn with the frame's size in the log.
func (v *View) eachBatch(fn func(b *extsort.Batch, frameBytes int64) error) error {
	for _, s := range v.spans {
		// fn's own errors (a spill that fills --tmp) are not the log's:
		// they go back as they are, not named as a frame's
		var fnErr error
		_, err := scanFrames(v.log, v.logPath(), s.from, s.to, func(p []byte) error {
			b, err := decodeCaptures(p)
			if err != nil {
				return err
			}
			fnErr = fn(&b, int64(frameHeaderSize+len(p)))
			return fnErr
		})
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (v *View) openSnapshot() error {
	cf, f, err := codec.Open(v.SnapshotPath())
	if err != nil {
		return err
	}
	v.snap, v.Snapshot, v.SnapBytes, v.Header = f, cf, cf.Size(), cf.Header
	return nil
}

// SnapshotPath returns the path of the view's snapshot file.
func (v *View) SnapshotPath() string { return filepath.Join(v.Dir, snapName(v.Generation)) }

// UncommittedBytes is the log past its last commit when the view was
// opened: a transaction in progress, or the tail of a run that died (the
// next writer drops it).
func (v *View) UncommittedBytes() int64 { return v.LogBytes - v.committed }

// Close closes the view's files.
func (v *View) Close() error {
	v.snap.Close()
	return v.log.Close()
}

// PackOptions configure Pack and Checkpoint.
type PackOptions struct {
	Mem    int64  // working-set budget for sorting the log's captures (default 1 GiB)
	TmpDir string // where sorted runs spill
	// GC drops Gone rows whose last capture is before Cutoff (Unix
	// seconds), as meguri-compact --gc does.
	GC     bool
	Cutoff int64
	// DropHosts and DropURLs drop rows as meguri-compact --drop-host and
	// --drop-url do (merge.Options says how): from the snapshot and the
	// log alike, since they apply to the folded rows.
	DropHosts []uint64
	DropURLs  []merge.URLKey
	// Fold are .meguri files of this partition (its id, range, grouping
	// and format version; Pack refuses others) folded in with the log, as
	// meguri-compact --fold folds a delta into a base.
	Fold []*merge.Input
	// Check, when set, is given the result before a checkpoint commits
	// its snapshot; an error stops the checkpoint, and nothing changes.
	Check func(*merge.Result) error
	// Progress, when set, is called now and then: while the log is read
	// (stage "log") with the bytes of it read and the bytes to read, then
	// while the result is written (stage "merge") with the rows merged
	// and 0 (the total is not known before the fold).
	Progress func(stage string, done, total int64)
}

// Pack writes the view's state as a standalone .meguri stream to out: the
// log's captures are sorted and folded as ingest folds them, and the result
// is folded into the snapshot as meguri-compact --fold does. Blocks of the
// snapshot that no logged URL touches are copied. With no checkpoint since
// a writer made the directory (not Unpack), the bytes equal meguri-ingest
// of every committed line with the directory's id and range.
func (v *View) Pack(out io.Writer, opt PackOptions) (*merge.Result, error) {
	sorter := extsort.ForMem(opt.Mem, opt.TmpDir)
	defer sorter.Discard()
	var read, total int64
	for _, s := range v.spans {
		total += s.to - s.from
	}
	err := v.eachBatch(func(b *extsort.Batch, frameBytes int64) error {
		if opt.Progress != nil {
			read += frameBytes
			opt.Progress("log", read, total)
		}
		return sorter.AddBatch(b)
	})
	if err != nil {
		return nil, err
	}
	// The log's records stream to the merge through a pipe, as a .meguri
	// stream with the snapshot's header.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, _, err := sorter.WriteMeguri(pw, v.Header)
		pw.CloseWithError(err)
		done <- err
	}()
	res, err := v.fold(pr, out, opt)
	pr.CloseWithError(errors.New("pack stopped"))
	if werr := <-done; err == nil && werr != nil {
		err = werr
	}
	return res, err
}

// PackStream returns the view's pack as a stream, written by a goroutine
// as it is read (with default options): a reader sees the pack's error as
// its own. Close stops a pack still running and waits for it; the view
// stays open until its own Close, which comes after.
func (v *View) PackStream() io.ReadCloser {
	pr, pw := io.Pipe()
	s := &packStream{pr: pr, done: make(chan struct{})}
	go func() {
		_, err := v.Pack(pw, PackOptions{})
		pw.CloseWithError(err)
		close(s.done)
	}()
	return s
}

type packStream struct {
	pr   *io.PipeReader
	done chan struct{}
}

func (s *packStream) Read(b []byte) (int, error) { return s.pr.Read(b) }

func (s *packStream) Close() error {
	s.pr.CloseWithError(errors.New("pack stopped")) // a reader that stopped early stops the pack
	<-s.done
	return nil
}

func (v *View) fold(logStream io.Reader, out io.Writer, opt PackOptions) (*merge.Result, error) {
	r, err := codec.NewReader(logStream)
	if err != nil {
		return nil, err
	}
	h := v.Header
	srcs := []merge.Source{
		&merge.FileSource{Path: v.SnapshotPath(), File: v.Snapshot},
		&merge.StreamSource{Label: v.logPath(), R: r},
	}
	for _, in := range opt.Fold {
		fh := in.File.Header
		if fh.PartitionID != h.PartitionID || fh.Lo != h.Lo || fh.Hi != h.Hi || fh.Grouping != h.Grouping || fh.Version != h.Version {
			return nil, fmt.Errorf("%s is partition %d (%s..%s, grouping %s, format version %d), but %s is partition %d (%s..%s, grouping %s, format version %d): fold only a file of this partition (meguri-route split cuts one by the map; meguri-ingest --manifest MAP --partition-id %d writes one)",
				in.Path, fh.PartitionID, units.Key(fh.Lo), units.Key(fh.Hi), canon.Grouping(fh.Grouping), fh.Version,
				v.Dir, h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), canon.Grouping(h.Grouping), h.Version, h.PartitionID)
		}
		srcs = append(srcs, &merge.FileSource{Path: in.Path, File: in.File})
	}
	mopt := merge.Options{
		Outputs:   []merge.Output{{ID: h.PartitionID, Lo: h.Lo, Hi: h.Hi}},
		Create:    func(int) (io.Writer, error) { return out, nil },
		Fold:      true,
		GC:        opt.GC,
		Cutoff:    opt.Cutoff,
		DropHosts: opt.DropHosts,
		DropURLs:  opt.DropURLs,
	}
	if opt.Progress != nil {
		mopt.Progress = func(rows uint64) { opt.Progress("merge", int64(rows), 0) }
	}
	return merge.Run(srcs, mopt)
}

// Commits lists the view's committed transactions in log order (a
// meguri-ingest --data run each, since the last checkpoint, after the
// Carried one a checkpoint starts the log with): what each commit frame
// records, and the inputs the run recorded. Their frames
// were checked when the view was opened; this reads frame headers, commit
// frames and inputs frames.
func (v *View) Commits() ([]Commit, error) {
	return commitsIn(v.log, v.logPath(), v.spans)
}

// commitsIn lists the committed transactions in spans of the log r.
func commitsIn(r io.ReaderAt, name string, spans []span) ([]Commit, error) {
	var out []Commit
	var ins []Input
	// one read a frame: its header, and a commit's payload or a captures
	// frame's count
	var buf [commitFrameSize]byte
	for _, s := range spans {
		for off := s.from; off < s.to; {
			h := buf[:min(commitFrameSize, s.to-off)]
			if len(h) < frameHeaderSize+capturesPrefix {
				return nil, fmt.Errorf("%s: frame at byte %d: %w", name, off, io.ErrUnexpectedEOF)
			}
			if err := readFull(r, h, off); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			n := int64(binary.LittleEndian.Uint32(h))
			switch {
			case h[4] == kindCommit && len(h) == commitFrameSize:
				c := commitOf(h[frameHeaderSize:])
				c.Inputs, ins = ins, nil
				out = append(out, c)
			case h[4] == kindCaptures && captureCount(h[frameHeaderSize:]) == 0:
				p := make([]byte, n)
				if err := readFull(r, p, off+frameHeaderSize); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				// The record of inputs only advises: one that does not
				// parse (its checksum held) is passed over, never in the
				// way of a pack, a checkpoint or a salvage.
				if got, ok, err := parseInputs(p); ok && err == nil {
					ins = append(ins, got...)
				}
			}
			off += frameHeaderSize + n
		}
	}
	return out, nil
}
