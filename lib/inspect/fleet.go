package inspect

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/logstore"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/record"
)

// Fleet reads the partition files a manifest lists as one file: every
// record of the fleet in key order, or the records of URLs and hosts, each
// looked up in the one partition that owns its host key. The manifest must
// tile; each file is opened when it is needed and must agree with its
// manifest row (id and range) and with the other files' grouping. A
// partition with no file ("-") holds no records. A partition whose file is
// a partition directory (a live partition, appended to by meguri-ingest
// --data) is read as meguri-pack would write it: packed as it streams,
// except for LookupLines, which packs it once into a temporary file that
// Close removes.
//
//	fl, err := inspect.OpenFleet("fleet.manifest", "")
//	defer fl.Close()
//	n, err := fl.LookupLines(links, os.Stdout, inspect.BatchOptions{Absent: true})
type Fleet struct {
	Name string // the manifest's path
	// Progress, when set, is each file's Source.Progress in Verify,
	// given the file's name first.
	Progress func(name string, blocks int, rows uint64)
	m        *manifest.Manifest
	dir      string
	grouping canon.Grouping
	known    bool            // grouping read from the manifest or a file
	packed   map[int]*Source // partition directories packed for lookups, by partition index
}

// OpenFleet reads the manifest at path ("-" for stdin) and the grouping of
// its first file. Relative file names are taken from dir, or from the
// manifest's own directory when dir is "".
func OpenFleet(path, dir string) (*Fleet, error) {
	m, err := manifest.Load(path)
	if err != nil {
		return nil, err
	}
	if err := m.MustTile(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if dir == "" {
		dir = manifest.DirOf(path)
	}
	fl := &Fleet{Name: path, m: m, dir: dir, grouping: canon.ByDomain, packed: map[int]*Source{}}
	if m.Grouping != "" {
		fl.grouping, fl.known = canon.ByDomain, true
		if m.Grouping == canon.ByHost.String() {
			fl.grouping = canon.ByHost
		}
	}
	for i := range m.Parts {
		if p := &m.Parts[i]; p.Path(dir) != "" && dirs.IsPartition(p.Path(dir)) {
			v, err := fl.openDir(i)
			if err != nil {
				return nil, err
			}
			v.Close()
			break
		}
		src, err := fl.open(i, true)
		if err != nil {
			return nil, err
		}
		if src != nil {
			src.Close()
			break
		}
	}
	return fl, nil
}

// Close removes the temporary files of the partition directories packed
// for lookups.
func (fl *Fleet) Close() error {
	var first error
	for i, src := range fl.packed {
		if err := src.Close(); err != nil && first == nil {
			first = err
		}
		delete(fl.packed, i)
	}
	return first
}

// Grouping is the grouping of the fleet's files, under which URLs and
// host names are keyed to route them (grouping domain when no partition
// has a file).
func (fl *Fleet) Grouping() canon.Grouping { return fl.grouping }

// open opens the file of partition i, checked against its manifest row
// and the fleet's grouping; it returns nil when the partition has no file.
// A partition directory is packed: as the source is read when stream,
// else once into a temporary file that the fleet keeps until its own
// Close (closing the source open returns then leaves the pack in place).
func (fl *Fleet) open(i int, stream bool) (*Source, error) {
	p := &fl.m.Parts[i]
	path := p.Path(fl.dir)
	if path == "" {
		return nil, nil
	}
	if src := fl.packed[i]; src != nil {
		return src.borrow(), nil
	}
	if dirs.IsPartition(path) {
		v, err := fl.openDir(i)
		if err != nil {
			return nil, err
		}
		src, err := openView(v, !stream)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.ID, err)
		}
		if stream {
			return src, nil
		}
		fl.packed[i] = src
		return src.borrow(), nil
	}
	src, err := Open(path)
	if err != nil {
		return nil, fl.openError(p, err)
	}
	if src.File == nil {
		src.Close()
		return nil, fmt.Errorf("partition %d: %s is not a regular file", p.ID, path)
	}
	if err := fl.agrees(p, path, src.File.Header); err != nil {
		src.Close()
		return nil, err
	}
	return src, nil
}

// openError names partition p in err, met opening its file, and where a
// relative name was looked for when the file is missing.
func (fl *Fleet) openError(p *manifest.Partition, err error) error {
	if errors.Is(err, fs.ErrNotExist) && !filepath.IsAbs(p.File) {
		return fmt.Errorf("partition %d: %w (relative names are taken from %s; --dir names another directory)", p.ID, err, fl.dir)
	}
	return fmt.Errorf("partition %d: %w", p.ID, err)
}

// openDir takes a view of partition i's directory, checked against its
// manifest row and the fleet's grouping.
func (fl *Fleet) openDir(i int) (*logstore.View, error) {
	p := &fl.m.Parts[i]
	path := p.Path(fl.dir)
	v, err := logstore.OpenPartition(fl.m, p, path)
	if err != nil {
		return nil, err
	}
	if err := fl.sameGrouping(path, v.Header); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// agrees checks the header h of partition p's file at path against p's
// manifest row (and the grouping the manifest records) and the grouping of
// the fleet's other files.
func (fl *Fleet) agrees(p *manifest.Partition, path string, h codec.Header) error {
	if err := fl.m.Agrees(p, path, h); err != nil {
		return err
	}
	return fl.sameGrouping(path, h)
}

// sameGrouping checks that the file at path, of header h, keys hosts by
// the grouping of the fleet's other files (or the one the manifest
// records, which its rows' checks have held it to already).
func (fl *Fleet) sameGrouping(path string, h codec.Header) error {
	g := canon.Grouping(h.Grouping)
	switch {
	case !fl.known:
		fl.grouping, fl.known = g, true
	case g != fl.grouping:
		return fmt.Errorf("%s: written with grouping %s, the fleet's other files with %s", path, g, fl.grouping)
	}
	return nil
}

// each calls fn with the file of every partition that has one, in key
// order, naming the file in fn's error.
func (fl *Fleet) each(fn func(src *Source) error) error {
	// A partition whose file is missing stops the run before anything
	// is written, not after the partitions before it are.
	for i := range fl.m.Parts {
		p := &fl.m.Parts[i]
		if path := p.Path(fl.dir); path != "" {
			if _, err := os.Stat(path); err != nil {
				return fl.openError(p, err)
			}
		}
	}
	for i := range fl.m.Parts {
		src, err := fl.open(i, true)
		if err != nil {
			return err
		}
		if src == nil {
			continue
		}
		err = fn(src)
		src.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", src.Name, err)
		}
	}
	return nil
}

// Rows writes every record of the fleet that f keeps (nil: every record)
// as a line in layout l, partition by partition in key order: the lines
// Source.Rows writes for the fleet's partitions merged into one file.
func (fl *Fleet) Rows(w io.Writer, l *record.Layout, f *record.Filter) error {
	rw := newRowWriter(w, l, f)
	return rw.flush(fl.each(func(src *Source) error { return src.rows(rw) }))
}

// Verify verifies the file of every partition that has one, in key order,
// giving done each summary, or the error that file met (missing,
// disagreeing with its row, damaged): one bad file does not stop the
// others being checked. It returns how many failed. A partition directory
// has its snapshot and its log checked, as meguri-inspect --verify DIR
// checks them; its summary's Live is set, and its Stats are the
// snapshot's.
func (fl *Fleet) Verify(done func(Summary, error)) (failed int) {
	for i := range fl.m.Parts {
		p := &fl.m.Parts[i]
		path := p.Path(fl.dir)
		if path == "" {
			continue
		}
		var sum Summary
		var err error
		if dirs.IsPartition(path) {
			sum, err = fl.verifyDir(i)
		} else {
			sum, err = fl.verifyFile(i)
		}
		if err != nil {
			failed++
		}
		done(sum, err)
	}
	return failed
}

func (fl *Fleet) verifyFile(i int) (Summary, error) {
	src, err := fl.open(i, true)
	if err != nil {
		return Summary{}, err
	}
	defer src.Close()
	return fl.verify(src)
}

func (fl *Fleet) verifyDir(i int) (Summary, error) {
	v, err := fl.openDir(i)
	if err != nil {
		return Summary{}, err
	}
	defer v.Close()
	src, err := Open(v.SnapshotPath())
	if err != nil {
		return Summary{}, err
	}
	defer src.Close()
	sum, err := fl.verify(src)
	if err == nil {
		err = v.VerifyLog()
	}
	sum.Name, sum.Live = v.Dir, v
	return sum, err
}

// verify is src.Verify, telling Progress, naming src in its error.
func (fl *Fleet) verify(src *Source) (Summary, error) {
	if fl.Progress != nil {
		src.Progress = func(blocks int, rows uint64) { fl.Progress(src.Name, blocks, rows) }
	}
	sum, err := src.Verify()
	if err != nil {
		err = fmt.Errorf("%s: %w", src.Name, err)
	}
	return sum, err
}

// LookupNear finds one URL (canonicalized first) in the partition that
// owns its host key, reading only the block that can hold it. It returns
// the record (nil when absent) and its path key, and, when it is absent,
// the respellings of it that the fleet holds, each looked up in the
// partition that owns it (Source.LookupNear).
func (fl *Fleet) LookupNear(rawURL string) (*record.Record, uint64, []string, error) {
	u, err := canon.Canonicalize(rawURL)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%.200s: %w", rawURL, err)
	}
	us := append([]string{u}, canon.Respellings(u)...)
	at := fl.m.Index(canon.KeysOf(u, fl.grouping).Host)
	r, path, held, err := fl.findIn(at, us)
	if err != nil || r != nil {
		return r, path, nil, err
	}
	// Respellings owned by other partitions (grouping host: www. gives a
	// URL another key), each partition opened once. u, which they cannot
	// hold, leads each list, so that findURLs reports every one held.
	var order []int
	others := map[int][]string{}
	for _, v := range us[1:] {
		if i := fl.m.Index(canon.KeysOf(v, fl.grouping).Host); i != at {
			if others[i] == nil {
				order = append(order, i)
				others[i] = []string{u}
			}
			others[i] = append(others[i], v)
		}
	}
	for _, i := range order {
		_, _, h, err := fl.findIn(i, others[i])
		if err != nil {
			return nil, 0, nil, err
		}
		held = append(held, h...)
	}
	return nil, 0, held, nil
}

// findIn is Source.findURLs on partition i.
func (fl *Fleet) findIn(i int, us []string) (*record.Record, uint64, []string, error) {
	src, err := fl.open(i, true)
	if err != nil || src == nil {
		return nil, 0, nil, err
	}
	defer src.Close()
	r, path, held, err := src.findURLs(us)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	return r, path, held, nil
}

// HostRows is Source.HostRows on the partition that owns the key key
// returns for the fleet's grouping.
func (fl *Fleet) HostRows(w io.Writer, l *record.Layout, f *record.Filter, key func(canon.Grouping) (uint64, error)) (held, written int, err error) {
	k, err := key(fl.grouping)
	if err != nil {
		return 0, 0, err
	}
	src, err := fl.open(fl.m.Index(k), true)
	if err != nil || src == nil {
		return 0, 0, err
	}
	defer src.Close()
	held, written, err = src.HostRows(w, l, f, func(canon.Grouping) (uint64, error) { return k, nil })
	if err != nil {
		err = fmt.Errorf("%s: %w", src.Name, err)
	}
	return held, written, err
}

// LookupLines is Source.LookupLines over the fleet: each URL is looked up
// in the partition that owns its host key, and each chunk of lines opens
// only the files of the partitions it touches, once each.
func (fl *Fleet) LookupLines(r io.Reader, w io.Writer, opt BatchOptions) (BatchCounts, error) {
	p := opt.printed()
	return lookupLines(r, w, opt, fl.grouping, 0, math.MaxUint64, func(qs []query) error {
		order := sortedKeys(qs)
		for start := 0; start < len(order); {
			i := fl.m.Index(qs[order[start]].keys.Host)
			end := start + 1
			for end < len(order) && qs[order[end]].keys.Host <= fl.m.Parts[i].Hi {
				end++
			}
			src, err := fl.open(i, false)
			if err != nil {
				return err
			}
			if src != nil {
				err = src.find(qs, order[start:end], p)
				src.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", src.Name, err)
				}
			}
			start = end
		}
		return nil
	})
}
