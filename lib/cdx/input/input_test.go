package input

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// FuzzInput: whatever bytes an input holds (plain, gzip, zstd, damaged or
// cut short, a web page, a .meguri), opening it and reading its lines ends
// in lines or an error, never a panic. Plain text that opens reads back
// whole: the lines and their newlines are every byte, and each line is the
// text up to its newline (cut at the limit when too long).
func FuzzInput(f *testing.F) {
	lines := []byte("{\"url\": \"http://example.com/\"}\ncom,example)/ 20240101000000 {\"url\": \"http://example.com/a\"}\n\nno newline at the end")
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(lines)
	zw.Close()
	ze, _ := zstd.NewWriter(&zs)
	ze.Write(lines)
	ze.Close()
	f.Add(lines, 16)
	f.Add(gz.Bytes(), 64)
	f.Add(gz.Bytes()[:gz.Len()/2], 64)
	f.Add(zs.Bytes(), 1<<20)
	f.Add(zs.Bytes()[:zs.Len()-3], 64)
	f.Add([]byte("<!DOCTYPE html>\n<html></html>\n"), 64)
	f.Add([]byte("\x89MGR\r\n\x1a\n"), 64)
	f.Add([]byte("\x1f\x8b"), 64)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1<<20 {
			max = 1 + max&0xffff
		}
		in, err := NewInput("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		defer in.Close()
		lr := NewLineReader(in, max)
		var got [][]byte
		for {
			line, num, tooLong, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if in.Compression == Plain {
					t.Fatalf("plain input: %v", err)
				}
				return
			}
			if num != int64(len(got)+1) || len(line) > max || tooLong && len(line) != max {
				t.Fatalf("line %d (want %d), %d bytes, limit %d, too long %v", num, len(got)+1, len(line), max, tooLong)
			}
			got = append(got, bytes.Clone(line))
		}
		if in.Compression != Plain {
			return
		}
		if lr.Offset() != int64(len(data)) {
			t.Fatalf("read %d of %d bytes", lr.Offset(), len(data))
		}
		want := bytes.SplitAfter(data, []byte("\n"))
		if len(want[len(want)-1]) == 0 {
			want = want[:len(want)-1]
		}
		if len(got) != len(want) {
			t.Fatalf("%d lines, want %d", len(got), len(want))
		}
		for i, w := range want {
			w = bytes.TrimSuffix(w, []byte("\n"))
			if len(w) > max {
				w = w[:max]
			}
			if !bytes.Equal(got[i], w) {
				t.Fatalf("line %d: %q, want %q", i+1, got[i], w)
			}
		}
	})
}

// TestInputTooLong: a line over the limit comes back cut at the limit and
// flagged, and the next line is read whole after it.
func TestInputTooLong(t *testing.T) {
	in, err := NewInput("x", bytes.NewReader([]byte("abcdefgh\nxy\n")))
	if err != nil {
		t.Fatal(err)
	}
	lr := NewLineReader(in, 4)
	l, n, long, err := lr.Next()
	if string(l) != "abcd" || n != 1 || !long || err != nil {
		t.Fatalf("first: %q %d %v %v", l, n, long, err)
	}
	l, n, long, err = lr.Next()
	if string(l) != "xy" || n != 2 || long || err != nil {
		t.Fatalf("second: %q %d %v %v", l, n, long, err)
	}
	if _, _, _, err := lr.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
}

// Peek at a FIFO keeps what it read for Open: the input reads whole from
// its start (a second open of a pipe would begin past the bytes looked
// at), here gzip, whose magic is in those bytes.
func TestPeekPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	text := "{\"url\": \"http://example.com/\"}\n{\"url\": \"http://example.com/a\"}\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(text))
	zw.Close()
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(gz.Bytes())
		f.Close()
	}()
	for range 2 {
		head, err := Peek(path, 8)
		if err != nil || !bytes.Equal(head, gz.Bytes()[:8]) {
			t.Fatalf("Peek: %x, %v; want %x", head, err, gz.Bytes()[:8])
		}
	}
	in, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	b, err := io.ReadAll(in)
	if err != nil || string(b) != text || in.Compression != Gzip {
		t.Fatalf("read %q (%s), %v; want %q, gzip", b, in.Compression, err, text)
	}
}

// Compressions Open does not read are named, with the way to decompress,
// instead of read as text: every line would be rejected, and a run would
// exit 0 with an empty output. The heads are those of real files.
func TestOtherCompressions(t *testing.T) {
	for _, c := range []struct{ head, name string }{
		{"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4F", "xz"},
		{"BZh91AY&SY\xf0\xf3g\xfe", "bzip2"},
		{"BZh9\x17rE8P\x90\x00\x00\x00\x00", "bzip2"}, // an empty stream
		{"\x04\x22\x4d\x18\x64\x40\xa7", "lz4"},
		{"PK\x03\x04\x14\x00\x00\x00\x08\x00", "zip"},
		{"7z\xbc\xaf\x27\x1c\x00\x04", "7z"},
	} {
		_, err := NewInput("in", bytes.NewReader([]byte(c.head)))
		if want := "in: compressed with " + c.name + ", which is not read here (plain, gzip and zstd are): decompress it first (" + unpackHint[c.name] + ")"; err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", c.head, err, want)
		}
	}
	// a WACZ is a zip whose CDX is inside: named, with the way to it
	_, err := NewInput("crawl.WACZ", bytes.NewReader([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00")))
	if want := "crawl.WACZ: a WACZ (a zip), not CDX lines: its index of captures is inside it, indexes/index.cdx.gz or index.cdxj; read that (unzip -p FILE 'indexes/*.cdx*' | ...)"; err == nil || err.Error() != want {
		t.Errorf("a WACZ: %v, want %s", err, want)
	}
	// text that merely starts with the letters is text
	for _, text := range []string{"BZh9 is a line\n", "PK is a line\n", "7z a line\n"} {
		if _, err := NewInput("in", bytes.NewReader([]byte(text))); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// A zstd frame whose window is larger than the decoder takes (zstd
// --long=31 writes 2 GiB ones) is named as such, with the way through,
// not called damaged; one of 512 MiB is read. The frames are written by
// hand: a header naming the window, then one raw block.
func TestLongWindow(t *testing.T) {
	frame := func(windowDescriptor byte, content string) []byte {
		b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, windowDescriptor}
		h := len(content)<<3 | 1 // a raw block, the last
		return append(append(b, byte(h), byte(h>>8), byte(h>>16)), content...)
	}
	const line = "http://a.example/\n"
	read := func(b []byte) (string, error) {
		in, err := NewInput("in.zst", bytes.NewReader(b))
		if err != nil {
			return "", err
		}
		defer in.Close()
		got, err := io.ReadAll(in)
		return string(got), err
	}
	// window descriptor: exponent << 3, the window 2^(10+exponent)
	if got, err := read(frame(19<<3, line)); err != nil || got != line {
		t.Errorf("a 512 MiB window: %q, %v", got, err)
	}
	want := "zstd data compressed with a window over 512 MiB (zstd --long=30 or 31?), more than is read here: decompress it first (zstd -dc --long=31 FILE | ...)"
	for _, exp := range []byte{20, 21} {
		if _, err := read(frame(exp<<3, line)); err == nil || err.Error() != want {
			t.Errorf("a window of 2^%d: %v, want %s", 10+exp, err, want)
		}
	}
}

// Text in UTF-16 or UTF-32 (PowerShell's > writes UTF-16) is refused,
// naming the encoding and the conversion, compressed or not: read as
// bytes, every line would be rejected.
func TestWideText(t *testing.T) {
	line := "{\"url\": \"http://a.example/\"}\n"
	utf16le := []byte{0xff, 0xfe}
	for _, r := range line {
		utf16le = append(utf16le, byte(r), 0)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(utf16le)
	zw.Close()
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{utf16le, "in: is UTF-16LE text (it starts with that byte-order mark), not UTF-8: convert it first (iconv -f UTF-16 -t UTF-8 FILE | ...)"},
		{gz.Bytes(), "in: is UTF-16LE text (it starts with that byte-order mark), not UTF-8: convert it first (iconv -f UTF-16 -t UTF-8 FILE | ...)"},
		{[]byte("\xfe\xff\x00{"), "in: is UTF-16BE text"},
		{[]byte("\xff\xfe\x00\x00{\x00\x00\x00"), "in: is UTF-32LE text"},
		{[]byte("\x00\x00\xfe\xff\x00\x00\x00{"), "in: is UTF-32BE text"},
	} {
		if _, err := NewInput("in", bytes.NewReader(c.b)); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want %s", c.b[:4], err, c.want)
		}
	}
	// UTF-8 with its byte-order mark is read
	if _, err := NewInput("in", bytes.NewReader([]byte("\xef\xbb\xbf"+line))); err != nil {
		t.Errorf("UTF-8 with a byte-order mark: %v", err)
	}
}

// Gzip members are read one after another; zero bytes after the last
// (padding to a block, as tapes and some tools write it; gzip -d ignores
// it) end the input, while any other byte there is named, with how many
// bytes follow the last member.
func TestGzipTrailing(t *testing.T) {
	const text = "http://a.example/\nhttp://b.example/\n"
	var member bytes.Buffer
	zw := gzip.NewWriter(&member)
	zw.Write([]byte(text))
	zw.Close()
	two := append(bytes.Clone(member.Bytes()), member.Bytes()...)
	for name, c := range map[string]struct {
		b       []byte
		want    string
		wantErr string
	}{
		"one member":                   {member.Bytes(), text, ""},
		"two members":                  {two, text + text, ""},
		"zero padding":                 {append(bytes.Clone(two), make([]byte, 100<<10)...), text + text, ""},
		"garbage after the last":       {append(bytes.Clone(two), "garbage\n"...), text + text, "8 bytes after the last member are no gzip member (byte 0 of them is not zero padding)"},
		"padding, then garbage":        {append(append(bytes.Clone(member.Bytes()), make([]byte, 10)...), 'x'), text, "11 bytes after the last member are no gzip member (byte 10 of them is not zero padding)"},
		"a header cut short after one": {append(bytes.Clone(member.Bytes()), member.Bytes()[:10]...), text, "gzip data damaged or cut short: unexpected EOF"},
	} {
		in, err := NewInput("in.gz", bytes.NewReader(c.b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(in)
		in.Close()
		if string(got) != c.want || c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.HasSuffix(err.Error(), c.wantErr)) {
			t.Errorf("%s: %q, %v; want %q, error ending %q", name, got, err, c.want, c.wantErr)
		}
	}
}

// A zstd frame that names a dictionary (zstd -D) is named as such, with
// the way through, not called damaged. The frame is written by hand: a
// header with a one-byte dictionary id, then one raw block.
func TestZstdDictionary(t *testing.T) {
	const line = "http://a.example/\n"
	h := len(line)<<3 | 1
	b := append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x01, 10 << 3, 7, byte(h), byte(h >> 8), byte(h >> 16)}, line...)
	in, err := NewInput("in.zst", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	_, err = io.ReadAll(in)
	if want := "zstd data compressed with a dictionary (zstd -D), which is not read here: decompress it first (zstd -dc -D DICT FILE | ...)"; err == nil || err.Error() != want {
		t.Errorf("%v, want %s", err, want)
	}
}

// Skippable frames before the first zstd frame (pzstd writes one before
// every frame, holding its size; a seekable archive may start with one)
// do not hide the zstd behind them: the content reads back whole, also
// when the first skippable frame is longer than the bytes peeked. Behind
// them an lz4 frame is still named as such.
func TestSkippableFrames(t *testing.T) {
	const text = "http://a.example/\nhttp://b.example/\n"
	enc, _ := zstd.NewWriter(nil)
	z := enc.EncodeAll([]byte(text), nil)
	skippable := func(magic byte, n int) []byte {
		return append([]byte{magic, 0x2a, 0x4d, 0x18, byte(n), byte(n >> 8), 0, 0}, bytes.Repeat([]byte{'x'}, n)...)
	}
	// pzstd's: a 4-byte frame size before each frame
	size := []byte{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, byte(len(z)), byte(len(z) >> 8), 0, 0}
	pz := append(append(append(append([]byte{}, size...), z...), size...), z...)
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"pzstd":                           {pz, text + text},
		"a skippable frame of 2000":       {append(skippable(0x5e, 2000), z...), text},
		"two skippable frames, then zstd": {append(append(skippable(0x50, 3), skippable(0x5f, 0)...), z...), text},
	} {
		in, err := NewInput("in.zst", bytes.NewReader(c.b))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, err := io.ReadAll(in)
		in.Close()
		if err != nil || string(got) != c.want || in.Compression != Zstd {
			t.Errorf("%s: %q, %v, %s", name, got, err, in.Compression)
		}
	}
	lz4 := append(skippable(0x51, 3), "\x04\x22\x4d\x18\x64\x40\xa7"...)
	if _, err := NewInput("in", bytes.NewReader(lz4)); err == nil || !strings.HasPrefix(err.Error(), "in: compressed with lz4, ") {
		t.Errorf("lz4 behind a skippable frame: %v", err)
	}
}

// A crawl's records (WARC, or an ARC's version block) are not an index of
// them: refused, naming what to give instead. A CDX line indexing an ARC's
// filedesc record is CDX.
func TestWebArchiveRefused(t *testing.T) {
	for _, head := range []string{
		"WARC/1.0\r\nWARC-Type: warcinfo\r\n",
		"WARC/1.1\r\nWARC-Type: response\r\n",
		"filedesc://IAH-20080430204825-00000-blackbook.arc 0.0.0.0 20080430204825 text/plain 76\n1 1 InternetArchive\n",
	} {
		_, err := NewInput("in", bytes.NewReader([]byte(head)))
		if err == nil || !strings.HasPrefix(err.Error(), "in: is a web archive (WARC or ARC records), not CDX lines: give its CDX index") {
			t.Errorf("%q: %v", head, err)
		}
	}
	if _, err := NewInput("in", bytes.NewReader([]byte("PAR1\x15\x04\x15\x80"))); err == nil || !strings.HasPrefix(err.Error(), "in: is a Parquet file (Common Crawl's columnar index?), not CDX lines: ") {
		t.Errorf("Parquet: %v", err)
	}
	// tar archives as tar writes them, plain and gzipped (GNU tar's own
	// header, "ustar  \x00", and POSIX's, "ustar\x0000")
	for _, gnu := range []bool{true, false} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		h := &tar.Header{Name: "cdx-00000", Mode: 0o644, Size: 2, Format: tar.FormatUSTAR}
		if gnu {
			h.Format = tar.FormatGNU
		}
		tw.WriteHeader(h)
		tw.Write([]byte("a\n"))
		tw.Close()
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b.Bytes())
		zw.Close()
		for _, in := range [][]byte{b.Bytes(), z.Bytes()} {
			_, err := NewInput("in", bytes.NewReader(in))
			if want := "in: is a tar archive, not CDX lines: give its files, or stream them in one (tar -xOf FILE | ...)"; err == nil || err.Error() != want {
				t.Errorf("tar (GNU %v): %v, want %s", gnu, err, want)
			}
		}
	}
	cdxLine := "filedesc://IAH-2008.arc 20080430204825 filedesc://IAH-2008.arc text/plain - XYZ - - 76 0 IAH.arc.gz\n"
	if _, err := NewInput("in", bytes.NewReader([]byte(cdxLine))); err != nil {
		t.Errorf("a CDX line of a filedesc record: %v", err)
	}
}

func TestLineReader(t *testing.T) {
	in := "a\r\nbb\n\n" + strings.Repeat("x", 100) + "\nlast"
	lr := NewLineReader(strings.NewReader(in), 10)
	var got []string
	for {
		l, n, long, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(l)+"|"+string(rune('0'+n))+"|"+map[bool]string{true: "long", false: ""}[long])
	}
	want := []string{"a\r|1|", "bb|2|", "|3|", "xxxxxxxxxx|4|long", "last|5|"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v want %v", got, want)
	}
	// the last line had no newline; a stream that ends with one has none
	// open, nor has a too-long line that does
	if !lr.Unterminated() {
		t.Error("a last line without a newline is not told")
	}
	for _, in := range []string{"a\nb\n", "a\n" + strings.Repeat("y", 30) + "\n", ""} {
		lr := NewLineReader(strings.NewReader(in), 10)
		for {
			if _, _, _, err := lr.Next(); err != nil {
				break
			}
		}
		if lr.Unterminated() {
			t.Errorf("%q: told as ending inside a line", in)
		}
	}
}

// Fingerprint returns the content's last bytes with its hash, however the
// reads fall: the whole of a short file, the tail of a long one.
func TestFingerprintTail(t *testing.T) {
	dir := t.TempDir()
	var text strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&text, "http://a.example/%d\n", i)
	}
	path := filepath.Join(dir, "in.txt")
	os.WriteFile(path, []byte(text.String()), 0o644)
	for _, n := range []int{1, 100, 64 << 10, 1 << 20} {
		f, err := Fingerprint(path, n, nil)
		want := text.String()[max(0, text.Len()-n):]
		if err != nil || f.Size != int64(text.Len()) || f.Hash != xxhash.Sum64String(text.String()) || string(f.Tail) != want || len(f.Prefixes) != 0 {
			t.Errorf("tail %d: %d bytes, %d bytes of tail, %v", n, f.Size, len(f.Tail), err)
		}
	}
}

// TestPrefixes: for each size, in the order given, whether the content
// (decompressed) reaches it, and then the hash of that much of it, its
// newlines and its last byte; stdin and pipes are refused, as they read
// once.
func TestPrefixes(t *testing.T) {
	content := []byte("a\nbb\nccc\r\nd")
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, content, 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content[:5])
	zw.Close()
	zw = gzip.NewWriter(&gz) // a second member
	zw.Write(content[5:])
	zw.Close()
	packed := filepath.Join(dir, "packed.gz")
	os.WriteFile(packed, gz.Bytes(), 0o644)
	sizes := []int64{10, 2, 0, 11, 12, 5}
	for _, name := range []string{plain, packed} {
		got, err := Prefixes(name, sizes)
		if err != nil {
			t.Fatal(err)
		}
		// Fingerprint finds them alike, reading the file whole
		f, err := Fingerprint(name, 4, sizes)
		if err != nil || !slices.Equal(f.Prefixes, got) || f.Size != int64(len(content)) {
			t.Errorf("%s: Fingerprint's prefixes %+v, size %d, %v; Prefixes' %+v", name, f.Prefixes, f.Size, err, got)
		}
		for i, p := range got {
			n := sizes[i]
			want := Prefix{Size: n}
			if n <= int64(len(content)) {
				want = Prefix{Size: n, Reached: true, Hash: xxhash.Sum64(content[:n]), Lines: int64(bytes.Count(content[:n], []byte("\n")))}
				if n > 0 {
					want.Last = content[n-1]
				}
			}
			if p != want {
				t.Errorf("%s, size %d: %+v; want %+v", name, n, p, want)
			}
		}
	}
	if _, err := Prefixes("-", sizes); !errors.Is(err, ErrReadsOnce) {
		t.Errorf("stdin: %v", err)
	}
}

// TestPrefixWriterChunks: the prefixes found do not depend on how the
// bytes are cut into writes.
func TestPrefixWriterChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		content := make([]byte, rng.IntN(300))
		for i := range content {
			content[i] = "ab\n\r"[rng.IntN(4)]
		}
		sizes := make([]int64, rng.IntN(6))
		for i := range sizes {
			sizes[i] = int64(rng.IntN(len(content) + 3))
		}
		pw := newPrefixWriter(sizes)
		for b := content; len(b) > 0; {
			n := min(len(b), 1+rng.IntN(40))
			pw.Write(b[:n])
			b = b[n:]
		}
		for i, n := range sizes {
			want := Prefix{Size: n}
			if n <= int64(len(content)) {
				want = Prefix{Size: n, Reached: true, Hash: xxhash.Sum64(content[:n]), Lines: int64(bytes.Count(content[:n], []byte("\n")))}
				if n > 0 {
					want.Last = content[n-1]
				}
			}
			if pw.out[i] != want {
				t.Fatalf("content %q, sizes %v: size %d gave %+v; want %+v", content, sizes, n, pw.out[i], want)
			}
		}
	}
}
