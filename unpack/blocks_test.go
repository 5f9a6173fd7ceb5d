package unpack

import (
	"bytes"
	"context"
	"testing"
)

// TestBlocksInDefaultText: a MIME entity that readers take for
// text/plain (no Content-Type, an invalid one, a multipart read as text)
// has its uuencoded blocks read whatever bytes surround them (here a
// control character makes the content sniff as binary). Before, only a
// declared text/plain or a content that sniffed as text was read, and
// the canonical rewrite, which writes such a part as text/plain, handed
// readers a file that was never scanned (found by sanitize.Verify: corpus
// mimekit/yenc/simple.msg, and fuzzing).
func TestBlocksInDefaultText(t *testing.T) {
	body := "\x10Here is the file:\n\nbegin 644 evil.exe\n#35H`\n`\nend\n"
	for name, hdr := range map[string]string{
		"declared":        "Content-Type: text/plain\n",
		"none":            "",
		"invalid":         "Content-Type: multipart\n",
		"no boundary":     "Content-Type: multipart/mixed\n",
		"boundary absent": "Content-Type: multipart/mixed; boundary=zz\n",
	} {
		msg := []byte("From: a@example.org\n" + hdr + "\n" + body)
		m, err := Unpack(context.Background(), bytes.NewReader(msg), int64(len(msg)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range m.Parts {
			found = found || (p.Origin == OriginUUEncode && p.Name == "evil.exe")
		}
		if !found {
			t.Errorf("%s: the uuencoded file is not read", name)
		}
		m.Close()
	}
}

// TestUnknownMessageType: a message/* subtype that no reader knows is
// application/octet-stream (RFC 2046 section 5.2.4): a message in it is
// opened as one in an octet-stream part is; a field list type is not.
func TestUnknownMessageType(t *testing.T) {
	for typ, want := range map[string]bool{"message/4": true, "application/octet-stream": true, "message/delivery-status": false} {
		msg := []byte("From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n" +
			"Content-Type: " + typ + "\nContent-Transfer-Encoding: 8bit\n\nFrom: c@example.org\nSubject: inner\nContent-Type: text/plain; name=\"i.txt\"\n\ninner \xe9\n--b--\n")
		m, err := Unpack(context.Background(), bytes.NewReader(msg), int64(len(msg)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		opened := false
		for _, p := range m.Parts {
			opened = opened || (p.Origin == OriginRFC822 && p.Name == "i.txt")
		}
		if opened != want {
			t.Errorf("%s: the message inside opened: %v, want %v", typ, opened, want)
		}
		m.Close()
	}
}
