package rules

import (
	"strings"
	"unicode/utf8"
)

// Match selects a ruleset by envelope. Each list holds globs (see Glob),
// compared case-insensitively; an empty list does not constrain. Every
// non-empty list must have a matching glob. A Match with every list empty
// selects nothing (a ruleset meant for all mail belongs in [policy]).
type Match struct {
	Sender    []string `toml:"sender" json:"sender,omitempty"`       // envelope sender address ("" or "<>" for the null sender)
	Recipient []string `toml:"recipient" json:"recipient,omitempty"` // envelope recipient address
	Domain    []string `toml:"domain" json:"domain,omitempty"`       // the recipient's domain
}

// Ruleset is one [[ruleset]]: a match and the policy keys it overrides.
type Ruleset struct {
	Name   string `toml:"name" json:"name,omitempty"`
	Match  Match  `toml:"match" json:"match"`
	Policy Policy `toml:"policy" json:"policy"`
}

// Matches reports whether the ruleset applies to this envelope.
func (r Ruleset) Matches(sender, recipient string) bool {
	m := r.Match
	if len(m.Sender) == 0 && len(m.Recipient) == 0 && len(m.Domain) == 0 {
		return false
	}
	sender = normAddr(sender)
	recipient = normAddr(recipient)
	return anyGlob(m.Sender, sender) && anyGlob(m.Recipient, recipient) && anyGlob(m.Domain, Domain(recipient))
}

func anyGlob(globs []string, s string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if Glob(strings.ToLower(g), s) {
			return true
		}
	}
	return false
}

// Select returns the policy for one envelope: base with the shipped
// defaults filled in, then overridden key by key by the first ruleset
// that matches (later matching rulesets are ignored).
func Select(base Policy, sets []Ruleset, sender, recipient string) Policy {
	p, _ := SelectNamed(base, sets, sender, recipient)
	return p
}

// SelectNamed is Select that also names the ruleset it applied: its Name,
// else "ruleset N" (1-based); "" when none matched.
func SelectNamed(base Policy, sets []Ruleset, sender, recipient string) (Policy, string) {
	p := base.WithDefaults()
	for i, s := range sets {
		if s.Matches(sender, recipient) {
			name := s.Name
			if name == "" {
				name = "ruleset " + itoa(i+1)
			}
			return Override(p, s.Policy), name
		}
	}
	return p, ""
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

// normAddr lowercases an envelope address and removes the angle brackets
// some MTAs pass ("<>" becomes "").
func normAddr(a string) string {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") {
		a = a[1 : len(a)-1]
	}
	return strings.ToLower(a)
}

// Domain returns the lowercased domain of an address (after the last
// "@"), or "" when it has none.
func Domain(addr string) string {
	addr = normAddr(addr)
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.TrimSuffix(addr[i+1:], ".")
	}
	return ""
}

// IsLocal reports whether addr's domain is one of the policy's
// LocalDomains (globs).
func (p Policy) IsLocal(addr string) bool {
	d := Domain(addr)
	if d == "" {
		return false
	}
	for _, g := range p.LocalDomains {
		if Glob(strings.ToLower(g), d) {
			return true
		}
	}
	return false
}

// Glob reports whether s matches pattern, where "*" matches any run of
// characters (including none, "@" and "."), "?" exactly one character and
// every other character itself. It does not fold case: callers lowercase
// both sides. Matching is linear in len(pattern)*len(s) at worst.
func Glob(pattern, s string) bool {
	// Iterative wildcard matching with single backtrack point (the last
	// star), which is enough for * and ?.
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(s) {
		if p < len(pattern) {
			pc, pw := utf8.DecodeRuneInString(pattern[p:])
			_, sw := utf8.DecodeRuneInString(s[n:])
			switch {
			case pc == '*':
				starP, starN = p, n
				p += pw
				continue
			case pc == '?' || pattern[p:p+pw] == s[n:n+sw]:
				p += pw
				n += sw
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, sw := utf8.DecodeRuneInString(s[starN:])
		starN += sw
		n = starN
		p = starP + 1
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
