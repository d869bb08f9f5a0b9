package main

import (
	"errors"
	"fmt"
)

// nalUnits splits an Annex-B byte stream into NAL units (start codes
// removed).
func nalUnits(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				out = append(out, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// bitReader reads an H.264 RBSP bit by bit.
type bitReader struct {
	b   []byte
	pos int
}

var errShortSPS = errors.New("sps: truncated")

func (r *bitReader) bit() (uint, error) {
	if r.pos >= len(r.b)*8 {
		return 0, errShortSPS
	}
	v := (r.b[r.pos/8] >> (7 - r.pos%8)) & 1
	r.pos++
	return uint(v), nil
}

func (r *bitReader) bits(n int) (uint, error) {
	var v uint
	for i := 0; i < n; i++ {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v, nil
}

// ue reads an unsigned Exp-Golomb number.
func (r *bitReader) ue() (uint, error) {
	zeros := 0
	for {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		zeros++
		if zeros > 31 {
			return 0, errors.New("sps: bad exp-golomb code")
		}
	}
	v, err := r.bits(zeros)
	return (1<<zeros - 1) + v, err
}

func (r *bitReader) se() (int, error) {
	v, err := r.ue()
	if v%2 == 1 {
		return int(v+1) / 2, err
	}
	return -int(v / 2), err
}

// spsSize returns the picture size coded in an H.264 sequence parameter set
// NAL unit (header byte included).
func spsSize(nal []byte) (width, height int, err error) {
	if len(nal) < 4 || nal[0]&0x1f != 7 {
		return 0, 0, errors.New("sps: not an SPS NAL unit")
	}
	// Drop emulation prevention bytes (00 00 03).
	rbsp := make([]byte, 0, len(nal))
	for i := 1; i < len(nal); i++ {
		if i >= 3 && nal[i] == 3 && nal[i-1] == 0 && nal[i-2] == 0 {
			continue
		}
		rbsp = append(rbsp, nal[i])
	}
	r := &bitReader{b: rbsp}
	profile, _ := r.bits(8)
	r.bits(16) // constraint flags, level
	must := func(_ uint, e error) {
		if err == nil {
			err = e
		}
	}
	must(r.ue()) // seq_parameter_set_id
	chroma := uint(1)
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chroma, err = r.ue()
		if chroma == 3 {
			must(r.bit())
		}
		must(r.ue()) // bit depth luma
		must(r.ue()) // bit depth chroma
		must(r.bit())
		scaling, e := r.bit()
		must(scaling, e)
		if scaling == 1 {
			return 0, 0, errors.New("sps: scaling matrices are not supported here")
		}
	}
	must(r.ue()) // log2_max_frame_num_minus4
	poc, e := r.ue()
	must(poc, e)
	switch poc {
	case 0:
		must(r.ue())
	case 1:
		must(r.bit())
		r.se()
		r.se()
		n, e := r.ue()
		must(n, e)
		for i := uint(0); i < n && err == nil; i++ {
			_, err = r.se()
		}
	}
	must(r.ue())  // max_num_ref_frames
	must(r.bit()) // gaps_in_frame_num_value_allowed_flag
	wmbs, e := r.ue()
	must(wmbs, e)
	hmaps, e := r.ue()
	must(hmaps, e)
	frameMbsOnly, e := r.bit()
	must(frameMbsOnly, e)
	if frameMbsOnly == 0 {
		must(r.bit())
	}
	must(r.bit()) // direct_8x8_inference_flag
	var cl, cr, ct, cb uint
	crop, e := r.bit()
	must(crop, e)
	if crop == 1 {
		cl, _ = r.ue()
		cr, _ = r.ue()
		ct, _ = r.ue()
		cb, e = r.ue()
		must(cb, e)
	}
	if err != nil {
		return 0, 0, err
	}
	cropX, cropY := uint(1), 2-frameMbsOnly
	if chroma == 1 || chroma == 2 {
		cropX = 2
	}
	if chroma == 1 {
		cropY *= 2
	}
	width = int((wmbs+1)*16 - (cl+cr)*cropX)
	height = int((2-frameMbsOnly)*(hmaps+1)*16 - (ct+cb)*cropY)
	if width <= 0 || height <= 0 {
		return 0, 0, fmt.Errorf("sps: impossible size %dx%d", width, height)
	}
	return width, height, nil
}
