package policy

import (
	"bytes"
	"strings"
	"testing"
)

// hiddenHTML is clean HTML with a script that readers read two ways: a
// header line that is only a lone CR ends Python's header there, so
// Python reads the Content-Type below it, and the empty line, as the
// start of a text/plain body; every other reader reads text/html.
var hiddenHTML = []byte("From: a@example.org\r\nTo: bob@example.net\r\nSubject: x\r\n \r\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: text/html\r\n\r\n<p onclick=\"x()\">hi</p><script>evil()</script>\r\n")

// TestUnverifiedRewriteWithheld: a rewrite that would give some reader a
// content that was not scanned is not delivered (sanitize.Verify). With
// normalize = "never", disarming the HTML in place changes what Python
// reads as the body (the disarmed HTML under the header lines it reads
// as text), a content never scanned: the message is withheld as
// unscannable, quarantined whole, a notice delivered. Under the default
// mode, the canonical rewrite of the same message is verified and
// delivered.
func TestUnverifiedRewriteWithheld(t *testing.T) {
	b := newBox(t, "normalize = \"never\"\n[html]\ndisarm = true\n")
	r := b.deliver(t, hiddenHTML, "a@example.org")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if a := logValue(r.stderr, "action"); a != "withheld" {
		t.Errorf("action %q, want withheld: %s", a, r.stderr)
	}
	if !strings.Contains(r.stderr, "unverified=") {
		t.Errorf("the log does not say why the rewrite was not delivered: %s", r.stderr)
	}
	d := b.delivered(t)
	if len(d) != 1 {
		t.Fatalf("%d messages delivered, want the notice", len(d))
	}
	if bytes.Contains(d[0].data, []byte("<p")) || !bytes.Contains(d[0].data, []byte("could not be verified")) {
		t.Errorf("delivered is not the notice:\n%s", d[0].data)
	}
	q := b.quarantined(t)
	if len(q) != 1 || !bytes.Equal(q[0].message, hiddenHTML) {
		t.Errorf("quarantine: %d entries, want the message byte for byte", len(q))
	}

	b = newBox(t, "[html]\ndisarm = true\n")
	r = b.deliver(t, hiddenHTML, "a@example.org")
	if r.code != 0 {
		t.Fatalf("default mode: exit %d: %s", r.code, r.stderr)
	}
	if a := logValue(r.stderr, "action"); a != "sanitized" || !strings.Contains(r.stderr, "normalized=yes") {
		t.Errorf("default mode: action %q, want sanitized and normalized: %s", a, r.stderr)
	}
	if d := b.delivered(t); len(d) != 1 || bytes.Contains(d[0].data, []byte("evil()")) {
		t.Errorf("default mode: not delivered disarmed")
	}
}
