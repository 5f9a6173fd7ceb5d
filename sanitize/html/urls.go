package html

import (
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
)

// cleanURL does what the WHATWG URL parser does before it looks for a
// scheme: strip leading and trailing C0 controls and spaces, and remove
// every tab and newline (so "java\tscript:" is "javascript:").
func cleanURL(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
	}
	return s
}

// scheme returns the lower-cased scheme of a URL, or "" if it has none.
func scheme(raw string) string {
	s := cleanURL(raw)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.ToLower(s[:i])
		default:
			return ""
		}
	}
	return ""
}

// badScheme reports URLs that run code or carry inline documents.
func badScheme(raw string) bool {
	switch scheme(raw) {
	case "javascript", "vbscript", "livescript", "data", "mocha", "jscript":
		return true
	}
	return false
}

// scriptScheme reports URLs that run script.
func scriptScheme(raw string) bool {
	switch scheme(raw) {
	case "javascript", "vbscript", "livescript", "mocha", "jscript":
		return true
	}
	return false
}

// scriptSchemeIn reports a script URL at the start of v or of any of its
// ;-separated items (the form of SVG animation values).
func scriptSchemeIn(v string) bool {
	for {
		item, rest, more := strings.Cut(v, ";")
		if scriptScheme(item) {
			return true
		}
		if !more {
			return false
		}
		v = rest
	}
}

// isRemote reports URLs a renderer would fetch from the network: http(s),
// ftp, or scheme-relative (//host/...). Relative URLs and cid: stay local
// in a mail (there is no base; <base> is disarmed by default).
func isRemote(raw string) bool {
	switch scheme(raw) {
	case "http", "https", "ftp", "ws", "wss":
		return true
	case "":
		s := cleanURL(raw)
		// QUIRK: WHATWG URL treats \ as / for special schemes.
		return strings.HasPrefix(s, "//") || strings.HasPrefix(s, `\\`) || strings.HasPrefix(s, `/\`) || strings.HasPrefix(s, `\/`)
	}
	return false
}

// srcsetURLs splits a srcset into its URLs (HTML "parse a srcset
// attribute", simplified: a URL runs to whitespace; a trailing comma ends
// it; descriptors run to the next comma).
func srcsetURLs(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t\n\r\f,")
		if s == "" {
			return out
		}
		i := strings.IndexAny(s, " \t\n\r\f")
		if i < 0 {
			i = len(s)
		}
		u := s[:i]
		s = s[i:]
		if strings.HasSuffix(u, ",") {
			out = append(out, strings.TrimRight(u, ","))
			continue
		}
		out = append(out, u)
		j := strings.IndexByte(s, ',')
		if j < 0 {
			return out
		}
		s = s[j+1:]
	}
}

// refreshURL extracts the URL of a meta refresh content ("5; url=...").
func refreshURL(content string) string {
	s := strings.TrimLeft(content, " \t\n\r\f0123456789.")
	s = strings.TrimLeft(s, " \t\n\r\f;,")
	if len(s) >= 3 && strings.EqualFold(s[:3], "url") {
		s = strings.TrimLeft(s[3:], " \t\n\r\f")
		if strings.HasPrefix(s, "=") {
			s = strings.TrimLeft(s[1:], " \t\n\r\f")
		} else {
			return s
		}
	}
	s = strings.Trim(s, `"'`)
	return s
}

// markerHost names the host of a URL for a marker, or "".
func markerHost(raw string) string {
	u := parseLink(raw)
	if u == nil || u.host == "" {
		return ""
	}
	return u.host
}

// trackerPaths are path fragments typical of open-tracking pixels.
var trackerPaths = []string{
	"/track/open", "/wf/open", "/open.aspx", "/open.php", "/open.gif", "/open?",
	"/pixel", "/beacon", "/o.gif", "/t.gif", "/trk/", "/tracking/", "/tracker",
	"mailtrack", "/e/o/", "/ss/o/", "/imp?", "/impression", "/openrate", "/emimp/",
}

// isWebBug reports an image that exists to signal that the mail was read.
func isWebBug(n *xhtml.Node, src string) bool {
	if tiny(attr(n, "width")) || tiny(attr(n, "height")) {
		return true
	}
	if st := cssDecode(attr(n, "style")); st != "" {
		for _, decl := range strings.Split(st, ";") {
			k, v, ok := strings.Cut(decl, ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "!important"))
			switch k {
			case "width", "height", "max-width", "max-height":
				if tiny(strings.TrimSuffix(v, "px")) {
					return true
				}
			case "display":
				if v == "none" {
					return true
				}
			case "visibility":
				if v == "hidden" {
					return true
				}
			case "opacity":
				if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
					return true
				}
			}
		}
	}
	if strings.EqualFold(strings.TrimSpace(attr(n, "hidden")), "") && hasAttr(n, "hidden") {
		return true
	}
	low := strings.ToLower(cleanURL(src))
	for _, p := range trackerPaths {
		if strings.Contains(low, p) {
			return true
		}
	}
	return false
}

func hasAttr(n *xhtml.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return true
		}
	}
	return false
}

// tiny reports a dimension of 0 or 1 (as a browser reads it: leading
// digits, optional fraction).
func tiny(v string) bool {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && (v[end] >= '0' && v[end] <= '9' || v[end] == '.') {
		end++
	}
	if end == 0 {
		return false
	}
	f, err := strconv.ParseFloat(v[:end], 64)
	return err == nil && f <= 1
}
