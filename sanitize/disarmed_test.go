package sanitize

import (
	"bytes"
	"testing"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize/html"
)

// TestDisarmedReused: an outcome the caller already has is used as is,
// not computed again.
func TestDisarmedReused(t *testing.T) {
	msg := []byte("Subject: x\nContent-Type: text/html; charset=utf-8\n\n<p onclick=\"x()\">hi</p>\n")
	m := mustUnpack(t, msg)
	given := []byte("<p>GIVEN BY THE CALLER</p>")
	opt := Options{DisarmHTML: true, Disarmed: map[string]Disarmed{
		m.Root.Path: {Out: given, Report: html.Report{Changed: true, Handlers: 1}},
	}}
	out, res, _ := rewrite(t, msg, m, rules.Verdict{}, opt)
	if !bytes.Contains(out, given) || res.HTML.Handlers != 1 {
		t.Errorf("the given outcome was not used:\n%s", out)
	}
	opt.Disarmed = nil
	out, res, _ = rewrite(t, msg, m, rules.Verdict{}, opt)
	if bytes.Contains(out, []byte("onclick")) || res.HTML.Handlers != 1 {
		t.Errorf("without a given outcome the part was not disarmed:\n%s", out)
	}
}

// TestTroubledHTMLKept: an HTML part whose header has a benign oddity (a
// file name that differs from its Content-Type name) and that the
// disarmer leaves as it is is copied byte for byte; with something to
// disarm it is written anew (canonical form), the oddity gone.
func TestTroubledHTMLKept(t *testing.T) {
	const head = "Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\n--b\n" +
		"Content-Type: text/html; charset=utf-8; name=\"a.html\"\nContent-Disposition: attachment; filename=\"b.html\"\n\n"
	clean := []byte(head + "<p>hi</p>\n--b--\n")
	m := mustUnpack(t, clean)
	out, res, _ := rewrite(t, clean, m, rules.Verdict{}, Options{DisarmHTML: true})
	if res.Changed || !bytes.Equal(out, clean) || len(res.Canonical) > 0 {
		t.Errorf("nothing to disarm, but the message changed (%+v):\n%s", res, out)
	}
	active := []byte(head + "<p onclick=\"x()\">hi</p>\n--b--\n")
	m = mustUnpack(t, active)
	out, res, _ = rewrite(t, active, m, rules.Verdict{}, Options{DisarmHTML: true})
	if !res.Changed || bytes.Contains(out, []byte("onclick")) || len(res.Canonical) != 1 {
		t.Errorf("the handler was not disarmed in canonical form (%+v):\n%s", res, out)
	}
}
