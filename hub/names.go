package hub

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/intercomd/intercomd/wire"
)

// MaxNameLen is the longest user name, in characters.
const MaxNameLen = 32

// Reasons a Register is refused (the reply's reason).
var (
	errNameNotString = errors.New("name must be a string")
	errNameEmpty     = errors.New("name is empty")
	errNameLong      = errors.New("name is longer than 32 characters")
	errNameControl   = errors.New("name contains control characters")
	errNameReserved  = errors.New("name is reserved")
)

// checkName trims a requested name and says why it cannot be used. Besides
// control characters it refuses invisible format characters (bidi overrides,
// zero-width joiners), which let one name pose as another in a list.
func checkName(raw []byte) (string, error) {
	s, ok := wire.Unquote(raw)
	if !ok {
		return "", errNameNotString
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errNameEmpty
	case utf8.RuneCountInString(s) > MaxNameLen:
		return "", errNameLong
	case strings.EqualFold(s, wire.ServerName):
		return "", errNameReserved
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", errNameControl
		}
	}
	return s, nil
}
