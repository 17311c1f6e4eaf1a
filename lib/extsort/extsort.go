// Package extsort sorts captures by (host key, URL) within a memory budget:
// captures are packed into an arena, sorted runs spill to temporary files
// when the arena fills, and the runs are merged back in key order.
//
// Captures are kept unfolded all the way through, and a URL's captures are
// ordered by their own fields as well (record.CompareCapture), so the fold
// that follows takes them one at a time, in the order record.Fold would:
// its result does not depend on the budget or on how the input was split
// into runs, and its memory not on how many captures a URL has.
//
//	s := extsort.New(extsort.Options{Budget: 256 << 20, TmpDir: os.TempDir()})
//	b := extsort.NewBatch(1<<20, len(captures)) // built by a parse worker
//	for i := range captures { b.Add(&captures[i]) }
//	if err := s.AddBatch(&b); err != nil { ... } // may spill a sorted run
//	it, _ := s.Finish()
//	for it.Next() { rec := it.Record() ... } // each URL's captures, folded
//	it.Close()
//
// ForMem sizes a sorter from a working-set budget as ingest does, and
// WriteMeguri folds the sorted captures into records and writes them as a
// .meguri stream in place of the Finish loop:
//
//	s := extsort.ForMem(1<<30, os.TempDir())
//	defer s.Discard()
//	... s.AddBatch(&b) for each batch ...
//	stats, size, err := s.WriteMeguri(out, codec.Header{PartitionID: 7, Hi: math.MaxUint64})
package extsort

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"unsafe"

	"github.com/meguri/meguri/lib/internal/fdpool"
	"github.com/meguri/meguri/lib/internal/minheap"
	"github.com/meguri/meguri/lib/internal/tempfiles"
	"github.com/meguri/meguri/lib/record"
)

// Options configure a Sorter.
type Options struct {
	Budget  int64  // bytes of arena and index held before a run spills
	TmpDir  string // where runs go; os.TempDir() when empty
	Writers int    // blocks WriteMeguri encodes at once (0: one per core)
}

type ref struct {
	host uint64
	off  uint64 // entry offset in the arena
}

// refSize is what one index entry costs against the budget.
const refSize = 16

// Sorter collects captures and hands them back sorted.
type Sorter struct {
	opt   Options
	arena arena
	// batches holds the index entries of each batch added since the last
	// sort, in the batch's own slice: appending them to one slice would
	// copy the whole index at every doubling. The sort gathers them.
	batches [][]ref
	nrefs   int   // entries in batches
	refCap  int   // their capacity, counted against the budget
	refs    []ref // the sorted index, after sortRefs
	runs    []string
	mimes   map[string]string
	spills  int
	added   int64 // entries added in all
	// Progress, when set, is called by WriteMeguri as it works: once with
	// stage "sort" before the sort (and any merge of spilled runs), then
	// now and then with stage "write" and the captures folded so far; total
	// is every capture added.
	Progress func(stage string, done, total int64)
}

// New returns an empty Sorter.
func New(opt Options) *Sorter {
	if opt.Budget <= 0 {
		opt.Budget = 1 << 30
	}
	// what runs killed outright spilled there goes, whether or not this
	// one spills
	tempfiles.Reap(opt.TmpDir)
	return &Sorter{opt: opt, mimes: map[string]string{}}
}

// Spills returns how many runs went to disk.
func (s *Sorter) Spills() int { return s.spills }

// arena holds entries in chunks, one per batch handed to AddBatch, so
// growing it never copies what it holds (a doubling slice would briefly need
// three times the data). An offset is chunk index << 32 | position in the
// chunk.
type arena struct {
	chunks [][]byte
	size   int64
}

func (a *arena) at(off uint64) []byte {
	return a.chunks[off>>32][off&(1<<32-1):]
}

func (a *arena) reset() {
	a.chunks = nil
	a.size = 0
}

// encode appends a capture entry: uvarint URL length, URL, flags (bit 0
// discovered), uvarint time, uvarint HTTP status, 8-byte digest, uvarint
// length, uvarint mime length, mime, uvarint redirect length, redirect.
func encode(b []byte, c *record.Capture) []byte {
	b = binary.AppendUvarint(b, uint64(len(c.URL)))
	b = append(b, c.URL...)
	var fl byte
	if c.Discovered {
		fl = 1
	}
	b = append(b, fl)
	b = binary.AppendUvarint(b, uint64(c.Time))
	b = binary.AppendUvarint(b, uint64(c.HTTPStatus))
	b = binary.LittleEndian.AppendUint64(b, c.Digest)
	b = binary.AppendUvarint(b, uint64(c.Length))
	b = binary.AppendUvarint(b, uint64(len(c.Mime)))
	b = append(b, c.Mime...)
	b = binary.AppendUvarint(b, uint64(len(c.Redirect)))
	b = append(b, c.Redirect...)
	return b
}

// entryURL returns the URL of the entry that starts at b.
func entryURL(b []byte) []byte {
	u, _ := splitEntry(b)
	return u
}

func entryLen(b []byte) int {
	pos := 0
	skipStr := func() {
		n, k := binary.Uvarint(b[pos:])
		pos += k + int(n)
	}
	skipVar := func() {
		_, k := binary.Uvarint(b[pos:])
		pos += k
	}
	skipStr()
	pos++ // flags
	skipVar()
	skipVar()
	pos += 8
	skipVar()
	skipStr()
	skipStr()
	return pos
}

// NewBatch returns a batch with room for about n bytes and k entries.
func NewBatch(n, k int) Batch { return Batch{arena: make([]byte, 0, n), refs: make([]ref, 0, k)} }

// Batch is a set of encoded captures built off the collecting goroutine
// (by a parse worker) and handed to Sorter.AddBatch.
type Batch struct {
	arena []byte
	refs  []ref
}

// Add encodes a capture into the batch.
func (b *Batch) Add(c *record.Capture) {
	off := uint64(len(b.arena))
	b.arena = encode(b.arena, c)
	b.refs = append(b.refs, ref{host: c.HostKey, off: off})
}

// NewBatchIn returns a batch for about k entries that encodes them into
// buf's space, for a parse worker that reuses one buffer for batch after
// batch: Detach then copies the entries out.
func NewBatchIn(buf []byte, k int) Batch { return Batch{arena: buf[:0], refs: make([]ref, 0, k)} }

// Detach copies the batch's entries out of the buffer it was built in (see
// NewBatchIn) into one of their exact size, so the arena holds no slack,
// and returns that buffer, grown as the batch needed, for the next batch.
// A buffer reused this way stays in the cache and is never cleared; a
// fresh one for every batch was 200 MB of allocation for each 186 MB of
// input lines.
func (b *Batch) Detach() []byte {
	buf := b.arena
	b.arena = append([]byte(nil), buf...)
	return buf[:0]
}

// AddBatch moves a batch's captures into the sorter, spilling a run first if
// the budget would be exceeded.
func (s *Sorter) AddBatch(b *Batch) error {
	if s.nrefs > 0 && s.arena.size+int64(cap(b.arena))+int64(s.refCap+cap(b.refs))*refSize > s.opt.Budget {
		if err := s.spill(); err != nil {
			return err
		}
	}
	// The batch's buffer becomes a chunk of the arena as it is: no copy.
	chunk := uint64(len(s.arena.chunks)) << 32
	s.arena.chunks = append(s.arena.chunks, b.arena)
	s.arena.size += int64(cap(b.arena))
	for i := range b.refs {
		b.refs[i].off |= chunk
	}
	s.batches = append(s.batches, b.refs)
	s.nrefs += len(b.refs)
	s.added += int64(len(b.refs))
	s.refCap += cap(b.refs)
	b.arena, b.refs = nil, nil
	return nil
}

func (s *Sorter) cmp(a, b ref) int {
	if a.host != b.host {
		if a.host < b.host {
			return -1
		}
		return 1
	}
	return compareEntries(s.arena.at(a.off), s.arena.at(b.off))
}

// compareEntries orders two entries of one host key: by URL, then, for one
// URL, as record.CompareCapture orders their captures. So every sorted run,
// and the merge of runs, hands a URL's captures over in the order they fold
// in, and the fold takes them one at a time: however many captures a URL
// has, none are held at once. Entries that compare equal hold equal
// captures.
func compareEntries(a, b []byte) int {
	ua, fa := splitEntry(a)
	ub, fb := splitEntry(b)
	if c := bytes.Compare(ua, ub); c != 0 {
		return c
	}
	return compareFields(fa, fb)
}

// compareFields orders the fields of two entries of one URL (what follows
// the URL) as record.CompareCapture orders their captures, reading them in
// place: discovered first, then by time, digest, HTTP status, length, mime
// and redirect.
func compareFields(a, b []byte) int {
	if c := cmp.Compare(b[0]&1, a[0]&1); c != 0 {
		return c // a discovered link (flag 1) first
	}
	// Most captures of one URL differ in time: read the rest only when
	// the times tie.
	ta, _ := binary.Uvarint(a[1:])
	tb, _ := binary.Uvarint(b[1:])
	if c := cmp.Compare(int64(ta), int64(tb)); c != 0 {
		return c
	}
	var x, y entryFields
	x.read(a)
	y.read(b)
	if c := cmp.Or(cmp.Compare(x.digest, y.digest), cmp.Compare(x.status, y.status),
		cmp.Compare(x.length, y.length)); c != 0 {
		return c
	}
	if c := bytes.Compare(x.mime, y.mime); c != 0 {
		return c
	}
	return bytes.Compare(x.redirect, y.redirect)
}

// entryFields are an entry's fields after its URL, as encode writes them.
type entryFields struct {
	flags          byte
	time           int64
	status, digest uint64
	length         int64
	mime, redirect []byte
}

func (f *entryFields) read(b []byte) {
	pos := 0
	uv := func() uint64 {
		v, k := binary.Uvarint(b[pos:])
		pos += k
		return v
	}
	str := func() []byte {
		n := int(uv())
		s := b[pos : pos+n]
		pos += n
		return s
	}
	f.flags = b[0]
	pos++
	f.time = int64(uv())
	f.status = uv()
	f.digest = binary.LittleEndian.Uint64(b[pos:])
	pos += 8
	f.length = int64(uv())
	f.mime = str()
	f.redirect = str()
}

// splitEntry returns the URL of the entry that starts at b, and what follows
// it.
func splitEntry(b []byte) (url, fields []byte) {
	n, k := binary.Uvarint(b)
	return b[k : k+int(n)], b[k+int(n):]
}

func (s *Sorter) spill() error {
	s.sortRefs()
	f, err := tempfiles.CreateSpill(s.opt.TmpDir, "meguri-run-*")
	if err != nil {
		return err
	}
	s.runs = append(s.runs, f.Name())
	w := runWriter{w: bufio.NewWriterSize(f, 1<<20)}
	for _, r := range s.refs {
		e := s.arena.at(r.off)
		w.put(r.host, e[:entryLen(e)])
	}
	if err := w.w.Flush(); err != nil {
		f.Close()
		return tempfiles.SpillError(s.opt.TmpDir, err)
	}
	if err := f.Close(); err != nil {
		return tempfiles.SpillError(s.opt.TmpDir, err)
	}
	s.spills++
	s.arena.reset()
	s.refs = nil
	return nil
}

// runWriter writes a run: a sequence of host key (8 bytes), uvarint(entry
// length), entry.
type runWriter struct {
	w   *bufio.Writer
	hdr [8 + binary.MaxVarintLen64]byte
}

func (w *runWriter) put(host uint64, e []byte) {
	binary.LittleEndian.PutUint64(w.hdr[:], host)
	n := binary.PutUvarint(w.hdr[8:], uint64(len(e)))
	w.w.Write(w.hdr[:8+n])
	w.w.Write(e)
}

// maxFanIn bounds the runs read at once. Each holds an open file and a
// read buffer of runBuffer bytes that the budget does not count, so with
// many runs (a large input under a small budget) merging them all at once
// would run out of file descriptors or memory. Past it, runs are first
// merged into fewer, longer ones. A variable so that tests can lower it.
var maxFanIn = 64

const runBuffer = 256 << 10

// fanIn is how many runs a merge reads at once: maxFanIn, or fewer when
// the open-file limit is low, leaving room for the tool's other files
// (standard streams, inputs, the output, rejects).
func fanIn() int {
	n := maxFanIn
	if lim := fdpool.Limit(); lim > 0 && lim < uint64(n)+32 {
		n = int(lim) - 32
	}
	return max(n, 2)
}

// reduceRuns merges runs until at most fanIn remain, each pass taking the
// oldest runs and as few as it needs (output bytes never depend on it:
// runs and merges alike order a URL's captures by their own fields).
func (s *Sorter) reduceRuns() error {
	f := fanIn()
	for len(s.runs) > f {
		if err := s.mergeRuns(min(f, len(s.runs)-f+1)); err != nil {
			return err
		}
	}
	return nil
}

// mergeRuns merges the first k runs into one new run, at the end of the list.
func (s *Sorter) mergeRuns(k int) error {
	f, err := tempfiles.Create(s.opt.TmpDir, "meguri-run-*")
	if err != nil {
		return fmt.Errorf("merging runs: %w", err)
	}
	s.runs = append(s.runs, f.Name()) // Discard removes it on failure
	m := newRunMerge()
	defer m.close()
	if err := m.openRuns(s.runs[:k]); err != nil {
		f.Close()
		return fmt.Errorf("merging runs: %w", err)
	}
	if err := m.start(); err != nil {
		f.Close()
		return err
	}
	w := runWriter{w: bufio.NewWriterSize(f, 1<<20)}
	for m.h.Len() > 0 {
		top := m.h.Pop()
		w.put(top.host, top.entry)
		if err := m.push(top.src); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("merging runs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("merging runs: %w", err)
	}
	for _, name := range s.runs[:k] {
		if err := tempfiles.Remove(name); err != nil {
			return fmt.Errorf("merging runs: %w", err)
		}
	}
	s.runs = append(s.runs[:0:0], s.runs[k:]...)
	return nil
}

// runMerge reads sources in key order through a heap of their heads: the
// final merge of an Iterator, and the steps that merge runs into fewer.
type runMerge struct {
	srcs  []source
	h     *minheap.Heap[head]
	files []*os.File
}

func newRunMerge() runMerge { return runMerge{h: minheap.New(lessHead)} }

// openRuns adds a source per run file.
func (m *runMerge) openRuns(names []string) error {
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		m.files = append(m.files, f)
		m.srcs = append(m.srcs, &runSource{f: f, br: bufio.NewReaderSize(f, runBuffer)})
	}
	return nil
}

// start puts every source's first entry on the heap.
func (m *runMerge) start() error {
	for i := range m.srcs {
		if err := m.push(i); err != nil {
			return err
		}
	}
	return nil
}

// push puts source i's next entry on the heap, if it has one.
func (m *runMerge) push(i int) error {
	host, e, ok, err := m.srcs[i].next()
	if ok {
		m.h.Push(head{host: host, entry: e, src: i})
	}
	return err
}

func (m *runMerge) close() {
	for _, f := range m.files {
		f.Close()
	}
}

// source yields entries in key order.
type source interface {
	next() (host uint64, entry []byte, ok bool, err error)
}

type memSource struct {
	s *Sorter
	i int
}

func (m *memSource) next() (uint64, []byte, bool, error) {
	if m.i >= len(m.s.refs) {
		return 0, nil, false, nil
	}
	r := m.s.refs[m.i]
	m.i++
	e := m.s.arena.at(r.off)
	return r.host, e[:entryLen(e)], true, nil
}

type runSource struct {
	f  *os.File
	br *bufio.Reader
}

// next returns a fresh slice per entry: the merge holds it while other runs
// advance.
func (r *runSource) next() (uint64, []byte, bool, error) {
	var hk [8]byte
	if _, err := io.ReadFull(r.br, hk[:]); err != nil {
		if err == io.EOF {
			return 0, nil, false, nil
		}
		return 0, nil, false, fmt.Errorf("reading run %s: %w", r.f.Name(), err)
	}
	n, err := binary.ReadUvarint(r.br)
	if err != nil || n > 1<<32 {
		return 0, nil, false, fmt.Errorf("reading run %s: bad entry length", r.f.Name())
	}
	e := make([]byte, n)
	if _, err := io.ReadFull(r.br, e); err != nil {
		return 0, nil, false, fmt.Errorf("reading run %s: %w", r.f.Name(), err)
	}
	return binary.LittleEndian.Uint64(hk[:]), e, true, nil
}

// Iterator walks the sorted captures one URL at a time, folding each URL's
// captures into its record as they come, in fold order (compareEntries):
// it holds one capture at a time, however many a URL has.
type Iterator struct {
	runMerge
	s        *Sorter
	memOnly  bool // no runs on disk: Next reads s.refs from i on
	i        int
	rec      record.Record
	captures int
	err      error
}

type head struct {
	host  uint64
	entry []byte
	src   int
}

// lessHead orders source heads by (host key, URL, capture, source index),
// for the merges' heaps.
func lessHead(a, b head) bool {
	if a.host != b.host {
		return a.host < b.host
	}
	if c := compareEntries(a.entry, b.entry); c != 0 {
		return c < 0
	}
	return a.src < b.src
}

// Finish sorts what is in memory and returns an iterator over all captures.
func (s *Sorter) Finish() (*Iterator, error) {
	s.sortRefs()
	it := &Iterator{s: s, runMerge: newRunMerge()}
	if len(s.runs) == 0 {
		// Nothing spilled: walk the sorted index directly, no merge.
		it.memOnly = true
		return it, nil
	}
	if err := s.reduceRuns(); err != nil {
		return nil, err
	}
	it.srcs = append(it.srcs, &memSource{s: s})
	if err := it.openRuns(s.runs); err != nil {
		it.Close()
		return nil, err
	}
	if err := it.start(); err != nil {
		it.Close()
		return nil, err
	}
	return it, nil
}

// Next advances to the next URL and folds its captures into its record
// (Record). It returns false at the end or on error (see Err).
func (it *Iterator) Next() bool {
	it.captures = 0
	if it.memOnly {
		return it.nextMem()
	}
	if it.err != nil || it.h.Len() == 0 {
		return false
	}
	first := it.h.Top()
	firstURL := entryURL(first.entry)
	url := frozenString(firstURL) // the entry is a fresh slice per entry
	for it.h.Len() > 0 && it.h.Top().host == first.host && bytes.Equal(entryURL(it.h.Top().entry), firstURL) {
		top := it.h.Pop()
		it.fold(top.host, top.entry, url)
		if err := it.push(top.src); err != nil {
			it.err = err
			return false
		}
	}
	return true
}

func (it *Iterator) nextMem() bool {
	refs, a := it.s.refs, &it.s.arena
	if it.i >= len(refs) {
		return false
	}
	first := refs[it.i]
	e := a.at(first.off)
	u := entryURL(e)
	url := frozenString(u)
	it.fold(first.host, e, url)
	for it.i++; it.i < len(refs) && refs[it.i].host == first.host; it.i++ {
		e := a.at(refs[it.i].off)
		if !bytes.Equal(entryURL(e), u) {
			break
		}
		it.fold(first.host, e, url)
	}
	return true
}

// fold folds the next capture of the current URL into its record: the
// captures come in record.CompareCapture order, so this is record.Fold
// taken one capture at a time.
func (it *Iterator) fold(host uint64, e []byte, url string) {
	c := it.decode(host, e, url)
	if it.captures++; it.captures == 1 {
		it.rec.FromCapture(&c)
		return
	}
	var o record.Record
	o.FromCapture(&c)
	it.rec.Combine(&o)
}

// frozenString returns b's bytes as a string without copying them. Only for
// bytes nothing writes to again: the arena's chunks (a batch's buffer is
// never touched after AddBatch, and reset drops chunks rather than reusing
// them) and the entries a run source allocates one by one. The strings keep
// those bytes alive, which the Iterator does anyway until Close; it saves
// an allocation and a copy per URL (~3% of ingest's CPU on the 20x copy).
func frozenString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Record returns the current URL's record, folded from its captures. It
// is overwritten by the next call to Next.
func (it *Iterator) Record() *record.Record { return &it.rec }

// Captures returns how many captures (taken lines: discovered links too)
// folded into the current record.
func (it *Iterator) Captures() int { return it.captures }

// Err returns the first error met.
func (it *Iterator) Err() error { return it.err }

func (it *Iterator) decode(host uint64, b []byte, url string) record.Capture {
	_, rest := splitEntry(b)
	var f entryFields
	f.read(rest)
	c := record.Capture{URL: url, HostKey: host, Discovered: f.flags&1 != 0, Time: f.time,
		HTTPStatus: uint16(f.status), Digest: f.digest, Length: f.length}
	if mm, ok := it.s.mimes[string(f.mime)]; ok {
		c.Mime = mm
	} else {
		c.Mime = string(f.mime)
		if len(it.s.mimes) < 1<<16 {
			it.s.mimes[c.Mime] = c.Mime
		}
	}
	if len(f.redirect) > 0 {
		c.Redirect = string(f.redirect)
	}
	return c
}

// Close removes the run files.
func (it *Iterator) Close() error {
	it.close()
	return it.s.Discard()
}

// Discard removes the spilled runs. A Sorter that is not read to the end
// through an Iterator (its caller failed) must be discarded, or its runs
// stay on disk; Iterator.Close does it for the rest. It can be called more
// than once.
func (s *Sorter) Discard() error {
	var first error
	for _, name := range s.runs {
		if err := tempfiles.Remove(name); err != nil && first == nil {
			first = err
		}
	}
	s.runs = nil
	return first
}

// Len returns the number of captures in the batch.
func (b *Batch) Len() int { return len(b.refs) }

// AppendEncoded appends the batch's captures to dst as the log store keeps
// them: for each capture, its 8-byte little-endian host key followed by its
// entry (see encode). DecodeBatch reads it back.
func (b *Batch) AppendEncoded(dst []byte) []byte {
	for i, r := range b.refs {
		end := len(b.arena)
		if i+1 < len(b.refs) {
			end = int(b.refs[i+1].off)
		}
		dst = binary.LittleEndian.AppendUint64(dst, r.host)
		dst = append(dst, b.arena[r.off:end]...)
	}
	return dst
}

// DecodeBatch reads captures written by AppendEncoded into a new batch. The
// bytes are checked entry by entry, so damaged input gives an error, never
// a panic; the batch keeps its own copy.
func DecodeBatch(p []byte) (Batch, error) {
	b := Batch{arena: make([]byte, 0, len(p))}
	for pos := 0; pos < len(p); {
		if len(p)-pos < 8 {
			return Batch{}, fmt.Errorf("capture %d: %d bytes left, want a host key", len(b.refs), len(p)-pos)
		}
		host := binary.LittleEndian.Uint64(p[pos:])
		pos += 8
		n, err := checkEntry(p[pos:])
		if err != nil {
			return Batch{}, fmt.Errorf("capture %d: %w", len(b.refs), err)
		}
		b.refs = append(b.refs, ref{host: host, off: uint64(len(b.arena))})
		b.arena = append(b.arena, p[pos:pos+n]...)
		pos += n
	}
	return b, nil
}

// uvarintLen is the length of v's shortest uvarint encoding.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// checkEntry returns the length of the entry at the start of b, or an error
// if b does not hold a whole, well-formed one. It runs for every capture a
// log replays, so it allocates nothing unless it fails.
func checkEntry(b []byte) (int, error) {
	c := entryCursor{b: b}
	if err := c.str("url"); err != nil {
		return 0, err
	}
	if c.pos >= len(b) || b[c.pos] > 1 {
		return 0, errors.New("bad flags")
	}
	c.pos++
	// a .meguri row's limits (codec.Writer refuses more)
	if err := c.uv("time", record.TimeLimit-1); err != nil {
		return 0, err
	}
	if err := c.uv("http status", record.HTTPStatusLimit-1); err != nil {
		return 0, err
	}
	if len(b)-c.pos < 8 {
		return 0, errors.New("digest cut short")
	}
	c.pos += 8
	if err := c.uv("length", record.LengthLimit-1); err != nil {
		return 0, err
	}
	if err := c.str("mime"); err != nil {
		return 0, err
	}
	if err := c.str("redirect"); err != nil {
		return 0, err
	}
	return c.pos, nil
}

type entryCursor struct {
	b   []byte
	pos int
}

// varint reads a uvarint in its shortest encoding.
func (c *entryCursor) varint() (uint64, bool) {
	v, k := binary.Uvarint(c.b[c.pos:])
	if k <= 0 || k != uvarintLen(v) {
		return 0, false
	}
	c.pos += k
	return v, true
}

// uv reads a varint of at most limit.
func (c *entryCursor) uv(what string, limit uint64) error {
	v, ok := c.varint()
	if !ok {
		return fmt.Errorf("bad %s varint", what)
	}
	if v > limit {
		return fmt.Errorf("%s %d out of range", what, v)
	}
	return nil
}

// str steps over a length-prefixed string.
func (c *entryCursor) str(what string) error {
	n, ok := c.varint()
	if !ok {
		return fmt.Errorf("bad %s length varint", what)
	}
	if n > uint64(len(c.b)-c.pos) {
		if n > uint64(len(c.b)) {
			return fmt.Errorf("%s length %d out of range", what, n)
		}
		return fmt.Errorf("%s cut short", what)
	}
	c.pos += int(n)
	return nil
}
