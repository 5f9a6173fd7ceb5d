package unpack

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// dialect is how one reader decides at the points where readers differ.
// Each choice was observed with ../shared/readers/readers.py (Python's
// email, ripmime, munpack) or is documented (RFC, Go, Thunderbird's
// libmime); Outlook is modelled as Thunderbird.
type dialect struct {
	// fieldLast: of repeated Content-Transfer-Encoding and
	// Content-Disposition fields the last counts (ripmime, munpack).
	// QUIRK: the others take the first (Python's Message.get, Go's
	// textproto, Thunderbird's MimeHeaders_get).
	fieldLast bool
	// ctMultipart: of repeated Content-Type fields, the last that is
	// multipart with a boundary counts, else the last (ripmime, munpack).
	ctMultipart bool
	// paramLast: of repeated parameters the last counts (ripmime).
	paramLast bool
	// plain2231: the plain parameter wins over its RFC 2231 form
	// (Python's email); the others take the RFC 2231 one.
	plain2231 bool
	// quote: how a quoted parameter value followed by more text reads.
	quote int
	// comments: comments "( )" in parameter lists are removed (RFC 5322
	// CFWS: the RFC reading, Python policy.default, ripmime, munpack).
	comments bool
	// ewType: encoded words in the Content-Type and
	// Content-Transfer-Encoding values are decoded (Python policy.default;
	// ripmime finds "multipart" and "boundary=" in the raw value).
	ewType bool
	// boundaryWS: the boundary keeps its trailing white space (ripmime,
	// munpack); the others drop it.
	boundaryWS bool
	// prefixDelim: a line that starts with "--" and the boundary is a
	// delimiter whatever follows (munpack).
	prefixDelim bool
	// ripDelim: ripmime's delimiter lines (ripMatch): a line that starts
	// with "-", holds the boundary within its first four bytes and as
	// many letters and digits as the boundary.
	ripDelim bool
	// ripParams: the boundary is read as ripmime reads it (ripBoundarySet:
	// its own split of the parameters, 'B' read as B, and a set of
	// boundaries).
	ripParams bool
	// innerFirst: a line that delimits several open multiparts belongs to
	// the innermost (ripmime, munpack); the others give it to the
	// outermost.
	innerFirst bool
	// cte: how the Content-Transfer-Encoding value is read.
	cte int
	// b64: what base64 does at "=".
	b64 int
	// qpCR: in quoted-printable, "=" before a lone CR is a soft line
	// break (ripmime).
	qpCR bool
	// uuLoose: a body of Content-Transfer-Encoding uuencode starts at any
	// "begin" line (ripmime: uuBeginLoose).
	uuLoose bool
	// crLines: a lone CR ends a line (Python's feedparser, NLCRE; munpack
	// in headers).
	crLines bool
	// blankHeader: the header goes on past an empty line that MIME
	// fields follow (ripmime, munpack).
	blankHeader bool
	// nameComments: a comment in a field name is dropped (ripmime,
	// munpack).
	nameComments bool
	// dashStart: an entity without Content-Type whose body starts with a
	// line "--X" is a multipart with boundary X (munpack).
	dashStart bool
	// lenientHeader: a header line without a colon, or a field name
	// followed by white space, does not end the header (ripmime, munpack).
	lenientHeader bool
	// anyBoundary: a boundary parameter makes an entity of any type a
	// multipart (ripmime: MIMEH_parse_contenttype pushes the boundary
	// of every Content-Type field onto its boundary stack, whatever the
	// type, and MIME_unpack_stage2 then reads the body as parts).
	anyBoundary bool
}

// Parameter value quoting.
const (
	quoteStrict = iota // the quoted string; text after it up to ";" dropped
	quoteRaw           // the raw text up to ";", unquoted only when it starts and ends with a quote (compat32)
	quoteStrip         // the raw text up to ";" without its quotes
	quoteBare          // a quoted value as quoteStrict; an unquoted one loses its stray quotes (ripmime)
)

// Content-Transfer-Encoding value readings.
const (
	cteToken     = iota // comment removed, trimmed, lower case (RFC, Thunderbird)
	cteTrim             // trimmed, lower case, compared whole (Go)
	cteExact            // lower case, compared whole with trailing white space (Python)
	cteFirstWord        // comment removed, first word (munpack)
	cteSubstr           // "base64", "7bit", "8bit", "quoted-printable", "binary", "uu" anywhere in it before ";", in this order (ripmime)
)

// Base64 at "=".
const (
	b64Continue = iota // "=" ends a group; decoding goes on after it (Thunderbird)
	b64StopPad         // complete padding ends the data; a stray "=" is skipped (RFC 2045 6.8, Python's binascii, Go)
	b64StopEq          // any "=" ends the data (ripmime, munpack)
)

// dialects is indexed by the bit number of the reader.
var dialects = [...]dialect{
	// rfc: RFC 2046 section 5.1.1 (NOTE TO IMPLEMENTORS) matches a boundary
	// at the beginning of a line, whatever follows it.
	{comments: true, prefixDelim: true, cte: cteToken, b64: b64StopPad},
	{cte: cteToken, b64: b64Continue},                                                              // thunderbird
	{cte: cteToken, b64: b64Continue},                                                              // outlook
	{cte: cteTrim, b64: b64StopPad},                                                                // go
	{plain2231: true, comments: true, ewType: true, cte: cteExact, b64: b64StopPad, crLines: true}, // py-default
	{plain2231: true, quote: quoteRaw, cte: cteExact, b64: b64StopPad, crLines: true},              // py-compat32
	{fieldLast: true, ctMultipart: true, paramLast: true, comments: true, boundaryWS: true, ewType: true, quote: quoteBare,
		ripParams: true, ripDelim: true, innerFirst: true, cte: cteSubstr, b64: b64StopEq, qpCR: true, uuLoose: true, lenientHeader: true, nameComments: true, blankHeader: true,
		anyBoundary: true}, // ripmime
	{fieldLast: true, ctMultipart: true, comments: true, boundaryWS: true,
		prefixDelim: true, innerFirst: true, cte: cteFirstWord, b64: b64StopEq, crLines: true, dashStart: true, nameComments: true, blankHeader: true}, // munpack
}

func readerIndex(r Readers) int {
	for i := range readerNames {
		if r == 1<<i {
			return i
		}
	}
	return 0
}

// dialectOf is the dialect of a single reader.
func dialectOf(r Readers) *dialect { return &dialects[readerIndex(r)] }

// primary is the reader whose reading the walk of a set follows:
// Thunderbird when it is in the set (unpack's reading before readings
// were modelled was Thunderbird's), else the first.
func (r Readers) primary() Readers {
	if r&ReaderThunderbird != 0 {
		return ReaderThunderbird
	}
	return r.first()
}

// each calls f for every reader in r.
func (r Readers) each(f func(Readers)) {
	for i := range readerNames {
		if x := Readers(1 << i); r&x != 0 {
			f(x)
		}
	}
}

// split returns the readers of r that decide as the primary one does
// on trait, and the others.
func (r Readers) split(trait func(*dialect) bool) (same, other Readers) {
	want := trait(dialectOf(r.primary()))
	r.each(func(x Readers) {
		if trait(dialectOf(x)) == want {
			same |= x
		} else {
			other |= x
		}
	})
	return same, other
}

// pend records that the readers in g read the entity p differently: after
// p is walked, an alternative reading of its bytes is built for them.
// Readers already pending keep their first reason (their alternative
// walk finds the others again).
func (p *Part) pend(g Readers) {
	for _, x := range p.pending {
		g &^= x
	}
	if g != 0 {
		p.pending = append(p.pending, g)
	}
}

// dropReaders removes g from the readers of p's subtree.
func dropReaders(p *Part, g Readers) {
	p.Readers &^= g
	for _, c := range p.Children {
		dropReaders(c, g)
	}
	for _, a := range p.Alternatives {
		dropReaders(a, g)
	}
}

// reading is what one reader makes of an entity's MIME fields: what
// decides its structure and content.
type reading struct {
	declared      string // the Content-Type value the reader takes
	typ, boundary string
	hasBoundary   bool
	extra         string // other boundaries the reader splits at, NUL-separated (ripParams)
	dec           string // decoder: "", "base64", "quoted-printable", "x-uuencode", or "raw:VALUE" for unknown encodings kept raw
}

// canonicalDec maps a Content-Transfer-Encoding value to its decoder:
// "" (the body as it is, also for unknown encodings), "base64",
// "quoted-printable" or "x-uuencode".
func canonicalDec(v string) string {
	switch v {
	case "base64", "quoted-printable":
		return v
	case "x-uuencode", "uuencode", "x-uue", "uue":
		// QUIRK: not an RFC 2045 encoding, but Thunderbird and Outlook
		// Express decode it.
		return "x-uuencode"
	}
	return ""
}

// knownEncoding reports a Content-Transfer-Encoding that needs no problem.
func knownEncoding(v string) bool {
	switch v {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return canonicalDec(v) != ""
}

// decFor reads a Content-Transfer-Encoding field the way d does.
func decFor(d *dialect, f *field) string {
	if f == nil {
		return ""
	}
	v := strings.ToLower(f.value)
	if d.ewType && strings.Contains(v, "=?") {
		// QUIRK: Python's policy.default decodes encoded words in
		// every structured field, this one too.
		var probs []string
		v = strings.ToLower(decode2047(f.value, &probs))
	}
	switch d.cte {
	case cteToken:
		return canonicalDec(strings.TrimSpace(stripComment(v)))
	case cteTrim:
		return canonicalDec(v)
	case cteExact:
		if f.trailWS {
			// QUIRK: Python compares "base64 " whole: no decoding.
			return ""
		}
		return canonicalDec(v)
	case cteFirstWord:
		w := strings.Fields(stripComments(v))
		if len(w) == 0 {
			return ""
		}
		return canonicalDec(w[0])
	case cteSubstr:
		// MIMEH_parse_contenttransferencoding: the value up to ";",
		// comments removed, searched in this order.
		v = stripComments(v)
		if i := strings.IndexByte(v, ';'); i >= 0 {
			v = v[:i]
		}
		switch {
		case strings.Contains(v, "base64"):
			return "base64"
		case strings.Contains(v, "7bit"), strings.Contains(v, "8bit"):
			return ""
		case strings.Contains(v, "quoted-printable"):
			return "quoted-printable"
		case strings.Contains(v, "binary"):
			return ""
		case strings.Contains(v, "uu"), strings.Contains(v, "x-u"), v == "u" && !f.lead:
			return "x-uuencode"
		}
		return ""
	}
	return canonicalDec(v)
}

// stripComments removes RFC 5322 comments, nested or not, outside quoted
// strings.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (quoted || depth > 0):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
			continue
		case c == '"' && depth == 0:
			quoted = !quoted
		case c == '(' && !quoted:
			depth++
			continue
		case c == ')' && !quoted && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// paramsAs splits a structured field value into its value and parameters
// the way d does.
func paramsAs(d *dialect, s string) (string, []param) {
	if d.comments {
		s = stripComments(s)
	}
	if d.quote == quoteStrict || d.quote == quoteBare {
		v, ps, _ := parseParamField(s)
		if d.quote == quoteBare {
			for i := range ps {
				if !ps[i].quoted && strings.Contains(ps[i].value, `"`) {
					ps[i].value = strings.ReplaceAll(ps[i].value, `"`, "")
				}
			}
		}
		return v, ps
	}
	parts := splitParams(s)
	value := strings.ToLower(strings.TrimSpace(stripComment(parts[0])))
	var ps []param
	for _, x := range parts[1:] {
		eq := strings.IndexByte(x, '=')
		if eq < 0 {
			continue
		}
		name := strings.ToLower(strings.TrimSpace(x[:eq]))
		v := strings.TrimSpace(x[eq+1:])
		quoted := false
		switch d.quote {
		case quoteRaw:
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = strings.ReplaceAll(strings.ReplaceAll(v[1:len(v)-1], `\\`, `\`), `\"`, `"`)
				quoted = true
			}
		case quoteStrip:
			quoted = strings.Contains(v, `"`)
			v = strings.ReplaceAll(v, `"`, "")
		}
		ps = append(ps, param{name: name, value: v, quoted: quoted})
	}
	return value, ps
}

// splitParams splits s at the semicolons outside quoted strings.
func splitParams(s string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// paramValue picks the value of parameter name the way d does: the RFC
// 2231 form (sections sorted, the first of repeated ones) unless d
// prefers the plain one; of repeated plain ones the first or the last.
func paramValue(d *dialect, ps []param, name string) (string, bool) {
	var plain []string
	var ext []param
	for _, p := range ps {
		if p.name == name {
			plain = append(plain, p.value)
		} else if strings.HasPrefix(p.name, name+"*") {
			ext = append(ext, p)
		}
	}
	if len(ext) > 0 && (!d.plain2231 || len(plain) == 0) {
		r := resolveParams(ext)
		if v, ok := r.values[name]; ok {
			return v, true
		}
	}
	switch {
	case len(plain) == 0:
		return "", false
	case d.paramLast:
		return plain[len(plain)-1], true
	}
	return plain[0], true
}

// readingOf is the reading of an entity's fields by dialect d.
func readingOf(d *dialect, ct, cte []*field, defType string) reading {
	var r reading
	r.typ = defType
	var f *field
	switch {
	case len(ct) == 0:
	case d.ctMultipart:
		f = ct[len(ct)-1]
		for i := len(ct) - 1; i >= 0; i-- {
			v, ps := paramsAs(d, ct[i].value)
			if _, ok := paramValue(d, ps, "boundary"); ok && strings.HasPrefix(v, "multipart/") {
				f = ct[i]
				break
			}
		}
	case d.fieldLast:
		f = ct[len(ct)-1]
	default:
		f = ct[0]
	}
	if f != nil {
		s := f.value
		if d.ewType {
			var probs []string
			s = decode2047(s, &probs)
		}
		v, ps := paramsAs(d, s)
		r.declared = v
		if i := strings.IndexByte(v, '/'); i > 0 && i < len(v)-1 && !strings.ContainsAny(v, " \t\"") {
			r.typ = v
		} else {
			r.typ = "text/plain"
		}
		if strings.HasPrefix(r.typ, "multipart/") {
			r.boundary, r.hasBoundary = paramValue(d, ps, "boundary")
			if d.ripParams {
				r.boundary, r.extra, r.hasBoundary = ripReading(d, f)
			}
			if !d.boundaryWS {
				r.boundary = strings.TrimRight(r.boundary, " \t")
			}
		} else if d.anyBoundary {
			// QUIRK: ripmime splits a text/plain or
			// application/octet-stream body at the delimiter lines
			// of its boundary parameter.
			b, ok := paramValue(d, ps, "boundary")
			if d.ripParams {
				b, r.extra, ok = ripReading(d, f)
			}
			if ok {
				r.typ, r.boundary, r.hasBoundary = "multipart/mixed", b, true
			} else {
				r.extra = ""
			}
		}
	}
	if len(cte) > 0 {
		c := cte[0]
		if d.fieldLast {
			c = cte[len(cte)-1]
		}
		r.dec = decFor(d, c)
		if d.cte == cteFirstWord && r.dec == "x-uuencode" && strings.HasPrefix(r.typ, "text/") {
			// QUIRK: munpack does not decode x-uuencode (observed
			// with readers.py): it searches such a text body for
			// parts (munpackBody). Another type it saves as it is:
			// nothing but the uuencode lines read in the decoded
			// reading, not read apart.
			r.dec = ""
		}
	}
	return r
}

// ripReading is the boundary ripmime splits at, and the others
// (NUL-separated), from the Content-Type field f.
// NOT MODELLED: ripmime pushes the boundaries of every Content-Type
// field, and of every boundary parameter, onto its stack, and reads on
// after a close delimiter as after any other; the last boundary of the
// field it takes stands for them here.
func ripReading(d *dialect, f *field) (string, string, bool) {
	s := f.value
	if d.ewType {
		var probs []string
		s = decode2047(s, &probs)
	}
	if d.comments {
		s = stripComments(s)
	}
	b, extra, ok := ripBoundarySet(ripBoundaries(s, f.lead))
	return b, strings.Join(extra, "\x00"), ok
}

// candidateNames is every file name some reader could take from the
// fields: every plain name and filename parameter (RFC 2047 decoded and
// not), and their RFC 2231 forms assembled in order, in order of
// appearance, and with repeated sections joined.
func candidateNames(ct, cd []*field) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		for _, x := range out {
			if x == s {
				return
			}
		}
		out = append(out, s)
	}
	var probs []string
	for _, fs := range [][]*field{cd, ct} {
		for _, f := range fs {
			for _, q := range []int{quoteStrict, quoteRaw, quoteStrip} {
				for _, comments := range []bool{false, true} {
					d := &dialect{quote: q, comments: comments}
					_, ps := paramsAs(d, f.value)
					var ext []param
					var joined strings.Builder
					for _, p := range ps {
						base, _, isExt := strings.Cut(p.name, "*")
						if base != "name" && base != "filename" {
							continue
						}
						if !isExt {
							add(p.value)
							add(decode2047(p.value, &probs))
							joined.WriteString(p.value)
							continue
						}
						ext = append(ext, p)
						v := p.value
						if strings.Count(v, "'") >= 2 && strings.HasSuffix(p.name, "*") {
							v = v[strings.LastIndexByte(v, '\'')+1:]
						}
						if u, err := unescapePercent(v); err == nil {
							v = u
						}
						joined.WriteString(v)
					}
					add(strings.ToValidUTF8(joined.String(), "\uFFFD"))
					if len(ext) > 0 {
						r := resolveParams(ext)
						for _, v := range r.values {
							add(v)
						}
						add(joinSections(ext))
						add(contiguousSections(ext))
					}
				}
			}
		}
	}
	return out
}

// section is one RFC 2231 section of a parameter: its number and its
// value, percent-decoded (and without its charset and language) when it
// is an extended one.
type section struct {
	n int
	v string
}

// sortedSections reads the sections of ext, sorted by number (stable:
// repeated sections keep their order); a section whose number does not
// parse is dropped.
func sortedSections(ext []param) []section {
	var secs []section
	for _, p := range ext {
		_, rest, _ := strings.Cut(p.name, "*")
		enc := strings.HasSuffix(rest, "*")
		rest = strings.TrimSuffix(rest, "*")
		n, err := strconv.Atoi(rest)
		if rest == "" {
			n, err = 0, nil
		}
		if err != nil {
			continue
		}
		v := p.value
		if enc {
			if n == 0 && strings.Count(v, "'") >= 2 {
				v = v[strings.LastIndexByte(v, '\'')+1:]
			}
			if u, err := unescapePercent(v); err == nil {
				v = u
			}
		}
		secs = append(secs, section{n, v})
	}
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].n < secs[j].n })
	return secs
}

// joinSections joins RFC 2231 sections in order with repeated sections
// all kept (as Python's compat32 and ripmime do).
func joinSections(ext []param) string {
	secs := sortedSections(ext)
	var b strings.Builder
	for _, s := range secs {
		b.WriteString(s.v)
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// contiguousSections joins RFC 2231 sections in order from section 0 up
// to the first missing one, the first of repeated ones (as Python's
// policy.default does: filename*0="data."; filename*2="bin" reads
// "data.").
func contiguousSections(ext []param) string {
	secs := sortedSections(ext)
	var b strings.Builder
	next := 0
	for _, s := range secs {
		if s.n < next {
			continue // repeated
		}
		if s.n != next {
			break
		}
		b.WriteString(s.v)
		next++
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func unescapePercent(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b), nil
}

// plainFields reports whether the MIME fields leave no room for readers
// to differ: one field of each, no comments, quotes, encoded words or
// RFC 2231 sections, a Content-Transfer-Encoding that is one of the
// RFC's. Most entities are plain, and cost nothing more to read.
func plainFields(ct, cte, cd []*field) bool {
	if len(ct) > 1 || len(cte) > 1 || len(cd) > 1 {
		return false
	}
	for _, fs := range [][]*field{ct, cd} {
		for _, f := range fs {
			if strings.ContainsAny(f.value, "(*\\") || strings.Contains(f.value, "=?") || !cleanQuotes(f.value) || singleQuoted(f.value) {
				return false
			}
		}
	}
	if len(ct) == 1 && strayBoundary(ct[0].value) {
		return false // read as a multipart by ripmime (dialect.anyBoundary)
	}
	if len(cte) == 1 {
		v := strings.ToLower(cte[0].value)
		if cte[0].trailWS || !knownEncoding(v) || v != strings.TrimSpace(v) || canonicalDec(v) == "x-uuencode" {
			return false
		}
	}
	return true
}

// singleQuoted reports a parameter value that starts with a single
// quote: ripmime drops the quotes around 'B', the others keep them.
func singleQuoted(s string) bool {
	for {
		i := strings.IndexByte(s, '=')
		if i < 0 {
			return false
		}
		s = strings.TrimLeft(s[i+1:], " \t")
		if strings.HasPrefix(s, "'") {
			return true
		}
	}
}

// strayBoundary reports whether a Content-Type value that is not a
// multipart type may carry a boundary parameter (any "boundary" in it,
// any case): cheap, and false for the fields of well-formed leaves.
func strayBoundary(v string) bool {
	if len(v) >= 10 && strings.EqualFold(v[:10], "multipart/") {
		return false
	}
	for i := strings.IndexAny(v, "bB"); i >= 0 && i+8 <= len(v); {
		if strings.EqualFold(v[i:i+8], "boundary") {
			return true
		}
		j := strings.IndexAny(v[i+1:], "bB")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// cleanQuotes reports whether every quoted string in s is closed, holds
// no white space at its end, and is followed by nothing but white space
// up to the next ";" or the end: quoted values that every reader reads
// alike.
func cleanQuotes(s string) bool {
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			return true
		}
		s = s[i+1:]
		j := strings.IndexByte(s, '"')
		if j < 0 || j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
			return false
		}
		s = strings.TrimLeft(s[j+1:], " \t")
		if s != "" && s[0] != ';' {
			return false
		}
	}
}

// crSource reads src with every lone CR (not followed by LF) turned into
// LF: the lines a reader that ends lines at a lone CR sees, at the same
// offsets.
type crSource struct {
	src  io.ReaderAt
	size int64
}

func (c crSource) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.src.ReadAt(p, off)
	for i := 0; i < n; i++ {
		if p[i] != '\r' {
			continue
		}
		var next byte
		if i+1 < n {
			next = p[i+1]
		} else if off+int64(i)+1 < c.size {
			var b [1]byte
			if k, _ := c.src.ReadAt(b[:], off+int64(i)+1); k == 1 {
				next = b[0]
			}
		} else {
			continue // a CR at the very end: no line follows
		}
		if next != '\n' {
			p[i] = '\n'
		}
	}
	return n, err
}

// hasLoneCR reports whether b holds a CR not followed by LF (a CR at the
// end of b, which may be followed by LF in the next read, does not count).
func hasLoneCR(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 || i == len(b)-1 {
			return false
		}
		if b[i+1] != '\n' {
			return true
		}
		b = b[i+2:]
	}
}

// buildAlt builds the alternative reading of p for the readers g: the
// bytes of p walked again the way they read them.
func (w *walker) buildAlt(p *Part, g Readers, defType string) {
	u := w.u
	dropReaders(p, g)
	size := p.end - p.hs
	switch {
	case u.rewalked+size > u.rewalkMax:
		p.unscannable(KindLimit, "readings: the reading of %s not built (%d bytes walked again in all)", g, u.rewalked)
		return
	case u.nparts >= u.lim.MaxParts:
		p.unscannable(KindLimit, "more than %d parts", u.lim.MaxParts)
		return
	}
	u.nparts++
	u.rewalked += size
	a := &Part{Path: p.altPath(), Origin: p.Origin, Depth: p.Depth, src: p.src}
	d := dialectOf(g.primary())
	lsrc, cr := w.lsrc, w.cr
	if d.crLines && !cr {
		lsrc, cr = crSource{src: w.lsrc, size: w.size}, true
	}
	sub := u.newWalker(w.src, lsrc, w.size, p.hs, p.end, w.raw, g, cr)
	sub.parseEntity(a, defType)
	if sub.lr.err != nil && u.ioErr == nil {
		u.ioErr = sub.lr.err
	}
	p.Alternatives = append(p.Alternatives, a)
}

// altPath is the path of p's next alternative: numbers are never reused,
// also when a reading is dropped.
func (p *Part) altPath() string {
	p.nalt++
	return p.Path + "~" + strconv.Itoa(p.nalt)
}

// settle ends the first pass over a walked tree: alternatives left
// without readers (built for readers that, later in the walk, turned out
// to read an enclosing entity differently, and have an alternative
// there) are removed, and the leaves of alternatives that are the same
// as leaves of other readings point to them (sameAs).
func settle(p *Part) {
	if len(p.Children) > 0 && p.Children[len(p.Children)-1].Origin == OriginInner {
		// ripmime's reading around a multipart's parts (ripOuter), left
		// without its reader when that reader reads an enclosing entity
		// otherwise (its alternative has its own).
		kids := p.Children[:0]
		for _, c := range p.Children {
			if c.Origin != OriginInner || c.Readers != 0 {
				kids = append(kids, c)
			}
		}
		p.Children = kids
	}
	alts := p.Alternatives[:0]
	for _, a := range p.Alternatives {
		if a.Readers != 0 {
			alts = append(alts, a)
		}
	}
	p.Alternatives = alts
	for _, c := range p.Children {
		settle(c)
	}
	for _, a := range p.Alternatives {
		settle(a)
	}
	var back Readers
	all := p.Alternatives
	p.Alternatives = nil // the kept ones, which sameAs indexes
	alts = nil
	for _, a := range all {
		sameAs(p, a)
		if trivial(a) {
			// Those readers see nothing here that the others do not:
			// they are counted with p, so that a benign oddity does not
			// make the message ambiguous.
			back |= a.Readers
			continue
		}
		alts = append(alts, a)
		p.Alternatives = alts
	}
	p.Alternatives = alts
	if back != 0 {
		addReaders(p, back)
	}
}

// trivial reports an alternative that holds nothing of its own: each of
// its leaves is the same as a leaf of another reading, or empty and
// nameless.
func trivial(a *Part) bool {
	if a.Same != "" {
		return true
	}
	if !a.Container && !(a.end == a.bs && a.Name == "") || a.embedded || len(a.Alternatives) > 0 {
		return false
	}
	for _, c := range a.Children {
		if !trivial(c) {
			return false
		}
	}
	return true
}

// addReaders adds g to the readers of p's subtree (not its alternatives).
func addReaders(p *Part, g Readers) {
	for _, a := range p.Alternatives {
		g &^= a.Readers // they read p otherwise
	}
	p.Readers |= g
	for _, c := range p.Children {
		addReaders(c, g)
	}
}

// leafKey identifies a leaf by its bytes and how they are read.
type leafKey struct {
	hs, bs, end int64
	dec         string
	embedded    bool
	text        bool
}

func keyOf(p *Part) leafKey {
	return leafKey{p.hs, p.bs, p.end, p.dec, p.embedded, p.DeclaredType == "text/plain"}
}

// sameAs makes the leaves of alternative a that are leaves of p's other
// readings (the same bytes read the same way) point to them: their
// readers and names go to that part, and they are not listed or decoded
// again.
func sameAs(p, a *Part) {
	idx := map[leafKey]*Part{}
	var index func(q *Part)
	index = func(q *Part) {
		if q.Same != "" {
			return
		}
		if !q.Container {
			if _, ok := idx[keyOf(q)]; !ok {
				idx[keyOf(q)] = q
			}
		}
		for _, c := range q.Children {
			index(c)
		}
		for _, x := range q.Alternatives {
			if x == a {
				break
			}
			index(x) // p's: only the readings kept before a
		}
	}
	index(p)
	if !a.Container {
		// a is a leaf of its own: it differs from p, or it would not
		// have been built, unless only its type differs.
		if t := idx[keyOf(a)]; t == p {
			a.Same = p.Path
			p.Readers |= a.Readers
			for _, n := range a.Names {
				p.addName(n)
			}
		}
		return
	}
	var match func(q *Part)
	match = func(q *Part) {
		if !q.Container {
			if t := idx[keyOf(q)]; t != nil && t != q {
				q.Same = t.Path
				t.Readers |= q.Readers
				for _, n := range q.Names {
					t.addName(n)
				}
				return
			}
		}
		for _, c := range q.Children {
			match(c)
		}
		for _, x := range q.Alternatives {
			match(x)
		}
	}
	match(a)
}

// decodeVariants builds the alternative contents of leaf p where readers
// decode its body differently: base64 that goes on after its padding
// (dialect.b64) and quoted-printable with "=" before a lone CR
// (dialect.qpCR, crLines). Each distinct content becomes an alternative
// leaf for the readers that decode it so; p keeps the readers that decode
// it as unpack did.
func (u *unpacker) decodeVariants(p *Part, b64 *base64Writer, qp *qpWriter, uuLoose bool) error {
	type variant struct {
		mode int
		g    Readers
	}
	var vs []variant
	add := func(mode int, x Readers) {
		for i := range vs {
			if vs[i].mode == mode {
				vs[i].g |= x
				return
			}
		}
		vs = append(vs, variant{mode, x})
	}
	switch {
	case b64 != nil && b64.afterEq > 0:
		p.Readers.each(func(x Readers) {
			if m := dialectOf(x).b64; m != b64Continue {
				add(m, x)
			}
		})
	case qp != nil && qp.loneCR > 0:
		p.Readers.each(func(x Readers) {
			if d := dialectOf(x); d.qpCR || d.crLines {
				add(1, x)
			}
		})
	case uuLoose:
		p.Readers.each(func(x Readers) {
			if dialectOf(x).uuLoose {
				add(1, x)
			}
		})
	}
	if len(vs) == 0 {
		return nil
	}
	base, err := contentHash(p)
	if err != nil {
		return err
	}
	first := len(p.Alternatives)
	seen := map[string]*Part{base: p}
	for _, v := range vs {
		if u.nparts >= u.lim.MaxParts {
			p.unscannable(KindLimit, "more than %d parts", u.lim.MaxParts)
			return nil
		}
		a := &Part{Path: p.altPath(), Origin: p.Origin, Depth: p.Depth,
			DeclaredType: p.DeclaredType, Name: p.Name, SafeName: p.SafeName, Names: p.Names, Charset: p.Charset,
			Encoding: p.Encoding, Disposition: p.Disposition, Readers: v.g, src: p.src,
			hs: p.hs, bs: p.bs, end: p.end, dec: p.dec, embedded: p.embedded, decoded: true}
		s := u.newSink(a, -1)
		if s.h == nil {
			s.h = sha256.New()
		}
		body := io.NewSectionReader(p.src, p.bs, p.end-p.bs)
		var err error
		switch {
		case uuLoose:
			_, err = uuDecodeBody(body, s, a, true)
		case b64 != nil:
			err = decodeBase64Mode(v.mode, body, s)
		default:
			q := &qpWriter{w: s}
			_, err = u.copy(&crlfWriter{w: q}, body)
			if err == nil {
				err = q.Close()
			}
		}
		if err != nil && !errors.Is(err, errSinkFull) && u.ioErr == nil && s.err == nil {
			return fmt.Errorf("reading part %s: %w", p.Path, err)
		}
		s.finish()
		if u.ioErr != nil {
			return u.ioErr
		}
		if u.noHash && a.SHA256 == "" {
			a.SHA256 = hex.EncodeToString(s.h.Sum(nil))
		}
		if t := seen[a.SHA256]; t != nil {
			if t != p {
				t.Readers |= v.g
				p.Readers &^= v.g
			}
			continue
		}
		u.nparts++
		seen[a.SHA256] = a
		p.Readers &^= v.g
		a.addProblem(KindAmbiguous, "readers decode the body differently (%s)", p.dec)
		p.Alternatives = append(p.Alternatives, a)
	}
	if p.Readers == 0 && len(p.Alternatives) > first {
		// None of p's readers decodes as unpack first did: p takes the
		// content of the first variant instead of holding one no
		// reader sees.
		a := p.Alternatives[first]
		p.Alternatives = append(p.Alternatives[:first], p.Alternatives[first+1:]...)
		p.content, p.Size, p.SHA256, p.DetectedType, p.head = a.content, a.Size, a.SHA256, a.DetectedType, a.head
		p.Readers = a.Readers
		u.nparts--
	}
	if len(p.Alternatives) > first {
		p.addProblem(KindAmbiguous, "readers decode the body differently (%s)", p.dec)
	}
	return nil
}

// contentHash is the hex SHA-256 of p's content (computed when Unpack
// did not).
func contentHash(p *Part) (string, error) {
	if p.SHA256 != "" {
		return p.SHA256, nil
	}
	r, err := p.Open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// decodeBase64Mode decodes base64 the way the readers of mode do at "="
// (b64StopPad: Python's binascii without strict mode, which ends at
// complete padding and skips a stray "="; b64StopEq: the first "=" ends
// the data, as in ripmime and munpack). Characters outside the alphabet
// are skipped.
func decodeBase64Mode(mode int, r io.Reader, w io.Writer) error {
	br := bufio.NewReaderSize(r, 32<<10)
	out := make([]byte, 0, 32<<10)
	var acc uint32
	quad, pads := 0, 0
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		_, err := w.Write(out)
		out = out[:0]
		return err
	}
	partial := func() {
		switch quad {
		case 2:
			out = append(out, byte(acc>>4))
		case 3:
			out = append(out, byte(acc>>10), byte(acc>>2))
		}
	}
	for {
		c, err := br.ReadByte()
		if err != nil {
			if err == io.EOF {
				partial()
				return flush()
			}
			return err
		}
		if c == '=' {
			if mode == b64StopEq {
				partial()
				return flush()
			}
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					partial()
					return flush()
				}
			}
			continue
		}
		v := b64val[c]
		if v == 0xff {
			continue
		}
		pads = 0
		acc = acc<<6 | uint32(v)
		quad++
		if quad == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, quad = 0, 0
			if len(out) >= cap(out)-3 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
}

// crlfWriter turns every lone CR into CRLF: the line breaks of a reader
// that ends lines at a lone CR.
type crlfWriter struct {
	w   io.Writer
	cr  bool
	buf []byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for _, b := range p {
		if c.cr && b != '\n' {
			c.buf = append(c.buf, '\n')
		}
		c.buf = append(c.buf, b)
		c.cr = b == '\r'
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// parseFieldsLenient splits a header the way ripmime and munpack read it:
// a line without a colon is skipped, and a line with leading white space
// continues a field only right after one (after a skipped line it is a
// field of its own); a field name may be followed by white space. Linear
// in the size of the header, like parseFields, and stopped the same way.
func parseFieldsLenient(raw []byte, stop func() bool) ([]field, bool) {
	var fields []field
	var val []byte
	flush := func() {
		if n := len(fields); n > 0 {
			fields[n-1].value = string(bytes.TrimSpace(val))
			fields[n-1].trailWS = len(val) > 0 && (val[len(val)-1] == ' ' || val[len(val)-1] == '\t')
			fields[n-1].lead = len(val) > 0 && (val[0] == ' ' || val[0] == '\t')
		}
	}
	prevField := false
	for nline := 1; len(raw) > 0; nline++ {
		if nline&1023 == 0 && stop != nil && stop() {
			flush()
			return fields, false
		}
		line := raw
		if i := indexNL(raw); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if len(fields) > 0 && prevField {
				val = append(val, line...)
				continue
			}
			line = bytes.TrimLeft(line, " \t")
		}
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			prevField = false
			continue
		}
		prevField = true
		flush()
		fields = append(fields, field{name: strings.ToLower(strings.TrimSpace(string(line[:i])))})
		val = append(val[:0], line[i+1:]...)
	}
	flush()
	return fields, true
}
