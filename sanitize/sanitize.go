package sanitize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize/html"
	"github.com/scandeliver/scandeliver/unpack"
)

// Replacement renders the text that replaces a denied part. Rewrite calls
// it once per decision, with the part the decision is about (for an
// archive member, the member, not the MIME part that is replaced).
type Replacement func(p *unpack.Part, d rules.Decision) (text string, err error)

// Options configure Rewrite and Withheld. The zero value changes nothing
// but what the verdict asks for.
type Options struct {
	// DisarmHTML disarms every text/html part and HTML attachment with
	// package sanitize/html.
	DisarmHTML bool
	HTML       html.Options
	// SubjectTags are prepended to the Subject, each only when the
	// subject does not already hold it (RFC 2047 encoded when not ASCII).
	SubjectTags []string
	// Headers are complete header fields, already formatted, without line
	// ending, prepended to the output.
	Headers []string
	// Now gives the date of a withheld notice that lacks one (nil: time.Now).
	Now func() time.Time
	// SignatureText and SignatureHTML, when not empty, are added to a
	// clean message (Verdict.Status clean or empty): the text after a
	// "-- " line at the end of the first text/plain body part, the HTML
	// before </body> of the first text/html body part; each only when
	// the part does not hold it yet.
	SignatureText, SignatureHTML string
	// Disinfect delivers a zip or tar attachment whose denied parts are
	// all its own members rebuilt without them, followed by a text part
	// listing what was removed, instead of replacing it whole.
	Disinfect bool
	// Disarmed holds, by part path, what html.Disarm already gave for
	// that part's content with HTML (its Charset set to the part's): a
	// caller that disarmed the parts before deciding passes it here so
	// that the work is not done twice. Parts not in it are disarmed here.
	Disarmed map[string]Disarmed
	// Normalize writes the message anew in canonical form (see
	// normalize.go and the package doc): one boundary per multipart, one
	// transfer encoding and one name per part, the message's line
	// breaks throughout, with the verdict and the options applied.
	Normalize bool
}

// Disarmed is the outcome of html.Disarm on one part.
type Disarmed struct {
	Out    []byte
	Report html.Report
	Err    error
}

// Result says what Rewrite did.
type Result struct {
	// Changed is false when nothing but Headers was added: what Rewrite
	// wrote is then Headers followed by raw exactly, so the caller may as
	// well deliver the spool with Headers prepended.
	Changed           bool
	Replaced, Renamed []string    // part paths (the MIME parts replaced or renamed)
	HTML              html.Report // summed over the disarmed parts
	// HTMLUnscannable lists the HTML parts kept whole because the
	// disarmer gave up (budget, nesting, truncated content).
	HTMLUnscannable []string
	// Signed lists the parts a signature was added to.
	Signed []string
	// Disinfected lists the archive parts delivered rebuilt without
	// their denied members (Options.Disinfect).
	Disinfected []string
	// Canonical lists the parts written anew in canonical form, header
	// and body (an HTML part whose header could not be edited
	// faithfully).
	Canonical []string `json:",omitempty"`
	// Normalized: the message was written in canonical form
	// (Options.Normalize).
	Normalized bool `json:",omitempty"`

	// produced: what the rewrite wrote of its own, for Verify.
	produced produced
}

// maxHeader caps the raw header Rewrite reads into memory to rewrite it,
// the default of unpack's max_header_bytes.
const maxHeader = 1 << 20

// op is what Rewrite does to one part whose bytes are in the raw message.
type op struct {
	p       *unpack.Part
	replace []denied // non-empty: replace the part
	rename  string   // new name ("" none)
	html    bool     // disarm its body
	subject []string // root only: tags to add
	sig     []byte   // with sigBody: the part's new decoded content, signed
	sigBody bool     // a signature is to be added
	// freshType: a re-encoding writes Content-Type anew from unpack's
	// reading (type, name, charset=utf-8) instead of editing its
	// parameters (see reencodedHeader).
	freshType bool
}

type denied struct {
	p *unpack.Part
	d rules.Decision
}

// plan is the set of ops for one message, sorted by position.
type plan struct {
	ops []*op
	ix  index
}

// index gives each part's parent.
type index struct {
	byPath map[string]*unpack.Part
	parent map[*unpack.Part]*unpack.Part
	alt    map[*unpack.Part]bool // the root of an alternative reading
}

// inAlternative reports whether p is part of an alternative reading: its
// offsets are another reader's split of bytes the first reading covers.
func (ix index) inAlternative(p *unpack.Part) bool {
	for ; p != nil; p = ix.parent[p] {
		if ix.alt[p] {
			return true
		}
	}
	return false
}

func newIndex(m *unpack.Message) index {
	ix := index{byPath: map[string]*unpack.Part{}, parent: map[*unpack.Part]*unpack.Part{}, alt: map[*unpack.Part]bool{}}
	var walk func(p *unpack.Part)
	walk = func(p *unpack.Part) {
		ix.byPath[p.Path] = p
		for _, c := range p.Children {
			ix.parent[c] = p
			walk(c)
		}
		// Another reading of p's bytes (unpack's readings) has p's
		// parent; its parts are other readers' views of bytes we have.
		for _, a := range p.Alternatives {
			if q := ix.parent[p]; q != nil {
				ix.parent[a] = q
			}
			ix.alt[a] = true
			walk(a)
		}
	}
	if m.Root != nil {
		walk(m.Root)
	}
	return ix
}

// inRaw reports whether the part's bytes are in the raw message.
func inRaw(p *unpack.Part) bool { return p.HeaderStart >= 0 && p.End >= p.HeaderStart }

// rawAncestor returns p or its nearest ancestor whose bytes are in the raw
// message.
func (ix index) rawAncestor(p *unpack.Part) *unpack.Part {
	for p != nil && !inRaw(p) {
		p = ix.parent[p]
	}
	return p
}

// isHTML reports whether a part is to be disarmed: declared text/html,
// or named and sniffed as HTML (an HTML attachment a browser would open).
// A text/plain body that merely looks like HTML is left alone: clients
// show it as text.
func isHTML(p *unpack.Part) bool {
	if p.Container || !inRaw(p) {
		return false
	}
	if p.DeclaredType == "text/html" {
		return true
	}
	return p.DetectedType == "text/html" && p.Name != "" && p.DeclaredType != "text/plain"
}

// makePlan turns the verdict and options into ops. Decisions on the whole
// message (Part == "") are the caller's (Withheld); any part decision at
// least as severe as deny replaces the part.
func makePlan(m *unpack.Message, v rules.Verdict, opt Options) (*plan, error) {
	if m == nil || m.Root == nil {
		return nil, errors.New("sanitize: no message")
	}
	ix := newIndex(m)
	ops := map[*unpack.Part]*op{}
	get := func(p *unpack.Part) *op {
		o := ops[p]
		if o == nil {
			o = &op{p: p}
			ops[p] = o
		}
		return o
	}
	for _, d := range v.Parts {
		if d.Part == "" {
			continue
		}
		p := ix.byPath[d.Part]
		if p == nil {
			return nil, fmt.Errorf("sanitize: decision for part %q, which the message does not have", d.Part)
		}
		t := ix.rawAncestor(p)
		if t == nil || ix.inAlternative(t) {
			// QUIRK: a decision inside another reading replaces its
			// nearest ancestor of the first reading (rules withhold the
			// message for such a finding; this is for a site's policy
			// that does not): ranges of two readings overlap otherwise.
			for t != nil && ix.inAlternative(t) {
				t = ix.rawAncestor(ix.parent[t])
			}
			if t == nil {
				t = m.Root
			}
		}
		if q := ix.parent[t]; t.Origin == unpack.OriginRFC822 && q != nil && inRaw(q) && !ix.inAlternative(q) &&
			(q.BodyStart > t.HeaderStart || structuralTrouble(q)) {
			// QUIRK: an embedded message whose enclosing part's header is
			// troubled (no empty line ends it, so readers run it into the
			// embedded header) is replaced with that part: fields written
			// in the embedded header were the part's own for them, one
			// Content-Type more (found by FuzzRewrite: c9e2c8db881827e6).
			t = q
		}
		switch {
		case d.Action.Severity() >= rules.Deny.Severity():
			o := get(t)
			o.replace = append(o.replace, denied{p, d})
		case d.Action == rules.Rename:
			if t != p {
				// A uuencoded, TNEF or archive member cannot be renamed in
				// place: the MIME part holding it is replaced.
				o := get(t)
				o.replace = append(o.replace, denied{p, d})
				continue
			}
			name := d.NewName
			if name == "" {
				name = rules.DisarmedName("", p.Name)
			}
			get(p).rename = name
		}
	}
	if opt.DisarmHTML {
		for _, p := range m.Parts {
			// The parts of other readings are not edited in place (their
			// ranges overlap the first reading's); Normalize writes them.
			if isHTML(p) && !ix.inAlternative(p) {
				get(p).html = true
			}
		}
	}
	if signing(v, opt) {
		planSignatures(m, ix, opt, get)
	}
	if tags := newTags(m.Subject, opt.SubjectTags); len(tags) > 0 {
		get(m.Root).subject = tags
	}

	var out []*op
	for _, p := range m.Parts { // pre-order: a part before its children
		if o := ops[p]; o != nil {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].p.HeaderStart < out[j].p.HeaderStart })
	return &plan{ops: absorb(out), ix: ix}, nil
}

// absorb merges into a replaced part whatever was to be done inside it.
// ops are sorted by position, a part before the parts inside it.
func absorb(ops []*op) []*op {
	var out []*op
	var cur *op // the replaced part whose range we are in
	var curEnd int64
	for _, o := range ops {
		if cur != nil && o.p.HeaderStart < curEnd {
			cur.replace = append(cur.replace, o.replace...)
			continue
		}
		cur = nil
		if len(o.replace) > 0 {
			cur, curEnd = o, o.p.End
			if o.p.Depth == 0 {
				curEnd = math.MaxInt64
			}
		}
		out = append(out, o)
	}
	return out
}

// Plan tells, without writing, whether Rewrite would change anything but
// prepend Headers. It may say true when Rewrite then finds nothing to
// change (an HTML part that needs no disarming: only disarming tells);
// it never says false when Rewrite would change something. A verdict that
// names a part the message does not have counts as a change (Rewrite
// fails on it).
func Plan(m *unpack.Message, v rules.Verdict, opt Options) (changes bool) {
	pl, err := makePlan(m, v, opt)
	return err != nil || len(pl.ops) > 0 || opt.Normalize
}

// edit replaces raw[start:end) with what write produces.
type edit struct {
	start, end int64
	write      func(w io.Writer) (changed bool, err error)
}

// rewriter holds the state of one Rewrite call.
type rewriter struct {
	ctx  context.Context
	raw  io.ReaderAt
	size int64
	m    *unpack.Message
	opt  Options
	repl Replacement
	eol  string
	from int64 // length of a leading mbox "From " line, kept first
	res  Result
	ix   index
}

// Rewrite writes the sanitized message to w: raw with the verdict's part
// decisions applied (deny: the part replaced by a text/plain part of
// repl's texts; rename: the part's name changed), every HTML part
// disarmed when opt.DisarmHTML, opt.SubjectTags added to the Subject and
// opt.Headers prepended. Bytes not concerned are copied from raw exactly,
// so a clean message comes out byte-identical but for Headers and the
// signatures of untouched parts stay valid. Decisions on the whole
// message are the caller's (see Withheld). It fails only when raw cannot
// be read, w cannot be written, repl fails, ctx is done or the verdict
// names a part the message does not have.
func Rewrite(ctx context.Context, w io.Writer, raw io.ReaderAt, size int64, m *unpack.Message, v rules.Verdict, opt Options, repl Replacement) (Result, error) {
	pl, err := makePlan(m, v, opt)
	if err != nil {
		return Result{}, err
	}
	eol, err := lineEnding(raw, size)
	if err != nil {
		return Result{}, err
	}
	from, err := fromLine(raw, size)
	if err != nil {
		return Result{}, err
	}
	rw := &rewriter{ctx: ctx, raw: raw, size: size, m: m, opt: opt, repl: repl, eol: eol, from: from, ix: pl.ix}
	for _, o := range pl.ops {
		if o.rename != "" {
			for _, n := range nameForms(o.rename) {
				rw.res.produced.name(n)
			}
		}
	}
	if opt.Normalize {
		if from > 0 {
			if err := rw.copy(w, 0, from); err != nil {
				return Result{}, err
			}
		}
		for _, h := range opt.Headers {
			if _, err := io.WriteString(w, normalizeEOL(h, eol)+eol); err != nil {
				return Result{}, fmt.Errorf("writing message: %w", err)
			}
		}
		if err := rw.writeNormalized(w, pl); err != nil {
			return Result{}, err
		}
		return rw.res, nil
	}
	if err := rw.checkRenames(pl); err != nil {
		return Result{}, err
	}
	var edits []edit
	for _, o := range pl.ops {
		e := rw.edit(o)
		if n := len(edits); n > 0 && e.start < edits[n-1].end {
			return Result{}, fmt.Errorf("sanitize: internal error: overlapping rewrites of parts %s", o.p.Path)
		}
		edits = append(edits, e)
	}

	// Headers go first, after an mbox "From " line if the spool has one.
	var pos int64
	if from > 0 {
		if err := rw.copy(w, 0, from); err != nil {
			return Result{}, err
		}
		pos = from
	}
	for _, h := range opt.Headers {
		if _, err := io.WriteString(w, normalizeEOL(h, eol)+eol); err != nil {
			return Result{}, fmt.Errorf("writing message: %w", err)
		}
	}
	for _, e := range edits {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		if e.start < pos {
			return Result{}, fmt.Errorf("sanitize: internal error: rewrite at %d before %d", e.start, pos)
		}
		if err := rw.copy(w, pos, e.start-pos); err != nil {
			return Result{}, err
		}
		changed, err := e.write(w)
		if err != nil {
			return Result{}, err
		}
		rw.res.Changed = rw.res.Changed || changed
		pos = e.end
	}
	if err := rw.copy(w, pos, size-pos); err != nil {
		return Result{}, err
	}
	return rw.res, nil
}

// copy copies n bytes of raw at off to w.
func (rw *rewriter) copy(w io.Writer, off, n int64) error {
	if n <= 0 {
		return nil
	}
	got, err := io.Copy(w, io.NewSectionReader(rw.raw, off, n))
	if err == nil && got < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("copying message bytes %d-%d: %w", off, off+n, err)
	}
	return nil
}

// readRange reads raw[off:off+n) into memory.
func (rw *rewriter) readRange(off, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rw.raw.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		if !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading message at %d: %w", off, err)
		}
		return nil, fmt.Errorf("reading message at %d: %w", off, io.ErrUnexpectedEOF)
	}
	return b, nil
}

// isMessageRoot reports whether a part is a message (the root or an
// embedded one): its header holds message fields besides Content-*.
func isMessageRoot(p *unpack.Part) bool {
	return p.Depth == 0 || p.Origin == unpack.OriginRFC822
}

// end returns where the bytes of p end in the raw message: the root owns
// everything to the end, including bytes past a read limit.
func (rw *rewriter) end(p *unpack.Part) int64 {
	if p.Depth == 0 {
		return rw.size
	}
	return p.End
}

// start returns where the bytes of p start in the raw message: after
// the leading mbox "From " line for the root, which Rewrite writes first.
func (rw *rewriter) start(p *unpack.Part) int64 {
	if p.Depth == 0 {
		return max(p.HeaderStart, min(rw.from, p.BodyStart))
	}
	return p.HeaderStart
}

// edit returns the edit for one op.
func (rw *rewriter) edit(o *op) edit {
	p := o.p
	switch {
	case len(o.replace) > 0:
		return edit{start: rw.start(p), end: rw.end(p), write: func(w io.Writer) (bool, error) { return rw.replace(w, o) }}
	case o.html:
		return edit{start: rw.start(p), end: rw.end(p), write: func(w io.Writer) (bool, error) { return rw.disarm(w, o) }}
	case o.sigBody:
		return edit{start: rw.start(p), end: rw.end(p), write: func(w io.Writer) (bool, error) { return rw.sign(w, o) }}
	default:
		return edit{start: rw.start(p), end: p.BodyStart, write: func(w io.Writer) (bool, error) { return rw.header(w, o) }}
	}
}

// readHeader returns the raw header of p, or nil when it is too long to
// rewrite in memory.
func (rw *rewriter) readHeader(p *unpack.Part) ([]byte, bool, error) {
	n := p.BodyStart - rw.start(p)
	if n > maxHeader {
		return nil, false, nil
	}
	b, err := rw.readRange(rw.start(p), n)
	return b, err == nil, err
}

// replace writes what takes the place of o.p: with Options.Disinfect,
// the archive rebuilt without its denied members when that can be done,
// else a text part.
func (rw *rewriter) replace(w io.Writer, o *op) (bool, error) {
	if rw.opt.Disinfect {
		if done, err := rw.disinfect(w, o); done || err != nil {
			return done, err
		}
	}
	text, err := rw.replacementText(o.replace)
	if err != nil {
		return false, err
	}
	return rw.replaceWhole(w, o, text)
}

// replacementText renders the Replacement's texts of ds, joined by an
// empty line.
func (rw *rewriter) replacementText(ds []denied) (string, error) {
	var texts []string
	for _, dn := range ds {
		if rw.repl == nil {
			return "", errors.New("sanitize: a part is to be replaced and there is no Replacement")
		}
		t, err := rw.repl(dn.p, dn.d)
		if err != nil {
			return "", fmt.Errorf("rendering the replacement of part %s: %w", dn.p.Path, err)
		}
		t = strings.TrimRight(t, "\r\n")
		texts = append(texts, t)
	}
	return strings.Join(texts, "\n\n") + "\n", nil
}

// replaceWhole writes the text part that takes the place of o.p.
func (rw *rewriter) replaceWhole(w io.Writer, o *op, text string) (bool, error) {
	p := o.p
	var hdr bytes.Buffer
	if isMessageRoot(p) {
		// Keep the message's own fields; only the Content-* ones describe
		// what is replaced.
		raw, ok, err := rw.readHeader(p)
		if err != nil {
			return false, err
		}
		if !ok {
			// QUIRK: a header too long to rewrite is cut to the fields we
			// can hold; unpack marked it unscannable already.
			raw, err = rw.readRange(rw.start(p), maxHeader)
			if err != nil {
				return false, err
			}
		}
		hasVersion := false
		var subj *chunk
		for _, c := range splitHeader(raw) {
			if c.name != "" && hasLoneCR(c.raw) {
				// A field that hides others behind a lone CR (see below)
				// keeps its value without them.
				c = chunk{name: c.name, raw: foldValue(c.fieldName(), c.value(), rw.eol)}
			}
			switch {
			case c.name == "":
				// QUIRK: a lone CR ends a header line for Python and
				// munpack (issue 11, headers): a line that is no field for
				// us may hold Content-* fields for them, which would
				// describe the replacement as what it replaces (fuzz find
				// FuzzRewrite/0afe417826036015). Such junk goes with the
				// fields it hides.
				if isBlank(c.raw) || hasLoneCR(c.raw) {
					continue
				}
			case c.isContent():
				continue
			case c.name == "mime-version":
				hasVersion = true
			case c.name == "subject" && subj == nil && len(o.subject) > 0:
				subj = &c
				hdr.Write(tagSubject(&c, o.subject, rw.eol))
				continue
			}
			writeChunk(&hdr, c.raw, rw.eol)
		}
		if len(o.subject) > 0 && subj == nil {
			hdr.Write(tagSubject(nil, o.subject, rw.eol))
		}
		if !hasVersion {
			hdr.WriteString("MIME-Version: 1.0" + rw.eol)
		}
	}
	hdr.WriteString("Content-Type: text/plain; charset=utf-8" + rw.eol)
	hdr.WriteString("Content-Transfer-Encoding: quoted-printable" + rw.eol)
	hdr.WriteString("Content-Disposition: inline" + rw.eol)
	hdr.WriteString(rw.eol)
	hdr.Write(qpEncode([]byte(text), rw.eol))
	rw.res.produced.content([]byte(text))
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return false, fmt.Errorf("writing message: %w", err)
	}
	rw.res.Replaced = append(rw.res.Replaced, p.Path)
	return true, nil
}

// hasLoneCR reports whether b holds a CR that is not part of a CRLF.
func hasLoneCR(b []byte) bool {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return true
		}
	}
	return false
}

// isBlank reports whether a line is empty (its line break only).
func isBlank(b []byte) bool { return len(bytes.Trim(b, "\r\n")) == 0 }

// writeChunk writes raw header bytes, ending them with a line break if
// they lack one (the last field of a header cut by the end of the data).
func writeChunk(b *bytes.Buffer, raw []byte, eol string) {
	b.Write(raw)
	if !bytes.HasSuffix(raw, []byte("\n")) {
		b.WriteString(eol)
	}
}

// newHeader rewrites the raw header of o.p for a rename, a subject tag
// and an HTML re-encoding (html true). The blank line that ends the
// header is kept where it was, or added when body is true and the header
// has none.
func (rw *rewriter) newHeader(o *op, raw []byte, html, body bool) []byte {
	p := o.p
	chunks := splitHeader(raw)
	var out bytes.Buffer
	// What the rename must change: the forms the name was given in.
	ctName, cdName, hasCT, hasCD := false, false, false, false
	for _, c := range chunks {
		switch c.name {
		case "content-type":
			hasCT = true
			ctName = ctName || hasParam(c.value(), "name")
		case "content-disposition":
			hasCD = true
			cdName = cdName || hasParam(c.value(), "filename")
		}
	}
	if o.rename != "" && !ctName && !cdName {
		// The name was found nowhere we can see: give it where a client
		// looks first.
		cdName = hasCD
		ctName = !hasCD && hasCT
	}
	subjectDone := false
	blank := false
	var extra [][]byte // fields to add at the end of the header
	if o.rename != "" && !hasCT && !hasCD {
		extra = append(extra, foldParams("Content-Disposition", append([]string{"attachment"}, encodeParam("filename", o.rename)...), rw.eol))
	}
	if html {
		if !hasCT {
			typ := "text/plain"
			if p.DeclaredType != "" {
				typ = p.DeclaredType
			}
			extra = append(extra, foldParams("Content-Type", []string{typ, "charset=utf-8"}, rw.eol))
		}
		extra = append(extra, []byte("Content-Transfer-Encoding: quoted-printable"+rw.eol))
	}
	if len(o.subject) > 0 {
		found := false
		for _, c := range chunks {
			found = found || c.name == "subject"
		}
		if !found {
			extra = append(extra, tagSubject(nil, o.subject, rw.eol))
		}
	}
	flush := func() {
		for _, e := range extra {
			out.Write(e)
		}
		extra = nil
	}
	for i := range chunks {
		c := chunks[i]
		if len(extra) > 0 && hasLoneCR(c.raw) && c.raw[0] != ' ' && c.raw[0] != '\t' {
			// QUIRK: a lone CR ends a line for Python and munpack, and
			// one before a CRLF ends their header there: fields added at
			// the end would be body for them (found by FuzzRewrite:
			// 4ad2584fb5824af0). They go before that line (not before a
			// line that starts with white space: it would continue them).
			flush()
		}
		switch {
		case c.name == "" && isBlank(c.raw):
			flush()
			blank = true
			out.Write(c.raw)
			continue
		case c.name == "subject" && len(o.subject) > 0 && !subjectDone:
			subjectDone = true
			out.Write(tagSubject(&c, o.subject, rw.eol))
			continue
		case c.name == "content-transfer-encoding" && html:
			continue
		case c.name == "content-type" && html && o.freshType:
			typ := p.DeclaredType
			if typ == "" {
				typ = "text/plain"
			}
			ps := []string{typ}
			if o.rename != "" && ctName {
				ps = append(ps, encodeParam("name", o.rename)...)
			} else if n := rw.typeName(c.raw); n != "" {
				ps = append(ps, encodeParam("name", n)...)
			}
			out.Write(foldParams(c.fieldName(), append(ps, "charset=utf-8"), rw.eol))
			continue
		case c.name == "content-type" && (html || (o.rename != "" && ctName)):
			v := c.value()
			ps := splitParams(v)
			if o.rename != "" && ctName {
				ps = setParam(v, "name", encodeParam("name", o.rename))
			}
			if html {
				ps = setParam(strings.Join(ps, "; "), "charset", []string{"charset=utf-8"})
			}
			out.Write(foldParams(c.fieldName(), ps, rw.eol))
			continue
		case c.name == "content-disposition" && o.rename != "" && cdName:
			ps := setParam(c.value(), "filename", encodeParam("filename", o.rename))
			out.Write(foldParams(c.fieldName(), ps, rw.eol))
			continue
		}
		writeChunk(&out, c.raw, rw.eol)
	}
	flush()
	if !blank && body {
		out.WriteString(rw.eol)
	}
	return out.Bytes()
}

// typeName returns the name a Content-Type field gives, as unpack reads
// it ("" for none).
func (rw *rewriter) typeName(field []byte) string {
	m, err := readAlone(rw.ctx, field)
	if err != nil {
		return ""
	}
	defer m.Close()
	return m.Root.Name
}

// reencodedHeader returns the header of o.p for a body re-encoded
// quoted-printable UTF-8 (HTML disarmed, signature added), checked with
// unpack: it must read as the same type and name (or the new one), charset
// utf-8, quoted-printable, with no structural problem the part did not
// have. Our parameter editing reads parameters as RFC 5322 allows
// (comments stripped), unpack as clients do; where they differ (an
// unclosed comment in a parameter name: found by FuzzRewrite) the edited
// Content-Type would read otherwise. Content-Type is then written anew
// from unpack's reading; ok is false when that does not read right
// either, and the part is not to be re-encoded.
func (rw *rewriter) reencodedHeader(o *op, raw []byte) (hdr []byte, ok bool) {
	hdr = rw.newHeader(o, raw, true, true)
	if rw.readsReencoded(o, raw, hdr) {
		return hdr, true
	}
	o2 := *o
	o2.freshType = true
	hdr = rw.newHeader(&o2, raw, true, true)
	return hdr, rw.readsReencoded(o, raw, hdr)
}

// headerProblems are the problems of every reading of a header read
// alone, and of the part it heads.
func headerProblems(ctx context.Context, p *unpack.Part, raw []byte) map[unpack.Problem]bool {
	had := map[unpack.Problem]bool{}
	for _, pr := range p.Problems {
		had[pr] = true
	}
	if m, err := readAlone(ctx, raw); err == nil {
		for _, r := range m.Parts {
			for _, pr := range r.Problems {
				had[pr] = true
			}
		}
		m.Close()
	}
	return had
}

// readsReencoded reports whether hdr reads as the header of o.p
// re-encoded (see reencodedHeader).
func (rw *rewriter) readsReencoded(o *op, raw, hdr []byte) bool {
	p := o.p
	m, err := readAlone(rw.ctx, hdr)
	if err != nil {
		return false
	}
	defer m.Close()
	typ, name := p.DeclaredType, p.Name
	if typ == "" {
		typ = "text/plain"
	}
	if o.rename != "" {
		name = o.rename
	}
	r := m.Root
	if r.DeclaredType != typ || r.Name != name || r.Charset != "utf-8" || r.Encoding != "quoted-printable" {
		return false
	}
	// Every reading of the header, each problem one the header had in
	// some reading: a field hidden behind a lone CR is one more field for
	// Python and munpack (an empty Content-Type ahead of the one we add:
	// found by FuzzRewrite, 2a3a8c09942a83bb).
	had := headerProblems(rw.ctx, p, raw)
	for _, r := range m.Parts {
		for _, pr := range r.Problems {
			if isStructural(pr.Kind) && !had[pr] {
				return false
			}
		}
	}
	return true
}

// checkRenames turns into replacements the renames that cannot be done
// safely: a header over maxHeader bytes, or a rewritten header that does
// not read as the new name (a trick in the parameters that our splitting
// missed; unpack itself is the judge).
func (rw *rewriter) checkRenames(pl *plan) error {
	again := false
	for _, o := range pl.ops {
		if o.rename == "" || len(o.replace) > 0 {
			continue
		}
		raw, ok, err := rw.readHeader(o.p)
		if err != nil {
			return err
		}
		if ok && renamedTo(rw.ctx, raw, rw.newHeader(o, raw, false, false), o.rename, o.p) {
			continue
		}
		if err := rw.ctx.Err(); err != nil {
			return err
		}
		o.replace = []denied{{o.p, rules.Decision{Part: o.p.Path, Name: o.p.Name, Action: rules.Deny, Kind: rules.KindFilename,
			Rule: "rename", Reason: "The file name could not be changed safely"}}}
		o.rename, o.html = "", false
		again = true
	}
	if again {
		pl.ops = absorb(pl.ops)
	}
	return nil
}

// header rewrites only the header of o.p (rename, subject tags).
func (rw *rewriter) header(w io.Writer, o *op) (bool, error) {
	raw, ok, err := rw.readHeader(o.p)
	if err != nil {
		return false, err
	}
	if !ok {
		// QUIRK: a header over 1 MB is not rewritten in memory: the
		// subject tag is not added (a rename became a replacement in
		// checkRenames). unpack marked such a header unscannable, which
		// policy acts on.
		return false, rw.copy(w, rw.start(o.p), o.p.BodyStart-rw.start(o.p))
	}
	if _, err := w.Write(rw.newHeader(o, raw, false, false)); err != nil {
		return false, fmt.Errorf("writing message: %w", err)
	}
	if o.rename != "" {
		rw.res.Renamed = append(rw.res.Renamed, o.p.Path)
	}
	return true, nil
}

// readAlone reads a header with unpack, as the header of an empty message.
func readAlone(ctx context.Context, hdr []byte) (*unpack.Message, error) {
	b := append(append([]byte(nil), hdr...), '\n')
	return unpack.Unpack(ctx, bytes.NewReader(b), int64(len(b)), unpack.Options{})
}

// renamedTo checks a rewritten header with unpack itself: the part it
// heads must be named name.
func renamedTo(ctx context.Context, raw, hdr []byte, name string, orig *unpack.Part) bool {
	m, err := readAlone(ctx, hdr)
	if err != nil {
		return false
	}
	defer m.Close()
	// And the rewritten header must not read worse than the original
	// (a comment left open in the parameters turned a name into a new
	// malformed parameter: found by FuzzRewrite).
	// Every reading of it (a field hidden behind a lone CR: see
	// readsReencoded).
	had := headerProblems(ctx, orig, raw)
	forms := nameForms(name) // a reader that does not decode RFC 2231 reads it as written
	for _, r := range m.Parts {
		if r.Name != name {
			return false
		}
		// And every reader of that reading: a reader that reads the
		// parameters otherwise and gets the old name, or both run
		// together, is in Names (found by sanitize.Verify while fuzzing:
		// "nam$$$tent-Disposition: ...; filename=...").
		for _, n := range r.Names {
			if !slices.Contains(forms, n) {
				return false
			}
		}
		for _, pr := range r.Problems {
			if pr.Kind == unpack.KindMalformed && !had[pr] {
				return false
			}
		}
	}
	return true
}

// troubled reports whether o.p has structural problems that leave it
// kept whole rather than disarmed (see disarm), judged on the part as we
// write it when kept: a rename rewrites every name parameter, which can
// clear problems that were only about the name (a file name that differs
// from the Content-Type name, a path in it). Judged on the part as it
// came, such a part was kept undisarmed with its new name, and a second
// pass over our output, seeing no trouble, disarmed it (found by
// FuzzRewrite). A problem counts as cleared only when the header read
// alone has it and the renamed header read alone has no structural
// problem and gives the same type, charset and transfer encoding; any
// other problem (one of the body or of its place in the message, or
// reported with an offset) keeps the part whole.
func (rw *rewriter) troubled(o *op, raw []byte) bool {
	p := o.p
	if !structuralTrouble(p) {
		return false
	}
	if o.rename == "" {
		return true
	}
	before, err := readAlone(rw.ctx, raw)
	if err != nil {
		return true
	}
	defer before.Close()
	after, err := readAlone(rw.ctx, rw.newHeader(o, raw, false, false))
	if err != nil {
		return true
	}
	defer after.Close()
	b, a := before.Root, after.Root
	if structuralTrouble(a) || a.DeclaredType != p.DeclaredType || a.Charset != p.Charset || a.Encoding != p.Encoding {
		return true
	}
	own := map[string]bool{}
	for _, pr := range b.Problems {
		own[pr.Kind+"\x00"+pr.Detail] = true
	}
	for _, pr := range p.Problems {
		if isStructural(pr.Kind) && !own[pr.Kind+"\x00"+pr.Detail] {
			return true
		}
	}
	return false
}

// disarm disarms the HTML body of o.p; when the disarmer changed nothing
// or gave up, the part is copied as it was (with only its header
// rewritten when a rename or subject tag asks for it).
func (rw *rewriter) disarm(w io.Writer, o *op) (bool, error) {
	p := o.p
	keep := func() (bool, error) {
		o2 := *o
		o2.html = false
		if o2.sigBody {
			// Nothing to disarm, but the signature is still to be added.
			return rw.sign(w, &o2)
		}
		return rw.keepPart(w, &o2)
	}
	if p.Unscannable != "" {
		rw.res.HTMLUnscannable = append(rw.res.HTMLUnscannable, p.Path)
		return keep()
	}
	raw, ok, err := rw.readHeader(p)
	if err != nil {
		return false, err
	}
	// QUIRK: a part whose own header is malformed is not edited: the
	// header we would edit reads differently once rewritten (found by
	// FuzzRewrite). The part is written anew instead, in the canonical
	// form of a normalized message (normalize.go): a header of our own
	// from unpack's reading, the disarmed content base64.
	//
	// Only when something is to change, though: HTML the disarmer leaves
	// as it is, with no rename, subject tag or signature to add, is
	// copied byte for byte (STYLE.md habit 11; an HTML attachment whose
	// file name differs from its Content-Type name was written anew in
	// 47 corpus messages that needed nothing).
	troubled := !ok || rw.troubled(o, raw)
	if troubled && (o.rename != "" || len(o.subject) > 0 || o.sigBody) {
		if err := rw.ctx.Err(); err != nil {
			return false, err
		}
		return rw.canonicalPart(w, o)
	}
	var out bytes.Buffer
	var rep html.Report
	if d, ok := rw.opt.Disarmed[p.Path]; ok {
		out.Write(d.Out)
		rep, err = d.Report, d.Err
	} else {
		body, oerr := p.Open()
		if oerr != nil {
			return false, fmt.Errorf("opening part %s: %w", p.Path, oerr)
		}
		defer body.Close()
		hopt := rw.opt.HTML
		hopt.Charset = p.Charset
		rep, err = html.Disarm(rw.ctx, &out, body, hopt)
	}
	switch {
	case errors.Is(err, html.ErrUnscannable):
		if cerr := rw.ctx.Err(); cerr != nil {
			return false, cerr
		}
		rw.res.HTMLUnscannable = append(rw.res.HTMLUnscannable, p.Path)
		return keep()
	case err != nil:
		return false, fmt.Errorf("disarming the HTML of part %s: %w", p.Path, err)
	case !rep.Changed:
		addReport(&rw.res.HTML, rep)
		return keep()
	case troubled:
		if err := rw.ctx.Err(); err != nil {
			return false, err
		}
		return rw.canonicalPart(w, o)
	}
	hdr, ok := rw.reencodedHeader(o, raw)
	if !ok {
		// QUIRK: a header that does not read back right once rewritten
		// is kept whole, as a malformed one is (see above).
		if err := rw.ctx.Err(); err != nil {
			return false, err
		}
		rw.res.HTMLUnscannable = append(rw.res.HTMLUnscannable, p.Path)
		return rw.keepPart(w, o)
	}
	addReport(&rw.res.HTML, rep)
	disarmed := out.Bytes()
	if o.sigBody {
		// Added after disarming: the signature is the site's own HTML.
		disarmed = addHTMLSignature(disarmed, rw.opt.SignatureHTML)
		rw.res.Signed = append(rw.res.Signed, p.Path)
	}
	if _, err := w.Write(hdr); err != nil {
		return false, fmt.Errorf("writing message: %w", err)
	}
	rw.res.produced.content(disarmed)
	if _, err := w.Write(qpEncode(disarmed, rw.eol)); err != nil {
		return false, fmt.Errorf("writing message: %w", err)
	}
	if o.rename != "" {
		rw.res.Renamed = append(rw.res.Renamed, p.Path)
	}
	return true, nil
}

// keepPart copies o.p with its body as it is, its header rewritten only
// when a rename or subject tags ask for it.
func (rw *rewriter) keepPart(w io.Writer, o *op) (bool, error) {
	p := o.p
	if o.rename == "" && len(o.subject) == 0 {
		return false, rw.copy(w, rw.start(p), rw.end(p)-rw.start(p))
	}
	changed, err := rw.header(w, o)
	if err != nil {
		return false, err
	}
	return changed, rw.copy(w, p.BodyStart, rw.end(p)-p.BodyStart)
}

// addReport sums r into sum.
func addReport(sum *html.Report, r html.Report) {
	sum.Scripts += r.Scripts
	sum.Handlers += r.Handlers
	sum.BadURLs += r.BadURLs
	sum.Disarmed += r.Disarmed
	sum.Unwrapped += r.Unwrapped
	sum.WebBugs += r.WebBugs
	sum.Remote += r.Remote
	sum.Phishing += r.Phishing
	for _, l := range r.PhishingLinks {
		if len(sum.PhishingLinks) < 100 {
			sum.PhishingLinks = append(sum.PhishingLinks, l)
		}
	}
	sum.Changed = sum.Changed || r.Changed
	sum.Rounds = max(sum.Rounds, r.Rounds)
}

// lineEnding returns the line break of the message's first line: "\r\n"
// or "\n" (also when the message has no line break at all).
func lineEnding(raw io.ReaderAt, size int64) (string, error) {
	buf := make([]byte, 4096)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n, err := raw.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			if (i > 0 && buf[i-1] == '\r') || (i == 0 && off > 0 && lastCR(raw, off-1)) {
				return "\r\n", nil
			}
			return "\n", nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading message: %w", err)
		}
		if n == 0 {
			break
		}
	}
	return "\n", nil
}

func lastCR(raw io.ReaderAt, off int64) bool {
	var b [1]byte
	n, _ := raw.ReadAt(b[:], off)
	return n == 1 && b[0] == '\r'
}

// fromLine returns the length of a leading mbox "From " line, or 0.
func fromLine(raw io.ReaderAt, size int64) (int64, error) {
	head := make([]byte, min(size, 4096))
	n, err := raw.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("reading message: %w", err)
	}
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("From ")) {
		return 0, nil
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		return int64(i + 1), nil
	}
	return 0, nil
}

// normalizeEOL gives the line breaks inside a (folded) field eol.
func normalizeEOL(s, eol string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if eol != "\n" {
		s = strings.ReplaceAll(s, "\n", eol)
	}
	return s
}
