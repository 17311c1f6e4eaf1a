//go:build linux

package tempfiles

import "syscall"

// inMemory reports whether dir lies on a file system held in memory
// (tmpfs, ramfs), as /tmp is by default on Debian 13, Fedora and Arch.
func inMemory(dir string) bool {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return false
	}
	const tmpfsMagic, ramfsMagic = 0x01021994, 0x858458f6
	return st.Type == tmpfsMagic || st.Type == ramfsMagic
}
