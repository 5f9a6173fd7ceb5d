package html

import (
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// disarmer holds one Disarm call's state across rounds.
type disarmer struct {
	opt     Options
	b       *budget
	trusted []string
	rep     *Report
	changed bool
}

// disarmable lists the element kinds Options.Elements can set, and whether
// the content they display is kept after the marker (true) or dropped
// with them (their children are raw text, parameters or nothing).
var disarmable = map[string]bool{
	"iframe": false, "frame": false, "frameset": true, "object": true,
	"embed": false, "applet": true, "portal": false, "fencedframe": false,
	"form": true, "input": false, "button": true, "select": true,
	"textarea": true, "keygen": false, "base": false, "meta-refresh": false,
}

// resourceHints are link rel values that make a renderer fetch by itself.
var resourceHints = []string{"prefetch", "preload", "preconnect", "dns-prefetch", "prerender", "modulepreload", "import", "subresource"}

// walk visits every node of doc in document order, changing the tree as it
// goes. It uses no recursion: the parser allows 512 levels, but nodes we
// move must not be able to grow our stack either.
func (d *disarmer) walk(doc *xhtml.Node) error {
	n := doc.FirstChild
	for i := 0; n != nil; i++ {
		if i&1023 == 1023 {
			if err := d.b.check(); err != nil {
				return err
			}
		}
		n = d.visit(n)
	}
	return nil
}

// next returns the node after n in document order, entering n's children
// if descend.
func next(n *xhtml.Node, descend bool) *xhtml.Node {
	if descend && n.FirstChild != nil {
		return n.FirstChild
	}
	for ; n != nil; n = n.Parent {
		if n.NextSibling != nil {
			return n.NextSibling
		}
	}
	return nil
}

func (d *disarmer) visit(n *xhtml.Node) *xhtml.Node {
	if n.Type != xhtml.ElementNode {
		return next(n, true)
	}
	switch {
	case n.Data == "script":
		// HTML or SVG script: gone with its content, no marker.
		d.rep.Scripts++
		return d.remove(n, nil, false)
	case n.Data == "noscript" && n.Namespace == "":
		d.rep.Unwrapped++
		return d.remove(n, nil, true)
	case n.Data == "link" && n.Namespace == "" && isResourceHint(n):
		d.rep.Remote++
		return d.remove(n, nil, false)
	}
	kind := n.Data
	if kind == "meta" && strings.EqualFold(strings.TrimSpace(attr(n, "http-equiv")), "refresh") {
		kind = "meta-refresh"
	}
	if keep, ok := disarmable[kind]; ok {
		switch d.action(kind) {
		case ActRemove:
			d.rep.Disarmed++
			return d.remove(n, nil, keep)
		case ActAllow:
		default:
			d.rep.Disarmed++
			return d.remove(n, d.marker(n, kind), keep)
		}
	}
	d.attrs(n)
	switch {
	case n.Data == "style" && n.Namespace == "":
		d.styleElement(n)
	case n.Data == "img" && n.Namespace == "":
		d.image(n)
	case (n.Data == "a" || n.Data == "area") && n.Namespace == "":
		d.phishing(n)
	}
	return next(n, true)
}

func (d *disarmer) action(kind string) Action {
	if a, ok := d.opt.Elements[kind]; ok {
		switch a {
		case ActAllow, ActRemove:
			return a
		}
	}
	return ActDisarm
}

// remove takes n out of the tree, putting marker (if any) in its place and
// then n's children if keepChildren. It returns the next node to visit:
// the first kept child (they have not been visited yet), else whatever
// followed n. The marker is ours and is not visited.
func (d *disarmer) remove(n, marker *xhtml.Node, keepChildren bool) *xhtml.Node {
	d.changed = true
	parent := n.Parent
	if marker != nil {
		parent.InsertBefore(marker, n)
	}
	var first *xhtml.Node
	if keepChildren {
		for c := n.FirstChild; c != nil; c = n.FirstChild {
			n.RemoveChild(c)
			parent.InsertBefore(c, n)
			if first == nil {
				first = c
			}
		}
	}
	after := n.NextSibling
	parent.RemoveChild(n)
	if first != nil {
		return first
	}
	if after != nil {
		return after
	}
	return next(parent, false)
}

// marker builds the visible notice that replaces a disarmed element.
func (d *disarmer) marker(n *xhtml.Node, kind string) *xhtml.Node {
	what := "a " + kind + " element"
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		what = "an " + kind + " element"
	}
	if kind == "meta-refresh" {
		what = "an automatic redirect (meta refresh)"
	}
	for _, k := range []string{"src", "data", "action", "href", "code"} {
		if h := markerHost(attr(n, k)); h != "" {
			what += " from " + h
			break
		}
	}
	if kind == "meta-refresh" {
		if h := markerHost(refreshURL(attr(n, "content"))); h != "" {
			what += " to " + h
		}
	}
	return span("scandeliver-disarmed", "[scandeliver removed "+what+"]")
}

const spanStyle = "border:1px solid #c00;color:#c00;background:#fff;font:bold 12px sans-serif;padding:0 2px"

func span(class, text string) *xhtml.Node {
	s := &xhtml.Node{Type: xhtml.ElementNode, Data: "span", DataAtom: atom.Span,
		Attr: []xhtml.Attribute{{Key: "class", Val: class}, {Key: "style", Val: spanStyle}}}
	s.AppendChild(&xhtml.Node{Type: xhtml.TextNode, Data: text})
	return s
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

func isResourceHint(n *xhtml.Node) bool {
	for _, r := range strings.Fields(strings.ToLower(attr(n, "rel"))) {
		for _, h := range resourceHints {
			if r == h {
				return true
			}
		}
	}
	return false
}

// urlAttrs are attributes holding one URL. Keys are matched in any
// namespace (xlink:href is Key "href" with Namespace "xlink").
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "background": true,
	"poster": true, "data": true, "codebase": true, "cite": true, "longdesc": true,
	"lowsrc": true, "dynsrc": true, "usemap": true, "manifest": true, "profile": true,
	"icon": true, "classid": true, "archive": true, "itemtype": true, "xmlns": false,
}

// loadAttrs are URL attributes a renderer fetches by itself (for
// BlockRemoteContent). href only loads on some elements, see autoLoads.
var loadAttrs = map[string]bool{
	"src": true, "srcset": true, "poster": true, "background": true, "data": true,
	"codebase": true, "lowsrc": true, "dynsrc": true, "archive": true, "classid": true,
}

func autoLoads(n *xhtml.Node, a xhtml.Attribute) bool {
	if loadAttrs[a.Key] {
		return true
	}
	if a.Key != "href" {
		return false
	}
	if n.Namespace == "" {
		return n.Data == "link"
	}
	// SVG: everything but <a> loads its href (image, use, feImage,
	// pattern/gradient references, ...).
	return n.Data != "a"
}

// attrs cleans n's attributes in place.
func (d *disarmer) attrs(n *xhtml.Node) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		if d.dropAttr(n, a) {
			d.changed = true
			continue
		}
		kept = append(kept, a)
	}
	// Clear the tail so dropped values are not kept alive.
	for i := len(kept); i < len(n.Attr); i++ {
		n.Attr[i] = xhtml.Attribute{}
	}
	n.Attr = kept
}

func (d *disarmer) dropAttr(n *xhtml.Node, a xhtml.Attribute) bool {
	key := strings.ToLower(a.Key)
	switch {
	case !plainAttrName(key):
		// A name with a NUL (read as U+FFFD), quotes or other odd bytes:
		// renderers disagree on what it is (the fuzzer found
		// `\x00src="data:..."` kept as "\ufffdsrc"); no honest mail
		// needs one.
		d.rep.BadURLs++
		return true
	case strings.HasPrefix(key, "on"):
		d.rep.Handlers++
		return true
	case isDataValue(a.Val) && !(key == "src" && a.Val == Pixel):
		// A data: URL in any attribute, not only the URL ones we know
		// (found by FuzzDisarm: `<a f="data:text/html;...">`); the one
		// exception is the pixel we put in place of web bugs.
		d.rep.BadURLs++
		return true
	case scriptSchemeIn(a.Val) || scriptSchemeIn(strings.Join(strings.Fields(a.Val), "")):
		// Any attribute, URL or not: a renderer may know URL attributes
		// we do not, and no honest value starts with a script scheme.
		d.rep.BadURLs++
		return true
	case key == "srcdoc":
		d.rep.BadURLs++
		return true
	case key == "style":
		bad, remote := cssRisk(a.Val)
		if bad {
			d.rep.BadURLs++
			return true
		}
		if remote && d.opt.BlockRemoteContent {
			d.rep.Remote++
			return true
		}
		return false
	case key == "srcset":
		for _, u := range srcsetURLs(a.Val) {
			if badScheme(u) {
				d.rep.BadURLs++
				return true
			}
		}
		if d.opt.BlockRemoteContent {
			for _, u := range srcsetURLs(a.Val) {
				if isRemote(u) {
					d.rep.Remote++
					return true
				}
			}
		}
		return false
	case n.Namespace == "svg" && (key == "to" || key == "from" || key == "values" || key == "by"):
		// SVG animation can set href to a javascript: URL.
		for _, u := range strings.Split(a.Val, ";") {
			if badScheme(u) || scriptScheme(u) {
				d.rep.BadURLs++
				return true
			}
		}
		return false
	case key == "content" && n.Data == "meta":
		if u := refreshURL(a.Val); u != "" && badScheme(u) {
			d.rep.BadURLs++
			return true
		}
		return false
	case key == "ping":
		// A list of URLs fetched on click: tracking, never needed.
		if d.opt.BlockRemoteContent {
			d.rep.Remote++
			return true
		}
		for _, u := range strings.Fields(a.Val) {
			if badScheme(u) {
				d.rep.BadURLs++
				return true
			}
		}
		return false
	case urlAttrs[key]:
		if badScheme(a.Val) {
			if key == "src" && n.Data == "img" && a.Val == Pixel {
				return false // ours
			}
			d.rep.BadURLs++
			return true
		}
		if d.opt.BlockRemoteContent && autoLoads(n, a) && isRemote(a.Val) {
			if key == "src" && n.Data == "img" && n.Namespace == "" {
				return false // image() replaces it with the pixel
			}
			d.rep.Remote++
			return true
		}
		return false
	}
	return false
}

// styleElement empties a <style> whose CSS carries a bad URL or script,
// or a remote URL under BlockRemoteContent.
func (d *disarmer) styleElement(n *xhtml.Node) {
	var sb strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == xhtml.TextNode {
			sb.WriteString(c.Data)
		}
	}
	bad, remote := cssRisk(sb.String())
	switch {
	case bad:
		d.rep.BadURLs++
	case remote && d.opt.BlockRemoteContent:
		d.rep.Remote++
	default:
		return
	}
	d.changed = true
	for c := n.FirstChild; c != nil; c = n.FirstChild {
		n.RemoveChild(c)
	}
	n.AppendChild(&xhtml.Node{Type: xhtml.TextNode, Data: "/* removed by scandeliver */"})
}

// image replaces web bugs (and, under BlockRemoteContent, every remote
// image) with the pixel.
func (d *disarmer) image(n *xhtml.Node) {
	src := attr(n, "src")
	if src == Pixel || !isRemote(src) {
		return
	}
	if isWebBug(n, src) {
		d.rep.WebBugs++
	} else if d.opt.BlockRemoteContent {
		d.rep.Remote++
	} else {
		return
	}
	d.changed = true
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		switch {
		case a.Namespace == "" && a.Key == "src":
			a.Val = Pixel
		case a.Namespace == "" && (a.Key == "srcset" || a.Key == "lowsrc" || a.Key == "dynsrc"):
			continue
		}
		kept = append(kept, a)
	}
	n.Attr = kept
}

// plainAttrName reports whether an attribute name is made of the
// characters HTML and SVG attribute names use.
func plainAttrName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

// isDataValue reports a value that reads as a data: URL once case and
// whitespace are ignored.
func isDataValue(v string) bool {
	return strings.HasPrefix(strings.ToLower(strings.Join(strings.Fields(v), "")), "data:")
}
