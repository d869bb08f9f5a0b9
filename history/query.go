package history

import (
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/intercomd/intercomd/history/param"
)

// MaxPage is the most entries List returns at once.
const MaxPage = param.MaxPage

// List returns up to limit entries older than before (an entry id; 0 for
// the newest), newest first. Entries not yet written are included.
func (s *Store) List(before int64, limit int) ([]Entry, error) {
	limit = min(max(limit, 1), MaxPage)
	if before <= 0 {
		before = 1<<63 - 1
	}
	// What is not written yet first: an entry written between the two
	// reads is then in both, never in neither.
	out := s.pendingBefore(before)
	rows, err := s.db.Query(`SELECT id, at, kind, outcome, peer, via, ref, opened, dur_ms, note, seen, picture
		FROM events WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(p Entry) bool { return p.ID == e.ID }) {
			out = append(out, e)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmpDesc(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// pendingBefore copies the entries not yet readable from the database
// (waiting for the next batch, or in the one being written), without
// pictures.
func (s *Store) pendingBefore(before int64) []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entry
	for id := range s.writing {
		if _, newer := s.pending[id]; !newer && id < before {
			out = append(out, s.unwrittenLocked(id))
		}
	}
	for id := range s.pending {
		if id < before {
			out = append(out, s.unwrittenLocked(id))
		}
	}
	return out
}

// unwrittenLocked returns entry id from memory (the newer of its pending
// and its being-written version), its pictures left out but counted; a
// zero Entry if neither has it. s.mu is held.
func (s *Store) unwrittenLocked(id int64) Entry {
	e, ok := s.pending[id]
	w, inFlight := s.writing[id]
	if !ok {
		e = w
	}
	e.Picture = e.Picture || e.Full != nil || (inFlight && (w.Picture || w.Full != nil))
	e.Full, e.Thumb = nil, nil
	return e
}

// unwrittenPicture returns entry id's pictures from memory, if there.
// s.mu is held.
func (s *Store) unwrittenPicture(id int64, thumb bool) ([]byte, bool) {
	for _, e := range []Entry{s.pending[id], s.writing[id]} {
		if e.Full != nil {
			if thumb {
				return e.Thumb, true
			}
			return e.Full, true
		}
	}
	return nil, false
}

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Entry, error) {
	var e Entry
	var at, dur int64
	err := r.Scan(&e.ID, &at, &e.Kind, &e.Outcome, &e.Peer, &e.Via, &e.Ref, &e.Opened, &dur, &e.Note, &e.Seen, &e.Picture)
	e.At = time.UnixMilli(at)
	e.Dur = time.Duration(dur) * time.Millisecond
	return e, err
}

// Get returns one entry.
func (s *Store) Get(id int64) (Entry, error) {
	s.mu.Lock()
	if e := s.unwrittenLocked(id); e.ID != 0 {
		s.mu.Unlock()
		return e, nil
	}
	s.mu.Unlock()
	e, err := scan(s.db.QueryRow(`SELECT id, at, kind, outcome, peer, via, ref, opened, dur_ms, note, seen, picture
		FROM events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	return e, err
}

// Picture returns an entry's JPEG, the thumbnail if thumb.
func (s *Store) Picture(id int64, thumb bool) ([]byte, error) {
	s.mu.Lock()
	if b, ok := s.unwrittenPicture(id, thumb); ok {
		s.mu.Unlock()
		return b, nil
	}
	s.mu.Unlock()
	col := "full"
	if thumb {
		col = "thumb"
	}
	var b []byte
	err := s.db.QueryRow("SELECT "+col+" FROM pictures WHERE id = ?", id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return b, err
}

// Delete removes one entry and its pictures.
func (s *Store) Delete(id int64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	_, wasPending := s.pending[id]
	delete(s.pending, id)
	s.order = slices.DeleteFunc(s.order, func(x int64) bool { return x == id })
	s.mu.Unlock()
	res, err := s.db.Exec("DELETE FROM events WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 && !wasPending {
		return ErrNotFound
	}
	return nil
}

// Clear removes every entry.
func (s *Store) Clear() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	s.pending = map[int64]Entry{}
	s.order = nil
	s.mu.Unlock()
	if _, err := s.db.Exec("DELETE FROM events"); err != nil {
		return err
	}
	_, err := s.db.Exec("PRAGMA incremental_vacuum")
	return err
}

// Unseen counts missed rings no resident has seen yet.
//
// What is in memory is read first and the database counts only the other
// ids, so that an entry written meanwhile counts once.
func (s *Store) Unseen() (int, error) {
	n := 0
	inMemory := []int64{} // "[]", not "null": json_each(null) is one NULL, and NOT IN (NULL) is never true
	s.mu.Lock()
	for id, e := range s.writing {
		if _, newer := s.pending[id]; !newer {
			inMemory = append(inMemory, id)
			if e.Kind == KindRing && e.Outcome == OutcomeMissed && !e.Seen {
				n++
			}
		}
	}
	for id, e := range s.pending {
		inMemory = append(inMemory, id)
		if e.Kind == KindRing && e.Outcome == OutcomeMissed && !e.Seen {
			n++
		}
	}
	s.mu.Unlock()
	ids, err := json.Marshal(inMemory)
	if err != nil {
		return 0, err
	}
	var written int
	err = s.db.QueryRow(`SELECT count(*) FROM events WHERE kind = ? AND outcome = ? AND seen = 0
		AND id NOT IN (SELECT value FROM json_each(?))`, KindRing, OutcomeMissed, string(ids)).Scan(&written)
	return n + written, err
}

// MarkSeen marks every missed ring up to id (0: all) as seen.
func (s *Store) MarkSeen(upTo int64) error {
	if upTo <= 0 {
		upTo = 1<<63 - 1
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	for id, e := range s.pending {
		if id <= upTo {
			e.Seen = true
			s.pending[id] = e
		}
	}
	s.mu.Unlock()
	_, err := s.db.Exec("UPDATE events SET seen = 1 WHERE seen = 0 AND id <= ?", upTo)
	return err
}
