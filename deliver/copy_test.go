package deliver

import (
	"bytes"
	"context"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

type spoolLike struct{ f *os.File }

func (s spoolLike) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }
func (s spoolLike) File() *os.File                          { return s.f }

// TestDeliverFromFile: a message kept in a file (the spool of a large
// message) is copied by the kernel, from the right offset, exactly.
func TestDeliverFromFile(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 9<<20+3)
	rand.New(rand.NewSource(1)).Read(data)
	copy(data, "From x\nSubject: big\n\n")
	src := filepath.Join(dir, "spool")
	os.WriteFile(src, data, 0o600)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const skip = 7 // a From_ line the caller skips
	for name, msg := range map[string]io.ReaderAt{
		"file":           io.NewSectionReader(f, skip, int64(len(data)-skip)),
		"file-backed":    io.NewSectionReader(spoolLike{f}, skip, int64(len(data)-skip)),
		"plain ReaderAt": io.NewSectionReader(bytes.NewReader(data), skip, int64(len(data)-skip)),
	} {
		md := filepath.Join(dir, name, "Maildir")
		d, _ := ParseDest(md+"/", "")
		prefix := []byte("Delivered-To: a@b\n")
		res, err := Deliver(context.Background(), d, prefix, msg, int64(len(data)-skip), Envelope{}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := os.ReadFile(res.Path)
		if !bytes.Equal(got, append(prefix, data[skip:]...)) {
			t.Errorf("%s: delivered bytes differ (%d bytes, want %d)", name, len(got), len(prefix)+len(data)-skip)
		}
	}
	if src, base := sourceFile(io.NewSectionReader(spoolLike{f}, 5, 10)); src != f || base != 5 {
		t.Errorf("sourceFile did not see the file behind the spool")
	}
}
