// Package ingest turns CDX inputs into one sorted, folded .meguri stream:
// lines are parsed in parallel, captures sorted within a memory budget
// (spilling sorted runs to disk), then every URL's captures are folded into
// its record and written.
//
//	sum, err := ingest.Run([]string{"cdx-00000.gz"}, out, ingest.Options{
//		Lo: 0, Hi: ^uint64(0), Mem: 1 << 30, // every host key; a 1 GiB budget
//	})
package ingest

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/extsort"
	"github.com/meguri/meguri/lib/internal/memlimit"
)

// MaxLineLimit is the largest MaxLine. A line holds its URL and redirect,
// which grow at most fourfold once canonical (percent-encoding triples a
// byte; IDNA's "xn--" and punycode, a little more for a one-letter
// label), and a .meguri row holds at most codec.MaxRowBytes of them: no
// line taken (nor committed to a live partition's log) is one no file can
// hold.
const MaxLineLimit = codec.MaxRowBytes / 4

// Options configure a run.
type Options struct {
	PartitionID uint64
	Lo, Hi      uint64 // inclusive host-key range; records outside are rejected
	Grouping    canon.Grouping
	MaxLine     int    // longest line taken, in bytes (default 1 MiB)
	Mem         int64  // working-set budget in bytes (default 1 GiB)
	TmpDir      string // where sorted runs spill
	Strict      bool   // stop at the first reject (a CDX legend line aside)
	Rejects     io.Writer
	Workers     int
	// Progress, when set, is called now and then with the lines and input
	// bytes read so far, and the bytes read from the inputs as stored
	// (see cdx.Batch.Raw).
	Progress func(lines, bytes, raw int64)
	// Writing, when set, is called after the reading as the captures are
	// sorted and written (see extsort.Sorter.Progress).
	Writing func(stage string, done, total int64)
	// Fingerprint, when set, is called with each input read to its end
	// (see cdx.PipelineConfig).
	Fingerprint func(name string, hash uint64, size int64)
	// Skip, when set, gives the bytes at the start of an input that are
	// read but not taken (see cdx.PipelineConfig).
	Skip func(name string) int64
	// Future, when above 0, is a time (Unix seconds) after which a
	// capture is counted in Summary.Future: a crawler's clock run ahead.
	// Such a capture is taken all the same, so the bytes do not depend on
	// the day a run is made.
	Future int64
	// Layout is the fields of space-separated lines and Wayback JSON rows
	// that come without a legend (cdx.PipelineConfig.Layout).
	Layout string
}

// Summary accounts for every input line.
type Summary struct {
	Lines      int64 // non-blank lines read
	Blank      int64
	Taken      int64 // captures + discovered
	Captures   int64
	Discovered int64
	Rejected   cdx.Counts
	Spills     int
	Stats      codec.Stats
	Bytes      int64 // output size
	// FirstReject is the first rejected line (its first 100 bytes), for a
	// hint when no line at all was taken.
	FirstReject Rejected
	// ResumeKey is the last Wayback CDX server resume key read (see
	// cdx.IsResumeKey): where the next page of the query starts.
	ResumeKey string
	// Future counts the captures dated after Options.Future: each wins
	// every later fold of its URL until a capture newer still.
	// FirstFuture is where the first of them was read (its Source and
	// Line), NewestFuture the latest time among them.
	Future       int64
	FirstFuture  Rejected
	NewestFuture int64
	// Cut counts the inputs that end inside a line, with no newline
	// (cdx.Batch.Unterminated): a stream cut short ends so.
	Cut input.Cut
}

// Rejected is a rejected line, as a summary names it.
type Rejected struct {
	Source string
	Line   int64
	Reason cdx.Reason
	Text   string
}

// StrictError is returned in strict mode for the first rejected line.
type StrictError struct {
	Source string
	Line   int64
	Reason cdx.Reason
}

func (e *StrictError) Error() string {
	return fmt.Sprintf("%s:%d: rejected (%s)", e.Source, e.Line, e.Reason)
}

type reject struct {
	line   int64
	reason cdx.Reason
	text   []byte
}

type parsed struct {
	batch      extsort.Batch
	rejects    []reject
	blank      int64
	captures   int64
	discovered int64
	// captures dated after Options.Future: how many, the first's line,
	// the newest time
	future       int64
	firstFuture  int64
	newestFuture int64
}

// batchSize is the bytes of lines handed to a parse worker at once: 1 MiB,
// or less under a small budget so that runs can spill at a fine grain,
// and so that the batches in flight hold at most an eighth of the budget
// however many cores parse them.
func batchSize(mem int64, workers int) int {
	return int(max(4<<10, min(1<<20, mem/64, int64(cdx.PipelineConfig{Workers: workers}.BatchBytesWithin(mem/8)))))
}

func (opt *Options) defaults() {
	if opt.MaxLine <= 0 {
		opt.MaxLine = 1 << 20
	}
	if opt.Mem <= 0 {
		opt.Mem = 1 << 30
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
}

// Run ingests the inputs ("-" or an empty list for stdin) and writes the
// .meguri stream to out.
func Run(inputs []string, out io.Writer, opt Options) (sum Summary, err error) {
	opt.defaults()
	// The sort arena is long-lived and large; collecting at 50% growth
	// instead of 100% keeps the peak resident size near the live data.
	oldGC := debug.SetGCPercent(50)
	defer debug.SetGCPercent(oldGC)
	sorter := extsort.ForMem(opt.Mem, opt.TmpDir)
	// Let the garbage collector work harder near the budget rather than
	// let the heap grow past it; but not below what a run holds live at
	// the least (the sorter's arena and the blocks being encoded: at
	// least one, about 64 MiB, whatever the budget; the batches in
	// flight, an eighth of it), where it would collect without end.
	// Under --mem 32M the heap grew to 1.5 times that floor, and under
	// 64M it collected 200 times.
	defer memlimit.SetSoft(max(opt.Mem, sorter.Holds()+opt.Mem/8+32<<20))()
	sorter.Progress = opt.Writing
	// A run that fails before the sorted captures are read back (a
	// --strict reject, bad input, a full disk) removes its spilled runs
	// here; otherwise WriteMeguri has already done it.
	defer sorter.Discard()
	if sum, err = Parse(inputs, opt, sorter.AddBatch); err != nil {
		return sum, err
	}
	sum.Spills = sorter.Spills()
	h := codec.Header{PartitionID: opt.PartitionID, Lo: opt.Lo, Hi: opt.Hi, Grouping: uint8(opt.Grouping)}
	if sum.Stats, sum.Bytes, err = sorter.WriteMeguri(out, h); err != nil {
		return sum, err
	}
	if uint64(sum.Captures) != sum.Stats.Captures {
		return sum, fmt.Errorf("internal error: %d captures taken but %d written", sum.Captures, sum.Stats.Captures)
	}
	return sum, nil
}

// Parse reads the inputs ("-" or an empty list for stdin), accounts for
// every line in the summary, writes rejects, and hands each batch of taken
// captures to add, in input order. Run adds them to a sorter; the log store
// appends them to a partition's log.
func Parse(inputs []string, opt Options, add func(*extsort.Batch) error) (sum Summary, err error) {
	opt.defaults()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	parser := cdx.Parser{Grouping: opt.Grouping, RangeLo: opt.Lo, RangeHi: opt.Hi}

	var rejw *bufio.Writer
	if opt.Rejects != nil {
		rejw = bufio.NewWriter(opt.Rejects)
	}
	var lines, inBytes int64
	parsers := parser.Workers(opt.Workers)
	scratch := make([][]byte, len(parsers)) // each worker's batch buffer
	work := func(worker int, b *cdx.Batch) {
		b.Result = parseBatch(parsers[worker], b, &scratch[worker], opt.Future)
	}
	collect := func(b *cdx.Batch) error {
		p := b.Result.(*parsed)
		b.Result = nil
		sum.Blank += p.blank
		sum.Captures += p.captures
		sum.Discovered += p.discovered
		if p.future > 0 {
			if sum.Future == 0 {
				sum.FirstFuture = Rejected{Source: b.Source, Line: p.firstFuture}
			}
			sum.Future += p.future
			sum.NewestFuture = max(sum.NewestFuture, p.newestFuture)
		}
		if b.Unterminated {
			sum.Cut.Add(b.Source, b.Nums[len(b.Nums)-1])
		}
		lines += int64(len(b.Ends))
		inBytes += b.Bytes
		for _, r := range p.rejects {
			if r.reason == cdx.FoldedRecord {
				return &cdx.FoldedError{Source: b.Source, Line: r.line}
			}
			if sum.FirstReject.Line == 0 { // lines count from 1
				sum.FirstReject = Rejected{Source: b.Source, Line: r.line, Reason: r.reason, Text: string(r.text[:min(len(r.text), 100)])}
			}
			sum.Rejected[r.reason]++
			if rejw != nil {
				cdx.WriteReject(rejw, b.Source, r.line, r.reason, r.text)
			}
			if r.reason == cdx.ResumeKey {
				if k := cdx.ResumeKeyOf(r.text); k != "" {
					sum.ResumeKey = k
				}
				continue // no bad record
			}
			if opt.Strict && r.reason != cdx.Legend { // a legend line is no bad record
				return &StrictError{Source: b.Source, Line: r.line, Reason: r.reason}
			}
		}
		if err := add(&p.batch); err != nil {
			return err
		}
		if opt.Progress != nil {
			opt.Progress(lines, inBytes, b.Raw)
		}
		return nil
	}
	err = cdx.Pipeline(inputs, cdx.PipelineConfig{MaxLine: opt.MaxLine, BatchBytes: batchSize(opt.Mem, opt.Workers), Workers: opt.Workers,
		Fingerprint: opt.Fingerprint, Skip: opt.Skip, Layout: opt.Layout}, work, collect)
	sum.Lines = lines - sum.Blank
	sum.Taken = sum.Captures + sum.Discovered
	if rejw != nil {
		if ferr := rejw.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("writing rejects: %w", ferr)
		}
	}
	return sum, err
}

// parseBatch parses a batch's lines, counting the captures dated after
// future (when above 0).
func parseBatch(p *cdx.Parser, b *cdx.Batch, scratch *[]byte, future int64) *parsed {
	res := &parsed{batch: extsort.NewBatchIn(*scratch, len(b.Ends))}
	for i := range b.Ends {
		c, reason, blank := p.ParseLine(b, i)
		switch {
		case blank:
			res.blank++
			continue
		case reason != cdx.OK:
			res.rejects = append(res.rejects, reject{line: b.Nums[i], reason: reason, text: b.Line(i)})
			continue
		case c.Discovered:
			res.discovered++
		default:
			res.captures++
			if future > 0 && c.Time > future {
				if res.future == 0 {
					res.firstFuture = b.Nums[i]
				}
				res.future++
				res.newestFuture = max(res.newestFuture, c.Time)
			}
		}
		res.batch.Add(&c)
	}
	*scratch = res.batch.Detach()
	return res
}
