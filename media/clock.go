package media

import (
	"errors"
	"fmt"
	"image"
	"io"
	"time"

	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// The clock source (-camera clock) paints the time each frame is captured
// into the frame, so that whoever receives it can measure the delay from
// capture to screen ("glass to glass") on the same clock. It paints:
//
//   - a machine-readable code at the top left: a grid of ClockBlock x
//     ClockBlock blocks, black or white, aligned on H.264 macroblocks so
//     that the encoder's blur stays inside a block. Row 0 alternates white
//     and black (it locates and calibrates); rows 1 to 4 hold 64 bits, most
//     significant first, left to right: the capture time in milliseconds
//     since the Unix epoch (48 bits), then a CRC-16/CCITT-FALSE of those six
//     bytes (big-endian) that rejects a misread;
//   - the same time in digits for people, and a bar that sweeps across the
//     bottom once a second, so stutter is visible.
//
// A reader samples the middle of each block, thresholds halfway between the
// calibration row's white and black, and checks the CRC: ReadClock here, and
// the benchmark's page script (cmd/bench) in a browser.

// ClockBlock is the side in pixels of one block of the clock code. The code
// starts one block from the top left corner.
const ClockBlock = 16

// Clock code layout: clockCols blocks wide, one calibration row and
// clockBits/clockCols rows of bits.
const (
	clockCols = 16
	clockBits = 64
	clockRows = 1 + clockBits/clockCols

	// Luma of the code's white and black (video range).
	clockWhite = 235
	clockBlack = 16
	clockGray  = 60 // the background
)

// ClockMinWidth and ClockMinHeight are the smallest frame the clock code
// fits in, with a block of margin around it.
const (
	ClockMinWidth  = (clockCols + 2) * ClockBlock
	ClockMinHeight = (clockRows + 2) * ClockBlock
)

// descClock is how /healthz and the log name the clock source.
const descClock = "clock (capture time painted in each frame)"

// ErrNoClock is returned by ReadClock when a frame holds no readable clock
// code.
var ErrNoClock = errors.New("no clock code in frame")

// PaintClock paints t into img, a 4:2:0 frame at least ClockMinWidth x
// ClockMinHeight: the code, the digits and the sweeping bar over a plain
// background.
func PaintClock(img *image.YCbCr, t time.Time) {
	b := img.Rect
	fill(img.Y, img.YStride, 0, 0, b.Dx(), b.Dy(), clockGray)
	cw, ch := (b.Dx()+1)/2, (b.Dy()+1)/2
	fill(img.Cb, img.CStride, 0, 0, cw, ch, 128)
	fill(img.Cr, img.CStride, 0, 0, cw, ch, 128)

	ms := uint64(t.UnixMilli())
	word := ms<<16 | uint64(crc16(ms))
	for col := range clockCols {
		v := byte(clockBlack)
		if col%2 == 0 {
			v = clockWhite
		}
		paintBlock(img, 0, col, v)
	}
	for i := range clockBits {
		v := byte(clockBlack)
		if word>>(clockBits-1-i)&1 == 1 {
			v = clockWhite
		}
		paintBlock(img, 1+i/clockCols, i%clockCols, v)
	}

	// The digits: HH:MM:SS.mmm in the machine's zone, under the code.
	top := (clockRows + 2) * ClockBlock
	size := min(b.Dx()/14, (b.Dy()-top)/3)
	if size >= 8 {
		paintDigits(img, ClockBlock, top, size, t.Format("15:04:05.000"))
	}
	// The bar: a tenth of the width, sweeping once a second.
	barH := max(b.Dy()/20, 2)
	barW := max(b.Dx()/10, 2)
	x := int(ms%1000) * (b.Dx() - barW) / 1000
	fill(img.Y, img.YStride, x, b.Dy()-barH, barW, barH, clockWhite)
}

func paintBlock(img *image.YCbCr, row, col int, v byte) {
	x, y := (1+col)*ClockBlock, (1+row)*ClockBlock
	fill(img.Y, img.YStride, x, y, ClockBlock, ClockBlock, v)
}

// fill sets a w x h rectangle of one plane to v.
func fill(plane []byte, stride, x, y, w, h int, v byte) {
	for r := y; r < y+h; r++ {
		row := plane[r*stride+x : r*stride+x+w]
		for i := range row {
			row[i] = v
		}
	}
}

// ReadClock reads the capture time that PaintClock painted into img, after
// any scaling-free trip through an encoder and a decoder. It fails with
// ErrNoClock when the calibration row is missing or the CRC does not match.
func ReadClock(img image.Image) (time.Time, error) {
	b := img.Bounds()
	if b.Dx() < ClockMinWidth || b.Dy() < ClockMinHeight {
		return time.Time{}, fmt.Errorf("%w: %dx%d is smaller than %dx%d", ErrNoClock, b.Dx(), b.Dy(), ClockMinWidth, ClockMinHeight)
	}
	luma := lumaOf(img)
	var white, black, minWhite, maxBlack = 0, 0, 255, 0
	for col := range clockCols {
		v := blockMean(luma, b, 0, col)
		if col%2 == 0 {
			white += v
			minWhite = min(minWhite, v)
		} else {
			black += v
			maxBlack = max(maxBlack, v)
		}
	}
	// Every white must be clearly brighter than every black.
	if minWhite-maxBlack < 48 {
		return time.Time{}, fmt.Errorf("%w: calibration row has no contrast (white >= %d, black <= %d)", ErrNoClock, minWhite, maxBlack)
	}
	threshold := (white + black) / clockCols
	var word uint64
	for i := range clockBits {
		word <<= 1
		if blockMean(luma, b, 1+i/clockCols, i%clockCols) > threshold {
			word |= 1
		}
	}
	ms := word >> 16
	if uint16(word) != crc16(ms) {
		return time.Time{}, fmt.Errorf("%w: checksum mismatch", ErrNoClock)
	}
	return time.UnixMilli(int64(ms)), nil
}

// lumaOf returns a function giving the luma at (x, y) of img.
func lumaOf(img image.Image) func(x, y int) int {
	if y, ok := img.(*image.YCbCr); ok {
		return func(px, py int) int { return int(y.Y[y.YOffset(px, py)]) }
	}
	if g, ok := img.(*image.Gray); ok {
		return func(px, py int) int { return int(g.GrayAt(px, py).Y) }
	}
	return func(px, py int) int {
		r, g, b, _ := img.At(px, py).RGBA()
		return int((299*r + 587*g + 114*b) / 1000 >> 8)
	}
}

// blockMean is the mean luma of the middle half of a block: its edges are
// where a codec's blur and ringing go.
func blockMean(luma func(x, y int) int, b image.Rectangle, row, col int) int {
	x0 := b.Min.X + (1+col)*ClockBlock + ClockBlock/4
	y0 := b.Min.Y + (1+row)*ClockBlock + ClockBlock/4
	sum := 0
	for y := y0; y < y0+ClockBlock/2; y++ {
		for x := x0; x < x0+ClockBlock/2; x++ {
			sum += luma(x, y)
		}
	}
	return sum / (ClockBlock * ClockBlock / 4)
}

// crc16 is CRC-16/CCITT-FALSE of the low six bytes of ms, big-endian.
func crc16(ms uint64) uint16 {
	crc := uint16(0xFFFF)
	for i := 5; i >= 0; i-- {
		crc ^= uint16(byte(ms>>(8*i))) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// Seven-segment digits: segments a (top), b (top right), c (bottom right),
// d (bottom), e (bottom left), f (top left), g (middle).
var segments = map[rune]string{
	'0': "abcdef", '1': "bc", '2': "abdeg", '3': "abcdg", '4': "bcfg",
	'5': "acdfg", '6': "acdefg", '7': "abc", '8': "abcdefg", '9': "abcdfg",
}

// paintDigits paints s (digits, ':' and '.') at (x, y) in white, each
// character size wide and twice as tall.
func paintDigits(img *image.YCbCr, x, y, size int, s string) {
	t := max(size/6, 1) // stroke
	h := 2 * size
	for _, r := range s {
		w := size * 8 / 10
		switch r {
		case ':':
			fill(img.Y, img.YStride, x+size/4-t, y+h/3-t, 2*t, 2*t, clockWhite)
			fill(img.Y, img.YStride, x+size/4-t, y+2*h/3-t, 2*t, 2*t, clockWhite)
			x += size / 2
			continue
		case '.':
			fill(img.Y, img.YStride, x+size/4-t, y+h-2*t, 2*t, 2*t, clockWhite)
			x += size / 2
			continue
		}
		for _, s := range segments[r] {
			switch s {
			case 'a':
				fill(img.Y, img.YStride, x, y, w, t, clockWhite)
			case 'b':
				fill(img.Y, img.YStride, x+w-t, y, t, h/2, clockWhite)
			case 'c':
				fill(img.Y, img.YStride, x+w-t, y+h/2, t, h/2, clockWhite)
			case 'd':
				fill(img.Y, img.YStride, x, y+h-t, w, t, clockWhite)
			case 'e':
				fill(img.Y, img.YStride, x, y+h/2, t, h/2, clockWhite)
			case 'f':
				fill(img.Y, img.YStride, x, y, t, h/2, clockWhite)
			case 'g':
				fill(img.Y, img.YStride, x, y+h/2-t/2, w, t, clockWhite)
			}
		}
		x += size
	}
}

// recordClock paces frames at p.FrameRate and stamps each with the time of
// its tick, when a camera would have captured it: a reader that falls behind
// sees the delay, as it would with a camera's queue.
func recordClock(done <-chan struct{}, p prop.Media) (video.Reader, error) {
	w, h := p.Width, p.Height
	if w < ClockMinWidth || h < ClockMinHeight {
		return nil, fmt.Errorf("clock: %dx%d is too small for the code, want at least %dx%d", w, h, ClockMinWidth, ClockMinHeight)
	}
	if p.FrameRate <= 0 {
		return nil, fmt.Errorf("clock: frame rate %g must be set", p.FrameRate)
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	tick := time.NewTicker(time.Duration(float64(time.Second) / float64(p.FrameRate)))
	var last time.Time // the previous frame's stamp; stamps never go back
	return video.ReaderFunc(func() (image.Image, func(), error) {
		var t time.Time
		select {
		case <-done:
			tick.Stop()
			return nil, func() {}, io.EOF
		case t = <-tick.C:
		}
		// A tick left over from an idle spell is not a capture time: a
		// camera drops such frames (DiscardFramesOlderThan).
		if time.Since(t) > 500*time.Millisecond {
			t = time.Now()
		}
		// The ticker's next tick can be older than the Now that replaced a
		// stale one: a camera's frames never run backwards.
		if t.Before(last) {
			t = last
		}
		last = t
		PaintClock(img, t)
		return img, func() {}, nil
	}), nil
}

// openClockCamera starts the clock source at the configured size and rate.
func openClockCamera(width, height, fps int) (*camera, error) {
	return openPainted(&paintedDriver{id: "clock", desc: descClock, record: recordClock}, width, height, fps)
}
