package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxBody bounds a subscribe request; a real one is under 1 KB.
const maxBody = 8 << 10

// Handler is the API the client turns notifications on with. Mount it at
// /api/push and /api/push/ behind the login:
//
//	GET    /api/push[?resident=NAME]  {"publicKey", "devices": [...], "residents": [names with a device]}
//	POST   /api/push/devices          subscribe (see subscribeRequest)
//	DELETE /api/push/devices/ID       unsubscribe a device
//	POST   /api/push/devices/ID/test  send it a test notification
//
// Devices are listed without their endpoint and keys.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/push", s.serveList)
	mux.HandleFunc("POST /api/push/devices", s.serveSubscribe)
	mux.HandleFunc("DELETE /api/push/devices/{id}", s.serveRemove)
	mux.HandleFunc("POST /api/push/devices/{id}/test", s.serveTest)
	return noStore(mux)
}

// DeclineHandler is POST /api/push/decline {"token": "..."}: a
// notification's Decline button, from the service worker. Mount it outside
// the login: the token is the authority, good for declining one ring on
// one device's behalf and for nothing else.
func (s *Service) DeclineHandler() http.Handler {
	return noStore(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "POST the decline token")
			return
		}
		token, err := decodeDecline(http.MaxBytesReader(w, r.Body, 1<<10))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := s.Decline(token); err != nil {
			writeError(w, http.StatusGone, "this ring is over")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// deviceView is a device as the API shows it.
type deviceView struct {
	ID       string    `json:"id"`
	Resident string    `json:"resident"`
	Label    string    `json:"label,omitempty"`
	Service  string    `json:"service"` // the push service's host
	Added    time.Time `json:"added"`
	Quiet    *Quiet    `json:"quiet,omitempty"`
}

func (s *Service) serveList(w http.ResponseWriter, r *http.Request) {
	views := []deviceView{}
	for _, d := range s.store.list(r.URL.Query().Get("resident")) {
		views = append(views, deviceView{ID: d.ID, Resident: d.Resident, Label: d.Label, Service: serviceHost(d.Endpoint), Added: d.Added, Quiet: d.Quiet})
	}
	// Who can be called with the app closed: every resident with a device.
	residents := []string{}
	for _, d := range s.store.list("") {
		if !slices.Contains(residents, d.Resident) {
			residents = append(residents, d.Resident)
		}
	}
	slices.Sort(residents)
	writeJSON(w, http.StatusOK, map[string]any{"publicKey": s.keys.public, "devices": views, "residents": residents})
}

// subscribeRequest is what the client posts: the resident's name, the
// browser's PushSubscription.toJSON(), a label to tell devices apart and
// optional quiet hours.
type subscribeRequest struct {
	Resident     string `json:"resident"`
	Label        string `json:"label"`
	Subscription struct {
		Endpoint       string   `json:"endpoint"`
		ExpirationTime *float64 `json:"expirationTime"`
		Keys           struct {
			P256dh string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	} `json:"subscription"`
	Quiet *Quiet `json:"quiet"`
}

// decodeSubscribe reads and checks a subscribe request; the error says
// what is wrong in words the resident can act on.
func decodeSubscribe(body io.Reader, allowLocal bool) (Device, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req subscribeRequest
	if err := dec.Decode(&req); err != nil {
		return Device{}, fmt.Errorf("subscribe: %w", err)
	}
	if dec.More() {
		return Device{}, errors.New("subscribe: one JSON object, please")
	}
	d := Device{
		Resident: strings.TrimSpace(req.Resident),
		Label:    strings.TrimSpace(req.Label),
		Endpoint: req.Subscription.Endpoint,
		P256dh:   req.Subscription.Keys.P256dh,
		Auth:     req.Subscription.Keys.Auth,
		Quiet:    req.Quiet,
	}
	if len([]rune(d.Label)) > 64 {
		d.Label = string([]rune(d.Label)[:64])
	}
	if err := d.check(); err != nil {
		return Device{}, fmt.Errorf("subscribe: %w", err)
	}
	if !allowLocal {
		if err := checkLocal(d.Endpoint); err != nil {
			return Device{}, fmt.Errorf("subscribe: %w", err)
		}
	}
	return d, nil
}

func (s *Service) serveSubscribe(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send the subscription as application/json")
		return
	}
	d, err := decodeSubscribe(http.MaxBytesReader(w, r.Body, maxBody), s.cfg.AllowLocal)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d.Added = s.cfg.Now().UTC().Truncate(time.Second)
	d, err = s.store.add(d)
	if err != nil {
		s.log.Error("subscribe", "resident", d.Resident, "err", err)
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	s.log.Info("device subscribed", "device", d.ID, "resident", d.Resident, "label", d.Label, "service", serviceHost(d.Endpoint))
	writeJSON(w, http.StatusCreated, map[string]string{"id": d.ID})
}

func (s *Service) serveRemove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	switch err := s.store.remove(id); {
	case errors.Is(err, ErrUnknownDevice):
		writeError(w, http.StatusNotFound, "no such device")
	case err != nil:
		s.log.Error("unsubscribe", "device", id, "err", err)
		writeError(w, http.StatusInternalServerError, "could not save the change")
	default:
		s.log.Info("device unsubscribed by a resident", "device", id)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Service) serveTest(w http.ResponseWriter, r *http.Request) {
	if err := s.Test(r.PathValue("id")); err != nil {
		writeError(w, http.StatusNotFound, "no such device")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// decodeDecline reads a decline request: {"token": "..."}, the token as
// Ring made it (crypto/rand.Text: 26 characters of base32).
func decodeDecline(body io.Reader) (string, error) {
	var req struct {
		Token string `json:"token"`
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", fmt.Errorf(`decline: send {"token": "..."} from the notification: %w`, err)
	}
	if dec.More() {
		return "", errors.New("decline: one JSON object, please")
	}
	if len(req.Token) != 26 || strings.Trim(req.Token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		return "", errors.New("decline: that is not a decline token")
	}
	return req.Token, nil
}
