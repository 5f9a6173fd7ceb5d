package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// Dovecot is a private Dovecot started by a test with only its LMTP
// service, on a private socket, delivering to Maildirs under Mail for
// the users of a private passwd-file (all with the uid of nobody). Other
// addresses get Dovecot's own "550 5.1.1 User doesn't exist".
type Dovecot struct {
	Dir    string // its directory, mode 0755
	Socket string // the LMTP socket (mode 0666)
	Mail   string // user U's Maildir is Mail/U/Maildir
	conf   string
	cmd    *exec.Cmd
}

// StartDovecot starts a private Dovecot knowing the given addresses; it
// is stopped when the test ends. It needs root (Dovecot's master) and
// the Debian packages dovecot-core and dovecot-lmtpd.
func StartDovecot(t testing.TB, users ...string) *Dovecot {
	t.Helper()
	if _, err := os.Stat("/usr/lib/dovecot/lmtp"); err != nil {
		testenv.Missing(t, "dovecot's lmtp not found (tests/run.sh installs dovecot-core and dovecot-lmtpd)")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "a private Dovecot needs root")
	}
	dir, err := os.MkdirTemp("", "scandeliver-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	d := &Dovecot{Dir: dir, Socket: filepath.Join(dir, "lmtp"), Mail: filepath.Join(dir, "mail"), conf: filepath.Join(dir, "dovecot.conf")}
	t.Cleanup(func() { d.stop(t); os.RemoveAll(dir) })
	const nobody = 65534
	if err := os.Mkdir(d.Mail, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(d.Mail, nobody, nobody)
	var pw strings.Builder
	for _, u := range users {
		fmt.Fprintf(&pw, "%s::%d:%d::%s::\n", u, nobody, nobody, filepath.Join(d.Mail, u))
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(pw.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
instance_name = scandeliver-test-%[2]d
protocols = lmtp
ssl = no
listen = 127.0.0.1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = %[1]s/users
}
userdb {
  driver = passwd-file
  args = %[1]s/users
}
service lmtp {
  unix_listener %[3]s {
    mode = 0666
  }
}
`, dir, os.Getpid(), d.Socket)
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// In the foreground (-F): the test owns the master process, and no
	// daemon outlives it.
	d.cmd = exec.Command("/usr/sbin/dovecot", "-F", "-c", d.conf)
	d.cmd.Stdout, d.cmd.Stderr = os.Stderr, os.Stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	// A minute: it ends as soon as Dovecot listens, and leaves room for
	// a machine under load.
	for deadline := time.Now().Add(time.Minute); ; {
		if c, err := net.Dial("unix", d.Socket); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot does not listen on %s:\n%s", d.Socket, log)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return d
}

// Maildir is the new/ directory of user u's Maildir.
func (d *Dovecot) Maildir(u string) string { return filepath.Join(d.Mail, u, "Maildir", "new") }

// Log is Dovecot's log.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
	return string(b)
}

func (d *Dovecot) stop(t testing.TB) {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	terminate(d.cmd, 10*time.Second)
}
