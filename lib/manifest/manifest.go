// Package manifest reads, writes and checks the fleet manifest: the text
// file that says which partition owns which inclusive range of host keys,
// and where its file is.
//
// One partition a line, whitespace-separated columns, '#' starts a
// comment; one comment records the host grouping the ranges were cut on:
//
//	# partition_id	host_key_lo	host_key_hi	file	urls	hosts	bytes	epoch
//	# grouping: domain
//	0	0x0000000000000000	0x7fffffffffffffff	part-0000.meguri	5120	310	80211	1
//	1	0x8000000000000000	0xffffffffffffffff	part-0001.meguri	4980	295	78103	1
//
// Write sorts by range, so the same partitions always give the same bytes.
// Check reports every gap, overlap and duplicated id; Lookup routes a host
// key with a binary search:
//
//	m, err := manifest.Load("fleet.manifest")
//	if probs := m.Check(); len(probs) > 0 { ... }
//	p, ok := m.Lookup(key)
package manifest

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/meguri/meguri/lib/atomicfile"
	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/internal/flock"
	"github.com/meguri/meguri/lib/units"
)

// Partition is one line of a manifest.
type Partition struct {
	ID     uint64
	Lo, Hi uint64 // inclusive host-key range
	File   string // "-" when the partition has no file yet
	URLs   uint64
	Hosts  uint64
	Bytes  uint64
	Epoch  uint64
}

// Manifest is a fleet map. Parts are kept sorted by range.
type Manifest struct {
	Parts []Partition
	// Grouping is how the map's host keys group hosts ("domain" or
	// "host", as the tools' --grouping names it), from a "# grouping: G"
	// line; "" when the manifest does not say (one written before meguri
	// recorded it, or by hand). Its ranges were cut on those keys: a tool
	// that keys lines for the map must key them alike.
	Grouping string
}

// GroupingLine starts the comment line that records a manifest's grouping.
const GroupingLine = "# grouping: "

// Columns are the manifest's column names, in order.
var Columns = []string{"partition_id", "host_key_lo", "host_key_hi", "file", "urls", "hosts", "bytes", "epoch"}

// Header is the comment line Write puts first.
const Header = "# partition_id\thost_key_lo\thost_key_hi\tfile\turls\thosts\tbytes\tepoch"

// ParseError names the line of a manifest that could not be read.
type ParseError struct {
	Name string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s: line %d: %s", e.Name, e.Line, e.Msg) }

// Load reads a manifest file ("-" for stdin).
func Load(path string) (*Manifest, error) {
	if path == "-" {
		return Parse(os.Stdin, "<stdin>")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, dirs.CannotRead(path, err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads a manifest; name is used in error messages. Partitions may be
// in any order; they come back sorted by range. Parse checks each line, not
// the tiling: use Check for that.
func Parse(r io.Reader, name string) (*Manifest, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	m := &Manifest{}
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // a byte-order mark some editors write
		}
		bad := func(format string, a ...any) error {
			return &ParseError{Name: name, Line: line, Msg: fmt.Sprintf(format, a...)}
		}
		if g, ok := groupingOf(text); ok {
			g = strings.TrimSpace(g)
			switch {
			case g != "domain" && g != "host":
				return nil, bad("grouping %q: want domain or host", g)
			case m.Grouping != "" && g != m.Grouping:
				return nil, bad("grouping %s, but an earlier line says %s", g, m.Grouping)
			}
			m.Grouping = g
			continue
		}
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) != len(Columns) {
			return nil, bad("%d columns, want %d (%s)", len(f), len(Columns), strings.Join(Columns, " "))
		}
		var p Partition
		nums := []*uint64{&p.ID, nil, nil, nil, &p.URLs, &p.Hosts, &p.Bytes, &p.Epoch}
		for i, dst := range nums {
			if dst == nil {
				continue
			}
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return nil, bad("%s %q is not a non-negative integer", Columns[i], f[i])
			}
			*dst = v
		}
		var err error
		if p.Lo, err = parseKey(f[1]); err != nil {
			return nil, bad("host_key_lo: %v", err)
		}
		if p.Hi, err = parseKey(f[2]); err != nil {
			return nil, bad("host_key_hi: %v", err)
		}
		if p.Lo > p.Hi {
			return nil, bad("host_key_lo %s is above host_key_hi %s", f[1], f[2])
		}
		p.File = f[3]
		m.Parts = append(m.Parts, p)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{Name: name, Line: line + 1, Msg: "line longer than 1 MiB"}
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m.Sort()
	return m, nil
}

// groupingOf reads a grouping line ("# grouping: G", spaces around its
// parts optional).
func groupingOf(line string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "#")
	if !ok {
		return "", false
	}
	return strings.CutPrefix(strings.TrimSpace(rest), "grouping:")
}

// parseKey takes the manifest's spelling, 0x + 16 hex digits; shorter hex
// written by hand is accepted too.
func parseKey(s string) (uint64, error) {
	if !strings.HasPrefix(s, "0x") {
		return 0, fmt.Errorf("%q does not start with 0x", s)
	}
	return units.ParseHexKey(s)
}

// Sort orders the partitions by range (lo, then hi, then id).
func (m *Manifest) Sort() {
	slices.SortStableFunc(m.Parts, func(a, b Partition) int {
		return cmp.Or(cmp.Compare(a.Lo, b.Lo), cmp.Compare(a.Hi, b.Hi), cmp.Compare(a.ID, b.ID))
	})
}

// WriteFile writes the manifest to path ("-" or "" for stdout) so that it
// appears whole or not at all.
func (m *Manifest) WriteFile(path string) error {
	if path == "" {
		path = "-"
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := m.Write(f); err != nil {
		return err
	}
	return f.Commit()
}

// Write writes the manifest, sorted by range, with the column header first
// and then the grouping line, when the grouping is known. File names must
// not hold whitespace or '#'.
func (m *Manifest) Write(w io.Writer) error {
	m.Sort()
	var b bytes.Buffer
	b.WriteString(Header)
	b.WriteByte('\n')
	if m.Grouping != "" {
		b.WriteString(GroupingLine + m.Grouping + "\n")
	}
	for _, p := range m.Parts {
		if err := CheckFileName(p.File); err != nil {
			return err
		}
		b.WriteString(p.Line())
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Line formats one partition as a manifest line (without the newline).
func (p *Partition) Line() string {
	file := p.File
	if file == "" {
		file = "-"
	}
	return fmt.Sprintf("%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d", p.ID, units.Key(p.Lo), units.Key(p.Hi), file, p.URLs, p.Hosts, p.Bytes, p.Epoch)
}

// CheckFileName refuses a file name a manifest line cannot hold.
func CheckFileName(name string) error {
	if strings.ContainsAny(name, " \t\r\n#") {
		return fmt.Errorf("file name %q holds whitespace or '#', which a manifest line cannot carry", name)
	}
	return nil
}

// Problem is one way a manifest fails to tile [0, 2^64).
type Problem struct {
	Kind   string // "gap", "overlap" or "duplicate id"
	Lo, Hi uint64 // the keys left uncovered or claimed twice (for "duplicate id": the second range)
	A, B   *Partition
}

// Error describes the problem, naming the exact range and the partitions.
func (p Problem) Error() string {
	switch p.Kind {
	case "gap":
		switch {
		case p.A == nil && p.B == nil:
			return fmt.Sprintf("gap %s..%s: the manifest has no partitions", units.Key(p.Lo), units.Key(p.Hi))
		case p.A == nil:
			return fmt.Sprintf("gap %s..%s before the first partition %d", units.Key(p.Lo), units.Key(p.Hi), p.B.ID)
		case p.B == nil:
			return fmt.Sprintf("gap %s..%s after the last partition %d", units.Key(p.Lo), units.Key(p.Hi), p.A.ID)
		}
		return fmt.Sprintf("gap %s..%s between partitions %d and %d", units.Key(p.Lo), units.Key(p.Hi), p.A.ID, p.B.ID)
	case "overlap":
		return fmt.Sprintf("overlap %s..%s claimed by partitions %d and %d", units.Key(p.Lo), units.Key(p.Hi), p.A.ID, p.B.ID)
	}
	return fmt.Sprintf("duplicate partition id %d (ranges %s..%s and %s..%s)", p.A.ID,
		units.Key(p.A.Lo), units.Key(p.A.Hi), units.Key(p.B.Lo), units.Key(p.B.Hi))
}

// Check reports every gap, overlap and duplicated partition id, in key
// order. A manifest tiles [0, 2^64) when it reports none.
func (m *Manifest) Check() []Problem {
	m.Sort()
	var probs []Problem
	ids := map[uint64]int{}
	for i := range m.Parts {
		p := &m.Parts[i]
		if j, ok := ids[p.ID]; ok {
			probs = append(probs, Problem{Kind: "duplicate id", Lo: p.Lo, Hi: p.Hi, A: &m.Parts[j], B: p})
		} else {
			ids[p.ID] = i
		}
	}
	if len(m.Parts) == 0 {
		return append(probs, Problem{Kind: "gap", Lo: 0, Hi: ^uint64(0)})
	}
	first := &m.Parts[0]
	if first.Lo > 0 {
		probs = append(probs, Problem{Kind: "gap", Lo: 0, Hi: first.Lo - 1, B: first})
	}
	// reach is the partition whose range ends furthest so far.
	reach := first
	for i := 1; i < len(m.Parts); i++ {
		p := &m.Parts[i]
		switch {
		case p.Lo <= reach.Hi:
			probs = append(probs, Problem{Kind: "overlap", Lo: p.Lo, Hi: min(p.Hi, reach.Hi), A: reach, B: p})
		case p.Lo > reach.Hi+1:
			probs = append(probs, Problem{Kind: "gap", Lo: reach.Hi + 1, Hi: p.Lo - 1, A: reach, B: p})
		}
		if p.Hi > reach.Hi {
			reach = p
		}
	}
	if reach.Hi < ^uint64(0) {
		probs = append(probs, Problem{Kind: "gap", Lo: reach.Hi + 1, Hi: ^uint64(0), A: reach})
	}
	return probs
}

// TileError is Check's problems as one error.
type TileError struct{ Problems []Problem }

func (e *TileError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return "manifest does not tile the host-key space: " + strings.Join(msgs, "; ")
}

// MustTile returns a *TileError when the manifest does not tile.
func (m *Manifest) MustTile() error {
	if probs := m.Check(); len(probs) > 0 {
		return &TileError{Problems: probs}
	}
	return nil
}

// Lookup returns the partition owning key by binary search. On a manifest
// that does not tile, it may find none (a gap) or one of the claimants.
func (m *Manifest) Lookup(key uint64) (*Partition, bool) {
	i := m.Index(key)
	if i < 0 {
		return nil, false
	}
	return &m.Parts[i], true
}

// Index returns the index in Parts of the partition owning key, or -1.
func (m *Manifest) Index(key uint64) int {
	// the last partition with Lo <= key
	i := sort.Search(len(m.Parts), func(i int) bool { return m.Parts[i].Lo > key }) - 1
	if i < 0 || m.Parts[i].Hi < key {
		return -1
	}
	return i
}

// Totals sums the counts of all partitions.
func (m *Manifest) Totals() (urls, hosts, bytes uint64) {
	for _, p := range m.Parts {
		urls += p.URLs
		hosts += p.Hosts
		bytes += p.Bytes
	}
	return
}

// Replace puts rows into the manifest, removing every partition whose range
// overlaps one of theirs, and returns the removed partitions. It is how the
// rows meguri-compact prints are published into the fleet map.
func (m *Manifest) Replace(rows []Partition) (removed []Partition) {
	var kept []Partition
	for _, p := range m.Parts {
		overlaps := false
		for _, r := range rows {
			if p.Lo <= r.Hi && r.Lo <= p.Hi {
				overlaps = true
				break
			}
		}
		if overlaps {
			removed = append(removed, p)
		} else {
			kept = append(kept, p)
		}
	}
	m.Parts = append(kept, rows...)
	m.Sort()
	return removed
}

// CutBetween is the boundary meguri puts between two neighbouring hosts
// a < b when it divides a range (balance, compact --split): the midpoint,
// rounded up, so host keys not seen yet fall evenly on either side. The
// returned key starts the upper range.
func CutBetween(a, b uint64) uint64 { return a + (b-a+1)/2 }

// LoadForUpdate reads the manifest at path for an update that will
// replace it (meguri-route update -o naming its --manifest), holding an
// advisory lock on it until release is called, after the new manifest has
// been renamed into place. Two updates of one manifest then take turns,
// and the later one reads what the earlier one published instead of
// overwriting it; wait is called first if another update holds it.
func LoadForUpdate(path string, wait func()) (m *Manifest, release func(), err error) {
	f, err := flock.LockPath(path, wait)
	if err != nil {
		return nil, nil, err
	}
	m, err = Parse(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return m, func() { f.Close() }, nil
}
