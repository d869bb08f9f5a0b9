package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/intercomd/intercomd/gpio/panel"
	"github.com/intercomd/intercomd/media/aec"

	"github.com/intercomd/intercomd/web"
)

// config is everything a maker can set: the YAML file (-config) first, then
// flags on top. Durations are YAML strings such as "30s".
type config struct {
	Listen       string   `yaml:"listen"`
	AllowOrigins []string `yaml:"allow_origin"`
	NoAuth       bool     `yaml:"no_auth"`
	StateDir     string   `yaml:"state_dir"`
	TLSCert      string   `yaml:"tls_cert"`
	TLSKey       string   `yaml:"tls_key"`
	HTTPRedirect string   `yaml:"http_redirect"`
	HTTPS        bool     `yaml:"https"`
	LogLevel     string   `yaml:"log_level"`

	Name string `yaml:"name"`
	// DisplayName is how residents' pages write the door in words ("Front
	// door is busy."); empty: the name with a capital ("Door").
	DisplayName   string        `yaml:"display_name"`
	Answer        string        `yaml:"answer"`
	AnswerTimeout time.Duration `yaml:"answer_timeout"`
	RingGroup     []string      `yaml:"ring_group"`
	RingTimeout   time.Duration `yaml:"ring_timeout"`
	// MediaTimeout ends an accepted call whose media has not connected
	// by then (device.Config.MediaTimeout).
	MediaTimeout time.Duration `yaml:"media_timeout"`

	// Push turns Web Push notifications on (docs/PUSH.md); PushContact is
	// the mailto: or https: address push services may reach the maker at.
	Push           bool   `yaml:"push"`
	PushContact    string `yaml:"push_contact"`
	PushAllowLocal bool   `yaml:"push_allow_local"`

	HistoryDays  int `yaml:"history_days"`
	HistoryMaxMB int `yaml:"history_max_mb"`

	Camera  string `yaml:"camera"`
	Mic     string `yaml:"mic"`
	Speaker string `yaml:"speaker"`
	// EchoCancel is on, off or half-duplex (aec.ParseMode); on and
	// half-duplex apply where a real speaker plays aloud.
	EchoCancel       string `yaml:"echo_cancel"`
	NoiseSuppression bool   `yaml:"noise_suppression"`
	// AutoGain is off by default: it raises the canceller's residual echo
	// with a quiet voice (ERLE 33 -> 26.5 dB at 150 ms in make bench's echo
	// section).
	AutoGain     bool `yaml:"auto_gain"`
	Width        int  `yaml:"width"`
	Height       int  `yaml:"height"`
	FPS          int  `yaml:"fps"`
	VideoBitrate int  `yaml:"video_bitrate"`
	// The camera module's settings: media.Config's PicamEncoder, Rotation,
	// HFlip, VFlip and Exposure.
	CameraEncoder  string `yaml:"camera_encoder"`
	CameraRotation int    `yaml:"camera_rotation"`
	CameraHFlip    bool   `yaml:"camera_hflip"`
	CameraVFlip    bool   `yaml:"camera_vflip"`
	CameraExposure string `yaml:"camera_exposure"`
	// KeyFrameInterval is media.Config.KeyFrameInterval (0: its default).
	KeyFrameInterval time.Duration `yaml:"key_frame_interval"`
	MediaPort        int           `yaml:"media_port"`
	Advertise        []string      `yaml:"advertise"`
	// MediaLocalPeers lets a resident on this very machine connect (media.Config.LocalPeers).
	MediaLocalPeers bool     `yaml:"media_local_peers"`
	ICEServers      []string `yaml:"ice_servers"`

	GPIO panel.Config `yaml:"gpio"`
	MQTT mqttConfig   `yaml:"mqtt"`
}

// defaults are what a laptop gets with no config file: loopback only, test
// devices where real ones are missing, a simulated panel.
func defaults() config {
	return config{
		Listen:           web.DefaultListen,
		StateDir:         "/var/lib/intercomd",
		LogLevel:         "info",
		Name:             "door",
		Answer:           "auto",
		AnswerTimeout:    30 * time.Second,
		RingTimeout:      30 * time.Second,
		MediaTimeout:     30 * time.Second,
		HistoryDays:      90,
		HistoryMaxMB:     1024,
		Camera:           "auto",
		Mic:              "auto",
		Speaker:          "auto",
		EchoCancel:       "on",
		NoiseSuppression: true,
		Width:            640,
		Height:           480,
		FPS:              30,
		GPIO:             panel.Default(),
	}
}

// loadConfig reads the file named by -config (if any) over the defaults, then
// applies the flags that were set on the command line.
func loadConfig(fs *flag.FlagSet, args []string) (config, error) {
	cfg := defaults()
	var (
		file    string
		origins string
		adv     string
		gpio    string
	)
	fs.StringVar(&file, "config", "", "YAML config `file` (flags override it)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "listen `address` (host:port)")
	fs.StringVar(&origins, "allow-origin", "", "comma-separated extra allowed Origins")
	fs.BoolVar(&cfg.NoAuth, "no-auth", false, "turn login off (loopback listen addresses only)")
	fs.StringVar(&cfg.StateDir, "state-dir", cfg.StateDir, "`dir` for the certificate and password")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.Name, "name", cfg.Name, "the door's user `name` on the hub")
	fs.StringVar(&cfg.Camera, "camera", cfg.Camera, "auto, picam (camera module), test, clock, none or a V4L2 `device`")
	fs.StringVar(&cfg.Mic, "mic", cfg.Mic, "auto, test, none or an ALSA `device`")
	fs.StringVar(&cfg.Speaker, "speaker", cfg.Speaker, "auto, none or an ALSA `device`")
	fs.StringVar(&cfg.EchoCancel, "echo-cancel", cfg.EchoCancel, "on, off or half-duplex: keep the speaker out of the microphone")
	fs.BoolVar(&cfg.NoiseSuppression, "noise-suppression", cfg.NoiseSuppression, "suppress steady background noise in the microphone")
	fs.IntVar(&cfg.MediaPort, "media-port", 0, "single UDP `port` for all WebRTC media (0: any)")
	fs.StringVar(&adv, "advertise", "", "comma-separated `addresses` to advertise for media")
	fs.BoolVar(&cfg.MediaLocalPeers, "media-local-peers", false, "accept media from a resident on this machine (tests only)")
	fs.StringVar(&gpio, "gpio", "", "auto, sim, real or none")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if file != "" {
		fromFile := defaults()
		if err := readConfigFile(file, &fromFile); err != nil {
			return cfg, err
		}
		// Flags win: copy back every flag that was given.
		flagged := cfg
		cfg = fromFile
		fs.Visit(func(f *flag.Flag) { applyFlag(&cfg, &flagged, f.Name) })
	}
	if set["allow-origin"] {
		cfg.AllowOrigins = splitList(origins)
	}
	if set["advertise"] {
		cfg.Advertise = splitList(adv)
	}
	if set["gpio"] {
		cfg.GPIO.Mode = gpio
	}
	if cfg.DisplayName == "" {
		r, n := utf8.DecodeRuneInString(cfg.Name)
		cfg.DisplayName = string(unicode.ToUpper(r)) + cfg.Name[n:]
	}
	return cfg, cfg.validate()
}

// applyFlag copies the field behind flag name from src to dst.
func applyFlag(dst, src *config, name string) {
	switch name {
	case "listen":
		dst.Listen = src.Listen
	case "no-auth":
		dst.NoAuth = src.NoAuth
	case "state-dir":
		dst.StateDir = src.StateDir
	case "log-level":
		dst.LogLevel = src.LogLevel
	case "name":
		dst.Name = src.Name
	case "camera":
		dst.Camera = src.Camera
	case "mic":
		dst.Mic = src.Mic
	case "speaker":
		dst.Speaker = src.Speaker
	case "echo-cancel":
		dst.EchoCancel = src.EchoCancel
	case "noise-suppression":
		dst.NoiseSuppression = src.NoiseSuppression
	case "media-port":
		dst.MediaPort = src.MediaPort
	case "media-local-peers":
		dst.MediaLocalPeers = src.MediaLocalPeers
	}
}

func readConfigFile(path string, cfg *config) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// voice is the microphone's cleaning as media takes it; validate has
// checked the mode.
func (c config) voice() aec.Config {
	mode, _ := aec.ParseMode(c.EchoCancel)
	return aec.Config{Mode: mode, Denoise: c.NoiseSuppression, AGC: c.AutoGain}
}

// validate catches mistakes a maker can make in the file, with the key named.
func (c config) validate() error {
	switch c.Answer {
	case "auto", "button":
	default:
		return fmt.Errorf("config: answer must be auto or button, not %q", c.Answer)
	}
	if c.NoAuth && !web.LoopbackOnly(c.Listen) {
		return fmt.Errorf("config: -no-auth (no_auth) is refused on %s: without login anyone on the network could watch the door; listen on localhost or set a password (intercomd set-password)", c.Listen)
	}
	if c.Name == "" {
		return errors.New("config: name must not be empty")
	}
	if n := utf8.RuneCountInString(c.DisplayName); n > 40 || strings.ContainsFunc(c.DisplayName, unicode.IsControl) {
		return fmt.Errorf("config: display_name %q: at most 40 characters, no control characters", c.DisplayName)
	}
	if c.Width <= 0 || c.Height <= 0 || c.FPS <= 0 {
		return fmt.Errorf("config: width, height and fps must be positive (got %dx%d@%d)", c.Width, c.Height, c.FPS)
	}
	if _, err := aec.ParseMode(c.EchoCancel); err != nil {
		return fmt.Errorf("config: echo_cancel: %w", err)
	}
	if c.MediaPort < 0 || c.MediaPort > 65535 {
		return fmt.Errorf("config: media_port %d out of range", c.MediaPort)
	}
	if c.Push && strings.TrimSpace(c.PushContact) == "" {
		return errors.New("config: push is on but push_contact is empty: set it to a mailto: or https: address push services can reach you at (RFC 8292), e.g. push_contact: mailto:you@example.org")
	}
	if c.RingTimeout <= 0 || c.AnswerTimeout <= 0 || c.MediaTimeout <= 0 {
		return errors.New("config: ring_timeout, answer_timeout and media_timeout must be positive")
	}
	if err := c.MQTT.validate(c); err != nil {
		return err
	}
	if c.HistoryDays < 0 || c.HistoryMaxMB < 0 {
		return errors.New("config: history_days and history_max_mb must not be negative (0 turns the history off)")
	}
	return c.GPIO.Validate()
}
