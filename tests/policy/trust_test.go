package policy

import (
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
