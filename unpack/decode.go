package unpack

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// base64Writer decodes base64 text written to it, leniently, into w.
//
// QUIRK: like Thunderbird's and Python's (non-strict binascii) decoders,
// it skips characters outside the alphabet (line breaks, spaces, stray
// bytes), treats "=" as the end of the current group and goes on decoding
// after it (messages concatenate base64 streams), and decodes an
// incomplete last group as far as it goes. Each deviation is counted and
// reported.
type base64Writer struct {
	w       io.Writer
	acc     uint32
	nbits   int // bits in acc
	quad    int // characters in the current group
	out     []byte
	stray   int64
	afterEq int64 // alphabet characters after padding
	sawEq   bool
	badEq   int64 // padding where it cannot be
	partial bool  // an incomplete group at the end
	ref     bool  // Write is writeRuns, without the line path (tests)
	lineLen int   // length of the last line the line path took, with its "\n"
	lined   int64 // bytes the line path decoded
}

var b64val = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xff
	}
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(a); i++ {
		t[a[i]] = byte(i)
	}
	return t
}()

// b64pair maps two characters (first<<8 | second) to their 12 bits when
// both are in the alphabet, else to 0xffff: decodeGroups looks up two
// characters at a time. The 128 KB table is built on first use, by a
// writer that has decoded pairMin bytes: every delivery would pay for it
// at start-up, and a small message has no use for it.
var b64pair = sync.OnceValue(func() *[1 << 16]uint16 {
	t := new([1 << 16]uint16)
	for i := range t {
		t[i] = 0xffff
	}
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(a); i++ {
		for j := 0; j < len(a); j++ {
			t[int(a[i])<<8|int(a[j])] = uint16(i<<6 | j)
		}
	}
	return t
})

// pairMin is how much a writer decodes, one character at a time through
// b64val, before it uses b64pair.
const pairMin = 256 << 10

// decodeGroups decodes src, whole groups of four alphabet characters,
// into dst, which has room for len(src)/4*3 bytes; it may write past
// them, inside dst. It reports false, leaving dst undefined, when a
// character is outside the alphabet ("=", line breaks, anything else).
// When it succeeds, the output is the standard library's.
func decodeGroups(dst, src []byte) bool {
	b64pair := b64pair()
	for len(src) >= 16 && len(dst) >= 14 {
		a := b64pair[binary.BigEndian.Uint16(src[0:])]
		b := b64pair[binary.BigEndian.Uint16(src[2:])]
		c := b64pair[binary.BigEndian.Uint16(src[4:])]
		d := b64pair[binary.BigEndian.Uint16(src[6:])]
		e := b64pair[binary.BigEndian.Uint16(src[8:])]
		f := b64pair[binary.BigEndian.Uint16(src[10:])]
		g := b64pair[binary.BigEndian.Uint16(src[12:])]
		h := b64pair[binary.BigEndian.Uint16(src[14:])]
		if (a|b|c|d|e|f|g|h)&0xf000 != 0 {
			return false
		}
		binary.BigEndian.PutUint64(dst, uint64(a)<<52|uint64(b)<<40|uint64(c)<<28|uint64(d)<<16)
		binary.BigEndian.PutUint64(dst[6:], uint64(e)<<52|uint64(f)<<40|uint64(g)<<28|uint64(h)<<16)
		src, dst = src[16:], dst[12:]
	}
	for len(src) >= 4 && len(dst) >= 3 {
		a := b64pair[binary.BigEndian.Uint16(src[0:])]
		b := b64pair[binary.BigEndian.Uint16(src[2:])]
		if (a|b)&0xf000 != 0 {
			return false
		}
		v := uint32(a)<<12 | uint32(b)
		dst[0], dst[1], dst[2] = byte(v>>16), byte(v>>8), byte(v)
		src, dst = src[4:], dst[3:]
	}
	return len(src) == 0
}

// decodeQuads is decodeGroups with the 256-byte table: four lookups a
// group.
func decodeQuads(dst, src []byte) bool {
	for len(src) >= 4 && len(dst) >= 3 {
		a, b, c, e := b64val[src[0]], b64val[src[1]], b64val[src[2]], b64val[src[3]]
		if (a|b|c|e)&0xc0 != 0 {
			return false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(e)
		dst[0], dst[1], dst[2] = byte(v>>16), byte(v>>8), byte(v)
		src, dst = src[4:], dst[3:]
	}
	return len(src) == 0
}

func newBase64Writer(w io.Writer) *base64Writer {
	return &base64Writer{w: w, out: make([]byte, 0, 32<<10)}
}

func (d *base64Writer) Write(p []byte) (int, error) {
	if d.ref {
		return d.writeRuns(p)
	}
	// Fastest path: at a group boundary, a whole line that is only
	// alphabet characters, a whole number of groups, and fits in d.out is
	// decoded at once (decodeLine). It leaves exactly the state, output
	// and flush points that writeRun would: the line is a run of alphabet
	// characters ending at "\r" or "\n" that the room in d.out covers (one
	// Decode of the same characters, no flush), and its line break is two
	// skipped characters that count nothing. Any other line, and a line
	// that continues in the next Write, goes to writeRun. Each line is
	// searched for once and tried at most twice, so that text without
	// line breaks costs no more than before.
	nl := -1    // index of the first "\n" at or after i (len(p): none), when nl >= i
	tried := -1 // the line path is not tried again before i passes tried
	for i := 0; i < len(p); {
		if d.quad == 0 && !d.sawEq && i > tried {
			// Lines are most often as long as the one before: a "\n"
			// where the last length puts it is taken as the end of the
			// line without a search (an earlier "\n" would be inside the
			// line then, and make decodeLine fail).
			if j := d.lineLen - 1; j > 0 && i+j < len(p) && p[i+j] == '\n' && d.decodeLine(p[i:i+j]) {
				i += j + 1
				continue
			}
			if nl < i {
				nl = len(p)
				if j := bytes.IndexByte(p[i:], '\n'); j >= 0 {
					nl = i + j
				}
			}
			if nl < len(p) && d.decodeLine(p[i:nl]) {
				d.lineLen = nl + 1 - i
				i = nl + 1
				continue
			}
			tried = nl
		}
		k, err := d.writeRun(p[i:])
		if err != nil {
			return 0, err
		}
		i += k
	}
	return len(p), nil
}

// decodeLine decodes line (without its "\n") into d.out when it is, but
// for a final "\r", a whole number of groups of alphabet characters that
// fits in d.out, and reports whether it did. A failed attempt leaves d
// as it was (what it wrote past len(d.out) does not count).
func (d *base64Writer) decodeLine(line []byte) bool {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	n := len(line)
	if n < 4 || n&3 != 0 || cap(d.out)-len(d.out) < n/4*3 {
		return false
	}
	dec := decodeQuads
	if d.lined >= pairMin {
		dec = decodeGroups
	}
	if !dec(d.out[len(d.out):cap(d.out)], line) {
		return false
	}
	d.out = d.out[:len(d.out)+n/4*3]
	d.lined += int64(n / 4 * 3)
	return true
}

// writeRun is one step of the lenient decoder without the line path: at
// a group boundary, a run of alphabet characters as long as it goes is
// decoded by the standard library, many groups at a time; otherwise one
// character goes through writeByte. It returns how much of p it used
// (at least one byte).
func (d *base64Writer) writeRun(p []byte) (int, error) {
	if d.quad == 0 && !d.sawEq {
		j := 0
		for j < len(p) && b64val[p[j]] != 0xff {
			j++
		}
		if n := j &^ 3; n >= 4 {
			i := 0
			for n > 0 {
				room := (cap(d.out) - len(d.out)) / 3 * 4
				if room < 4 {
					if err := d.flush(); err != nil {
						return 0, err
					}
					continue
				}
				k := min(n, room)
				m, _ := base64.StdEncoding.Decode(d.out[len(d.out):cap(d.out)], p[i:i+k])
				d.out = d.out[:len(d.out)+m]
				i += k
				n -= k
			}
			return i, nil
		}
	}
	return 1, d.writeByte(p[0])
}

// writeRuns is Write without the line path: the decoder as it was before
// the line path, kept as the reference for tests.
func (d *base64Writer) writeRuns(p []byte) (int, error) {
	for i := 0; i < len(p); {
		k, err := d.writeRun(p[i:])
		if err != nil {
			return 0, err
		}
		i += k
	}
	return len(p), nil
}

// writeByte is the lenient decoder, one character at a time: stray
// characters are counted and skipped, padding ends a group wherever it is.
func (d *base64Writer) writeByte(c byte) error {
	v := b64val[c]
	if v == 0xff {
		switch c {
		case '=':
			d.pad()
		case '\r', '\n', ' ', '\t':
		default:
			d.stray++
		}
		return nil
	}
	if d.sawEq {
		d.afterEq++
		d.sawEq = false
	}
	d.acc = d.acc<<6 | uint32(v)
	d.nbits += 6
	d.quad++
	if d.quad == 4 {
		d.out = append(d.out, byte(d.acc>>16), byte(d.acc>>8), byte(d.acc))
		d.acc, d.nbits, d.quad = 0, 0, 0
		if len(d.out) >= cap(d.out)-3 {
			return d.flush()
		}
	}
	return nil
}

// pad handles "=": it ends the current group.
func (d *base64Writer) pad() {
	switch d.quad {
	case 0:
		if !d.sawEq {
			d.badEq++
		}
	case 1:
		d.badEq++
		d.acc, d.nbits, d.quad = 0, 0, 0
	default:
		d.emitPartial()
	}
	d.sawEq = true
}

// emitPartial writes the whole bytes of an incomplete group.
func (d *base64Writer) emitPartial() {
	switch d.quad {
	case 2:
		d.out = append(d.out, byte(d.acc>>4))
	case 3:
		d.out = append(d.out, byte(d.acc>>10), byte(d.acc>>2))
	}
	d.acc, d.nbits, d.quad = 0, 0, 0
}

func (d *base64Writer) flush() error {
	if len(d.out) == 0 {
		return nil
	}
	_, err := d.w.Write(d.out)
	d.out = d.out[:0]
	return err
}

// Close writes what is left.
func (d *base64Writer) Close() error {
	if d.quad == 1 {
		d.partial = true
		d.acc, d.nbits, d.quad = 0, 0, 0
	} else if d.quad > 1 {
		d.partial = true
		d.emitPartial()
	}
	return d.flush()
}

func (d *base64Writer) problems() []string {
	var ps []string
	if d.stray > 0 {
		ps = append(ps, fmt.Sprintf("%d characters outside the alphabet skipped", d.stray))
	}
	if d.badEq > 0 {
		ps = append(ps, fmt.Sprintf("%d misplaced padding characters", d.badEq))
	}
	if d.afterEq > 0 {
		ps = append(ps, "data after padding decoded")
	}
	if d.partial {
		ps = append(ps, "incomplete last group")
	}
	return ps
}

// qpWriter decodes quoted-printable text (RFC 2045 section 6.7) written
// to it into w. QUIRK: invalid "=" sequences are kept as they are, lower
// case hex is accepted, and "=" followed by white space before the line
// break is a soft break, as Thunderbird and Python's quopri do.
type qpWriter struct {
	w     io.Writer
	state int // 0 text; 1 after "="; 2 after "=X"; 3 after "=" and white space
	hex1  byte
	ws    []byte // white space held until we know it is not trailing
	out   []byte
	bad   int64
	// loneCR counts "=" followed by a CR that no LF follows: readers
	// that end lines there read a soft line break.
	loneCR int64
	lastCR bool // state 3: the last character was a CR
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func (q *qpWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		switch q.state {
		case 0:
			switch c {
			case '=':
				q.state = 1
			case ' ', '\t':
				q.ws = append(q.ws, c)
				if len(q.ws) > 4096 {
					q.out = append(q.out, q.ws...)
					q.ws = q.ws[:0]
				}
			case '\r':
				// Held with the white space: dropped if a line break follows.
				q.ws = append(q.ws, c)
			case '\n':
				// Trailing white space is removed (RFC 2045 6.7 rule 3),
				// the line break kept.
				if n := len(q.ws); n > 0 && q.ws[n-1] == '\r' {
					q.out = append(q.out, '\r')
				}
				q.ws = q.ws[:0]
				q.out = append(q.out, '\n')
			default:
				q.flushWS()
				q.out = append(q.out, c)
			}
		case 1:
			switch {
			case c == '\n':
				// A soft line break. White space before the "=" is data
				// (RFC 2045 6.7 rule 3), as Python's quopri and
				// Thunderbird read it.
				q.flushWS()
				q.state = 0
			case c == '\r' || c == ' ' || c == '\t':
				q.state = 3
				q.lastCR = c == '\r'
			default:
				if _, ok := unhex(c); ok {
					q.hex1 = c
					q.state = 2
				} else {
					q.bad++
					q.flushWS()
					q.out = append(q.out, '=', c)
					q.state = 0
				}
			}
		case 2:
			h, _ := unhex(q.hex1)
			if l, ok := unhex(c); ok {
				q.flushWS()
				q.out = append(q.out, h<<4|l)
				q.state = 0
			} else {
				q.bad++
				q.flushWS()
				q.out = append(q.out, '=', q.hex1)
				q.state = 0
				if _, err := q.Write([]byte{c}); err != nil {
					return 0, err
				}
			}
		case 3:
			switch c {
			case '\n':
				q.flushWS() // a soft line break, as above
				q.state = 0
			case '\r', ' ', '\t':
				q.lastCR = c == '\r'
			default:
				// "=" then white space inside a line: keep it literally.
				if q.lastCR {
					q.loneCR++
				}
				q.bad++
				q.flushWS()
				q.out = append(q.out, '=')
				q.state = 0
				if _, err := q.Write([]byte{c}); err != nil {
					return 0, err
				}
			}
		}
		if len(q.out) >= 32<<10 {
			if err := q.flush(); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

func (q *qpWriter) flushWS() {
	q.out = append(q.out, q.ws...)
	q.ws = q.ws[:0]
}

func (q *qpWriter) flush() error {
	if len(q.out) == 0 {
		return nil
	}
	_, err := q.w.Write(q.out)
	q.out = q.out[:0]
	return err
}

// Close writes what is left; a lone "=" at the end is dropped (a soft
// break before the end).
func (q *qpWriter) Close() error {
	if q.state == 2 {
		q.bad++
		q.out = append(q.out, '=', q.hex1)
	}
	q.state = 0
	q.flushWS()
	return q.flush()
}
