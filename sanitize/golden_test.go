package sanitize

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/rules"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// testCase is a testdata/*.json file: the decisions and options applied
// to the .eml next to it.
type testCase struct {
	Parts       []rules.Decision `json:"parts"`
	HTML        bool             `json:"html"`
	SubjectTags []string         `json:"subject_tags"`
	Headers     []string         `json:"headers"`
	Status      rules.Status     `json:"status"`
	SigText     string           `json:"signature_text"`
	SigHTML     string           `json:"signature_html"`
	Disinfect   bool             `json:"disinfect"`
}

func readCase(t *testing.T, name string) ([]byte, testCase) {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var c testCase
	js, err := os.ReadFile(strings.TrimSuffix(name, ".eml") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &c); err != nil {
		t.Fatal(err)
	}
	return raw, c
}

func (c testCase) options() Options {
	return Options{DisarmHTML: c.HTML, SubjectTags: c.SubjectTags, Headers: c.Headers,
		SignatureText: c.SigText, SignatureHTML: c.SigHTML, Disinfect: c.Disinfect,
		Now: func() time.Time { return time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC) }}
}

func compareGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

// TestGolden rewrites each testdata/*.eml with the decisions of its .json
// and compares the message with .golden and the Result with
// .result.golden (-update rewrites them: review the diff). The invariants
// are checked too, so that -update cannot accept a broken output.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			raw, c := readCase(t, name)
			m := mustUnpack(t, raw)
			v := rules.Verdict{Parts: c.Parts, Status: c.Status}
			opt := c.options()
			out, res, _ := rewrite(t, raw, m, v, opt)
			base := strings.TrimSuffix(name, ".eml")
			compareGolden(t, base+".golden", out)
			js, _ := json.MarshalIndent(res, "", " ")
			compareGolden(t, base+".result.golden", append(js, '\n'))

			touched := map[string]bool{}
			if c.HTML {
				for _, p := range m.Parts {
					if isHTML(p) {
						touched[p.Path] = true
					}
				}
			}
			for _, s := range res.Signed {
				touched[s] = true
			}
			om := checkInvariants(t, m, out, res, touched)

			// Idempotence: the same decisions on parts still there find
			// nothing more to do but what they did (replaced parts are
			// gone, so only options are re-applied; a signature is not
			// added twice, and Plan knows it).
			opt2 := Options{DisarmHTML: c.HTML, SubjectTags: c.SubjectTags, SignatureText: c.SigText, SignatureHTML: c.SigHTML, Disinfect: c.Disinfect}
			out2, res2, plan2 := rewrite(t, out, om, rules.Verdict{Status: c.Status}, opt2)
			if res2.Changed || !bytes.Equal(out2, out) {
				t.Errorf("a second pass changed the output again (%+v)", res2)
			}
			if plan2 && !c.HTML {
				t.Errorf("Plan: change on the second pass")
			}
			if strings.Contains(string(raw), "\r\n") != strings.Contains(string(out), "\r\n") ||
				strings.Count(string(out), "\n") != strings.Count(string(out), "\r\n") && strings.Contains(string(raw), "\r\n") {
				t.Errorf("line endings not kept")
			}
		})
	}
}

// TestWithheld checks the notice for a withheld message against golden
// files.
func TestWithheld(t *testing.T) {
	for _, name := range []string{"testdata/mixed.eml", "testdata/subject.eml"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			raw, c := readCase(t, name)
			m := mustUnpack(t, raw)
			var out bytes.Buffer
			text := "The message was withheld: it carried a virus.\nQuarantine id: 20240203-abc\n"
			if err := Withheld(&out, bytes.NewReader(raw), int64(len(raw)), m, text, c.options()); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, strings.TrimSuffix(name, ".eml")+".withheld.golden", out.Bytes())
			om := mustUnpack(t, out.Bytes())
			if len(om.Parts) != 1 || om.Root.DeclaredType != "text/plain" || om.Root.Charset != "utf-8" {
				t.Errorf("notice is not one text/plain utf-8 part: %+v", om.Root)
			}
			body, _ := om.Root.Open()
			var b bytes.Buffer
			b.ReadFrom(body)
			if got := strings.ReplaceAll(b.String(), "\r\n", "\n"); got != text {
				t.Errorf("body %q, want %q", got, text)
			}
			if m.MessageID != om.MessageID {
				t.Errorf("Message-ID %q, want %q", om.MessageID, m.MessageID)
			}
			for _, tag := range newTags("", c.SubjectTags) {
				if !strings.Contains(om.Subject, tag) {
					t.Errorf("subject %q lacks tag %q", om.Subject, tag)
				}
			}
		})
	}
}

// TestPlanClean: a clean message with nothing asked is not rewritten, and
// Rewrite's output is the input with the headers in front.
func TestPlanClean(t *testing.T) {
	raw, _ := readCase(t, "testdata/clean.eml")
	m := mustUnpack(t, raw)
	opt := Options{Headers: []string{"X-Scandeliver-Status: clean"}}
	if Plan(m, rules.Verdict{}, opt) {
		t.Fatal("Plan: change for a clean message")
	}
	var out bytes.Buffer
	res, err := Rewrite(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), m, rules.Verdict{}, opt, nil)
	if err != nil || res.Changed {
		t.Fatalf("Rewrite: %v %+v", err, res)
	}
	if want := "X-Scandeliver-Status: clean\n" + string(raw); out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
