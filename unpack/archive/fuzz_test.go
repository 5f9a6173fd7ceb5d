package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mholt/archives"
)

// FuzzWalk identifies and walks arbitrary bytes under small limits: no
// panic escapes, no error, content within the limits. Seeded from the
// small samples in testdata (a few KB: the 36 KB 7z samples make every
// mutation slow and belong to the ordinary tests) and small archives made
// here.
func FuzzWalk(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "samples", "*.*"))
	more, _ := filepath.Glob(filepath.Join("testdata", "containers", "*"))
	seeds = append(seeds, more...)
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 4<<10 {
			f.Add(b)
		}
	}
	small := []byte("hello, hello, hello, world\n")
	f.Add(mkZip(f, map[string][]byte{"a.txt": small, "b/": nil}, zip.Deflate))
	f.Add(mkTar(f, map[string][]byte{"a.txt": small}))
	f.Add(gzipNamed(f, "a.txt", small))
	for _, c := range []archives.Compressor{archives.Bz2{}, archives.Xz{}, archives.Zstd{}, archives.Lz4{}, archives.Lzip{}, archives.Sz{}, archives.Zlib{}} {
		f.Add(compress(f, c, small))
	}
	for _, b := range hostile7z() {
		if len(b) <= 4<<10 {
			f.Add(b)
		}
	}
	lim := Limits{MaxMembers: 50, MaxBytes: 256 << 10, MaxWindow: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		format, ok := Identify(b)
		if !ok {
			return
		}
		walkBounded(t, format, b, lim)
	})
}

// fuzzFormat walks arbitrary bytes as one format (no identification, so
// that mutations that break the magic still reach the reader), seeded
// from testdata/containers files whose name ends in ext.
func fuzzFormat(f *testing.F, format, ext string, extra ...[]byte) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "containers", "*"+ext))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range extra {
		f.Add(b)
	}
	lim := Limits{MaxMembers: 50, MaxBytes: 256 << 10, MaxWindow: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		walkBounded(t, format, b, lim)
	})
}

func FuzzCpio(f *testing.F) { fuzzFormat(f, "cpio", ".cpio") }

// FuzzLZ feeds arbitrary bytes to the deflate64, deflate and implode
// decoders of lz.go: no panic, output bounded, and in deflate mode the
// same output as compress/flate wherever compress/flate succeeds.
func FuzzLZ(f *testing.F) {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(bytes.Repeat([]byte("hello, deflate, hello. "), 100))
	fw.Close()
	f.Add(b.Bytes(), uint8(0))
	f.Add(b.Bytes(), uint8(1))
	f.Add([]byte{3, 0xf5, 0xf5, 0xf5, 0xf5, 3, 0xf5, 0xf5, 0xf5, 0xf5, 0xff, 0x01, 0x42}, uint8(2))
	f.Add([]byte{0, 0x05, 3, 0xf5, 0xf5, 0xf5, 0xf5, 3, 0xf5, 0xf5, 0xf5, 0xf5, 0xff, 0x01, 0x42}, uint8(6))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		const most = 1 << 20
		var r io.Reader
		switch mode % 3 {
		case 0:
			r = newInflater(bytes.NewReader(data), false)
		case 1:
			r = newInflater(bytes.NewReader(data), true)
		default:
			r = newExploder(bytes.NewReader(data), uint16(mode>>2)&6, most)
		}
		got, err := io.ReadAll(io.LimitReader(r, most+1))
		if len(got) > most {
			return // a stream may expand: the walker's limits cut it
		}
		if mode%3 == 0 {
			want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(data)), most+1))
			if werr == nil && len(want) <= most && (err != nil || !bytes.Equal(got, want)) {
				t.Fatalf("compress/flate decodes %d bytes, we %d (err %v)", len(want), len(got), err)
			}
		}
	})
}

func FuzzZip(f *testing.F) { fuzzFormat(f, "zip", ".zip") }

func FuzzCab(f *testing.F) { fuzzFormat(f, "cab", ".cab") }

func FuzzArj(f *testing.F) { fuzzFormat(f, "arj", ".arj") }

func FuzzSZDD(f *testing.F) {
	fuzzFormat(f, "szdd", ".szdd", []byte("SZDD\x88\xf0\x27\x33A_\x20\x00\x00\x00\xffhello, w\x00\xf0\xff\x03orld"))
}

func FuzzLha(f *testing.F) { fuzzFormat(f, "lha", ".lzh") }

func FuzzCompress(f *testing.F) { fuzzFormat(f, "compress", ".Z") }

func FuzzAr(f *testing.F) { fuzzFormat(f, "ar", ".a") }

// FuzzChm is seeded from the shared corpus's CHM when it is there (no
// CHM is kept in testdata: the only one holds ClamAV's test file).
func FuzzChm(f *testing.F) {
	var extra [][]byte
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "corpus", "attachments", "archives", "clamav", "clam.chm")); err == nil {
		extra = append(extra, b)
	}
	fuzzFormat(f, "chm", ".chm", extra...)
}

// walkBounded walks b as format, reading every member: the walk must end
// without an error and read no more than lim.MaxBytes in all.
func walkBounded(t *testing.T, format string, b []byte, lim Limits) {
	t.Helper()
	var total int64
	_, err := Walk(context.Background(), format, bytes.NewReader(b), int64(len(b)), lim, func(m Member, c io.Reader) error {
		n, _ := io.Copy(io.Discard, c)
		total += n
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if total > lim.MaxBytes {
		t.Fatalf("%d bytes past MaxBytes", total)
	}
}
