package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

// ParseHeader decodes and checks a 64-byte header.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, corrupt("header", -1, "", 0, "truncated: %d of %d bytes", len(b), HeaderSize)
	}
	if !bytes.Equal(b[:8], headMagic[:]) {
		return h, notMeguri(b[:8])
	}
	if got, want := binary.LittleEndian.Uint32(b[60:]), crc(b[:60]); got != want {
		return h, corrupt("header", -1, "", 0, "checksum mismatch (stored %08x, computed %08x)", got, want)
	}
	h.Version = binary.LittleEndian.Uint16(b[8:])
	if err := checkVersion(h.Version, "reads"); err != nil {
		return h, err
	}
	h.Grouping = b[10]
	h.Shift = b[11]
	h.PartitionID = binary.LittleEndian.Uint64(b[16:])
	h.Lo = binary.LittleEndian.Uint64(b[24:])
	h.Hi = binary.LittleEndian.Uint64(b[32:])
	if h.Grouping > 1 || h.Shift < 4 || h.Shift > 20 || h.Lo > h.Hi {
		return h, corrupt("header", -1, "", 0, "invalid field values")
	}
	return h, nil
}

// Block is one block as stored: its raw bytes and zone data. Decode turns
// it into records.
type Block struct {
	Index   int
	Version uint16 // the file's format version
	Info    BlockInfo
	Raw     []byte // the whole block, header and pages
	descs   [numCols + 1]pageDesc
	pages   [numCols + 1][]byte
}

type pageDesc struct {
	codec       byte
	raw, stored uint32
	crc         uint32
	present     bool
}

// parseZone decodes the zone fields written by appendZone, for a file of
// block shift s: a block holds at most MaxBlockRows(s) rows.
func parseZone(b []byte, s uint8) (info BlockInfo, ncols int, rest []byte, ok bool) {
	if len(b) < 48 {
		return info, 0, nil, false
	}
	info.Rows = binary.LittleEndian.Uint32(b)
	info.Hosts = binary.LittleEndian.Uint32(b[4:])
	ncols = int(binary.LittleEndian.Uint16(b[8:]))
	info.Boundary = binary.LittleEndian.Uint16(b[10:])&flagBoundary != 0
	info.FirstHost = binary.LittleEndian.Uint64(b[12:])
	info.LastHost = binary.LittleEndian.Uint64(b[20:])
	info.Captures = binary.LittleEndian.Uint64(b[28:])
	info.Gone = binary.LittleEndian.Uint64(b[36:])
	b = b[44:]
	for i := 0; i < 2; i++ {
		if len(b) < 4 {
			return info, 0, nil, false
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return info, 0, nil, false
		}
		s := string(b[4 : 4+n])
		if i == 0 {
			info.FirstURL = s
		} else {
			info.LastURL = s
		}
		b = b[4+n:]
	}
	if info.Rows == 0 || info.Hosts == 0 || info.Hosts > info.Rows || uint64(info.Rows) > uint64(MaxBlockRows(s)) {
		return info, 0, nil, false
	}
	return info, ncols, b, true
}

// parseBlockHeader checks a block header (hdr holds exactly H bytes) of a
// file of block shift s.
func parseBlockHeader(hdr []byte, idx int, off int64, s uint8) (*Block, int64, error) {
	bad := func(f string, a ...any) error { return corrupt("block", idx, "", off, f, a...) }
	if got, want := binary.LittleEndian.Uint32(hdr[len(hdr)-4:]), crc(hdr[:len(hdr)-4]); got != want {
		return nil, 0, bad("header checksum mismatch (stored %08x, computed %08x)", got, want)
	}
	info, ncols, rest, ok := parseZone(hdr[8:len(hdr)-4], s)
	if max := MaxBlockRows(s); !ok && uint64(info.Rows) > uint64(max) {
		return nil, 0, bad("malformed header: %d rows, more than a block of shift %d holds (%d)", info.Rows, s, max)
	}
	if !ok || ncols != numCols || len(rest) != ncols*pageDescLen {
		return nil, 0, bad("malformed header")
	}
	b := &Block{Index: idx, Info: info}
	var total int64
	for i := 0; i < ncols; i++ {
		d := rest[i*pageDescLen:]
		id := int(d[0])
		if id < 1 || id > numCols || b.descs[id].present || d[1] > codecZstd {
			return nil, 0, bad("malformed page directory")
		}
		b.descs[id] = pageDesc{codec: d[1], raw: binary.LittleEndian.Uint32(d[4:]),
			stored: binary.LittleEndian.Uint32(d[8:]), crc: binary.LittleEndian.Uint32(d[12:]), present: true}
		if d[1] == codecNone && b.descs[id].raw != b.descs[id].stored {
			return nil, 0, bad("malformed page directory")
		}
		if !pageFits(id, b.descs[id].raw, info) {
			return nil, 0, bad("malformed page directory: %d rows cannot make a %s page of %d bytes", info.Rows, ColumnName(id), b.descs[id].raw)
		}
		total += int64(b.descs[id].stored)
	}
	return b, total, nil
}

// setPages slices the stored pages out of body and checks their checksums.
func (b *Block) setPages(body []byte, off int64) error {
	pos := 0
	for id := 1; id <= numCols; id++ {
		d := b.descs[id]
		p := body[pos : pos+int(d.stored)]
		if got := crc(p); got != d.crc {
			return corrupt("page", b.Index, ColumnName(id), off+int64(pos), "checksum mismatch (stored %08x, computed %08x)", d.crc, got)
		}
		b.pages[id] = p
		pos += int(d.stored)
	}
	return nil
}

// Decode decompresses the pages and returns the block's records, checking
// them against the block's zone data.
func (b *Block) Decode() ([]record.Record, error) {
	var raw [numCols + 1][]byte
	dec := decoders.Get()
	defer decoders.Put(dec)
	for id := 1; id <= numCols; id++ {
		d := b.descs[id]
		if d.codec == codecNone {
			raw[id] = b.pages[id]
			continue
		}
		out, err := dec.DecodeAll(b.pages[id], make([]byte, 0, min(d.raw, growStep)))
		if err != nil || len(out) != int(d.raw) {
			return nil, corrupt("page", b.Index, ColumnName(id), -1, "decompression failed")
		}
		raw[id] = out
	}
	recs := make([]record.Record, b.Info.Rows)
	if col, err := decodeColumns(&raw, recs, b.Info.Hosts, b.Version); err != nil {
		return nil, corrupt("page", b.Index, col, -1, "malformed column data")
	}
	var captures, gone uint64
	for i := range recs {
		if i > 0 && record.CompareKey(recs[i-1].HostKey, recs[i-1].URL, recs[i].HostKey, recs[i].URL) >= 0 {
			return nil, corrupt("block", b.Index, "", -1, "rows out of order at row %d", i)
		}
		captures += recs[i].Captures
		if recs[i].Status == record.Gone {
			gone++
		}
	}
	i := b.Info
	n := len(recs) - 1
	if recs[0].HostKey != i.FirstHost || recs[n].HostKey != i.LastHost || recs[0].URL != i.FirstURL ||
		recs[n].URL != i.LastURL || captures != i.Captures || gone != i.Gone {
		return nil, corrupt("block", b.Index, "", -1, "rows disagree with the block header")
	}
	return recs, nil
}

// Order checks what Decode cannot see inside one block: that each block's
// rows come after the previous block's, and that every row's host key lies
// in the file's range. A reader that verifies a whole file gives it every
// decoded block in turn.
type Order struct {
	seen bool
	host uint64
	url  string
}

// Check checks block b's decoded rows recs against the blocks before it
// and the range of header h.
func (o *Order) Check(h Header, b *Block, recs []record.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if o.seen && record.CompareKey(o.host, o.url, recs[0].HostKey, recs[0].URL) >= 0 {
		return fmt.Errorf("%w: block %d starts before the end of block %d", ErrCorrupt, b.Index, b.Index-1)
	}
	for i := range recs {
		if recs[i].HostKey < h.Lo || recs[i].HostKey > h.Hi {
			return fmt.Errorf("%w: block %d row %d: host key %s outside the file's range", ErrCorrupt, b.Index, i, units.Key(recs[i].HostKey))
		}
	}
	last := &recs[len(recs)-1]
	o.seen, o.host, o.url = true, last.HostKey, last.URL
	return nil
}

// Reader reads a .meguri stream front to back; it needs no seeking, so it
// reads from a pipe.
type Reader struct {
	r      io.Reader
	hdr    Header
	off    int64
	blocks []BlockInfo
	stats  Stats
	done   bool

	recs []record.Record
	pos  int
}

// short reports whether a read's error is the input ending early, which
// in a .meguri file or stream is damage (a truncation); any other (the
// device's, a pipe's writer that failed, a file changed under the run)
// is returned as it is: it says nothing of the bytes.
func short(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// truncated is the error of a read that failed with err: damage, the
// truncation the read found, when the input ended early; err itself
// otherwise.
func truncated(err, damage error) error {
	if short(err) {
		return damage
	}
	return err
}

// NewReader reads and checks the header.
func NewReader(r io.Reader) (*Reader, error) {
	buf := make([]byte, HeaderSize)
	if n, err := io.ReadFull(r, buf); err != nil {
		if n >= 8 && !bytes.Equal(buf[:8], headMagic[:]) {
			return nil, notMeguri(buf[:8])
		}
		if n == 0 && err == io.EOF {
			return nil, ErrEmptyStream
		}
		return nil, truncated(err, corrupt("header", -1, "", 0, "truncated: %d of %d bytes", n, HeaderSize))
	}
	h, err := ParseHeader(buf)
	if err != nil {
		return nil, err
	}
	return &Reader{r: r, hdr: h, off: HeaderSize}, nil
}

// Header returns the file's header.
func (r *Reader) Header() Header { return r.hdr }

// Stats returns the trailer's counts; valid once NextBlock returned io.EOF.
func (r *Reader) Stats() Stats { return r.stats }

// Offset returns the bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// growStep is how far readGrowing allocates ahead of the bytes it has
// read, and how far Decode allocates for a page before decompressing it.
const growStep = 64 << 20

// readGrowing returns a copy of pre followed by the next n bytes of r. It
// allocates as the bytes arrive, growStep at a time, so a damaged length
// in a stream costs no more memory than the stream really holds.
func readGrowing(r io.Reader, pre []byte, n int64) ([]byte, error) {
	buf := make([]byte, len(pre), int64(len(pre))+min(n, growStep))
	copy(buf, pre)
	for n > 0 {
		k := int(min(n, growStep))
		buf = slices.Grow(buf, k)
		if _, err := io.ReadFull(r, buf[len(buf):len(buf)+k]); err != nil {
			return nil, err
		}
		buf, n = buf[:len(buf)+k], n-int64(k)
	}
	return buf, nil
}

// NextBlock returns the next block with its page checksums verified, or
// io.EOF after the footer and trailer have been read and checked.
func (r *Reader) NextBlock() (*Block, error) {
	if r.done {
		return nil, io.EOF
	}
	idx := len(r.blocks)
	var pre [8]byte
	if _, err := io.ReadFull(r.r, pre[:]); err != nil {
		return nil, truncated(err, corrupt("block", idx, "", r.off, "truncated: file ends before its footer"))
	}
	switch string(pre[:4]) {
	case blockMagic:
	case footerMagic:
		return nil, r.readTail(pre[:])
	default:
		return nil, corrupt("block", idx, "", r.off, "bad block magic %q", pre[:4])
	}
	hlen := binary.LittleEndian.Uint32(pre[4:])
	if hlen < 8+blockFixed+numCols*pageDescLen+4 || hlen > 64<<20 {
		return nil, corrupt("block", idx, "", r.off, "bad header length %d", hlen)
	}
	raw := make([]byte, hlen)
	copy(raw, pre[:])
	if _, err := io.ReadFull(r.r, raw[8:]); err != nil {
		return nil, truncated(err, corrupt("block", idx, "", r.off, "truncated header"))
	}
	b, body, err := parseBlockHeader(raw, idx, r.off, r.hdr.Shift)
	if err != nil {
		return nil, err
	}
	if body > 1<<32 {
		return nil, corrupt("block", idx, "", r.off, "implausible page sizes")
	}
	full, err := readGrowing(r.r, raw, body)
	if err != nil {
		return nil, truncated(err, corrupt("block", idx, "", r.off, "truncated pages"))
	}
	if err := b.setPages(full[hlen:], r.off+int64(hlen)); err != nil {
		return nil, err
	}
	b.Raw = full
	b.Version = r.hdr.Version
	b.Info.Offset, b.Info.Length = r.off, int64(len(full))
	r.off += int64(len(full))
	r.blocks = append(r.blocks, b.Info)
	return b, nil
}

func (r *Reader) readTail(pre []byte) error {
	start := r.off
	n := binary.LittleEndian.Uint32(pre[4:])
	if n > 1<<30 {
		return corrupt("footer", -1, "", start, "bad length %d", n)
	}
	footer, err := readGrowing(r.r, pre, int64(n))
	if err != nil {
		return truncated(err, corrupt("footer", -1, "", start, "truncated"))
	}
	t := make([]byte, TrailerSize)
	if _, err := io.ReadFull(r.r, t); err != nil {
		return truncated(err, corrupt("trailer", -1, "", start+int64(len(footer)), "truncated"))
	}
	stats, foff, flen, fcrc, err := parseTrailer(t, start+int64(len(footer)))
	if err != nil {
		return err
	}
	if foff != start || flen != int64(len(footer)) || fcrc != crc(footer) {
		return corrupt("footer", -1, "", start, "checksum or position disagrees with the trailer")
	}
	blocks, err := parseFooter(footer, start, r.hdr.Shift)
	if err != nil {
		return err
	}
	if len(blocks) != len(r.blocks) {
		return corrupt("footer", -1, "", start, "lists %d blocks, stream had %d", len(blocks), len(r.blocks))
	}
	for i := range blocks {
		if blocks[i] != r.blocks[i] {
			return corrupt("footer", -1, "", start, "entry for block %d disagrees with the block", i)
		}
	}
	var extra [len(headMagic)]byte
	if n, _ := io.ReadFull(r.r, extra[:]); n > 0 {
		end := start + int64(len(footer)) + TrailerSize
		if HasMagic(extra[:n]) {
			return &JoinedError{At: end}
		}
		return corrupt("trailer", -1, "", end, "bytes after the trailer")
	}
	if err := checkStats(stats, blocks); err != nil {
		return err
	}
	r.stats = stats
	r.done = true
	r.off += int64(len(footer)) + TrailerSize
	return io.EOF
}

func parseTrailer(t []byte, off int64) (s Stats, foff, flen int64, fcrc uint32, err error) {
	if !bytes.Equal(t[72:], tailMagic[:]) {
		return s, 0, 0, 0, corrupt("trailer", -1, "", off, "bad magic (truncated or not a .meguri file)")
	}
	if got, want := binary.LittleEndian.Uint32(t[64:]), crc(t[:64]); got != want {
		return s, 0, 0, 0, corrupt("trailer", -1, "", off, "checksum mismatch (stored %08x, computed %08x)", got, want)
	}
	// The only bytes of a file no checksum covers: checked here instead,
	// so that no flipped byte anywhere goes unnoticed.
	if r := binary.LittleEndian.Uint32(t[68:]); r != 0 {
		return s, 0, 0, 0, corrupt("trailer", -1, "", off, "reserved bytes 68..71 are %08x, not zero", r)
	}
	foff = int64(binary.LittleEndian.Uint64(t[0:]))
	flen = int64(binary.LittleEndian.Uint64(t[8:]))
	s.URLs = binary.LittleEndian.Uint64(t[16:])
	s.Hosts = binary.LittleEndian.Uint64(t[24:])
	s.Captures = binary.LittleEndian.Uint64(t[32:])
	s.Gone = binary.LittleEndian.Uint64(t[40:])
	s.Blocks = binary.LittleEndian.Uint32(t[56:])
	fcrc = binary.LittleEndian.Uint32(t[60:])
	return s, foff, flen, fcrc, nil
}

func parseFooter(f []byte, off int64, s uint8) ([]BlockInfo, error) {
	bad := func(d string) error { return corrupt("footer", -1, "", off, "%s", d) }
	if len(f) < 12 || string(f[:4]) != footerMagic || int(binary.LittleEndian.Uint32(f[4:])) != len(f)-8 {
		return nil, bad("bad magic or length")
	}
	b := f[8:]
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b))/64 {
		return nil, bad("implausible block count")
	}
	blocks := make([]BlockInfo, n)
	for i := range blocks {
		if len(b) < 16 {
			return nil, bad("truncated block index")
		}
		o, l := int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:]))
		info, ncols, rest, ok := parseZone(b[16:], s)
		if !ok || ncols != numCols {
			return nil, bad("malformed block index")
		}
		info.Offset, info.Length = o, l
		blocks[i] = info
		b = rest
	}
	if len(b) < 2 || int(binary.LittleEndian.Uint16(b)) != numCols {
		return nil, bad("malformed column directory")
	}
	b = b[2:]
	for id := 1; id <= numCols; id++ {
		if len(b) < 2 || int(b[0]) != id || len(b) < 2+int(b[1]) || string(b[2:2+int(b[1])]) != colNames[id] {
			return nil, bad("malformed column directory")
		}
		b = b[2+int(b[1]):]
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return blocks, nil
}

// checkStats recomputes the trailer counts from the block index.
func checkStats(s Stats, blocks []BlockInfo) error {
	var c Stats
	for i, b := range blocks {
		c.URLs += uint64(b.Rows)
		c.Hosts += uint64(b.Hosts)
		if i > 0 && blocks[i-1].LastHost == b.FirstHost {
			c.Hosts--
		}
		if i > 0 && record.CompareKey(blocks[i-1].LastHost, blocks[i-1].LastURL, b.FirstHost, b.FirstURL) >= 0 {
			return corrupt("footer", -1, "", -1, "blocks %d and %d out of order", i-1, i)
		}
		c.Captures += b.Captures
		c.Gone += b.Gone
		c.Blocks++
	}
	if c != s {
		return corrupt("trailer", -1, "", -1, "counts disagree with the block index")
	}
	return nil
}

// Next returns the next record, decoding block by block; io.EOF at the end.
// The returned record is valid until the next call.
func (r *Reader) Next() (*record.Record, error) {
	for r.pos >= len(r.recs) {
		b, err := r.NextBlock()
		if err != nil {
			return nil, err
		}
		recs, err := b.Decode()
		if err != nil {
			return nil, err
		}
		r.recs, r.pos = recs, 0
	}
	r.pos++
	return &r.recs[r.pos-1], nil
}

// ReadAll reads a whole .meguri stream and returns its rows, checking
// every block as it goes.
func ReadAll(r io.Reader) ([]record.Record, error) {
	cr, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	var rows []record.Record
	for {
		b, err := cr.NextBlock()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		recs, err := b.Decode()
		if err != nil {
			return rows, err
		}
		rows = append(rows, recs...)
	}
}

// File is a .meguri file opened for random access: its header, counts and
// block index come from its two ends.
type File struct {
	r      io.ReaderAt
	size   int64
	Header Header
	Stats  Stats
	Blocks []BlockInfo
}

// Open opens the .meguri file at path and reads its two ends, as OpenFile
// does; a directory, a pipe and a device are refused, and decoding errors
// name the path. The caller closes the returned *os.File when done with
// the File.
func Open(path string) (*File, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, dirs.CannotRead(path, err)
	}
	cf, err := OpenFrom(path, f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return cf, f, nil
}

// Opened is a file opened by name: an *os.File, or one a run keeps open
// only while it reads it.
type Opened interface {
	io.ReaderAt
	Stat() (os.FileInfo, error)
}

// OpenFrom is Open of a file already opened from path; the caller closes
// f.
func OpenFrom(path string, f Opened) (*File, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, dirs.NotA(path, ".meguri file")
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is a pipe or a device, not a file: this reads a .meguri file from its footer first (save it to a file)", path)
	}
	cf, err := OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cf, nil
}

// OpenFile reads a file's header, trailer and footer.
func OpenFile(r io.ReaderAt, size int64) (*File, error) {
	if size == 0 {
		return nil, ErrEmptyFile
	}
	if size < HeaderSize+TrailerSize {
		if size >= 8 {
			var m [8]byte
			r.ReadAt(m[:], 0)
			if !bytes.Equal(m[:], headMagic[:]) {
				return nil, notMeguri(m[:])
			}
		}
		return nil, corrupt("file", -1, "", -1, "truncated: %d bytes is less than a header and trailer", size)
	}
	hb := make([]byte, HeaderSize)
	if _, err := r.ReadAt(hb, 0); err != nil {
		return nil, err
	}
	h, err := ParseHeader(hb)
	if err != nil {
		return nil, err
	}
	t := make([]byte, TrailerSize)
	if _, err := r.ReadAt(t, size-TrailerSize); err != nil {
		return nil, err
	}
	stats, foff, flen, fcrc, err := parseTrailer(t, size-TrailerSize)
	if err != nil {
		return nil, err
	}
	if last := foff + flen + TrailerSize; foff >= HeaderSize && flen >= 12 && last < size {
		// a whole file's trailer ends this one: is that file's header
		// where it would begin?
		var m [len(headMagic)]byte
		if _, err := r.ReadAt(m[:], size-last); err == nil && HasMagic(m[:]) {
			return nil, &JoinedError{At: size - last}
		}
	}
	if foff < HeaderSize || flen < 12 || foff+flen != size-TrailerSize {
		return nil, corrupt("trailer", -1, "", size-TrailerSize, "footer position out of bounds")
	}
	footer := make([]byte, flen)
	if _, err := r.ReadAt(footer, foff); err != nil {
		return nil, err
	}
	if crc(footer) != fcrc {
		return nil, corrupt("footer", -1, "", foff, "checksum mismatch")
	}
	blocks, err := parseFooter(footer, foff, h.Shift)
	if err != nil {
		return nil, err
	}
	pos := int64(HeaderSize)
	for i, b := range blocks {
		if b.Offset != pos || b.Length <= 0 || b.FirstHost < h.Lo || b.LastHost > h.Hi {
			return nil, corrupt("footer", -1, "", foff, "block %d entry out of bounds", i)
		}
		pos += b.Length
	}
	if pos != foff {
		return nil, corrupt("footer", -1, "", foff, "blocks do not end where the footer starts")
	}
	if err := checkStats(stats, blocks); err != nil {
		return nil, err
	}
	return &File{r: r, size: size, Header: h, Stats: stats, Blocks: blocks}, nil
}

// Size returns the file's size in bytes.
func (f *File) Size() int64 { return f.size }

// ReadBlock reads block i and verifies its checksums.
func (f *File) ReadBlock(i int) (*Block, error) {
	info := f.Blocks[i]
	raw := make([]byte, info.Length)
	if _, err := f.r.ReadAt(raw, info.Offset); err != nil {
		if !short(err) {
			// the device failed, or the file changed under the run: not
			// damage in the file
			return nil, fmt.Errorf("reading block %d at offset %d: %w", i, info.Offset, err)
		}
		return nil, corrupt("block", i, "", info.Offset, "read: %v", err)
	}
	if len(raw) < 8 || string(raw[:4]) != blockMagic {
		return nil, corrupt("block", i, "", info.Offset, "bad block magic")
	}
	hlen := int64(binary.LittleEndian.Uint32(raw[4:]))
	if hlen < 8+blockFixed+numCols*pageDescLen+4 || hlen > info.Length {
		return nil, corrupt("block", i, "", info.Offset, "bad header length %d", hlen)
	}
	b, body, err := parseBlockHeader(raw[:hlen], i, info.Offset, f.Header.Shift)
	if err != nil {
		return nil, err
	}
	if hlen+body != info.Length {
		return nil, corrupt("block", i, "", info.Offset, "length disagrees with the footer")
	}
	b.Info.Offset, b.Info.Length = info.Offset, info.Length
	if b.Info != info {
		return nil, corrupt("block", i, "", info.Offset, "header disagrees with the footer")
	}
	if err := b.setPages(raw[hlen:], info.Offset+hlen); err != nil {
		return nil, err
	}
	b.Raw = raw
	b.Version = f.Header.Version
	return b, nil
}

// Find returns the record of (host, url), reading only the one block that
// can hold it; ok is false when the file has no such row.
func (f *File) Find(host uint64, url string) (rec record.Record, ok bool, err error) {
	i := f.BlockOf(host, url)
	if i < 0 {
		return rec, false, nil
	}
	b, err := f.ReadBlock(i)
	if err != nil {
		return rec, false, err
	}
	recs, err := b.Decode()
	if err != nil {
		return rec, false, err
	}
	if j, ok := RowOf(recs, host, url); ok {
		return recs[j], true, nil
	}
	return rec, false, nil
}

// BlockOf returns the index of the one block whose key span can hold
// (host, url), found in the footer's zone map, or -1 when none can.
func (f *File) BlockOf(host uint64, url string) int {
	i := sort.Search(len(f.Blocks), func(i int) bool {
		b := &f.Blocks[i]
		return record.CompareKey(b.LastHost, b.LastURL, host, url) >= 0
	})
	if i == len(f.Blocks) || record.CompareKey(f.Blocks[i].FirstHost, f.Blocks[i].FirstURL, host, url) > 0 {
		return -1
	}
	return i
}

// RowOf returns the index of the row (host, url) among recs, rows in file
// order (a decoded block), and whether it is there.
func RowOf(recs []record.Record, host uint64, url string) (int, bool) {
	j := sort.Search(len(recs), func(j int) bool {
		return record.CompareKey(recs[j].HostKey, recs[j].URL, host, url) >= 0
	})
	return j, j < len(recs) && recs[j].HostKey == host && recs[j].URL == url
}

// PageSizes returns each column's stored and raw bytes in this block.
func (b *Block) PageSizes() (stored, raw [numCols + 1]int64) {
	for id := 1; id <= numCols; id++ {
		stored[id] = int64(b.descs[id].stored)
		raw[id] = int64(b.descs[id].raw)
	}
	return
}

// NumColumns is the number of columns in format versions 1 and 2; column ids run
// from 1 to NumColumns.
const NumColumns = numCols
