package inspect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/record"
)

// BatchOptions configures LookupLines.
type BatchOptions struct {
	// Absent prints the input lines whose URL the file lacks, verbatim,
	// instead of the records of the present ones.
	Absent bool
	// Chunk is how many lines are looked up together (default 1<<18): the
	// blocks they need are read once per chunk, in file order. A chunk
	// also ends once the lines it holds come to ChunkBytes.
	Chunk int
	// ChunkBytes bounds the bytes of the lines a chunk holds until it is
	// written (default 128 MiB): long lines make shorter chunks.
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
}

// BatchCounts counts a LookupLines run's lines (blank lines aside):
// Lines = Present + Absent + Skipped. Outside counts the absent URLs
// whose host key lies outside the file's range: another partition owns
// them (a fleet owns every key, so it has none).
type BatchCounts struct {
	Lines, Present, Absent, Skipped, Outside int
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
	if opt.Chunk <= 0 {
		opt.Chunk = 1 << 18
	}
	if opt.ChunkBytes <= 0 {
		opt.ChunkBytes = 128 << 20
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = 1 << 20
	}
	br := bufio.NewReaderSize(r, 1<<16)
	bw := bufio.NewWriterSize(w, 1<<20)
	qs := make([]query, 0, min(opt.Chunk, 1<<12))
	eof, lineNo := false, 0
	for !eof {
		qs = qs[:0]
		// what the chunk holds until it is written: each line's URL,
		// and its text for --absent or otherwise its record's line (not
		// known until found: counted as the URL and 256 bytes of fields)
		held := 0
		for len(qs) < opt.Chunk && held < opt.ChunkBytes {
			line, err := readLine(br, opt.MaxLine)
			if err == io.EOF {
				eof = true
				break
			}
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
			var u string
			if err == nil {
				u, err = lineURL(line)
			}
			if err != nil {
				n.Skipped++
				if opt.Skip != nil {
					opt.Skip(lineNo, line, err)
				}
				continue
			}
			q := query{url: u, keys: canon.KeysOf(u, g)}
			if opt.Absent {
				q.text = line
				held += len(u) + len(line)
			} else {
				held += 2*len(u) + 256
			}
			qs = append(qs, q)
		}
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
	}
	return n, bw.Flush()
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
	cur := -1
	var recs []record.Record
	for _, i := range order {
		q := &qs[i]
		bi := s.File.BlockOf(q.keys.Host, q.url)
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
