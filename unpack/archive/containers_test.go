package archive_test

// Tests of the containers added for issue 11 §5 (cpio, cab, arj, zip
// deflate64 and implode, BinHex, bytes in front of an archive). They are
// an external test package so that EICAR comes from scan/builtin, the
// one place that builds it: no fixture in git holds it.

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kzip "github.com/klauspost/compress/zip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
	"github.com/scandeliver/scandeliver/unpack/archive"
)

// leaf is one member reached by open, at any depth.
type leaf struct {
	path string // names from the top, joined by " > "
	data []byte
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
// 2.13 wrote them (testdata/containers/gnu-*.cpio: a directory, two
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
	{"clamav/clam.d64.zip", "zip"},
	{"clamav/clam.cab", "cab"},
	{"clamav/clam.arj", "arj"},
	{"clamav/clam.exe.szdd", "szdd"},
	{"clamav/clam.chm", "chm"},
	{"clamav/clam.impl.zip", "zip"},
	{"clamav/clam.bin-be.cpio", "cpio"},
	{"clamav/clam.bin-le.cpio", "cpio"},
	{"clamav/clam.odc.cpio", "cpio"},
	{"clamav/clam.newc.cpio", "cpio"},
}

// bitWriter writes bits least significant first (deflate, implode).
type bitWriter struct {
	buf  []byte
	bits uint64
	n    uint
}

func (w *bitWriter) put(v uint64, k uint) {
	w.bits |= v << w.n
	w.n += k
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.bits))
		w.bits >>= 8
		w.n -= 8
	}
}

// code writes a Huffman code, its first bit first.
func (w *bitWriter) code(c uint64, k uint) {
	for i := int(k) - 1; i >= 0; i-- {
		w.put(c>>uint(i)&1, 1)
	}
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		w.put(0, 8-w.n)
	}
	return w.buf
}

// fixedLit writes literal/length symbol s with deflate's fixed code.
func (w *bitWriter) fixedLit(s int) {
	switch {
	case s < 144:
		w.code(uint64(0x30+s), 8)
	case s < 256:
		w.code(uint64(0x190+s-144), 9)
	case s < 280:
		w.code(uint64(s-256), 7)
	default:
		w.code(uint64(0xc0+s-280), 8)
	}
}

// deflate64Sample is one fixed-Huffman deflate64 block that only a
// deflate64 decoder reads right: EICAR, 40,000 bytes of text, then
// EICAR again from 40,068 bytes back (distance code 30, past deflate's 32 KiB)
// and a run of 1,000 bytes made by length code 285 with deflate64's 16
// extra bits (in deflate, code 285 is 258 bytes and takes no extra bits).
func deflate64Sample() (compressed, plain []byte) {
	var w bitWriter
	w.put(1, 1) // final
	w.put(1, 2) // fixed Huffman
	lit := func(b []byte) {
		for _, c := range b {
			w.fixedLit(int(c))
		}
		plain = append(plain, b...)
	}
	filler := bytes.Repeat([]byte("All work and no play. "), 40000/22+1)[:40000]
	lit(builtin.Eicar())
	lit(filler)
	// EICAR again: length 68 is code 277 (base 67, 4 extra bits: 1);
	// distance 40,068 is code 30 (base 32769, 14 extra bits: 7299).
	e := builtin.Eicar()
	w.fixedLit(277)
	w.put(1, 4)
	w.code(30, 5)
	w.put(40068-32769, 14)
	plain = append(plain, e...)
	// 1,000 copies of the last byte: code 285, 16 extra bits (997),
	// distance 1 (code 0).
	w.fixedLit(285)
	w.put(997, 16)
	w.code(0, 5)
	plain = append(plain, bytes.Repeat(e[len(e)-1:], 1000)...)
	w.fixedLit(256)
	return w.bytes(), plain
}

// implodeSample is an imploded stream (4 KiB window, no literal tree)
// with complete 6-bit length and distance trees: EICAR as raw literals,
// then EICAR's first 20 bytes again by a match of distance 68.
func implodeSample() (compressed, plain []byte) {
	var w bitWriter
	for range 2 { // length tree, then distance tree: 64 symbols of 6 bits
		w.buf = append(w.buf, 3, 0xf5, 0xf5, 0xf5, 0xf5)
	}
	e := builtin.Eicar()
	for _, c := range e {
		w.put(1, 1)
		w.put(uint64(c), 8)
	}
	// Match: distance 68 = low 6 bits 3, code 1 (+1); length 20 = code
	// 18 + the minimum 2. Codes are sent complemented (explode.c).
	w.put(0, 1)
	w.put(3, 6)
	w.code(uint64(63-1), 6)
	w.code(uint64(63-18), 6)
	plain = append(append(plain, e...), e[:20]...)
	return w.bytes(), plain
}

// rawZip makes a one-member zip from an already compressed stream.
func rawZip(t testing.TB, name string, method, flags uint16, compressed, plain []byte) []byte {
	var b bytes.Buffer
	zw := kzip.NewWriter(&b)
	w, err := zw.CreateRaw(&kzip.FileHeader{Name: name, Method: method, Flags: flags, CRC32: crc32.ChecksumIEEE(plain),
		CompressedSize64: uint64(len(compressed)), UncompressedSize64: uint64(len(plain))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(compressed)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestZipMethods opens zip members compressed with deflate64 (method 9)
// and implode (method 6), made here with EICAR inside; a member that does
// not decode to its CRC is an error, and a method we have no decoder for
// makes the member unreadable (unscannable), never empty.
func TestZipMethods(t *testing.T) {
	d64, d64plain := deflate64Sample()
	imp, impPlain := implodeSample()
	for _, tc := range []struct {
		name          string
		method, flags uint16
		comp, plain   []byte
	}{
		{"deflate64", 9, 0, d64, d64plain},
		{"implode", 6, 0, imp, impPlain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := rawZip(t, "eicar.com", tc.method, tc.flags, tc.comp, tc.plain)
			leaves, _, probs := open(t, data)
			if len(leaves) != 1 || !bytes.Equal(leaves[0].data, tc.plain) {
				t.Fatalf("content differs (%d leaves), problems %q", len(leaves), probs)
			}
			if !hasContent(leaves, builtin.Eicar()) || len(probs) > 0 {
				t.Errorf("EICAR found %v, problems %q", hasContent(leaves, builtin.Eicar()), probs)
			}
			// A wrong CRC, or a stream cut short, is an error.
			bad := rawZip(t, "eicar.com", tc.method, tc.flags, tc.comp, append([]byte{'x'}, tc.plain[1:]...))
			if _, _, probs := open(t, bad); !strings.Contains(strings.Join(probs, " "), "CRC-32") {
				t.Errorf("wrong CRC: problems %q", probs)
			}
			cut := rawZip(t, "eicar.com", tc.method, tc.flags, tc.comp[:len(tc.comp)/2], tc.plain)
			if _, _, probs := open(t, cut); len(probs) == 0 {
				t.Errorf("cut stream: no problem")
			}
		})
	}
	// PPMd (98): no decoder. The member's reader fails.
	data := rawZip(t, "eicar.com", 98, 0, []byte("whatever"), builtin.Eicar())
	var readErr error
	probs, err := archive.Walk(context.Background(), "zip", bytes.NewReader(data), int64(len(data)), archive.Limits{}, func(m archive.Member, c io.Reader) error {
		_, readErr = io.ReadAll(c)
		return nil
	})
	if err != nil || !errors.Is(readErr, archive.ErrUnsupported) || !strings.HasPrefix(strings.Join(probs, ""), "unsupported:") {
		t.Errorf("method 98: read error %v, problems %q, err %v", readErr, probs, err)
	}
}

// TestZipDeflate64By7Zip opens testdata/containers/7z-deflate64.zip,
// written by 7-Zip 26.02 (7z a -tzip -mm=Deflate64 -mx=9): a text and a
// file whose second half repeats its first from 43,000 bytes back.
func TestZipDeflate64By7Zip(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "containers", "7z-deflate64.zip"))
	if err != nil {
		t.Fatal(err)
	}
	leaves, _, probs := open(t, data)
	want := map[string]string{
		"text.txt": "0ba277ce74e485e077a462dbeb5b266257afe379273c163f9367f5eee2885507",
		"bin.dat":  "cc329a7b90edad566770c725126cf68d88fc4c139c1597db80b416ae6ff25a91",
	}
	if len(leaves) != len(want) || len(probs) > 0 {
		t.Fatalf("%d members, problems %q", len(leaves), probs)
	}
	for _, l := range leaves {
		if got := fmt.Sprintf("%x", sha256.Sum256(l.data)); got != want[l.path] {
			t.Errorf("%s: SHA-256 %s, want %s", l.path, got, want[l.path])
		}
	}
}

// mkCab writes a cabinet of one folder holding files in turn, stored
// (method 0), MSZIP (1, in blocks of at most 32 KiB, each a deflate
// stream that may refer to the block before) or marked Quantum (2).
func mkCab(t testing.TB, method uint16, files []cpioFile) []byte {
	var plain []byte
	for _, f := range files {
		plain = append(plain, f.data...)
	}
	var blocks [][2][]byte // packed, plain
	var dict []byte
	for off := 0; off < len(plain) || off == 0; off += 32 << 10 {
		chunk := plain[off:min(off+32<<10, len(plain))]
		packed := chunk
		if method == 1 {
			var b bytes.Buffer
			b.WriteString("CK")
			fw, err := flate.NewWriterDict(&b, flate.BestCompression, dict)
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(chunk)
			fw.Close()
			packed = b.Bytes()
			dict = append(dict, chunk...)
			if len(dict) > 32<<10 {
				dict = dict[len(dict)-32<<10:]
			}
		}
		blocks = append(blocks, [2][]byte{packed, chunk})
		if len(plain) == 0 {
			break
		}
	}
	le := binary.LittleEndian
	var fileTable bytes.Buffer
	off := 0
	for _, f := range files {
		binary.Write(&fileTable, le, uint32(len(f.data)))
		binary.Write(&fileTable, le, uint32(off))
		binary.Write(&fileTable, le, uint16(0))
		fileTable.Write(make([]byte, 6))
		fileTable.WriteString(f.name + "\x00")
		off += len(f.data)
	}
	const hdrLen, folderLen = 36, 8
	coffFiles := hdrLen + folderLen
	dataStart := coffFiles + fileTable.Len()
	var data bytes.Buffer
	for _, b := range blocks {
		binary.Write(&data, le, uint32(0)) // no checksum
		binary.Write(&data, le, uint16(len(b[0])))
		binary.Write(&data, le, uint16(len(b[1])))
		data.Write(b[0])
	}
	var out bytes.Buffer
	out.WriteString("MSCF\x00\x00\x00\x00")
	binary.Write(&out, le, uint32(dataStart+data.Len()))
	binary.Write(&out, le, uint32(0))
	binary.Write(&out, le, uint32(coffFiles))
	binary.Write(&out, le, uint32(0))
	out.Write([]byte{3, 1})
	binary.Write(&out, le, uint16(1))          // folders
	binary.Write(&out, le, uint16(len(files))) // files
	binary.Write(&out, le, uint16(0))          // flags
	binary.Write(&out, le, uint16(0))          // set id
	binary.Write(&out, le, uint16(0))          // cabinet number
	binary.Write(&out, le, uint32(dataStart))
	binary.Write(&out, le, uint16(len(blocks)))
	binary.Write(&out, le, method)
	out.Write(fileTable.Bytes())
	out.Write(data.Bytes())
	return out.Bytes()
}

// TestCab opens cabinets made here, stored and MSZIP, whose EICAR sits
// behind 70,000 bytes of another file (three MSZIP blocks, each
// referring to the one before), and one marked Quantum, which we cannot
// decode: its members are unreadable, so unscannable.
func TestCab(t *testing.T) {
	filler := bytes.Repeat([]byte("filler line of a cabinet member\n"), 70000/32)
	files := []cpioFile{{"readme.txt", 0, filler}, {"dir\\eicar.com", 0, builtin.Eicar()}, {"empty", 0, nil}}
	for _, method := range []uint16{0, 1} {
		t.Run(fmt.Sprint("method", method), func(t *testing.T) {
			data := mkCab(t, method, files)
			if f, _ := archive.Identify(data); f != "cab" {
				t.Fatalf("identified as %q", f)
			}
			leaves, _, probs := open(t, data)
			if got, want := names(leaves), []string{"dir\\eicar.com", "empty", "readme.txt"}; !slices.Equal(got, want) {
				t.Errorf("members %q, want %q", got, want)
			}
			for _, l := range leaves {
				if l.path == "readme.txt" && !bytes.Equal(l.data, filler) {
					t.Errorf("readme.txt differs")
				}
			}
			if !hasContent(leaves, builtin.Eicar()) || len(probs) > 0 {
				t.Errorf("EICAR found %v, problems %q", hasContent(leaves, builtin.Eicar()), probs)
			}
			if _, _, probs := open(t, data[:len(data)-100]); len(probs) == 0 {
				t.Errorf("cut: no problem")
			}
		})
	}
	data := mkCab(t, 2, files)
	var unread int
	probs, _ := archive.Walk(context.Background(), "cab", bytes.NewReader(data), int64(len(data)), archive.Limits{}, func(m archive.Member, c io.Reader) error {
		if _, err := io.ReadAll(c); errors.Is(err, archive.ErrUnsupported) {
			unread++
		}
		return nil
	})
	if unread != 3 {
		t.Errorf("Quantum: %d members unreadable, want 3; problems %q", unread, probs)
	}
}

// mkArj writes an ARJ archive of stored (method 0) members, as
// TECHNOTE.DOC lays it out: a main header, one header per file with its
// CRC-32, then the data; an empty header ends it.
func mkArj(files []cpioFile) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	header := func(ftype byte, name string, data []byte) {
		var h bytes.Buffer
		h.Write([]byte{30, 11, 1, 2, 0, 0, ftype, 0})
		binary.Write(&h, le, uint32(0))         // date
		binary.Write(&h, le, uint32(len(data))) // packed
		binary.Write(&h, le, uint32(len(data))) // original
		binary.Write(&h, le, crc32.ChecksumIEEE(data))
		h.Write(make([]byte, 6)) // filespec position, mode, host data
		h.WriteString(name + "\x00" + "\x00")
		b.Write([]byte{0x60, 0xea})
		binary.Write(&b, le, uint16(h.Len()))
		b.Write(h.Bytes())
		binary.Write(&b, le, crc32.ChecksumIEEE(h.Bytes()))
		b.Write([]byte{0, 0}) // no extended header
		b.Write(data)
	}
	header(2, "test.arj", nil) // main header
	for _, f := range files {
		header(0, f.name, f.data)
	}
	b.Write([]byte{0x60, 0xea, 0, 0})
	return b.Bytes()
}

// TestArj opens an ARJ archive made here holding EICAR, and ARJ32 3.10's
// own archives of the same two files in each method (0 stored, 1 to 3
// Huffman-coded LZ77, 4 "fastest") and one garbled (encrypted).
func TestArj(t *testing.T) {
	data := mkArj([]cpioFile{{"readme.txt", 0, []byte("read me\n")}, {"EICAR.COM", 0, builtin.Eicar()}})
	if f, _ := archive.Identify(data); f != "arj" {
		t.Fatalf("identified as %q", f)
	}
	leaves, _, probs := open(t, data)
	if got, want := names(leaves), []string{"EICAR.COM", "readme.txt"}; !slices.Equal(got, want) || len(probs) > 0 {
		t.Errorf("members %q, want %q; problems %q", got, want, probs)
	}
	if !hasContent(leaves, builtin.Eicar()) {
		t.Errorf("EICAR not found")
	}
	if _, _, probs := open(t, data[:len(data)-30]); len(probs) == 0 {
		t.Errorf("cut: no problem")
	}
	want := map[string]string{
		"text.txt": "4402bf231434ee7dbf099a6a70cac10c1df8e81f5b832f4e4739a0abc3fb534d",
		"bin.dat":  "2aadc290616b46791f7ead50c6b2b7045a8198e9ebf0ae661c09f0893469d534",
	}
	for m := range 5 {
		t.Run(fmt.Sprint("method", m), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "containers", fmt.Sprintf("arj-m%d.arj", m)))
			if err != nil {
				t.Fatal(err)
			}
			leaves, _, probs := open(t, data)
			if len(leaves) != 2 || len(probs) > 0 {
				t.Fatalf("%d members, problems %q", len(leaves), probs)
			}
			for _, l := range leaves {
				if got := fmt.Sprintf("%x", sha256.Sum256(l.data)); got != want[l.path] {
					t.Errorf("%s: SHA-256 %s, want %s", l.path, got, want[l.path])
				}
			}
		})
	}
	data, err := os.ReadFile(filepath.Join("testdata", "containers", "arj-garbled.arj"))
	if err != nil {
		t.Fatal(err)
	}
	var enc int
	archive.Walk(context.Background(), "arj", bytes.NewReader(data), int64(len(data)), archive.Limits{}, func(m archive.Member, c io.Reader) error {
		if m.Encrypted {
			enc++
		}
		return nil
	})
	if enc != 1 {
		t.Errorf("garbled: %d encrypted members, want 1", enc)
	}
}

// TestLocate puts bytes in front of an archive of each kind (a fake
// self-extractor stub of 100 KB, and a few lines of text), as unzip,
// 7-Zip and unrar accept: Identify claims nothing, Locate finds it, and
// walking from there gives the members (EICAR where the archive is made
// here).
func TestLocate(t *testing.T) {
	eicar := builtin.Eicar()
	sample := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "samples", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var zb bytes.Buffer
	zw := kzip.NewWriter(&zb)
	w, _ := zw.Create("eicar.com")
	w.Write(eicar)
	zw.Close()
	archives := []struct {
		format string
		data   []byte
		eicar  bool
	}{
		{"zip", zb.Bytes(), true},
		{"cab", mkCab(t, 1, []cpioFile{{"eicar.com", 0, eicar}}), true},
		{"arj", mkArj([]cpioFile{{"EICAR.COM", 0, eicar}}), true},
		{"rar", sample("test_read_format_rar5_stored.rar"), false},
		{"rar", sample("test_read_format_rar.rar"), false},
		{"7z", sample("copy.7z"), false},
	}
	stub := append([]byte("MZ\x90\x00"), bytes.Repeat([]byte("This program cannot be run in DOS mode.\x00\x01"), 100000/41)...)
	for _, a := range archives {
		for _, prefix := range [][]byte{stub, []byte("junk line one\r\njunk line two\r\n\r\n")} {
			t.Run(fmt.Sprintf("%s-%d", a.format, len(prefix)), func(t *testing.T) {
				data := append(append([]byte(nil), prefix...), a.data...)
				if f, ok := archive.Identify(data); ok {
					t.Fatalf("Identify claims %q", f)
				}
				f, off, err := archive.Locate(bytes.NewReader(data), int64(len(data)))
				if err != nil || f != a.format {
					t.Fatalf("Locate: %q at %d, %v; want %q", f, off, err, a.format)
				}
				if f != "zip" && off != int64(len(prefix)) {
					t.Errorf("at %d, want %d", off, len(prefix))
				}
				r := io.NewSectionReader(bytes.NewReader(data), off, int64(len(data))-off)
				var got []string
				var found bool
				probs, err := archive.Walk(context.Background(), f, r, r.Size(), archive.Limits{}, func(m archive.Member, c io.Reader) error {
					b, _ := io.ReadAll(c)
					got = append(got, m.Name)
					found = found || bytes.Equal(b, eicar)
					return nil
				})
				if err != nil || len(got) == 0 || (a.eicar && !found) {
					t.Errorf("members %q (EICAR %v), problems %q, err %v", got, found, probs, err)
				}
			})
		}
	}
	// Nothing in random bytes, and a limit on crafted false starts.
	noise := bytes.Repeat([]byte("Rar!\x1a\x07\x00xxxxxxxxx"), 2000)
	if f, _, err := archive.Locate(bytes.NewReader(noise), int64(len(noise))); f != "" || !errors.Is(err, archive.ErrLimit) {
		t.Errorf("2000 false RAR signatures: %q, %v; want ErrLimit", f, err)
	}
	text := bytes.Repeat([]byte("plain text, nothing here\n"), 10000)
	if f, _, err := archive.Locate(bytes.NewReader(text), int64(len(text))); f != "" || err != nil {
		t.Errorf("text: %q, %v", f, err)
	}
}

// TestLzmaAndSkippable opens EICAR compressed in the legacy .lzma format
// (xz --format=lzma) and in a zstd stream behind a skippable frame
// (RFC 8878 section 3.1.2), which xz and zstd open.
func TestLzmaAndSkippable(t *testing.T) {
	var lz bytes.Buffer
	lw, err := lzma.NewWriter(&lz)
	if err != nil {
		t.Fatal(err)
	}
	lw.Write(builtin.Eicar())
	lw.Close()
	var zs bytes.Buffer
	zs.Write([]byte{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'p', 'a', 'd', '!'})
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(builtin.Eicar())
	zw.Close()
	for _, tc := range []struct {
		format string
		data   []byte
	}{{"lzma", lz.Bytes()}, {"zstd", zs.Bytes()}} {
		if f, _ := archive.Identify(tc.data); f != tc.format {
			t.Errorf("identified as %q, want %q", f, tc.format)
			continue
		}
		leaves, _, probs := open(t, tc.data)
		if !hasContent(leaves, builtin.Eicar()) || len(probs) > 0 {
			t.Errorf("%s: EICAR not found; problems %q", tc.format, probs)
		}
	}
}

// TestUnopened names the formats that desktop tools open and we do not,
// on the corpus's samples: the unpack stage marks such a part
// unscannable.
func TestUnopened(t *testing.T) {
	corpus := testenv.Corpus(t)
	for file, want := range map[string]string{
		"clamav/alz/bzip2.alz":                           "alz",
		"libarchive/test_read_format_lha_header3.lzh":    "lha",
		"libarchive/test_read_format_xar_doublelink.xar": "xar",
	} {
		data, err := os.ReadFile(filepath.Join(corpus, "attachments", "archives", file))
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := archive.Identify(data); ok {
			t.Errorf("%s: Identify claims %q", file, f)
		}
		if f, _ := archive.Unopened(data); f != want {
			t.Errorf("%s: Unopened %q, want %q", file, f, want)
		}
	}
	if f, ok := archive.Unopened([]byte("plain text that is no archive at all.....")); ok {
		t.Errorf("text: %q", f)
	}
}

// mkSZDD compresses data as COMPRESS.EXE would in its simplest form:
// literals, then a match that copies the data's first bytes again from
// the window (positions start at 4096-16).
func mkSZDD(data []byte, repeat int) []byte {
	var b bytes.Buffer
	b.WriteString("SZDD\x88\xf0\x27\x33A_")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)+repeat))
	// Items: a literal (1 byte, control bit 1) or a match (2 bytes, 0),
	// eight to a control byte.
	var items [][]byte
	for _, c := range data {
		items = append(items, []byte{c})
	}
	if repeat > 0 { // one match of repeat (3..18) bytes from position 4080
		from := 4096 - 16
		items = append(items, []byte{byte(from), byte(from>>8)<<4 | byte(repeat-3)})
	}
	for i := 0; i < len(items); i += 8 {
		group := items[i:min(i+8, len(items))]
		var control byte
		for k, it := range group {
			if len(it) == 1 {
				control |= 1 << k
			}
		}
		b.WriteByte(control)
		for _, it := range group {
			b.Write(it)
		}
	}
	return b.Bytes()
}

// TestSZDD opens COMPRESS.EXE's format (EXPAND.EXE and 7-Zip open it)
// holding EICAR, whose first 18 bytes come again by a match.
func TestSZDD(t *testing.T) {
	data := mkSZDD(builtin.Eicar(), 18)
	if f, _ := archive.Identify(data); f != "szdd" {
		t.Fatalf("identified as %q", f)
	}
	leaves, _, probs := open(t, data)
	want := append(append([]byte(nil), builtin.Eicar()...), builtin.Eicar()[:18]...)
	if len(leaves) != 1 || !bytes.Equal(leaves[0].data, want) || len(probs) > 0 {
		t.Errorf("got %q, problems %q", leaves, probs)
	}
	if _, _, probs := open(t, data[:len(data)-5]); len(probs) == 0 {
		t.Errorf("cut: no problem")
	}
}

// mkLha writes an LHA archive of stored (-lh0-) members with level 0
// headers (name in the header) or level 2 headers (name in an extended
// header), as LHa for UNIX's header.doc lays them out.
func mkLha(level int, files []cpioFile) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	for _, f := range files {
		crc := crc16arc(f.data)
		if level == 0 {
			h := []byte("-lh0-")
			h = binary.LittleEndian.AppendUint32(h, uint32(len(f.data)))
			h = binary.LittleEndian.AppendUint32(h, uint32(len(f.data)))
			h = append(h, 0, 0, 0, 0, 0x20, 0, byte(len(f.name)))
			h = append(h, f.name...)
			h = binary.LittleEndian.AppendUint16(h, crc)
			var sum byte
			for _, c := range h {
				sum += c
			}
			b.Write([]byte{byte(len(h)), sum})
			b.Write(h)
		} else {
			ext := append([]byte{byte(3 + len(f.name)), 0, 1}, f.name...)
			total := 24 + len(ext) + 2
			binary.Write(&b, le, uint16(total))
			b.WriteString("-lh0-")
			binary.Write(&b, le, uint32(len(f.data)))
			binary.Write(&b, le, uint32(len(f.data)))
			b.Write([]byte{0, 0, 0, 0, 0x20, 2})
			binary.Write(&b, le, crc)
			b.WriteByte('U')
			b.Write(ext)
			b.Write([]byte{0, 0})
		}
		b.Write(f.data)
	}
	b.WriteByte(0)
	return b.Bytes()
}

func crc16arc(p []byte) uint16 {
	var c uint16
	for _, x := range p {
		c ^= uint16(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xa001
			} else {
				c >>= 1
			}
		}
	}
	return c
}

// TestLha opens LHA archives made here (level 0 and level 2 headers)
// with EICAR inside, and the corpus's: lh0, lh6 and lh7 from ClamAV's
// and libarchive's tests, decoded and checked against their CRC-16;
// -lh1- is not decoded, so its member is unscannable.
func TestLha(t *testing.T) {
	for _, level := range []int{0, 2} {
		data := mkLha(level, []cpioFile{{"readme.txt", 0, []byte("read me\n")}, {"eicar.com", 0, builtin.Eicar()}})
		if f, _ := archive.Identify(data); f != "lha" {
			t.Fatalf("level %d: identified as %q", level, f)
		}
		leaves, _, probs := open(t, data)
		if got := names(leaves); !slices.Equal(got, []string{"eicar.com", "readme.txt"}) || len(probs) > 0 || !hasContent(leaves, builtin.Eicar()) {
			t.Errorf("level %d: members %q, problems %q", level, got, probs)
		}
	}
	corpus := testenv.Corpus(t)
	for file, want := range map[string][]string{
		"clamav/lha_lzh/lh6.lzh":                  {"archive_contents/images/cisco.png", "archive_contents/images/logo.png"},
		"clamav/lha_lzh/lh7.lzh":                  {"archive_contents/images/cisco.png", "archive_contents/images/logo.png"},
		"libarchive/test_read_format_lha_lh0.lzh": {"file1", "file2"},
		"libarchive/test_read_format_lha_lh6.lzh": {"file1", "file2"},
	} {
		data, err := os.ReadFile(filepath.Join(corpus, "attachments", "archives", file))
		if err != nil {
			t.Fatal(err)
		}
		leaves, formats, probs := open(t, data)
		got := names(leaves)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: %q missing from %q (formats %q)", file, w, got, formats)
			}
		}
		if len(probs) > 0 {
			t.Errorf("%s: problems %q", file, probs)
		}
	}
	data, err := os.ReadFile(filepath.Join(corpus, "attachments", "archives", "clamav/lha_lzh/lh1.lzh"))
	if err != nil {
		t.Fatal(err)
	}
	var unsupported int
	archive.Walk(context.Background(), "lha", bytes.NewReader(data), int64(len(data)), archive.Limits{}, func(m archive.Member, c io.Reader) error {
		if _, err := io.ReadAll(c); errors.Is(err, archive.ErrUnsupported) {
			unsupported++
		}
		return nil
	})
	if unsupported == 0 {
		t.Errorf("lh1: no member unreadable")
	}
}

// TestZipLZMA opens zip members compressed with LZMA (method 14): 7-Zip's
// (with an end marker, flag bit 1), and one made here holding EICAR whose
// stream ends at its declared size.
func TestZipLZMA(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "containers", "7z-lzma.zip"))
	if err != nil {
		t.Fatal(err)
	}
	leaves, _, probs := open(t, data)
	if len(leaves) != 1 || fmt.Sprintf("%x", sha256.Sum256(leaves[0].data)) != "4402bf231434ee7dbf099a6a70cac10c1df8e81f5b832f4e4739a0abc3fb534d" || len(probs) > 0 {
		t.Errorf("7-Zip's: %d members, problems %q", len(leaves), probs)
	}
	eicar := builtin.Eicar()
	var lz bytes.Buffer
	lw, err := lzma.WriterConfig{Size: int64(len(eicar))}.NewWriter(&lz)
	if err != nil {
		t.Fatal(err)
	}
	lw.Write(eicar)
	lw.Close()
	// A .lzma file is the 5 property bytes, the size, the stream; a zip
	// member is a version, the property size, the properties, the stream.
	member := append([]byte{9, 20, 5, 0}, lz.Bytes()[:5]...)
	member = append(member, lz.Bytes()[13:]...)
	leaves, _, probs = open(t, rawZip(t, "eicar.com", 14, 0, member, eicar))
	if !hasContent(leaves, eicar) || len(probs) > 0 {
		t.Errorf("made here: problems %q", probs)
	}
}

// TestCompress opens Unix compress (.Z) files written by ncompress with
// at most 10 and 16 bits (code sizes growing, and at 10 bits a full table),
// and the corpus's libarchive samples: the same bytes as gzip -d gives.
func TestCompress(t *testing.T) {
	for _, f := range []string{"ncompress-b10.Z", "ncompress-b16.Z"} {
		data, err := os.ReadFile(filepath.Join("testdata", "containers", f))
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := archive.Identify(data); g != "compress" {
			t.Fatalf("%s: identified as %q", f, g)
		}
		leaves, _, probs := open(t, data)
		if len(leaves) != 1 || fmt.Sprintf("%x", sha256.Sum256(leaves[0].data)) != "f7278ca4d18d1ae9d51d5a3fafd494cc2d5294e062bdc4fa34a4a50808f7f189" || len(probs) > 0 {
			t.Errorf("%s: %d leaves, problems %q", f, len(leaves), probs)
		}
	}
	corpus := testenv.Corpus(t)
	data, err := os.ReadFile(filepath.Join(corpus, "attachments", "archives", "libarchive", "test_extract.tar.Z"))
	if err != nil {
		t.Fatal(err)
	}
	leaves, formats, probs := open(t, data)
	if strings.Join(formats, ">") != "compress>tar" || len(leaves) != 2 || len(probs) > 0 {
		t.Errorf("test_extract.tar.Z: formats %q, %d leaves, problems %q", formats, len(leaves), probs)
	}
}

// TestAr opens ar archives: BSD style made here (#1/N names) with EICAR
// inside, GNU ar's (a long name in the // table) and libarchive's sample.
func TestAr(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	long := "a_rather_long_member_name_eicar.com"
	fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", "#1/"+fmt.Sprint(len(long)), 0, 0, 0, 0o644, len(long)+len(builtin.Eicar()))
	b.WriteString(long)
	b.Write(builtin.Eicar())
	if (len(long)+len(builtin.Eicar()))%2 == 1 {
		b.WriteByte('\n') // members are padded to an even size
	}
	fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", "odd.txt/", 0, 0, 0, 0o644, 3)
	b.WriteString("odd\n")
	data := b.Bytes()
	if f, _ := archive.Identify(data); f != "ar" {
		t.Fatalf("identified as %q", f)
	}
	leaves, _, probs := open(t, data)
	if got := names(leaves); !slices.Equal(got, []string{long, "odd.txt"}) || !hasContent(leaves, builtin.Eicar()) || len(probs) > 0 {
		t.Errorf("members %q, problems %q", got, probs)
	}
	gnu, err := os.ReadFile(filepath.Join("testdata", "containers", "gnu-ar.a"))
	if err != nil {
		t.Fatal(err)
	}
	leaves, _, probs = open(t, gnu)
	if got := names(leaves); !slices.Equal(got, []string{"a_member_with_a_rather_long_name.txt", "short.txt"}) || len(probs) > 0 {
		t.Errorf("GNU ar: members %q, problems %q", got, probs)
	}
	corpus := testenv.Corpus(t)
	la, err := os.ReadFile(filepath.Join(corpus, "attachments", "archives", "libarchive", "test_read_format_ar.ar"))
	if err != nil {
		t.Fatal(err)
	}
	leaves, _, probs = open(t, la)
	t.Logf("libarchive's: %q %q", names(leaves), probs)
	if len(leaves) == 0 || len(probs) > 0 {
		t.Errorf("libarchive's: members %q, problems %q", names(leaves), probs)
	}
}

// TestCabLZX opens LZX cabinets byte for byte as 7-Zip extracts them:
// libarchive's test_read_format_cab_3.cab (testdata, 33,000 zeros and
// two texts in one LZX folder with E8 translation announced), and, when
// Debian's clamav-testfiles is installed, the LZX cabinets inside
// InstallShield's self-extractors (found behind the executable).
func TestCabLZX(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "containers", "libarchive-test_read_format_cab_3.cab"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"empty":       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"zero":        "8ec8d677b0280efeddd04d0b25d8b80fa50a9825382fa93a17d61c4ca002b1ad",
		"dir1\\file1": "d0c504f06bbd64d183524eb35e5482ee5d966d456b905a24147165b2904d301b",
		"dir2\\file2": "60f47caf717b06cf21b3bbb7775e49269a1b5cd6b94bba62da29a2ecb048ccf2",
	}
	leaves, _, probs := open(t, data)
	if len(leaves) != len(want) || len(probs) > 0 {
		t.Fatalf("%d members, problems %q", len(leaves), probs)
	}
	for _, l := range leaves {
		if got := fmt.Sprintf("%x", sha256.Sum256(l.data)); got != want[l.path] {
			t.Errorf("%s: SHA-256 %s, want %s", l.path, got, want[l.path])
		}
	}
	exe, err := os.ReadFile("/usr/share/clamav-testfiles/clam_IScab_ext.exe")
	if err != nil {
		testenv.Missing(t, "Debian package clamav-testfiles is not installed")
		return
	}
	f, off, err := archive.Locate(bytes.NewReader(exe), int64(len(exe)))
	if f != "cab" || err != nil {
		t.Fatalf("InstallShield: Locate %q, %v", f, err)
	}
	cab := exe[off:]
	leaves, _, probs = open(t, cab)
	// 7-Zip 26.02 extracts 13 files; their SHA-256s start so.
	var got []string
	for _, l := range leaves {
		got = append(got, fmt.Sprintf("%x", sha256.Sum256(l.data))[:16])
	}
	slices.Sort(got)
	want7z := "027c07b861ed408c 0500fed441b3c2ea 0ef5df8055b373cc 161b807b4cbdb43a 1624f26f935ba6de 201b7ac5dc35f03b 38b3d8a37e89e889 71c8aa4b1f659ad0 8f137730eb7330b7 a6ed9effa5448869 adea1d354a2f12de c641579c26869996 e554dfbd961b65bc"
	if strings.Join(got, " ") != want7z || len(probs) > 0 {
		t.Errorf("InstallShield cab: %q, problems %q; 7-Zip gives %s", got, probs, want7z)
	}
}

// TestAgainst7Zip is a differential test: every archive of the formats
// added for issue 11 §5 that the tests make or keep under testdata is
// also extracted by 7-Zip (Debian's p7zip-full, which tests/run.sh
// installs), and each member must have the same content in both.
func TestAgainst7Zip(t *testing.T) {
	sevenZip, err := exec.LookPath("7z")
	if err != nil {
		testenv.Missing(t, "7z (Debian package p7zip-full) is not installed")
		return
	}
	eicar := builtin.Eicar()
	files := []cpioFile{{"dir/eicar.com", 0o100644, eicar}, {"odd.txt", 0o100644, []byte("odd length\n!")}}
	cases := map[string][]byte{
		"newc.cpio":  mkCpio("newc", files),
		"odc.cpio":   mkCpio("odc", files),
		"bin.cpio":   mkCpio("bin-le", files),
		"stored.cab": mkCab(t, 0, files),
		"mszip.cab":  mkCab(t, 1, append(files, cpioFile{"big.txt", 0, bytes.Repeat([]byte("filler line of a cabinet member\n"), 3000)})),
		"stored.arj": mkArj(files),
		"level0.lzh": mkLha(0, files),
		"level2.lzh": mkLha(2, files),
	}
	d64, d64plain := deflate64Sample()
	cases["deflate64.zip"] = rawZip(t, "d64.bin", 9, 0, d64, d64plain)
	kept, _ := filepath.Glob(filepath.Join("testdata", "containers", "*"))
	for _, k := range kept {
		if strings.HasSuffix(k, ".tsv") {
			continue
		}
		b, err := os.ReadFile(k)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(k)] = b
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, name)
			if err := os.WriteFile(src, data, 0o600); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			cmd := exec.Command(sevenZip, "x", "-y", "-p-", "-o"+out, src)
			msg, err := cmd.CombinedOutput()
			theirs := map[string]string{} // content hash -> name
			filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					b, _ := os.ReadFile(p)
					theirs[fmt.Sprintf("%x", sha256.Sum256(b))] = p
				}
				return nil
			})
			var ours []leaf
			members := 0
			probs, werr := archive.Walk(context.Background(), mustIdentify(t, data), bytes.NewReader(data), int64(len(data)), archive.Limits{},
				func(m archive.Member, c io.Reader) error {
					members++ // encrypted ones too: 7-Zip writes a file for them
					b, err := io.ReadAll(c)
					if err == nil && !m.Encrypted {
						ours = append(ours, leaf{path: m.Name, data: b})
					}
					return nil
				})
			if werr != nil {
				t.Fatal(werr)
			}
			if err != nil {
				t.Logf("7z: %v (%s); ours: %d members, problems %q", err, lastLine(msg), len(ours), probs)
			}
			for _, l := range ours {
				if _, ok := theirs[fmt.Sprintf("%x", sha256.Sum256(l.data))]; !ok {
					t.Errorf("member %q (%d bytes): 7-Zip extracted no file with this content", l.path, len(l.data))
				}
			}
			if members < len(theirs) {
				t.Errorf("we give %d members, 7-Zip %d", members, len(theirs))
			}
		})
	}
}

func mustIdentify(t *testing.T, data []byte) string {
	f, ok := archive.Identify(data)
	if !ok {
		t.Fatalf("not identified")
	}
	return f
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
