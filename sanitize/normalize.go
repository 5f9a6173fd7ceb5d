package sanitize

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/scandeliver/scandeliver/sanitize/html"
	"github.com/scandeliver/scandeliver/unpack"
)

// The canonical rewrite (issue 11, section 4). Where readers could read a
// message differently, the message is written anew from the part tree
// that was scanned, in the one form every reader reads alike:
//   - a multipart gets a fresh boundary of our own; no preamble, no
//     epilogue; every body inside is quoted-printable or base64, and no
//     line of either can start with "--" (qpEncode escapes a leading
//     "-"; base64 has no "-"), and no header field we write starts with
//     "-", so the boundary cannot occur inside;
//   - a leaf gets one Content-Type (type from our reading; charset;
//     name), one Content-Disposition (filename the same name), one
//     Content-Transfer-Encoding, base64 in lines of 76 characters, text
//     too: every reader decodes base64 to the same bytes, which is what
//     was scanned, while quoted-printable leaves readers to disagree on
//     the line break before a delimiter (ripmime keeps it, munpack
//     decodes a final soft line break as a byte 0xFF);
//   - header fields of a message (the root, an embedded message) are kept
//     but its Content-* and MIME-Version ones, each unfolded, cleaned of
//     control characters (a bare CR cannot start a field) and folded
//     again; a part keeps its Content-ID, Content-Description,
//     Content-Location and Content-Language (the first of each);
//   - every line ends with the message's own line break.
// The verdict and the options act as in Rewrite: a denied part is a text
// part, a renamed one has its new name, HTML is disarmed, subject tags are
// added. Options.Disinfect and the signatures do not apply (a denied
// archive is replaced whole; a normalized message is not signed).

// normBoundary is the boundary of the n-th multipart we write. Fixed
// width, so that no boundary is a prefix of another (RFC 2046 section
// 5.1.1 forbids it; readers differ when it happens).
func normBoundary(n int) string { return fmt.Sprintf("=_scandeliver_%06d_=", n) }

// keptPartFields are the Content-* fields a normalized part keeps.
var keptPartFields = map[string]bool{"content-id": true, "content-description": true, "content-location": true, "content-language": true}

// normalizer writes one canonical rewrite.
type normalizer struct {
	rw      *rewriter
	ops     map[*unpack.Part]*op
	n       int                   // multiparts written
	written map[*unpack.Part]bool // parts whose content is in the output
	// wrapping: a leaf at depth 0 is being written as a part of the root
	// multipart (wrapped's first part, or an alternative of the root):
	// no line break of its own after it.
	wrapping bool
	inner    map[*unpack.Part]bool // innerReadings, on first use
}

// writeNormalized writes the canonical form of the whole message.
func (rw *rewriter) writeNormalized(w io.Writer, pl *plan) error {
	nz := &normalizer{rw: rw, ops: map[*unpack.Part]*op{}, written: map[*unpack.Part]bool{}}
	for _, o := range pl.ops {
		nz.ops[o.p] = o
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := nz.entity(bw, rw.m.Root, nil); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing message: %w", err)
	}
	rw.res.Changed = true
	rw.res.Normalized = true
	return nil
}

// canonicalPart writes one part anew in canonical form, in place of its
// bytes [start, end): the header of our own, the content (disarmed when
// HTML) base64.
func (rw *rewriter) canonicalPart(w io.Writer, o *op) (bool, error) {
	nz := &normalizer{rw: rw, ops: map[*unpack.Part]*op{o.p: o}, written: map[*unpack.Part]bool{}}
	bw := bufio.NewWriter(w)
	if err := nz.entity(bw, o.p, nil); err != nil {
		return false, err
	}
	if err := bw.Flush(); err != nil {
		return false, fmt.Errorf("writing message: %w", err)
	}
	rw.res.Canonical = append(rw.res.Canonical, o.p.Path)
	return true, nil
}

// mimeChildren are the children of p that are MIME entities (not archive
// members, uuencoded or TNEF attachments, which are inside p's content).
func mimeChildren(p *unpack.Part) []*unpack.Part {
	var out []*unpack.Part
	for _, c := range p.Children {
		if c.Origin == unpack.OriginMIME || c.Origin == unpack.OriginRFC822 {
			out = append(out, c)
		}
	}
	return out
}

// embeddedChild returns the message inside p when p is a message/rfc822
// part (a container, or a leaf whose transfer-encoded content unpack read
// as a message).
func embeddedChild(p *unpack.Part) *unpack.Part {
	for _, c := range p.Children {
		if c.Origin == unpack.OriginRFC822 && c.Depth > p.Depth {
			return c
		}
	}
	return nil
}

// entity writes p: its header, the blank line and its body. msgHdr is the
// raw header of the message p is the root of (nil when p is a part of a
// multipart; the root's is read from the raw message).
func (nz *normalizer) entity(w *bufio.Writer, p *unpack.Part, msgHdr []byte) error {
	rw := nz.rw
	if err := rw.ctx.Err(); err != nil {
		return err
	}
	nz.written[p] = true
	o := nz.ops[p]
	isMsg := isMessageRoot(p)
	if isMsg && msgHdr == nil && inRaw(p) {
		raw, _, err := rw.readHeader(p)
		if err != nil {
			return err
		}
		if raw == nil {
			// QUIRK: a header over 1 MB keeps what fits; unpack marked
			// it unscannable already.
			if raw, err = rw.readRange(rw.start(p), maxHeader); err != nil {
				return err
			}
		}
		msgHdr = raw
	}
	var own []byte // the part's own raw header, for the fields it keeps
	if inRaw(p) {
		own, _, _ = rw.readHeader(p)
	} else {
		own = msgHdr
	}
	var subject []string
	if o != nil {
		subject = o.subject
	}
	hb := &headerBuf{eol: rw.eol}
	if isMsg {
		hb.messageFields(msgHdr, subject)
	}
	hb.partFields(own)

	switch {
	case o != nil && len(o.replace) > 0:
		return nz.replaced(w, p, o, hb)
	case p.Container && strings.HasPrefix(p.DeclaredType, "multipart/"):
		return nz.multipart(w, p, hb)
	case embeddedChild(p) != nil && p.Depth == 0 && len(nz.extraParts()) > 0:
		return nz.wrappedMessage(w, p, hb)
	case embeddedChild(p) != nil:
		return nz.message(w, p, hb)
	case p.Depth == 0 && len(nz.extraParts()) > 0:
		return nz.wrapped(w, p, o, hb)
	}
	return nz.leaf(w, p, o, hb)
}

// headerBuf gathers the fields of one entity.
type headerBuf struct {
	b   bytes.Buffer
	eol string
}

// messageFields adds a message's own fields (not Content-*, not
// MIME-Version, not ours), subject tags added, then MIME-Version.
func (hb *headerBuf) messageFields(raw []byte, tags []string) {
	tagged := false
	for _, c := range splitHeader(raw) {
		if c.name == "" || c.isContent() || c.name == "mime-version" || c.name == "x-scandeliver-normalized" ||
			strings.HasPrefix(c.name, "-") {
			continue
		}
		// A lone CR ends a header line for Python and munpack: a field
		// hidden behind one would come back (issue 11, headers).
		v := noLoneCR(c.value())
		if c.name == "subject" && len(tags) > 0 && !tagged {
			tagged = true
			one := chunk{name: "subject", raw: []byte("Subject: " + cleanValue(v) + "\n")}
			v = chunk{name: "subject", raw: tagSubject(&one, tags, "\n")}.value()
		}
		hb.b.Write(foldValue(c.fieldName(), v, hb.eol))
	}
	if len(tags) > 0 && !tagged {
		hb.b.Write(tagSubject(nil, tags, hb.eol))
	}
	hb.b.WriteString("MIME-Version: 1.0" + hb.eol)
}

// partFields adds the Content-* fields a part keeps.
func (hb *headerBuf) partFields(raw []byte) {
	seen := map[string]bool{}
	for _, c := range splitHeader(raw) {
		if !keptPartFields[c.name] || seen[c.name] {
			continue
		}
		seen[c.name] = true
		hb.b.Write(foldValue(c.fieldName(), noLoneCR(c.value()), hb.eol))
	}
}

// noLoneCR replaces each CR that no LF follows by a space.
func noLoneCR(v string) string {
	if !strings.Contains(v, "\r") {
		return v
	}
	b := []byte(v)
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			b[i] = ' '
		}
	}
	return string(b)
}

func (hb *headerBuf) add(name string, parts ...string) { hb.b.Write(foldParams(name, parts, hb.eol)) }

// finish ends the header with the blank line and writes it.
func (hb *headerBuf) finish(w io.Writer) error {
	hb.b.WriteString(hb.eol)
	_, err := w.Write(hb.b.Bytes())
	return err
}

func (nz *normalizer) multipart(w *bufio.Writer, p *unpack.Part, hb *headerBuf) error {
	eol := nz.rw.eol
	nz.n++
	b := normBoundary(nz.n)
	hb.add("Content-Type", canonToken(p.DeclaredType, "multipart/mixed"), `boundary="`+b+`"`)
	if err := hb.finish(w); err != nil {
		return err
	}
	// The line break before a delimiter belongs to it (RFC 2046 section
	// 5.1.1): each part's body ends where its last byte is.
	sep := ""
	for _, c := range mimeChildren(p) {
		w.WriteString(sep + "--" + b + eol)
		sep = eol
		if err := nz.entity(w, c, nil); err != nil {
			return err
		}
	}
	if p.Depth == 0 {
		if err := nz.extras(w, b, &sep); err != nil {
			return err
		}
	}
	if sep == "" {
		// A multipart without parts is malformed (RFC 2046 section 5.1.1
		// asks for one at least): an empty text part stands in.
		w.WriteString("--" + b + eol + "Content-Type: text/plain" + eol + "Content-Transfer-Encoding: base64" + eol + eol)
		sep = eol
	}
	_, err := w.WriteString(sep + "--" + b + "--" + eol)
	return err
}

// extraParts are the leaves that only another reading of the message
// gives (unpack's Part.Alternatives): every content any reader saw is to
// be in the rewrite (issue 11 section 4).
func (nz *normalizer) extraParts() []*unpack.Part {
	ix := nz.rw.ix
	if nz.inner == nil {
		nz.inner = innerReadings(nz.rw.m)
		if nz.inner == nil {
			nz.inner = map[*unpack.Part]bool{}
		}
	}
	var out []*unpack.Part
	for _, p := range nz.rw.m.Parts {
		// ripmime's reading of MIME fields inside a content is not a part
		// of ours: the content that holds it is written as it is, and
		// ripmime reads it there again. Written as a part of its own, its
		// content was read inside once more, deeper than in the input
		// (found by FuzzNormalize: c056dfc0aba61348).
		if p.Container || p.Same != "" || (p.Origin != unpack.OriginMIME && p.Origin != unpack.OriginRFC822) ||
			embeddedChild(p) != nil || nz.written[p] || !ix.inAlternative(p) || nz.inner[p] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// extras writes the leaves of other readings as further parts of the
// root multipart.
func (nz *normalizer) extras(w *bufio.Writer, b string, sep *string) error {
	// An alternative of the root is at depth 0 too, but written here as a
	// part: no line break of its own after it.
	nz.wrapping = true
	defer func() { nz.wrapping = false }()
	for _, p := range nz.extraParts() {
		// The line break before a delimiter belongs to it: none before
		// the first part of a multipart that has no other.
		w.WriteString(*sep + "--" + b + nz.rw.eol)
		*sep = nz.rw.eol
		if err := nz.part(w, p); err != nil {
			return err
		}
	}
	return nil
}

// part writes p as a part of a multipart (not a message root, whatever
// its origin): its own fields, then its content or replacement.
func (nz *normalizer) part(w *bufio.Writer, p *unpack.Part) error {
	nz.written[p] = true
	hb := &headerBuf{eol: nz.rw.eol}
	if inRaw(p) {
		own, _, err := nz.rw.readHeader(p)
		if err != nil {
			return err
		}
		hb.partFields(own)
	}
	if o := nz.ops[p]; o != nil && len(o.replace) > 0 {
		return nz.replaced(w, p, o, hb)
	}
	return nz.leaf(w, p, nz.ops[p], hb)
}

// wrapped writes a message whose root is a leaf but that other readings
// give more parts: a multipart/mixed of the root's content, then theirs.
func (nz *normalizer) wrapped(w *bufio.Writer, p *unpack.Part, o *op, hb *headerBuf) error {
	eol := nz.rw.eol
	nz.n++
	b := normBoundary(nz.n)
	hb.add("Content-Type", "multipart/mixed", `boundary="`+b+`"`)
	if err := hb.finish(w); err != nil {
		return err
	}
	w.WriteString("--" + b + eol)
	inner := &headerBuf{eol: eol}
	nz.wrapping = true
	err := nz.leaf(w, p, o, inner)
	nz.wrapping = false
	if err != nil {
		return err
	}
	sep := eol
	if err := nz.extras(w, b, &sep); err != nil {
		return err
	}
	_, err = w.WriteString(eol + "--" + b + "--" + eol)
	return err
}

// wrappedMessage writes a message whose root holds an embedded message
// (a message/rfc822 root, or a leaf whose content unpack read as one)
// but that other readings give more parts: a multipart/mixed of the
// embedded message, then theirs. Written as message/rfc822 alone, the
// contents only the other readings saw were lost (fuzz find
// FuzzNormalize/beb128120e6e5cfd).
func (nz *normalizer) wrappedMessage(w *bufio.Writer, p *unpack.Part, hb *headerBuf) error {
	eol := nz.rw.eol
	nz.n++
	b := normBoundary(nz.n)
	hb.add("Content-Type", "multipart/mixed", `boundary="`+b+`"`)
	if err := hb.finish(w); err != nil {
		return err
	}
	w.WriteString("--" + b + eol)
	if err := nz.message(w, p, &headerBuf{eol: eol}); err != nil {
		return err
	}
	sep := eol
	if err := nz.extras(w, b, &sep); err != nil {
		return err
	}
	_, err := w.WriteString(sep + "--" + b + "--" + eol)
	return err
}

// message writes a message/rfc822 part and the message inside it.
func (nz *normalizer) message(w *bufio.Writer, p *unpack.Part, hb *headerBuf) error {
	child := embeddedChild(p)
	hb.add("Content-Type", "message/rfc822")
	if err := hb.finish(w); err != nil {
		return err
	}
	var hdr []byte
	if !inRaw(child) {
		// Transfer-encoded: the embedded header is at the start of p's
		// decoded content.
		var err error
		if hdr, err = decodedHeader(p); err != nil {
			return err
		}
	}
	return nz.entity(w, child, hdr)
}

// decodedHeader reads the header at the start of a part's decoded
// content, up to the first empty line (at most maxHeader bytes).
func decodedHeader(p *unpack.Part) ([]byte, error) {
	r, err := p.Open()
	if err != nil {
		return nil, fmt.Errorf("opening part %s: %w", p.Path, err)
	}
	defer r.Close()
	br := bufio.NewReader(io.LimitReader(r, maxHeader))
	var hdr []byte
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return hdr, nil
		}
		hdr = append(hdr, line...)
		if err != nil {
			return hdr, nil
		}
	}
}

// replaced writes the text part that takes the place of p.
func (nz *normalizer) replaced(w *bufio.Writer, p *unpack.Part, o *op, hb *headerBuf) error {
	rw := nz.rw
	text, err := rw.replacementText(o.replace)
	if err != nil {
		return err
	}
	hb.add("Content-Type", "text/plain", "charset=utf-8")
	hb.add("Content-Disposition", "inline")
	hb.add("Content-Transfer-Encoding", "quoted-printable")
	if err := hb.finish(w); err != nil {
		return err
	}
	rw.res.Replaced = append(rw.res.Replaced, p.Path)
	rw.res.produced.content([]byte(text))
	_, err = w.Write(qpEncode([]byte(text), rw.eol))
	return err
}

// leaf writes a leaf: its decoded content (disarmed when HTML) encoded
// anew.
func (nz *normalizer) leaf(w *bufio.Writer, p *unpack.Part, o *op, hb *headerBuf) error {
	rw := nz.rw
	name := p.Name
	if o != nil && o.rename != "" {
		name = o.rename
		rw.res.Renamed = append(rw.res.Renamed, p.Path)
	}
	// Invalid UTF-8 in a name reads back as U+FFFD: written so at once.
	name = strings.ToValidUTF8(name, "\uFFFD")
	if name != "" {
		for _, n := range nameForms(name) {
			rw.res.produced.name(n)
		}
	}
	typ := leafType(p)
	if strings.HasPrefix(typ, "message/") {
		// RFC 2046 sections 5.2.2 to 5.2.4: 7bit only, and readers parse
		// the body as a header (partial, external-body, and reports such
		// as feedback-report, which Python reads as a message): written
		// as it is when that is safe.
		if b, err := readPart(p); err != nil {
			return err
		} else if sevenBitSafe(b, rw.eol) {
			hb.add("Content-Type", typ)
			if err := hb.finish(w); err != nil {
				return err
			}
			_, err := w.Write(b)
			return err
		}
		typ = "application/octet-stream"
	}
	charset := p.Charset
	var content []byte // disarmed HTML
	var err error
	if rw.opt.DisarmHTML && isHTMLLeaf(p) {
		out, changed, err := rw.disarmContent(p)
		if err != nil {
			return err
		}
		if changed {
			content, charset = out, "utf-8"
		}
	}
	if o != nil && o.sigBody && !rw.opt.Normalize {
		// A part written anew in place (canonicalPart) keeps the
		// signature it was to get: without it, a second pass signed what
		// the first had not (found by FuzzRewrite: 8a55a81eb324d5b1). A
		// normalized message is not signed.
		if content != nil {
			content = addHTMLSignature(content, rw.opt.SignatureHTML)
		} else {
			content = o.sig
		}
		charset = "utf-8"
		rw.res.Signed = append(rw.res.Signed, p.Path)
	}
	ps := []string{typ}
	if cs := canonToken(charset, ""); cs != "" && isTextType(typ) {
		ps = append(ps, "charset="+cs)
	}
	if name != "" {
		ps = append(ps, encodeParam("name", name)...)
	}
	hb.add("Content-Type", ps...)
	disp := strings.ToLower(strings.TrimSpace(p.Disposition))
	if disp != "inline" && disp != "attachment" {
		disp = ""
		if name != "" {
			disp = "attachment"
		}
	}
	if disp != "" {
		dps := []string{disp}
		if name != "" {
			dps = append(dps, encodeParam("filename", name)...)
		}
		hb.add("Content-Disposition", dps...)
	}
	hb.add("Content-Transfer-Encoding", "base64")
	if err := hb.finish(w); err != nil {
		return err
	}
	var src io.Reader
	if content != nil {
		rw.res.produced.content(content)
		src = bytes.NewReader(content)
	} else {
		r, err := p.Open()
		if err != nil {
			return fmt.Errorf("opening part %s: %w", p.Path, err)
		}
		defer r.Close()
		src = r
	}
	if err := writeBase64(w, src, rw.eol); err != nil {
		return err
	}
	if p.Depth == 0 && !nz.wrapping {
		_, err = w.WriteString(rw.eol)
	}
	return err
}

// disarmContent disarms an HTML leaf: the disarmed bytes, and whether they
// are to be used; a part the disarmer gives up on is listed in
// HTMLUnscannable and written as it came.
func (rw *rewriter) disarmContent(p *unpack.Part) ([]byte, bool, error) {
	if d, ok := rw.opt.Disarmed[p.Path]; ok {
		if d.Err != nil {
			if errors.Is(d.Err, html.ErrUnscannable) {
				rw.res.HTMLUnscannable = append(rw.res.HTMLUnscannable, p.Path)
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("disarming the HTML of part %s: %w", p.Path, d.Err)
		}
		addReport(&rw.res.HTML, d.Report)
		return d.Out, d.Report.Changed, nil
	}
	if p.Unscannable != "" {
		rw.res.HTMLUnscannable = append(rw.res.HTMLUnscannable, p.Path)
		return nil, false, nil
	}
	body, err := p.Open()
	if err != nil {
		return nil, false, fmt.Errorf("opening part %s: %w", p.Path, err)
	}
	defer body.Close()
	hopt := rw.opt.HTML
	hopt.Charset = p.Charset
	var out bytes.Buffer
	rep, err := html.Disarm(rw.ctx, &out, body, hopt)
	switch {
	case errors.Is(err, html.ErrUnscannable):
		if cerr := rw.ctx.Err(); cerr != nil {
			return nil, false, cerr
		}
		rw.res.HTMLUnscannable = append(rw.res.HTMLUnscannable, p.Path)
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("disarming the HTML of part %s: %w", p.Path, err)
	}
	addReport(&rw.res.HTML, rep)
	return out.Bytes(), rep.Changed, nil
}

// isHTMLLeaf is isHTML for a leaf wherever its bytes are (a part of a
// transfer-encoded embedded message too).
func isHTMLLeaf(p *unpack.Part) bool {
	if p.Container || (p.Origin != unpack.OriginMIME && p.Origin != unpack.OriginRFC822) {
		return false
	}
	if p.DeclaredType == "text/html" {
		return true
	}
	return p.DetectedType == "text/html" && p.Name != "" && p.DeclaredType != "text/plain"
}

// leafType is the type a leaf is written with: unpack's reading of it.
// A part declared multipart that unpack read as text (no boundary) is
// text/plain; an embedded message unpack did not open (a limit) is
// application/octet-stream; no type is text/plain (RFC 2045 section 5.2).
func leafType(p *unpack.Part) string {
	t := canonToken(p.DeclaredType, "text/plain")
	switch {
	case t == "" || strings.HasPrefix(t, "multipart/"):
		return "text/plain"
	case t == "message/rfc822" || t == "message/global":
		return "application/octet-stream"
	}
	return t
}

func isTextType(t string) bool {
	return strings.HasPrefix(t, "text/") || (strings.HasPrefix(t, "message/") && t != "message/rfc822" && t != "message/global")
}

// canonToken returns v lower-cased when it is a MIME type (token "/"
// token) or, without "/", a charset (a token); else def.
func canonToken(v, def string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" || len(v) > 100 || strings.Count(v, "/") > 1 || strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/") {
		return def
	}
	if strings.Contains(def, "/") != strings.Contains(v, "/") && def != "" {
		return def
	}
	for i := 0; i < len(v); i++ {
		if v[i] != '/' && !tokenChar(v[i]) {
			return def
		}
	}
	return v
}

// sevenBitSafe reports whether b can be written as a body without
// transfer encoding in a message we normalize: printable ASCII and tabs,
// line breaks all eol, lines of at most 998 characters, none starting
// with "-" (our boundaries cannot occur).
func sevenBitSafe(b []byte, eol string) bool {
	for _, line := range bytes.Split(b, []byte(eol)) {
		if len(line) > 998 || bytes.HasPrefix(line, []byte("-")) {
			return false
		}
		for _, c := range line {
			if (c < 0x20 && c != '\t') || c > 0x7e {
				return false
			}
		}
	}
	return true
}

func readPart(p *unpack.Part) ([]byte, error) {
	r, err := p.Open()
	if err != nil {
		return nil, fmt.Errorf("opening part %s: %w", p.Path, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading part %s: %w", p.Path, err)
	}
	return b, nil
}

// writeBase64 writes r base64 encoded in lines of 76 characters separated
// by eol, without a line break after the last.
func writeBase64(w io.Writer, r io.Reader, eol string) error {
	const in = 57 * 64 // 64 lines of 57 bytes, 76 characters each
	buf := make([]byte, in)
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(in)+64*len(eol)+len(eol))
	first := true
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			out = out[:0]
			enc := make([]byte, base64.StdEncoding.EncodedLen(n))
			base64.StdEncoding.Encode(enc, buf[:n])
			for len(enc) > 0 {
				k := min(76, len(enc))
				if !first {
					out = append(out, eol...)
				}
				first = false
				out = append(out, enc[:k]...)
				enc = enc[k:]
			}
			if _, err := w.Write(out); err != nil {
				return fmt.Errorf("writing message: %w", err)
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("reading part: %w", rerr)
		}
	}
}

// Normalized reports whether a message is to be delivered as a canonical
// rewrite under the given mode ("ambiguous", "always" or "never"; "" is
// "ambiguous"): "always" for every message, "ambiguous" when readers
// could read it differently (why says how, for the
// X-Scandeliver-Normalized field).
func Normalized(m *unpack.Message, mode string) (yes bool, why string) {
	switch mode {
	case "never":
		return false, ""
	case "always":
		return true, "always"
	}
	return ambiguity(m)
}

// ambiguity says whether readers could read m differently on structure
// or content, and how: unpack's readings disagree on a part
// (Part.Ambiguous: a reader splits or decodes its bytes otherwise), or,
// until every such disagreement is modelled as a reading, unpack recorded
// a problem of kind ambiguous about structure (StructuralProblem: a
// boundary read two ways, duplicate Content-Type or
// Content-Transfer-Encoding fields, ambiguous Content-Type parameters, a
// base64 body holding an enclosing boundary).
//
// What is not a reason (issue 11 section 3, benign ambiguity; STYLE.md
// habit 11, DKIM): a part that readings name differently (Part.Names
// holds every name, and the name rules judged each of them: a rule that
// acts on any name cuts the part out or withholds the message, so a part
// delivered as is has no name any rule acts on); a name holding a path
// or control characters (also judged through Names); Content-Disposition
// values that readers resolve to the same content; a transfer encoding on
// a multipart, which every modelled reader ignores (RFC 2045 section
// 6.4). Those messages are delivered byte for byte.
func ambiguity(m *unpack.Message) (bool, string) {
	if m == nil {
		return false, ""
	}
	inner := innerReadings(m)
	for _, p := range m.Parts {
		if p.Ambiguous && !inner[p] {
			return true, "readers read part " + p.Path + " differently"
		}
	}
	for _, p := range m.Parts {
		if p.Origin != unpack.OriginMIME && p.Origin != unpack.OriginRFC822 || inner[p] {
			continue
		}
		for _, pr := range p.Problems {
			if pr.Kind == unpack.KindAmbiguous && StructuralProblem(pr.Detail) {
				// The path only: the detail quotes the message.
				return true, "readers could read part " + p.Path + " differently"
			}
		}
	}
	return false, ""
}

// innerReadings are the parts of ripmime's reading of MIME fields inside
// a part's decoded content (unpack.OriginInner, and what they hold). They
// are scanned and judged like any reading, but are no reason to rewrite:
// the rewrite writes the content as it is, and ripmime reads it the same
// way in the copy (a finding there withholds the message instead).
func innerReadings(m *unpack.Message) map[*unpack.Part]bool {
	var out map[*unpack.Part]bool
	var walk func(p *unpack.Part, in bool)
	walk = func(p *unpack.Part, in bool) {
		in = in || p.Origin == unpack.OriginInner
		if in {
			if out == nil {
				out = map[*unpack.Part]bool{}
			}
			out[p] = true
		}
		for _, c := range p.Children {
			walk(c, in)
		}
		for _, a := range p.Alternatives {
			walk(a, in)
		}
	}
	if m.Root != nil {
		walk(m.Root, false)
	}
	return out
}

// StructuralProblem reports whether the detail of a problem of kind
// ambiguous is about the structure of the message (where parts start and
// end, which Content-Type or Content-Transfer-Encoding counts), as opposed
// to one about a name (a file name that differs from the Content-Type
// name, a path or control characters in it), about Content-Disposition,
// or about a transfer encoding on a multipart that readers ignore.
func StructuralProblem(detail string) bool {
	for _, benign := range []string{"file name ", "Content-Disposition", "multipart with Content-Transfer-Encoding "} {
		if strings.HasPrefix(detail, benign) {
			return false
		}
	}
	return true
}
