package unpack

import (
	"bytes"
	"io"
)

// lineBufSize is the longest line segment lineReader returns at once.
// Longer lines come in several segments; only the first is at the start
// of a line, which is all boundary and header recognition need.
const lineBufSize = 64 << 10

// lineReader reads line segments from a window of an io.ReaderAt and
// tracks their offsets. It never holds more than one buffer.
type lineReader struct {
	src    io.ReaderAt
	end    int64  // offset just past the window
	buf    []byte // buf[r:w] is unread data
	bufOff int64  // offset of buf[0]
	r, w   int
	eof    bool
	err    error // a read error other than EOF

	midLine bool // the next segment continues a line
	crDash  bool // skipLines passed over a lone CR followed by "--"

	// the last segment returned, for unread
	lastR       int
	lastMidLine bool
}

func newLineReader(src io.ReaderAt, start, end int64) *lineReader {
	// A window smaller than lineBufSize gets a buffer one byte larger
	// than itself: it is read whole at once either way, so the segments
	// are the same, and a 4 KB message does not clear 64 KB of fresh
	// memory (issue 13, one-shot start-up).
	n := lineBufSize
	if w := end - start; w >= 0 && w < lineBufSize {
		n = int(w) + 1
	}
	return &lineReader{src: src, end: end, bufOff: start, buf: make([]byte, n)}
}

// offset is the offset of the next unread byte.
func (l *lineReader) offset() int64 { return l.bufOff + int64(l.r) }

// fill moves unread data to the front and reads more.
func (l *lineReader) fill() {
	if l.r > 0 {
		n := copy(l.buf, l.buf[l.r:l.w])
		l.bufOff += int64(l.r)
		l.w = n
		l.r = 0
		l.lastR = 0
	}
	for !l.eof && l.w < len(l.buf) {
		want := l.buf[l.w:]
		pos := l.bufOff + int64(l.w)
		if rem := l.end - pos; rem < int64(len(want)) {
			want = want[:rem]
		}
		if len(want) == 0 {
			l.eof = true
			break
		}
		n, err := l.src.ReadAt(want, pos)
		l.w += n
		if err == io.EOF || (err == nil && n == 0) {
			if n < len(want) {
				l.eof = true
			}
		} else if err != nil {
			l.err = err
			l.eof = true
		}
		if n < len(want) {
			// ReadAt returns short only at the end or on error.
			l.eof = true
		}
	}
}

// next returns the next segment: a whole line with its line break, the
// first lineBufSize bytes of a longer line, or the last bytes before the
// end. start is its offset; atStart tells whether it begins a line. The
// segment is valid until the next call. ok is false at the end.
func (l *lineReader) next() (seg []byte, start int64, atStart, ok bool) {
	i := -1
	if l.r < l.w {
		i = indexNL(l.buf[l.r:l.w])
	}
	if l.r == l.w || (i < 0 && !l.eof) {
		// No complete line in the buffer and more to read.
		l.fill()
		i = indexNL(l.buf[l.r:l.w])
	}
	if l.r == l.w {
		return nil, l.offset(), !l.midLine, false
	}
	l.lastR, l.lastMidLine = l.r, l.midLine
	data := l.buf[l.r:l.w]
	n := len(data)
	if i >= 0 {
		n = i + 1
		l.midLine = false
	} else {
		l.midLine = !l.eof || n == len(l.buf)
		if l.eof && n < len(l.buf) {
			l.midLine = false
		}
	}
	seg = data[:n]
	start = l.offset()
	atStart = !l.lastMidLine
	l.r += n
	return seg, start, atStart, true
}

// skipLines passes over the complete lines in the buffer that do not
// begin with c, when the reader is at the start of a line, as if next
// had returned them one by one (they are never segments of a longer
// line: each lies whole in the buffer). It returns the line break length
// of the last line passed over, 0 when none was.
func (l *lineReader) skipLines(c byte) int {
	if l.midLine {
		return 0
	}
	data := l.buf[l.r:l.w]
	if len(data) == 0 || data[0] == c {
		return 0
	}
	// k is the line break before the next line beginning with c, else
	// the last line break. c is searched alone (bytes.Index would stop
	// at every line break): it is rare in the bodies worth skipping.
	k := -1
	for from := 1; ; {
		j := bytes.IndexByte(data[from:], c)
		if j < 0 {
			k = bytes.LastIndexByte(data, '\n')
			break
		}
		if j += from; data[j-1] == '\n' {
			k = j - 1
			break
		}
		if data[j-1] == '\r' && j+1 < len(data) && data[j+1] == '-' {
			l.crDash = true
		}
		from = j + 1
	}
	if k < 0 {
		return 0
	}
	l.r += k + 1
	if k > 0 && data[k-1] == '\r' {
		return 2
	}
	return 1
}

// unread pushes back the segment last returned by next.
func (l *lineReader) unread() {
	l.r, l.midLine = l.lastR, l.lastMidLine
}
