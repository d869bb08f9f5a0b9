package param

import (
	"errors"
	"net/url"
	"strconv"
	"testing"
)

func FuzzParsePage(f *testing.F) {
	for _, s := range []string{"", "limit=5", "before=123&limit=200", "limit=0", "before=-1", "x=1", "limit=1&limit=2", "before="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		before, limit, err := Page(q)
		if err != nil {
			if !errors.Is(err, ErrBad) {
				t.Errorf("Page(%q) = %v, not ErrBad", raw, err)
			}
			return
		}
		if before < 0 || limit < 1 || limit > MaxPage {
			t.Errorf("Page(%q) = %d, %d: out of range", raw, before, limit)
		}
	})
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "+1", "01", "9223372036854775807", "9223372036854775808", "a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ID(s)
		if err != nil {
			return
		}
		if id <= 0 || strconv.FormatInt(id, 10) != s {
			t.Errorf("ID(%q) = %d", s, id)
		}
	})
}
