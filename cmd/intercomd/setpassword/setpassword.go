// Package setpassword is `intercomd set-password`: it reads a new resident
// password from a terminal or a pipe and stores its hash with package auth.
// It must not pull in the HTTP server, the hub or media (deps_test.go):
// setting a password works with nothing else of intercomd loaded.
package setpassword

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/intercomd/intercomd/auth"
)

// Run is `intercomd set-password`: it reads the new resident
// password from in (typed twice, without echo, on a terminal; the first line
// when piped) and stores its hash in stateDir. A running intercomd picks it up
// within seconds and logs out every browser that used the old one.
func Run(stateDir string, in io.Reader, out io.Writer) error {
	pw, err := readNewPassword(in, out)
	if err != nil {
		return fmt.Errorf("set-password: %w", err)
	}
	if err := auth.SetPassword(stateDir, pw); err != nil {
		return fmt.Errorf("set-password: %w", err)
	}
	fmt.Fprintf(out, "Password saved in %s. Browsers logged in with the old one must log in again.\n",
		filepath.Join(stateDir, "password"))
	return nil
}

// maxPasswordLine bounds what is read from a pipe.
const maxPasswordLine = 4096

func readNewPassword(in io.Reader, out io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		a, err := promptSecret(f, out, "New password: ")
		if err != nil {
			return "", err
		}
		b, err := promptSecret(f, out, "Repeat it: ")
		if err != nil {
			return "", err
		}
		if a != b {
			return "", errors.New("the two passwords differ")
		}
		return a, nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, maxPasswordLine)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	if err == io.EOF && len(line) == maxPasswordLine {
		return "", fmt.Errorf("the password line is longer than %d bytes", maxPasswordLine)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input (pipe it in, or run on a terminal)")
	}
	return line, nil
}

// promptSecret reads one line from the terminal without echoing it.
func promptSecret(f *os.File, out io.Writer, prompt string) (string, error) {
	fmt.Fprint(out, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}
