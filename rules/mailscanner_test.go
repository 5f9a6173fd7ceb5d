package rules

import (
	"strings"
	"testing"
)

// A rules file in MailScanner's format, written for this test.
const msRules = "# comment\n" +
	"\n" +
	"allow\t\\.jpg$\t-\t-\n" +
	"deny\t\\.exe$\t\tExecutable\t\t\tDo not send programs\n" +
	"deny+delete\t\\.cur$\tCursor\tWindows cursor\r\n" +
	"rename\t\\.fdf$\tAcrobat data\tRenamed\n" +
	"rename to .bad\t\\.pif$\tPIF\n" +
	"admin@example.org,sec@example.org\t\\.reg$\tRegistry\tRegistry files are dangerous\n" +
	"  # indented comment\n"

func TestParseMailScannerRules(t *testing.T) {
	rules, warns, err := ParseMailScannerRules(strings.NewReader(msRules))
	if err != nil {
		t.Fatal(err)
	}
	want := []FilenameRule{
		{Allow, `\.jpg$`, "", ""},
		{Deny, `\.exe$`, "Executable", "Do not send programs"},
		{Deny, `\.cur$`, "Cursor", "Windows cursor"},
		{Rename, `\.fdf$`, "Acrobat data", "Renamed"},
		{Rename, `\.pif$`, "PIF", ""},
		{Deny, `\.reg$`, "Registry", "Registry files are dangerous"},
	}
	if len(rules) != len(want) {
		t.Fatalf("%d rules: %+v", len(rules), rules)
	}
	for i := range want {
		if rules[i] != want[i] {
			t.Errorf("rule %d: %+v, want %+v", i, rules[i], want[i])
		}
	}
	if len(warns) != 2 || !strings.Contains(warns[0], "line 7") || !strings.Contains(warns[1], "admin@example.org") {
		t.Errorf("warnings %q", warns)
	}
	// The imported rules work like ours, case-insensitively.
	checkNames(t, rules, []nameCase{{"A.EXE", "Executable"}, {"x.jpg", ""}, {"x.Reg", "Registry"}})

	_, _, err = ParseMailScannerRules(strings.NewReader("deny\t(\\.exe)\\1$\tbackref\n" + "frobnicate\tx\n" + "deny \\.exe$\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"line 1: pattern", "line 2: unknown action", "line 3: want action"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}

func FuzzParseMailScannerRules(f *testing.F) {
	f.Add(msRules)
	f.Add("deny\t(\t\t\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		rules, _, _ := ParseMailScannerRules(strings.NewReader(s))
		p := Policy{FilenameRules: rules}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed rules do not validate: %v", err)
		}
	})
}
