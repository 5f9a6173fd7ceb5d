package unpack

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// munpackText reports whether munpack reads leaf p's content as the text
// body of a message, which it searches for MIME structure (munpackBody):
// the body of the message itself or of a message/rfc822 part (not a
// part of a multipart: munpack saves a text part as it is), or an entity
// munpack found that way; of no type, a text type or an invalid one; not
// decoded (munpack saves a base64 or quoted-printable text as it is).
// QUIRK: munpack saves a text with a file name without searching it; it
// is searched anyway (a reading more costs nothing when it finds nothing).
func munpackText(p *Part) bool {
	return p.Size > 0 && munpackCandidate(p)
}

// munpackCandidate is munpackText before the content is known.
func munpackCandidate(p *Part) bool {
	if p.Container || p.dec != "" || p.embedded {
		return false
	}
	if !p.munpackMsg && p.Origin != OriginRFC822 && (p.Origin != OriginMIME || p.Depth != 0) {
		return false
	}
	t := p.DeclaredType
	return t == "" || len(t) >= 5 && strings.EqualFold(t[:5], "text/") || !strings.Contains(t, "/")
}

// munpackBody: QUIRK: munpack (mpack's handleUuencode, observed with
// readers.py) searches the text body of a message for MIME structure.
// The first line "--X" (X not empty once trailing white space is
// dropped) that is followed by a line that starts like a header field
// ("Name:", no white space before the colon) starts a multipart of
// boundary X: munpack gives its parts to the user, up to the close
// delimiter. A line "Content-" (any case) seen first starts an entity
// that runs to the end of the body, read as a message (its own text
// body is searched again). That reading is a child of p for munpack
// only (Origin inner, Readers munpack, so Ambiguous): like ripmime's
// inner reading it is scanned and judged, and is no reason to rewrite
// (the rewrite writes the content as it is). The text of p before it is
// not given to the user as a part.
func (u *unpacker) munpackBody(p *Part) error {
	ra, size := p.readerAt()
	var r io.Reader = io.NewSectionReader(ra, 0, size)
	if p.content.inMemory {
		r = bytes.NewReader(p.content.mem)
	}
	off, boundary, found, err := munpackStart(r)
	if err != nil {
		return err
	}
	if !found {
		return nil
	}
	if p.Depth >= u.lim.MaxMIMEDepth {
		p.unscannable(KindLimit, "MIME nesting deeper than %d", u.lim.MaxMIMEDepth)
		return nil
	}
	child := u.newPart(p, OriginInner, false)
	if child == nil {
		p.unscannable(KindLimit, "more than %d parts", u.lim.MaxParts)
		return nil
	}
	child.Readers = ReaderMunpack
	child.inner = true
	child.src = ra
	w := u.newWalker(ra, crSource{src: ra, size: size}, size, off, size, false, ReaderMunpack, true)
	if boundary != "" {
		child.hs, child.bs = off, off
		child.addProblem(KindMalformed, "munpack reads a multipart of boundary %q in the text", clip(boundary))
		w.parseMultipart(child, boundary, false)
	} else {
		w.parseEntity(child, "text/plain")
		if !child.Container && child.bs == off {
			// No header as we read it: its body is p's content.
			p.Children = p.Children[:len(p.Children)-1]
			u.nparts--
			return nil
		}
		child.munpackMsg = true // its own text body is searched again
	}
	settle(child)
	if w.lr.err != nil {
		return w.lr.err
	}
	return u.decodeTree(child)
}

// munpackStart finds where munpack starts reading MIME structure in a
// text body (munpackBody): the offset of the "--X" line and X, or of the
// "Content-" line and "".
func munpackStart(r io.Reader) (off int64, boundary string, found bool, err error) {
	br := bufio.NewReaderSize(r, 16<<10)
	var pos int64
	dashOff := int64(-1) // the previous line was "--X"
	var dash string
	atStart := true
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if atStart {
				if dashOff >= 0 && headerLike(line) {
					return dashOff, dash, true, nil
				}
				dashOff = -1
				if len(line) > 2 && line[0] == '-' && line[1] == '-' {
					if x := bytes.TrimRight(line[2:], " \t\r\n"); len(x) > 0 && len(x) <= 1000 {
						dashOff, dash = pos, string(x)
					}
				} else if len(line) >= 8 && bytes.EqualFold(line[:8], contentDash) {
					return pos, "", true, nil
				}
			}
			pos += int64(len(line))
			atStart = line[len(line)-1] == '\n'
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
		case err == io.EOF:
			return 0, "", false, nil
		case err != nil:
			return 0, "", false, err
		}
	}
}

var contentDash = []byte("content-")

// headerLike reports whether line starts like a header field for munpack:
// a name of at least one character without white space or colon, then a
// colon.
func headerLike(line []byte) bool {
	for i, c := range line {
		switch c {
		case ':':
			return i > 0
		case ' ', '\t', '\r', '\n':
			return false
		}
	}
	return false
}

// munpackWatch sees a content as it is stored (the sink's contentWatch)
// and notes whether munpackStart could find something in it: a line that
// starts with "--", or with "content-" in any case. It looks for the "-"
// alone, as innerWatch does.
type munpackWatch struct {
	n    int64   // bytes seen
	tail [8]byte // the last bytes seen, for a line start across two writes
	nt   int     // bytes in tail
	seen bool
	skip bool // sees nothing: maybe is always false
}

// Write notes the next bytes of the content.
func (w *munpackWatch) Write(b []byte) {
	base := w.n
	w.n += int64(len(b))
	if w.skip || w.seen {
		return
	}
	for i := 0; i < len(b); {
		k := bytes.IndexByte(b[i:], '-')
		if k < 0 {
			break
		}
		j := i + k
		i = j + 1
		if w.candidate(b, j, base) {
			w.seen = true
			return
		}
	}
	w.nt = keepTail(w.tail[:], w.nt, b)
}

// candidate reports whether the "-" at b[j] (content offset base+j)
// starts a line "--" (or may: the next byte is in the next write) or ends
// "content" at a line start.
func (w *munpackWatch) candidate(b []byte, j int, base int64) bool {
	at := func(k int) byte { // b[k], or the tail's byte for k < 0
		if k >= 0 {
			return b[k]
		}
		return w.tail[w.nt+k]
	}
	off := base + int64(j)
	if off == 0 || at(j-1) == '\n' {
		return j+1 == len(b) || b[j+1] == '-'
	}
	if off < 7 || (off > 7 && at(j-8) != '\n') {
		return false
	}
	var name [7]byte
	for k := range name {
		name[k] = at(j-7+k) | 0x20
	}
	return string(name[:]) == "content"
}

// maybe reports whether munpackBody must read a content of size bytes:
// the watch did not see all of it, or saw a line munpackStart could find.
func (w *munpackWatch) maybe(size int64) bool {
	return !w.skip && (w.n != size || w.seen)
}
