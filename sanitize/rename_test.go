package sanitize

import (
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/rules"
)

// TestRenameTricks renames parts whose names are given in awkward or
// hostile ways: the output part must carry exactly the new name, or have
// been replaced; never keep the old one.
func TestRenameTricks(t *testing.T) {
	headers := []string{
		"Content-Type: application/octet-stream; name=\"a.exe\"",
		"Content-Disposition: attachment; filename=a.exe",
		"Content-Disposition: attachment; filename=\"a\\\".exe\"; size=3",
		"Content-Disposition: attachment; filename*=utf-8''a%2Eexe",
		"Content-Disposition: attachment;\n filename*0=\"a.\";\n filename*1=\"exe\"",
		"Content-Disposition: attachment; filename=\"x;y.exe\"; creation-date=\"a;b\"",
		"Content-Disposition: attachment; filename=\"unterminated.exe",
		"Content-Disposition: attachment; (comment; filename=fake) filename=a.exe",
		"Content-Type: application/octet-stream; name=\"=?utf-8?b?YS5leGU=?=\"\nContent-Disposition: attachment",
		"Content-Type: text/plain; name=b.exe\nContent-Type: text/plain; name=c.exe\nContent-Disposition: inline; filename=a.exe",
		"Content-Disposition: attachment; FILENAME=a.exe; Filename*=utf-8''b.exe",
		// A parameter name that runs into the next field: some reader
		// reads the old name, or both run together (found by
		// sanitize.Verify while fuzzing FuzzRewrite).
		"Content-Type: application/octet-stream; nam$$$$$$$$$$$$$$$tent-Disposition: attachment; filename=\"a.exe\"",
	}
	newNames := []string{"a_exe.disarmed", "n\"ew\\name.disarmed", "r\u00e9sum\u00e9 \u202e.disarmed", strings.Repeat("long ", 40) + ".disarmed", "line\r\nbreak.disarmed"}
	for i, h := range headers {
		for _, nn := range newNames {
			raw := "From: a@example.org\nSubject: t\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n" +
				h + "\n\nbody\n--b--\n"
			b := []byte(raw)
			m := mustUnpack(t, b)
			p := m.Parts[2]
			if p.Name == "" {
				t.Fatalf("case %d: unpack finds no name in %q", i, h)
			}
			v := rules.Verdict{Parts: []rules.Decision{{Part: p.Path, Name: p.Name, Action: rules.Rename, NewName: nn}}}
			out, res, _ := rewrite(t, b, m, v, Options{})
			if why := verifyOut(t, m, v, res, out); why != "" {
				t.Errorf("case %d %q: rewrite not verified: %s\n%s", i, h, why, out)
			}
			om := checkInvariants(t, m, out, res, nil)
			q := om.Parts[2]
			switch {
			case len(res.Renamed) == 1:
				if q.Name != nn {
					t.Errorf("case %d %q: renamed to %q, want %q\n%s", i, h, q.Name, nn, out)
				}
				body, _ := q.Open()
				var sb strings.Builder
				buf := make([]byte, 64)
				n, _ := body.Read(buf)
				sb.Write(buf[:n])
				if sb.String() != "body" {
					t.Errorf("case %d: content %q after rename", i, sb.String())
				}
			case len(res.Replaced) == 1:
				t.Logf("case %d %q: replaced instead of renamed", i, h)
			default:
				t.Errorf("case %d: neither renamed nor replaced: %+v", i, res)
			}
			if strings.Contains(string(out), "a.exe") && len(res.Replaced) == 0 && !strings.Contains(nn, "a.exe") {
				t.Errorf("case %d: old name still in the output:\n%s", i, out)
			}
		}
	}
}

// TestSubjectTagInjection: a tag with line breaks cannot add a field.
func TestSubjectTagInjection(t *testing.T) {
	raw := []byte("From: a@example.org\nSubject: hello\n\nbody\n")
	m := mustUnpack(t, raw)
	out, _, _ := rewrite(t, raw, m, rules.Verdict{}, Options{SubjectTags: []string{"{X}\nBcc: evil@example.com"}})
	if strings.Contains(string(out), "\nBcc:") {
		t.Errorf("tag injected a field:\n%s", out)
	}
	om := mustUnpack(t, out)
	if om.Subject != "{X} Bcc: evil@example.com hello" {
		t.Errorf("subject %q", om.Subject)
	}
}

// TestRenameClearsNameTrouble: an HTML attachment whose only structural
// problem is about its name (file name and Content-Type name differ) is
// disarmed when it is renamed, since the rename clears the problem and a
// second pass would disarm it anyway; one whose header has another
// problem is written anew in canonical form (a header of our own, the
// disarmed content base64), renamed (issue 11: such parts were kept whole,
// and the policy withheld the message for them). Either way a second pass
// changes nothing (FuzzRewrite's finding 87d335d9e7248462).
func TestRenameClearsNameTrouble(t *testing.T) {
	cases := []struct {
		hdr       string
		canonical bool
	}{
		{"Content-Type: text/html; name=\"page.html\"\nContent-Disposition: attachment; filename=\"page..tml\"", false},
		{"Content-Type: text/html; name=\"a/page.html\"\nContent-Disposition: attachment; filename=\"b/page.html\"", false},
		{"Content-Type: text/html; name=page.html\nContent-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: base64", true},
		{"Content-Type: text/html; name=\"page.html\"\nContent-Type: text/plain", true},
	}
	for i, c := range cases {
		raw := []byte("From: a@example.org\nSubject: t\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n" +
			c.hdr + "\n\n<html><body><form action=\"http://evil.example/\"></form></body></html>\n--b--\n")
		m := mustUnpack(t, raw)
		p := m.Parts[2]
		if !structuralTrouble(p) || !isHTML(p) {
			t.Fatalf("case %d: want an HTML part with structural trouble: %+v", i, p)
		}
		v := rules.Verdict{Status: rules.StatusBlocked, Parts: []rules.Decision{{Part: p.Path, Name: p.Name, Action: rules.Rename, NewName: "page.html.disarmed"}}}
		opt := Options{DisarmHTML: true}
		out, res, _ := rewrite(t, raw, m, v, opt)
		if len(res.Renamed) != 1 {
			t.Fatalf("case %d: not renamed: %+v\n%s", i, res, out)
		}
		body, err := readPart(mustUnpack(t, out).Parts[2])
		if err != nil {
			t.Fatal(err)
		}
		disarmed := !strings.Contains(string(body), "<form")
		if !disarmed || len(res.HTMLUnscannable) > 0 || (len(res.Canonical) > 0) != c.canonical {
			t.Errorf("case %d: disarmed %v (unscannable %v, canonical %v), want canonical %v\n%s", i, disarmed, res.HTMLUnscannable, res.Canonical, c.canonical, out)
		}
		if om := mustUnpack(t, out); c.canonical && structuralTrouble(om.Parts[2]) {
			t.Errorf("case %d: the part written anew has problems %v", i, om.Parts[2].Problems)
		}
		om := mustUnpack(t, out)
		out2, res2, _ := rewrite(t, out, om, rules.Verdict{Status: v.Status}, opt)
		if res2.Changed || string(out2) != string(out) {
			t.Errorf("case %d: second pass changed the output\n--- first\n%s\n--- second\n%s", i, out, out2)
		}
	}
}

// TestReencodeOddParams: a Content-Type whose parameters our editing
// reads otherwise than unpack (an unclosed comment in a parameter name)
// is written anew when the body is re-encoded (HTML disarmed, signature
// added): the output reads as utf-8 quoted-printable with the same type
// and name, without new problems, and a second pass changes nothing
// (FuzzRewrite's finding a7d0038ec2271cc1).
func TestReencodeOddParams(t *testing.T) {
	cases := []struct {
		typ  string
		opt  Options
		name string
	}{
		{"text/html; c(arset=\"utf-8\"", Options{DisarmHTML: true}, ""},
		{"text/html; name=\"p.html\"; c(arset=\"utf-8\"", Options{DisarmHTML: true}, "p.html"},
		{"text/plain; c(arset=\"utf-8\"", Options{SignatureText: "signed"}, ""},
	}
	for i, c := range cases {
		raw := []byte("From: a@example.org\nSubject: t\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: " +
			c.typ + "\n\n<html><body onload=\"x()\">hi</body></html>\n--b--\n")
		m := mustUnpack(t, raw)
		p := m.Parts[1]
		if p.Name != c.name {
			t.Fatalf("case %d: unpack reads name %q, want %q", i, p.Name, c.name)
		}
		out, res, _ := rewrite(t, raw, m, rules.Verdict{}, c.opt)
		if !res.Changed || len(res.HTMLUnscannable) > 0 {
			t.Fatalf("case %d: not re-encoded: %+v\n%s", i, res, out)
		}
		om := checkInvariants(t, m, out, res, map[string]bool{p.Path: true})
		q := om.Parts[1]
		if q.DeclaredType != p.DeclaredType || q.Name != p.Name || q.Charset != "utf-8" || q.Encoding != "quoted-printable" || len(q.Problems) > 0 {
			t.Errorf("case %d: output part reads %q name %q charset %q encoding %q problems %v\n%s", i, q.DeclaredType, q.Name, q.Charset, q.Encoding, q.Problems, out)
		}
		out2, res2, _ := rewrite(t, out, om, rules.Verdict{}, c.opt)
		if res2.Changed || string(out2) != string(out) {
			t.Errorf("case %d: second pass changed the output\n--- first\n%s\n--- second\n%s", i, out, out2)
		}
	}
}
