package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intercomd/intercomd/lograte"
)

// refuseLogin answers a login or setup in safe mode and returns true.
func (g *Guard) refuseLogin(w http.ResponseWriter) bool {
	p := g.problem()
	if p == nil {
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{
		"error": p.What + " Login is off until it is fixed: on the intercom, run " + p.Fix,
	})
	return true
}

// loginForm is a login or setup request, as JSON or as a form.
type loginForm struct {
	Password string `json:"password"`
	// Code is the one-time setup code (setup only, off loopback).
	Code string `json:"code"`
}

var errLoginBody = errors.New("send the password as JSON {\"password\": ...} or as a form")

// parseLogin decodes a login or setup request body of the given Content-Type.
func parseLogin(contentType string, body []byte) (loginForm, error) {
	var f loginForm
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return f, errLoginBody
	}
	switch mt {
	case "application/json":
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return loginForm{}, fmt.Errorf("login request: %w", err)
		}
		if dec.More() {
			return loginForm{}, errors.New("login request: more than one JSON value")
		}
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return loginForm{}, fmt.Errorf("login request: %w", err)
		}
		f.Password, f.Code = q.Get("password"), q.Get("code")
	default:
		return f, errLoginBody
	}
	switch {
	case f.Password == "":
		return loginForm{}, errors.New("enter the password")
	case len(f.Password) > maxPasswordBytes:
		return loginForm{}, fmt.Errorf("the password is longer than %d bytes", maxPasswordBytes)
	case len(f.Code) > 64:
		return loginForm{}, errors.New("the setup code is too long")
	}
	return f, nil
}

// login is one login or setup attempt on its way to the hash.
type login struct {
	form   loginForm
	client Client
	device string // trusted-device id; "" for a stranger
}

// readLogin enforces POST, the attempt budgets and the body format; it
// answers the request itself and returns false when any of them fails.
func (g *Guard) readLogin(w http.ResponseWriter, r *http.Request) (login, bool) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return login{}, false
	}
	l := login{client: ClientOf(r.RemoteAddr)}
	l.device, _ = g.devices.fromRequest(r, g.secure)
	if wait, who := g.spendAttempt(l); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		g.log.Debug("login attempt refused: too many", "client", l.client.Addr, "from", who)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"error": fmt.Sprintf("Too many attempts from your %s: wait %d seconds and try again.", who, secs),
		})
		return login{}, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "request too large"})
		return login{}, false
	case err != nil: // a body that stopped coming (the server's deadline)
		writeJSON(w, http.StatusRequestTimeout, map[string]any{"error": "the request did not arrive in time"})
		return login{}, false
	}
	l.form, err = parseLogin(r.Header.Get("Content-Type"), body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return login{}, false
	}
	return l, true
}

// spendAttempt spends one attempt of l's budgets, or refuses it and says
// how long to wait and whose budget ran out. A trusted device has only its
// own budget; a stranger spends its address's and, on IPv6, its /64's.
func (g *Guard) spendAttempt(l login) (wait time.Duration, who string) {
	g.limMu.Lock()
	defer g.limMu.Unlock()
	if l.device != "" {
		if wait := g.perDevice.wait(l.device); wait > 0 {
			return wait, "device"
		}
		g.perDevice.add(l.device)
		return 0, ""
	}
	addr, network := l.client.Addr.String(), l.client.Net.String()
	if wait := g.perAddr.wait(addr); wait > 0 {
		return wait, "address"
	}
	if l.client.IsIPv6Net() {
		if wait := g.perNet.wait(network); wait > 0 {
			return wait, "network (IPv6 /64)"
		}
		g.perNet.add(network)
	}
	g.perAddr.add(addr)
	return 0, ""
}

// hashSlot waits for the one argon2id slot: trusted devices (and the Pi
// itself) first, strangers in a short line. When the line is full it
// answers 503 at once and returns false.
func (g *Guard) hashSlot(w http.ResponseWriter, r *http.Request, l login) (release func(), ok bool) {
	release, ok = g.hashes.acquire(r.Context(), l.device != "" || l.client.Loopback)
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"error": "Busy checking other logins: try again in a moment.",
		})
	}
	return release, ok
}

func (g *Guard) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && g.refuseLogin(w) {
		return
	}
	l, ok := g.readLogin(w, r)
	if !ok {
		return
	}
	if g.pw.current() == "" {
		writeJSON(w, http.StatusConflict, map[string]any{"error": "No password is set yet: set one first.", "setup": true})
		return
	}
	release, ok := g.hashSlot(w, r, l)
	if !ok {
		return
	}
	ok, version := g.pw.check(l.form.Password)
	release()
	if !ok {
		g.log.Info("login failed: wrong password", "client", l.client.Addr, "trusted_device", l.device != "")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Wrong password."})
		return
	}
	g.startSession(w, r, version, l.client)
}

func (g *Guard) serveSetup(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && g.refuseLogin(w) {
		return
	}
	l, ok := g.readLogin(w, r)
	if !ok {
		return
	}
	f := l.form
	if g.pw.current() != "" {
		writeJSON(w, http.StatusConflict, map[string]any{"error": "A password is already set: log in with it."})
		return
	}
	if !loopbackRequest(r) {
		// A password that breaks the rules does not spend the code.
		if err := checkNewPassword(f.Password); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "The " + err.Error() + "."})
			return
		}
		switch {
		case g.liveSetupCode() == "":
			writeJSON(w, http.StatusForbidden, map[string]any{"error": "Setting the password from another device needs a setup code: restart intercomd to print a new one, or run intercomd set-password on it."})
			return
		case !g.takeSetupCode(f.Code):
			g.log.Info("password setup refused: wrong setup code", "client", l.client.Addr)
			writeJSON(w, http.StatusForbidden, map[string]any{"error": "Wrong setup code: it is in intercomd's log (journalctl -u intercomd)."})
			return
		}
	}
	release, ok := g.hashSlot(w, r, l)
	if !ok {
		return
	}
	version, err := g.pw.setFirst(f.Password)
	release()
	switch {
	case errors.Is(err, ErrBadPassword):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "The " + err.Error() + "."})
		return
	case errors.Is(err, errPasswordSet):
		writeJSON(w, http.StatusConflict, map[string]any{"error": "A password is already set: log in with it."})
		return
	case err != nil:
		g.log.Error("set password", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Could not save the password: see intercomd's log."})
		return
	}
	g.liveSetupCode() // a password from the Pi's own page ends the code too
	g.log.Info("resident password set from the page", "client", l.client.Addr, lograte.Security())
	g.startSession(w, r, version, l.client)
}

// startSession logs the browser in and marks it a trusted device.
func (g *Guard) startSession(w http.ResponseWriter, r *http.Request, version string, client Client) {
	t, _, err := g.sess.create(version)
	if err != nil {
		g.log.Error("start session", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Could not start a session: see intercomd's log."})
		return
	}
	http.SetCookie(w, sessionCookie(t, sessionTTL, g.secure))
	if _, known := g.devices.fromRequest(r, g.secure); !known {
		g.setDeviceCookie(w)
	}
	g.log.Info("login", "client", client.Addr, lograte.Security())
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (g *Guard) serveLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	for _, t := range requestTokens(r, g.secure) {
		if err := g.sess.remove(t); err != nil {
			g.log.Error("logout", "err", err)
		}
	}
	http.SetCookie(w, sessionCookie(token{}, 0, g.secure))
	// Logging out forgets the device too (it may be someone else's).
	http.SetCookie(w, deviceCookie("", g.secure))
	w.WriteHeader(http.StatusNoContent)
}

// setDeviceCookie marks the browser as a trusted device.
func (g *Guard) setDeviceCookie(w http.ResponseWriter) {
	v, err := g.devices.issue()
	if err != nil {
		g.log.Error("trusted-device cookie", "err", err)
		return
	}
	http.SetCookie(w, deviceCookie(v, g.secure))
}
