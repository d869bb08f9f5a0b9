package openh264

import (
	"bytes"
	"testing"
)

// bits reads an H.264 RBSP: fixed-width fields and Exp-Golomb codes.
type bits struct {
	b   []byte
	pos int // in bits
}

// rbsp is a NAL unit's payload without its header byte and emulation
// prevention bytes (00 00 03 -> 00 00).
func rbsp(nal []byte) *bits {
	var out []byte
	zeros := 0
	for _, c := range nal[1:] {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return &bits{b: out}
}

func (r *bits) u(n int) int {
	v := 0
	for range n {
		bit := 0
		if r.pos/8 < len(r.b) {
			bit = int(r.b[r.pos/8]>>(7-r.pos%8)) & 1
		}
		r.pos++
		v = v<<1 | bit
	}
	return v
}

func (r *bits) ue() int {
	n := 0
	for r.u(1) == 0 && n < 32 {
		n++
	}
	return 1<<n - 1 + r.u(n)
}

func (r *bits) se() int {
	k := r.ue()
	if k%2 == 1 {
		return (k + 1) / 2
	}
	return -k / 2
}

// nals splits an Annex B frame into NAL units (header byte first).
func nals(frame []byte) [][]byte {
	var out [][]byte
	for _, n := range bytes.Split(frame, []byte{0, 0, 1}) {
		n = bytes.TrimRight(n, "\x00")
		if len(n) > 0 {
			out = append(out, n)
		}
	}
	return out
}

// deblockingOff reads a key frame's SPS, PPS and first IDR slice header (a
// constrained baseline stream, as openh264 makes) and says whether the
// slice turns the deblocking filter off (disable_deblocking_filter_idc 1).
func deblockingOff(t *testing.T, frame []byte) bool {
	t.Helper()
	var log2FrameNum, pocType, log2PocLsb, controlPresent, redundantPresent int
	var sawSPS, sawPPS bool
	for _, n := range nals(frame) {
		r := rbsp(n)
		switch n[0] & 0x1f {
		case 7: // SPS
			if profile := r.u(8); profile != 66 {
				t.Fatalf("SPS profile_idc %d, want 66 (baseline)", profile)
			}
			r.u(16) // constraint flags, level_idc
			r.ue()  // seq_parameter_set_id
			log2FrameNum = r.ue() + 4
			pocType = r.ue()
			switch pocType {
			case 0:
				log2PocLsb = r.ue() + 4
			case 2:
			default:
				t.Fatalf("SPS pic_order_cnt_type %d: the test reads 0 and 2", pocType)
			}
			sawSPS = true
		case 8: // PPS
			r.ue() // pic_parameter_set_id
			r.ue() // seq_parameter_set_id
			if cabac := r.u(1); cabac != 0 {
				t.Fatal("PPS: CABAC in a baseline stream")
			}
			r.u(1) // bottom_field_pic_order_in_frame_present_flag
			if groups := r.ue(); groups != 0 {
				t.Fatalf("PPS: %d slice groups", groups+1)
			}
			r.ue() // num_ref_idx_l0_default_active_minus1
			r.ue() // num_ref_idx_l1_default_active_minus1
			r.u(3) // weighted_pred_flag, weighted_bipred_idc
			r.se() // pic_init_qp_minus26
			r.se() // pic_init_qs_minus26
			r.se() // chroma_qp_index_offset
			controlPresent = r.u(1)
			r.u(1) // constrained_intra_pred_flag
			redundantPresent = r.u(1)
			sawPPS = true
		case 5: // IDR slice
			if !sawSPS || !sawPPS {
				t.Fatal("IDR slice before its SPS and PPS")
			}
			r.ue() // first_mb_in_slice
			r.ue() // slice_type
			r.ue() // pic_parameter_set_id
			r.u(log2FrameNum)
			r.ue() // idr_pic_id
			if pocType == 0 {
				r.u(log2PocLsb)
			}
			if redundantPresent == 1 {
				r.ue()
			}
			if n[0]>>5 != 0 { // nal_ref_idc: dec_ref_pic_marking of an IDR
				r.u(2)
			}
			r.se() // slice_qp_delta
			if controlPresent == 0 {
				return false // the filter runs with its defaults
			}
			return r.ue() == 1
		}
	}
	t.Fatal("no IDR slice in the key frame")
	return false
}

// NoDeblocking reaches the bitstream: the key frame's slice says the
// filter is off, and without it the filter runs.
func TestNoDeblocking(t *testing.T) {
	for _, off := range []bool{false, true} {
		e := newEncoder(t, Config{Width: 64, Height: 48, FPS: 30, Bitrate: 200_000, NoDeblocking: off})
		frame, key, err := e.Encode(scene(64, 48, 0, true), true)
		if err != nil || !key {
			t.Fatalf("Encode(first frame) = key %v, %v; want a key frame", key, err)
		}
		if got := deblockingOff(t, frame); got != off {
			t.Errorf("NoDeblocking %v: the slice header turns deblocking off = %v, want %v", off, got, off)
		}
	}
}
