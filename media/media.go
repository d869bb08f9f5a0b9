// Package media is the door's audio and video: it captures the camera and
// microphone once (pion/mediadevices), encodes each codec once and fans the
// samples out to every call's peer connection (pion/webrtc), and plays the
// residents' voices on the speaker. Where the machine has no camera, no
// microphone or no speaker, mediadevices' test pattern and test tone and a
// counting sink stand in, and the log says so.
package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/intercomd/intercomd/device"
	"github.com/intercomd/intercomd/media/aec"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/audio"
)

// Config chooses the devices and the network of the door's media.
type Config struct {
	// Camera is "auto" (a Raspberry Pi camera module, else the first V4L2
	// camera, else the test pattern), "picam" (the camera module through
	// rpicam-vid, see picam.go), "test", "clock" (the capture time painted in each frame, see
	// clock.go), "none", or a device path or name.
	Camera string
	// Mic is "auto" (the default capture device, else the test tone),
	// "test", "none", or a device (ALSA name such as "hw:1,0", or part of
	// its description).
	Mic string
	// Speaker is "auto" (the default playback device, else a counting
	// sink), "test" (the counting sink), "none", or a device.
	Speaker string
	// PicamEncoder is how the camera module's picture is encoded: "auto"
	// (the board's hardware H.264 where it has the encoder: Zero 2 W, 3,
	// 4; openh264 on a Pi 5), "hardware" or "software". "software" also
	// keeps a USB camera that offers H.264 on its raw frames.
	PicamEncoder string
	// Rotation (0 or 180), HFlip and VFlip turn the camera module's
	// picture, for a camera mounted upside down.
	Rotation     int
	HFlip, VFlip bool
	// Exposure is the camera module's exposure mode: "normal" (default),
	// "long" (at night: longer shutter times and more gain; a lower FPS
	// lets the shutter stay open longer still) or "short" (fast movement).
	Exposure string
	// Width, Height and FPS are the capture size and rate (default
	// 640x480 at 30).
	Width, Height, FPS int
	// VideoBitrate is the encoders' target in bits per second (default
	// 1,000,000 at 640x480@30, scaled by pixels per second): the ceiling
	// that congestion control adapts under.
	VideoBitrate int
	// KeyFrameInterval is the time between periodic key frames (default
	// 2 s), so a viewer who lost a picture or joins an encoder already
	// running never waits longer. Negative turns them off: key frames then
	// come only for a new call and a receiver's PLI or FIR.
	KeyFrameInterval time.Duration
	// UDPPort, when above 0, puts every call's host candidates on this one
	// port: UDP (one socket per local address, shared by all calls) and
	// passive ICE-TCP on the same number, for a router rule or a forwarded
	// VM port. Configured STUN and TURN servers are still reached from
	// ephemeral ports (outbound only: pion's API cannot gather
	// server-reflexive candidates on a shared port). 0 uses ephemeral ports.
	UDPPort int
	// Advertise lists addresses announced as extra host candidates, such
	// as a router's public address that forwards UDPPort (NAT 1:1).
	Advertise []string
	// ICEServers are stun: and turn: URLs. A TURN URL may carry
	// credentials as turn:user:password@host:port.
	ICEServers []string
	// Loopback includes loopback candidates and turns mDNS off: for tests
	// and for a browser on the same machine.
	Loopback bool
	// Voice cleans a real microphone before it is encoded: echo
	// cancellation (its Mode applies only where a real speaker plays
	// aloud: a counting sink makes no echo), noise suppression, gain
	// control. The zero value leaves the microphone as it is; the test
	// tone is never processed.
	Voice aec.Config
	// LocalPeers accepts a resident on the door's own machine: its
	// candidates name loopback and the door's own addresses, which are
	// refused otherwise (a resident's offer could aim the door's checks at
	// its own services). For the VM test, whose resident client runs beside
	// the door; off everywhere else.
	LocalPeers bool
}

// Defaults of Config.
const (
	DefaultWidth   = 640
	DefaultHeight  = 480
	DefaultFPS     = 30
	defaultBitrate = 1_000_000 // at 640x480@30
	// DefaultKeyFrameInterval is KeyFrameInterval's default.
	DefaultKeyFrameInterval = 2 * time.Second
)

func (c Config) withDefaults() (Config, error) {
	for _, f := range []*string{&c.Camera, &c.Mic, &c.Speaker} {
		*f = strings.TrimSpace(*f)
		if *f == "" {
			*f = "auto"
		}
	}
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = DefaultWidth, DefaultHeight
	}
	if c.FPS == 0 {
		c.FPS = DefaultFPS
	}
	switch {
	case c.Width < 16 || c.Height < 16 || c.Width > 4096 || c.Height > 4096 || c.Width%2 != 0 || c.Height%2 != 0:
		return c, fmt.Errorf("video size %dx%d: want even sizes from 16 to 4096", c.Width, c.Height)
	case c.FPS < 1 || c.FPS > 120:
		return c, fmt.Errorf("frame rate %d: want 1 to 120", c.FPS)
	case c.VideoBitrate < 0:
		return c, fmt.Errorf("video bitrate %d: want a positive number", c.VideoBitrate)
	case c.KeyFrameInterval > time.Minute:
		return c, fmt.Errorf("key frame interval %v: want at most a minute", c.KeyFrameInterval)
	case c.PicamEncoder != "" && c.PicamEncoder != picamAuto && c.PicamEncoder != picamHardware && c.PicamEncoder != picamSoftware:
		return c, fmt.Errorf("camera encoder %q: want auto, hardware or software", c.PicamEncoder)
	case c.Rotation != 0 && c.Rotation != 180:
		return c, fmt.Errorf("camera rotation %d: the camera module turns by 0 or 180 only", c.Rotation)
	case c.Exposure != "" && c.Exposure != "normal" && c.Exposure != "long" && c.Exposure != "short":
		return c, fmt.Errorf("camera exposure %q: want normal, long or short", c.Exposure)
	case c.UDPPort < 0 || c.UDPPort > 65535:
		return c, fmt.Errorf("udp port %d: want 1 to 65535, or 0 for ephemeral ports", c.UDPPort)
	}
	if c.VideoBitrate == 0 {
		c.VideoBitrate = defaultVideoBitrate(c.Width, c.Height, c.FPS)
	}
	if c.KeyFrameInterval == 0 {
		c.KeyFrameInterval = DefaultKeyFrameInterval
	}
	for _, a := range c.Advertise {
		if net.ParseIP(a) == nil {
			return c, fmt.Errorf("advertise %q: not an IP address", a)
		}
	}
	return c, nil
}

// defaultVideoBitrate scales 1 Mbit/s at 640x480@30 by pixels per second,
// within what a home uplink and a Pi carry.
func defaultVideoBitrate(w, h, fps int) int {
	b := int(int64(defaultBitrate) * int64(w*h) / (640 * 480) * int64(fps) / 30)
	return min(max(b, 150_000), 6_000_000)
}

// Media owns the capture devices, the encoders, the speaker and the ICE
// sockets that every call shares.
type Media struct {
	cfg Config
	log *slog.Logger
	net *network

	camera  *camera        // nil with Camera "none"
	mic     *microphone    // nil with Mic "none"
	video   *videoPipe     // nil without a camera
	audio   *audioPipe     // nil without a microphone
	voice   *aec.Processor // nil when the microphone is used as it is
	speaker sink           // nil with Speaker "none"
	sources map[string]string

	mu        sync.Mutex
	cameraErr error              // guarded by mu
	micErr    error              // guarded by mu
	openErr   error              // guarded by mu; a device found but not opened
	calls     map[*call]struct{} // guarded by mu
	closed    bool               // guarded by mu
}

var _ device.Media = (*Media)(nil)

// SpeakerStats counts what reached the speaker (or the counting sink that
// stands in for it): the proof that a resident's voice got to the door.
type SpeakerStats struct {
	// Samples is the number of 48 kHz mono samples played.
	Samples int64
	// NonSilent is how many of them were louder than about -40 dBFS.
	NonSilent int64
}

// New opens the camera, the microphone and the speaker once; every call
// shares them. A device that is configured by name and cannot be opened is
// an error; with "auto", a device that fails is replaced by its test
// stand-in and reported by Err.
func New(cfg Config, log *slog.Logger) (*Media, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("media config: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Media{cfg: cfg, log: log.With("component", "media"), calls: map[*call]struct{}{},
		sources: map[string]string{"echo": aec.Off.String()}}
	setOpenH264Log(m.log)
	ok := false
	defer func() {
		if !ok {
			m.Close()
		}
	}()
	if err := m.openCamera(); err != nil {
		return nil, err
	}
	// The speaker before the microphone: the echo canceller takes its
	// reference from the speaker.
	if err := m.openSpeaker(); err != nil {
		return nil, err
	}
	if err := m.openMic(); err != nil {
		return nil, err
	}
	if m.net, err = newNetwork(cfg, m.log); err != nil {
		return nil, err
	}
	var codecs []string
	for _, c := range m.sendCodecs() {
		codecs = append(codecs, c.name)
	}
	m.sources["codecs"] = strings.Join(append(codecs, "Opus"), ",")
	ok = true
	m.log.Info("media ready", "camera", m.sources["camera"], "mic", m.sources["mic"],
		"speaker", m.sources["speaker"], "echo", m.sources["echo"], "codecs", m.sources["codecs"],
		"size", fmt.Sprintf("%dx%d@%d", cfg.Width, cfg.Height, cfg.FPS), "bitrate", cfg.VideoBitrate)
	return m, nil
}

func (m *Media) openCamera() error {
	cfg := m.cfg
	var cam *camera
	var err error
	switch cfg.Camera {
	case none:
		m.sources["camera"] = none
		return nil
	case "test":
		cam, err = openTestCamera(cfg.Width, cfg.Height, cfg.FPS)
	case "clock":
		cam, err = openClockCamera(cfg.Width, cfg.Height, cfg.FPS)
	case "picam":
		cam, err = m.openPicam(findCameraModule())
	case "auto":
		cam, err = m.autoPicam()
		if err != nil {
			return err
		}
		cams := h264First(realCameras(), m.offersH264)
		if cam == nil && len(cams) == 0 {
			m.log.Info("no camera found: using test pattern")
		}
		for _, d := range cams {
			if cam != nil {
				break
			}
			if cam, err = m.openV4L2Camera(d); err == nil {
				break
			}
			m.log.Error("camera failed: using test pattern", "camera", d.Info().Name, "err", err)
			m.openErr = errors.Join(m.openErr, err)
		}
		if cam == nil {
			cam, err = openTestCamera(cfg.Width, cfg.Height, cfg.FPS)
		}
	default:
		var found bool
		for _, d := range realCameras() {
			if cameraMatches(d.Info(), cfg.Camera) {
				found = true
				cam, err = m.openV4L2Camera(d)
				break
			}
		}
		if !found {
			err = fmt.Errorf("camera %q: %w (cameras: %s)", cfg.Camera, ErrNotFound, names(realCameras()))
		}
	}
	if err != nil {
		return err
	}
	m.useCamera(cam)
	return nil
}

// useCamera makes cam the door's camera and sets up the video pipe that
// reads it: encoded H.264 passed through, or frames for our encoders.
func (m *Media) useCamera(cam *camera) {
	cfg := m.cfg
	m.camera = cam
	m.sources["camera"] = cam.desc
	m.video = newVideoPipe(cam.reader, cam.width, cam.height, cam.fps, cfg.VideoBitrate, m.log,
		func(err error) { m.setErr(&m.cameraErr, err) })
	m.video.keyInterval = max(cfg.KeyFrameInterval, 0)
	if cam.path == "" {
		cam.path = "software H.264 (openh264) from the camera's frames"
	}
	m.sources["video"] = cam.path
	if cam.usb != nil {
		m.video.au = cam.usb
	}
	if cam.picam != nil {
		if cam.picam.h264 {
			m.video.au = cam.picam
		} else {
			m.video.src = cam.picam.reader(m.video.quit)
		}
	}
}

func (m *Media) openMic() error {
	var mic *microphone
	var err error
	switch m.cfg.Mic {
	case none:
		m.sources["mic"] = none
		return nil
	case "test":
		mic, err = openTestMic()
	case "auto":
		mics := realMicrophones()
		if len(mics) == 0 {
			m.log.Info("no microphone found: using test tone")
		}
		for _, d := range mics {
			if mic, err = openRealMic(d, micDesc(d), m.log); err == nil {
				break
			}
			m.log.Error("microphone failed: using test tone", "mic", micDesc(d), "err", err)
			m.openErr = errors.Join(m.openErr, err)
		}
		if mic == nil {
			mic, err = openTestMic()
		}
	default:
		var found bool
		for _, d := range realMicrophones() {
			if micMatches(d.Info(), m.cfg.Mic) {
				found = true
				mic, err = openRealMic(d, micDesc(d), m.log)
				break
			}
		}
		if !found {
			err = fmt.Errorf("microphone %q: %w (microphones: %s)", m.cfg.Mic, ErrNotFound, names(realMicrophones()))
		}
	}
	if err != nil {
		return err
	}
	m.mic = mic
	m.sources["mic"] = mic.desc
	clean, err := m.cleanMic(mic)
	if err != nil {
		return err
	}
	m.audio, err = newAudioPipe(mic.reader, clean, m.log, func(err error) { m.setErr(&m.micErr, err) })
	return err
}

// cleanMic makes the echo canceller, noise suppression and gain control
// (as configured) that go between a real microphone and the encoder, or
// nil. Echo cancellation needs a speaker that plays aloud; without one it
// is off.
func (m *Media) cleanMic(mic *microphone) (func(audio.Reader) audio.Reader, error) {
	cfg := m.cfg.Voice
	var ref *echoRef
	if t, ok := m.speaker.(interface{ echoRef() *echoRef }); ok {
		ref = t.echoRef()
	}
	if ref == nil && cfg.Mode != aec.Off {
		m.log.Info("echo cancel off: no speaker plays aloud", "echo_cancel", cfg.Mode)
		cfg.Mode = aec.Off
	}
	if mic.desc == descTestTone || (cfg.Mode == aec.Off && !cfg.Denoise && !cfg.AGC) {
		return nil, nil
	}
	p, err := aec.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("microphone: %w", err)
	}
	m.voice = p
	m.sources["echo"] = cfg.Mode.String()
	return func(r audio.Reader) audio.Reader { return newCleaner(r, p, ref) }, nil
}

func (m *Media) openSpeaker() error {
	s, desc, err := openSpeaker(m.cfg.Speaker, m.log)
	if err != nil {
		return err
	}
	m.speaker = s
	m.sources["speaker"] = desc
	return nil
}

// names lists devices for an error message.
func names(ds []driver.Driver) string {
	if len(ds) == 0 {
		return "none found"
	}
	var n []string
	for _, d := range ds {
		n = append(n, fmt.Sprintf("%q", d.Info().Name))
	}
	return strings.Join(n, ", ")
}

func (m *Media) setErr(slot *error, err error) {
	m.mu.Lock()
	*slot = err
	m.mu.Unlock()
}

// Err reports a capture device that failed, or nil when all is well. The
// ready light blinks on it.
func (m *Media) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return errors.Join(m.openErr, m.cameraErr, m.micErr)
}

// Sources says what stands behind the camera, the microphone and the
// speaker, how the microphone is kept clear of the speaker (echo: on, off
// or half-duplex) and which codecs this build has, for /healthz:
// {"camera":"test pattern","mic":"test tone","speaker":"counting sink","echo":"off","codecs":"H264,Opus"}.
func (m *Media) Sources() map[string]string {
	out := make(map[string]string, len(m.sources))
	for k, v := range m.sources {
		out[k] = v
	}
	return out
}

// StandIn reports whether a test stand-in (test pattern, test tone,
// counting sink) stands behind the source key ("camera", "mic",
// "speaker"): with "auto", no real device was found.
func (m *Media) StandIn(key string) bool {
	switch m.sources[key] {
	case descTestPattern, descTestTone, descCountingSink:
		return true
	}
	return false
}

// Speaker counts what reached the speaker.
func (m *Media) Speaker() SpeakerStats {
	if m.speaker == nil {
		return SpeakerStats{}
	}
	return m.speaker.stats()
}

// Close ends every call, stops capture and closes the devices and sockets.
func (m *Media) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	calls := make([]*call, 0, len(m.calls))
	for c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	var errs []error
	for _, c := range calls {
		errs = append(errs, c.Close())
	}
	// Stop the readers before closing the devices they read: a test pattern
	// closed under its reader never returns.
	if m.video != nil {
		m.video.close()
	}
	if m.audio != nil {
		m.audio.close()
	}
	if m.camera != nil {
		errs = append(errs, m.camera.driver.Close())
	}
	if m.voice != nil {
		m.voice.Close()
	}
	if m.mic != nil {
		errs = append(errs, m.mic.close())
	}
	if m.speaker != nil {
		errs = append(errs, m.speaker.close())
	}
	if m.net != nil {
		errs = append(errs, m.net.close())
	}
	return errors.Join(errs...)
}
