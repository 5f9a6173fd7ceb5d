package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Debian's sendmail-bin conflicts with postfix (both provide
// mail-transport-agent), so sendmail itself does not run here. These
// tests make the exact invocation of sendmail's Mlocal mailer as
// documented (Mlocal, P=.../scandeliver, A=scandeliver -f $g -d $u):
// as root, argv[0] "scandeliver", the message on stdin, sendmail's
// mailer environment (AGENT=sendmail and nothing else), the working
// directory "/".
//
// Debian's ostype (cf/ostype/debian.m4) drops the m flag from Mlocal and
// adds S (run as root), so sendmail calls the mailer once per recipient.
// todo: with the generic LOCAL_MAILER_FLAGS (Prmn9, m included) sendmail
// would call "scandeliver -f $g -d u1 u2" for two local recipients, which
// scandeliver rejects with exit 64 (a bounce); the README's sendmail.mc
// lines should drop m, or -d accept several users like mail.local.

// mlocal runs scandeliver as sendmail runs Mlocal and returns its exit
// status and standard error.
func mlocal(t *testing.T, bin, from, user string, stdin []byte) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, "-f", from, "-d", user)
	cmd.Args[0] = "scandeliver"
	cmd.Env = []string{"AGENT=sendmail"}
	cmd.Dir = "/"
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	}
	t.Fatalf("running %s: %v", bin, err)
	return -1, ""
}

func TestSendmailMlocal(t *testing.T) {
	Need(t, "useradd")
	if _, err := os.Stat(defaultConfigPath); err == nil {
		t.Logf("note: %s exists and applies (Mlocal passes no -c)", defaultConfigPath)
	}
	dir := t.TempDir()
	chmod(t, dir, 0o755)
	bin := BuildScandeliver(t, filepath.Join(dir, "bin"))
	EnsureUser(t, User1)
	u := lookupIDs(t, User1)
	maildir := filepath.Join(Home(t, User1), "Maildir")

	msg := testMessage("mlocal", "through sendmail's Mlocal", "Hello from sendmail.\nFrom here on.\n")
	cases := []struct {
		name  string
		stdin []byte
	}{
		// The default Mlocal flags (F=...Prmn9): sendmail writes a
		// Return-Path: on top and no From_ line.
		{"return-path", append([]byte("Return-Path: <"+sender+">\n"), msg...)},
		// Without the n flag sendmail writes a From_ line first.
		{"from-line", append([]byte("From "+sender+" Fri Nov 27 10:00:01 2026\n"), msg...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ResetMailboxes(t, User1)
			code, stderr := mlocal(t, bin, sender, User1, c.stdin)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			files := MaildirFiles(t, maildir)
			if len(files) != 1 {
				t.Fatalf("%d messages in %s, want 1", len(files), maildir)
			}
			// Privileges dropped: the mailbox and the message belong to
			// the user, not root.
			for _, p := range []string{maildir, filepath.Join(maildir, "new"), files[0]} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				if int(st.Uid) != u.uid || int(st.Gid) != u.gid {
					t.Errorf("%s owned by %d:%d, want %s's %d:%d", p, st.Uid, st.Gid, User1, u.uid, u.gid)
				}
			}
			got, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			// The two fields on top, in either order (scandeliver
			// prepends Delivered-To above sendmail's Return-Path), then
			// the message as given, without the From_ line.
			rp := "Return-Path: <" + sender + ">\n"
			dt := "Delivered-To: " + User1 + "\n" + "X-Scandeliver-Status: clean\n"
			if !bytes.Equal(got, append([]byte(rp+dt), msg...)) && !bytes.Equal(got, append([]byte(dt+rp), msg...)) {
				t.Errorf("delivered:\n%s\nwant %q and %q on top of:\n%s", got, rp, dt, msg)
			}
			t.Logf("fields on top: %q", got[:len(rp)+len(dt)])
		})
	}

	t.Run("unknown-user", func(t *testing.T) {
		const nobody = "sdtest-nosuchuser"
		code, stderr := mlocal(t, bin, sender, nobody, msg)
		if code != 67 {
			t.Errorf("-d %s: exit %d, want 67 (EX_NOUSER); stderr:\n%s", nobody, code, stderr)
		}
		if _, err := os.Stat(filepath.Join("/home", nobody)); err == nil {
			t.Errorf("/home/%s created for an unknown user", nobody)
		}
	})
}

// defaultConfigPath is the file scandeliver reads without -c.
const defaultConfigPath = "/etc/scandeliver/scandeliver.toml"
