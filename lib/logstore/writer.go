package logstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meguri/meguri/lib/atomicfile"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/extsort"
	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/internal/flock"
	"github.com/meguri/meguri/lib/merge"
)

// WriterOptions configure OpenWriter.
type WriterOptions struct {
	Durability Durability
	// Create, when set, makes the directory a partition with this header
	// (id, range, grouping) if it is not one yet. The directory may be
	// missing or empty.
	Create *codec.Header
	// CreateOnCommit keeps what Create made only once a transaction
	// commits: Close makes a directory that this writer made a partition,
	// and committed nothing to, not one again. A first run that fails then
	// does not settle the id, range and grouping for the run after it.
	CreateOnCommit bool
	// Notify, when set, is told what the writer does besides appending,
	// one line each: that it waits for another writer holding the
	// directory, drops an unfinished run's tail, or removes what a
	// checkpoint that died left behind.
	Notify func(msg string)
	// Salvage, when set, opens a directory whose log is damaged instead
	// of refusing it: the writer reads the whole log and plans what to
	// keep (Salvaged reports it), appends nothing, and its Checkpoint
	// folds every intact transaction into the next generation (see
	// salvage.go). On an undamaged log it opens as usual.
	Salvage bool
}

// Writer appends transactions to a partition directory's log. One writer
// at a time holds a directory.
type Writer struct {
	dir            string
	dur            Durability
	lockF          *os.File
	superF         *os.File
	logF           *os.File
	bw             *bufio.Writer
	sb             super
	hdr            codec.Header
	committed      int64 // log offset just past the last commit
	size           int64 // log bytes written, buffered ones included
	notify         func(string)
	frame          []byte // scratch for a frame
	raw            []byte // and for its captures before compression
	syncs          int
	pending        int64    // captures appended since the last commit
	damaged        bool     // the log is damaged and opened for a salvage
	keep           []span   // the transactions the salvage keeps
	salvaged       *Salvage // and its report
	createOnCommit bool

	// Created is set when OpenWriter made the directory a partition.
	Created bool
	// Recovered is the bytes of an unfinished transaction (a run that
	// died) that OpenWriter dropped from the log's tail.
	Recovered int64
}

// OpenWriter locks the partition directory for writing (waiting for
// another writer to finish), recovers it, and returns a Writer positioned
// after the log's last commit.
func OpenWriter(dir string, opt WriterOptions) (_ *Writer, err error) {
	var missing *SuperMissingError
	if opt.Create == nil {
		// Fail before making a lock file in a directory that is not a
		// partition (a salvage rebuilds a missing superblock).
		if _, err := readSuper(dir); err != nil && !(opt.Salvage && errors.As(err, &missing)) {
			return nil, err
		}
	} else if _, err := prepare(dir); err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, dur: opt.Durability, createOnCommit: opt.CreateOnCommit}
	defer func() {
		if err != nil {
			w.closeFiles()
		}
	}()
	w.notify = opt.Notify
	if w.lockF, err = lock(dir, w.say); err != nil {
		return nil, err
	}
	if note, sealed, err := Sealed(dir); err != nil {
		return nil, err
	} else if sealed {
		return nil, &SealedError{Dir: dir, Note: note}
	}
	sb, err := readSuper(dir)
	if errors.As(err, &missing) && opt.Salvage {
		if err = rebuildSuper(dir, w.say); err == nil {
			sb, err = readSuper(dir)
		}
	}
	if errors.Is(err, ErrNotPartition) && opt.Create != nil {
		h := *opt.Create
		if err = create(dir, func(w io.Writer) error { return codec.WriteAll(w, h, nil) }); err != nil {
			return nil, err
		}
		w.Created = true
		sb, err = readSuper(dir)
	}
	if err != nil {
		return nil, err
	}
	w.sb = sb
	if w.superF, err = os.OpenFile(w.path(superName), os.O_RDWR, 0); err != nil {
		return nil, err
	}
	if w.hdr, err = snapshotHeader(w.path(snapName(sb.gen))); err != nil {
		return nil, err
	}
	if err := w.openLog(opt.Salvage); err != nil {
		return nil, err
	}
	return w, w.removeSuperseded()
}

func (w *Writer) path(name string) string { return filepath.Join(w.dir, name) }

func (w *Writer) say(msg string) {
	if w.notify != nil {
		w.notify(msg)
	}
}

// Header returns the partition's header: id, range, grouping, version.
func (w *Writer) Header() codec.Header { return w.hdr }

// Generation returns the current generation.
func (w *Writer) Generation() uint64 { return w.sb.gen }

// SnapshotPath returns the current generation's snapshot file.
func (w *Writer) SnapshotPath() string { return w.path(snapName(w.sb.gen)) }

// Syncs returns how many times the writer flushed the log or superblock.
func (w *Writer) Syncs() int { return w.syncs }

// create makes generation 0 in dir, whose only entries may be the lock and
// the leftovers of an earlier create that died: fill writes its snapshot
// (an empty one, for a directory that starts from nothing), and the log
// starts empty.
func create(dir string, fill func(io.Writer) error) error {
	if err := strays(dir); err != nil {
		return err
	}
	snap, err := atomicfile.Create(filepath.Join(dir, snapName(0)))
	if err != nil {
		return err
	}
	defer snap.Abort()
	if err := fill(snap); err != nil {
		return err
	}
	if err := snap.Commit(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, logName(0)), encodeLogHeader(0)); err != nil {
		return err
	}
	// The superblock comes last: until it is there, the directory is not
	// a partition and another create starts over.
	return writeSuper(dir, 0)
}

// writeSuper writes a new superblock naming generation gen.
func writeSuper(dir string, gen uint64) error {
	b := make([]byte, 2*slotSize)
	copy(b, encodeSlot(super{seq: 0, gen: gen}))
	return atomicfile.WriteFile(filepath.Join(dir, superName), b)
}

// rebuildSuper writes the superblock of a directory that lost it, naming
// the newest generation whose snapshot and log are both whole (a
// checkpoint writes both before it commits; one that died before its
// commit leaves a newer generation without one of them, or with one cut
// short, which the writer then removes as it removes any leftover).
func rebuildSuper(dir string, say func(string)) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var gens []uint64
	for _, e := range ents {
		if g, ok := genOf(e.Name()); ok && e.Name() == snapName(g) {
			gens = append(gens, g)
		}
	}
	slices.Sort(gens)
	for i := len(gens) - 1; i >= 0; i-- {
		g := gens[i]
		if _, err := snapshotHeader(filepath.Join(dir, snapName(g))); err != nil {
			continue
		}
		f, _, err := openLog(filepath.Join(dir, logName(g)), g)
		if err != nil {
			continue
		}
		f.Close()
		if err := writeSuper(dir, g); err != nil {
			return err
		}
		say(fmt.Sprintf("rebuilt the missing superblock: generation %d (%s and %s), the newest whole one", g, snapName(g), logName(g)))
		return nil
	}
	return fmt.Errorf("%s: no generation has a whole snapshot and log to rebuild the superblock from", dir)
}

// strays refuses a directory that is no partition and holds anything but
// the lock and the leftovers of a create that died.
func strays(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if _, ok := genOf(e.Name()); !ok && e.Name() != lockName && !isTemp(e.Name()) {
			return fmt.Errorf("%s is not empty and not a partition directory (it holds %s)", dir, e.Name())
		}
	}
	return nil
}

// prepare readies dir for a writer that may make it a partition: it makes
// the directory when it is missing (made says so), and refuses a file, a
// directory that is no partition and holds other things, and a new
// partition inside another's directory (it would go with that one when it
// is retired and removed), before a lock file is left in it.
func prepare(dir string) (made bool, err error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := notNested(dir); err != nil {
			return false, err
		}
		return true, os.MkdirAll(dir, 0o755)
	case err != nil:
		return false, err
	case !st.IsDir():
		return false, notDir(dir)
	}
	if _, err := readSuper(dir); errors.Is(err, ErrNotPartition) {
		if err := notNested(dir); err != nil {
			return false, err
		}
		if testNoSuper != nil {
			testNoSuper(dir)
		}
		if err := strays(dir); err != nil {
			// Writers started at once on a new directory: another one
			// may have made it a partition since (its superblock is
			// what strays found).
			if _, serr := readSuper(dir); serr == nil {
				return false, nil
			}
			return false, err
		}
	}
	return false, nil
}

// testNoSuper, when set by a test, runs in prepare after the superblock
// was found missing: what another writer does in that moment.
var testNoSuper func(dir string)

// notNested refuses a directory that lies in a partition directory.
func notNested(dir string) error {
	if p := dirs.PartitionAt(filepath.Dir(filepath.Clean(dir))); p != "" {
		return fmt.Errorf("%s lies inside the partition directory %s: give a partition a directory of its own", dir, p)
	}
	return nil
}

// lock opens dir's lock file and takes it, waiting (and saying so through
// say) while another writer holds it.
func lock(dir string, say func(string)) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flock.Lock(f, func() { say("another writer holds it; waiting") }); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// isTemp reports whether name is atomicfile's temporary file for a
// snapshot, log or superblock being written, or for the copy of a damaged
// log a salvage keeps where links are not supported.
func isTemp(name string) bool {
	base, _, ok := strings.Cut(name, ".tmp-")
	base, dot := strings.CutPrefix(base, ".")
	_, isGen := genOf(base)
	return ok && dot && (isGen || base == superName || base == sealName || strings.HasPrefix(base, "damaged-log-"))
}

// snapshotHeader reads a snapshot's header, checking both its ends.
func snapshotHeader(path string) (codec.Header, error) {
	cf, f, err := codec.Open(path)
	if err != nil {
		return codec.Header{}, err
	}
	f.Close()
	return cf.Header, nil
}

// openLog opens the current generation's log and drops an unfinished
// transaction from its tail. With salvage, a damaged log is planned for
// salvaging and left as it is.
func (w *Writer) openLog(salvage bool) error {
	name := w.path(logName(w.sb.gen))
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	w.logF = f
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	w.committed = size
	if salvage {
		keep, rep, err := planSalvage(f, name, w.sb.gen, size)
		if err != nil {
			return err
		}
		w.salvaged = rep
		if rep.Damaged() {
			w.damaged, w.keep = true, keep
			w.size = size
			w.bw = bufio.NewWriter(io.Discard)
			return nil
		}
		w.committed = size - rep.Unfinished
	} else if err := checkLogHeader(f, name, w.sb.gen, size); err != nil {
		return err
	} else if ok, err := tailCommitted(f, size); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	} else if !ok {
		res, err := scan(f, name, w.sb.gen, size, nil)
		if err != nil {
			return err
		}
		w.committed = res.committed
	}
	if w.committed < size {
		if err := f.Truncate(w.committed); err != nil {
			return err
		}
		if err := w.sync(f); err != nil {
			return err
		}
		w.Recovered = size - w.committed
		w.say(fmt.Sprintf("dropped %d bytes of an unfinished run from the log", w.Recovered))
	}
	w.size = w.committed
	w.bw = bufio.NewWriterSize(io.NewOffsetWriter(f, w.committed), 1<<20)
	return nil
}

// removeSuperseded removes snapshots, logs and temporary files of other
// generations: what a checkpoint that died after (or before) committing
// the superblock left behind.
func (w *Writer) removeSuperseded() error {
	ents, err := os.ReadDir(w.dir)
	if err != nil {
		return err
	}
	removed := false
	for _, e := range ents {
		if g, ok := genOf(e.Name()); (ok && g != w.sb.gen) || isTemp(e.Name()) {
			if err := os.Remove(w.path(e.Name())); err != nil {
				return err
			}
			w.say("removed " + e.Name() + ", left by a checkpoint that did not finish")
			removed = true
		}
	}
	if removed {
		return atomicfile.SyncDir(w.dir)
	}
	return nil
}

func (w *Writer) sync(f *os.File) error {
	if w.dur == None {
		return nil
	}
	w.syncs++
	return f.Sync()
}

var errDamaged = errors.New("the log is damaged: checkpoint the salvage before appending")

// Salvaged reports what a writer opened with WriterOptions.Salvage found:
// nil without that option, and a report whose Damaged is false when the
// log needed no salvage.
func (w *Writer) Salvaged() *Salvage { return w.salvaged }

// Append writes a batch of captures to the current transaction. Nothing
// of it counts until Commit.
func (w *Writer) Append(b *extsort.Batch) error {
	if w.damaged {
		return errDamaged
	}
	if b.Len() == 0 {
		return nil
	}
	f, raw, err := appendCaptures(w.frame[:0], w.raw, b)
	w.raw = raw
	if err != nil {
		return err
	}
	w.frame = f[:0]
	if _, err := w.bw.Write(f); err != nil {
		return err
	}
	w.size += int64(len(f))
	w.pending += int64(b.Len())
	return nil
}

// AppendInputs records the transaction's inputs in it, in an inputs
// frame: like its captures, they count only once it commits.
func (w *Writer) AppendInputs(ins []Input) error {
	if w.damaged {
		return errDamaged
	}
	if len(ins) == 0 {
		return nil
	}
	f := appendInputs(w.frame[:0], ins)
	w.frame = f[:0]
	if _, err := w.bw.Write(f); err != nil {
		return err
	}
	w.size += int64(len(f))
	return nil
}

// Commits lists the transactions committed to the current log, as
// View.Commits does.
func (w *Writer) Commits() ([]Commit, error) {
	return commitsIn(w.logF, w.path(logName(w.sb.gen)), []span{{logHeaderSize, w.committed}})
}

// Commit ends the transaction: lines and taken are the input lines it
// accounted for and the captures it took, which must be the captures
// appended since the last commit (a salvage relies on it to tell a whole
// transaction from the end of one). Under Full durability the log is on
// the device when Commit returns.
func (w *Writer) Commit(lines, taken int64) error {
	if w.damaged {
		return errDamaged
	}
	if taken != w.pending {
		return fmt.Errorf("commit of %d taken captures, but %d were appended", taken, w.pending)
	}
	f := commitFrame(w.size, lines, taken, time.Now().Unix())
	if _, err := w.bw.Write(f); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.dur == Full {
		if err := w.sync(w.logF); err != nil {
			return err
		}
	}
	w.size += int64(len(f))
	w.committed = w.size
	w.pending = 0
	return nil
}

// Rollback drops the frames appended since the last commit.
func (w *Writer) Rollback() error {
	w.pending = 0
	if w.size == w.committed && w.bw.Buffered() == 0 {
		return nil
	}
	w.bw.Reset(io.NewOffsetWriter(w.logF, w.committed))
	w.size = w.committed
	return w.logF.Truncate(w.committed)
}

// Close rolls back an uncommitted transaction and releases the directory.
// Under CreateOnCommit, a directory this writer made a partition and
// committed nothing to is made not one again.
func (w *Writer) Close() error {
	var err error
	if w.logF != nil {
		err = w.Rollback()
	}
	if w.createOnCommit && w.Created && w.sb.gen == 0 && w.committed == logHeaderSize && w.lockF != nil && err == nil {
		err = w.unmake()
	}
	if cerr := w.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

// unmake removes the empty generation 0 that OpenWriter created, while
// the writer still holds the lock: the superblock first, after which the
// directory is not a partition (a writer waiting for the lock creates it
// anew, with its own flags), then the snapshot and the log. The lock file
// and the directory stay: a waiting writer holds the lock file open.
func (w *Writer) unmake() error {
	if err := os.Remove(w.path(superName)); err != nil {
		return err
	}
	for _, name := range []string{snapName(0), logName(0)} {
		if err := os.Remove(w.path(name)); err != nil {
			return err
		}
	}
	return atomicfile.SyncDir(w.dir)
}

func (w *Writer) closeFiles() error {
	var first error
	for _, f := range []*os.File{w.logF, w.superF, w.lockF} {
		if f != nil {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	w.logF, w.superF, w.lockF = nil, nil, nil
	return first
}

// carriedLog returns the bytes a checkpoint of v starts generation gen's
// log with: the header and, when runs recorded their inputs, a carried
// transaction holding the inputs of every run so far (v's own and those
// its log carried), each content once, so that a run re-run after the
// checkpoint is still told.
func carriedLog(v *View, gen uint64) ([]byte, error) {
	b := encodeLogHeader(gen)
	commits, err := v.Commits()
	if err != nil {
		return nil, err
	}
	var ledger []Input
	seen := map[Content]bool{}
	for _, c := range commits {
		if c.appendedNothing() {
			continue // nothing of its inputs to tell again
		}
		for _, in := range c.Inputs {
			if !seen[in.Content()] {
				seen[in.Content()] = true
				ledger = append(ledger, in)
			}
		}
	}
	if len(ledger) == 0 {
		return b, nil
	}
	b = appendInputs(b, ledger)
	return append(b, commitFrame(int64(len(b)), 0, 0, 0)...), nil
}

// crashHook, when set by a test, is called at each step of a checkpoint;
// an error stops the checkpoint there as a crash would.
var crashHook func(step string) error

func step(name string) error {
	if crashHook != nil {
		return crashHook(name)
	}
	return nil
}

// Checkpoint folds the log into the next generation's snapshot (with GC,
// if opt asks), starts its empty log, commits the superblock and removes
// the superseded files. A checkpoint flushes whatever the durability: it
// removes files, and their replacements must be on the device first.
func (w *Writer) Checkpoint(opt PackOptions) (*merge.Result, error) {
	if w.size != w.committed {
		return nil, errors.New("checkpoint with a transaction open")
	}
	if w.damaged {
		name, err := w.keepDamaged()
		if err != nil {
			return nil, err
		}
		w.salvaged.DamagedLog = name
	}
	v, err := w.view()
	if err != nil {
		return nil, err
	}
	defer v.snap.Close()
	next := super{seq: w.sb.seq + 1, gen: w.sb.gen + 1}
	out, err := atomicfile.Create(w.path(snapName(next.gen)))
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	res, err := v.Pack(out, opt)
	if err != nil {
		return nil, err
	}
	if opt.Check != nil {
		if err := opt.Check(res); err != nil {
			return nil, err
		}
	}
	if err := out.Commit(); err != nil {
		return nil, err
	}
	if err := step("snapshot"); err != nil {
		return nil, err
	}
	newLog, err := carriedLog(v, next.gen)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(w.path(logName(next.gen)), newLog); err != nil {
		return nil, err
	}
	if err := step("log"); err != nil {
		return nil, err
	}
	if err := writeSlot(w.superF, next, Full); err != nil {
		return nil, err
	}
	w.syncs++
	if err := step("super"); err != nil {
		return nil, err
	}
	// The new generation is committed; from here on a failure leaves
	// superseded files that the next writer removes.
	old := w.sb
	w.sb = next
	w.logF.Close()
	w.logF, w.damaged, w.keep = nil, false, nil
	if err := w.openLog(false); err != nil {
		return res, err
	}
	for _, name := range []string{snapName(old.gen), logName(old.gen)} {
		if err := os.Remove(w.path(name)); err != nil {
			return res, err
		}
	}
	return res, atomicfile.SyncDir(w.dir)
}

// view is the writer's own committed state as a View to pack. The writer
// knows where the last commit ends, so the log is not read to find it (nor
// counted: the view's Log stays zero); Pack reads it once.
func (w *Writer) view() (*View, error) {
	v := &View{Dir: w.dir, Generation: w.sb.gen, Sequence: w.sb.seq,
		log: w.logF, LogBytes: w.committed, committed: w.committed, spans: w.keep}
	if !w.damaged {
		v.spans = []span{{logHeaderSize, w.committed}}
	}
	if err := v.openSnapshot(); err != nil {
		return nil, err
	}
	return v, nil
}

// LogBytes returns the log's committed size.
func (w *Writer) LogBytes() int64 { return w.committed }
