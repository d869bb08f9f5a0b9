package push

import (
	"strings"
	"testing"
)

// FuzzSubscribe: a subscribe request is untrusted input. Whatever it holds,
// decodeSubscribe returns a device that passes its own checks, or an error;
// it never panics.
func FuzzSubscribe(f *testing.F) {
	f.Add(`{"resident":"Ben","label":"phone","subscription":{"endpoint":"https://push.example.org/x","expirationTime":null,"keys":{"p256dh":"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4","auth":"BTBZMqHH6r4Tts7J_aSIgg"}}}`)
	f.Add(`{"resident":"Ann","subscription":{"endpoint":"https://push.example.org/y","keys":{"p256dh":"","auth":""}},"quiet":{"from":"22:00","to":"07:00","mode":"silent"}}`)
	f.Add(`{}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		d, err := decodeSubscribe(strings.NewReader(body), false)
		if err != nil {
			return
		}
		if err := d.check(); err != nil {
			t.Fatalf("decodeSubscribe(%q) accepted a device that fails its check: %v", body, err)
		}
		if err := checkLocal(d.Endpoint); err != nil {
			t.Fatalf("decodeSubscribe(%q) accepted a local endpoint: %v", body, err)
		}
	})
}

// FuzzDecline: the decline request comes from anyone (no login). Whatever
// it holds, decodeDecline returns a token of Ring's shape, or an error; it
// never panics.
func FuzzDecline(f *testing.F) {
	f.Add(`{"token":"3SVZQUBKEWVCVMZB3UOD7GSF2W"}`)
	f.Add(`{"token":""}`)
	f.Add(`{"token":"3SVZQUBKEWVCVMZB3UOD7GSF2W","open":true}`)
	f.Add(`{"token":"3svzqubkewvcvmzb3uod7gsf2w"}{}`)
	f.Fuzz(func(t *testing.T, body string) {
		token, err := decodeDecline(strings.NewReader(body))
		if err != nil {
			return
		}
		if len(token) != 26 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("decodeDecline(%q) = %q, not a token Ring makes", body, token)
		}
	})
}
