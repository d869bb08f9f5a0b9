//go:build novpx

package media

// With the novpx tag (the Pi packages until build/dist.sh links libvpx for
// them) the door has H.264 only; a browser without it gets audio.
var moreVideoCodecs []videoCodec
