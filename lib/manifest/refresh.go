package manifest

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/units"
)

// Refresh re-reads the counts of every partition that names a file from
// the file's two ends (header and trailer), without decoding it. Relative
// file names are taken from dir. A file whose header disagrees with its
// row (another id, range or grouping) is an error naming both. A partition whose
// file is a partition directory is counted by live, given the partition
// and the directory's path: live refuses a directory of another partition
// or range as Check refuses a file, then returns the stats and size of its
// records as one file (nil: such a partition is refused, as not a .meguri
// file). A file of another grouping than the map records is refused
// (Agrees), and live must refuse such a directory.
func (m *Manifest) Refresh(dir string, live func(p *Partition, path string) (codec.Stats, int64, error)) error {
	for i := range m.Parts {
		p := &m.Parts[i]
		if path := p.Path(dir); live != nil && path != "" && dirs.IsPartition(path) {
			st, n, err := live(p, path)
			if err != nil {
				return err
			}
			p.URLs, p.Hosts, p.Bytes = st.URLs, st.Hosts, uint64(n)
			continue
		}
		cf, err := m.CheckFile(p, dir)
		if err != nil {
			return err
		}
		if cf != nil {
			p.URLs, p.Hosts, p.Bytes = cf.Stats.URLs, cf.Stats.Hosts, uint64(cf.Size())
		}
	}
	return nil
}

// CheckFile reads the two ends of p's file (its name taken from dir when
// relative) and refuses one that is missing, unreadable, or that does not
// agree with p's row (Agrees). It returns nil, nil for a partition without
// a file ("-").
func (m *Manifest) CheckFile(p *Partition, dir string) (*codec.File, error) {
	path := p.Path(dir)
	if path == "" {
		return nil, nil
	}
	cf, f, err := codec.Open(path)
	if err != nil {
		return nil, fmt.Errorf("partition %d: %w", p.ID, err)
	}
	f.Close()
	if err := m.Agrees(p, path, cf.Header); err != nil {
		return nil, err
	}
	return cf, nil
}

// Path is where p's file is: its name, taken from dir when relative; ""
// when the partition has no file ("-").
func (p *Partition) Path(dir string) string {
	if p.File == "" || p.File == "-" {
		return ""
	}
	if filepath.IsAbs(p.File) {
		return p.File
	}
	return filepath.Join(dir, p.File)
}

// Agrees returns an error naming path when h, the header of the file (or
// partition directory) at path, names another partition or range than its
// row p, or keys hosts by another grouping than the one the map records:
// its records would sit in a range cut on other keys.
func (m *Manifest) Agrees(p *Partition, path string, h codec.Header) error {
	if h.PartitionID != p.ID || h.Lo != p.Lo || h.Hi != p.Hi {
		return fmt.Errorf("%s: its header says partition %d %s..%s but the manifest row says partition %d %s..%s",
			path, h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), p.ID, units.Key(p.Lo), units.Key(p.Hi))
	}
	if g := canon.Grouping(h.Grouping).String(); m.Grouping != "" && g != m.Grouping {
		return fmt.Errorf("%s keys hosts by grouping %s, but the map was cut on grouping %s (its %q line)", path, g, m.Grouping, GroupingLine+m.Grouping)
	}
	return nil
}

// DirOf is the directory a manifest's relative file names are relative to:
// the directory of the manifest's own path, or the current directory for
// "-" (a manifest on stdin or stdout) and for a path that names a stream
// rather than a place: the shell's <(...) and >(...) (/dev/fd/N),
// /dev/stdin, /dev/stdout, or a named pipe.
func DirOf(path string) string {
	if path == "" || path == "-" || Stream(path) {
		return "."
	}
	return filepath.Dir(path)
}

// Stream reports whether path names a stream of the process, a pipe or a
// device, not a file in a directory.
func Stream(path string) bool {
	switch path {
	case "/dev/stdin", "/dev/stdout", "/dev/stderr":
		return true
	}
	if strings.HasPrefix(path, "/dev/fd/") {
		return true
	}
	if rest, ok := strings.CutPrefix(path, "/proc/"); ok {
		if _, fd, ok := strings.Cut(rest, "/"); ok && strings.HasPrefix(fd, "fd/") {
			return true
		}
	}
	return dirs.Stream(path)
}

// Rebase rewrites the relative file names of the partitions, which are
// relative to directory from, so that they name the same files relative to
// directory to. Absolute names and "-" are left alone. It is how rows
// written in one directory are published into a manifest kept in another.
func (m *Manifest) Rebase(from, to string) error {
	absFrom, err := filepath.Abs(from)
	if err != nil {
		return err
	}
	absTo, err := filepath.Abs(to)
	if err != nil {
		return err
	}
	if absFrom == absTo {
		return nil
	}
	for i := range m.Parts {
		p := &m.Parts[i]
		if p.File == "" || p.File == "-" || filepath.IsAbs(p.File) {
			continue
		}
		rel, err := filepath.Rel(absTo, filepath.Join(absFrom, p.File))
		if err != nil {
			return fmt.Errorf("partition %d: %w", p.ID, err)
		}
		p.File = rel
	}
	return nil
}
