package unpack

import (
	"bytes"
	"testing"
)

// TestQPWriter: quoted-printable decoding, split at every byte. Spaces and
// tabs before a soft line break are data (RFC 2045 section 6.7 rule 3:
// "an '=' at the end of an encoded line ... may follow one or more TAB
// (HT) or SPACE characters"); Python's quopri and Thunderbird keep them.
// Trailing white space before a hard line break is dropped (rule 3), and
// "=" followed by white space and the line break is a soft break (QUIRK,
// as Thunderbird reads it).
func TestQPWriter(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      int64
	}{
		{"foo =\nbar", "foo bar", 0},
		{"foo \t=\r\nbar", "foo \tbar", 0},
		{"sp  =\n", "sp  ", 0},
		{"x = \ny", "x y", 0},
		{"trailing   \nnext", "trailing\nnext", 0},
		{"crlf \r\nline", "crlf\r\nline", 0},
		{"a=3Db=3d", "a=b=", 0},
		{"soft=\nbreak", "softbreak", 0},
		{"x=\r\ny", "xy", 0},
		{"bad=ZZ", "bad=ZZ", 1},
		{"tab\t=3D\t\n", "tab\t=\n", 0},
		{"end=", "end", 0},
	} {
		for split := 0; split <= len(c.in); split++ {
			var out bytes.Buffer
			q := &qpWriter{w: &out}
			q.Write([]byte(c.in[:split]))
			q.Write([]byte(c.in[split:]))
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want || q.bad != c.bad {
				t.Errorf("%q (split at %d) = %q with %d bad escapes, want %q with %d", c.in, split, out.String(), q.bad, c.want, c.bad)
				break
			}
		}
	}
}
