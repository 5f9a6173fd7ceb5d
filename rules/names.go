package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeName is the form of a name that filename rules see: invalid
// UTF-8 replaced by U+FFFD, then Unicode NFKC, so that compatibility forms
// (fullwidth letters, ligatures, mathematical alphanumerics, the Kelvin
// sign, no-break and other spaces) read as their plain equivalents. It is
// idempotent. Control and formatting characters are kept: rules must see
// them to refuse them.
//
// QUIRK: cross-script look-alikes ("ехе" in Cyrillic) are not folded: NFKC
// leaves them, and Windows does not run a file whose extension merely looks
// like .exe, so they are harmless as extensions.
func NormalizeName(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "\uFFFD")
	}
	return norm.NFKC.String(name)
}

// compiledRule is a FilenameRule with its pattern compiled.
type compiledRule struct {
	FilenameRule
	index int // position in the configured list (1-based), 0 for expanded defaults
	re    *regexp.Regexp
	err   error
}

// label names the rule in logs, reports and notices: its place in the
// configured list ("filename_rules #3"), or "shipped filename rule" for
// one of the defaults (whose Log says which). Never the pattern: the
// shipped ones run to 600 characters, which logs and `quarantine show`
// printed whole, every backslash escaped twice.
func (r *compiledRule) label(list string) string {
	if r.index == 0 {
		return "shipped " + list + " rule"
	}
	return fmt.Sprintf("%s_rules #%d", list, r.index)
}

// logText is the rule's Log, else "file name rule" (the label says
// which).
func (r *compiledRule) logText() string {
	if r.Log != "" {
		return r.Log
	}
	return "file name rule"
}

// compileRules expands {action = "defaults"} entries and compiles every
// pattern. A pattern that does not compile is kept with its error so that
// Decide can fail closed on it.
func compileRules(list, defaults []FilenameRule) []compiledRule {
	var out []compiledRule
	for i, r := range list {
		if r.Action == UseDefaults {
			for _, d := range defaults {
				if d.Action == UseDefaults {
					continue
				}
				out = append(out, compileRule(d, 0))
			}
			continue
		}
		// Policy.WithDefaults writes the shipped list out in full: its
		// rules are still the shipped ones (label).
		if slices.Contains(defaults, r) {
			out = append(out, compileRule(r, 0))
			continue
		}
		out = append(out, compileRule(r, i+1))
	}
	return out
}

func compileRule(r FilenameRule, index int) compiledRule {
	c := compiledRule{FilenameRule: r, index: index}
	c.re, c.err = regexp.Compile("(?i)" + r.Pattern)
	if c.err != nil {
		c.err = fmt.Errorf("filename rule %q: %w", r.Pattern, c.err)
	}
	return c
}

// matchName returns the first rule that matches the normalized name, or
// nil. A rule whose pattern did not compile matches every name.
func matchName(rules []compiledRule, name string) *compiledRule {
	n := NormalizeName(name)
	for i := range rules {
		r := &rules[i]
		if r.err != nil || r.re.MatchString(n) {
			return r
		}
	}
	return nil
}

// matchNames matches every name a part is given (its name, then the
// names other readings give it) and returns the most severe rule that
// matches any of them (a rule that does not compile counts as the most
// severe: it fails closed): an allow rule for one reading's name must not
// hide a deny for another's.
func matchNames(rules []compiledRule, name string, others []string) *compiledRule {
	var best *compiledRule
	for i, n := range append([]string{name}, others...) {
		if n == "" || (i > 0 && n == name) {
			continue
		}
		r := matchName(rules, n)
		switch {
		case r == nil:
		case best == nil, r.err != nil && best.err == nil:
			best = r
		case best.err == nil && r.Action.Severity() > best.Action.Severity():
			best = r
		}
	}
	return best
}

// MatchFilename reports the first of rules (with "defaults" entries
// expanded to the shipped FilenameRules) that matches name, and its index
// in the expanded list; -1 when none matches. It is what Decide does for
// one name, exposed for check-config and tests.
func MatchFilename(rules []FilenameRule, name string) (FilenameRule, int, error) {
	c := compileRules(rules, defaultFilenameRules)
	r := matchName(c, name)
	if r == nil {
		return FilenameRule{}, -1, nil
	}
	return r.FilenameRule, indexOf(c, r), r.err
}

func indexOf(c []compiledRule, r *compiledRule) int {
	for i := range c {
		if &c[i] == r {
			return i
		}
	}
	return -1
}

// SafeName returns a harmless form of a name taken from a message, for use
// as a new file name in a rebuilt part: normalized, path components
// dropped (only the last is kept), control, formatting and bidirectional
// characters removed, runs of white space collapsed, leading and trailing
// dots and spaces removed, at most 100 characters (keeping the end, where
// the extension is). It is never empty ("attachment" when nothing is left).
// It does not make a name safe for a shell or a path: nothing from a
// message goes there.
func SafeName(name string) string {
	// Removing characters can bring a base and a combining mark together,
	// and normalizing can lengthen a name: repeat to the fixed point
	// (reached in one or two rounds).
	n := safeName(name)
	for i := 0; i < 4; i++ {
		m := safeName(n)
		if m == n {
			break
		}
		n = m
	}
	return n
}

func safeName(name string) string {
	n := NormalizeName(name)
	if i := strings.LastIndexAny(n, `/\:`); i >= 0 {
		n = n[i+1:]
	}
	var b strings.Builder
	space := false
	for _, r := range n {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError,
			unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
			continue
		case unicode.IsSpace(r) || unicode.Is(unicode.Z, r):
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		case !unicode.IsGraphic(r):
			continue
		case strings.ContainsRune(`"*<>?|`, r):
			r = '_'
		}
		space = false
		b.WriteRune(r)
	}
	n = strings.Trim(b.String(), ". ")
	if rs := []rune(n); len(rs) > 100 {
		n = strings.TrimLeft(string(rs[len(rs)-100:]), ". ")
	}
	if n == "" {
		return "attachment"
	}
	return n
}

// DisarmedName applies a rename template to a name: __FILENAME__ in tmpl
// is replaced by SafeName(name) with every dot and brace turned into an
// underscore, so that no extension or class id of the original survives; the default template
// "__FILENAME__.disarmed" turns "invoice.pdf.exe" into
// "invoice_pdf_exe.disarmed".
func DisarmedName(tmpl, name string) string {
	if tmpl == "" {
		tmpl = defaultRenameTo
	}
	safe := strings.NewReplacer(".", "_", "{", "_", "}", "_").Replace(SafeName(name))
	out := SafeName(strings.ReplaceAll(tmpl, "__FILENAME__", safe))
	return out
}
