package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/units"
)

// dropped is a host group --drop-host or --drop-hosts names: its key, and
// how the user named it.
type dropped struct {
	key   uint64
	given string // as typed
	group string // the grouping string; "" when given as a key
}

type dropSet []dropped

// dropList reads --drop-host and --drop-hosts, keyed under grouping g. A
// value that is neither a host name nor a key is a usage error, named with
// its line in --drop-hosts.
func dropList(a *args, g canon.Grouping) (dropSet, error) {
	var ds dropSet
	add := func(flag, s string) error {
		k, group, err := cli.HostKey(flag, s, g)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		ds = append(ds, dropped{key: k, given: strings.TrimSpace(s), group: group})
		return nil
	}
	for _, s := range a.DropHost {
		if err := add("--drop-host", s); err != nil {
			return nil, err
		}
	}
	if a.DropHosts == "" {
		return ds, nil
	}
	var r io.Reader = os.Stdin
	name := "<stdin>"
	if a.DropHosts != "-" {
		f, err := os.Open(a.DropHosts)
		if err != nil {
			return nil, fmt.Errorf("--drop-hosts: %w", err)
		}
		defer f.Close()
		r, name = f, a.DropHosts
	}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := add(fmt.Sprintf("--drop-hosts %s: line %d:", name, n), line); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--drop-hosts %s: %w", name, err)
	}
	return ds, nil
}

// keys returns the set's host keys in increasing order, each once.
func (ds dropSet) keys() []uint64 {
	ks := make([]uint64, len(ds))
	for i, d := range ds {
		ks[i] = d.key
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

// report names, for each host group dropped, the rows it lost, and each one
// that matched no row (a typo, or another partition's host). The rows are
// the summary's (not under -q); what matched nothing prints under -q too,
// as a warning.
func (ds dropSet) report(rows map[uint64]uint64, quiet bool, lo, hi uint64) {
	seen := map[uint64]bool{}
	for _, d := range ds {
		if seen[d.key] {
			continue
		}
		seen[d.key] = true
		what := units.Key(d.key)
		if d.group != "" {
			what = fmt.Sprintf("%s (host key %s)", d.group, what)
		}
		switch n := rows[d.key]; {
		case n > 0 && !quiet:
			fmt.Fprintf(os.Stderr, "meguri-compact: dropped %d rows of %s\n", n, what)
		case n == 0 && (d.key < lo || d.key > hi):
			fmt.Fprintf(os.Stderr, "meguri-compact: warning: %s dropped nothing: %s lies outside the inputs' range %s..%s, in another partition's (meguri-route --manifest MAP --host %s names which)\n",
				d.given, what, units.Key(lo), units.Key(hi), d.given)
		case n == 0:
			fmt.Fprintf(os.Stderr, "meguri-compact: warning: %s dropped nothing: the inputs hold no record of %s\n", d.given, what)
		}
	}
}
