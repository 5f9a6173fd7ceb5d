package sanitize

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize/html"
)

// verifyBytes runs Verify on in and a given output.
func verifyBytes(t *testing.T, in []byte, v rules.Verdict, res Result, out []byte) string {
	t.Helper()
	why, err := Verify(context.Background(), mustUnpack(t, in), v, res, mustUnpack(t, out))
	if err != nil {
		t.Fatal(err)
	}
	return why
}

const verifyIn = "From: a@example.org\nSubject: v\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
	"--b\nContent-Type: text/plain\n\nhello\n" +
	"--b\nContent-Type: application/octet-stream; name=\"a.bin\"\nContent-Transfer-Encoding: base64\n\nAAECAwQ=\n" +
	"--b\nContent-Type: text/html\n\n<p onclick=\"x()\">hi</p>\n--b--\n"

// TestVerifyRejects: outputs that give a reader something the input did
// not have judged fail Verify, each with its reason; the input itself
// passes.
func TestVerifyRejects(t *testing.T) {
	in := []byte(verifyIn)
	if why := verifyBytes(t, in, rules.Verdict{}, Result{}, in); why != "" {
		t.Errorf("the input itself: %s", why)
	}
	deny := rules.Verdict{Status: rules.StatusBlocked, Parts: []rules.Decision{{Part: "1.2", Name: "a.bin", Action: rules.Deny}}}
	for _, c := range []struct {
		name    string
		in, out string
		v       rules.Verdict
		want    string
	}{
		{"a part added", verifyIn, strings.Replace(verifyIn, "--b--", "--b\nContent-Type: text/plain\n\nnever scanned\n--b--", 1), rules.Verdict{}, "not scanned"},
		{"a name added", verifyIn, strings.Replace(verifyIn, "Content-Type: text/plain\n", "Content-Type: text/plain; name=\"b.exe\"\n", 1), rules.Verdict{}, "name"},
		{"a denied part kept", verifyIn, verifyIn, deny, "name"},
		{"a denied content kept", verifyIn, strings.Replace(verifyIn, "; name=\"a.bin\"", "", 1), deny, "not scanned"},
		{"a boundary lost", verifyIn, strings.Replace(verifyIn, "--b\nContent-Type: text/html", "--c\nContent-Type: text/html", 1), rules.Verdict{}, "not scanned"},
		// (The canonical rewrite of FuzzNormalize/c056dfc0aba61348
		// before its fix was one more case: the content it gave ripmime
		// one level deeper is now read in the input too, by munpack's
		// reading of the message's text body, so Verify accepts it.)
	} {
		why := verifyBytes(t, []byte(c.in), c.v, Result{Changed: true}, []byte(c.out))
		if !strings.Contains(why, c.want) {
			t.Errorf("%s: Verify says %q, want it to fail with %q", c.name, why, c.want)
		}
	}

	// A content of ours (say a replacement text) in which ripmime reads
	// MIME fields: the content passes, the part ripmime reads in it was
	// never in the message.
	out := []byte(strings.Replace(verifyIn, "hello\n", "hello\nContent-Type: application/octet-stream; name=\"c.exe\"\nContent-Transfer-Encoding: base64\n\nTVqQAA==\n", 1))
	om := mustUnpack(t, out)
	res := Result{Changed: true}
	b, err := readPart(om.Parts[1])
	if err != nil {
		t.Fatal(err)
	}
	res.produced.content(b)
	why, err := Verify(context.Background(), mustUnpack(t, in), rules.Verdict{}, res, om)
	if err != nil || !strings.Contains(why, "part 1.1/") {
		t.Errorf("structure inside a content of ours: Verify says %q, %v; want it to fail on ripmime's part inside 1.1", why, err)
	}
}

// TestVerifyDisinfectRenamed: an archive to be renamed whose members are
// denied is replaced whole; rebuilt without them, it kept its old name
// (found by sanitize.Verify while fuzzing FuzzRewrite).
func TestVerifyDisinfectRenamed(t *testing.T) {
	in, err := os.ReadFile("testdata/disinfect_zip.eml")
	if err != nil {
		t.Fatal(err)
	}
	m := mustUnpack(t, in)
	v := rules.Verdict{Status: rules.StatusBlocked, Parts: []rules.Decision{
		{Part: "1.2", Name: "files.zip", Action: rules.Rename, NewName: "files_zip.disarmed"},
		{Part: "1.2/2", Name: "setup.exe", Action: rules.Deny, Reason: "banned"},
	}}
	out, res, _ := rewrite(t, in, m, v, Options{Disinfect: true})
	if why := verifyOut(t, m, v, res, out); why != "" {
		t.Errorf("rewrite not verified: %s\n%s", why, out)
	}
	if strings.Contains(string(out), "files.zip") {
		t.Errorf("the old name is still in the output:\n%s", out)
	}
}

// TestVerifySignedInner: a text body in which ripmime reads a part (MIME
// fields inside the content) is not signed: the signature would end that
// part, a content never scanned, and Verify withheld the message.
func TestVerifySignedInner(t *testing.T) {
	in := []byte("From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\n\nsee below\n" +
		"Content-Type: text/plain; name=\"a.txt\"\n\ninner text\n")
	m := mustUnpack(t, in)
	out, res, _ := rewrite(t, in, m, rules.Verdict{}, Options{SignatureText: "-- \nsigned"})
	if why := verifyOut(t, m, rules.Verdict{}, res, out); why != "" {
		t.Errorf("rewrite not verified: %s\n%s", why, out)
	}
}

// TestVerifyRewrites: what Rewrite writes of its own (a replacement
// text, disarmed HTML, a new name, a signature, the canonical form)
// passes Verify; the same output with the bookkeeping of Rewrite dropped
// (Result without what it produced) does not.
func TestVerifyRewrites(t *testing.T) {
	in := []byte(verifyIn)
	m := mustUnpack(t, in)
	for _, c := range []struct {
		name string
		v    rules.Verdict
		opt  Options
	}{
		{"deny", rules.Verdict{Status: rules.StatusBlocked, Parts: []rules.Decision{{Part: "1.2", Name: "a.bin", Action: rules.Deny, Reason: "r"}}}, Options{}},
		{"rename", rules.Verdict{Parts: []rules.Decision{{Part: "1.2", Name: "a.bin", Action: rules.Rename, NewName: "a.bin.disarmed"}}}, Options{}},
		{"disarm", rules.Verdict{}, Options{DisarmHTML: true, HTML: html.Options{Timeout: 2 * time.Second}}},
		{"sign", rules.Verdict{}, Options{SignatureText: "-- \nsigned"}},
		{"normalize, deny, disarm", rules.Verdict{Status: rules.StatusBlocked, Parts: []rules.Decision{{Part: "1.2", Name: "a.bin", Action: rules.Deny, Reason: "r"}}},
			Options{Normalize: true, DisarmHTML: true, HTML: html.Options{Timeout: 2 * time.Second}, SubjectTags: []string{"{Blocked?}"}}},
	} {
		out, res, _ := rewrite(t, in, m, c.v, c.opt)
		if !res.Changed {
			t.Fatalf("%s: nothing changed", c.name)
		}
		if why := verifyBytes(t, in, c.v, res, out); why != "" {
			t.Errorf("%s: %s\n%s", c.name, why, out)
		}
		if c.name == "sign" {
			continue // nothing new but a content: see below
		}
		if why := verifyBytes(t, in, c.v, Result{Changed: true}, out); why == "" {
			t.Errorf("%s: passes without what the rewrite made: Verify does not look", c.name)
		}
	}
}
