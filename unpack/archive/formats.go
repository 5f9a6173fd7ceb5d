package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"strings"

	"github.com/bodgit/sevenzip"
	"github.com/klauspost/compress/gzip"
	kzip "github.com/klauspost/compress/zip"
	"github.com/klauspost/compress/zstd"
	"github.com/mholt/archives"
	"github.com/nwaples/rardecode/v2"
	"github.com/ulikunitz/xz/lzma"
)

// walkZip reads the central directory, as unzip, Windows Explorer and
// 7-Zip do.
// todo: a zip whose central directory is missing (truncated mail) could
// still be read from its local headers, as ClamAV does.
func walkZip(w *walker, r io.ReaderAt, size int64) error {
	zr, err := kzip.NewReader(r, size)
	if err != nil {
		w.problem("%s: zip: %v", corruptOrTruncated(err), err)
		return nil
	}
	// Per-reader decompressors: no shared state, no decoder goroutines
	// (a panic in one could not be recovered).
	zr.RegisterDecompressor(archives.ZipMethodZstd, func(r io.Reader) io.ReadCloser {
		d, err := zstd.NewReader(r, zstdOptions(w.lim)...)
		if err != nil {
			return errReadCloser{err}
		}
		return d.IOReadCloser()
	})
	zr.RegisterDecompressor(archives.ZipMethodBzip2, func(r io.Reader) io.ReadCloser {
		d, err := archives.Bz2{}.OpenReader(r)
		if err != nil {
			return errReadCloser{err}
		}
		return d
	})
	zr.RegisterDecompressor(archives.ZipMethodXz, func(r io.Reader) io.ReadCloser {
		d, err := archives.Xz{}.OpenReader(r)
		if err != nil {
			return errReadCloser{err}
		}
		return d
	})
	for _, f := range zr.File {
		m := Member{Name: f.Name, Size: int64(min(f.UncompressedSize64, 1<<62)), Encrypted: f.Flags&0x1 != 0 || f.Method == 99}
		if f.Mode().IsDir() || strings.HasSuffix(f.Name, "/") {
			if f.UncompressedSize64 == 0 && f.CompressedSize64 == 0 {
				continue
			}
			m.Problems = append(m.Problems, "ambiguous: directory entry with content")
		}
		// QUIRK: a member whose Unix mode says symlink is yielded with its
		// content: Windows ignores the Unix mode and extracts a file.
		if f.Mode()&fs.ModeSymlink != 0 {
			m.Problems = append(m.Problems, "ambiguous: symlink entry (a file on Windows)")
		}
		open := func() (io.Reader, error) { return f.Open() }
		switch f.Method {
		case kzip.Store, kzip.Deflate, archives.ZipMethodBzip2, archives.ZipMethodZstd, archives.ZipMethodXz:
		case zipMethodLZMA:
			open = func() (io.Reader, error) {
				raw, err := f.OpenRaw()
				if err != nil {
					return nil, err
				}
				d, err := zipLZMA(raw, f.Flags, int64(min(f.UncompressedSize64, 1<<62)), w.lim.MaxWindow)
				if err != nil {
					return nil, err
				}
				return &checkedReader{r: d, crc: crc32.NewIEEE(), want: f.CRC32, size: int64(min(f.UncompressedSize64, 1<<62))}, nil
			}
		case zipMethodImplode, zipMethodDeflate64:
			open = func() (io.Reader, error) {
				raw, err := f.OpenRaw()
				if err != nil {
					return nil, err
				}
				br := bufio.NewReader(raw)
				var d io.Reader
				if f.Method == zipMethodDeflate64 {
					d = newInflater(br, true)
				} else {
					d = newExploder(br, f.Flags, int64(min(f.UncompressedSize64, 1<<62)))
				}
				return &checkedReader{r: d, crc: crc32.NewIEEE(), want: f.CRC32, size: int64(min(f.UncompressedSize64, 1<<62))}, nil
			}
		default:
			// todo: PPMd (98), which 7-Zip writes.
			// The member is unscannable, never empty and clean.
			open = func() (io.Reader, error) {
				return nil, fmt.Errorf("%w: zip compression method %d", ErrUnsupported, f.Method)
			}
		}
		if err := w.yield(m, open, 0); err != nil {
			return err
		}
	}
	return nil
}

// Zip methods we decode ourselves (lz.go), or with ulikunitz/xz (LZMA).
const (
	zipMethodImplode   = 6
	zipMethodDeflate64 = 9
	zipMethodLZMA      = 14
)

// zipLZMA opens a zip member compressed with LZMA (APPNOTE 5.8.8): a
// version, the size of the properties (5), the properties (lc/lp/pb and
// the dictionary size), then the raw stream, ended by an end marker when
// flag bit 1 is set, else by the member's size.
func zipLZMA(r io.Reader, flags uint16, size, maxWindow int64) (io.Reader, error) {
	var h [9]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("LZMA header: %w", io.ErrUnexpectedEOF)
	}
	if binary.LittleEndian.Uint16(h[2:]) != 5 {
		return nil, fmt.Errorf("LZMA properties of %d bytes", binary.LittleEndian.Uint16(h[2:]))
	}
	if d := int64(binary.LittleEndian.Uint32(h[5:])); d > maxWindow {
		return nil, &windowError{d, maxWindow}
	}
	// The .lzma header the decoder reads: properties, then the size
	// (all ones when an end marker ends the stream).
	var hdr [13]byte
	copy(hdr[:], h[4:9])
	binary.LittleEndian.PutUint64(hdr[5:], uint64(size))
	if flags&2 != 0 {
		binary.LittleEndian.PutUint64(hdr[5:], ^uint64(0))
	}
	return lzma.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), r))
}

// checkedReader checks a decoded member against its declared size and
// CRC-32, as unzip does: a mismatch is an error (corrupt), so a member
// that does not decode as declared is unscannable.
type checkedReader struct {
	r    io.Reader
	crc  hash.Hash32
	want uint32
	size int64
	n    int64
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc.Write(p[:n])
	c.n += int64(n)
	if c.n > c.size {
		return n, fmt.Errorf("member longer than its declared %d bytes", c.size)
	}
	if err == io.EOF {
		if c.n != c.size {
			return n, fmt.Errorf("member of %d bytes, declared %d: %w", c.n, c.size, io.ErrUnexpectedEOF)
		}
		if c.crc.Sum32() != c.want {
			return n, fmt.Errorf("CRC-32 %08x, declared %08x", c.crc.Sum32(), c.want)
		}
	}
	return n, err
}

type errReadCloser struct{ err error }

func (e errReadCloser) Read([]byte) (int, error) { return 0, e.err }
func (e errReadCloser) Close() error             { return nil }

func walkTar(w *walker, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			w.problem("%s: tar: %v", corruptOrTruncated(err), err)
			return nil
		}
		switch h.Typeflag {
		case tar.TypeReg, '\x00', tar.TypeCont, tar.TypeGNUSparse: // '\x00': old regular file
		default:
			continue // directories, links, devices: no content
		}
		if err := w.yield(Member{Name: h.Name, Size: h.Size}, func() (io.Reader, error) { return tr, nil }, 0); err != nil {
			return err
		}
	}
}

func walk7z(w *walker, r io.ReaderAt, size int64) error {
	zr, err := sevenzip.NewReader(r, size)
	if err != nil {
		var re *sevenzip.ReadError
		if errors.As(err, &re) && re.Encrypted {
			// The names are encrypted too: one member stands for the lot.
			w.problem("encrypted: 7z headers are encrypted")
			return w.yield(Member{Name: "", Size: -1, Encrypted: true,
				Problems: []string{"encrypted: 7z headers are encrypted, member names unknown"}}, nil, 0)
		}
		if errors.Is(err, sevenzip.ErrBound) {
			// A header declaring more than our copy of the reader
			// allocates (fork/sevenzip/bounds.go).
			w.problem("limit: 7z: %v", err)
			return nil
		}
		w.problem("%s: 7z: %v", corruptOrTruncated(err), err)
		return nil
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		declared := int64(min(f.UncompressedSize, 1<<62))
		// A solid block is decoded from its start whatever is read of
		// it: charge the declared size (the decoder stops there).
		if err := w.charge(declared); err != nil {
			return err
		}
		m := Member{Name: f.Name, Size: declared}
		rc, err := f.Open()
		var re *sevenzip.ReadError
		if err != nil && errors.As(err, &re) && re.Encrypted {
			m.Encrypted = true
		}
		if err == nil {
			err = w.yield(m, func() (io.Reader, error) { return rc, nil }, declared)
			rc.Close()
		} else if m.Encrypted {
			err = w.yield(m, nil, declared)
		} else {
			err = w.yield(m, func() (io.Reader, error) { return nil, err }, declared)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func walkRar(w *walker, r *io.SectionReader) error {
	// QUIRK: rardecode v2.2.0 loops forever looking for a signature past
	// a false start (bufVolumeReader.findSig does not consume a buffer
	// without 'R'); we accept only a signature at offset 0, as Identify
	// does, so it never searches. RAR self-extractors are not opened.
	sig := make([]byte, 8)
	n, _ := r.ReadAt(sig, 0)
	if s := string(sig[:n]); !strings.HasPrefix(s, "Rar!\x1a\x07\x00") && !strings.HasPrefix(s, "Rar!\x1a\x07\x01\x00") {
		w.problem("corrupt: rar: no RAR signature at the start")
		return nil
	}
	rr, err := rardecode.NewReader(r, rardecode.MaxDictionarySize(w.lim.MaxWindow))
	if err != nil {
		rarProblem(w, err)
		return nil
	}
	for {
		h, err := rr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			rarProblem(w, err)
			return nil
		}
		if h.IsDir {
			continue
		}
		size := h.UnPackedSize
		if h.UnKnownSize {
			size = -1
		}
		m := Member{Name: h.Name, Size: size, Encrypted: h.Encrypted}
		// In a solid archive Next decodes what fn left unread: drain it
		// through the counting reader so that it meets the limits.
		if err := w.yieldDrain(m, func() (io.Reader, error) { return rr, nil }); err != nil {
			return err
		}
	}
}

func rarProblem(w *walker, err error) {
	switch {
	case errors.Is(err, rardecode.ErrArchiveEncrypted):
		w.problem("encrypted: rar headers are encrypted")
		_ = w.yield(Member{Size: -1, Encrypted: true,
			Problems: []string{"encrypted: rar headers are encrypted, member names unknown"}}, nil, 0)
	case errors.Is(err, rardecode.ErrMultiVolume), errors.Is(err, rardecode.ErrFileNameRequired):
		w.problem("truncated: rar: multi-volume archive continues in a volume we do not have")
	case errors.Is(err, rardecode.ErrDictionaryTooLarge):
		w.problem("limit: rar dictionary larger than %d bytes", w.lim.MaxWindow)
	default:
		w.problem("%s: rar: %v", corruptOrTruncated(err), err)
	}
}

func corruptOrTruncated(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "truncated"
	}
	return "corrupt"
}

// stream describes a single compressed stream format.
type stream struct {
	open func(w *walker, r io.Reader) (rc io.ReadCloser, name string, err error)
}

var streamOrder = []string{"gzip", "bzip2", "xz", "zstd", "lz4", "lzip", "lzma", "szdd", "compress", "snappy", "minlz", "zlib", "brotli"}

var streams = map[string]stream{
	"gzip": {func(_ *walker, r io.Reader) (io.ReadCloser, string, error) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, "", err
		}
		return zr, zr.Name, nil
	}},
	"bzip2":  {mholt(archives.Bz2{})},
	"xz":     {mholt(archives.Xz{})},
	"lz4":    {mholt(archives.Lz4{})},
	"snappy": {mholt(archives.Sz{})},
	"minlz":  {mholt(archives.MinLZ{})},
	"zlib":   {mholt(archives.Zlib{})},
	"brotli": {mholt(archives.Brotli{})},
	"zstd": {func(w *walker, r io.Reader) (io.ReadCloser, string, error) {
		return mholtOpen(archives.Zstd{DecoderOptions: zstdOptions(w.lim)}, r)
	}},
	"szdd":     {func(_ *walker, r io.Reader) (io.ReadCloser, string, error) { return newSZDD(r) }},
	"compress": {func(_ *walker, r io.Reader) (io.ReadCloser, string, error) { return newCompress(r) }},
	"lzma": {func(w *walker, r io.Reader) (io.ReadCloser, string, error) {
		br := &peekReader{r: r}
		h, _ := br.peek(5)
		if len(h) == 5 {
			if d := int64(binary.LittleEndian.Uint32(h[1:])); d > w.lim.MaxWindow {
				return nil, "", &windowError{d, w.lim.MaxWindow}
			}
		}
		lr, err := lzma.NewReader(br)
		if err != nil {
			return nil, "", err
		}
		return io.NopCloser(lr), "", nil
	}},
	"lzip": {func(w *walker, r io.Reader) (io.ReadCloser, string, error) {
		br := &peekReader{r: r}
		h, _ := br.peek(6)
		if len(h) == 6 {
			if d := lzipDictSize(h[5]); d > w.lim.MaxWindow {
				return nil, "", &windowError{d, w.lim.MaxWindow}
			}
		}
		return mholtOpen(archives.Lzip{}, br)
	}},
}

func mholt(d archives.Decompressor) func(*walker, io.Reader) (io.ReadCloser, string, error) {
	return func(_ *walker, r io.Reader) (io.ReadCloser, string, error) { return mholtOpen(d, r) }
}

func mholtOpen(d archives.Decompressor, r io.Reader) (io.ReadCloser, string, error) {
	rc, err := d.OpenReader(r)
	return rc, "", err
}

func zstdOptions(lim Limits) []zstd.DOption {
	return []zstd.DOption{
		zstd.WithDecoderConcurrency(1), // decode in the caller's goroutine
		zstd.WithDecoderMaxWindow(uint64(lim.MaxWindow)),
		zstd.WithDecoderMaxMemory(uint64(lim.MaxBytes) + 1),
		zstd.WithDecoderLowmem(true),
	}
}

type windowError struct{ got, max int64 }

func (e *windowError) Error() string {
	return fmt.Sprintf("decoder window of %d bytes exceeds %d", e.got, e.max)
}

// lzipDictSize decodes the coded dictionary size of an lzip header
// (lzip manual, "File format").
func lzipDictSize(b byte) int64 {
	base := int64(1) << (b & 0x1f)
	return base - (base/16)*int64(b>>5)
}

// countReader counts the compressed bytes a stream decoder consumed.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type peekReader struct {
	r   io.Reader
	buf []byte
}

func (p *peekReader) peek(n int) ([]byte, error) {
	for len(p.buf) < n {
		b := make([]byte, n-len(p.buf))
		k, err := p.r.Read(b)
		p.buf = append(p.buf, b[:k]...)
		if err != nil {
			return p.buf, err
		}
	}
	return p.buf[:n], nil
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}

func walkStream(w *walker, format string, r io.Reader) error {
	cr := &countReader{r: r}
	w.in = func() int64 { return cr.n }
	rc, name, err := streams[format].open(w, cr)
	if err != nil {
		var we *windowError
		if errors.As(err, &we) {
			w.problem("limit: %s: %v", format, err)
			return errStop
		}
		w.problem("%s: %s: %v", corruptOrTruncated(err), format, err)
		return nil
	}
	defer rc.Close()
	return w.yield(Member{Name: name, Size: -1}, func() (io.Reader, error) { return rc, nil }, 0)
}

// Identify names the archive or compressed-stream format of content that
// starts with head, by magic numbers only. It needs at least the first 512
// bytes to recognise tar; give it HeadSize bytes. ok is false for content
// that is not a format Walk opens (and for brotli, which has no magic).
func Identify(head []byte) (format string, ok bool) {
	has := func(off int, magic string) bool {
		return len(head) >= off+len(magic) && string(head[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "7z\xbc\xaf\x27\x1c"):
		return "7z", true
	case has(0, "Rar!\x1a\x07\x00"), has(0, "Rar!\x1a\x07\x01\x00"):
		return "rar", true
	case has(0, "PK\x03\x04"), has(0, "PK\x05\x06"), has(0, "PK\x07\x08PK\x03\x04"):
		return "zip", true
	case isCab(head):
		return "cab", true
	case isArj(head):
		return "arj", true
	case isLha(head):
		return "lha", true
	case isChm(head):
		return "chm", true
	case has(0, arMagic) && len(head) >= 68 && has(66, "`\n"):
		return "ar", true
	case has(0, "\xfd7zXZ\x00"):
		return "xz", true
	case has(0, "\x28\xb5\x2f\xfd"), len(head) >= 8 && head[0]&0xf0 == 0x50 && has(1, "\x2a\x4d\x18"):
		// A frame, or a skippable frame (RFC 8878 section 3.1.2) before one.
		return "zstd", true
	case isLzmaAlone(head):
		return "lzma", true
	case has(0, szddMagic+"A"):
		return "szdd", true
	case has(0, "\x1f\x9d") && len(head) >= 3 && head[2]&0x1f >= 9 && head[2]&0x1f <= 16 && head[2]&0x60 == 0:
		return "compress", true
	case has(0, "\x04\x22\x4d\x18"):
		return "lz4", true
	case has(0, "LZIP") && len(head) >= 5 && head[4] == 1:
		return "lzip", true
	case has(0, "BZh") && len(head) >= 10 && head[3] >= '1' && head[3] <= '9' &&
		(has(4, "1AY&SY") || has(4, "\x17rE8P\x90")):
		return "bzip2", true
	case has(0, "\x1f\x8b\x08"):
		return "gzip", true
	case has(0, "\xff\x06\x00\x00sNaPpY"):
		return "snappy", true
	case has(0, "\xff\x06\x00\x00MinLz"):
		return "minlz", true
	case isTar(head):
		return "tar", true
	case cpioKind(head) != "":
		return "cpio", true
	case isZlib(head):
		return "zlib", true
	}
	return "", false
}

// isTar recognises a ustar/GNU header by its magic, or an old (v7) header
// by its checksum.
func isTar(h []byte) bool {
	if len(h) < 512 {
		return false
	}
	if string(h[257:262]) == "ustar" {
		return true
	}
	// v7: the checksum field holds the sum of the header bytes with the
	// field itself counted as spaces.
	field := strings.Trim(string(h[148:156]), " \x00")
	if field == "" || h[0] == 0 {
		return false
	}
	var want int64
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		want = want*8 + int64(c-'0')
	}
	var sum int64
	for i, c := range h[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want
}

// isLzmaAlone recognises the header of the legacy .lzma format of LZMA
// Utils and xz --format=lzma: the properties byte that every encoder
// writes (lc=3, lp=0, pb=2), a dictionary size of 2^n or 2^n+2^(n-1),
// and an uncompressed size that is unknown (all ones) or plausible.
func isLzmaAlone(h []byte) bool {
	if len(h) < 13 || h[0] != 0x5d {
		return false
	}
	d := binary.LittleEndian.Uint32(h[1:])
	if d < 1<<12 || d > 3<<29 {
		return false
	}
	if d&(d-1) != 0 && (d%3 != 0 || (d/3)&(d/3-1) != 0) {
		return false
	}
	size := binary.LittleEndian.Uint64(h[5:])
	return size == ^uint64(0) || size < 1<<40
}

// isZlib accepts a valid RFC 1950 header only when what follows decodes:
// two bytes alone match too much text.
func isZlib(h []byte) bool {
	if len(h) < 8 || h[0]&0x0f != 8 || h[0]>>4 > 7 || h[1]&0x20 != 0 || (uint16(h[0])<<8|uint16(h[1]))%31 != 0 {
		return false
	}
	rc, err := archives.Zlib{}.OpenReader(bytes.NewReader(h))
	if err != nil {
		return false
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	if err == nil {
		return n > 0 // the whole stream decoded
	}
	return errors.Is(err, io.ErrUnexpectedEOF) && n >= 64
}
