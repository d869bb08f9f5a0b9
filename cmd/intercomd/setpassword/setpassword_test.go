package setpassword

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetPasswordPiped(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string // want: "" for success, else part of the error
	}{
		{"line", "door secret 42\n", ""},
		{"no newline", "door secret 42", ""},
		{"crlf", "door secret 42\r\n", ""},
		{"only the first line", "door secret 42\nignored\n", ""},
		{"empty", "", "no password"},
		{"blank line", "\n", "no password"},
		{"short", "short\n", "at least 8 characters"},
		{"too long", strings.Repeat("x", maxPasswordLine+10), "longer than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			var out bytes.Buffer
			err := Run(dir, strings.NewReader(tt.in), &out)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Run(%q) = %v, want an error containing %q", tt.in, err, tt.want)
				}
				if _, err := os.Stat(filepath.Join(dir, "password")); err == nil {
					t.Error("a refused password was written")
				}
				return
			}
			if err != nil {
				t.Fatalf("Run(%q) = %v", tt.in, err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "password"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "$argon2id$") || strings.Contains(string(b), "door secret") {
				t.Errorf("password file = %q, want an argon2id hash only", b)
			}
			if strings.Contains(out.String(), "door secret") {
				t.Errorf("output repeats the password: %q", out.String())
			}
		})
	}
}
