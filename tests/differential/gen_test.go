package differential

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/scandeliver/scandeliver/scan/builtin"
)

// The generator: a seed picks a payload (EICAR, an .exe, or a zip holding
// EICAR), a primary trick family, one or two tricks of that family and
// sometimes one of another, and renders a message that hides the payload
// behind them. Every trick draws from its own random stream (seed, trick
// name), so that a message rebuilt without one of its tricks keeps the
// others as they were: that is what shrinking relies on.

// Payload kinds.
const (
	kindEicar = "eicar"
	kindExe   = "exe"
	kindZip   = "zip"
)

var kinds = []string{kindEicar, kindExe, kindZip}

// Trick families, as issue 11 lists them.
const (
	famHeader   = "header"
	famParam    = "param"
	famBoundary = "boundary"
	famCTE      = "cte"
	famBody     = "body"
)

var families = []string{famHeader, famParam, famBoundary, famCTE, famBody}

// Stages order the tricks of a message: the encoding of the payload first,
// then the structure, then headers and parameters, then bytes.
const (
	stageEncoding = iota
	stageStructure
	stageHeader
	stageBytes
)

type trick struct {
	family, name string
	stage        int
	// apply changes m; it returns false (and must not have changed m) when
	// the trick does not apply to this message.
	apply func(r *rand.Rand, m *msg) bool
}

// node is a MIME entity before rendering. Headers are kept as fields so
// that several tricks can compose on the same header.
type node struct {
	ctType    string   // "multipart/mixed", "application/octet-stream"
	ctParams  []string // raw "name=value" parameters
	cdType    string   // "" = no Content-Disposition
	cdParams  []string
	cte       string   // "" = no Content-Transfer-Encoding
	pre, post []string // extra raw header lines before / after the usual ones
	hideCT    func(line string) string
	noBlank   bool // no empty line between header and body

	body []byte // leaf body, encoded, "\n" line ends

	kids     []*node
	boundary string         // delimiter lines use "--" + boundary
	delimFor map[int]string // delimiter boundary for kid i, when different
	pad      string         // after every delimiter
	noClose  bool
	preamble string
	epilogue string
	encodeMP string // "base64": the rendered multipart body is base64-encoded
}

type msg struct {
	seed    uint64
	kind    string
	family  string
	tricks  []string // applied, in order
	name    string   // the payload's file name
	decoy   string   // a harmless file name
	data    []byte   // the payload's bytes
	enc     string   // how the payload body is encoded: base64, qp, uu, yenc
	root    *node
	text    *node // the text part
	pay     *node // the payload part
	parent  *node // the multipart that holds pay
	headers []string
	post    []func([]byte) []byte // byte-level transforms, in order
}

// exeStub is the start of a DOS/PE executable: enough for `file` and for
// type sniffing to call it a program.
func exeStub() []byte {
	b := make([]byte, 0, 192)
	b = append(b, 'M', 'Z', 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0, 0xb8)
	for len(b) < 60 {
		b = append(b, 0)
	}
	b = append(b, 0x80, 0, 0, 0) // e_lfanew
	b = append(b, "\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$"...)
	for len(b) < 0x80 {
		b = append(b, 0)
	}
	b = append(b, 'P', 'E', 0, 0, 0x4c, 0x01, 1, 0)
	for len(b) < 192 {
		b = append(b, 0)
	}
	return b
}

// zipOf returns a stored zip holding name = data.
func zipOf(name string, data []byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	f.Write(data)
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

var (
	exeNames   = []string{"invoice.pdf.exe", "x.exe", "setup.exe"}
	eicarNames = []string{"notes.txt", "data.bin", "report.pdf"}
	zipNames   = []string{"files.zip", "scan.zip"}
)

func streamFor(seed uint64, label string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(label))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func b64Lines(data []byte) []byte {
	s := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s + "\n")
	return b.Bytes()
}

func quote(s string) string { return `"` + s + `"` }

// base builds the plain message for seed: the payload as a base64
// attachment next to a text part.
func base(seed uint64) *msg {
	r := streamFor(seed, "base")
	m := &msg{seed: seed, kind: pick(r, kinds), enc: "base64"}
	switch m.kind {
	case kindEicar:
		m.name, m.decoy, m.data = pick(r, eicarNames), "readme.txt", []byte(builtin.Eicar())
	case kindExe:
		m.name, m.decoy, m.data = pick(r, exeNames), "invoice.pdf", exeStub()
	case kindZip:
		m.name, m.decoy, m.data = pick(r, zipNames), "readme.txt", zipOf("eicar.txt", []byte(builtin.Eicar()))
	}
	b := fmt.Sprintf("=_%08x_%d", r.Uint32(), seed)
	m.headers = []string{
		"From: Alice Example <alice@example.org>",
		"To: bob@example.net",
		fmt.Sprintf("Subject: the file, seed %d", seed),
		"Date: Sat, 05 Dec 2026 10:00:00 +0000",
		fmt.Sprintf("Message-ID: <%d.diff@example.org>", seed),
		"MIME-Version: 1.0",
	}
	m.text = &node{ctType: "text/plain", ctParams: []string{"charset=us-ascii"}, body: []byte("Please find the file attached.\n")}
	m.pay = &node{
		ctType: "application/octet-stream", ctParams: []string{"name=" + quote(m.name)},
		cdType: "attachment", cdParams: []string{"filename=" + quote(m.name)},
		cte: "base64", body: b64Lines(m.data),
	}
	m.root = &node{ctType: "multipart/mixed", ctParams: []string{"boundary=" + quote(b)}, boundary: b,
		kids: []*node{m.text, m.pay}}
	m.parent = m.root
	return m
}

// generate builds the message for seed: base, then the tricks that seed
// picks (or, when names is not nil, exactly those tricks that apply).
func generate(seed uint64, names []string) *msg {
	m := base(seed)
	var chosen []trick
	if names == nil {
		r := streamFor(seed, "choose")
		m.family = pick(r, families)
		var own, other []trick
		for _, t := range allTricks {
			if t.family == m.family {
				own = append(own, t)
			} else {
				other = append(other, t)
			}
		}
		r.Shuffle(len(own), func(i, j int) { own[i], own[j] = own[j], own[i] })
		r.Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
		chosen = own[:1+r.IntN(2)]
		if r.IntN(5) < 2 {
			chosen = append(chosen, other[0])
		}
	} else {
		m.family = ""
		for _, n := range names {
			t, ok := trickByName[n]
			if !ok {
				panic("unknown trick " + n)
			}
			if m.family == "" {
				m.family = t.family
			}
			chosen = append(chosen, t)
		}
	}
	sort.SliceStable(chosen, func(i, j int) bool { return chosen[i].stage < chosen[j].stage })
	for _, t := range chosen {
		if t.apply(streamFor(seed, t.name), m) {
			m.tricks = append(m.tricks, t.name)
		}
	}
	if m.family == "" {
		m.family = famBody
	}
	return m
}

// render writes the message with "\n" line ends, then applies the
// byte-level transforms.
func (m *msg) render() []byte {
	var b bytes.Buffer
	for _, h := range m.headers {
		b.WriteString(h + "\n")
	}
	m.root.render(&b)
	out := b.Bytes()
	for _, f := range m.post {
		out = f(out)
	}
	return out
}

func (n *node) headerLines() []string {
	var lines []string
	lines = append(lines, n.pre...)
	if n.ctType != "" {
		ct := "Content-Type: " + strings.Join(append([]string{n.ctType}, n.ctParams...), "; ")
		if n.hideCT != nil {
			ct = n.hideCT(ct)
		}
		lines = append(lines, ct)
	}
	if n.cdType != "" {
		lines = append(lines, "Content-Disposition: "+strings.Join(append([]string{n.cdType}, n.cdParams...), "; "))
	}
	if n.cte != "" {
		lines = append(lines, "Content-Transfer-Encoding: "+n.cte)
	}
	return append(lines, n.post...)
}

func (n *node) render(b *bytes.Buffer) {
	for _, l := range n.headerLines() {
		b.WriteString(l + "\n")
	}
	if !n.noBlank {
		b.WriteString("\n")
	}
	if n.kids == nil {
		b.Write(n.body)
		return
	}
	var body bytes.Buffer
	body.WriteString(n.preamble)
	for i, k := range n.kids {
		bd := n.boundary
		if d, ok := n.delimFor[i]; ok {
			bd = d
		}
		if i > 0 || n.preamble != "" {
			body.WriteString("\n")
		}
		body.WriteString("--" + bd + n.pad + "\n")
		k.render(&body)
	}
	if !n.noClose {
		body.WriteString("\n--" + n.boundary + "--" + n.pad + "\n")
	}
	body.WriteString(n.epilogue)
	if n.encodeMP == "base64" {
		b.Write(b64Lines(body.Bytes()))
		return
	}
	b.Write(body.Bytes())
}

// nest moves the payload into a multipart of its own inside the root, with
// the given boundary, and returns that multipart.
func (m *msg) nest(boundary string) *node {
	if m.parent != m.root {
		return m.parent
	}
	inner := &node{ctType: "multipart/mixed", ctParams: []string{"boundary=" + quote(boundary)}, boundary: boundary,
		kids: []*node{{ctType: "text/plain", body: []byte("Inner text.\n")}, m.pay}}
	for i, k := range m.root.kids {
		if k == m.pay {
			m.root.kids[i] = inner
		}
	}
	m.parent = inner
	return inner
}

// setParam replaces the parameter called name in list (its first one).
func setParam(list []string, name, raw string) []string {
	for i, p := range list {
		if strings.HasPrefix(strings.ToLower(p), name+"=") {
			out := append([]string(nil), list[:i]...)
			out = append(out, raw)
			return append(out, list[i+1:]...)
		}
	}
	return append(list, raw)
}

func dropParam(list []string, name string) []string {
	var out []string
	for _, p := range list {
		if !strings.HasPrefix(strings.ToLower(p), name+"=") {
			out = append(out, p)
		}
	}
	return out
}

// order returns a and b in a random order.
func order(r *rand.Rand, a, b string) []string {
	if r.IntN(2) == 0 {
		return []string{a, b}
	}
	return []string{b, a}
}

func pctEncode(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, "%%%02X", c)
		}
	}
	return s.String()
}

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var b []byte
	u := utf16.Encode([]rune(s))
	if bom {
		u = append([]uint16{0xfeff}, u...)
	}
	for _, c := range u {
		if bigEndian {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

// utf7 encodes the dots of an ASCII name as UTF-7 would ("+AC4-").
func utf7(s string) string { return strings.ReplaceAll(s, ".", "+AC4-") }

func qpEncode(r *rand.Rand, data []byte, soft func() string) []byte {
	var b bytes.Buffer
	col := 0
	for _, c := range data {
		var t string
		switch {
		case c == '=' || c < 32 || c > 126:
			t = fmt.Sprintf("=%02X", c)
		default:
			t = string(c)
		}
		if col+len(t) > 70 || (col > 4 && r.IntN(24) == 0) {
			b.WriteString(soft())
			col = 0
		}
		b.WriteString(t)
		col += len(t)
	}
	b.WriteString("\n")
	return b.Bytes()
}

func uuEncode(data []byte) []byte {
	enc := func(c byte) byte {
		if c == 0 {
			return '`'
		}
		return c + 32
	}
	var b bytes.Buffer
	for len(data) > 0 {
		n := min(45, len(data))
		chunk := data[:n]
		data = data[n:]
		b.WriteByte(enc(byte(n)))
		for i := 0; i < n; i += 3 {
			var t [3]byte
			copy(t[:], chunk[i:min(i+3, n)])
			b.WriteByte(enc(t[0] >> 2))
			b.WriteByte(enc((t[0]<<4 | t[1]>>4) & 63))
			b.WriteByte(enc((t[1]<<2 | t[2]>>6) & 63))
			b.WriteByte(enc(t[2] & 63))
		}
		b.WriteByte('\n')
	}
	b.WriteString("`\nend\n")
	return b.Bytes()
}

func yEncode(data []byte) []byte {
	var b bytes.Buffer
	col := 0
	for _, c := range data {
		o := c + 42
		if o == 0 || o == '\n' || o == '\r' || o == '=' || ((o == ' ' || o == '\t' || o == '.') && col == 0) {
			b.WriteByte('=')
			o += 64
			col++
		}
		b.WriteByte(o)
		col++
		if col >= 128 {
			b.WriteByte('\n')
			col = 0
		}
	}
	if col > 0 {
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// eol rewrites every "\n" of b[from:] with what next returns.
func eol(b []byte, from int, next func() string) []byte {
	out := append([]byte(nil), b[:from]...)
	for _, c := range b[from:] {
		if c == '\n' {
			out = append(out, next()...)
		} else {
			out = append(out, c)
		}
	}
	return out
}
