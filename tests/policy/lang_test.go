package policy

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"testing"
)

// TestFrenchReasons: with [notify] lang = "fr", the text that replaces a
// removed part and the notices give the reason in French, not the
// English of the rules.
func TestFrenchReasons(t *testing.T) {
	b := newBox(t, "")
	cfg, err := os.ReadFile(b.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.cfg, bytes.Replace(cfg, []byte("[notify]\n"), []byte("[notify]\nlang = \"fr\"\n"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := mixed("notes de réunion",
		attachment("text/plain", "notes.txt.vbs", []byte("MsgBox \"bonjour\"\r\n")),
		attachment("application/pdf", "facture.pdf", minimalPE()))
	if r := b.deliver(t, msg, "carol@example.net"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	const (
		name = "Le nom du fichier cache une extension exécutable derrière une extension anodine"
		exe  = "Les programmes exécutables ne sont pas acceptés par la messagerie, quel que soit leur nom"
	)
	english := []string{"The file name hides", "Executable programs are not accepted"}
	got := b.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered", len(got))
	}
	text := partsText(t, got[0].data)
	for _, want := range []string{"Motif :   " + name, "Motif :   " + exe} {
		if !strings.Contains(text, want) {
			t.Errorf("the delivered message lacks %q:\n%s", want, text)
		}
	}
	notices := b.sent(t)
	if len(notices) != 2 {
		t.Fatalf("%d notices, want the sender's and the postmaster's", len(notices))
	}
	for _, n := range notices {
		body := decodeQP(t, n.stdin)
		if !strings.Contains(body, name) || !strings.Contains(body, exe) {
			t.Errorf("notice to %s lacks the French reasons:\n%s", n.rcpt(), body)
		}
		text += body
	}
	for _, e := range english {
		if strings.Contains(text, e) {
			t.Errorf("English reason %q left in the French texts", e)
		}
	}
}

// decodeQP returns a notice's body, quoted-printable decoded (notices in
// French are written in quoted-printable).
func decodeQP(t *testing.T, msg []byte) string {
	t.Helper()
	_, body, ok := bytes.Cut(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	if !ok {
		t.Fatalf("a notice without a body:\n%s", msg)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatalf("decoding the notice: %v", err)
	}
	return string(b)
}

// partsText returns the decoded bodies of a multipart message's parts
// (multipart.Reader decodes quoted-printable).
func partsText(t *testing.T, msg []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		t.Fatalf("not multipart: %v\n%s", err, msg)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var out strings.Builder
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
	}
}
