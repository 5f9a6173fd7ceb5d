package unpack

import (
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

	// the last segment returned, for unread
	lastR       int
	lastMidLine bool
}

func newLineReader(src io.ReaderAt, start, end int64) *lineReader {
	return &lineReader{src: src, end: end, bufOff: start, buf: make([]byte, lineBufSize)}
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
	if l.r == l.w || !l.hasLine() {
		l.fill()
	}
	if l.r == l.w {
		return nil, l.offset(), !l.midLine, false
	}
	l.lastR, l.lastMidLine = l.r, l.midLine
	data := l.buf[l.r:l.w]
	n := len(data)
	if i := indexNL(data); i >= 0 {
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

// hasLine reports whether the buffer holds a complete line or the end.
func (l *lineReader) hasLine() bool {
	return l.eof || indexNL(l.buf[l.r:l.w]) >= 0
}

// unread pushes back the segment last returned by next.
func (l *lineReader) unread() {
	l.r, l.midLine = l.lastR, l.lastMidLine
}
