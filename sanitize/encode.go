package sanitize

import (
	"bytes"
	"mime/quotedprintable"
)

// qpEncode returns b quoted-printable encoded (RFC 2045 section 6.7) with
// eol line breaks; it ends with a line break exactly when b does. Two guards go beyond the
// RFC, for the sake of every reader of the result: a line that would
// start with "-" starts with "=2D" instead, so no line of a body we write
// can look like a MIME boundary delimiter (RFC 2046 section 5.1.1), and a
// line that would start with "From " starts with "=46rom ", so an mbox
// reader cannot take it for a message separator.
func qpEncode(b []byte, eol string) []byte {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	w.Write(b) // a bytes.Buffer does not fail
	w.Close()
	// The writer ends lines with CRLF; a CR that is data is =0D.
	lines := bytes.Split(buf.Bytes(), []byte("\r\n"))
	var out bytes.Buffer
	out.Grow(buf.Len() + len(lines))
	for i, l := range lines {
		if i > 0 {
			out.WriteString(eol)
		}
		switch {
		case len(l) > 0 && l[0] == '-':
			out.WriteString("=2D")
			l = l[1:]
		case bytes.HasPrefix(l, []byte("From ")):
			out.WriteString("=46")
			l = l[1:]
		}
		out.Write(l)
	}
	return out.Bytes()
}
