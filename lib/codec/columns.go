package codec

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/internal/bytestr"
	"github.com/meguri/meguri/lib/record"
)

// Column encodings (before compression), for a block of n rows. Format
// versions 1 and 2 differ only in the host and url columns:
//
//	host (v2)     per host run: uvarint(g), where g > 0 is the length of the
//	              grouping string as a suffix of the host of the run's first
//	              URL (the key is xxHash64 of that suffix), or g = 0 followed
//	              by the key as 8 bytes big-endian; then uvarint(row count).
//	              Keys strictly increase.
//	host (v1)     host runs: the first run's key as 8 bytes big-endian, then per
//	              run uvarint(row count); every later run: uvarint(key - previous
//	              key), uvarint(row count). Keys strictly increase.
//	url (v2)      front coding against the previous row of the block: n
//	              uvarints of shared-prefix length, then per row the suffix
//	              bytes and a NUL byte (canonical URLs never contain NUL).
//	url (v1)      front coding, interleaved: per row uvarint(shared-prefix
//	              length), the suffix bytes, a NUL byte.
//	status        n bytes.
//	http_status   n uvarints.
//	last_seen     n uvarints, Unix seconds (0: never captured).
//	first_seen    n uvarints of last_seen - first_seen.
//	captures      n uvarints.
//	changes       n uvarints.
//	digest        n x 8 bytes little-endian fingerprints.
//	first_digest  8 bytes little-endian per row whose changes > 0, in row order
//	              (for every other row it equals digest).
//	mime          a dictionary in first-use order: uvarint(entries), then per
//	              entry uvarint(length) and bytes; then n uvarint entry indexes.
//	length        n uvarints.
//	redirect      n uvarints of length, then the bytes concatenated.

// block collects the rows of one block before encoding. The url column is
// front-coded as each row is added, while the row's URL and the one before
// it are in the cache: in sorted order the URLs sit scattered over the
// sort arena or the input blocks, and an encoder that read them again a
// block later found most of them out of the cache (6% of an ingest's CPU).
type block struct {
	recs []record.Record
	// While the block is open: pre, the rows' uvarint prefix lengths
	// (version 2), and url, the suffixes each ended by 0 (version 1: the
	// whole column, lengths and suffixes interleaved). A block handed to an
	// encoder holds the whole column in url, pre joined in front of it
	// (Writer.flush), so the encoder takes it as its page without a copy.
	pre      []byte
	url      []byte
	urlBytes int
}

// add appends r to the block, prev being the URL of the row before it.
func (b *block) add(r *record.Record, prev string, v uint16) {
	p := 0
	if len(b.recs) > 0 {
		p = bytestr.SharedPrefix(prev, r.URL)
	}
	if v == 1 {
		b.url = putUvarint(grow(b.url, binary.MaxVarintLen64), uint64(p))
	} else {
		b.pre = putUvarint(grow(b.pre, binary.MaxVarintLen64), uint64(p))
	}
	b.url = append(append(grow(b.url, len(r.URL)-p+1), r.URL[p:]...), 0)
	b.recs = append(b.recs, *r)
	b.urlBytes += len(r.URL) + len(r.Redirect)
}

// grow makes room for n more bytes in b, doubling it when it grows:
// append's growth by a quarter would copy a block's column many times over
// into fresh memory.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		b = slices.Grow(b, max(n, cap(b)))
	}
	return b
}

// reset empties the block, keeping its buffers.
func (b *block) reset() {
	clear(b.recs) // they pin URLs
	b.recs, b.pre, b.url, b.urlBytes = b.recs[:0], b.pre[:0], b.url[:0], 0
}

func putUvarint(dst []byte, v uint64) []byte {
	return binary.AppendUvarint(dst, v)
}

// encodeColumns fills bufs[id] with each column's raw page, in the layout of
// format version v.
func encodeColumns(blk *block, bufs *[numCols + 1][]byte, v uint16) {
	recs := blk.recs
	for i := range bufs {
		bufs[i] = bufs[i][:0]
	}
	if v == 1 {
		encodeHostsV1(recs, bufs)
	} else {
		encodeHosts(recs, bufs)
	}
	bufs[ColURL] = blk.url // the block's own buffer: encodeBlock copies what it keeps
	// room for the usual widths, so the pages rarely grow while written
	n := len(recs)
	for id, per := range [numCols + 1]int{0: 1, ColStatus: 1, ColHTTPStatus: 2, ColLastSeen: 5, ColFirstSeen: 1,
		ColCaptures: 1, ColChanges: 1, ColDigest: 8, ColLength: 3, ColRedirect: 1} {
		if per > 0 {
			bufs[id] = slices.Grow(bufs[id], per*n)
		}
	}
	var mimes []string
	mimeIdx := map[string]int{}
	for i := range recs {
		r := &recs[i]
		bufs[ColStatus] = append(bufs[ColStatus], byte(r.Status))
		bufs[ColHTTPStatus] = putUvarint(bufs[ColHTTPStatus], uint64(r.HTTPStatus))
		bufs[ColLastSeen] = putUvarint(bufs[ColLastSeen], uint64(r.LastSeen))
		bufs[ColFirstSeen] = putUvarint(bufs[ColFirstSeen], uint64(r.LastSeen-r.FirstSeen))
		bufs[ColCaptures] = putUvarint(bufs[ColCaptures], r.Captures)
		bufs[ColChanges] = putUvarint(bufs[ColChanges], r.Changes)
		bufs[ColDigest] = binary.LittleEndian.AppendUint64(bufs[ColDigest], r.Digest)
		if r.Changes > 0 {
			bufs[ColFirstDigest] = binary.LittleEndian.AppendUint64(bufs[ColFirstDigest], r.FirstDigest)
		}
		k, ok := mimeIdx[r.Mime]
		if !ok {
			k = len(mimes)
			mimeIdx[r.Mime] = k
			mimes = append(mimes, r.Mime)
		}
		bufs[ColLength] = putUvarint(bufs[ColLength], uint64(r.Length))
		bufs[ColRedirect] = putUvarint(bufs[ColRedirect], uint64(len(r.Redirect)))
		bufs[0] = putUvarint(bufs[0], uint64(k)) // mime codes, staged in slot 0
	}
	m := putUvarint(bufs[ColMime], uint64(len(mimes)))
	for _, s := range mimes {
		m = putUvarint(m, uint64(len(s)))
		m = append(m, s...)
	}
	bufs[ColMime] = append(m, bufs[0]...)
	bufs[0] = bufs[0][:0]
	for i := range recs {
		bufs[ColRedirect] = append(bufs[ColRedirect], recs[i].Redirect...)
	}
}

// hostRun returns the end of the host run starting at row i.
func hostRun(recs []record.Record, i int) int {
	j := i + 1
	for j < len(recs) && recs[j].HostKey == recs[i].HostKey {
		j++
	}
	return j
}

func encodeHosts(recs []record.Record, bufs *[numCols + 1][]byte) {
	h := bufs[ColHost]
	for i := 0; i < len(recs); {
		j := hostRun(recs, i)
		if g := groupLen(recs[i].URL, recs[i].HostKey); g > 0 {
			h = putUvarint(h, uint64(g))
		} else {
			h = putUvarint(h, 0)
			h = binary.BigEndian.AppendUint64(h, recs[i].HostKey)
		}
		h = putUvarint(h, uint64(j-i))
		i = j
	}
	bufs[ColHost] = h
}

// groupLen returns the length of the grouping string in url's host (see
// canon.KeyedGroup); 0 when none hashes to key.
func groupLen(url string, key uint64) int {
	return len(canon.KeyedGroup(url, key))
}

func encodeHostsV1(recs []record.Record, bufs *[numCols + 1][]byte) {
	h := bufs[ColHost]
	for i := 0; i < len(recs); {
		j := hostRun(recs, i)
		if i == 0 {
			h = binary.BigEndian.AppendUint64(h, recs[i].HostKey)
		} else {
			h = putUvarint(h, recs[i].HostKey-recs[i-1].HostKey)
		}
		h = putUvarint(h, uint64(j-i))
		i = j
	}
	bufs[ColHost] = h
}

// pageReader decodes one raw page, recording the first error.
type pageReader struct {
	b   []byte
	err error
}

func (p *pageReader) fail() {
	if p.err == nil {
		p.err = errMalformed
	}
}

var errMalformed = corrupt("page", -1, "", -1, "malformed column data")

func (p *pageReader) uvarint() uint64 {
	v, n := binary.Uvarint(p.b)
	if n <= 0 {
		p.fail()
		p.b = nil
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *pageReader) bytes(n uint64) []byte {
	if n > uint64(len(p.b)) {
		p.fail()
		p.b = nil
		return nil
	}
	s := p.b[:n]
	p.b = p.b[n:]
	return s
}

// u64 reads 8 bytes in the given byte order.
func (p *pageReader) u64(order binary.ByteOrder) uint64 {
	if len(p.b) < 8 {
		p.fail()
		p.b = nil
		return 0
	}
	v := order.Uint64(p.b)
	p.b = p.b[8:]
	return v
}

// decodeColumns fills recs (len rows) from raw pages in the layout of format
// version v. It returns the name of the first malformed column, or "".
func decodeColumns(pages *[numCols + 1][]byte, recs []record.Record, hostRuns uint32, v uint16) (string, error) {
	n := len(recs)
	var ok bool
	if v == 1 {
		ok = decodeURLsV1(pages[ColURL], recs)
	} else {
		ok = decodeURLs(pages[ColURL], recs)
	}
	if !ok {
		return "url", errMalformed
	}
	if v == 1 {
		ok = decodeHostsV1(pages[ColHost], recs, hostRuns)
	} else {
		ok = decodeHosts(pages[ColHost], recs, hostRuns)
	}
	if !ok {
		return "host", errMalformed
	}
	// fixed-shape columns
	if len(pages[ColStatus]) != n {
		return "status", errMalformed
	}
	for i := 0; i < n; i++ {
		s := record.Status(pages[ColStatus][i])
		if !s.Valid() {
			return "status", errMalformed
		}
		recs[i].Status = s
	}
	type col struct {
		id  int
		set func(r *record.Record, v uint64) bool
	}
	for _, c := range []col{
		{ColHTTPStatus, func(r *record.Record, v uint64) bool { r.HTTPStatus = uint16(v); return v < record.HTTPStatusLimit }},
		{ColLastSeen, func(r *record.Record, v uint64) bool { r.LastSeen = int64(v); return v < record.TimeLimit }},
		{ColFirstSeen, func(r *record.Record, v uint64) bool {
			r.FirstSeen = r.LastSeen - int64(v)
			return v <= uint64(r.LastSeen)
		}},
		{ColCaptures, func(r *record.Record, v uint64) bool { r.Captures = v; return true }},
		{ColChanges, func(r *record.Record, v uint64) bool { r.Changes = v; return true }},
		{ColLength, func(r *record.Record, v uint64) bool { r.Length = int64(v); return v < record.LengthLimit }},
	} {
		p := &pageReader{b: pages[c.id]}
		for i := 0; i < n; i++ {
			if !c.set(&recs[i], p.uvarint()) {
				p.fail()
			}
		}
		if p.err != nil || len(p.b) != 0 {
			return ColumnName(c.id), errMalformed
		}
	}
	p := &pageReader{b: pages[ColDigest]}
	for i := 0; i < n; i++ {
		recs[i].Digest = p.u64(binary.LittleEndian)
	}
	if p.err != nil || len(p.b) != 0 {
		return "digest", errMalformed
	}
	p = &pageReader{b: pages[ColFirstDigest]}
	for i := 0; i < n; i++ {
		if recs[i].Changes > 0 {
			recs[i].FirstDigest = p.u64(binary.LittleEndian)
		} else {
			recs[i].FirstDigest = recs[i].Digest
		}
	}
	if p.err != nil || len(p.b) != 0 {
		return "first_digest", errMalformed
	}
	p = &pageReader{b: pages[ColMime]}
	nd := p.uvarint()
	if nd > uint64(n)+1 {
		return "mime", errMalformed
	}
	dict := make([]string, nd)
	for i := range dict {
		dict[i] = string(p.bytes(p.uvarint()))
	}
	for i := 0; i < n; i++ {
		k := p.uvarint()
		if k >= nd {
			p.fail()
			break
		}
		recs[i].Mime = dict[k]
	}
	if p.err != nil || len(p.b) != 0 {
		return "mime", errMalformed
	}
	p = &pageReader{b: pages[ColRedirect]}
	lens := make([]uint64, n)
	for i := range lens {
		lens[i] = p.uvarint()
	}
	if p.err != nil {
		return "redirect", errMalformed
	}
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if lens[i] > 0 {
			b := p.bytes(lens[i])
			if p.err != nil {
				return "redirect", errMalformed
			}
			sb.Reset()
			sb.Write(b)
			recs[i].Redirect = sb.String()
		}
	}
	if len(p.b) != 0 {
		return "redirect", errMalformed
	}
	return "", nil
}

// decodeHosts reads a version 2 host column; the rows' URLs must be set.
func decodeHosts(page []byte, recs []record.Record, hostRuns uint32) bool {
	p := &pageReader{b: page}
	row := 0
	var prev uint64
	for r := uint32(0); r < hostRuns; r++ {
		if row >= len(recs) {
			return false
		}
		var key uint64
		g := p.uvarint()
		if g == 0 {
			key = p.u64(binary.BigEndian)
		} else {
			host, _, _ := canon.HostOf(recs[row].URL)
			if g > uint64(len(host)) {
				return false
			}
			key = xxhash.Sum64String(host[len(host)-int(g):])
		}
		cnt := p.uvarint()
		if p.err != nil || cnt == 0 || cnt > uint64(len(recs)-row) || r > 0 && key <= prev {
			return false
		}
		for k := uint64(0); k < cnt; k++ {
			recs[row].HostKey = key
			row++
		}
		prev = key
	}
	return row == len(recs) && len(p.b) == 0
}

func decodeHostsV1(page []byte, recs []record.Record, hostRuns uint32) bool {
	p := &pageReader{b: page}
	row := 0
	var key uint64
	for r := uint32(0); r < hostRuns; r++ {
		if r == 0 {
			key = p.u64(binary.BigEndian)
		} else {
			d := p.uvarint()
			if d == 0 {
				p.fail()
			}
			key += d
		}
		cnt := p.uvarint()
		if p.err != nil || cnt == 0 || cnt > uint64(len(recs)-row) {
			return false
		}
		for k := uint64(0); k < cnt; k++ {
			recs[row].HostKey = key
			row++
		}
	}
	return row == len(recs) && len(p.b) == 0
}

// decodeURLs reads a version 2 url column: n prefix lengths, then the
// NUL-terminated suffixes.
func decodeURLs(page []byte, recs []record.Record) bool {
	p := &pageReader{b: page}
	pre := make([]uint64, len(recs))
	for i := range pre {
		pre[i] = p.uvarint()
	}
	return p.err == nil && frontDecode(pre, p.b, recs)
}

// decodeURLsV1 reads the interleaved version 1 layout by separating it into
// the version 2 one.
func decodeURLsV1(page []byte, recs []record.Record) bool {
	p := &pageReader{b: page}
	pre := make([]uint64, len(recs))
	suffixes := make([]byte, 0, len(page))
	for i := range pre {
		pre[i] = p.uvarint()
		z := bytes.IndexByte(p.b, 0)
		if p.err != nil || z < 0 {
			return false
		}
		suffixes = append(suffixes, p.bytes(uint64(z+1))...)
	}
	return len(p.b) == 0 && frontDecode(pre, suffixes, recs)
}

// frontDecode rebuilds the front-coded URLs of recs from their shared-prefix
// lengths and b, the NUL-terminated suffixes. A first pass checks the
// lengths and sizes the URLs, so that they are built into one buffer of
// their size and shared as strings without a copy: grown by append and
// then copied into a string, a block's URLs were allocated about four
// times over, and reading the 20x scaled copy's file spent as long
// faulting that memory in as decoding.
func frontDecode(pre []uint64, b []byte, recs []record.Record) bool {
	n := len(recs)
	ends := make([]int, n)
	total, prevLen, rest := 0, 0, b
	for i := 0; i < n; i++ {
		if pre[i] > uint64(prevLen) {
			return false
		}
		z := bytes.IndexByte(rest, 0)
		if z < 0 {
			return false
		}
		prevLen = int(pre[i]) + z
		if prevLen == 0 {
			return false
		}
		total += prevLen
		ends[i] = total
		rest = rest[z+1:]
	}
	if len(rest) != 0 {
		return false
	}
	// (capped: damaged lengths could ask for far more than any block
	// holds; append then grows past the cap as before)
	all := make([]byte, 0, min(total, 64<<20))
	prevStart := 0
	for i := 0; i < n; i++ {
		start := len(all)
		z := ends[i] - start - int(pre[i]) // the suffix's length, from the first pass
		all = append(all, all[prevStart:prevStart+int(pre[i])]...)
		all = append(all, b[:z]...)
		b = b[z+1:]
		prevStart = start
	}
	str := unsafe.String(unsafe.SliceData(all), len(all)) // all is not written again
	off := 0
	for i := 0; i < n; i++ {
		recs[i].URL = str[off:ends[i]]
		off = ends[i]
	}
	return true
}
