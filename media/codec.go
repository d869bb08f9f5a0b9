package media

import (
	"fmt"

	"github.com/intercomd/intercomd/media/openh264"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/webrtc/v4"
)

// videoCodec is one video encoder the door can send with. Its capability is
// what a call registers and what the shared track binds against; the payload
// type is never fixed here: each peer connection negotiates its own.
type videoCodec struct {
	name       string
	capability webrtc.RTPCodecCapability
	// build makes an encoder reading r. fps and bitrate are always set: the
	// encoders budget bits per frame from the frame rate.
	build func(r video.Reader, width, height, fps, bitrate int) (codec.ReadCloser, error)
}

// videoFeedback is what the door understands from a receiver: NACKs are
// answered by pion's interceptor, PLI and FIR by a key frame, transport-cc
// feeds the congestion controller and REMB caps it (congestion.go).
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
	{Type: webrtc.TypeRTCPFBTransportCC}, {Type: webrtc.TypeRTCPFBGoogREMB},
}

// h264 is openh264 through media/openh264, our binding (the settings that make
// it cheap are there). It is always built and preferred: on these machines
// it costs a quarter to a tenth of VP8's CPU.
var h264 = videoCodec{
	name: "H264",
	capability: webrtc.RTPCodecCapability{
		MimeType:     webrtc.MimeTypeH264,
		ClockRate:    90000,
		SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		RTCPFeedback: videoFeedback,
	},
	build: buildH264,
}

func buildH264(r video.Reader, width, height, fps, bitrate int) (codec.ReadCloser, error) {
	if fps <= 0 || bitrate <= 0 {
		return nil, fmt.Errorf("h264: frame rate %d and bitrate %d must be set", fps, bitrate)
	}
	// No key frames of openh264's own: the pipe forces them by the clock
	// (Config.KeyFrameInterval), for new calls and for PLI, so a camera
	// slower than its nominal rate still gets them on time. No frame
	// skipping: it drops frames on noisy input (a dark street at night)
	// without telling anyone; rate control lowers quality instead. No
	// deblocking filter, as ffmpeg's ultrafast preset (libx264, the encoder
	// make bench compares with): it took 12 % of openh264's time at 640x480
	// and 1 Mbit/s, and on a photo panned with sensor noise turning it off
	// cost 0.29 dB PSNR (41.38 -> 41.09; SSIM 0.9733 -> 0.9717), 0.39 dB at
	// 400 kbit/s and 0.34 dB at 1280x720 and 3 Mbit/s, still above libx264
	// ultrafast's 40.50 dB at the same rate (cmd/bench/encode -in -out).
	return openh264.NewReader(r, openh264.Config{Width: width, Height: height, FPS: fps, Bitrate: bitrate, NoDeblocking: true})
}

// videoCodecs lists the door's encoders in order of preference.
func videoCodecs() []videoCodec {
	return append([]videoCodec{h264}, moreVideoCodecs...)
}

// opusCapability is the audio codec of every call, both directions.
var opusCapability = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeOpus,
	ClockRate:   48000,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// Audio capture format: what the Opus encoder and the speaker use.
const (
	sampleRate   = 48000
	audioChannel = 1 // mono: one microphone, one speaker
	opusBitrate  = 32000
)

func buildOpus(r audio.Reader) (codec.ReadCloser, error) {
	p, err := opus.NewParams()
	if err != nil {
		return nil, err
	}
	p.BitRate = opusBitrate
	p.Latency = opus.Latency20ms
	return p.BuildAudioEncoder(r, prop.Media{Audio: prop.Audio{
		SampleRate: sampleRate, ChannelCount: audioChannel,
	}})
}
