package unpack_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/unpack"
)

// TestArchiveBehindJunk attaches a zip holding EICAR with text in front
// of it (the trick of issue 11: unzip opens it, warning of "extra bytes
// at beginning"), declared as a text file and as a zip: its member is a
// part. Before Locate the attachment was a text (or unopened) part and
// EICAR was never seen. A part crafted with thousands of false archive
// signatures is unscannable.
func TestArchiveBehindJunk(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("eicar.com")
	w.Write(builtin.Eicar())
	zw.Close()
	junk := append([]byte(strings.Repeat("Dear customer, please find the invoice attached.\r\n", 40)), zb.Bytes()...)
	for _, ctype := range []string{"text/plain", "application/zip"} {
		t.Run(ctype, func(t *testing.T) {
			msg := "From: a@example.org\r\nTo: b@example.net\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
				"--b1\r\nContent-Type: " + ctype + "; name=\"invoice.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				base64.StdEncoding.EncodeToString(junk) + "\r\n--b1--\r\n"
			m := unpackBytes(t, []byte(msg))
			found := false
			for _, p := range m.Parts {
				if p.Origin == unpack.OriginArchive && p.Name == "eicar.com" && bytes.Equal(content(t, p), builtin.Eicar()) {
					found = true
				}
			}
			if !found {
				t.Errorf("the zip behind the text was not opened")
			}
		})
	}
	noise := bytes.Repeat([]byte("Rar!\x1a\x07\x00xxxxxxxxx"), 2000)
	msg := "From: a@example.org\r\nSubject: x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(noise) + "\r\n"
	m := unpackBytes(t, []byte(msg))
	if m.Root.Unscannable == "" {
		t.Errorf("2000 false RAR signatures: not unscannable")
	}
}

// TestUnopenedUnscannable attaches an ACE archive (which unace and
// 7-Zip open and we do not): the part is unscannable, never clean.
func TestUnopenedUnscannable(t *testing.T) {
	ace := append([]byte("\x00\x00\x31\x00\x00\x00\x00**ACE**\x14\x14"), bytes.Repeat([]byte{0x55}, 64)...)
	msg := "From: a@example.org\r\nSubject: x\r\nContent-Type: application/octet-stream; name=\"a.ace\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(ace) + "\r\n"
	m := unpackBytes(t, []byte(msg))
	if m.Root.Format != "ace" || m.Root.Unscannable == "" {
		t.Errorf("format %q, unscannable %q", m.Root.Format, m.Root.Unscannable)
	}
}
