package unpack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestOLEParts: corpus messages carrying OLE2 files get Macros, Encrypted
// and Unscannable from the CFB reader: the VBA project of an .xlsm (a
// CFB member of the zip), an encrypted .docx (OOXML in a CFB wrapper), a
// plain Word 97 document, and rspamd's mixed bag with one truncated CFB.
func TestOLEParts(t *testing.T) {
	root := testenv.Corpus(t)
	type want struct{ macros, encrypted, unscannable int }
	for file, w := range map[string]want{
		"messages/spamassassin/spam/olevbmacro/macro.eml":        {macros: 1},
		"messages/spamassassin/spam/olevbmacro/renamedmacro.eml": {macros: 1},
		"messages/spamassassin/spam/olevbmacro/nomacro.eml":      {},
		"messages/spamassassin/spam/olevbmacro/encrypted.eml":    {encrypted: 1, unscannable: 1},
		"messages/mail-mime-parser/m0024.txt":                    {},
		"messages/rspamd/gargantua.eml":                          {unscannable: 1},
	} {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		m := unpackBytes(t, data, Options{})
		var got want
		ole := 0
		for _, p := range m.Parts {
			if p.Format != "ole2" {
				continue
			}
			ole++
			if p.Macros {
				got.macros++
			}
			if p.Encrypted {
				got.encrypted++
			}
			if strings.Contains(p.Unscannable, "ole") || strings.Contains(p.Unscannable, "encrypted Office") {
				got.unscannable++
			}
		}
		if got != w {
			t.Errorf("%s: %d OLE2 parts, got %+v, want %+v", file, ole, got, w)
		}
		if ole == 0 && file != "messages/spamassassin/spam/olevbmacro/nomacro.eml" {
			t.Errorf("%s: no part read as OLE2", file)
		}
	}
}

// TestAttachedMessageFile: a message attached as a file (.eml sent as
// application/octet-stream, and the same inside a zip) is opened as a
// message, so the names of its attachments are seen; a text part that
// merely starts with header lines is not.
func TestAttachedMessageFile(t *testing.T) {
	inner := []byte("From: a@example.org\r\nTo: b@example.org\r\nSubject: fw\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\nContent-Type: text/plain\r\n\r\nsee\r\n--in\r\n" +
		"Content-Type: text/plain; name=\"notes.txt.vbs\"\r\nContent-Disposition: attachment; filename=\"notes.txt.vbs\"\r\n\r\n" +
		"MsgBox 1\r\n--in--\r\n")
	names := func(m *Message) map[string]*Part {
		out := map[string]*Part{}
		for _, p := range m.Parts {
			if p.Name != "" {
				out[p.Name] = p
			}
		}
		return out
	}
	for what, msg := range map[string][]byte{
		"octet-stream": withAttachment("forward.eml", inner),
		"in a zip":     withAttachment("forward.zip", zipOf(t, "forward.eml", inner)),
	} {
		m := unpackBytes(t, msg, Options{})
		got := names(m)
		vbs, eml := got["notes.txt.vbs"], got["forward.eml"]
		if vbs == nil || eml == nil {
			t.Errorf("%s: the attached message was not opened; names %v", what, got)
			continue
		}
		if eml.Format != "message" || !strings.HasPrefix(vbs.Path, eml.Path) || eml.Unscannable != "" {
			t.Errorf("%s: forward.eml %+v, notes.txt.vbs at %s", what, eml, vbs.Path)
		}
	}

	// A text body that starts like a header stays text.
	quoted := []byte("Content-Type: text/plain\r\n\r\nFrom: a@example.org\r\nTo: b@example.org\r\nSubject: fw\r\n\r\nhello\r\n")
	m := unpackBytes(t, quoted, Options{})
	if len(m.Parts) != 1 || m.Parts[0].Format != "" {
		t.Errorf("a text body with header lines was opened: %d parts, format %q", len(m.Parts), m.Parts[0].Format)
	}
}
