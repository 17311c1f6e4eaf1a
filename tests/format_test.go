package tests

// An independent reader of .meguri files, written from docs/FORMAT.md alone:
// it imports nothing of meguri's, only the hash and the zstd decoder the
// document names. TestFormatDocReader holds the document to the files the
// tools write: if the document leaves out or misstates a field, this reader
// disagrees with meguri-inspect and the test says where.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// docRow has the fields and spellings of meguri-inspect --rows.
type docRow struct {
	URL         string  `json:"url"`
	HostKey     string  `json:"host_key"`
	PathKey     string  `json:"path_key"`
	Status      string  `json:"status"`
	HTTPStatus  uint64  `json:"http_status"`
	FirstSeen   *string `json:"first_seen"`
	LastSeen    *string `json:"last_seen"`
	Captures    uint64  `json:"captures"`
	Changes     uint64  `json:"changes"`
	Digest      *string `json:"digest"`
	FirstDigest *string `json:"first_digest"`
	Mime        string  `json:"mime"`
	Length      uint64  `json:"length"`
	Redirect    string  `json:"redirect"`
}

// docFile is what the reader found besides the rows.
type docFile struct {
	version                     uint16
	partition, lo, hi           uint64
	urls, hosts, captures, gone uint64
	blocks                      int
	columns                     []string
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func docCRC(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// cur reads little-endian fields and uvarints, failing softly.
type cur struct {
	b   []byte
	off int
	err error
}

func (c *cur) take(n int) []byte {
	if c.err != nil || n < 0 || c.off+n > len(c.b) {
		if c.err == nil {
			c.err = fmt.Errorf("short read of %d bytes at %d", n, c.off)
		}
		return make([]byte, max(n, 0))
	}
	p := c.b[c.off : c.off+n]
	c.off += n
	return p
}
func (c *cur) u8() uint8   { return c.take(1)[0] }
func (c *cur) u16() uint16 { return binary.LittleEndian.Uint16(c.take(2)) }
func (c *cur) u32() uint32 { return binary.LittleEndian.Uint32(c.take(4)) }
func (c *cur) u64() uint64 { return binary.LittleEndian.Uint64(c.take(8)) }
func (c *cur) uvarint() uint64 {
	if c.err != nil {
		return 0
	}
	v, n := binary.Uvarint(c.b[c.off:])
	if n <= 0 {
		c.err = fmt.Errorf("bad uvarint at %d", c.off)
		return 0
	}
	c.off += n
	return v
}

// zone is a block's zone data: header offsets 8 to 60+F+L.
type zone struct {
	rows, runs        uint32
	cols, flags       uint16
	firstKey, lastKey uint64
	captures, gone    uint64
	firstURL, lastURL string
}

func (c *cur) zone() zone {
	var z zone
	z.rows, z.runs = c.u32(), c.u32()
	z.cols, z.flags = c.u16(), c.u16()
	z.firstKey, z.lastKey = c.u64(), c.u64()
	z.captures, z.gone = c.u64(), c.u64()
	z.firstURL = string(c.take(int(c.u32())))
	z.lastURL = string(c.take(int(c.u32())))
	return z
}

// docHost is the host of a canonical URL by the document's rule.
func docHost(u string) (host string, start int) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", 0
	}
	start = i + 3
	auth := u[start:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	if j := strings.LastIndexByte(auth, '@'); j >= 0 {
		start += j + 1
		auth = auth[j+1:]
	}
	if strings.HasPrefix(auth, "[") {
		if j := strings.IndexByte(auth, ']'); j >= 0 {
			return auth[:j+1], start
		}
		return auth, start
	}
	if j := strings.IndexByte(auth, ':'); j >= 0 {
		auth = auth[:j]
	}
	return auth, start
}

var docStatus = []string{"discovered", "crawled", "redirect", "gone", "error", "revisit", "unknown"}

func docKey(k uint64) string { return fmt.Sprintf("0x%016x", k) }

// docRead reads a whole .meguri file.
func docRead(b []byte) (*docFile, []docRow, error) {
	if len(b) < 64+80 {
		return nil, nil, errors.New("shorter than header and trailer")
	}
	var f docFile
	h := &cur{b: b[:64]}
	if !bytes.Equal(h.take(8), []byte("\x89MGR\r\n\x1a\n")) {
		return nil, nil, errors.New("header magic")
	}
	f.version = h.u16()
	h.u8() // grouping
	shift := h.u8()
	h.take(4)
	f.partition, f.lo, f.hi = h.u64(), h.u64(), h.u64()
	h.take(20)
	if h.u32() != docCRC(b[:60]) {
		return nil, nil, errors.New("header CRC")
	}
	if f.version != 1 && f.version != 2 {
		return nil, nil, fmt.Errorf("version %d", f.version)
	}

	t := &cur{b: b[len(b)-80:]}
	footOff, footLen := t.u64(), t.u64()
	f.urls, f.hosts, f.captures, f.gone = t.u64(), t.u64(), t.u64(), t.u64()
	t.take(8)
	f.blocks = int(t.u32())
	footCRC, trailCRC := t.u32(), t.u32()
	if t.u32() != 0 {
		return nil, nil, errors.New("trailer reserved bytes 68..71 not zero")
	}
	if !bytes.Equal(t.take(8), []byte{0x0A, 0x1A, 0x0A, 0x0D, 0x52, 0x47, 0x4D, 0x89}) {
		return nil, nil, errors.New("trailer magic")
	}
	if trailCRC != docCRC(b[len(b)-80:len(b)-16]) {
		return nil, nil, errors.New("trailer CRC")
	}
	if footOff+footLen != uint64(len(b)-80) {
		return nil, nil, errors.New("footer does not end at the trailer")
	}
	footer := b[footOff : footOff+footLen]
	if docCRC(footer) != footCRC {
		return nil, nil, errors.New("footer CRC (over the whole footer, magic and length included)")
	}

	// the footer's block index
	fc := &cur{b: footer}
	if string(fc.take(4)) != "MGFT" || uint64(fc.u32()) != footLen-8 {
		return nil, nil, errors.New("footer magic or body length")
	}
	if n := int(fc.u32()); n != f.blocks {
		return nil, nil, fmt.Errorf("footer has %d blocks, trailer %d", n, f.blocks)
	}
	type entry struct {
		off, length uint64
		z           zone
	}
	index := make([]entry, f.blocks)
	for i := range index {
		index[i].off, index[i].length = fc.u64(), fc.u64()
		index[i].z = fc.zone()
	}
	for n := int(fc.u16()); n > 0 && fc.err == nil; n-- {
		id := fc.u8()
		f.columns = append(f.columns, fmt.Sprintf("%d:%s", id, fc.take(int(fc.u8()))))
	}
	if fc.err != nil || fc.off != len(footer) {
		return nil, nil, fmt.Errorf("footer body: %v, %d of %d bytes read", fc.err, fc.off, len(footer))
	}

	dec, err := zstd.NewReader(nil)
	if err != nil {
		return nil, nil, err
	}
	defer dec.Close()

	// the blocks, front to back as a pipe reader would take them
	var rows []docRow
	var hosts uint64
	prevLast := uint64(0)
	off := uint64(64)
	for bi := 0; off < footOff; bi++ {
		if bi >= f.blocks {
			return nil, nil, errors.New("more blocks than the index lists")
		}
		c := &cur{b: b[off:footOff]}
		if string(c.take(4)) != "MGBK" {
			return nil, nil, fmt.Errorf("block %d magic", bi)
		}
		hlen := int(c.u32())
		z := c.zone()
		type desc struct {
			id, codec   uint8
			raw, stored uint32
			crc         uint32
		}
		ds := make([]desc, z.cols)
		for i := range ds {
			ds[i].id, ds[i].codec = c.u8(), c.u8()
			c.take(2)
			ds[i].raw, ds[i].stored, ds[i].crc = c.u32(), c.u32(), c.u32()
		}
		if c.err != nil || c.off != hlen-4 || c.u32() != docCRC(c.b[:hlen-4]) {
			return nil, nil, fmt.Errorf("block %d header (length or CRC)", bi)
		}
		if e := index[bi]; e.off != off || !reflect.DeepEqual(e.z, z) {
			return nil, nil, fmt.Errorf("block %d: footer index disagrees with its header", bi)
		}
		pages := map[uint8][]byte{}
		for _, d := range ds {
			stored := c.take(int(d.stored))
			if c.err != nil || docCRC(stored) != d.crc {
				return nil, nil, fmt.Errorf("block %d column %d: page CRC", bi, d.id)
			}
			raw := stored
			if d.codec == 1 {
				if raw, err = dec.DecodeAll(stored, nil); err != nil {
					return nil, nil, fmt.Errorf("block %d column %d: %v", bi, d.id, err)
				}
			}
			if len(raw) != int(d.raw) {
				return nil, nil, fmt.Errorf("block %d column %d: raw length", bi, d.id)
			}
			pages[d.id] = raw
		}
		if uint64(c.off) != index[bi].length {
			return nil, nil, fmt.Errorf("block %d: length %d, index says %d", bi, c.off, index[bi].length)
		}
		br, err := docBlock(f.version, int(z.rows), pages)
		if err != nil {
			return nil, nil, fmt.Errorf("block %d: %v", bi, err)
		}
		if br[0].URL != z.firstURL || br[len(br)-1].URL != z.lastURL ||
			br[0].HostKey != docKey(z.firstKey) || br[len(br)-1].HostKey != docKey(z.lastKey) {
			return nil, nil, fmt.Errorf("block %d: first/last row disagree with the zone data", bi)
		}
		if err := docEnds(br, z, shift, off+uint64(c.off) == footOff); err != nil {
			return nil, nil, fmt.Errorf("block %d: %v", bi, err)
		}
		hosts += uint64(z.runs)
		if bi > 0 && z.firstKey == prevLast {
			hosts--
		}
		prevLast = z.lastKey
		rows = append(rows, br...)
		off += uint64(c.off)
	}
	if off != footOff || hosts != f.hosts || uint64(len(rows)) != f.urls {
		return nil, nil, fmt.Errorf("blocks end at %d (footer at %d), %d hosts and %d rows (trailer: %d, %d)",
			off, footOff, hosts, len(rows), f.hosts, f.urls)
	}
	return &f, rows, nil
}

// docEnds checks that a block ends where "Where blocks end" says a writer
// ends one: at the first row that meets a rule, or (the file's last block
// only) at the last row.
func docEnds(rows []docRow, z zone, shift uint8, lastBlock bool) error {
	mask := uint64(1)<<shift - 1
	minRows, maxRows := 1<<shift/8, 4<<shift
	size := 0
	for i := range rows {
		size += len(rows[i].URL) + len(rows[i].Redirect)
		n := i + 1
		content := n >= minRows && xxhash.Sum64String(rows[i].URL)&mask == 0
		ends := content || n == maxRows || size >= 16<<20
		if i < len(rows)-1 && ends {
			return fmt.Errorf("a rule ends the block after row %d, but it goes on to %d rows", n, len(rows))
		}
		if i == len(rows)-1 {
			if content != (z.flags&1 == 1) {
				return fmt.Errorf("flag bit 0 is %d, the content rule says %v", z.flags&1, content)
			}
			if !ends && !lastBlock {
				return fmt.Errorf("no rule ends the block after its %d rows, and it is not the file's last", n)
			}
		}
	}
	return nil
}

// docBlock decodes one block's pages (column id -> decoded bytes).
func docBlock(version uint16, n int, pages map[uint8][]byte) ([]docRow, error) {
	rows := make([]docRow, n)
	col := func(id uint8) *cur { return &cur{b: pages[id]} }

	// 2: url
	uc := col(2)
	prefix := make([]int, n)
	if version == 2 {
		for i := range prefix {
			prefix[i] = int(uc.uvarint())
		}
	}
	prev := ""
	for i := range rows {
		if version == 1 {
			prefix[i] = int(uc.uvarint())
		}
		end := bytes.IndexByte(uc.b[uc.off:], 0)
		if end < 0 || prefix[i] > len(prev) {
			return nil, fmt.Errorf("url column at row %d", i)
		}
		rows[i].URL = prev[:prefix[i]] + string(uc.take(end))
		uc.take(1)
		prev = rows[i].URL
	}

	// 1: host runs
	hc := col(1)
	keys := make([]uint64, 0, n)
	var key uint64
	for len(keys) < n && hc.err == nil {
		first := len(keys)
		if version == 2 {
			if g := int(hc.uvarint()); g == 0 {
				key = binary.BigEndian.Uint64(hc.take(8))
			} else {
				host, _ := docHost(rows[first].URL)
				if g > len(host) {
					return nil, fmt.Errorf("host run at row %d: g %d longer than %q", first, g, host)
				}
				key = xxhash.Sum64String(host[len(host)-g:])
			}
		} else if first == 0 {
			key = binary.BigEndian.Uint64(hc.take(8))
		} else {
			key += hc.uvarint()
		}
		run := int(hc.uvarint())
		if run < 1 || first+run > n {
			return nil, fmt.Errorf("host run at row %d of %d rows", first, run)
		}
		for range run {
			keys = append(keys, key)
		}
	}
	if hc.err != nil {
		return nil, hc.err
	}

	sc, hs, ls, fs := col(3), col(4), col(5), col(6)
	cp, ch, dg, fd := col(7), col(8), col(9), col(10)
	ln := col(12)
	mc := col(11)
	var mimes []string
	for k := mc.uvarint(); k > 0 && mc.err == nil; k-- {
		mimes = append(mimes, string(mc.take(int(mc.uvarint()))))
	}
	rc := col(13)
	redirLen := make([]int, n)
	for i := range redirLen {
		redirLen[i] = int(rc.uvarint())
	}
	stamp := func(sec uint64) *string {
		s := time.Unix(int64(sec), 0).UTC().Format("20060102150405")
		return &s
	}
	fp := func(v uint64) *string {
		if v == 0 {
			return nil
		}
		s := hex.EncodeToString(binary.BigEndian.AppendUint64(nil, v))
		return &s
	}
	for i := range rows {
		r := &rows[i]
		r.HostKey = docKey(keys[i])
		st := int(sc.u8())
		if st >= len(docStatus) {
			return nil, fmt.Errorf("row %d: status %d", i, st)
		}
		r.Status = docStatus[st]
		r.HTTPStatus = hs.uvarint()
		last, delta := ls.uvarint(), fs.uvarint()
		if last != 0 {
			r.LastSeen, r.FirstSeen = stamp(last), stamp(last-delta)
		}
		r.Captures, r.Changes = cp.uvarint(), ch.uvarint()
		d := dg.u64()
		first := d
		if r.Changes > 0 {
			first = fd.u64()
		}
		r.Digest, r.FirstDigest = fp(d), fp(first)
		m := int(mc.uvarint())
		if m >= len(mimes) {
			return nil, fmt.Errorf("row %d: mime index %d", i, m)
		}
		r.Mime = mimes[m]
		r.Length = ln.uvarint()
		r.Redirect = string(rc.take(redirLen[i]))

		// the path key: the URL with the grouping string cut out of its
		// host; the grouping string is the suffix of the host that hashes
		// to the host key
		host, start := docHost(r.URL)
		for g := len(host); g > 0; g-- {
			if g < len(host) && host[len(host)-g-1] != '.' {
				continue
			}
			if xxhash.Sum64String(host[len(host)-g:]) == keys[i] {
				cut := r.URL[:start+len(host)-g] + r.URL[start+len(host):]
				r.PathKey = docKey(xxhash.Sum64String(cut))
				break
			}
		}
	}
	for id, c := range map[uint8]*cur{2: uc, 3: sc, 4: hs, 5: ls, 6: fs, 7: cp, 8: ch, 9: dg, 10: fd, 11: mc, 12: ln, 13: rc, 1: hc} {
		if c.err != nil || c.off != len(c.b) {
			return nil, fmt.Errorf("column %d: %v, %d of %d bytes used", id, c.err, c.off, len(c.b))
		}
	}
	return rows, nil
}

// inspectRows is meguri-inspect --rows, parsed.
func inspectRows(t *testing.T, path string) []docRow {
	t.Helper()
	var rows []docRow
	for _, l := range bytes.Split(bytes.TrimSpace(mustRun(t, nil, "meguri-inspect", "--rows", path)), []byte("\n")) {
		var r docRow
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestFormatDocReader reads files with the reader above and checks every
// row against meguri-inspect, and the counts against meguri-inspect --json:
// both golden files (versions 2 and 1) and, with MEGURI_CORPUS, the whole
// corpus as ingest writes it.
func TestFormatDocReader(t *testing.T) {
	for _, path := range readableFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, rows, err := docRead(b)
		if err != nil {
			t.Fatalf("%s: the reader written from docs/FORMAT.md fails: %v", path, err)
		}
		want := inspectRows(t, path)
		if len(rows) != len(want) {
			t.Fatalf("%s: %d rows, meguri-inspect %d", path, len(rows), len(want))
		}
		for i := range rows {
			if !reflect.DeepEqual(rows[i], want[i]) {
				g, _ := json.Marshal(rows[i])
				t.Fatalf("%s row %d:\n doc reader    %s\n meguri-inspect %s", path, i, g, mustJSON(want[i]))
			}
		}
		var sum struct {
			Version   uint16 `json:"format_version"`
			Partition uint64 `json:"partition_id"`
			Lo        string `json:"host_key_lo"`
			Hi        string `json:"host_key_hi"`
			URLs      uint64 `json:"urls"`
			Hosts     uint64 `json:"hosts"`
			Captures  uint64 `json:"captures"`
			Gone      uint64 `json:"gone"`
			Blocks    int    `json:"blocks"`
		}
		if err := json.Unmarshal(mustRun(t, nil, "meguri-inspect", "--json", path), &sum); err != nil {
			t.Fatal(err)
		}
		got := sum
		got.Version, got.Partition, got.Lo, got.Hi = f.version, f.partition, docKey(f.lo), docKey(f.hi)
		got.URLs, got.Hosts, got.Captures, got.Gone, got.Blocks = f.urls, f.hosts, f.captures, f.gone, f.blocks
		if got != sum {
			t.Errorf("%s: doc reader %+v, meguri-inspect --json %+v", path, got, sum)
		}
		var captures, gone uint64
		for _, r := range rows {
			captures += r.Captures
			if r.Status == "gone" {
				gone++
			}
		}
		if captures != f.captures || gone != f.gone {
			t.Errorf("%s: rows sum to %d captures, %d gone; trailer %d, %d", path, captures, gone, f.captures, f.gone)
		}
		t.Logf("%s: version %d, %d rows in %d blocks, columns %v", path, f.version, len(rows), f.blocks, f.columns)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
