package route

import (
	"encoding/binary"
	"unsafe"
)

// hostNames holds each host key's grouping string once, for the skew
// report, which names a partition's largest host. A whole crawl's sample
// has tens of millions of hosts, so the strings sit end to end in chunks
// (a uvarint length before each) and a host costs its name's bytes and a
// map slot: no string header or allocation of its own, and no copy of
// everything held as the chunks fill.
type hostNames struct {
	at     map[uint64]uint64 // host key -> chunk index << 32 | offset
	chunks [][]byte
}

const namesChunk = 1 << 20

func newHostNames() *hostNames { return &hostNames{at: map[uint64]uint64{}} }

func (n *hostNames) has(key uint64) bool {
	_, ok := n.at[key]
	return ok
}

// add records key's name, unless it has one.
func (n *hostNames) add(key uint64, name string) {
	if n.has(key) {
		return
	}
	need := binary.MaxVarintLen64 + len(name)
	if len(n.chunks) == 0 || cap(n.chunks[len(n.chunks)-1])-len(n.chunks[len(n.chunks)-1]) < need {
		n.chunks = append(n.chunks, make([]byte, 0, max(namesChunk, need)))
	}
	i := len(n.chunks) - 1
	c := n.chunks[i]
	n.at[key] = uint64(i)<<32 | uint64(len(c))
	c = binary.AppendUvarint(c, uint64(len(name)))
	n.chunks[i] = append(c, name...)
}

// name returns key's name ("" if it has none). The string shares the
// chunk's bytes, which are never written again.
func (n *hostNames) name(key uint64) string {
	at, ok := n.at[key]
	if !ok {
		return ""
	}
	c := n.chunks[at>>32][at&(1<<32-1):]
	l, k := binary.Uvarint(c)
	if l == 0 {
		return ""
	}
	return unsafe.String(&c[k], int(l))
}
