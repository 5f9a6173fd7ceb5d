package unpack

import (
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
