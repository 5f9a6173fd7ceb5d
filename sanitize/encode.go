package sanitize

import (
	"bytes"
)

// qpMaxLine is the longest encoded line, soft break included (RFC 2045
// section 6.7 rule 5).
const qpMaxLine = 76

// qpEncode returns b quoted-printable encoded (RFC 2045 section 6.7) with
// eol line breaks; it ends with a line break exactly when b does. A line
// break of b is "\r\n", "\n" or a lone "\r" (as mime/quotedprintable's
// Writer reads them). Three guards go beyond the RFC, for the sake of
// every reader of the result: a line that would start with "-" starts
// with "=2D" instead, so no line of a body we write can look like a MIME
// boundary delimiter (RFC 2046 section 5.1.1); a line that would start
// with "From " starts with "=46rom ", so an mbox reader cannot take it for
// a message separator; a line that would start with "Content-" (any
// case) starts with "=43" or "=63", so ripmime and munpack, which read a
// header on past its empty line when MIME fields follow (unpack's
// blankHeader reading), cannot take the body's first line for a field
// (found by FuzzRewrite: 8080e65bdb53b4b6); and no white space comes before a soft line break
// (the RFC allows it, but a decoder that strips trailing white space
// loses it: unpack's did, found by FuzzRewrite), it is "=20" or "=09".
// Lines are at most qpMaxLine characters.
func qpEncode(b []byte, eol string) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/8)
	line := make([]byte, 0, qpMaxLine)
	escape := func(dst []byte, c byte) []byte {
		const hex = "0123456789ABCDEF"
		return append(dst, '=', hex[c>>4], hex[c&0x0f])
	}
	isWS := func(c byte) bool { return c == ' ' || c == '\t' }
	endLine := func(soft bool) {
		out.Write(line)
		if soft {
			out.WriteByte('=')
		}
		out.WriteString(eol)
		line = line[:0]
	}
	softBreak := func() {
		// Trailing white space is encoded; what does not fit moves to
		// the next line, encoded too.
		var carry []byte
		for n := len(line); n > 0 && isWS(line[n-1]); n = len(line) {
			c := line[n-1]
			line = line[:n-1]
			if len(line)+3 <= qpMaxLine-1 {
				line = escape(line, c)
				break
			}
			carry = append(escape(nil, c), carry...)
		}
		endLine(true)
		line = append(line, carry...)
	}
	// put adds byte b[i], literal or escaped, breaking the line first
	// when it would not fit.
	put := func(i int) {
		c := b[i]
		literal := (c >= '!' && c <= '~' && c != '=') || isWS(c)
		n := 1
		if !literal {
			n = 3
		}
		if len(line)+n > qpMaxLine-1 {
			softBreak()
		}
		if literal && len(line) == 0 && (c == '-' || bytes.HasPrefix(b[i:], []byte("From ")) ||
			len(b)-i >= len("content-") && bytes.EqualFold(b[i:i+len("content-")], []byte("content-"))) {
			literal = false
		}
		if literal {
			line = append(line, c)
			return
		}
		if len(line)+3 > qpMaxLine-1 {
			softBreak()
		}
		line = escape(line, c)
	}
	// encodeTrailing encodes white space that ends a line before a hard
	// break or the end (RFC 2045 section 6.7 rule 3).
	encodeTrailing := func() {
		if n := len(line); n > 0 && isWS(line[n-1]) {
			c := line[n-1]
			line = line[:n-1]
			if len(line)+3 > qpMaxLine-1 {
				softBreak()
			}
			line = escape(line, c)
		}
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r', '\n':
			if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			encodeTrailing()
			endLine(false)
		default:
			put(i)
		}
	}
	encodeTrailing()
	out.Write(line)
	return out.Bytes()
}
