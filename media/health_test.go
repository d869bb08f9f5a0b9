package media

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestReadHealth(t *testing.T) {
	var logs bytes.Buffer
	var got []error
	h := readHealth{what: "camera", log: slog.New(slog.NewTextHandler(&logs, nil)), onErr: func(err error) { got = append(got, err) }}
	h.ok() // a device that never failed says nothing
	gone := errors.New("no such device")
	h.failed(gone)
	h.failed(gone)
	h.failed(errors.New("again"))
	h.ok()
	h.ok()
	if len(got) != 2 || !errors.Is(got[0], gone) || got[0].Error() != "camera: no such device" || got[1] != nil {
		t.Fatalf("onErr got %v, want [camera: no such device <nil>]", got)
	}
	if n := strings.Count(logs.String(), "camera read failed"); n != 1 {
		t.Errorf("%d \"camera read failed\" lines, want 1:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "camera works again"); n != 1 {
		t.Errorf("%d \"camera works again\" lines, want 1:\n%s", n, logs.String())
	}
}
