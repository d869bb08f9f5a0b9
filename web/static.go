package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// client is the browser client: plain files, no build step.
//
//go:embed static
var client embed.FS

// staticFiles serves the embedded client from memory with content ETags, so
// browsers revalidate cheaply and never run a stale client after an upgrade.
type staticFiles struct {
	files map[string]staticFile // by URL path, e.g. "/app.js"
}

type staticFile struct {
	body  []byte
	etag  string
	ctype string
}

// extraTypes covers extensions the platform's MIME table may lack.
var extraTypes = map[string]string{
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".html":        "text/html; charset=utf-8",
	".svg":         "image/svg+xml",
	".webmanifest": "application/manifest+json",
	".json":        "application/json",
}

func loadStatic() (*staticFiles, error) {
	root, err := fs.Sub(client, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	sf := &staticFiles{files: map[string]staticFile{}}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(p)
		ctype, ok := extraTypes[ext]
		if !ok {
			ctype = mime.TypeByExtension(ext)
		}
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		sf.files["/"+p] = staticFile{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	if _, ok := sf.files["/index.html"]; !ok {
		return nil, fmt.Errorf("web: static files: no index.html")
	}
	return sf, nil
}

// ServeHTTP serves "/" as index.html, "/name" as name.html when there is one
// (so "/panel" is panel.html), and every other file by its path.
func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := sf.lookup(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

func (sf *staticFiles) lookup(p string) (staticFile, bool) {
	switch {
	case p == "/":
		p = "/index.html"
	case strings.HasSuffix(p, "/"):
		return staticFile{}, false
	case path.Ext(p) == "":
		p += ".html"
	}
	f, ok := sf.files[p]
	return f, ok
}
