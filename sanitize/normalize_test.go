package sanitize

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize/html"
	"github.com/scandeliver/scandeliver/tests/testenv"
	"github.com/scandeliver/scandeliver/unpack"
)

// normalize rewrites b in canonical form with a clean verdict.
func normalize(t testing.TB, b []byte, opt Options) ([]byte, *unpack.Message, Result) {
	t.Helper()
	m := mustUnpack(t, b)
	opt.Normalize = true
	out, res, _ := rewrite(t, b, m, rules.Verdict{}, opt)
	if !res.Normalized {
		t.Fatalf("Normalize set, Result.Normalized false")
	}
	return out, m, res
}

// leafContents lists the hashes of the decoded contents of the MIME leaves
// (what a reader saves or shows), with the name each has.
func leafContents(t testing.TB, m *unpack.Message) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range m.Parts {
		if p.Container || (p.Origin != unpack.OriginMIME && p.Origin != unpack.OriginRFC822) {
			continue
		}
		if embeddedChild(p) != nil {
			continue // an encoded message/rfc822: its parts are listed
		}
		r, err := p.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		if b.Len() == 0 {
			continue // an empty part carries nothing (one stands in for a multipart without parts)
		}
		sum := sha256.Sum256(b.Bytes())
		out[hex.EncodeToString(sum[:])] = p.Name
	}
	return out
}

// checkNormalized is the property of a canonical rewrite, judged by
// unpack: the output parses without any structural problem, holds every
// leaf content of the input under the same name, nothing else, and
// normalizing it again gives the same bytes.
//
// A rewrite that Verify rejects is not delivered (the pipeline withholds
// the message): with strict, that fails the test (the messages of the
// tests must be delivered), else it ends it (fuzzing: the fallback is
// safe, and how often it happens is counted on the corpus).
func checkNormalized(t *testing.T, in []byte, strict bool) {
	out, m, res := normalize(t, in, Options{})
	if limited(m) {
		mustUnpack(t, out)
		return
	}
	if why := verifyOut(t, m, rules.Verdict{}, res, out); why != "" {
		if strict {
			t.Errorf("rewrite not verified: %s\n%s", why, clipOut(out))
		} else {
			t.Logf("rewrite not verified: %s", why)
		}
		return
	}
	om := mustUnpack(t, out)
	had := map[string]bool{} // problems of the input: a multipart without parts stays one
	for _, p := range m.Parts {
		for _, pr := range p.Problems {
			had[pr.Kind+digits.ReplaceAllString(pr.Detail, "N")] = true
		}
	}
	// ripmime's reading of MIME fields inside a part's content is of the
	// content, which the rewrite keeps as it is: its problems are the
	// content's, not the rewrite's (found by FuzzNormalize: 493925d1eb23f2e9).
	inner := innerReadings(om)
	for _, p := range om.Parts {
		if inner[p] {
			continue
		}
		for _, pr := range p.Problems {
			if isStructural(pr.Kind) && !had[pr.Kind+digits.ReplaceAllString(pr.Detail, "N")] &&
				!strings.Contains(pr.Detail, "control or direction") && !strings.Contains(pr.Detail, "contains a path") {
				t.Errorf("part %s of the rewrite: %s: %s\n%s", p.Path, pr.Kind, pr.Detail, clipOut(out))
			}
		}
	}
	want, got := leafContents(t, m), leafContents(t, om)
	// A reader's reading of structure inside a content (ripmime's MIME
	// fields, munpack's delimiter lines in a text: unpack.OriginInner) is
	// of that content, which the rewrite keeps: encoded anew, the reader
	// may no longer split it (munpack does not read delimiters in base64:
	// FuzzNormalize/c9d66222cbbaf6b4). Its parts are not ours to keep;
	// what the rewrite gives any reader is Verify's to judge.
	need := map[string]string{}
	for h, name := range want {
		need[h] = name
	}
	for p := range innerReadings(m) {
		if !p.Container && p.SHA256 != "" && !outsideInner(m, p.SHA256) {
			delete(need, p.SHA256)
		}
	}
	for h, name := range need {
		g, ok := got[h]
		if !ok {
			t.Errorf("content %s (%q) lost\n%s", h[:12], name, clipOut(out))
		} else if g != strings.ToValidUTF8(name, "\uFFFD") {
			t.Errorf("content %s named %q, was %q", h[:12], g, name)
		}
	}
	for h, name := range got {
		if _, ok := want[h]; !ok {
			t.Errorf("content %s (%q) not in the input\n%s", h[:12], name, clipOut(out))
		}
	}
	out2, _, _ := normalize(t, out, Options{})
	if !bytes.Equal(out, out2) {
		t.Errorf("normalizing twice changed the output\n--- first\n%s\n--- second\n%s", clipOut(out), clipOut(out2))
	}
}

func clipOut(b []byte) string {
	if len(b) > 3000 {
		return string(b[:3000]) + "..."
	}
	return string(b)
}

// trickMessages are messages that readers read differently (issue 11's
// families), each clean.
var trickMessages = map[string]string{
	"name mismatch":            "From: a@example.org\nSubject: names\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\n--b\nContent-Type: text/html; name=\"a.html\"\nContent-Disposition: attachment; filename=\"b.html\"\nContent-Transfer-Encoding: base64\n\nPGI+aGk8L2I+Cg==\n--b--\n",
	"cte on multipart":         "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"x\"\nContent-Transfer-Encoding: base64\n\n--x\nContent-Type: text/plain\n\none\n--x\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--x--\n",
	"duplicate content-type":   "From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\nContent-Type: text/html\n\n<p>x</p>\n",
	"boundary prefix":          "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"ab\"\n\n--ab\nContent-Type: multipart/alternative; boundary=\"abc\"\n\n--abc\nContent-Type: text/plain\n\ninner\n--abc--\n--ab\nContent-Type: text/plain; name=\"n.txt\"\n\nouter\n--ab--\n",
	"no close delimiter, crlf": "From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\npreamble\r\n--q\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\n--q\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\nAwQ=junk\r\n",
	"bare cr and 8bit":         "From: a@example.org\nSubject: caf\xc3\xa9\rContent-Type: text/html\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nbody\rwith bare CR and caf\xc3\xa9\n",
	"embedded encoded": "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=e\n\n--e\nContent-Type: text/plain\n\nsee the forward\n--e\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" +
		"RnJvbTogYkBleGFtcGxlLm9yZwpTdWJqZWN0OiBpbm5lcgpDb250ZW50LVR5cGU6IHRleHQvcGxhaW47IG5hbWU9ImkudHh0IgoKaW5uZXIgYm9keQo=\n--e--\n",
	"rfc2231 name":        "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=r\n\n--r\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC%20report.pdf; filename=\"other.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--r--\n",
	"qp with = before cr": "From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nsoft=\r\nbreak and =3D sign\n",
	// A quoted-pair in a name we write is read as it is by some reader
	// ("lrun.bat\\"): names with a quote or backslash are written as RFC
	// 2231 extended values (found by sanitize.Verify while fuzzing).
	"quote in a name": "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"q\"\n\n--q\nContent-Type: text/plain\n\nsee\n--q\nContent-Type: text/plain\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=lrun.bat\"\n\nx\n--q--\n",
	"dashes in text":  "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"d\"\n\n--d\nContent-Type: text/plain\n\n--d\n--=_scandeliver_000001_=\nFrom the start\n--d--\n",
}

func TestNormalizeProperty(t *testing.T) {
	for name, msg := range trickMessages {
		t.Run(name, func(t *testing.T) { checkNormalized(t, []byte(msg), true) })
	}
	files, _ := filepath.Glob("testdata/*.eml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) { checkNormalized(t, b, true) })
	}
}

// FuzzNormalize: rewrite then re-parse (checkNormalized).
func FuzzNormalize(f *testing.F) {
	for _, msg := range trickMessages {
		f.Add([]byte(msg))
	}
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkNormalized(t, data, false) })
}

// TestNormalizeVerdict: a denied part is a text, a renamed one has its new
// name, HTML is disarmed, the subject is tagged, in canonical form.
func TestNormalizeVerdict(t *testing.T) {
	msg := []byte("From: a@example.org\nSubject: hi\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n<p onclick=\"x()\">hi</p><script>evil()</script>\n--b\nContent-Type: application/octet-stream; name=\"a.exe\"\nContent-Disposition: attachment; filename=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\nTVqQAA==\n--b\nContent-Type: text/plain; name=\"C:\\\\x.txt\"\n\nrenamed\n--b--\n")
	m := mustUnpack(t, msg)
	v := rules.Verdict{Status: rules.StatusBlocked, Parts: []rules.Decision{
		{Part: "1.2", Name: "a.pdf", Action: rules.Deny, Reason: "banned"},
		{Part: "1.3", Name: `C:\x.txt`, Action: rules.Rename, NewName: "x.txt.disarmed"},
	}}
	opt := Options{Normalize: true, DisarmHTML: true, HTML: html.Options{Timeout: 2 * time.Second}, SubjectTags: []string{"{Blocked?}"}}
	out, res, _ := rewrite(t, msg, m, v, opt)
	om := mustUnpack(t, out)
	if !strings.Contains(om.Subject, "{Blocked?}") {
		t.Errorf("subject %q not tagged", om.Subject)
	}
	if bytes.Contains(out, []byte("evil()")) || bytes.Contains(out, []byte("TVqQAA")) {
		t.Errorf("script or denied content left:\n%s", out)
	}
	if !bytes.Contains(out, []byte("Removed: \"a.pdf\"")) {
		t.Errorf("no replacement text:\n%s", out)
	}
	names := map[string]bool{}
	for _, p := range om.Parts {
		names[p.Name] = true
	}
	if !names["x.txt.disarmed"] || names[`C:\x.txt`] {
		t.Errorf("names after the rewrite: %v", names)
	}
	if fmt.Sprint(res.Replaced) != "[1.2]" || fmt.Sprint(res.Renamed) != "[1.3]" || !res.HTML.Changed {
		t.Errorf("result %+v", res)
	}
}

// readerItem is one line of readers.py --json.
type readerItem struct {
	Reader string  `json:"reader"`
	Where  string  `json:"where"`
	Name   *string `json:"name"`
	Size   int     `json:"size"`
	SHA256 string  `json:"sha256"`
	Error  string  `json:"error"`
}

// TestNormalizeReaders re-reads canonical rewrites with the four readers
// of ../shared/readers/readers.py (Python email default and compat32,
// ripmime, munpack): every reader must get the same non-empty contents,
// and every named content under the same name. The messages are the
// tricks above and every corpus message with a problem that readers
// resolve differently (kind ambiguous).
func TestNormalizeReaders(t *testing.T) {
	shared := testenv.Shared(t)
	script := filepath.Join(shared, "readers", "readers.py")
	for _, tool := range []string{"python3", "ripmime", "munpack"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" is not installed (Debian packages python3, ripmime, mpack)")
		}
	}
	msgs := map[string][]byte{}
	for name, msg := range trickMessages {
		msgs["trick "+name] = []byte(msg)
	}
	for _, f := range testenv.CorpusMessages(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := mustUnpack(t, b)
		if yes, _ := Normalized(m, "ambiguous"); yes && !limited(m) && !hasReference(m) {
			msgs[strings.TrimPrefix(f, shared+"/")] = b
		}
	}
	dir := t.TempDir()
	var paths []string
	byPath := map[string]string{}
	for name, b := range msgs {
		out, _, _ := normalize(t, b, Options{})
		p := filepath.Join(dir, fmt.Sprintf("%04d.eml", len(paths)))
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		byPath[p] = name
	}
	t.Logf("%d rewrites read by the four readers", len(paths))
	cmd := exec.CommandContext(context.Background(), "python3", append([]string{script, "--json"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("readers.py: %v\n%s", err, stderr.String())
	}
	var res map[string][]readerItem
	if err := json.Unmarshal(js, &res); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		out, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkReaders(t, byPath[p], mustUnpack(t, out), res[p])
	}
}

// hasReference reports a message/partial or message/external-body part:
// readers read its body as a header and a phantom body, which is not
// content of ours to compare.
func hasReference(m *unpack.Message) bool {
	for _, p := range m.Parts {
		if p.DeclaredType == "message/external-body" || p.DeclaredType == "message/partial" {
			return true
		}
	}
	return false
}

// expected is one content of a rewrite as unpack reads it.
type expected struct {
	name     string
	text     bool   // a text/* leaf: munpack saves it with CR removed
	crlfless string // the hash of the content without CR
	inMsg    bool   // inside an embedded message, which munpack does not open
}

// checkReaders compares what the four readers got from a rewrite with the
// leaves unpack reads in it: every reader gets every non-empty content
// and nothing else, every named one under its name. Known differences of
// the tools that are not about the message are allowed: munpack saves
// text with its CRs removed and does not open embedded messages; ripmime
// also reads MIME inside a decoded text body (it sees more, never less).
func checkReaders(t *testing.T, what string, om *unpack.Message, items []readerItem) {
	t.Helper()
	type key struct{ sum, name string }
	want := map[key]expected{}
	ix := newIndex(om)
	for _, p := range om.Parts {
		if p.Container || (p.Origin != unpack.OriginMIME && p.Origin != unpack.OriginRFC822) || embeddedChild(p) != nil {
			continue
		}
		if p.Readers&(unpack.ReaderPyDefault|unpack.ReaderPyCompat32|unpack.ReaderRipMIME|unpack.ReaderMunpack) !=
			unpack.ReaderPyDefault|unpack.ReaderPyCompat32|unpack.ReaderRipMIME|unpack.ReaderMunpack {
			// Only some of the four read it: ripmime's reading of MIME
			// fields inside a part's decoded content, which a rewrite
			// that keeps every content cannot take from it.
			continue
		}
		b, err := readPart(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			continue
		}
		if strings.HasPrefix(p.DeclaredType, "message/") {
			// A reference, a fragment, a report (delivery-status,
			// feedback-report): readers read its body as header
			// blocks, not as content.
			continue
		}
		e := expected{name: p.Name, text: strings.HasPrefix(leafType(p), "text/")}
		for q := p; q != nil; q = ix.parent[q] {
			e.inMsg = e.inMsg || q.Origin == unpack.OriginRFC822
		}
		sum := sha256.Sum256(bytes.ReplaceAll(b, []byte("\r"), nil))
		e.crlfless = hex.EncodeToString(sum[:])
		sum = sha256.Sum256(b)
		want[key{hex.EncodeToString(sum[:]), p.Name}] = e
	}
	got := map[string]map[string]bool{}
	names := map[string]map[string][]string{}
	for _, it := range items {
		if it.Error != "" {
			t.Errorf("%s: %s: %s", what, it.Reader, it.Error)
			continue
		}
		if got[it.Reader] == nil {
			got[it.Reader], names[it.Reader] = map[string]bool{}, map[string][]string{}
		}
		if it.Size == 0 || strings.Contains(it.Where, "/zip") {
			continue
		}
		got[it.Reader][it.SHA256] = true
		if it.Name != nil {
			names[it.Reader][it.SHA256] = append(names[it.Reader][it.SHA256], *it.Name)
		}
	}
	for _, r := range []string{"py-default", "py-compat32", "ripmime", "munpack"} {
		seen := map[string]bool{}
		for k, e := range want {
			h := k.sum
			switch {
			case got[r][h]:
				seen[h] = true
			case r == "munpack" && e.text && got[r][e.crlfless]:
				seen[e.crlfless] = true
				continue
			case r == "munpack" && e.inMsg:
				continue
			default:
				t.Errorf("%s: %s does not get content %s (%q)", what, r, h[:12], e.name)
				continue
			}
			if e.name == "" || named(names[r][h], e.name, strings.HasPrefix(r, "py-")) {
				continue
			}
			t.Errorf("%s: %s names content %s %q, not %q", what, r, h[:12], names[r][h], e.name)
		}
		if r == "ripmime" {
			continue
		}
		for h := range got[r] {
			if !seen[h] {
				t.Errorf("%s: %s gets content %s (%q) that unpack does not read in the rewrite", what, r, h[:12], names[r][h])
			}
		}
	}
}

// named reports whether one of names is name (exact, for Python), or a
// file name a tool saved it as (savedAs).
func named(names []string, name string, exact bool) bool {
	for _, n := range names {
		if n == name || !exact && savedAs(n, name) {
			return true
		}
	}
	return false
}

// savedAs reports whether a tool that writes files saved a content named
// name as file: under the name, its base name, or a name the tool made
// of it (a tool shortens long names and drops unsafe characters).
func savedAs(file, name string) bool {
	base := name
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	if file == name || file == base || uniquified(file, base) {
		return true
	}
	return len(base) > 64 || !isPrintableASCII(base) || strings.ContainsAny(base, ` :"*?<>|()`) || strings.Trim(base, ".") == ""
}

// uniquified reports a name a tool made when base was taken already (a
// canonical rewrite can hold two contents under one name: each reading's):
// ripmime writes "stem_N.ext", munpack "base.N".
func uniquified(file, base string) bool {
	if rest, ok := strings.CutPrefix(file, base+"."); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
		return true
	}
	stem, ext := base, ""
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		stem, ext = base[:i], base[i:]
	}
	if rest, ok := strings.CutPrefix(file, stem+"_"); ok {
		n, _ := strings.CutSuffix(rest, ext)
		return n != "" && strings.Trim(n, "0123456789") == ""
	}
	return false
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// TestNormalizedWhen: the "ambiguous" mode rewrites a message whose
// readings disagree on structure or content, and delivers as received one
// whose oddities readers resolve alike (issue 11 section 3).
func TestNormalizedWhen(t *testing.T) {
	for name, want := range map[string]bool{
		"name mismatch":          false, // both names are in Part.Names, judged by the rules
		"cte on multipart":       false, // every modelled reader ignores it
		"rfc2231 name":           false,
		"duplicate content-type": true,
		"boundary prefix":        true,
		"embedded encoded":       false,
		// ripmime's reading of MIME fields inside a text part: scanned,
		// but the rewrite would write the text as it is (the key is the
		// message itself).
		"From: a@example.org\nMIME-Version: 1.0\nContent-Type: text/plain\n\nsee below\n" +
			"Content-Type: application/octet-stream; name=\"a.bin\"\nContent-Transfer-Encoding: base64\n\nAAECAwQ=\n": false,
	} {
		msg, ok := trickMessages[name]
		if !ok {
			msg = name
		}
		m := mustUnpack(t, []byte(msg))
		if got, why := Normalized(m, "ambiguous"); got != want {
			t.Errorf("%s: Normalized = %v (%s), want %v", name, got, why, want)
		}
		if got, _ := Normalized(m, "always"); !got {
			t.Errorf("%s: not normalized under always", name)
		}
		if got, _ := Normalized(m, "never"); got {
			t.Errorf("%s: normalized under never", name)
		}
	}
}

// outsideInner reports whether a content is also a leaf outside every
// inner reading of m.
func outsideInner(m *unpack.Message, sum string) bool {
	inner := innerReadings(m)
	for _, p := range m.Parts {
		if !inner[p] && !p.Container && p.SHA256 == sum {
			return true
		}
	}
	return false
}
