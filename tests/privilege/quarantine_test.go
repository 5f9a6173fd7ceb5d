package privilege

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/quarantine"
)

type listed struct {
	ID         string   `json:"id"`
	Recipients []string `json:"recipients"`
	Status     string   `json:"status"`
	Author     int      `json:"author_uid"`
}

// list is "quarantine list --json" as root.
func (b *box) list(t *testing.T) []listed {
	t.Helper()
	r := run(t, nil, nil, "quarantine", "list", "-c", b.cfg, "--json")
	var l []listed
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatalf("quarantine list --json: exit %d: %v: %s %s", r.code, err, r.stdout, r.stderr)
	}
	return l
}

func (b *box) entryOf(t *testing.T, uid int) listed {
	t.Helper()
	for _, e := range b.list(t) {
		if e.Author == uid {
			return e
		}
	}
	t.Fatalf("no quarantine entry written by uid %d: %+v", uid, b.list(t))
	return listed{}
}

// newID makes an id of the form the store makes, for a forged entry.
func newID() string {
	var r [6]byte
	rand.Read(r[:])
	return time.Now().UTC().Format("20060102-150405") + "-000000-" + hex.EncodeToString(r[:])
}

// TestForgedEntry: a local user writes an entry of their own making into
// the shared quarantine (EICAR, a report saying "clean", another user as
// the recipient). list shows who wrote it; release refuses it for that
// recipient, with --to and with --resend, even with --force; released to
// its author it is scanned again, and refused as infected unless --force,
// which prints the SHA-256 and the verdict first.
func TestForgedEntry(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", "")
	mallory := newUser(t, b.dir, "m")
	bob := newUser(t, b.dir, "b")

	msg := eicarMessage("forged")
	src := filepath.Join(b.dir, "forged")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "message"), msg, 0o644)
	forge := func(rcpt string) string {
		id := newID()
		sum := sha256.Sum256(msg)
		rep, _ := json.Marshal(map[string]any{"id": id, "time": time.Now().UTC(), "sender": "alice@example.org",
			"recipients": []string{rcpt}, "size": len(msg), "sha256": hex.EncodeToString(sum[:]), "status": "clean",
			"action": "deliver", "author_uid": 0})
		os.WriteFile(filepath.Join(src, "report.json"), rep, 0o644)
		if r := sh(t, &mallory, fmt.Sprintf("mkdir %s/%s && cp %s/message %s/report.json %s/%s/", b.qdir, id, src, src, b.qdir, id)); r.code != 0 {
			t.Fatalf("mallory could not write into the quarantine at all: %s", r.stderr)
		}
		return id
	}

	id := forge(bob.Name + "@localhost")
	// list names the author, whatever the report claims.
	r := run(t, nil, nil, "quarantine", "list", "-c", b.cfg)
	if !strings.Contains(r.stdout, id+" ") || !strings.Contains(r.stdout, "uid="+strconv.Itoa(mallory.Uid)+"("+mallory.Name+")") {
		t.Errorf("list does not show mallory as the author of %s:\n%s%s", id, r.stdout, r.stderr)
	}
	if e := b.entryOf(t, mallory.Uid); e.ID != id {
		t.Errorf("list --json: entry %+v", e)
	}
	// Released to bob: refused, whatever the flags.
	md := bob.Home + "/Maildir/"
	for _, force := range []bool{false, true} {
		args := []string{"quarantine", "release", "-c", b.cfg, id, "--to", md}
		if force {
			args = append(args, "--force")
		}
		if r := run(t, nil, nil, args...); r.code == 0 || !strings.Contains(r.stderr, "refused") {
			t.Errorf("release %v of mallory's entry to bob: exit %d %s %s", args[5:], r.code, r.stdout, r.stderr)
		}
		args = []string{"quarantine", "release", "-c", b.cfg, id, "--resend", "--sendmail", b.sendmail}
		if force {
			args = append(args, "--force")
		}
		if r := run(t, nil, nil, args...); r.code == 0 || !strings.Contains(r.stderr, "refused") {
			t.Errorf("release %v of mallory's entry for bob: exit %d %s %s", args[5:], r.code, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(md); err == nil {
		t.Errorf("something was delivered to bob's Maildir")
	}
	if n := b.sendmailUIDs(t); len(n) != 0 {
		t.Errorf("sendmail ran %d times for mallory's entry", len(n))
	}

	// Mallory's forged "clean" entry for herself: scanned again, found
	// infected, refused; --force prints the SHA-256 and the verdict.
	own := forge(mallory.Name + "@localhost")
	mmd := mallory.Home + "/Maildir/"
	if r := run(t, nil, nil, "quarantine", "release", "-c", b.cfg, own, "--to", mmd); r.code == 0 || !strings.Contains(r.stderr, "infected") {
		t.Errorf("release of an infected entry without --force: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(mmd); err == nil {
		t.Errorf("the infected entry was delivered without --force")
	}
	sum := sha256.Sum256(msg)
	r = run(t, nil, nil, "quarantine", "release", "-c", b.cfg, own, "--to", mmd, "--force")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "SHA-256: "+hex.EncodeToString(sum[:])+"\nverdict: infected") {
		t.Errorf("release --force: exit %d, printed %q %s", r.code, r.stdout, r.stderr)
	}
}

// TestPrecreatedDayDir: a user creates, before anyone else, the
// directories the old layout shared (the day's directory and tmp). Another
// user's delivery quarantines a message all the same; the first user can
// neither read, rename, remove nor hide that entry, and root's list shows
// it with its author. purge, as root, removes the planted directories.
func TestPrecreatedDayDir(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", "")
	mallory := newUser(t, b.dir, "m")
	bob := newUser(t, b.dir, "b")
	today := time.Now().UTC().Format("20060102")
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("20060102")
	if r := sh(t, &mallory, fmt.Sprintf("cd %s && mkdir -m 777 %s %s tmp", b.qdir, today, tomorrow)); r.code != 0 {
		t.Logf("mallory could not create the directories: %s", r.stderr)
	}
	r := run(t, &bob, eicarMessage("bob-eicar"), "-c", b.cfg, "-f", "alice@example.org", "--to", bob.Home+"/Maildir/")
	if r.code != 0 {
		t.Fatalf("bob's delivery: exit %d: %s", r.code, r.stderr)
	}
	e := b.entryOf(t, bob.Uid)
	entry := filepath.Join(b.qdir, e.ID)
	if uidOf(t, entry) != bob.Uid {
		t.Errorf("%s is not bob's", entry)
	}
	for _, attack := range []string{
		"cat " + entry + "/message",
		"cat " + entry + "/report.json",
		"ls " + b.qdir,
		"mv " + entry + " " + b.qdir + "/" + today + "/",
		"mv " + entry + " " + b.qdir + "/hidden",
		"rm -rf " + entry,
		"ln -s /etc " + entry + "/x",
	} {
		if r := sh(t, &mallory, attack); r.code == 0 {
			t.Errorf("mallory: %q succeeded: %s", attack, r.stdout)
		}
	}
	if got := b.entryOf(t, bob.Uid); got.ID != e.ID {
		t.Errorf("bob's entry is gone from the list")
	}
	if r := run(t, nil, nil, "quarantine", "purge", "-c", b.cfg, "--older-than", "30d"); r.code != 0 {
		t.Errorf("purge: exit %d: %s", r.code, r.stderr)
	}
	for _, d := range []string{today, tomorrow, "tmp"} {
		if _, err := os.Lstat(filepath.Join(b.qdir, d)); err == nil {
			t.Errorf("purge left mallory's %s", d)
		}
	}
	fi, err := os.Stat(b.qdir)
	if err != nil {
		t.Fatal(err)
	}
	if uidOf(t, b.qdir) != 0 || fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("quarantine directory: owner %d mode %v", uidOf(t, b.qdir), fi.Mode())
	}
}

// TestReportSwapRace: root updates the report of an entry that its
// author (a user) owns, while the author swaps every new .report.* file
// for a symbolic link to a file of root's, as fast as inotify tells them.
// Nothing of root's changes mode or content.
func TestReportSwapRace(t *testing.T) {
	needRoot(t)
	b := newBox(t, `group = "mail"`, "", "")
	mallory := newUser(t, b.dir, "m")
	r := run(t, &mallory, bannedMessage("mallory-banned"), "-c", b.cfg, "-f", "alice@example.org", "--to", mallory.Home+"/Maildir/")
	if r.code != 0 {
		t.Fatalf("mallory's delivery: exit %d: %s", r.code, r.stderr)
	}
	e := b.entryOf(t, mallory.Uid)
	entry := filepath.Join(b.qdir, e.ID)
	victim := filepath.Join(b.dir, "root-secret")
	if err := os.WriteFile(victim, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(victim, 0o600)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helperBin := filepath.Join(b.dir, "helper.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(helperBin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(b.dir, "ready")
	os.Mkdir(ready, 0o777)
	os.Chmod(ready, 0o777)
	cmd := newHelper(helperBin, "swap", entry, victim, ready+"/go")
	cmd.SysProcAttr = credential(mallory)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// A minute: the wait ends as soon as the attacker is ready, and a
	// loaded machine can take seconds to start the helper.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(ready + "/go"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the attacker did not start")
		}
	}
	st := quarantine.Store{Dir: b.qdir, Group: "mail"}
	errs := 0
	var first error
	for i := 0; i < 2000; i++ {
		if err := st.Update(e.ID, func(r *quarantine.Report) { r.Reasons = append(r.Reasons[:0], "update "+strconv.Itoa(i)) }); err != nil {
			if errs == 0 {
				first = err
			}
			errs++
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	fi, err := os.Lstat(victim)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || uidOf(t, victim) != 0 {
		t.Errorf("root's file is now %v, owner %d (was 0600 root)", fi.Mode().Perm(), uidOf(t, victim))
	}
	if b, _ := os.ReadFile(victim); string(b) != "secret\n" {
		t.Errorf("root's file now holds %q", b)
	}
	swaps, _ := os.ReadFile(filepath.Join(ready, "swaps"))
	t.Logf("2000 updates, %d failed (a swapped file is refused; first: %v); the attacker swapped %s times", errs, first, strings.TrimSpace(string(swaps)))
}

// TestFirstDelivery: no quarantine directory yet (no install.sh, no cron
// job). A delivery as a user cannot make it safely (it would be theirs):
// it defers, saying what to run. A delivery started as root with -d makes
// it, root's and sticky, before it becomes the user, and the user's entry
// lands in it.
func TestFirstDelivery(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", "")
	bob := newUser(t, b.dir, "b")
	if err := os.Remove(b.qdir); err != nil {
		t.Fatal(err)
	}
	r := run(t, &bob, eicarMessage("first-user"), "-c", b.cfg, "-f", "alice@example.org", "--to", bob.Home+"/Maildir/")
	if r.code != 75 || !strings.Contains(r.stderr, "scandeliver quarantine init") {
		t.Errorf("as a user without the directory: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Lstat(b.qdir); err == nil {
		t.Fatalf("a user's delivery made the quarantine directory")
	}
	r = run(t, nil, eicarMessage("first-root"), "-c", b.cfg, "-f", "alice@example.org", "-d", bob.Name)
	if r.code != 0 {
		t.Fatalf("as root with -d: exit %d: %s", r.code, r.stderr)
	}
	fi, err := os.Lstat(b.qdir)
	if err != nil {
		t.Fatal(err)
	}
	if uidOf(t, b.qdir) != 0 || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o733 {
		t.Errorf("quarantine directory made by the first delivery: owner %d mode %v", uidOf(t, b.qdir), fi.Mode())
	}
	if e := b.entryOf(t, bob.Uid); e.ID == "" {
		t.Error("no entry of bob's")
	}
}

// TestReleaseScansAsNobody: root's release has the engines scan the
// message again in a child that runs as nobody, not as root (the command
// engine records the uid it runs as).
func TestReleaseScansAsNobody(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", "")
	uids := filepath.Join(b.sent, "engine-uids")
	cfg, _ := os.ReadFile(b.cfg)
	os.WriteFile(b.cfg, append(cfg, []byte(grepEngine(uids))...), 0o644)
	mallory := newUser(t, b.dir, "m")
	r := run(t, &mallory, bannedMessage("release-nobody"), "-c", b.cfg, "-f", "alice@example.org", "--to", mallory.Home+"/Maildir/")
	if r.code != 0 {
		t.Fatalf("delivery: exit %d: %s", r.code, r.stderr)
	}
	e := b.entryOf(t, mallory.Uid)
	os.Remove(uids)
	r = run(t, nil, nil, "quarantine", "release", "-c", b.cfg, e.ID, "--to", mallory.Home+"/Maildir/")
	if r.code != 0 {
		t.Fatalf("release: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	got, err := os.ReadFile(uids)
	if err != nil {
		t.Fatalf("the engine did not run for the release: %v", err)
	}
	nobody := "65534"
	if u, err := user.Lookup("nobody"); err == nil {
		nobody = u.Uid
	}
	for _, s := range strings.Fields(string(got)) {
		if s != nobody {
			t.Errorf("the release's scan ran as uid %s, want nobody (%s)", s, nobody)
		}
	}
}

// TestUnsafeQuarantineDir: a quarantine directory a user owns (they made
// it before root did) is never written to: a message that must be
// quarantined is deferred; a clean one is delivered, with a warning.
func TestUnsafeQuarantineDir(t *testing.T) {
	needRoot(t)
	b := newBox(t, "", "", "")
	mallory := newUser(t, b.dir, "m")
	bob := newUser(t, b.dir, "b")
	os.Remove(b.qdir)
	if r := sh(t, &mallory, "mkdir -m 1777 "+b.qdir); r.code != 0 {
		// b.dir is root's 0755: make it as mallory's through root.
		os.Mkdir(b.qdir, 0o777)
		os.Chown(b.qdir, mallory.Uid, mallory.Gid)
		os.Chmod(b.qdir, 0o777|os.ModeSticky)
	}
	r := run(t, nil, eicarMessage("unsafe-eicar"), "-c", b.cfg, "-f", "alice@example.org", "-d", bob.Name)
	if r.code != 75 || !strings.Contains(r.stderr, "owned by uid "+strconv.Itoa(mallory.Uid)) {
		t.Errorf("infected message into mallory's quarantine directory: exit %d: %s", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(b.qdir); len(ents) != 0 {
		t.Errorf("something was written into mallory's directory: %v", ents)
	}
	r = run(t, nil, []byte("From: alice@example.org\nSubject: hi\n\nclean\n"), "-c", b.cfg, "-f", "alice@example.org", "-d", bob.Name)
	if r.code != 0 || !strings.Contains(r.stderr, "quarantine_warning=") {
		t.Errorf("clean message: exit %d: %s", r.code, r.stderr)
	}
}
