package fdpool

import "os"

// Reserve is what a run commonly leaves, of the descriptors it may
// open, to what it opens besides a pool's files: its inputs or outputs,
// lists, --rejects, the standard streams, syncs by name at a commit (16
// at once).
const Reserve = 64

// ForRun returns a pool for one set of a run's files (its outputs, its
// inputs, its spilled runs) sized as Free(Reserve) says.
func ForRun() *Pool { return New(Free(Reserve)) }

// Free returns how many more descriptors the process may open now, less
// reserve (kept for what else the run opens: inputs, standard streams,
// syncs by name), and at least 1. Go raises the soft open-file limit to
// the hard one at start-up, so the limit is the hard one.
func Free(reserve int) int {
	lim := Limit()
	if lim == 0 || lim > 1<<20 {
		lim = 1 << 20
	}
	return max(1, int(lim)-openNow()-reserve)
}

// openNow counts the process's open descriptors (16 when it cannot tell).
func openNow() int {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if ents, err := os.ReadDir(dir); err == nil {
			return len(ents) // one of them is the directory's, read just now
		}
	}
	return 16
}
