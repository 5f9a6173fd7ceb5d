package sanitize

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize/html"
	"github.com/scandeliver/scandeliver/unpack"
)

// maxSignBody caps the decoded body a signature is added to: the body is
// re-encoded in memory. QUIRK: a bigger body is left unsigned.
const maxSignBody = 8 << 20

// signing reports whether a signature is asked for and the verdict lets
// it be added (a clean message only).
func signing(v rules.Verdict, opt Options) bool {
	if opt.SignatureText == "" && opt.SignatureHTML == "" {
		return false
	}
	return v.Status == "" || v.Status == rules.StatusClean
}

// inBody reports whether a part is part of the message's own body: a
// MIME entity of the raw message, not an attachment, not inside an
// embedded (forwarded) message.
func inBody(ix index, p *unpack.Part) bool { return inBodyOwn(ix, p, false) }

// inBodyOwn is inBody, but with ownTrouble a part whose own header is
// troubled still counts (its ancestors' trouble does not): an HTML part
// that is disarmed is written anew then (canonicalPart), and signed
// there. Left unsigned, a second pass signed the clean part the first
// had written (found by FuzzRewrite: 8a55a81eb324d5b1).
func inBodyOwn(ix index, p *unpack.Part, ownTrouble bool) bool {
	if p.Container || !inRaw(p) || p.Unscannable != "" || p.Encrypted || p.Name != "" ||
		strings.EqualFold(p.Disposition, "attachment") || ix.inAlternative(p) {
		return false
	}
	for _, c := range p.Children {
		if c.Origin == unpack.OriginInner {
			// A reader reads parts inside this content (ripmime's MIME
			// fields): a signature at its end would be the end of the
			// last of them, a content never scanned (found by
			// sanitize.Verify while fuzzing FuzzRewrite).
			return false
		}
	}
	for q := p; q != nil; q = ix.parent[q] {
		if q == p && ownTrouble {
			continue
		}
		if q.Origin == unpack.OriginRFC822 {
			return false
		}
		// QUIRK: a part under or with a broken structure (a multipart
		// with a bad boundary or no close delimiter, a malformed header)
		// is left
		// alone: re-encoding it could change how the rest is split
		// (found by FuzzRewrite). The signature is a courtesy, not worth
		// a second reading of a doubtful message.
		if structuralTrouble(q) {
			return false
		}
	}
	return true
}

// structuralTrouble reports problems that make the split of a container
// doubtful.
func structuralTrouble(p *unpack.Part) bool {
	for _, pr := range p.Problems {
		if isStructural(pr.Kind) {
			return true
		}
	}
	return false
}

// isStructural reports the kinds of problem structuralTrouble counts.
func isStructural(kind string) bool {
	switch kind {
	case unpack.KindMalformed, unpack.KindTruncated, unpack.KindAmbiguous, unpack.KindLimit:
		return true
	}
	return false
}

// isPlainBody reports whether p is a text/plain body part (declared, or
// undeclared and text: RFC 2045 section 5.2's default).
func isPlainBody(ix index, p *unpack.Part) bool {
	if !inBody(ix, p) {
		return false
	}
	return p.DeclaredType == "text/plain" || (p.DeclaredType == "" && strings.HasPrefix(p.DetectedType, "text/"))
}

// planSignatures finds the first text/plain and the first text/html body
// parts and marks, in their ops, the signature each still lacks. It reads
// those two parts' content (at most maxSignBody each).
func planSignatures(m *unpack.Message, ix index, opt Options, get func(*unpack.Part) *op) {
	var plain, htm *unpack.Part
	for _, p := range m.Parts {
		switch {
		case plain == nil && opt.SignatureText != "" && isPlainBody(ix, p):
			plain = p
		case htm == nil && opt.SignatureHTML != "" && p.DeclaredType == "text/html" && inBodyOwn(ix, p, opt.DisarmHTML && !opt.Normalize):
			htm = p
		}
	}
	if plain != nil {
		if body, ok := signBody(plain, opt.SignatureText, false); ok {
			o := get(plain)
			o.sig, o.sigBody = addTextSignature(body, opt.SignatureText), true
		}
	}
	if htm != nil {
		if body, ok := signBody(htm, opt.SignatureHTML, true); ok {
			if sig := addHTMLSignature(body, opt.SignatureHTML); !opt.DisarmHTML || signatureSurvives(sig, opt) {
				o := get(htm)
				o.sig, o.sigBody = sig, true
			}
		}
	}
}

// signBody returns the decoded content of p as UTF-8, when it can be
// signed and does not hold sig yet.
func signBody(p *unpack.Part, sig string, isHTML bool) ([]byte, bool) {
	if p.Size > maxSignBody {
		return nil, false
	}
	rc, err := p.Open()
	if err != nil {
		return nil, false
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, maxSignBody+1))
	if err != nil || len(body) > maxSignBody {
		return nil, false
	}
	body, ok := toUTF8(body, p.Charset, isHTML)
	if !ok || hasSignature(body, sig) {
		return nil, false
	}
	return body, true
}

// toUTF8 converts a body from its declared charset. A body declared
// UTF-8 or US-ASCII (or with no charset) must be valid UTF-8; another
// charset is converted when x/net/html/charset knows it.
func toUTF8(body []byte, cs string, isHTML bool) ([]byte, bool) {
	switch strings.ToLower(strings.TrimSpace(cs)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return body, utf8.Valid(body)
	}
	enc, name := charset.Lookup(cs)
	if enc == nil {
		return nil, false
	}
	if name == "utf-8" {
		return body, utf8.Valid(body)
	}
	if isHTML && bytes.Contains(bytes.ToLower(body), []byte("charset")) {
		// QUIRK: an HTML body that names its charset inside (<meta>)
		// would contradict the utf-8 we declare once converted; it is
		// left unsigned rather than rewritten (the disarmer fixes
		// <meta>, the signature does not).
		return nil, false
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, false
	}
	return out, utf8.Valid(out)
}

// hasSignature reports whether body already holds sig (line breaks and
// surrounding white space aside): so a signature is added once.
func hasSignature(body []byte, sig string) bool {
	norm := func(s string) string {
		return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
	}
	s := norm(sig)
	return s == "" || strings.Contains(norm(string(body)), s)
}

// addTextSignature appends sig after a "-- " line (the usual signature
// separator). The body ends with a line break after it when it ended
// with one before.
func addTextSignature(body []byte, sig string) []byte {
	out := append([]byte(nil), body...)
	nl := len(out) == 0 || bytes.HasSuffix(out, []byte("\n"))
	if !nl {
		out = append(out, '\n')
	}
	out = append(out, "-- \n"...)
	out = append(out, strings.TrimRight(sig, "\r\n")...)
	if nl {
		out = append(out, '\n')
	}
	return out
}

// addHTMLSignature inserts sig before the last </body>, or at the end.
func addHTMLSignature(body []byte, sig string) []byte {
	i := bytes.LastIndex(bytes.ToLower(body), []byte("</body"))
	if i < 0 {
		i = len(body)
	}
	out := make([]byte, 0, len(body)+len(sig)+1)
	out = append(out, body[:i]...)
	out = append(out, sig...)
	if i < len(body) && !strings.HasSuffix(sig, "\n") {
		out = append(out, '\n')
	}
	return append(out, body[i:]...)
}

// sign writes o.p with its body replaced by o.sig, re-encoded
// quoted-printable UTF-8; its header is rewritten for that (and for a
// rename or subject tags the op also carries).
func (rw *rewriter) sign(w io.Writer, o *op) (bool, error) {
	raw, ok, err := rw.readHeader(o.p)
	if err != nil {
		return false, err
	}
	if !ok {
		// A header over 1 MB: the part is copied as it was.
		return false, rw.copy(w, rw.start(o.p), rw.end(o.p)-rw.start(o.p))
	}
	hdr, ok := rw.reencodedHeader(o, raw)
	if !ok {
		// A header we cannot rewrite faithfully: the part goes unsigned.
		if err := rw.ctx.Err(); err != nil {
			return false, err
		}
		return rw.keepPart(w, o)
	}
	if _, err := w.Write(hdr); err != nil {
		return false, fmt.Errorf("writing message: %w", err)
	}
	rw.res.produced.content(o.sig)
	if _, err := w.Write(qpEncode(o.sig, rw.eol)); err != nil {
		return false, fmt.Errorf("writing message: %w", err)
	}
	if o.rename != "" {
		rw.res.Renamed = append(rw.res.Renamed, o.p.Path)
	}
	rw.res.Signed = append(rw.res.Signed, o.p.Path)
	return true, nil
}

// signatureSurvives reports whether the disarmer keeps the signature of a
// signed HTML body as it is. After markup it cannot read whole, the
// signature became new markup that the disarmer rewrote on the next pass
// (and the signature was added again: found by FuzzRewrite,
// cb788c4c3b505717): such a body is not signed.
func signatureSurvives(signed []byte, opt Options) bool {
	var out bytes.Buffer
	hopt := opt.HTML
	hopt.Charset = "utf-8"
	if _, err := html.Disarm(context.Background(), &out, bytes.NewReader(signed), hopt); err != nil {
		return false
	}
	return hasSignature(out.Bytes(), opt.SignatureHTML)
}
