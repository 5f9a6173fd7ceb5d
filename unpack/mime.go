package unpack

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// walker does the first pass over one message (the raw message, or the
// decoded content of an encoded message/rfc822 part): it finds the MIME
// structure and the byte ranges of every entity, without decoding.
//
// It reads the message once, line by line, keeping a stack of the active
// boundaries. QUIRK: a delimiter line of any enclosing multipart ends
// every inner entity, even one whose own close delimiter is missing;
// Python's email.feedparser and Thunderbird's libmime do the same, and
// RFC 2046 section 5.1.2 requires it.
type walker struct {
	u      *unpacker
	src    io.ReaderAt // the bytes of the parts
	lsrc   io.ReaderAt // the bytes lines are read from: src, or src with lone CRs as LFs
	size   int64       // of src
	lr     *lineReader
	bounds [][]byte   // "--" + boundary of each open multipart, innermost last
	mps    []*Part    // the multipart of each of bounds
	rip    [][]string // ripmime's boundaries of each of bounds when more than bounds[i][2:] (dialect.ripParams)
	extra  string     // the other boundaries of the entity being read (reading.extra)
	raw    bool       // src is the raw message: offsets are published
	nseg   int

	// Readings: rd is the set of readers this walk reads for (it shrinks
	// inside an entity whose other readers get an alternative), d the
	// dialect of the one it follows (rd.primary(), the same for the whole
	// walk), cr that lone CRs end lines.
	rd Readers
	d  *dialect
	cr bool

	// innerStop: the walk reads entities in decoded content as ripmime
	// does (innerEntity): the body of the entity found (not quoted-
	// printable), or the epilogue of a multipart outside any other, ends
	// at a line that starts a MIME field (isInnerField), where the next
	// entity begins. The body of a message or a part inside goes on as
	// ripmime reads it, and is read again.
	innerStop bool
}

// newWalker walks src[start:end) for the readers rd.
func (u *unpacker) newWalker(src, lsrc io.ReaderAt, size, start, end int64, raw bool, rd Readers, cr bool) *walker {
	return &walker{u: u, src: src, lsrc: lsrc, size: size, lr: newLineReader(lsrc, start, end), raw: raw,
		rd: rd, d: dialectOf(rd.primary()), cr: cr}
}

// segment state helpers

func (w *walker) next() (seg []byte, start int64, atStart, ok bool) {
	if w.tick() {
		return nil, w.lr.offset(), true, false
	}
	return w.lr.next()
}

// tick counts a step over at most one buffer of the data and, every 1024
// steps, checks the time budget. When it is spent, the rest of the data is
// swallowed so that every open entity ends, and tick reports true.
func (w *walker) tick() bool {
	w.nseg++
	if w.nseg&1023 == 0 && w.u.expired() {
		w.lr.bufOff, w.lr.r, w.lr.w, w.lr.eof = w.lr.end, 0, 0, true
		return true
	}
	return false
}

// delimiter reports which open boundary the line is a delimiter of
// (index into w.bounds) and whether it is a close delimiter; -1 when it
// is none, for the reader the walk follows; the other readers of the
// walk that decide otherwise get an alternative reading of the multipart
// concerned. RFC 2046 section 5.1.1: "--" boundary ["--"] then optional
// white space. QUIRK: trailing spaces and tabs are allowed, as in Python
// (boundaryre), Go and Thunderbird; anything else after the boundary
// makes the line ordinary text, but munpack splits at any line that
// starts with "--" and the boundary (dialect.prefixDelim), and ripmime
// has its own rule (dialect.ripDelim, ripMatch). QUIRK: when a line
// delimits several open multiparts (nested boundaries that are prefixes
// of each other, or equal), the outermost wins, as in Thunderbird's
// libmime and Python (a line reaches an inner multipart only after the
// outer one has found it is not its boundary); ripmime and munpack give
// it to the innermost (dialect.innerFirst).
func (w *walker) delimiter(line []byte) (int, bool) {
	if len(line) < 2 || line[0] != '-' || len(w.bounds) == 0 {
		return -1, false
	}
	if line[1] != '-' && w.rd&ripReaders == 0 {
		return -1, false // only ripmime's rule takes a line with one "-"
	}
	nhl := -1
	idx, closing := w.delimOf(w.d, line, &nhl)
	if w.rd == w.rd.primary() {
		return idx, closing
	}
	// The other readers of the walk, by the traits the decision rests on.
	var seen [8]bool
	var decided [8]int
	var diff []struct {
		m int
		g Readers
	}
	pk := delimKey(w.d)
	w.rd.each(func(x Readers) {
		d := dialectOf(x)
		k := delimKey(d)
		if k == pk {
			return
		}
		if !seen[k] {
			seen[k] = true
			decided[k], _ = w.delimOf(d, line, &nhl)
		}
		j := decided[k]
		if j == idx {
			return
		}
		m := min(j, idx)
		if m < 0 {
			m = max(j, idx)
		}
		for i := range diff {
			if diff[i].m == m {
				diff[i].g |= x
				return
			}
		}
		diff = append(diff, struct {
			m int
			g Readers
		}{m, x})
	})
	for _, x := range diff {
		w.mps[x.m].pend(x.g)
		w.rd &^= x.g
	}
	return idx, closing
}

// ripReaders are the readers whose dialect has ripDelim.
var ripReaders = func() Readers {
	var r Readers
	for i := range dialects {
		if dialects[i].ripDelim {
			r |= 1 << i
		}
	}
	return r
}()

// delimKey numbers the traits a delimiter decision rests on.
func delimKey(d *dialect) int {
	k := 0
	if d.innerFirst {
		k |= 1
	}
	if d.prefixDelim {
		k |= 2
	}
	if d.ripDelim {
		k |= 4
	}
	return k
}

// delimOf is delimiter's decision for dialect d; nhl caches the count of
// letters and digits of line (-1: not yet counted).
func (w *walker) delimOf(d *dialect, line []byte, nhl *int) (int, bool) {
	n := len(w.bounds)
	if !d.ripDelim && line[1] != '-' {
		return -1, false
	}
	for k := 0; k < n; k++ {
		i := k
		if d.innerFirst {
			i = n - 1 - k
		}
		if d.ripDelim {
			if *nhl < 0 {
				*nhl = ripAlnum(line)
			}
			if w.rip[i] == nil {
				if hit, c := ripMatch(line, *nhl, w.bounds[i][2:]); hit {
					return i, c
				}
				continue
			}
			for _, b := range w.rip[i] {
				if hit, c := ripMatch(line, *nhl, []byte(b)); hit {
					return i, c
				}
			}
			continue
		}
		b := w.bounds[i]
		if !bytes.HasPrefix(line, b) {
			continue
		}
		rest := line[len(b):]
		c := false
		if bytes.HasPrefix(rest, []byte("--")) {
			c = true
			rest = rest[2:]
		}
		if d.prefixDelim || len(bytes.TrimRight(rest, " \t\r\n")) == 0 {
			return i, c
		}
	}
	return -1, false
}

// diverge records that the readers of the walk that differ from the
// followed one on trait read the multipart of w.bounds[i] differently:
// they get an alternative reading of it, and this walk no longer reads
// for them until the multipart ends.
func (w *walker) diverge(i int, trait func(*dialect) bool) {
	if i < 0 || i >= len(w.mps) {
		return
	}
	if _, other := w.rd.split(trait); other != 0 {
		w.mps[i].pend(other)
		w.rd &^= other
	}
}

// prefixOnly reports whether line starts with an open boundary but is not
// a delimiter line: a parser that matches boundaries as prefixes would
// split here and we do not.
func (w *walker) prefixOnly(line []byte) bool {
	if len(line) < 2 || line[0] != '-' || line[1] != '-' {
		return false
	}
	for _, b := range w.bounds {
		if bytes.HasPrefix(line, b) {
			return true
		}
	}
	return false
}

// parseEntity reads one entity (header and body) at the current position
// into p; defType is the type when none is declared (RFC 2046 5.1.5:
// message/rfc822 in multipart/digest, else text/plain).
func (w *walker) parseEntity(p *Part, defType string) {
	saved := w.rd
	w.entity(p, defType)
	w.rd = saved
	for len(p.pending) > 0 {
		g := p.pending[0]
		p.pending = p.pending[1:]
		w.buildAlt(p, g, defType)
	}
	p.pending = nil
}

func (w *walker) entity(p *Part, defType string) {
	p.Readers = w.rd
	p.hs = w.lr.offset()
	hdr := w.readHeader(p)
	var fields []field
	complete := true
	if w.d.lenientHeader {
		fields, complete = parseFieldsLenient(hdr, w.u.expired)
	} else {
		fields, complete = parseFields(hdr, w.u.expired)
	}
	if !complete {
		p.unscannable(KindLimit, "time budget of %s exceeded", w.u.lim.Timeout)
	}
	w.nameComments(p, fields)
	typ, boundary, hasBoundary := w.interpret(p, fields, defType)
	if p.DeclaredType == "" && !strings.HasPrefix(defType, "message/") {
		typ, boundary, hasBoundary = w.dashStart(p, typ, boundary, hasBoundary)
	}
	if p.Depth == 0 && p.Origin == OriginMIME && w.raw && p.Path == "1" {
		w.u.msgFields(fields)
	}
	switch {
	case strings.HasPrefix(typ, "multipart/"):
		if !hasBoundary {
			// QUIRK: a multipart without a boundary is read as text/plain,
			// as Python (NoBoundaryInMultipartDefect) and Thunderbird do.
			p.addProblem(KindMalformed, "multipart without boundary parameter, read as text")
			break
		}
		if p.Depth >= w.u.lim.MaxMIMEDepth {
			p.unscannable(KindLimit, "MIME nesting deeper than %d", w.u.lim.MaxMIMEDepth)
			break
		}
		if p.dec != "" {
			// QUIRK: RFC 2045 section 6.4 forbids encoding a multipart;
			// Python and Thunderbird ignore the encoding and read the body
			// as it is. A client that decodes first would see other parts.
			p.addProblem(KindAmbiguous, "multipart with Content-Transfer-Encoding %q: ignored", clip(p.Encoding))
		}
		w.parseMultipart(p, boundary, typ == "multipart/digest")
		return
	case isEmbeddedMessage(typ):
		if p.Depth >= w.u.lim.MaxMIMEDepth {
			p.unscannable(KindLimit, "MIME nesting deeper than %d", w.u.lim.MaxMIMEDepth)
			break
		}
		if p.dec != "" {
			// RFC 2046 section 5.2.1 forbids it, but clients decode it:
			// the second pass decodes the body and reads the message.
			p.addProblem(KindMalformed, "%s with Content-Transfer-Encoding %q", typ, clip(p.Encoding))
			p.embedded = true
			break
		}
		p.Container = true
		child := w.u.newPart(p, OriginRFC822, true)
		if child == nil {
			w.skipBody(p)
			return
		}
		child.src = w.src
		child.Readers = w.rd
		w.parseEntity(child, "text/plain")
		p.end = child.end
		return
	}
	if p.dec == "base64" && len(w.bounds) > 0 {
		p.bounds = append([][]byte(nil), w.bounds...)
	}
	w.skipBody(p)
}

func isEmbeddedMessage(typ string) bool {
	return typ == "message/rfc822" || typ == "message/global" || typ == "message/news"
}

// nameComments: QUIRK: ripmime and munpack drop a comment from a field
// name ("Content-Type(x): ..."), which makes it a field of theirs that no
// other reader sees (dialect.nameComments).
func (w *walker) nameComments(p *Part, fields []field) {
	found := false
	for i := range fields {
		if strings.IndexByte(fields[i].name, '(') < 0 {
			continue
		}
		n := strings.TrimSpace(stripComments(fields[i].name))
		if !strings.HasPrefix(n, "content-") {
			continue
		}
		found = true
		if w.d.nameComments {
			fields[i].name = n
		}
	}
	if found {
		if _, other := w.rd.split(func(d *dialect) bool { return d.nameComments }); other != 0 {
			p.pend(other)
			w.rd &^= other
			p.Readers = w.rd
		}
	}
}

// dashStart: QUIRK: munpack reads an entity without Content-Type whose
// body starts with a line "--X" as a multipart with boundary X
// (dialect.dashStart); the readers that differ get an alternative.
func (w *walker) dashStart(p *Part, typ, boundary string, has bool) (string, string, bool) {
	seg, _, atStart, ok := w.lr.next()
	if !ok {
		return typ, boundary, has
	}
	w.lr.unread()
	if !atStart || len(seg) < 3 || seg[0] != '-' || seg[1] != '-' {
		return typ, boundary, has
	}
	b := strings.TrimRight(string(seg[2:]), " \t\r\n")
	if strings.HasSuffix(b, "--") && b != "--" {
		return typ, boundary, has
	}
	if _, other := w.rd.split(func(d *dialect) bool { return d.dashStart }); other != 0 {
		p.pend(other)
		w.rd &^= other
		p.Readers = w.rd
	}
	if w.d.dashStart {
		p.addProblem(KindMalformed, "no Content-Type, body starts with a delimiter line: read as multipart")
		return "multipart/mixed", b, true
	}
	return typ, boundary, has
}

// readHeader reads the header of the entity starting at the current
// position and sets p.bs. It returns at most MaxHeaderBytes of it.
//
// QUIRK: a line that is not a header line ends the header, as in Python
// and Thunderbird; ripmime and munpack read on to the empty line
// (dialect.lenientHeader), and a lone CR ends a header line for Python
// and munpack (dialect.crLines): readers that differ get an alternative
// reading of the entity.
func (w *walker) readHeader(p *Part) []byte {
	max := int(w.u.lim.MaxHeaderBytes)
	var hdr []byte
	limited := false
	loneCR := false
	for first := true; ; first = false {
		seg, start, atStart, ok := w.next()
		if !ok {
			p.bs = w.lr.offset()
			if !first {
				p.addProblem(KindTruncated, "the data ends inside the header")
			}
			break
		}
		if atStart {
			if i, _ := w.delimiter(seg); i >= 0 {
				w.lr.unread()
				p.bs = start
				if !first {
					p.addProblem(KindMalformed, "a boundary ends the header")
				}
				break
			}
			if isBlankLine(seg) {
				next := start + int64(len(seg))
				if !declaresContainer(hdr) && (first && w.contentFieldAhead(next) || w.headerAfterBlank(next)) {
					// QUIRK: ripmime and munpack read on past the empty
					// line when MIME fields follow it
					// (dialect.blankHeader).
					w.diverseHeader(p, func(d *dialect) bool { return d.blankHeader })
					if w.d.blankHeader {
						continue
					}
				}
				p.bs = next
				break
			}
			if !isHeaderLine(seg) {
				if w.d.lenientHeader || w.contentFieldAhead(start) {
					w.diverseHeader(p, func(d *dialect) bool { return d.lenientHeader })
				}
				if !w.d.lenientHeader {
					w.lr.unread()
					p.bs = start
					p.addProblem(KindMalformed, "no empty line between header and body")
					break
				}
			}
		}
		if !loneCR && !w.cr && hasLoneCR(seg) {
			loneCR = true
			w.diverseHeader(p, func(d *dialect) bool { return d.crLines })
		}
		if !limited && len(hdr)+len(seg) <= max {
			hdr = append(hdr, seg...)
		} else if !limited {
			limited = true
			p.unscannable(KindLimit, "header longer than %d bytes", max)
		}
	}
	return hdr
}

// contentFieldAhead reports whether a Content-* field follows off before
// the next empty line (within 64 KB): only then does a reader that reads
// a header on past a line that is no field (dialect.lenientHeader) read
// the entity otherwise; without one it reads a header of no MIME fields
// and a shorter body, nothing that it would give the user as a file.
func (w *walker) contentFieldAhead(off int64) bool { return w.contentFieldIn(off, false) }

// contentFieldIn is contentFieldAhead; with fieldsOnly, only over the
// header lines that follow off (a line that is no header line, or starts
// with "--", ends the search).
func (w *walker) contentFieldIn(off int64, fieldsOnly bool) bool {
	buf := make([]byte, 64<<10)
	n, _ := w.lsrc.ReadAt(buf, off)
	buf = buf[:n]
	for len(buf) > 0 {
		line := buf
		if i := indexNL(buf); i >= 0 {
			line, buf = buf[:i+1], buf[i+1:]
		} else {
			buf = nil
		}
		if isBlankLine(line) {
			return false
		}
		if fieldsOnly && (!isHeaderLine(line) || bytes.HasPrefix(line, []byte("--"))) {
			return false
		}
		t := bytes.TrimLeft(line, " \t")
		if len(t) >= 8 && strings.EqualFold(string(t[:8]), "content-") {
			return true
		}
	}
	return false
}

// declaresContainer reports whether a raw header has a Content-Type
// field of a multipart or message type: the MIME fields after its empty
// line are its parts' or its message's, for every reader.
func declaresContainer(hdr []byte) bool {
	for len(hdr) > 0 {
		line := hdr
		if i := indexNL(hdr); i >= 0 {
			line, hdr = hdr[:i+1], hdr[i+1:]
		} else {
			hdr = nil
		}
		if len(line) < 13 || !strings.EqualFold(string(line[:13]), "content-type:") {
			continue
		}
		v := strings.ToLower(strings.TrimSpace(string(line[13:])))
		if strings.HasPrefix(v, "multipart/") || strings.HasPrefix(v, "message/") {
			return true
		}
	}
	return false
}

// headerAfterBlank reports whether the line at off is a header line and a
// Content-* field comes before the next empty line.
func (w *walker) headerAfterBlank(off int64) bool {
	var b [256]byte
	n, _ := w.lsrc.ReadAt(b[:], off)
	line := b[:n]
	if i := indexNL(line); i >= 0 {
		line = line[:i+1]
	}
	if len(line) == 0 || isBlankLine(line) || line[0] == ' ' || line[0] == '\t' {
		return false
	}
	// A field name of letters, digits and "-" (a line of JSON or text
	// with a colon is no header for these readers either).
	i := bytes.IndexByte(line, ':')
	if i <= 0 || strings.TrimLeft(string(line[:i]), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return false
	}
	return w.contentFieldIn(off, true)
}

// diverseHeader records that the readers that differ from the followed
// one on trait read the header of p differently.
func (w *walker) diverseHeader(p *Part, trait func(*dialect) bool) {
	if _, other := w.rd.split(trait); other != 0 {
		p.pend(other)
		w.rd &^= other
		p.Readers = w.rd
	}
}

// skipBody finds the end of a leaf body: the next delimiter line of an
// open multipart, or the end of the data.
func (w *walker) skipBody(p *Part) {
	prevEOL := 0
	warned := false
	stop := w.innerStop && len(w.bounds) == 0 && p.Origin == OriginInner && p.dec != "quoted-printable"
	for {
		seg, start, atStart, ok := w.next()
		if !ok {
			p.end = w.lr.offset()
			return
		}
		if stop && atStart && isInnerField(seg) {
			w.lr.unread()
			p.end = max(start, p.bs)
			return
		}
		if w.lr.crDash {
			w.lr.crDash = false
			w.loneCRDash([]byte("\r--"))
		}
		if atStart && len(seg) > 1 && seg[0] == '-' {
			if i, _ := w.delimiter(seg); i >= 0 {
				w.lr.unread()
				p.end = max(start-int64(prevEOL), p.bs)
				return
			}
			if !warned && w.prefixOnly(seg) {
				warned = true
				p.addProblem(KindAmbiguous, "line starting with a boundary followed by other text: %q", clip(string(bytes.TrimRight(seg, "\r\n"))))
			}
		}
		w.loneCRDash(seg)
		prevEOL = eolLen(seg)
		if prevEOL > 0 && !stop && !w.u.ref && !w.tick() {
			// The lines that follow in the buffer and cannot be
			// delimiters (they do not begin with "-") are passed over
			// at once.
			if e := w.lr.skipLines('-'); e > 0 {
				prevEOL = e
			}
		}
	}
}

// parseMultipart reads the body of multipart p.
func (w *walker) parseMultipart(p *Part, boundary string, digest bool) {
	p.Container = true
	t0 := boundary // as ripmime keeps it
	if t := strings.TrimRight(boundary, " \t"); t != boundary {
		// RFC 2046 section 5.1.1: a boundary cannot end with a space.
		// QUIRK: like Python's email (get_boundary strips it), the white
		// space is dropped; delimiter lines may carry trailing spaces.
		p.addProblem(KindAmbiguous, "boundary %q ends with white space", clip(boundary))
		boundary = t
	}
	b := []byte("--" + boundary)
	for _, a := range w.bounds {
		switch {
		case bytes.Equal(a, b):
			p.addProblem(KindAmbiguous, "boundary %q is also the boundary of an enclosing multipart", clip(boundary))
		case bytes.HasPrefix(a, b) || bytes.HasPrefix(b, a):
			p.addProblem(KindAmbiguous, "boundary %q and enclosing boundary %q are prefixes of each other", clip(boundary), clip(string(a[2:])))
		}
	}
	for i, a := range w.bounds {
		if bytes.HasPrefix(a, b) || bytes.HasPrefix(b, a) {
			// A line may delimit both: readers that give it to the
			// innermost read the enclosing multipart differently.
			w.diverge(i, func(d *dialect) bool { return d.innerFirst })
		}
	}
	var rip []string
	if w.extra != "" || t0 != boundary {
		rip = append([]string{t0}, strings.Split(w.extra, "\x00")...)
		if w.extra == "" {
			rip = rip[:1]
		}
	}
	w.extra = ""
	w.bounds = append(w.bounds, b)
	w.mps = append(w.mps, p)
	w.rip = append(w.rip, rip)
	me := len(w.bounds) - 1
	defType := "text/plain"
	if digest {
		defType = "message/rfc822"
	}
	pop := func() { w.popTo(me) }

	// Preamble.
	prevEOL := 0
	var preEnd int64
	for {
		seg, start, atStart, ok := w.next()
		if !ok {
			pop()
			p.end = w.lr.offset()
			w.noBoundary(p, boundary)
			return
		}
		prevEOL = eolLen(seg)
		if !atStart {
			continue
		}
		w.loneCRDash(seg)
		i, closing := w.delimiter(seg)
		if i < 0 {
			continue
		}
		if i < me {
			w.lr.unread()
			pop()
			p.end = max(start-int64(prevEOL), p.bs)
			w.noBoundary(p, boundary)
			return
		}
		if closing {
			p.addProblem(KindMalformed, "multipart without parts")
			w.epilogue(p, me, prevEOL)
			w.ripOuter(p, start, start+int64(len(seg)))
			return
		}
		preEnd = start
		break
	}
	// Parts. Two delimiters in a row, or a delimiter at the very end,
	// make an empty part (RFC 2046 section 5.1.1). QUIRK: Python's
	// feedparser drops the empty parts between delimiters in a row, but
	// keeps the one after a final delimiter.
	var lastEnd int64 = -1
	for {
		if w.u.expired() {
			w.swallow(p, me)
			return
		}
		child := w.u.newPart(p, OriginMIME, true)
		if child == nil {
			// MaxParts reached: the rest of this multipart is one opaque
			// range; its children so far stay.
			w.swallow(p, me)
			return
		}
		child.src = w.src
		w.parseEntity(child, defType)
		lastEnd = child.end
		seg, start, _, ok := w.next()
		if !ok {
			pop()
			p.end = w.lr.offset()
			p.addProblem(KindTruncated, "multipart without close delimiter")
			return
		}
		i, closing := w.delimiter(seg)
		switch {
		case i < 0:
			// Not expected: a child ends at a delimiter or the end. Go on
			// with a new part rather than lose the bytes.
			w.lr.unread()
			p.addProblem(KindMalformed, "part ended at offset %d without a delimiter", start)
		case i < me:
			w.lr.unread()
			pop()
			p.end = lastEnd
			p.addProblem(KindMalformed, "multipart without close delimiter")
			return
		case closing:
			w.epilogue(p, me, eolLen(seg))
			w.ripOuter(p, preEnd, start+int64(len(seg)))
			return
		}
	}
}

// ripOuter: QUIRK: ripmime gives the user what a multipart holds outside
// its parts. The preamble of the multipart a message starts with is a
// text file of its own (MIME_unpack_stage2 decodes the entity's body up
// to the first delimiter); after a close delimiter it reads on as after
// any other, the next block of header fields it knows (Content-*,
// Subject, From...) and the body after it (the epilogue). Each is a
// child of p for ripmime only, of origin inner (scanned and judged, no
// reason to rewrite), built only when it could hold something: a
// preamble with other characters than letters, digits, spaces and
// ".,'-" (not "This is a multi-part message in MIME format."), an
// epilogue with such a field line.
func (w *walker) ripOuter(p *Part, preEnd, epiStart int64) {
	if w.rd&ReaderRipMIME == 0 {
		return
	}
	// NOT MODELLED: the preamble in a reading of ripmime's alone (an
	// alternative): there its bytes are mostly what the others read as
	// a part (a header read on past its end), and a leaf of its own
	// would make a benign alternative one to rewrite for.
	if preEnd > p.bs && w.rd != ReaderRipMIME && (p.Depth == 0 || p.Origin == OriginRFC822) && w.notable(p.bs, preEnd) {
		if c := w.u.newPart(p, OriginInner, false); c != nil {
			c.Readers, c.inner, c.src = ReaderRipMIME, true, w.src
			c.hs, c.bs, c.end = p.bs, p.bs, preEnd
			c.DeclaredType = "text/plain"
		}
	}
	if epiStart >= p.end {
		return
	}
	if start, ok := w.ripFieldIn(epiStart, p.end); ok {
		c := w.u.newPart(p, OriginInner, false)
		if c == nil {
			p.unscannable(KindLimit, "more than %d parts", w.u.lim.MaxParts)
			return
		}
		c.Readers, c.inner, c.src = ReaderRipMIME, true, w.src
		sub := w.u.newWalker(w.src, w.lsrc, w.size, start, p.end, w.raw, ReaderRipMIME, w.cr)
		sub.parseEntity(c, "text/plain")
		settle(c)
		if sub.lr.err != nil && w.u.ioErr == nil {
			w.u.ioErr = sub.lr.err
		}
	}
}

// notable reports whether src[from:to) holds a character other than
// letters, digits, white space and ".,'-".
func (w *walker) notable(from, to int64) bool {
	buf := make([]byte, min(to-from, 64<<10))
	n, _ := w.src.ReadAt(buf, from)
	for _, c := range buf[:n] {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == ' ', c == '\t', c == '\r', c == '\n', c == '.', c == ',', c == '\'', c == '-':
		default:
			return true
		}
	}
	return to-from > int64(n)
}

// ripFieldIn finds in src[from:to) (within 64 KB) the first block of
// lines (blocks end at an empty line) with a line that starts a header
// field that makes ripmime read the block as a header
// (MIMEH_headers_process: a name that holds "content-" or is subject,
// date, from, to, message-id, received or charset); it returns where the
// block starts. ripmime skips the blocks before it.
func (w *walker) ripFieldIn(from, to int64) (int64, bool) {
	buf := make([]byte, min(to-from, 64<<10))
	n, _ := w.lsrc.ReadAt(buf, from)
	buf = buf[:n]
	off, block := from, from
	for len(buf) > 0 {
		line := buf
		if i := indexNL(buf); i >= 0 {
			line, buf = buf[:i+1], buf[i+1:]
		} else {
			buf = nil
		}
		off += int64(len(line))
		if isBlankLine(line) {
			block = off
			continue
		}
		end := bytes.IndexAny(line, ": \t\r\n")
		if end <= 0 {
			continue
		}
		name := strings.ToLower(string(line[:end]))
		if strings.Contains(name, "content-") {
			return block, true
		}
		switch name {
		case "subject", "date", "from", "to", "message-id", "received", "charset":
			return block, true
		}
	}
	return 0, false
}

// noBoundary makes multipart p, whose boundary never occurs, a leaf.
// QUIRK: Python's email (a payload with NoBoundaryInMultipartDefect),
// ripmime and munpack give its body to the user as one part, decoded with
// its Content-Transfer-Encoding if it has one.
func (w *walker) noBoundary(p *Part, boundary string) {
	p.Container = false
	p.addProblem(KindMalformed, "multipart boundary %q not found, read as one part", clip(boundary))
}

// loneCRDash notes a line holding a lone CR followed by "--", or a line
// starting with "--" that holds a lone CR: a reader that ends lines at a
// lone CR may find a delimiter there, and reads the outermost multipart
// of the walk differently.
func (w *walker) loneCRDash(seg []byte) {
	if w.cr || len(w.mps) == 0 {
		return
	}
	if bytes.Contains(seg, []byte("\r--")) || len(seg) > 2 && seg[0] == '-' && seg[1] == '-' && hasLoneCR(seg) {
		w.diverge(0, func(d *dialect) bool { return d.crLines })
	}
}

// epilogue reads the text after a close delimiter, up to the next
// delimiter of an enclosing multipart. prevEOL is the line break length
// of the close delimiter line.
func (w *walker) epilogue(p *Part, me, prevEOL int) {
	w.popTo(me)
	for {
		seg, start, atStart, ok := w.next()
		if !ok {
			p.end = w.lr.offset()
			return
		}
		if atStart && w.innerStop && me == 0 && isInnerField(seg) {
			// ripmime reads the entities after a close delimiter.
			w.lr.unread()
			p.end = max(start, p.bs)
			return
		}
		if atStart {
			w.loneCRDash(seg)
			if i, _ := w.delimiter(seg); i >= 0 {
				w.lr.unread()
				p.end = max(start-int64(prevEOL), p.bs)
				return
			}
		}
		prevEOL = eolLen(seg)
	}
}

// popTo closes the open multiparts from me on.
func (w *walker) popTo(me int) {
	w.bounds, w.mps, w.rip = w.bounds[:me], w.mps[:me], w.rip[:me]
}

// swallow skips the rest of multipart p (whose boundary is w.bounds[me])
// after a limit, and marks it unscannable.
func (w *walker) swallow(p *Part, me int) {
	if w.u.expired() {
		p.unscannable(KindLimit, "time budget of %s exceeded", w.u.lim.Timeout)
	} else {
		p.unscannable(KindLimit, "more than %d parts", w.u.lim.MaxParts)
	}
	prevEOL := 0
	for {
		seg, start, atStart, ok := w.next()
		if !ok {
			w.popTo(me)
			p.end = w.lr.offset()
			return
		}
		if atStart {
			if i, _ := w.delimiter(seg); i >= 0 && i < me {
				w.lr.unread()
				w.popTo(me)
				p.end = max(start-int64(prevEOL), p.bs)
				return
			}
		}
		prevEOL = eolLen(seg)
	}
}

// interpret reads the MIME fields of p and returns the effective media
// type and the boundary.
func (w *walker) interpret(p *Part, fields []field, defType string) (typ, boundary string, hasBoundary bool) {
	w.extra = ""
	var ct, cte, cd []string
	var ctf, ctef, cdf []*field
	for i := range fields {
		f := &fields[i]
		switch f.name {
		case "content-type":
			ct = append(ct, f.value)
			ctf = append(ctf, f)
		case "content-transfer-encoding":
			cte = append(cte, f.value)
			ctef = append(ctef, f)
		case "content-disposition":
			cd = append(cd, f.value)
			cdf = append(cdf, f)
		}
	}
	// QUIRK: of repeated fields the first counts, as in Python's email
	// (Message.get) and Thunderbird (MimeHeaders_get); RFC 2045 allows one.
	for _, d := range []struct {
		name string
		vs   []string
	}{{"Content-Type", ct}, {"Content-Transfer-Encoding", cte}, {"Content-Disposition", cd}} {
		if len(d.vs) > 1 {
			p.addProblem(KindAmbiguous, "%s given %d times: %s", d.name, len(d.vs), quoteList(d.vs))
		}
	}
	typ = defType
	var name, ctName string
	odd := false // parameters that readers may read differently
	if len(ct) > 0 {
		v, params, probs := parseParamField(ct[0])
		for _, pr := range probs {
			p.addProblem(KindMalformed, "Content-Type: %s", pr)
		}
		p.DeclaredType = v
		if i := strings.IndexByte(v, '/'); i > 0 && i < len(v)-1 && !strings.ContainsAny(v, " \t\"") {
			typ = v
		} else {
			// QUIRK: an invalid type means text/plain (RFC 2045 section
			// 5.2), as in Python and Thunderbird.
			typ = "text/plain"
			p.addProblem(KindMalformed, "invalid Content-Type %q, read as text/plain", clip(v))
		}
		rp := resolveParams(params)
		odd = odd || len(rp.ambiguous) > 0 || len(probs) > 0
		for _, a := range rp.ambiguous {
			p.addProblem(KindAmbiguous, "Content-Type: %s", a)
		}
		for _, pr := range rp.problems {
			p.addProblem(KindEncoding, "Content-Type: %s", pr)
		}
		p.Charset = strings.ToLower(rp.values["charset"])
		boundary, hasBoundary = rp.values["boundary"]
		name = rp.values["name"]
	}
	if len(cte) > 0 {
		p.Encoding = strings.ToLower(strings.TrimSpace(stripComment(cte[0])))
	}
	p.dec = canonicalDec(p.Encoding)
	if len(cd) > 0 {
		v, params, probs := parseParamField(cd[0])
		for _, pr := range probs {
			p.addProblem(KindMalformed, "Content-Disposition: %s", pr)
		}
		p.Disposition = v
		rp := resolveParams(params)
		odd = odd || len(rp.ambiguous) > 0 || len(probs) > 0
		for _, a := range rp.ambiguous {
			p.addProblem(KindAmbiguous, "Content-Disposition: %s", a)
		}
		for _, pr := range rp.problems {
			p.addProblem(KindEncoding, "Content-Disposition: %s", pr)
		}
		if fn := rp.values["filename"]; fn != "" {
			// QUIRK: the Content-Disposition filename wins over the
			// Content-Type name, as in Thunderbird, Outlook and Python's
			// get_filename.
			if name != "" && name != fn {
				p.addProblem(KindAmbiguous, "file name %q differs from Content-Type name %q", clip(fn), clip(name))
			}
			ctName = name
			name = fn
		}
	}
	p.setName(name)
	// QUIRK: ripmime takes the Content-Type name: both are names.
	p.addName(ctName)
	if odd || w.rd.primary() != ReaderThunderbird || !plainFields(ctf, ctef, cdf) {
		typ, boundary, hasBoundary = w.readings(p, ctf, ctef, cdf, defType)
	}
	return typ, boundary, hasBoundary
}

// readings finds how each reader of the walk reads the MIME fields of p:
// the readers that read them as the followed one does stay with this
// walk, the others get an alternative reading of p (one for each way of
// reading them). Every file name some reader could take is added to
// p.Names. It returns the followed reader's type and boundary.
func (w *walker) readings(p *Part, ct, cte, cd []*field, defType string) (string, string, bool) {
	for _, n := range candidateNames(ct, cd) {
		p.addName(n)
	}
	prim := readingOf(w.d, ct, cte, defType)
	var groups []Readers
	var keys []reading
	w.rd.each(func(x Readers) {
		r := readingOf(dialectOf(x), ct, cte, defType)
		for i, k := range keys {
			if k == r {
				groups[i] |= x
				return
			}
		}
		keys = append(keys, r)
		groups = append(groups, x)
	})
	for i, k := range keys {
		if k == prim {
			continue
		}
		p.pend(groups[i])
		w.rd &^= groups[i]
	}
	p.Readers = w.rd
	p.dec = prim.dec
	w.extra = prim.extra
	if prim.declared != "" {
		p.DeclaredType = prim.declared
	}
	if strings.HasPrefix(prim.dec, "raw:") && p.Encoding == "" {
		p.Encoding = strings.TrimPrefix(prim.dec, "raw:")
	}
	return prim.typ, prim.boundary, prim.hasBoundary
}

// setName sets Name and SafeName and records names that could mislead.
func (p *Part) setName(name string) {
	p.Name = name
	p.SafeName = SafeName(name)
	p.Names = nil
	if name == "" {
		return
	}
	p.Names = []string{name}
	if strings.ContainsAny(name, "/\\") {
		p.addProblem(KindAmbiguous, "file name %q contains a path", clip(name))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiOrFormat(r) {
			p.addProblem(KindAmbiguous, "file name %q contains control or direction characters", clip(name))
			break
		}
	}
}

// isBidiOrFormat reports invisible format characters (category Cf), the
// bidi overrides among them, which can make "exe.txt" look like "txt.exe".
func isBidiOrFormat(r rune) bool {
	return unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}

// SafeName turns a declared file name into a base name that is safe to
// show and to use as a file name: the part after the last / or \, with
// control, format (bidi) and invalid characters replaced by "_", leading
// dots and surrounding spaces removed, at most 200 bytes. "" stays "".
func SafeName(name string) string {
	if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(name, "\uFFFD") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiOrFormat(r) || r == ':' {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > 200 {
			break
		}
		b.WriteRune(r)
	}
	s := strings.TrimSpace(b.String())
	s = strings.TrimLeft(s, ".")
	return strings.TrimSpace(s)
}

// msgFields records the summary fields of the top-level message.
func (u *unpacker) msgFields(fields []field) {
	var probs []string
	for _, f := range fields {
		switch f.name {
		case "message-id":
			if u.msg.MessageID == "" {
				u.msg.MessageID = clip(f.value)
			}
		case "subject":
			if u.msg.Subject == "" {
				u.msg.Subject = decode2047(f.value, &probs)
			}
		case "from":
			if u.msg.From == "" {
				u.msg.From = decode2047(f.value, &probs)
			}
		}
	}
	for _, pr := range probs {
		u.msg.Problems = append(u.msg.Problems, Problem{Kind: KindEncoding, Detail: pr})
	}
}

func childPath(parent *Part, mime bool, i int) string {
	if mime {
		return parent.Path + "." + strconv.Itoa(i)
	}
	return parent.Path + "/" + strconv.Itoa(i)
}
