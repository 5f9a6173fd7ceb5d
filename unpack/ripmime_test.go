package unpack

import (
	"io"
	"strings"
	"testing"
)

// TestRipmimeBoundaries: the boundaries ripmime takes from a
// Content-Type value, as ripmime 1.4.0.10 --debug prints them ("Final
// value", "BS_push") for these values.
func TestRipmimeBoundaries(t *testing.T) {
	for _, c := range []struct {
		value string
		lead  bool
		want  string // the set: main first, NUL-separated; "-" none
	}{
		{"multipart/mixed; boundary='BB'", true, "BB"},
		{"multipart/mixed; boundary=\"BB\"x", true, "BB"},
		{"multipart/mixed; boundary=BB\"", true, "BB\"\x00BB"},
		{"multipart/mixed; boundary=\"\\BB\"", true, "\\BB"},
		{"multipart/mixed;boundary=BB", true, "BB"},
		{"multipart/mixed;boundary=BB", false, "-"}, // no separator before it that ripmime looks after
		{"multipart/mixed; boundary=BB", false, "BB"},
		{"multipart/mixed; name=x.exe; boundary=\"a b\"", true, "a b"},
		{"multipart/mixed; boundary=a b", true, "a"},
		{"multipart/mixed; boundary==\"\"BB\"", true, "BB"},
		{"multipart/mixed; charset=x", true, "-"},
	} {
		b, extra, ok := ripBoundarySet(ripBoundaries(c.value, c.lead))
		got := "-"
		if ok {
			got = strings.Join(append([]string{b}, extra...), "\x00")
		}
		if got != c.want {
			t.Errorf("%q (lead %v): %q, want %q", c.value, c.lead, got, c.want)
		}
	}
}

// TestRipmimeDelimiters: which lines ripmime takes as a delimiter of
// boundary BBBB (ripmime --debug: "Boundary hit on").
func TestRipmimeDelimiters(t *testing.T) {
	for line, want := range map[string]bool{
		"--BBBB\n": true, "--BBBB--\n": true, "-BBBB\n": true, "---BBBB\n": true, "-'BBBB\n": true,
		"- BBBB\n": true, "--BBBB!!\n": true, "--'BBBB'\n": true,
		"----BBBB\n": false, "--BBBBx\n": false, "--BBBB x\n": false, "--BBBB--x\n": false, "--BBB\n": false,
	} {
		if got, _ := ripMatch([]byte(line), ripAlnum([]byte(line)), []byte("BBBB")); got != want {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
	if _, c := ripMatch([]byte("--BBBB--\n"), 4, []byte("BBBB")); !c {
		t.Error("--BBBB-- does not close")
	}
}

// TestRipmimeCTE: how ripmime decodes a part by its
// Content-Transfer-Encoding value (readers.py on these values: raw,
// quoted-printable decoded, or base64).
func TestRipmimeCTE(t *testing.T) {
	d := dialectOf(ReaderRipMIME)
	for v, want := range map[string]string{
		"7bit quoted-printable":    "",
		"quoted-printable 7bit":    "",
		"quoted-printable; base64": "quoted-printable",
		"binary quoted-printable":  "quoted-printable",
		"x-base64x":                "base64",
		"base64 (not) 7bit":        "base64",
		"8bit (base64)":            "",
		"x-uue":                    "x-uuencode",
		"x-unknown":                "x-uuencode",
	} {
		if got := decFor(d, &field{value: v, lead: true}); got != want {
			t.Errorf("%q: %q, want %q", v, got, want)
		}
	}
}

// TestRipmimeOuter: ripmime gives the user the preamble of the multipart
// a message starts with as a file, and reads on after a close delimiter
// (the first block with a field it knows, and its body): readers.py's
// ripmime extracts the payload from both messages below (and a
// "Subject:" block's body, textfile2); each is a reading of ripmime's
// only.
func TestRipmimeOuter(t *testing.T) {
	const pay = "X5O!P-PREAMBLE-PAYLOAD-0123456789"
	h := "From: a@b\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n"
	body := "--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n--BB--\r\n"
	for name, msg := range map[string]string{
		"preamble":       h + pay + "\r\n" + body,
		"epilogue":       h + body + "\r\nsome text\r\n\r\nContent-Type: application/octet-stream\r\n\r\n" + pay + "\r\n",
		"epilogue-field": h + body + "Subject: hi\r\n\r\n" + pay + "\r\n",
	} {
		m := unpackBytes(t, []byte(msg), Options{})
		found := false
		for _, p := range m.Parts {
			if p.Container || p.Readers != ReaderRipMIME {
				continue
			}
			r, err := p.Open()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			_, _ = io.Copy(&b, r)
			r.Close()
			found = found || strings.TrimSpace(b.String()) == pay
		}
		if !found {
			t.Errorf("%s: no part of ripmime's holds the payload", name)
		}
	}
	// A preamble of words (the usual "This is a multi-part message in
	// MIME format.") and an empty epilogue add nothing.
	m := unpackBytes(t, []byte(h+"This is a multi-part message in MIME format.\r\n"+body+"\r\n"), Options{})
	if len(m.Parts) != 2 || m.Ambiguous {
		t.Errorf("plain preamble: %d parts, ambiguous %v", len(m.Parts), m.Ambiguous)
	}
}
