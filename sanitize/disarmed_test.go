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
