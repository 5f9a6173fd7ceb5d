package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// DefaultDomain is the mail domain a private instance delivers locally.
const DefaultDomain = "e2e.scandeliver.test"

// The local test users: in the standard tests the first gets mail
// through mailbox_command, the second through a ~/.forward pipe.
const (
	User1 = "sdtest1"
	User2 = "sdtest2"
)

// syslogName tags the private instance's log lines.
const syslogName = "postfix-e2e"

// DefaultConfig is the scandeliver.toml written for an instance when
// Options.Config is empty. "{dir}" stands for Postfix.Dir.
const DefaultConfig = `[deliver]
default = "~/Maildir/"

[spool]
dir = "{dir}/spool"
memory = "1MB"

[log]
syslog = false
`

// Options configure a private Postfix instance. The zero value is the
// standard set-up: scandeliver as mailbox_command for every user.
type Options struct {
	// Domain is the domain delivered locally (mydestination);
	// "" = DefaultDomain.
	Domain string
	// Users are created with useradd when missing, and their mailboxes
	// (~/Maildir, ~/mbox), ~/.forward and ~/.procmailrc are removed at
	// start; nil = User1 and User2.
	Users []string
	// MailboxCommand replaces main.cf's mailbox_command; "" runs the
	// scandeliver binary built for the instance:
	//   {scandeliver} -c {config} -a "$RECIPIENT"
	// "{scandeliver}", "{config}" and "{dir}" are replaced by the binary,
	// its configuration file and Postfix.Dir.
	MailboxCommand string
	// Forward maps a user to the content of ~/.forward, with the same
	// replacements as MailboxCommand.
	Forward map[string]string
	// Config is the scandeliver.toml of the instance ("{dir}" replaced);
	// "" = DefaultConfig.
	Config string
	// Main are extra main.cf parameters, applied after the harness's own.
	Main map[string]string
	// NoBuild skips building scandeliver (Binary stays ""), for a
	// stand-in mailbox_command.
	NoBuild bool
}

// Postfix is a running private Postfix instance. Everything it owns is
// under Dir; the system's /etc/postfix is neither read for its settings
// nor changed.
type Postfix struct {
	Dir       string // the instance's temporary tree, mode 0755
	ConfigDir string // its main.cf and master.cf (postfix -c ConfigDir)
	QueueDir  string // queue_directory
	LogFile   string // maillog_file: every line the instance logs
	Addr      string // smtpd's 127.0.0.1:port
	Domain    string
	// Binary is the scandeliver binary local(8) runs, and Config its -c
	// file; SpoolDir is its spool (mode 1777, shared by the users).
	Binary   string
	Config   string
	SpoolDir string
	Users    []string
}

// Need checks that the test can start an instance: root, and the
// programs the harness runs. It skips (fails under CI) otherwise.
func Need(t testing.TB, programs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the end-to-end tests need root (Postfix, useradd, privilege drop)")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			testenv.Missing(t, p+" not found (tests/run.sh installs it)")
		}
	}
}

// StartPostfix builds scandeliver, creates the test users and starts a
// private Postfix instance; it is stopped and removed when the test ends.
func StartPostfix(t *testing.T, opts Options) *Postfix {
	t.Helper()
	Need(t, "postfix", "postconf", "postqueue", "swaks", "useradd")
	if opts.Domain == "" {
		opts.Domain = DefaultDomain
	}
	if opts.Users == nil {
		opts.Users = []string{User1, User2}
	}
	dir, err := os.MkdirTemp("", "scandeliver-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// local(8) runs the binary as the recipient: the whole path must be
	// searchable by everyone.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &Postfix{
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "etc"),
		QueueDir:  filepath.Join(dir, "queue"),
		LogFile:   filepath.Join(dir, "log", "maillog"),
		Domain:    opts.Domain,
		Config:    filepath.Join(dir, "scandeliver.toml"),
		SpoolDir:  filepath.Join(dir, "spool"),
		Users:     opts.Users,
	}
	for _, d := range []string{p.ConfigDir, p.QueueDir, filepath.Join(dir, "data"), filepath.Dir(p.LogFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// master.lock and the caches live in data_directory, owned by the
	// mail_owner; post-install creates the queue's subdirectories.
	if err := chownName(filepath.Join(dir, "data"), "postfix", "postfix"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p.SpoolDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p.SpoolDir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if !opts.NoBuild {
		p.Binary = BuildScandeliver(t, filepath.Join(dir, "bin"))
	}
	repl := strings.NewReplacer("{scandeliver}", p.Binary, "{config}", p.Config, "{dir}", dir)
	cfg := opts.Config
	if cfg == "" {
		cfg = DefaultConfig
	}
	if err := os.WriteFile(p.Config, []byte(repl.Replace(cfg)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range opts.Users {
		EnsureUser(t, u)
		ResetMailboxes(t, u)
	}
	for u, content := range opts.Forward {
		writeUserFile(t, u, ".forward", repl.Replace(content))
	}

	port := freePort(t)
	p.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	mc := opts.MailboxCommand
	if mc == "" {
		mc = `{scandeliver} -c {config} -a "$RECIPIENT"`
	}
	main := []string{
		"compatibility_level = 3.6",
		"queue_directory = " + p.QueueDir,
		"data_directory = " + filepath.Join(dir, "data"),
		"syslog_name = " + syslogName,
		"maillog_file = " + p.LogFile,
		"maillog_file_prefixes = " + filepath.Dir(p.LogFile),
		"myhostname = " + opts.Domain,
		"mydomain = " + opts.Domain,
		"myorigin = $myhostname",
		"mydestination = " + opts.Domain,
		"inet_interfaces = loopback-only",
		"inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination",
		"smtpd_tls_security_level = none",
		"relayhost =",
		"alias_maps =",
		"alias_database =",
		"default_transport = error:no outbound mail from the e2e instance",
		"relay_transport = error:no outbound mail from the e2e instance",
		"biff = no",
		"mailbox_size_limit = 0",
		"message_size_limit = 64000000",
		"allow_mail_to_commands = alias, forward",
		// Only an explicit postqueue -f retries a deferred message, so
		// that a test sees exactly the attempts it causes.
		"queue_run_delay = 1h",
		"minimal_backoff_time = 1h",
		"maximal_backoff_time = 2h",
		"mailbox_command = " + repl.Replace(mc),
	}
	keys := make([]string, 0, len(opts.Main))
	for k := range opts.Main {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		main = append(main, k+" = "+repl.Replace(opts.Main[k]))
	}
	writeFile(t, filepath.Join(p.ConfigDir, "main.cf"), strings.Join(main, "\n")+"\n")
	writeFile(t, filepath.Join(p.ConfigDir, "master.cf"), masterCF(p.Addr))

	t.Cleanup(func() { p.stop(t) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Postfix log (%s):\n%s", p.LogFile, tail(p.Log(), 60))
		}
	})
	if out, err := exec.Command("postfix", "-c", p.ConfigDir, "start").CombinedOutput(); err != nil {
		t.Fatalf("postfix -c %s start: %v\n%s\n%s", p.ConfigDir, err, out, p.Log())
	}
	waitListening(t, p.Addr, 15*time.Second)
	return p
}

// masterCF is a minimal master.cf: smtpd on addr only, nothing chrooted
// (the chroot would need copies of /etc files in the queue directory).
func masterCF(addr string) string {
	return addr + ` inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`
}

func (p *Postfix) stop(t *testing.T) {
	pid := p.masterPID()
	if out, err := exec.Command("postfix", "-c", p.ConfigDir, "stop").CombinedOutput(); err != nil {
		t.Errorf("postfix -c %s stop: %v\n%s", p.ConfigDir, err, out)
	}
	// Wait for the master to go, so that nothing writes under Dir while
	// it is removed.
	for deadline := time.Now().Add(15 * time.Second); pid > 0 && time.Now().Before(deadline); {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pid > 0 && syscall.Kill(pid, 0) == nil {
		t.Errorf("Postfix master %d still running after postfix stop", pid)
	}
}

func (p *Postfix) masterPID() int {
	b, err := os.ReadFile(filepath.Join(p.QueueDir, "pid", "master.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// Address returns user@Domain.
func (p *Postfix) Address(user string) string { return user + "@" + p.Domain }

// Send submits msg over SMTP with swaks, from one envelope sender to one
// or more comma-separated recipients, and returns the queue id Postfix
// answered. msg is sent as it is: line ends become CRLF on the wire, and
// a final line end is added when missing (see SMTPData).
func (p *Postfix) Send(t testing.TB, from, to string, msg []byte) string {
	t.Helper()
	f, err := os.CreateTemp(p.Dir, "send-*.eml")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(SMTPData(msg)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// --no-data-fixup: swaks otherwise rewrites the message (a literal
	// backslash-n becomes a line break, %TOKENS% are expanded, a leading
	// From_ line is dropped, a final "\n." line is taken for the end).
	cmd := exec.Command("swaks", "--server", p.Addr, "--helo", "client.e2e.test",
		"--from", from, "--to", to, "--data", f.Name(), "--no-data-fixup",
		"--suppress-data", "--timeout", "60")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("swaks to %s: %v\n%s", to, err, out)
	}
	m := regexp.MustCompile(`queued as ([0-9A-Za-z]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("swaks: no queue id in the answer:\n%s", out)
	}
	return string(m[1])
}

// SMTPData is msg as the DATA of an SMTP transaction: CRLF line ends,
// leading dots doubled, a final line end, and the closing "." (swaks
// adds the last CRLF).
func SMTPData(msg []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(msg) + len(msg)/32 + 8)
	for len(msg) > 0 {
		line := msg
		next := []byte(nil)
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, next = msg[:i], msg[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 && line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
		b.WriteString("\r\n")
		msg = next
	}
	b.WriteString(".")
	return b.Bytes()
}

// Stored is msg as Postfix hands it to a delivery agent: LF line ends
// and a final line end.
func Stored(msg []byte) []byte {
	out := bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// Log returns the instance's log so far.
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(p.LogFile)
	return string(b)
}

// WaitLog waits until a line of the log matches re and returns it.
func (p *Postfix) WaitLog(t testing.TB, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.Log(), "\n") {
			if re.MatchString(line) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching %q within %v:\n%s", re, timeout, tail(p.Log(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Status is one delivery attempt logged by Postfix for a recipient.
type Status struct {
	QueueID string
	To      string // the final recipient, to=<...>
	Status  string // sent, deferred, bounced, expired
	Line    string
}

var statusRE = regexp.MustCompile(`: ([0-9A-Za-z]+): to=<([^>]*)>,.* status=([a-z]+)`)

// Statuses returns the delivery attempts logged so far for queue id qid.
func (p *Postfix) Statuses(qid string) []Status {
	var out []Status
	for _, line := range strings.Split(p.Log(), "\n") {
		m := statusRE.FindStringSubmatch(line)
		if m != nil && m[1] == qid {
			out = append(out, Status{QueueID: m[1], To: m[2], Status: m[3], Line: line})
		}
	}
	return out
}

// WaitStatuses waits until at least n delivery attempts are logged for
// qid and returns them all.
func (p *Postfix) WaitStatuses(t testing.TB, qid string, n int, timeout time.Duration) []Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := p.Statuses(qid)
		if len(st) >= n {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d delivery attempts logged within %v, want %d:\n%s", qid, len(st), timeout, n, tail(p.Log(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitRemoved waits until Postfix logs that qid left the queue.
func (p *Postfix) WaitRemoved(t testing.TB, qid string, timeout time.Duration) {
	t.Helper()
	p.WaitLog(t, regexp.MustCompile(`: `+regexp.QuoteMeta(qid)+`: removed$`), timeout)
}

// Queue returns the queue ids in the instance's queue (postqueue -j).
func (p *Postfix) Queue(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("postqueue", "-c", p.ConfigDir, "-j").Output()
	if err != nil {
		t.Fatalf("postqueue -c %s -j: %v", p.ConfigDir, err)
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e struct {
			QueueID string `json:"queue_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("postqueue -j: %v: %q", err, sc.Text())
		}
		ids = append(ids, e.QueueID)
	}
	return ids
}

// Flush asks Postfix to retry every queued message now (postqueue -f).
func (p *Postfix) Flush(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("postqueue", "-c", p.ConfigDir, "-f").CombinedOutput(); err != nil {
		t.Fatalf("postqueue -c %s -f: %v\n%s", p.ConfigDir, err, out)
	}
}

// Postconf changes main.cf parameters ("name = value") and reloads.
func (p *Postfix) Postconf(t testing.TB, params ...string) {
	t.Helper()
	args := append([]string{"-c", p.ConfigDir, "-e"}, params...)
	if out, err := exec.Command("postconf", args...).CombinedOutput(); err != nil {
		t.Fatalf("postconf %v: %v\n%s", params, err, out)
	}
	if out, err := exec.Command("postfix", "-c", p.ConfigDir, "reload").CombinedOutput(); err != nil {
		t.Fatalf("postfix reload: %v\n%s", err, out)
	}
}

// Home returns a user's home directory.
func Home(t testing.TB, name string) string {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u.HomeDir
}

// Maildir returns the path of a user's ~/Maildir.
func (p *Postfix) Maildir(t testing.TB, user string) string {
	return filepath.Join(Home(t, user), "Maildir")
}

// MaildirFiles returns the messages in a Maildir's new/ and cur/, by name.
func MaildirFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			files = append(files, filepath.Join(dir, sub, e.Name()))
		}
	}
	sort.Strings(files)
	return files
}

// EnsureUser creates a local user with a home directory unless it
// exists (idempotent), and keeps the user the test's until it ends.
func EnsureUser(t testing.TB, name string) {
	t.Helper()
	lockUser(t, name)
	if _, err := user.Lookup(name); err == nil {
		return
	}
	out, err := exec.Command("useradd", "--create-home", "--user-group",
		"--shell", "/usr/sbin/nologin", "--comment", "scandeliver e2e test user", name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
}

// userLocks are the shared test users this process holds: each is one
// test's at a time, across processes too (an flock(2) on a file named
// after the user), since two go test runs on one machine share
// /etc/passwd and the users' Maildirs: another run's test resetting or
// delivering to the same Maildir made counts of delivered messages
// wrong. A test holds a user from EnsureUser to its end; EnsureUser
// again in the same process (a subtest) counts.
var userLocks struct {
	sync.Mutex
	held map[string]*heldUser
}

type heldUser struct {
	f *os.File
	n int
}

func lockUser(t testing.TB, name string) {
	t.Helper()
	userLocks.Lock()
	defer userLocks.Unlock()
	if userLocks.held == nil {
		userLocks.held = map[string]*heldUser{}
	}
	h := userLocks.held[name]
	if h == nil {
		path := filepath.Join(os.TempDir(), "scandeliver-e2e-user-"+name+".lock")
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Logf("waiting for %s: another test run on this machine uses the user (%s)", name, path)
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				f.Close()
				t.Fatalf("flock %s: %v", path, err)
			}
		}
		h = &heldUser{f: f}
		userLocks.held[name] = h
	}
	h.n++
	t.Cleanup(func() {
		userLocks.Lock()
		defer userLocks.Unlock()
		if h.n--; h.n == 0 {
			h.f.Close() // releases the flock
			delete(userLocks.held, name)
		}
	})
}

// ResetMailboxes removes a test user's mailboxes and delivery files.
func ResetMailboxes(t testing.TB, name string) {
	t.Helper()
	home := Home(t, name)
	for _, f := range []string{"Maildir", "mbox", "mbox.lock", ".forward", ".procmailrc"} {
		if err := os.RemoveAll(filepath.Join(home, f)); err != nil {
			t.Fatal(err)
		}
	}
}

func writeUserFile(t testing.TB, name, file, content string) {
	t.Helper()
	path := filepath.Join(Home(t, name), file)
	writeFile(t, path, content)
	if err := chownName(path, name, ""); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// chownName gives path to a user and group by name ("" group: the
// user's primary group).
func chownName(path, userName, group string) error {
	u, err := user.Lookup(userName)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return err
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return os.Chown(path, uid, gid)
}

// BuildScandeliver builds the static binary (CGO_ENABLED=0) from the
// repository into dir (created 0755) and returns its path, mode 0755.
func BuildScandeliver(t testing.TB, dir string) string {
	t.Helper()
	bin, err := testenv.BuildBinary(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix not listening on %s after %v: %v", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// MboxMessage is one message of an mbox as Python's mailbox module reads
// it: the From_ line's content and the raw bytes after it.
type MboxMessage struct {
	From string
	Data []byte
}

// PythonMbox reads an mbox with Python's mailbox module, a reader other
// than scandeliver's own.
func PythonMbox(t testing.TB, path string) []MboxMessage {
	t.Helper()
	Need(t, "python3")
	const script = `
import base64, json, mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
out = []
for key in box.iterkeys():
    out.append({"from": box.get_message(key).get_from(),
                "data": base64.b64encode(box.get_bytes(key)).decode()})
json.dump(out, sys.stdout)
`
	out, err := exec.Command("python3", "-c", script, path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python3 mailbox %s: %v\n%s", path, err, stderr)
	}
	var raw []struct {
		From string `json:"from"`
		Data []byte `json:"data"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("python3 mailbox output: %v", err)
	}
	msgs := make([]MboxMessage, len(raw))
	for i, r := range raw {
		msgs[i] = MboxMessage{From: r.From, Data: r.Data}
	}
	return msgs
}

// MboxrdUnquote undoes mboxrd quoting: one ">" off every line that is
// ">"s followed by "From ".
func MboxrdUnquote(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i, l := range lines {
		j := 0
		for j < len(l) && l[j] == '>' {
			j++
		}
		if j > 0 && bytes.HasPrefix(l[j:], []byte("From ")) {
			lines[i] = l[1:]
		}
	}
	return bytes.Join(lines, nil)
}
