package html

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// cssDecode resolves CSS escapes (CSS Syntax 3, section 4.3.7), drops NULs
// and lower-cases, so that "u\72l(" and "\65xpression(" are seen for what
// they are. It does not remove comments; see cssRisk.
func cssDecode(s string) string {
	if !strings.ContainsAny(s, "\\\x00") {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0 {
			b.WriteString("\uFFFD")
			i++
			continue
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		if i >= len(s) {
			break
		}
		j := i
		for j < len(s) && j-i < 6 && isHex(s[j]) {
			j++
		}
		if j > i {
			v, _ := strconv.ParseUint(s[i:j], 16, 32)
			r := rune(v)
			if r == 0 || r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
			i = j
			if i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\f') {
				i++
			} else if strings.HasPrefix(s[i:], "\r\n") {
				i += 2
			} else if i < len(s) && s[i] == '\r' {
				i++
			}
			continue
		}
		if s[i] == '\n' || s[i] == '\f' || s[i] == '\r' {
			i++ // escaped newline: a line continuation in strings
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+size])
		i += size
	}
	return strings.ToLower(b.String())
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// stripComments removes /* ... */ comments.
func stripComments(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			return b.String()
		}
		s = s[i+2+j+2:]
	}
}

// cssRisk looks at CSS (a style attribute or a <style> element's text).
// bad: it can run script or load a bad URL (expression(), behavior,
// -moz-binding, javascript:, a data: URL, ...). remote: it references a
// remote URL. The check is deliberately coarse and done on two readings,
// with and without comments removed, so that neither a comment splitting
// a keyword nor a fake comment hides anything.
func cssRisk(css string) (bad, remote bool) {
	if css == "" {
		return false, false
	}
	// Fast path: no escape, comment, string, function call or scheme
	// can hide in CSS without one of these.
	if !strings.ContainsAny(css, "\\(\"'/:\x00") {
		return false, false
	}
	if !strings.ContainsAny(css, "\\(\"'/\x00") {
		low := strings.ToLower(css)
		if !strings.Contains(low, "behavior") && !strings.Contains(low, "binding") && !strings.Contains(low, "script:") && !strings.Contains(low, "data:") {
			return false, false
		}
	}
	dec := cssDecode(css)
	for _, v := range []string{dec, cssDecode(stripComments(css)), stripComments(dec)} {
		b, r := cssScan(v)
		bad = bad || b
		remote = remote || r
	}
	return bad, remote
}

var cssBadWords = []string{"expression(", "behavior", "-moz-binding", "javascript:", "vbscript:", "livescript:", "data:"}

func cssScan(s string) (bad, remote bool) {
	compact := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\f':
			return -1
		}
		return r
	}, s)
	for _, w := range cssBadWords {
		if strings.Contains(compact, w) {
			bad = true
		}
	}
	check := func(u string) {
		if badScheme(u) {
			bad = true
		}
		if isRemote(u) {
			remote = true
		}
	}
	// url( ... ) arguments, quoted or not.
	for rest := s; ; {
		i := strings.Index(rest, "url(")
		if i < 0 {
			break
		}
		rest = rest[i+4:]
		arg := rest
		if j := strings.IndexByte(arg, ')'); j >= 0 {
			arg = arg[:j]
		}
		check(strings.Trim(strings.TrimSpace(arg), `"'`))
	}
	// Every quoted string: @import "…", image-set("…"), src: "…".
	for rest := s; ; {
		i := strings.IndexAny(rest, `"'`)
		if i < 0 {
			break
		}
		q := rest[i]
		rest = rest[i+1:]
		j := strings.IndexByte(rest, q)
		if j < 0 {
			check(rest)
			break
		}
		check(rest[:j])
		rest = rest[j+1:]
	}
	return bad, remote
}
