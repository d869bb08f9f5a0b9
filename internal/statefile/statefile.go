// Package statefile keeps intercomd's small state files (password hash,
// sessions, certificates): written atomically, owned by the service, and
// stamped so a reader notices when another process replaced one.
package statefile

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Stamp tells whether a file changed since the stamp was taken (a rename
// over it, as WriteAtomic does, changes it). Compare stamps with ==.
type Stamp struct {
	mod  time.Time
	size int64
	ino  uint64 // 0 where unknown
}

// StampOf stamps path; a missing file gives the zero stamp and the error.
func StampOf(path string) (Stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Stamp{}, err
	}
	return Stamp{mod: fi.ModTime(), size: fi.Size(), ino: inode(fi)}, nil
}

// EnsureDir makes the state directory (0700) if it is missing.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w (set -state-dir to a directory intercomd may write)", err)
	}
	return nil
}

// WriteAtomic replaces path with data so that a reader sees either the
// old file or the whole new one, never a part: write a temporary file beside
// it, sync, rename, sync the directory. When root writes into a directory
// owned by someone else (sudo intercomd set-password into the service's state
// dir), the file is given to the directory's owner so the service can read
// it.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this is a no-op
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := chownToDirOwner(f, dir); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
