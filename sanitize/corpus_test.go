package sanitize

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/tests/testenv"
	"github.com/scandeliver/scandeliver/unpack"
)

// limited reports whether unpack hit a limit on the message: its tree
// may then legitimately differ between two reads (the time budget).
func limited(m *unpack.Message) bool {
	for _, p := range m.Parts {
		for _, pr := range p.Problems {
			if pr.Kind == unpack.KindLimit {
				return true
			}
		}
	}
	return false
}

// TestCorpus rewrites every message of the shared corpus twice: allowing
// everything (no change: Plan false, output identical to the input), and
// denying every leaf part that has a name (the output re-parses without
// new malformed problems, the replaced contents are gone, every other
// leaf is unchanged), then HTML disarming on top (the output re-parses).
func TestCorpus(t *testing.T) {
	files := testenv.CorpusMessages(t)
	var nReplaced, nMessages, nHTML, nHTMLUnscannable, nRenamed int
	// unverified lists, by pass, the rewrites Verify rejects (the
	// pipeline would withhold those messages).
	unverified := map[string][]string{}
	for _, name := range files {
		rel, _ := filepath.Rel(testenv.Corpus(t), name)
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(rel, func(t *testing.T) {
			m := mustUnpack(t, raw)
			// Allow everything.
			if Plan(m, rules.Verdict{}, Options{}) {
				t.Errorf("Plan: change for allow-everything")
			}
			out, res, _ := rewrite(t, raw, m, rules.Verdict{}, Options{})
			if res.Changed || !bytes.Equal(out, raw) {
				t.Errorf("allow-everything changed the message (%+v)", res)
			}

			// Deny every leaf with a name.
			var v rules.Verdict
			for _, p := range m.Parts {
				if !p.Container && p.Name != "" {
					v.Parts = append(v.Parts, rules.Decision{Part: p.Path, Name: p.Name, Action: rules.Deny, Reason: "test"})
				}
			}
			out, res, plan := rewrite(t, raw, m, v, Options{})
			if len(v.Parts) > 0 && !plan {
				t.Errorf("Plan: no change for %d denials", len(v.Parts))
			}
			if len(v.Parts) > 0 && len(res.Replaced) == 0 {
				t.Errorf("%d denials, nothing replaced", len(v.Parts))
			}
			nMessages++
			nReplaced += len(res.Replaced)
			switch why := verifyOut(t, m, v, res, out); {
			case limited(m):
				mustUnpack(t, out)
			case why != "":
				unverified["deny"] = append(unverified["deny"], rel+": "+why)
			default:
				checkInvariants(t, m, out, res, nil)
			}
			if yes, _ := Normalized(m, "ambiguous"); yes && !limited(m) {
				nout, _, nres := normalize(t, raw, Options{})
				if why := verifyOut(t, m, rules.Verdict{}, nres, nout); why != "" {
					unverified["normalize"] = append(unverified["normalize"], rel+": "+why)
				}
			}

			// Rename every raw leaf with a name instead, and disarm HTML,
			// with a subject tag.
			v = rules.Verdict{}
			for _, p := range m.Parts {
				if !p.Container && p.Name != "" && p.HeaderStart >= 0 {
					v.Parts = append(v.Parts, rules.Decision{Part: p.Path, Name: p.Name, Action: rules.Rename,
						NewName: rules.DisarmedName("", p.Name)})
				}
			}
			out, res, _ = rewrite(t, raw, m, v, Options{DisarmHTML: true, SubjectTags: []string{"{Vérolé?}"}})
			nRenamed += len(res.Renamed)
			nHTML += res.HTML.Scripts + res.HTML.Handlers + res.HTML.Disarmed
			nHTMLUnscannable += len(res.HTMLUnscannable)
			om := mustUnpack(t, out)
			if !hasTag(om.Subject, "{Vérolé?}") {
				t.Errorf("subject %q not tagged", om.Subject)
			}
			if limited(m) {
				return
			}
			if why := verifyOut(t, m, v, res, out); why != "" {
				unverified["rename"] = append(unverified["rename"], rel+": "+why)
				return
			}
			touched := map[string]bool{}
			for _, p := range m.Parts {
				if isHTML(p) {
					touched[p.Path] = true
				}
			}
			checkInvariants(t, m, out, res, touched)
			byPath := map[string]*unpack.Part{}
			for _, p := range om.Parts {
				byPath[p.Path] = p
			}
			for _, r := range res.Renamed {
				var want string
				for _, d := range v.Parts {
					if d.Part == r {
						want = d.NewName
					}
				}
				if p := byPath[r]; p == nil || p.Name != want {
					t.Errorf("renamed part %s: name %q, want %q", r, p.Name, want)
				}
			}
		})
	}
	t.Logf("%d messages, %d parts replaced, %d renamed, %d HTML elements/handlers disarmed, %d HTML parts unscannable",
		nMessages, nReplaced, nRenamed, nHTML, nHTMLUnscannable)
	for _, pass := range []string{"deny", "rename", "normalize"} { // deny and rename every named leaf; normalize the ambiguous ones
		t.Logf("rewrites not verified (%s): %d", pass, len(unverified[pass]))
		for _, u := range unverified[pass] {
			t.Logf("  %s", u)
		}
	}
}
