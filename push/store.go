package push

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/intercomd/intercomd/internal/statefile"
)

// devicesFile keeps the subscribed devices (JSON, 0600: the endpoints and
// keys let whoever holds the VAPID key reach the residents' phones).
const devicesFile = "push-devices.json"

// Bounds on what the store keeps, so a resident (or a script with a
// session) cannot grow it without end.
const (
	maxDevices            = 200
	maxDevicesPerResident = 20
)

// ErrUnknownDevice is the answer to removing a device that is not there.
var ErrUnknownDevice = errors.New("push: no such device")

// Device is one browser's push subscription and whose it is.
type Device struct {
	ID       string    `json:"id"`
	Resident string    `json:"resident"`
	Label    string    `json:"label,omitempty"`
	Endpoint string    `json:"endpoint"`
	P256dh   string    `json:"p256dh"`
	Auth     string    `json:"auth"`
	Added    time.Time `json:"added"`
	Quiet    *Quiet    `json:"quiet,omitempty"`
}

// store is the subscribed devices, saved atomically on every change so a
// power cut leaves the old list or the new one.
type store struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex // guards devices and the file
	devices []Device
}

type storeFile struct {
	Version int      `json:"version"`
	Devices []Device `json:"devices"`
}

func loadStore(dir string, log *slog.Logger) (*store, error) {
	s := &store{path: filepath.Join(dir, devicesFile), log: log}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("push: read devices: %w", err)
	}
	var f storeFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("push: %s: %w (fix or delete it; residents then turn notifications on again)", s.path, err)
	}
	for _, d := range f.Devices {
		if err := d.check(); err != nil {
			log.Warn("dropping a stored device that is no longer valid", "id", d.ID, "resident", d.Resident, "err", err)
			continue
		}
		s.devices = append(s.devices, d)
	}
	return s, nil
}

// check says what is wrong with a device, as stored or as subscribed.
func (d *Device) check() error {
	if err := checkResident(d.Resident); err != nil {
		return err
	}
	if err := checkEndpoint(d.Endpoint); err != nil {
		return err
	}
	if err := checkKeys(d.P256dh, d.Auth); err != nil {
		return err
	}
	if d.Quiet != nil {
		return d.Quiet.check()
	}
	return nil
}

// save writes the list; s.mu must be held.
func (s *store) save() error {
	data, err := json.MarshalIndent(storeFile{Version: 1, Devices: s.devices}, "", "  ")
	if err != nil {
		return err
	}
	if err := statefile.EnsureDir(filepath.Dir(s.path)); err != nil {
		return err
	}
	if err := statefile.WriteAtomic(s.path, data, 0o600); err != nil {
		return fmt.Errorf("push: save devices: %w", err)
	}
	return nil
}

// add stores d (already checked), replacing the device with the same
// endpoint: a browser subscribing again, or moving to another resident,
// keeps one entry. It returns the stored device with its id.
func (s *store) add(d Device) (Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := slices.IndexFunc(s.devices, func(x Device) bool { return x.Endpoint == d.Endpoint })
	n := 0
	for _, x := range s.devices {
		if x.Resident == d.Resident && x.Endpoint != d.Endpoint {
			n++
		}
	}
	switch {
	case n >= maxDevicesPerResident:
		return Device{}, fmt.Errorf("push: %s already has %d devices: remove one first", d.Resident, n)
	case old < 0 && len(s.devices) >= maxDevices:
		return Device{}, fmt.Errorf("push: %d devices are subscribed already: remove one first", len(s.devices))
	}
	next := slices.Clone(s.devices)
	if old >= 0 {
		d.ID = next[old].ID
		next[old] = d
	} else {
		id, err := newID()
		if err != nil {
			return Device{}, err
		}
		d.ID = id
		next = append(next, d)
	}
	prev := s.devices
	s.devices = next
	if err := s.save(); err != nil {
		s.devices = prev
		return Device{}, err
	}
	return d, nil
}

// remove deletes the device with id.
func (s *store) remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.devices, func(x Device) bool { return x.ID == id })
	if i < 0 {
		return ErrUnknownDevice
	}
	prev := s.devices
	s.devices = slices.Delete(slices.Clone(s.devices), i, i+1)
	if err := s.save(); err != nil {
		s.devices = prev
		return err
	}
	return nil
}

// gone removes the device with id and endpoint, if it is still that one
// (the push service said the subscription no longer exists).
func (s *store) gone(id, endpoint string) bool {
	s.mu.Lock()
	i := slices.IndexFunc(s.devices, func(x Device) bool { return x.ID == id && x.Endpoint == endpoint })
	s.mu.Unlock()
	return i >= 0 && s.remove(id) == nil
}

// list returns the devices, of resident only unless resident is "".
func (s *store) list(resident string) []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Device
	for _, d := range s.devices {
		if resident == "" || d.Resident == resident {
			out = append(out, d)
		}
	}
	return out
}

func newID() (string, error) {
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("push: make id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
