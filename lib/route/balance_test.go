package route

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/ingest"
	"github.com/meguri/meguri/lib/internal/fdpool"
	"github.com/meguri/meguri/lib/internal/testinput"
	"github.com/meguri/meguri/lib/logstore"
)

// generated host counts: n hosts spread over the key space
func genHosts(n int, seed uint64) []HostCount {
	rng := rand.New(rand.NewPCG(seed, 7))
	hs := make([]HostCount, n)
	for i := range hs {
		hs[i] = HostCount{Key: rng.Uint64(), URLs: 1 + uint64(rng.IntN(50)), Name: "h"}
	}
	slices.SortFunc(hs, func(a, b HostCount) int { return cmp.Compare(a.Key, b.Key) })
	return hs
}

func TestBalanceEven(t *testing.T) {
	hs := genHosts(2000, 1)
	b, err := Balance(hs, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Manifest.MustTile(); err != nil {
		t.Fatal(err)
	}
	if len(b.Manifest.Parts) != 8 || len(b.Skews) != 0 {
		t.Fatalf("%d parts, skews %v", len(b.Manifest.Parts), b.Skews)
	}
	var sum uint64
	for _, p := range b.Manifest.Parts {
		sum += p.URLs
	}
	var want uint64
	for _, h := range hs {
		want += h.URLs
	}
	if sum != want {
		t.Errorf("partitions hold %d urls, hosts %d", sum, want)
	}
}

func TestBalanceNamesGiantHost(t *testing.T) {
	hs := genHosts(200, 2)
	hs[100].URLs, hs[100].Name = 100000, "giant.example"
	b, err := Balance(hs, 4)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range b.Skews {
		if s.Largest.Name == "giant.example" && s.Partition.URLs >= 100000 {
			found = true
		}
	}
	if !found {
		t.Errorf("skew report does not name the giant host: %v", b.Skews)
	}
}

// Re-balancing moves only the boundaries that must move: the same data
// changes nothing; growth inside one range moves only nearby boundaries.
func TestRebalanceMovesFewBoundaries(t *testing.T) {
	hs := genHosts(4000, 3)
	base, err := Balance(hs, 8)
	if err != nil {
		t.Fatal(err)
	}
	same, err := Rebalance(hs, base.Manifest, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(same.Changed) != 0 {
		t.Errorf("same data changed %d partitions", len(same.Changed))
	}
	// new hosts appear inside partition 6's range only
	p := base.Manifest.Parts[6]
	grown := slices.Clone(hs)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 150; i++ {
		grown = append(grown, HostCount{Key: p.Lo + rng.Uint64N(p.Hi-p.Lo), URLs: 20, Name: "new"})
	}
	slices.SortFunc(grown, func(a, b HostCount) int { return cmp.Compare(a.Key, b.Key) })
	re, err := Rebalance(grown, base.Manifest, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := re.Manifest.MustTile(); err != nil {
		t.Fatal(err)
	}
	if len(re.Changed) == 0 || len(re.Changed) > 5 {
		t.Errorf("%d partitions changed: %v", len(re.Changed), re.Changed)
	}
	for _, np := range re.Manifest.Parts {
		kept := false
		for _, op := range base.Manifest.Parts {
			if op.Lo == np.Lo && op.Hi == np.Hi {
				kept = true
				if np.ID != op.ID || np.File != op.File || np.Epoch != op.Epoch {
					t.Errorf("unchanged range %x..%x lost its id, file or epoch", np.Lo, np.Hi)
				}
			}
		}
		if !kept && np.Epoch != 2 {
			t.Errorf("changed partition %d has epoch %d", np.ID, np.Epoch)
		}
	}
	// ids stay unique and reuse the base's
	ids := map[uint64]bool{}
	for _, np := range re.Manifest.Parts {
		if ids[np.ID] || np.ID > 7 {
			t.Errorf("id %d repeated or new with the same partition count", np.ID)
		}
		ids[np.ID] = true
	}
	if len(re.Skews) != 0 {
		t.Errorf("skews after re-balance: %v", re.Skews)
	}
}

// TestCountHostsNames: every host counted from CDX lines carries its own
// grouping string (the key is its xxHash64), also when the input spans many
// batches, which are reused as the count goes on.
func TestCountHostsNames(t *testing.T) {
	hosts, _, err := CountHosts([]string{testinput.Path()}, CountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) == 0 {
		t.Fatal("no hosts")
	}
	var urls uint64
	for _, h := range hosts {
		if h.Name == "" || xxhash.Sum64String(h.Name) != h.Key {
			t.Fatalf("host %#016x is named %q (key %#016x)", h.Key, h.Name, xxhash.Sum64String(h.Name))
		}
		urls += h.URLs
	}
	t.Logf("%d hosts, %d urls", len(hosts), urls)
}

// TestHostNames: names held end to end in chunks come back as given, once
// per key (the first name given wins), across chunk ends and for a name
// longer than a chunk.
func TestHostNames(t *testing.T) {
	n := newHostNames()
	want := map[uint64]string{}
	for i := range 200000 {
		name := fmt.Sprintf("host-%d.example", i)
		if i == 12345 {
			name = strings.Repeat("x", 3*namesChunk) // a chunk of its own
		}
		n.add(uint64(i), name)
		n.add(uint64(i), "again") // kept: the first name
		want[uint64(i)] = name
	}
	if len(n.chunks) < 5 {
		t.Fatalf("%d chunks: the names did not span several", len(n.chunks))
	}
	for k, name := range want {
		if got := n.name(k); got != name {
			t.Fatalf("key %d: %.40q, want %.40q", k, got, name)
		}
	}
	if !n.has(7) || n.has(200000) || n.name(200000) != "" {
		t.Fatal("a key never added is held")
	}
}

// TestCountHostsProgress: progress reports grow, and the last one is the
// whole input (every line, blank ones too, and every byte); then the sort
// is announced once, with every line taken.
func TestCountHostsProgress(t *testing.T) {
	in := testinput.Path()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var lines, size, raw int64
	calls := 0
	var sorts []string
	_, rejected, err := CountHosts([]string{in}, CountOptions{Progress: func(l, b, r int64) {
		if l < lines || b < size || r < raw {
			t.Fatalf("progress went back: %d lines %d bytes %d raw after %d %d %d", l, b, r, lines, size, raw)
		}
		lines, size, raw = l, b, r
		calls++
	}, Sorting: func(stage string, done, total int64) {
		sorts = append(sorts, fmt.Sprint(stage, done, total))
	}})
	if err != nil {
		t.Fatal(err)
	}
	nonBlank := int64(0)
	for l := range bytes.Lines(data) {
		if len(bytes.TrimSpace(l)) > 0 {
			nonBlank++
		}
	}
	if want := []string{fmt.Sprint("sort", 0, nonBlank-rejected)}; !slices.Equal(sorts, want) {
		t.Errorf("sort announced %q, want %q", sorts, want)
	}
	// the input is plain text: as stored, it is the bytes read
	if want := int64(bytes.Count(data, []byte("\n"))); calls == 0 || lines != want || size != int64(len(data)) || raw != size {
		t.Fatalf("last progress %d lines %d bytes %d raw (%d calls); the input has %d lines, %d bytes", lines, size, raw, calls, want, len(data))
	}
}

// TestCountHostsSpills: under a budget far below the input, the URL keys
// spill to disk in sorted runs, and the counts are the same as counting in
// memory: each URL once, whatever its captures, in whichever run they fell.
// The runs are gone afterwards.
func TestCountHostsSpills(t *testing.T) {
	in := testinput.Path()
	want, wantRej, err := CountHosts([]string{in}, CountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	got, rej, err := CountHosts([]string{in}, CountOptions{Memory: 1, TmpDir: tmp}) // 1,024 keys a run
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || rej != wantRej {
		t.Fatalf("with spills: %d hosts (%d rejected), in memory %d (%d)", len(got), rej, len(want), wantRej)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("%d spilled runs left", len(left))
	}
}

// TestKeySet: keys added in batches, with repeats inside and across
// batches, come back each once and in order, from memory alone or from
// spilled runs merged with what is still in memory, also when the runs
// take turns on one descriptor (more runs than the open-file limit).
func TestKeySet(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var in []keyed
	for range 20000 {
		in = append(in, keyed{rng.Uint64N(30), rng.Uint64N(500)})
	}
	want := sortUnique(slices.Clone(in))
	defer func(f func() *fdpool.Pool) { newPool = f }(newPool)
	for _, budget := range []int64{1 << 30, 1, -1} {
		if budget < 0 {
			budget, newPool = 1, func() *fdpool.Pool { return fdpool.New(1) }
		}
		s := newKeySet(budget, t.TempDir())
		for i := 0; i < len(in); i += 700 {
			if err := s.add(slices.Clone(in[i:min(i+700, len(in))])); err != nil {
				t.Fatal(err)
			}
		}
		spilled := len(s.runs)
		if (budget == 1) != (spilled > 0) {
			t.Fatalf("budget %d: %d runs spilled", budget, spilled)
		}
		var got []keyed
		if err := s.each(func(k keyed) { got = append(got, k) }); err != nil {
			t.Fatal(err)
		}
		s.discard()
		if !slices.Equal(got, want) {
			t.Fatalf("budget %d (%d runs): %d keys back, want %d distinct", budget, spilled, len(got), len(want))
		}
	}
}

// TestCountHostsFromMeguri: counting a .meguri gives the counts of the CDX
// lines it was ingested from, from the whole file, from a stream, or from
// its partitions in any order; a file keyed by another grouping than the
// one asked for is refused, by the count and by the split, before anything
// is written.
func TestCountHostsFromMeguri(t *testing.T) {
	in := testinput.Path()
	dir := t.TempDir()
	for _, g := range []canon.Grouping{canon.ByDomain, canon.ByHost} {
		want, _, err := CountHosts([]string{in}, CountOptions{Grouping: g})
		if err != nil {
			t.Fatal(err)
		}
		whole := filepath.Join(dir, g.String()+".meguri")
		f, err := os.Create(whole)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.Run([]string{in}, f, ingest.Options{Hi: math.MaxUint64, Grouping: g}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, rej, err := CountHosts([]string{whole}, CountOptions{Grouping: g})
		if err != nil || rej != 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %d hosts from the .meguri (%d rejected, %v), %d from the CDX", g, len(got), rej, err, len(want))
		}
		bal, err := Balance(want, 4)
		if err != nil {
			t.Fatal(err)
		}
		parts := filepath.Join(dir, g.String())
		os.Mkdir(parts, 0o755)
		data, _ := os.ReadFile(whole)
		res, err := SplitMeguri("whole", bytes.NewReader(data), SplitOptions{Manifest: bal.Manifest, OutDir: parts, Grouping: g})
		if err != nil || len(res.Partitions) != 4 {
			t.Fatalf("%s: split: %v", g, err)
		}
		var files []string
		for i := len(res.Partitions) - 1; i >= 0; i-- {
			files = append(files, res.Partitions[i].File)
		}
		if got, _, err = CountHosts(files, CountOptions{Grouping: g}); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %d hosts from the 4 parts in reverse (%v), %d from the CDX", g, len(got), err, len(want))
		}
		// inputs that share URLs count each once: a retired whole file
		// beside its parts, the CDX beside the file it made, and a part
		// as a live partition directory beside the others and the whole
		live := filepath.Join(dir, g.String()+"-live")
		pf, err := os.Open(files[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := logstore.Unpack(live, pf, logstore.UnpackOptions{}); err != nil {
			t.Fatal(err)
		}
		pf.Close()
		// a retired file that meets some of the parts and not others:
		// the first half of a 2-way cut
		bal2, err := Balance(want, 2)
		if err != nil {
			t.Fatal(err)
		}
		halves := filepath.Join(dir, g.String()+"-halves")
		os.Mkdir(halves, 0o755)
		res2, err := SplitMeguri("whole", bytes.NewReader(data), SplitOptions{Manifest: bal2.Manifest, OutDir: halves, Grouping: g})
		if err != nil {
			t.Fatal(err)
		}
		for _, ins := range [][]string{
			append([]string{whole}, files...),
			append([]string{res2.Partitions[0].File}, files...),
			{in, whole},
			append([]string{live, whole}, files[1:]...),
			append([]string{live}, files[1:]...),
		} {
			if got, _, err = CountHosts(ins, CountOptions{Grouping: g, Memory: 64 << 10}); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %d hosts from %v (%v), %d from the CDX", g, len(got), ins, err, len(want))
			}
		}

		other := canon.ByHost
		if g == canon.ByHost {
			other = canon.ByDomain
		}
		msg := fmt.Sprintf("%s keys hosts by %s grouping, not %s (--grouping %s)", whole, g, other, g)
		if _, _, err := CountHosts([]string{whole}, CountOptions{Grouping: other}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("count with %s: %v, want %q", other, err, msg)
		}
		empty := t.TempDir()
		if _, err := Split([]string{whole}, SplitOptions{Manifest: bal.Manifest, OutDir: empty, Grouping: other}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("split with %s: %v, want %q", other, err, msg)
		}
		if left, _ := os.ReadDir(empty); len(left) != 0 {
			t.Errorf("split with %s left %d files", other, len(left))
		}
	}
}

// TestOverlapping: the sweep marks exactly the inputs whose range meets
// another's, as comparing every pair does.
func TestOverlapping(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		n := 1 + rng.IntN(8)
		megs := make([]megInput, n)
		for i := range megs {
			a, b := rng.Uint64N(40), rng.Uint64N(40)
			megs[i] = megInput{lo: min(a, b), hi: max(a, b)}
		}
		got := overlapping(megs)
		for i := range megs {
			want := false
			for j := range megs {
				if i != j && megs[i].lo <= megs[j].hi && megs[j].lo <= megs[i].hi {
					want = true
				}
			}
			if got[i] != want {
				t.Fatalf("round %d: %+v: input %d marked %v, want %v", round, megs, i, got[i], want)
			}
		}
	}
}

// TestKeptNearest: the binary search for the kept boundary nearest a
// target gives what comparing every boundary gives (the first of the
// nearest, within the tolerance, above the last cut), on hosts whose
// counts tie and boundaries that share a count.
func TestKeptNearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 300 {
		var hosts []HostCount
		for i := range 1 + rng.IntN(60) {
			hosts = append(hosts, HostCount{Key: uint64(i)*1000 + uint64(rng.IntN(10)), URLs: uint64(1 + rng.IntN(4))})
		}
		c := newCounter(hosts)
		var keep []uint64
		for k := uint64(1); k < 61000; k += 1 + uint64(rng.IntN(3000)) {
			keep = append(keep, k)
		}
		kept := c.kept(keep)
		mean := float64(c.total()) / float64(1+rng.IntN(8))
		for range 40 {
			target := uint64(rng.IntN(int(c.total()) + 2))
			var cuts []uint64
			if rng.IntN(2) == 0 {
				cuts = []uint64{uint64(rng.IntN(61000))}
			}
			// every boundary compared, as re-balance did before
			var want uint64
			found := false
			for _, k := range keep {
				if len(cuts) > 0 && k <= cuts[0] {
					continue
				}
				d := absDiff(c.cum[c.below(k)], target)
				if float64(d) <= Tolerance/2*mean && (!found || d < absDiff(c.cum[c.below(want)], target)) {
					want, found = k, true
				}
			}
			got, ok := kept.nearest(target, mean, cuts)
			if ok != found || got != want {
				t.Fatalf("round %d: target %d, cuts %v: %d %v, want %d %v", round, target, cuts, got, ok, want, found)
			}
		}
	}
}

// TestCountHostsHugeBudget: a budget past the machine's memory counts as
// any other does (the key set was made at the budget's size at once, and
// the runtime died out of memory before reading a line).
func TestCountHostsHugeBudget(t *testing.T) {
	want, _, err := CountHosts([]string{testinput.Path()}, CountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := CountHosts([]string{testinput.Path()}, CountOptions{Memory: 1 << 50, TmpDir: t.TempDir()})
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("under a budget of 1 PiB: %d hosts, %v; want the %d of the default budget", len(got), err, len(want))
	}
}
