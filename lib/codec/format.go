// Package codec reads and writes .meguri partition files.
//
// A .meguri file holds the records of one partition, ordered by host key and
// then by URL text, in columnar blocks. It is written front to back in one
// pass, so it can go to a pipe, and can be read front to back from a pipe;
// a reader with random access finds everything from the file's two ends.
//
//	+--------------------+ 64 bytes, fixed
//	| header             | magic, version, grouping, block shift, partition id, range
//	+--------------------+
//	| block 0            | block header (zone data + page directory) then one page per column
//	| block 1            |
//	| ...                |
//	+--------------------+
//	| footer             | "MGFT", length, block index (offsets + zone maps), column directory
//	+--------------------+
//	| trailer            | 80 bytes, fixed: footer offset and CRC, counts, magic
//	+--------------------+
//
// All integers are little-endian unless said otherwise. Every checksum is
// CRC-32C (Castagnoli). Pages are checksummed over their stored (compressed)
// bytes, so damage is caught before decompression.
//
// Header (64 bytes):
//
//	0   8  magic "\x89MGR\r\n\x1a\n"
//	8   2  format version (2; 1 is still read and written)
//	10  1  host grouping (0 registrable domain, 1 full host)
//	11  1  block shift s: blocks end after a row whose URL hash has its low s bits zero
//	12  4  reserved, zero
//	16  8  partition id
//	24  8  host_key_lo (inclusive)
//	32  8  host_key_hi (inclusive)
//	40 20  reserved, zero
//	60  4  CRC-32C of bytes 0..60
//
// Block header:
//
//	0   4  magic "MGBK"
//	4   4  header length H, including magic and the final CRC
//	8   4  rows
//	12  4  host runs (distinct host keys in the block)
//	16  2  column pages C
//	18  2  flags (bit 0: the block ends at a content boundary)
//	20  8  first host key
//	28  8  last host key
//	36  8  captures (sum over rows)
//	44  8  gone rows
//	52  4  first URL length F, then F bytes
//	..  4  last URL length L, then L bytes
//	..  C x 16 page descriptors:
//	        0 1 column id, 1 1 codec (0 none, 1 zstd), 2 2 reserved,
//	        4 4 raw length, 8 4 stored length, 12 4 CRC-32C of the stored bytes
//	H-4 4  CRC-32C of header bytes 0..H-4
//
// The pages follow the header in descriptor order.
//
// Footer: "MGFT", body length (4), body. The body is the block count (4),
// then per block its offset (8), length (8), rows (4), host runs (4), first
// and last host key (8 each), captures (8), gone (8), first URL length (4)
// and bytes; then the column count (2) and per column its id (1), name
// length (1) and name.
//
// Trailer (80 bytes):
//
//	0   8  footer offset
//	8   8  footer length (magic and length included)
//	16  8  urls
//	24  8  hosts
//	32  8  captures
//	40  8  gone
//	48  8  reserved, zero
//	56  4  blocks
//	60  4  CRC-32C of the footer
//	64  4  CRC-32C of trailer bytes 0..64
//	68  4  reserved, zero
//	72  8  magic "\n\x1a\n\rRGM\x89"
//
// Column encodings are in docs/FORMAT.md and columns.go.
package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"unicode/utf8"
)

// Format constants. They are part of the file format and never change
// meaning.
const (
	Version      = 2 // written by default
	MinVersion   = 1 // the oldest version this build reads and writes
	HeaderSize   = 64
	TrailerSize  = 80
	DefaultShift = 15 // blocks of ~37K rows: 2^15/8 before a boundary can fall, then 2^15 expected

	blockMagic  = "MGBK"
	footerMagic = "MGFT"
	blockFixed  = 52
	pageDescLen = 16

	codecNone = 0
	codecZstd = 1

	flagBoundary = 1

	// maxBlockBytes caps the URL and redirect bytes of a block, whatever its
	// row count, so one block of huge URLs cannot exhaust memory.
	maxBlockBytes = 16 << 20

	// maxPageRaw caps a page's decoded length: readers refuse a page
	// directory that names more, and decode no zstd frame past it.
	maxPageRaw = 1 << 30
	// maxVarint is the widest uvarint, in bytes.
	maxVarint = binary.MaxVarintLen64
)

// MaxRowBytes caps a row's URL and redirect bytes together, so that with
// the block before it (under maxBlockBytes) and its varints no page passes
// maxPageRaw.
const MaxRowBytes = 512 << 20

// MaxBlockRows is the row cap of a block under block shift s (four times
// the expected size): a block that reaches it ends there whatever follows,
// like one that ends at a content boundary.
func MaxBlockRows(s uint8) int { return 1 << s << 2 }

var (
	headMagic  = [8]byte{0x89, 'M', 'G', 'R', '\r', '\n', 0x1a, '\n'}
	tailMagic  = [8]byte{'\n', 0x1a, '\n', '\r', 'R', 'G', 'M', 0x89}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Column ids. Part of the format.
const (
	ColHost        = 1
	ColURL         = 2
	ColStatus      = 3
	ColHTTPStatus  = 4
	ColLastSeen    = 5
	ColFirstSeen   = 6
	ColCaptures    = 7
	ColChanges     = 8
	ColDigest      = 9
	ColFirstDigest = 10
	ColMime        = 11
	ColLength      = 12
	ColRedirect    = 13
	numCols        = 13
)

var colNames = [numCols + 1]string{"", "host", "url", "status", "http_status", "last_seen", "first_seen",
	"captures", "changes", "digest", "first_digest", "mime", "length", "redirect"}

// pageFits reports whether a page of column id may decode to raw bytes in
// a block of info's rows and host runs: the fixed-width columns exactly,
// the varint ones within their widths, every page at least its shortest
// encoding and at most maxPageRaw. A reader checks this before it
// allocates or decompresses anything for the page.
func pageFits(id int, raw uint32, info BlockInfo) bool {
	n, h, r := uint64(info.Rows), uint64(info.Hosts), uint64(raw)
	switch id {
	case ColStatus:
		return r == n
	case ColDigest:
		return r == 8*n
	case ColFirstDigest:
		return r <= 8*n && r%8 == 0
	case ColHTTPStatus, ColLastSeen, ColFirstSeen, ColCaptures, ColChanges, ColLength:
		return r >= n && r <= maxVarint*n
	case ColHost:
		// per run a uvarint and a key or a uvarint, then a uvarint
		return r >= 2*h && r <= (2*maxVarint+8)*h
	case ColURL:
		// per row a uvarint and a NUL at least
		return r >= 2*n && r <= maxPageRaw
	case ColMime:
		return r >= n+1 && r <= maxPageRaw
	default: // ColRedirect
		return r >= n && r <= maxPageRaw
	}
}

// ColumnName returns the name of a column id.
func ColumnName(id int) string {
	if id > 0 && id <= numCols {
		return colNames[id]
	}
	return fmt.Sprintf("column %d", id)
}

// ErrCorrupt is wrapped by every error about damaged or malformed bytes.
var ErrCorrupt = errors.New("corrupt .meguri")

// ErrNotMeguri is returned (wrapped, with a hint when the start of the
// stream looks like CDX input) when a stream does not start with the magic.
var ErrNotMeguri = errors.New("not a .meguri file (bad magic)")

// Empty inputs are no .meguri file either (errors.Is(err, ErrNotMeguri)),
// but the usual cause is not a wrong file: it is a command before that
// failed, in a pipe, or under the shell's > (which makes the file first).
var (
	ErrEmptyStream = emptyError("empty: not one byte of a .meguri file (did the command that writes it fail?)")
	ErrEmptyFile   = emptyError("empty (0 bytes): was it written by > from a command that failed? (-o PATH leaves no file when a run fails)")
)

type emptyError string

func (e emptyError) Error() string        { return string(e) }
func (e emptyError) Is(target error) bool { return target == ErrNotMeguri }

// HasMagic reports whether b starts with the magic number of a .meguri
// file's header.
func HasMagic(b []byte) bool { return bytes.HasPrefix(b, headMagic[:]) }

// notMeguri is ErrNotMeguri for a stream that starts with b, with a hint
// where b looks like what meguri-ingest reads: the usual mistake is
// handing a CDX file to a tool that reads .meguri files. Compressed bytes
// may also be a .meguri compressed for shipping.
func notMeguri(b []byte) error {
	var looks string
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		looks = "gzip"
	case len(b) >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd:
		looks = "zstd"
	case len(b) > 0 && isText(b):
		return fmt.Errorf("%w; it starts like text, as CDX input does: meguri-ingest reads that", ErrNotMeguri)
	default:
		return ErrNotMeguri
	}
	return fmt.Errorf("%w; it is compressed with %s: CDX input (meguri-ingest reads that), or a compressed .meguri file (decompress it first)", ErrNotMeguri, looks)
}

// isText reports whether b is the start of UTF-8 text without control
// characters other than whitespace (its last rune may be cut short).
func isText(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return !utf8.FullRune(b)
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return false
		}
		b = b[n:]
	}
	return true
}

// ErrVersion is returned for a file of another format version.
var ErrVersion = errors.New("unsupported .meguri format version")

// CheckWriteVersion returns an error wrapping ErrVersion unless this build
// writes format version v.
func CheckWriteVersion(v uint16) error { return checkVersion(v, "writes") }

// checkVersion refuses a version this build does not read or write (verb).
func checkVersion(v uint16, verb string) error {
	if v < MinVersion || v > Version {
		return fmt.Errorf("%w %d (this build %s versions %d to %d)", ErrVersion, v, verb, MinVersion, Version)
	}
	return nil
}

// CorruptError says where damage was found.
type CorruptError struct {
	Region string // "header", "block", "page", "footer", "trailer"
	Block  int    // block index, or -1
	Column string // column name for a page, or ""
	Offset int64  // byte offset of the region, or -1
	Detail string
}

func (e *CorruptError) Error() string {
	s := "corrupt .meguri: " + e.Region
	switch {
	case e.Region == "page" && e.Block >= 0:
		// a block holds one page per column: the block and column name it
		s = fmt.Sprintf("corrupt .meguri: block %d, %s page", e.Block, e.Column)
	case e.Block >= 0:
		s += fmt.Sprintf(" %d", e.Block)
		if e.Column != "" {
			s += " column " + e.Column
		}
	case e.Column != "":
		s += " column " + e.Column
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	return s + ": " + e.Detail
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// JoinedError is what a reader finds in .meguri files joined end to end
// (cat a.meguri b.meguri, or several runs writing to one stdout): a whole
// file's trailer followed by another file's header. The bytes are not
// damaged, but they are not one file either; errors.Is(err, ErrCorrupt)
// holds, so tools treat them as they treat a file they cannot read.
type JoinedError struct {
	At int64 // where the later file begins
}

func (e *JoinedError) Error() string {
	return fmt.Sprintf(".meguri files joined end to end: another one begins at byte %d (`cat a.meguri b.meguri`, or several runs writing one stdout, make this); give each run its own -o file, and meguri-compact merges or folds them", e.At)
}

func (e *JoinedError) Unwrap() error { return ErrCorrupt }

func corrupt(region string, block int, col string, off int64, format string, args ...any) error {
	return &CorruptError{Region: region, Block: block, Column: col, Offset: off, Detail: fmt.Sprintf(format, args...)}
}

// Header is the fixed header of a file.
type Header struct {
	Version     uint16
	Grouping    uint8
	Shift       uint8
	PartitionID uint64
	Lo, Hi      uint64
}

// Stats are a file's counts, kept in its trailer.
type Stats struct {
	URLs, Hosts, Captures, Gone uint64
	Blocks                      uint32
}

// BlockInfo is a block's zone data: what a reader knows about it without
// reading its pages.
type BlockInfo struct {
	Offset, Length      int64
	Rows, Hosts         uint32
	FirstHost, LastHost uint64
	Captures, Gone      uint64
	FirstURL, LastURL   string
	Boundary            bool // ends at a content boundary
}

// EndsByRule reports whether the block ended by a rule that looks only at
// its own rows, a content boundary or the row cap under block shift s: a
// writer that starts a block at the same row and is given the same rows
// ends it at the same row, whatever follows. Otherwise the block may have
// ended only because its file did.
func (b *BlockInfo) EndsByRule(s uint8) bool {
	return b.Boundary || int(b.Rows) == MaxBlockRows(s)
}
