// Command meguri-route is everything a user does with the fleet map: print
// and check a manifest, route a host or URL, split a stream by partition,
// build a balanced manifest, and place partitions on nodes.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/bytedance/sonic"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/place"
	"github.com/meguri/meguri/lib/route"
	"github.com/meguri/meguri/lib/units"
)

type args struct {
	cli.VersionFlag
	Map     mapCmd     `cmd:"" default:"withargs" help:"Print the map and check that it tiles; route one host key or URL (the default command)."`
	Split   splitCmd   `cmd:"" help:"Split CDX lines or a .meguri stream into one output per partition."`
	Balance balanceCmd `cmd:"" help:"Write a manifest of N ranges with close to equal URL counts, from CDX lines or .meguri files."`
	Place   placeCmd   `cmd:"" help:"Assign each partition to nodes by rendezvous hashing."`
	Plan    planCmd    `cmd:"" help:"List the partition moves a change of nodes needs."`
	Update  updateCmd  `cmd:"" help:"Publish new partition rows (from meguri-compact) into a manifest, or refresh its counts from the files."`
}

const description = `The fleet map: partitions owning inclusive ranges of host keys.

Examples:
  meguri-route --manifest fleet.manifest                 # print the map, check it tiles
  meguri-route --manifest fleet.manifest --url http://example.com/a
  meguri-route balance --partitions 8 cdx-*.gz > fleet.manifest
  meguri-route split --manifest fleet.manifest --out-dir parts/ cdx-*.gz
  meguri-route place --manifest fleet.manifest --nodes a,b,c --rf 2
  meguri-route plan --manifest fleet.manifest --from a,b,c --to a,b,c,d
  meguri-route update --manifest fleet.manifest --rows new.rows -o fleet.manifest`

func main() {
	cli.Init("meguri-route")
	var a args
	ctx := kong.Parse(&a, cli.Kong("meguri-route", description, "map", "split", "balance", "place", "plan", "update")...)
	// (kong names a command with its arguments: "split <FILE>")
	switch cmd, _, _ := strings.Cut(ctx.Command(), " "); cmd {
	case "split":
		cli.DefaultMem(ctx, "meguri-route split", &a.Split.Mem)
	case "balance":
		cli.DefaultMem(ctx, "meguri-route balance", &a.Balance.Mem)
	}
	err := ctx.Run()
	if errors.Is(err, input.ErrMeguri) {
		// split and balance read a .meguri as it is, not compressed
		err = fmt.Errorf("%w: decompress it first", err)
	}
	if errors.As(err, new(*cdx.FoldedError)) {
		err = fmt.Errorf("%w; meguri-route reads the .meguri file itself", err)
	}
	cli.Done("meguri-route", err)
}

// loadTiling loads a manifest and refuses one that does not tile.
func loadTiling(path string) (*manifest.Manifest, error) {
	m, err := manifest.Load(path)
	if err != nil {
		return nil, err
	}
	if err := m.MustTile(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func printJSON(v any) error {
	b, err := sonic.ConfigStd.Marshal(v)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}

// ---- map ----

type mapCmd struct {
	Manifest string `required:"" placeholder:"PATH" help:"The manifest ('-' for stdin)."`
	Host     string `placeholder:"HOST|KEY" help:"Route this host and print its partition: a host name (keyed as ingest keys it, under --grouping) or a host key (0x + hex, 16 hex digits as xxhsum prints it, or decimal)."`
	URL      string `name:"url" placeholder:"URL" help:"Route this URL (canonicalized and keyed as ingest does) and print its partition."`
	JSON     bool   `name:"json" help:"Print JSON."`
	cli.GroupingFlag
}

type jsonPart struct {
	ID    uint64 `json:"partition_id"`
	Lo    string `json:"host_key_lo"`
	Hi    string `json:"host_key_hi"`
	File  string `json:"file"`
	URLs  uint64 `json:"urls"`
	Hosts uint64 `json:"hosts"`
	Bytes uint64 `json:"bytes"`
	Epoch uint64 `json:"epoch"`
}

func (c *mapCmd) Run() error {
	if c.Host != "" || c.URL != "" {
		return c.route()
	}
	m, err := manifest.Load(c.Manifest)
	if err != nil {
		return err
	}
	probs := m.Check()
	if c.JSON {
		out := struct {
			Tiles      bool       `json:"tiles"`
			Problems   []string   `json:"problems"`
			Grouping   *string    `json:"grouping"` // null when the manifest does not say
			Partitions []jsonPart `json:"partitions"`
		}{Tiles: len(probs) == 0, Problems: []string{}, Partitions: []jsonPart{}}
		if m.Grouping != "" {
			out.Grouping = &m.Grouping
		}
		for _, p := range probs {
			out.Problems = append(out.Problems, p.Error())
		}
		for _, p := range m.Parts {
			out.Partitions = append(out.Partitions, jsonPart{p.ID, units.Key(p.Lo), units.Key(p.Hi), p.File, p.URLs, p.Hosts, p.Bytes, p.Epoch})
		}
		if err := printJSON(out); err != nil {
			return err
		}
	} else {
		printMap(m)
		if len(probs) == 0 {
			fmt.Fprintln(cli.Stdout, "tiles [0, 2^64): yes")
		} else {
			fmt.Fprintf(cli.Stdout, "tiles [0, 2^64): NO, %d problem(s)\n", len(probs))
		}
	}
	if len(probs) > 0 {
		return &manifest.TileError{Problems: probs}
	}
	return nil
}

func printMap(m *manifest.Manifest) {
	urls, hosts, bytes := m.Totals()
	var most uint64
	for _, p := range m.Parts {
		most = max(most, p.URLs)
	}
	const width = 30
	fmt.Fprintf(cli.Stdout, "%-6s %-18s %-18s %10s %8s %10s %6s  %s\n", "id", "host_key_lo", "host_key_hi", "urls", "hosts", "bytes", "B/url", "share of urls")
	for _, p := range m.Parts {
		bpu := "-"
		if p.URLs > 0 && p.Bytes > 0 {
			bpu = fmt.Sprintf("%.2f", float64(p.Bytes)/float64(p.URLs))
		}
		share, n := 0.0, 0
		if urls > 0 {
			share = 100 * float64(p.URLs) / float64(urls)
		}
		if most > 0 {
			n = int((p.URLs*width + most/2) / most)
		}
		fmt.Fprintf(cli.Stdout, "%-6d %-18s %-18s %10d %8d %10d %6s  %-*s %5.1f%%  %s\n", p.ID, units.Key(p.Lo), units.Key(p.Hi),
			p.URLs, p.Hosts, p.Bytes, bpu, width, strings.Repeat("#", n), share, p.File)
	}
	mean := 0.0
	if len(m.Parts) > 0 {
		mean = float64(urls) / float64(len(m.Parts))
	}
	grouping := ""
	if m.Grouping != "" {
		grouping = ", grouping " + m.Grouping
	}
	size := units.Bytes(int64(bytes))
	if bytes == 0 && len(m.Parts) > 0 {
		size = "sizes not measured (update --refresh fills them in)" // a map from balance
	}
	fmt.Fprintf(cli.Stdout, "%d partitions, %d urls (mean %.0f), %d hosts, %s%s\n", len(m.Parts), urls, mean, hosts, size, grouping)
}

func (c *mapCmd) route() error {
	if c.Host != "" && c.URL != "" {
		return cli.Usagef("give --host or --url, not both")
	}
	// the value first: a mistyped one is a usage error whatever the map
	var u string
	var err error
	if c.Host != "" {
		if _, _, err = cli.HostKey("--host", c.Host, c.Value()); err != nil {
			return cli.Usagef("%v", err)
		}
	} else if u, err = cli.URL("--url", c.URL); err != nil {
		return cli.Usagef("%v", err)
	}
	m, err := loadTiling(c.Manifest)
	if err != nil {
		return err
	}
	// then its key, under the grouping the map was cut on
	if err := c.FromManifest(m, c.Manifest); err != nil {
		return err
	}
	var key uint64
	var group string
	if c.Host != "" {
		key, group, _ = cli.HostKey("--host", c.Host, c.Value())
	} else {
		k := canon.KeysOf(u, c.Value())
		key, group = k.Host, k.Group
	}
	p, _ := m.Lookup(key)
	if c.JSON {
		return printJSON(struct {
			ID    uint64 `json:"partition_id"`
			Key   string `json:"host_key"`
			Group string `json:"group,omitempty"`
			File  string `json:"file"`
		}{p.ID, units.Key(key), group, p.File})
	}
	if group != "" {
		fmt.Fprintf(cli.Stdout, "%s: ", group)
	}
	fmt.Fprintf(cli.Stdout, "host key %s -> partition %d (%s..%s) %s\n", units.Key(key), p.ID, units.Key(p.Lo), units.Key(p.Hi), p.File)
	return nil
}

// ---- split ----

type splitCmd struct {
	Files             []string `arg:"" optional:"" name:"FILE" help:"CDX inputs (plain, gzip or zstd, any form ingest takes) or one .meguri stream. None or '-' reads stdin."`
	Manifest          string   `required:"" placeholder:"PATH" help:"The manifest; it must tile."`
	OutDir            string   `name:"out-dir" required:"" placeholder:"DIR" help:"Directory for the outputs, one for every partition (empty where nothing was routed): <file stem>.jsonl (.jsonl.zst with --zstd) or <file stem>.meguri, replacing an earlier split's. One split at a time writes into a directory: give splits that run together a directory each."`
	Zstd              bool     `help:"Compress CDX outputs with zstd, each buffer of lines a frame from encoders shared by all partitions."`
	AllowUnterminated bool     `name:"allow-unterminated" help:"Write the parts though an input ends inside a line, with no line end. Without it such a split writes no part and exits 1: a stream cut short ends so, and a part holds the cut line with a line end, where ingest no longer sees the cut."`
	Replace           bool     `help:"With a .meguri input: replace .meguri files already in --out-dir under the outputs' names (an earlier split's). Without it they are refused, because the fleet's own partition files carry those names."`
	Rejects           string   `placeholder:"PATH" help:"Write every rejected line as JSON {source,line,reason,text} to PATH (gzip when PATH ends in .gz, zstd in .zst)."`
	MaxLine           cli.Size `name:"max-line" default:"1M" placeholder:"SIZE" help:"Longest line taken; longer ones are rejected (too_long)."`
	Queue             int      `default:"4" help:"Buffers queued per partition writer before the reader waits (1 to 64)."`
	Mem               cli.Size `default:"256M" placeholder:"SIZE" help:"Bound on the buffers held for all partitions together (default 256M, or half the machine's memory, the container's memory limit or the address space ulimit -v leaves, when less)."`
	JSON              bool     `name:"json" help:"Print the summary as JSON on stdout."`
	Progress          *bool    `negatable:"" help:"Show progress on stderr (default: when stderr is a terminal)."`
	Quiet             bool     `short:"q" help:"Do not print the summary on stderr."`
	cli.GroupingFlag
}

func (c *splitCmd) Run() (err error) {
	if c.Queue < 1 || c.Queue > 64 {
		// each partition holds a buffer for each place in its queue
		return cli.Usagef("--queue %d: want 1 to 64", c.Queue)
	}
	if c.Manifest == "-" && cli.ReadsStdin(c.Files) {
		return cli.Usagef("--manifest - and the input would both read stdin: give the manifest or the input by name")
	}
	if c.JSON && (c.Rejects == "-" || cli.SamePath("-", c.Rejects)) {
		return cli.Usagef("--rejects %s and the --json summary would both go to stdout: give --rejects PATH", c.Rejects)
	}
	m, err := loadTiling(c.Manifest)
	if err != nil {
		return err
	}
	if err := c.FromManifest(m, c.Manifest); err != nil {
		return err
	}
	ins := cli.StatInputs(c.Files)
	if err := ins.NamedTwice(); err != nil {
		return err
	}
	// No output may replace an input (a shard split into the directory
	// it came from, under the name of a partition's output).
	// Nor may --rejects be one of the outputs: the one renamed last would
	// replace the other.
	for i := range m.Parts {
		for _, ext := range []string{".jsonl", ".jsonl.zst", ".meguri"} {
			out := filepath.Join(c.OutDir, route.OutputName(&m.Parts[i], ext))
			if err := ins.Clobbers("the output", out); err != nil {
				return err
			}
			if cli.SamePath(c.Rejects, out) {
				return fmt.Errorf("--rejects %s is partition %d's output; write the rejects elsewhere", c.Rejects, m.Parts[i].ID)
			}
		}
	}
	if err := ins.Clobbers("--rejects", c.Rejects); err != nil {
		return err
	}
	if err := cli.InsideDir("--rejects", c.Rejects, ""); err != nil {
		return err
	}
	undo, err := cli.MakeOutDir(c.OutDir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			undo()
		}
	}()
	opt := route.SplitOptions{Manifest: m, OutDir: c.OutDir, Zstd: c.Zstd, Grouping: c.Value(),
		MaxLine: int(c.MaxLine), QueueDepth: c.Queue, Memory: int64(c.Mem), Replace: c.Replace,
		AllowUnterminated: c.AllowUnterminated}
	rejects, finish, err := cli.Rejects("meguri-route", c.Rejects)
	if err != nil {
		return err
	}
	defer func() { err = finish(err) }()
	opt.Rejects = rejects
	meter := cli.NewMeter(c.Progress)
	opt.Progress = meter.Reading("meguri-route split", c.Files)
	if cli.ReadsStdin(c.Files) {
		cli.LinesFromTerminal("meguri-route split", "CDX lines", "give FILE... to read files")
	}
	start := time.Now()
	res, err := route.Split(c.Files, opt)
	meter.Clear()
	if err != nil {
		return err
	}
	if err := finish(nil); err != nil {
		return err
	}
	if left := route.Leftovers(c.OutDir, res.Partitions, c.Rejects); len(left) > 0 {
		names := strings.Join(left[:min(len(left), 4)], ", ")
		if len(left) > 4 {
			names += fmt.Sprintf(" and %d more", len(left)-4)
		}
		fmt.Fprintf(os.Stderr, "meguri-route split: warning: %s also holds %d CDX file(s) this split did not write (%s), left by an earlier split of another map or with other flags? A glob over the directory would read their lines again: remove them, or split into an empty directory\n",
			c.OutDir, len(left), names)
	}
	if res.Cut.Inputs > 0 {
		// a part holds the line with a line end, which hides the cut
		fmt.Fprintf(os.Stderr, "meguri-route split: warning: %s\n", res.Cut.Warning())
	}
	if c.JSON {
		parts := res.Partitions
		if parts == nil {
			parts = []route.PartCount{}
		}
		if err := printJSON(struct {
			Partitions []route.PartCount `json:"partitions"`
			Rejected   int64             `json:"rejected"`
		}{parts, res.Rejected.Total()}); err != nil {
			return err
		}
	}
	if !c.Quiet {
		got := 0
		for _, p := range res.Partitions {
			if p.Records > 0 {
				got++
			}
		}
		read := "lines"
		if res.Records {
			read = "records"
		}
		fmt.Fprintf(os.Stderr, "meguri-route split: %d %s: %d routed to %d of %d partitions, %d rejected, %.2fs\n",
			res.Lines, read, res.Routed, got, len(res.Partitions), res.Rejected.Total(), time.Since(start).Seconds())
		res.Rejected.Print(os.Stderr)
		printPartCounts(res.Partitions)
	}
	return nil
}

// listedParts is how many partitions the split summary lists one by one;
// past it, it gives the spread of their counts (--json lists each).
const listedParts = 32

func printPartCounts(parts []route.PartCount) {
	if len(parts) <= listedParts {
		for _, p := range parts {
			fmt.Fprintf(os.Stderr, "  partition %-6d %10d records  %s\n", p.PartitionID, p.Records, p.File)
		}
		return
	}
	n := make([]int64, len(parts))
	for i, p := range parts {
		n[i] = p.Records
	}
	slices.Sort(n)
	fmt.Fprintf(os.Stderr, "  records per partition: min %d, median %d, max %d (--json lists each)\n", n[0], n[len(n)/2], n[len(n)-1])
}

// ---- balance ----

type balanceCmd struct {
	Files      []string `arg:"" optional:"" name:"FILE" help:"CDX inputs, .meguri files or live partition directories to count URLs from; a URL in two of them counts once. None or '-' reads stdin."`
	Partitions *int     `short:"n" placeholder:"N" help:"Number of partitions (default: as many as --from has)."`
	From       string   `placeholder:"PATH" help:"Re-balance this manifest, moving as few range boundaries as it can."`
	Output     string   `short:"o" default:"-" placeholder:"PATH" help:"Write the manifest here ('-' for stdout)."`
	MaxLine    cli.Size `name:"max-line" default:"1M" placeholder:"SIZE" help:"Longest CDX line taken."`
	Mem        cli.Size `default:"256M" placeholder:"SIZE" help:"Bound on the URL keys held (16 bytes a capture; default 256M, or half the machine's memory, the container's memory limit or the address space ulimit -v leaves, when less); past it they spill, sorted, to --tmp."`
	Tmp        string   `type:"existingdir" placeholder:"DIR" help:"Directory for spilled keys (default: the system temp dir); must exist."`
	Progress   *bool    `negatable:"" help:"Show progress on stderr (default: when stderr is a terminal)."`
	Quiet      bool     `short:"q" help:"Do not print the report on stderr."`
	cli.GroupingFlag
	cdx.FieldsFlag
}

func (c *balanceCmd) Run() error {
	n := 0 // with --from: as many as it has
	if c.Partitions != nil {
		if n = *c.Partitions; n < 1 {
			return cli.Usagef("--partitions %d: want at least 1", n)
		}
	}
	if n == 0 && c.From == "" {
		return cli.Usagef("give --partitions N (or --from MANIFEST to re-balance)")
	}
	if c.From == "-" && cli.ReadsStdin(c.Files) {
		return cli.Usagef("--from - and the input would both read stdin: give the manifest or the input by name")
	}
	var base *manifest.Manifest
	var err error
	if c.From != "" {
		if base, err = manifest.Load(c.From); err != nil {
			return err
		}
		// a re-balance moves the map's cuts: it counts hosts by the
		// map's keys
		if err := c.FromManifest(base, c.From); err != nil {
			return err
		}
	}
	ins := cli.StatInputs(c.Files)
	if err := ins.NamedTwice(); err != nil {
		return err
	}
	if err := ins.Clobbers("-o", c.Output); err != nil {
		return err
	}
	if err := cli.NotMeguri("-o", c.Output); err != nil {
		return err
	}
	if err := cli.InsideDir("-o", c.Output, ""); err != nil {
		return err
	}
	if c.Grouping == "" {
		// counting .meguri files: key as they were keyed
		c.Grouping = cli.GroupingName(meguriGrouping(c.Files))
	}
	if cli.ReadsStdin(c.Files) {
		cli.LinesFromTerminal("meguri-route balance", "CDX lines", "give FILE... to read files")
	}
	copt := route.CountOptions{Grouping: c.Value(), MaxLine: int(c.MaxLine), Memory: int64(c.Mem), TmpDir: c.Tmp,
		Layout: string(c.CDXFields)}
	meter := cli.NewMeter(c.Progress)
	copt.Progress = meter.Reading("meguri-route balance", c.Files)
	copt.Sorting = meter.Writing("meguri-route balance")
	hosts, rejected, err := route.CountHosts(c.Files, copt)
	meter.Clear()
	if err != nil {
		return err
	}
	var b *route.Balanced
	if base != nil {
		b, err = route.Rebalance(hosts, base, n)
	} else {
		b, err = route.Balance(hosts, n)
	}
	if err != nil {
		return err
	}
	if base != nil && sameFile(c.From, c.Output) {
		// Re-balanced in place: the count may have taken hours, and an
		// update published meanwhile would be lost under the new map.
		now, release, err := manifest.LoadForUpdate(c.From, func() {
			fmt.Fprintf(os.Stderr, "meguri-route balance: an update of %s is running; waiting\n", c.From)
		})
		if err != nil {
			return err
		}
		defer release()
		if !slices.Equal(now.Parts, base.Parts) {
			return fmt.Errorf("%s changed while balance counted (an update published to it); nothing was written: run balance again", c.From)
		}
	}
	b.Manifest.Grouping = c.Value().String()
	if err := b.Manifest.WriteFile(c.Output); err != nil {
		return err
	}
	if c.Quiet {
		return nil
	}
	urls, _, _ := b.Manifest.Totals()
	fmt.Fprintf(os.Stderr, "meguri-route balance: %d urls in %d hosts (%d lines rejected) into %d partitions, mean %.0f urls\n",
		urls, len(hosts), rejected, len(b.Manifest.Parts), float64(urls)/float64(len(b.Manifest.Parts)))
	if base != nil {
		if len(b.Changed) == 0 {
			fmt.Fprintln(os.Stderr, "meguri-route balance: no partition changes")
		}
		for _, ch := range b.Changed {
			fmt.Fprintf(os.Stderr, "  changes: %s\n", ch.Description)
		}
	}
	if len(b.Skews) == 0 {
		fmt.Fprintf(os.Stderr, "meguri-route balance: every partition within %.0f%% of the mean\n", route.Tolerance*100)
	}
	for _, s := range b.Skews {
		fmt.Fprintf(os.Stderr, "  skew: %s\n", s)
	}
	return nil
}

// meguriGrouping returns the grouping of the first of files that is a
// .meguri file, "" when none is.
func meguriGrouping(files []string) string {
	for _, name := range files {
		// a live partition directory counts as its packed file
		if h, err := logstore.Header(name); err == nil {
			return canon.Grouping(h.Grouping).String()
		}
		if h, found, err := cli.FileHeader(name); found && err == nil {
			return canon.Grouping(h.Grouping).String()
		}
	}
	return ""
}

// ---- place and plan ----

type topologyFlags struct {
	Manifest string `required:"" placeholder:"PATH" help:"The manifest; it must tile."`
	RF       int    `name:"rf" default:"1" help:"Replicas per partition (with groups: per group)."`
}

// topology builds the nodes given by the flag named nodesFlag or the groups
// given by groupsFlag; exactly one of them must be set.
func topology(nodes, groups, nodesFlag, groupsFlag string) (*place.Topology, error) {
	switch {
	case nodes != "" && groups != "":
		return nil, cli.Usagef("give --%s or --%s, not both", nodesFlag, groupsFlag)
	case groups != "":
		gs, err := place.ParseGroups(groups)
		if err != nil {
			return nil, cli.Usagef("--%s: %v", groupsFlag, err)
		}
		return &place.Topology{Groups: gs}, nil
	case nodes != "":
		ns, err := place.ParseNodes(nodes)
		if err != nil {
			return nil, cli.Usagef("--%s: %v", nodesFlag, err)
		}
		return &place.Topology{Nodes: ns}, nil
	}
	return nil, cli.Usagef("give --%s a,b,c (or --%s 'g1=a,b;g2=c,d')", nodesFlag, groupsFlag)
}

type placeCmd struct {
	topologyFlags
	Nodes  string `placeholder:"A,B,C" help:"Comma-separated node names."`
	Groups string `placeholder:"G1=A,B;G2=C,D" help:"Node groups; each group gets --rf replicas of every partition."`
}

func (c *placeCmd) Run() error {
	t, err := topology(c.Nodes, c.Groups, "nodes", "groups")
	if err != nil {
		return err
	}
	if err := t.Check(c.RF); err != nil {
		return cli.Usagef("%v", err)
	}
	m, err := loadTiling(c.Manifest)
	if err != nil {
		return err
	}
	type line struct {
		ID    uint64   `json:"partition_id"`
		Nodes []string `json:"nodes"`
	}
	var b []byte
	for _, p := range m.Parts {
		j, err := sonic.ConfigStd.Marshal(line{p.ID, t.Place(p.ID, c.RF)})
		if err != nil {
			return err
		}
		b = append(append(b, j...), '\n')
	}
	_, err = os.Stdout.Write(b)
	return err
}

type planCmd struct {
	topologyFlags
	From       string `placeholder:"A,B,C" help:"Nodes before the change."`
	To         string `placeholder:"A,B,C,D" help:"Nodes after the change."`
	FromGroups string `name:"from-groups" placeholder:"G1=A,B;..." help:"Node groups before the change."`
	ToGroups   string `name:"to-groups" placeholder:"G1=A,B;..." help:"Node groups after the change."`
	JSON       bool   `name:"json" help:"Print one JSON object with every move and the totals."`
}

func (c *planCmd) Run() error {
	from, err := topology(c.From, c.FromGroups, "from", "from-groups")
	if err != nil {
		return err
	}
	to, err := topology(c.To, c.ToGroups, "to", "to-groups")
	if err != nil {
		return err
	}
	for _, t := range []*place.Topology{from, to} {
		if err := t.Check(c.RF); err != nil {
			return cli.Usagef("%v", err)
		}
	}
	m, err := loadTiling(c.Manifest)
	if err != nil {
		return err
	}
	ids, sizes := make([]uint64, len(m.Parts)), make([]uint64, len(m.Parts))
	for i, p := range m.Parts {
		ids[i], sizes[i] = p.ID, p.Bytes
	}
	moves := place.Plan(ids, sizes, from, to, c.RF)
	// A row with no bytes was never measured (a map from balance, before
	// its files were built or refreshed): its size is unknown, not 0.
	var total, copies uint64
	unknown := 0
	for _, mv := range moves {
		total += mv.Bytes * uint64(len(mv.Join))
		copies += uint64(len(mv.Join))
		if mv.Bytes == 0 {
			unknown++
		}
	}
	if c.JSON {
		type jm struct {
			ID    uint64   `json:"partition_id"`
			From  []string `json:"from"`
			To    []string `json:"to"`
			Leave []string `json:"leave"`
			Join  []string `json:"join"`
			Bytes uint64   `json:"bytes"`
		}
		out := struct {
			Moves      []jm   `json:"moves"`
			Partitions int    `json:"partitions"`
			Moved      int    `json:"partitions_moved"`
			Copies     uint64 `json:"copies"`
			Bytes      uint64 `json:"bytes_to_ship"`
			Unknown    int    `json:"sizes_unknown"`
		}{Moves: []jm{}, Partitions: len(m.Parts), Moved: len(moves), Copies: copies, Bytes: total, Unknown: unknown}
		for _, mv := range moves {
			out.Moves = append(out.Moves, jm{mv.Partition, mv.From, mv.To, mv.Leave, mv.Join, mv.Bytes})
		}
		return printJSON(out)
	}
	for _, mv := range moves {
		size := units.Bytes(int64(mv.Bytes)) + " each"
		if mv.Bytes == 0 {
			size = "size unknown"
		}
		fmt.Fprintf(cli.Stdout, "partition %-6d leave %-12s join %-12s %s\n", mv.Partition, list(mv.Leave), list(mv.Join), size)
	}
	ship := units.Bytes(int64(total)) + " to ship"
	switch {
	case unknown == len(moves) && unknown > 0:
		ship = "sizes unknown"
	case unknown > 0:
		ship = fmt.Sprintf("%s to ship, and %d partitions of unknown size", units.Bytes(int64(total)), unknown)
	}
	fmt.Fprintf(cli.Stdout, "%d of %d partitions move: %d copies, %s\n", len(moves), len(m.Parts), copies, ship)
	if unknown > 0 {
		fmt.Fprintf(os.Stderr, "meguri-route: the map records no size for %d of the partitions that move (rows never measured: a map from balance before its files were built); meguri-route update --manifest %s --refresh --dir DIR -o %s fills the sizes in from the files\n",
			unknown, c.Manifest, c.Manifest)
	}
	return nil
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

// ---- update ----

type updateCmd struct {
	Manifest string   `required:"" placeholder:"PATH" help:"The manifest to start from."`
	Rows     []string `placeholder:"PATH" help:"Manifest rows to publish (meguri-compact prints them); each replaces the partitions its range overlaps. Repeatable."`
	Refresh  bool     `help:"Re-read urls, hosts and bytes of every partition from its file's header and trailer; a partition named by a live partition directory is packed to count it (nothing written), and its bytes are its packed file's."`
	Dir      string   `placeholder:"DIR" help:"Directory the manifest's relative file names are relative to (default: the manifest's own; rows are taken relative to theirs)."`
	Output   string   `short:"o" default:"-" placeholder:"PATH" help:"Write the new manifest here ('-' for stdout; the input path rewrites it atomically)."`
	Quiet    bool     `short:"q" help:"Do not list the partitions replaced and published, nor say when waiting for another update, on stderr."`
}

// sameFile reports whether two paths (not stdin or stdout) name one
// existing file.
func sameFile(a, b string) bool {
	if a == "-" || b == "-" {
		return false
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func (c *updateCmd) Run() error {
	if c.Manifest == "-" && slices.Contains(c.Rows, "-") {
		return cli.Usagef("--manifest - and --rows - would both read stdin: give one by name")
	}
	// Rewriting the manifest in place: hold it until the new one is in
	// place, so that two updates at once take turns and neither loses
	// the other's rows.
	var m *manifest.Manifest
	var err error
	if sameFile(c.Manifest, c.Output) {
		var release func()
		m, release, err = manifest.LoadForUpdate(c.Manifest, func() {
			if c.Quiet {
				return
			}
			fmt.Fprintf(os.Stderr, "meguri-route update: another update of %s is running; waiting\n", c.Manifest)
		})
		if err == nil {
			defer release()
		}
	} else {
		m, err = manifest.Load(c.Manifest)
	}
	if err != nil {
		return err
	}
	if err := cli.NotMeguri("-o", c.Output); err != nil {
		return err
	}
	if err := cli.InsideDir("-o", c.Output, ""); err != nil {
		return err
	}
	// Relative file names are relative to the manifest's directory (or
	// --dir); the output keeps them so wherever it is written, and rows
	// are taken relative to their own file's directory.
	in, out := c.Dir, c.Dir
	if c.Dir == "" {
		in, out = manifest.DirOf(c.Manifest), manifest.DirOf(c.Manifest)
		if c.Output != "-" {
			out = manifest.DirOf(c.Output)
		}
	}
	if err := m.Rebase(in, out); err != nil {
		return err
	}
	// Rows published together are one new layout: two of them over the
	// same keys are two reshapes that disagree (or one named twice), and
	// the later would silently undo the earlier.
	var rows []manifest.Partition
	var from []string
	for _, path := range c.Rows {
		r, err := manifest.Load(path)
		if err != nil {
			return err
		}
		if len(r.Parts) == 0 {
			// most often `meguri-compact ... > hot.rows` that failed: the
			// shell made the file, and publishing nothing would look done
			return fmt.Errorf("--rows %s holds no partition row (did the meguri-compact that was to write it fail?); nothing was published", path)
		}
		if err := r.Rebase(manifest.DirOf(path), out); err != nil {
			return err
		}
		switch {
		case r.Grouping == "" || r.Grouping == m.Grouping:
		case m.Grouping == "":
			m.Grouping = r.Grouping // a map from before groupings were recorded learns it
		default:
			return fmt.Errorf("--rows %s: its partitions key hosts by grouping %s, but %s was cut on grouping %s; nothing was published", path, r.Grouping, c.Manifest, m.Grouping)
		}
		for _, p := range r.Parts {
			for j, q := range rows {
				if p.Lo <= q.Hi && q.Lo <= p.Hi {
					return fmt.Errorf("partition %d %s..%s (%s) overlaps partition %d %s..%s (%s), published in the same update; publish one reshape of those keys",
						p.ID, units.Key(p.Lo), units.Key(p.Hi), path, q.ID, units.Key(q.Lo), units.Key(q.Hi), from[j])
				}
			}
			rows, from = append(rows, p), append(from, path)
		}
	}
	replaced := m.Replace(rows)
	if c.Refresh {
		if err := m.Refresh(out, func(p *manifest.Partition, path string) (codec.Stats, int64, error) {
			return packedCounts(m, p, path)
		}); err != nil {
			return err
		}
	}
	if err := m.MustTile(); err != nil {
		return fmt.Errorf("the updated manifest would not tile, so it was not written: %w", err)
	}
	// A published row's file must be there and be that partition: a map
	// that routes keys to a file that is not is a bad publish.
	for i, p := range rows {
		if err := checkRow(m, &p, out); err != nil {
			hint := ""
			if errors.Is(err, fs.ErrNotExist) {
				hint = " (a row names its file relative to the rows file's own directory)"
				if from[i] == "-" || manifest.Stream(from[i]) {
					hint = " (rows read from stdin or a pipe name their files relative to the current directory)"
				}
			}
			return fmt.Errorf("%s: %w%s; nothing was written", from[i], err, hint)
		}
	}
	if err := m.WriteFile(c.Output); err != nil {
		return err
	}
	// A replaced row's file that no row names any more is the old layout's:
	// say so, since that is what can be removed once no reader holds the
	// old map (a file rewritten in place keeps its name and its row).
	abs := func(p manifest.Partition) string {
		path := p.Path(out)
		if path == "" {
			return ""
		}
		path, _ = filepath.Abs(path)
		return path
	}
	named := map[string]bool{}
	for _, p := range m.Parts {
		named[abs(p)] = true
	}
	// A retired live directory that was not sealed may have taken runs
	// after the pack its replacements came from: they are in no partition
	// now. Warn even under -q.
	for _, p := range replaced {
		path := abs(p)
		if st, err := os.Stat(path); path == "" || named[path] || err != nil || !st.IsDir() {
			continue
		}
		if _, sealed, err := logstore.Sealed(path); err == nil && !sealed {
			fmt.Fprintf(os.Stderr, "meguri-route update: warning: %s, no longer in the map, is a live partition directory that was not sealed: runs appended to it after the pack its replacements came from are in no partition now (meguri-inspect --commits %s lists its runs, to re-run by the new map; meguri-pack --seal packs a partition that no run can append to after)\n", p.File, p.File)
		}
	}
	if c.Quiet {
		return nil
	}
	for _, p := range replaced {
		retired := ""
		if path := abs(p); path != "" && !named[path] {
			retired = " (no longer in the map: remove it once no reader holds the old map)"
		}
		fmt.Fprintf(os.Stderr, "meguri-route update: replaced partition %d %s..%s %s%s\n", p.ID, units.Key(p.Lo), units.Key(p.Hi), p.File, retired)
	}
	for _, p := range rows {
		fmt.Fprintf(os.Stderr, "meguri-route update: published partition %d %s..%s %s\n", p.ID, units.Key(p.Lo), units.Key(p.Hi), p.File)
	}
	return nil
}

// checkRow refuses a published row whose file (taken from dir) is
// missing, unreadable, or holds another partition, range or grouping than
// the map m; the file may be a live partition directory.
func checkRow(m *manifest.Manifest, p *manifest.Partition, dir string) error {
	path := p.Path(dir)
	if st, err := os.Stat(path); path != "" && err == nil && st.IsDir() {
		v, err := logstore.OpenPartition(m, p, path)
		if err == nil {
			v.Close()
		}
		return err
	}
	_, err := m.CheckFile(p, dir)
	return err
}

// packedCounts is how --refresh counts a live partition directory, once
// it is known to be p's (and of m's grouping): its records packed as
// meguri-pack would write them, into nothing.
func packedCounts(m *manifest.Manifest, p *manifest.Partition, path string) (codec.Stats, int64, error) {
	v, err := logstore.OpenPartition(m, p, path)
	if err != nil {
		return codec.Stats{}, 0, err
	}
	defer v.Close()
	res, err := v.Pack(io.Discard, logstore.PackOptions{})
	if err != nil {
		return codec.Stats{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	o := res.Outputs[0]
	return o.Stats, o.Bytes, nil
}
