package sanitize

import (
	"bytes"
	"mime"
	"strings"
)

// chunk is one header field as it appears in the raw message: the field
// line and its continuation lines, line breaks included. Lines that are
// not fields (an mbox "From " line, garbage, the empty line ending the
// header) are chunks with name "" and are always copied verbatim.
type chunk struct {
	name string // lower case, "" for a line that is not a field
	raw  []byte
}

// splitHeader cuts a raw header into chunks; joining the raw bytes of the
// chunks gives the input back exactly.
func splitHeader(hdr []byte) []chunk {
	var out []chunk
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line = hdr[:i+1]
		}
		hdr = hdr[len(line):]
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 && out[len(out)-1].name != "" {
			// A continuation line (RFC 5322 section 2.2.3).
			last := &out[len(out)-1]
			last.raw = append(last.raw, line...)
			continue
		}
		name := ""
		if i := bytes.IndexByte(line, ':'); i > 0 {
			n := strings.TrimRight(string(line[:i]), " \t")
			if validFieldName(n) {
				name = strings.ToLower(n)
			}
		}
		out = append(out, chunk{name: name, raw: append([]byte(nil), line...)})
	}
	return out
}

// validFieldName reports whether n is a field name (RFC 5322 section 3.6.8:
// printable ASCII but colon).
func validFieldName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x21 || n[i] > 0x7e {
			return false
		}
	}
	return true
}

// value returns the unfolded value of a field chunk: what follows the
// colon with line breaks removed and surrounding white space trimmed.
func (c chunk) value() string {
	i := bytes.IndexByte(c.raw, ':')
	v := c.raw[i+1:]
	v = bytes.ReplaceAll(v, []byte("\r\n"), nil)
	v = bytes.ReplaceAll(v, []byte("\n"), nil)
	v = bytes.ReplaceAll(v, []byte("\r"), nil)
	return strings.TrimSpace(string(v))
}

// isContent reports whether the chunk is a Content-* field (RFC 2045
// section 9: the MIME fields of an entity).
func (c chunk) isContent() bool { return strings.HasPrefix(c.name, "content-") }

// splitParams cuts a structured field value ("type; a=b; c="d;e"") at the
// semicolons outside quoted strings and comments. The first element is
// the value before the parameters; the others are the parameters as
// written, trimmed.
func splitParams(v string) []string {
	var out []string
	start, inQuote, depth := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"' && depth == 0:
			inQuote = !inQuote
		case !inQuote && c == '(':
			depth++
		case !inQuote && c == ')' && depth > 0:
			depth--
		case !inQuote && depth == 0 && c == ';':
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	out = append(out, strings.TrimSpace(v[start:]))
	return out
}

// stripComments removes RFC 5322 comments (parenthesized, nested, outside
// quoted strings) from a structured value: a parameter hidden after a
// comment ("(x; y) filename=a.exe") is then seen as a parameter, as unpack
// and mail clients see it. An unclosed comment runs to the end.
func stripComments(v string) string {
	var b strings.Builder
	inQuote, depth := false, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case depth == 0 && inQuote && c == '\\' && i+1 < len(v):
			b.WriteByte(c)
			b.WriteByte(v[i+1])
			i++
			continue
		case depth > 0 && c == '\\':
			i++
			continue
		case depth == 0 && c == '"':
			inQuote = !inQuote
		case !inQuote && c == '(':
			depth++
			continue
		case !inQuote && c == ')' && depth > 0:
			depth--
			b.WriteByte(' ')
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// paramBase returns the attribute name of a parameter, lower case, with
// any RFC 2231 section 3 and 4 suffix ("*", "*0", "*0*") removed.
func paramBase(p string) string {
	n := p
	if i := strings.IndexByte(p, '='); i >= 0 {
		n = p[:i]
	}
	n = strings.ToLower(strings.TrimSpace(n))
	if i := strings.IndexByte(n, '*'); i >= 0 {
		n = n[:i]
	}
	return n
}

// hasParam reports whether a structured value carries parameter attr in
// any form.
func hasParam(v, attr string) bool {
	for _, p := range splitParams(stripComments(v))[1:] {
		if paramBase(p) == attr {
			return true
		}
	}
	return false
}

// setParam returns the parameters of v with every form of attr removed
// and attr=val appended (val already encoded: see encodeParam).
func setParam(v, attr string, val []string) []string {
	ps := splitParams(stripComments(v))
	out := []string{ps[0]}
	for _, p := range ps[1:] {
		if p == "" || paramBase(p) == attr {
			continue
		}
		out = append(out, p)
	}
	return append(out, val...)
}

// attrChar reports whether b may appear unencoded in an RFC 2231
// extended value (attribute-char: a token character but "*", "'", "%").
func attrChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

// tokenChar reports whether b is an RFC 2045 token character.
func tokenChar(b byte) bool {
	return b > 0x20 && b < 0x7f && strings.IndexByte(`()<>@,;:\"/[]?=`, b) < 0
}

// maxParamChunk bounds each RFC 2231 continuation, so that no header
// line grows past 78 characters by much, whatever the name.
const maxParamChunk = 60

// encodeParam renders attr=val: a token or quoted string when val is
// short printable ASCII, else RFC 2231 extended values in UTF-8, split
// into continuations (RFC 2231 sections 3 and 4).
func encodeParam(attr, val string) []string {
	plain := len(val) <= maxParamChunk
	token := val != ""
	for i := 0; i < len(val); i++ {
		c := val[i]
		// A quote or backslash would need a quoted-pair, which some
		// readers keep as it is: a name `a.bat"` read as `a.bat\` (found
		// by sanitize.Verify while fuzzing). Extended values have none.
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			plain = false
		}
		if !tokenChar(c) {
			token = false
		}
	}
	if plain {
		if token {
			return []string{attr + "=" + val}
		}
		q := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(val)
		return []string{attr + `="` + q + `"`}
	}
	var pieces []string
	var b strings.Builder
	b.WriteString("utf-8''")
	for i := 0; i < len(val); i++ {
		enc := string(val[i])
		if !attrChar(val[i]) {
			enc = "%" + strings.ToUpper(hexByte(val[i]))
		}
		if b.Len()+len(enc) > maxParamChunk {
			pieces = append(pieces, b.String())
			b.Reset()
		}
		b.WriteString(enc)
	}
	pieces = append(pieces, b.String())
	if len(pieces) == 1 {
		return []string{attr + "*=" + pieces[0]}
	}
	out := make([]string, len(pieces))
	for i, p := range pieces {
		out[i] = attr + "*" + itoa(i) + "*=" + p
	}
	return out
}

// nameForms are the names a reader may read from a name we write with
// encodeParam: the name, and when it is written as RFC 2231 extended
// values, the values as written (a reader that does not decode RFC 2231
// reads "utf-8”r%C3%A9sum%C3%A9.pdf"), whole and each continuation.
// Percent-encoding leaves every dot in place and encodes what follows the
// last one only where it is no token character, so such a form has no
// extension the name did not have (Verify counts them as names of ours).
func nameForms(name string) []string {
	out := []string{name, strings.ToValidUTF8(name, "\uFFFD")}
	ps := encodeParam("n", name)
	if len(ps) == 1 && !strings.HasPrefix(ps[0], "n*") {
		return out
	}
	whole := ""
	for _, p := range ps {
		v := p[strings.IndexByte(p, '=')+1:]
		whole += v
		out = append(out, v)
	}
	return append(out, whole)
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// foldParams writes "Name: value; p1; p2" folded before parameters so
// that lines stay near 78 characters (RFC 5322 section 2.2.3).
func foldParams(name string, parts []string, eol string) []byte {
	var b bytes.Buffer
	b.WriteString(name)
	b.WriteString(": ")
	b.WriteString(parts[0])
	lineLen := b.Len()
	for _, p := range parts[1:] {
		b.WriteByte(';')
		if lineLen+2+len(p) > 78 {
			b.WriteString(eol)
			b.WriteByte('\t')
			lineLen = 8
		} else {
			b.WriteByte(' ')
			lineLen += 2
		}
		b.WriteString(p)
		lineLen += len(p)
	}
	b.WriteString(eol)
	return b.Bytes()
}

// fieldName returns the field name as written in the chunk (its case
// kept).
func (c chunk) fieldName() string {
	i := bytes.IndexByte(c.raw, ':')
	return strings.TrimRight(string(c.raw[:i]), " \t")
}

// cleanValue makes a value from the message safe to write back on one
// logical line: line breaks and other control characters become spaces
// (a bare CR or NUL must not reach a header), runs of white space one.
func cleanValue(v string) string {
	var b strings.Builder
	space := false
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// maxFieldValue caps a re-folded field; longer values are cut (only the
// notice for a withheld message re-folds fields).
const maxFieldValue = 16 << 10

// foldValue writes "Name: value" folded at white space to lines of at most
// 78 characters where the words allow (RFC 5322 section 2.2.3). A word
// longer than a line stays whole.
func foldValue(name, v, eol string) []byte {
	v = cleanValue(v)
	if len(v) > maxFieldValue {
		v = strings.ToValidUTF8(v[:maxFieldValue], "")
	}
	var b bytes.Buffer
	b.WriteString(name)
	b.WriteByte(':')
	lineLen := b.Len()
	for i, w := range strings.Split(v, " ") {
		if w == "" && i > 0 {
			continue
		}
		if lineLen+1+len(w) > 78 && lineLen > len(name)+1 {
			b.WriteString(eol)
			lineLen = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		lineLen += 1 + len(w)
	}
	b.WriteString(eol)
	return b.Bytes()
}

// encodeTag renders a subject tag: as it is when printable ASCII, else
// as RFC 2047 encoded words in UTF-8. A tag from the configuration is
// cleaned of control characters first. When the text after the tag is
// an encoded word, the separating space must be inside the tag's own
// encoded word (RFC 2047 section 6.2 drops white space between encoded
// words); trailingSpace asks for that.
func encodeTag(tag string, trailingSpace bool) (enc string, spaceInside bool) {
	tag = cleanValue(tag)
	ascii := true
	for i := 0; i < len(tag); i++ {
		if tag[i] >= 0x7f {
			ascii = false
		}
	}
	if ascii && !strings.Contains(tag, "=?") {
		return tag, false
	}
	tag = strings.ToValidUTF8(tag, "\uFFFD")
	if trailingSpace {
		return mime.QEncoding.Encode("utf-8", tag+" "), true
	}
	return mime.QEncoding.Encode("utf-8", tag), false
}

// newTags returns the tags not yet in subject (decoded), each once.
func newTags(subject string, tags []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		t = cleanValue(t)
		if t == "" || seen[t] || hasTag(subject, t) {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// hasTag reports whether the subject holds the tag, decoded or, when
// the subject could not be decoded (an unknown charset in one of its
// encoded words leaves it as written), in the encoded form we write.
func hasTag(subject, tag string) bool {
	if strings.Contains(subject, tag) {
		return true
	}
	for _, sp := range []bool{false, true} {
		if e, _ := encodeTag(tag, sp); e != tag && strings.Contains(subject, e) {
			return true
		}
	}
	return false
}

// tagSubject returns the Subject field chunk with tags prepended to its
// value. The rest of the field is kept as written, folding included.
// With c nil, a new Subject field holding only the tags is returned.
func tagSubject(c *chunk, tags []string, eol string) []byte {
	if c == nil {
		var parts []string
		for _, t := range tags {
			e, _ := encodeTag(t, false)
			parts = append(parts, e)
		}
		return foldValue("Subject", strings.Join(parts, " "), eol)
	}
	i := bytes.IndexByte(c.raw, ':')
	head, rest := c.raw[:i+1], c.raw[i+1:]
	rest = bytes.TrimLeft(rest, " \t")
	emptyValue := len(bytes.TrimSpace(rest)) == 0
	nextEncoded := bytes.HasPrefix(rest, []byte("=?"))
	var parts []string
	for j, t := range tags {
		last := j == len(tags)-1
		e, _ := encodeTag(t, last && nextEncoded && !emptyValue)
		parts = append(parts, e)
	}
	tagText := strings.Join(parts, " ")
	var b bytes.Buffer
	b.Write(head)
	b.WriteByte(' ')
	b.WriteString(tagText)
	if emptyValue {
		b.WriteString(eol)
		return b.Bytes()
	}
	first := rest
	if k := bytes.IndexByte(rest, '\n'); k >= 0 {
		first = rest[:k]
	}
	if len(head)+1+len(tagText)+1+len(first) > 78 {
		// Fold after the tags rather than lengthen the first line.
		b.WriteString(eol)
	}
	b.WriteByte(' ')
	b.Write(rest)
	if !bytes.HasSuffix(rest, []byte("\n")) {
		b.WriteString(eol)
	}
	return b.Bytes()
}
