//go:build !linux

package media

import "github.com/pion/transport/v5"

// sendNetOf is pion's network as it is: the send sockets (sendsock_linux.go)
// are Linux's.
func sendNetOf(n transport.Net) transport.Net { return n }
