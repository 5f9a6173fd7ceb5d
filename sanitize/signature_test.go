package sanitize

import (
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/rules"
)

// TestSignatureOnce: the signed output, signed again, is left alone and
// Plan says so (so a second delivery copies the spool).
func TestSignatureOnce(t *testing.T) {
	for _, name := range []string{"sig_plain", "sig_alt"} {
		t.Run(name, func(t *testing.T) {
			raw, c := readCase(t, "testdata/"+name+".eml")
			m := mustUnpack(t, raw)
			opt := c.options()
			opt.Headers = nil
			v := rules.Verdict{Status: c.Status}
			if !Plan(m, v, opt) {
				t.Fatal("Plan: no change for an unsigned clean message")
			}
			out, res, _ := rewrite(t, raw, m, v, opt)
			if !res.Changed || len(res.Signed) == 0 {
				t.Fatalf("not signed: %+v", res)
			}
			om := mustUnpack(t, out)
			for _, path := range res.Signed {
				if _, b := partContent(t, om, path); strings.Count(string(b), "Scanned by scandeliver") != 1 {
					t.Errorf("part %s: %q, want one signature", path, b)
				}
			}
			if Plan(om, v, opt) {
				t.Error("Plan: change for a signed message")
			}
			out2, res2, _ := rewrite(t, out, om, v, opt)
			if res2.Changed || string(out2) != string(out) {
				t.Errorf("signed twice: %+v", res2)
			}
		})
	}
}

// TestSignatureSkips: no signature on a message that is not clean, on
// an attachment, or on a body whose charset cannot be converted.
func TestSignatureSkips(t *testing.T) {
	opt := Options{SignatureText: "sig", SignatureHTML: "<p>sig</p>"}
	for _, tc := range []struct {
		name, msg string
		status    rules.Status
	}{
		{"blocked", "Content-Type: text/plain\n\nhello\n", rules.StatusBlocked},
		{"unscannable", "Content-Type: text/plain\n\nhello\n", rules.StatusUnscannable},
		{"attachment", "Content-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\nhello\n", rules.StatusClean},
		{"unknown charset", "Content-Type: text/plain; charset=x-no-such\n\nhello\n", rules.StatusClean},
		{"bad utf-8", "Content-Type: text/plain; charset=utf-8\n\nh\xffllo\n", rules.StatusClean},
		{"forwarded", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nSubject: x\n\nhello\n--b--\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte("From: a@example.org\nMIME-Version: 1.0\n" + tc.msg)
			m := mustUnpack(t, raw)
			v := rules.Verdict{Status: tc.status}
			if Plan(m, v, opt) {
				t.Error("Plan: change")
			}
			out, res, _ := rewrite(t, raw, m, v, opt)
			if res.Changed || string(out) != string(raw) {
				t.Errorf("changed: %+v\n%s", res, out)
			}
		})
	}
}

// TestSignatureHTMLNoBody: an HTML body without </body> gets the
// signature at its end; with DisarmHTML the signature follows the
// disarmed HTML.
func TestSignatureHTMLNoBody(t *testing.T) {
	raw := []byte("From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/html\n\n<p onclick=\"x()\">hi</p>\n")
	for _, disarm := range []bool{false, true} {
		m := mustUnpack(t, raw)
		opt := Options{SignatureHTML: "<p>sig</p>", DisarmHTML: disarm}
		out, res, _ := rewrite(t, raw, m, rules.Verdict{}, opt)
		if strings.Join(res.Signed, " ") != "1" {
			t.Fatalf("disarm %v: %+v", disarm, res)
		}
		om := mustUnpack(t, out)
		_, body := partContent(t, om, "1")
		b := strings.TrimSuffix(strings.TrimSpace(string(body)), "</body></html>")
		if !strings.HasSuffix(strings.TrimSpace(b), "<p>sig</p>") || !strings.Contains(b, "hi</p>") {
			t.Errorf("disarm %v: signature not at the end: %q", disarm, body)
		}
		if disarm == strings.Contains(string(body), "onclick") {
			t.Errorf("disarm %v: body %q", disarm, body)
		}
		if om.Root.Charset != "utf-8" {
			t.Errorf("charset %q", om.Root.Charset)
		}
	}
}
