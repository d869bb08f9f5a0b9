// Package history is the door's visitor history: every ring (answered by
// whom, or missed), every look at the door, every opening, with the
// pictures, in one SQLite database in the state directory.
//
// The database is written by one goroutine (Run) in few, batched
// transactions (an SD card wears with every write) and in WAL mode, so a
// power cut mid-write loses at most the last batch and never the database.
// Pictures live in the database beside their event, so an event and its
// picture are written, and removed, in one transaction: nothing is left
// orphaned after a crash, and retention by size counts them. Old entries go
// first when the database passes its size or age limit.
package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// Kinds of entries.
const (
	KindRing = "ring" // the door rang the residents
	KindLook = "look" // a resident called the door
	KindOpen = "open" // the door was opened
	KindLost = "lost" // events the history could not keep (Note says why)
)

// Outcomes of a ring or a look.
const (
	OutcomeRinging  = "ringing"  // not over yet
	OutcomeAnswered = "answered" // a resident took the ring (Peer)
	OutcomeMissed   = "missed"   // nobody answered
	OutcomeTalked   = "talked"   // a look in which the resident spoke
)

// Entry is one line of the history.
type Entry struct {
	// ID is unique and grows with time (microseconds since the Unix epoch
	// of when it was made); it orders the history.
	ID   int64     `json:"id"`
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Outcome of a ring or look (OutcomeX); empty for others.
	Outcome string `json:"outcome,omitempty"`
	// Peer is the resident who answered, looked or opened.
	Peer string `json:"peer,omitempty"`
	// Via is where an opening or a ring came from: "button", "call", "api"...
	Via string `json:"via,omitempty"`
	// Ref is the ID of the ring or look an opening happened in.
	Ref int64 `json:"ref,omitempty"`
	// Opened names who opened the door during this ring or look.
	Opened string `json:"opened,omitempty"`
	// Dur is how long the call's media was up.
	Dur time.Duration `json:"-"`
	// Note says what went wrong: a missed ring's reason, a picture that was
	// not kept.
	Note string `json:"note,omitempty"`
	// Seen is set once a resident saw a missed ring.
	Seen bool `json:"seen"`
	// Picture says whether a picture is stored (Picture gets it).
	Picture bool `json:"picture"`

	// Full and Thumb are the JPEGs to store with the entry; only read by Put.
	Full, Thumb []byte `json:"-"`
}

// Config sets where the history lives and how much of it stays.
type Config struct {
	// Path is the database file, e.g. /var/lib/intercomd/history.db.
	Path string
	// MaxAge removes entries older than this (default DefaultMaxAge).
	MaxAge time.Duration
	// MaxBytes caps the database's size; the oldest entries go first
	// (default DefaultMaxBytes).
	MaxBytes int64
	// FlushEvery is how long writes gather before one transaction
	// (default DefaultFlushEvery).
	FlushEvery time.Duration

	// maxPages caps the file in pages, for tests of a full disk.
	maxPages int
}

// Defaults of Config, chosen for a 16 GB SD card: a year of rings with a
// picture each would be about 20 MB a day at worst, and the card keeps room
// for the system and its logs.
const (
	DefaultMaxAge     = 90 * 24 * time.Hour
	DefaultMaxBytes   = 1 << 30
	DefaultFlushEvery = 2 * time.Second
	minMaxBytes       = 256 << 10
)

// ErrNotFound is returned for an id that is not in the history.
var ErrNotFound = errors.New("no such history entry")

// Store is the history database.
type Store struct {
	cfg Config
	log *slog.Logger
	db  *sql.DB

	// wmu is held by every change to the database (flush, Delete, Clear,
	// MarkSeen), so that a Delete or MarkSeen during a flush acts on what
	// the flush wrote rather than before it, and is undone by nothing.
	wmu sync.Mutex

	mu      sync.Mutex
	pending map[int64]Entry  // guarded by mu; written at the next flush
	writing map[int64]Entry  // guarded by mu; the batch flush is writing now, not yet readable from the database
	order   []int64          // guarded by mu; ids of pending in arrival order
	lastID  int64            // guarded by mu
	lost    map[int64]string // guarded by mu; kinds of the entries not kept since the last lost line, by id
	lostWhy string           // guarded by mu
	kick    chan struct{}

	writes int64 // transactions committed by the writer (Stats); guarded by mu

	beforeWrite func() // tests: called by flush with the batch taken, before it is written
}

// Open opens (or creates) the database. It starts nothing: Run writes.
func Open(cfg Config, log *slog.Logger) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("history: no database path")
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	cfg.MaxBytes = max(cfg.MaxBytes, minMaxBytes)
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = DefaultFlushEvery
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	// WAL: readers never block the writer and a crash leaves the last
	// committed state. synchronous=NORMAL syncs at checkpoints, not at every
	// commit: fewer writes to the card, and a power cut can lose only the
	// last batch. auto_vacuum=incremental lets retention give space back.
	dsn := "file:" + cfg.Path + "?_pragma=busy_timeout(5000)&_pragma=auto_vacuum(incremental)" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	if cfg.maxPages > 0 {
		dsn += fmt.Sprintf("&_pragma=max_page_count(%d)", cfg.maxPages)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", cfg.Path, err)
	}
	s := &Store{cfg: cfg, log: log.With("component", "history"), db: db,
		pending: map[int64]Entry{}, kick: make(chan struct{}, 1)}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: open %s: %w", cfg.Path, err)
	}
	return s, nil
}

const schema = `
CREATE TABLE IF NOT EXISTS events(
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	kind    TEXT NOT NULL,
	outcome TEXT NOT NULL DEFAULT '',
	peer    TEXT NOT NULL DEFAULT '',
	via     TEXT NOT NULL DEFAULT '',
	ref     INTEGER NOT NULL DEFAULT 0,
	opened  TEXT NOT NULL DEFAULT '',
	dur_ms  INTEGER NOT NULL DEFAULT 0,
	note    TEXT NOT NULL DEFAULT '',
	seen    INTEGER NOT NULL DEFAULT 0,
	picture INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pictures(
	id    INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
	full  BLOB NOT NULL,
	thumb BLOB NOT NULL
);
PRAGMA user_version = 1;
`

func (s *Store) migrate() error {
	var v int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > 1 {
		return fmt.Errorf("database version %d is newer than this intercomd (1)", v)
	}
	_, err := s.db.Exec(schema)
	return err
}

// Close waits for nothing: call it after Run returned, which flushes.
func (s *Store) Close() error { return s.db.Close() }

// NewID returns a new entry id: the current time in microseconds, made
// unique. Ids given out before a restart stay smaller as long as the clock
// does not go back.
func (s *Store) NewID(at time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := max(at.UnixMicro(), s.lastID+1)
	s.lastID = id
	return id
}

// Put queues e (new, or a newer version of an entry put before) for the
// next batch. It never blocks on the disk. A zero ID gets one.
func (s *Store) Put(e Entry) Entry {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.ID == 0 {
		e.ID = s.NewID(e.At)
	}
	s.mu.Lock()
	if old, ok := s.pending[e.ID]; ok {
		if e.Full == nil {
			e.Full, e.Thumb = old.Full, old.Thumb
		}
	} else {
		s.order = append(s.order, e.ID)
	}
	s.pending[e.ID] = e
	s.mu.Unlock()
	return e
}

// Flush asks Run to write what is pending now rather than at the next tick.
func (s *Store) Flush() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run writes the pending entries every FlushEvery, applies retention, and
// writes what is left when ctx ends.
func (s *Store) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.FlushEvery)
	defer tick.Stop()
	s.prune(time.Now())
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			s.flush()
			return nil
		case <-tick.C:
		case <-s.kick:
		}
		wrote := s.flush()
		if wrote || time.Since(lastPrune) > time.Hour {
			s.prune(time.Now())
			lastPrune = time.Now()
		}
	}
}

// Stats are counters for tests and the benchmark.
type Stats struct {
	Transactions int64 // write transactions committed by Run
	Pending      int   // entries waiting for the next batch or being written
}

// Stats reports the writer's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Transactions: s.writes, Pending: len(s.pending) + len(s.writing)}
}

// MarshalJSON writes Dur as dur_ms, whole milliseconds.
func (e Entry) MarshalJSON() ([]byte, error) {
	type plain Entry
	return json.Marshal(struct {
		plain
		DurMS int64 `json:"dur_ms,omitempty"`
	}{plain(e), e.Dur.Milliseconds()})
}
