// Package pushtest is a Web Push service of the tests' own, on loopback,
// that does what a real one does to a request: it checks the VAPID token
// (RFC 8292: ES256 signature, aud, exp, sub) against the application
// server's key, decrypts the aes128gcm payload (RFC 8188, RFC 8291) with
// the subscription's private keys, keeps messages by Topic and TTL, and can
// be told to answer 404, 410, 429, 5xx or to hang.
//
// The decryption is written here from the RFCs on the standard library, so
// the sender (a library) is checked by an independent receiver.
package pushtest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the push service. Make it with New; it stops with the test.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex // guards the fields below
	serverKey string     // expected VAPID public key (base64url); "" takes any
	subs      map[string]*Sub
	errs      []error
	changed   chan struct{} // closed and replaced on every change
	quit      chan struct{} // closed when the test ends: hung requests return
}

// Sub is one subscription: what a browser would hand its page.
type Sub struct {
	ID       string
	Endpoint string
	P256dh   string // base64url of the public key
	Auth     string // base64url of the auth secret

	key  *ecdh.PrivateKey
	auth []byte

	// Guarded by the server's mu.
	answer  int  // status to answer; 0: 201
	hang    bool // never answer
	inbox   []Push
	expired int
}

// Push is one message the service accepted.
type Push struct {
	Plain    []byte // the decrypted payload, padding removed
	Size     int    // the request body's size in bytes
	TTL      int
	Urgency  string
	Topic    string
	Received time.Time
	expires  time.Time
}

// New starts the service on loopback with a TLS certificate of its own;
// TLS is the client config that trusts it.
func New(t testing.TB) *Server {
	s := &Server{t: t, subs: map[string]*Sub{}, changed: make(chan struct{}), quit: make(chan struct{})}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(s.quit) }) // runs first
	return s
}

// TLS trusts the service's certificate.
func (s *Server) TLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

// Certificate is the service's TLS certificate (self-signed).
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// ExpectKey makes the service refuse tokens not signed by this VAPID key,
// as a real service refuses a subscription made for another server.
func (s *Server) ExpectKey(publicKey string) {
	s.mu.Lock()
	s.serverKey = publicKey
	s.mu.Unlock()
}

// Subscribe makes a subscription, as a browser's pushManager.subscribe does.
func (s *Server) Subscribe() *Sub {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	id := make([]byte, 12)
	rand.Read(id)
	sub := &Sub{
		ID:     base64.RawURLEncoding.EncodeToString(id),
		key:    key,
		auth:   auth,
		P256dh: base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(auth),
	}
	sub.Endpoint = s.srv.URL + "/wpush/" + sub.ID
	s.mu.Lock()
	s.subs[sub.ID] = sub
	s.mu.Unlock()
	return sub
}

// JSON is the subscription as PushSubscription.toJSON() gives it.
func (sub *Sub) JSON() map[string]any {
	return map[string]any{
		"endpoint":       sub.Endpoint,
		"expirationTime": nil,
		"keys":           map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth},
	}
}

// Answer makes the service answer sub's requests with status (404, 410,
// 429, 500...); 0 goes back to accepting them.
func (s *Server) Answer(sub *Sub, status int) {
	s.mu.Lock()
	sub.answer = status
	s.mu.Unlock()
}

// Hang makes the service never answer sub's requests (until the client
// gives up or the test ends).
func (s *Server) Hang(sub *Sub) {
	s.mu.Lock()
	sub.hang = true
	s.mu.Unlock()
}

// Errs is every request the service refused for breaking the protocol.
func (s *Server) Errs() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// Inbox is what waits for sub now: by Topic the newest only, expired
// messages gone.
func (s *Server) Inbox(sub *Sub) []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(sub)
	return append([]Push(nil), sub.inbox...)
}

// Next waits for a message for sub and takes it (delivers it).
func (s *Server) Next(ctx context.Context, sub *Sub) (Push, error) {
	for {
		s.mu.Lock()
		s.expire(sub)
		if len(sub.inbox) > 0 {
			p := sub.inbox[0]
			sub.inbox = sub.inbox[1:]
			s.mu.Unlock()
			return p, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Push{}, fmt.Errorf("no push for %s: %w", sub.ID, ctx.Err())
		}
	}
}

// expire drops messages past their TTL; s.mu must be held.
func (s *Server) expire(sub *Sub) {
	now := time.Now()
	kept := sub.inbox[:0]
	for _, p := range sub.inbox {
		// TTL 0 is "now or never"; the test that takes it is "now".
		if now.Before(p.expires) || p.TTL == 0 {
			kept = append(kept, p)
		} else {
			sub.expired++
		}
	}
	sub.inbox = kept
}

var topicRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/wpush/")
	s.mu.Lock()
	sub := s.subs[id]
	var answer int
	var hang bool
	if sub != nil {
		answer, hang = sub.answer, sub.hang
	}
	s.mu.Unlock()
	if !ok || sub == nil || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if hang {
		// Read the body first: only then does the server notice the
		// client giving up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
		return
	}
	p, status, err := s.accept(r, sub)
	if err != nil {
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
		http.Error(w, err.Error(), status)
		return
	}
	if answer != 0 {
		if answer == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "30")
		}
		http.Error(w, http.StatusText(answer), answer)
		return
	}
	s.mu.Lock()
	if p.Topic != "" {
		for i, q := range sub.inbox {
			if q.Topic == p.Topic {
				sub.inbox = append(sub.inbox[:i], sub.inbox[i+1:]...)
				break
			}
		}
	}
	sub.inbox = append(sub.inbox, p)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	w.Header().Set("Location", s.srv.URL+"/message/"+strconv.FormatInt(time.Now().UnixNano(), 36))
	w.WriteHeader(http.StatusCreated)
}

// accept checks a push request the way RFC 8030, 8291 and 8292 say.
func (s *Server) accept(r *http.Request, sub *Sub) (Push, int, error) {
	p := Push{Received: time.Now(), Urgency: "normal"}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		return p, http.StatusBadRequest, fmt.Errorf("TTL header %q: a non-negative integer is required (RFC 8030 5.2)", r.Header.Get("TTL"))
	}
	p.TTL = ttl
	p.expires = p.Received.Add(time.Duration(ttl) * time.Second)
	if u := r.Header.Get("Urgency"); u != "" {
		switch u {
		case "very-low", "low", "normal", "high":
			p.Urgency = u
		default:
			return p, http.StatusBadRequest, fmt.Errorf("Urgency %q (RFC 8030 5.3)", u)
		}
	}
	if t := r.Header.Get("Topic"); t != "" {
		if !topicRe.MatchString(t) {
			return p, http.StatusBadRequest, fmt.Errorf("Topic %q: at most 32 base64url characters (RFC 8030 5.4)", t)
		}
		p.Topic = t
	}
	if err := s.checkVAPID(r); err != nil {
		return p, http.StatusUnauthorized, err
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return p, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q, want aes128gcm (RFC 8291 4)", ce)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4097))
	if err != nil {
		return p, http.StatusBadRequest, err
	}
	if len(body) > 4096 {
		return p, http.StatusRequestEntityTooLarge, errors.New("payload over 4096 bytes (RFC 8030 7.2)")
	}
	p.Size = len(body)
	plain, err := Decrypt(body, sub.key, sub.auth)
	if err != nil {
		return p, http.StatusBadRequest, err
	}
	p.Plain = plain
	return p, 0, nil
}

// checkVAPID verifies the Authorization header: "vapid t=JWT, k=KEY".
func (s *Server) checkVAPID(r *http.Request) error {
	h := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return fmt.Errorf("Authorization %q: want the vapid scheme (RFC 8292 3)", h)
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		params[k] = v
	}
	token, key := params["t"], params["k"]
	s.mu.Lock()
	want := s.serverKey
	s.mu.Unlock()
	if want != "" && key != want {
		return fmt.Errorf("VAPID key %q is not the key the subscription was made with", key)
	}
	keyBytes, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || len(keyBytes) != 65 || keyBytes[0] != 4 {
		return fmt.Errorf("VAPID k=%q: not an uncompressed P-256 point", key)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(keyBytes[1:33]), Y: new(big.Int).SetBytes(keyBytes[33:])}
	if _, err := pub.ECDH(); err != nil {
		return fmt.Errorf("VAPID k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("VAPID t: not a JWT")
	}
	var header struct{ Alg, Typ string }
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "ES256" {
		return fmt.Errorf("VAPID JWT header %+v: want alg ES256 (RFC 8292 2)", header)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("VAPID JWT signature: want 64 bytes r||s")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("VAPID JWT signature does not verify with k")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("VAPID JWT claims: %w", err)
	}
	if wantAud := "https://" + r.Host; claims.Aud != wantAud {
		return fmt.Errorf("VAPID aud %q, want %q (RFC 8292 2)", claims.Aud, wantAud)
	}
	now := time.Now().Unix()
	if claims.Exp <= now || claims.Exp > now+24*3600 {
		return fmt.Errorf("VAPID exp %d: must be in the next 24 hours (RFC 8292 2)", claims.Exp)
	}
	if !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:") {
		return fmt.Errorf("VAPID sub %q: want a mailto: or https: contact (RFC 8292 2.1)", claims.Sub)
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Decrypt opens an aes128gcm body (RFC 8188) sent to a Web Push
// subscription (RFC 8291) and removes its padding.
func Decrypt(body []byte, key *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("aes128gcm: body shorter than its header")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if idlen != 65 || len(body) < 21+idlen+17 {
		return nil, fmt.Errorf("aes128gcm: keyid of %d bytes, want the 65-byte sender key (RFC 8291 4)", idlen)
	}
	asPub, err := ecdh.P256().NewPublicKey(body[21 : 21+idlen])
	if err != nil {
		return nil, fmt.Errorf("aes128gcm: sender key: %w", err)
	}
	record := body[21+idlen:]
	if rs < 18 || uint32(len(record)) > rs {
		return nil, fmt.Errorf("aes128gcm: one record of at most rs=%d bytes expected, got %d (RFC 8291 4)", rs, len(record))
	}
	secret, err := key.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), key.PublicKey().Bytes()...), asPub.Bytes()...)
	prkKey, err := hkdf.Extract(sha256.New, secret, auth)
	if err != nil {
		return nil, err
	}
	ikm, err := hkdf.Expand(sha256.New, prkKey, string(info), 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, fmt.Errorf("aes128gcm: %w", err)
	}
	// The last record ends in 0x02 and zero padding (RFC 8188 2).
	end := len(plain) - 1
	for end >= 0 && plain[end] == 0 {
		end--
	}
	if end < 0 || plain[end] != 2 {
		return nil, errors.New("aes128gcm: no last-record delimiter (RFC 8188 2)")
	}
	return plain[:end], nil
}
