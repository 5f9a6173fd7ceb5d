package rules

import (
	"reflect"
	"testing"
)

func TestSelect(t *testing.T) {
	no := false
	empty := ""
	sets := []Ruleset{
		{Name: "big", Match: Match{Recipient: []string{"bulk@example.com", "archive-*@example.com"}},
			Policy: Policy{MaxMessageSize: 200_000_000, Spam: SpamPolicy{HighThreshold: -1}}},
		{Name: "none", Match: Match{}, Policy: Policy{Infected: Reject}},
		{Name: "devs", Match: Match{Domain: []string{"dev.example.com", "*.dev.example.com"}},
			Policy: Policy{TypeRules: []TypeRule{}, NotifyPostmaster: &no, SubjectTags: SubjectTags{Spam: &empty}}},
		{Name: "bounces", Match: Match{Sender: []string{""}}, Policy: Policy{Spam: SpamPolicy{Action: Deliver}}},
		{Name: "vendor", Match: Match{Sender: []string{"*@vendor.example"}, Recipient: []string{"it@*"}}, Policy: Policy{Encrypted: Allow}},
		{Match: Match{Recipient: []string{"bulk@example.com"}}, Policy: Policy{MaxMessageSize: 1}}, // shadowed by "big"
	}
	d := Defaults()
	for _, c := range []struct {
		sender, rcpt, want string
		check              func(p Policy) bool
	}{
		{"a@x.y", "bulk@EXAMPLE.com", "big", func(p Policy) bool {
			return p.MaxMessageSize == 200_000_000 && p.Spam.HighThreshold == -1 && p.Spam.Action == Junk &&
				p.Spam.HighAction == Quarantine && reflect.DeepEqual(p.FilenameRules, d.FilenameRules)
		}},
		{"a@x.y", "archive-2024@example.com", "big", nil},
		{"a@x.y", "<archive-@example.com>", "big", nil},
		{"a@x.y", "someone@example.com", "", func(p Policy) bool { return reflect.DeepEqual(p, d) }},
		{"a@x.y", "joe@dev.example.com", "devs", func(p Policy) bool {
			return len(p.TypeRules) == 0 && p.TypeRules != nil && !*p.NotifyPostmaster && *p.SubjectTags.Spam == "" &&
				*p.SubjectTags.Virus == "{Virus?}" && p.MaxMessageSize == d.MaxMessageSize
		}},
		{"a@x.y", "joe@box.dev.example.com", "devs", nil},
		{"a@x.y", "joe@notdev.example.com", "", nil},
		{"", "joe@example.com", "bounces", func(p Policy) bool { return p.Spam.Action == Deliver }},
		{"<>", "joe@example.com", "bounces", nil},
		{"x@vendor.example", "it@example.com", "vendor", func(p Policy) bool { return p.Encrypted == Allow }},
		{"x@vendor.example", "joe@example.com", "", nil},
		{"x@evil.example", "it@example.com", "", nil},
	} {
		p, name := SelectNamed(Policy{}, sets, c.sender, c.rcpt)
		if name != c.want {
			t.Errorf("%s -> %s: ruleset %q, want %q", c.sender, c.rcpt, name, c.want)
		}
		if c.check != nil && !c.check(p) {
			t.Errorf("%s -> %s: wrong policy %+v", c.sender, c.rcpt, p)
		}
		if !reflect.DeepEqual(p, Select(Policy{}, sets, c.sender, c.rcpt)) {
			t.Errorf("Select and SelectNamed differ")
		}
		// The selected policy is whole: WithDefaults adds nothing to it
		// (pipeline's applyPolicy uses it as it is).
		if !reflect.DeepEqual(p, p.WithDefaults()) {
			t.Errorf("%s -> %s: WithDefaults changes the selected policy", c.sender, c.rcpt)
		}
	}
	// The base policy's settings survive a ruleset that does not set them.
	p := Select(Policy{MaxAttachmentSize: 5}, sets, "a@x.y", "bulk@example.com")
	if p.MaxAttachmentSize != 5 || p.MaxMessageSize != 200_000_000 {
		t.Errorf("base lost: %d %d", p.MaxAttachmentSize, p.MaxMessageSize)
	}
	if _, name := SelectNamed(Policy{}, []Ruleset{{Match: Match{Recipient: []string{"*"}}}}, "", "x"); name != "ruleset 1" {
		t.Errorf("unnamed ruleset called %q", name)
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "anything@x", true}, {"", "", true}, {"", "a", false},
		{"*@example.com", "a@example.com", true}, {"*@example.com", "a@example.com.evil", false},
		{"*.example.com", "example.com", false}, {"*.example.com", "a.b.example.com", true},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"a?c", "aéc", true},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"**", "x", true},
		{"*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	} {
		if got := Glob(c.p, c.s); got != c.want {
			t.Errorf("Glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("*@example.com", "a@example.com")
	f.Add("a?*b", "ab")
	f.Fuzz(func(t *testing.T, p, s string) {
		if !Glob("*", s) || (Glob(p, s) && !Glob("*"+p, s)) {
			t.Fatalf("Glob(%q, %q) inconsistent with a leading star", p, s)
		}
		if p != "" && !containsMeta(p) && Glob(p, s) != (p == s) {
			t.Fatalf("literal %q vs %q", p, s)
		}
	})
}

func containsMeta(p string) bool {
	for _, r := range p {
		if r == '*' || r == '?' {
			return true
		}
	}
	return false
}
