package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	kzip "github.com/klauspost/compress/zip"
	"github.com/mholt/archives"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// entry is one member seen by collect.
type entry struct {
	name      string
	data      []byte
	encrypted bool
	problems  []string
	readErr   error
}

// collect walks data and keeps every member's content (small inputs only).
func collect(t testing.TB, format string, data []byte, lim Limits) ([]entry, []string) {
	t.Helper()
	var got []entry
	probs, err := Walk(context.Background(), format, bytes.NewReader(data), int64(len(data)), lim, func(m Member, c io.Reader) error {
		b, rerr := io.ReadAll(c)
		got = append(got, entry{m.Name, b, m.Encrypted, m.Problems, rerr})
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%s): %v", format, err)
	}
	return got, probs
}

func mkZip(t testing.TB, files map[string][]byte, method uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := kzip.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if method == archives.ZipMethodXz {
			// mholt's registered xz compressor writes the xz header
			// before the zip local header: compress first, store raw.
			c := compress(t, archives.Xz{}, files[n])
			w, err := zw.CreateRaw(&kzip.FileHeader{Name: n, Method: method, CRC32: crc32.ChecksumIEEE(files[n]),
				CompressedSize64: uint64(len(c)), UncompressedSize64: uint64(len(files[n]))})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(c)
			continue
		}
		w, err := zw.CreateHeader(&kzip.FileHeader{Name: n, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mkTar(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	for n, d := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Size: int64(len(d)), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(d)
	}
	tw.Close()
	return b.Bytes()
}

func compress(t testing.TB, c archives.Compressor, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := c.OpenWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipNamed(t testing.TB, name string, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Name = name
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

var payload = []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200))

// TestRoundTrip makes each format with a real encoder, then checks that
// Identify names it and Walk returns the content.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		format string
		data   []byte
		name   string
	}{
		{"zip", mkZip(t, map[string][]byte{"a/../../evil\x1b[31m.txt": payload}, zip.Deflate), "a/../../evil\x1b[31m.txt"},
		{"zip", mkZip(t, map[string][]byte{"stored.bin": payload}, zip.Store), "stored.bin"},
		{"zip", mkZip(t, map[string][]byte{"bz.txt": payload}, archives.ZipMethodBzip2), "bz.txt"},
		{"zip", mkZip(t, map[string][]byte{"zst.txt": payload}, archives.ZipMethodZstd), "zst.txt"},
		{"zip", mkZip(t, map[string][]byte{"xz.txt": payload}, archives.ZipMethodXz), "xz.txt"},
		{"tar", mkTar(t, map[string][]byte{"x.txt": payload}), "x.txt"},
		{"gzip", gzipNamed(t, "inner.exe", payload), "inner.exe"},
		{"bzip2", compress(t, archives.Bz2{}, payload), ""},
		{"xz", compress(t, archives.Xz{}, payload), ""},
		{"zstd", compress(t, archives.Zstd{}, payload), ""},
		{"lz4", compress(t, archives.Lz4{}, payload), ""},
		{"lzip", compress(t, archives.Lzip{}, payload), ""},
		{"snappy", compress(t, archives.Sz{}, payload), ""},
		{"minlz", compress(t, archives.MinLZ{}, payload), ""},
		{"zlib", compress(t, archives.Zlib{}, payload), ""},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.name, func(t *testing.T) {
			if f, ok := Identify(tt.data); !ok || f != tt.format {
				t.Errorf("Identify = %q, %v; want %q", f, ok, tt.format)
			}
			got, probs := collect(t, tt.format, tt.data, Limits{})
			if len(probs) != 0 {
				t.Errorf("problems: %q", probs)
			}
			if len(got) != 1 || got[0].name != tt.name || !bytes.Equal(got[0].data, payload) || got[0].readErr != nil {
				t.Fatalf("got %d members %+v", len(got), got)
			}
		})
	}
	// brotli has no magic: Walk opens it, Identify does not claim it.
	br := compress(t, archives.Brotli{}, payload)
	got, _ := collect(t, "brotli", br, Limits{})
	if len(got) != 1 || !bytes.Equal(got[0].data, payload) {
		t.Errorf("brotli: %+v", got)
	}
}

func TestIdentifyNegative(t *testing.T) {
	for _, s := range []string{
		"", "PK", "x^ looks like a zlib header but is text, and long enough to be tried",
		"x\x9c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "BZh9 not bzip2", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"%PDF-1.4\n", "From: a@b\r\nSubject: x\r\n\r\nbody\r\n", strings.Repeat("\x00", 1024),
		"Rar!\x1a\x07\x02", "LZIP\x00",
	} {
		if f, ok := Identify([]byte(s)); ok {
			t.Errorf("Identify(%q) = %q", s, f)
		}
	}
	// An old v7 tar header (no ustar magic) is recognised by its checksum.
	b := mkTar(t, map[string][]byte{"f": payload})
	h := slices.Clone(b[1024:1536]) // the regular file's header
	copy(h[257:265], make([]byte, 8))
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	if f, ok := Identify(h); f != "tar" || !ok {
		t.Errorf("v7 tar: %q %v", f, ok)
	}
	h[0] ^= 1
	if _, ok := Identify(h); ok {
		t.Errorf("v7 tar with a bad checksum identified")
	}
}

func TestTruncatedAndCorrupt(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	z := mkZip(t, map[string][]byte{"a": payload, "b": big}, zip.Deflate)
	// Truncated zip: the central directory is gone.
	_, probs := collect(t, "zip", z[:len(z)/2], Limits{})
	if len(probs) == 0 || !strings.HasPrefix(probs[0], "corrupt: zip") {
		t.Errorf("truncated zip: %q", probs)
	}
	// A flipped byte in a member's data: a checksum error on that member.
	c := slices.Clone(z)
	i := bytes.Index(c, []byte("a")) + 40
	c[i] ^= 0xff
	got, probs := collect(t, "zip", c, Limits{})
	if len(got) != 2 || got[0].readErr == nil || !errors.Is(got[0].readErr, ErrCorrupt) || len(probs) == 0 {
		t.Errorf("corrupt zip member: %+v %q", got, probs)
	}
	// Truncated tar: the member read so far, and a problem.
	tr := mkTar(t, map[string][]byte{"big": big})
	got, probs = collect(t, "tar", tr[:len(tr)-20000], Limits{})
	if len(got) != 1 || got[0].readErr == nil || len(probs) == 0 || !strings.HasPrefix(probs[0], "truncated:") {
		t.Errorf("truncated tar: %d %q", len(got), probs)
	}
	// Truncated gzip.
	gz := gzipNamed(t, "n", big)
	got, probs = collect(t, "gzip", gz[:len(gz)-100], Limits{})
	if len(got) != 1 || got[0].readErr == nil || len(probs) == 0 {
		t.Errorf("truncated gzip: %q", probs)
	}
	// Garbage that claims to be each format: problems, no error, no panic.
	for _, f := range Formats() {
		collect(t, f, []byte("not an archive at all, just text"), Limits{})
	}
}

func TestErrors(t *testing.T) {
	z := mkZip(t, map[string][]byte{"a": payload, "b": payload}, zip.Deflate)
	mine := errors.New("mine")
	n := 0
	_, err := Walk(context.Background(), "zip", bytes.NewReader(z), int64(len(z)), Limits{}, func(Member, io.Reader) error {
		n++
		return mine
	})
	if !errors.Is(err, mine) || n != 1 {
		t.Errorf("fn error: %v after %d", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Walk(ctx, "zip", bytes.NewReader(z), int64(len(z)), Limits{}, func(Member, io.Reader) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// fn's panics are not swallowed.
	func() {
		defer func() {
			if v := recover(); v != "fn" {
				t.Errorf("recovered %v", v)
			}
		}()
		Walk(context.Background(), "zip", bytes.NewReader(z), int64(len(z)), Limits{}, func(Member, io.Reader) error { panic("fn") })
	}()
	// Passing the reader's error on is not fn's own error.
	c := slices.Clone(z)
	c[bytes.Index(c, []byte("a"))+40] ^= 0xff
	probs, err := Walk(context.Background(), "zip", bytes.NewReader(c), int64(len(c)), Limits{}, func(_ Member, r io.Reader) error {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return fmt.Errorf("hashing: %w", err)
		}
		return nil
	})
	if err != nil || len(probs) == 0 {
		t.Errorf("content error passed on: %v %q", err, probs)
	}
}

func TestMaxMembers(t *testing.T) {
	files := map[string][]byte{}
	for i := range 10 {
		files[fmt.Sprint(i)] = []byte{byte(i)}
	}
	got, probs := collect(t, "zip", mkZip(t, files, zip.Store), Limits{MaxMembers: 3})
	if len(got) != 3 || len(probs) != 1 || !strings.HasPrefix(probs[0], "limit: more than 3 members") {
		t.Errorf("%d members, %q", len(got), probs)
	}
}

// zeroDeflate returns a raw deflate stream of n MiB of zeros, made by
// repeating the flushed compression of one MiB (non-final blocks), and
// the CRC-32 of the content.
func zeroDeflate(t testing.TB, mib int) ([]byte, uint32) {
	t.Helper()
	var one bytes.Buffer
	fw, _ := flate.NewWriter(&one, flate.BestCompression)
	zero := make([]byte, 1<<20)
	fw.Write(zero)
	fw.Flush()
	chunk := one.Bytes()
	var out bytes.Buffer
	crc := uint32(0)
	for range mib {
		out.Write(chunk)
		crc = crc32.Update(crc, crc32.IEEETable, zero)
	}
	out.Write([]byte{0x03, 0x00}) // final empty fixed-Huffman block
	return out.Bytes(), crc
}

// bombZip writes a zip whose n central directory entries all point at one
// local file (a "flat" bomb, after Fifield's overlapping-files construction).
func bombZip(t testing.TB, n int, raw []byte, crc uint32, usize uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	name := []byte("kernel")
	// local header
	b.Write([]byte("PK\x03\x04"))
	binary.Write(&b, le, []uint16{20, 0, 8, 0, 0})
	binary.Write(&b, le, []uint32{crc, uint32(len(raw)), uint32(min(usize, 0xffffffff))})
	binary.Write(&b, le, []uint16{uint16(len(name)), 0})
	b.Write(name)
	b.Write(raw)
	cdStart := b.Len()
	for i := range n {
		nm := []byte(fmt.Sprintf("f%06d", i))
		b.Write([]byte("PK\x01\x02"))
		binary.Write(&b, le, []uint16{20, 20, 0, 8, 0, 0})
		binary.Write(&b, le, []uint32{crc, uint32(len(raw)), uint32(min(usize, 0xffffffff))})
		binary.Write(&b, le, []uint16{uint16(len(nm)), 0, 0, 0, 0})
		binary.Write(&b, le, []uint32{0, 0}) // attrs, offset 0
		b.Write(nm)
	}
	cdLen := b.Len() - cdStart
	b.Write([]byte("PK\x05\x06"))
	binary.Write(&b, le, []uint16{0, 0, uint16(n), uint16(n)})
	binary.Write(&b, le, []uint32{uint32(cdLen), uint32(cdStart)})
	binary.Write(&b, le, uint16(0))
	return b.Bytes()
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// drain walks data, reading every member through, and returns the bytes read.
func drain(t testing.TB, format string, data []byte, lim Limits) (int64, []string) {
	t.Helper()
	var n int64
	probs, err := Walk(context.Background(), format, bytes.NewReader(data), int64(len(data)), lim, func(_ Member, c io.Reader) error {
		k, _ := io.Copy(io.Discard, c)
		n += k
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, probs
}

func TestFlatBomb(t *testing.T) {
	raw, crc := zeroDeflate(t, 1024) // 1 GiB of zeros in about 1 MiB
	z := bombZip(t, 1000, raw, crc, 1<<30)
	t.Logf("flat bomb: %d bytes declaring 1000 GiB", len(z))
	start := time.Now()
	n, probs := drain(t, "zip", z, Limits{})
	t.Logf("read %d bytes in %v; problems %q", n, time.Since(start), probs)
	if n > DefaultMaxBytes || len(probs) != 1 || !strings.HasPrefix(probs[0], "limit:") {
		t.Errorf("flat bomb not stopped: %d bytes, %q", n, probs)
	}
	// A ratio bomb below MaxBytes: 100 MiB of zeros.
	raw, crc = zeroDeflate(t, 100)
	z = bombZip(t, 1, raw, crc, 100<<20)
	n, probs = drain(t, "zip", z, Limits{})
	if n > int64(DefaultMaxRatio*len(z)) || len(probs) != 1 || !strings.Contains(probs[0], "ratio") {
		t.Errorf("ratio bomb: %d bytes, %q", n, probs)
	}
}

// TestNestedBomb builds a 42.zip-like nest (16 zips of 16 zips ... of 1 GiB
// of zeros) and walks it recursively, as the unpack stage does, with one
// budget for the whole tree.
func TestNestedBomb(t *testing.T) {
	raw, crc := zeroDeflate(t, 1024)
	level := bombZip(t, 1, raw, crc, 1<<30)
	for range 4 {
		files := map[string][]byte{}
		for i := range 16 {
			files[fmt.Sprintf("lib %d.zip", i)] = level
		}
		level = mkZip(t, files, zip.Deflate)
	}
	t.Logf("nested bomb: %d bytes, 16^4 leaves of 1 GiB", len(level))
	before := heapInuse()
	start := time.Now()
	// One budget for the tree, as the unpack stage keeps: each Walk gets
	// what is left, and a member is not opened once it is spent.
	budget := int64(DefaultMaxBytes)
	var read int64
	var probs []string
	var leaves int
	var rec func(data []byte, depth int)
	rec = func(data []byte, depth int) {
		f, ok := Identify(data)
		if !ok || budget <= 0 {
			return
		}
		p, err := Walk(context.Background(), f, bytes.NewReader(data), int64(len(data)), Limits{MaxBytes: budget}, func(_ Member, c io.Reader) error {
			if budget <= 0 {
				return nil
			}
			head := make([]byte, HeadSize)
			k, _ := io.ReadFull(c, head)
			budget -= int64(k)
			read += int64(k)
			if _, ok := Identify(head[:k]); ok && depth < 10 {
				// small inner archives are kept to recurse
				rest, _ := io.ReadAll(io.LimitReader(c, 16<<20))
				budget -= int64(len(rest))
				read += int64(len(rest))
				rec(append(head[:k], rest...), depth+1)
				return nil
			}
			leaves++
			k2, _ := io.Copy(io.Discard, c)
			budget -= k2
			read += k2
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		probs = append(probs, p...)
	}
	rec(level, 0)
	t.Logf("nested bomb: %v, %d leaves read, %d bytes read in all, heap %d MiB more, problems %q", time.Since(start), leaves, read, (int64(heapInuse())-int64(before))>>20, probs)
	// Each Walk stays within what was left when it began; nested walks
	// overlap, so the whole tree stays within a small multiple.
	if read > 2*DefaultMaxBytes || len(probs) == 0 || !strings.HasPrefix(probs[0], "limit:") {
		t.Errorf("nested bomb not stopped: budget %d, %q", budget, probs)
	}
}

func TestManyEntries(t *testing.T) {
	const n = 100000
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := range n {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("d/%06d.txt", i), Method: zip.Store})
		w.Write([]byte("x"))
	}
	zw.Close()
	data := b.Bytes()
	var mem runtime.MemStats
	before := heapInuse()
	start := time.Now()
	var count int
	var peak uint64
	probs, err := Walk(context.Background(), "zip", bytes.NewReader(data), int64(len(data)), Limits{MaxMembers: 2 * n}, func(_ Member, c io.Reader) error {
		count++
		io.Copy(io.Discard, c)
		if count%10000 == 0 {
			runtime.ReadMemStats(&mem)
			peak = max(peak, mem.HeapInuse)
		}
		return nil
	})
	el := time.Since(start)
	if err != nil || count != n || len(probs) != 0 {
		t.Fatalf("count %d err %v probs %q", count, err, probs)
	}
	t.Logf("zip of %d entries (%d bytes): %v, peak heap in use %d MiB above %d MiB", n, len(data), el, (int64(peak)-int64(before))>>20, before>>20)
	// With the default limit the walk stops at 10 000.
	got, probs := drain(t, "zip", data, Limits{})
	if got != DefaultMaxMembers || len(probs) != 1 {
		t.Errorf("default limit: %d, %q", got, probs)
	}
	// The same as a tar.
	b.Reset()
	tw := tar.NewWriter(&b)
	for i := range n {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%06d", i), Size: 1, Mode: 0o644})
		tw.Write([]byte("x"))
	}
	tw.Close()
	start = time.Now()
	got, probs = drain(t, "tar", b.Bytes(), Limits{MaxMembers: 2 * n})
	t.Logf("tar of %d entries (%d bytes): %v", n, b.Len(), time.Since(start))
	if got != n || len(probs) != 0 {
		t.Errorf("tar: %d %q", got, probs)
	}
}

// TestTestdata walks the small samples under testdata/samples (see
// MANIFEST.tsv there): encrypted members, rar and 7z.
func TestTestdata(t *testing.T) {
	tests := []struct {
		file      string
		members   int
		encrypted int
		probs     string
	}{
		{"test_encrypted.zip", 1, 1, ""},
		{"aes7z.7z", 1, 1, ""}, // encrypted headers: one member stands for all
		{"copy.7z", 10, 0, ""},
		{"test_read_format_rar.rar", 3, 0, ""},
		{"test_read_format_rar5_encrypted.rar", 4, 2, ""},
		{"test_read_format_rar5_stored.rar", 1, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "samples", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			f, ok := Identify(data)
			if !ok {
				t.Fatalf("not identified")
			}
			got, probs := collect(t, f, data, Limits{})
			enc := 0
			for _, e := range got {
				if e.encrypted {
					enc++
					if len(e.data) != 0 {
						t.Errorf("encrypted member %q has content", e.name)
					}
				}
				t.Logf("%s %q encrypted=%v %d bytes %q err=%v", f, e.name, e.encrypted, len(e.data), e.problems, e.readErr)
			}
			t.Logf("problems %q", probs)
			if len(got) != tt.members || enc != tt.encrypted {
				t.Errorf("%d members (%d encrypted), want %d (%d)", len(got), enc, tt.members, tt.encrypted)
			}
		})
	}
}

func sha(b []byte) string { s := sha256.Sum256(b); return fmt.Sprintf("%x", s) }

// found is one leaf reached by walkTree.
type found struct {
	path string
	sum  string
	size int
}

// walkTree identifies data and walks it recursively (as the unpack stage
// will), returning every leaf, the formats seen and the problems.
func walkTree(ctx context.Context, t testing.TB, data []byte, path string, depth int) (leaves []found, formats []string, probs []string) {
	f, ok := Identify(data)
	if !ok || depth > 8 {
		return []found{{path, sha(data), len(data)}}, nil, nil
	}
	formats = append(formats, f)
	p, err := Walk(ctx, f, bytes.NewReader(data), int64(len(data)), Limits{MaxBytes: 64 << 20}, func(m Member, c io.Reader) error {
		probs = append(probs, m.Problems...)
		b, _ := io.ReadAll(c)
		l, fs, ps := walkTree(ctx, t, b, path+"/"+fmt.Sprintf("%q", m.Name), depth+1)
		leaves = append(leaves, l...)
		formats = append(formats, fs...)
		probs = append(probs, ps...)
		return nil
	})
	if err != nil {
		t.Errorf("%s: %v", path, err)
	}
	return leaves, formats, append(probs, p...)
}

// TestClamavTestfiles checks, for every file of Debian's clamav-testfiles
// and the corpus's ClamAV archive samples, whether clam.exe is found inside
// with the right SHA-256, and logs the table of what is opened.
func TestClamavTestfiles(t *testing.T) {
	const dir = "/usr/share/clamav-testfiles"
	clam, err := os.ReadFile(filepath.Join(dir, "clam.exe"))
	if err != nil {
		testenv.Missing(t, "Debian package clamav-testfiles is not installed (apt-get install clamav-testfiles)")
	}
	want := sha(clam)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if c := testenv.Corpus(t); c != "" {
		more, _ := filepath.Glob(filepath.Join(c, "attachments/archives/clamav/*.rar"))
		files = append(files, more...)
		more, _ = filepath.Glob(filepath.Join(c, "attachments/archives/clamav/*.zip"))
		files = append(files, more...)
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-34s %-22s %s\n", "file", "formats opened", "clam.exe found / why not")
	opened := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(file)
		if strings.Contains(file, "/corpus/") {
			name = "corpus:" + name
		}
		leaves, formats, probs := walkTree(context.Background(), t, data, name, 0)
		hit := false
		for _, l := range leaves {
			if l.sum == want && len(formats) > 0 {
				hit = true
			}
		}
		status := ""
		switch {
		case hit:
			status = "FOUND"
			opened++
		case len(formats) > 0:
			status = fmt.Sprintf("NOT FOUND, problems %q", probs)
		default:
			status = notOpenedWhy(name, data, want)
		}
		fmt.Fprintf(&table, "%-34s %-22s %s\n", name, strings.Join(formats, ">"), status)
		// Every format Walk opens must give up its clam.exe.
		if len(formats) > 0 && !hit && !expectedMiss[strings.TrimPrefix(name, "corpus:")] {
			t.Errorf("%s: opened as %v but clam.exe not found; problems %q", name, formats, probs)
		}
	}
	t.Logf("clam.exe (%s) in the ClamAV test files, %d opened:\n%s", want[:16], opened, table.String())
	if opened < 8 {
		t.Errorf("only %d files opened", opened)
	}
}

// expectedMiss lists files that are opened but legitimately hold no
// clam.exe at this level.
var expectedMiss = map[string]bool{
	"clam_cache_emax.tgz": true, // a tar of ClamAV cache test files, not clam.exe
	"v1rusv1rus.7z.zip":   true, // a zip holding a 7z holding a sample that is not clam.exe
}

// notOpenedWhy explains a file that Identify does not claim.
func notOpenedWhy(name string, data []byte, clam string) string {
	switch {
	case sha(data) == clam:
		return "plain clam.exe"
	case bytes.HasPrefix(data, []byte("MZ")):
		if strings.Contains(name, "IScab") || strings.Contains(name, "ISmsi") || strings.Contains(name, "nsis") || strings.Contains(name, "ea0") {
			return "installer/SFX executable: not an archive format mholt/archives knows"
		}
		return "packed PE executable (packer, not an archive): an engine's job"
	}
	why := map[string]string{
		".arj": "ARJ: not in mholt/archives", ".cab": "Microsoft CAB: not in mholt/archives",
		".cpio": "cpio: not in mholt/archives", ".chm": "CHM: not in mholt/archives",
		".szdd": "SZDD (MS compress.exe): not in mholt/archives", ".binhex": "BinHex: a text encoding, not an archive (todo: unpack stage)",
		".sis": "Symbian SIS: not in mholt/archives", ".iso": "ISO 9660: not in mholt/archives",
		".mail": "a mail message: the MIME walk's job", ".tnef": "TNEF: package unpack/tnef",
		".base64": "a mail message: the MIME walk's job", ".uu": "a mail message: the MIME walk's job",
		".pdf": "PDF: a document, an engine's job", ".doc": "OLE2: a document, an engine's job",
		".ppt": "OLE2: a document, an engine's job", ".rtf": "RTF: a document, an engine's job",
		".html": "HTML: a document, an engine's job", ".xls": "OLE2: a document, an engine's job",
		".msi": "OLE2 (MSI): not in mholt/archives", ".pe": "PE", ".exe": "PE executable",
		".ea05": "AutoIt", ".ole": "OLE2", ".7z": "?", ".lha": "LHA: not in mholt/archives",
		".lzh": "LHA: not in mholt/archives", ".bz2": "?", ".zip": "?",
	}
	for ext, w := range why {
		if strings.HasSuffix(strings.ToLower(name), ext) {
			return w
		}
	}
	return "not identified"
}

// TestCorpus walks every archive sample of the shared corpus recursively:
// no panic, no error, and a log of what each gives.
func TestCorpus(t *testing.T) {
	dir := filepath.Join(testenv.Corpus(t), "attachments", "archives")
	var log strings.Builder
	n, opened := 0, 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n++
		// The cost of a sample is bounded in CPU time, the process's
		// own (from getrusage; the tests of this package do not run in
		// parallel), not in wall time, which a loaded machine stretches
		// (libarchive's recursive gzip, a quine that grows sevenfold a
		// level, reads 64 MiB at each of its deeper levels: 1 s of CPU,
		// 5.7 s of wall time in a busy CI run). The deadline only turns
		// a walk that never ends into a failure of this test instead of
		// the whole run's timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cpu0, start := cpuTime(), time.Now()
		leaves, formats, probs := walkTree(ctx, t, data, "", 0)
		cpu, el := cpuTime()-cpu0, time.Since(start)
		if ctx.Err() != nil {
			t.Errorf("%s: walk not finished after %v", p, el)
		}
		cancel()
		if cpu > 20*time.Second {
			t.Errorf("%s took %v of CPU", p, cpu)
		}
		if len(formats) > 0 {
			opened++
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&log, "%-60s %-14s %3d leaves %6v cpu %q\n", rel, strings.Join(formats, ">"), len(leaves), cpu.Round(time.Millisecond), probs)
		return nil
	})
	t.Logf("%d files, %d opened:\n%s", n, opened, log.String())
	if n == 0 {
		t.Fatal("no archive samples")
	}
}
