package media

import (
	"bytes"
	"errors"
	"image"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intercomd/intercomd/media/v4l2"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/webrtc/v4"
)

// usbStandIn stands in for a USB camera that encodes H.264 itself, at the
// device edge (what v4l2.Capture.Next hands over): one access unit per
// buffer, made by openh264 from the clock picture and paced at 30 fps.
type usbStandIn struct {
	keyCtl     bool // the driver has the key frame control
	paramsOnce bool // SPS and PPS only in the stream's first access unit, as some cameras do
	gop        int  // a key frame every gop frames
	failAt     int  // the Nth buffer fails (the camera was unplugged); 0: never

	mu     sync.Mutex
	enc    codec.ReadCloser // guarded by mu
	img    *image.YCbCr
	n      int       // buffers handed out
	total  int       // over all opens
	next   time.Time // when the next buffer is due
	force  bool      // a key frame was asked for
	forced int       // key frame requests honoured
	closed int
}

const usbW, usbH = 320, 240

func (s *usbStandIn) open() (h264Camera, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.img = image.NewYCbCr(image.Rect(0, 0, usbW, usbH), image.YCbCrSubsampleRatio420)
	if err := s.newEncoder(); err != nil {
		return nil, err
	}
	s.n, s.next = 0, time.Now()
	return s, nil
}

// newEncoder starts the stream again from a key frame. openh264 numbers
// its parameter sets anew at each key frame it is asked for; a camera
// keeps them, and so does a fresh encoder, whose SPS and PPS are the
// same bytes each time.
func (s *usbStandIn) newEncoder() error {
	if s.enc != nil {
		s.enc.Close()
	}
	enc, err := buildH264(video.ReaderFunc(func() (image.Image, func(), error) {
		PaintClock(s.img, time.Now())
		return s.img, func() {}, nil
	}), usbW, usbH, 30, 500_000)
	s.enc = enc
	return err
}

func (s *usbStandIn) Next(timeout time.Duration) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enc == nil {
		return nil, errors.New("stand-in: read after close")
	}
	time.Sleep(time.Until(s.next))
	s.next = s.next.Add(time.Second / 30)
	s.n++
	s.total++
	if s.failAt > 0 && s.total == s.failAt {
		return nil, errors.New("stand-in: no such device")
	}
	if s.n > 1 && (s.force || (s.gop > 0 && (s.n-1)%s.gop == 0)) {
		if err := s.newEncoder(); err != nil {
			return nil, err
		}
		s.force = false
	}
	b, release, err := s.enc.Read()
	if err != nil {
		return nil, err
	}
	defer release()
	if s.paramsOnce && s.n > 1 {
		return withoutParams(b), nil
	}
	return bytes.Clone(b), nil
}

// withoutParams drops the SPS and PPS of an access unit.
func withoutParams(au []byte) []byte {
	var out []byte
	for i := 0; ; {
		_, n := findStartCode(au, i)
		if n < 0 || n >= len(au) {
			return out
		}
		end, _ := findStartCode(au, n)
		if end < 0 {
			end = len(au)
		}
		if t := au[n] & 0x1f; t != nalSPS && t != nalPPS {
			out = append(append(out, startCode...), trimZeros(au[n:end])...)
		}
		i = n
	}
}

func (s *usbStandIn) ForceKeyFrame() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.keyCtl {
		return v4l2.ErrNoControl
	}
	s.force = true
	s.forced++
	return nil
}

func (s *usbStandIn) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enc != nil {
		s.enc.Close()
		s.enc = nil
	}
	s.closed++
	return nil
}

func (s *usbStandIn) get(f func(*usbStandIn) int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s)
}

// usbMedia is a door whose camera is the stand-in, set up as
// openV4L2Camera sets up a camera that offers H.264.
func usbMedia(t *testing.T, s *usbStandIn) *Media {
	t.Helper()
	m := newTestMedia(t, Config{Camera: "none", Mic: "test", Speaker: "test", Width: usbW, Height: usbH, FPS: 30})
	u := newUSBH264(s.open, testLogger(t))
	m.useCamera(&camera{driver: usbH264Driver{u: u}, usb: u, width: usbW, height: usbH, fps: 30,
		desc: "USB stand-in", path: "H.264 from the USB camera, passed through without re-encoding (stand-in)"})
	return m
}

// TestUSBH264Passthrough: the camera's own H.264 reaches the call as it
// came, H.264 alone is offered, and a camera that sends its parameter
// sets only once still gives a browser that joins later SPS and PPS in
// front of every key frame. Its driver has no key frame control: the call
// waits for the camera's own key frames, and the camera is never asked.
func TestUSBH264Passthrough(t *testing.T) {
	s := &usbStandIn{paramsOnce: true, gop: 15}
	m := usbMedia(t, s)
	if got := m.sendCodecs(); len(got) != 1 || got[0].name != h264.name {
		t.Errorf("sendCodecs = %v, want H.264 alone", got)
	}
	// The stream runs before the call: its first access unit (the only
	// one with SPS and PPS) is gone when the call starts.
	if _, _, err := m.Snapshot(); err != nil {
		t.Fatalf("Snapshot before the call: %v", err)
	}
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(102)}})
	doorAnswers(t, m, r)
	within(t, 20*time.Second, "key frames with the parameter sets put back", func() bool {
		return r.get(func(r *remote) bool {
			return r.frames > 40 && r.nals[nalIDR] >= 2 && r.nals[nalSPS] >= 2 && r.nals[nalPPS] >= 2
		})
	})
	snapshotShowsNow(t, m, "in the call")
	if n := s.get(func(s *usbStandIn) int { return s.forced }); n != 0 {
		t.Errorf("a camera without the control was asked for %d key frames", n)
	}
	u := m.camera.usb
	u.mu.Lock()
	noKeyCtl := u.noKeyCtl
	u.mu.Unlock()
	if !noKeyCtl {
		t.Error("the source did not learn that the camera has no key frame control")
	}
}

// TestUSBH264KeyFrameRequest: where the driver has the key frame control,
// a call that connects gets a key frame at once, not at the camera's own
// period (here: never after the first).
func TestUSBH264KeyFrameRequest(t *testing.T) {
	s := &usbStandIn{keyCtl: true}
	m := usbMedia(t, s)
	if _, _, err := m.Snapshot(); err != nil { // the stream's own key frame goes by before the call
		t.Fatalf("Snapshot: %v", err)
	}
	for i := 1; i <= 2; i++ {
		r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(102)}})
		doorAnswers(t, m, r)
		within(t, 20*time.Second, "a key frame for the new call", func() bool {
			return r.get(func(r *remote) bool { return r.nals[nalIDR] >= 1 && r.frames > 10 })
		})
		if n := s.get(func(s *usbStandIn) int { return s.forced }); n < i {
			t.Errorf("call %d: the camera was asked for %d key frames, want at least %d", i, n, i)
		}
	}
}

// TestUSBH264Unplugged: a camera whose read fails is reported, closed and
// opened again on the next read, and the call's picture comes back.
func TestUSBH264Unplugged(t *testing.T) {
	s := &usbStandIn{gop: 10, failAt: 60}
	m := usbMedia(t, s)
	r := newRemote(t, remoteOpts{video: []webrtc.RTPCodecParameters{h264At(102)}})
	doorAnswers(t, m, r)
	within(t, 20*time.Second, "the camera reopened", func() bool { return s.get(func(s *usbStandIn) int { return s.closed }) >= 1 })
	var before int
	r.get(func(r *remote) bool { before = r.frames; return true })
	within(t, 20*time.Second, "the picture after the reopen", func() bool {
		return r.get(func(r *remote) bool { return r.frames > before+30 })
	})
	u := m.camera.usb
	u.mu.Lock()
	opens := u.opens
	u.mu.Unlock()
	if opens < 2 {
		t.Errorf("the stream was opened %d times, want a reopen after the failed read", opens)
	}
	if err := m.Err(); err != nil {
		t.Errorf("Err() = %v after the camera works again, want nil", err)
	}
}

// TestUSBAccessUnit: what the source does with one buffer of the camera.
func TestUSBAccessUnit(t *testing.T) {
	sps := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e}
	pps := []byte{0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0, 0, 0, 1, 0x65, 0x88, 0x84}
	p := []byte{0, 0, 1, 0x41, 0x9a, 0x22}
	cat := func(b ...[]byte) []byte { return bytes.Join(b, nil) }
	u := &usbH264{}
	if au, err := u.accessUnit(idr); err != nil || !bytes.Equal(au, idr) {
		t.Errorf("accessUnit(IDR before any SPS) = %x, %v; want it as it came", au, err)
	}
	if au, err := u.accessUnit(cat(sps, pps, idr)); err != nil || !bytes.Equal(au, cat(sps, pps, idr)) {
		t.Errorf("accessUnit(SPS PPS IDR) = %x, %v; want it as it came", au, err)
	}
	if au, err := u.accessUnit(p); err != nil || !bytes.Equal(au, p) {
		t.Errorf("accessUnit(P) = %x, %v; want it as it came", au, err)
	}
	if au, err := u.accessUnit(idr); err != nil || !bytes.Equal(au, cat(sps, pps, idr)) {
		t.Errorf("accessUnit(IDR alone) = %x, %v; want the last SPS and PPS in front", au, err)
	}
	if au, err := u.accessUnit(nil); err != nil || au != nil {
		t.Errorf("accessUnit(empty) = %x, %v; want nothing", au, err)
	}
	if _, err := u.accessUnit([]byte{0x65, 0x88, 0, 0, 1, 0x41}); !errors.Is(err, errNotAnnexB) {
		t.Errorf("accessUnit(no start code first) = %v, want errNotAnnexB", err)
	}
}

func TestUSBPath(t *testing.T) {
	one := func(w, h int) []v4l2.SizeRange {
		return []v4l2.SizeRange{{Min: v4l2.Size{Width: w, Height: h}, Max: v4l2.Size{Width: w, Height: h}}}
	}
	h264cam := v4l2.Probe{Formats: map[v4l2.FourCC][]v4l2.SizeRange{v4l2.H264: one(640, 480), v4l2.YUYV: one(640, 480)}}
	many := v4l2.Probe{Formats: map[v4l2.FourCC][]v4l2.SizeRange{}}
	for i := range 10 {
		many.Formats[v4l2.FourCC('A'|'A'<<8|'A'<<16|('0'+i)<<24)] = one(640, 480)
	}
	rawcam := v4l2.Probe{Formats: map[v4l2.FourCC][]v4l2.SizeRange{v4l2.YUYV: one(640, 480), v4l2.FourCC(0x47504a4d): one(640, 480)}}
	tests := []struct {
		p      v4l2.Probe
		choice string
		w, h   int
		h264   bool
		why    string
	}{
		{h264cam, "auto", 640, 480, true, "offers H.264 at 640x480"},
		{h264cam, "hardware", 640, 480, true, "offers H.264 at 640x480"},
		{h264cam, "software", 640, 480, false, "camera_encoder: software"},
		{h264cam, "auto", 1280, 720, false, "not at 1280x720"},
		{rawcam, "auto", 640, 480, false, "offers no H.264 (MJPG, YUYV)"},
		{many, "auto", 640, 480, false, "offers no H.264 (AAA0, AAA1, AAA2, AAA3, AAA4, AAA5, 4 more)"},
	}
	for _, tt := range tests {
		h264, why := usbPath(tt.p, tt.choice, tt.w, tt.h)
		if h264 != tt.h264 || !strings.Contains(why, tt.why) {
			t.Errorf("usbPath(%v, %q, %dx%d) = %v, %q; want %v, %q", tt.p.FormatNames(), tt.choice, tt.w, tt.h, h264, why, tt.h264, tt.why)
		}
	}
}

// FuzzUSBAccessUnit: any buffer a camera hands over gives an error, nothing,
// or an access unit that starts with a start code and holds the buffer.
func FuzzUSBAccessUnit(f *testing.F) {
	for _, au := range encodedStream(f, 2) {
		f.Add(au, withoutParams(au))
	}
	f.Add([]byte{0, 0, 1, 0x67, 0, 0, 0, 1, 0x68, 0, 0, 1, 0x65, 0x88}, []byte{0, 0, 1, 0x65, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		u := &usbH264{}
		for _, b := range [][]byte{first, second} {
			in := bytes.Clone(b)
			au, err := u.accessUnit(b)
			if err != nil || au == nil {
				continue
			}
			if !bytes.HasPrefix(au, startCode[1:]) && !bytes.HasPrefix(au, startCode) {
				t.Fatalf("accessUnit(%x) = %x: no start code first", in, au)
			}
			if !bytes.HasSuffix(au, in) {
				t.Fatalf("accessUnit(%x) = %x: the buffer is not at its end", in, au)
			}
		}
	})
}

// TestH264First: with camera auto, a camera node that offers H.264 comes
// before the others, which keep their order.
func TestH264First(t *testing.T) {
	var ds []driver.Driver
	for _, l := range []string{"usb-A-video-index0;video0", "usb-A-video-index1;video2", "usb-B-video-index0;video4"} {
		ds = append(ds, usbH264Driver{info: driver.Info{Label: l}})
	}
	got := h264First(ds, func(d driver.Driver) bool { return usbDevice(d.Info()) == "/dev/video2" })
	var order []string
	for _, d := range got {
		order = append(order, usbDevice(d.Info()))
	}
	if want := []string{"/dev/video2", "/dev/video0", "/dev/video4"}; !slices.Equal(order, want) {
		t.Errorf("h264First = %v, want %v", order, want)
	}
}
