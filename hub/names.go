package hub

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

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
	errNameInvisible = errors.New("name contains invisible characters")
)

// invisible are letters that show as nothing (Hangul fillers, the braille
// blank): a name made of them, or padded with them, poses as another.
var invisible = map[rune]bool{0x115F: true, 0x1160: true, 0x3164: true, 0xFFA0: true, 0x2800: true}

// fold is Unicode case folding; shared, as a Caser is not safe for
// concurrent use but the hub calls it under its lock only.
var fold = cases.Fold()

// lookalike is the key two names share when a reader could take one for
// the other: compatibility forms folded (fullwidth letters, ligatures:
// NFKC), case folded, then Unicode's confusable skeleton (UTS #39: the
// Cyrillic о of "dооr" is the Latin o of "door").
func lookalike(name string) string {
	return confusables.Skeleton(fold.String(norm.NFKC.String(name)))
}

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
	case lookalike(s) == lookalike(wire.ServerName):
		return "", errNameReserved
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", errNameControl
		}
		if invisible[r] || unicode.Is(unicode.Variation_Selector, r) {
			return "", errNameInvisible
		}
	}
	return s, nil
}
