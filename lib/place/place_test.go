package place

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func ids(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i)
	}
	return out
}

func nodes(names ...string) *Topology { return &Topology{Nodes: names} }

func TestScoreIsCanonicalConcatenation(t *testing.T) {
	for _, c := range []struct {
		id   uint64
		node string
	}{{0, "a"}, {7, "node-7"}, {18446744073709551615, "x"}, {12, ""}, {5, strings.Repeat("n", 200)}} {
		want := xxhash.Sum64String(fmt.Sprintf("%d\x00%s", c.id, c.node))
		if got := Score(c.id, c.node); got != want {
			t.Errorf("Score(%d, %q) = %#x, want %#x", c.id, c.node, got, want)
		}
	}
	// the order is (partition, node): swapping them changes the score
	if Score(1, "2") == xxhash.Sum64String("2\x001") {
		t.Error("score does not depend on the concatenation order")
	}
}

func TestDeterministic(t *testing.T) {
	top := nodes("a", "b", "c", "d")
	first := map[uint64][]string{}
	for _, id := range ids(64) {
		first[id] = top.Place(id, 2)
	}
	for run := 0; run < 1000; run++ {
		// node order given must not matter either
		shuffled := nodes("d", "b", "a", "c")
		for _, id := range ids(64) {
			if got := shuffled.Place(id, 2); !slices.Equal(got, first[id]) {
				t.Fatalf("run %d partition %d: %v, then %v", run, id, first[id], got)
			}
		}
	}
}

func TestTieBrokenByName(t *testing.T) {
	// 64-bit scores of distinct names practically never tie, so check the
	// whole order: score descending, then name ascending.
	ns := Nodes{"b", "a", "c", "e", "d"}
	for _, id := range ids(100) {
		got := ns.Place(id, len(ns))
		for i := 1; i < len(got); i++ {
			s0, s1 := Score(id, got[i-1]), Score(id, got[i])
			if s0 < s1 || (s0 == s1 && got[i-1] > got[i]) {
				t.Fatalf("partition %d: %v not ordered by score then name", id, got)
			}
		}
	}
}

// TestTopFew: Place keeps the best rf nodes as it scores them; what it
// returns is the head of the whole order (score descending, name
// ascending), for every rf up to past the number of nodes.
func TestTopFew(t *testing.T) {
	for n := 1; n <= 40; n += 3 {
		var ns Nodes
		for i := range n {
			ns = append(ns, fmt.Sprintf("node-%d", (i*7)%n))
		}
		for _, id := range ids(50) {
			all := slices.Clone(ns)
			slices.SortFunc(all, func(a, b string) int {
				sa, sb := Score(id, a), Score(id, b)
				switch {
				case sa > sb:
					return -1
				case sa < sb:
					return 1
				}
				return strings.Compare(a, b)
			})
			for _, rf := range []int{1, 2, 3, n - 1, n, n + 2} {
				if rf < 1 {
					continue
				}
				if got, want := ns.Place(id, rf), all[:min(rf, n)]; !slices.Equal(got, want) {
					t.Fatalf("%d nodes, partition %d, rf %d: %v, want %v", n, id, rf, got, want)
				}
			}
		}
	}
}

func counts(top *Topology, n, rf int) map[string]int {
	c := map[string]int{}
	for _, id := range ids(n) {
		for _, node := range top.Place(id, rf) {
			c[node]++
		}
	}
	return c
}

func TestUniformity(t *testing.T) {
	c := counts(nodes("a", "b", "c"), 64, 1)
	for _, n := range []string{"a", "b", "c"} {
		if c[n] < 18 || c[n] > 26 {
			t.Errorf("node %s holds %d of 64 partitions, want 18..26 (%v)", n, c[n], c)
		}
	}
}

func TestAddNodeMovesBounded(t *testing.T) {
	from, to := nodes("a", "b", "c"), nodes("a", "b", "c", "d")
	moves := Plan(ids(64), make([]uint64, 64), from, to, 1)
	if limit := 2 * 64 / 4; len(moves) > limit {
		t.Errorf("adding a 4th node moved %d partitions, bound %d", len(moves), limit)
	}
	for _, m := range moves {
		if !slices.Equal(m.Join, []string{"d"}) {
			t.Errorf("partition %d moved to %v, want only the new node", m.Partition, m.Join)
		}
	}
	if len(moves) == 0 {
		t.Error("a new node received nothing")
	}
}

func TestRemoveNodeMovesOnlyItsPartitions(t *testing.T) {
	from, to := nodes("a", "b", "c", "d"), nodes("a", "b", "d")
	held := map[uint64]bool{}
	for _, id := range ids(64) {
		held[id] = from.Place(id, 1)[0] == "c"
	}
	moves := Plan(ids(64), make([]uint64, 64), from, to, 1)
	moved := map[uint64]bool{}
	for _, m := range moves {
		moved[m.Partition] = true
		if !held[m.Partition] {
			t.Errorf("partition %d moved but was not on the removed node", m.Partition)
		}
	}
	for id, h := range held {
		if h && !moved[id] {
			t.Errorf("partition %d was on the removed node and did not move", id)
		}
	}
}

func TestReplicationFactor(t *testing.T) {
	all := []string{"n1", "n2", "n3", "n4", "n5", "n6"}
	for rf := 1; rf <= 4; rf++ {
		from, to := nodes(all[:5]...), nodes(all...)
		for _, id := range ids(200) {
			got := from.Place(id, rf)
			if len(got) != rf || len(slices.Compact(slices.Sorted(slices.Values(got)))) != rf {
				t.Fatalf("rf %d partition %d: %v not %d distinct nodes", rf, id, got, rf)
			}
		}
		// adding n6: only sets that now contain n6 change, and n6 is what joins
		for _, m := range Plan(ids(200), make([]uint64, 200), from, to, rf) {
			if !slices.Contains(m.To, "n6") || !slices.Equal(m.Join, []string{"n6"}) || len(m.Leave) != 1 {
				t.Errorf("rf %d add: partition %d %v -> %v", rf, m.Partition, m.From, m.To)
			}
		}
		// removing n3: only sets that contained n3 change, and n3 is what leaves
		for _, m := range Plan(ids(200), make([]uint64, 200), from, nodes("n1", "n2", "n4", "n5"), rf) {
			if !slices.Contains(m.From, "n3") || !slices.Equal(m.Leave, []string{"n3"}) || len(m.Join) != 1 {
				t.Errorf("rf %d remove: partition %d %v -> %v", rf, m.Partition, m.From, m.To)
			}
		}
	}
}

func TestGroups(t *testing.T) {
	gs, err := ParseGroups("g1=a,b;g2=c,d,e")
	if err != nil {
		t.Fatal(err)
	}
	top := &Topology{Groups: gs}
	for _, id := range ids(64) {
		got := top.Place(id, 1)
		if len(got) != 2 || !slices.Contains([]string{"a", "b"}, got[0]) || !slices.Contains([]string{"c", "d", "e"}, got[1]) {
			t.Fatalf("partition %d: %v, want one node of g1 then one of g2", id, got)
		}
		if got[0] != gs[0].Nodes.Place(id, 1)[0] {
			t.Fatalf("partition %d: group choice differs from plain placement within the group", id)
		}
	}
	if err := top.Check(3); err == nil {
		t.Error("rf 3 accepted with a 2-node group")
	}
	for _, bad := range []string{"", "g1", "=a", "g1=a;g1=b", "g1=a;g2=a", "g1=a,,b", "g1=a,a"} {
		if _, err := ParseGroups(bad); err == nil {
			t.Errorf("ParseGroups(%q) accepted", bad)
		}
	}
}

func TestPlanBytes(t *testing.T) {
	sizes := make([]uint64, 64)
	for i := range sizes {
		sizes[i] = uint64(i) * 10
	}
	moves := Plan(ids(64), sizes, nodes("a", "b", "c"), nodes("a", "b", "c", "d"), 2)
	for _, m := range moves {
		if m.Bytes != m.Partition*10 {
			t.Errorf("partition %d bytes %d", m.Partition, m.Bytes)
		}
	}
}
