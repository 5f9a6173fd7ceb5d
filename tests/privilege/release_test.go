package privilege

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// slowEngine is a command engine that answers "clean" only after
// sleeping well past a [scan] budget of one second.
const slowEngine = `
[[engine]]
name = "slow"
type = "command"
command = ["/bin/sh", "-c", "sleep 5; exit 1", "sh", "{}"]
infected = [0]
clean = [1]

[scan]
budget = "1s"
`

// downEngine cannot answer (an exit status it does not know); on_error
// = pass would let unmarked mail through with a warning.
const downEngine = `
[[engine]]
name = "down"
type = "command"
command = ["/bin/sh", "-c", "exit 7", "sh", "{}"]
infected = [0]
clean = [1]
on_error = "pass"
`

// withEngine writes a copy of b's configuration with more tables.
func (b *box) withEngine(t *testing.T, name, tables string) string {
	t.Helper()
	cfg, err := os.ReadFile(b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(b.dir, name+".toml")
	if err := os.WriteFile(p, append(cfg, tables...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// releasedIn returns the messages in the Maildir dir that carry a
// release field (X-Scandeliver-Released).
func releasedIn(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(dir, "new"))
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "X-Scandeliver-Released:") || strings.Contains(string(b), ": released (") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestReleaseNeedsWholeScan: a release's scan that did not give the
// engines' whole answer (the [scan] budget spent while an engine was
// still scanning, an engine down) refuses the release, exit 75, unless
// --force, which prints the SHA-256 and the verdict first. A re-sent
// copy whose scan at delivery runs out of budget is not delivered as
// released: it is handled as unmarked mail.
func TestReleaseNeedsWholeScan(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", grepEngine(""))
	mallory := newUser(t, b.dir, "m")
	msg := bannedMessage("release-budget")
	md := mallory.Home + "/Maildir/"
	r := run(t, &mallory, msg, "-c", b.cfg, "-f", "alice@example.org", "--to", md)
	if r.code != 0 {
		t.Fatalf("delivery: exit %d: %s", r.code, r.stderr)
	}
	e := b.entryOf(t, mallory.Uid)
	notices := len(b.sendmailUIDs(t)) // the delivery's notices went through the fake sendmail too
	slow := b.withEngine(t, "slow", slowEngine)
	down := b.withEngine(t, "down", downEngine)

	for _, c := range []struct{ name, cfg, why string }{
		{"budget spent", slow, "budget"},
		{"engine down", down, "could not answer"},
	} {
		r := run(t, nil, nil, "quarantine", "release", "-c", c.cfg, e.ID, "--to", md)
		if r.code != 75 || !strings.Contains(r.stderr, "refused") || !strings.Contains(r.stderr, c.why) || !strings.Contains(r.stderr, "--force") {
			t.Errorf("%s: release --to without --force: exit %d, want 75 refused (%s): %s %s", c.name, r.code, c.why, r.stdout, r.stderr)
		}
		if got := releasedIn(t, md); len(got) != 0 {
			t.Fatalf("%s: released without --force: %v", c.name, got)
		}
		r = run(t, nil, nil, "quarantine", "release", "-c", c.cfg, e.ID, "--resend", "--sendmail", b.sendmail)
		if r.code != 75 || !strings.Contains(r.stderr, "refused") {
			t.Errorf("%s: release --resend without --force: exit %d, want 75 refused: %s %s", c.name, r.code, r.stdout, r.stderr)
		}
		if n := b.sendmailUIDs(t); len(n) != notices {
			t.Fatalf("%s: re-sent without --force", c.name)
		}
	}

	// --force: the SHA-256 and the verdict (saying why it is not whole)
	// first, then the release.
	sum := sha256.Sum256(msg)
	r = run(t, nil, nil, "quarantine", "release", "-c", slow, e.ID, "--to", md, "--force")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "SHA-256: "+hex.EncodeToString(sum[:])+"\nverdict: ") || !strings.Contains(r.stdout, "budget") {
		t.Errorf("release --force: exit %d, printed %q %s", r.code, r.stdout, r.stderr)
	}
	if got := releasedIn(t, md); len(got) != 1 {
		t.Errorf("release --force delivered %d released messages", len(got))
	}

	// The re-sent path: released with the engines' whole answer (a
	// mark without force), the copy comes back while the engine is
	// slow: the delivery's scan runs out of budget, and the mark does
	// not make it "released".
	r = run(t, nil, nil, "quarantine", "release", "-c", b.cfg, e.ID, "--resend", "--sendmail", b.sendmail)
	if r.code != 0 {
		t.Fatalf("release --resend: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	var copy []byte
	var rcpt string
	sent, _ := filepath.Glob(filepath.Join(b.sent, "*.msg"))
	for _, f := range sent {
		m, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(m), "X-Scandeliver-Released:") {
			if copy != nil {
				t.Fatal("more than one copy re-sent")
			}
			copy = m
			args, _ := os.ReadFile(strings.TrimSuffix(f, ".msg") + ".args")
			a := strings.Fields(string(args))
			rcpt = a[len(a)-1]
		}
	}
	if copy == nil {
		t.Fatal("no copy re-sent")
	}
	before := len(releasedIn(t, md))
	r = run(t, nil, copy, "-c", slow, "-f", "alice@example.org", "-a", rcpt, "-d", mallory.Name)
	if strings.Contains(r.stderr, "released=") || len(releasedIn(t, md)) != before || (r.code != 0 && r.code != 75) {
		t.Errorf("re-sent copy scanned past the budget: exit %d, %d released messages (had %d): %s", r.code, len(releasedIn(t, md)), before, r.stderr)
	}
	// With the engines answering, the same copy is delivered as released.
	r = run(t, nil, copy, "-c", b.cfg, "-f", "alice@example.org", "-a", rcpt, "-d", mallory.Name)
	if r.code != 0 || !strings.Contains(r.stderr, "released=") || len(releasedIn(t, md)) != before+1 {
		t.Errorf("re-sent copy, engines answering: exit %d, %d released messages (had %d): %s", r.code, len(releasedIn(t, md)), before, r.stderr)
	}
}

// TestReleaseDestLink: root releases an entry (written by root) with
// --to a destination in a user's home that the user made a symbolic
// link: to a file of root's (an mbox), to another user's Maildir. The
// release must not run as the link target's owner (root would append to
// its own file, bob's Maildir would get mallory's mail): it is refused,
// and nothing is written. A link of the user's to a directory of their
// own is fine: the release runs as them.
func TestReleaseDestLink(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", "")
	mallory := newUser(t, b.dir, "m")
	bob := newUser(t, b.dir, "b")
	r := run(t, nil, bannedMessage("dest-link"), "-c", b.cfg, "-f", "alice@example.org", "-a", "root@localhost", "--to", filepath.Join(b.dir, "rootmd")+"/")
	if r.code != 0 {
		t.Fatalf("root's delivery: exit %d: %s", r.code, r.stderr)
	}
	e := b.entryOf(t, 0)
	victim := filepath.Join(b.dir, "root-file")
	if err := os.WriteFile(victim, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bobMD := bob.Home + "/Maildir"
	for _, d := range []string{bobMD, bobMD + "/new", bobMD + "/cur", bobMD + "/tmp"} {
		os.Mkdir(d, 0o700)
		os.Chown(d, bob.Uid, bob.Gid)
	}
	if r := sh(t, &mallory, "cd && ln -s "+victim+" mbox && ln -s "+bobMD+" Maildir && mkdir -p mail/Maildir && ln -s mail/Maildir own"); r.code != 0 {
		t.Fatalf("mallory's links: %s", r.stderr)
	}
	for _, dest := range []string{mallory.Home + "/mbox", mallory.Home + "/Maildir/"} {
		r := run(t, nil, nil, "quarantine", "release", "-c", b.cfg, e.ID, "--to", dest)
		if r.code == 0 || !strings.Contains(r.stderr, "symbolic link") {
			t.Errorf("release --to %s (mallory's link): exit %d: %s %s", dest, r.code, r.stdout, r.stderr)
		}
	}
	if got, _ := os.ReadFile(victim); string(got) != "root's\n" {
		t.Errorf("root's file was written through mallory's link: %d bytes", len(got))
	}
	if ents, _ := os.ReadDir(bobMD + "/new"); len(ents) != 0 {
		t.Errorf("bob's Maildir got %d messages through mallory's link", len(ents))
	}
	r = run(t, nil, nil, "quarantine", "release", "-c", b.cfg, e.ID, "--to", mallory.Home+"/own/")
	if r.code != 0 {
		t.Fatalf("release --to mallory's own link: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	got := releasedIn(t, mallory.Home+"/mail/Maildir")
	if len(got) != 1 || uidOf(t, filepath.Join(mallory.Home, "mail/Maildir/new", got[0])) != mallory.Uid {
		t.Errorf("release through mallory's own link: %v", got)
	}
}
