package history

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// flush writes the pending entries in one transaction. When the disk (or
// the size cap) is full, it makes room by retention and tries again, then
// keeps the entries without their pictures, then counts what it could not
// keep so that a later line says so. It reports whether it wrote.
//
// Until the transaction commits, the batch stays readable from memory
// (writing): a list asked for meanwhile would otherwise miss it.
func (s *Store) flush() bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if len(s.pending) == 0 && len(s.lost) == 0 {
		s.mu.Unlock()
		return false
	}
	batch := make([]Entry, 0, len(s.order))
	for _, id := range s.order {
		batch = append(batch, s.pending[id])
	}
	s.writing = s.pending
	s.pending = map[int64]Entry{}
	s.order = nil
	lost, lostWhy := s.lost, s.lostWhy
	s.mu.Unlock()
	if s.beforeWrite != nil {
		s.beforeWrite()
	}

	if len(lost) > 0 {
		batch = append(batch, Entry{ID: s.NewID(time.Now()), At: time.Now(), Kind: KindLost, Note: lostNote(lost, lostWhy)})
	}
	err := s.write(batch)
	if isFull(err) {
		s.log.Warn("history full: removing old entries", "err", err)
		s.makeRoom()
		err = s.write(batch)
	}
	if isFull(err) {
		for i := range batch {
			if batch[i].Full != nil {
				batch[i].Full, batch[i].Thumb = nil, nil
				batch[i].Note = joinNote(batch[i].Note, "picture not kept: no space left")
			}
		}
		err = s.write(batch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writing = nil
	if err != nil {
		s.log.Error("history write failed", "entries", len(batch), "err", err)
		if s.lost == nil {
			s.lost = map[int64]string{}
		}
		for _, e := range batch {
			if e.Kind != KindLost { // the lost line itself is made again
				s.lost[e.ID] = e.Kind // a ring and its later update are one event
			}
		}
		s.lostWhy = reason(err)
		return false
	}
	s.lost = nil // only flush changes it: what it wrote is all there was
	s.writes++
	return true
}

// lostNote says how many events of which kinds were not kept, and why:
// "2 history events not kept (1 look, 1 ring): no space left".
func lostNote(lost map[int64]string, why string) string {
	byKind := map[string]int{}
	for _, k := range lost {
		byKind[k]++
	}
	parts := make([]string, 0, len(byKind))
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		parts = append(parts, fmt.Sprintf("%d %s", byKind[k], k))
	}
	return fmt.Sprintf("%d history events not kept (%s): %s", len(lost), strings.Join(parts, ", "), why)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// write stores batch in one transaction.
func (s *Store) write(batch []Entry) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, e := range batch {
		pic := e.Full != nil
		if !pic {
			// An update without new pictures keeps the ones stored.
			var has bool
			err := tx.QueryRow("SELECT EXISTS(SELECT 1 FROM pictures WHERE id = ?)", e.ID).Scan(&has)
			if err != nil {
				return err
			}
			pic = has
		}
		_, err := tx.Exec(`INSERT INTO events(id, at, kind, outcome, peer, via, ref, opened, dur_ms, note, seen, picture)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET outcome = excluded.outcome, peer = excluded.peer, via = excluded.via,
				ref = excluded.ref, opened = excluded.opened, dur_ms = excluded.dur_ms, note = excluded.note,
				seen = max(seen, excluded.seen), picture = excluded.picture`,
			e.ID, e.At.UnixMilli(), e.Kind, e.Outcome, e.Peer, e.Via, e.Ref, e.Opened,
			e.Dur.Milliseconds(), e.Note, e.Seen, pic)
		if err != nil {
			return err
		}
		if e.Full != nil {
			if _, err := tx.Exec("INSERT OR REPLACE INTO pictures(id, full, thumb) VALUES(?, ?, ?)",
				e.ID, e.Full, e.Thumb); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// isFull reports a full disk, or a database at its size cap.
func isFull(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

func reason(err error) string {
	if isFull(err) {
		return "no space left"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return sqlite.ErrorCodeString[se.Code()]
	}
	return "database error"
}

// prune removes entries past the age limit, then the oldest ones while the
// database is over its size.
func (s *Store) prune(now time.Time) {
	cut := now.Add(-s.cfg.MaxAge).UnixMilli()
	if res, err := s.db.Exec("DELETE FROM events WHERE at < ?", cut); err != nil {
		s.log.Error("history retention by age failed", "err", err)
	} else if n, _ := res.RowsAffected(); n > 0 {
		s.log.Info("history: removed old entries", "entries", n, "older than", s.cfg.MaxAge)
	}
	for range 100 {
		used, err := s.used()
		if err != nil {
			s.log.Error("history size", "err", err)
			return
		}
		if used <= s.cfg.MaxBytes {
			break
		}
		if n := s.removeOldest(used); n == 0 {
			break
		}
	}
	if _, err := s.db.Exec("PRAGMA incremental_vacuum"); err != nil {
		s.log.Debug("history vacuum", "err", err)
	}
}

// makeRoom removes the oldest tenth of the entries, for a full disk.
func (s *Store) makeRoom() {
	var n int64
	if err := s.db.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil || n == 0 {
		return
	}
	s.deleteOldest(max(1, n/10))
	if _, err := s.db.Exec("PRAGMA incremental_vacuum"); err != nil {
		s.log.Debug("history vacuum", "err", err)
	}
}

// removeOldest deletes about the share of entries by which used passes the
// cap, oldest first, and returns how many it removed.
func (s *Store) removeOldest(used int64) int64 {
	var n int64
	if err := s.db.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil || n == 0 {
		return 0
	}
	over := used - s.cfg.MaxBytes
	k := max(1, n*over/used+n/50)
	return s.deleteOldest(k)
}

func (s *Store) deleteOldest(k int64) int64 {
	res, err := s.db.Exec("DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)", k)
	if err != nil {
		s.log.Error("history retention by size failed", "err", err)
		return 0
	}
	n, _ := res.RowsAffected()
	s.log.Info("history: removed the oldest entries to stay under the size limit", "entries", n,
		"max bytes", s.cfg.MaxBytes)
	return n
}

// used is the bytes the database's live pages take.
func (s *Store) used() (int64, error) {
	var pages, free, size int64
	for q, v := range map[string]*int64{"page_count": &pages, "freelist_count": &free, "page_size": &size} {
		if err := s.db.QueryRow("PRAGMA " + q).Scan(v); err != nil {
			return 0, err
		}
	}
	return (pages - free) * size, nil
}
