//go:build !unix

package statefile

import "os"

// chownToDirOwner does nothing where files have no Unix owners.
func chownToDirOwner(*os.File, string) error { return nil }

// inode is unknown here: stamps rely on time and size.
func inode(os.FileInfo) uint64 { return 0 }
