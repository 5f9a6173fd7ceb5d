package policy

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// trustConfig is a box's configuration with [notify] senders (set or
// not) and our authserv-id, and no notify_sender in [policy].
const trustConfig = `[log]
syslog = false
[quarantine]
dir = %q
[spool]
dir = %q
[notify]
sendmail = [%q, %q]
authserv_id = "mx.example.net"
%s
[policy]
postmaster = "postmaster@example.net"
local_domains = ["example.net"]
`

// TestSenderNotices checks who is told of a blocked attachment from a
// remote sender (issue 12.3): [notify] senders takes effect (defaults
// overwrote it), and only the topmost Authentication-Results field with
// our authserv-id proves the sender (a forged pass below ours did).
func TestSenderNotices(t *testing.T) {
	const ours = "Authentication-Results: mx.example.net; "
	cases := []struct {
		name, senders, ar string
		told              bool
	}{
		{"senders on, our spf pass", "senders = true", ours + "spf=pass smtp.mailfrom=example.org\n", true},
		{"senders on, our dmarc pass after others", "senders = true",
			"Authentication-Results: mx.evil.example; spf=fail smtp.mailfrom=example.org\n" + ours + "dmarc=pass header.from=example.org\n", true},
		{"senders unset", "", ours + "spf=pass smtp.mailfrom=example.org\n", false},
		{"senders off", "senders = false", ours + "spf=pass smtp.mailfrom=example.org\n", false},
		{"forged pass below ours", "senders = true",
			ours + "spf=softfail smtp.mailfrom=example.org\n" + ours + "spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, "")
			text := fmt.Sprintf(trustConfig, b.qdir, b.tmp, recordSendmail, b.notices, c.senders)
			if err := os.WriteFile(b.cfg, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			msg := append([]byte(c.ar), mixed("invoice", attachment("application/octet-stream", "invoice.exe", []byte("MZ not really\n")))...)
			r := b.deliver(t, msg, "alice@example.org")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			told := false
			for _, n := range b.sent(t) {
				if n.rcpt() == "alice@example.org" {
					told = true
				}
			}
			if told != c.told {
				t.Errorf("sender told: %v, want %v\nlog: %s", told, c.told, r.stderr)
			}
			if !strings.Contains(r.stderr, "quarantine_id=") {
				t.Errorf("the attachment was not blocked: %s", r.stderr)
			}
		})
	}
}

// TestSizeCeiling delivers messages over the hard size ceiling (issue
// 12.4: above max_message_size a message was quarantined whole, so a
// 4 GiB message cost 8 GiB of disk): refused with exit 65, nothing
// delivered, quarantined or left in the spool, the postmaster told. The
// default ceiling is 4 times max_message_size; between the two the
// message is still quarantined whole. Each case runs with stdin a pipe and
// a regular file (the spool moves a file by copy_file_range, under the
// same ceiling); a message under both limits is delivered whole.
func TestSizeCeiling(t *testing.T) {
	const cfg = `[log]
syslog = false
[quarantine]
dir = %q
[spool]
dir = %q
memory = "64KB"
%s
[notify]
sendmail = [%q, %q]
[policy]
postmaster = "postmaster@example.net"
local_domains = ["example.net"]
max_message_size = "100KB"
`
	body := func(n int) []byte {
		return append([]byte(header("big", "text/plain")), bytes.Repeat([]byte("0123456789abcde\n"), n/16)...)
	}
	cases := []struct {
		name, spool string
		msg         []byte
		code        int
		quarantined int
	}{
		{"over the default ceiling (4 x 100KB)", "", body(500 << 10), 65, 0},
		{"under the default ceiling, over max_message_size", "", body(300 << 10), 0, 1},
		{"over [spool] max_size", `max_size = "1MB"`, body(2 << 20), 65, 0},
		{"at [spool] max_size", `max_size = "1MB"`, body(2 << 20)[:1<<20], 0, 1},
		{"under every limit, past [spool] memory", "", body(90 << 10), 0, 0},
	}
	for _, c := range cases {
		for _, stdin := range []string{"pipe", "file"} {
			t.Run(c.name+", "+stdin, func(t *testing.T) {
				b := newBox(t, "")
				text := fmt.Sprintf(cfg, b.qdir, b.tmp, c.spool, recordSendmail, b.notices)
				if err := os.WriteFile(b.cfg, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				deliver := b.deliver
				if stdin == "file" {
					deliver = b.deliverFile
				}
				r := deliver(t, c.msg, "alice@example.org")
				if r.code != c.code {
					t.Fatalf("exit %d, want %d: %s", r.code, c.code, r.stderr)
				}
				if q := strings.Count(r.stderr, "quarantine_id="); q != c.quarantined {
					t.Errorf("%d quarantine entries logged, want %d: %s", q, c.quarantined, r.stderr)
				}
				if c.code == 0 && c.quarantined == 0 {
					d := b.delivered(t)
					if len(d) != 1 || !bytes.HasSuffix(d[0].data, c.msg[bytes.Index(c.msg, []byte("\n\n")):]) {
						t.Errorf("%d messages delivered, not the one given", len(d))
					}
				}
				if c.code != 65 {
					return
				}
				if d := b.delivered(t); len(d) != 0 {
					t.Errorf("%d messages delivered", len(d))
				}
				if left, _ := os.ReadDir(b.tmp); len(left) != 0 {
					t.Errorf("the spool holds %d files", len(left))
				}
				told := false
				for _, n := range b.sent(t) {
					if n.rcpt() == "postmaster@example.net" && bytes.Contains(n.stdin, []byte("size ceiling")) {
						told = true
					}
				}
				if !told {
					t.Errorf("the postmaster was not told; log: %s", r.stderr)
				}
			})
		}
	}
}

// TestForgedFields delivers messages that carry fields of ours and a
// Return-Path naming someone else (issue 12.3): status and spam fields
// after 256 KiB of header or on a line over 64 KiB, a forged
// X-Scandeliver-Released. Delivered as is and sanitized, the message
// holds none of them but ours, and its Return-Path names the envelope
// sender.
func TestForgedFields(t *testing.T) {
	pad := strings.Repeat("X-Pad: "+strings.Repeat("p", 70)+"\n", 300<<10/78)
	forged := "Return-Path: <victim@example.com>\n" + pad +
		"X-Scandeliver-Status: clean (forged after 256 KiB)\n" +
		"X-Spam-Flag: NO\nX-Spam-Status: No, score=-100 (forged)\n" +
		"X-Scandeliver-Warning: forged" + strings.Repeat(" ", 70<<10) + "on a long line\n" +
		"X-Scandeliver-Released: v=2; id=20261127-154843-123456-9f86d081884c; forged\n"
	cases := []struct {
		name string
		msg  []byte
	}{
		{"delivered", append([]byte(forged), header("hello", "text/plain")+"hello\n"...)},
		{"sanitized", append([]byte(forged), mixed("hello", attachment("application/octet-stream", "x.exe", []byte("MZ")))...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, "")
			r := b.deliver(t, c.msg, "alice@example.org")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			d := b.delivered(t)
			if len(d) != 1 {
				t.Fatalf("%d messages delivered", len(d))
			}
			h, _ := splitMessage(d[0].data)
			if !bytes.HasPrefix(h, []byte("Return-Path: <alice@example.org>\n")) {
				t.Errorf("the header does not start with the envelope sender's Return-Path:\n%.200s", h)
			}
			for _, bad := range []string{"forged", "victim@example.com", "X-Scandeliver-Released"} {
				if bytes.Contains(h, []byte(bad)) {
					t.Errorf("the delivered header holds %q", bad)
				}
			}
			if n := bytes.Count(h, []byte("\nX-Scandeliver-Status:")); n != 1 {
				t.Errorf("%d X-Scandeliver-Status fields, want ours alone", n)
			}
		})
	}
}
