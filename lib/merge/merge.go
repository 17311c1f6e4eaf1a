// Package merge is the compaction engine: a k-way merge over the blocks of
// sorted .meguri inputs into one or more outputs that cut the key space at
// given host keys, optionally folding equal URLs, dropping expired Gone
// tombstones, whole host groups and listed URLs.
//
// A block passes through byte for byte, without being re-encoded, whenever
// that gives the same bytes a fresh encoding of the same rows would: the
// output is at a block start, the input block starts at the same row and
// ends where the block rule would end it (at a content-defined boundary or
// the row cap, which depend only on the rows since the block start, or at
// the output's last row), no row of another input falls inside it, it lies
// inside the current output's range and no row is dropped from it (a block
// holding Gone rows under GC, spanning a dropped host key, or whose rows
// span a dropped URL, is decoded to see; others are not decoded at all).
// Every other row is decoded and added again, so the output is always
// exactly what encoding its rows afresh gives, and memory holds a block per
// input and the writer's blocks in flight, whatever the file sizes.
//
//	res, err := merge.Run(sources, merge.Options{
//		Outputs: []merge.Output{{ID: 3, Lo: 0, Hi: ^uint64(0)}},
//		Create:  func(i int) (io.Writer, error) { return f, nil },
//	})
package merge

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"runtime/metrics"
	"slices"

	"github.com/meguri/meguri/lib/atomicfile"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/minheap"
	"github.com/meguri/meguri/lib/record"
)

// Source is a sorted .meguri input read block by block.
type Source interface {
	Name() string
	Header() codec.Header
	// NextBlock returns the next block with its checksums verified, or
	// io.EOF after the last.
	NextBlock() (*codec.Block, error)
	// Last reports whether the block NextBlock returned most recently is
	// the source's last one (false when that is not yet known).
	Last() bool
}

// FileSource reads an opened file's blocks in order.
type FileSource struct {
	Path string
	File *codec.File
	next int
}

// Name returns the path.
func (s *FileSource) Name() string { return s.Path }

// Header returns the file's header.
func (s *FileSource) Header() codec.Header { return s.File.Header }

// NextBlock reads the next block.
func (s *FileSource) NextBlock() (*codec.Block, error) {
	if s.next >= len(s.File.Blocks) {
		return nil, io.EOF
	}
	s.next++
	return s.File.ReadBlock(s.next - 1)
}

// Last reports whether the block read most recently is the file's last.
func (s *FileSource) Last() bool { return s.next == len(s.File.Blocks) }

// StreamSource reads a .meguri stream front to back, from a pipe say. It
// reads one block ahead, so that it knows which block is the last.
type StreamSource struct {
	Label string
	R     *codec.Reader

	started bool
	ahead   *codec.Block // the block after the one returned last
	err     error        // what reading ahead returned instead (io.EOF at the end)
}

// Name returns the label.
func (s *StreamSource) Name() string { return s.Label }

// Header returns the stream's header.
func (s *StreamSource) Header() codec.Header { return s.R.Header() }

// NextBlock returns the block read ahead and reads the one after it.
func (s *StreamSource) NextBlock() (*codec.Block, error) {
	if !s.started {
		s.started = true
		s.ahead, s.err = s.R.NextBlock()
	}
	if s.err != nil {
		return nil, s.err
	}
	b := s.ahead
	s.ahead, s.err = s.R.NextBlock()
	return b, nil
}

// Last reports whether the stream ended (footer and trailer checked) after
// the block returned last.
func (s *StreamSource) Last() bool { return s.started && s.err == io.EOF }

// Output is one output file: its partition id and inclusive host-key range.
// Outputs are given in key order and must cover every input row.
type Output struct {
	ID     uint64
	Lo, Hi uint64
}

// Options configure Run.
type Options struct {
	Outputs []Output
	// Create opens output i for writing. Outputs are created in order, each
	// after the previous one is closed.
	Create func(i int) (io.Writer, error)
	// Fold combines rows of the same URL from several inputs by the merge
	// rule. Without it, two inputs holding the same URL is an error.
	Fold bool
	// GC drops Gone rows whose last capture is before Cutoff (Unix seconds).
	GC     bool
	Cutoff int64
	// DropHosts are host keys whose rows are all dropped (a host group
	// taken out of the fleet), in increasing order.
	DropHosts []uint64
	// DropURLs are rows dropped one by one (URLs taken out of the crawl),
	// in the order of a file's rows (SortURLKeys), each once.
	DropURLs []URLKey
	// Version is the outputs' format version; 0 means the inputs' version,
	// which must then be the same for all of them. Blocks are copied only
	// from inputs of the output's version.
	Version uint16
	// Concurrency is passed to the writers (0: as many as Mem holds,
	// codec.SlotsFor, or one per core without Mem).
	Concurrency int
	// Mem, when positive, is a soft limit on the process's memory for the
	// run (runtime/debug.SetMemoryLimit): the garbage collector works
	// harder near it. What a merge holds live is bounded by block size
	// caps, not by file size; the limit keeps the resident size near that
	// live set instead of letting freed memory linger. A run that holds
	// more live than Mem raises the limit (see memLimit; Result.MemLimit).
	// Output bytes do not depend on it.
	Mem int64
	// Progress, when set, is called after each input block with the rows
	// read so far.
	Progress func(rows uint64)
}

// OutputStats is what one output received.
type OutputStats struct {
	Output
	Stats codec.Stats
	Bytes int64
}

// Result sums a run.
type Result struct {
	Outputs       []OutputStats
	RowsIn        uint64 // rows read from the inputs
	Folded        uint64 // rows that folded into another input's row of the same URL
	Dropped       uint64 // Gone rows dropped by GC
	BlocksCopied  uint64 // blocks passed through byte for byte
	BlocksChecked uint64 // of those, blocks decoded first to see that GC, DropHosts or DropURLs drops none of their rows
	BlocksDecoded uint64 // input blocks decoded and their rows added again
	// Covered lists, under Fold, each input whose every captured row has a
	// row of the same URL in another input that holds its captures (its
	// span and count, and its newest or its oldest capture): an input
	// folded into that one before, most likely, whose captures this fold
	// counted twice. Folding a newer delta, whose captures come after the
	// base's, gives none.
	Covered []Cover
	// HostsDropped counts the rows dropped for each of DropHosts that had
	// any; a key missing from it matched no row.
	HostsDropped map[uint64]uint64
	// URLsDropped tells, for each of DropURLs, whether its row was there
	// and dropped (by the list, or with its host); URLRowsDropped counts
	// the rows the list alone dropped.
	URLsDropped    []bool
	URLRowsDropped uint64
	// MemLimit is the soft memory limit the run ended with: Options.Mem,
	// or more where the inputs' blocks held more live (0 without Mem);
	// MemRaised tells the second.
	MemLimit  int64
	MemRaised bool
}

// URLKey is a row's place in a file's order: its host key, then its URL.
type URLKey struct {
	Host uint64
	URL  string
}

func compareURLKeys(a, b URLKey) int { return record.CompareKey(a.Host, a.URL, b.Host, b.URL) }

// SortURLKeys puts ks in the order of a file's rows and drops repeats, as
// Options.DropURLs wants them.
func SortURLKeys(ks []URLKey) []URLKey {
	slices.SortFunc(ks, compareURLKeys)
	return slices.Compact(ks)
}

// FindURLKey finds k in ks, which SortURLKeys ordered: where it is, or
// would be.
func FindURLKey(ks []URLKey, k URLKey) (int, bool) {
	return slices.BinarySearchFunc(ks, k, compareURLKeys)
}

// Cover is an input whose captures another input holds already (see
// Result.Covered), with the URL of its first captured row.
type Cover struct {
	Input, By, URL string
}

// OverlapError reports two inputs holding the same URL without Fold.
type OverlapError struct {
	A, B string
	Host uint64
	URL  string
}

func (e *OverlapError) Error() string {
	return fmt.Sprintf("%s and %s both hold %s (host key 0x%016x); merging needs disjoint inputs (use --fold for files of one partition)",
		e.A, e.B, e.URL, e.Host)
}

type cursor struct {
	idx  int // the input's place among the sources
	src  Source
	blk  *codec.Block    // the current block, not yet decoded when recs is nil
	last bool            // blk is the source's last block
	recs []record.Record // decoded rows of blk
	pos  int
	done bool
	// noCopy: the input cuts blocks by another rule (shift) or encodes
	// them in another layout (version) than the output.
	noCopy bool
	// Under Fold: covered stays true while every captured row of the
	// input has a row of the same URL in another input whose captures
	// hold its own (see Covered); by is that input for the first one.
	covered bool
	by      *cursor
	url     string
}

// load makes sure the cursor has a block, or is done.
func (c *cursor) load() error {
	if c.done || c.blk != nil {
		return nil
	}
	b, err := c.src.NextBlock()
	if err == io.EOF {
		c.done = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.src.Name(), err)
	}
	c.blk, c.last = b, c.src.Last()
	return nil
}

// key is the cursor's next row key.
func (c *cursor) key() (uint64, string) {
	if c.recs != nil {
		r := &c.recs[c.pos]
		return r.HostKey, r.URL
	}
	return c.blk.Info.FirstHost, c.blk.Info.FirstURL
}

func (c *cursor) decode() error {
	recs, err := c.blk.Decode()
	if err != nil {
		return fmt.Errorf("%s: %w", c.src.Name(), err)
	}
	c.recs, c.pos = recs, 0
	return nil
}

// advance moves past the current row (or the whole undecoded block).
func (c *cursor) advance(wholeBlock bool) {
	if !wholeBlock {
		c.pos++
		if c.pos < len(c.recs) {
			return
		}
	}
	c.blk, c.recs, c.pos = nil, nil, 0
}

// Run merges the sources into the outputs.
func Run(srcs []Source, opt Options) (*Result, error) {
	if len(srcs) == 0 {
		return nil, errors.New("merge: no inputs")
	}
	if len(opt.Outputs) == 0 {
		return nil, errors.New("merge: no outputs")
	}
	// Most of the live heap is long-lived (two zstd encoders at the best
	// level, about 40 MiB each, and the blocks in flight); collecting at
	// 50% growth instead of 100% keeps the peak near it, and flat once
	// blocks reach their size cap (measured: 233 and 252 MiB merging the 16
	// parts of the 20x and the 200x generated copies).
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	var limit *memLimit
	if opt.Mem > 0 {
		limit = &memLimit{limit: opt.Mem}
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(opt.Mem))
	}
	h0 := srcs[0].Header()
	for _, s := range srcs[1:] {
		h := s.Header()
		if h.Version != h0.Version && opt.Version == 0 {
			return nil, fmt.Errorf("%s is format version %d but %s is version %d; give the output's version (meguri-compact --format-version) to convert them",
				srcs[0].Name(), h0.Version, s.Name(), h.Version)
		}
		if h.Grouping != h0.Grouping {
			return nil, fmt.Errorf("%s and %s key hosts by different groupings; their host keys cannot be merged",
				srcs[0].Name(), s.Name())
		}
	}
	if opt.Version != 0 {
		if err := codec.CheckWriteVersion(opt.Version); err != nil {
			return nil, err
		}
		h0.Version = opt.Version
	}
	if !slices.IsSorted(opt.DropHosts) {
		return nil, errors.New("merge: DropHosts not in increasing order")
	}
	for i := 1; i < len(opt.DropURLs); i++ {
		if compareURLKeys(opt.DropURLs[i-1], opt.DropURLs[i]) >= 0 {
			return nil, errors.New("merge: DropURLs not in the order of rows, each once")
		}
	}
	m := &merger{opt: opt, res: &Result{HostsDropped: map[uint64]uint64{}, URLsDropped: make([]bool, len(opt.DropURLs))}, hdr: h0, limit: limit}
	for _, s := range srcs {
		// Blocks can be copied only from inputs that cut blocks by the
		// same rule and encode them in the same layout as the output.
		h := s.Header()
		m.curs = append(m.curs, &cursor{idx: len(m.curs), src: s, noCopy: h.Shift != h0.Shift || h.Version != h0.Version, covered: true})
	}
	if err := m.run(); err != nil {
		m.abort()
		return nil, err
	}
	if limit != nil {
		m.res.MemLimit, m.res.MemRaised = limit.limit, limit.limit > opt.Mem
	}
	if opt.Fold {
		for _, c := range m.curs {
			if c.covered && c.by != nil {
				m.res.Covered = append(m.res.Covered, Cover{Input: c.src.Name(), By: c.by.src.Name(), URL: c.url})
			}
		}
	}
	return m.res, nil
}

// RunFiles is Run writing output i to paths[i] ("-" for stdout): each
// output is created when the merge reaches it, and all of them appear only
// once every one is complete; on an error none does. The outputs take
// turns on a pool of descriptors until the commit, so that a split into
// more ranges than the open-file limit allows writes them all. also, when
// not nil, is called with the result before anything is committed, and
// the file it returns (a list of the outputs, say; nil for none) is
// committed with them, as one.
func RunFiles(srcs []Source, opt Options, paths []string, also func(*Result) (*atomicfile.File, error)) (*Result, error) {
	if len(paths) != len(opt.Outputs) {
		return nil, fmt.Errorf("merge: %d paths for %d outputs", len(paths), len(opt.Outputs))
	}
	files := make([]*atomicfile.File, len(paths))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Abort() // a no-op once committed
			}
		}
	}()
	fds := newPool()
	opt.Create = func(i int) (io.Writer, error) {
		f, err := atomicfile.CreateIn(fds, paths[i], 1<<20)
		files[i] = f
		return f, err
	}
	res, err := Run(srcs, opt)
	if err != nil {
		return nil, err
	}
	if also != nil {
		f, err := also(res)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if err := atomicfile.CommitAll(files); err != nil {
		return nil, err
	}
	return res, nil
}

type merger struct {
	opt  Options
	res  *Result
	hdr  codec.Header
	curs []*cursor

	k   int // current output
	w   *codec.Writer
	out io.Writer // what w writes to
	// heap holds the cursors not done, ordered by before: the cursor
	// with the smallest next key on top.
	heap *minheap.Heap[*cursor]

	limit *memLimit // nil: Options.Mem not set
}

// memLimit keeps the soft memory limit of Options.Mem above what the run
// holds live. A fold holds a decoded block of each input at once (about
// 250 B a row), so many inputs, or blocks of long URLs, can hold more than
// the limit; under it the collector would then run nearly all the time
// (a fold of 128 files took 1.5x as long, one of 8 files 1.4x). After each
// block decoded, the limit is raised to what the collector's own target
// for the live heap is (GC percent 50: 1.5 times it) plus a margin, never
// lowered: the resident size still tracks the live set, which block size
// caps bound, rather than the freed memory the runtime keeps.
type memLimit struct {
	limit  int64
	sample [1]metrics.Sample
}

// raise raises the limit when the live heap needs it.
func (l *memLimit) raise() {
	l.sample[0].Name = "/gc/heap/live:bytes"
	metrics.Read(l.sample[:])
	if l.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := int64(l.sample[0].Value.Uint64())
	if want := live + live/2 + 32<<20; want > l.limit {
		l.limit = want
		debug.SetMemoryLimit(want)
	}
}

func (m *merger) run() error {
	// The cursors not done, in a heap by next key, then input order.
	m.heap = minheap.New(before)
	for _, x := range m.curs {
		if err := m.push(x); err != nil {
			return err
		}
	}
	var same []record.Record
	var from []*cursor
	for m.heap.Len() > 0 {
		// The cursor with the smallest next key (of equal keys, the
		// first input's).
		c := m.heap.Top()
		host, url := c.key()
		if err := m.seek(host); err != nil {
			return err
		}
		if m.w == nil {
			if err := m.open(); err != nil {
				return err
			}
		}
		if c.recs == nil {
			copied, err := m.tryCopy(c)
			if err != nil {
				return err
			}
			if copied {
				m.heap.Pop()
				if err := m.push(c); err != nil {
					return err
				}
				continue
			}
		}
		if c.recs == nil {
			if err := m.decode(c); err != nil {
				return err
			}
		}
		m.heap.Pop()
		rec := c.recs[c.pos]
		c.advance(false)
		// Rows of the same URL in the other inputs, in input order.
		same, from = same[:0], from[:0]
		for m.heap.Len() > 0 {
			x := m.heap.Top()
			if h, u := x.key(); h != host || u != url {
				break
			}
			if !m.opt.Fold {
				return &OverlapError{A: c.src.Name(), B: x.src.Name(), Host: host, URL: url}
			}
			if x.recs == nil {
				if err := m.decode(x); err != nil {
					return err
				}
			}
			m.heap.Pop()
			same = append(same, x.recs[x.pos])
			from = append(from, x)
			x.advance(false)
		}
		if err := m.push(c); err != nil {
			return err
		}
		for _, x := range from {
			if err := m.push(x); err != nil {
				return err
			}
		}
		switch {
		case !m.opt.Fold:
		case len(same) == 0:
			if rec.Captures > 0 {
				c.covered = false // a URL no other input has
			}
		default:
			m.cover(append(same, rec), append(from, c))
		}
		if len(same) > 0 {
			m.res.Folded += uint64(len(same))
			rec = record.FoldRecords(append(same, rec))
		}
		if m.drops(&rec, true) {
			continue
		}
		if err := m.w.Add(&rec); err != nil {
			return err
		}
	}
	for m.k < len(m.opt.Outputs) {
		if m.w == nil {
			if err := m.open(); err != nil {
				return err
			}
		}
		if err := m.closeOutput(); err != nil {
			return err
		}
	}
	return nil
}

// before orders cursors in the heap: by next key, then by input order.
func before(a, b *cursor) bool {
	ah, au := a.key()
	bh, bu := b.key()
	if c := record.CompareKey(ah, au, bh, bu); c != 0 {
		return c < 0
	}
	return a.idx < b.idx
}

// push loads c's next block if it needs one and puts it in the heap,
// unless it is done.
func (m *merger) push(c *cursor) error {
	if err := c.load(); err != nil {
		return err
	}
	if !c.done {
		m.heap.Push(c)
	}
	return nil
}

func (m *merger) rowsRead(n uint64) {
	m.res.RowsIn += n
	if m.opt.Progress != nil {
		m.opt.Progress(m.res.RowsIn)
	}
}

// decode decodes c's block, counting it and its rows.
func (m *merger) decode(c *cursor) error {
	if err := c.decode(); err != nil {
		return err
	}
	m.decoded(c)
	return nil
}

// decoded counts c's decoded block, whose rows will be added again.
func (m *merger) decoded(c *cursor) {
	if m.limit != nil {
		m.limit.raise()
	}
	m.res.BlocksDecoded++
	m.rowsRead(uint64(len(c.recs)))
}

// tryCopy passes c's undecoded block through byte for byte when canCopy
// allows it. A block from which a row may be dropped (under GC one holding
// Gone rows, one whose key span holds a dropped host key, or one whose
// rows span a dropped URL) is decoded
// first, and copied only if none is (a periodic GC mostly finds young
// tombstones); otherwise its rows stay decoded for the caller.
func (m *merger) tryCopy(c *cursor) (bool, error) {
	if !m.canCopy(c) {
		return false, nil
	}
	if m.mayDrop(&c.blk.Info) {
		if err := c.decode(); err != nil {
			return false, err
		}
		for i := range c.recs {
			if m.drops(&c.recs[i], false) {
				m.decoded(c)
				return false, nil
			}
		}
		m.res.BlocksChecked++
	}
	m.rowsRead(uint64(c.blk.Info.Rows))
	if c.blk.Info.Captures > 0 {
		c.covered = false // its rows have no other input's row
	}
	if err := m.w.CopyBlock(c.blk); err != nil {
		return false, err
	}
	m.res.BlocksCopied++
	c.advance(true)
	return true, nil
}

// cover notes, for each captured row of one URL (rows[i] from input
// from[i]), whether another input's row holds its captures (holds). An
// input loses its cover at its first captured row that no other input
// holds.
func (m *merger) cover(rows []record.Record, from []*cursor) {
	for i := range rows {
		r, c := &rows[i], from[i]
		if r.Captures == 0 || !c.covered {
			continue
		}
		var by *cursor
		for j := range rows {
			if from[j] != c && holds(&rows[j], r) {
				by = from[j]
				break
			}
		}
		switch {
		case by == nil:
			c.covered = false
		case c.by == nil:
			c.by, c.url = by, r.URL
		}
	}
}

// holds reports whether o looks as if r were folded into it: its span
// holds r's (first seen no later, last seen no earlier), it has as many
// captures or more, and it shares r's newest capture (time and digest), as
// a base does after a newer delta folded in, or r's oldest, as after older
// captures folded in. Captures of another source that fall inside o's span
// (a backfill from another archive) share neither end, and are not held.
func holds(o, r *record.Record) bool {
	return o.FirstSeen <= r.FirstSeen && o.LastSeen >= r.LastSeen && o.Captures >= r.Captures &&
		(o.LastSeen == r.LastSeen && o.Digest == r.Digest || o.FirstSeen == r.FirstSeen && o.FirstDigest == r.FirstDigest)
}

// drops reports whether r is dropped: a listed URL, a row of a dropped
// host, or a tombstone GC takes. With count, it is counted in the result:
// under its host when both drop it, and a listed URL is marked found
// either way.
func (m *merger) drops(r *record.Record, count bool) bool {
	i, listed := m.dropsURL(r)
	host := m.dropsHost(r.HostKey)
	gc := !host && !listed && m.gcDrops(r)
	if count {
		if listed {
			m.res.URLsDropped[i] = true
		}
		switch {
		case host:
			m.res.HostsDropped[r.HostKey]++
		case listed:
			m.res.URLRowsDropped++
		case gc:
			m.res.Dropped++
		}
	}
	return host || listed || gc
}

// mayDrop reports whether a row of block b may be dropped, from what its
// zone map says: Gone rows under GC, a dropped host key within its key
// span, or a listed URL within its rows.
func (m *merger) mayDrop(b *codec.BlockInfo) bool {
	return m.opt.GC && b.Gone > 0 || m.dropsIn(b.FirstHost, b.LastHost) || m.urlsIn(b)
}

// dropsHost reports whether rows of host key k are dropped.
func (m *merger) dropsHost(k uint64) bool {
	_, found := slices.BinarySearch(m.opt.DropHosts, k)
	return found
}

// dropsIn reports whether a dropped host key lies in lo..hi.
func (m *merger) dropsIn(lo, hi uint64) bool {
	i, _ := slices.BinarySearch(m.opt.DropHosts, lo)
	return i < len(m.opt.DropHosts) && m.opt.DropHosts[i] <= hi
}

// dropsURL reports whether r is one of DropURLs, and which.
func (m *merger) dropsURL(r *record.Record) (int, bool) {
	if len(m.opt.DropURLs) == 0 {
		return 0, false
	}
	return FindURLKey(m.opt.DropURLs, URLKey{r.HostKey, r.URL})
}

// urlsIn reports whether one of DropURLs lies within a block's rows.
func (m *merger) urlsIn(b *codec.BlockInfo) bool {
	d := m.opt.DropURLs
	i, _ := FindURLKey(d, URLKey{b.FirstHost, b.FirstURL})
	return i < len(d) && record.CompareKey(d[i].Host, d[i].URL, b.LastHost, b.LastURL) <= 0
}

// gcDrops reports whether GC drops r.
func (m *merger) gcDrops(r *record.Record) bool {
	return m.opt.GC && r.Status == record.Gone && r.LastSeen < m.opt.Cutoff
}

// canCopy reports whether c's undecoded block can pass through byte for
// byte (GC aside, see tryCopy): see the package comment.
func (m *merger) canCopy(c *cursor) bool {
	info := &c.blk.Info
	hi := m.opt.Outputs[m.k].Hi
	if c.noCopy || m.w.Pending() != 0 || info.LastHost > hi {
		return false
	}
	// Where the output's rows after this block come from: only this input
	// (then they all follow it), or also others (then they must all sort
	// after it), and whether any are left at all.
	more := !c.last
	for _, x := range m.curs {
		if x == c || x.done {
			continue
		}
		h, u := x.key()
		if record.CompareKey(h, u, info.LastHost, info.LastURL) <= 0 {
			return false
		}
		if h <= hi {
			more = true
		}
	}
	// The block ends where a fresh encoding of the output would end it: at
	// a content boundary or the row cap (both depend only on the rows since
	// the block start), or at the output's last row.
	return info.EndsByRule(m.hdr.Shift) || !more
}

// seek closes outputs until the current one's range holds host.
func (m *merger) seek(host uint64) error {
	for host > m.opt.Outputs[m.k].Hi {
		if m.w == nil {
			if err := m.open(); err != nil {
				return err
			}
		}
		if err := m.closeOutput(); err != nil {
			return err
		}
		if m.k == len(m.opt.Outputs) {
			return fmt.Errorf("merge: host key 0x%016x lies past the last output's range", host)
		}
	}
	if host < m.opt.Outputs[m.k].Lo {
		return fmt.Errorf("merge: host key 0x%016x lies before output %d's range", host, m.opt.Outputs[m.k].ID)
	}
	return nil
}

func (m *merger) open() error {
	o := m.opt.Outputs[m.k]
	out, err := m.opt.Create(m.k)
	if err != nil {
		return err
	}
	m.out = out
	h := codec.Header{Version: m.hdr.Version, Grouping: m.hdr.Grouping, Shift: m.hdr.Shift, PartitionID: o.ID, Lo: o.Lo, Hi: o.Hi}
	conc := m.opt.Concurrency
	if conc == 0 && m.opt.Mem > 0 {
		conc = codec.SlotsFor(m.opt.Mem)
	}
	w, err := codec.NewWriter(out, h, codec.WithConcurrency(conc))
	if err != nil {
		return err
	}
	m.w = w
	return nil
}

// closeOutput finishes the current output (if it was opened) and moves to
// the next.
func (m *merger) closeOutput() error {
	st := OutputStats{Output: m.opt.Outputs[m.k]}
	if m.w != nil {
		if err := m.w.Close(); err != nil {
			return err
		}
		st.Stats, st.Bytes = m.w.Stats(), m.w.Size()
		m.w = nil
		// An output committed with the others at the end lets its
		// buffer go now: a split into 1,024 ranges held 1 GiB of them.
		if w, ok := m.out.(interface{ Written() error }); ok {
			if err := w.Written(); err != nil {
				return err
			}
		}
		m.out = nil
	}
	m.res.Outputs = append(m.res.Outputs, st)
	m.k++
	return nil
}

// abort stops a writer left open by an error so its goroutines end.
func (m *merger) abort() {
	if m.w != nil {
		m.w.Close()
		m.w = nil
	}
}
