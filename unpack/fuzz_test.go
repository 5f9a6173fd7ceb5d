package unpack

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzUnpack runs the whole walk on arbitrary messages, seeded from every
// test message. Small limits keep each run fast and reach the limit
// paths.
func FuzzUnpack(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.eml")
	// The trick families of the readings (issue 11), one message each.
	more, _ := filepath.Glob("testdata/readings/*.eml")
	files = append(files, more...)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(nested(5))
	f.Add(manyParts(5))
	f.Add([]byte("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQpib2R5\r\n"))
	// An archive and an encoded block, so that the walk under a MIME
	// leaf is reached from the start.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("a.txt")
	w.Write([]byte("hello, hello, hello\n"))
	zw.Close()
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/zip; name=a.zip\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(zb.Bytes()) + "\r\n--b--\r\n"))
	f.Add(append([]byte("Subject: uu\r\n\r\nsee below\r\n"), uuEncode("x.bin", []byte("MZ\x90\x00 uu"))...))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{TempDir: dir, Limits: Limits{
			MaxParts: 200, MaxMIMEDepth: 20, MaxArchiveDepth: 4, MaxArchiveMembers: 50,
			MaxExpandedBytes: 1 << 20, Timeout: 5 * time.Second,
		}}
		m, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), opt)
		if err != nil {
			t.Fatalf("Unpack: %v", err)
		}
		defer m.Close()
		checkInvariants(t, m, data)
		for _, p := range m.Parts {
			r, err := p.Open()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(r)
			if !p.Container && int64(b.Len()) != p.Size {
				t.Fatalf("part %s: Open gives %d bytes, Size %d", p.Path, b.Len(), p.Size)
			}
		}
		if err := WriteJSON(&bytes.Buffer{}, m); err != nil {
			t.Fatal(err)
		}
		if err := WriteTree(&bytes.Buffer{}, m); err != nil {
			t.Fatal(err)
		}
	})
}

// collectBlocks is a blockSink that keeps every block.
type collectBlocks struct {
	names []string
	data  []*bytes.Buffer
	ended int
}

func (c *collectBlocks) begin(_ Origin, name string) io.Writer {
	c.names = append(c.names, name)
	c.data = append(c.data, &bytes.Buffer{})
	return c.data[len(c.data)-1]
}

func (c *collectBlocks) end(_ []string) error {
	c.ended++
	return nil
}

// uuEncode is the reference encoder (uuencode(1), backtick for zero).
func uuEncode(name string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("begin 644 " + name + "\n")
	enc := func(v byte) byte {
		if v == 0 {
			return '`'
		}
		return v + ' '
	}
	for len(data) > 0 {
		n := min(45, len(data))
		line := data[:n]
		data = data[n:]
		b.WriteByte(enc(byte(n)))
		for i := 0; i < n; i += 3 {
			var g [3]byte
			copy(g[:], line[i:min(i+3, n)])
			b.WriteByte(enc(g[0] >> 2))
			b.WriteByte(enc((g[0]<<4 | g[1]>>4) & 63))
			b.WriteByte(enc((g[1]<<2 | g[2]>>6) & 63))
			b.WriteByte(enc(g[2] & 63))
		}
		b.WriteByte('\n')
	}
	b.WriteString("`\nend\n")
	return b.Bytes()
}

// FuzzUUDecode checks that encoded blocks round-trip through the
// reference encoder, and that arbitrary text never breaks the scanner.
func FuzzUUDecode(f *testing.F) {
	f.Add([]byte("hello uuencoded world\n"), []byte("begin 644 x\nM\nend\n"))
	f.Add(make([]byte, 100), []byte("=ybegin size=3 name=a\n=yend\n"))
	data, _ := os.ReadFile("testdata/golden/constructs.eml")
	f.Add([]byte{0, 1, 2}, data)
	f.Fuzz(func(t *testing.T, payload, text []byte) {
		var c collectBlocks
		if err := scanBlocks(bytes.NewReader(text), &c); err != nil {
			t.Fatal(err)
		}
		if c.ended != len(c.names) {
			t.Fatalf("%d blocks begun, %d ended", len(c.names), c.ended)
		}
		// Round trip.
		var rt collectBlocks
		if err := scanBlocks(bytes.NewReader(uuEncode("f.bin", payload)), &rt); err != nil {
			t.Fatal(err)
		}
		if len(rt.data) != 1 || !bytes.Equal(rt.data[0].Bytes(), payload) || rt.names[0] != "f.bin" {
			t.Fatalf("round trip of %d bytes failed", len(payload))
		}
		// Base64 against the standard library on valid input.
		enc := base64Lines(payload)
		var got bytes.Buffer
		d := newBase64Writer(&got)
		d.Write(enc)
		d.Close()
		if !bytes.Equal(got.Bytes(), payload) || len(d.problems()) != 0 {
			t.Fatalf("base64 round trip of %d bytes: %v", len(payload), d.problems())
		}
		// The fast path (whole groups through encoding/base64) and the
		// lenient byte-at-a-time decoder agree on any input, however it
		// is split into writes.
		var fast, slow bytes.Buffer
		fd, sd := newBase64Writer(&fast), newBase64Writer(&slow)
		cut := len(text) / 3
		fd.Write(text[:cut])
		fd.Write(text[cut:])
		for _, c := range text {
			sd.writeByte(c)
		}
		fd.Close()
		sd.Close()
		if !bytes.Equal(fast.Bytes(), slow.Bytes()) || fmt.Sprint(fd.problems()) != fmt.Sprint(sd.problems()) {
			t.Fatalf("fast and slow base64 decoding differ on %q", text)
		}
	})
}
