package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/intercomd/intercomd/history/param"
)

// DefaultPage is how many entries GET /api/events returns without limit.
const DefaultPage = param.DefaultPage

// Handler serves the history and the door's current picture over HTTP
// (docs/API.md). It does no authentication: mount it behind the server's
// login. cam may be nil (then /api/snapshot.jpg is 503).
type Handler struct {
	store *Store
	cam   Camera
	log   *slog.Logger
	mux   *http.ServeMux
}

// NewHandler serves store (may be nil: the history is off) and cam.
func NewHandler(store *Store, cam Camera, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{store: store, cam: cam, log: log.With("component", "history"), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /api/snapshot.jpg", h.snapshot)
	h.mux.HandleFunc("GET /api/events", h.list)
	h.mux.HandleFunc("DELETE /api/events", h.clear)
	h.mux.HandleFunc("POST /api/events/seen", h.seen)
	h.mux.HandleFunc("GET /api/events/{id}", h.get)
	h.mux.HandleFunc("DELETE /api/events/{id}", h.delete)
	h.mux.HandleFunc("GET /api/events/{id}/picture.jpg", h.picture)
	h.mux.HandleFunc("GET /api/events/{id}/thumb.jpg", h.picture)
	return h
}

// Patterns are where to mount the handler.
func (h *Handler) Patterns() []string {
	return []string{"/api/snapshot.jpg", "/api/events", "/api/events/"}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Page is what GET /api/events answers.
type Page struct {
	Events []Entry `json:"events"`
	// Next is the before= of the next (older) page; 0 at the end.
	Next int64 `json:"next,omitempty"`
	// Unseen counts missed rings not marked seen.
	Unseen int `json:"unseen"`
}

// ErrBadParam is a query parameter or id out of range.
var ErrBadParam = param.ErrBad

func (h *Handler) snapshot(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		http.Error(w, "no parameters taken", http.StatusBadRequest)
		return
	}
	if h.cam == nil {
		http.Error(w, "no camera", http.StatusServiceUnavailable)
		return
	}
	full, _, err := h.cam.Snapshot()
	if err != nil {
		h.log.Warn("snapshot failed", "err", err)
		http.Error(w, "no picture from the camera", http.StatusServiceUnavailable)
		return
	}
	jpeg(w, full)
}

func jpeg(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// ready answers 503 when there is no history.
func (h *Handler) ready(w http.ResponseWriter) bool {
	if h.store == nil {
		http.Error(w, "the visitor history is off", http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	before, limit, err := param.Page(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !h.ready(w) {
		return
	}
	events, err := h.store.List(before, limit+1)
	if err != nil {
		h.fail(w, "list", err)
		return
	}
	p := Page{Events: events}
	if len(events) > limit {
		p.Events = events[:limit]
		p.Next = events[limit-1].ID
	}
	if p.Events == nil {
		p.Events = []Entry{}
	}
	if p.Unseen, err = h.store.Unseen(); err != nil {
		h.fail(w, "unseen", err)
		return
	}
	writeJSON(w, p)
}

func (h *Handler) id(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := param.ID(r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return 0, false
	}
	return id, h.ready(w)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	e, err := h.store.Get(id)
	if err != nil {
		h.fail(w, "get", err)
		return
	}
	writeJSON(w, e)
}

func (h *Handler) picture(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	thumb := r.URL.Path[len(r.URL.Path)-len("thumb.jpg"):] == "thumb.jpg"
	b, err := h.store.Picture(id, thumb)
	if err != nil {
		h.fail(w, "picture", err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400") // a stored picture never changes
	w.Write(b)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	if err := h.store.Delete(id); err != nil {
		h.fail(w, "delete", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) clear(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		http.Error(w, "no parameters taken", http.StatusBadRequest)
		return
	}
	if !h.ready(w) {
		return
	}
	if err := h.store.Clear(); err != nil {
		h.fail(w, "clear", err)
		return
	}
	h.log.Info("history cleared")
	w.WriteHeader(http.StatusNoContent)
}

// seen marks missed rings up to ?upto=ID (absent: all) as seen.
func (h *Handler) seen(w http.ResponseWriter, r *http.Request) {
	var upTo int64
	q := r.URL.Query()
	for k := range q {
		if k != "upto" {
			http.Error(w, fmt.Sprintf("unknown parameter %q", k), http.StatusBadRequest)
			return
		}
	}
	if q.Has("upto") {
		var err error
		if upTo, err = param.ID(q.Get("upto")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	if !h.ready(w) {
		return
	}
	if err := h.store.MarkSeen(upTo); err != nil {
		h.fail(w, "seen", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) fail(w http.ResponseWriter, op string, err error) {
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	h.log.Error("history "+op+" failed", "err", err)
	http.Error(w, "history unavailable", http.StatusInternalServerError)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
