package pipeline

import (
	"bytes"
	"reflect"
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
		prefixFields(hi, "a@b", "c@d", nil)
		checkFilter(t, msg)
	})
}

// checkFilter checks filterHeader's properties on msg: asking first gives
// the same answer as filtering; what it writes holds no field the filter
// removes (filtering again removes nothing); it only removes lines of the
// header; everything from the empty line ending the header on is copied
// byte for byte.
func checkFilter(t *testing.T, msg []byte) {
	t.Helper()
	f := headerFilter{custom: "X-Custom-Status", returnPath: "a@b"}
	var out bytes.Buffer
	removed, err := filterHeader(&out, bytes.NewReader(msg), f)
	if err != nil {
		t.Fatal(err)
	}
	asked, err := filterHeader(nil, bytes.NewReader(msg), f)
	if err != nil || asked != removed {
		t.Fatalf("asking says %v (%v), filtering removed %v", asked, err, removed)
	}
	if again, _ := filterHeader(nil, bytes.NewReader(out.Bytes()), f); again {
		t.Fatalf("the filtered message still holds a field to remove:\n%q", out.Bytes())
	}
	if !removed && !bytes.Equal(out.Bytes(), msg) {
		t.Fatalf("nothing removed but the message changed:\n%q\n%q", msg, out.Bytes())
	}
	// The body: from the first empty line on, whatever it holds.
	end := len(msg)
	for i := 0; i < len(msg); {
		j := bytes.IndexByte(msg[i:], '\n')
		if j < 0 {
			break
		}
		if len(bytes.TrimRight(msg[i:i+j+1], "\r\n")) == 0 {
			end = i
			break
		}
		i += j + 1
	}
	if !bytes.HasSuffix(out.Bytes(), msg[end:]) || out.Len() > len(msg) {
		t.Fatalf("the body changed:\n%q\n%q", msg, out.Bytes())
	}
}

// TestFilterHeader checks what filterHeader removes (issue 12.3: status
// fields survived after 256 KiB of header or on a line over 64 KiB, and
// X-Scandeliver-Released was never removed; a Return-Path on top hid the
// envelope sender).
func TestFilterHeader(t *testing.T) {
	pad := strings.Repeat("X-Pad: "+strings.Repeat("p", 70)+"\n", 300<<10/78)
	cases := []struct {
		name, msg, want string
	}{
		{"status fields", "X-Scandeliver-Status: clean\nSubject: s\nX-Spam-Flag: NO\n folded\nX-Spam-Checker-Version: x\n\nX-Spam-Flag: body\n",
			"Subject: s\n\nX-Spam-Flag: body\n"},
		{"after 256 KiB of header", pad + "X-Spam-Status: No\nSubject: s\n\nb\n", pad + "Subject: s\n\nb\n"},
		{"on a line over 64 KiB", "Subject: s\nX-Scandeliver-Status: clean" + strings.Repeat(" ", 70<<10) + "\n more\nTo: t\n\nb\n", "Subject: s\nTo: t\n\nb\n"},
		{"forged release mark", "X-Scandeliver-Released: v=2; id=x\nSubject: s\n\nb\n", "Subject: s\n\nb\n"},
		{"custom name, any case", "x-custom-status : clean\nSubject: s\r\n\r\nb\n", "Subject: s\r\n\r\nb\n"},
		{"forged Return-Path on top", "Return-Path: <victim@example.com>\nDelivered-To: r@x\nReturn-Path: <a@b>\nSubject: s\n\nb\n",
			"Delivered-To: r@x\nReturn-Path: <a@b>\nSubject: s\n\nb\n"},
		{"Return-Path of the sender kept", "Return-Path: <A@b>\nSubject: s\n\nb\n", "Return-Path: <A@b>\nSubject: s\n\nb\n"},
		{"Return-Path lower down kept", "Subject: s\nReturn-Path: <x@y>\n\nb\n", "Subject: s\nReturn-Path: <x@y>\n\nb\n"},
		{"nothing to remove", "Subject: s\nX-Spammy: 1\n\nX-Scandeliver-Status: in the body\n", "Subject: s\nX-Spammy: 1\n\nX-Scandeliver-Status: in the body\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := filterHeader(&out, strings.NewReader(c.msg), headerFilter{custom: "X-Custom-Status", returnPath: "a@b"}); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("got  %.300q\nwant %.300q", out.String(), c.want)
			}
			checkFilter(t, []byte(c.msg))
		})
	}
}

// TestScanHeaderFirstRead checks that reading the first 16 KiB of the
// header first gives what reading up to maxHeaderScan at once gives, on
// headers that end before, at and after 16 KiB, with a From_ line and a
// folded Message-ID around the boundary, and without an empty line.
func TestScanHeaderFirstRead(t *testing.T) {
	pad := func(n int) string { return "X-Pad: " + strings.Repeat("a", n) + "\n" }
	body := strings.Repeat("body line\n", 5000)
	var msgs []string
	for _, n := range []int{100, 16<<10 - 40, 16<<10 - 20, 16<<10 - 8, 16 << 10, 16<<10 + 10, 300 << 10} {
		msgs = append(msgs,
			"From a@b Thu Jan  1 00:00:00 1970\nReturn-Path: <x@y>\n"+pad(n)+"Message-ID: <m@x>\n\n"+body,
			"Return-Path: <x@y>\r\n"+pad(n)+"Message-ID:\r\n <folded@x>\r\n\r\n"+body,
			"Delivered-To: u@x\n"+pad(n)+"Message-ID:\n <folded@x>\n"+body, // no empty line
			"From "+strings.Repeat("s", n)+" Thu\n"+"Message-ID: <m@x>\n\n"+body,
		)
	}
	for _, m := range msgs {
		got := scanHeader(strings.NewReader(m), int64(len(m)))
		want, _ := parseHeader([]byte(m[:min(len(m), maxHeaderScan)]))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("message of %d bytes: scanHeader %+v, want %+v", len(m), got, want)
		}
	}
}
