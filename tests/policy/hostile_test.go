package policy

import (
	"bytes"
	"io"
	"io/fs"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
)

// hostileNames would run a command if they reached a shell, write outside
// our directories if they reached a path, and forge header lines or
// colour a terminal if they reached a notice or the log unescaped.
var hostileNames = []string{
	"$(touch x).exe",
	"`touch pwned`.scr",
	"; touch pwned ;.bat",
	"../../../../tmp/pwned.exe",
	"..\\..\\pwned.vbs",
	"report\nX-Injected: yes\n.exe",
	"bill\r\nBcc: victim@example.com\r\n.js",
	"\x1b[31mred\x1b[0m\x1b]0;title\x07.com",
}

// hostileSubject is an RFC 2047 encoded word whose decoded text holds a
// newline, an injected field, a command substitution and an ANSI escape.
const hostileSubject = "=?utf-8?q?hi_$(touch_x)_`touch_pwned`_../../x=0AX-Injected:_yes=0D=0ABcc:_victim@example.com_=1B[31mred=1B[0m?="

// hostileRawSubject is the same, written raw (8-bit and control bytes in
// the field, as broken or hostile mailers do).
const hostileRawSubject = "raw $(touch x) `touch pwned` \x1b[31mred\x1b[0m ../x"

func hostileMessage(subject string) []byte {
	var parts []string
	for _, n := range hostileNames {
		parts = append(parts, namedPart(n, builtin.Eicar()))
	}
	var zf []zipFile
	for _, n := range hostileNames {
		zf = append(zf, zipFile{strings.ReplaceAll(n, "\n", "_"), []byte("zip member\n")})
	}
	zf = append(zf, zipFile{"../pwned", []byte("climb\n")}, zipFile{"$(touch x)", []byte("sub\n")})
	parts = append(parts, attachment("application/zip", "$(touch x).zip", makeZip(nopT{}, zf...)))
	parts = append(parts, attachment("application/ms-tnef", "winmail.dat", makeTNEF(zipFile{"`touch pwned`.exe", []byte("tnef\n")})))
	return mixed(subject, parts...)
}

// TestHostileNames delivers messages whose names and subjects are
// attacks, through each path that writes our own text (a sanitized
// message, a message dropped with notices to a local sender, a withheld
// message), and checks that nothing from them reached a file, a shell, a
// notice or the log unescaped.
func TestHostileNames(t *testing.T) {
	partial := func(subject string) []byte {
		return []byte(header(subject, `message/partial; id="p@x"; number=1; total=2`) + "Subject: inner\n\nhalf\n")
	}
	cases := []struct {
		name, sender string
		msg          []byte
	}{
		{"sanitized-encoded-subject", "alice@example.org", hostileMessage(hostileSubject)},
		{"sanitized-raw-subject", "alice@example.org", hostileMessage(hostileRawSubject)},
		{"dropped-local-sender", "carol@example.net", hostileMessage(hostileSubject)},
		{"withheld-partial", "alice@example.org", partial(hostileSubject)},
		{"withheld-partial-raw", "alice@example.org", partial(hostileRawSubject)},
	}
	wd, _ := os.Getwd()
	before := pwnedFiles(t, wd, "/tmp")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, "")
			r := b.deliver(t, c.msg, c.sender)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}

			// No file made by a command or a climbing name.
			if f := pwnedFiles(t, b.root); len(f) > 0 {
				t.Errorf("files made from the message's names: %q", f)
			}

			// The quarantine holds id-named entries only (quarantined
			// reports anything else).
			if q := b.quarantined(t); len(q) != 1 {
				t.Errorf("%d quarantine entries, want 1", len(q))
			}

			// The log: one line, no raw control byte from the message.
			line := strings.TrimSuffix(r.stderr, "\n")
			if strings.Contains(line, "\n") || strings.ContainsAny(line, "\x1b\r\x07") {
				t.Errorf("log line holds a newline or a control byte: %q", r.stderr)
			}

			// The notices: only to whom they should go, no raw escape, no
			// field but ours, no line of the text that starts a field.
			n := b.sent(t)
			if len(n) == 0 {
				t.Errorf("no notice sent")
			}
			for _, s := range n {
				switch s.rcpt() {
				case "postmaster@example.net", c.sender:
				default:
					t.Errorf("a notice went to %q", s.rcpt())
				}
				checkOurText(t, "notice to "+s.rcpt(), s.stdin, true)
			}

			// The delivered message: the parts we wrote hold no raw escape
			// and start no field.
			for _, d := range b.delivered(t) {
				checkDelivered(t, c.msg, d.data)
			}
		})
	}
	if after := pwnedFiles(t, wd, "/tmp"); len(after) > len(before) {
		t.Errorf("files made from the message's names: %q (before: %q)", after, before)
	}
}

// pwnedFiles lists files under the roots named like what the hostile
// names would create ("x", "pwned*"). /tmp is looked at one level deep.
func pwnedFiles(t testing.TB, roots ...string) []string {
	t.Helper()
	var out []string
	for _, root := range roots {
		shallow := root == "/tmp"
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if shallow && d.IsDir() && p != root {
				return fs.SkipDir
			}
			if n := d.Name(); n == "x" || strings.HasPrefix(n, "pwned") || strings.Contains(n, "touch") {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

var allowedNoticeFields = map[string]bool{"from": true, "to": true, "subject": true, "date": true, "message-id": true,
	"in-reply-to": true, "references": true, "auto-submitted": true, "x-auto-response-suppress": true,
	"mime-version": true, "content-type": true, "content-transfer-encoding": true, "content-language": true}

// checkOurText checks a message we wrote whole: only our header fields,
// no raw ESC or CR-less control byte anywhere, no decoded body line that
// starts an injected field.
func checkOurText(t *testing.T, what string, msg []byte, header bool) {
	t.Helper()
	if bytes.ContainsAny(msg, "\x1b\x07") {
		t.Errorf("%s holds a raw control byte:\n%q", what, msg)
	}
	h, body := splitMessage(msg)
	if header {
		for _, l := range strings.Split(strings.TrimSuffix(string(h), "\n"), "\n") {
			if l == "" || l[0] == ' ' || l[0] == '\t' {
				continue
			}
			name, _, ok := strings.Cut(l, ":")
			if !ok || !allowedNoticeFields[strings.ToLower(name)] {
				t.Errorf("%s: unexpected header line %q", what, l)
			}
		}
	}
	text, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	if err != nil {
		text = body
	}
	if bytes.ContainsAny(text, "\x1b\x07") {
		t.Errorf("%s: decoded text holds a raw control byte:\n%q", what, text)
	}
	for _, l := range strings.Split(string(text), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "X-Injected:") || strings.HasPrefix(l, "Bcc:") {
			t.Errorf("%s: a line of the text starts an injected field: %q", what, l)
		}
	}
}

// checkDelivered checks the delivered message: its header has no field
// the original did not have (but the status ones), and every part we
// wrote (a replacement or a notice: quoted-printable UTF-8 text) is clean.
func checkDelivered(t *testing.T, orig, got []byte) {
	t.Helper()
	oh, _ := splitMessage(orig)
	gh, _ := splitMessage(stripPrepended(got))
	seen := map[string]bool{}
	for _, l := range strings.Split(string(oh), "\n") {
		if name, _, ok := strings.Cut(l, ":"); ok {
			seen[strings.ToLower(name)] = true
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(gh), "\n"), "\n") {
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		name, _, _ := strings.Cut(l, ":")
		if !seen[strings.ToLower(name)] && !strings.HasPrefix(strings.ToLower(name), "content-") {
			t.Errorf("delivered header has a field the original had not: %q", l)
		}
	}
	for _, p := range deliveredParts(t, got) {
		if p.path == "1" || !bytes.Contains(p.content, []byte("mail scanner")) {
			continue // not ours
		}
		if bytes.ContainsAny(p.content, "\x1b\x07\r") {
			t.Errorf("our text in part %s holds a raw control byte:\n%q", p.path, p.content)
		}
		for _, l := range strings.Split(string(p.content), "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "X-Injected:") || strings.HasPrefix(l, "Bcc:") {
				t.Errorf("our text in part %s has a line that starts an injected field: %q", p.path, l)
			}
		}
	}
	// A withheld notice is the root part: check its text too.
	if ps := deliveredParts(t, got); len(ps) == 1 && bytes.Contains(ps[0].content, []byte("mail scanner")) {
		checkOurText(t, "withheld notice", ps[0].content, false)
	}
}
