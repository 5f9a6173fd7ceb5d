package archive_test

// Tests of the containers added for issue 11 §5 (cpio, cab, arj, zip
// deflate64 and implode, BinHex, bytes in front of an archive). They are
// an external test package so that EICAR comes from scan/builtin, the
// one place that builds it: no fixture in git holds it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
	"github.com/scandeliver/scandeliver/unpack/archive"
)

// leaf is one member reached by open, at any depth.
type leaf struct {
	path     string // names from the top, joined by " > "
	data     []byte
	problems []string
}

// open identifies data and walks it recursively under the default
// limits, returning the leaves, the formats opened and every problem.
func open(t testing.TB, data []byte) (leaves []leaf, formats, problems []string) {
	t.Helper()
	var rec func(data []byte, path string, depth int)
	rec = func(data []byte, path string, depth int) {
		f, ok := archive.Identify(data)
		if !ok || depth > 6 {
			leaves = append(leaves, leaf{path: path, data: data})
			return
		}
		formats = append(formats, f)
		probs, err := archive.Walk(context.Background(), f, bytes.NewReader(data), int64(len(data)), archive.Limits{},
			func(m archive.Member, c io.Reader) error {
				b, err := io.ReadAll(c)
				if err != nil {
					problems = append(problems, fmt.Sprintf("read %q: %v", m.Name, err))
				}
				problems = append(problems, m.Problems...)
				p := m.Name
				if path != "" {
					p = path + " > " + m.Name
				}
				rec(b, p, depth+1)
				return nil
			})
		if err != nil {
			t.Fatalf("Walk(%s): %v", f, err)
		}
		problems = append(problems, probs...)
	}
	rec(data, "", 0)
	return leaves, formats, problems
}

func names(leaves []leaf) []string {
	var n []string
	for _, l := range leaves {
		n = append(n, l.path)
	}
	slices.Sort(n)
	return n
}

// hasContent reports whether a leaf holds want (EICAR is found by its
// bytes, as the builtin engine finds it).
func hasContent(leaves []leaf, want []byte) bool {
	for _, l := range leaves {
		if bytes.Contains(l.data, want) {
			return true
		}
	}
	return false
}

// cpioWriter writes the four kinds of cpio (cpio(5)).
func mkCpio(kind string, files []cpioFile) []byte {
	var b bytes.Buffer
	padTo := func(n int) {
		for b.Len()%n != 0 {
			b.WriteByte(0)
		}
	}
	ino := 1
	add := func(name string, mode int, data []byte) {
		name0 := name + "\x00"
		switch kind {
		case "odc":
			fmt.Fprintf(&b, "070707%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o", 8, ino, mode, 0, 0, 1, 0, 0, len(name0), len(data))
			b.WriteString(name0)
			b.Write(data)
		case "newc", "crc":
			magic, sum := "070701", 0
			if kind == "crc" {
				magic = "070702"
				for _, c := range data {
					sum += int(c)
				}
			}
			fmt.Fprintf(&b, "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", magic, ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name0), sum&0xffffffff)
			b.WriteString(name0)
			padTo(4)
			b.Write(data)
			padTo(4)
		case "bin-le", "bin-be":
			var bo binary.ByteOrder = binary.LittleEndian
			if kind == "bin-be" {
				bo = binary.BigEndian
			}
			words := []uint16{0o70707, 8, uint16(ino), uint16(mode), 0, 0, 1, 0, 0, 0, uint16(len(name0)), uint16(len(data) >> 16), uint16(len(data))}
			for _, w := range words {
				binary.Write(&b, bo, w)
			}
			b.WriteString(name0)
			padTo(2)
			b.Write(data)
			padTo(2)
		}
		ino++
	}
	for _, f := range files {
		add(f.name, f.mode, f.data)
	}
	add("TRAILER!!!", 0, nil)
	return b.Bytes()
}

type cpioFile struct {
	name string
	mode int
	data []byte
}

// TestCpio opens the four kinds of cpio, written here (old binary in
// both byte orders, odc, newc, crc) with EICAR inside, and as GNU cpio
// 2.15 wrote them (testdata/containers/gnu-*.cpio: a directory, two
// files and a symlink).
func TestCpio(t *testing.T) {
	files := []cpioFile{
		{"dir", 0o40755, nil},
		{"dir/eicar.com", 0o100644, builtin.Eicar()},
		{"link", 0o120777, []byte("dir/eicar.com")},
		{"odd.txt", 0o100644, []byte("odd length\n!")},
	}
	for _, kind := range []string{"bin-le", "bin-be", "odc", "newc", "crc"} {
		t.Run(kind, func(t *testing.T) {
			data := mkCpio(kind, files)
			if f, _ := archive.Identify(data); f != "cpio" {
				t.Fatalf("identified as %q", f)
			}
			leaves, _, probs := open(t, data)
			if got, want := names(leaves), []string{"dir/eicar.com", "odd.txt"}; !slices.Equal(got, want) {
				t.Errorf("members %q, want %q", got, want)
			}
			if !hasContent(leaves, builtin.Eicar()) {
				t.Errorf("EICAR not found")
			}
			if len(probs) > 0 {
				t.Errorf("problems %q", probs)
			}
			// Cut anywhere, it never yields more than it has, and says so.
			for _, n := range []int{len(data) / 2, 30} {
				_, _, probs := open(t, data[:n])
				if f, _ := archive.Identify(data[:n]); f == "cpio" && len(probs) == 0 {
					t.Errorf("cut at %d: no problem", n)
				}
			}
		})
	}
	for _, kind := range []string{"bin", "odc", "newc", "crc"} {
		t.Run("gnu-"+kind, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "containers", "gnu-"+kind+".cpio"))
			if err != nil {
				t.Fatal(err)
			}
			leaves, formats, probs := open(t, data)
			if got, want := names(leaves), []string{"dir/second.txt", "hello.txt"}; !slices.Equal(got, want) {
				t.Errorf("members %q, want %q (formats %q, problems %q)", got, want, formats, probs)
			}
			if len(probs) > 0 {
				t.Errorf("problems %q", probs)
			}
		})
	}
}

// clamExe is the SHA-256 of ClamAV's harmless test executable, which the
// ClamAV samples of the corpus hold.
func clamExe(t testing.TB, corpus string) [32]byte {
	b, err := os.ReadFile(filepath.Join(corpus, "attachments", "executables", "clamav", "clam.exe"))
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestContainersCorpus opens the corpus's samples of the containers
// added for issue 11 §5: each must be identified, list its members and
// give up clam.exe (the ClamAV test file) with its SHA-256.
func TestContainersCorpus(t *testing.T) {
	corpus := testenv.Corpus(t)
	want := clamExe(t, corpus)
	for _, tc := range corpusContainers {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpus, "attachments", "archives", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			leaves, formats, probs := open(t, data)
			if got := strings.Join(formats, ">"); got != tc.formats {
				t.Errorf("formats %q, want %q", got, tc.formats)
			}
			found := false
			for _, l := range leaves {
				if sha256.Sum256(l.data) == want {
					found = true
				}
			}
			t.Logf("members %q problems %q", names(leaves), probs)
			if !found {
				t.Errorf("clam.exe not found")
			}
		})
	}
}

var corpusContainers = []struct{ file, formats string }{
	{"clamav/clam.bin-be.cpio", "cpio"},
	{"clamav/clam.bin-le.cpio", "cpio"},
	{"clamav/clam.odc.cpio", "cpio"},
	{"clamav/clam.newc.cpio", "cpio"},
}
