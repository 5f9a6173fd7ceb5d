package archive

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// Microsoft Cabinet (MS-CAB, [MS-CAB] "Cabinet File Format"), which
// Windows Explorer, expand.exe, cabextract, 7-Zip and libarchive open.
// Folders stored (no compression), MSZIP and LZX (lzx.go) are decoded;
// Quantum is not, and its members are unscannable.

const (
	cabFlagPrev    = 1
	cabFlagNext    = 2
	cabFlagReserve = 4
)

type cabFolder struct {
	start   int64 // first CFDATA block
	blocks  int
	method  int  // typeCompress & 0xf: 0 none, 1 MSZIP, 2 Quantum, 3 LZX
	lzxBits uint // LZX: the window is 2^lzxBits ((typeCompress >> 8) & 0x1f)
	dataRes int  // reserved bytes in each CFDATA
}

type cabFile struct {
	name   string
	size   int64
	offset int64 // in the folder's uncompressed data
	folder int
}

func isCab(h []byte) bool {
	return len(h) >= 36 && string(h[:8]) == "MSCF\x00\x00\x00\x00"
}

func walkCab(w *walker, r io.ReaderAt, size int64) error {
	sr := io.NewSectionReader(r, 0, size)
	var hdr [36]byte
	if _, err := io.ReadFull(sr, hdr[:]); err != nil {
		w.problem("truncated: cab: header")
		return nil
	}
	le := binary.LittleEndian
	coffFiles := int64(le.Uint32(hdr[16:]))
	nFolders, nFiles, flags := int(le.Uint16(hdr[26:])), int(le.Uint16(hdr[28:])), le.Uint16(hdr[30:])
	folderRes, dataRes := 0, 0
	br := &byteReaderAt{r: r, off: 36, size: size}
	if flags&cabFlagReserve != 0 {
		hr := int(br.u16())
		folderRes, dataRes = int(br.u8()), int(br.u8())
		br.off += int64(hr)
	}
	if flags&cabFlagPrev != 0 {
		br.cstring()
		br.cstring()
	}
	if flags&cabFlagNext != 0 {
		br.cstring()
		br.cstring()
	}
	folders := make([]cabFolder, nFolders)
	for i := range folders {
		start, blocks, tc := int64(br.u32()), int(br.u16()), br.u16()
		folders[i] = cabFolder{start: start, blocks: blocks, method: int(tc & 0xf), lzxBits: uint(tc>>8) & 0x1f, dataRes: dataRes}
		br.off += int64(folderRes)
	}
	br.off = coffFiles
	files := make([]cabFile, 0, nFiles)
	for range nFiles {
		f := cabFile{size: int64(br.u32()), offset: int64(br.u32()), folder: int(br.u16())}
		br.off += 6 // date, time, attributes
		f.name = br.cstring()
		files = append(files, f)
	}
	if br.err != nil {
		w.problem("truncated: cab: headers end past the file")
		if len(files) == 0 {
			return nil
		}
	}
	// Members in folder order, each folder's at increasing offsets, so
	// that a folder is decoded once from its start.
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].folder != files[j].folder {
			return files[i].folder < files[j].folder
		}
		return files[i].offset < files[j].offset
	})
	var (
		cur    = -1
		stream io.Reader
		pos    int64
	)
	for _, f := range files {
		m := Member{Name: f.name, Size: f.size}
		var open func() (io.Reader, error)
		switch {
		case f.folder >= 0xfffd:
			open = func() (io.Reader, error) {
				return nil, fmt.Errorf("%w: member continues in another cabinet", io.ErrUnexpectedEOF)
			}
		case f.folder >= len(folders):
			open = func() (io.Reader, error) { return nil, fmt.Errorf("member in folder %d of %d", f.folder, len(folders)) }
		case folders[f.folder].method > 1 && folders[f.folder].method != 3:
			method := [...]string{2: "Quantum", 3: "LZX"}[min(folders[f.folder].method, 3)]
			if method == "" {
				method = fmt.Sprintf("%d", folders[f.folder].method)
			}
			open = func() (io.Reader, error) {
				return nil, fmt.Errorf("%w: cab compression %s", ErrUnsupported, method)
			}
		default:
			if f.folder != cur || f.offset < pos {
				cur, pos = f.folder, 0
				stream = newCabFolderReader(r, size, folders[f.folder])
			}
			// What lies before the member is decoded and thrown away:
			// charge it, as for 7z's solid blocks.
			if skip := f.offset - pos; skip > 0 {
				if err := w.charge(skip); err != nil {
					return err
				}
				n, err := io.CopyN(io.Discard, stream, skip)
				pos += n
				if err != nil {
					stream = errReader{fmt.Errorf("folder %d: %w", f.folder, err)}
				}
			}
			s := stream
			open = func() (io.Reader, error) {
				return &countedReader{r: io.LimitReader(s, f.size), n: &pos, want: f.size}, nil
			}
		}
		if err := w.yield(m, open, 0); err != nil {
			return err
		}
	}
	return nil
}

// countedReader advances the folder position by what is read, and
// reports a member cut short by its folder's end.
type countedReader struct {
	r    io.Reader
	n    *int64
	got  int64
	want int64
}

func (c *countedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	c.got += int64(n)
	if err == io.EOF && c.got < c.want {
		return n, fmt.Errorf("member ends after %d of %d bytes: %w", c.got, c.want, io.ErrUnexpectedEOF)
	}
	return n, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// cabFolderReader decodes a folder's CFDATA blocks in turn.
type cabFolderReader struct {
	r      io.ReaderAt
	size   int64
	f      cabFolder
	off    int64
	block  int
	out    []byte
	window []byte // MSZIP: the last 32 KiB, the next block's dictionary
	err    error
}

func newCabFolderReader(r io.ReaderAt, size int64, f cabFolder) io.Reader {
	if f.method == 3 {
		return newCabLZX(r, size, f)
	}
	return &cabFolderReader{r: r, size: size, f: f, off: f.start}
}

// newCabLZX decodes an LZX folder: its CFDATA payloads form one LZX
// stream, whose output is the sum of the blocks' uncompressed sizes.
func newCabLZX(r io.ReaderAt, size int64, f cabFolder) io.Reader {
	var parts []io.Reader
	var plain int64
	off := f.start
	for i := 0; i < f.blocks; i++ {
		var h [8]byte
		if _, err := r.ReadAt(h[:], off); err != nil {
			return errReader{fmt.Errorf("data block %d: %w", i, io.ErrUnexpectedEOF)}
		}
		packed := int64(binary.LittleEndian.Uint16(h[4:]))
		plain += int64(binary.LittleEndian.Uint16(h[6:]))
		at := off + 8 + int64(f.dataRes)
		if at+packed > size {
			return errReader{fmt.Errorf("data block %d: %w", i, io.ErrUnexpectedEOF)}
		}
		parts = append(parts, io.NewSectionReader(r, at, packed))
		off = at + packed
	}
	d, err := newLZX(bufio.NewReader(io.MultiReader(parts...)), f.lzxBits, plain)
	if err != nil {
		return errReader{err}
	}
	return d
}

func (c *cabFolderReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.block >= c.f.blocks {
			return 0, io.EOF
		}
		c.err = c.next()
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

func (c *cabFolderReader) next() error {
	var h [8]byte
	if _, err := c.r.ReadAt(h[:], c.off); err != nil {
		return fmt.Errorf("data block %d: %w", c.block, io.ErrUnexpectedEOF)
	}
	packed, plain := int64(binary.LittleEndian.Uint16(h[4:])), int(binary.LittleEndian.Uint16(h[6:]))
	at := c.off + 8 + int64(c.f.dataRes)
	if at+packed > c.size {
		return fmt.Errorf("data block %d: %w", c.block, io.ErrUnexpectedEOF)
	}
	data := make([]byte, packed)
	if _, err := c.r.ReadAt(data, at); err != nil {
		return fmt.Errorf("data block %d: %w", c.block, io.ErrUnexpectedEOF)
	}
	c.off, c.block = at+packed, c.block+1
	if c.f.method == 0 {
		c.out = data
		return nil
	}
	// MSZIP: "CK", then a deflate stream that may refer to the previous
	// block's output (up to 32 KiB back).
	if len(data) < 2 || data[0] != 'C' || data[1] != 'K' {
		return fmt.Errorf("data block %d: no MSZIP signature", c.block-1)
	}
	fr := flate.NewReaderDict(bytes.NewReader(data[2:]), c.window)
	out := make([]byte, plain)
	if _, err := io.ReadFull(fr, out); err != nil {
		return fmt.Errorf("data block %d: %w", c.block-1, err)
	}
	c.window = append(c.window, out...)
	if len(c.window) > 32<<10 {
		c.window = append([]byte(nil), c.window[len(c.window)-32<<10:]...)
	}
	c.out = out
	return nil
}

// byteReaderAt reads little-endian fields at a moving offset; a read
// past the end sets err and gives zeros.
type byteReaderAt struct {
	r    io.ReaderAt
	off  int64
	size int64
	err  error
}

func (b *byteReaderAt) read(n int) []byte {
	buf := make([]byte, n)
	if b.off+int64(n) > b.size {
		b.err = io.ErrUnexpectedEOF
		return buf
	}
	if _, err := b.r.ReadAt(buf, b.off); err != nil {
		b.err = io.ErrUnexpectedEOF
	}
	b.off += int64(n)
	return buf
}

func (b *byteReaderAt) u8() uint8   { return b.read(1)[0] }
func (b *byteReaderAt) u16() uint16 { return binary.LittleEndian.Uint16(b.read(2)) }
func (b *byteReaderAt) u32() uint32 { return binary.LittleEndian.Uint32(b.read(4)) }

// cstring reads a NUL-terminated string of at most 1 KiB (read in one
// piece: a name a byte at a time cost a system call per byte).
func (b *byteReaderAt) cstring() string {
	buf := make([]byte, min(1025, max(b.size-b.off, 0)))
	n, _ := b.r.ReadAt(buf, b.off)
	buf = buf[:n]
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		b.off += int64(i) + 1
		return string(buf[:i])
	}
	if n <= 1024 {
		b.err = io.ErrUnexpectedEOF
	}
	b.off += int64(n)
	return string(buf[:min(n, 1024)])
}
