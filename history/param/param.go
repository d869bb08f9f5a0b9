// Package param reads the visitor history API's query parameters and entry
// ids (docs/API.md). It is apart from package history so that its fuzz
// tests build in seconds, without SQLite.
package param

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

const (
	// DefaultPage is how many entries GET /api/events returns without limit.
	DefaultPage = 50
	// MaxPage is the most entries one page holds.
	MaxPage = 200
)

// ErrBad is a query parameter or id out of range.
var ErrBad = errors.New("bad parameter")

// Page reads before= (an entry id, 0 or absent for the newest) and limit=
// (1 to MaxPage, default DefaultPage).
func Page(q url.Values) (before int64, limit int, err error) {
	for k := range q {
		if k != "before" && k != "limit" {
			return 0, 0, fmt.Errorf("%w: unknown parameter %q", ErrBad, k)
		}
	}
	limit = DefaultPage
	if v := q.Get("before"); v != "" || q.Has("before") {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 0 {
			return 0, 0, fmt.Errorf("%w: before must be an entry id", ErrBad)
		}
	}
	if v := q.Get("limit"); v != "" || q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPage {
			return 0, 0, fmt.Errorf("%w: limit must be 1 to %d", ErrBad, MaxPage)
		}
		limit = n
	}
	return before, limit, nil
}

// ID reads an entry id: a positive decimal number in its canonical form.
func ID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, fmt.Errorf("%w: %q is not an entry id", ErrBad, s)
	}
	return id, nil
}
