package web

import (
	"net/http"

	"github.com/gorilla/websocket"
)

// serveRoot is "/": a WebSocket upgrade goes to the hub (the seed's client
// connects to the root path), anything else is the embedded client.
func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	if websocket.IsWebSocketUpgrade(r) {
		s.serveWebSocket(w, r)
		return
	}
	s.static.ServeHTTP(w, r)
}

// serveWebSocket upgrades the request and gives the socket to the hub for as
// long as the client stays. The Origin was checked by the handler chain and
// is checked again by the upgrader.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered and called upgradeError
	}
	s.conns.Add(1)
	defer s.conns.Done()
	defer c.Close()
	s.hub.ServeConn(r.Context(), c)
}

// upgradeError answers a failed upgrade in plain words.
func (s *Server) upgradeError(w http.ResponseWriter, r *http.Request, status int, reason error) {
	s.log.Debug("websocket upgrade refused", "remote", r.RemoteAddr, "status", status, "err", reason)
	http.Error(w, reason.Error(), status)
}
