package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

// scanConfig is a scandeliver.toml with a private clamd, the shared
// spamd and a quarantine in the instance's directory, group mail.
func scanConfig(clamd, spamd string) string {
	spam := ""
	if spamd != "" {
		spam = `
[[engine]]
name = "spamassassin"
type = "spamd"
address = "` + spamd + `"
`
	}
	return `[deliver]
default = "~/Maildir/"

[spool]
dir = "{dir}/spool"
memory = "1MB"

[log]
syslog = false

[quarantine]
dir = "{dir}/quarantine"
group = "mail"

[[engine]]
name = "clamav"
type = "clamd"
address = "` + clamd + `"
` + spam
}

// makeQuarantine lays the quarantine out as install.sh does: root:mail,
// mode 3773.
func makeQuarantine(t *testing.T, dir string) string {
	t.Helper()
	q := filepath.Join(dir, "quarantine")
	for _, d := range []string{q} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, 0, 8); err != nil {
			t.Fatal(err)
		}
		chmod(t, d, 0o773|os.ModeSticky|os.ModeSetgid)
	}
	return q
}

func mimeMessage(id, subject, name, ctype string, content []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString(content)
	var wrapped strings.Builder
	for len(b64) > 76 {
		wrapped.WriteString(b64[:76] + "\n")
		b64 = b64[76:]
	}
	wrapped.WriteString(b64 + "\n")
	return []byte("Date: Fri, 27 Nov 2026 10:00:00 +0000\n" +
		"From: Alice <" + sender + ">\n" +
		"To: Test <" + User1 + "@" + DefaultDomain + ">\n" +
		"Subject: " + subject + "\n" +
		"Message-ID: <" + id + "@e2e.scandeliver.test>\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\n\n" +
		"--b1\nContent-Type: text/plain; charset=us-ascii\n\nPlease see the attachment.\n" +
		"--b1\nContent-Type: " + ctype + "; name=\"" + name + "\"\nContent-Disposition: attachment; filename=\"" + name + "\"\n" +
		"Content-Transfer-Encoding: base64\n\n" + wrapped.String() + "--b1--\n")
}

func zipOf(t *testing.T, name string, content []byte) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(content)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mzProgram is a fake Windows executable: "MZ", a DOS stub and a marker
// that must never be found in a mailbox.
var mzProgram = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), []byte("This program cannot be run in DOS mode. E2E-BANNED-EXE-MARKER")...)

type qEntry struct {
	ID         string   `json:"id"`
	Recipients []string `json:"recipients"`
	Sender     string   `json:"sender"`
	Status     string   `json:"status"`
	SHA256     string   `json:"sha256"`
	Released   []struct {
		To string `json:"to"`
	} `json:"released"`
}

func quarantineList(t *testing.T, p *Postfix) []qEntry {
	t.Helper()
	out, err := exec.Command(p.Binary, "quarantine", "list", "-c", p.Config, "--json").Output()
	if err != nil {
		t.Fatalf("quarantine list: %v", err)
	}
	var l []qEntry
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("quarantine list --json: %v: %s", err, out)
	}
	return l
}

func sendAndWait(t *testing.T, p *Postfix, to string, n int, msg []byte) []Status {
	t.Helper()
	qid := p.Send(t, sender, to, msg)
	st := p.WaitStatuses(t, qid, n, 3*time.Minute)
	for _, s := range st {
		if s.Status != "sent" {
			t.Fatalf("%s", s.Line)
		}
	}
	p.WaitRemoved(t, qid, time.Minute)
	return st
}

// maildirWith returns the messages of a Maildir that contain marker.
func maildirWith(t *testing.T, dir, marker string) [][]byte {
	var out [][]byte
	for _, f := range MaildirFiles(t, dir) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			out = append(out, b)
		}
	}
	return out
}

// TestPostfixScanning sends, through a real Postfix, a clean message,
// EICAR in a zip, a banned .exe name, GTUBE and a 20 MB message, to a
// user served by mailbox_command and one by a .forward pipe; scanning
// with a private clamd and the test spamd.
func TestPostfixScanning(t *testing.T) {
	Need(t, "postfix")
	spamd := testenv.Env(t, "SCANDELIVER_SPAMD")
	clamd := StartClamd(t, map[string]string{"test.ndb": EicarNDB() + ClamExeNDB})
	p := StartPostfix(t, Options{
		Config: scanConfig(clamd.Addr, spamd),
		Forward: map[string]string{
			User2: `"|exec {scandeliver} -c {config} || exit 75"` + "\n",
		},
	})
	q := makeQuarantine(t, p.Dir)
	rcpt1, rcpt2 := p.Address(User1), p.Address(User2)
	md1, md2 := p.Maildir(t, User1), p.Maildir(t, User2)

	t.Run("clean", func(t *testing.T) {
		msg := testMessage("scan-clean", "clean, scanned", "Hello, scanned world.\n")
		sendAndWait(t, p, rcpt1, 1, msg)
		got := maildirWith(t, md1, "scan-clean@")
		if len(got) != 1 {
			t.Fatalf("%d copies delivered", len(got))
		}
		// Below the trace and status fields (spamd's X-Spam-* among them)
		// the message as sent, byte for byte.
		trace, body := splitTrace(t, got[0], msg)
		if !bytes.Equal(body, Stored(msg)) {
			t.Errorf("clean message altered")
		}
		if !contains(trace, "X-Scandeliver-Status: clean") {
			t.Errorf("no clean status on top: %q", trace)
		}
	})

	var eicarMsg []byte
	t.Run("eicar-zip", func(t *testing.T) {
		eicarMsg = mimeMessage("scan-eicar", "EICAR in a zip", "report.zip", "application/zip", zipOf(t, "report.txt", builtin.Eicar()))
		sendAndWait(t, p, rcpt1+","+rcpt2, 2, eicarMsg)
		for _, md := range []string{md1, md2} {
			for _, m := range maildirWith(t, md, "scan-eicar@") {
				if bytes.Contains(m, builtin.Eicar()) || bytes.Contains(m, []byte(base64.StdEncoding.EncodeToString(zipOf(t, "report.txt", builtin.Eicar()))[:40])) {
					t.Errorf("%s: the infected zip was delivered", md)
				}
			}
		}
		l := quarantineList(t, p)
		byRcpt := map[string]qEntry{}
		for _, e := range l {
			if len(e.Recipients) == 1 {
				byRcpt[e.Recipients[0]] = e
			}
		}
		for _, r := range []string{rcpt1, rcpt2} {
			e, ok := byRcpt[r]
			if !ok || e.Sender != sender || e.Status != "infected" {
				t.Errorf("no quarantine entry for %s: %+v", r, l)
			}
		}
		// Entries belong to the user the delivery ran as, group mail,
		// 0640; one test user cannot read the other's entry.
		for _, c := range []struct{ rcpt, user, other string }{{rcpt1, User1, User2}, {rcpt2, User2, User1}} {
			e := byRcpt[c.rcpt]
			if e.ID == "" {
				continue
			}
			msgPath := filepath.Join(q, e.ID, "message")
			fi, err := os.Stat(msgPath)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != lookupIDs(t, c.user).uid || st.Gid != 8 || fi.Mode().Perm() != 0o640 {
				t.Errorf("%s: owner %d:%d mode %v", msgPath, st.Uid, st.Gid, fi.Mode().Perm())
			}
			o := lookupIDs(t, c.other)
			cmd := exec.Command("/bin/cat", msgPath)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid), Groups: []uint32{}}}
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("%s reads %s's quarantined message (%d bytes)", c.other, c.user, len(out))
			}
			ls := exec.Command("/bin/ls", q)
			ls.SysProcAttr = cmd.SysProcAttr
			if err := ls.Run(); err == nil {
				t.Errorf("%s lists the quarantine", c.other)
			}
		}
		// Release to the Maildir: clamd still finds EICAR, so only with
		// --force; then the original byte for byte below the release
		// field, delivered as the user.
		e := byRcpt[rcpt1]
		if e.ID == "" {
			return
		}
		if out, err := exec.Command(p.Binary, "quarantine", "release", "-c", p.Config, e.ID, "--to", md1+"/").CombinedOutput(); err == nil {
			t.Fatalf("release of an infected entry without --force: %s", out)
		}
		out, err := exec.Command(p.Binary, "quarantine", "release", "-c", p.Config, e.ID, "--to", md1+"/", "--force").CombinedOutput()
		if err != nil {
			t.Fatalf("release: %v\n%s", err, out)
		}
		var got [][]byte
		for _, m := range maildirWith(t, md1, "scan-eicar@") {
			if bytes.HasPrefix(m, []byte("X-Scandeliver-Released: ")) {
				got = append(got, m)
			}
		}
		if len(got) != 1 {
			t.Fatalf("after release: %d released copies", len(got))
		}
		field, rest, _ := bytes.Cut(got[0], []byte("\n"))
		if !bytes.HasPrefix(field, []byte("X-Scandeliver-Released: id="+e.ID)) {
			t.Errorf("released copy starts %q", field)
		}
		// What was quarantined is what local(8) handed over: trace
		// fields, then the message as sent.
		if _, body := splitTrace(t, rest, eicarMsg); !bytes.Equal(body, Stored(eicarMsg)) {
			t.Errorf("released message differs from the one sent")
		}
		for _, f := range MaildirFiles(t, md1) {
			if fi, _ := os.Stat(f); int(fi.Sys().(*syscall.Stat_t).Uid) != lookupIDs(t, User1).uid {
				t.Errorf("%s not owned by %s", f, User1)
			}
		}
	})

	t.Run("banned-exe", func(t *testing.T) {
		msg := mimeMessage("scan-banned", "your invoice", "invoice.pdf.exe", "application/pdf", mzProgram)
		sendAndWait(t, p, rcpt1, 1, msg)
		encoded := base64.StdEncoding.EncodeToString(mzProgram)[:40]
		for _, f := range MaildirFiles(t, md1) {
			b, _ := os.ReadFile(f)
			if bytes.Contains(b, []byte("E2E-BANNED-EXE-MARKER")) || bytes.Contains(b, []byte(encoded)) {
				t.Errorf("%s: the .exe reached the mailbox (policy stage not wired?)", f)
			}
		}
	})

	t.Run("gtube", func(t *testing.T) {
		msg := testMessage("scan-gtube", "GTUBE", "This is spam:\n"+string(builtin.GTUBE())+"\n")
		sendAndWait(t, p, rcpt1, 1, msg)
		got := maildirWith(t, md1, "scan-gtube@")
		if len(got) != 1 {
			t.Fatalf("%d copies", len(got))
		}
		trace, _ := splitTrace(t, got[0], msg)
		if !contains(trace, "X-Scandeliver-Status: spam") {
			t.Errorf("no spam status on top: %q", trace)
		}
	})

	t.Run("20MB", func(t *testing.T) {
		msg := testMessage("scan-big", "a 20 MB message, scanned", bigBody(20<<20))
		start := time.Now()
		sendAndWait(t, p, rcpt1, 1, msg)
		t.Logf("20 MB scanned and delivered in %v", time.Since(start).Round(time.Millisecond))
		got := maildirWith(t, md1, "scan-big@")
		if len(got) != 1 {
			t.Fatalf("%d copies", len(got))
		}
		_, body := splitTrace(t, got[0], msg)
		if !bytes.Equal(body, Stored(msg)) {
			t.Errorf("20 MB message altered")
		}
	})

	// Released with --resend through the instance's own sendmail: the
	// copy comes back through Postfix and scandeliver, which honours the
	// signed release mark and delivers it.
	t.Run("resend", func(t *testing.T) {
		var id string
		for _, e := range quarantineList(t, p) {
			if len(e.Recipients) == 1 && e.Recipients[0] == rcpt2 {
				id = e.ID
			}
		}
		if id == "" {
			t.Skip("no quarantine entry for " + rcpt2)
		}
		// The release key, in the instance's directory; the public half
		// must be where the delivery looks ([release] key).
		key := filepath.Join(p.Dir, "release.key")
		cfg, _ := os.ReadFile(p.Config)
		os.WriteFile(p.Config, append(cfg, []byte("\n[release]\nkey = \""+key+"\"\n")...), 0o644)
		before := len(regexpQuote("to=<"+rcpt2+">", "status=sent").FindAllString(p.Log(), -1))
		out, err := exec.Command(p.Binary, "quarantine", "release", "-c", p.Config, id, "--resend", "--force",
			"--sendmail", "/usr/sbin/sendmail -C "+p.ConfigDir).CombinedOutput()
		if err != nil {
			t.Fatalf("release --resend: %v\n%s", err, out)
		}
		re := regexpQuote("to=<"+rcpt2+">", "status=sent")
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			if len(re.FindAllString(p.Log(), -1)) > before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the re-sent copy was not delivered (status=sent) to %s:\n%s", rcpt2, tail(p.Log(), 20))
			}
		}
		// The mark survives the trip through Postfix: the copy as
		// scandeliver received it verifies with the public key, for this
		// recipient (looked at in the quarantine when the delivery path
		// does not yet honour the mark and quarantined it again).
		pub, err := quarantine.LoadReleasePublicKey(key + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range quarantineList(t, p) {
			if e.ID == id || len(e.Recipients) != 1 || e.Recipients[0] != rcpt2 {
				continue
			}
			b, err := os.ReadFile(filepath.Join(p.Dir, "quarantine", e.ID, "message"))
			if err != nil {
				t.Fatal(err)
			}
			if m, err := quarantine.VerifyRelease(bytes.NewReader(b), int64(len(b)), pub, rcpt2, time.Now(), time.Hour); err != nil || m.ID != id {
				t.Errorf("the re-sent copy's mark does not verify after Postfix: %v", err)
			} else {
				t.Logf("the re-sent copy carries a mark that verifies (entry %s), but was quarantined again as %s", id, e.ID)
			}
		}
		// Released with --force (clamd still finds EICAR): delivered as
		// released, the mark itself removed like every field of ours.
		if got := maildirWith(t, md2, "X-Scandeliver-Status: released ("+id+")"); len(got) != 1 {
			t.Errorf("re-sent copy not delivered to %s (%d copies): the delivery path must honour releasedOK", User2, len(got))
		} else if !bytes.Contains(got[0], []byte(base64.StdEncoding.EncodeToString(zipOf(t, "report.txt", builtin.Eicar()))[:40])) {
			t.Errorf("the re-sent copy was delivered without its released attachment")
		}
	})

	if spool, _ := os.ReadDir(p.SpoolDir); len(spool) != 0 {
		names := []string{}
		for _, e := range spool {
			names = append(names, e.Name())
		}
		t.Logf("spool after the deliveries: %v", names)
	}
	if qq := p.Queue(t); len(qq) != 0 {
		t.Errorf("queue not empty: %v", qq)
	}
}

// TestPostfixClamdDown stops the (private) clamd: Postfix logs
// status=deferred and keeps the message; clamd started again and
// postqueue -f: delivered exactly once.
func TestPostfixClamdDown(t *testing.T) {
	Need(t, "postfix")
	clamd := StartClamd(t, map[string]string{"test.ndb": EicarNDB()})
	p := StartPostfix(t, Options{Users: []string{User1}, Config: scanConfig(clamd.Addr, "")})
	makeQuarantine(t, p.Dir)
	md := p.Maildir(t, User1)
	clamd.Stop(t)
	msg := testMessage("clamd-down", "while clamd is down", "Hello.\n")
	qid := p.Send(t, sender, p.Address(User1), msg)
	st := p.WaitStatuses(t, qid, 1, time.Minute)
	if st[0].Status != "deferred" {
		t.Fatalf("with clamd down: %s", st[0].Line)
	}
	t.Logf("deferred: %s", st[0].Line)
	if q := p.Queue(t); len(q) != 1 || q[0] != qid {
		t.Errorf("queue: %v, want [%s]", q, qid)
	}
	if f := MaildirFiles(t, md); len(f) != 0 {
		t.Errorf("delivered with clamd down: %q", f)
	}
	clamd.Start(t)
	p.Flush(t)
	st = p.WaitStatuses(t, qid, 2, time.Minute)
	p.WaitRemoved(t, qid, time.Minute)
	if len(st) != 2 || st[1].Status != "sent" {
		t.Fatalf("after clamd is back: %+v", st)
	}
	files := MaildirFiles(t, md)
	if len(files) != 1 {
		t.Fatalf("%d copies after the flush, want 1", len(files))
	}
	got, _ := os.ReadFile(files[0])
	checkDelivered(t, files[0], got, msg, p.Address(User1))
	if q := p.Queue(t); len(q) != 0 {
		t.Errorf("queue after the flush: %v", q)
	}
}

// regexpQuote matches a log line holding every part, in order.
func regexpQuote(parts ...string) *regexp.Regexp {
	q := make([]string, len(parts))
	for i, s := range parts {
		q[i] = regexp.QuoteMeta(s)
	}
	return regexp.MustCompile(strings.Join(q, ".*"))
}

// contains reports whether a field of trace starts with prefix.
func contains(trace []string, prefix string) bool {
	for _, f := range trace {
		if strings.HasPrefix(f, prefix) {
			return true
		}
	}
	return false
}

// TestPostfixCanary: a clamd that answers but no longer detects (its
// database lost EICAR) fails the delivery-time canary: the message is
// deferred (on_error tempfail) and the reason names the canary; a
// healthy database and postqueue -f: delivered once.
// Needs the delivery path to call canaryCheck.
func TestPostfixCanary(t *testing.T) {
	Need(t, "postfix")
	broken := StartClamd(t, map[string]string{"test.ndb": ClamExeNDB})
	p := StartPostfix(t, Options{Users: []string{User1}, Config: scanConfig(broken.Addr, "")})
	makeQuarantine(t, p.Dir)
	msg := testMessage("canary", "clean, while clamd has lost its signatures", "Hello.\n")
	qid := p.Send(t, sender, p.Address(User1), msg)
	st := p.WaitStatuses(t, qid, 1, time.Minute)
	if st[0].Status != "deferred" || !strings.Contains(st[0].Line, "canary failed") {
		t.Fatalf("with a clamd that misses EICAR: %s", st[0].Line)
	}
	t.Logf("deferred: %s", st[0].Line)
	if f := MaildirFiles(t, p.Maildir(t, User1)); len(f) != 0 {
		t.Errorf("delivered past a failed canary: %q", f)
	}
	// The signatures come back (the update succeeded).
	broken.Stop(t)
	if err := os.WriteFile(filepath.Join(broken.Dir, "db", "test.ndb"), []byte(EicarNDB()+ClamExeNDB), 0o644); err != nil {
		t.Fatal(err)
	}
	broken.Start(t)
	p.Flush(t)
	st = p.WaitStatuses(t, qid, 2, time.Minute)
	p.WaitRemoved(t, qid, time.Minute)
	if st[1].Status != "sent" {
		t.Fatalf("after the fix: %s", st[1].Line)
	}
	if f := MaildirFiles(t, p.Maildir(t, User1)); len(f) != 1 {
		t.Errorf("%d copies, want 1", len(f))
	}
}
