package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intercomd/intercomd/media/aec"
)

func TestLoadConfig(t *testing.T) {
	file := func(body string) string {
		p := filepath.Join(t.TempDir(), "intercomd.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		args    []string
		check   func(config) bool
		wantErr string
	}{
		{"defaults", nil, func(c config) bool {
			return c.Listen == "localhost:8080" && c.Name == "door" && c.Answer == "auto" && c.Camera == "auto" && c.RingTimeout == 30*time.Second
		}, ""},
		{"file", []string{"-config", file("name: gate\nanswer: button\nring_timeout: 10s\nring_group: [alice, bob]\n")}, func(c config) bool {
			return c.Name == "gate" && c.Answer == "button" && c.RingTimeout == 10*time.Second && len(c.RingGroup) == 2
		}, ""},
		{"flags win over the file", []string{"-config", file("name: gate\ncamera: /dev/video0\nlisten: ':443'\n"), "-name", "door2", "-listen", "127.0.0.1:9"}, func(c config) bool {
			return c.Name == "door2" && c.Listen == "127.0.0.1:9" && c.Camera == "/dev/video0"
		}, ""},
		{"lists from flags", []string{"-allow-origin", "http://a:1, http://b:2", "-advertise", "192.0.2.1", "-gpio", "none"}, func(c config) bool {
			return len(c.AllowOrigins) == 2 && c.AllowOrigins[1] == "http://b:2" && c.Advertise[0] == "192.0.2.1" && c.GPIO.Mode == "none"
		}, ""},
		{"display name from the name", []string{"-config", file("name: gate\n")}, func(c config) bool { return c.DisplayName == "Gate" }, ""},
		{"display name", []string{"-config", file("display_name: Front door\n")}, func(c config) bool { return c.Name == "door" && c.DisplayName == "Front door" }, ""},
		{"display name too long", []string{"-config", file("display_name: " + strings.Repeat("x", 41) + "\n")}, nil, "display_name"},
		{"unknown key", []string{"-config", file("answr: auto\n")}, nil, "field answr not found"},
		{"bad answer", []string{"-config", file("answer: maybe\n")}, nil, "answer must be auto or button"},
		{"media timeout", []string{"-config", file("media_timeout: 5s\n")}, func(c config) bool { return c.MediaTimeout == 5*time.Second }, ""},
		{"zero media timeout", []string{"-config", file("media_timeout: 0s\n")}, nil, "media_timeout must be positive"},
		{"bad duration", []string{"-config", file("ring_timeout: soon\n")}, nil, "line 1: cannot unmarshal !!str `soon`"},
		{"history limits", []string{"-config", file("history_days: 7\nhistory_max_mb: 200\n")}, func(c config) bool {
			return c.HistoryDays == 7 && c.HistoryMaxMB == 200
		}, ""},
		{"negative history", []string{"-config", file("history_days: -1\n")}, nil, "history_days and history_max_mb must not be negative"},
		{"missing file", []string{"-config", "/nonexistent/intercomd.yaml"}, nil, "read config"},
		{"bad size", []string{"-config", file("fps: 0\n")}, nil, "must be positive"},
		{"no-auth off loopback", []string{"-listen", ":8443", "-no-auth"}, nil, "-no-auth (no_auth) is refused on :8443"},
		{"no-auth on loopback", []string{"-listen", "[::1]:8080", "-no-auth"}, func(c config) bool { return c.NoAuth }, ""},
		{"mqtt off by default", nil, func(c config) bool { return !c.MQTT.Enabled && !c.MQTT.AllowOpenDoor }, ""},
		{"mqtt", []string{"-config", file("name: Front door\nmqtt:\n  enabled: true\n  broker: mqtts://ha.local\n  username: u\n  password: p\n")}, func(c config) bool {
			m := c.mqttClient()
			return c.MQTT.Enabled && m.Node == "Front_door" && m.Password == "p" && !m.AllowOpenDoor
		}, ""},
		{"mqtt without broker", []string{"-config", file("mqtt:\n  enabled: true\n")}, nil, "mqtt: broker is empty"},
		{"mqtt bad scheme", []string{"-config", file("mqtt:\n  enabled: true\n  broker: tcp://ha.local\n")}, nil, `broker scheme "tcp"`},
		{"mqtt unknown key", []string{"-config", file("mqtt:\n  allow_open: true\n")}, nil, "field allow_open not found"},
		{"voice defaults", nil, func(c config) bool {
			v := c.voice()
			return v.Mode == aec.On && v.Denoise && !v.AGC
		}, ""},
		{"voice from the file", []string{"-config", file("echo_cancel: half-duplex\nnoise_suppression: false\nauto_gain: on\n")}, func(c config) bool {
			v := c.voice()
			return v.Mode == aec.HalfDuplex && !v.Denoise && v.AGC
		}, ""},
		{"echo cancel off, yaml's off", []string{"-config", file("echo_cancel: off\n")}, func(c config) bool { return c.voice().Mode == aec.Off }, ""},
		{"echo cancel flag", []string{"-config", file("echo_cancel: off\n"), "-echo-cancel", "on", "-noise-suppression=false"}, func(c config) bool {
			return c.voice().Mode == aec.On && !c.NoiseSuppression
		}, ""},
		{"bad echo cancel", []string{"-config", file("echo_cancel: maybe\n")}, nil, `echo_cancel: unknown echo cancel mode "maybe"`},
		{"pin twice", []string{"-config", file("gpio:\n  relay:\n    pin: GPIO17\n")}, nil, "GPIO17 used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := loadConfig(fs, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("loadConfig(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig(%q) = %v", tt.args, err)
			}
			if !tt.check(c) {
				t.Fatalf("loadConfig(%q) = %+v, not as expected", tt.args, c)
			}
		})
	}
}

func TestWebURL(t *testing.T) {
	host, _ := os.Hostname()
	mdns := "https://" + host + ".local/"
	if strings.Contains(host, ".") {
		mdns = "https://" + host + "/"
	}
	for _, tc := range []struct {
		listen string
		https  bool
		want   string
	}{
		{"localhost:8080", false, "http://localhost:8080/"},
		{"192.0.2.5:443", true, "https://192.0.2.5/"},
		{"[2001:db8::1]:443", true, "https://[2001:db8::1]/"},
		{"[2001:db8::1]:8443", true, "https://[2001:db8::1]:8443/"},
		{":443", true, mdns},
		{"nonsense", true, ""},
	} {
		if got := webURL(tc.listen, tc.https); got != tc.want {
			t.Errorf("webURL(%q, %v) = %q, want %q", tc.listen, tc.https, got, tc.want)
		}
	}
}
