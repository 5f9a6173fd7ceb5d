package unpack_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
	"github.com/scandeliver/scandeliver/unpack"
)

const binhexChars = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"

// binhex encodes a file as BinHex 4.0 (no run-length compression but a
// literal 0x90, CRCs left zero as some encoders do), in lines of 64.
func binhex(name string, data, rsrc []byte) string {
	var raw bytes.Buffer
	raw.WriteByte(byte(len(name)))
	raw.WriteString(name)
	raw.WriteByte(0)
	raw.WriteString("TEXTttxt")
	raw.Write([]byte{0, 0})
	binary.Write(&raw, binary.BigEndian, uint32(len(data)))
	binary.Write(&raw, binary.BigEndian, uint32(len(rsrc)))
	raw.Write([]byte{0, 0})
	raw.Write(data)
	raw.Write([]byte{0, 0})
	raw.Write(rsrc)
	raw.Write([]byte{0, 0})
	var rle []byte
	for _, c := range raw.Bytes() {
		rle = append(rle, c)
		if c == 0x90 {
			rle = append(rle, 0)
		}
	}
	var enc strings.Builder
	var acc uint32
	var n uint
	for _, c := range rle {
		acc = acc<<8 | uint32(c)
		n += 8
		for n >= 6 {
			n -= 6
			enc.WriteByte(binhexChars[acc>>n&63])
		}
	}
	if n > 0 {
		enc.WriteByte(binhexChars[acc<<(6-n)&63])
	}
	s := ":" + enc.String() + ":"
	var out strings.Builder
	out.WriteString("(This file must be converted with BinHex 4.0)\r\n")
	for len(s) > 64 {
		out.WriteString(s[:64] + "\r\n")
		s = s[64:]
	}
	out.WriteString(s + "\r\n")
	return out.String()
}

func unpackBytes(t *testing.T, msg []byte) *unpack.Message {
	t.Helper()
	m, err := unpack.Unpack(context.Background(), bytes.NewReader(msg), int64(len(msg)), unpack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func content(t *testing.T, p *unpack.Part) []byte {
	t.Helper()
	r, err := p.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBinHex finds BinHex blocks holding EICAR as an attachment
// (application/mac-binhex40) and in the middle of a plain text body, as
// Eudora and StuffIt Expander open them; a resource fork is a part too.
func TestBinHex(t *testing.T) {
	eicar := builtin.Eicar()
	rsrc := append([]byte{0x90, 0x90, 1, 2}, eicar...)
	attached := "From: a@example.org\r\nTo: b@example.net\r\nSubject: mac\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--b1\r\nContent-Type: application/mac-binhex40; name=\"x.hqx\"\r\n\r\n" + binhex("eicar.com", eicar, nil) + "--b1--\r\n"
	inText := "From: a@example.org\r\nTo: b@example.net\r\nSubject: mac\r\n\r\nHere it is:\r\n\r\n" +
		binhex("eicar.com", eicar, rsrc) + "\r\nbye\r\n"
	for _, tc := range []struct {
		name, msg string
		want      map[string][]byte
	}{
		{"attachment", attached, map[string][]byte{"eicar.com": eicar}},
		{"text-body", inText, map[string][]byte{"eicar.com": eicar, "eicar.com.rsrc": rsrc}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := unpackBytes(t, []byte(tc.msg))
			got := map[string][]byte{}
			for _, p := range m.Parts {
				if p.Origin == unpack.OriginBinHex {
					got[p.Name] = content(t, p)
					if len(p.Problems) > 0 {
						t.Errorf("%s: problems %v", p.Name, p.Problems)
					}
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("BinHex parts %d, want %d", len(got), len(tc.want))
			}
			for n, w := range tc.want {
				if !bytes.Equal(got[n], w) {
					t.Errorf("%s: %q, want %q", n, got[n], w)
				}
			}
		})
	}
	// Cut in the middle: the part is there, with a problem.
	cut := inText[:strings.Index(inText, "(This")+200]
	m := unpackBytes(t, []byte(cut))
	var probs int
	for _, p := range m.Parts {
		if p.Origin == unpack.OriginBinHex {
			probs += len(p.Problems)
		}
	}
	if probs == 0 {
		t.Errorf("cut block: no problem recorded")
	}
}

// TestBinHexCorpus opens the corpus's BinHex samples: ClamAV's
// clam.exe.binhex (a file, read as a message without a header) gives
// clam.exe, and Eudora's m2011.txt its two attachments.
func TestBinHexCorpus(t *testing.T) {
	corpus := testenv.Corpus(t)
	clam, err := os.ReadFile(filepath.Join(corpus, "attachments", "executables", "clamav", "clam.exe"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file  string
		names []string
	}{
		{"attachments/archives/clamav/clam.exe.binhex", []string{"clam.exe", "clam.exe.rsrc"}},
		{"messages/mail-mime-parser/m2011.txt", []string{"blueball.png", "HasenundFr\xf6sche.txt"}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			msg, err := os.ReadFile(filepath.Join(corpus, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			m := unpackBytes(t, msg)
			var names []string
			found := false
			for _, p := range m.Parts {
				if p.Origin == unpack.OriginBinHex {
					names = append(names, p.Name)
					if bytes.Equal(content(t, p), clam) {
						found = true
					}
				}
			}
			if strings.Join(names, "|") != strings.Join(tc.names, "|") {
				t.Errorf("BinHex parts %q, want %q", names, tc.names)
			}
			if strings.HasSuffix(tc.file, ".binhex") && !found {
				t.Errorf("clam.exe not found")
			}
		})
	}
}
