// Package route splits streams by partition and builds balanced manifests:
// the data side of meguri-route.
//
// SplitCDX passes CDX lines through, byte for byte, into one output per
// partition of a manifest; SplitMeguri cuts a .meguri stream along the
// manifest's ranges; Balance reads host keys and proposes ranges of close to
// equal URL counts.
//
//	m, _ := manifest.Load("fleet.manifest")
//	res, err := route.SplitCDX([]string{"cdx-00000.gz"}, route.SplitOptions{Manifest: m, OutDir: "parts"})
package route

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/meguri/meguri/lib/atomicfile"
	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/fdpool"
	"github.com/meguri/meguri/lib/internal/flock"
	"github.com/meguri/meguri/lib/internal/freelist"
	"github.com/meguri/meguri/lib/internal/memlimit"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/merge"
)

// SplitOptions configure a split.
type SplitOptions struct {
	Manifest *manifest.Manifest // must tile
	OutDir   string
	Zstd     bool // write .jsonl.zst instead of .jsonl
	Grouping canon.Grouping
	MaxLine  int       // default 1 MiB
	Rejects  io.Writer // rejected lines as JSON lines, or nil
	Workers  int       // parse goroutines (default GOMAXPROCS)
	// QueueDepth is how many buffers may wait for each partition's writer
	// before the reader blocks (default 4).
	QueueDepth int
	// Memory bounds the buffers held for all partitions together (default
	// 256 MiB); each partition's buffer is Memory/partitions/(depth+1),
	// between 4 KiB and 64 KiB.
	Memory   int64
	Progress func(lines, bytes, raw int64)
	// Replace lets a split of a .meguri stream replace .meguri files
	// already under its outputs' names. Without it they are refused: the
	// fleet's own partition files carry those names, and a split into
	// their directory would replace every partition with its part of the
	// input.
	Replace bool
	// AllowUnterminated writes the parts though an input ends inside a
	// line; without it such a split fails before any part is written.
	AllowUnterminated bool
}

// PartCount is what one partition received.
type PartCount struct {
	PartitionID uint64 `json:"partition_id"`
	File        string `json:"file"`
	Records     int64  `json:"records"`
}

// SplitResult counts a split.
type SplitResult struct {
	Lines      int64 // non-blank lines read (records, of a .meguri input)
	Records    bool  // the input was a .meguri: Lines counts its records
	Blank      int64
	Routed     int64
	Rejected   cdx.Counts
	Partitions []PartCount // every partition of the map and its output, in key order
	// Cut counts the inputs that end inside a line
	// (cdx.Batch.Unterminated).
	Cut input.Cut
}

// OutputName is the file a partition's lines go to: the stem of its
// manifest file name (the name up to its first '.') plus ext.
func OutputName(p *manifest.Partition, ext string) string {
	base := filepath.Base(p.File)
	if p.File == "" || p.File == "-" {
		base = fmt.Sprintf("part-%04d", p.ID)
	}
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base + ext
}

// Leftovers lists the CDX outputs in dir (files named *.jsonl or
// *.jsonl.zst) that a split of CDX lines did not write, given its
// partitions: what an earlier split of another map (or with or without
// --zstd) left there. A glob over the directory would read their lines a
// second time. A split of a .meguri file has none: its directory may well
// hold other files of the fleet. also names other files the run wrote
// (its rejects), which are not left over.
func Leftovers(dir string, written []PartCount, also ...string) []string {
	if len(written) == 0 || strings.HasSuffix(written[0].File, ".meguri") {
		return nil
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	ours := map[string]bool{}
	for _, p := range written {
		ours[filepath.Base(p.File)] = true
	}
	var others []os.FileInfo
	for _, p := range also {
		if st, err := os.Stat(p); err == nil {
			others = append(others, st)
		}
	}
	var left []string
	for _, e := range es {
		name := e.Name()
		if !e.Type().IsRegular() || ours[name] || strings.HasPrefix(name, ".") {
			continue
		}
		if !strings.HasSuffix(name, ".jsonl") && !strings.HasSuffix(name, ".jsonl.zst") {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && slices.ContainsFunc(others, func(o os.FileInfo) bool { return os.SameFile(o, st) }) {
			continue
		}
		left = append(left, name)
	}
	return left
}

// distinctStems refuses a map in which two partitions' file names share a
// stem: their outputs would be one file, and the one renamed last would
// drop the other's lines.
func distinctStems(parts []manifest.Partition) error {
	seen := make(map[string]int, len(parts))
	for i := range parts {
		stem := OutputName(&parts[i], "")
		if j, dup := seen[stem]; dup {
			return fmt.Errorf("partitions %d (%s) and %d (%s) would write one output, %s.*: their file names share the stem before the first '.'; rename one in the manifest",
				parts[j].ID, parts[j].File, parts[i].ID, parts[i].File, stem)
		}
		seen[stem] = i
	}
	return nil
}

// Routed line marks, per line of a batch: a partition index, or one of these.
const (
	lineBlank  = -1
	lineReject = -2
)

type routed struct {
	dest    []int32 // partition index, lineBlank or lineReject
	reasons []cdx.Reason
}

// SplitCDX reads CDX lines from inputs ("-" for stdin) and writes each
// line, unchanged, to the output of the partition owning its host key:
// one output for every partition, empty for one that received no line.
// Outputs appear atomically once every input has been read.
func SplitCDX(inputs []string, opt SplitOptions) (*SplitResult, error) {
	if err := opt.Manifest.MustTile(); err != nil {
		return nil, err
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = 1 << 20
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.QueueDepth <= 0 {
		opt.QueueDepth = 4
	}
	if opt.Memory <= 0 {
		opt.Memory = 256 << 20
	}
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	parts := opt.Manifest.Parts
	chunk := int(min(64<<10, max(4<<10, opt.Memory/int64(len(parts))/int64(opt.QueueDepth+1))))
	// The live heap is the partition buffers and the batches in flight,
	// whatever the input size; telling the collector so keeps the peak
	// flat as the input grows (a user's lower GOMEMLIMIT still wins).
	// lines go out as they came, without a legend they were read by
	pcfg := cdx.PipelineConfig{MaxLine: opt.MaxLine, BatchBytes: 256 << 10, Workers: opt.Workers, Verbatim: true}
	bound := int64(len(parts)*(opt.QueueDepth+1)*(chunk+4096)) + pcfg.Memory() + 16<<20
	if opt.Zstd {
		bound += int64(opt.Workers) * zstdState
	}
	defer memlimit.SetSoft(bound)()
	ws := &writers{opt: &opt, parts: parts, out: make([]*partWriter, len(parts)), chunk: chunk,
		free: freelist.New(len(parts)*(opt.QueueDepth+1), func() []byte { return make([]byte, 0, chunk+4096) }),
		fds:  newPool()}
	defer ws.abort()
	if opt.Zstd {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(opt.Workers), zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, err
		}
		ws.enc = enc // used only through EncodeAll: nothing to close
	}

	parser := cdx.Parser{Grouping: opt.Grouping, RangeHi: cdx.Full}
	parsers := parser.Workers(opt.Workers)
	work := func(worker int, b *cdx.Batch) {
		r := &routed{dest: make([]int32, len(b.Ends))}
		for i := range b.Ends {
			c, reason, blank := parsers[worker].ParseLine(b, i)
			if blank {
				r.dest[i] = lineBlank
				continue
			}
			if reason != cdx.OK {
				r.dest[i] = lineReject
				r.reasons = append(r.reasons, reason)
				continue
			}
			r.dest[i] = int32(opt.Manifest.Index(c.HostKey))
		}
		b.Result = r
	}
	res := &SplitResult{}
	var rejw *bufio.Writer
	if opt.Rejects != nil {
		rejw = bufio.NewWriter(opt.Rejects)
	}
	var lines, inBytes int64
	collect := func(b *cdx.Batch) error {
		r := b.Result.(*routed)
		nr := 0
		for i, d := range r.dest {
			switch d {
			case lineBlank:
				res.Blank++
			case lineReject:
				reason := r.reasons[nr]
				nr++
				if reason == cdx.FoldedRecord {
					return &cdx.FoldedError{Source: b.Source, Line: b.Nums[i]}
				}
				res.Rejected[reason]++
				if rejw != nil {
					cdx.WriteReject(rejw, b.Source, b.Nums[i], reason, b.Line(i))
				}
			default:
				if err := ws.add(int(d), b.Line(i)); err != nil {
					return err
				}
				res.Routed++
			}
		}
		if b.Unterminated {
			res.Cut.Add(b.Source, b.Nums[len(b.Nums)-1])
		}
		lines += int64(len(b.Ends))
		inBytes += b.Bytes
		if opt.Progress != nil {
			opt.Progress(lines, inBytes, b.Raw)
		}
		return nil
	}
	err := cdx.Pipeline(inputs, pcfg, work, collect)
	res.Lines = lines - res.Blank
	if rejw != nil {
		if ferr := rejw.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("writing rejects: %w", ferr)
		}
	}
	if err != nil {
		return res, err
	}
	if res.Cut.Inputs > 0 && !opt.AllowUnterminated {
		// a part holds the line with a line end, which hides the cut
		// from the ingest of the part
		return res, res.Cut.Refusal("a part holds the line with a line end, where the cut no longer shows, and a partition directory fed it would keep its lines before the cut, to count them twice once the whole input is split and fed again; no part was written", "split")
	}
	if err := ws.finish(); err != nil {
		return res, err
	}
	for i, w := range ws.out {
		res.Partitions = append(res.Partitions, PartCount{PartitionID: parts[i].ID, File: w.path, Records: w.records})
	}
	return res, nil
}

// writers holds one lazily opened writer per partition.
type writers struct {
	opt   *SplitOptions
	parts []manifest.Partition
	out   []*partWriter
	chunk int
	free  *freelist.List[[]byte] // written buffers, for reuse
	// enc compresses each buffer into a zstd frame of its own (--zstd),
	// for every partition: its state is per core, not per partition.
	enc    *zstd.Encoder
	frames sync.Pool // *[]byte frame buffers
	fds    *fdpool.Pool
}

// partWriter writes one partition's lines from its own goroutine, fed by a
// bounded queue: when the queue is full the reader waits.
type partWriter struct {
	path    string
	f       *atomicfile.File
	buf     []byte
	queue   chan []byte
	done    chan struct{}
	err     error
	records int64
	closed  bool
}

func (w *partWriter) closeQueue() {
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
}

// newPool makes the pool of descriptors a set of files takes turns on: a
// split's outputs, balance's spilled key runs (a test makes it smaller).
var newPool = fdpool.ForRun

// zstdState is a generous estimate of one shared zstd encoder's memory
// (--zstd; one per parse worker).
const zstdState = 8 << 20

func (ws *writers) get() []byte { return ws.free.Get()[:0] }

func (ws *writers) add(i int, line []byte) error {
	w := ws.out[i]
	if w == nil {
		var err error
		if w, err = ws.open(i); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, line...)
	w.buf = append(w.buf, '\n')
	w.records++
	if len(w.buf) >= ws.chunk {
		return ws.send(w)
	}
	return nil
}

func (ws *writers) send(w *partWriter) error {
	select {
	case <-w.done:
		// the writer stopped on an error, which names the file
		return w.err
	case w.queue <- w.buf:
	}
	w.buf = ws.get()
	return nil
}

func (ws *writers) ext() string {
	if ws.opt.Zstd {
		return ".jsonl.zst"
	}
	return ".jsonl"
}

// create starts an output file. Chunks of lines (or their zstd frames)
// arrive whole, so the file needs only a small buffer. The outputs share
// a pool of descriptors: a split into more partitions than the open-file
// limit allows keeps open those written most recently, and opens the
// others again as lines come for them.
func (ws *writers) create(path string) (*atomicfile.File, error) {
	return atomicfile.CreateIn(ws.fds, path, 4<<10)
}

func (ws *writers) open(i int) (*partWriter, error) {
	path := filepath.Join(ws.opt.OutDir, OutputName(&ws.parts[i], ws.ext()))
	f, err := ws.create(path)
	if err != nil {
		return nil, err
	}
	w := &partWriter{path: path, f: f, buf: ws.get(), queue: make(chan []byte, ws.opt.QueueDepth), done: make(chan struct{})}
	ws.out[i] = w
	go func() {
		defer close(w.done)
		for b := range w.queue {
			if w.err == nil {
				if err := ws.write(w, b); err != nil {
					w.err = err
					// drain so the reader never blocks on a dead writer
					go func() {
						for range w.queue {
						}
					}()
					return
				}
			}
			ws.free.Put(b)
		}
	}()
	return w, nil
}

// write writes a buffer of lines to w's file: as it is, or as one zstd
// frame (a .zst file is such frames back to back, which every zstd
// reader reads as one stream).
func (ws *writers) write(w *partWriter, b []byte) error {
	if ws.enc == nil {
		_, err := w.f.Write(b)
		return err
	}
	fp, _ := ws.frames.Get().(*[]byte)
	if fp == nil {
		fp = new([]byte)
	}
	*fp = ws.enc.EncodeAll(b, (*fp)[:0])
	_, err := w.f.Write(*fp)
	ws.frames.Put(fp)
	return err
}

// openEmpty makes partition i's output, which receives no line: an empty
// file, or one empty zstd frame; no writing goroutine.
func (ws *writers) openEmpty(i int) error {
	path := filepath.Join(ws.opt.OutDir, OutputName(&ws.parts[i], ws.ext()))
	f, err := ws.create(path)
	if err != nil {
		return err
	}
	if ws.enc != nil {
		f.Write(ws.enc.EncodeAll(nil, nil)) // a frame of no bytes
	}
	w := &partWriter{path: path, f: f, queue: make(chan []byte), done: make(chan struct{})}
	close(w.done)
	w.closeQueue()
	ws.out[i] = w
	return nil
}

// finish flushes every writer and commits the outputs; if any fails, none
// is committed. A partition that received no line gets an empty output
// too, so that a split writes exactly one file per partition and each
// replaces what an earlier split left under its name.
func (ws *writers) finish() error {
	for i, w := range ws.out {
		if w == nil {
			if err := ws.openEmpty(i); err != nil {
				return err
			}
		}
	}
	var first error
	for _, w := range ws.out {
		if w == nil {
			continue
		}
		if len(w.buf) > 0 && first == nil {
			first = ws.send(w)
		}
		w.closeQueue()
	}
	for _, w := range ws.out {
		if w == nil {
			continue
		}
		<-w.done
		if w.err != nil && first == nil {
			first = w.err // it names the file
		}
	}
	if first != nil {
		return first
	}
	files := make([]*atomicfile.File, 0, len(ws.out))
	for _, w := range ws.out {
		if w != nil {
			files = append(files, w.f)
		}
	}
	return atomicfile.CommitAll(files)
}

// abort stops every writer and removes every uncommitted output (a
// committed one stays).
func (ws *writers) abort() {
	for _, w := range ws.out {
		if w == nil {
			continue
		}
		w.closeQueue()
		<-w.done
		w.f.Abort()
	}
}

// SplitMeguri cuts a .meguri stream along the manifest's ranges into one
// .meguri per partition that holds rows, named by OutputName with
// ".meguri". Each output carries its partition's id and range.
func SplitMeguri(name string, r io.Reader, opt SplitOptions) (*SplitResult, error) {
	if err := opt.Manifest.MustTile(); err != nil {
		return nil, err
	}
	parts := opt.Manifest.Parts
	paths := make([]string, len(parts))
	for i := range parts {
		paths[i] = filepath.Join(opt.OutDir, OutputName(&parts[i], ".meguri"))
		if _, err := os.Lstat(paths[i]); err == nil && !opt.Replace {
			return nil, fmt.Errorf("%s exists: a split of a .meguri stream writes each partition's part under the map's file name, which the fleet's own files carry, and would replace it; give an --out-dir without them (or --replace, to replace an earlier split's outputs)", paths[i])
		}
	}
	cr, err := codec.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := sameGrouping(name, canon.Grouping(cr.Header().Grouping), opt.Grouping); err != nil {
		return nil, err
	}
	outs := make([]merge.Output, len(parts))
	for i, p := range parts {
		outs[i] = merge.Output{ID: p.ID, Lo: p.Lo, Hi: p.Hi}
	}
	mres, err := merge.RunFiles([]merge.Source{&merge.StreamSource{Label: name, R: cr}},
		merge.Options{Outputs: outs}, paths, nil)
	if err != nil {
		return nil, err
	}
	res := &SplitResult{}
	for i, o := range mres.Outputs {
		res.Partitions = append(res.Partitions, PartCount{PartitionID: o.ID, File: paths[i], Records: int64(o.Stats.URLs)})
		res.Routed += int64(o.Stats.URLs)
	}
	res.Lines, res.Records = res.Routed, true
	return res, nil
}

// lockOutDir keeps other splits out of dir until unlock: two at once
// would replace each other's outputs, and the one that commits last would
// leave only its own lines (GNU parallel starting a split per shard into
// one --out-dir kept one shard's). The lock is on the directory itself,
// so nothing is left in it.
func lockOutDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	// A file system that cannot lock a directory (some NFS setups refuse
	// a lock on a read-only descriptor) only loses the guard, not the
	// split.
	if held, err := flock.TryLock(d); err == nil && !held {
		d.Close()
		return nil, fmt.Errorf("another meguri-route split is writing into %s, and the outputs of the two would replace each other: give each split its own --out-dir (parallel ... --out-dir split/{/.} {})", dir)
	}
	return func() { d.Close() }, nil
}

// ErrMixed is returned when a split is given .meguri and CDX inputs
// together, or several .meguri inputs.
var ErrMixed = errors.New("split takes CDX inputs, or exactly one .meguri input")

// Split sniffs the inputs and runs SplitCDX or SplitMeguri.
func Split(inputs []string, opt SplitOptions) (*SplitResult, error) {
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	if err := distinctStems(opt.Manifest.Parts); err != nil {
		return nil, err
	}
	unlock, err := lockOutDir(opt.OutDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var megs []string
	for _, in := range inputs {
		ok, err := sniffMeguri(in)
		if err != nil {
			return nil, err
		}
		if ok {
			megs = append(megs, in)
		}
	}
	if len(megs) == 0 {
		return SplitCDX(inputs, opt)
	}
	if len(inputs) > 1 {
		return nil, ErrMixed
	}
	if inputs[0] == "-" {
		return SplitMeguri("<stdin>", input.Stdin(), opt)
	}
	f, err := input.OpenRaw(inputs[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return SplitMeguri(inputs[0], bufio.NewReaderSize(f, 1<<20), opt)
}

// sameGrouping refuses a .meguri input whose host keys were made with
// another grouping than the one asked for: its keys would not be the keys
// the manifest is for, and nothing downstream could tell.
func sameGrouping(name string, file, want canon.Grouping) error {
	if file != want {
		return fmt.Errorf("%s keys hosts by %s grouping, not %s (--grouping %s); the manifest's ranges and the file's keys must agree", name, file, want, file)
	}
	return nil
}

// sniffMeguri reports whether an input starts like a .meguri file. It is
// the first look the tools take at their inputs, so it is where a missing
// one is refused.
func sniffMeguri(name string) (bool, error) {
	head, err := input.Peek(name, 8)
	if err != nil {
		return false, err
	}
	return input.IsMeguri(head), nil
}
