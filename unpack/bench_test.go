package unpack

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"math/rand"
	"os"
	"testing"
)

// message20MB is a message of about 20 MB: a short text and a base64
// zip attachment holding 15 MB of incompressible data.
func message20MB(b testing.TB) []byte {
	rnd := rand.New(rand.NewSource(1))
	payload := make([]byte, 15<<20)
	rnd.Read(payload)
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	if err != nil {
		b.Fatal(err)
	}
	w.Write(payload)
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return withAttachment("data.zip", z.Bytes())
}

// BenchmarkUnpack20MB unpacks a 20 MB message with a base64 zip
// attachment (decode, hash, store, open the zip, hash the member); the
// MB/s column is the throughput over the raw message.
func BenchmarkUnpack20MB(b *testing.B) {
	benchUnpack(b, message20MB(b), 4, 15<<20)
}

// benchUnpack unpacks data b.N times and checks that it has parts parts,
// the last of size last.
func benchUnpack(b *testing.B, data []byte, parts int, last int64) {
	dir := b.TempDir()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), Options{TempDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Parts) != parts || m.Parts[parts-1].Size != last {
			b.Fatalf("%d parts", len(m.Parts))
		}
		m.Close()
	}
}

// BenchmarkBase64Reference is the reference for BenchmarkUnpack20MB: the
// standard library's strict base64 decoder over the same attachment,
// nothing else. The ratio of the two shows what the rest costs.
func BenchmarkBase64Reference(b *testing.B) {
	data := message20MB(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dec := make([]byte, len(data))
		n := 0
		for _, line := range bytes.Split(data, []byte("\r\n")) {
			k, _ := b64std.Decode(dec[n:], line)
			n += k
		}
	}
}

// TestWriteBenchMessage writes the message of BenchmarkUnpack20MB to the
// file named by $UNPACK_WRITE_BENCH, for scripts that compare with other
// tools (ripmime) and measure peak RSS through TestDump:
//
//	UNPACK_WRITE_BENCH=/tmp/20mb.eml go test ./unpack -run TestWriteBenchMessage
//	go test -c -o unpack.test ./unpack
//	/usr/bin/time -v env UNPACK_DUMP=/tmp/20mb.eml ./unpack.test -test.run TestDump
func TestWriteBenchMessage(t *testing.T) {
	name := os.Getenv("UNPACK_WRITE_BENCH")
	if name == "" {
		t.Skip("UNPACK_WRITE_BENCH not set")
	}
	if err := os.WriteFile(name, message20MB(t), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkUnpackBase64_20MB unpacks a message with a text part and a
// 20 MB base64 attachment of random bytes (76-character CRLF lines):
// decode, hash and store, nothing to open inside.
func BenchmarkUnpackBase64_20MB(b *testing.B) {
	rnd := rand.New(rand.NewSource(2))
	payload := make([]byte, 20<<20)
	rnd.Read(payload)
	benchUnpack(b, withAttachment("random.bin", payload), 3, 20<<20)
}

// BenchmarkBase64Writer decodes 20 MB of random bytes, as 76-character
// CRLF lines written 32 KB at a time (as Unpack writes them), with
// base64Writer into io.Discard: the decoder alone.
func BenchmarkBase64Writer(b *testing.B) {
	rnd := rand.New(rand.NewSource(3))
	payload := make([]byte, 20<<20)
	rnd.Read(payload)
	enc := base64Lines(payload)
	b.SetBytes(int64(len(enc)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := newBase64Writer(io.Discard)
		for p := enc; len(p) > 0; {
			n := min(len(p), 32<<10)
			d.Write(p[:n])
			p = p[n:]
		}
		d.Close()
	}
}

// BenchmarkBase64Hostile decodes text the line path cannot take (2 MB
// without line breaks, with a stray space every 7 characters; and 30 KB
// lines with a stray "!" at the end), with the line path and with the
// reference (writeRuns): the two should cost about the same, never grow
// with the square of the line length.
func BenchmarkBase64Hostile(b *testing.B) {
	rnd := rand.New(rand.NewSource(4))
	payload := make([]byte, 3<<20/2)
	rnd.Read(payload)
	enc := []byte(b64std.EncodeToString(payload))
	var unbroken, longLines []byte
	for i := 0; i < len(enc); i += 7 {
		unbroken = append(append(unbroken, enc[i:min(i+7, len(enc))]...), ' ')
	}
	for i := 0; i < len(enc); i += 30 << 10 {
		longLines = append(append(longLines, enc[i:min(i+30<<10, len(enc))]...), "!\r\n"...)
	}
	for _, in := range []struct {
		name string
		text []byte
	}{{"unbroken", unbroken}, {"longlines", longLines}} {
		for _, ref := range []bool{false, true} {
			name := in.name + "/line"
			if ref {
				name = in.name + "/reference"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(in.text)))
				for i := 0; i < b.N; i++ {
					d := newBase64Writer(io.Discard)
					d.ref = ref
					for p := in.text; len(p) > 0; {
						n := min(len(p), 32<<10)
						d.Write(p[:n])
						p = p[n:]
					}
					d.Close()
				}
			})
		}
	}
}
