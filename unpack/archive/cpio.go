package archive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// cpio, in its four kinds (cpio(5) of libarchive, GNU cpio's manual):
// old binary (a 26-byte header of 16-bit words, in either byte order),
// odc (POSIX.1 portable, "070707", octal), newc ("070701", hexadecimal)
// and crc ("070702", newc with a checksum of the data). GNU cpio, bsdcpio
// and 7-Zip open all four; so do file managers through libarchive.

const cpioTrailer = "TRAILER!!!"

// cpioKind names the kind of cpio archive that starts with h, or "".
func cpioKind(h []byte) string {
	kind := cpioMagic(h)
	if kind != "bin-le" && kind != "bin-be" {
		return kind
	}
	// Two bytes match too much: the first name must be there,
	// NUL-terminated.
	var bo binary.ByteOrder = binary.LittleEndian
	if kind == "bin-be" {
		bo = binary.BigEndian
	}
	n := int(bo.Uint16(h[20:]))
	if n < 2 || 26+n > len(h) || h[26+n-1] != 0 || bytes.IndexByte(h[26:26+n-1], 0) >= 0 {
		return ""
	}
	return kind
}

// cpioMagic names the kind of the cpio header at the start of h by its
// magic number alone.
func cpioMagic(h []byte) string {
	if len(h) < 26 {
		return ""
	}
	switch string(h[:6]) {
	case "070707":
		return "odc"
	case "070701":
		return "newc"
	case "070702":
		return "crc"
	}
	switch {
	case h[0] == 0xc7 && h[1] == 0x71:
		return "bin-le"
	case h[0] == 0x71 && h[1] == 0xc7:
		return "bin-be"
	}
	return ""
}

// cpioHeader is what walkCpio needs of one header.
type cpioHeader struct {
	mode     int64
	nameSize int64
	size     int64
	hdrLen   int64 // header bytes, before the name
	align    int64 // the name and the data are padded to this
}

func walkCpio(w *walker, r io.ReaderAt, size int64) error {
	var off int64
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		head := make([]byte, 110)
		n, _ := r.ReadAt(head, off)
		head = head[:n]
		if n < 6 {
			w.problem("truncated: cpio: no trailer")
			return nil
		}
		kind := cpioMagic(head)
		h, err := parseCpioHeader(kind, head)
		if err != nil {
			w.problem("corrupt: cpio: header at offset %d: %v", off, err)
			return nil
		}
		if h.nameSize > 4096 || h.nameSize < 1 {
			w.problem("corrupt: cpio: name of %d bytes at offset %d", h.nameSize, off)
			return nil
		}
		nameAt := off + h.hdrLen
		name := make([]byte, h.nameSize)
		if k, _ := r.ReadAt(name, nameAt); int64(k) < h.nameSize {
			w.problem("truncated: cpio: name at offset %d", nameAt)
			return nil
		}
		name = bytes.TrimRight(name, "\x00")
		dataAt := pad(nameAt+h.nameSize, h.align)
		if string(name) == cpioTrailer {
			return nil
		}
		if h.size < 0 || dataAt+h.size > size {
			// A member cut short: yield what there is (a reader of a
			// truncated archive gets that much), say it is truncated.
			w.problem("truncated: cpio: member %q declares %d bytes, %d remain", name, h.size, max(size-dataAt, 0))
			if h.mode&0o170000 == 0o100000 && dataAt < size {
				return w.yield(Member{Name: string(name), Size: h.size},
					func() (io.Reader, error) { return io.NewSectionReader(r, dataAt, size-dataAt), nil }, 0)
			}
			return nil
		}
		// Regular files only: directories, devices and symlinks (whose
		// data is the target) have no content a reader opens. Old
		// archives leave the type bits empty for a regular file.
		if t := h.mode & 0o170000; t == 0o100000 || (t == 0 && h.size > 0) {
			m := Member{Name: string(name), Size: h.size}
			if err := w.yield(m, func() (io.Reader, error) { return io.NewSectionReader(r, dataAt, h.size), nil }, 0); err != nil {
				return err
			}
		}
		off = pad(dataAt+h.size, h.align)
	}
}

func pad(n, align int64) int64 {
	if r := n % align; r != 0 {
		n += align - r
	}
	return n
}

func parseCpioHeader(kind string, h []byte) (cpioHeader, error) {
	num := func(b []byte, base int) (int64, error) {
		v, err := strconv.ParseUint(string(b), base, 64)
		if err != nil || v > 1<<62 {
			return 0, fmt.Errorf("bad number %q", b)
		}
		return int64(v), nil
	}
	var c cpioHeader
	var err error
	switch kind {
	case "odc":
		if len(h) < 76 {
			return c, io.ErrUnexpectedEOF
		}
		var e1, e2, e3 error
		c.mode, e1 = num(h[18:24], 8)
		c.nameSize, e2 = num(h[59:65], 8)
		c.size, e3 = num(h[65:76], 8)
		c.hdrLen, c.align = 76, 1
		for _, e := range []error{e1, e2, e3} {
			if e != nil {
				err = e
			}
		}
	case "newc", "crc":
		if len(h) < 110 {
			return c, io.ErrUnexpectedEOF
		}
		var e1, e2, e3 error
		c.mode, e1 = num(h[14:22], 16)
		c.size, e2 = num(h[54:62], 16)
		c.nameSize, e3 = num(h[94:102], 16)
		c.hdrLen, c.align = 110, 4
		for _, e := range []error{e1, e2, e3} {
			if e != nil {
				err = e
			}
		}
	case "bin-le", "bin-be":
		var bo binary.ByteOrder = binary.LittleEndian
		if kind == "bin-be" {
			bo = binary.BigEndian
		}
		c.mode = int64(bo.Uint16(h[6:]))
		c.nameSize = int64(bo.Uint16(h[20:]))
		// 32-bit values are two 16-bit words, the high one first.
		c.size = int64(bo.Uint16(h[22:]))<<16 | int64(bo.Uint16(h[24:]))
		c.hdrLen, c.align = 26, 2
	default:
		return c, fmt.Errorf("no cpio magic")
	}
	return c, err
}
