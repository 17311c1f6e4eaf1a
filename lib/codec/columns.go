package codec

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/meguri/meguri/lib/record"
)

// Column encodings (before compression), for a block of n rows:
//
//	host          host runs: the first run's key as 8 bytes big-endian, then per
//	              run uvarint(row count); every later run: uvarint(key - previous
//	              key), uvarint(row count). Keys strictly increase.
//	url           front coding against the previous row of the block: per row
//	              uvarint(shared-prefix length), the suffix bytes, a NUL byte
//	              (canonical URLs never contain NUL).
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

// block collects the rows of one block before encoding.
type block struct {
	recs     []record.Record
	urlBytes int
}

func putUvarint(dst []byte, v uint64) []byte {
	return binary.AppendUvarint(dst, v)
}

// encodeColumns appends each column's raw page to bufs[id].
func encodeColumns(recs []record.Record, bufs *[numCols + 1][]byte) {
	for i := range bufs {
		bufs[i] = bufs[i][:0]
	}
	// host runs
	h := bufs[ColHost]
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].HostKey == recs[i].HostKey {
			j++
		}
		if i == 0 {
			h = binary.BigEndian.AppendUint64(h, recs[i].HostKey)
		} else {
			h = putUvarint(h, recs[i].HostKey-recs[i-1].HostKey)
		}
		h = putUvarint(h, uint64(j-i))
		i = j
	}
	bufs[ColHost] = h
	// url, front coded: per row uvarint(shared prefix), suffix, NUL
	u := bufs[ColURL]
	prev := ""
	for i := range recs {
		p := sharedPrefix(prev, recs[i].URL)
		u = putUvarint(u, uint64(p))
		u = append(u, recs[i].URL[p:]...)
		u = append(u, 0)
		prev = recs[i].URL
	}
	bufs[ColURL] = u
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

func sharedPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// pageReader decodes one raw page, recording the first error.
type pageReader struct {
	b   []byte
	col int
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

func (p *pageReader) u64le() uint64 {
	if len(p.b) < 8 {
		p.fail()
		p.b = nil
		return 0
	}
	v := binary.LittleEndian.Uint64(p.b)
	p.b = p.b[8:]
	return v
}

// decodeColumns fills recs (len rows) from raw pages. It returns the name of
// the first malformed column, or "".
func decodeColumns(pages *[numCols + 1][]byte, recs []record.Record, hostRuns uint32) (string, error) {
	n := len(recs)
	// host
	p := &pageReader{b: pages[ColHost]}
	row := 0
	var key uint64
	for r := uint32(0); r < hostRuns; r++ {
		if r == 0 {
			if len(p.b) < 8 {
				return "host", errMalformed
			}
			key = binary.BigEndian.Uint64(p.b)
			p.b = p.b[8:]
		} else {
			d := p.uvarint()
			if d == 0 {
				p.fail()
			}
			key += d
		}
		cnt := p.uvarint()
		if p.err != nil || cnt == 0 || cnt > uint64(n-row) {
			return "host", errMalformed
		}
		for k := uint64(0); k < cnt; k++ {
			recs[row].HostKey = key
			row++
		}
	}
	if row != n || len(p.b) != 0 {
		return "host", errMalformed
	}
	// url
	p = &pageReader{b: pages[ColURL]}
	all := make([]byte, 0, len(p.b)*2)
	ends := make([]int, n)
	prevStart, prevLen := 0, 0
	for i := 0; i < n; i++ {
		pre := p.uvarint()
		if p.err != nil || pre > uint64(prevLen) {
			return "url", errMalformed
		}
		z := bytes.IndexByte(p.b, 0)
		if z < 0 {
			return "url", errMalformed
		}
		start := len(all)
		all = append(all, all[prevStart:prevStart+int(pre)]...)
		all = append(all, p.b[:z]...)
		p.b = p.b[z+1:]
		prevStart, prevLen = start, len(all)-start
		ends[i] = len(all)
		if prevLen == 0 {
			return "url", errMalformed
		}
	}
	if len(p.b) != 0 {
		return "url", errMalformed
	}
	str := string(all)
	off := 0
	for i := 0; i < n; i++ {
		recs[i].URL = str[off:ends[i]]
		off = ends[i]
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
		{ColHTTPStatus, func(r *record.Record, v uint64) bool { r.HTTPStatus = uint16(v); return v < 1000 }},
		{ColLastSeen, func(r *record.Record, v uint64) bool { r.LastSeen = int64(v); return v < 1<<62 }},
		{ColFirstSeen, func(r *record.Record, v uint64) bool {
			r.FirstSeen = r.LastSeen - int64(v)
			return v <= uint64(r.LastSeen)
		}},
		{ColCaptures, func(r *record.Record, v uint64) bool { r.Captures = v; return true }},
		{ColChanges, func(r *record.Record, v uint64) bool { r.Changes = v; return true }},
		{ColLength, func(r *record.Record, v uint64) bool { r.Length = int64(v); return v < 1<<62 }},
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
	p = &pageReader{b: pages[ColDigest]}
	for i := 0; i < n; i++ {
		recs[i].Digest = p.u64le()
	}
	if p.err != nil || len(p.b) != 0 {
		return "digest", errMalformed
	}
	p = &pageReader{b: pages[ColFirstDigest]}
	for i := 0; i < n; i++ {
		if recs[i].Changes > 0 {
			recs[i].FirstDigest = p.u64le()
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
