package manifest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/units"
)

// Refresh re-reads the counts of every partition that names a file from
// the file's two ends (header and trailer), without decoding it. Relative
// file names are taken from dir. A file whose header disagrees with its
// row (another id or range) is an error naming both.
func (m *Manifest) Refresh(dir string) error {
	for i := range m.Parts {
		p := &m.Parts[i]
		if p.File == "" || p.File == "-" {
			continue
		}
		path := p.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("partition %d: %w", p.ID, err)
		}
		st, err := f.Stat()
		if err == nil {
			var cf *codec.File
			if cf, err = codec.OpenFile(f, st.Size()); err == nil {
				h := cf.Header
				if h.PartitionID != p.ID || h.Lo != p.Lo || h.Hi != p.Hi {
					err = fmt.Errorf("its header says partition %d %s..%s but the manifest row says partition %d %s..%s",
						h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), p.ID, units.Key(p.Lo), units.Key(p.Hi))
				} else {
					p.URLs, p.Hosts, p.Bytes = cf.Stats.URLs, cf.Stats.Hosts, uint64(st.Size())
				}
			}
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}
