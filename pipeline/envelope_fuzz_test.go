package pipeline

import (
	"bytes"
	"strings"
	"testing"
)

// envelopeSeeds are the inputs FuzzScanHeader starts from: the cases of
// TestScanHeader and the short ones that once panicked.
var envelopeSeeds = []string{
	"From ", "From", "From \n", "From a", "From a\r", "From  \r\n\r\n",
	"From bob@example.org Thu Jan  1 00:00:00 2026\nSubject: x\n\nb\n",
	"Message-ID: <a@b>\nSubject: x\n\nbody\n",
	"Subject: x\r\nMessage-Id:\r\n <c@d>\r\n\r\n",
	"Return-Path: <s@x>\nX-Original-To: r@y\nDelivered-To: R@y\nReceived: a\nDelivered-To: later@z\n\n",
	"X-Scandeliver-Status: clean\n X-Spam-Flag: NO\nx-spam-status : no\n\nX-Spam-Flag: YES\n",
	"Message-ID:\n",
}

// FuzzScanHeader checks that reading the envelope never panics (issue
// 12.4: a 5-byte "From " did) and that what it finds is within the
// input: the body starts inside it, after a From_ line only when there
// is one, and the sender it names is a word of that line.
func FuzzScanHeader(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		hi := scanHeader(bytes.NewReader(msg), int64(len(msg)))
		if hi.bodyStart < 0 || hi.bodyStart > int64(len(msg)) {
			t.Fatalf("body starts at %d of %d bytes", hi.bodyStart, len(msg))
		}
		from := bytes.HasPrefix(msg, []byte("From "))
		if (hi.bodyStart > 0) != from {
			t.Fatalf("body starts at %d, From_ line %v", hi.bodyStart, from)
		}
		if hi.fromLine != "" && !strings.Contains(string(msg[:hi.bodyStart]), hi.fromLine) {
			t.Fatalf("sender %q is not on the From_ line %q", hi.fromLine, msg[:hi.bodyStart])
		}
		if from && bytes.IndexByte(msg, '\n') < 0 && hi.bodyStart != int64(len(msg)) {
			t.Fatalf("a From_ line without newline: body starts at %d of %d", hi.bodyStart, len(msg))
		}
		var out bytes.Buffer
		if err := stripStatusFields(&out, bytes.NewReader(msg), ""); err != nil {
			t.Fatal(err)
		}
		prefixFields(hi, "a@b", "c@d", nil)
	})
}
