package serve

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/e2e"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

// postfixFront starts a private Postfix whose virtual domain example.net
// goes to the server s over LMTP (virtual_transport = lmtp:unix:...).
func postfixFront(t *testing.T, s *server) *e2e.Postfix {
	t.Helper()
	// Postfix's lmtp client runs as postfix: the socket's directories
	// must be searchable, and the socket is the postfix group's
	// ([serve] socket_group).
	for d := filepath.Dir(s.sock); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	return e2e.StartPostfix(t, e2e.Options{
		NoBuild:        true,
		MailboxCommand: "/bin/false",
		// No system users: the harness's shared test users belong to
		// tests/e2e, which may run at the same time.
		Users: []string{},
		Main: map[string]string{
			"virtual_mailbox_domains": "example.net",
			"virtual_transport":       "lmtp:unix:" + s.sock,
		},
	})
}

func postfixStatuses(t *testing.T, p *e2e.Postfix, qid string, n int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, st := range p.WaitStatuses(t, qid, n, 60*time.Second) {
		out[st.To] = append(out[st.To], st.Status)
	}
	return out
}

// TestPostfixMultiRecipient: Postfix hands one message for three virtual
// recipients to serve in one LMTP transaction; the recipient whose
// mailbox cannot be made is deferred alone, and when it is fixed the
// retry delivers to it only: everyone ends with exactly one copy.
func TestPostfixMultiRecipient(t *testing.T) {
	e2e.Need(t, "postfix")
	s := startServer(t, "socket_group = \"postfix\"\n")
	p := postfixFront(t, s)
	block := filepath.Join(s.vmail, "example.net", "carol")
	os.MkdirAll(filepath.Dir(block), 0o755)
	os.WriteFile(block, []byte("in the way"), 0o644)
	chownTree(t, s.vmail, serviceUser) // the server runs as the service user
	qid := p.Send(t, "alice@example.org", "bob@example.net,carol@example.net,dave@example.net", []byte(message("pf1", "through postfix")))
	st := postfixStatuses(t, p, qid, 3)
	if strings.Join(st["bob@example.net"], ",") != "sent" || strings.Join(st["dave@example.net"], ",") != "sent" || strings.Join(st["carol@example.net"], ",") != "deferred" {
		t.Fatalf("first attempt: %v", st)
	}
	os.Remove(block)
	p.Flush(t)
	st = postfixStatuses(t, p, qid, 4)
	if strings.Join(st["carol@example.net"], ",") != "deferred,sent" || len(st["bob@example.net"]) != 1 || len(st["dave@example.net"]) != 1 {
		t.Fatalf("after the retry: %v", st)
	}
	for _, u := range []string{"bob", "carol", "dave"} {
		msgs := maildirFiles(t, filepath.Join(s.vmail, "example.net", u, "Maildir"))
		if len(msgs) != 1 || !strings.Contains(msgs[0], "through postfix") || !strings.Contains(msgs[0], "X-Scandeliver-Status: clean") {
			t.Errorf("%s: %d copies: %q", u, len(msgs), msgs)
		}
	}
}

// TestPostfixKillMidData: serve is killed (SIGKILL) while a message is
// being scanned; Postfix defers it, nothing is delivered, and once serve
// is back the retry delivers exactly one copy to each recipient.
func TestPostfixKillMidData(t *testing.T) {
	e2e.Need(t, "postfix")
	dir := openDir(t)
	gate, started := filepath.Join(dir, "gate"), filepath.Join(dir, "started")
	slow := `
[canary]
disable = true
[[engine]]
name = "slow"
type = "command"
command = ["/bin/sh", "-c", ": >> ` + started + `; while [ ! -e ` + gate + ` ]; do sleep 0.05; done; exit 1", "{}"]
infected = [0]
clean = [1]
send = "raw"
`
	s := startServer(t, "socket_group = \"postfix\"\n"+slow)
	p := postfixFront(t, s)
	qid := p.Send(t, "alice@example.org", "bob@example.net,dave@example.net", []byte(message("pf2", "killed mid-data")))
	for i := 0; ; i++ {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if i > 600 {
			t.Fatalf("the message never reached the scanner:\n%s", s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	st := postfixStatuses(t, p, qid, 2)
	if strings.Join(st["bob@example.net"], ",") != "deferred" || strings.Join(st["dave@example.net"], ",") != "deferred" {
		t.Fatalf("after the kill: %v", st)
	}
	for _, u := range []string{"bob", "dave"} {
		if n := len(maildirFiles(t, filepath.Join(s.vmail, "example.net", u, "Maildir"))); n != 0 {
			t.Errorf("%s has %d copies after the kill", u, n)
		}
	}
	// Back up, the scanner answers at once now.
	os.WriteFile(gate, nil, 0o644)
	startCmd(t, s)
	p.Flush(t)
	st = postfixStatuses(t, p, qid, 4)
	for _, u := range []string{"bob", "dave"} {
		if strings.Join(st[u+"@example.net"], ",") != "deferred,sent" {
			t.Errorf("%s: %v", u, st[u+"@example.net"])
		}
		if n := len(maildirFiles(t, filepath.Join(s.vmail, "example.net", u, "Maildir"))); n != 1 {
			t.Errorf("%s has %d copies, want exactly 1", u, n)
		}
	}
}

// TestPostfixMailboxTransport: local users through serve
// (mailbox_transport = lmtp:unix:...), with no [serve] mailbox: each
// recipient's ~/Maildir/ is written by a child running as that user.
func TestPostfixMailboxTransport(t *testing.T) {
	e2e.Need(t, "postfix")
	base, err := os.MkdirTemp("", "scandeliver-serve-mt-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	amy := testenv.NewUser(t, base, "sdma")
	dir := t.TempDir()
	s := &server{sock: filepath.Join(dir, "lmtp"), cfg: filepath.Join(dir, "c.toml")}
	os.WriteFile(s.cfg, []byte(config(dir, "", "socket_group = \"postfix\"\n")), 0o644)
	startCmd(t, s)
	for d := filepath.Dir(s.sock); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	p := e2e.StartPostfix(t, e2e.Options{
		NoBuild:        true,
		MailboxCommand: "/bin/false",
		Users:          []string{},
		Main: map[string]string{
			"mailbox_command":   "",
			"mailbox_transport": "lmtp:unix:" + s.sock,
		},
	})
	qid := p.Send(t, "alice@example.org", p.Address(amy.Name), []byte(message("pf3", "local user via lmtp")))
	st := postfixStatuses(t, p, qid, 1)
	if strings.Join(st[p.Address(amy.Name)], ",") != "sent" {
		t.Fatalf("statuses %v", st)
	}
	newDir := filepath.Join(amy.Home, "Maildir", "new")
	ents, err := os.ReadDir(newDir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("amy's Maildir: %v %v", ents, err)
	}
	fi, _ := os.Stat(filepath.Join(newDir, ents[0].Name()))
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != amy.Uid {
		t.Errorf("the message is uid %d's, want amy's %d", st.Uid, amy.Uid)
	}
	b, _ := os.ReadFile(filepath.Join(newDir, ents[0].Name()))
	if !strings.Contains(string(b), "local user via lmtp") || !strings.Contains(string(b), "X-Scandeliver-Status: clean") {
		t.Errorf("delivered:\n%s", b)
	}
}
