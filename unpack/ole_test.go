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
