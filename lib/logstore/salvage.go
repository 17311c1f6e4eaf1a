package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/meguri/meguri/lib/atomicfile"
)

// A salvage is the way out of a damaged log: a frame that fails its checks
// with committed transactions after it (bit rot, or a power loss under
// durability none or normal, where the device may keep later pages and lose
// earlier ones). Readers and writers refuse such a log; a writer opened
// with WriterOptions.Salvage instead plans what to keep, and its next
// Checkpoint folds every transaction whose frames are all intact into the
// new snapshot and leaves the others out whole. A transaction is never
// kept in part: its run can then be re-run without counting any capture
// twice. The damaged log itself is kept beside the directory's files as
// damaged-log-<gen>, so no byte is thrown away.

// Lost is a stretch of a damaged log that a salvage leaves out: one or
// more whole transactions, at least one of whose frames fails its checks.
type Lost struct {
	From, To int64 // byte offsets in the log
	// Commit is the stretch's last commit when that frame is intact: its
	// counts and time tell which run to re-run. It is nil when the
	// stretch ends at a damaged commit frame, whose counts are lost with
	// it.
	Commit *Commit
}

// Commit is what a commit frame records of its transaction, with the
// inputs the transaction recorded (none from builds that did not record
// them, and none in a salvage's report).
type Commit struct {
	Lines, Taken int64
	Unix         int64 // commit time, Unix seconds
	Inputs       []Input
}

// Salvage says what a salvage kept of a damaged log and what it left out.
type Salvage struct {
	Log           string // the damaged log's path
	Kept          LogStats
	Lost          []Lost
	HeaderDamaged bool   // the log header failed its checks (it holds nothing but the generation)
	Unfinished    int64  // bytes past the last intact commit: an unfinished run, dropped as usual
	DamagedLog    string // where the damaged log is kept, once the checkpoint has begun
}

// Damaged reports whether the log needed salvaging.
func (s *Salvage) Damaged() bool { return s.HeaderDamaged || len(s.Lost) > 0 }

// span is a stretch of a log holding whole committed transactions.
type span struct{ from, to int64 }

// damagedName is the name a salvage keeps a damaged log under. It is not a
// generation's file name, so no writer removes it.
func damagedName(gen uint64) string { return "damaged-log-" + strconv.FormatUint(gen, 10) }

// planSalvage reads the whole log of size bytes and returns the
// transactions to keep (in log order) and a report of the rest.
func planSalvage(r io.ReaderAt, name string, gen uint64, size int64) ([]span, *Salvage, error) {
	s := &Salvage{Log: name}
	if err := checkLogHeader(r, name, gen, size); err != nil {
		// A log too short for its header, or whose intact header names
		// another generation, is not one a salvage can read.
		var de *DamageError
		if !errors.As(err, &de) {
			return nil, nil, err
		}
		s.HeaderDamaged = true
	}
	var keep []span
	pos := int64(logHeaderSize)
	for {
		res, err := scanFrames(r, name, pos, size, nil)
		if res.committed > pos {
			keep = append(keep, span{pos, res.committed})
			s.Kept.add(res.LogStats)
		}
		var de *DamageError
		if !errors.As(err, &de) {
			s.Unfinished = size - res.committed
			return keep, s, err
		}
		// The scan found the first intact commit past the damage.
		c := de.next
		cm, err := readCommit(r, c)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		whole, err := wholeFrom(r, de.Offset+1, c, cm.Taken)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		// A carried transaction (no captures) whose inputs frame is
		// damaged would read as a whole empty one from its commit on:
		// it is lost whole instead, and reported as what it is.
		if whole == c && cm.Carried() {
			whole = -1
		}
		if whole >= 0 {
			// The transaction ending at c is whole: what is lost ends
			// where it starts, at a damaged commit frame.
			s.Lost = append(s.Lost, Lost{From: res.committed, To: whole})
			pos = whole
			continue
		}
		s.Lost = append(s.Lost, Lost{From: res.committed, To: c + commitFrameSize, Commit: &cm})
		pos = c + commitFrameSize
	}
}

func (l *LogStats) add(o LogStats) {
	l.Transactions += o.Transactions
	l.Frames += o.Frames
	l.Captures += o.Captures
	l.Lines += o.Lines
	l.Taken += o.Taken
	l.LastCommit = max(l.LastCommit, o.LastCommit)
}

func readCommit(r io.ReaderAt, off int64) (Commit, error) {
	b := make([]byte, commitPayloadSize)
	if err := readFull(r, b, off+frameHeaderSize); err != nil {
		return Commit{}, err
	}
	return commitOf(b), nil
}

// commitOf reads a commit payload.
func commitOf(b []byte) Commit {
	return Commit{
		Lines: int64(binary.LittleEndian.Uint64(b[8:])),
		Taken: int64(binary.LittleEndian.Uint64(b[16:])),
		Unix:  int64(binary.LittleEndian.Uint64(b[24:])),
	}
}

// Carried reports whether c is the transaction a checkpoint starts a log
// with, carrying the inputs of the runs before it (no lines, no captures,
// commit time 0). It is no run: the log's counts leave it out.
func (c Commit) Carried() bool { return c.Lines == 0 && c.Taken == 0 && c.Unix == 0 }

// appendedNothing reports whether c is a run that took no line: its
// inputs added nothing, so running them again (mended, with a field list
// or a larger line limit) counts nothing twice.
func (c Commit) appendedNothing() bool { return c.Taken == 0 && !c.Carried() }

// wholeFrom returns the first offset in [from, c] where a whole
// transaction starts that ends with the intact commit frame at c: every
// frame from there on intact, and as many captures in them as the commit
// says were taken (a writer commits no other count, so the frames after a
// damaged one, the end of a transaction that lost its start, never pass).
// It returns -1 if there is none. Each frame is checked at most once,
// however many offsets lead to it.
func wholeFrom(r io.ReaderAt, from, c, taken int64) (int64, error) {
	ch := chains{r: r, c: c, memo: map[int64]int64{c: 0}}
	return findFrom(r, from, c+frameHeaderSize, frameHeaderSize, func(b []byte, off int64) (bool, error) {
		if off == c {
			return taken == 0, nil
		}
		if !ch.plausible(b, off) {
			return false, nil
		}
		n, err := ch.capturesFrom(off)
		return n == taken, err
	})
}

// chains follows frames towards the commit frame at c.
type chains struct {
	r       io.ReaderAt
	c       int64
	memo    map[int64]int64 // offset -> captures in the frames from there to c; -1: they do not all check
	payload []byte
}

// plausible reports whether the header b at off could start a captures
// frame that ends by c, before its payload is read and checked: a cheap
// filter for the salvage's search, which tries every offset.
func (ch *chains) plausible(b []byte, off int64) bool {
	n := int64(binary.LittleEndian.Uint32(b))
	return b[4] == kindCaptures && b[5]|b[6]|b[7] == 0 && n >= capturesPrefix && n <= ch.c-off-frameHeaderSize
}

// capturesFrom returns the captures in the frames from off to c, or -1 if
// they do not all check or do not meet c.
func (ch *chains) capturesFrom(off int64) (int64, error) {
	var path, counts []int64
	var hdr [frameHeaderSize]byte
	result := int64(-1)
	for {
		if v, ok := ch.memo[off]; ok {
			result = v
			break
		}
		if off+frameHeaderSize > ch.c {
			break
		}
		if err := readFull(ch.r, hdr[:], off); err != nil {
			return -1, err
		}
		if !ch.plausible(hdr[:], off) {
			break
		}
		n := int64(binary.LittleEndian.Uint32(hdr[:]))
		if int64(cap(ch.payload)) < n {
			ch.payload = make([]byte, n)
		}
		p := ch.payload[:n]
		if err := readFull(ch.r, p, off+frameHeaderSize); err != nil {
			return -1, err
		}
		if !intact(hdr[:], p) {
			break
		}
		path, counts = append(path, off), append(counts, captureCount(p))
		off += frameHeaderSize + n
	}
	for i := len(path) - 1; i >= 0; i-- {
		if result >= 0 {
			result += counts[i]
		}
		ch.memo[path[i]] = result
	}
	return result, nil
}

// keepDamaged gives the damaged log a second name that no writer removes,
// durably, before a checkpoint replaces the log. A hard link costs no
// copy; where links are not supported the log is copied.
func (w *Writer) keepDamaged() (string, error) {
	src, dst := w.path(logName(w.sb.gen)), w.path(damagedName(w.sb.gen))
	err := os.Link(src, dst)
	if errors.Is(err, os.ErrExist) {
		// A salvage that died after linking: the same file is fine.
		a, aerr := os.Stat(src)
		b, berr := os.Stat(dst)
		if aerr == nil && berr == nil && os.SameFile(a, b) {
			err = nil
		} else {
			return "", fmt.Errorf("keeping the damaged log: %s exists and is another file; move it away first", dst)
		}
	} else if err != nil {
		err = copyFile(src, dst)
	}
	if err != nil {
		return "", fmt.Errorf("keeping the damaged log: %w", err)
	}
	return dst, atomicfile.SyncDir(w.dir)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := atomicfile.Create(dst)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Commit()
}
