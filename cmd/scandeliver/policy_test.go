package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/scan/builtin"
)

// policySetup writes a configuration with a private quarantine and a
// recording sendmail, and returns it with the directories to look at.
type policySetup struct {
	cfg, home, noticeDir, qdir string
}

func newPolicySetup(t *testing.T, extra string) policySetup {
	t.Helper()
	dir := t.TempDir()
	ps := policySetup{cfg: filepath.Join(dir, "c.toml"), home: filepath.Join(dir, "home"), noticeDir: filepath.Join(dir, "notices"), qdir: filepath.Join(dir, "q")}
	os.MkdirAll(ps.home, 0o700)
	os.MkdirAll(ps.noticeDir, 0o700)
	rec, _ := filepath.Abs("testdata/record-sendmail")
	text := fmt.Sprintf(`[log]
syslog = false
[quarantine]
dir = %q
[notify]
sendmail = [%q, %q]
[policy]
postmaster = "postmaster@example.net"
local_domains = ["example.net"]
%s`, ps.qdir, rec, ps.noticeDir, extra)
	if err := os.WriteFile(ps.cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return ps
}

func (ps policySetup) deliver(t *testing.T, msg, sender string) (int, string) {
	t.Helper()
	e, _, errb := testEnv(msg, map[string]string{"HOME": ps.home, "USER": "bob", "SENDER": sender, "RECIPIENT": "bob@example.net"})
	code := run([]string{"-c", ps.cfg}, e)
	return code, errb.String()
}

func (ps policySetup) delivered(t *testing.T) []string {
	t.Helper()
	d := filepath.Join(ps.home, "Maildir", "new")
	if _, err := os.Stat(d); err != nil {
		return nil
	}
	return newFiles(t, d)
}

// notices returns the recipients and texts of the notices sent.
func (ps policySetup) notices(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, _ := os.ReadDir(ps.noticeDir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".argv") {
			continue
		}
		argv, _ := os.ReadFile(filepath.Join(ps.noticeDir, e.Name()))
		body, _ := os.ReadFile(filepath.Join(ps.noticeDir, strings.TrimSuffix(e.Name(), ".argv")+".stdin"))
		args := strings.Split(strings.TrimSpace(string(argv)), "\n")
		out[args[len(args)-1]] = string(body)
	}
	return out
}

func (ps policySetup) quarantined(t *testing.T) []quarantine.Report {
	t.Helper()
	l, err := quarantine.Store{Dir: ps.qdir}.List(time.Time{})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return l
}

func attach(name, ctype string, content []byte) string {
	return "From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: files\nMessage-ID: <p1@example.org>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n" +
		"--b1\nContent-Type: text/plain\n\nSee attached.\n" +
		"--b1\nContent-Type: " + ctype + "; name=\"" + name + "\"\nContent-Disposition: attachment; filename=\"" + name + "\"\n" +
		"Content-Transfer-Encoding: base64\n\n" + base64.StdEncoding.EncodeToString(content) + "\n--b1--\n"
}

func TestPolicyBannedNameReplaced(t *testing.T) {
	ps := newPolicySetup(t, "")
	msg := attach("notes.txt.vbs", "text/plain", []byte("MsgBox \"hello\"\n"))
	code, log := ps.deliver(t, msg, "alice@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered: %s", len(got), log)
	}
	m := got[0]
	if strings.Contains(m, base64.StdEncoding.EncodeToString([]byte("MsgBox \"hello\"\n"))) {
		t.Errorf("the banned attachment was delivered:\n%s", m)
	}
	for _, want := range []string{"See attached.", "notes.txt.vbs", "X-Scandeliver-Status: blocked", "removed"} {
		if !strings.Contains(m, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, m)
		}
	}
	q := ps.quarantined(t)
	if len(q) != 1 || q[0].SHA256 == "" {
		t.Fatalf("quarantine: %+v", q)
	}
	f, _ := quarantine.Store{Dir: ps.qdir}.Open(q[0].ID)
	orig := make([]byte, len(msg)+10)
	n, _ := f.Read(orig)
	f.Close()
	if string(orig[:n]) != msg {
		t.Errorf("quarantined original differs")
	}
	if !strings.Contains(log, "action=sanitized") || !strings.Contains(log, "quarantine_id="+q[0].ID) {
		t.Errorf("log line: %s", log)
	}
	n1 := ps.notices(t)
	if _, ok := n1["postmaster@example.net"]; !ok || len(n1) != 1 {
		t.Errorf("notices sent to %v, want the postmaster only", keys(n1))
	}
}

func TestPolicyInfectedPartReplaced(t *testing.T) {
	ps := newPolicySetup(t, "")
	code, log := ps.deliver(t, attach("eicar.com", "application/octet-stream", builtin.Eicar()), "alice@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 || strings.Contains(got[0], base64.StdEncoding.EncodeToString(builtin.Eicar())) {
		t.Fatalf("infected attachment delivered, or nothing: %q", got)
	}
	if !strings.Contains(got[0], "Eicar") || !strings.Contains(got[0], "X-Scandeliver-Status: infected") {
		t.Errorf("replacement text or status lacks the signature:\n%s", got[0])
	}
	if len(ps.quarantined(t)) != 1 {
		t.Errorf("original not quarantined")
	}
	pm := ps.notices(t)["postmaster@example.net"]
	if !strings.Contains(pm, "Eicar") {
		t.Errorf("postmaster notice lacks the signature:\n%s", pm)
	}
	if _, ok := ps.notices(t)["alice@example.org"]; ok {
		t.Errorf("an outside sender of a virus (which forge senders) was told")
	}
}

func TestPolicyLocalInfectedDropped(t *testing.T) {
	ps := newPolicySetup(t, "")
	code, log := ps.deliver(t, attach("eicar.com", "application/octet-stream", builtin.Eicar()), "carol@example.net")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	if got := ps.delivered(t); len(got) != 0 {
		t.Fatalf("infected mail from a local sender was delivered: %d messages", len(got))
	}
	if !strings.Contains(log, "action=dropped") || len(ps.quarantined(t)) != 1 {
		t.Errorf("not dropped on record: %s", log)
	}
	n := ps.notices(t)
	if _, ok := n["carol@example.net"]; !ok {
		t.Errorf("the local sender was not told: %v", keys(n))
	}
	if _, ok := n["postmaster@example.net"]; !ok {
		t.Errorf("the postmaster was not told: %v", keys(n))
	}
}

func TestPolicyRejectExits65(t *testing.T) {
	ps := newPolicySetup(t, "filename_rules = [{ action = \"reject\", pattern = '\\.scr$' }]\n")
	code, log := ps.deliver(t, attach("screen.scr", "application/octet-stream", []byte("data")), "alice@example.org")
	if code != exDataErr {
		t.Fatalf("exit %d, want 65: %s", code, log)
	}
	if len(ps.delivered(t)) != 0 {
		t.Errorf("a rejected message was delivered")
	}
}

func TestPolicyPartialWithheld(t *testing.T) {
	ps := newPolicySetup(t, "")
	msg := "From: a@example.org\nTo: bob@example.net\nSubject: part 1\nMIME-Version: 1.0\n" +
		"Content-Type: message/partial; id=\"x@y\"; number=1; total=2\n\nSubject: inner\n\nhalf a message\n"
	code, log := ps.deliver(t, msg, "a@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 || strings.Contains(got[0], "half a message") || !strings.Contains(got[0], "Subject: ") {
		t.Fatalf("want a notice in place of the message, got %q", got)
	}
	if !strings.Contains(log, "action=withheld") || len(ps.quarantined(t)) != 1 {
		t.Errorf("not withheld on record: %s", log)
	}
}

func TestPolicyHTMLDisarmed(t *testing.T) {
	ps := newPolicySetup(t, "")
	msg := "From: a@example.org\nTo: bob@example.net\nSubject: html\nMIME-Version: 1.0\n" +
		"Content-Type: text/html; charset=utf-8\n\n<html><body><p onclick=\"steal()\">Hi</p><script>alert(1)</script>" +
		"<a href=\"http://evil.example/login\">https://www.bank.example/</a></body></html>\n"
	code, log := ps.deliver(t, msg, "a@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d delivered", len(got))
	}
	for _, bad := range []string{"<script", "onclick", "alert(1)"} {
		if strings.Contains(got[0], bad) {
			t.Errorf("delivered HTML still has %q:\n%s", bad, got[0])
		}
	}
	if !strings.Contains(got[0], "X-Scandeliver-HTML: 1 suspicious link") {
		t.Errorf("no phishing status field:\n%s", got[0])
	}
	if !strings.Contains(log, "action=sanitized") || len(ps.quarantined(t)) != 0 {
		t.Errorf("HTML disarming alone should sanitize without quarantine: %s", log)
	}
}

func keys(m map[string]string) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

func TestPolicyForgedStatusRemoved(t *testing.T) {
	ps := newPolicySetup(t, "")
	msg := "X-Scandeliver-Status: clean\nFrom: a@example.org\nX-Spam-Status: No, score=-100\n\tfolded=yes\nX-Spam-Flag: NO\n" +
		"Subject: trust me\n\nbody\nX-Spam-Status: in the body stays\n"
	code, log := ps.deliver(t, msg, "a@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d delivered", len(got))
	}
	want := "X-Scandeliver-Status: clean\nFrom: a@example.org\nSubject: trust me\n\nbody\nX-Spam-Status: in the body stays\n"
	if !strings.HasSuffix(got[0], want) || strings.Count(got[0], "X-Scandeliver-Status") != 1 || strings.Contains(got[0], "score=-100") || strings.Contains(got[0], "folded") {
		t.Errorf("forged fields not removed, or more removed:\n%s", got[0])
	}
}

func TestPolicySendmailDashT(t *testing.T) {
	// Other scanners' configurations say sendmail -i -t: accepted, and
	// the recipient is still passed as an argument.
	ps := newPolicySetup(t, "")
	b, _ := os.ReadFile(ps.cfg)
	rec, _ := filepath.Abs("testdata/record-sendmail")
	b = []byte(strings.Replace(string(b), fmt.Sprintf("sendmail = [%q, %q]", rec, ps.noticeDir), fmt.Sprintf("sendmail = [%q, %q, \"-i\", \"-t\"]", rec, ps.noticeDir), 1))
	os.WriteFile(ps.cfg, b, 0o644)
	code, log := ps.deliver(t, attach("run.exe", "application/octet-stream", []byte("MZ")), "alice@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	n := ps.notices(t)
	if _, ok := n["postmaster@example.net"]; !ok {
		t.Errorf("no notice to the postmaster with -i -t: %v %s", keys(n), log)
	}
}

func TestPolicyUndisarmableHTML(t *testing.T) {
	ps := newPolicySetup(t, "")
	deep := strings.Repeat("<div>", 5000) + "<script>alert(1)</script>" + strings.Repeat("</div>", 5000)
	msg := "From: a@example.org\nSubject: deep\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n" +
		"--b\nContent-Type: text/plain\n\nplain text\n--b\nContent-Type: text/html\n\n" + deep + "\n--b--\n"
	code, log := ps.deliver(t, msg, "a@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 || strings.Contains(got[0], "<script>") {
		t.Fatalf("HTML that cannot be disarmed reached the mailbox: %d messages", len(got))
	}
	if !strings.Contains(got[0], "unscannable") || len(ps.quarantined(t)) != 1 {
		t.Errorf("not treated as unscannable: %s", log)
	}
}

func TestPolicyDisinfectAndSignature(t *testing.T) {
	ps := newPolicySetup(t, "")
	b, _ := os.ReadFile(ps.cfg)
	os.WriteFile(ps.cfg, append(b, []byte("[sanitize]\ndisinfect = true\nsignature_text = \"Scanned by scandeliver at example.net\"\n")...), 0o644)

	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, data := range map[string][]byte{"eicar.com": builtin.Eicar(), "readme.txt": []byte("keep me\n")} {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	zw.Close()
	code, log := ps.deliver(t, attach("files.zip", "application/zip", zb.Bytes()), "alice@example.org")
	if code != exOK || !strings.Contains(log, "disinfected=") {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d delivered", len(got))
	}
	// The rebuilt zip holds readme.txt only.
	i := strings.Index(got[0], "Content-Transfer-Encoding: base64")
	body := got[0][i:]
	body = body[strings.Index(body, "\n\n")+2:]
	body = body[:strings.Index(body, "\n--")]
	raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.ReplaceAll(body, "\r", ""), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "readme.txt" {
		t.Fatalf("rebuilt zip: %v %v", err, zr)
	}
	if strings.Contains(got[0], "Scanned by scandeliver") {
		t.Errorf("an infected message was signed")
	}

	// A clean message is signed, once.
	os.RemoveAll(filepath.Join(ps.home, "Maildir"))
	clean := "From: a@example.org\nSubject: hi\n\nhello\n"
	if code, log := ps.deliver(t, clean, "a@example.org"); code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got = ps.delivered(t)
	if len(got) != 1 || strings.Count(got[0], "Scanned by scandeliver") != 1 {
		t.Fatalf("signature not added once: %q", got)
	}
	again := got[0][strings.Index(got[0], "From: a@example.org"):]
	os.RemoveAll(filepath.Join(ps.home, "Maildir"))
	if code, log := ps.deliver(t, again, "a@example.org"); code != exOK {
		t.Fatalf("second pass: exit %d: %s", code, log)
	}
	if got := ps.delivered(t); len(got) != 1 || strings.Count(got[0], "Scanned by scandeliver") != 1 {
		t.Errorf("the second pass added the signature again: %q", got)
	}
}

func TestPolicyOfficeMacrosDenied(t *testing.T) {
	ps := newPolicySetup(t, "")
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, name := range []string{"[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"} {
		w, _ := zw.Create(name)
		w.Write([]byte("<x/>" + name))
	}
	zw.Close()
	code, log := ps.deliver(t, attach("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", zb.Bytes()), "alice@example.org")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, log)
	}
	got := ps.delivered(t)
	if len(got) != 1 || strings.Contains(got[0], base64.StdEncoding.EncodeToString(zb.Bytes())[:60]) || !strings.Contains(got[0], "macros") {
		t.Fatalf("a document with macros was delivered, or not explained: %s\n%q", log, got)
	}
}
