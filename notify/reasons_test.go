package notify

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/rules"
)

// builtinReasons lists every reason the policy can give a recipient: the
// default rules' reports, and the reasons written in the code of rules
// and sanitize (read from their source, so that a new one cannot be
// added without its translation). A reason built by concatenation or
// fmt.Sprintf comes back with %s or %d where the argument goes.
func builtinReasons(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	p := rules.Defaults()
	for _, r := range append(append([]rules.FilenameRule{}, p.FilenameRules...), p.ArchiveFilenameRules...) {
		add(r.Report)
	}
	for _, r := range p.TypeRules {
		add(r.Report)
	}
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	text := func(e ast.Expr) string {
		if s, ok := lit(e); ok {
			return s
		}
		switch x := e.(type) {
		case *ast.BinaryExpr: // "Infected: " + names
			if s, ok := lit(x.X); ok && x.Op == token.ADD {
				return s + "%s"
			}
		case *ast.CallExpr: // fmt.Sprintf("... %d ...", n)
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sprintf" && len(x.Args) > 0 {
				if s, ok := lit(x.Args[0]); ok {
					return s
				}
			}
		}
		return ""
	}
	files, _ := filepath.Glob("../rules/*.go")
	files = append(files, "../sanitize/sanitize.go")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(nd ast.Node) bool {
			kv, ok := nd.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Reason" {
				n++
				if s := text(kv.Value); s != "" {
					add(s)
				} else if _, isSel := kv.Value.(*ast.SelectorExpr); !isSel {
					t.Errorf("%s: a Reason this test cannot read: %T", f, kv.Value)
				}
			}
			return true
		})
	}
	if n < 10 || len(out) < 20 {
		t.Fatalf("found %d Reason fields and %d reasons: the source layout changed", n, len(out))
	}
	return out
}

func TestEveryBuiltinReasonHasAFrenchTranslation(t *testing.T) {
	c, err := Templates{}.loadCatalog("fr")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range builtinReasons(t) {
		sample := strings.NewReplacer("%d", "1048576", "%s", "Eicar-Test-Signature").Replace(r)
		got, ok := c.translate(sample)
		if !ok || got == sample {
			t.Errorf("no French for %q", r)
		}
	}
}

func TestReasonTranslates(t *testing.T) {
	site := t.TempDir()
	if err := os.MkdirAll(filepath.Join(site, "fr"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(site, "fr", "reasons.txt"), []byte(
		"# ours\nInvoices must be PDF\n= Les factures doivent être en PDF\n\n"+
			"Infected: %s\n= Virus détecté : %s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tm         Templates
		lang, in   string
		want       string
		wantFailed bool
	}{
		{Templates{}, "en", "Infected: Eicar", "Infected: Eicar", false},
		{Templates{}, "fr", "Infected: Eicar-Test-Signature, Clam.Exe", "Infecté : Eicar-Test-Signature, Clam.Exe", false},
		{Templates{}, "fr", "The attachment is larger than the limit of 20971520 bytes", "La pièce jointe dépasse la limite de 20971520 octets", false},
		{Templates{}, "fr-ca", "Scripts are not accepted by mail, whatever their name", "Les scripts ne sont pas acceptés par la messagerie, quel que soit leur nom", false},
		{Templates{}, "fr", "A site rule's own text", "A site rule's own text", false},
		{Templates{}, "de", "Infected: X", "Infected: X", false},
		{Templates{}, "../../etc", "Infected: X", "Infected: X", false},
		{Templates{Dir: site}, "fr", "Invoices must be PDF", "Les factures doivent être en PDF", false},
		{Templates{Dir: site}, "fr", "Infected: X", "Virus détecté : X", false},                                                                  // the site's entry comes first
		{Templates{Dir: site}, "fr", "Disk images are not accepted by mail", "Les images disque ne sont pas acceptées par la messagerie", false}, // the rest is still there
	} {
		got, err := c.tm.Reason(c.lang, c.in)
		if got != c.want || (err != nil) != c.wantFailed {
			t.Errorf("Reason(%q, %q) = %q, %v; want %q", c.lang, c.in, got, err, c.want)
		}
	}
}

func TestReasonCatalogErrors(t *testing.T) {
	for _, bad := range []string{
		"Only English\n",
		"= only French\n",
		"Two\nEnglish lines\n= x\n",
		"Limit of %d bytes\n= Limite de %s octets\n",
	} {
		site := t.TempDir()
		os.MkdirAll(filepath.Join(site, "fr"), 0o755)
		os.WriteFile(filepath.Join(site, "fr", "reasons.txt"), []byte(bad), 0o644)
		got, err := Templates{Dir: site}.Reason("fr", "Infected: X")
		if err == nil || got != "Infected: X" || !strings.Contains(err.Error(), "reasons.txt") {
			t.Errorf("catalogue %q: got %q, %v; want the text untranslated and an error naming the file", bad, got, err)
		}
	}
}
