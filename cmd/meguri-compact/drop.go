package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/cli"
	"github.com/meguri/meguri/lib/merge"
	"github.com/meguri/meguri/lib/record"
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
	return ds, eachLine("--drop-hosts", a.DropHosts, add)
}

// eachLine calls add with each line of the list at path ('-' for stdin;
// none when path is empty; plain, gzip or zstd) that is neither blank nor
// a # comment, trimmed, and the flag to name it by: "FLAG PATH: line N:".
// A list that cannot be opened, or is a .meguri file, fails the run.
func eachLine(flag, path string, add func(flag, line string) error) error {
	if path == "" {
		return nil
	}
	in, err := input.Open(path) // plain, gzip or zstd, as ingest reads
	if err != nil {
		return fmt.Errorf("%s %w", flag, err)
	}
	defer in.Close()
	name := in.Name
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := add(fmt.Sprintf("%s %s: line %d:", flag, name, n), line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", flag, name, err)
	}
	return nil
}

// urlList reads --drop-url and --drop-urls: each URL canonicalized as
// ingest canonicalizes it and keyed under grouping g. A line that is a
// JSON object stands for its "url" (a CDX line, a row of inspect --rows).
// A value that is no URL, or a line of columns, is a usage error. The
// URLs come in the order given.
func urlList(a *args, g canon.Grouping) ([]merge.URLKey, error) {
	var us []merge.URLKey
	add := func(flag, s string) error {
		raw, err := canon.ListURL([]byte(s))
		if err != nil {
			return cli.Usagef("%s %.200q: %v", flag, s, err)
		}
		u, err := cli.URL(flag, raw)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		us = append(us, merge.URLKey{Host: canon.KeysOf(u, g).Host, URL: u})
		return nil
	}
	for _, s := range a.DropURL {
		if err := add("--drop-url", s); err != nil {
			return nil, err
		}
	}
	return us, eachLine("--drop-urls", a.DropURLs, add)
}

// reportURLs says how many of the listed URLs were dropped (in the
// summary, not under -q) and warns of those that matched no row, also
// under -q: the first few by name, then how many more. A URL whose other
// scheme the inputs hold (held says) is told so: http and https are two
// records.
func reportURLs(us, keys []merge.URLKey, dropped []bool, quiet bool, sc scope, held func(merge.URLKey) bool) {
	if len(keys) == 0 {
		return
	}
	n := 0
	for _, d := range dropped {
		if d {
			n++
		}
	}
	if !quiet {
		fmt.Fprintf(os.Stderr, "meguri-compact: dropped %d of %d listed URLs\n", n, len(keys))
	}
	const named = 5
	missed := missedURLs(us, keys, dropped)
	for _, u := range missed[:min(len(missed), named)] {
		why := sc.hold() + " no record of it"
		// the other scheme's URL has the same host, so the same host key
		if o := (merge.URLKey{Host: u.Host, URL: otherScheme(u.URL)}); o.URL != "" && !isListed(keys, o) && held(o) {
			why += ", but " + sc.verb() + " " + o.URL + " (http and https are two URLs: list both to drop both)"
		}
		if u.Host < sc.lo || u.Host > sc.hi {
			why = fmt.Sprintf("its host key %s lies outside %s range %s..%s, in another partition's (meguri-route --manifest MAP --url URL names which)", units.Key(u.Host), sc.owner(), units.Key(sc.lo), units.Key(sc.hi))
		}
		fmt.Fprintf(os.Stderr, "meguri-compact: warning: %s dropped nothing: %s\n", u.URL, why)
	}
	if len(missed) > named {
		fmt.Fprintf(os.Stderr, "meguri-compact: warning: %d more listed URLs dropped nothing\n", len(missed)-named)
	}
}

// missedURLs returns the listed URLs that dropped nothing, each once, in
// the order listed (us; keys and dropped as merge.Options.DropURLs and
// merge.Result.URLsDropped hold them).
func missedURLs(us, keys []merge.URLKey, dropped []bool) []merge.URLKey {
	var missed []merge.URLKey
	seen := map[merge.URLKey]bool{}
	for _, u := range us {
		if i, _ := merge.FindURLKey(keys, u); !dropped[i] && !seen[u] {
			seen[u] = true
			missed = append(missed, u)
		}
	}
	return missed
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
func (ds dropSet) report(rows map[uint64]uint64, quiet bool, sc scope) {
	for _, d := range ds.each() {
		what := units.Key(d.key)
		if d.group != "" {
			what = fmt.Sprintf("%s (host key %s)", d.group, what)
		}
		switch n := rows[d.key]; {
		case n > 0 && !quiet:
			fmt.Fprintf(os.Stderr, "meguri-compact: dropped %d rows of %s\n", n, what)
		case n == 0 && (d.key < sc.lo || d.key > sc.hi):
			fmt.Fprintf(os.Stderr, "meguri-compact: warning: %s dropped nothing: %s lies outside %s range %s..%s, in another partition's (meguri-route --manifest MAP --host %s names which)\n",
				d.given, what, sc.owner(), units.Key(sc.lo), units.Key(sc.hi), d.given)
		case n == 0:
			fmt.Fprintf(os.Stderr, "meguri-compact: warning: %s dropped nothing: %s no record of %s\n", d.given, sc.hold(), what)
		}
	}
}

// each returns the set's host groups, the first naming of each key, in
// the order given.
func (ds dropSet) each() dropSet {
	var out dropSet
	seen := map[uint64]bool{}
	for _, d := range ds {
		if !seen[d.key] {
			seen[d.key] = true
			out = append(out, d)
		}
	}
	return out
}

// unmatchedJSON is the JSON members that name the --drop-host(s) and
// --drop-url(s) values that matched no row ("" when none were given): a
// takedown that dropped nothing must reach a script reading --json as
// surely as a person reading the warnings.
func unmatchedJSON(ds dropSet, rows map[uint64]uint64, us, keys []merge.URLKey, dropped []bool) string {
	var members []string
	list := func(name string, vals []string) {
		b := []byte(`"` + name + `":[`)
		for i, v := range vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = record.AppendString(b, v)
		}
		members = append(members, string(append(b, ']')))
	}
	if len(ds) > 0 {
		hosts := []string{}
		for _, d := range ds.each() {
			if rows[d.key] == 0 {
				hosts = append(hosts, d.given)
			}
		}
		list("unmatched_drop_hosts", hosts)
	}
	if len(keys) > 0 {
		urls := []string{}
		for _, u := range missedURLs(us, keys, dropped) {
			urls = append(urls, u.URL)
		}
		list("unmatched_drop_urls", urls)
	}
	return strings.Join(members, ",")
}

// otherScheme returns the canonical URL u under the other of http and
// https, or "" when there is none.
func otherScheme(u string) string {
	var o string
	switch {
	case strings.HasPrefix(u, "http://"):
		o = "https://" + u[len("http://"):]
	case strings.HasPrefix(u, "https://"):
		o = "http://" + u[len("https://"):]
	default:
		return ""
	}
	o, err := canon.Canonicalize(o)
	if err != nil {
		return ""
	}
	return o
}

// isListed reports whether k is one of keys.
func isListed(keys []merge.URLKey, k merge.URLKey) bool {
	_, ok := merge.FindURLKey(keys, k)
	return ok
}

// scope is what the drops were applied to, as the warnings name it: the
// inputs of a compaction, or a partition directory being checkpointed.
type scope struct {
	lo, hi uint64
	dir    string // "" for the inputs
}

// verb is "hold" or "holds", agreeing with the scope.
func (s scope) verb() string {
	if s.dir == "" {
		return "hold"
	}
	return "holds"
}

// hold is the scope and its verb: "the inputs hold", "part-3 holds".
func (s scope) hold() string {
	if s.dir == "" {
		return "the inputs hold"
	}
	return s.dir + " holds"
}

// owner is the scope as the owner of a range: "the inputs'", "part-3's".
func (s scope) owner() string {
	if s.dir == "" {
		return "the inputs'"
	}
	return s.dir + "'s"
}

// emptiedByDrops refuses, unless allowed, a result in which the --drop
// flags left no record of those read: a list of the wrong file (every URL
// of the partition, the list of URLs due) would empty a partition in
// place, as a takedown rarely means to.
func emptiedByDrops(res *merge.Result, allow bool) error {
	var out, byHosts uint64
	for _, o := range res.Outputs {
		out += o.Stats.URLs
	}
	for _, n := range res.HostsDropped {
		byHosts += n
	}
	if allow || out > 0 || byHosts+res.URLRowsDropped == 0 {
		return nil
	}
	return fmt.Errorf("the drops leave no record of the %d read (%d dropped with their hosts, %d by the URL list): is it the list meant? --allow-empty writes the empty partition", res.RowsIn, byHosts, res.URLRowsDropped)
}
