package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"

	"github.com/meguri/meguri/lib/record"
)

// ErrOrder is returned by Writer.Add for a row that does not sort after the
// previous one, or lies outside the header's host-key range.
var ErrOrder = errors.New("rows out of order")

// Option configures a Writer.
type Option func(*Writer)

// WithConcurrency sets how many blocks are encoded at once (default
// GOMAXPROCS). Output bytes do not depend on it.
func WithConcurrency(n int) Option {
	return func(w *Writer) {
		if n > 0 {
			w.workers = n
		}
	}
}

// SlotBytes is about what one block being encoded holds: a zstd
// encoder's tables (36 MiB at the best level) and the block's rows and
// pages.
const SlotBytes = 64 << 20

// SlotsFor is how many blocks a writer under a memory budget of mem bytes
// encodes at once: one per core, but no more than three fifths of the
// budget holds (the rest is the sort's, or the merge's), and at least
// one. Without it a writer on a 32-core machine built 32 encoders, 1.1 GiB,
// whatever the budget. Output bytes do not depend on it.
func SlotsFor(mem int64) int {
	return max(1, min(runtime.GOMAXPROCS(0), int(mem*3/5/SlotBytes)))
}

// Writer writes a .meguri file front to back. Add rows in key order, then
// Close. Close does not close the underlying io.Writer.
type Writer struct {
	w       io.Writer
	hdr     Header
	off     int64
	cur     block
	mask    uint64
	minRows int
	maxRows int
	blocks  []BlockInfo
	stats   Stats
	lastKey uint64
	lastURL string
	any     bool
	// sealed: a block copied in ended at its file's end, not where the
	// block rule ends one, so it must stay this file's last.
	sealed  bool
	workers int
	err     error       // the first write error, under mu
	bad     atomic.Bool // err is set
	closed  bool

	// ordered pipeline: jobs are encoded concurrently and written in order
	queue chan *job
	free  chan *block // blocks encoders are done with
	done  chan struct{}
	sem   chan struct{}
	mu    sync.Mutex
}

// job is a block on its way out: encoded by a goroutine, or copied in
// verbatim (CopyBlock), written in order by drain.
type job struct {
	info  BlockInfo
	out   []byte
	ready chan struct{}
}

// NewWriter writes the header and returns a Writer. h.Version and h.Shift
// default to Version and DefaultShift when zero.
func NewWriter(w io.Writer, h Header, opts ...Option) (*Writer, error) {
	if h.Version == 0 {
		h.Version = Version
	}
	if h.Shift == 0 {
		h.Shift = DefaultShift
	}
	if err := CheckWriteVersion(h.Version); err != nil {
		return nil, err
	}
	if h.Shift < 4 || h.Shift > 20 {
		return nil, fmt.Errorf("block shift %d out of range 4..20", h.Shift)
	}
	if h.Lo > h.Hi {
		return nil, fmt.Errorf("host key range %#x..%#x is empty", h.Lo, h.Hi)
	}
	wr := &Writer{w: w, hdr: h, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(wr)
	}
	wr.mask = 1<<h.Shift - 1
	wr.minRows = 1 << h.Shift >> 3
	wr.maxRows = MaxBlockRows(h.Shift)
	buf := encodeHeader(h)
	if _, err := w.Write(buf); err != nil {
		return nil, err
	}
	wr.off = HeaderSize
	wr.queue = make(chan *job, wr.workers)
	wr.sem = make(chan struct{}, wr.workers)
	// One spare block: the producer takes one per flush, and more idle
	// ones only held memory (a fold of the 20x halves: ~20 MiB at peak).
	wr.free = make(chan *block, 1)
	wr.done = make(chan struct{})
	go wr.drain()
	return wr, nil
}

func encodeHeader(h Header) []byte {
	b := make([]byte, HeaderSize)
	copy(b, headMagic[:])
	binary.LittleEndian.PutUint16(b[8:], h.Version)
	b[10] = h.Grouping
	b[11] = h.Shift
	binary.LittleEndian.PutUint64(b[16:], h.PartitionID)
	binary.LittleEndian.PutUint64(b[24:], h.Lo)
	binary.LittleEndian.PutUint64(b[32:], h.Hi)
	binary.LittleEndian.PutUint32(b[60:], crc(b[:60]))
	return b
}

// Add appends a row. Rows must strictly increase by (host key, URL) and lie
// in the header's range.
func (w *Writer) Add(r *record.Record) error {
	if err := w.failed(); err != nil {
		return err
	}
	if w.sealed {
		return errSealed
	}
	if r.HostKey < w.hdr.Lo || r.HostKey > w.hdr.Hi {
		return fmt.Errorf("%w: host key %#016x of %s is outside the file's range %#016x..%#016x",
			ErrOrder, r.HostKey, r.URL, w.hdr.Lo, w.hdr.Hi)
	}
	if w.any && record.CompareKey(w.lastKey, w.lastURL, r.HostKey, r.URL) >= 0 {
		return fmt.Errorf("%w: %#016x %s after %#016x %s", ErrOrder, r.HostKey, r.URL, w.lastKey, w.lastURL)
	}
	if !r.Status.Valid() || r.FirstSeen > r.LastSeen || r.FirstSeen < 0 || r.Length < 0 ||
		r.HTTPStatus >= record.HTTPStatusLimit || r.LastSeen >= record.TimeLimit || r.Length >= record.LengthLimit {
		return fmt.Errorf("invalid record %s", r.URL)
	}
	if n := len(r.URL) + len(r.Redirect); n > MaxRowBytes {
		return fmt.Errorf("%.200s...: a URL and redirect of %d bytes together, more than the %d a .meguri row holds", r.URL, n, MaxRowBytes)
	}
	if len(w.cur.recs) == cap(w.cur.recs) {
		// Double, up to the row cap: append's growth by a quarter would
		// copy a block's rows many times over into fresh memory.
		n := min(max(2*cap(w.cur.recs), 1024), w.maxRows+1) - len(w.cur.recs)
		w.cur.recs = slices.Grow(w.cur.recs, max(n, 1))
	}
	w.cur.add(r, w.lastURL, w.hdr.Version)
	w.any, w.lastKey, w.lastURL = true, r.HostKey, r.URL
	n := len(w.cur.recs)
	natural := n >= w.minRows && xxhash.Sum64String(r.URL)&w.mask == 0
	if natural || n >= w.maxRows || w.cur.urlBytes >= maxBlockBytes {
		// Ended before Close: more rows are likely to follow, enough to
		// keep the encoders busy (see prefaultEncoders).
		prefaultEncoders(w.workers)
		w.flush(natural)
	}
	return nil
}

var errSealed = errors.New("codec: nothing can follow a copied block that ended at its own file's end")

// WriteAll writes rows, which must strictly increase by (host key, URL), as
// one whole file with header h: the counterpart of ReadAll.
func WriteAll(w io.Writer, h Header, rows []record.Record, opts ...Option) error {
	cw, err := NewWriter(w, h, opts...)
	if err != nil {
		return err
	}
	for i := range rows {
		if err := cw.Add(&rows[i]); err != nil {
			return err
		}
	}
	return cw.Close()
}

// Pending reports how many rows wait in the open block. A block can be
// copied in with CopyBlock only when none do.
func (w *Writer) Pending() int { return len(w.cur.recs) }

func (w *Writer) flush(boundary bool) {
	if len(w.cur.recs) == 0 {
		return
	}
	// The encoder gets a copy and the open block keeps its buffers:
	// handing them over would make every block in flight hold the doubled
	// capacity they grew to (measured: ~40 MiB more peak RSS on the scaled
	// corpus). The copy goes into the buffers of a block an encoder is done
	// with: fresh ones are cleared and, early on, page-faulted in, for
	// every block.
	var blk *block
	select {
	case blk = <-w.free:
	default:
		blk = new(block)
	}
	if cap(blk.recs) < len(w.cur.recs) {
		blk.recs = make([]record.Record, 0, len(w.cur.recs))
	}
	blk.recs = append(blk.recs, w.cur.recs...)
	// the url column whole, as its page holds it: prefix lengths first
	blk.url = append(append(blk.url, w.cur.pre...), w.cur.url...)
	w.cur.reset()
	j := &job{ready: make(chan struct{})}
	w.sem <- struct{}{}
	go func() {
		defer func() { <-w.sem }()
		j.out, j.info = encodeBlock(blk, boundary, w.hdr.Version)
		blk.reset()
		select {
		case w.free <- blk:
		default:
		}
		close(j.ready)
	}()
	w.queue <- j
}

// CopyBlock appends a block read from another file byte for byte. It is
// only valid at a block start (Pending() == 0), for a block that comes from
// a file with the same format version and block shift and whose rows sort
// after every row written so far. The block must end where this writer
// would end it: at a content boundary, at the row cap, or at this file's
// end; after a block of the last kind (its file's last, ended by the file)
// nothing more can be added. A block of another format version is
// refused: its pages would not decode under this file's header.
func (w *Writer) CopyBlock(b *Block) error {
	if err := w.failed(); err != nil {
		return err
	}
	raw, info := b.Raw, b.Info
	if w.sealed {
		return errSealed
	}
	if len(w.cur.recs) != 0 {
		return errors.New("codec: CopyBlock needs an empty open block")
	}
	if b.Version != w.hdr.Version {
		return fmt.Errorf("codec: cannot copy a version %d block into a version %d file (%w)", b.Version, w.hdr.Version, ErrVersion)
	}
	if info.FirstHost < w.hdr.Lo || info.LastHost > w.hdr.Hi {
		return fmt.Errorf("%w: copied block %#016x..%#016x is outside the file's range", ErrOrder, info.FirstHost, info.LastHost)
	}
	if w.any && record.CompareKey(w.lastKey, w.lastURL, info.FirstHost, info.FirstURL) >= 0 {
		return fmt.Errorf("%w: copied block starting %s after %s", ErrOrder, info.FirstURL, w.lastURL)
	}
	w.any, w.lastKey, w.lastURL = true, info.LastHost, info.LastURL
	w.sealed = !info.EndsByRule(w.hdr.Shift)
	j := &job{info: info, out: raw, ready: make(chan struct{})}
	close(j.ready)
	w.queue <- j
	return nil
}

// drain writes finished blocks in order.
func (w *Writer) drain() {
	defer close(w.done)
	for j := range w.queue {
		<-j.ready
		w.mu.Lock()
		failed := w.err != nil
		w.mu.Unlock()
		if failed {
			continue
		}
		info := j.info
		info.Offset, info.Length = w.off, int64(len(j.out))
		if _, err := w.w.Write(j.out); err != nil {
			w.setErr(err)
			continue
		}
		w.off += int64(len(j.out))
		w.account(info)
	}
}

func (w *Writer) account(info BlockInfo) {
	s := &w.stats
	if len(w.blocks) > 0 && w.blocks[len(w.blocks)-1].LastHost == info.FirstHost {
		s.Hosts--
	}
	s.URLs += uint64(info.Rows)
	s.Hosts += uint64(info.Hosts)
	s.Captures += info.Captures
	s.Gone += info.Gone
	s.Blocks++
	w.blocks = append(w.blocks, info)
}

// Close flushes the last block and writes the footer and trailer.
func (w *Writer) Close() error {
	if w.closed {
		return w.failed()
	}
	w.closed = true
	if w.failed() == nil {
		w.flush(false)
	}
	close(w.queue)
	<-w.done
	if w.err != nil {
		return w.err
	}
	footer := encodeFooter(w.blocks)
	if _, err := w.w.Write(footer); err != nil {
		return err
	}
	t := make([]byte, TrailerSize)
	binary.LittleEndian.PutUint64(t[0:], uint64(w.off))
	binary.LittleEndian.PutUint64(t[8:], uint64(len(footer)))
	binary.LittleEndian.PutUint64(t[16:], w.stats.URLs)
	binary.LittleEndian.PutUint64(t[24:], w.stats.Hosts)
	binary.LittleEndian.PutUint64(t[32:], w.stats.Captures)
	binary.LittleEndian.PutUint64(t[40:], w.stats.Gone)
	binary.LittleEndian.PutUint32(t[56:], w.stats.Blocks)
	binary.LittleEndian.PutUint32(t[60:], crc(footer))
	binary.LittleEndian.PutUint32(t[64:], crc(t[:64]))
	copy(t[72:], tailMagic[:])
	_, err := w.w.Write(t)
	w.off += int64(len(footer)) + TrailerSize
	w.setErr(err)
	return err
}

func (w *Writer) setErr(err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
	w.bad.Store(true)
}

// failed returns the write error met so far. It is called for every row,
// so the common case is one atomic load, not a lock.
func (w *Writer) failed() error {
	if !w.bad.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stats returns the counts written so far (complete after Close).
func (w *Writer) Stats() Stats { return w.stats }

// Size returns the bytes written so far (the file size after Close).
func (w *Writer) Size() int64 { return w.off }

// encodeBlock encodes and compresses one block.
func encodeBlock(blk *block, boundary bool, v uint16) ([]byte, BlockInfo) {
	recs := blk.recs
	var bufs [numCols + 1][]byte
	encodeColumns(blk, &bufs, v)
	info := BlockInfo{
		Rows:      uint32(len(recs)),
		FirstHost: recs[0].HostKey,
		LastHost:  recs[len(recs)-1].HostKey,
		// Copies: the writer keeps every block's zone data for the footer,
		// and a URL that points into a decoded input block (or a sort
		// buffer) would keep all of that block alive until Close.
		FirstURL: strings.Clone(recs[0].URL),
		LastURL:  strings.Clone(recs[len(recs)-1].URL),
		Boundary: boundary,
	}
	for i := range recs {
		if i == 0 || recs[i].HostKey != recs[i-1].HostKey {
			info.Hosts++
		}
		info.Captures += recs[i].Captures
		if recs[i].Status == record.Gone {
			info.Gone++
		}
	}
	enc := encoders.Get()
	defer encoders.Put(enc)
	var pages [numCols + 1][]byte
	var codecs [numCols + 1]byte
	for id := 1; id <= numCols; id++ {
		raw := bufs[id]
		if len(raw) > 0 {
			c := enc.EncodeAll(raw, nil)
			if len(c) < len(raw) {
				pages[id], codecs[id] = c, codecZstd
				continue
			}
		}
		pages[id], codecs[id] = raw, codecNone
	}
	hdr := appendZone(nil, info, numCols)
	hdrLen := len(blockMagic) + 4 + len(hdr) + numCols*pageDescLen + 4
	out := make([]byte, 0, hdrLen+totalLen(pages[:]))
	out = append(out, blockMagic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(hdrLen))
	out = append(out, hdr...)
	for id := 1; id <= numCols; id++ {
		out = append(out, byte(id), codecs[id], 0, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(bufs[id])))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(pages[id])))
		out = binary.LittleEndian.AppendUint32(out, crc(pages[id]))
	}
	out = binary.LittleEndian.AppendUint32(out, crc(out))
	for id := 1; id <= numCols; id++ {
		out = append(out, pages[id]...)
	}
	return out, info
}

func totalLen(p [][]byte) int {
	n := 0
	for _, b := range p {
		n += len(b)
	}
	return n
}

// appendZone encodes the zone fields shared by block headers and the
// footer: rows, host runs, column count, flags, first and last host key,
// captures, gone, first URL, last URL.
func appendZone(b []byte, info BlockInfo, ncols int) []byte {
	b = binary.LittleEndian.AppendUint32(b, info.Rows)
	b = binary.LittleEndian.AppendUint32(b, info.Hosts)
	b = binary.LittleEndian.AppendUint16(b, uint16(ncols))
	var flags uint16
	if info.Boundary {
		flags |= flagBoundary
	}
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = binary.LittleEndian.AppendUint64(b, info.FirstHost)
	b = binary.LittleEndian.AppendUint64(b, info.LastHost)
	b = binary.LittleEndian.AppendUint64(b, info.Captures)
	b = binary.LittleEndian.AppendUint64(b, info.Gone)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(info.FirstURL)))
	b = append(b, info.FirstURL...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(info.LastURL)))
	b = append(b, info.LastURL...)
	return b
}

func encodeFooter(blocks []BlockInfo) []byte {
	body := binary.LittleEndian.AppendUint32(nil, uint32(len(blocks)))
	for _, bi := range blocks {
		body = binary.LittleEndian.AppendUint64(body, uint64(bi.Offset))
		body = binary.LittleEndian.AppendUint64(body, uint64(bi.Length))
		body = appendZone(body, bi, numCols)
	}
	body = binary.LittleEndian.AppendUint16(body, numCols)
	for id := 1; id <= numCols; id++ {
		body = append(body, byte(id), byte(len(colNames[id])))
		body = append(body, colNames[id]...)
	}
	out := append([]byte(footerMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
	return append(out, body...)
}
