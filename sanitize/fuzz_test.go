package sanitize

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize/html"
)

// FuzzRewrite sanitizes a message and parses the result again: every
// named leaf is denied (or renamed, when mode says so and it is a MIME
// part), HTML is disarmed and the subject tagged. The output must parse
// without new malformed problems, keep every untouched leaf, lose the
// replaced ones, and a second pass with the same options must change
// nothing.
func FuzzRewrite(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
		f.Add(b, uint8(6))
	}
	f.Fuzz(fuzzOne)
}

func fuzzOne(t *testing.T, data []byte, mode uint8) {
	{
		m := mustUnpack(t, data)
		var v rules.Verdict
		for i, p := range m.Parts {
			if p.Container || p.Name == "" {
				continue
			}
			d := rules.Decision{Part: p.Path, Name: p.Name, Action: rules.Deny, Reason: "fuzz"}
			if mode&1 == 1 && p.HeaderStart >= 0 && i%2 == 0 {
				d.Action, d.NewName = rules.Rename, rules.DisarmedName("", p.Name)
			}
			v.Parts = append(v.Parts, d)
		}
		if len(v.Parts) > 0 {
			v.Status = rules.StatusBlocked
		}
		opt := Options{DisarmHTML: true, HTML: html.Options{Timeout: 2 * time.Second}, SubjectTags: []string{"{Virus?}", "{Vérolé?}"}}
		if mode&2 != 0 {
			opt.SignatureText, opt.SignatureHTML = "-- \nsigned", "<p>signed</p>"
		}
		opt.Disinfect = mode&4 != 0
		out, res, _ := rewrite(t, data, m, v, opt)
		touched := map[string]bool{}
		for _, p := range m.Parts {
			if isHTML(p) {
				touched[p.Path] = true
			}
		}
		for _, s := range res.Signed {
			touched[s] = true
		}
		if limited(m) {
			mustUnpack(t, out)
			return
		}
		if why := verifyOut(t, m, v, res, out); why != "" {
			// Not delivered: the pipeline withholds the message (Verify).
			// How often that happens is counted on the corpus.
			t.Logf("rewrite not verified: %s", why)
			return
		}
		om := checkInvariants(t, m, out, res, touched)
		if limited(om) {
			return
		}
		out2, res2, _ := rewrite(t, out, om, rules.Verdict{Status: v.Status}, opt)
		if res2.Changed || !bytes.Equal(out, out2) {
			t.Errorf("second pass changed the output (%+v)\n--- first\n%q\n--- second\n%q", res2, out, out2)
		}
	}
}
