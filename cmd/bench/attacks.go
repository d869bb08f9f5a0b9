package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// figuresLine is what web's TestAttacks logs per attack.
var figuresLine = regexp.MustCompile(`FIGURES (.+): server RSS (\d+) kB \(peak (\d+) kB\); resident logged in in (\S+) \((connect \S+, TLS \S+, answer \S+)\)`)

// benchAttacks runs the attacks of issue 17 (web's TestAttacks, in a
// network namespace of its own) against the intercomd binary and reports,
// attack by attack, the daemon's RSS and how long a known phone's login
// took while it lasted. The test asserts the behaviour; this keeps the
// figures.
func benchAttacks(ctx context.Context, e *env) (*result, error) {
	res := &result{command: "bin/bench -sections attacks -out /tmp/attacks.md"}
	daemon, err := filepath.Abs(e.intercomd)
	if err != nil {
		return nil, err
	}
	conns := 64
	if e.quick {
		conns = 16
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^TestAttacks$", "-v", "./web")
	cmd.Dir = e.repo
	cmd.Env = append(os.Environ(), "INTERCOMD_ATTACK_DAEMON="+daemon, "INTERCOMD_ATTACK_CONNS="+strconv.Itoa(conns))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("web TestAttacks: %v\n%s", err, out)
	}
	var rows [][]string
	worstRSS, worstLogin := 0, time.Duration(0)
	for _, m := range figuresLine.FindAllStringSubmatch(string(out), -1) {
		rss, _ := strconv.Atoi(m[2])
		peak, _ := strconv.Atoi(m[3])
		took, _ := time.ParseDuration(m[4])
		worstRSS, worstLogin = max(worstRSS, peak), max(worstLogin, took)
		rows = append(rows, []string{m[1], fmt.Sprintf("%.1f MB", float64(rss)/1024), fmt.Sprintf("%.1f MB", float64(peak)/1024), took.String(), m[5]})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("web TestAttacks logged no figures:\n%s", out)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "intercomd (`%s`, HTTPS, login on) in a network namespace of its own, attacked from addresses on its lo: "+
		"200 IPv4 addresses, a household IPv6 /64 and 300 more /64s (web's TestAttacks, %d idle connections per flood address). "+
		"After each attack (during it, for the login storm), a phone that logged in before (trusted-device cookie) logs in again; peak RSS is VmHWM since start. "+
		"Machine load matters: the login storm's figure is the argon2id hash of the phone competing for the CPU (see the load average above).\n\n", filepath.Base(daemon), conns)
	b.WriteString(table([]string{"attack", "RSS after", "peak RSS", "known phone logged in in", "of which"}, rows))
	b.WriteString("\n\"Of which\": the phone's TCP connection, its TLS handshake, and the answer (from the request sent to the first byte back: " +
		"the attempt budgets, the wait for a hash slot (a trusted device has a slot of its own, so never waits for a stranger's hash) and its own argon2id hash). " +
		"The attackers run on the same machine as the daemon, so their TLS handshakes take CPU from it as well.\n")
	res.body = b.String()
	res.goals = []goal{
		{"attacks: daemon RSS under every attack", "< 150 MB", fmt.Sprintf("%.1f MB peak", float64(worstRSS)/1024), worstRSS < 150*1024},
		{"attacks: resident logs in during every attack", "< 2 s", "slowest " + worstLogin.String(), worstLogin < 2*time.Second},
	}
	return res, nil
}
