package web

import (
	"net/http"

	"github.com/intercomd/intercomd/certs"
)

// serveCA offers intercomd's certificate authority for phones to trust
// (the login page links here; these paths need no session). Only the
// certificate is served; its key never leaves the state directory.
func serveCA(mux *http.ServeMux, ca *certs.CA) {
	file := func(ctype, name string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(body)
		}
	}
	// Android and Windows install the DER .crt; Linux and Firefox take PEM;
	// iOS and iPadOS install a configuration profile.
	mux.HandleFunc("GET /ca.crt", file("application/x-x509-ca-cert", "intercomd-ca.crt", ca.DER()))
	mux.HandleFunc("GET /ca.pem", file("application/x-pem-file", "intercomd-ca.pem", ca.PEM()))
	mux.HandleFunc("GET /intercomd.mobileconfig", file("application/x-apple-aspen-config", "intercomd.mobileconfig", ca.MobileConfig()))
}
