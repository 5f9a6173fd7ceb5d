package html

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// link is a URL read the way a browser reads its authority.
type link struct {
	scheme   string
	userinfo bool   // user@ before the host
	host     string // lower-case, ASCII (punycode), IPv4 in dotted form
	ip       bool   // the host is an IP address
	odd      bool   // an IPv4 host written in a non-canonical form (hex, octal, integer, short)
}

// parseLink reads the scheme and authority of an http(s) or ftp URL as
// the WHATWG URL standard does (so "http://a.example\@b.example/" goes to
// a.example, not to b.example as net/url would have it). It returns nil
// for other schemes and for relative URLs.
func parseLink(raw string) *link {
	s := cleanURL(raw)
	sch := scheme(s)
	switch sch {
	case "http", "https", "ftp":
		s = s[len(sch)+1:]
	case "":
		if !isRemote(s) {
			return nil
		}
	default:
		return nil
	}
	// QUIRK: for special schemes any run of / and \ starts the authority.
	s = strings.TrimLeft(s, `/\`)
	if i := strings.IndexAny(s, `/\?#`); i >= 0 {
		s = s[:i]
	}
	l := &link{scheme: sch}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		l.userinfo = i > 0
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i >= 0 {
			if a, err := netip.ParseAddr(s[1:i]); err == nil {
				l.host, l.ip = "["+a.String()+"]", true
				return l
			}
		}
		l.host = s
		return l
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	l.host, l.ip, l.odd = normHost(s)
	return l
}

// normHost lower-cases a host, maps it with UTS 46 (IDNA, as browsers
// do) to its ASCII form and reads IPv4 addresses in every form the URL
// standard accepts.
func normHost(h string) (host string, ip, odd bool) {
	h = strings.ToLower(strings.TrimSpace(h))
	if a, isIP, canonical := parseIPv4(h); isIP {
		return a, true, !canonical
	}
	if a, err := idna.Lookup.ToASCII(h); err == nil {
		h = a
	} else if a, err := idna.Punycode.ToASCII(h); err == nil {
		h = a
	}
	h = strings.TrimSuffix(h, ".")
	if a, isIP, canonical := parseIPv4(h); isIP {
		return a, true, !canonical
	}
	return h, false, false
}

// parseIPv4 implements the URL standard's IPv4 parser: one to four parts,
// each decimal, 0x-hex or 0-octal, the last filling the remaining bytes.
// It only answers isIP when the last part is numeric (the standard's
// "ends in a number"), and canonical when the host is plain a.b.c.d.
func parseIPv4(h string) (addr string, isIP, canonical bool) {
	h = strings.TrimSuffix(h, ".")
	parts := strings.Split(h, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return "", false, false
	}
	nums := make([]uint64, len(parts))
	canonical = len(parts) == 4
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			base, digits = 16, p[2:]
			canonical = false
			if digits == "" {
				digits = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
			canonical = false
		}
		v, err := strconv.ParseUint(digits, base, 64)
		if err != nil || p == "" {
			return "", false, false
		}
		nums[i] = v
	}
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return "", false, false
		}
		v |= n << (8 * (3 - i))
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return "", false, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String(), true, canonical
}

// site is the registrable domain (eTLD+1) of an ASCII host, or the host.
func site(h string) string {
	if s, err := publicsuffix.EffectiveTLDPlusOne(h); err == nil {
		return s
	}
	return h
}

// textHost returns the host a link's visible text names, if the text is
// a URL or a bare host name (with an ICANN public suffix), else "".
func textHost(text string) (host string, ok bool) {
	t := strings.TrimFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`<>()[]"'.,;:!?`, r)
	})
	if t == "" || len(t) > 2048 || strings.IndexFunc(t, unicode.IsSpace) >= 0 {
		return "", false
	}
	if strings.Contains(t, "://") || strings.HasPrefix(t, "//") {
		if l := parseLink(t); l != nil && l.host != "" {
			return l.host, true
		}
		return "", false
	}
	h := t
	if i := strings.IndexAny(h, `/\?#`); i >= 0 {
		h = h[:i]
	}
	if strings.ContainsAny(h, "@%") {
		return "", false // an address or something odd, not a host
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	if _, isIP, _ := parseIPv4(h); isIP && strings.Count(h, ".") == 3 {
		a, _, _ := parseIPv4(h)
		return a, true
	}
	if !strings.Contains(h, ".") {
		return "", false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" {
			return "", false
		}
		for _, r := range label {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || unicode.Is(unicode.Mn, r)) {
				return "", false
			}
		}
	}
	nh, _, _ := normHost(h)
	if suffix, icann := publicsuffix.PublicSuffix(nh); !icann || suffix == nh {
		return "", false
	}
	return nh, true
}

func normTrusted(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if n, _, _ := normHost(strings.TrimPrefix(strings.TrimSpace(h), "*.")); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func (d *disarmer) isTrusted(h string) bool {
	for _, t := range d.trusted {
		if h == t || strings.HasSuffix(h, "."+t) {
			return true
		}
	}
	return false
}

// homograph reports a host with a label that mixes scripts (other than
// the combinations CJK writing uses) or that is written wholly in
// Cyrillic letters that look like Latin ones under a non-Cyrillic TLD.
func homograph(asciiHost string) bool {
	u, err := idna.Lookup.ToUnicode(asciiHost)
	if err != nil {
		u, _ = idna.Punycode.ToUnicode(asciiHost)
	}
	labels := strings.Split(u, ".")
	tldCyrillic := false
	if len(labels) > 0 {
		for _, r := range labels[len(labels)-1] {
			if unicode.Is(unicode.Cyrillic, r) {
				tldCyrillic = true
			}
		}
	}
	for _, label := range labels {
		scripts := map[string]bool{}
		lookalikes, letters := 0, 0
		for _, r := range label {
			if !unicode.IsLetter(r) {
				continue
			}
			letters++
			scripts[scriptOf(r)] = true
			if strings.ContainsRune(cyrillicLookalikes, r) {
				lookalikes++
			}
		}
		if mixedScripts(scripts) {
			return true
		}
		if letters > 0 && lookalikes == letters && !tldCyrillic {
			return true
		}
	}
	return false
}

const cyrillicLookalikes = "асԁеһіјӏорԛѕԝхуүɡ"

var scriptTables = []struct {
	name string
	t    *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
	{"Armenian", unicode.Armenian}, {"Hebrew", unicode.Hebrew}, {"Arabic", unicode.Arabic},
	{"Han", unicode.Han}, {"Hiragana", unicode.Hiragana}, {"Katakana", unicode.Katakana},
	{"Hangul", unicode.Hangul}, {"Bopomofo", unicode.Bopomofo}, {"Thai", unicode.Thai},
	{"Georgian", unicode.Georgian}, {"Cherokee", unicode.Cherokee}, {"Devanagari", unicode.Devanagari},
}

func scriptOf(r rune) string {
	for _, s := range scriptTables {
		if unicode.Is(s.t, r) {
			return s.name
		}
	}
	if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
		return ""
	}
	return "other"
}

func mixedScripts(s map[string]bool) bool {
	delete(s, "")
	if len(s) <= 1 {
		return false
	}
	for _, allowed := range [][]string{
		{"Latin", "Han", "Hiragana", "Katakana"},
		{"Latin", "Han", "Hangul"},
		{"Latin", "Han", "Bopomofo"},
	} {
		n := 0
		for _, a := range allowed {
			if s[a] {
				n++
			}
		}
		if n == len(s) {
			return false
		}
	}
	return true
}

// visibleText concatenates the text under n (at most max bytes).
func visibleText(n *xhtml.Node, max int) string {
	var b strings.Builder
	for c := within(n, n); c != nil && b.Len() < max; c = within(c, n) {
		if c.Type == xhtml.TextNode {
			b.WriteString(c.Data)
		}
	}
	return clip(b.String(), max)
}

// within is next(c, true) restricted to root's subtree.
func within(c, root *xhtml.Node) *xhtml.Node {
	if c.FirstChild != nil {
		return c.FirstChild
	}
	for ; c != root; c = c.Parent {
		if c.NextSibling != nil {
			return c.NextSibling
		}
	}
	return nil
}

// phishing checks a link and puts a warning right after it (unless the
// same warning is there already).
func (d *disarmer) phishing(n *xhtml.Node) {
	href := attr(n, "href")
	l := parseLink(href)
	if l == nil || l.host == "" || d.isTrusted(l.host) {
		return
	}
	text := visibleText(n, 1024)
	if n.Data == "area" {
		text = clip(attr(n, "alt"), 1024)
	}
	th, hasTH := textHost(text)
	reason, why := "", ""
	switch {
	case l.userinfo:
		reason, why = "userinfo", " (the part before @ in the link is a decoy)"
	case l.ip && (l.odd || !hasTH || th != l.host):
		reason, why = "numeric-ip", " (a numeric address)"
	case homograph(l.host):
		reason, why = "homograph", " (look-alike letters, shown here in ASCII)"
	case hasTH && th != l.host && site(th) != site(l.host):
		reason, why = "text-mismatch", ", not to "+th
	default:
		return
	}
	d.rep.Phishing++
	if len(d.rep.PhishingLinks) < 100 {
		d.rep.PhishingLinks = append(d.rep.PhishingLinks, Link{
			Text: clip(strings.TrimSpace(text), 200), Href: clip(href, 200),
			TextHost: th, HrefHost: l.host, Reason: reason,
		})
	}
	msg := "[scandeliver warning: this link goes to " + l.host + why + "]"
	if s := n.NextSibling; s != nil && isWarning(s, msg) {
		return
	}
	d.changed = true
	w := span("scandeliver-phishing", msg)
	n.Parent.InsertBefore(w, n.NextSibling)
}

func isWarning(s *xhtml.Node, msg string) bool {
	return s.Type == xhtml.ElementNode && s.Data == "span" && s.Namespace == "" &&
		len(s.Attr) == 2 && s.Attr[0] == (xhtml.Attribute{Key: "class", Val: "scandeliver-phishing"}) &&
		s.Attr[1] == (xhtml.Attribute{Key: "style", Val: spanStyle}) &&
		s.FirstChild != nil && s.FirstChild == s.LastChild &&
		s.FirstChild.Type == xhtml.TextNode && s.FirstChild.Data == msg
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// fixCharsetMeta makes the document's own charset declarations say
// utf-8, since the output is UTF-8.
func fixCharsetMeta(doc *xhtml.Node) {
	for n := doc; n != nil; n = next(n, true) {
		if n.Type != xhtml.ElementNode || n.Data != "meta" || n.Namespace != "" {
			continue
		}
		for i, a := range n.Attr {
			switch {
			case a.Key == "charset":
				n.Attr[i].Val = "utf-8"
			case a.Key == "content" && strings.EqualFold(strings.TrimSpace(attr(n, "http-equiv")), "content-type"):
				n.Attr[i].Val = "text/html; charset=utf-8"
			}
		}
	}
}
