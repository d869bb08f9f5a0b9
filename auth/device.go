package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/intercomd/intercomd/internal/statefile"
)

// A trusted-device cookie marks a browser that once logged in. It admits
// nothing by itself (the session cookie does that); it gives a login from
// that browser its own attempt budget and the front of the line for the
// hash, so strangers guessing from the same address, the same /64 or
// anywhere cannot lock a resident's phone out, for instance after the
// password was changed.
const (
	deviceKeyFile      = "device-key" // HMAC key in the state directory
	deviceCookieSecure = "__Host-intercomd-device"
	deviceCookiePlain  = "intercomd-device"
	deviceTTL          = 400 * 24 * time.Hour // browsers cap cookies at 400 days
	deviceIDBytes      = 16
	deviceMACBytes     = 16
)

// devices issues and checks trusted-device cookies: a random id and an
// HMAC of it under a key kept in the state directory. Nothing per device is
// stored.
type devices struct {
	key []byte
}

// loadDevices reads the key, making one if it is missing. A damaged key is
// replaced: that costs known devices their priority until they log in
// again, nothing more.
func loadDevices(stateDir string, log *slog.Logger) (*devices, error) {
	path := filepath.Join(stateDir, deviceKeyFile)
	b, err := os.ReadFile(path)
	if err == nil && len(b) == 32 {
		return &devices{key: b}, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("trusted-device key unreadable: making a new one (phones log in once more to be trusted)", "file", path, "err", err)
	} else if err == nil {
		log.Warn("trusted-device key damaged: making a new one (phones log in once more to be trusted)", "file", path)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("trusted-device key: %w", err)
	}
	if err := statefile.WriteAtomic(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("save trusted-device key: %w", err)
	}
	return &devices{key: key}, nil
}

func (d *devices) mac(id []byte) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write(id)
	return m.Sum(nil)[:deviceMACBytes]
}

// issue makes a new device cookie value.
func (d *devices) issue() (string, error) {
	id := make([]byte, deviceIDBytes, deviceIDBytes+deviceMACBytes)
	if _, err := rand.Read(id); err != nil {
		return "", fmt.Errorf("device id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(append(id, d.mac(id)...)), nil
}

// deviceValueLen is a cookie value's length (unpadded base64url).
var deviceValueLen = base64.RawURLEncoding.EncodedLen(deviceIDBytes + deviceMACBytes)

// check returns the device id of a cookie value it issued.
func (d *devices) check(v string) (id string, ok bool) {
	if len(v) != deviceValueLen {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != deviceIDBytes+deviceMACBytes {
		return "", false
	}
	if !hmac.Equal(b[deviceIDBytes:], d.mac(b[:deviceIDBytes])) {
		return "", false
	}
	return string(b[:deviceIDBytes]), true
}

// fromRequest is the trusted device r comes from, if it carries a valid
// cookie.
func (d *devices) fromRequest(r *http.Request, secure bool) (id string, ok bool) {
	for _, c := range r.CookiesNamed(deviceCookieName(secure)) {
		if id, ok := d.check(c.Value); ok {
			return id, true
		}
	}
	return "", false
}

func deviceCookieName(secure bool) string {
	if secure {
		return deviceCookieSecure
	}
	return deviceCookiePlain
}

// deviceCookie is the Set-Cookie for a device value; "" deletes it.
func deviceCookie(v string, secure bool) *http.Cookie {
	c := &http.Cookie{
		Name:     deviceCookieName(secure),
		Value:    v,
		Path:     "/",
		Secure:   secure,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		MaxAge:   int(deviceTTL / time.Second),
	}
	if v == "" {
		c.MaxAge = -1
	}
	return c
}
