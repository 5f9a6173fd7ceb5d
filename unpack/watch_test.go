package unpack

import (
	"encoding/base64"
	"math/rand"
	"strings"
	"testing"
)

// TestInnerWatch writes content with MIME field lines planted at random
// offsets (at 0, across write boundaries, around innerMax, in any case,
// after a "\n", a "\r" or neither) in random pieces to an innerWatch: it
// must see one exactly where a line (after "\n" or "\r") begins with
// "content-" in any case, and so whenever innerEntity would find a field
// (a line isInnerField takes, lone CRs as line breaks or not).
func TestInnerWatch(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	names := []string{"Content-Type: a/b\n", "content-transfer-encoding: x\n", "CONTENT-TYPE :y\n", "cONTENT-Type:z\n", "CoNTENT-Type: q\n", "Content-", "ontent-Type: w\n", "cOnTeNt-DiSpOsItIoN: r\n"}
	sizes := []int{1, 9, 100, 70 << 10, innerMax - 5, innerMax + 30}
	for it := 0; it < 600; it++ {
		size := sizes[rnd.Intn(len(sizes))]
		data := make([]byte, size)
		switch rnd.Intn(3) {
		case 0:
			rnd.Read(data)
		case 1:
			for i := range data {
				data[i] = "ab-\nCcontent-"[rnd.Intn(13)]
			}
		}
		for k := rnd.Intn(3); k > 0; k-- {
			f := names[rnd.Intn(len(names))]
			switch rnd.Intn(3) {
			case 0:
				f = "\n" + f
			case 1:
				f = "\r" + f
			}
			var at int
			switch rnd.Intn(4) {
			case 0:
				at = 0
			case 1:
				at = innerMax - rnd.Intn(12)
			default:
				at = rnd.Intn(size)
			}
			if at+len(f) <= size {
				copy(data[at:], f)
			}
		}
		want, field := false, false
		for c := 0; c < size; c++ {
			if c > 0 && data[c-1] != '\n' && data[c-1] != '\r' {
				continue
			}
			if c+8 <= size && strings.EqualFold(string(data[c:c+8]), "content-") {
				want = true
			}
			if isInnerField(data[c:]) {
				field = true
			}
		}
		var w innerWatch
		for rest := data; len(rest) > 0; {
			n := 1 + rnd.Intn(min(len(rest), []int{3, 9, 4096, 1 << 20}[rnd.Intn(4)]))
			w.Write(rest[:n])
			rest = rest[n:]
		}
		if w.cut && size <= innerGate {
			t.Fatalf("size %d: the watch stopped before innerGate", size)
		}
		// A watch that stopped at innerGate may not have seen a field
		// past it (maybe is true then, and ripmimeOpens decides).
		if w.seen != want && !(w.cut && want) {
			t.Fatalf("size %d: innerWatch saw a field %v, want %v", size, w.seen, want)
		}
		if field && !w.maybe(int64(size)) {
			t.Fatalf("size %d: a field innerEntity reads that the watch did not see", size)
		}
		if w.maybe(int64(size)+1) != true {
			t.Fatal("a watch that did not see the whole content must not rule it out")
		}
	}
}

// TestRipmimeGate: ripmime reads a file it saves for MIME fields only
// when one of its first 100 lines starts with a field it knows
// (MIME_is_file_RFC822). A big attachment whose head holds none is not
// searched (ripmime 1.4.0.10 does not extract the block past 300 lines of
// text, /tmp-free check: readers.py on the same shape); with "Subject:"
// on its first line, or a MIME field in its head, the block is read,
// also far past innerGate.
func TestRipmimeGate(t *testing.T) {
	block := "Content-Type: application/octet-stream; name=x.bin\nContent-Transfer-Encoding: base64\n\n" +
		base64.StdEncoding.EncodeToString([]byte("hidden payload")) + "\n"
	filler := strings.Repeat("hello world, a line of text\n", (innerGate+4096)/28)
	for _, c := range []struct {
		head string
		want bool
	}{
		{"", false},
		{"Subject: x\n", true},
		{"sUbJeCt: x\n", true},
		{"MIME-Version: 1.0\n", true},
		{"a line\nContent-Description: y\n", true},
		// ripmime's lines, as fgets cuts them (observed with ripmime
		// 1.4.0.10, see ripmimeLines).
		{"xx Subject: x\n", false},
		{strings.Repeat("line\n", 99) + "Subject: x\n", true},
		{strings.Repeat("line\n", 200) + "Subject: x\n", false},
		{strings.Repeat("a", 1023) + "Subject: x\n", true},
		{strings.Repeat("a", 1022) + "Subject: x\n", false},
		{strings.Repeat("a", 1024) + "Subject: x\n", false},
		{"\nSubject: x\n", true},
	} {
		content := c.head + filler + block
		msg := "Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=BB\n\n--BB\n" +
			"Content-Type: application/octet-stream; name=data.txt\nContent-Transfer-Encoding: base64\n\n" +
			string(base64Lines([]byte(content))) + "\n--BB--\n"
		m := unpackBytes(t, []byte(msg), Options{})
		got := false
		for _, p := range m.Parts {
			if p.Name == "x.bin" {
				got = true
			}
		}
		if got != c.want {
			t.Errorf("head %q: block read %v, want %v", c.head, got, c.want)
		}
	}
}
