package sanitize

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/unpack"
)

// testRepl is the Replacement of the tests: the facts a template gets,
// one per line.
func testRepl(p *unpack.Part, d rules.Decision) (string, error) {
	name := d.Name
	if name == "" {
		name = p.Name
	}
	return fmt.Sprintf("Removed: %s\nPart: %s\nReason: %s\nRule: %s\n",
		strconv.QuoteToGraphic(name), d.Part, d.Reason, d.Rule), nil
}

func mustUnpack(t testing.TB, b []byte) *unpack.Message {
	t.Helper()
	m, err := unpack.Unpack(context.Background(), bytes.NewReader(b), int64(len(b)), unpack.Options{})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// rewrite runs Plan and Rewrite on b.
func rewrite(t testing.TB, b []byte, m *unpack.Message, v rules.Verdict, opt Options) ([]byte, Result, bool) {
	t.Helper()
	plan := Plan(m, v, opt)
	var out bytes.Buffer
	res, err := Rewrite(context.Background(), &out, bytes.NewReader(b), int64(len(b)), m, v, opt, testRepl)
	if err != nil {
		t.Fatalf("Rewrite: %v", err)
	}
	if res.Changed && !plan {
		t.Errorf("Plan said no change, Rewrite changed the message")
	}
	return out.Bytes(), res, plan
}

var digits = regexp.MustCompile(`[0-9]+`)

// malformed returns the malformed problems of a message, offsets removed,
// as a multiset: those of the reading every reader shares (not of the
// other readings, Part.Alternatives). An in-place rewrite keeps a
// message's structure, ambiguity included (the pipeline rewrites an
// ambiguous message in place only under normalize = "never"); where an
// edit of ours moves another reader's split (a field added to an empty
// header ends munpack's reading of the header past its empty line:
// FuzzRewrite/b9c60492907842a2), Verify proves that reading yields
// nothing the message did not have judged, or the message is withheld.
func malformed(m *unpack.Message) map[string]int {
	out := map[string]int{}
	for _, p := range m.Parts {
		if strings.Contains(p.Path, "~") {
			continue
		}
		for _, pr := range p.Problems {
			if pr.Kind == unpack.KindMalformed {
				out[digits.ReplaceAllString(pr.Detail, "N")]++
			}
		}
	}
	return out
}

// checkInvariants checks what a rewrite must keep: the output parses
// without new malformed problems, every replaced part is now a text/plain
// leaf and its content is gone, and every part outside the rewritten
// parts has its content unchanged (same SHA-256 at the same path).
// touched lists the parts whose content may differ (HTML disarmed).
func checkInvariants(t testing.TB, in *unpack.Message, out []byte, res Result, touched map[string]bool) *unpack.Message {
	t.Helper()
	om := mustUnpack(t, out)
	inBad, outBad := malformed(in), malformed(om)
	for k, n := range outBad {
		if n > inBad[k] {
			t.Errorf("new malformed problem after rewrite: %q (%d, was %d)", k, n, inBad[k])
		}
	}
	outBy := map[string]*unpack.Part{}
	for _, p := range om.Parts {
		outBy[p.Path] = p
	}
	replaced := map[string]bool{}
	for _, r := range res.Replaced {
		replaced[r] = true
		if p := outBy[r]; p == nil || p.DeclaredType != "text/plain" || p.Container || p.Charset != "utf-8" {
			t.Errorf("replaced part %s is not a text/plain utf-8 leaf in the output: %+v", r, p)
		}
	}
	under := func(path string, set map[string]bool) bool {
		for s := range set {
			if path == s || strings.HasPrefix(path, s+".") || strings.HasPrefix(path, s+"/") {
				return true
			}
		}
		return false
	}
	kept := map[string]bool{}
	var gone []*unpack.Part
	for _, p := range in.Parts {
		if p.Container || p.SHA256 == "" {
			continue
		}
		switch {
		case strings.Contains(p.Path, "~"):
			// Another reading of bytes the first reading shares
			// (Part.Alternatives): it changes with them; the readers
			// judge what survives (TestNormalizeReaders, tests/differential).
			// A content it has that no decision took away may stay
			// (FuzzRewrite/f27d38c77ee426e6: munpack's unnamed part of
			// the bytes of a part denied for its name).
			if !replaced[p.Path] {
				kept[p.SHA256] = true
			}
		case under(p.Path, replaced):
			gone = append(gone, p)
		case under(p.Path, touched):
		case len(res.Disinfected) > 0:
			// A note was inserted after each rebuilt archive: the paths
			// of the parts after it moved, their content must not have.
			if !hashIn(om, p.SHA256) && !under(p.Path, setOf(res.Disinfected)) {
				t.Errorf("untouched part %s (sha256 %s) missing from the output", p.Path, p.SHA256)
			}
			kept[p.SHA256] = true
		default:
			q := outBy[p.Path]
			if q == nil {
				t.Errorf("untouched part %s missing from the output", p.Path)
				continue
			}
			if q.SHA256 != p.SHA256 {
				t.Errorf("untouched part %s changed: sha256 %s, was %s", p.Path, q.SHA256, p.SHA256)
			}
			kept[p.SHA256] = true
		}
	}
	outHashes := map[string]bool{}
	for _, p := range om.Parts {
		outHashes[p.SHA256] = true
	}
	for _, p := range gone {
		if outHashes[p.SHA256] && !kept[p.SHA256] && p.Size > 0 {
			t.Errorf("replaced part %s (sha256 %s) still in the output", p.Path, p.SHA256)
		}
	}
	return om
}

func setOf(l []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range l {
		m[s] = true
	}
	return m
}

func hashIn(m *unpack.Message, sum string) bool {
	for _, p := range m.Parts {
		if p.SHA256 == sum {
			return true
		}
	}
	return false
}

// verifyOut runs Verify on a rewrite as the pipeline does (the output
// unpacked again): "" when it may be delivered, else why not (the
// pipeline then withholds the message).
func verifyOut(t testing.TB, in *unpack.Message, v rules.Verdict, res Result, out []byte) string {
	t.Helper()
	if !res.Changed {
		return ""
	}
	why, err := Verify(context.Background(), in, v, res, mustUnpack(t, out))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return why
}
