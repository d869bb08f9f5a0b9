package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzPress throws arbitrary bodies at the press endpoint: it must answer
// 204 (or 429 when presses pile up) for exactly a known button and a clear
// 400 or 413 for everything else,
// and never press a button it refused.
func FuzzPress(f *testing.F) {
	for _, s := range []string{
		`{"button":"call"}`, `{"button":"hangup"}`, `{"button":"x"}`, `{"button":null}`, `{}`, `null`, `[]`,
		`{"button":"call"} `, `{"button":"call"}x`, `{"button":"\u0063all"}`, `{"BUTTON":"call"}`,
		`{"button":"call","button":"answer"}`, `{"button":3}`, `{"button":"call",}`, `"call"`, "\xff", ``,
	} {
		f.Add([]byte(s))
	}
	p, err := New(door(), nil)
	if err != nil {
		f.Fatal(err)
	}
	stop := start(p)
	f.Cleanup(func() { stop() })
	f.Fuzz(func(t *testing.T, body []byte) {
		name, derr := decodePress(bytes.NewReader(body))
		if derr == nil {
			// Accepted: one JSON object whose only key is "button", a
			// string, decoded as encoding/json reads it.
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil || len(m) != 1 {
				t.Fatalf("decodePress(%q) = %q, but it is no JSON object with one key: %v", body, name, err)
			}
			var again string
			if err := json.Unmarshal(m["button"], &again); err != nil || again != name {
				t.Fatalf("decodePress(%q) = %q, json.Unmarshal says %q (%v)", body, name, again, err)
			}
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/api/panel/press", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		p.ServeHTTP(rec, req)
		known := derr == nil && p.button(name) != nil
		switch rec.Code {
		case http.StatusNoContent:
			if !known || len(body) > maxPressBody {
				t.Fatalf("POST %q: 204, but decodePress = %q, %v", body, name, derr)
			}
		case http.StatusTooManyRequests:
			if !known {
				t.Fatalf("POST %q: 429 for no known button", body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if known && len(body) <= maxPressBody {
				t.Fatalf("POST %q: %d for known button %q", body, rec.Code, name)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("POST %q: %d with body %q, want {\"error\": reason}", body, rec.Code, rec.Body)
			}
		default:
			t.Fatalf("POST %q: status %d", body, rec.Code)
		}
	})
}
