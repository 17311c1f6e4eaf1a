package inspect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/record"
)

// BatchOptions configures LookupLines.
type BatchOptions struct {
	// Absent prints the input lines whose URL the file lacks, verbatim,
	// instead of the records of the present ones.
	Absent bool
	// Chunk is how many lines are looked up together: the blocks they
	// need are read once per chunk, in file order. A chunk also ends once
	// the lines it holds come to ChunkBytes, so long lines make shorter
	// chunks. Each left 0 is ChunkFor(LookupMem)'s: 262,144 lines, 128 MiB.
	Chunk      int
	ChunkBytes int
	// MaxLine is the longest line taken (default 1 MiB); longer lines are
	// reported and skipped.
	MaxLine int
	// Layout is how found records print (the zero Layout: every field as
	// JSON, as --rows prints them); unused with Absent.
	Layout record.Layout
	// Filter chooses which of the found records print (the zero Filter:
	// all of them); a found record it leaves out still counts as present.
	// Unused with Absent.
	Filter record.Filter
	// Skip is told about each line that is not an http(s) URL (or is too
	// long), with its 1-based line number; it is skipped.
	Skip func(line int, text []byte, err error)
	// Progress, when set, is told how many lines were read so far, every
	// 4,096 lines.
	Progress func(lines int)
	// LookingUp, when set, is told before each chunk is looked up: the
	// numbers of its first and last lines and how many URLs it holds.
	// Against a large fleet a chunk's lookup takes a while, and reading
	// has stopped meanwhile.
	LookingUp func(first, last, urls int)
}

// LookupMem is the working set of a batch lookup by default.
const LookupMem = 512 << 20

// ChunkFor returns the Chunk and ChunkBytes of a lookup whose working
// set is about mem bytes: 262,144 lines and 128 MiB for LookupMem, in
// proportion for other budgets (at least 64 lines). A chunk's lines,
// their URLs and the records they print, held until the chunk is
// written, come to about a quarter of what the process then holds.
func ChunkFor(mem int64) (lines, bytes int) {
	return int(max(64, (1<<18)*mem/LookupMem)), int(max(64<<10, mem/4))
}

// BatchCounts counts a LookupLines run's lines (blank lines aside):
// Lines = Present + Absent + Skipped. Outside counts the absent URLs
// whose host key lies outside the file's range: another partition owns
// them (a fleet owns every key, so it has none).
type BatchCounts struct {
	Lines, Present, Absent, Skipped, Outside int
	// Unterminated is the number of the list's last line when the list
	// ends inside it, with no line end, and it is no whole JSON object (a
	// list cut short, whose last URL may be cut too: --absent would print
	// it as a new link); 0 otherwise.
	Unterminated int
}

// lastByte passes reads through, keeping the last byte read.
type lastByte struct {
	r io.Reader
	b byte
}

func (l *lastByte) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		l.b = p[n-1]
	}
	return n, err
}

// query is one URL line of a batch.
type query struct {
	text  []byte // the line, kept only when --absent prints it
	url   string
	keys  canon.Keys
	line  []byte // the record as the layout prints it, when found (not with --absent)
	found bool
}

// ErrLongLine is the error LookupLines gives Skip for a line over MaxLine.
var ErrLongLine = errors.New("line too long")

// ErrColumns is the error LookupLines gives Skip for a line with a tab in
// it: tab-separated columns, not one URL, which --absent would otherwise
// print as new.
var ErrColumns = canon.ErrColumns

// ErrNoURLField is the error LookupLines gives Skip for a JSON line that
// is no object with a "url" string.
var ErrNoURLField = canon.ErrNoURLField

// LookupLines reads URLs from r, one per line (blank lines aside), and
// writes to w, in input order, the record of each URL the file holds as a
// line in opt.Layout (a JSON line, as --rows prints it, by default), or
// with opt.Absent the lines whose URL it does not hold. Each URL is
// canonicalized and keyed as ingest does. A line that starts with "{" is
// read as a JSON object for its "url" field, as ingest reads a discovered
// link or a CDX record's line; --absent prints such lines whole.
// It needs a file (random access): each chunk of lines is sorted by key
// and every block that can hold one of them is read and decoded once.
func (s *Source) LookupLines(r io.Reader, w io.Writer, opt BatchOptions) (BatchCounts, error) {
	if s.File == nil {
		return BatchCounts{}, fmt.Errorf("a batch lookup needs a .meguri file it can seek in, not a pipe")
	}
	h := &s.File.Header
	return lookupLines(r, w, opt, canon.Grouping(h.Grouping), h.Lo, h.Hi, func(qs []query) error {
		return s.find(qs, sortedKeys(qs), opt.printed())
	})
}

// lookupLines is LookupLines over the URLs keyed under grouping g in a
// source that owns the host keys lo..hi, with find looking up each chunk's
// queries.
func lookupLines(r io.Reader, w io.Writer, opt BatchOptions, g canon.Grouping, lo, hi uint64, find func([]query) error) (BatchCounts, error) {
	var n BatchCounts
	chunk, chunkBytes := ChunkFor(LookupMem)
	if opt.Chunk <= 0 {
		opt.Chunk = chunk
	}
	if opt.ChunkBytes <= 0 {
		opt.ChunkBytes = chunkBytes
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = 1 << 20
	}
	end := &lastByte{r: r, b: '\n'}
	br := bufio.NewReaderSize(end, 1<<16)
	bw := bufio.NewWriterSize(w, 1<<20)
	var lines []listLine
	var qs []query
	eof, lineNo := false, 0
	lastOpen := false // the last line read would look cut, ended so (input.LooksCut)
	for !eof {
		lines = lines[:0]
		// what the chunk holds: each line's text while it is parsed and
		// its URL, then for --absent the text again, otherwise the
		// record's line (not known until found: counted as 256 bytes)
		held := 0
		for len(lines) < opt.Chunk && held < opt.ChunkBytes {
			line, err := readLine(br, opt.MaxLine)
			if err == io.EOF {
				eof = true
				if lastOpen && end.b != '\n' {
					n.Unterminated = lineNo
				}
				break
			}
			lastOpen = input.LooksCut(line)
			lineNo++
			if err != nil && err != ErrLongLine {
				return n, err
			}
			if opt.Progress != nil && lineNo%4096 == 0 {
				opt.Progress(lineNo)
			}
			if err == nil && len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			n.Lines++
			lines = append(lines, listLine{text: line, no: lineNo, err: err})
			if opt.Absent {
				held += 2 * len(line)
			} else {
				held += len(line) + 256
			}
		}
		qs = parseLines(lines, qs, g, opt.Absent)
		k := 0
		for i := range lines {
			if l := &lines[i]; l.err != nil {
				n.Skipped++
				if opt.Skip != nil {
					opt.Skip(l.no, l.text, l.err)
				}
				continue
			}
			qs[k] = qs[i]
			k++
		}
		qs = qs[:k]
		if len(qs) > 0 && opt.LookingUp != nil {
			opt.LookingUp(lines[0].no, lines[len(lines)-1].no, len(qs))
		}
		clear(lines) // the texts: a query keeps its own for --absent
		if len(qs) == 0 {
			continue
		}
		if err := find(qs); err != nil {
			return n, err
		}
		for i := range qs {
			q := &qs[i]
			if q.found {
				n.Present++
			} else {
				n.Absent++
				if q.keys.Host < lo || q.keys.Host > hi {
					n.Outside++
				}
			}
			if q.found == opt.Absent {
				continue
			}
			out := q.line
			if opt.Absent {
				out = append(q.text, '\n')
			}
			if _, err := bw.Write(out); err != nil {
				return n, err
			}
		}
		// written: the next chunk's lines need not wait beside these
		// records for the collector
		clear(qs[:cap(qs)])
	}
	return n, bw.Flush()
}

// minShare is the fewest lines a core is given to parse, or queries to
// look up: below it, handing work out costs more than it saves. (A
// variable, so that tests can share out a few lines.)
var minShare = 4096

// sharesOf is how many cores n lines or queries are shared out among:
// one per core, each given minShare at least.
func sharesOf(n int) int {
	return min(runtime.GOMAXPROCS(0), (n+minShare-1)/minShare)
}

// listLine is a line of a URL list as read: its text, its number, and
// why it is skipped (too long, or no http(s) URL).
type listLine struct {
	text []byte
	no   int
	err  error
}

// parseLines returns the query of each line (its URL canonicalized and
// keyed under g; with absent its text), in qs's storage, setting the err
// of the lines that hold none. Chunks of lines are parsed on all cores: a
// JSON line's URL and its canonical form cost more than the lookup.
func parseLines(lines []listLine, qs []query, g canon.Grouping, absent bool) []query {
	qs = slices.Grow(qs[:0], len(lines))[:len(lines)]
	parse := func(from, to int) {
		for i := from; i < to; i++ {
			l := &lines[i]
			qs[i] = query{}
			if l.err != nil {
				continue
			}
			u, err := lineURL(l.text)
			if err != nil {
				l.err = err
				continue
			}
			qs[i] = query{url: u, keys: canon.KeysOf(u, g)}
			if absent {
				qs[i].text = l.text
			}
		}
	}
	workers := sharesOf(len(lines))
	if workers <= 1 {
		parse(0, len(lines))
		return qs
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { parse(w*len(lines)/workers, (w+1)*len(lines)/workers) })
	}
	wg.Wait()
	return qs
}

// sortedKeys returns the indexes of qs in key order.
func sortedKeys(qs []query) []int {
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return record.CompareKey(qs[a].keys.Host, qs[a].url, qs[b].keys.Host, qs[b].url)
	})
	return order
}

// printed returns how found records print, or nil with Absent, which
// prints none.
func (opt *BatchOptions) printed() *printing {
	if opt.Absent {
		return nil
	}
	return &printing{&opt.Layout, &opt.Filter}
}

// printing is how find prints the records it finds.
type printing struct {
	l *record.Layout
	f *record.Filter
}

// find looks up the queries qs[i] for i in order (in key order), reading
// each block that can hold one of them once. A found record that p keeps
// is kept as its printed line, not as a record, which would hold its whole
// decoded block in memory until the chunk is written; with p nil, found
// records are only marked.
func (s *Source) find(qs []query, order []int, p *printing) error {
	// Each block's queries are a run of order: runs go to the cores in
	// shares of about equal queries, each decoding its own blocks.
	blocks := make([]int, len(order))
	for k, i := range order {
		blocks[k] = s.File.BlockOf(qs[i].keys.Host, qs[i].url)
	}
	workers := sharesOf(len(order))
	if workers <= 1 {
		return s.findIn(qs, order, blocks, p)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	from := 0
	for w := range workers {
		to := (w + 1) * len(order) / workers
		for to < len(order) && to > 0 && blocks[to] == blocks[to-1] {
			to++ // a block's queries stay together
		}
		lo, hi := from, max(to, from)
		wg.Go(func() { errs[w] = s.findIn(qs, order[lo:hi], blocks[lo:hi], p) })
		from = hi
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err // the first block's
		}
	}
	return nil
}

// findIn is find over the queries qs[order[k]] that block blocks[k] can
// hold (-1: none).
func (s *Source) findIn(qs []query, order, blocks []int, p *printing) error {
	cur := -1
	var recs []record.Record
	for k, i := range order {
		q, bi := &qs[i], blocks[k]
		if bi < 0 {
			continue
		}
		if bi != cur {
			b, err := s.File.ReadBlock(bi)
			if err != nil {
				return err
			}
			if recs, err = b.Decode(); err != nil {
				return err
			}
			cur = bi
		}
		if j, ok := codec.RowOf(recs, q.keys.Host, q.url); ok {
			q.found = true
			if p == nil || !p.f.Match(&recs[j]) {
				continue
			}
			var err error
			if q.line, err = p.l.AppendLine(nil, &recs[j], q.keys.Path); err != nil {
				return err
			}
		}
	}
	return nil
}

// readLine returns the next line without its line end ("\n" or "\r\n"),
// io.EOF after the last one, or ErrLongLine (with the line's first max
// bytes) for a line longer than max, whose rest it reads past.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	total := 0
	for {
		chunk, err := br.ReadSlice('\n')
		total += len(chunk)
		if room := max + 2 - len(line); room > 0 {
			line = append(line, chunk[:min(room, len(chunk))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && (err != io.EOF || total == 0) {
			return nil, err
		}
		break
	}
	long := total > len(line)
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if long || len(line) > max {
		return line[:min(len(line), max)], ErrLongLine
	}
	return line, nil
}

// lineURL returns the canonical URL of a line of a URL list: the line
// itself, or the "url" field of a JSON object line.
func lineURL(line []byte) (string, error) {
	u, err := canon.ListURL(line)
	if err != nil {
		return "", err
	}
	return canon.Canonicalize(u)
}
