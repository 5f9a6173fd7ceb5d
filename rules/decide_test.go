package rules

import (
	"reflect"
	"strings"
	"testing"
)

func part(path, name, detected string) PartFacts {
	return PartFacts{Path: path, Name: name, DetectedType: detected, Size: 100}
}

func TestDecideParts(t *testing.T) {
	local := Policy{LocalDomains: []string{"example.org", "*.example.net"}}
	for _, c := range []struct {
		name    string
		p       Policy
		m       MessageFacts
		action  Action // of the first decision ("" = no decision)
		kind    Kind
		message Action
		status  Status
	}{
		{"clean", Policy{}, MessageFacts{Parts: []PartFacts{part("1", "a.pdf", "application/pdf")}}, "", "", Deliver, StatusClean},
		{"banned name", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "a.exe", "text/plain")}}, Deny, KindFilename, Deliver, StatusBlocked},
		{"exe named pdf", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "invoice.pdf", "application/vnd.microsoft.portable-executable")}}, Deny, KindType, Deliver, StatusBlocked},
		{"declared exe", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "x.pdf", DeclaredType: "application/x-msdownload; name=x.pdf", DetectedType: "application/pdf"}}}, Deny, KindType, Deliver, StatusBlocked},
		{"elf", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "", "application/x-executable")}}, Deny, KindType, Deliver, StatusBlocked},
		{"mach-o", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "", "application/x-mach-binary")}}, Deny, KindType, Deliver, StatusBlocked},
		{"shell script as txt", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "notes.txt", "text/x-shellscript")}}, Deny, KindType, Deliver, StatusBlocked},
		{"plain text", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "notes.txt", "text/plain; charset=utf-8")}}, "", "", Deliver, StatusClean},
		{"python is not a default script", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "x.py", "text/x-python")}}, "", "", Deliver, StatusClean},
		{"docm", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "a.docm", "application/vnd.ms-word.document.macroEnabled.12")}}, Deny, KindType, Deliver, StatusBlocked},
		{"doc with macros", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.doc", DetectedType: "application/msword", Macros: true}}}, Deny, KindType, Deliver, StatusBlocked},
		{"doc without macros", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "a.doc", "application/msword")}}, "", "", Deliver, StatusClean},
		{"iso renamed", Policy{}, MessageFacts{Parts: []PartFacts{part("2", "a.zip", "application/x-iso9660-image")}}, Deny, KindType, Deliver, StatusBlocked},
		{"archive member", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2/a.zip/x.scr", Name: "x.scr", InArchive: true}}}, Deny, KindFilename, Deliver, StatusBlocked},
		{"archive directory", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2/a.zip/d/x.pdf", Name: "d/x.pdf", InArchive: true}}}, "", "", Deliver, StatusClean},
		{"path in MIME name renamed", Policy{}, MessageFacts{Parts: []PartFacts{part("2", `C:\tmp\x.pdf`, "application/pdf")}}, Rename, KindFilename, Deliver, StatusBlocked},
		{"rename in archive becomes deny", Policy{FilenameRules: []FilenameRule{{Action: Rename, Pattern: `\.pdf$`}}, ArchiveFilenameRules: []FilenameRule{{Action: Rename, Pattern: `\.pdf$`}}},
			MessageFacts{Parts: []PartFacts{{Path: "2/a.zip/x.pdf", Name: "x.pdf", InArchive: true}}}, Deny, KindFilename, Deliver, StatusBlocked},
		{"infected", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.zip", Infected: []string{"Eicar-Signature"}}}}, Deny, KindInfected, Deliver, StatusInfected},
		{"infected local sender", local, MessageFacts{Sender: "bob@Example.ORG", Parts: []PartFacts{{Path: "2", Infected: []string{"Eicar-Signature"}}}}, Deny, KindInfected, Drop, StatusInfected},
		{"infected local subdomain", local, MessageFacts{Sender: "<bob@a.example.net>", Parts: []PartFacts{{Path: "2", Infected: []string{"X"}}}}, Deny, KindInfected, Drop, StatusInfected},
		{"infected flagged local", Policy{}, MessageFacts{LocalSender: true, Parts: []PartFacts{{Path: "2", Infected: []string{"X"}}}}, Deny, KindInfected, Drop, StatusInfected},
		{"infected outside", local, MessageFacts{Sender: "bob@example.org.evil.com", Parts: []PartFacts{{Path: "2", Infected: []string{"X"}}}}, Deny, KindInfected, Deliver, StatusInfected},
		{"partial", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "1", Partial: true}}}, Quarantine, KindPartial, Quarantine, StatusBlocked},
		{"external body", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "1", ExternalBody: true}}}, Quarantine, KindExternalBody, Quarantine, StatusBlocked},
		{"encrypted", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.zip", Encrypted: true}}}, Quarantine, KindEncrypted, Quarantine, StatusUnscannable},
		{"encrypted allowed", Policy{Encrypted: Allow}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.zip", Encrypted: true}}}, "", "", Deliver, StatusClean},
		{"unscannable", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Unscannable: "archive depth limit"}}}, Quarantine, KindUnscannable, Quarantine, StatusUnscannable},
		{"unscannable message", Policy{}, MessageFacts{Unscannable: "ambiguous boundary"}, Quarantine, KindUnscannable, Quarantine, StatusUnscannable},
		{"infected message", Policy{}, MessageFacts{Infected: []string{"X"}}, Quarantine, KindInfected, Quarantine, StatusInfected},
		{"message too large", Policy{MaxMessageSize: 1000}, MessageFacts{Size: 1001}, Quarantine, KindTooLarge, Quarantine, StatusBlocked},
		{"message at limit", Policy{MaxMessageSize: 1000}, MessageFacts{Size: 1000}, "", "", Deliver, StatusClean},
		{"message unlimited", Policy{MaxMessageSize: Unlimited}, MessageFacts{Size: 1 << 40}, "", "", Deliver, StatusClean},
		{"part too large", Policy{MaxAttachmentSize: 99}, MessageFacts{Parts: []PartFacts{part("2", "a.pdf", "")}}, Quarantine, KindTooLarge, Quarantine, StatusBlocked},
		{"part too large denied", Policy{MaxAttachmentSize: 99, TooLarge: Deny}, MessageFacts{Parts: []PartFacts{part("2", "a.pdf", "")}}, Deny, KindTooLarge, Deliver, StatusBlocked},
		{"reject rule", Policy{FilenameRules: []FilenameRule{{Action: Reject, Pattern: `\.exe$`}}}, MessageFacts{Parts: []PartFacts{part("2", "a.exe", "")}}, Reject, KindFilename, Reject, StatusBlocked},
		{"allow name does not allow type", Policy{FilenameRules: []FilenameRule{{Action: Allow, Pattern: `\.pdf$`}}},
			MessageFacts{Parts: []PartFacts{part("2", "a.pdf", "application/vnd.microsoft.portable-executable")}}, Deny, KindType, Deliver, StatusBlocked},
		{"allow type does not allow infection", Policy{TypeRules: []TypeRule{{Action: Allow, Type: "executable"}}},
			MessageFacts{Parts: []PartFacts{{Path: "2", DetectedType: "application/x-elf", Infected: []string{"X"}}}}, Deny, KindInfected, Deliver, StatusInfected},
		{"site type glob", Policy{TypeRules: []TypeRule{{Action: Deny, Type: "application/vnd.ms-*"}}},
			MessageFacts{Parts: []PartFacts{part("2", "a.xls", "application/vnd.ms-excel")}}, Deny, KindType, Deliver, StatusBlocked},
		{"site type rule before the defaults", Policy{TypeRules: []TypeRule{{Action: Allow, Type: "application/x-elf"}, {Action: UseDefaults}}},
			MessageFacts{Parts: []PartFacts{part("2", "a", "application/x-elf"), part("3", "b", "application/x-mach-binary")}}, Deny, KindType, Deliver, StatusBlocked},
		{"no type rules", Policy{TypeRules: []TypeRule{}}, MessageFacts{Parts: []PartFacts{part("2", "a.pdf", "application/x-elf")}}, "", "", Deliver, StatusClean},
		{"bad pattern fails closed", Policy{FilenameRules: []FilenameRule{{Action: Allow, Pattern: `(`}}},
			MessageFacts{Parts: []PartFacts{part("2", "a.pdf", "")}}, Quarantine, KindPolicyError, Quarantine, StatusUnscannable},
		{"worst wins", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.exe", Partial: true}}}, Quarantine, KindPartial, Quarantine, StatusBlocked},
		// Issue 11 section 2: every reading's name; a part every reading
		// agrees on is cut out; a finding in ambiguous structure withholds.
		{"name of another reading", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.pdf", OtherNames: []string{"a.exe"}}}}, Deny, KindFilename, Deliver, StatusBlocked},
		{"name only in another reading", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", OtherNames: []string{"a.exe"}}}}, Deny, KindFilename, Deliver, StatusBlocked},
		{"allowed name does not hide another reading's", Policy{FilenameRules: []FilenameRule{{Action: Allow, Pattern: `\.pdf$`}, {Action: UseDefaults}}},
			MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.pdf", OtherNames: []string{"a.pdf.exe"}}}}, Deny, KindFilename, Deliver, StatusBlocked},
		{"archive member of another reading", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2/1", Name: "x.txt", OtherNames: []string{"x.scr"}, InArchive: true}}}, Deny, KindFilename, Deliver, StatusBlocked},
		{"encrypted separable cut out", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.zip", Encrypted: true, Separable: true}}}, Deny, KindEncrypted, Deliver, StatusUnscannable},
		{"unscannable separable cut out", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2/1", Unscannable: "encrypted zip member", Separable: true}}}, Deny, KindUnscannable, Deliver, StatusUnscannable},
		{"partial separable cut out", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "1.2", Partial: true, Separable: true}}}, Deny, KindPartial, Deliver, StatusBlocked},
		{"external body separable cut out", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "1.2", ExternalBody: true, Separable: true}}}, Deny, KindExternalBody, Deliver, StatusBlocked},
		{"too large separable cut out", Policy{MaxAttachmentSize: 99}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.pdf", Size: 100, Separable: true}}}, Deny, KindTooLarge, Deliver, StatusBlocked},
		{"quarantine name rule still withholds", Policy{FilenameRules: []FilenameRule{{Action: Quarantine, Pattern: `\.exe$`}}},
			MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.exe", Separable: true}}}, Quarantine, KindFilename, Quarantine, StatusBlocked},
		{"encrypted in ambiguous structure", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.zip", Encrypted: true, Separable: true, Ambiguous: "boundary read two ways"}}}, Quarantine, KindEncrypted, Quarantine, StatusUnscannable},
		{"infected in ambiguous structure", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Infected: []string{"Eicar-Signature"}, Ambiguous: "boundary read two ways"}}}, Quarantine, KindInfected, Quarantine, StatusInfected},
		{"banned name in ambiguous structure", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.exe", Ambiguous: "boundary read two ways"}}}, Quarantine, KindFilename, Quarantine, StatusBlocked},
		{"rename in ambiguous structure", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: `C:\tmp\x.pdf`, Ambiguous: "boundary read two ways"}}}, Quarantine, KindFilename, Quarantine, StatusBlocked},
		{"clean in ambiguous structure", Policy{}, MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a.pdf", Ambiguous: "boundary read two ways"}}}, "", "", Deliver, StatusClean},
		{"allowed encrypted in ambiguous structure", Policy{Encrypted: Allow}, MessageFacts{Parts: []PartFacts{{Path: "2", Encrypted: true, Ambiguous: "boundary read two ways"}}}, "", "", Deliver, StatusClean},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Decide(c.p, c.m)
			var got Decision
			if len(v.Parts) > 0 {
				got = v.Parts[0]
			}
			if got.Action != c.action || got.Kind != c.kind || v.Message != c.message || v.Status != c.status {
				t.Errorf("got decision %s/%s message %s status %s, want %s/%s %s %s\n%+v", got.Action, got.Kind, v.Message, v.Status, c.action, c.kind, c.message, c.status, v)
			}
			if v.Quarantine != (c.action != "" || c.message != Deliver) {
				t.Errorf("Quarantine = %v with decision %q and message %s", v.Quarantine, c.action, v.Message)
			}
			if (v.Status != StatusClean) != (len(v.Reasons) > 0) || (v.Status != StatusClean) != v.NotifyPostmaster {
				t.Errorf("status %s with %d reasons, notify postmaster %v", v.Status, len(v.Reasons), v.NotifyPostmaster)
			}
		})
	}
}

// TestReasonNamesTheRule: a reason names the rule and the matched name,
// never the pattern (the shipped double-extension pattern is 600
// characters, logged whole with its backslashes escaped twice).
func TestReasonNamesTheRule(t *testing.T) {
	for _, c := range []struct {
		p    Policy
		name string
		want string
	}{
		{Policy{}, "notes.txt.vbs", `part "2" "notes.txt.vbs": deny: Hidden double extension (shipped filename rule)`},
		{Policy{FilenameRules: []FilenameRule{{Action: Allow, Pattern: `\.pdf$`}, {Action: Deny, Pattern: `\.zzz$`}}},
			"a.zzz", `part "2" "a.zzz": deny: file name rule (filename_rules #2)`},
		{Policy{FilenameRules: []FilenameRule{{Action: Deny, Pattern: strings.Repeat("x", 100)}}},
			strings.Repeat("x", 100), `part "2" "` + strings.Repeat("x", 100) + `": deny: file name rule (filename_rules #1)`},
	} {
		v := Decide(c.p, MessageFacts{Parts: []PartFacts{{Path: "2", Name: c.name}}})
		if len(v.Reasons) != 1 || v.Reasons[0] != c.want {
			t.Errorf("%s: reasons %q, want %q", c.name, v.Reasons, c.want)
		}
		for _, d := range v.Parts {
			if strings.Contains(d.Rule, "\\") || len(d.Rule) > 80 {
				t.Errorf("%s: rule %q", c.name, d.Rule)
			}
		}
	}
}

func TestDecideRenameAndReasons(t *testing.T) {
	v := Decide(Policy{FilenameRules: []FilenameRule{{Action: Rename, Pattern: `\.pdf$`, Log: "renamed pdf", Report: "PDFs are renamed"}}},
		MessageFacts{Parts: []PartFacts{{Path: "2", Name: "a\nb.pdf"}}})
	if len(v.Parts) != 1 {
		t.Fatalf("%+v", v)
	}
	d := v.Parts[0]
	if d.Action != Rename || d.NewName != "ab_pdf.disarmed" || d.Reason != "PDFs are renamed" {
		t.Errorf("%+v", d)
	}
	want := `part "2" "a\nb.pdf": rename: renamed pdf (filename_rules #1)`
	if len(v.Reasons) != 1 || v.Reasons[0] != want {
		t.Errorf("reasons %q, want %q", v.Reasons, want)
	}
	if !reflect.DeepEqual(v.SubjectTags, []string{"{Blocked?}"}) {
		t.Errorf("tags %q", v.SubjectTags)
	}
}

func TestDecideNotify(t *testing.T) {
	inf := []PartFacts{{Path: "2", Infected: []string{"Worm.Mydoom", "Eicar-Signature"}}}
	banned := []PartFacts{part("2", "a.exe", "")}
	yes := true
	for _, c := range []struct {
		name                                string
		p                                   Policy
		m                                   MessageFacts
		sender, forged, senderLocal, postmr bool
	}{
		{"virus, outside, defaults", Policy{}, MessageFacts{Sender: "a@b.c", Parts: inf}, false, true, false, true},
		{"virus, outside, notify on", Policy{NotifySender: &yes}, MessageFacts{Sender: "a@b.c", Parts: inf}, false, true, false, true},
		{"virus, outside, not silent", Policy{NotifySender: &yes, SilentViruses: []string{"html-*"}}, MessageFacts{Sender: "a@b.c", Parts: inf}, true, false, false, true},
		{"virus, silent glob", Policy{NotifySender: &yes, SilentViruses: []string{"worm.*"}}, MessageFacts{Sender: "a@b.c", Parts: inf}, false, true, false, true},
		{"virus, local", Policy{LocalDomains: []string{"b.c"}}, MessageFacts{Sender: "a@b.c", Parts: inf}, true, false, true, true},
		{"banned, defaults", Policy{}, MessageFacts{Sender: "a@b.c", Parts: banned}, false, false, false, true},
		{"banned, notify on", Policy{NotifySender: &yes}, MessageFacts{Sender: "a@b.c", Parts: banned}, true, false, false, true},
		{"banned, null sender", Policy{NotifySender: &yes}, MessageFacts{Sender: "<>", Parts: banned}, false, false, false, true},
		{"clean", Policy{NotifySender: &yes}, MessageFacts{Sender: "a@b.c"}, false, false, false, false},
	} {
		v := Decide(c.p, c.m)
		if v.NotifySender != c.sender || v.SenderForged != c.forged || v.SenderLocal != c.senderLocal || v.NotifyPostmaster != c.postmr {
			t.Errorf("%s: notify sender %v forged %v local %v postmaster %v", c.name, v.NotifySender, v.SenderForged, v.SenderLocal, v.NotifyPostmaster)
		}
		if v.Postmaster != "postmaster" {
			t.Errorf("%s: postmaster %q", c.name, v.Postmaster)
		}
	}
	v := Decide(Policy{}, MessageFacts{Parts: inf})
	if !reflect.DeepEqual(v.Signatures, []string{"Worm.Mydoom", "Eicar-Signature"}) || !reflect.DeepEqual(v.SubjectTags, []string{"{Virus?}"}) {
		t.Errorf("signatures %q tags %q", v.Signatures, v.SubjectTags)
	}
}

func TestDecideSpam(t *testing.T) {
	off := ""
	for _, c := range []struct {
		name    string
		p       Policy
		m       MessageFacts
		spam    bool
		junk    bool
		message Action
		tags    []string
	}{
		{"ham", Policy{}, MessageFacts{SpamScore: 3}, false, false, Deliver, nil},
		{"engine says spam", Policy{}, MessageFacts{SpamScore: 6, Spam: true}, true, true, Deliver, []string{"{Spam?}"}},
		{"high score", Policy{}, MessageFacts{SpamScore: 15, Spam: true}, true, false, Quarantine, nil},
		{"high disabled", Policy{Spam: SpamPolicy{HighThreshold: -1}}, MessageFacts{SpamScore: 50, Spam: true}, true, true, Deliver, []string{"{Spam?}"}},
		{"own threshold below", Policy{Spam: SpamPolicy{Threshold: 8}}, MessageFacts{SpamScore: 6, Spam: true}, false, false, Deliver, nil},
		{"own threshold above", Policy{Spam: SpamPolicy{Threshold: 4}}, MessageFacts{SpamScore: 4}, true, true, Deliver, []string{"{Spam?}"}},
		{"tag only", Policy{Spam: SpamPolicy{Action: Tag}}, MessageFacts{Spam: true}, true, false, Deliver, []string{"{Spam?}"}},
		{"headers only", Policy{Spam: SpamPolicy{Action: Deliver}}, MessageFacts{Spam: true}, true, false, Deliver, nil},
		{"tag off", Policy{SubjectTags: SubjectTags{Spam: &off}}, MessageFacts{Spam: true}, true, true, Deliver, nil},
		{"spam and virus", Policy{}, MessageFacts{Spam: true, Parts: []PartFacts{{Path: "2", Infected: []string{"X"}}}}, true, true, Deliver, []string{"{Virus?}", "{Spam?}"}},
	} {
		v := Decide(c.p, c.m)
		if v.Spam != c.spam || v.Junk != c.junk || v.Message != c.message || !reflect.DeepEqual(v.SubjectTags, c.tags) {
			t.Errorf("%s: spam %v junk %v message %s tags %q", c.name, v.Spam, v.Junk, v.Message, v.SubjectTags)
		}
		if c.message == Deliver && len(c.m.Parts) == 0 && v.Quarantine {
			t.Errorf("%s: spam delivered but quarantined", c.name)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if err := (Policy{}).Validate(); err != nil {
		t.Fatalf("zero: %v", err)
	}
	bad := Policy{
		FilenameRules: []FilenameRule{{Action: Deny, Pattern: "("}, {Pattern: "x"}, {Action: Junk, Pattern: "x"}},
		TypeRules:     []TypeRule{{Action: Deny, Type: "executables"}},
		Infected:      Junk,
		LocalInfected: Rename,
		Spam:          SpamPolicy{Action: Rename},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"filename_rules[0]: pattern", "filename_rules[1]: missing action", "filename_rules[2]: action \"junk\"",
		"type_rules[0]: type \"executables\"", "infected: action", "local_infected", "spam.action"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestActionText(t *testing.T) {
	var a Action
	if err := a.UnmarshalText([]byte(" Quarantine ")); err != nil || a != Quarantine {
		t.Errorf("%q %v", a, err)
	}
	if err := a.UnmarshalText([]byte("delete")); err == nil {
		t.Error("delete accepted")
	}
	if Worse(Deny, Quarantine) != Quarantine || Worse(Reject, Drop) != Reject || Worse(Allow, Rename) != Rename || Worse(Junk, Deliver) != Junk {
		t.Error("Worse")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{
		"20MB": 20 << 20, "20 MiB": 20 << 20, "20M": 20 << 20, "512k": 512 << 10, "1.5GB": 3 << 29,
		"1000": 1000, "unlimited": Unlimited, "-1": Unlimited, "0": 0, "7b": 7, "2KB": 2048, "1GiB": 1 << 30,
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "20XB", "1e400", "abc", "20 MB MB", "99999999999999999999GB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want error", in, got)
		}
	}
}

// Every field of Policy is set in Defaults (so that its zero value can mean
// "the default"), except those whose zero value is the documented default.
func TestDefaultsCoverEveryField(t *testing.T) {
	zeroIsDefault := map[string]bool{"Threshold": true}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := 0; i < v.NumField(); i++ {
			f, sf := v.Field(i), v.Type().Field(i)
			tag := sf.Tag.Get("toml")
			if tag == "" || strings.ToLower(tag) != tag || strings.Contains(tag, "-") {
				t.Errorf("%s%s: toml tag %q is not snake_case", prefix, sf.Name, tag)
			}
			if f.Kind() == reflect.Struct {
				walk(f, prefix+sf.Name+".")
				continue
			}
			if f.IsZero() && !zeroIsDefault[sf.Name] {
				t.Errorf("%s%s has no default", prefix, sf.Name)
			}
		}
	}
	walk(reflect.ValueOf(Defaults()), "")
}

func TestDecideDeterministic(t *testing.T) {
	m := MessageFacts{Sender: "a@b.c", Parts: []PartFacts{part("1", "a.exe", ""), part("2", "b.scr", ""), {Path: "3", Infected: []string{"X"}}}}
	a, b := Decide(Policy{}, m), Decide(Defaults(), m)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("zero policy and Defaults differ:\n%+v\n%+v", a, b)
	}
}

func TestTypeRulesDefaultsExpansion(t *testing.T) {
	p := Policy{TypeRules: []TypeRule{{Action: Allow, Type: "application/x-elf"}, {Action: UseDefaults}}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	v := Decide(p, MessageFacts{Parts: []PartFacts{part("2", "a", "application/x-elf"), part("3", "b", "application/x-mach-binary")}})
	if len(v.Parts) != 1 || v.Parts[0].Part != "3" || v.Parts[0].Rule != "type executable" {
		t.Errorf("%+v", v.Parts)
	}
}
