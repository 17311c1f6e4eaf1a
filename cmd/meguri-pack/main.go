// Command meguri-pack snapshots a live partition directory into a
// standalone .meguri file without changing the directory, or prints its
// counters; with --unpack it makes a new live partition directory from a
// .meguri file.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/meguri/meguri/lib/atomicfile"
	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/merge"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

type args struct {
	cli.VersionFlag
	Dir      string   `arg:"" optional:"" name:"dir" placeholder:"DIR" help:"The partition directory, as --data names it."`
	Data     string   `placeholder:"DIR" help:"The partition directory (made by meguri-ingest --data, or by --unpack); or give it as the argument."`
	Output   string   `short:"o" default:"-" placeholder:"PATH" help:"Write the .meguri file here ('-' for stdout). Written atomically: a failed run leaves no file."`
	Stats    bool     `help:"Print the directory's counters (generation, snapshot, log) on stdout instead of packing."`
	Mem      cli.Size `default:"1G" placeholder:"SIZE" help:"Working-set budget for sorting the log's captures (default 1G, or half the machine's memory, the container's memory limit or the address space ulimit -v leaves, when less); past it sorted runs spill to --tmp. Output bytes do not depend on it."`
	Tmp      string   `type:"existingdir" placeholder:"DIR" help:"Directory for spilled runs (default: the system temp dir); must exist."`
	Progress *bool    `negatable:"" help:"Show progress on stderr (default: when stderr is a terminal)."`
	Quiet    bool     `short:"q" help:"Do not print the summary."`
	JSON     bool     `name:"json" help:"Print the summary (or --stats) as JSON."`
	Seal     bool     `help:"Seal the directory with the pack, for a rebalance or a move: the pack waits for a running writer and holds the writers' lock until the seal is written, and from then on every meguri-ingest --data run and every checkpoint refuses the directory, so no run can append to it after its records left in the file."`
	Unseal   bool     `help:"Let writers into a sealed directory again (a rebalance called off); packs nothing."`
	Unpack   string   `placeholder:"FILE" help:"The reverse of a pack: make the directory a new live partition from this .meguri file ('-' for stdin), with the file's id, range and grouping and an empty log, every page checked first. Prints the partition's manifest row on stdout, for meguri-route update --rows."`
}

const description = `Snapshot a live partition directory into a standalone .meguri file, or
(--unpack) make a new live partition directory from one.

Without --seal the directory is read, never written or locked: a writer can
go on appending while it packs. The file holds the snapshot with every
committed transaction of the log folded in (newest capture wins, counts
add), the same bytes the next checkpoint would write; a transaction still
in progress is left out.
With no checkpoint since meguri-ingest --data made the directory, the file
equals meguri-ingest of every committed line with the directory's id and
range.

With --seal the pack is the directory's last: it waits for a running
writer, and once the file is written every later run of meguri-ingest
--data (and every checkpoint) refuses the directory, so no capture can be
appended to a partition whose records have moved on. Seal the hot
partition of a rebalance, or one moving to another node; --unseal calls
it off.

With --unpack it goes the other way: a .meguri file (a packed partition
that moved to this machine, or a part of a split) becomes a new live
partition directory that meguri-ingest --data appends to.

Examples:
  meguri-pack --data part-7/ -o part-7.meguri
  meguri-pack part-7/ -o part-7.meguri    # the same
  meguri-pack --data part-7/ | meguri-inspect --rows - | jq .url
  meguri-pack --data part-7/ --stats --json
  meguri-pack --data part-7/ --seal -o hot.meguri   # for a rebalance: writers refuse it after
  meguri-pack --unpack parts/part-0008.meguri --data part-8/ > part-8.rows
  meguri-pack part-7/ | ssh node2 meguri-pack --unpack - --data part-7/   # move it`

func main() {
	cli.Init("meguri-pack")
	var a args
	ctx := kong.Parse(&a, cli.Kong("meguri-pack", description)...)
	cli.DefaultMem(ctx, "meguri-pack", &a.Mem)
	cli.Done("meguri-pack", run(&a))
}

func run(a *args) error {
	switch {
	case a.Data == "" && a.Dir == "":
		return cli.Usagef("give the partition directory: meguri-pack --data DIR (or meguri-pack DIR)")
	case a.Data != "" && a.Dir != "" && a.Data != a.Dir:
		return cli.Usagef("--data %s and the argument %s name two directories; pack one at a time", a.Data, a.Dir)
	case a.Data == "":
		a.Data = a.Dir
	}
	if a.Unpack != "" {
		return unpack(a)
	}
	if a.Unseal {
		return unseal(a)
	}
	if a.Stats {
		if a.Seal {
			return cli.Usagef("--stats and --seal: --stats prints the counters, --seal packs; give one of them")
		}
		v, err := logstore.Open(a.Data)
		if err != nil {
			return err
		}
		defer v.Close()
		if a.JSON {
			fmt.Fprintln(cli.Stdout, v.JSON())
		} else {
			fmt.Fprint(cli.Stdout, v.Text())
		}
		return nil
	}
	start := time.Now()
	var p packed
	if a.Seal {
		to := a.Output
		if to == "-" {
			to = "stdout"
		}
		note := fmt.Sprintf("by meguri-pack --seal at %s, packed to %s", time.Now().UTC().Format(time.RFC3339), to)
		// The pack runs under the writers' lock, from the view on: no run
		// can commit between what the file holds and the seal. Waiting
		// for a writer is said under -q too, as writers say it.
		say := cli.Notify("meguri-pack", a.Data, false)
		if err := logstore.Seal(a.Data, note, say, func() (err error) { p, err = pack(a); return err }); err != nil {
			if errors.Is(err, syscall.EPIPE) {
				// not the quiet end of a `| head`: the seal asked for did
				// not happen, and the reader (an unpack over ssh) got
				// part of the file
				return fmt.Errorf("%s is not sealed: the reader of stdout ended before the pack was whole (%v)", a.Data, err)
			}
			return err
		}
	} else {
		var err error
		if p, err = pack(a); err != nil {
			return err
		}
	}
	if a.Quiet {
		return nil
	}
	o, res := p.res.Outputs[0], p.res
	bpu := 0.0
	if o.Stats.URLs > 0 {
		bpu = float64(o.Bytes) / float64(o.Stats.URLs)
	}
	if a.JSON {
		fmt.Fprintf(os.Stderr, `{"generation":%d,"transactions":%d,"log_captures":%d,"uncommitted_bytes":%d,"urls":%d,"hosts":%d,"captures":%d,"file_bytes":%d,"bytes_per_url":%.2f,"blocks_copied":%d,"blocks_decoded":%d,"sealed":%t}`+"\n",
			p.generation, p.log.Transactions, p.log.Captures, p.uncommitted, o.Stats.URLs, o.Stats.Hosts, o.Stats.Captures, o.Bytes, bpu, res.BlocksCopied, res.BlocksDecoded, a.Seal)
		return nil
	}
	fmt.Fprintf(os.Stderr, "meguri-pack: %s generation %d: snapshot of %d urls + %d transactions in the log (%d captures and links)\n",
		a.Data, p.generation, p.snapURLs, p.log.Transactions, p.log.Captures)
	if p.uncommitted > 0 {
		fmt.Fprintf(os.Stderr, "meguri-pack: left out %s past the last commit (a run in progress, or one that died)\n", units.Bytes(p.uncommitted))
	}
	fmt.Fprintf(os.Stderr, "meguri-pack: %d urls, %d hosts, %s, %.2f bytes/url, %.2fs\n",
		o.Stats.URLs, o.Stats.Hosts, units.Bytes(o.Bytes), bpu, time.Since(start).Seconds())
	if a.Seal {
		fmt.Fprintf(os.Stderr, "meguri-pack: %s is sealed: runs of meguri-ingest --data and checkpoints refuse it from now on (--unseal lets them in again)\n", a.Data)
	}
	return nil
}

// packed is what a pack read and wrote, for its summary.
type packed struct {
	res         *merge.Result
	generation  uint64
	snapURLs    uint64
	log         logstore.LogStats
	uncommitted int64
}

// pack writes a.Data's state to a.Output.
func pack(a *args) (p packed, err error) {
	v, err := logstore.Open(a.Data)
	if err != nil {
		return p, err
	}
	defer v.Close()
	// The file goes outside the directory: in it, a name like the
	// snapshot's would replace partition state.
	if err := cli.InsideDir("-o", a.Output, a.Data); err != nil {
		return p, err
	}
	if err := cli.BinaryToTerminal(a.Output); err != nil {
		return p, err
	}
	if err := cli.Inputs(nil).OtherPartition("-o", a.Output, v.Header.PartitionID, v.Header.Lo, v.Header.Hi); err != nil {
		return p, err
	}
	out, err := atomicfile.Create(a.Output)
	if err != nil {
		return p, err
	}
	defer out.Abort()
	meter := cli.NewMeter(a.Progress)
	res, err := v.Pack(out, logstore.PackOptions{Mem: int64(a.Mem), TmpDir: a.Tmp,
		Progress: cli.PackProgress("meguri-pack", meter)})
	meter.Clear()
	if err != nil {
		return p, err
	}
	if err := out.Commit(); err != nil {
		return p, err
	}
	return packed{res: res, generation: v.Generation, snapURLs: v.Snapshot.Stats.URLs, log: v.Log, uncommitted: v.UncommittedBytes()}, nil
}

// unseal lets writers into a.Data again.
func unseal(a *args) error {
	switch {
	case a.Stats, a.Seal, a.Output != "-":
		return cli.Usagef("--unseal only unseals the directory: give it without -o, --stats or --seal")
	}
	was, err := logstore.Unseal(a.Data, cli.Notify("meguri-pack", a.Data, false))
	if err != nil {
		return err
	}
	if !a.Quiet {
		if was {
			fmt.Fprintf(os.Stderr, "meguri-pack: %s is unsealed: meguri-ingest --data may append to it again\n", a.Data)
		} else {
			fmt.Fprintf(os.Stderr, "meguri-pack: %s was not sealed; nothing changed\n", a.Data)
		}
	}
	return nil
}

// unpack makes a.Data a live partition from the .meguri file a.Unpack.
func unpack(a *args) (err error) {
	switch {
	case a.Stats:
		return cli.Usagef("--stats and --unpack: --stats reads a partition directory, --unpack makes one; give one of them")
	case a.Output != "-":
		return cli.Usagef("-o and --unpack: --unpack makes a directory (--data), not a file")
	case a.Seal || a.Unseal:
		return cli.Usagef("--unpack makes a new directory; --seal and --unseal are for one that exists")
	}
	if err := cli.BinaryFromTerminal([]string{a.Unpack}); err != nil {
		return err
	}
	src, name := os.Stdin, "stdin"
	if a.Unpack != "-" {
		if st, err := os.Stat(a.Unpack); err == nil && st.IsDir() {
			return cli.Usagef("--unpack %s is a directory: --unpack names the .meguri file to start from, --data the new partition directory", a.Unpack)
		}
		if src, err = os.Open(a.Unpack); err != nil {
			return cli.CannotRead(a.Unpack, err)
		}
		defer src.Close()
		name = a.Unpack
	}
	start := time.Now()
	meter := cli.NewMeter(a.Progress)
	u, err := logstore.Unpack(a.Data, src, logstore.UnpackOptions{
		Source: name,
		Notify: func(msg string) { meter.Clear(); fmt.Fprintf(os.Stderr, "meguri-pack: %s: %s\n", a.Data, msg) },
		Progress: func(blocks int, rows uint64, bytes int64) {
			meter.Printf("meguri-pack: checking %s: %d blocks, %d rows, %s", name, blocks, rows, units.Bytes(bytes))
		},
	})
	meter.Clear()
	if err != nil {
		return err
	}
	h := u.Header
	g := canon.Grouping(h.Grouping).String()
	row := &manifest.Manifest{Grouping: g, Parts: []manifest.Partition{{ID: h.PartitionID, Lo: h.Lo, Hi: h.Hi,
		File: filepath.Clean(a.Data), URLs: u.Stats.URLs, Hosts: u.Stats.Hosts, Bytes: uint64(u.Bytes), Epoch: 1}}}
	if err := row.Write(cli.Stdout); err != nil {
		return fmt.Errorf("%s is made partition %d, but its manifest row could not be printed: %w", a.Data, h.PartitionID, err)
	}
	if a.Quiet {
		return nil
	}
	if a.JSON {
		fmt.Fprintf(os.Stderr, `{"dir":%s,"from":%s,"partition_id":%d,"host_key_lo":"%s","host_key_hi":"%s","grouping":%q,"urls":%d,"hosts":%d,"captures":%d,"file_bytes":%d}`+"\n",
			record.AppendString(nil, a.Data), record.AppendString(nil, name), h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), g, u.Stats.URLs, u.Stats.Hosts, u.Stats.Captures, u.Bytes)
		return nil
	}
	fmt.Fprintf(os.Stderr, "meguri-pack: %s is now partition %d (%s..%s, grouping %s), from %s: %d urls, %d hosts, %s, %.2fs\n",
		a.Data, h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), g, name, u.Stats.URLs, u.Stats.Hosts, units.Bytes(u.Bytes), time.Since(start).Seconds())
	fmt.Fprintf(os.Stderr, "meguri-pack: append to it with meguri-ingest --data %s\n", a.Data)
	return nil
}
