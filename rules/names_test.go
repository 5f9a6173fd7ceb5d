package rules

import (
	"strings"
	"testing"
	"unicode"
)

// The log text of each default rule, to name which rule a case expects.
const (
	rControl  = "Control character"
	rBidi     = "Bidirectional"
	rLong     = "Very long file name"
	rSpaces   = "Long run of spaces"
	rCLSID    = "CLSID"
	rParent   = "Parent directory"
	rAbsolute = "Absolute path"
	rHidden   = "Hidden double extension"
	rExec     = "Executable or script file name"
	rTrailing = "Trailing dot or space"
	rPath     = "Path separator"
)

type nameCase struct {
	name string
	rule string // "" = allowed (no rule matches)
}

func checkNames(t *testing.T, list []FilenameRule, cases []nameCase) {
	t.Helper()
	for _, c := range cases {
		r, i, err := MatchFilename(list, c.name)
		if err != nil {
			t.Errorf("%q: %v", c.name, err)
			continue
		}
		if c.rule == "" {
			if i >= 0 && r.Action != Allow {
				t.Errorf("%q: matched rule %d %q (%s), want allowed", c.name, i, r.Pattern, r.Log)
			}
			continue
		}
		if i < 0 || !strings.HasPrefix(r.Log, c.rule) {
			t.Errorf("%q: matched %d %q (%s), want %q", c.name, i, r.Pattern, r.Log, c.rule)
		}
	}
}

func TestDefaultExtensions(t *testing.T) {
	var cases []nameCase
	for _, ext := range strings.Split(dangerous, "|") {
		cases = append(cases,
			nameCase{"file." + ext, rExec},
			nameCase{"FILE." + strings.ToUpper(ext), rExec},
			nameCase{"file." + ext + ".txt", ""}, // the real extension is .txt
			nameCase{"file" + ext, ""},           // no dot: not an extension
			nameCase{"notes.txt." + ext, rHidden},
			nameCase{"dir/sub/file." + ext, ""}, // placeholder, replaced below for top level
		)
		cases[len(cases)-1] = nameCase{"photo.jpeg_." + ext, rHidden}
	}
	checkNames(t, Defaults().FilenameRules, cases)
	checkNames(t, Defaults().ArchiveFilenameRules, cases)
}

func TestDefaultFilenameRules(t *testing.T) {
	long := strings.Repeat("a", 146) + ".pdf" // 150 characters
	checkNames(t, Defaults().FilenameRules, []nameCase{
		// Ordinary names.
		{"invoice.pdf", ""}, {"report.docx", ""}, {"archive.tar.gz", ""}, {"v1.2.3.pdf", ""},
		{"photo.JPG", ""}, {"a.json", ""}, {"app.jsx", ""}, {"my.application.pdf", ""},
		{"example.com.au.pdf", ""}, {"exe", ""}, {"a..b.txt", ""}, {"file{abc}.txt", ""},
		{"Résumé.pdf", ""}, {"Re\u0301sume\u0301.pdf", ""}, {"日本語の文書.pdf", ""},
		{"نامه\u200cها.pdf", ""}, // ZWNJ is ordinary in Persian
		{"\xff\xfe.pdf", ""},     // invalid UTF-8 (legacy charsets) is not a trick by itself
		{"a    b.pdf", ""},       // four spaces
		{strings.Repeat("a", 145) + ".pdf", ""},
		// Double extensions.
		{"notes.txt.vbs", rHidden}, {"invoice.pdf.exe", rHidden}, {"photo.jpg .scr", rHidden},
		{"photo.jpg      .scr", rSpaces}, {"photo.jpg\u3000\u3000\u3000\u3000\u3000.scr", rSpaces},
		{"a\u00a0\u00a0\u00a0\u00a0\u00a0b.pdf", rSpaces},
		// Long names.
		{long, rLong}, {strings.Repeat("é", 150), rLong},
		// CLSID.
		{"file.txt.{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}", rCLSID},
		{"file.{3050f4d8-98b5-11cf-bb82-00aa00bdce0b}", rCLSID},
		// Trailing dots and spaces.
		{"evil.exe.", rTrailing}, {"report.pdf ", rTrailing}, {"report.", rTrailing}, {"evil.exe...", rTrailing},
		// Bidi and invisible characters.
		{"invoice\u202efdp.exe", rBidi}, {"invoice\u202egpj.scr", rBidi}, {"a\u2066b.pdf", rBidi},
		{"doc\u200b.exe", rBidi}, {"\ufeffa.pdf", rBidi}, {"a\u200fb.pdf", rBidi}, {"a\u061cb.pdf", rBidi},
		// Control characters.
		{"report\x00.pdf", rControl}, {"a\nb.pdf", rControl}, {"a\r\nBcc: x@y.pdf", rControl},
		{"\x1b[31mred.pdf", rControl}, {"\u0085x.pdf", rControl}, {"a\x7f.pdf", rControl},
		// Paths.
		{"../etc/passwd", rParent}, {`..\..\x.txt`, rParent}, {"..", rParent}, {"a/../b.pdf", rParent},
		{"dir/file.pdf", rPath}, {`C:\Users\x\file.pdf`, rPath}, {"file.txt:stream", rPath}, {"/etc/passwd", rPath},
		{`C:\Users\x\evil.exe`, rExec},
		// Unicode compatibility forms fold to the plain name (NFKC) and case.
		{"ｅｖｉｌ．ｅｘｅ", rExec}, {"evil.ℯxe", rExec}, {"evil.𝐞𝐱𝐞", rExec}, {"EVİL.EXE", rExec},
		{"notes.txt．ｖｂｓ", rHidden},
		// Cross-script look-alikes stay as they are (Windows would not run them).
		{"evil.ехе", ""},
	})
}

func TestDefaultArchiveFilenameRules(t *testing.T) {
	checkNames(t, Defaults().ArchiveFilenameRules, []nameCase{
		{"docs/readme.txt", ""}, {`docs\readme.txt`, ""}, {"a/b/c/d.pdf", ""},
		{strings.Repeat("d/", 100) + "a.txt", ""}, // a long path of short names
		{"docs/sub/evil.exe", rExec}, {`dir\evil.exe`, rExec}, {"x/notes.txt.vbs", rHidden},
		{"dir/" + strings.Repeat("a", 146) + ".txt", rLong},
		{"/etc/passwd", rAbsolute}, {`\windows\x.txt`, rAbsolute}, {"C:/x.txt", rAbsolute}, {"c:x.txt", rAbsolute},
		{"../x.txt", rParent}, {"a/../../x", rParent}, {`a\..\x`, rParent},
		{"dir/a\u202egpj.exe", rBidi}, {"dir/a\nb", rControl},
		{"dir/file.txt.{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}", rCLSID},
		{"dir/report.pdf.", rTrailing},
		{"dir/photo.jpg       .scr", rSpaces},
	})
}

func TestUseDefaultsInList(t *testing.T) {
	list := []FilenameRule{
		{Action: Allow, Pattern: `^trusted-.*\.exe$`},
		{Action: UseDefaults},
		{Action: Deny, Pattern: `\.zip$`, Log: "site: no zip"},
	}
	checkNames(t, list, []nameCase{
		{"trusted-setup.exe", ""}, // matched by the allow rule: index 0
		{"evil.exe", rExec},
		{"a.zip", "site: no zip"},
		{"a.pdf", ""},
	})
	r, i, _ := MatchFilename(list, "trusted-setup.exe")
	if i != 0 || r.Action != Allow {
		t.Errorf("trusted-setup.exe: got %d %v, want the site's allow rule", i, r)
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"invoice.pdf":              "invoice.pdf",
		"../../etc/passwd":         "passwd",
		`C:\Users\x\evil.exe`:      "evil.exe",
		"a\u202egpj.exe":           "agpj.exe",
		"a\x00b\nc.pdf":            "abc.pdf",
		"photo.jpg       .scr":     "photo.jpg .scr",
		"...":                      "attachment",
		"":                         "attachment",
		"ｅｖｉｌ．ｅｘｅ":                 "evil.exe",
		`a"b*c<d>e?f|g.txt`:        "a_b_c_d_e_f_g.txt",
		strings.Repeat("x", 300):   strings.Repeat("x", 100),
		"$(touch x)`id`.pdf":       "$(touch x)`id`.pdf",
		"\x1b]0;title\x07name.pdf": "]0;titlename.pdf",
	} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDisarmedName(t *testing.T) {
	for _, c := range []struct{ tmpl, in, want string }{
		{"", "invoice.pdf.exe", "invoice_pdf_exe.disarmed"},
		{"", "../a.b", "a_b.disarmed"},
		{"__FILENAME__.txt", "run.bat", "run_bat.txt"},
		{"", strings.Repeat("y", 300) + ".exe", strings.Repeat("y", 87) + "_exe.disarmed"},
	} {
		got := DisarmedName(c.tmpl, c.in)
		if got != c.want {
			t.Errorf("DisarmedName(%q, %q) = %q, want %q", c.tmpl, c.in, got, c.want)
		}
		if _, i, _ := MatchFilename(Defaults().FilenameRules, got); i >= 0 {
			t.Errorf("DisarmedName(%q) = %q is itself refused by the defaults", c.in, got)
		}
	}
}

func FuzzFilenameRules(f *testing.F) {
	for _, s := range []string{"evil.exe", "notes.txt.vbs", "a\u202egpj.exe", "photo.jpg      .scr",
		"../x", "ｅｖｉｌ．ｅｘｅ", "\xff\xfe", "a{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}", "Re\u0301sume\u0301.pdf",
		"\u1e9b\u0323", "\ufdfa", strings.Repeat("a ", 80)} {
		f.Add(s, false)
		f.Add(s, true)
	}
	p := Defaults()
	f.Fuzz(func(t *testing.T, name string, inArchive bool) {
		n := NormalizeName(name)
		if NormalizeName(n) != n {
			t.Fatalf("NormalizeName not idempotent on %q: %q then %q", name, n, NormalizeName(n))
		}
		list := p.FilenameRules
		if inArchive {
			list = p.ArchiveFilenameRules
		}
		if _, _, err := MatchFilename(list, name); err != nil {
			t.Fatal(err)
		}
		// The same name normalized must be judged the same.
		_, i1, _ := MatchFilename(list, name)
		_, i2, _ := MatchFilename(list, n)
		if i1 != i2 {
			t.Fatalf("%q matched rule %d, its normal form %q rule %d", name, i1, n, i2)
		}
		s := SafeName(name)
		if s == "" || SafeName(s) != s {
			t.Fatalf("SafeName(%q) = %q, again %q", name, s, SafeName(s))
		}
		for _, r := range s {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune(`/\:`, r) {
				t.Fatalf("SafeName(%q) = %q keeps %U", name, s, r)
			}
		}
		d := DisarmedName("", name)
		if _, i, _ := MatchFilename(p.FilenameRules, d); i >= 0 {
			t.Fatalf("DisarmedName(%q) = %q is refused by the defaults", name, d)
		}
		Decide(Policy{}, MessageFacts{Parts: []PartFacts{{Path: "1", Name: name, InArchive: inArchive}}})
	})
}
