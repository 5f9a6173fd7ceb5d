package policy

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
	"github.com/scandeliver/scandeliver/unpack"
)

// cfbFrom returns the content of the first OLE2 part of a corpus message.
func cfbFrom(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.Corpus(t), file))
	if err != nil {
		t.Fatal(err)
	}
	m, err := unpack.Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), unpack.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, p := range m.Parts {
		if p.Format == "ole2" {
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
	}
	t.Fatalf("%s: no OLE2 part", file)
	return nil
}

// TestLegacyOfficeMacros: a VBA project in an OLE2 file sent as a plain
// Word document ("report.doc", application/msword) is removed by the
// office-macro rule, found by content; a Word 97 document without macros
// is delivered untouched.
func TestLegacyOfficeMacros(t *testing.T) {
	vba := cfbFrom(t, "messages/spamassassin/spam/olevbmacro/macro.eml") // an .xlsm's vbaProject.bin
	plain := cfbFrom(t, "messages/mail-mime-parser/m0024.txt")
	b := newBox(t, "")
	msg := mixed("quarterly report",
		attachment("application/msword", "report.doc", vba),
		attachment("application/msword", "minutes.doc", plain))
	if r := b.deliver(t, msg, "alice@example.org"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := b.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered", len(got))
	}
	if text := partsText(t, got[0].data); strings.Count(text, "Office documents with macros are not accepted by mail") != 1 {
		t.Errorf("want report.doc, and only it, replaced by the office-macro rule:\n%s", text)
	}
	m, err := unpack.Unpack(context.Background(), bytes.NewReader(got[0].data), int64(len(got[0].data)), unpack.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	kept := false
	for _, p := range m.Parts {
		if p.Name == "minutes.doc" && p.Format == "ole2" && !p.Macros {
			kept = true
		}
		if p.Name == "report.doc" && p.Format == "ole2" {
			t.Errorf("report.doc, with macros, was delivered")
		}
	}
	if !kept {
		t.Errorf("minutes.doc, without macros, was not delivered as it was")
	}
}

// TestAttachedMessageFile: a message attached as forward.eml with type
// application/octet-stream is opened as a message: the banned name of
// its attachment is seen, the .eml is replaced, the rest delivered.
func TestAttachedMessageFile(t *testing.T) {
	inner := "From: a@example.org\nTo: b@example.org\nSubject: fw\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=in\n\n--in\nContent-Type: text/plain\n\nsee\n--in\n" +
		attachment("text/plain", "notes.txt.vbs", []byte("MsgBox 1\r\n")) + "--in--\n"
	b := newBox(t, "")
	if r := b.deliver(t, mixed("forwarding", attachment("application/octet-stream", "forward.eml", []byte(inner))), "alice@example.org"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := b.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered", len(got))
	}
	text := partsText(t, got[0].data)
	if !strings.Contains(text, "The file name hides an executable extension behind a harmless one") || !strings.Contains(text, "See attached.") {
		t.Errorf("forward.eml was not replaced for the name inside it:\n%s", text)
	}
}
