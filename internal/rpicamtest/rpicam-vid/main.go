// Command rpicam-vid stands in for the Raspberry Pi's camera program in
// tests on machines without a camera module. It takes the options intercomd
// passes, spelled and checked as rpicam-apps checks them (an unknown option
// or value fails, as boost::program_options and the encoder fail there),
// and writes what rpicam-vid writes to stdout: H.264 in Annex-B (encoded
// by openh264 here, by the VideoCore there; SPS and PPS only in front of
// the first key frame unless --inline) or raw I420 frames. The picture is
// intercomd's clock source, so a receiver can read the capture time.
//
// The environment plays the hardware: RPICAM_STANDIN_CAMERAS=none makes
// it find no camera, as on a Pi whose ribbon cable is loose.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/intercomd/intercomd/media"
	"github.com/intercomd/intercomd/media/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
)

// opts are the options this stand-in knows: value options and flags
// (boost's implicit_value(true) switches).
var (
	valueOpts = map[string]string{
		"codec": "h264", "width": "640", "height": "480", "framerate": "30", "bitrate": "0",
		"intra": "0", "profile": "", "level": "", "rotation": "0", "exposure": "normal",
		"timeout": "5000", "output": "", "camera": "0", "denoise": "auto", "shutter": "0",
	}
	flagOpts = map[string]bool{"inline": false, "flush": false, "nopreview": false, "hflip": false, "vflip": false, "list-cameras": false}
	shorts   = map[string]string{"t": "timeout", "o": "output", "b": "bitrate", "g": "intra", "n": "nopreview"}
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR: *** "+err.Error()+" ***")
		os.Exit(255)
	}
}

func parse(args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		var name, val string
		hasVal := false
		switch {
		case strings.HasPrefix(a, "--"):
			name = a[2:]
			if k, v, ok := strings.Cut(name, "="); ok {
				name, val, hasVal = k, v, true
			}
		case strings.HasPrefix(a, "-") && len(a) == 2:
			name = shorts[a[1:]]
			if name == "" {
				return fmt.Errorf("unrecognised option '%s'", a)
			}
		default:
			return fmt.Errorf("unexpected argument '%s'", a)
		}
		if _, ok := flagOpts[name]; ok {
			flagOpts[name] = !hasVal || val == "1" || val == "true"
			continue
		}
		if _, ok := valueOpts[name]; !ok {
			return fmt.Errorf("unrecognised option '--%s'", name)
		}
		if !hasVal {
			if i+1 >= len(args) {
				return fmt.Errorf("the required argument for option '--%s' is missing", name)
			}
			i++
			val = args[i]
		}
		valueOpts[name] = val
	}
	return nil
}

func num(name string) (int, error) {
	n, err := strconv.Atoi(valueOpts[name])
	if err != nil {
		return 0, fmt.Errorf("the argument ('%s') for option '--%s' is invalid", valueOpts[name], name)
	}
	return n, nil
}

func run(args []string) error {
	if err := parse(args); err != nil {
		return err
	}
	noCamera := os.Getenv("RPICAM_STANDIN_CAMERAS") == "none"
	if flagOpts["list-cameras"] {
		if noCamera {
			fmt.Println("No cameras available!")
			return nil
		}
		fmt.Println("Available cameras\n-----------------")
		fmt.Println("0 : imx708 [4608x2592 10-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx708@1a)")
		fmt.Println("    Modes: 'SRGGB10_CSI2P' : 1536x864 [120.13 fps - (768,432)/3072x1728 crop]")
		return nil
	}
	if noCamera {
		return fmt.Errorf("no cameras available")
	}
	w, err := num("width")
	if err != nil {
		return err
	}
	h, err := num("height")
	if err != nil {
		return err
	}
	fps, err := num("framerate")
	if err != nil {
		return err
	}
	intra, err := num("intra")
	if err != nil {
		return err
	}
	bitrate, err := num("bitrate")
	if err != nil {
		return err
	}
	rotation, err := num("rotation")
	if err != nil {
		return err
	}
	switch {
	case valueOpts["timeout"] != "0":
		return fmt.Errorf("stand-in: intercomd runs rpicam-vid with -t 0, got %q", valueOpts["timeout"])
	case valueOpts["output"] != "-":
		return fmt.Errorf("stand-in: intercomd reads stdout (-o -), got %q", valueOpts["output"])
	case !flagOpts["nopreview"]:
		return fmt.Errorf("stand-in: a door has no preview window: want --nopreview")
	case rotation != 0 && rotation != 180:
		return fmt.Errorf("illegal rotation value")
	case w < media.ClockMinWidth || h < media.ClockMinHeight || fps < 1:
		return fmt.Errorf("stand-in: %dx%d@%d is too small for the clock picture", w, h, fps)
	}
	switch valueOpts["exposure"] {
	case "normal", "sport", "short", "long", "custom":
	default:
		return fmt.Errorf("Invalid exposure mode:%s", valueOpts["exposure"])
	}
	flip := rotation == 180
	hflip, vflip := flagOpts["hflip"] != flip, flagOpts["vflip"] != flip

	var out io.Writer = os.Stdout
	bw := bufio.NewWriterSize(os.Stdout, 64<<10)
	if !flagOpts["flush"] {
		out = bw // rpicam-vid without --flush leaves frames in stdio's buffer
	}
	frames := clockFrames(w, h, fps, hflip, vflip)
	switch valueOpts["codec"] {
	case "yuv420":
		for {
			img, _, _ := frames.Read()
			y := img.(*image.YCbCr)
			for _, p := range [][]byte{y.Y, y.Cb, y.Cr} {
				if _, err := out.Write(p); err != nil {
					return err
				}
			}
		}
	case "h264":
		return encode(out, frames, w, h, fps, bitrate, intra)
	}
	return fmt.Errorf("unrecognised codec %s", valueOpts["codec"])
}

// encode writes H.264 as the VideoCore encoder does with these options.
func encode(out io.Writer, frames video.Reader, w, h, fps, bitrate, intra int) error {
	switch valueOpts["profile"] {
	case "", "baseline", "main", "high":
	default:
		return fmt.Errorf("no such profile %s", valueOpts["profile"])
	}
	switch valueOpts["level"] {
	case "", "4", "4.1", "4.2":
	default:
		return fmt.Errorf("no such level %s", valueOpts["level"])
	}
	if bitrate == 0 {
		bitrate = 10_000_000 // the VideoCore's default
	}
	if intra == 0 {
		intra = 60 // rpicam-vid's default key frame period
	}
	enc, err := openh264.NewReader(frames, openh264.Config{Width: w, Height: h, FPS: fps, Bitrate: bitrate, KeyFrameInterval: intra})
	if err != nil {
		return err
	}
	defer enc.Close()
	first := true
	for {
		b, release, err := enc.Read()
		if err != nil {
			return err
		}
		if !flagOpts["inline"] && !first {
			b = dropHeaders(b)
		}
		first = first && len(b) == 0
		_, err = out.Write(b)
		release()
		if err != nil {
			return err
		}
	}
}

// dropHeaders removes SPS and PPS: without --inline the VideoCore sends them
// once, at the start.
func dropHeaders(b []byte) []byte {
	r, err := h264reader.NewReaderWithOptions(bytes.NewReader(b), h264reader.WithIncludeSEI(true))
	if err != nil {
		return b
	}
	var out []byte
	for {
		n, err := r.NextNAL()
		if err != nil {
			return out
		}
		if n.UnitType == h264reader.NalUnitTypeSPS || n.UnitType == h264reader.NalUnitTypePPS {
			continue
		}
		out = append(out, 0, 0, 0, 1)
		out = append(out, n.Data...)
	}
}

// clockFrames paints the capture time into each frame at fps, flipped as
// the sensor would flip it.
func clockFrames(w, h, fps int, hflip, vflip bool) video.Reader {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	tick := time.NewTicker(time.Second / time.Duration(fps))
	return video.ReaderFunc(func() (image.Image, func(), error) {
		t := <-tick.C
		media.PaintClock(img, t)
		if hflip || vflip {
			flipPlane(img.Y, img.YStride, w, h, hflip, vflip)
			flipPlane(img.Cb, img.CStride, w/2, h/2, hflip, vflip)
			flipPlane(img.Cr, img.CStride, w/2, h/2, hflip, vflip)
		}
		return img, func() {}, nil
	})
}

func flipPlane(p []byte, stride, w, h int, hflip, vflip bool) {
	if hflip {
		for y := 0; y < h; y++ {
			row := p[y*stride : y*stride+w]
			for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
				row[i], row[j] = row[j], row[i]
			}
		}
	}
	if vflip {
		tmp := make([]byte, w)
		for a, b := 0, h-1; a < b; a, b = a+1, b-1 {
			ra, rb := p[a*stride:a*stride+w], p[b*stride:b*stride+w]
			copy(tmp, ra)
			copy(ra, rb)
			copy(rb, tmp)
		}
	}
}
