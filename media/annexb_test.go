package media

import (
	"bytes"
	"testing"
)

// encodedStream is n access units from the door's own H.264 encoder: a key
// frame (SPS, PPS, IDR) every 10 frames and P frames between.
func encodedStream(t testing.TB, n int) [][]byte {
	t.Helper()
	enc, err := buildH264(syntheticVideo(320, 240), 320, 240, 30, 300_000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	kf := enc.Controller().(interface{ ForceKeyFrame() error })
	var aus [][]byte
	for i := range n {
		if i%10 == 0 {
			kf.ForceKeyFrame()
		}
		b, release, err := enc.Read()
		if err != nil {
			t.Fatal(err)
		}
		aus = append(aus, bytes.Clone(b))
		release()
	}
	return aus
}

// TestAUSplitter: the stream cut into reads of any size comes out as the
// access units that went in (but the last, which only the next one ends),
// whatever start code length, with the key frames recognised.
func TestAUSplitter(t *testing.T) {
	aus := encodedStream(t, 25)
	stream := bytes.Join(aus, nil)
	for _, chunk := range []int{1, 3, 7, 100, 4096, len(stream)} {
		var s auSplitter
		var got [][]byte
		for off := 0; off < len(stream); off += chunk {
			if err := s.write(stream[off:min(off+chunk, len(stream))], func(au []byte) { got = append(got, bytes.Clone(au)) }); err != nil {
				t.Fatalf("chunk %d: write: %v", chunk, err)
			}
		}
		if len(got) != len(aus)-1 {
			t.Fatalf("chunk %d: %d access units, want %d", chunk, len(got), len(aus)-1)
		}
		for i, au := range got {
			if !bytes.Equal(au, aus[i]) { // openh264 writes four-byte start codes, as the splitter does
				t.Fatalf("chunk %d: access unit %d differs: %d bytes, want %d", chunk, i, len(au), len(aus[i]))
			}
			if key := isKeyFrame(au); key != (i%10 == 0) {
				t.Errorf("chunk %d: isKeyFrame(access unit %d) = %v", chunk, i, key)
			}
		}
	}
}

// TestAUSplitterGarbage: bytes before the first start code are dropped,
// and a stream without start codes cannot grow memory.
func TestAUSplitterGarbage(t *testing.T) {
	aus := encodedStream(t, 3)
	var s auSplitter
	var got [][]byte
	emit := func(au []byte) { got = append(got, bytes.Clone(au)) }
	if err := s.write([]byte{1, 2, 3, 0xff, 0}, emit); err != nil {
		t.Fatal(err)
	}
	for _, au := range aus {
		if err := s.write(au, emit); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || !isKeyFrame(got[0]) {
		t.Errorf("after leading garbage: %d access units (first key: %v), want 2 starting with a key frame", len(got), len(got) > 0 && isKeyFrame(got[0]))
	}
	var big auSplitter
	junk := bytes.Repeat([]byte{0xaa}, 1<<20)
	big.write([]byte{0, 0, 0, 1, 0x65}, emit)
	var err error
	for range 5 {
		if err = big.write(junk, emit); err != nil {
			break
		}
	}
	if err != errAccessUnitTooLarge {
		t.Errorf("5 MiB without a start code: %v, want errAccessUnitTooLarge", err)
	}
}

// FuzzAUSplitter: whatever the camera program writes, the splitter hands
// out access units that start with a start code, or an error; never a
// crash.
func FuzzAUSplitter(f *testing.F) {
	for _, au := range encodedStream(f, 2) {
		f.Add(au, 5)
	}
	f.Add([]byte{0, 0, 1, 0x67, 0, 0, 0, 1, 0x65, 0x88, 0, 0, 1, 0x41, 0x9a}, 2)
	f.Fuzz(func(t *testing.T, b []byte, chunk int) {
		if chunk <= 0 || chunk > len(b) {
			chunk = len(b) + 1
		}
		var s auSplitter
		for off := 0; off < len(b); off += chunk {
			err := s.write(b[off:min(off+chunk, len(b))], func(au []byte) {
				if !bytes.HasPrefix(au, startCode) || len(au) < 5 {
					t.Fatalf("access unit %x does not start with a start code and a NAL header", au)
				}
				isKeyFrame(au)
			})
			if err != nil {
				return
			}
		}
	})
}
