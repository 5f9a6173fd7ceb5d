package unpack

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden")

// TestGolden compares the tree of each testdata/golden/*.eml with its
// .golden file (run with -update to rewrite them after a deliberate
// change, and review the diff).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden messages: %v", err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			m := unpackFile(t, name, Options{})
			var got bytes.Buffer
			if err := WriteTree(&got, m); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(name, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("tree differs from %s:\n--- got\n%s--- want\n%s", golden, got.Bytes(), want)
			}
		})
	}
}

// TestConstructs checks the facts the golden file shows, so that an
// -update cannot silently accept a regression in them.
func TestConstructs(t *testing.T) {
	m := unpackFile(t, "testdata/golden/constructs.eml", Options{})
	byPath := map[string]*Part{}
	for _, p := range m.Parts {
		byPath[p.Path] = p
	}
	content := func(p *Part) string {
		r, err := p.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		return b.String()
	}
	if m.Subject != "élève constructs" || m.From != "Jörg <j@example.org>" {
		t.Errorf("subject %q from %q", m.Subject, m.From)
	}
	checks := []struct {
		path, name, content string
		origin              Origin
	}{
		{"1.1", "", "café softbreak", OriginMIME},
		{"1.2", "€uro report.pdf", "%PDF-1.4\n", OriginMIME},
		{"1.3", "été.pdf", "%PDF-1.4\n", OriginMIME},
		{"1.4.1.1", "", "inner text", OriginMIME},
		{"1.5/1", "hello.txt", "hello uuencoded world\n", OriginUUEncode},
		{"1.5/2", "y.bin", "\x00\x01=\n\r", OriginYEnc},
		{"1.6", "", "uryyb", OriginMIME},
	}
	for _, c := range checks {
		p := byPath[c.path]
		if p == nil {
			t.Errorf("no part %s", c.path)
			continue
		}
		if p.Name != c.name || p.Origin != c.origin || content(p) != c.content {
			t.Errorf("part %s: name %q origin %s content %q; want %q %s %q", c.path, p.Name, p.Origin, content(p), c.name, c.origin, c.content)
		}
	}
	if p := byPath["1.4.1"]; p == nil || p.Origin != OriginRFC822 || p.DeclaredType != "multipart/alternative" {
		t.Errorf("embedded message: %+v", p)
	}
	if p := byPath["1.6"]; p == nil || !hasProblem(p, KindEncoding, "unknown Content-Transfer-Encoding") {
		t.Error("unknown encoding not reported")
	}
	if p := byPath["1.3"]; p == nil || !hasProblem(p, KindEncoding, "outside the alphabet") {
		t.Error("stray base64 characters not reported")
	}
}

func hasProblem(p *Part, kind, substr string) bool {
	for _, pr := range p.Problems {
		if pr.Kind == kind && strings.Contains(pr.Detail, substr) {
			return true
		}
	}
	return false
}

// TestAmbiguous checks that each ambiguity of testdata/golden/ambiguous.eml
// is reported on the right part.
func TestAmbiguous(t *testing.T) {
	m := unpackFile(t, "testdata/golden/ambiguous.eml", Options{})
	byPath := map[string]*Part{}
	for _, p := range m.Parts {
		byPath[p.Path] = p
	}
	cases := []struct{ path, substr string }{
		{"1", "Content-Type given 2 times"},
		{"1", `parameter "boundary" given 2 times`},
		{"1.1", "Content-Transfer-Encoding given 2 times"},
		{"1.1", `file name "invoice.exe" differs from Content-Type name "report.pdf"`},
		{"1.1", "line starting with a boundary followed by other text"},
		{"1.2", "RFC 2231 value"},
		{"1.3", "contains a path"},
		{"1.3", "control or direction characters"},
		{"1.3", "Content-Disposition given 2 times"},
		{"1.4", "base64 body contains enclosing boundary"},
		{"1.5", "are prefixes of each other"},
	}
	for _, c := range cases {
		p := byPath[c.path]
		if p == nil {
			t.Errorf("no part %s", c.path)
			continue
		}
		if !hasProblem(p, KindAmbiguous, c.substr) {
			t.Errorf("part %s: no ambiguous problem %q in %v", c.path, c.substr, p.Problems)
		}
	}
	// The first boundary counts; the name in the tree is safe.
	if p := byPath["1.3"]; p == nil || p.SafeName != "evil_gpj.exe" {
		t.Errorf("safe name %q", byPath["1.3"].SafeName)
	}
	var tree bytes.Buffer
	WriteTree(&tree, m)
	if strings.ContainsRune(tree.String(), '\u202e') {
		t.Error("bidi override reaches the tree output")
	}
}
