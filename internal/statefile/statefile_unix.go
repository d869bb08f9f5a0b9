//go:build unix

package statefile

import (
	"fmt"
	"os"
	"syscall"
)

// chownToDirOwner gives f to dir's owner when we run as root and the owner
// is someone else; otherwise it does nothing.
func chownToDirOwner(f *os.File, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("give %s to the owner of %s: %w", f.Name(), dir, err)
	}
	return nil
}

// inode tells a replaced file from the old one even when the size and the
// modification time (whole seconds on some file systems) are the same.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
