package web

import (
	"encoding/json"
	"net/http"

	"github.com/intercomd/intercomd/health"
)

// healthz answers the health.Report of Status, with the server's own
// version and user count.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	var out health.Report
	if s.cfg.Status != nil {
		out = s.cfg.Status()
	}
	out.Version = s.cfg.Version
	out.Users = s.hub.Users()
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
