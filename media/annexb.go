package media

import (
	"bytes"
	"errors"
)

// H.264 that arrives already encoded (rpicam-vid's hardware encoder) is an
// Annex-B byte stream: NAL units behind 00 00 01 or 00 00 00 01 start
// codes, read from a pipe in chunks that end anywhere. auSplitter cuts it
// into access units (one picture each, with the SPS and PPS in front of a
// key frame) for pion's H.264 packetizer, which takes Annex-B samples.
//
// An access unit is known to be complete only when the next one starts:
// a pipe read can end inside a slice. It goes out as soon as the first two
// bytes of the next one's first NAL unit are read (its type and, for a
// slice, whether it begins a picture), not once that NAL unit is whole,
// which for a stream of one slice per picture (rpicam-vid, USB cameras)
// would cost a second frame of delay.

// NAL unit types this file tells apart (H.264 table 7-1).
const (
	nalSlice = 1
	nalIDR   = 5
	nalSEI   = 6
	nalSPS   = 7
	nalPPS   = 8
	nalAUD   = 9
)

// maxAccessUnit bounds one access unit: far above a key frame at 1080p
// and 25 Mbit/s, so a stream without start codes cannot grow memory.
const maxAccessUnit = 4 << 20

var errAccessUnitTooLarge = errors.New("h264: access unit over 4 MiB without an end")

var startCode = []byte{0, 0, 0, 1}

// auSplitter is fed bytes with write and hands out whole access units.
type auSplitter struct {
	buf    []byte // unparsed bytes, from the first start code on
	au     []byte // the access unit being gathered, Annex-B with 4-byte start codes
	hasVCL bool   // au holds a slice
	synced bool   // a start code was seen; bytes before it are dropped
	headed bool   // the NAL unit at the front of buf was checked for a new access unit
}

// write adds p and calls emit with each access unit it completes. The
// slice passed to emit is only valid during the call.
func (s *auSplitter) write(p []byte, emit func(au []byte)) error {
	s.buf = append(s.buf, p...)
	for {
		start, n := findStartCode(s.buf, 0)
		if start < 0 {
			if !s.synced { // garbage before the stream: keep only a possible partial start code
				s.buf = s.buf[max(0, len(s.buf)-3):]
			}
			break
		}
		if start > 0 { // bytes before the stream's first start code
			s.buf = s.buf[start:]
			continue
		}
		s.synced = true
		if !s.headed {
			if len(s.buf) < n+2 {
				break // its header runs on into the next read
			}
			if s.hasVCL && beginsAccessUnit(s.buf[n:n+2]) {
				emit(s.au)
				s.au, s.hasVCL = s.au[:0], false
			}
			s.headed = true
		}
		next, _ := findStartCode(s.buf, n)
		if next < 0 {
			break // the NAL unit runs on into the next read
		}
		s.nal(trimZeros(s.buf[n:next]))
		s.buf, s.headed = s.buf[next:], false
	}
	if len(s.buf)+len(s.au) > maxAccessUnit {
		s.reset()
		return errAccessUnitTooLarge
	}
	return nil
}

// nal adds one whole NAL unit (without start code) to the access unit.
func (s *auSplitter) nal(n []byte) {
	if len(n) == 0 {
		return
	}
	t := n[0] & 0x1f
	s.au = append(s.au, startCode...)
	s.au = append(s.au, n...)
	s.hasVCL = s.hasVCL || t == nalSlice || t == nalIDR
}

// beginsAccessUnit reports whether a NAL unit whose first two bytes are
// head starts a new access unit after one that holds a slice (H.264
// 7.4.1.2.3): a slice that begins a picture, or an AUD, SPS, PPS, SEI or
// reserved 14-18 unit.
func beginsAccessUnit(head []byte) bool {
	t := head[0] & 0x1f
	if t == nalSlice || t == nalIDR {
		return firstSliceOfPicture(head)
	}
	return t == nalAUD || t == nalSPS || t == nalPPS || t == nalSEI || (t >= 14 && t <= 18)
}

// firstSliceOfPicture reports whether a slice starts a picture:
// first_mb_in_slice, the first ue(v) of its header, is 0, which is coded
// as a single 1 bit.
func firstSliceOfPicture(n []byte) bool { return len(n) > 1 && n[1]&0x80 != 0 }

func (s *auSplitter) reset() {
	s.buf, s.au, s.hasVCL, s.synced, s.headed = s.buf[:0], s.au[:0], false, false, false
}

// findStartCode finds the first 00 00 01 at or after from, and returns the
// index of the start code (including a leading 00 of a four-byte one) and
// the index just past it; -1 when there is none.
func findStartCode(b []byte, from int) (int, int) {
	i := bytes.Index(b[from:], startCode[1:])
	if i < 0 {
		return -1, -1
	}
	i += from
	end := i + 3
	if i > from && b[i-1] == 0 {
		i--
	}
	return i, end
}

// trimZeros drops trailing zero bytes (trailing_zero_8bits between NAL
// units), which belong to no NAL unit.
func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// isKeyFrame reports whether an access unit holds an IDR slice.
func isKeyFrame(au []byte) bool {
	for i := 0; ; {
		_, n := findStartCode(au, i)
		if n < 0 || n >= len(au) {
			return false
		}
		if au[n]&0x1f == nalIDR {
			return true
		}
		i = n
	}
}
