// Package html disarms hostile HTML mail bodies: active content, web bugs
// and phishing links (issue 7). It is the sanitize stage's HTML pass; the
// caller hands it the decoded body of each text/html part (and of HTML
// attachments) and re-encodes the part from what Disarm writes.
//
// The package is named html; inside it, golang.org/x/net/html is imported
// as xhtml.
//
// # Contract
//
// Disarm parses the body with golang.org/x/net/html (the WHATWG algorithm,
// never regular expressions on markup), changes the tree, and serializes
// it. It either writes a complete, disarmed document and a Report, or
// returns an error wrapping ErrUnscannable and writes nothing: the caller
// then keeps the part whole and marks it "unscannable: html" for the
// policy. A part is never left half rewritten.
//
// When nothing needed changing (Report.Changed is false) Disarm copies the
// input to dst byte for byte, so a clean part can be delivered untouched.
// When it changed something, dst receives UTF-8 (the input is decoded from
// Options.Charset or the document's own declaration first) and any
// <meta charset> in the document says utf-8: the caller must label the
// re-encoded part charset=utf-8.
//
// What is done, per construct:
//   - <script> (HTML and SVG) is removed with its content; on* event
//     handler attributes are removed; javascript:, vbscript:, livescript:
//     and data: URLs are removed from URL attributes (href, src, action,
//     formaction, background, poster, srcset, xlink:href, data, codebase,
//     cite, longdesc, lowsrc, dynsrc, ping, ..., and the to/from/values/by
//     of SVG animations); iframe srcdoc is removed. Style attributes and
//     <style> contents whose CSS (after CSS escapes and comments are
//     resolved) holds a bad URL, expression(), behavior or -moz-binding
//     are dropped whole: there is no CSS rewriting, so nothing half-parsed
//     is ever kept.
//   - <noscript> is unwrapped (its content kept as ordinary content): the
//     parser's scripting flag changes how noscript content parses, and the
//     classic mutation-XSS tricks live in that difference. Disarm parses
//     with scripting off so that the content is seen as elements.
//   - iframe, frame, frameset, object, embed, applet, portal, fencedframe,
//     form, the form controls input, button, select, textarea, keygen,
//     <meta http-equiv=refresh> and <base> are disarmed by default: the
//     element is replaced by a visible marker, a <span
//     class="scandeliver-disarmed">, that names what was removed. Content
//     the element displays (a form's text, an object's fallback, a
//     button's label) is kept after the marker. Options.Elements sets
//     allow, disarm or remove (no marker) per element; meta refresh is
//     keyed "meta-refresh".
//   - Web bugs: a remote <img> whose width or height (attribute or inline
//     style) is 0 or 1, which is hidden by inline style, or whose URL looks
//     like a tracker, gets an inline transparent pixel as its source. The
//     pixel is a data: URL that this package produces, and it is the one
//     data: URL that is let through (compared byte for byte). Other remote
//     images are left alone unless Options.BlockRemoteContent, which
//     replaces every remote image with the pixel and drops every other
//     attribute, <link> or style that would load something remote.
//     Resource hints (<link rel=prefetch|preload|preconnect|dns-prefetch|
//     prerender|modulepreload|import>) are always removed.
//   - Phishing links: an <a> or <area> with an http(s) or ftp href gets a
//     visible warning (<span class="scandeliver-phishing">) right after it
//     when the href's host is a numeric IP (any of the decimal, hex, octal
//     or short forms a browser accepts) that the link text does not show,
//     when the href carries user@ before its host, when a host label mixes
//     scripts or is a whole-script Cyrillic look-alike of a Latin name
//     (after IDNA/punycode normalization), or when the link text is itself
//     a URL or host name whose registrable domain differs from the href's.
//     Hosts in Options.TrustedHosts (and their subdomains) are never
//     warned about.
//
// # Safety of the output
//
// Serializing a tree and parsing it again does not always give the same
// tree (foster parenting, foreign content, misnested formatting). Disarm
// therefore re-parses what it wrote and disarms again until a pass finds
// nothing to change (at most a few rounds, else ErrUnscannable). So the
// output, read by any WHATWG parser, holds nothing that Disarm would
// remove, and disarming it again changes nothing: Disarm is idempotent.
//
// # Limits
//
// Options.MaxBytes (default 8 MiB) caps the input; Options.Timeout
// (default 5 s) caps the wall time of the whole call, parse included (the
// parser reads through a reader that checks the deadline and the context);
// the growth of the heap during the call is capped at 32 times the input
// plus 256 MiB, checked as the parser reads, so a small input that makes
// the parser build a huge tree (formatting elements reconstructed in every
// paragraph) is stopped. A caller that disarms the parts of one message
// gives them one Options.Budget instead (NewBudget; default 128 MiB):
// then the input, the heap growth during the call and what the caller
// keeps of earlier parts (Budget.Keep) must fit in it together. The tree
// of mail HTML takes about 15 times its size, so the default lets an
// 8 MiB newsletter through but stops 8 MiB of "<p>" (a node per three
// bytes: 370 MB), and ten such parts cost no more than one. Before a part
// of 1 MiB or more, and between its rounds, the garbage is collected, so
// that the dead trees of earlier parts are not charged to it; and before a
// call gives up for memory, the garbage is collected and the heap read
// again, so that only live growth counts (in serve mode other messages'
// garbage is on the same heap). golang.org/x/net/html itself refuses documents
// nested deeper than 512 open elements; such a document is unscannable
// (browsers flatten that deep nesting, so its rendering cannot be
// predicted from our tree). The policy should treat "unscannable: html" as
// suspicious, since an attacker can produce it on purpose.
package html
