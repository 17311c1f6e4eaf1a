// Package place assigns partitions to nodes by rendezvous (highest random
// weight) hashing, so every machine computes the same placement from the
// same partition ids and node names with no coordination, and a node joining
// or leaving moves only the partitions whose top-scoring nodes change.
//
// The score of (partition, node) is xxHash64 (seed 0) over the canonical
// concatenation of the two: the partition id in decimal ASCII, one NUL byte,
// then the node name's bytes. For partition 7 on node "a":
//
//	xxh64("7\x00a")
//
// A partition's replicas are the R nodes with the highest scores; equal
// scores are broken by node name, the lower name first.
//
//	nodes := place.Nodes{"a", "b", "c"}
//	replicas := nodes.Place(7, 2) // e.g. ["c", "a"], highest score first
package place

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Score is the rendezvous weight of a partition on a node.
func Score(partition uint64, node string) uint64 {
	var buf [96]byte
	return xxhash.Sum64(append(scoreKey(buf[:0], partition), node...))
}

// scoreKey appends what a score hashes before the node name: the
// partition id in decimal and a NUL.
func scoreKey(b []byte, partition uint64) []byte {
	return append(strconv.AppendUint(b, partition, 10), 0)
}

// Nodes is a set of node names.
type Nodes []string

// ParseNodes parses a comma-separated node list, refusing empty and
// duplicated names.
func ParseNodes(s string) (Nodes, error) {
	var ns Nodes
	seen := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if err := checkName(n); err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, fmt.Errorf("node %q named twice", n)
		}
		seen[n] = true
		ns = append(ns, n)
	}
	return ns, nil
}

func checkName(n string) error {
	if n == "" {
		return errors.New("empty node name")
	}
	if strings.ContainsAny(n, "\x00,;=") {
		return fmt.Errorf("node name %q holds one of NUL , ; =", n)
	}
	return nil
}

// Place returns the rf nodes with the highest scores for the partition,
// highest first. It returns fewer when there are fewer nodes.
func (ns Nodes) Place(partition uint64, rf int) []string {
	type scored struct {
		name  string
		score uint64
	}
	// before says whether a ranks above b: the higher score, and on equal
	// scores the lower name.
	before := func(a, b scored) bool {
		return a.score > b.score || a.score == b.score && a.name < b.name
	}
	// The best rf so far, best first: each node is scored once and
	// kept only if it beats the last of them, so a fleet of hundreds of
	// nodes is not sorted whole for each partition.
	top := make([]scored, 0, min(rf, len(ns)))
	var buf [96]byte
	key := scoreKey(buf[:0], partition)
	for _, n := range ns {
		c := scored{n, xxhash.Sum64(append(key, n...))}
		if len(top) == cap(top) && (len(top) == 0 || !before(c, top[len(top)-1])) {
			continue
		}
		if len(top) < cap(top) {
			top = append(top, c)
		}
		i := len(top) - 1
		for ; i > 0 && before(c, top[i-1]); i-- {
			top[i] = top[i-1]
		}
		top[i] = c
	}
	out := make([]string, len(top))
	for i, t := range top {
		out[i] = t.name
	}
	return out
}

// Group is a named set of nodes, such as a rack or a zone.
type Group struct {
	Name  string
	Nodes Nodes
}

// Topology is where partitions may live: either plain nodes, or groups that
// each get their own replicas.
type Topology struct {
	Nodes  Nodes
	Groups []Group
}

// ParseGroups parses "g1=a,b;g2=c,d". A node may belong to one group only.
func ParseGroups(s string) ([]Group, error) {
	var gs []Group
	seenG, seenN := map[string]bool{}, map[string]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, list, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("bad group %q (want NAME=node,node)", part)
		}
		if seenG[name] {
			return nil, fmt.Errorf("group %q named twice", name)
		}
		seenG[name] = true
		ns, err := ParseNodes(list)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", name, err)
		}
		for _, n := range ns {
			if g, ok := seenN[n]; ok {
				return nil, fmt.Errorf("node %q is in groups %q and %q", n, g, name)
			}
			seenN[n] = name
		}
		gs = append(gs, Group{Name: name, Nodes: ns})
	}
	if len(gs) == 0 {
		return nil, errors.New("no groups given")
	}
	return gs, nil
}

// Place returns a partition's replicas: the top rf nodes, or with groups
// the top rf nodes of each group, groups in the order given.
func (t *Topology) Place(partition uint64, rf int) []string {
	if len(t.Groups) == 0 {
		return t.Nodes.Place(partition, rf)
	}
	var out []string
	for _, g := range t.Groups {
		out = append(out, g.Nodes.Place(partition, rf)...)
	}
	return out
}

// Check refuses a replication factor the topology cannot honour.
func (t *Topology) Check(rf int) error {
	if rf < 1 {
		return fmt.Errorf("replication factor %d: want at least 1", rf)
	}
	if len(t.Groups) == 0 {
		if rf > len(t.Nodes) {
			return fmt.Errorf("replication factor %d needs at least %d nodes; %d given", rf, rf, len(t.Nodes))
		}
		return nil
	}
	for _, g := range t.Groups {
		if rf > len(g.Nodes) {
			return fmt.Errorf("replication factor %d needs %d nodes in each group; group %q has %d", rf, rf, g.Name, len(g.Nodes))
		}
	}
	return nil
}

// Move is one partition whose replica set changes between two topologies.
type Move struct {
	Partition uint64
	Bytes     uint64
	From, To  []string
	Leave     []string // nodes that drop the partition
	Join      []string // nodes that must receive it
}

// Plan lists the partitions whose replica sets differ between from and to,
// in the order given, with the nodes each leaves and joins.
func Plan(ids, sizes []uint64, from, to *Topology, rf int) []Move {
	var moves []Move
	for i, id := range ids {
		a, b := from.Place(id, rf), to.Place(id, rf)
		leave, join := diff(a, b), diff(b, a)
		if len(leave) == 0 && len(join) == 0 {
			continue
		}
		moves = append(moves, Move{Partition: id, Bytes: sizes[i], From: a, To: b, Leave: leave, Join: join})
	}
	return moves
}

// diff returns the names in a that are not in b, sorted.
func diff(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
