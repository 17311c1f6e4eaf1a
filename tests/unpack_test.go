package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLiveRebalance is the life of a fleet of live partitions, through the
// binaries: files ingested from a first third of the input become live
// partition directories (meguri-pack --unpack) and are published into the
// map; the second third is split by the map and appended to them; the
// hottest is then packed and sealed (a run into it is refused), split in
// two, and both parts go live and are published in its place; the last
// third goes to the new map's
// partitions. At each step the fleet reads as one ingest of every line so
// far, and every directory packs to the bytes of the file it came from.
func TestLiveRebalance(t *testing.T) {
	in, err := filepath.Abs(input(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must := mustIn(t, dir)
	all := lines(t, in)
	var thirds []string
	for i := range 3 {
		name := fmt.Sprintf("c%d.jsonl", i)
		part := all[len(all)*i/3 : len(all)*(i+1)/3]
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(part, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		thirds = append(thirds, name)
	}
	// sameAsIngest checks the fleet's rows against one ingest of the
	// thirds so far.
	sameAsIngest := func(step string, n int) {
		t.Helper()
		must("meguri-ingest", append([]string{"-q", "-o", "whole.meguri"}, thirds[:n]...)...)
		want := must("meguri-inspect", "--rows", "whole.meguri")
		if got := must("meguri-inspect", "--rows", "--manifest", "fleet.manifest", "--dir", "live"); !bytes.Equal(got, want) {
			t.Fatalf("%s: the fleet's rows (%d bytes) differ from one ingest of the first %d thirds (%d bytes)", step, len(got), n, len(want))
		}
		out := string(must("meguri-inspect", "--verify", "--manifest", "fleet.manifest", "--dir", "live"))
		if !strings.Contains(out, "verify ok: ") {
			t.Fatalf("%s: verify over the fleet:\n%s", step, out)
		}
	}

	must("meguri-route", "balance", "-q", "--partitions", "4", in, "-o", "fleet.manifest")
	must("meguri-route", "split", "-q", "--manifest", "fleet.manifest", "--out-dir", "c0", thirds[0])
	man := filepath.Join(dir, "fleet.manifest")
	var publish []string
	for _, r := range readManifest(t, man) {
		stem := strings.TrimSuffix(r.file, ".meguri")
		file := "c0/" + r.file
		must("meguri-ingest", "-q", "--manifest", "fleet.manifest", "--partition-id", fmt.Sprint(r.id), "-o", file, "c0/"+stem+".jsonl")
		live := fmt.Sprintf("live/p%d", r.id)
		rows := must("meguri-pack", "-q", "--unpack", file, "--data", live)
		if got := must("meguri-pack", "-q", live); !bytes.Equal(got, fileBytes(t, filepath.Join(dir, file))) {
			t.Fatalf("%s packs to other bytes than %s, which it was unpacked from", live, file)
		}
		name := fmt.Sprintf("p%d.rows", r.id)
		os.WriteFile(filepath.Join(dir, name), rows, 0o644)
		publish = append(publish, "--rows", name)
	}
	must("meguri-route", append(append([]string{"update", "-q", "--manifest", "fleet.manifest", "--dir", "live"}, publish...), "-o", "fleet.manifest")...)
	for _, r := range readManifest(t, man) {
		if r.file != fmt.Sprintf("p%d", r.id) {
			t.Fatalf("partition %d names %s after publishing, want p%d (relative to live/)", r.id, r.file, r.id)
		}
	}
	before := fileBytes(t, man)
	must("meguri-route", "update", "-q", "--manifest", "fleet.manifest", "--dir", "live", "--refresh", "-o", "fleet.manifest")
	if again := fileBytes(t, man); !bytes.Equal(again, before) {
		t.Errorf("a refresh after publishing the unpacked rows changed the map:\n%s\nto\n%s", before, again)
	}
	sameAsIngest("unpacked", 1)

	// the second third, split by the map, appended to each partition
	appendThird := func(i int) {
		t.Helper()
		out := fmt.Sprintf("c%d", i)
		must("meguri-route", "split", "-q", "--manifest", "fleet.manifest", "--out-dir", out, thirds[i])
		for _, r := range readManifest(t, man) {
			must("meguri-ingest", "-q", "--data", "live/"+r.file, out+"/"+r.file+".jsonl")
		}
		must("meguri-route", "update", "-q", "--manifest", "fleet.manifest", "--dir", "live", "--refresh", "-o", "fleet.manifest")
	}
	appendThird(1)
	sameAsIngest("appended", 2)

	// the hottest is packed, split in two, and both parts go live
	rows := readManifest(t, man)
	hot := rows[0]
	for _, r := range rows {
		if r.urls > hot.urls {
			hot = r
		}
	}
	must("meguri-pack", "-q", "--seal", "live/"+hot.file, "-o", "hot.meguri")
	// sealed, it takes no more runs: one routed by the old map is refused
	// (and can be re-run by the new one), not appended where it would be
	// lost with the directory
	abs, _ := filepath.Abs(sample)
	if _, e, code := runIn(t, dir, nil, "meguri-ingest", "--data", "live/"+hot.file, abs); code != 1 || !strings.Contains(string(e), "live/"+hot.file+" is sealed (by meguri-pack --seal at ") {
		t.Fatalf("a run into the sealed hot partition: exit %d: %s", code, e)
	}
	if got := must("meguri-pack", "-q", "live/"+hot.file); !bytes.Equal(got, fileBytes(t, filepath.Join(dir, "hot.meguri"))) {
		t.Fatal("the sealed partition no longer packs to its seal's file")
	}
	must("meguri-compact", "-q", "--split", "2", "--partition-id", "8", "--out-dir", "split", "hot.meguri")
	for _, id := range []int{8, 9} {
		rows := must("meguri-pack", "-q", "--unpack", fmt.Sprintf("split/part-%04d.meguri", id), "--data", fmt.Sprintf("live/p%d", id))
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.rows", id)), rows, 0o644)
	}
	_, e, code := runIn(t, dir, nil, "meguri-route", "update", "--manifest", "fleet.manifest", "--dir", "live", "--rows", "p8.rows", "--rows", "p9.rows", "-o", "fleet.manifest")
	if code != 0 || !strings.Contains(string(e), fmt.Sprintf(" %s (no longer in the map: remove it once no reader holds the old map)", hot.file)) || strings.Contains(string(e), "warning") ||
		!strings.Contains(string(e), "published partition 8 ") || !strings.Contains(string(e), "published partition 9 ") {
		t.Fatalf("publishing the hot partition's parts: exit %d: %s", code, e)
	}
	var mj struct{ Tiles bool }
	if err := json.Unmarshal(must("meguri-route", "--manifest", "fleet.manifest", "--json"), &mj); err != nil || !mj.Tiles {
		t.Fatalf("the rebalanced map does not tile (%v)", err)
	}
	if n := len(readManifest(t, man)); n != len(rows)+1 {
		t.Fatalf("%d partitions after the split, want %d", n, len(rows)+1)
	}
	sameAsIngest("rebalanced", 2)

	appendThird(2)
	sameAsIngest("appended after the rebalance", 3)

	// unpacking over a live partition is refused and changes nothing
	packed := must("meguri-pack", "-q", "live/p8")
	_, e, code = runIn(t, dir, nil, "meguri-pack", "--unpack", "split/part-0009.meguri", "--data", "live/p8")
	if code != 1 || !strings.Contains(string(e), "live/p8 is partition 8 already (generation 0): unpack makes a new live partition") {
		t.Errorf("unpack over a partition: exit %d: %s", code, e)
	}
	if again := must("meguri-pack", "-q", "live/p8"); !bytes.Equal(again, packed) {
		t.Error("a refused unpack changed the partition")
	}
}

// TestRetiringUnsealedWarns: publishing the parts of a live partition
// that was packed without --seal warns that runs appended to it since are
// in no partition (TestLiveRebalance seals, and gets no warning).
func TestRetiringUnsealedWarns(t *testing.T) {
	dir := t.TempDir()
	must := mustIn(t, dir)
	abs, _ := filepath.Abs(sample)
	must("meguri-route", "balance", "-q", "--partitions", "1", abs, "-o", "fleet.manifest")
	must("meguri-ingest", "-q", "--manifest", "fleet.manifest", "--partition-id", "0", abs, "-o", "p0.meguri")
	os.WriteFile(filepath.Join(dir, "p0.rows"), must("meguri-pack", "-q", "--unpack", "p0.meguri", "--data", "live/p0"), 0o644)
	must("meguri-route", "update", "-q", "--manifest", "fleet.manifest", "--dir", "live", "--rows", "p0.rows", "-o", "fleet.manifest")
	must("meguri-pack", "-q", "live/p0", "-o", "hot.meguri")
	must("meguri-compact", "-q", "--split", "2", "--partition-id", "1", "--out-dir", "split", "hot.meguri")
	for _, id := range []int{1, 2} {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.rows", id)), must("meguri-pack", "-q", "--unpack", fmt.Sprintf("split/part-%04d.meguri", id), "--data", fmt.Sprintf("live/p%d", id)), 0o644)
	}
	_, e, code := runIn(t, dir, nil, "meguri-route", "update", "-q", "--manifest", "fleet.manifest", "--dir", "live", "--rows", "p1.rows", "--rows", "p2.rows", "-o", "fleet.manifest")
	if want := "meguri-route update: warning: p0, no longer in the map, is a live partition directory that was not sealed: "; code != 0 || !strings.HasPrefix(string(e), want) {
		t.Errorf("retiring an unsealed live partition: exit %d: %s; want %q", code, e, want)
	}
}

// TestSealFlags: --seal packs and seals, a run and a checkpoint are then
// refused and change nothing, --stats shows the seal, --unseal lets runs
// in again (and says so when there was none); the flags that do not go
// with them are usage errors.
func TestSealFlags(t *testing.T) {
	dir := t.TempDir()
	lines := bytes.SplitAfter(fileBytes(t, sample), []byte("\n"))
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	os.WriteFile(a, bytes.Join(lines[:len(lines)/2], nil), 0o644)
	os.WriteFile(b, bytes.Join(lines[len(lines)/2:], nil), 0o644)
	p := filepath.Join(dir, "p")
	mustRun(t, nil, "meguri-ingest", "-q", "--data", p, a)
	// a pack whose reader is gone (an unpack over ssh that died) does not
	// seal, and says so: not the quiet end of a `| head`
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	e0, code0 := runOn(t, nil, w, "meguri-pack", "--seal", p)
	w.Close()
	if want := "meguri-pack: " + p + " is not sealed: the reader of stdout ended before the pack was whole"; code0 != 1 || !strings.HasPrefix(e0, want) {
		t.Errorf("--seal into a closed pipe: exit %d: %s; want exit 1 and %q", code0, e0, want)
	}
	if stats := mustRun(t, nil, "meguri-pack", "--stats", p); bytes.Contains(stats, []byte("sealed")) {
		t.Errorf("a failed --seal sealed the directory:\n%s", stats)
	}
	hot := filepath.Join(dir, "hot.meguri")
	_, e, code := run(t, nil, "meguri-pack", "--seal", p, "-o", hot)
	if code != 0 || !strings.Contains(string(e), "meguri-pack: "+p+" is sealed: runs of meguri-ingest --data and checkpoints refuse it from now on") {
		t.Fatalf("--seal: exit %d: %s", code, e)
	}
	stats := mustRun(t, nil, "meguri-pack", "--stats", p)
	for _, args := range [][]string{{"meguri-ingest", "--data", p, b}, {"meguri-compact", "--data", p}} {
		_, e, code := run(t, nil, args[0], args[1:]...)
		if code != 1 || !strings.Contains(string(e), p+" is sealed (by meguri-pack --seal at ") || !strings.Contains(string(e), "packed to "+hot+"): ") {
			t.Errorf("%v on a sealed directory: exit %d: %s", args, code, e)
		}
	}
	if again := mustRun(t, nil, "meguri-pack", "--stats", p); !bytes.Equal(again, stats) || !bytes.Contains(stats, []byte("\nsealed      by meguri-pack --seal at ")) {
		t.Errorf("refused runs changed the directory, or --stats does not show the seal:\n%s\n%s", stats, again)
	}
	if got := mustRun(t, nil, "meguri-pack", "-q", p); !bytes.Equal(got, fileBytes(t, hot)) {
		t.Error("the sealed directory does not pack to its seal's file")
	}
	for _, c := range []struct{ args []string }{
		{[]string{"--seal", "--stats", p}},
		{[]string{"--unseal", "-o", hot, p}},
		{[]string{"--unseal", "--seal", p}},
		{[]string{"--unpack", hot, "--seal", "--data", filepath.Join(dir, "q")}},
	} {
		if _, _, code := run(t, nil, "meguri-pack", c.args...); code != 2 {
			t.Errorf("meguri-pack %v: exit %d, want 2", c.args, code)
		}
	}
	wantExit(t, 0, "meguri-pack: "+p+" is unsealed: meguri-ingest --data may append to it again", "meguri-pack", "--unseal", p)
	wantExit(t, 0, "meguri-pack: "+p+" was not sealed; nothing changed", "meguri-pack", "--unseal", p)
	mustRun(t, nil, "meguri-ingest", "-q", "--data", p, b)
	if got, want := mustRun(t, nil, "meguri-pack", "-q", p), mustRun(t, nil, "meguri-ingest", "-q", a, b); !bytes.Equal(got, want) {
		t.Error("after --unseal and a run, the directory is not the ingest of both halves")
	}
}

// A damaged or cut file, from a path or a pipe, makes no directory; nor
// does one unpacked by mistake over the wrong arguments.
func TestUnpackRefusals(t *testing.T) {
	dir := t.TempDir()
	must := mustIn(t, dir)
	sample, err := filepath.Abs(sample)
	if err != nil {
		t.Fatal(err)
	}
	must("meguri-ingest", "-q", "-o", "p.meguri", sample)
	good := fileBytes(t, filepath.Join(dir, "p.meguri"))
	damaged := bytes.Clone(good)
	damaged[len(good)/2] ^= 0x10
	os.WriteFile(filepath.Join(dir, "damaged.meguri"), damaged, 0o644)
	for _, c := range []struct {
		stdin []byte
		args  []string
		code  int
		want  string
	}{
		{nil, []string{"--unpack", "damaged.meguri", "--data", "d"}, 1, "meguri-pack: damaged.meguri: corrupt .meguri: "},
		{good[:len(good)-10], []string{"--unpack", "-", "--data", "d"}, 1, "meguri-pack: stdin: corrupt .meguri: "},
		{nil, []string{"--unpack", "-", "--data", "d"}, 1, "meguri-pack: stdin: empty: not one byte of a .meguri file"},
		{nil, []string{"--unpack", sample, "--data", "d"}, 1, "not a .meguri file (bad magic); it starts like text, as CDX input does: meguri-ingest reads that (d was not made a partition)"},
		{nil, []string{"--unpack", ".", "--data", "d"}, 2, "meguri-pack: --unpack . is a directory: --unpack names the .meguri file to start from, --data the new partition directory\n"},
		{nil, []string{"--unpack", "p.meguri", "--data", "d", "--stats"}, 2, "--stats and --unpack"},
		{nil, []string{"--unpack", "p.meguri", "--data", "d", "-o", "x.meguri"}, 2, "-o and --unpack"},
		{nil, []string{"--unpack", "d", "--data", "p.meguri"}, 1, "meguri-pack: cannot read d: no such file or directory\n"},
		{nil, []string{"--unpack", "p.meguri", "--data", "p.meguri"}, 1, "p.meguri is a file, not a partition directory"},
	} {
		_, e, code := runIn(t, dir, c.stdin, "meguri-pack", c.args...)
		if code != c.code || !strings.Contains(string(e), c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d, %q", c.args, code, e, c.code, c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "d")); err == nil {
			t.Fatalf("%v: left the directory d", c.args)
		}
	}
	// and the same file, whole, through a pipe
	must("meguri-ingest", "-q", "--partition-id", "3", "-o", "p3.meguri", sample)
	p3 := fileBytes(t, filepath.Join(dir, "p3.meguri"))
	o, e, code := runIn(t, dir, p3, "meguri-pack", "--unpack", "-", "--data", "d")
	if code != 0 || !strings.HasPrefix(string(o), "# partition_id\t") || !strings.Contains(string(o), "\n3\t0x0000000000000000\t0xffffffffffffffff\td\t") ||
		!strings.Contains(string(e), "meguri-pack: d is now partition 3 (") {
		t.Fatalf("unpack from a pipe: exit %d, %s%s", code, o, e)
	}
	if got := must("meguri-pack", "-q", "d"); !bytes.Equal(got, p3) {
		t.Fatal("a partition unpacked from a pipe packs to other bytes")
	}
}
