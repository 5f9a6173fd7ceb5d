package unpack

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// sameAsReference unpacks data with the shortcuts (line skipping in the
// walker, the base64 line path) and without (Options.reference), and
// fails unless the trees (JSON: parts, offsets, sizes, hashes, problems)
// and the contents are the same.
func sameAsReference(t testing.TB, name string, data []byte, opt Options) {
	t.Helper()
	var docs [2]bytes.Buffer
	var contents [2][][]byte
	for i, ref := range []bool{false, true} {
		o := opt
		o.reference = ref
		m, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), o)
		if err != nil {
			t.Fatalf("%s: Unpack (reference %v): %v", name, ref, err)
		}
		if err := WriteJSON(&docs[i], m); err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Parts {
			r, err := p.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			contents[i] = append(contents[i], b)
		}
		m.Close()
	}
	if !bytes.Equal(docs[0].Bytes(), docs[1].Bytes()) {
		a, b := docs[0].String(), docs[1].String()
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		lo := max(i-300, 0)
		t.Fatalf("%s: tree differs from the reference at byte %d:\n%s\n--- reference:\n%s", name, i, a[lo:min(i+300, len(a))], b[lo:min(i+300, len(b))])
	}
	for i := range contents[0] {
		if !bytes.Equal(contents[0][i], contents[1][i]) {
			t.Fatalf("%s: content of part %d differs from the reference", name, i)
		}
	}
}

// referenceMessages are messages that reach the shortcuts' edges: long
// base64 bodies, lines longer than the line buffer, boundaries near
// buffer ends, LF line breaks, damaged base64, base64 without line
// breaks, lines beginning with "-" that are not delimiters.
func referenceMessages() map[string][]byte {
	rnd := rand.New(rand.NewSource(7))
	random := func(n int) []byte {
		b := make([]byte, n)
		rnd.Read(b)
		return b
	}
	ms := map[string][]byte{
		"plain":      withAttachment("a.bin", random(300<<10)),
		"lf":         bytes.ReplaceAll(withAttachment("a.bin", random(200<<10)), []byte("\r\n"), []byte("\n")),
		"unbroken":   []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(random(150<<10)) + "\r\n--b--\r\n"),
		"longline":   []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" + strings.Repeat("x", 70<<10) + "\r\n--b\r\n\r\n" + strings.Repeat("y", 64<<10-1) + "\n--b\r\n\r\n" + strings.Repeat("z", 64<<10) + "\n--b--\r\n"),
		"dashes":     []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n-\r\n--\r\n--x\r\n--bb\r\n-- b\r\n\n-\n--b \t\r\n\r\nlast\r\n--b--\r\nepilogue\r\n"),
		"truncated":  withAttachment("a.bin", random(100<<10))[:90<<10],
		"noboundary": append([]byte("Content-Transfer-Encoding: base64\r\n\r\n"), base64Lines(random(100<<10))...),
	}
	// Boundaries at every offset around the line buffer's end.
	for i := 0; i < 8; i++ {
		var b bytes.Buffer
		b.WriteString("Content-Type: multipart/mixed; boundary=sep\r\n\r\n--sep\r\n\r\n")
		for b.Len() < lineBufSize-10+i*3 {
			b.WriteString("line of text\r\n")
		}
		b.WriteString("\r\n--sep\r\n\r\nmore\n--sep--\r\n")
		ms["edge"+string(rune('0'+i))] = b.Bytes()
	}
	// Damaged base64 attachments.
	for i := 0; i < 6; i++ {
		edits := random(1 + 3*(i*5))
		body := mangle(random(rnd.Intn(200<<10)), edits)
		var b bytes.Buffer
		b.WriteString("Content-Type: multipart/mixed; boundary=sep\r\n\r\n--sep\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.Write(body)
		b.WriteString("\r\n--sep--\r\n")
		ms["damaged"+string(rune('0'+i))] = b.Bytes()
	}
	return ms
}

// TestReference checks the shortcuts against the reference on the golden
// messages, messages built for their edges (with default and with small
// limits), and the shared corpus.
func TestReference(t *testing.T) {
	dir := t.TempDir()
	small := Options{TempDir: dir, Limits: Limits{MaxExpandedBytes: 100 << 10, MaxParts: 5}}
	for name, data := range referenceMessages() {
		sameAsReference(t, name, data, Options{TempDir: dir})
		sameAsReference(t, name+" (small limits)", data, small)
	}
	files, _ := filepath.Glob("testdata/golden/*.eml")
	files = append(files, testenv.CorpusMessages(t)...)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sameAsReference(t, name, data, Options{TempDir: dir})
	}
	t.Logf("%d files", len(files))
}

// FuzzUnpackReference checks the shortcuts against the reference on
// arbitrary messages, with small limits as in FuzzUnpack.
func FuzzUnpackReference(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.eml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, name := range []string{"dashes", "longline", "damaged3", "edge2"} {
		f.Add(referenceMessages()[name])
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsReference(t, "input", data, Options{TempDir: dir, Limits: Limits{
			MaxParts: 200, MaxMIMEDepth: 20, MaxArchiveDepth: 4, MaxArchiveMembers: 50,
			MaxExpandedBytes: 1 << 20, Timeout: 5 * time.Second,
		}})
	})
}

// TestNoHashes: NoHashes changes nothing but the empty sha256 of every
// part (checked on the golden messages and the reference edge cases).
func TestNoHashes(t *testing.T) {
	dir := t.TempDir()
	msgs := referenceMessages()
	files, _ := filepath.Glob("testdata/golden/*.eml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs[f] = b
	}
	hashed := 0
	for name, data := range msgs {
		with := unpackBytes(t, data, Options{TempDir: dir})
		without, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), Options{TempDir: dir, NoHashes: true})
		if err != nil {
			t.Fatal(err)
		}
		defer without.Close()
		if len(with.Parts) != len(without.Parts) {
			t.Fatalf("%s: %d parts, %d without hashes", name, len(with.Parts), len(without.Parts))
		}
		for i, p := range without.Parts {
			if p.SHA256 != "" && !p.Ambiguous {
				// A part some reader reads otherwise is hashed anyway
				// (a content two readings share is scanned once).
				t.Fatalf("%s: part %s hashed with NoHashes", name, p.Path)
			}
			if with.Parts[i].SHA256 != "" {
				hashed++
			}
			p.SHA256 = with.Parts[i].SHA256
		}
		var a, b bytes.Buffer
		if err := WriteJSON(&a, with); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&b, without); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: NoHashes changed more than the hashes", name)
		}
	}
	if hashed == 0 {
		t.Fatal("no part was hashed at all: the test proves nothing")
	}
}
