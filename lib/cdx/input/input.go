// Package input opens the line inputs the tools read: a named file, a
// pipe, or stdin ("-"), plain, gzip (also multi-member) or zstd, told from
// the first bytes, not the name. What is no text of lines is refused with
// an error naming the input: a .meguri file (ErrMeguri), another
// compression, an HTML page under a .gz name, a WARC or a Parquet file.
// Package cdx parses the lines; this package, which links no JSON library,
// also serves tools that read lists of URLs (meguri-inspect --urls).
//
//	in, err := input.Open("cdx-00000.gz")
//	if err != nil { ... }
//	defer in.Close()
//	lr := input.NewLineReader(in, 1<<20)
//	line, num, tooLong, err := lr.Next()
package input

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/internal/freelist"
)

// Compression names a stream's encoding, detected from its first bytes.
type Compression string

// Encodings Open recognises.
const (
	Plain Compression = "plain"
	Gzip  Compression = "gzip"
	Zstd  Compression = "zstd"
)

var (
	gzipMagic  = []byte{0x1f, 0x8b}
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	meguriHead = []byte("\x89MGR")
)

// ErrMeguri is returned by Open for a .meguri file: it holds records, not
// CDX lines.
var ErrMeguri = errors.New("is a .meguri file, not CDX lines")

// Input is an opened CDX source: its name for messages and a decompressed
// reader.
type Input struct {
	Name        string
	Compression Compression
	r           io.Reader
	closers     []io.Closer
	// fingerprint, when set before the first Read (Hash), has the content
	// read hashed into sum and counted in size
	fingerprint bool
	sum         xxhash.Digest
	size        int64
}

// Hash has the content read from now on hashed (xxHash64) and counted,
// for Fingerprinted; call it before the first Read.
func (in *Input) Hash() { in.fingerprint = true }

// Fingerprinted returns the xxHash64 and the size of the content read
// since Hash.
func (in *Input) Fingerprinted() (hash uint64, size int64) { return in.sum.Sum64(), in.size }

// Read reads decompressed bytes. The caller names the input in errors
// (with the line it reached); a decompressor's error says which.
func (in *Input) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if in.fingerprint {
		in.sum.Write(p[:n])
		in.size += int64(n)
	}
	switch {
	case err == nil || err == io.EOF || in.Compression == Plain:
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		// not damage: zstd's own CLI refuses such a frame too, unless
		// told --long=31
		err = fmt.Errorf("zstd data compressed with a window over %d MiB (zstd --long=30 or 31?), more than is read here: decompress it first (zstd -dc --long=31 FILE | ...)", maxWindow>>20)
	case errors.Is(err, zstd.ErrUnknownDictionary):
		err = fmt.Errorf("zstd data compressed with a dictionary (zstd -D), which is not read here: decompress it first (zstd -dc -D DICT FILE | ...)")
	default:
		err = fmt.Errorf("%s data damaged or cut short: %w", in.Compression, err)
	}
	return n, err
}

// maxWindow is the largest zstd window read, the decoder's default: what
// a stream may hold in memory to decode it. Frames written with zstd
// --long=30 or 31 (1 or 2 GiB) need more.
const maxWindow = 512 << 20

// Close closes the decompressor and the file.
func (in *Input) Close() error {
	var first error
	for i := len(in.closers) - 1; i >= 0; i-- {
		if err := in.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// CheckInput refuses a named input that is missing, unreadable or a
// directory, with the message every tool gives; "-" and "" (stdin) pass.
func CheckInput(name string) error {
	if name == "" || name == "-" {
		return nil
	}
	st, err := os.Stat(name)
	if err != nil {
		return dirs.CannotRead(name, err)
	}
	if st.IsDir() {
		return dirs.NotA(name, "CDX file")
	}
	return nil
}

// Open opens a named file, or stdin for "-" or "", and detects its
// compression. A file named .gz or .zst whose bytes are not gzip or zstd,
// and content that looks like an HTML or XML page, are refused with an error that
// names the file.
func Open(name string) (*Input, error) { return OpenCounting(name, nil) }

// OpenCounting is Open, adding the bytes read from the input as it is
// stored to *raw when raw is not nil.
func OpenCounting(name string, raw *int64) (*Input, error) {
	if err := CheckInput(name); err != nil {
		return nil, err
	}
	display := name
	if name == "" || name == "-" {
		display = "<stdin>"
	}
	f, err := OpenRaw(name)
	if err != nil {
		return nil, err
	}
	var r io.Reader = f
	if raw != nil {
		r = CountBytes(f, raw)
	}
	in, err := NewInput(display, r)
	if err != nil {
		f.Close()
		return nil, err
	}
	in.closers = append([]io.Closer{f}, in.closers...)
	return in, nil
}

// CountBytes returns a reader of r that adds the bytes read through it to
// *n (read by the goroutine that reads, or after it).
func CountBytes(r io.Reader, n *int64) io.Reader { return &counter{r: r, n: n} }

// counter counts the bytes read through it into *n.
type counter struct {
	r io.Reader
	n *int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// ErrReadsOnce is Fingerprint's error for an input that is not a regular
// file: a pipe (the shell's <(...), a FIFO) or a device reads once, and
// hashing it first would leave nothing for the run.
var ErrReadsOnce = errors.New("is a pipe or a device: it reads once")

// A FileFingerprint is what Fingerprint found of a file's content.
type FileFingerprint struct {
	Hash     uint64   // xxHash64 of the content, as a run's Fingerprint callback is given it
	Size     int64    // its length
	Tail     []byte   // its last bytes, where a Wayback query's page ends with its resume key
	Prefixes []Prefix // for each size asked for, as Prefixes finds it
}

// Fingerprint reads the named file to its end as a run reads it
// (decompressed) and returns what the run's Fingerprint callback would
// be given: the xxHash64 and length of its content; the last tailSize
// bytes of that content (fewer when it is shorter); and a Prefix for each
// of sizes, as Prefixes returns them, in the same pass. Stdin and inputs
// that are not regular files are refused (ErrReadsOnce).
func Fingerprint(name string, tailSize int, sizes []int64) (FileFingerprint, error) {
	in, err := openOnce(name)
	if err != nil {
		return FileFingerprint{}, err
	}
	defer in.Close()
	in.Hash()
	t := &tailWriter{n: tailSize}
	pw := newPrefixWriter(sizes)
	if _, err := io.Copy(io.MultiWriter(t, pw), in); err != nil {
		return FileFingerprint{}, fmt.Errorf("%s: %w", in.Name, err)
	}
	hash, size := in.Fingerprinted()
	return FileFingerprint{Hash: hash, Size: size, Tail: t.b, Prefixes: pw.out}, nil
}

// openOnce opens a named input that can be read again: Fingerprint and
// Prefixes read what a run then reads once more.
func openOnce(name string) (*Input, error) {
	if name == "" || name == "-" {
		return nil, fmt.Errorf("<stdin> %w", ErrReadsOnce)
	}
	if dirs.Stream(name) {
		return nil, fmt.Errorf("%s %w", name, ErrReadsOnce)
	}
	return Open(name)
}

// A Prefix is what Prefixes found of the first Size bytes of a file's
// content (decompressed).
type Prefix struct {
	Size    int64
	Reached bool   // the content is at least Size bytes long
	Hash    uint64 // xxHash64 of the first Size bytes, when Reached
	Lines   int64  // the newlines in them
	Last    byte   // the last of them
}

// Prefixes reads the named file (decompressed) as far as the longest of
// sizes, and returns a Prefix for each size, in the order given: which of
// them the content begins with is told by their hashes. Stdin and inputs
// that are not regular files are refused (ErrReadsOnce).
func Prefixes(name string, sizes []int64) ([]Prefix, error) {
	in, err := openOnce(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	pw := newPrefixWriter(sizes)
	if _, err := io.Copy(pw, io.LimitReader(in, pw.longest())); err != nil {
		return nil, fmt.Errorf("%s: %w", in.Name, err)
	}
	return pw.out, nil
}

// prefixWriter finds, of the bytes written to it, the Prefix at each of
// sizes.
type prefixWriter struct {
	sizes []int64
	order []int // indexes into sizes, the smallest size first
	next  int   // order[next] is the next size to reach
	out   []Prefix
	sum   *xxhash.Digest
	read  int64
	lines int64
	last  byte
}

func newPrefixWriter(sizes []int64) *prefixWriter {
	p := &prefixWriter{sizes: sizes, order: make([]int, len(sizes)), out: make([]Prefix, len(sizes)), sum: xxhash.New()}
	for i, n := range sizes {
		p.order[i] = i
		p.out[i].Size = n
	}
	slices.SortFunc(p.order, func(a, b int) int { return cmp.Compare(sizes[a], sizes[b]) })
	p.reach()
	return p
}

// longest returns the largest of the sizes, 0 for none.
func (p *prefixWriter) longest() int64 {
	if len(p.order) == 0 {
		return 0
	}
	return p.sizes[p.order[len(p.order)-1]]
}

// reach records each size the bytes written have reached.
func (p *prefixWriter) reach() {
	for ; p.next < len(p.order) && p.sizes[p.order[p.next]] <= p.read; p.next++ {
		if i := p.order[p.next]; p.sizes[i] == p.read {
			p.out[i] = Prefix{Size: p.read, Reached: true, Hash: p.sum.Sum64(), Lines: p.lines, Last: p.last}
		}
	}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 && p.next < len(p.order) {
		take := min(int64(len(b)), p.sizes[p.order[p.next]]-p.read)
		chunk := b[:take]
		p.sum.Write(chunk)
		p.lines += int64(bytes.Count(chunk, []byte{'\n'}))
		p.last = chunk[take-1]
		p.read += take
		b = b[take:]
		p.reach()
	}
	return n, nil
}

// tailWriter keeps the last n bytes written to it.
type tailWriter struct {
	b []byte
	n int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	if len(p) >= t.n {
		t.b = append(t.b[:0], p[len(p)-t.n:]...)
		return len(p), nil
	}
	if over := len(t.b) + len(p) - t.n; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	t.b = append(t.b, p...)
	return len(p), nil
}

var (
	stdinOnce sync.Once
	stdin     *bufio.Reader
)

// Stdin returns the process's standard input behind one shared buffer, so
// a caller can Peek at its first bytes (to tell a .meguri stream from CDX
// lines) before Open("-") reads it from the start.
func Stdin() *bufio.Reader {
	stdinOnce.Do(func() { stdin = bufio.NewReaderSize(&untilEOF{r: os.Stdin}, 1<<20) })
	return stdin
}

// A pipe is a named input that is not a regular file (a named FIFO, the
// shell's <(...)): it reads once, so the bytes Peek looked at stay in its
// buffer for OpenRaw to read again.
type pipe struct {
	*bufio.Reader
	f *os.File
}

func (p *pipe) Close() error { return p.f.Close() }

var (
	pipesMu sync.Mutex
	pipes   = map[string]*pipe{}
)

// Peek returns up to n of the first bytes of a named input ("-" or "" for
// stdin) without using them up: OpenRaw then reads it from its start, a
// pipe too (sniffing a pipe by opening it once more would lose what the
// first look read). A missing, unreadable or directory input is refused
// as CheckInput refuses it.
func Peek(name string, n int) ([]byte, error) {
	if name == "" || name == "-" {
		b, _ := Stdin().Peek(n)
		return b, nil
	}
	if err := CheckInput(name); err != nil {
		return nil, err
	}
	pipesMu.Lock()
	defer pipesMu.Unlock()
	if p, ok := pipes[name]; ok {
		b, _ := p.Peek(n)
		return b, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		p := &pipe{Reader: bufio.NewReaderSize(f, 1<<20), f: f}
		pipes[name] = p
		b, _ := p.Peek(n)
		return b, nil
	}
	defer f.Close()
	b := make([]byte, n)
	m, _ := io.ReadFull(f, b)
	return b[:m], nil
}

// OpenRaw opens a named input ("-" or "" for stdin) to read its bytes
// from the start, as they are (not decompressed), including any Peek
// looked at.
func OpenRaw(name string) (io.ReadCloser, error) {
	if name == "" || name == "-" {
		return io.NopCloser(Stdin()), nil
	}
	pipesMu.Lock()
	p, ok := pipes[name]
	delete(pipes, name)
	pipesMu.Unlock()
	if ok {
		return p, nil
	}
	return os.Open(name)
}

// untilEOF ends at the first end of file. A terminal's Ctrl-D ends one
// read, not the input: a later read waits for more typing, and the layers
// above stdin (the buffer, the compression sniffing, the line reader)
// each read again at the end, so the user would press Ctrl-D once for
// each.
type untilEOF struct {
	r   io.Reader
	eof bool
}

func (u *untilEOF) Read(b []byte) (int, error) {
	if u.eof {
		return 0, io.EOF
	}
	n, err := u.r.Read(b)
	u.eof = err == io.EOF
	return n, err
}

// IsMeguri reports whether b starts like a .meguri file.
func IsMeguri(b []byte) bool { return bytes.HasPrefix(b, meguriHead) }

// NewInput wraps r, detecting its compression from its first bytes.
func NewInput(name string, r io.Reader) (*Input, error) {
	br := getReader(r, pooledSize)
	head, _ := br.Peek(512)
	in := &Input{Name: name}
	in.closers = append(in.closers, closerFunc(func() error {
		putReader(br) // once: a buffer handed on twice would serve two inputs
		br = nil
		return nil
	}))
	in.sum.Reset() // the zero Digest is not xxHash64's starting state
	lower := strings.ToLower(name)
	// pzstd starts each zstd frame with a skippable frame (its size): the
	// compression is told by the frame after such frames
	framed, cut := afterSkippable(head)
	other := otherCompression(framed)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: bad gzip header: %w", name, err)
		}
		zr.Multistream(false) // gzipMembers goes from one to the next
		in.Compression, in.r = Gzip, &gzipMembers{zr: zr, br: br}
		in.closers = append(in.closers, zr)
	case bytes.HasPrefix(framed, zstdMagic) || cut:
		// (a skippable frame longer than the head is taken for zstd's:
		// its decoder says so if it is not)
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30), zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, fmt.Errorf("%s: bad zstd header: %w", name, err)
		}
		in.Compression, in.r = Zstd, zr
		in.closers = append(in.closers, closerFunc(func() error { zr.Close(); return nil }))
	case bytes.HasPrefix(head, meguriHead):
		return nil, fmt.Errorf("%s: %w", name, ErrMeguri)
	case bytes.HasPrefix(head, []byte("PAR1")):
		return nil, fmt.Errorf("%s: is a Parquet file (Common Crawl's columnar index?), not CDX lines: export its rows as JSON lines with the CDX field names (url, timestamp, status, digest, mime, length) first", name)
	case other == "zip" && strings.HasSuffix(lower, ".wacz"):
		// a web archive's package: its CDX is one file inside it
		return nil, fmt.Errorf("%s: a WACZ (a zip), not CDX lines: its index of captures is inside it, indexes/index.cdx.gz or index.cdxj; read that (unzip -p FILE 'indexes/*.cdx*' | ...)", name)
	case other != "":
		// read as text, every line would be rejected, and the run would
		// exit 0 with an empty output
		return nil, fmt.Errorf("%s: compressed with %s, which is not read here (plain, gzip and zstd are): decompress it first (%s)", name, other, unpackHint[other])
	default:
		if strings.HasSuffix(lower, ".gz") || strings.HasSuffix(lower, ".zst") {
			return nil, fmt.Errorf("%s: named %s but its bytes are not compressed (starts with %q)",
				name, lower[strings.LastIndexByte(lower, '.'):], preview(head))
		}
		in.Compression, in.r = Plain, br
	}
	head, _ = peekDecoded(in, 512)
	if looksTar(head) {
		// read as text, each member's first line would be glued to its
		// header and rejected, and the NUL padding taken for lines
		return nil, fmt.Errorf("%s: is a tar archive, not CDX lines: give its files, or stream them in one (tar -xOf FILE | ...)", name)
	}
	if looksHTML(head) {
		return nil, fmt.Errorf("%s: looks like an HTML or XML page (a server's error for a download?), not CDX lines: %q", name, preview(head))
	}
	if enc := wideText(head); enc != "" {
		// (PowerShell's > writes UTF-16): read as bytes, every line
		// would be rejected
		return nil, fmt.Errorf("%s: is %s text (it starts with that byte-order mark), not UTF-8: convert it first (iconv -f %s -t UTF-8 FILE | ...)", name, enc, enc[:6])
	}
	if looksWebArchive(head) {
		// a crawl's records themselves (WARC, WAT, WET or the older ARC),
		// not an index of them: every line would be rejected
		return nil, fmt.Errorf("%s: is a web archive (WARC or ARC records), not CDX lines: give its CDX index (Common Crawl's cdx-NNNNN.gz), or index it first (cdxj-indexer, pywb's cdx-indexer)", name)
	}
	if in.Compression != Plain && IsMeguri(head) {
		// a .meguri compressed to be shipped: its bytes would be
		// rejected line by line as not_a_url, and the run exit 0
		return nil, fmt.Errorf("%s: %w (compressed with %s)", name, ErrMeguri, in.Compression)
	}
	return in, nil
}

// gzipMembers reads the gzip members of br one after another, as gzip -d
// does: zero bytes after the last member (padding to a block size, from a
// tape or a tool that writes whole blocks) are its end, not damage; any
// other byte there is named as what it is.
type gzipMembers struct {
	zr  *gzip.Reader
	br  *bufio.Reader
	err error // sticky, as the gzip reader's own: a Peek that met it drops it
}

func (g *gzipMembers) Read(p []byte) (n int, err error) {
	if g.err != nil {
		return 0, g.err
	}
	n, g.err = g.read(p)
	return n, g.err
}

func (g *gzipMembers) read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if err != io.EOF {
			return n, err
		}
		// a member ended (its reader takes no byte past it from br)
		next, _ := g.br.Peek(len(gzipMagic))
		switch {
		case len(next) == 0:
			return n, io.EOF
		case bytes.Equal(next, gzipMagic):
			if err := g.zr.Reset(g.br); err != nil {
				return n, err
			}
			g.zr.Multistream(false)
		default:
			return n, g.trailing()
		}
		if n > 0 {
			return n, nil
		}
	}
}

// trailing reads what follows the last member: io.EOF when it is all zero
// bytes.
func (g *gzipMembers) trailing() error {
	var total, nonzero int64 = 0, -1
	for {
		b, err := g.br.Peek(64 << 10)
		for i, c := range b {
			if c != 0 && nonzero < 0 {
				nonzero = total + int64(i)
			}
		}
		total += int64(len(b))
		g.br.Discard(len(b))
		if err == io.EOF || len(b) == 0 {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
	}
	if nonzero < 0 {
		return io.EOF
	}
	return fmt.Errorf("%d bytes after the last member are no gzip member (byte %d of them is not zero padding)", total, nonzero)
}

// afterSkippable returns head past the skippable frames it starts with
// (magic 0x184D2A50 to 0x184D2A5F little-endian, a 4-byte length, that
// many bytes), which zstd and lz4 both define; cut when one runs past the
// end of head.
func afterSkippable(head []byte) (rest []byte, cut bool) {
	for len(head) >= 8 && head[0]&0xf0 == 0x50 && bytes.Equal(head[1:4], []byte{0x2a, 0x4d, 0x18}) {
		n := uint64(binary.LittleEndian.Uint32(head[4:]))
		if n > uint64(len(head)-8) {
			return nil, true
		}
		head = head[8+n:]
	}
	return head, false
}

// otherCompression names the compression or archive format a stream
// starting with head is in, among those Open does not read ("" for none
// of them).
func otherCompression(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return "xz"
	case len(head) >= 10 && bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9' &&
		(bytes.Equal(head[4:10], []byte("1AY&SY")) || bytes.Equal(head[4:10], []byte("\x17rE8P\x90"))):
		return "bzip2"
	case bytes.HasPrefix(head, []byte("\x04\x22\x4d\x18")):
		return "lz4"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "zip"
	case bytes.HasPrefix(head, []byte("7z\xbc\xaf\x27\x1c")):
		return "7z"
	}
	return ""
}

// unpackHint is how to decompress each of otherCompression's formats
// onto stdout, for a tool to read from there.
var unpackHint = map[string]string{
	"xz":    "xz -dc FILE | ...",
	"bzip2": "bzip2 -dc FILE | ...",
	"lz4":   "lz4 -dc FILE | ...",
	"zip":   "unzip -p FILE | ...",
	"7z":    "7z x -so FILE | ...",
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// peekDecoded returns up to n bytes of the decompressed start of the
// stream, leaving them to be read.
func peekDecoded(in *Input, n int) ([]byte, error) {
	br, ok := in.r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(in.r, 64<<10)
		in.r = br
	}
	return br.Peek(n)
}

// wideText names the encoding whose byte-order mark head starts with,
// among UTF-16 and UTF-32 ("" for none).
func wideText(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xfe\x00\x00")):
		return "UTF-32LE"
	case bytes.HasPrefix(head, []byte("\x00\x00\xfe\xff")):
		return "UTF-32BE"
	case bytes.HasPrefix(head, []byte("\xff\xfe")):
		return "UTF-16LE"
	case bytes.HasPrefix(head, []byte("\xfe\xff")):
		return "UTF-16BE"
	}
	return ""
}

// looksTar reports whether a stream starting with head is a tar archive:
// a POSIX (ustar, pax) or GNU header's magic at offset 257.
func looksTar(head []byte) bool {
	return len(head) >= 263 && bytes.Equal(head[257:262], []byte("ustar"))
}

// looksWebArchive reports whether a stream starting with head holds a
// crawl's records: a WARC record's version line, or an ARC file's version
// block, whose first line is "filedesc://NAME IP DATE MIME LENGTH" (a
// CDX line of that record has other fields).
func looksWebArchive(head []byte) bool {
	if bytes.HasPrefix(head, []byte("WARC/1.0\r\n")) || bytes.HasPrefix(head, []byte("WARC/1.1\r\n")) {
		return true
	}
	line, _, _ := bytes.Cut(head, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) != 5 || !strings.HasPrefix(f[0], "filedesc://") || len(f[2]) != 14 {
		return false
	}
	_, err := netip.ParseAddr(f[1])
	return err == nil
}

// looksHTML reports whether a stream starting with head is a web page.
func looksHTML(head []byte) bool {
	h := strings.ToLower(strings.TrimSpace(string(head)))
	return strings.HasPrefix(h, "<!doctype") || strings.HasPrefix(h, "<html") || strings.HasPrefix(h, "<?xml")
}

func preview(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

// LineReader splits a stream into lines, counting them from 1, and hands out
// lines over the limit as too long without holding them whole.
type LineReader struct {
	br   *bufio.Reader
	read int64 // bytes consumed, newlines included
	max  int
	line int64
	buf  []byte
	open bool // the last line returned ended the stream without a newline
}

// NewLineReader reads lines of at most max bytes (newline excluded) from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	size := 1 << 20
	if max+1 < size {
		size = max + 1
	}
	if size < 4096 {
		size = 4096
	}
	return &LineReader{br: getReader(r, size), max: max}
}

// Close hands the reader's buffer on to the next input's; the
// LineReader is not used after it.
func (lr *LineReader) Close() {
	putReader(lr.br)
	lr.br = nil
}

// readers holds idle buffered readers of pooledSize, so that a run over
// thousands of small inputs reuses a few buffers instead of allocating
// two of 1 MiB for each (and spending its time collecting them).
var readers = freelist.New(4, func() *bufio.Reader { return bufio.NewReaderSize(nil, pooledSize) })

const pooledSize = 1 << 20

// getReader returns a buffered reader of r with a buffer of size bytes.
func getReader(r io.Reader, size int) *bufio.Reader {
	if size != pooledSize {
		return bufio.NewReaderSize(r, size)
	}
	br := readers.Get()
	br.Reset(r)
	return br
}

// putReader gives br back for reuse once nothing reads through it.
func putReader(br *bufio.Reader) {
	if br != nil && br.Size() == pooledSize {
		br.Reset(nil)
		readers.Put(br)
	}
}

// Unterminated reports whether the last line Next returned ended the
// stream without a newline: what a stream cut short ends with (a
// download that failed in a pipe), or a file written without a last
// newline.
func (lr *LineReader) Unterminated() bool { return lr.open }

// LooksCut reports whether line, a stream's last line and one without a
// line end (LineReader.Unterminated), may have been cut short: it is no
// blank line and no whole JSON object or row. A JSON line cut short does
// not parse, and is named as such anyway.
func LooksCut(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) > 0 && t[len(t)-1] != '}' && t[len(t)-1] != ']'
}

// Cut counts the inputs whose last line LooksCut, naming the first of
// those lines: a stream cut short (curl or zcat failing in a pipe, whose
// exit status the pipe hides) ends so.
type Cut struct {
	Inputs int64
	Source string // the first such input
	Line   int64  // its last line's number
}

// Add counts an input that ends inside its line number line.
func (c *Cut) Add(source string, line int64) {
	if c.Inputs == 0 {
		c.Source, c.Line = source, line
	}
	c.Inputs++
}

// Warning is what a tool says of the inputs c counts: that a stream cut
// short ends so, and why a pipe would not say.
func (c Cut) Warning() string {
	return c.Where() + ": a stream cut short ends so (a download or zcat that failed in a pipe, which the pipe's exit status hides: set -o pipefail), and the line was read as it is; if the input is whole, ignore this"
}

// Refusal is the error of a run that will not keep what it read of the
// inputs c counts, as it would with them whole: why says what keeping it
// would do, again what to run again once the input is whole.
func (c Cut) Refusal(why, again string) error {
	return fmt.Errorf("%s, as a stream cut short does (a download or zcat that failed in a pipe): %s: fetch it whole and %s it again (or give --allow-unterminated if it is whole without a last line end)",
		c.Where(), why, again)
}

// Where names the inputs that ended inside a line: the input and its
// line, or how many there were and the first.
func (c Cut) Where() string {
	if c.Inputs > 1 {
		return fmt.Sprintf("%d inputs end inside a line, with no line end (the first, %s, its line %d)", c.Inputs, c.Source, c.Line)
	}
	return fmt.Sprintf("%s ends inside its line %d, with no line end", c.Source, c.Line)
}

// Offset returns the bytes consumed so far, newlines included.
func (lr *LineReader) Offset() int64 { return lr.read }

// Next returns the next line without its newline (a carriage return before
// it stays: lines are passed on and written out verbatim, and the parser
// ignores it), its 1-based number, and whether it exceeded the limit, in
// which case line holds only its first max bytes. It returns io.EOF after
// the last line.
func (lr *LineReader) Next() (line []byte, num int64, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	tooLong = false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		lr.read += int64(len(chunk))
		if len(lr.buf)+len(chunk) <= lr.max+1 {
			lr.buf = append(lr.buf, chunk...)
		} else {
			if room := lr.max - len(lr.buf); room > 0 {
				lr.buf = append(lr.buf, chunk[:room]...)
			}
			tooLong = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(lr.buf) == 0 && !tooLong {
			return nil, lr.line, false, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, lr.line + 1, false, err
		}
		lr.line++
		b := lr.buf
		lr.open = err == io.EOF
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
		}
		if len(b) > lr.max {
			b, tooLong = b[:lr.max], true
		}
		return b, lr.line, tooLong, nil
	}
}
