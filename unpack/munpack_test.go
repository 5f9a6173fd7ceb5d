package unpack

import (
	"context"
	"strings"
	"testing"
)

// TestMunpackStart: where munpack starts reading MIME structure in the
// text body of a message, as observed with munpack -t (readers.py) on
// each of these bodies.
func TestMunpackStart(t *testing.T) {
	for _, c := range []struct {
		body     string
		off      int64 // -1: none
		boundary string
	}{
		{"--B\nContent-Type: text/plain\n\nhi\n--B--\n", 0, "B"},
		{"intro\n\n--B\nContent-Type: text/plain\n\nhi\n--B--\n", 7, "B"},
		{"hi\n-- \nsig\n\n--B\nContent-Type: x/y\n\nhi\n", 12, "B"}, // a signature line is no boundary
		{"--X\nhello\n--Y\nContent-Type: x/y\n\nhi\n", 10, "Y"},     // the line just before the field
		{"--X\n\nContent-Type: x/y\n\nhi\n", 5, ""},                 // an empty line between: an entity to the end
		{"hello\ncontent-type: x/y\n\nhi\n", 6, ""},                 // any case
		{"--X  \r\nX-Foo: bar\r\n\r\nhi\r\n", 0, "X"},               // trailing white space dropped
		{"--X\nFoo:bar\n\nhi\n", 0, "X"},                            // any field name
		{"--X\na:\n\nhi\n", 0, "X"},                                 //
		{"--X\nhttp://x.y/z\n\nhi\n", 0, "X"},                       //
		{"--X\nFoo : bar\n\nhi\n", -1, ""},                          // white space before the colon: no field
		{"--X\nfoo bar: baz\n\nhi\n", -1, ""},                       //
		{"--X\n:foo\n\nhi\n", -1, ""},                               //
		{"--X\nFoo bar\n\nhi\n--X--\n", -1, ""},                     //
		{"hi\n--\nX-Foo: bar\n\nhi\n", -1, ""},                      // "--" alone is no boundary
		{"hi\n-- \nJohn Doe: CEO\n", -1, ""},                        //
		{" Content-Type: x/y\n\nhi\n", -1, ""},                      // not at the start of the line
		{"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nhi\n", 0, "---BEGIN PGP SIGNED MESSAGE-----"},
		{strings.Repeat("line\n", 5000) + "--X\nContent-Type: x/y\n", 25000, "X"}, // anywhere in the body
		{strings.Repeat("x", 70000) + "\nContent-Type: x/y\n", 70001, ""},         // after a line longer than the buffer
		{"--" + strings.Repeat("x", 70000) + "\nContent-Type: x/y\n", 70003, ""},  // a boundary that long is not taken
	} {
		off, b, found, err := munpackStart(strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			off = -1
		}
		if off != c.off || b != c.boundary {
			t.Errorf("%.40q: start %d boundary %q, want %d %q", c.body, off, b, c.off, c.boundary)
		}
	}
}

// TestMunpackBody: munpack's reading of a message's text body is a
// child of the body for munpack only, scanned like any part; not one of
// a multipart's text part, nor of a base64 text, nor of an
// application/octet-stream body (munpack saves those as they are).
func TestMunpackBody(t *testing.T) {
	const hdr = "From: a@example.org\nSubject: t\nMIME-Version: 1.0\n"
	const parts = "--B\nContent-Type: text/plain\n\nhello\n--B\nContent-Type: application/octet-stream; name=\"a.exe\"\n\nXXX payload\n--B--\n"
	for _, c := range []struct {
		name, msg string
		want      bool
	}{
		{"text", hdr + "Content-Type: text/plain\n\nintro\n\n" + parts, true},
		{"no type", hdr + "\nintro\n" + parts, true},
		{"text with boundary", hdr + "Content-Type: text/plain; boundary=C\n\n" + parts, true},
		{"content line", hdr + "Content-Type: text/html\n\n<p>hi</p>\nContent-Type: application/octet-stream; name=\"a.exe\"\n\nXXX payload\n", true},
		{"in a message/rfc822", hdr + "Content-Type: message/rfc822\n\nSubject: in\n\n" + parts, true},
		{"x-uuencode text", hdr + "Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\n" + parts, true}, // munpack does not decode x-uuencode
		{"octet-stream", hdr + "Content-Type: application/octet-stream\n\n" + parts, false},
		{"part of a multipart", hdr + "Content-Type: multipart/mixed; boundary=M\n\n--M\nContent-Type: text/plain\n\nhi\n" + strings.ReplaceAll(parts, "--B--\n", "--B--\n--M--\n"), false},
	} {
		m, err := Unpack(context.Background(), strings.NewReader(c.msg), int64(len(c.msg)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, p := range m.Parts {
			if p.Readers == ReaderMunpack && p.Name == "a.exe" && p.Ambiguous {
				got = true
			}
		}
		if got != c.want {
			t.Errorf("%s: munpack's part a.exe found %v, want %v", c.name, got, c.want)
		}
		m.Close()
	}
}

// TestStrayBoundary: a boundary parameter on a type that is not
// multipart makes the fields need readings (ripmime reads the entity as
// a multipart, dialect.anyBoundary); the fields of well-formed leaves do
// not.
func TestStrayBoundary(t *testing.T) {
	for v, want := range map[string]bool{
		"text/plain; boundary=B":                   true,
		"application/octet-stream; BOUNDARY=\"B\"": true,
		"image/gif;boundary=":                      true,
		"multipart/mixed; boundary=B":              false,
		"MULTIPART/alternative; boundary=B":        false,
		"text/plain; charset=us-ascii":             false,
		"application/pdf; name=\"bound.pdf\"":      false,
		"":                                         false,
	} {
		if got := strayBoundary(v); got != want {
			t.Errorf("strayBoundary(%q) = %v", v, got)
		}
	}
}

// TestMunpackWatch: where munpackStart finds a start, the watch that saw
// the content in writes of any size saw a candidate line (so expand
// reads the content); on text without one it saw none.
func TestMunpackWatch(t *testing.T) {
	bodies := []string{
		"--B\nContent-Type: text/plain\n\nhi\n",
		"intro\n\n--B\nX-Foo: y\n\nhi\n",
		"hello\nCONTENT-type: x/y\n\nhi\n",
		"a-b c-d\n- item\n-- \nsig\n" + strings.Repeat("well-formed text, no parts\n", 300) + "--X\nA: b\n",
		strings.Repeat("x-", 5000) + "\ncOnTeNt-Foo: z\n",
	}
	for _, body := range bodies {
		_, _, found, err := munpackStart(strings.NewReader(body))
		if err != nil || !found {
			t.Fatalf("%.30q: munpackStart found %v %v", body, found, err)
		}
		for _, size := range []int{1, 2, 3, 7, 8, 9, 64, 4096, len(body)} {
			var w munpackWatch
			for i := 0; i < len(body); i += size {
				w.Write([]byte(body[i:min(i+size, len(body))]))
			}
			if !w.maybe(int64(len(body))) {
				t.Errorf("%.30q in writes of %d: the watch saw nothing", body, size)
			}
		}
	}
	for _, body := range []string{"plain text - with - dashes\n- item\nand a line\n", "x-content-type: y\nnot content\n"} {
		var w munpackWatch
		for i := 0; i < len(body); i += 3 {
			w.Write([]byte(body[i:min(i+3, len(body))]))
		}
		if w.maybe(int64(len(body))) {
			t.Errorf("%q: the watch saw a candidate", body)
		}
	}
}
