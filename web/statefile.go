package web

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// fileStamp tells whether a file changed since the stamp was taken (a
// rename over it, as writeFileAtomic does, changes both).
type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64 // 0 where unknown
}

// stampOf stamps path; a missing file gives the zero stamp and the error.
func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), ino: inode(fi)}, nil
}

// ensureStateDir makes the state directory (0700) if it is missing.
func ensureStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w (set -state-dir to a directory intercomd may write)", err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a reader sees either the
// old file or the whole new one, never a part: write a temporary file beside
// it, sync, rename, sync the directory. When root writes into a directory
// owned by someone else (sudo intercomd set-password into the service's state
// dir), the file is given to the directory's owner so the service can read
// it.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
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
