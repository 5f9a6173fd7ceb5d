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
