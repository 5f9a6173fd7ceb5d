// Package serve tests `scandeliver serve` as an MTA talks to it: the real
// binary, LMTP over a private unix socket, real Maildirs.
package serve

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/e2e"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

var bin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithBinary(m, &bin, nil)) }

// server is a running `scandeliver serve`.
type server struct {
	cmd    *exec.Cmd
	sock   string
	cfg    string
	vmail  string
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.Write(p)
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// config is a private configuration: virtual mailboxes under vmail, a
// private quarantine and spool.
func config(dir, mailbox, extra string) string {
	return fmt.Sprintf(`[log]
syslog = false
[spool]
dir = %q
[quarantine]
dir = %q
[notify]
sendmail = ["/bin/true"]
[serve]
mailbox = %q
user = %q
%s`, filepath.Join(dir, "spool"), filepath.Join(dir, "q"), mailbox, serviceUser, extra)
}

// serviceUser is the [serve] user of the tests' servers: started as
// root, serve becomes it once its socket is bound.
const serviceUser = "nobody"

// traversable lets every user reach dir (the service user reads the
// configuration and runs the engines from there): dir and its parents
// below the temporary directory become 0755.
func traversable(dir string) {
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
}

// openDir is a temporary directory that the service user may write (a
// command engine's gate and marks).
func openDir(t *testing.T) string {
	dir := t.TempDir()
	traversable(dir)
	os.Chmod(dir, 0o777)
	return dir
}

// chownTree gives the tree at dir to user name.
func chownTree(t *testing.T, dir, name string) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, uid, gid)
		}
		return nil
	})
}

func startServer(t *testing.T, extra string) *server {
	t.Helper()
	return startServerMailbox(t, "", extra)
}

// startCmd starts the server of s (its cfg and sock set) and waits until
// it listens.
func startCmd(t *testing.T, s *server) {
	t.Helper()
	dir := filepath.Dir(s.cfg)
	traversable(dir)
	os.MkdirAll(filepath.Join(dir, "spool"), 0o755)
	os.Chmod(filepath.Join(dir, "spool"), 0o1777)
	if s.vmail != "" {
		os.MkdirAll(s.vmail, 0o755)
		chownTree(t, s.vmail, serviceUser)
	}
	s.cmd = exec.Command(bin, "serve", "-c", s.cfg, "--listen", "unix:"+s.sock)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", s.log())
		}
	})
	for deadline := time.Now().Add(waitLimit); ; {
		if c, err := net.Dial("unix", s.sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server does not listen:\n%s", s.log())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// startServerMailbox starts a server whose [serve] mailbox is mailbox
// ("": virtual mailboxes under s.vmail).
func startServerMailbox(t *testing.T, mailbox, extra string) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{sock: filepath.Join(dir, "lmtp"), cfg: filepath.Join(dir, "c.toml"), vmail: filepath.Join(dir, "vmail")}
	os.MkdirAll(s.vmail, 0o755)
	if mailbox == "" {
		mailbox = s.vmail + "/%d/%n/Maildir/"
	}
	if err := os.WriteFile(s.cfg, []byte(config(dir, mailbox, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	startCmd(t, s)
	return s
}

func (s *server) client(t *testing.T) *smtp.Client {
	t.Helper()
	conn, err := net.Dial("unix", s.sock)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	if err := c.Hello("test.example"); err != nil {
		t.Fatal(err)
	}
	return c
}

// send runs one LMTP transaction and returns the reply per recipient
// ("250 ...", "451 ...") and the RCPT replies of refused ones.
func send(t *testing.T, c *smtp.Client, from string, to []string, msg string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := c.Mail(from, nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	var accepted []string
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			out[r] = "RCPT " + err.Error()
			continue
		}
		accepted = append(accepted, r)
	}
	if len(accepted) == 0 {
		c.Reset()
		return out
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	w.Write([]byte(msg))
	resp, err := w.CloseWithLMTPResponse()
	for r := range resp {
		out[r] = "250"
	}
	var le smtp.LMTPDataError
	if errors.As(err, &le) {
		for r, e := range le {
			out[r] = fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], e.Message)
		}
	} else if err != nil {
		t.Fatalf("end of DATA: %v", err)
	}
	return out
}

func maildirFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "new"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func message(id, body string) string {
	return "From: Alice <alice@example.org>\r\nTo: undisclosed-recipients:;\r\nSubject: test " + id +
		"\r\nMessage-ID: <" + id + "@example.org>\r\n\r\n" + body + "\r\n"
}

// TestServeMultiRecipient: one message, three recipients, one of whose
// mailboxes cannot be created: only that one gets a 4xx, the others get
// exactly one copy each, and an EICAR message is sanitized for all.
func TestServeMultiRecipient(t *testing.T) {
	s := startServer(t, "")
	// example.net/carol is a file: her Maildir cannot be made there, not
	// even by root.
	os.MkdirAll(filepath.Join(s.vmail, "example.net"), 0o755)
	os.WriteFile(filepath.Join(s.vmail, "example.net", "carol"), []byte("in the way"), 0o644)
	chownTree(t, s.vmail, serviceUser) // the server runs as the service user
	c := s.client(t)
	defer c.Close()
	got := send(t, c, "alice@example.org", []string{"bob@example.net", "Carol@example.net", "dave@example.com"}, message("m1", "hello"))
	if !strings.HasPrefix(got["bob@example.net"], "250") || !strings.HasPrefix(got["dave@example.com"], "250") {
		t.Errorf("replies %v", got)
	}
	if !strings.HasPrefix(got["Carol@example.net"], "451 4.") {
		t.Errorf("carol's unwritable mailbox: %q, want 451 4.x.x", got["Carol@example.net"])
	}
	bob := maildirFiles(t, filepath.Join(s.vmail, "example.net", "bob", "Maildir"))
	dave := maildirFiles(t, filepath.Join(s.vmail, "example.com", "dave", "Maildir"))
	if len(bob) != 1 || len(dave) != 1 {
		t.Fatalf("bob has %d copies, dave %d; want one each", len(bob), len(dave))
	}
	for _, m := range []string{bob[0], dave[0]} {
		if !strings.Contains(m, "hello") || !strings.Contains(m, "X-Scandeliver-Status: clean") || !strings.HasPrefix(m, "Return-Path: <alice@example.org>") {
			t.Errorf("delivered:\n%s", m)
		}
	}
	if !strings.Contains(bob[0], "Delivered-To: bob@example.net") || !strings.Contains(dave[0], "Delivered-To: dave@example.com") {
		t.Errorf("Delivered-To: bob:\n%s\ndave:\n%s", bob[0], dave[0])
	}

	// The same session goes on: an infected attachment, two recipients.
	virus := "From: Alice <alice@example.org>\r\nSubject: invoice\r\nMessage-ID: <m2@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b\r\nContent-Type: application/octet-stream; name=x.com\r\nContent-Disposition: attachment; filename=x.com\r\n\r\n" +
		string(builtin.Eicar()) + "\r\n--b--\r\n"
	got = send(t, c, "alice@example.org", []string{"bob@example.net", "dave@example.com"}, virus)
	if got["bob@example.net"] != "250" || got["dave@example.com"] != "250" {
		t.Errorf("replies %v", got)
	}
	bob = maildirFiles(t, filepath.Join(s.vmail, "example.net", "bob", "Maildir"))
	if len(bob) != 2 {
		t.Fatalf("bob has %d messages", len(bob))
	}
	for _, m := range bob {
		if strings.Contains(m, "EICAR-STANDARD") {
			t.Errorf("EICAR delivered:\n%s", m)
		}
	}
	// One log line per recipient, as in one-shot mode.
	for _, want := range []string{`recipient=bob@example.net`, `recipient=Carol@example.net`, `result=deferred`, `action=sanitized`} {
		waitLog(t, s, want)
	}
}

// TestServeMailboxTraversal: a local part or domain that would leave the
// virtual mailbox tree is refused at RCPT, and nothing is written outside.
func TestServeMailboxTraversal(t *testing.T) {
	s := startServer(t, "")
	c := s.client(t)
	defer c.Close()
	bad := []string{"../x@example.net", "\"a/b\"@example.net", "x@..", "x@../../tmp", ".hidden@example.net", "noatsign"}
	got := send(t, c, "alice@example.org", append(bad, "ok@example.net"), message("m3", "hi"))
	for _, b := range bad {
		if !regexp.MustCompile(`^RCPT SMTP error 5\d\d`).MatchString(got[b]) {
			t.Errorf("%q: %q, want 5xx at RCPT", b, got[b])
		}
	}
	if got["ok@example.net"] != "250" {
		t.Errorf("ok: %q", got["ok@example.net"])
	}
	var paths []string
	filepath.Walk(filepath.Dir(s.vmail), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && strings.Contains(p, "/new/") {
			paths = append(paths, p)
		}
		return nil
	})
	if len(paths) != 1 || !strings.HasPrefix(paths[0], filepath.Join(s.vmail, "example.net", "ok", "Maildir", "new")) {
		t.Errorf("files written: %v", paths)
	}
}

// TestServeReloadBrokenConfig: SIGHUP with a broken file keeps the old
// configuration serving; a good one is taken.
func TestServeReloadBrokenConfig(t *testing.T) {
	s := startServer(t, "")
	good, _ := os.ReadFile(s.cfg)
	os.WriteFile(s.cfg, append(good, []byte("\n[serve\nbroken\n")...), 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s, "reload failed")
	c := s.client(t)
	got := send(t, c, "alice@example.org", []string{"bob@example.net"}, message("m4", "still here"))
	c.Close()
	if got["bob@example.net"] != "250" {
		t.Fatalf("after a broken reload: %v", got)
	}
	// A good new file: the status field's name changes.
	os.WriteFile(s.cfg, append(good, []byte("\n[headers]\nstatus = \"X-Reloaded-Status\"\n")...), 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s, "configuration reloaded")
	c = s.client(t)
	send(t, c, "alice@example.org", []string{"bob@example.net"}, message("m5", "reloaded"))
	c.Close()
	msgs := maildirFiles(t, filepath.Join(s.vmail, "example.net", "bob", "Maildir"))
	n := 0
	for _, m := range msgs {
		if strings.Contains(m, "X-Reloaded-Status: clean") {
			n++
		}
	}
	if len(msgs) != 2 || n != 1 {
		t.Errorf("%d messages, %d with the reloaded status field", len(msgs), n)
	}
}

// waitLimit is how long a test waits for what must happen soon (a
// server listening, a log line): it ends as soon as it happens, and a
// minute leaves room for a machine under load (start-up runs the canary
// through the engines).
const waitLimit = time.Minute

func waitLog(t *testing.T, s *server, want string) {
	t.Helper()
	for deadline := time.Now().Add(waitLimit); !strings.Contains(s.log(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", want, s.log())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestServeDrain: SIGTERM while a message is being scanned lets it finish
// (its reply arrives, its copy is there), answers 421 to an idle session,
// refuses new connections, and the server exits 0.
func TestServeDrain(t *testing.T) {
	dir := openDir(t)
	gate, started := filepath.Join(dir, "gate"), filepath.Join(dir, "started")
	// A scanner that waits for the test to open the gate: the message is
	// in flight for as long as the test wants.
	slow := fmt.Sprintf(`
[[engine]]
name = "slow"
type = "command"
command = ["/bin/sh", "-c", ": > %s; while [ ! -e %s ]; do sleep 0.05; done; exit 1", "{}"]
infected = [0]
clean = [1]
send = "raw"
`, started, gate)
	s := startServer(t, "[canary]\ndisable = true\n"+slow)
	// An idle session, spoken to by hand to see what the server says.
	ic, err := net.Dial("unix", s.sock)
	if err != nil {
		t.Fatal(err)
	}
	idle := textproto.NewConn(ic)
	defer idle.Close()
	if _, _, err := idle.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	idle.PrintfLine("LHLO test.example")
	if _, _, err := idle.ReadResponse(250); err != nil {
		t.Fatal(err)
	}
	busy := s.client(t)
	res := make(chan map[string]string, 1)
	go func() {
		res <- send(t, busy, "alice@example.org", []string{"bob@example.net"}, message("m6", "in flight"))
	}()
	for deadline := time.Now().Add(waitLimit); ; { // the message is being scanned
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scanner never started:\n%s", s.log())
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	waitLog(t, s, "finishing the messages in flight")
	// The idle session is told 421 and closed.
	ic.SetReadDeadline(time.Now().Add(10 * time.Second))
	if code, msg, err := idle.ReadResponse(421); err != nil {
		t.Errorf("idle session after SIGTERM: %d %s %v", code, msg, err)
	}
	// No new sessions.
	if c, err := net.Dial("unix", s.sock); err == nil {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 100)
		n, _ := c.Read(b)
		if strings.HasPrefix(string(b[:n]), "220") {
			t.Error("a new session was greeted after SIGTERM")
		}
		c.Close()
	}
	os.WriteFile(gate, nil, 0o644)
	select {
	case got := <-res:
		if got["bob@example.net"] != "250" {
			t.Errorf("the message in flight: %v", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the message in flight never got its reply")
	}
	if n := len(maildirFiles(t, filepath.Join(s.vmail, "example.net", "bob", "Maildir"))); n != 1 {
		t.Errorf("%d copies delivered", n)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit after draining")
	}
	if !strings.Contains(s.log(), "serve: stopped") {
		t.Errorf("log:\n%s", s.log())
	}
}

// TestServeOnwardDovecot: serve hands the scanned message to a private
// Dovecot over LMTP (mailbox = "lmtp:unix:..."), and Dovecot's reply for
// each recipient comes back as it is: 250 for a user it knows, its own
// 550 5.1.1 for one it does not. One-shot mode with --to lmtp:... maps the
// same replies to exit 0 and 67.
func TestServeOnwardDovecot(t *testing.T) {
	d := e2e.StartDovecot(t, "bob@example.net", "dave@example.net")
	s := startServerMailbox(t, "lmtp:unix:"+d.Socket, "")
	c := s.client(t)
	defer c.Close()
	got := send(t, c, "alice@example.org", []string{"bob@example.net", "nobody@example.net", "dave@example.net"}, message("m7", "onward"))
	if got["bob@example.net"] != "250" || got["dave@example.net"] != "250" {
		t.Errorf("replies %v", got)
	}
	if !strings.HasPrefix(got["nobody@example.net"], "550 5.1.1 ") || !strings.Contains(got["nobody@example.net"], "User doesn't exist") {
		t.Errorf("dovecot's unknown user: %q, want its 550 5.1.1", got["nobody@example.net"])
	}
	for _, u := range []string{"bob@example.net", "dave@example.net"} {
		ents, _ := os.ReadDir(d.Maildir(u))
		if len(ents) != 1 {
			t.Fatalf("%s has %d messages in dovecot's Maildir\n%s", u, len(ents), d.Log())
		}
		b, _ := os.ReadFile(filepath.Join(d.Maildir(u), ents[0].Name()))
		if !strings.Contains(string(b), "X-Scandeliver-Status: clean") || !strings.Contains(string(b), "Delivered-To: "+u) || !strings.Contains(string(b), "onward") {
			t.Errorf("%s got:\n%s", u, b)
		}
	}

	// One-shot, the same next hop.
	for rcpt, want := range map[string]int{"bob@example.net": 0, "nobody@example.net": 67} {
		cmd := exec.Command(bin, "-c", s.cfg, "-f", "alice@example.org", "-a", rcpt, "--to", "lmtp:unix:"+d.Socket)
		cmd.Stdin = strings.NewReader(message("m8", "one-shot onward"))
		cmd.Env = []string{"HOME=/nonexistent", "USER=nobody", "PATH=/usr/bin:/bin"}
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != want {
			t.Errorf("one-shot to %s: exit %d, want %d: %s", rcpt, code, want, out)
		}
	}
	if ents, _ := os.ReadDir(d.Maildir("bob@example.net")); len(ents) != 2 {
		t.Errorf("bob has %d messages after one-shot", len(ents))
	}
}

// TestServeMaxSessions: past [serve] max_sessions a new connection is
// answered 421 (the MTA retries); when a session ends, a new one is served.
func TestServeMaxSessions(t *testing.T) {
	s := startServer(t, "max_sessions = 1\n")
	// The start-up probe's connection may still count for a moment.
	var first *smtp.Client
	for deadline := time.Now().Add(waitLimit); first == nil; {
		conn, err := net.Dial("unix", s.sock)
		if err != nil {
			t.Fatal(err)
		}
		c := smtp.NewClientLMTP(conn)
		if err := c.Hello("test.example"); err == nil {
			first = c
		} else if c.Close(); time.Now().After(deadline) {
			t.Fatalf("no first session: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, err := net.Dial("unix", s.sock)
	if err != nil {
		t.Fatal(err)
	}
	tc := textproto.NewConn(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if code, msg, err := tc.ReadResponse(421); err != nil {
		t.Errorf("second session: %d %s %v", code, msg, err)
	}
	tc.Close()
	first.Quit()
	for deadline := time.Now().Add(waitLimit); ; {
		c, err := net.Dial("unix", s.sock)
		if err != nil {
			t.Fatal(err)
		}
		tc := textproto.NewConn(c)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		code, _, _ := tc.ReadResponse(0)
		tc.Close()
		if code == 220 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session after the first ended: %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeSystemUsers: with no [serve] mailbox, the local part names a
// system user, and a child process running as that user writes the
// message into ~/Maildir/: the files are the user's, and a user whose
// home the user cannot write gets a 4xx (root could have written it: the
// write really runs as the user). An unknown user is refused at RCPT.
func TestServeSystemUsers(t *testing.T) {
	base, err := os.MkdirTemp("", "scandeliver-serve-users-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	amy := testenv.NewUser(t, base, "sdsa")
	ben := testenv.NewUser(t, base, "sdsb")
	// Ben's home is root's: he cannot make his Maildir there.
	os.Chown(ben.Home, 0, 0)
	os.Chmod(ben.Home, 0o755)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte(config(dir, "", "")), 0o644)
	s := &server{sock: filepath.Join(dir, "lmtp"), cfg: cfg}
	startCmd(t, s)
	c := s.client(t)
	defer c.Close()
	got := send(t, c, "alice@example.org", []string{amy.Name + "@localhost", ben.Name + "@localhost", "sdnosuchuser@localhost"}, message("m9", "for users"))
	if got[amy.Name+"@localhost"] != "250" {
		t.Errorf("amy: %q", got[amy.Name+"@localhost"])
	}
	if !strings.HasPrefix(got[ben.Name+"@localhost"], "451 4.") {
		t.Errorf("ben, whose home is not his: %q, want 451", got[ben.Name+"@localhost"])
	}
	if !strings.Contains(got["sdnosuchuser@localhost"], "550") {
		t.Errorf("unknown user: %q", got["sdnosuchuser@localhost"])
	}
	newDir := filepath.Join(amy.Home, "Maildir", "new")
	ents, err := os.ReadDir(newDir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("amy's Maildir: %v %v", ents, err)
	}
	for _, p := range []string{filepath.Join(amy.Home, "Maildir"), filepath.Join(newDir, ents[0].Name())} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != amy.Uid || int(st.Gid) != amy.Gid {
			t.Errorf("%s is %d:%d, want amy's %d:%d", p, st.Uid, st.Gid, amy.Uid, amy.Gid)
		}
	}
	if _, err := os.Stat(filepath.Join(ben.Home, "Maildir")); err == nil {
		t.Error("ben's Maildir was made (as root?)")
	}
}

// TestServeTooBig: a message over [serve] max_size, or over the hard
// ceiling [spool] max_size, is refused with 552 for every recipient, and
// nothing is delivered.
func TestServeTooBig(t *testing.T) {
	big := message("m10", strings.Repeat("0123456789abcdef\r\n", 512)) // 9 KiB
	for _, extra := range []string{"max_size = 4096\n", "[canary]\ndisable = true\n"} {
		dir := t.TempDir()
		s := &server{sock: filepath.Join(dir, "lmtp"), cfg: filepath.Join(dir, "c.toml"), vmail: filepath.Join(dir, "vmail")}
		cfg := config(dir, s.vmail+"/%d/%n/Maildir/", extra)
		if !strings.HasPrefix(extra, "max_size") { // the spool's ceiling instead
			cfg = strings.Replace(cfg, "[spool]\n", "[spool]\nmax_size = 4096\n", 1)
		}
		os.WriteFile(s.cfg, []byte(cfg), 0o644)
		startCmd(t, s)
		c := s.client(t)
		got := send(t, c, "alice@example.org", []string{"bob@example.net", "dave@example.net"}, big)
		c.Close()
		for _, r := range []string{"bob@example.net", "dave@example.net"} {
			if !strings.HasPrefix(got[r], "552 5.3.4") {
				t.Errorf("%s: %s: %q, want 552 5.3.4", strings.TrimSpace(extra), r, got[r])
			}
		}
		if n := len(maildirFiles(t, filepath.Join(s.vmail, "example.net", "bob", "Maildir"))); n != 0 {
			t.Errorf("%d delivered", n)
		}
		// A summary line per recipient, as one-shot mode logs it.
		waitLog(t, s, "recipient=dave@example.net")
		if c := strings.Count(s.log(), "result=rejected"); c != 2 {
			t.Errorf("%d result=rejected lines, want 2:\n%s", c, s.log())
		}
	}
}

// TestServePerRecipientVerdict: one message, two recipients, two
// rulesets: the recipient whose ruleset rejects .scr attachments gets
// 550 5.7.1 (the MTA bounces for that recipient only), the other gets
// the message with the attachment replaced by the shipped policy.
func TestServePerRecipientVerdict(t *testing.T) {
	s := startServer(t, `
[[ruleset]]
name = "strict"
match = { recipient = ["bob@example.net"] }
policy = { filename_rules = [{ action = "reject", pattern = '\.scr$' }] }
`)
	msg := "From: Alice <alice@example.org>\r\nSubject: screen saver\r\nMessage-ID: <m11@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nenjoy\r\n" +
		"--b\r\nContent-Type: application/octet-stream; name=x.scr\r\nContent-Disposition: attachment; filename=x.scr\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nZGF0YQ==\r\n--b--\r\n"
	c := s.client(t)
	defer c.Close()
	got := send(t, c, "alice@example.org", []string{"bob@example.net", "dave@example.net"}, msg)
	if !strings.HasPrefix(got["bob@example.net"], "550 5.7.1 ") {
		t.Errorf("bob (strict ruleset): %q, want 550 5.7.1", got["bob@example.net"])
	}
	if got["dave@example.net"] != "250" {
		t.Errorf("dave: %q", got["dave@example.net"])
	}
	if n := len(maildirFiles(t, filepath.Join(s.vmail, "example.net", "bob", "Maildir"))); n != 0 {
		t.Errorf("bob got %d copies", n)
	}
	dave := maildirFiles(t, filepath.Join(s.vmail, "example.net", "dave", "Maildir"))
	if len(dave) != 1 || strings.Contains(dave[0], "ZGF0YQ==") || !strings.Contains(dave[0], "enjoy") {
		t.Errorf("dave got %q", dave)
	}
	waitLog(t, s, `ruleset=strict`)
}

// TestServeConcurrency: four sessions of Postfix's smtp-source -L at
// once, every message accounted for: exactly one copy each.
func TestServeConcurrency(t *testing.T) {
	if _, err := exec.LookPath("smtp-source"); err != nil {
		testenv.Missing(t, "smtp-source not found (Debian package postfix; tests/run.sh installs it)")
	}
	s := startServer(t, "")
	const n = 200
	out, err := exec.Command("smtp-source", "-L", "-s", "4", "-m", strconv.Itoa(n), "-l", "4096",
		"-f", "alice@example.org", "-t", "bob@example.net", "unix:"+s.sock).CombinedOutput()
	if err != nil {
		t.Fatalf("smtp-source: %v: %s", err, out)
	}
	dir := filepath.Join(s.vmail, "example.net", "bob", "Maildir", "new")
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != n {
		t.Fatalf("%d messages delivered, want %d (%v)", len(ents), n, err)
	}
	for deadline := time.Now().Add(waitLimit); strings.Count(s.log(), "result=delivered") != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d summary lines, want %d", strings.Count(s.log(), "result=delivered"), n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestServeCanary: the canary runs at start; an engine that answers but
// does not detect EICAR counts as down, and mail waits (451) instead of
// passing unscanned. After a reload with a working engine, mail flows.
func TestServeCanary(t *testing.T) {
	engine := func(pattern string) string {
		return `
[[engine]]
name = "grep"
type = "command"
command = ["/bin/grep", "-q", "-F", "` + pattern + `", "{}"]
infected = [0]
clean = [1]
`
	}
	s := startServer(t, engine("no such signature"))
	waitLog(t, s, "CANARY FAILED")
	c := s.client(t)
	got := send(t, c, "alice@example.org", []string{"bob@example.net"}, message("m12", "canary"))
	c.Close()
	if !strings.HasPrefix(got["bob@example.net"], "451 4.3.0") || !strings.Contains(got["bob@example.net"], "canary") {
		t.Errorf("with a broken engine: %q, want 451 naming the canary", got["bob@example.net"])
	}
	cfg, _ := os.ReadFile(s.cfg)
	os.WriteFile(s.cfg, []byte(strings.Replace(string(cfg), "no such signature", "EICAR-STANDARD-ANTIVIRUS", 1)), 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s, "configuration reloaded")
	c = s.client(t)
	got = send(t, c, "alice@example.org", []string{"bob@example.net"}, message("m13", "canary fixed"))
	c.Close()
	if got["bob@example.net"] != "250" {
		t.Errorf("after the reload: %q", got["bob@example.net"])
	}
}

// uidEngine is a command engine that appends the uid it runs as to
// marks, then looks for EICAR (so that the canary passes).
func uidEngine(marks string) string {
	return fmt.Sprintf(`
[[engine]]
name = "uid"
type = "command"
command = ["/bin/sh", "-c", "id -u >> %s; exec /bin/grep -q -F EICAR-STANDARD-ANTIVIRUS \"$1\"", "sh", "{}"]
infected = [0]
clean = [1]
`, marks)
}

// checkUids fails unless marks holds at least n uids, none of them 0:
// the engines ran as the service user, never as root.
func checkUids(t *testing.T, marks string, n int) {
	t.Helper()
	b, err := os.ReadFile(marks)
	if err != nil {
		t.Fatalf("the engine left no mark: %v", err)
	}
	uids := strings.Fields(string(b))
	if len(uids) < n {
		t.Fatalf("the engine ran %d times, want at least %d", len(uids), n)
	}
	want := "65534" // nobody
	if u, err := user.Lookup(serviceUser); err == nil {
		want = u.Uid
	}
	for _, u := range uids {
		if u != want {
			t.Errorf("the engine ran as uid %s, want the service user's %s (all: %v)", u, want, uids)
			break
		}
	}
}

// TestServeUnprivileged: serve started as root parses and scans as
// [serve] user, never as root: with system users (mail still written by
// a child running as each user, through the root broker) and with
// virtual mailboxes (the files are the service user's).
func TestServeUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	t.Run("system users", func(t *testing.T) {
		base, err := os.MkdirTemp("", "scandeliver-serve-priv-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(base)
		os.Chmod(base, 0o755)
		amy := testenv.NewUser(t, base, "sdpa")
		marks := filepath.Join(openDir(t), "uids")
		dir := t.TempDir()
		s := &server{sock: filepath.Join(dir, "lmtp"), cfg: filepath.Join(dir, "c.toml")}
		os.WriteFile(s.cfg, []byte(config(dir, "", uidEngine(marks))), 0o644)
		startCmd(t, s)
		c := s.client(t)
		defer c.Close()
		got := send(t, c, "alice@example.org", []string{amy.Name + "@localhost"}, message("p1", "scanned unprivileged"))
		if got[amy.Name+"@localhost"] != "250" {
			t.Fatalf("amy: %q", got[amy.Name+"@localhost"])
		}
		checkUids(t, marks, 2) // the canary, then the message
		newDir := filepath.Join(amy.Home, "Maildir", "new")
		ents, err := os.ReadDir(newDir)
		if err != nil || len(ents) != 1 {
			t.Fatalf("amy's Maildir: %v %v", ents, err)
		}
		fi, _ := os.Stat(filepath.Join(newDir, ents[0].Name()))
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != amy.Uid || int(st.Gid) != amy.Gid {
			t.Errorf("the message is %d:%d, want amy's %d:%d", st.Uid, st.Gid, amy.Uid, amy.Gid)
		}
		// The empty message: 550 5.6.0, as one-shot's exit 65.
		got = send(t, c, "alice@example.org", []string{amy.Name + "@localhost"}, "")
		if !strings.HasPrefix(got[amy.Name+"@localhost"], "550 5.6.0") {
			t.Errorf("empty message: %q, want 550 5.6.0", got[amy.Name+"@localhost"])
		}
		if ents, _ := os.ReadDir(newDir); len(ents) != 1 {
			t.Errorf("after the empty message amy has %d messages, want 1", len(ents))
		}
		// An infected message: the original goes to the quarantine,
		// written by the service user (its entries are its own, in
		// root's sticky directory), and amy gets the sanitized copy.
		virus := "From: Alice <alice@example.org>\r\nSubject: invoice\r\nMessage-ID: <p3@example.org>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
			"--b\r\nContent-Type: application/octet-stream; name=x.com\r\nContent-Disposition: attachment; filename=x.com\r\n\r\n" +
			string(builtin.Eicar()) + "\r\n--b--\r\n"
		got = send(t, c, "alice@example.org", []string{amy.Name + "@localhost"}, virus)
		if got[amy.Name+"@localhost"] != "250" {
			t.Fatalf("infected, for amy: %q", got[amy.Name+"@localhost"])
		}
		svc, _ := user.Lookup(serviceUser)
		q := filepath.Join(dir, "q")
		entries := 0
		filepath.Walk(q, func(p string, fi os.FileInfo, err error) error {
			if err != nil || p == q {
				return nil
			}
			if fi.Mode().IsRegular() {
				entries++
			}
			if uid := fi.Sys().(*syscall.Stat_t).Uid; strconv.Itoa(int(uid)) != svc.Uid {
				t.Errorf("%s is uid %d's, want the service user's %s", p, uid, svc.Uid)
			}
			return nil
		})
		if entries == 0 {
			t.Error("nothing in the quarantine")
		}
		if top, err := os.Stat(q); err != nil || top.Sys().(*syscall.Stat_t).Uid != 0 || top.Mode()&os.ModeSticky == 0 {
			t.Errorf("the quarantine directory: %v %v, want root's and sticky", top, err)
		}
		for _, m := range maildirFiles(t, filepath.Join(amy.Home, "Maildir")) {
			if strings.Contains(m, "EICAR-STANDARD") {
				t.Errorf("EICAR delivered to amy:\n%s", m)
			}
		}
	})
	t.Run("virtual mailboxes, private quarantine", func(t *testing.T) {
		marks := filepath.Join(openDir(t), "uids")
		// The quarantine private to the service user, mode 0700 (the
		// safer setup): serve leaves it so, and writes entries in it.
		dir := t.TempDir()
		s := &server{sock: filepath.Join(dir, "lmtp"), cfg: filepath.Join(dir, "c.toml"), vmail: filepath.Join(dir, "vmail")}
		os.WriteFile(s.cfg, []byte(config(dir, s.vmail+"/%d/%n/Maildir/", uidEngine(marks))), 0o644)
		q := filepath.Join(dir, "q")
		os.Mkdir(q, 0o700)
		chownTree(t, q, serviceUser)
		startCmd(t, s)
		c := s.client(t)
		defer c.Close()
		got := send(t, c, "alice@example.org", []string{"bob@example.net"}, message("p2", "virtual"))
		if got["bob@example.net"] != "250" {
			t.Fatalf("bob: %q", got["bob@example.net"])
		}
		checkUids(t, marks, 2)
		newDir := filepath.Join(s.vmail, "example.net", "bob", "Maildir", "new")
		ents, err := os.ReadDir(newDir)
		if err != nil || len(ents) != 1 {
			t.Fatalf("bob's Maildir: %v %v", ents, err)
		}
		fi, _ := os.Stat(filepath.Join(newDir, ents[0].Name()))
		u, _ := user.Lookup(serviceUser)
		if st := fi.Sys().(*syscall.Stat_t); strconv.Itoa(int(st.Uid)) != u.Uid {
			t.Errorf("the message is uid %d's, want the service user's %s", st.Uid, u.Uid)
		}
		got = send(t, c, "alice@example.org", []string{"bob@example.net"}, message("p4", string(builtin.Eicar())))
		if got["bob@example.net"] != "250" {
			t.Fatalf("infected, for bob: %q", got["bob@example.net"])
		}
		ents, err = os.ReadDir(q)
		if err != nil || len(ents) == 0 {
			t.Errorf("the private quarantine: %v %v, want an entry", ents, err)
		}
		if top, err := os.Stat(q); err != nil || strconv.Itoa(int(top.Sys().(*syscall.Stat_t).Uid)) != u.Uid || top.Mode().Perm() != 0o700 {
			t.Errorf("the private quarantine became %v %v", top, err)
		}
		if strings.Contains(s.log(), "serve: quarantine") {
			t.Errorf("the server complained about its quarantine:\n%s", s.log())
		}
	})
}
