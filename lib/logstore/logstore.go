// Package logstore keeps a live partition durable in a log-structured
// directory: a two-slot superblock naming the current generation, that
// generation's snapshot (a plain .meguri file) and its append-only log of
// captures since the snapshot.
//
//	part-7/
//	├── lock             writers hold an exclusive flock on it
//	├── super            two 64-byte slots; the valid one with the higher sequence wins
//	├── snap-<gen>.meguri the latest checkpoint, an ordinary .meguri file
//	├── log-<gen>        captures appended since, in committed transactions
//	└── sealed           only once sealed: writers refuse the directory
//
// The log is its own journal: a transaction is a run of capture frames
// closed by a commit frame, and recovery replays the committed frames and
// drops an unfinished tail (redo only; nothing is ever rolled back). A
// checkpoint folds the log into the next generation's snapshot, starts an
// empty log, commits the superblock, and only then removes the superseded
// files, so a crash at any point leaves one whole generation to recover.
//
// Writers (one at a time per directory, by flock) append:
//
//	w, err := logstore.OpenWriter("part-7", logstore.WriterOptions{Create: &hdr})
//	defer w.Close() // drops an uncommitted transaction
//	sum, err := ingest.Parse(files, opt, w.Append)
//	err = w.Commit(sum.Lines, sum.Taken)
//
// Readers never lock and never write: Open takes the generation the
// superblock names and the log up to its last commit, and Pack folds them
// into a standalone .meguri file, the same bytes a checkpoint would write.
//
//	v, err := logstore.Open("part-7")
//	defer v.Close()
//	res, err := v.Pack(out, logstore.PackOptions{Mem: 1 << 30})
//
// Unpack goes the other way: a .meguri file (read once, from a file or a
// pipe, and checked whole) becomes a new directory's first snapshot, with
// an empty log, so a partition that moved goes on taking captures:
//
//	u, err := logstore.Unpack("part-8", f, logstore.UnpackOptions{Source: "part-8.meguri"})
//
// A partition whose records leave it (split in a rebalance, moved) is
// sealed with its last pack, taken under the writers' lock, so that no run
// appends to it after (seal.go); OpenWriter then returns a *SealedError:
//
//	err := logstore.Seal("part-7", note, say, func() error { ... pack ... })
//
// A log damaged in the middle (a frame that fails its checks with commits
// after it) is refused by readers and writers alike; a writer opened with
// WriterOptions.Salvage checkpoints every intact transaction of it and
// reports the rest (salvage.go):
//
//	w, err := logstore.OpenWriter("part-7", logstore.WriterOptions{Salvage: true})
//	for _, l := range w.Salvaged().Lost { ... } // runs to re-run
//	_, err = w.Checkpoint(logstore.PackOptions{})
//
// docs/FORMAT.md describes the superblock and log byte for byte.
package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/dirs"
)

// Durability says when the log is flushed to the device.
type Durability int

// The durability dial.
const (
	// None never flushes: a power loss costs what the OS had not written
	// back. For throwaway runs and benchmarks.
	None Durability = iota
	// Normal flushes at checkpoints only: a power loss costs the
	// transactions committed since the last checkpoint that the OS had not
	// written back.
	Normal
	// Full flushes before a commit returns: a committed transaction
	// survives a power loss. Every frame written since the last flush
	// shares the one flush (group commit).
	Full
)

// ParseDurability reads none, normal or full.
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "none":
		return None, nil
	case "normal":
		return Normal, nil
	case "full":
		return Full, nil
	}
	return 0, fmt.Errorf("durability %q: want none, normal or full", s)
}

func (d Durability) String() string {
	return [...]string{"none", "normal", "full"}[d]
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func crc32Update(c uint32, b []byte) uint32 { return crc32.Update(c, castagnoli, b) }

// File names in a partition directory.
const (
	superName = dirs.SuperName
	lockName  = "lock"
)

func snapName(gen uint64) string { return "snap-" + strconv.FormatUint(gen, 10) + ".meguri" }
func logName(gen uint64) string  { return "log-" + strconv.FormatUint(gen, 10) }

// genOf returns the generation a snapshot or log file name belongs to, for
// removing superseded files; ok is false for any other name.
func genOf(name string) (gen uint64, ok bool) {
	var s string
	switch {
	case strings.HasPrefix(name, "snap-") && strings.HasSuffix(name, ".meguri"):
		s = strings.TrimSuffix(strings.TrimPrefix(name, "snap-"), ".meguri")
	case strings.HasPrefix(name, "log-"):
		s = strings.TrimPrefix(name, "log-")
	default:
		return 0, false
	}
	gen, err := strconv.ParseUint(s, 10, 64)
	return gen, err == nil
}

// The superblock: two slots of slotSize bytes. A slot holds
//
//	0  magic "MGSUPER1"
//	8  sequence, uint64 LE (a commit writes seq+1 into slot (seq+1) % 2)
//	16 generation, uint64 LE
//	24 zero padding to byte 60
//	60 CRC32C (Castagnoli) of bytes 0..60, uint32 LE
const slotSize = 64

var superMagic = []byte(dirs.SuperMagic)

type super struct {
	seq, gen uint64
}

func encodeSlot(s super) []byte {
	b := make([]byte, slotSize)
	copy(b, superMagic)
	binary.LittleEndian.PutUint64(b[8:], s.seq)
	binary.LittleEndian.PutUint64(b[16:], s.gen)
	binary.LittleEndian.PutUint32(b[60:], crc(b[:60]))
	return b
}

func decodeSlot(b []byte) (super, bool) {
	if len(b) != slotSize || string(b[:8]) != string(superMagic) || crc(b[:60]) != binary.LittleEndian.Uint32(b[60:]) {
		return super{}, false
	}
	return super{seq: binary.LittleEndian.Uint64(b[8:]), gen: binary.LittleEndian.Uint64(b[16:])}, true
}

// SuperMissingError is returned for a directory that holds a live
// partition's data but no superblock: a copy that stopped before it (rsync
// copies "super" last), or a removed file. Nothing may make a partition
// over it: a new generation 0 would remove the data as leftovers of a
// checkpoint. A salvage rebuilds the superblock.
type SuperMissingError struct {
	Dir   string
	Holds []string // the files that tell it, in directory order
}

func (e *SuperMissingError) Error() string {
	return fmt.Sprintf("%s holds a live partition's data (%s) but no superblock (%s is missing: a copy that stopped before it, or a removed file?): restore it from where the directory came from, or rebuild it from the newest whole generation (meguri-compact --data %s --salvage)",
		e.Dir, strings.Join(e.Holds, ", "), filepath.Join(e.Dir, superName), e.Dir)
}

// partitionData lists what in dir, which has no superblock, is a live
// partition's data rather than what a create that died leaves (an empty
// snapshot and an empty log of generation 0): a snapshot or log of a
// later generation (only a checkpoint makes one), a generation-0
// snapshot that holds rows (an unpacked file) or log with a committed
// run.
func partitionData(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var holds []string
	for _, e := range ents {
		name := e.Name()
		gen, ok := genOf(name)
		switch {
		case !ok:
		case gen > 0,
			name == snapName(0) && snapshotRows(filepath.Join(dir, name)) > 0,
			name == logName(0) && logCommitted(filepath.Join(dir, name)):
			holds = append(holds, name)
		}
	}
	return holds
}

// snapshotRows returns the rows a snapshot's trailer counts (0 when it
// cannot be read).
func snapshotRows(path string) uint64 {
	cf, f, err := codec.Open(path)
	if err != nil {
		return 0
	}
	f.Close()
	return cf.Stats.URLs
}

// logCommitted reports whether a generation-0 log holds a committed run.
func logCommitted(path string) bool {
	f, size, err := openLog(path, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	res, _ := scan(f, path, 0, size, nil)
	return res.Transactions > 0
}

// openLog opens the log at path, checks that its header is whole and
// names generation gen, and returns it with its size.
func openLog(path string, gen uint64) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err == nil {
		err = checkLogHeader(f, path, gen, st.Size())
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// ErrNotPartition is returned for a directory without a superblock.
var ErrNotPartition = errors.New("not a partition directory (no superblock)")

// notDir is the error for a --data path that is a file.
func notDir(dir string) error {
	return fmt.Errorf("%s is a file, not a partition directory (--data names a directory; meguri-inspect and meguri-compact read .meguri files as they are)", dir)
}

// readSuper returns the valid slot with the higher sequence.
func readSuper(dir string) (super, error) {
	b, err := os.ReadFile(filepath.Join(dir, superName))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		if st, serr := os.Stat(dir); serr != nil {
			return super{}, dirs.CannotRead(dir, serr)
		} else if !st.IsDir() {
			return super{}, notDir(dir)
		}
		holds := partitionData(dir)
		if len(holds) == 0 {
			return super{}, fmt.Errorf("%s is a directory, but %w", dir, ErrNotPartition)
		}
		// A writer making the directory writes its superblock after
		// generation 0's files, and may have appended a run since the
		// superblock was looked for: look again before calling it lost.
		if b, err = os.ReadFile(filepath.Join(dir, superName)); errors.Is(err, os.ErrNotExist) {
			return super{}, &SuperMissingError{Dir: dir, Holds: holds}
		}
	}
	if err != nil {
		return super{}, err
	}
	if len(b) != 2*slotSize {
		return super{}, fmt.Errorf("%s: superblock is %d bytes, want %d", dir, len(b), 2*slotSize)
	}
	a, okA := decodeSlot(b[:slotSize])
	c, okC := decodeSlot(b[slotSize:])
	switch {
	case okA && okC:
		if c.seq > a.seq {
			return c, nil
		}
		return a, nil
	case okA:
		return a, nil
	case okC:
		return c, nil
	}
	return super{}, fmt.Errorf("%s: both superblock slots are damaged", dir)
}

// writeSlot commits s into its slot, flushing it unless dur is None.
func writeSlot(f *os.File, s super, dur Durability) error {
	if _, err := f.WriteAt(encodeSlot(s), int64(s.seq%2)*slotSize); err != nil {
		return err
	}
	if dur != None {
		return f.Sync()
	}
	return nil
}

// readFull reads len(b) bytes at off, or reports io.ErrUnexpectedEOF.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
