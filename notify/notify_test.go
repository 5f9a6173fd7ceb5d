package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// hostile is a file name and subject that try every trick on a reader, a
// header, a shell and a terminal.
const hostile = "$(touch pwned)`id`;rm -rf ~ ../../etc/passwd\r\nBcc: victim@example.net\n\x1b[2J\x1b]0;owned\x07invoice\u202egpj.exe\xff"

func sampleData() Data {
	return Data{
		Date:         "Fri, 27 Nov 2026 15:38:44 +0000",
		QuarantineID: "20261127-153844-123456-9f86d081884c",
		Contact:      "postmaster@example.org",
		Hostname:     "mx.example.org",
		Sender:       "alice@example.com",
		Recipient:    "bob@example.org",
		Subject:      "Facture n°42 " + hostile,
		MessageID:    "<abc.123@example.com>",
		Status:       "infected",
		Action:       "deliver",
		File:         hostile,
		Reason:       "Infected: Eicar-Signature",
		Rule:         "infected",
		Signature:    "Eicar-Signature",
		Items: []Item{
			{File: hostile, Part: "2", Action: "deny", Reason: "Infected: Eicar-Signature", Rule: "infected", Signature: "Eicar-Signature"},
			{File: "notes.txt.vbs", Part: "3", Action: "deny", Reason: "The file name hides an executable extension", Rule: `filename \.vbs$`},
		},
		Headers: []string{"From: Alice <alice@example.com>", "Subject: " + hostile},
	}
}

// checkSafeText fails if text holds a character that could act on a
// terminal or a reader other than the newlines of the template itself.
func checkSafeText(t *testing.T, what, text string) {
	t.Helper()
	if !utf8.ValidString(text) {
		t.Errorf("%s: invalid UTF-8", what)
	}
	for _, r := range text {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Errorf("%s: holds %U", what, r)
		}
	}
	for _, bad := range []string{"\nBcc:", "\x1b", "\u202e"} {
		if strings.Contains(text, bad) {
			t.Errorf("%s: holds %q", what, bad)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"invoice.pdf":            "invoice.pdf",
		"café ü 日本 😀":            "café ü 日本 😀",
		"a\nb\r\tc":              `a\nb\r\tc`,
		"a\u202eb":               `a\u202eb`,
		"\x1b[31mred":            `\x1b[31mred`,
		"\xff\xfe":               `\xff\xfe`,
		"a\u00a0b":               `a\u00a0b`,
		"$(touch x)`id`":         "$(touch x)`id`",
		`C:\dir\"x"`:             `C:\dir\"x"`,
		"\x00":                   `\x00`,
		"\u2028":                 `\u2028`,
		strings.Repeat("é", 300): strings.Repeat("é", 256) + "…",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	f.Add(hostile)
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		checkSafeText(t, "escape", strings.ReplaceAll(e, "\n", "X"))
		if strings.Contains(e, "\n") {
			t.Fatalf("Escape(%q) has a newline", s)
		}
		if utf8.RuneCountInString(e) > 256*10+1 {
			t.Fatalf("Escape(%q) too long", s)
		}
		// A printable string comes back as it is; U+FFFD is escaped on
		// purpose (shown as \ufffd it cannot pass for a character the
		// message really had, nor hide a decoding error).
		printable := utf8.ValidString(s) && utf8.RuneCountInString(s) <= 256
		for _, r := range s {
			printable = printable && (r == ' ' || unicode.IsPrint(r)) && r != utf8.RuneError
		}
		if printable && e != s {
			t.Fatalf("Escape(%q) = %q changed a printable string", s, e)
		}
	})
}

func TestRenderGolden(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		for _, name := range Names() {
			body, subject, err := Templates{}.render(lang, name, sampleData())
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, name, err)
			}
			checkSafeText(t, lang+"/"+name, body+subject)
			got := body
			if subject != "" {
				got = "Subject: " + subject + "\n\n" + body
			}
			for _, want := range []string{"$(touch pwned)`id`", `\r\nBcc: victim@example.net\n\x1b[2J`, `invoice\u202egpj.exe\xff`} {
				if name != "postmaster" && name != "replacement" && name != "disinfected" && name != "withheld" && name != "sender" {
					continue
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s/%s: escaped name %q missing", lang, name, want)
				}
			}
			if strings.Contains(body, "%!") || strings.Contains(body, "<no value>") {
				t.Errorf("%s/%s: formatting error in output", lang, name)
			}
			golden := filepath.Join("testdata", "golden", lang+"-"+name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs (go test -update to accept):\n%s", golden, got)
			}
		}
	}
	// The replacement names everything the issue lists.
	r, err := Render("en", "replacement", sampleData())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Infected: Eicar-Signature", "Eicar-Signature", "infected", "Fri, 27 Nov 2026", "20261127-153844-123456-9f86d081884c", "postmaster@example.org"} {
		if !strings.Contains(r, want) {
			t.Errorf("replacement lacks %q", want)
		}
	}
}

func TestTemplatesLookup(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "en"), 0o755)
	os.MkdirAll(filepath.Join(dir, "de"), 0o755)
	os.WriteFile(filepath.Join(dir, "en", "replacement.tmpl"), []byte("SITE {{.File}}"), 0o644)
	os.WriteFile(filepath.Join(dir, "de", "replacement.tmpl"), []byte("DE {{.File}}"), 0o644)
	os.WriteFile(filepath.Join(dir, "en", "broken.tmpl"), []byte("{{.File"), 0o644)
	os.WriteFile(filepath.Join(dir, "en", "missing.tmpl"), []byte("{{.NoSuchField}}"), 0o644)
	site := Templates{Dir: dir}
	d := Data{File: "a\nb"}
	for _, c := range []struct {
		tm         Templates
		lang, name string
		prefix     string
		err        bool
	}{
		{site, "en", "replacement", `SITE a\nb`, false},
		{site, "de", "replacement", `DE a\nb`, false},
		{site, "de-AT", "replacement", `DE a\nb`, false},
		{site, "fr", "replacement", "Cette pièce jointe", false}, // embedded fr before site en
		{site, "xx", "replacement", "SITE", false},
		{site, "../../etc", "replacement", "SITE", false},
		{Templates{}, "", "replacement", "This attachment", false},
		{Templates{}, "FR", "withheld", "Un message", false},
		{site, "en", "../en/replacement", "", true},
		{site, "en", "nosuch", "", true},
		{site, "en", "broken", "", true},
		{site, "en", "missing", "", true},
	} {
		got, err := c.tm.Render(c.lang, c.name, d)
		if (err != nil) != c.err || !strings.HasPrefix(got, c.prefix) {
			t.Errorf("%s/%s: %q, %v", c.lang, c.name, got, err)
		}
	}
	if _, err := site.Render("en", "nosuch", d); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("want ErrNoTemplate, got %v", err)
	}
	// Data passed by pointer is escaped too; other values are not.
	if got, _ := site.Render("en", "replacement", &d); got != `SITE a\nb` {
		t.Errorf("pointer: %q", got)
	}
	if d.File != "a\nb" {
		t.Error("Render modified the caller's Data")
	}
}

func parse(t *testing.T, msg []byte) (*mail.Message, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	if m.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Fatalf("encoding %q", m.Header.Get("Content-Transfer-Encoding"))
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return m, string(body)
}

var wantFields = []string{"From", "To", "Subject", "Date", "Message-Id", "Auto-Submitted", "X-Auto-Response-Suppress",
	"Mime-Version", "Content-Type", "Content-Transfer-Encoding", "Content-Language"}

func TestNoticeBuild(t *testing.T) {
	n := Notice{From: "postmaster@example.org", FromName: "Scanner (é)", To: "<alice@example.com>",
		Subject: "Re: " + hostile + strings.Repeat(" très long", 20), Body: "Bonjour,\nligne =3D é\n" + strings.Repeat("x", 200),
		AutoSubmitted: "auto-replied", InReplyTo: "<abc.123@example.com>", Lang: "fr", Hostname: "mx.example.org",
		Date: time.Date(2026, 11, 27, 15, 38, 44, 0, time.UTC)}
	msg, err := n.Build()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(msg, []byte("\r")) {
		t.Error("CR in a message for sendmail")
	}
	m, body := parse(t, msg)
	var names []string
	for k := range m.Header {
		names = append(names, k)
	}
	for _, f := range append(wantFields, "In-Reply-To", "References") {
		if len(m.Header[f]) != 1 {
			t.Errorf("field %s appears %d times", f, len(m.Header[f]))
		}
	}
	if len(m.Header) != len(wantFields)+2 {
		t.Errorf("fields %v", names)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(subj, `Re: $(touch pwned)`+"`id`"+`;rm -rf ~ ../../etc/passwd\r\nBcc: victim@example.net\n\x1b[2J`) || !strings.HasSuffix(subj, "…") {
		t.Errorf("subject %q", subj)
	}
	if !strings.Contains(m.Header.Get("Subject"), "=?utf-8?q?") {
		t.Errorf("subject not RFC 2047 encoded: %q", m.Header.Get("Subject"))
	}
	from, err := mail.ParseAddress(m.Header.Get("From"))
	if err != nil || from.Address != "postmaster@example.org" || from.Name != "Scanner (é)" {
		t.Errorf("From %q: %v %v", m.Header.Get("From"), from, err)
	}
	for k, want := range map[string]string{"To": "<alice@example.com>", "Auto-Submitted": "auto-replied", "In-Reply-To": "<abc.123@example.com>",
		"Content-Type": "text/plain; charset=utf-8", "Content-Language": "fr", "Date": "Fri, 27 Nov 2026 15:38:44 +0000"} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if !strings.HasSuffix(m.Header.Get("Message-Id"), "@mx.example.org>") {
		t.Errorf("Message-ID %q", m.Header.Get("Message-Id"))
	}
	if body != n.Body+"\n" {
		t.Errorf("body %q", body)
	}
	folded := 0
	for _, line := range strings.Split(string(msg), "\n") {
		if len(line) > 90 {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
		if strings.HasPrefix(line, " =?utf-8?q?") {
			folded++
		}
	}
	if folded < 2 {
		t.Errorf("long subject not folded:\n%s", msg)
	}
}

func TestNoticeRefuses(t *testing.T) {
	good := Notice{From: "postmaster", To: "a@b.example"}
	if _, err := good.Build(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "<>", "a b@c", "a@b\nBcc: x@y", "-oQ/tmp@x", "a@b>,<c@d", "\"q\"@x", "a@-b", "a..b@c", "a@b\x00"} {
		n := good
		n.To = bad
		if _, err := n.Build(); !errors.Is(err, ErrBadAddress) {
			t.Errorf("To %q: %v", bad, err)
		}
	}
	for _, irt := range []string{"<a@b>\nBcc: x@y", "no-brackets@x", "<a b@c>", "<@>"} {
		n := good
		n.InReplyTo = irt
		msg, err := n.Build()
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := parse(t, msg); m.Header.Get("In-Reply-To") != "" || m.Header.Get("Bcc") != "" {
			t.Errorf("In-Reply-To %q kept", irt)
		}
	}
}

func FuzzNotice(f *testing.F) {
	f.Add(hostile, hostile, "<a@b>")
	f.Add("plain", "Mail scanner", "")
	f.Fuzz(func(t *testing.T, subject, fromName, irt string) {
		msg, err := Notice{From: "postmaster@example.org", FromName: fromName, To: "a@example.com", Subject: subject,
			InReplyTo: irt, Body: subject, Hostname: "h"}.Build()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := parse(t, msg)
		for k := range m.Header {
			ok := k == "In-Reply-To" || k == "References"
			for _, f := range wantFields {
				ok = ok || k == f
			}
			if !ok || len(m.Header[k]) != 1 {
				t.Fatalf("header %q (%d) from subject %q", k, len(m.Header[k]), subject)
			}
		}
	})
}

func TestCheckAddress(t *testing.T) {
	for _, ok := range []string{"a@b.c", "<a@b.c>", "postmaster", "first.last+tag@sub.example.org", "x@[192.0.2.1]", "o'brien@x.ie"} {
		if _, err := CheckAddress(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "<>", "-f", "-oi@x", "a@b c", "a@b;c", "a@b|c", "$(id)@x", "a@.b", " a@b", "a@b ", "a@b\t", ".a@b", "a@b\n", strings.Repeat("a", 250) + "@b.cd"} {
		if _, err := CheckAddress(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// recorder runs testdata/record-sendmail and reads back what it stored.
type recorder struct{ dir string }

func newRecorder(t *testing.T) (Mailer, recorder) {
	t.Helper()
	prog, err := filepath.Abs("testdata/record-sendmail")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return Mailer{Sendmail: []string{prog}, Env: []string{"RECORD_DIR=" + dir}}, recorder{dir}
}

type call struct {
	argv  []string
	env   string
	stdin []byte
}

func (r recorder) calls(t *testing.T) []call {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(r.dir, "*.argv"))
	var out []call
	for _, f := range files {
		base := strings.TrimSuffix(f, ".argv")
		a, _ := os.ReadFile(f)
		e, _ := os.ReadFile(base + ".env")
		in, _ := os.ReadFile(base + ".stdin")
		out = append(out, call{strings.Split(strings.TrimSuffix(string(a), "\x00"), "\x00"), string(e), in})
	}
	return out
}

func TestMailerSend(t *testing.T) {
	t.Setenv("SCANDELIVER_SECRET_TEST", "leak")
	m, rec := newRecorder(t)
	msg := []byte("Subject: x\n\nbody\n.\nafter the dot\n")
	if err := m.Send(context.Background(), "<bob@example.org>", msg); err != nil {
		t.Fatal(err)
	}
	calls := rec.calls(t)
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if strings.Join(c.argv, "|") != "-oi|-f|<>|--|bob@example.org" {
		t.Errorf("argv %q", c.argv)
	}
	if !bytes.Equal(c.stdin, msg) {
		t.Errorf("stdin %q", c.stdin)
	}
	if strings.Contains(c.env, "SCANDELIVER_SECRET_TEST") || !strings.Contains(c.env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin") {
		t.Errorf("environment passed: %s", c.env)
	}

	// Failures: exit status, with the program's complaint escaped.
	fail := m
	fail.Env = append(fail.Env, "RECORD_EXIT=75")
	err := fail.Send(context.Background(), "bob@example.org", msg)
	if err == nil || !strings.Contains(err.Error(), "exit status 75") || !strings.Contains(err.Error(), `\x1b[31mred`) || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("failure: %v", err)
	}
	slow := m
	// The program sleeps a minute; Send gives up after 200 ms. The
	// bound only tells an enforced timeout from none: half the sleep,
	// far above what a loaded machine adds to 200 ms.
	slow.Env, slow.Timeout = append(slow.Env, "RECORD_SLEEP=60"), 200*time.Millisecond
	start := time.Now()
	if err := slow.Send(context.Background(), "bob@example.org", msg); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("timeout: %v", err)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("timeout not enforced: Send returned after %v", el)
	}
	if err := (Mailer{Sendmail: []string{"/nonexistent/sendmail"}}).Send(context.Background(), "a@b.c", msg); err == nil {
		t.Error("missing program: no error")
	}
	for _, bad := range [][]string{{"sendmail"}, {"/usr/sbin/sendmail", "-t"}, {"/usr/sbin/sendmail", "--"}} {
		if err := (Mailer{Sendmail: bad}).Check(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := m.Argv("-oQ/tmp"); err == nil {
		t.Error("option as recipient accepted")
	}
	if len(rec.calls(t)) != 3 {
		t.Errorf("calls: %d, want 3 (ok, exit 75, timeout)", len(rec.calls(t)))
	}
}

func TestNotifierThroughSendmail(t *testing.T) {
	mailer, rec := newRecorder(t)
	wd := t.TempDir()
	t.Chdir(wd)
	n := Notifier{From: "postmaster@example.org", Hostname: "mx.example.org", Lang: "fr", Mailer: mailer,
		Now: func() time.Time { return time.Date(2026, 11, 27, 15, 38, 44, 0, time.UTC) }}
	d := sampleData()
	d.Date = ""
	if err := n.Postmaster(context.Background(), "postmaster@example.org", d); err != nil {
		t.Fatal(err)
	}
	n.Lang = "en"
	if err := n.Sender(context.Background(), "alice@example.com", d); err != nil {
		t.Fatal(err)
	}
	calls := rec.calls(t)
	if len(calls) != 2 {
		t.Fatalf("%d calls", len(calls))
	}
	seen := map[string]bool{}
	for _, c := range calls {
		m, body := parse(t, c.stdin)
		checkSafeText(t, "body", body)
		rcpt := c.argv[len(c.argv)-1]
		seen[rcpt] = true
		if m.Header.Get("To") != "<"+rcpt+">" || m.Header.Get("Bcc") != "" || m.Header.Get("Cc") != "" {
			t.Errorf("%s: header %v", rcpt, m.Header)
		}
		subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		checkSafeText(t, "subject", subj)
		if !strings.Contains(body, "Fri, 27 Nov 2026 15:38:44 +0000") || !strings.Contains(body, `invoice\u202egpj.exe\xff`) {
			t.Errorf("%s: body lacks date or escaped name:\n%s", rcpt, body)
		}
		switch rcpt {
		case "postmaster@example.org":
			if m.Header.Get("Auto-Submitted") != "auto-generated" || m.Header.Get("Content-Language") != "fr" ||
				!strings.Contains(body, "Rapport") || !strings.Contains(body, "Subject: ") {
				t.Errorf("postmaster notice:\n%s", c.stdin)
			}
		case "alice@example.com":
			if m.Header.Get("Auto-Submitted") != "auto-replied" || m.Header.Get("In-Reply-To") != "<abc.123@example.com>" ||
				!strings.Contains(subj, "Facture n°42") || strings.Contains(body, "filename \\.vbs") {
				t.Errorf("sender notice:\n%s", c.stdin)
			}
		}
	}
	if !seen["postmaster@example.org"] || !seen["alice@example.com"] {
		t.Errorf("recipients %v", seen)
	}
	for _, dir := range []string{wd, rec.dir, "."} {
		if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
			t.Fatalf("a name from the message was run by a shell in %s", dir)
		}
	}
}

func TestRealSender(t *testing.T) {
	h := func(kv ...string) textproto.MIMEHeader {
		m := textproto.MIMEHeader{}
		for i := 0; i < len(kv); i += 2 {
			m.Add(kv[i], kv[i+1])
		}
		return m
	}
	ours := "mx.example.org"
	proof := Proof{RequireProof: true, AuthServID: ours}
	for _, c := range []struct {
		name   string
		sender string
		h      textproto.MIMEHeader
		p      Proof
		ok     bool
	}{
		{"plain, no proof needed", "alice@example.com", h(), Proof{}, true},
		{"null", "<>", h(), Proof{}, false},
		{"empty", "", h(), Proof{}, false},
		{"mailer-daemon", "MAILER-DAEMON@example.com", h(), Proof{Local: true}, false},
		{"owner-", "owner-list@example.com", h(), Proof{}, false},
		{"-request", "list-request@example.com", h(), Proof{}, false},
		{"bounces+", "bounces+123@example.com", h(), Proof{}, false},
		{"noreply", "noreply@example.com", h(), Proof{}, false},
		{"precedence bulk", "a@example.com", h("Precedence", " Bulk"), Proof{}, false},
		{"precedence list", "a@example.com", h("Precedence", "list"), Proof{}, false},
		{"precedence junk", "a@example.com", h("Precedence", "junk"), Proof{}, false},
		{"precedence first-class", "a@example.com", h("Precedence", "first-class"), Proof{}, true},
		{"list-id", "a@example.com", h("List-Id", "<x.example.com>"), Proof{}, false},
		{"auto-submitted", "a@example.com", h("Auto-Submitted", "auto-replied"), Proof{}, false},
		{"auto-submitted no", "a@example.com", h("Auto-Submitted", "No (comment)"), Proof{}, true},
		{"forged virus", "a@example.com", h(), Proof{Forged: true}, false},
		{"forged but local", "a@example.org", h(), Proof{Forged: true, Local: true}, true},
		{"proof: none", "a@example.com", h(), proof, false},
		{"proof: local", "a@example.org", h(), Proof{RequireProof: true, Local: true}, true},
		{"proof: spf pass", "a@example.com", h("Authentication-Results", ours+"; spf=pass smtp.mailfrom=a@example.com"), proof, true},
		{"proof: spf pass, domain only", "a@Example.COM", h("Authentication-Results", ours+"; spf=pass (sender SPF authorized) smtp.mailfrom=example.com"), proof, true},
		{"proof: spf pass other domain", "a@example.com", h("Authentication-Results", ours+"; spf=pass smtp.mailfrom=evil.example"), proof, false},
		{"proof: spf fail", "a@example.com", h("Authentication-Results", ours+"; spf=fail smtp.mailfrom=example.com"), proof, false},
		{"proof: dmarc pass", "a@example.com", h("Authentication-Results", ours+"; dkim=pass header.d=example.com; dmarc=pass (p=reject) header.from=example.com"), proof, true},
		{"proof: dmarc pass other From", "a@victim.example", h("Authentication-Results", ours+"; dmarc=pass header.from=example.com"), proof, false},
		{"proof: someone else's results", "a@example.com", h("Authentication-Results", "mx.evil.example; spf=pass smtp.mailfrom=example.com"), proof, false},
		{"proof: ours among others", "a@example.com", h("Authentication-Results", "mx.evil.example; spf=pass smtp.mailfrom=example.com",
			"Authentication-Results", ours+" 1; spf = pass smtp.mailfrom = example.com"), proof, true},
		// RFC 8601 section 5: only the topmost field of ours counts (our
		// MTA's); a pass in a forged one below does not (issue 12.3).
		{"proof: forged pass below ours", "a@example.com", h("Authentication-Results", ours+"; spf=fail smtp.mailfrom=example.com",
			"Authentication-Results", ours+"; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com"), proof, false},
		{"proof: forged pass below ours, ours has none", "a@example.com", h("Authentication-Results", ours+"; none",
			"Authentication-Results", ours+"; spf=pass smtp.mailfrom=example.com"), proof, false},
		{"proof: no authserv-id configured", "a@example.com", h("Authentication-Results", ours+"; spf=pass smtp.mailfrom=example.com"), Proof{RequireProof: true}, false},
		{"proof: comment trick", "a@example.com", h("Authentication-Results", ours+"; spf=fail (spf=pass) smtp.mailfrom=example.com"), proof, false},
		{"proof: forged wins", "a@example.com", h("Authentication-Results", ours+"; spf=pass smtp.mailfrom=example.com"), Proof{RequireProof: true, AuthServID: ours, Forged: true}, false},
		{"hostile address", "a@example.com\nBcc: x@y", h(), Proof{}, false},
	} {
		ok, why := RealSender(c.sender, c.h, c.p)
		if ok != c.ok {
			t.Errorf("%s: %v (%s), want %v", c.name, ok, why, c.ok)
		}
		if why == "" {
			t.Errorf("%s: no reason", c.name)
		}
	}
	if ok, _ := RealSender("a@example.com", nil, Proof{}); !ok {
		t.Error("nil header")
	}
}

func TestParseAuthResults(t *testing.T) {
	ar, err := ParseAuthResults(` mx.example.org (Postfix) 1; spf=pass (sender IP is 192.0.2.1) smtp.mailfrom="a@example.com" smtp.helo=mail;
	 dkim=pass (2048-bit key) header.d=example.com header.i=@example.com; dmarc=pass (p=none dis=none) header.from=example.com; arc=none`)
	if err != nil {
		t.Fatal(err)
	}
	if ar.AuthServID != "mx.example.org" || len(ar.Results) != 4 {
		t.Fatalf("%+v", ar)
	}
	if r := ar.Results[0]; r.Method != "spf" || r.Result != "pass" || r.Props["smtp.mailfrom"] != "a@example.com" || r.Props["smtp.helo"] != "mail" {
		t.Errorf("%+v", r)
	}
	if r := ar.Results[2]; r.Method != "dmarc" || r.Props["header.from"] != "example.com" {
		t.Errorf("%+v", r)
	}
	if ar, err := ParseAuthResults("mx.example.org; none"); err != nil || len(ar.Results) != 0 {
		t.Errorf("none: %+v %v", ar, err)
	}
	for _, bad := range []string{"", "   ", "(only a comment)", "; spf=pass"} {
		if _, err := ParseAuthResults(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseAuthResults(f *testing.F) {
	f.Add("mx.example.org; spf=pass smtp.mailfrom=a@example.com")
	f.Add(`x (a (b) c) "q;uoted"; dkim=pass header.d="ex\"am"; dmarc = pass header.from = x`)
	f.Fuzz(func(t *testing.T, v string) {
		ar, err := ParseAuthResults(v)
		if err != nil {
			return
		}
		if ar.AuthServID == "" && !strings.Contains(v, `""`) {
			t.Fatalf("authserv-id %q from %q", ar.AuthServID, v)
		}
		for _, r := range ar.Results {
			if r.Method != strings.ToLower(r.Method) || r.Props == nil {
				t.Fatalf("%+v", r)
			}
		}
	})
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	r := RateLimit{Dir: filepath.Join(t.TempDir(), "notify"), Now: func() time.Time { return now }}
	step := func(addr string, want bool) {
		t.Helper()
		ok, err := r.Allow(addr)
		if err != nil || ok != want {
			t.Errorf("%s at %v: %v %v, want %v", addr, now, ok, err, want)
		}
	}
	step("a@example.com", true)
	step("A@Example.com", false)
	step("b@example.com", true)
	now = now.Add(59 * time.Minute)
	step("a@example.com", false)
	now = now.Add(2 * time.Minute)
	step("a@example.com", true)
	step("a@example.com", false)
	ents, _ := os.ReadDir(r.Dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), "example") {
			t.Errorf("address in a path: %s", e.Name())
		}
	}
}

// TestRateLimitPlanted: in a shared spool, another user creates the
// rate-limit directory first (theirs, open to all) and plants in it a
// symbolic link named like an address's file, pointing where they want
// a file created; or plants a symbolic link in place of the directory.
// Allow creates nothing through either, and fails.
func TestRateLimitPlanted(t *testing.T) {
	spool := t.TempDir()
	target := filepath.Join(t.TempDir(), "created-through-a-link")
	addr := "a@example.com"
	sum := sha256.Sum256([]byte(addr))
	name := hex.EncodeToString(sum[:16])

	theirs := filepath.Join(spool, "scandeliver-notify-0")
	if err := os.Mkdir(theirs, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(theirs, 0o777)
	if os.Geteuid() == 0 {
		os.Chown(theirs, 65534, 65534) // nobody's, as a user would make it
	}
	if err := os.Symlink(target, filepath.Join(theirs, name)); err != nil {
		t.Fatal(err)
	}
	if ok, err := (RateLimit{Dir: theirs}).Allow(addr); err == nil || ok {
		t.Errorf("Allow in a directory open to others: %v %v", ok, err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("a file was created through the planted link")
	}

	linked := filepath.Join(spool, "scandeliver-notify-1")
	os.Mkdir(filepath.Join(spool, "elsewhere"), 0o700)
	os.Symlink(filepath.Join(spool, "elsewhere"), linked)
	if ok, err := (RateLimit{Dir: linked}).Allow(addr); err == nil || ok {
		t.Errorf("Allow through a symlinked directory: %v %v", ok, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(spool, "elsewhere")); len(ents) != 0 {
		t.Errorf("files created through the symlinked directory: %v", ents)
	}
}
