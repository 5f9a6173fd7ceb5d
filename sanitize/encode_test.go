package sanitize

import (
	"bytes"
	"io"
	"math/rand"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// FuzzQPEncode encodes any bytes and checks the result: it decodes to
// the input (line breaks as eol) with mime/quotedprintable and with
// unpack, and keeps qpEncode's guards (line length, no white space before
// a soft break, no line starting with "-" or "From ").
func FuzzQPEncode(f *testing.F) {
	f.Add([]byte("Caf\xc3\xa9 <p>\r\n-- \nFrom me\rx"), false)
	f.Add([]byte(strings.Repeat(" ", 200)+"x"), true)
	f.Add([]byte(strings.Repeat("a", 74)+"  b"), false)
	f.Fuzz(func(t *testing.T, b []byte, crlf bool) {
		eol := "\n"
		if crlf {
			eol = "\r\n"
		}
		checkQP(t, b, eol)
	})
}

// TestQPEncode runs the checks of FuzzQPEncode on inputs made of the
// characters that matter (white space, line breaks, "=", "-", "From ").
func TestQPEncode(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	pieces := []string{" ", "\t", "\r\n", "\n", "\r", "=", "-", "From ", "a", "\xe9", "bcdefghij"}
	for i := 0; i < 3000; i++ {
		var sb strings.Builder
		for n := rnd.Intn(120); n > 0; n-- {
			sb.WriteString(pieces[rnd.Intn(len(pieces))])
		}
		checkQP(t, []byte(sb.String()), []string{"\n", "\r\n"}[i%2])
		if t.Failed() {
			return
		}
	}
}

func checkQP(t *testing.T, b []byte, eol string) {
	t.Helper()
	enc := qpEncode(b, eol)
	want := strings.NewReplacer("\r\n", eol, "\n", eol, "\r", eol).Replace(string(b))
	for _, l := range strings.Split(string(enc), eol) {
		if len(l) > qpMaxLine {
			t.Errorf("line of %d characters: %q", len(l), l)
		}
		if strings.HasSuffix(l, " =") || strings.HasSuffix(l, "\t=") || strings.HasSuffix(l, " ") || strings.HasSuffix(l, "\t") {
			t.Errorf("white space before a line break: %q", l)
		}
		if strings.HasPrefix(l, "-") || strings.HasPrefix(l, "From ") {
			t.Errorf("line starts with a guarded prefix: %q", l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("stray line break character in %q", l)
		}
	}
	got, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(enc)))
	if err != nil || string(got) != want {
		t.Errorf("mime/quotedprintable reads %q (%v), want %q\nencoded %q", got, err, want, enc)
	}
	msg := append([]byte("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"), enc...)
	m := mustUnpack(t, msg)
	r, err := m.Root.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err = io.ReadAll(r)
	if err != nil || string(got) != want {
		t.Errorf("unpack reads %q (%v), want %q\nencoded %q", got, err, want, enc)
	}
}
