package web

import (
	"encoding/json"
	"net/http"
)

// healthz answers {"version", "users", ...Status()} as JSON. The core fields
// win over Status fields of the same name.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{}
	if s.cfg.Status != nil {
		for k, v := range s.cfg.Status() {
			out[k] = v
		}
	}
	out["version"] = s.cfg.Version
	out["users"] = s.hub.Users()
	b, err := json.Marshal(out)
	if err != nil {
		s.log.Error("healthz", "err", err)
		http.Error(w, "healthz: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}
