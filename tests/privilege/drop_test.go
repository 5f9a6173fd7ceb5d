package privilege

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDropPathRunsAsRecipient: as root with -d USER (sendmail's local
// mailer), a message the policy drops (infected = "drop") is parsed,
// scanned (by a command engine), quarantined and reported to the
// postmaster (through sendmail) as USER, never as root: the command
// engine and the sendmail stand-in record the uid they run as.
func TestDropPathRunsAsRecipient(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", "")
	uids := filepath.Join(b.sent, "engine-uids")
	cfg, _ := os.ReadFile(b.cfg)
	cfg = append(cfg, []byte("[policy]\ninfected = \"drop\"\npostmaster = \"postmaster@localhost\"\nnotify_postmaster = true\n"+grepEngine(uids))...)
	if err := os.WriteFile(b.cfg, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	bob := newUser(t, b.dir, "b")
	r := run(t, nil, eicarMessage("drop"), "-c", b.cfg, "-d", bob.Name, "-f", "alice@example.org")
	if r.code != 0 {
		t.Fatalf("delivery: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "action=dropped") {
		t.Errorf("not dropped: %s", r.stderr)
	}
	eu, err := os.ReadFile(uids)
	if err != nil {
		t.Fatalf("the engine never ran: %v", err)
	}
	for _, s := range strings.Fields(string(eu)) {
		if s != strconv.Itoa(bob.Uid) {
			t.Errorf("the command engine ran as uid %s, want %d (%s)", s, bob.Uid, bob.Name)
		}
	}
	sm := b.sendmailUIDs(t)
	if len(sm) == 0 {
		t.Errorf("no notice went through sendmail: %s", r.stderr)
	}
	for _, u := range sm {
		if u != bob.Uid {
			t.Errorf("sendmail ran as uid %d, want %d (%s)", u, bob.Uid, bob.Name)
		}
	}
	if e := b.entryOf(t, bob.Uid); e.ID == "" {
		t.Errorf("no quarantine entry written as %s", bob.Name)
	}
	if _, err := os.Stat(filepath.Join(bob.Home, "Maildir")); err == nil {
		t.Errorf("a dropped message reached the Maildir")
	}
}

// TestRateLimitPlantedLink: a user makes root's rate-limit directory in
// the shared spool first (scandeliver-notify-0, theirs, open to all) and
// plants in it a symbolic link named like the file of the sender root is
// about to tell. Root's delivery creates nothing through it.
func TestRateLimitPlantedLink(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "senders = true\nauthserv_id = \"mx.example.net\"", "[policy]\npostmaster = \"postmaster@localhost\"\nlocal_domains = [\"example.net\"]\n")
	mallory := newUser(t, b.dir, "m")
	target := filepath.Join(b.dir, "created-by-root")
	sum := sha256.Sum256([]byte("alice@example.org"))
	name := hex.EncodeToString(sum[:16])
	if r := sh(t, &mallory, "mkdir -m 777 "+b.spool+"/scandeliver-notify-0 && ln -s "+target+" "+b.spool+"/scandeliver-notify-0/"+name); r.code != 0 {
		t.Fatalf("mallory: %s", r.stderr)
	}
	msg := append([]byte("Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.org\n"), bannedMessage("ratelimit")...)
	md := filepath.Join(b.dir, "rootmail") + "/"
	r := run(t, nil, msg, "-c", b.cfg, "-f", "alice@example.org", "-a", "root@localhost", "--to", md)
	if r.code != 0 {
		t.Fatalf("delivery: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "quarantine_id=") {
		t.Errorf("the attachment was not blocked: %s", r.stderr)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Errorf("root created %s through mallory's link", target)
	}
	// The sender was told (the rate limit was consulted, and failed
	// safe: it could not record, so it did not hold the notice back).
	told := false
	files, _ := filepath.Glob(filepath.Join(b.sent, "*.args"))
	for _, f := range files {
		if a, _ := os.ReadFile(f); strings.Contains(string(a), "alice@example.org") {
			told = true
		}
	}
	if !told {
		t.Errorf("the sender was not told, so the rate limit was never consulted: %s", r.stderr)
	}
}

// TestCanaryHardLink: the canary's timestamp file of root's deliveries
// (.scandeliver-canary.0 in the shared spool) replaced by a hard link to
// a file of root's. A user makes that link where fs.protected_hardlinks
// is 0; here (it is 1 on most systems) root makes it for them. The
// delivery's canary runs (a command engine) and leaves the file alone.
func TestCanaryHardLink(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", grepEngine(""))
	victim := filepath.Join(b.dir, "precious")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	canary := filepath.Join(b.spool, ".scandeliver-canary.0")
	if err := os.Link(victim, canary); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(b.dir, "rootmail") + "/"
	r := run(t, nil, []byte("From: a@example.org\nSubject: hi\n\nhello\n"), "-c", b.cfg, "-f", "a@example.org", "-a", "root@localhost", "--to", md)
	if r.code != 0 {
		t.Fatalf("delivery: exit %d: %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious\n" {
		t.Errorf("the hard-linked file now holds %q", got)
	}
}
