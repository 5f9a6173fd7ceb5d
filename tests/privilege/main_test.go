// Package privilege is the two-user test of the trust boundaries (issue
// 12, sections 1 and 2): real local users, made with useradd(8) for the
// test and removed after it, run the real binary (and the shell) as
// themselves to attack the shared quarantine and spool, and root runs the
// binary as an MTA or an administrator would. Every attack must fail.
//
// It needs root. Without it the tests skip with a message, and fail under
// SCANDELIVER_CI=1 (tests/run.sh runs them as root).
package privilege

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

var bin string

func TestMain(m *testing.M) {
	// The attacker helpers: this test binary, run as a test user.
	if op := os.Getenv("PRIVILEGE_HELPER"); op != "" {
		os.Exit(helper(op))
	}
	os.Exit(testenv.RunWithBinary(m, &bin, nil))
}

// localUser is a user made for one test.
type localUser = testenv.User

// needRoot skips (fails under CI) a test that must create users.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "needs root: it creates local users (useradd) and runs the binary as them")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		testenv.Missing(t, "useradd not found (Debian package passwd)")
	}
}

// newUser creates a local user (own group, home under base) and removes
// it when the test ends.
func newUser(t *testing.T, base, role string) localUser {
	t.Helper()
	return testenv.NewUser(t, base, "sdq"+role)
}

// box is a private installation: spool (1777, like
// /var/spool/scandeliver/tmp), quarantine (made by "quarantine init" as
// root), a configuration, a sendmail stand-in that records the uid it
// runs as.
type box struct {
	dir, spool, qdir, cfg, sendmail, sent string
}

// newBox makes a box; quarantine and notify are extra lines for those
// tables, extra more tables.
func newBox(t *testing.T, quarantine, notify, extra string) *box {
	t.Helper()
	dir, err := os.MkdirTemp("", "scandeliver-privilege-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the test users reach their homes and the spool
	b := &box{dir: dir, spool: filepath.Join(dir, "spool"), qdir: filepath.Join(dir, "quarantine"),
		cfg: filepath.Join(dir, "scandeliver.toml"), sendmail: filepath.Join(dir, "fake-sendmail"), sent: filepath.Join(dir, "sent")}
	if err := os.Mkdir(b.spool, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(b.spool, 0o777|os.ModeSticky)
	if err := os.Mkdir(b.sent, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(b.sent, 0o777|os.ModeSticky)
	// A fake sendmail, named as such: what it shows is the uid the
	// notices' sendmail runs as, which a real one would not record.
	script := "#!/bin/sh\n# fake sendmail: records who ran it, the arguments and the message\n" +
		"f=" + b.sent + "/$$\nid -u > \"$f.uid\"\nprintf '%s\\n' \"$@\" > \"$f.args\"\ncat > \"$f.msg\"\n"
	if err := os.WriteFile(b.sendmail, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("[log]\nsyslog = false\n[spool]\ndir = %q\n[quarantine]\ndir = %q\n%s\n[notify]\nsendmail = [%q]\n%s\n[release]\nkey = %q\n%s",
		b.spool, b.qdir, quarantine, b.sendmail, notify, filepath.Join(dir, "release.key"), extra)
	if err := os.WriteFile(b.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, nil, nil, "quarantine", "init", "-c", b.cfg); r.code != 0 {
		t.Fatalf("quarantine init: exit %d: %s", r.code, r.stderr)
	}
	return b
}

// sendmailUIDs lists the uids the fake sendmail ran as.
func (b *box) sendmailUIDs(t *testing.T) []int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.sent, "*.uid"))
	var out []int
	for _, f := range files {
		s, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(s)))
		if err != nil {
			t.Fatalf("%s: %q", f, s)
		}
		out = append(out, n)
	}
	return out
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary, as u (nil: root), with stdin.
func run(t *testing.T, u *localUser, stdin []byte, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	return runCmd(t, cmd, u, stdin)
}

// sh runs a shell command line as u: the attacker's own tools.
func sh(t *testing.T, u *localUser, script string) result {
	t.Helper()
	return runCmd(t, exec.Command("/bin/sh", "-c", script), u, nil)
}

func runCmd(t *testing.T, cmd *exec.Cmd, u *localUser, stdin []byte) result {
	t.Helper()
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	if u != nil {
		cmd.Env = append(cmd.Env, "HOME="+u.Home, "USER="+u.Name, "LOGNAME="+u.Name)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid), Groups: []uint32{uint32(u.Gid)}}}
	}
	r := testenv.Run(t, cmd, stdin)
	return result{r.Code, r.Stdout, r.Stderr}
}

// uidOf is the owner of path (without following a link).
func uidOf(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}
