package logstore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"path/filepath"
)

// The log starts with a header of logHeaderSize bytes:
//
//	0  magic "MGLOG001"
//	8  generation, uint64 LE (the snapshot it follows)
//	16 zero padding to byte 28
//	28 CRC32C of bytes 0..28, uint32 LE
//
// and continues with frames of frameHeaderSize bytes plus a payload:
//
//	0  payload length, uint32 LE
//	4  kind (1 captures, 2 commit)
//	5  three zero bytes
//	8  CRC32C of bytes 0..8 followed by the payload, uint32 LE
//	12 payload
//
// A captures payload is described in frames.go. A commit payload is
// commitPayloadSize bytes: the frame's own offset in the log, then the
// transaction's input lines, taken captures and commit time (Unix seconds),
// each uint64 LE. Frames of a transaction are contiguous and end with its
// commit.
const (
	logHeaderSize     = 32
	frameHeaderSize   = 12
	commitPayloadSize = 32
	commitFrameSize   = frameHeaderSize + commitPayloadSize

	kindCaptures = 1
	kindCommit   = 2
)

var logMagic = []byte("MGLOG001")

func encodeLogHeader(gen uint64) []byte {
	b := make([]byte, logHeaderSize)
	copy(b, logMagic)
	binary.LittleEndian.PutUint64(b[8:], gen)
	binary.LittleEndian.PutUint32(b[28:], crc(b[:28]))
	return b
}

// sealFrame fills in the header of the frame at b[start:], whose payload
// the caller appended after frameHeaderSize reserved bytes.
func sealFrame(b []byte, start int, kind byte) []byte {
	h := b[start : start+frameHeaderSize]
	binary.LittleEndian.PutUint32(h, uint32(len(b)-start-frameHeaderSize))
	h[4] = kind
	h[5], h[6], h[7] = 0, 0, 0
	c := crc32Update(crc(h[:8]), b[start+frameHeaderSize:])
	binary.LittleEndian.PutUint32(h[8:], c)
	return b
}

// commitFrame returns the commit frame for a transaction ending at off.
func commitFrame(off int64, lines, taken, unix int64) []byte {
	b := make([]byte, frameHeaderSize, commitFrameSize)
	b = binary.LittleEndian.AppendUint64(b, uint64(off))
	b = binary.LittleEndian.AppendUint64(b, uint64(lines))
	b = binary.LittleEndian.AppendUint64(b, uint64(taken))
	b = binary.LittleEndian.AppendUint64(b, uint64(unix))
	return sealFrame(b, 0, kindCommit)
}

// intact reports whether the frame header h and its payload check: zero
// padding and the checksum.
func intact(h, payload []byte) bool {
	return h[5]|h[6]|h[7] == 0 && crc32Update(crc(h[:8]), payload) == binary.LittleEndian.Uint32(h[8:])
}

// isCommitAt reports whether b (at least commitFrameSize bytes) starts
// with an intact commit frame that says it lies at offset off.
func isCommitAt(b []byte, off int64) bool {
	return binary.LittleEndian.Uint32(b) == commitPayloadSize && b[4] == kindCommit &&
		intact(b, b[frameHeaderSize:commitFrameSize]) &&
		binary.LittleEndian.Uint64(b[frameHeaderSize:]) == uint64(off)
}

// LogStats count what a log holds up to its last commit.
type LogStats struct {
	Transactions int64
	Frames       int64 // capture frames
	Captures     int64 // captures and discovered links in them
	Lines        int64 // input lines the transactions accounted for
	Taken        int64
	LastCommit   int64 // Unix seconds; 0 when nothing is committed
}

// scanResult is what a scan found.
type scanResult struct {
	LogStats
	committed int64 // offset just past the last commit frame
	end       int64 // offset just past the last intact frame
}

// DamageError reports a log frame that fails its checks while committed
// transactions follow it: not the torn tail of an unfinished run but
// damage, which no reader or writer skips over. A damaged log header
// (Offset 0) is reported the same way.
type DamageError struct {
	Log    string
	Offset int64
	Reason string

	next int64 // the first intact commit frame after the damage (a salvage resumes there)
}

// Error says what is damaged and, as the project's errors do, what to
// run about it.
func (e *DamageError) Error() string {
	what := fmt.Sprintf("damaged frame at byte %d (%s), with committed transactions after it", e.Offset, e.Reason)
	if e.Offset < logHeaderSize {
		what = e.Reason
	}
	return fmt.Sprintf("%s: %s; nothing was changed\n(meguri-compact --data %s --salvage checkpoints every intact transaction and keeps the damaged log)",
		e.Log, what, filepath.Dir(e.Log))
}

// scan reads the log's frames up to limit bytes, calling fn (if not nil)
// for each intact capture frame's payload (valid only during the call). It
// stops at the first frame that is cut short or fails its checks: if a
// commit frame follows further on, that is damage and scan says so;
// otherwise it is the unfinished tail of a run, which readers ignore and a
// writer truncates.
func scan(r io.ReaderAt, name string, gen uint64, limit int64, fn func(payload []byte) error) (res scanResult, err error) {
	if err := checkLogHeader(r, name, gen, limit); err != nil {
		return res, err
	}
	return scanFrames(r, name, logHeaderSize, limit, fn)
}

// scanFrames is scan without the header: it reads frames from offset
// start, where a transaction begins, up to limit.
func scanFrames(r io.ReaderAt, name string, start, limit int64, fn func(payload []byte) error) (res scanResult, err error) {
	res.committed, res.end = start, start
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, limit-start), 1<<20)
	var (
		fh      [frameHeaderSize]byte
		payload []byte
		pending LogStats // counts of the transaction not yet committed
	)
	bad := func(reason string) (scanResult, error) {
		next, ferr := nextCommit(r, res.end+1, limit)
		if ferr != nil {
			return res, fmt.Errorf("%s: %w", name, ferr)
		}
		if next >= 0 {
			return res, &DamageError{Log: name, Offset: res.end, Reason: reason, next: next}
		}
		return res, nil
	}
	for {
		off := res.end
		if _, err := io.ReadFull(br, fh[:]); err != nil {
			if err == io.EOF {
				return res, nil
			}
			if err == io.ErrUnexpectedEOF {
				return bad("cut short")
			}
			return res, fmt.Errorf("%s: %w", name, err)
		}
		n := int64(binary.LittleEndian.Uint32(fh[:]))
		if n > limit-off-frameHeaderSize {
			return bad("cut short")
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
		if !intact(fh[:], payload) {
			return bad("checksum mismatch")
		}
		switch fh[4] {
		case kindCaptures:
			if n < capturesPrefix {
				return bad("capture frame without a count")
			}
			pending.Frames++
			pending.Captures += captureCount(payload)
			if fn != nil {
				if err := fn(payload); err != nil {
					return res, fmt.Errorf("%s: frame at byte %d: %w", name, off, err)
				}
			}
		case kindCommit:
			if n != commitPayloadSize || binary.LittleEndian.Uint64(payload) != uint64(off) {
				return bad("malformed commit")
			}
			if c := commitOf(payload); !c.Carried() {
				res.Transactions++
				res.Frames += pending.Frames
				res.Captures += pending.Captures
				res.Lines += c.Lines
				res.Taken += c.Taken
				res.LastCommit = c.Unix
			}
			pending = LogStats{}
			res.committed = off + frameHeaderSize + n
		default:
			return bad(fmt.Sprintf("unknown frame kind %d", fh[4]))
		}
		res.end = off + frameHeaderSize + n
	}
}

// checkLogHeader checks the header of a log of size bytes.
func checkLogHeader(r io.ReaderAt, name string, gen uint64, size int64) error {
	hdr := make([]byte, logHeaderSize)
	if size < logHeaderSize {
		return fmt.Errorf("%s: %d bytes, shorter than the log header", name, size)
	}
	if err := readFull(r, hdr, 0); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !bytes.Equal(hdr[:8], logMagic) || crc(hdr[:28]) != binary.LittleEndian.Uint32(hdr[28:]) {
		return &DamageError{Log: name, Offset: 0, Reason: "damaged log header"}
	}
	if g := binary.LittleEndian.Uint64(hdr[8:]); g != gen {
		return fmt.Errorf("%s: header names generation %d, want %d", name, g, gen)
	}
	return nil
}

// nextCommit returns the offset of the first intact commit frame that
// starts in [from, limit), or -1 if there is none.
func nextCommit(r io.ReaderAt, from, limit int64) (int64, error) {
	return findFrom(r, from, limit, commitFrameSize, func(b []byte, off int64) (bool, error) {
		return isCommitAt(b, off), nil
	})
}

// findFrom returns the first offset in [from, limit-need] at which match,
// given the need bytes there, reports true; -1 if there is none. It reads
// the log in windows of a megabyte.
func findFrom(r io.ReaderAt, from, limit int64, need int, match func(b []byte, off int64) (bool, error)) (int64, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+need)
	for pos := from; pos+int64(need) <= limit; pos += chunk {
		b := buf[:min(int64(len(buf)), limit-pos)]
		if err := readFull(r, b, pos); err != nil {
			return -1, err
		}
		for i := 0; i+need <= len(b) && i < chunk; i++ {
			if ok, err := match(b[i:i+need], pos+int64(i)); err != nil || ok {
				return pos + int64(i), err
			}
		}
	}
	return -1, nil
}

// tailCommitted reports whether the log of size bytes ends with an intact
// commit frame, so that all of it is committed (the common case when a
// writer opens the log, which then need not be read).
func tailCommitted(r io.ReaderAt, size int64) (bool, error) {
	if size == logHeaderSize {
		return true, nil
	}
	if size < logHeaderSize+commitFrameSize {
		return false, nil
	}
	b := make([]byte, commitFrameSize)
	if err := readFull(r, b, size-commitFrameSize); err != nil {
		return false, err
	}
	return isCommitAt(b, size-commitFrameSize), nil
}
