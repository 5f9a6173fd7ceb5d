package differential

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// allTricks lists every trick of issue 11's families. A trick's name is
// "family-what"; it is part of the known-leaks and regression file names.
var allTricks = []trick{
	// Headers.
	{famHeader, "header-dup-ct", stageHeader, func(r *rand.Rand, m *msg) bool {
		// A second Content-Type on the payload (text/plain), before or after.
		h := "Content-Type: text/plain; charset=us-ascii"
		if r.IntN(2) == 0 {
			m.pay.pre = append(m.pay.pre, h)
		} else {
			m.pay.post = append(m.pay.post, h)
		}
		return true
	}},
	{famHeader, "header-dup-ct-root", stageHeader, func(r *rand.Rand, m *msg) bool {
		h := pick(r, []string{"Content-Type: text/plain; charset=us-ascii", "Content-Type: multipart/mixed; boundary=\"other-boundary\""})
		if r.IntN(2) == 0 {
			m.root.pre = append(m.root.pre, h)
		} else {
			m.root.post = append(m.root.post, h)
		}
		return true
	}},
	{famHeader, "header-dup-cte", stageHeader, func(r *rand.Rand, m *msg) bool {
		if m.pay.cte == "" {
			return false
		}
		h := "Content-Transfer-Encoding: " + pick(r, []string{"7bit", "8bit", "binary", "quoted-printable"})
		if r.IntN(2) == 0 {
			m.pay.pre = append(m.pay.pre, h)
		} else {
			m.pay.post = append(m.pay.post, h)
		}
		return true
	}},
	{famHeader, "header-dup-cd", stageHeader, func(r *rand.Rand, m *msg) bool {
		h := pick(r, []string{"Content-Disposition: inline", "Content-Disposition: attachment; filename=" + quote(m.decoy)})
		if r.IntN(2) == 0 {
			m.pay.pre = append(m.pay.pre, h)
		} else {
			m.pay.post = append(m.pay.post, h)
		}
		return true
	}},
	{famHeader, "header-encoded-word", stageHeader, func(r *rand.Rand, m *msg) bool {
		switch r.IntN(4) {
		case 0:
			m.root.ctType = "=?us-ascii?Q?multipart/mixed?="
		case 1:
			if m.pay.cte == "" {
				return false
			}
			m.pay.cte = "=?us-ascii?Q?" + m.pay.cte + "?="
		case 2:
			m.pay.ctType = "=?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte(m.pay.ctType)) + "?="
		default:
			// An encoded word inside quotes, where RFC 2047 does not apply.
			w := "=?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte(m.name)) + "?="
			m.pay.cdParams = setParam(m.pay.cdParams, "filename", "filename="+quote(w))
			m.pay.ctParams = setParam(m.pay.ctParams, "name", "name="+quote(m.decoy))
		}
		return true
	}},
	{famHeader, "header-comment", stageHeader, func(r *rand.Rand, m *msg) bool {
		switch r.IntN(4) {
		case 0:
			m.root.ctType = pick(r, []string{"multipart/mixed (x)", "multipart/(x)mixed", "(x) multipart/mixed"})
		case 1:
			if m.pay.cte == "" {
				return false
			}
			m.pay.cte = pick(r, []string{"(x) ", "(x)"}) + m.pay.cte + pick(r, []string{"", " (yes)"})
		case 2:
			m.pay.cdType = pick(r, []string{"attachment (c)", "(c)attachment"})
		default:
			for i, p := range m.pay.cdParams {
				m.pay.cdParams[i] = "(c) " + p
			}
			for i, p := range m.root.ctParams {
				if strings.HasPrefix(p, "boundary=") {
					m.root.ctParams[i] = "boundary=(c)" + strings.TrimPrefix(p, "boundary=")
				}
			}
		}
		return true
	}},
	{famHeader, "header-quoting", stageHeader, func(r *rand.Rand, m *msg) bool {
		switch r.IntN(5) {
		case 0:
			m.pay.cdParams = setParam(m.pay.cdParams, "filename", "filename="+`"`+m.name)
		case 1:
			m.pay.cdParams = setParam(m.pay.cdParams, "filename", "filename="+`"`+strings.ReplaceAll(m.name, ".", `\.`)+`"`)
		case 2:
			m.pay.cdParams = setParam(m.pay.cdParams, "filename", "filename='"+m.name+"'")
		case 3:
			i := strings.LastIndexByte(m.name, '.')
			m.pay.cdParams = setParam(m.pay.cdParams, "filename", "filename="+quote(m.name[:i])+m.name[i:])
		default:
			m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary="+`"`+m.root.boundary)
		}
		return true
	}},
	{famHeader, "header-space-eq", stageHeader, func(r *rand.Rand, m *msg) bool {
		sep := pick(r, []string{" = ", "=\n ", " =\n\t", "\n =", "=\t"})
		if r.IntN(2) == 0 {
			m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary"+sep+quote(m.root.boundary))
		} else {
			m.pay.cdParams = setParam(m.pay.cdParams, "filename", "filename"+sep+quote(m.name))
			m.pay.ctParams = setParam(m.pay.ctParams, "name", "name"+sep+quote(m.name))
		}
		return true
	}},
	{famHeader, "header-bare-cr", stageHeader, func(r *rand.Rand, m *msg) bool {
		// The real header hides behind a bare CR on a harmless line; the
		// visible one says text/plain.
		n := m.pay
		if r.IntN(2) == 0 {
			n = m.root
		}
		n.hideCT = func(line string) string {
			return "Content-Type: text/plain; charset=us-ascii\n" + "X-Note: ok\r" + line
		}
		return true
	}},
	{famHeader, "header-junk-continuation", stageHeader, func(r *rand.Rand, m *msg) bool {
		n := m.pay
		if r.IntN(2) == 0 {
			n = m.root
		}
		junk := pick(r, []string{"X-Junk: x\n ", "this line is no header\n ", "X-Junk:\n\t"})
		n.hideCT = func(line string) string { return junk + line }
		return true
	}},

	// Parameters.
	{famParam, "param-name-vs-filename", stageHeader, func(r *rand.Rand, m *msg) bool {
		switch r.IntN(3) {
		case 0:
			m.pay.ctParams = setParam(m.pay.ctParams, "name", "name="+quote(m.name))
			m.pay.cdParams = setParam(m.pay.cdParams, "filename", "filename="+quote(m.decoy))
		case 1:
			m.pay.ctParams = setParam(m.pay.ctParams, "name", "name="+quote(m.decoy))
			m.pay.cdParams = setParam(m.pay.cdParams, "filename", "filename="+quote(m.name))
		default:
			m.pay.cdParams = dropParam(m.pay.cdParams, "filename")
			m.pay.cdType = pick(r, []string{"attachment", "inline", ""})
		}
		return true
	}},
	{famParam, "param-rfc2231-charset", stageHeader, func(r *rand.Rand, m *msg) bool {
		var v string
		switch cs := pick(r, []string{"utf-8", "us-ascii", "utf-16", "utf-16le", "utf-16be", "utf-7", "iso-8859-1", "x-unknown"}); cs {
		case "utf-16":
			v = cs + "''" + pctEncode(utf16Bytes(m.name, r.IntN(2) == 0, true))
		case "utf-16le":
			v = cs + "''" + pctEncode(utf16Bytes(m.name, false, false))
		case "utf-16be":
			v = cs + "''" + pctEncode(utf16Bytes(m.name, true, false))
		case "utf-7":
			v = cs + "''" + pctEncode([]byte(utf7(m.name)))
		default:
			v = cs + "'" + pick(r, []string{"", "en"}) + "'" + pctEncode([]byte(m.name))
		}
		key := pick(r, []string{"filename", "name"})
		list := &m.pay.cdParams
		if key == "name" {
			list = &m.pay.ctParams
		}
		plain := key + "=" + quote(m.decoy)
		*list = dropParam(*list, key)
		*list = append(*list, order(r, plain, key+"*="+v)...)
		return true
	}},
	{famParam, "param-rfc2231-sections", stageHeader, func(r *rand.Rand, m *msg) bool {
		i := 1 + r.IntN(len(m.name)-1)
		a, b := m.name[:i], m.name[i:]
		var secs []string
		switch r.IntN(5) {
		case 0: // out of order
			secs = []string{"filename*1=" + quote(b), "filename*0=" + quote(a)}
		case 1: // duplicated
			secs = []string{"filename*0=" + quote(m.decoy), "filename*0=" + quote(a), "filename*1=" + quote(b)}
		case 2: // missing
			secs = []string{"filename*0=" + quote(a), "filename*2=" + quote(b)}
		case 3: // encoded and plain mixed
			secs = []string{"filename*0*=utf-8''" + pctEncode([]byte(a)), "filename*1=" + quote(b)}
		default: // in order
			secs = []string{"filename*0=" + quote(a), "filename*1=" + quote(b)}
		}
		m.pay.cdParams = dropParam(m.pay.cdParams, "filename")
		if r.IntN(2) == 0 {
			m.pay.cdParams = append(m.pay.cdParams, "filename="+quote(m.decoy))
		}
		m.pay.cdParams = append(m.pay.cdParams, secs...)
		if r.IntN(2) == 0 {
			m.pay.ctParams = setParam(m.pay.ctParams, "name", "name="+quote(m.decoy))
		}
		return true
	}},
	{famParam, "param-duplicate", stageHeader, func(r *rand.Rand, m *msg) bool {
		switch r.IntN(3) {
		case 0:
			m.pay.cdParams = dropParam(m.pay.cdParams, "filename")
			m.pay.cdParams = append(m.pay.cdParams, order(r, "filename="+quote(m.decoy), "filename="+quote(m.name))...)
		case 1:
			m.pay.ctParams = dropParam(m.pay.ctParams, "name")
			m.pay.ctParams = append(m.pay.ctParams, order(r, "name="+quote(m.decoy), "name="+quote(m.name))...)
			m.pay.cdParams = dropParam(m.pay.cdParams, "filename")
		default:
			// Two boundaries: the body uses one of them.
			m.root.ctParams = dropParam(m.root.ctParams, "boundary")
			m.root.ctParams = append(m.root.ctParams, order(r, "boundary="+quote(m.root.boundary), "boundary=\"decoy-boundary\"")...)
		}
		return true
	}},

	// Boundaries.
	{famBoundary, "boundary-never-found", stageStructure, func(r *rand.Rand, m *msg) bool {
		decl := pick(r, []string{"not-" + m.root.boundary, strings.ToUpper(m.root.boundary), m.root.boundary + "x"})
		m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary="+quote(decl))
		return true
	}},
	{famBoundary, "boundary-empty", stageStructure, func(r *rand.Rand, m *msg) bool {
		m.root.ctParams = setParam(m.root.ctParams, "boundary", pick(r, []string{`boundary=""`, "boundary="}))
		m.root.boundary = ""
		return true
	}},
	{famBoundary, "boundary-odd-quote", stageStructure, func(r *rand.Rand, m *msg) bool {
		b := m.root.boundary
		switch r.IntN(4) {
		case 0:
			m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary='"+b+"'")
			if r.IntN(2) == 0 {
				m.root.boundary = "'" + b + "'"
			}
		case 1:
			m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary="+quote(b)+"x")
		case 2:
			m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary="+b+`"`)
		default:
			m.root.ctParams = setParam(m.root.ctParams, "boundary", `boundary="\`+b+`"`)
		}
		return true
	}},
	{famBoundary, "boundary-trailing-space", stageStructure, func(r *rand.Rand, m *msg) bool {
		b := m.root.boundary
		sp := pick(r, []string{" ", "\t", "  "})
		switch r.IntN(3) {
		case 0:
			m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary="+quote(b+sp))
		case 1:
			m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary="+quote(b+sp))
			m.root.boundary = b + sp
		default:
			m.root.pad = sp
		}
		return true
	}},
	{famBoundary, "boundary-prefix", stageStructure, func(r *rand.Rand, m *msg) bool {
		outer := m.root.boundary
		if r.IntN(2) == 0 {
			m.nest(outer + "-inner")
		} else {
			// The outer boundary extends the inner one.
			m.nest(outer)
			m.root.boundary = outer + "-outer"
			m.root.ctParams = setParam(m.root.ctParams, "boundary", "boundary="+quote(m.root.boundary))
		}
		return true
	}},
	{famBoundary, "boundary-longer-line", stageStructure, func(r *rand.Rand, m *msg) bool {
		// The delimiter before the payload goes on with more text.
		for i, k := range m.root.kids {
			if k == m.pay || k == m.parent {
				if m.root.delimFor == nil {
					m.root.delimFor = map[int]string{}
				}
				m.root.delimFor[i] = m.root.boundary + pick(r, []string{"x", "-more", " not a delimiter", "--x"})
			}
		}
		return true
	}},
	{famBoundary, "boundary-close-reused", stageStructure, func(r *rand.Rand, m *msg) bool {
		m.nest(m.root.boundary + "--")
		return true
	}},
	{famBoundary, "boundary-no-close", stageStructure, func(r *rand.Rand, m *msg) bool {
		m.root.noClose = true
		if r.IntN(2) == 0 {
			m.nest("inner-" + m.root.boundary).noClose = true
		}
		return true
	}},
	{famBoundary, "boundary-cte-on-multipart", stageStructure, func(r *rand.Rand, m *msg) bool {
		m.root.cte = pick(r, []string{"base64", "quoted-printable", "x-uuencode"})
		if m.root.cte == "base64" && r.IntN(2) == 0 {
			m.root.encodeMP = "base64"
		}
		return true
	}},
	{famBoundary, "boundary-multipart-one-body", stageStructure, func(r *rand.Rand, m *msg) bool {
		// The payload part says multipart but is one body.
		m.pay.ctType = pick(r, []string{"multipart/mixed", "multipart/alternative"})
		m.pay.ctParams = append(m.pay.ctParams, "boundary=\"never-used\"")
		return true
	}},
	{famBoundary, "boundary-single-holds-parts", stageStructure, func(r *rand.Rand, m *msg) bool {
		// The root says one body (keeping its boundary parameter or not)
		// but holds delimited parts.
		m.root.ctType = pick(r, []string{"text/plain", "application/octet-stream"})
		if r.IntN(2) == 0 {
			m.root.ctParams = dropParam(m.root.ctParams, "boundary")
		}
		return true
	}},

	// Transfer encodings.
	{famCTE, "cte-misspelt", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		m.pay.cte = pick(r, []string{"base-64", "bas64", "BASE64", "Base64 ", "base64x", "b64", "x-base64", "base64;"})
		return true
	}},
	{famCTE, "cte-unknown", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		m.pay.cte = pick(r, []string{"x-foo", "8bit", "binary", "7bit", "quoted-printable", ""})
		return true
	}},
	{famCTE, "cte-repeated", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		m.pay.cte = pick(r, []string{"base64, base64", "base64 base64", "7bit; base64", "base64, 7bit", "quoted-printable base64"})
		return true
	}},
	{famCTE, "cte-b64-after-padding", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		if r.IntN(2) == 0 {
			m.pay.body = append([]byte(pick(r, []string{"SGk=", "SGVsbG8=", "QQ=="})+"\n"), b64Lines(m.data)...)
		} else {
			k := 1 + r.IntN(len(m.data)-1)
			if k%3 == 0 {
				k++
			}
			m.pay.body = append(b64Lines(m.data[:k]), b64Lines(m.data[k:])...)
		}
		return true
	}},
	{famCTE, "cte-b64-lone-eq", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		lines := splitLines(m.pay.body)
		i := r.IntN(len(lines))
		if r.IntN(2) == 0 {
			lines = append(lines[:i], append([][]byte{[]byte("=\n")}, lines[i:]...)...)
		} else {
			l := lines[i]
			j := r.IntN(len(l))
			lines[i] = append(append(append([]byte(nil), l[:j]...), '='), l[j:]...)
		}
		m.pay.body = bytes.Join(lines, nil)
		return true
	}},
	{famCTE, "cte-b64-junk", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		lines := splitLines(m.pay.body)
		i := r.IntN(len(lines))
		if r.IntN(2) == 0 {
			lines = append(lines[:i], append([][]byte{[]byte(pick(r, []string{"---- junk ----\n", "!!\n", "*\n", ". \n"}))}, lines[i:]...)...)
		} else {
			l := lines[i]
			j := r.IntN(len(l))
			lines[i] = append(append(append([]byte(nil), l[:j]...), pick(r, []string{"!", "*", "-", ".", " ", "\x00"})...), l[j:]...)
		}
		m.pay.body = bytes.Join(lines, nil)
		return true
	}},
	{famCTE, "cte-qp-eq-cr", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		m.enc = "qp"
		m.pay.cte = "quoted-printable"
		m.pay.body = qpEncode(r, m.data, func() string { return pick(r, []string{"=\r", "=\r\n", "=\n", "= \n", "=\r\r\n"}) })
		return true
	}},
	{famCTE, "cte-uuencode-in-text", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		m.enc = "uu"
		begin := pick(r, []string{"begin 644 %s", "begin 0644 %s", "begin  644  %s", " begin 644 %s", "BEGIN 644 %s", "begin 9999 %s", "begin 644 %s ", "begin %s", "begin 644\t%s"})
		body := "Here it is:\n\n" + fmt.Sprintf(begin, m.name) + "\n" + string(uuEncode(m.data))
		m.pay.body = []byte(body)
		m.pay.cdType, m.pay.cdParams = "", nil
		switch r.IntN(3) {
		case 0: // a text part
			m.pay.ctType, m.pay.ctParams, m.pay.cte = "text/plain", []string{"charset=us-ascii"}, pick(r, []string{"", "7bit"})
		case 1: // in the text part itself
			m.text.body = append(append([]byte(nil), m.text.body...), m.pay.body...)
			m.removePay()
		default: // declared as uuencode
			m.pay.body = []byte(fmt.Sprintf(begin, m.name) + "\n" + string(uuEncode(m.data)))
			m.pay.cte = pick(r, []string{"x-uuencode", "uuencode", "x-uue", "uue"})
		}
		return true
	}},
	{famCTE, "cte-yenc-in-text", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.enc != "base64" {
			return false
		}
		m.enc = "yenc"
		head := pick(r, []string{"=ybegin line=128 size=%d name=%s\n", "=ybegin size=%d line=128 name=%s\n", "=ybegin  line=128 size=%d name=%s \n"})
		body := "Here it is:\n" + fmt.Sprintf(head, len(m.data), m.name) + string(yEncode(m.data)) + fmt.Sprintf("=yend size=%d\n", len(m.data))
		m.pay.ctType, m.pay.ctParams, m.pay.cte = "text/plain", []string{"charset=iso-8859-1"}, pick(r, []string{"", "8bit"})
		m.pay.cdType, m.pay.cdParams = "", nil
		m.pay.body = []byte(body)
		return true
	}},

	// Line ends and bodies.
	{famBody, "body-bare-cr", stageBytes, func(r *rand.Rand, m *msg) bool {
		whole := r.IntN(2) == 0
		m.post = append(m.post, func(b []byte) []byte {
			from := 0
			if !whole {
				from = bytes.Index(b, []byte("\n\n")) + 1
			}
			return eol(b, from, func() string { return "\r" })
		})
		return true
	}},
	{famBody, "body-mixed-eol", stageBytes, func(r *rand.Rand, m *msg) bool {
		rr := rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
		m.post = append(m.post, func(b []byte) []byte {
			return eol(b, 0, func() string { return pick(rr, []string{"\n", "\r\n", "\r\n", "\r"}) })
		})
		return true
	}},
	{famBody, "body-crlf", stageBytes, func(r *rand.Rand, m *msg) bool {
		m.post = append(m.post, func(b []byte) []byte { return eol(b, 0, func() string { return "\r\n" }) })
		return true
	}},
	{famBody, "body-no-blank-line", stageStructure, func(r *rand.Rand, m *msg) bool {
		if r.IntN(3) == 0 {
			m.text.noBlank = true
		}
		m.pay.noBlank = true
		return true
	}},
	{famBody, "body-zip-junk-in-front", stageEncoding, func(r *rand.Rand, m *msg) bool {
		if m.kind != kindZip || m.enc != "base64" {
			return false
		}
		junk := make([]byte, 1+r.IntN(600))
		for i := range junk {
			junk[i] = byte(r.IntN(256))
		}
		if r.IntN(2) == 0 {
			junk = append(exeStub(), junk...)
		}
		m.data = append(junk, m.data...)
		m.pay.body = b64Lines(m.data)
		return true
	}},
}

var trickByName = func() map[string]trick {
	out := map[string]trick{}
	for _, t := range allTricks {
		if _, dup := out[t.name]; dup || !strings.HasPrefix(t.name, t.family+"-") {
			panic(fmt.Sprintf("trick %q: duplicate, or not named after its family", t.name))
		}
		out[t.name] = t
	}
	return out
}()

// removePay drops the payload part (its content lives elsewhere now).
func (m *msg) removePay() {
	var kids []*node
	for _, k := range m.parent.kids {
		if k != m.pay {
			kids = append(kids, k)
		}
	}
	m.parent.kids = kids
	m.pay = &node{}
}
