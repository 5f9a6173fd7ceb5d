package unpack

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func nested(depth int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nSubject: deep\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%04d\"\r\n\r\n--b%04d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ninnermost\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%04d--\r\n", i)
	}
	return b.Bytes()
}

func findUnscannable(m *Message, substr string) *Part {
	for _, p := range m.Parts {
		if strings.Contains(p.Unscannable, substr) {
			return p
		}
	}
	return nil
}

func TestLimitMIMEDepth(t *testing.T) {
	data := nested(1000)
	m := unpackBytes(t, data, Options{})
	p := findUnscannable(m, "MIME nesting deeper than 64")
	if p == nil {
		t.Fatalf("no part marked for the MIME depth; %d parts", len(m.Parts))
	}
	if p.Depth != DefaultMaxMIMEDepth {
		t.Errorf("marked at depth %d, want %d", p.Depth, DefaultMaxMIMEDepth)
	}
	// (ripmime's reading finds the unopened multipart's header in its
	// content too: not counted.)
	if n := partsOf(m, ReaderThunderbird); n != DefaultMaxMIMEDepth+1 {
		t.Errorf("%d parts, want %d", n, DefaultMaxMIMEDepth+1)
	}
	// With a limit above the nesting, the innermost text is reached.
	m = unpackBytes(t, data, Options{Limits: Limits{MaxMIMEDepth: 2000}})
	last := m.Parts[len(m.Parts)-1]
	if len(m.Parts) != 1001 || last.Depth != 1000 || last.Size != int64(len("innermost")) {
		t.Errorf("%d parts, last at depth %d size %d", len(m.Parts), last.Depth, last.Size)
	}
	for _, p := range m.Parts {
		for _, pr := range p.Problems {
			t.Fatalf("part at depth %d: unexpected problem %v", p.Depth, pr)
		}
	}
}

func TestLimitHeaderLine(t *testing.T) {
	long := strings.Repeat("x", 2<<20)
	msg := "Subject: big\r\nX-Long: " + long + "\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\nX-Long2: " + long + "\r\n\r\nhello\r\n--b--\r\n"
	m := unpackBytes(t, []byte(msg), Options{})
	if !strings.Contains(m.Root.Unscannable, "header longer than") {
		t.Errorf("root not marked: %q", m.Root.Unscannable)
	}
	// The fields after the limit are lost, so the root is read as text
	// (munpack's reading of a body that starts with "--b" aside).
	if n := partsOf(m, ReaderThunderbird); n != 1 {
		t.Errorf("%d parts, want 1", n)
	}
	m = unpackBytes(t, []byte(msg), Options{Limits: Limits{MaxHeaderBytes: 4 << 20}})
	if len(m.Parts) != 2 || m.Parts[1].Size != 5 || m.Root.Unscannable != "" {
		t.Errorf("with a larger limit: %d parts, root %q", len(m.Parts), m.Root.Unscannable)
	}
}

// partsOf counts the parts of reader r's reading.
func partsOf(m *Message, r Readers) int {
	n := 0
	for _, p := range m.Parts {
		if p.Readers&r != 0 {
			n++
		}
	}
	return n
}

func manyParts(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=sep\r\n\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "--sep\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--sep--\r\n")
	return b.Bytes()
}

func TestLimitParts(t *testing.T) {
	data := manyParts(100000)
	m := unpackBytes(t, data, Options{})
	if len(m.Parts) != DefaultMaxParts {
		t.Errorf("%d parts, want %d", len(m.Parts), DefaultMaxParts)
	}
	if !strings.Contains(m.Root.Unscannable, "more than 10000 parts") {
		t.Errorf("root not marked: %q", m.Root.Unscannable)
	}
	if m.Root.End != int64(len(data)) {
		t.Errorf("root ends at %d, want %d", m.Root.End, len(data))
	}
	m = unpackBytes(t, data, Options{Limits: Limits{MaxParts: 200000}})
	if len(m.Parts) != 100001 || m.Root.Unscannable != "" {
		t.Errorf("%d parts, root %q", len(m.Parts), m.Root.Unscannable)
	}
	if p := m.Parts[100000]; p.Size != int64(len("part 99999")) {
		t.Errorf("last part %s size %d", p.Path, p.Size)
	}
}

func TestLimitTimeout(t *testing.T) {
	m := unpackBytes(t, manyParts(20000), Options{Limits: Limits{Timeout: time.Nanosecond, MaxParts: 100000}})
	if findUnscannable(m, "time budget") == nil {
		t.Error("nothing marked for the time budget")
	}
	// A caller's cancellation is an error, not a limit.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := manyParts(10)
	if _, err := Unpack(ctx, bytes.NewReader(data), int64(len(data)), Options{TempDir: t.TempDir()}); err == nil {
		t.Error("no error with a cancelled context")
	}
}

func TestLimitMessageSize(t *testing.T) {
	data := manyParts(100)
	m := unpackBytes(t, data, Options{Limits: Limits{MaxMessageBytes: 1000}})
	if !strings.Contains(m.Root.Unscannable, "only the first 1000") {
		t.Errorf("root %q", m.Root.Unscannable)
	}
	for _, p := range m.Parts {
		if p.End > 1000 {
			t.Errorf("part %s ends at %d", p.Path, p.End)
		}
	}
}

// zipOf returns a zip archive holding one member.
func zipOf(t testing.TB, name string, content []byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func withAttachment(name string, content []byte) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=sep\r\n\r\n--sep\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--sep\r\n")
	fmt.Fprintf(&b, "Content-Type: application/octet-stream; name=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n", name)
	enc := base64Lines(content)
	b.Write(enc)
	b.WriteString("--sep--\r\n")
	return b.Bytes()
}

func TestLimitNestedZipBomb(t *testing.T) {
	// 64 MB of zeros, zipped four times over: a few KB in the message.
	inner := zipOf(t, "zeros.bin", make([]byte, 64<<20))
	for i := 0; i < 3; i++ {
		inner = zipOf(t, fmt.Sprintf("level%d.zip", i), inner)
	}
	m := unpackBytes(t, withAttachment("bomb.zip", inner), Options{})
	// Stopped by our running total, or by the archive walker's own
	// budget (which we hand it), whichever comes first.
	p := findUnscannable(m, "expanded content over the limit")
	if p == nil {
		p = findUnscannable(m, "limit: decompressed content exceeds")
	}
	if p == nil {
		var tree bytes.Buffer
		WriteTree(&tree, m)
		t.Fatalf("bomb not stopped:\n%s", tree.String())
	}
	var total int64
	for _, p := range m.Parts {
		if p.Origin == OriginArchive {
			total += p.Size
		}
	}
	if total > RatioFloor+int64(len(inner))*DefaultMaxRatio {
		t.Errorf("expanded %d bytes", total)
	}
	// Archive depth.
	m = unpackBytes(t, withAttachment("bomb.zip", inner), Options{Limits: Limits{MaxArchiveDepth: 2, MaxRatio: 1e6}})
	if findUnscannable(m, "archives nested deeper than 2") == nil {
		t.Error("archive depth not enforced")
	}
}

// TestInnerBlocksLimit: the blocks of MIME fields ripmime's reading finds
// in a content count against MaxParts also when they are dropped
// (nameless text, whose bytes are the content's own): past it the part is
// unscannable, and the reading stops (a content of 200000 such blocks
// took 13 s to read before).
func TestInnerBlocksLimit(t *testing.T) {
	body := strings.Repeat("Content-Type: text/plain\n\nx\n", 120)
	msg := "Subject: s\nMIME-Version: 1.0\nContent-Type: text/plain\n\n" + body
	m := unpackBytes(t, []byte(msg), Options{Limits: Limits{MaxParts: 100}})
	if !strings.Contains(m.Root.Unscannable, "blocks of MIME fields") {
		t.Errorf("120 blocks, MaxParts 100: root unscannable %q", m.Root.Unscannable)
	}
	m = unpackBytes(t, []byte(msg), Options{Limits: Limits{MaxParts: 200}})
	if m.Root.Unscannable != "" {
		t.Errorf("120 blocks, MaxParts 200: root unscannable %q", m.Root.Unscannable)
	}
}
