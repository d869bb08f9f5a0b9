package main

import (
	"errors"
	"net/http"
	"strings"
	"unicode"

	"github.com/intercomd/intercomd/auth"
	"github.com/intercomd/intercomd/device"
)

// doorOpener serves POST /api/door/open: a resident's session (the ringing
// screen's Open door; ?by=NAME says who, for the log and the history) or
// an API token of scope open (by "token NAME"). The login in front of it
// decides who may; this only pulses the relay.
func doorOpener(door *device.Controller) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		by := r.URL.Query().Get("by")
		if len(by) > 32 || strings.IndexFunc(by, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
			http.Error(w, "by: a name of at most 32 printable characters", http.StatusBadRequest)
			return
		}
		if name := auth.TokenName(r.Context()); name != "" {
			by = "token " + name
		} else if by == "" {
			by = "resident"
		}
		switch err := door.OpenDoor(by, "api"); {
		case errors.Is(err, device.ErrNoRelay):
			http.Error(w, err.Error(), http.StatusConflict)
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
}
