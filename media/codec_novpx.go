//go:build !vpx

package media

// Without the vpx tag the binary carries H.264 only and needs no libvpx.
func optionalVideoCodecs() []videoCodec { return nil }
