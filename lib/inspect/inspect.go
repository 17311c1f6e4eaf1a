// Package inspect reads .meguri files for people and programs: summaries
// from a file's two ends, full verification, row dumps (every record, or
// those a record.Filter keeps), and lookups of one URL, one host group or
// a list of URLs that read only the blocks they need. A Fleet does the
// same over the files a manifest lists, as if they were one file, and
// OpenDir over a live partition directory, packed as it is read.
//
//	src, err := inspect.Open("part-3.meguri") // or "-" for stdin
//	...
//	defer src.Close()
//	sum, err := src.Verify()                  // every checksum, every page
//	rec, pathKey, err := src.Lookup("https://example.com/")
//	n, err := src.LookupLines(urls, os.Stdout, inspect.BatchOptions{Absent: true})
//	err = src.Rows(os.Stdout, nil, &record.Filter{Statuses: 1 << record.Gone})
package inspect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/internal/tempfiles"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

// Summary is what a file says about itself in its header and trailer.
type Summary struct {
	Name   string
	Header codec.Header
	Stats  codec.Stats
	Bytes  int64
	// Columns holds stored bytes per column; filled only by a full read.
	Columns    [codec.NumColumns + 1]int64
	RawColumns [codec.NumColumns + 1]int64
	// Live is set when Fleet.Verify checked a partition directory (its
	// snapshot and log, the view closed): Stats are then its snapshot's.
	Live *logstore.View
}

// Source is an opened input: a seekable file, or a stream (stdin).
type Source struct {
	Name string
	File *codec.File // nil for a stream
	// Progress, when set, is told after each block Verify checks: the
	// blocks and rows checked so far.
	Progress func(blocks int, rows uint64)
	r        io.Reader
	f        *os.File
	hdr      *codec.Header // a stream's header, once read
	c        io.Closer     // what Close does instead, for a packed directory
}

// Open opens path, or stdin for "-".
func Open(path string) (*Source, error) {
	if path == "-" {
		return &Source{Name: "<stdin>", r: bufio.NewReaderSize(os.Stdin, 1<<20)}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, dirs.CannotRead(path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, dirs.NotA(path, ".meguri file")
	}
	if !fi.Mode().IsRegular() {
		return &Source{Name: path, r: bufio.NewReaderSize(f, 1<<20), f: f}, nil
	}
	cf, err := codec.OpenFile(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Source{Name: path, File: cf, f: f}, nil
}

// OpenDir reads a partition directory's records as meguri-pack writes
// them (the snapshot with the committed log folded in), packed under
// pack's default budget. Unless seekable, the pack streams into the
// source through a pipe as it is read, and Close stops it; seekable, the
// directory is packed first into a temporary file in the system's temp
// directory, which Close removes (for a batch lookup, which seeks).
func OpenDir(dir string, seekable bool) (*Source, error) {
	v, err := logstore.Open(dir)
	if err != nil {
		return nil, err
	}
	return openView(v, seekable)
}

// openView is OpenDir of a view already taken; the source owns v.
func openView(v *logstore.View, seekable bool) (*Source, error) {
	dir := v.Dir
	if seekable {
		defer v.Close()
		// The temporary file is not where the user asked anything to
		// be written: a failure there says where it is.
		where := func(err error) error {
			return fmt.Errorf("%s: a batch lookup packs a live partition into a temporary file in %s first: %w (set TMPDIR to a directory with room)", dir, os.TempDir(), err)
		}
		f, err := tempfiles.Create("", "meguri-packed-*")
		if err != nil {
			return nil, where(err)
		}
		if _, err := v.Pack(f, logstore.PackOptions{}); err != nil {
			f.Close()
			tempfiles.Remove(f.Name())
			if errors.Is(err, syscall.ENOSPC) {
				return nil, where(err)
			}
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		src, err := Open(f.Name())
		f.Close()
		if err != nil {
			tempfiles.Remove(f.Name())
			return nil, err
		}
		src.Name = dir
		src.c = closer(func() error {
			err := src.f.Close()
			tempfiles.Remove(f.Name())
			return err
		})
		return src, nil
	}
	ps := v.PackStream()
	return &Source{Name: dir, r: bufio.NewReaderSize(ps, 1<<20), c: closer(func() error {
		ps.Close()
		return v.Close()
	})}, nil
}

// borrow returns a source over the same file whose Close leaves it open:
// the fleet's packed directories are read by several lookups.
func (s *Source) borrow() *Source {
	b := *s
	b.Progress = nil
	b.c = closer(func() error { return nil })
	return &b
}

type closer func() error

func (c closer) Close() error { return c() }

// Close closes the underlying file.
func (s *Source) Close() error {
	if s.c != nil {
		return s.c.Close()
	}
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

// Blocks calls fn with every block in order, verifying checksums; on a
// stream it also checks the footer and trailer at the end.
func (s *Source) Blocks(fn func(h codec.Header, b *codec.Block) error) (codec.Header, codec.Stats, int64, error) {
	if s.File != nil {
		for i := range s.File.Blocks {
			b, err := s.File.ReadBlock(i)
			if err != nil {
				return s.File.Header, s.File.Stats, 0, err
			}
			if err := fn(s.File.Header, b); err != nil {
				return s.File.Header, s.File.Stats, 0, err
			}
		}
		return s.File.Header, s.File.Stats, s.File.Size(), nil
	}
	r, err := codec.NewReader(s.r)
	if err != nil {
		return codec.Header{}, codec.Stats{}, 0, err
	}
	h := r.Header()
	s.hdr = &h
	for {
		b, err := r.NextBlock()
		if err == io.EOF {
			return r.Header(), r.Stats(), r.Offset(), nil
		}
		if err != nil {
			return r.Header(), codec.Stats{}, 0, err
		}
		if err := fn(r.Header(), b); err != nil {
			return r.Header(), codec.Stats{}, 0, err
		}
	}
}

// Summarize reads the summary: from the two ends of a file, or by reading a
// stream through.
func (s *Source) Summarize() (Summary, error) {
	if s.File != nil {
		return Summary{Name: s.Name, Header: s.File.Header, Stats: s.File.Stats, Bytes: s.File.Size()}, nil
	}
	sum := Summary{Name: s.Name}
	h, st, n, err := s.Blocks(func(codec.Header, *codec.Block) error { return nil })
	sum.Header, sum.Stats, sum.Bytes = h, st, n
	return sum, err
}

// Verify decodes every block and checks every checksum, the row order
// across blocks and the header's range. It returns the summary with the
// per-column sizes filled in.
func (s *Source) Verify() (Summary, error) {
	sum := Summary{Name: s.Name}
	var rows uint64
	var order codec.Order
	h, st, n, err := s.Blocks(func(h codec.Header, b *codec.Block) error {
		recs, err := b.Decode()
		if err != nil {
			return err
		}
		if err := order.Check(h, b, recs); err != nil {
			return err
		}
		st, raw := b.PageSizes()
		for id := range st {
			sum.Columns[id] += st[id]
			sum.RawColumns[id] += raw[id]
		}
		rows += uint64(len(recs))
		if s.Progress != nil {
			s.Progress(b.Index+1, rows)
		}
		return nil
	})
	sum.Header, sum.Stats, sum.Bytes = h, st, n
	return sum, err
}

// Rows writes every record that f keeps (nil: every record) as a line in
// layout l (nil: every field as JSON). A block whose zone data rules out
// every match is not decoded.
func (s *Source) Rows(w io.Writer, l *record.Layout, f *record.Filter) error {
	rw := newRowWriter(w, l, f)
	return rw.flush(s.rows(rw))
}

// rows writes the records of s that rw's filter keeps through rw, which a
// fleet's partitions share: a buffer of its own for each of 30,000 files
// was 30 GB to allocate and clear.
func (s *Source) rows(rw *rowWriter) error {
	_, _, _, err := s.Blocks(func(h codec.Header, b *codec.Block) error {
		if !rw.f.MayMatch(uint64(b.Info.Rows), b.Info.Captures, b.Info.Gone) {
			return nil
		}
		recs, err := b.Decode()
		if err != nil {
			return err
		}
		rw.keys.Grouping = canon.Grouping(h.Grouping)
		for i := range recs {
			if err := rw.write(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// rowWriter prints the records a filter keeps in a layout, buffered.
type rowWriter struct {
	bw       *bufio.Writer
	l        *record.Layout
	f        *record.Filter
	needPath bool // the layout prints path keys
	buf      []byte
	n        int // records written
	seen     int // records given, written or not
	// keys computes path keys under the file's grouping, which the caller
	// sets
	keys canon.Keyer
}

func newRowWriter(w io.Writer, l *record.Layout, f *record.Filter) *rowWriter {
	if l == nil {
		l = &record.Layout{}
	}
	if f == nil {
		f = &record.Filter{}
	}
	return &rowWriter{bw: bufio.NewWriterSize(w, 1<<20), l: l, f: f, needPath: l.NeedsPathKey()}
}

// write prints r when the filter keeps it, computing its path key only
// when the layout prints it.
func (rw *rowWriter) write(r *record.Record) error {
	rw.seen++
	if !rw.f.Match(r) {
		return nil
	}
	var path uint64
	if rw.needPath {
		path = rw.keys.Keys(r.URL).Path
	}
	var err error
	if rw.buf, err = rw.l.AppendLine(rw.buf[:0], r, path); err != nil {
		return err
	}
	rw.n++
	_, err = rw.bw.Write(rw.buf)
	return err
}

// flush writes out what is buffered, and returns err, or the flush's
// error when err is nil.
func (rw *rowWriter) flush(err error) error {
	if ferr := rw.bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// Lookup finds one URL (canonicalized first). On a file it reads only the
// block that can hold it.
func (s *Source) Lookup(rawURL string) (*record.Record, uint64, error) {
	r, path, _, err := s.lookup(rawURL, false)
	return r, path, err
}

// LookupNear is Lookup that, when the URL is absent, also returns the
// respellings of it that the source holds (canon.Respellings: the other
// scheme, with or without "www.", with or without a trailing slash), so
// that a miss can name what was likely meant. On a file a miss reads the
// blocks that can hold them; a stream is still read once.
func (s *Source) LookupNear(rawURL string) (*record.Record, uint64, []string, error) {
	return s.lookup(rawURL, true)
}

func (s *Source) lookup(rawURL string, near bool) (*record.Record, uint64, []string, error) {
	u, err := canon.Canonicalize(rawURL)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%.200s: %w", rawURL, err)
	}
	us := []string{u}
	if near {
		us = append(us, canon.Respellings(u)...)
	}
	return s.findURLs(us)
}

// findURLs looks up the canonical URLs us: it returns the record of us[0]
// (nil when absent) and its path key, and, when us[0] is absent, which
// of the others the source holds. The first found of us[0] ends the
// search; a stream is read once.
func (s *Source) findURLs(us []string) (*record.Record, uint64, []string, error) {
	if s.File != nil {
		g := canon.Grouping(s.File.Header.Grouping)
		var held []string
		for i, v := range us {
			k := canon.KeysOf(v, g)
			r, ok, err := s.File.Find(k.Host, v)
			switch {
			case err != nil:
				return nil, 0, nil, err
			case ok && i == 0:
				return &r, k.Path, nil, nil
			case ok:
				held = append(held, v)
			}
		}
		return nil, 0, held, nil
	}
	found := make([]*record.Record, len(us))
	var keys []canon.Keys
	_, _, _, err := s.Blocks(func(h codec.Header, b *codec.Block) error {
		if found[0] != nil {
			return nil
		}
		if b.Index == 0 {
			for _, v := range us {
				keys = append(keys, canon.KeysOf(v, canon.Grouping(h.Grouping)))
			}
		}
		var recs []record.Record
		for i, v := range us {
			k := keys[i]
			if found[i] != nil ||
				record.CompareKey(k.Host, v, b.Info.FirstHost, b.Info.FirstURL) < 0 ||
				record.CompareKey(k.Host, v, b.Info.LastHost, b.Info.LastURL) > 0 {
				continue
			}
			if recs == nil {
				var err error
				if recs, err = b.Decode(); err != nil {
					return err
				}
			}
			if j, ok := codec.RowOf(recs, k.Host, v); ok {
				found[i] = &recs[j]
			}
		}
		return nil
	})
	if err != nil || found[0] != nil {
		var path uint64
		if keys != nil {
			path = keys[0].Path
		}
		return found[0], path, nil, err
	}
	var held []string
	for i, r := range found[1:] {
		if r != nil {
			held = append(held, us[i+1])
		}
	}
	return nil, 0, held, nil
}

// Range returns the host-key range the source owns and its grouping:
// from a file's header, or a stream's once Blocks has read it (ok is
// false before).
func (s *Source) Range() (lo, hi uint64, g canon.Grouping, ok bool) {
	h := s.hdr
	if s.File != nil {
		h = &s.File.Header
	}
	if h == nil {
		return 0, 0, 0, false
	}
	return h.Lo, h.Hi, canon.Grouping(h.Grouping), true
}

// HostRows writes, as lines in layout l (nil: every field as JSON), the
// records of one host key that f keeps (nil: all of them): the key that
// key returns for the file's grouping (a host group: under grouping
// domain, every host of a registrable domain). On a file it reads only the
// blocks whose key span holds the key; on a stream it decodes only those
// and reads the rest through unchecked beyond their checksums. It returns
// the number of records the file holds for the key and the number
// written.
func (s *Source) HostRows(w io.Writer, l *record.Layout, f *record.Filter, key func(canon.Grouping) (uint64, error)) (held, written int, err error) {
	rw := newRowWriter(w, l, f)
	emit := func(h codec.Header, b *codec.Block, k uint64) error {
		recs, err := b.Decode()
		if err != nil {
			return err
		}
		i := sort.Search(len(recs), func(i int) bool { return recs[i].HostKey >= k })
		rw.keys.Grouping = canon.Grouping(h.Grouping)
		for ; i < len(recs) && recs[i].HostKey == k; i++ {
			if err := rw.write(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if file := s.File; file != nil {
		var k uint64
		if k, err = key(canon.Grouping(file.Header.Grouping)); err != nil {
			return 0, 0, err
		}
		i := sort.Search(len(file.Blocks), func(i int) bool { return file.Blocks[i].LastHost >= k })
		for ; err == nil && i < len(file.Blocks) && file.Blocks[i].FirstHost <= k; i++ {
			var b *codec.Block
			if b, err = file.ReadBlock(i); err == nil {
				err = emit(file.Header, b, k)
			}
		}
	} else {
		var k uint64
		_, _, _, err = s.Blocks(func(h codec.Header, b *codec.Block) error {
			if b.Index == 0 {
				var err error
				if k, err = key(canon.Grouping(h.Grouping)); err != nil {
					return err
				}
			}
			if b.Info.FirstHost > k || b.Info.LastHost < k {
				return nil
			}
			return emit(h, b, k)
		})
	}
	return rw.seen, rw.n, rw.flush(err)
}

// BytesPerURL is the file size over its URL count (0 for an empty file).
func (s *Summary) BytesPerURL() float64 {
	if s.Stats.URLs == 0 {
		return 0
	}
	return float64(s.Bytes) / float64(s.Stats.URLs)
}

// JSON renders the summary as one stable JSON object.
func (s *Summary) JSON() string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"file":%s,"format_version":%d,"grouping":%q,"block_shift":%d,"partition_id":%d,`,
		record.AppendString(nil, s.Name), s.Header.Version, canon.Grouping(s.Header.Grouping).String(), s.Header.Shift, s.Header.PartitionID)
	fmt.Fprintf(&b, `"host_key_lo":%q,"host_key_hi":%q,"urls":%d,"hosts":%d,"captures":%d,"gone":%d,"blocks":%d,"file_bytes":%d,"bytes_per_url":%.2f`,
		units.Key(s.Header.Lo), units.Key(s.Header.Hi), s.Stats.URLs, s.Stats.Hosts, s.Stats.Captures, s.Stats.Gone, s.Stats.Blocks, s.Bytes, s.BytesPerURL())
	if s.Columns[codec.ColURL] > 0 {
		b.WriteString(`,"columns":{`)
		for id := 1; id <= codec.NumColumns; id++ {
			if id > 1 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `%q:{"stored":%d,"raw":%d}`, codec.ColumnName(id), s.Columns[id], s.RawColumns[id])
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.String()
}

// Text renders the summary for people.
func (s *Summary) Text() string {
	var b strings.Builder
	h := s.Header
	fmt.Fprintf(&b, "file        %s\n", s.Name)
	fmt.Fprintf(&b, "format      v%d, grouping %s, block shift %d\n", h.Version, canon.Grouping(h.Grouping), h.Shift)
	fmt.Fprintf(&b, "partition   %d\n", h.PartitionID)
	fmt.Fprintf(&b, "range       %s .. %s\n", units.Key(h.Lo), units.Key(h.Hi))
	fmt.Fprintf(&b, "urls        %d\n", s.Stats.URLs)
	fmt.Fprintf(&b, "hosts       %d\n", s.Stats.Hosts)
	fmt.Fprintf(&b, "captures    %d\n", s.Stats.Captures)
	fmt.Fprintf(&b, "gone        %d\n", s.Stats.Gone)
	fmt.Fprintf(&b, "blocks      %d\n", s.Stats.Blocks)
	fmt.Fprintf(&b, "size        %s (%d bytes, %.2f bytes/url)\n", units.Bytes(s.Bytes), s.Bytes, s.BytesPerURL())
	if s.Columns[codec.ColURL] > 0 {
		fmt.Fprintf(&b, "columns     %-13s %12s %12s %9s\n", "", "stored", "raw", "bytes/url")
		for id := 1; id <= codec.NumColumns; id++ {
			per := 0.0
			if s.Stats.URLs > 0 {
				per = float64(s.Columns[id]) / float64(s.Stats.URLs)
			}
			fmt.Fprintf(&b, "            %-13s %12d %12d %9.2f\n", codec.ColumnName(id), s.Columns[id], s.RawColumns[id], per)
		}
	}
	return b.String()
}
