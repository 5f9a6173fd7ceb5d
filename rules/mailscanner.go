package rules

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// ParseMailScannerRules reads a MailScanner filename rules file
// (filename.rules.conf, archives.filename.rules.conf) so that a site can
// bring its rules along. Each line is: action, regular expression, log
// text, report text, separated by one or more TAB characters; "#" starts a
// comment line; "-" is an empty text. Actions: allow, deny, deny+delete
// and email addresses (read as deny: scandeliver always replaces the part
// and quarantines the original; the addresses are reported in warnings),
// rename and "rename to TEXT" (read as rename; the per-rule replacement
// text has no equivalent and is reported in warnings).
//
// Patterns are Perl regular expressions; the RE2 subset that Go reads
// covers the shipped files. A pattern RE2 rejects (backreferences,
// look-around) is an error naming the line. Matching, as in MailScanner,
// ignores case.
func ParseMailScannerRules(r io.Reader) (rules []FilenameRule, warnings []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var errs []error
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		var f []string
		for _, x := range strings.Split(line, "\t") {
			if x = strings.TrimSpace(x); x != "" {
				f = append(f, x)
			}
		}
		if len(f) < 2 {
			errs = append(errs, fmt.Errorf("line %d: want action and pattern separated by a TAB", n))
			continue
		}
		text := func(i int) string {
			if i < len(f) && f[i] != "-" {
				return f[i]
			}
			return ""
		}
		rule := FilenameRule{Pattern: f[1], Log: text(2), Report: text(3)}
		act := strings.ToLower(f[0])
		switch {
		case act == "allow":
			rule.Action = Allow
		case act == "deny", act == "deny+delete":
			rule.Action = Deny
		case act == "rename":
			rule.Action = Rename
		case strings.HasPrefix(act, "rename to "):
			rule.Action = Rename
			warnings = append(warnings, fmt.Sprintf("line %d: %q: the rename text is not kept; rename_to applies", n, f[0]))
		case strings.Contains(act, "@"):
			rule.Action = Deny
			warnings = append(warnings, fmt.Sprintf("line %d: copies to %q are not sent; read as deny", n, f[0]))
		default:
			errs = append(errs, fmt.Errorf("line %d: unknown action %q", n, f[0]))
			continue
		}
		if _, err := regexp.Compile("(?i)" + rule.Pattern); err != nil {
			errs = append(errs, fmt.Errorf("line %d: pattern %q: %w", n, rule.Pattern, err))
			continue
		}
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return rules, warnings, errors.Join(errs...)
}
