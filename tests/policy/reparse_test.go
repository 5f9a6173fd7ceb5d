package policy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/unpack"
)

// sanitizedCases are the offences whose delivered message is written by
// us (sanitized or a withheld notice); spam is left out (it needs
// spamd, and a junked message is only tagged).
func sanitizedCases() []offence {
	var out []offence
	for _, o := range offences() {
		switch o.name {
		case "spam-junk", "spam-high", "local-sender":
			continue
		}
		out = append(out, o)
	}
	return out
}

// TestSanitizedReparses: what we deliver after sanitizing parses with
// our parser and with Python's email package with no problem the input
// did not have, and a second pass through scandeliver changes nothing
// but the header fields it prepends.
func TestSanitizedReparses(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		testenvMissing(t, "python3 is not installed")
	}
	for _, o := range sanitizedCases() {
		t.Run(o.name, func(t *testing.T) {
			in := o.msg()
			b := newBox(t, o.extra(t))
			if r := b.deliver(t, in, o.sender); r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			d := b.delivered(t)
			if len(d) != 1 {
				t.Fatalf("%d messages delivered, want 1", len(d))
			}
			out := d[0].data

			// Our parser.
			pin, pout := ourProblems(t, in), ourProblems(t, out)
			if extra := moreThan(pout, pin); len(extra) > 0 {
				t.Errorf("unpack finds new problems in the sanitized message: %v\ninput: %v\noutput:\n%s", extra, pin, out)
			}

			// Another parser.
			din, dout := pythonDefects(t, in), pythonDefects(t, out)
			if extra := moreThan(dout, din); len(extra) > 0 {
				t.Errorf("Python's email package finds new defects: %v\ninput: %v\noutput:\n%s", extra, din, out)
			}

			// A second pass.
			b2 := newBox(t, o.extra(t))
			if r := b2.deliver(t, out, o.sender); r.code != 0 {
				t.Fatalf("second pass: exit %d: %s", r.code, r.stderr)
			}
			d2 := b2.delivered(t)
			if len(d2) != 1 {
				t.Fatalf("second pass: %d messages delivered, want 1", len(d2))
			}
			h1, body1 := splitMessage(stripPrepended(out))
			h2, body2 := splitMessage(stripPrepended(d2[0].data))
			if !bytes.Equal(body1, body2) {
				t.Errorf("a second pass changed the body:\n%s", lineDiff(string(body1), string(body2)))
			}
			if !bytes.Equal(h1, h2) {
				t.Errorf("a second pass changed the header (beyond the fields it prepends):\n%s", lineDiff(string(h1), string(h2)))
			}
		})
	}
}

func testenvMissing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SCANDELIVER_CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// stripPrepended removes the fields scandeliver writes on top of what it
// delivers: Return-Path, Delivered-To and the status fields, wherever
// they are in the leading run of such fields.
func stripPrepended(m []byte) []byte {
	for {
		i := bytes.IndexByte(m, '\n')
		if i < 0 {
			return m
		}
		line := string(m[:i])
		prepended := false
		for _, p := range []string{"Return-Path:", "Delivered-To:", "X-Scandeliver-", "X-Spam-"} {
			if strings.HasPrefix(line, p) {
				prepended = true
			}
		}
		if !prepended {
			return m
		}
		m = m[i+1:]
	}
}

func splitMessage(m []byte) (header, body []byte) {
	if i := bytes.Index(m, []byte("\n\n")); i >= 0 {
		return m[:i+1], m[i+2:]
	}
	return m, nil
}

// ourProblems is every problem unpack records, by kind, over the whole
// tree: a multiset of kinds.
func ourProblems(t testing.TB, msg []byte) map[string]int {
	t.Helper()
	m, err := unpack.Unpack(context.Background(), bytes.NewReader(msg), int64(len(msg)), unpack.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	defer m.Close()
	out := map[string]int{}
	for _, p := range m.Problems {
		out[p.Kind]++
	}
	for _, p := range m.Parts {
		for _, pr := range p.Problems {
			if pr.Kind == unpack.KindEncrypted || pr.Kind == unpack.KindArchive {
				continue // about content, not about how the message is written
			}
			out[pr.Kind]++
		}
	}
	return out
}

// pythonWalk parses a message with Python's email package (the modern
// policy, as mail clients written in Python read mail) and prints the
// defect class names of every part, one per line.
const pythonWalk = `
import sys, email, email.policy
with open(sys.argv[1], "rb") as f:
    m = email.message_from_binary_file(f, policy=email.policy.default)
for part in m.walk():
    for d in part.defects:
        print(type(d).__name__)
    part.get_content_type()
    if not part.is_multipart():
        try:
            part.get_content()
        except Exception as e:
            print("get_content:" + type(e).__name__)
`

func pythonDefects(t testing.TB, msg []byte) map[string]int {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.eml")
	if err := os.WriteFile(f, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", "-c", pythonWalk, f).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	m := map[string]int{}
	for _, l := range strings.Fields(string(out)) {
		m[l]++
	}
	return m
}

// moreThan lists the keys whose count in a exceeds that in b.
func moreThan(a, b map[string]int) []string {
	var out []string
	for k, n := range a {
		if n > b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
