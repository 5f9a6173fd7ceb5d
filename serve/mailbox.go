package serve

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrBadMailbox is a recipient address that cannot name a mailbox: a
// local part or domain that would leave the template's directory ("..",
// "/"), or that holds characters no mailbox name should.
var ErrBadMailbox = errors.New("address cannot name a mailbox")

// CheckTemplate checks a [serve] mailbox template: an LMTP destination,
// or an absolute path whose variables are %u, %n, %d and %%.
func CheckTemplate(t string) error {
	if t == "" || strings.HasPrefix(t, "lmtp:") {
		return nil
	}
	if !strings.HasPrefix(t, "/") {
		return fmt.Errorf("mailbox %q: want an absolute path or an lmtp: destination", t)
	}
	for i := 0; i < len(t); i++ {
		if t[i] != '%' {
			continue
		}
		if i+1 >= len(t) || !strings.ContainsRune("und%", rune(t[i+1])) {
			return fmt.Errorf("mailbox %q: unknown variable at byte %d (want %%u, %%n, %%d or %%%%)", t, i)
		}
		i++
	}
	return nil
}

// Expand fills the mailbox template t for address addr. Each part must
// be usable as one path element: not empty, not "." or "..", no "/", no
// control characters, not starting with "." (a Maildir++ folder or a
// hidden file); otherwise the error wraps ErrBadMailbox. The domain and
// the local part are lower-cased (mail systems treat them so; two
// spellings must not make two mailboxes). The result is checked once
// more: it stays below the template's fixed directory.
func Expand(t, addr string) (string, error) {
	local, domain, ok := addr, "", false
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain, ok = addr[:i], addr[i+1:], true
	}
	local, domain = strings.ToLower(local), strings.ToLower(domain)
	uses := func(v byte) bool { return strings.Contains(strings.ReplaceAll(t, "%%", ""), "%"+string(v)) }
	if uses('d') && !ok {
		return "", fmt.Errorf("%q has no domain: %w", addr, ErrBadMailbox)
	}
	whole := local
	if ok {
		whole = local + "@" + domain
	}
	for _, part := range []struct {
		v    byte
		text string
	}{{'n', local}, {'d', domain}, {'u', whole}} {
		if uses(part.v) {
			if err := pathElement(part.text); err != nil {
				return "", fmt.Errorf("%q: %w", addr, err)
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] != '%' || i+1 >= len(t) {
			b.WriteByte(t[i])
			continue
		}
		i++
		switch t[i] {
		case 'n':
			b.WriteString(local)
		case 'd':
			b.WriteString(domain)
		case 'u':
			b.WriteString(whole)
		default:
			b.WriteByte(t[i])
		}
	}
	out := b.String()
	if strings.HasPrefix(t, "lmtp:") {
		return out, nil
	}
	// Belt and braces: the expansion stays below the template's longest
	// fixed directory.
	fixed := t
	if i := strings.IndexByte(t, '%'); i >= 0 {
		fixed = t[:i]
	}
	base := filepath.Dir(fixed + "x")
	clean := filepath.Clean(out)
	if clean != base && !strings.HasPrefix(clean, strings.TrimSuffix(base, "/")+"/") {
		return "", fmt.Errorf("%q leaves %s: %w", addr, base, ErrBadMailbox)
	}
	return out, nil
}

func pathElement(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty part: %w", ErrBadMailbox)
	case s[0] == '.':
		return fmt.Errorf("part %q starts with a dot: %w", s, ErrBadMailbox)
	case len(s) > 255:
		return fmt.Errorf("part too long: %w", ErrBadMailbox)
	}
	for _, r := range s {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f || r == '%' {
			return fmt.Errorf("part %q holds %q: %w", s, r, ErrBadMailbox)
		}
	}
	return nil
}
