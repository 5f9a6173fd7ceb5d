package archive

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
)

// LHA (LHarc, .lzh and .lha), as lhasa, 7-Zip, unar and Windows (since
// 11) open it: headers of level 0, 1 and 2 (the LHa for UNIX header
// document, "header.doc"), members stored (-lh0-, -lz4-) or compressed
// with -lh4- to -lh7-, the ar002 scheme that ARJ also uses (arj.go), with
// a 4 to 64 KiB window. -lh1- to -lh3-, -lzs- and -lz5-, and level 3
// headers, are not decoded: such members are unscannable.

// lhaMethods gives the window bits and the position-code size of each
// -lhN- method decoded here.
var lhaMethods = map[string]struct {
	dictBits uint
	np       int
	pbit     uint
}{
	"-lh4-": {12, 14, 4},
	"-lh5-": {13, 14, 4},
	"-lh6-": {15, 16, 5},
	"-lh7-": {16, 17, 5},
}

// isLha checks a level 0, 1 or 2 header at the start of h.
func isLha(h []byte) bool {
	if len(h) < 22 || h[2] != '-' || h[6] != '-' || (string(h[3:5]) != "lh" && string(h[3:5]) != "lz") {
		return false
	}
	switch h[20] {
	case 0, 1:
		n := int(h[0])
		if n < 20 || len(h) < n+2 {
			return len(h) < n+2 && n >= 20 // too short to check the sum
		}
		var sum byte
		for _, c := range h[2 : n+2] {
			sum += c
		}
		return sum == h[1]
	case 2:
		return binary.LittleEndian.Uint16(h) >= 26
	}
	return false
}

func walkLha(w *walker, r io.ReaderAt, size int64) error {
	off := int64(0)
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		b := &byteReaderAt{r: r, off: off, size: size}
		first := b.read(22)
		if b.err != nil {
			if off < size && first[0] == 0 {
				return nil // the end mark
			}
			if off >= size {
				return nil // no end mark: lhasa accepts that too
			}
			w.problem("truncated: lha: header at offset %d", off)
			return nil
		}
		if first[0] == 0 {
			return nil
		}
		method := string(first[2:7])
		packed := int64(binary.LittleEndian.Uint32(first[7:]))
		plain := int64(binary.LittleEndian.Uint32(first[11:]))
		level := first[20]
		var name, dir string
		var crc uint16
		var dataAt int64
		switch level {
		case 0, 1:
			hsize := int64(first[0]) + 2
			nlen := int64(first[21])
			nb := b.read(int(nlen))
			crc = b.u16()
			name = string(nb)
			if b.err != nil || 22+nlen+2 > hsize+2 {
				w.problem("corrupt: lha: header at offset %d", off)
				return nil
			}
			dataAt = off + hsize
			if level == 1 {
				// Extended headers follow the base one and count in
				// the packed size.
				b.off = off + hsize - 2
				for k := 0; ; k++ {
					n := int64(b.u16())
					if n == 0 || b.err != nil || k > 64 {
						break
					}
					ext := b.read(int(n) - 2)
					packed -= n
					applyLhaExt(ext, &name, &dir)
				}
				dataAt = b.off
			}
		case 2:
			total := int64(binary.LittleEndian.Uint16(first))
			b.off = off + 21
			crc = b.u16()
			b.off++ // OS id
			for k := 0; ; k++ {
				n := int64(b.u16())
				if n == 0 || b.err != nil || k > 64 {
					break
				}
				if n < 3 {
					w.problem("corrupt: lha: extended header of %d bytes", n)
					return nil
				}
				applyLhaExt(b.read(int(n)-2), &name, &dir)
			}
			dataAt = off + total
		default:
			w.problem("unsupported: lha: header level %d", level)
			return nil
		}
		if b.err != nil || packed < 0 {
			w.problem("truncated: lha: header at offset %d", off)
			return nil
		}
		off = dataAt + packed
		if method == "-lhd-" {
			continue // a directory
		}
		// 0xFF separates a path's parts (header.doc), in level 0 and 1
		// names as in the directory header.
		name = strings.ReplaceAll(name, "\xff", "/")
		if dir != "" {
			name = dir + "/" + name
		}
		m := Member{Name: name, Size: plain}
		var open func() (io.Reader, error)
		switch p, ok := lhaMethods[method]; {
		case dataAt+packed > size:
			open = func() (io.Reader, error) {
				return nil, fmt.Errorf("%w: member data past the end of the archive", io.ErrUnexpectedEOF)
			}
		case method == "-lh0-" || method == "-lz4-":
			open = func() (io.Reader, error) {
				return &checkedReader{r: io.NewSectionReader(r, dataAt, packed), crc: newCRC16(), want: uint32(crc), size: plain}, nil
			}
		case ok:
			open = func() (io.Reader, error) {
				d := newLZH(bufio.NewReader(io.NewSectionReader(r, dataAt, packed)), plain, 1<<p.dictBits, p.np, p.pbit)
				return &checkedReader{r: d, crc: newCRC16(), want: uint32(crc), size: plain}, nil
			}
		default:
			open = func() (io.Reader, error) {
				return nil, fmt.Errorf("%w: lha method %q", ErrUnsupported, strings.Trim(method, "-"))
			}
		}
		if err := w.yield(m, open, 0); err != nil {
			return err
		}
	}
}

// applyLhaExt takes the name (type 1) and directory (type 2, 0xFF
// between its parts) from an extended header.
func applyLhaExt(ext []byte, name, dir *string) {
	if len(ext) == 0 {
		return
	}
	switch ext[0] {
	case 1:
		*name = string(ext[1:])
	case 2:
		*dir = strings.TrimRight(strings.ReplaceAll(string(ext[1:]), "\xff", "/"), "/")
	}
}

// crc16 is CRC-16/ARC (polynomial 0xA001 reflected, initial 0), LHA's.
type crc16 struct{ v uint16 }

// crc16Table is built on first use: an LHA member is rare, and a table
// built at package init costs every delivery (one process per message).
var crc16Table = sync.OnceValue(func() *[256]uint16 {
	var t [256]uint16
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xa001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return &t
})

func newCRC16() hash.Hash32 { return &crc16{} }

func (c *crc16) Write(p []byte) (int, error) {
	t := crc16Table()
	for _, b := range p {
		c.v = t[byte(c.v)^b] ^ c.v>>8
	}
	return len(p), nil
}
func (c *crc16) Sum32() uint32       { return uint32(c.v) }
func (c *crc16) Sum(b []byte) []byte { return append(b, byte(c.v>>8), byte(c.v)) }
func (c *crc16) Reset()              { c.v = 0 }
func (c *crc16) Size() int           { return 2 }
func (c *crc16) BlockSize() int      { return 1 }
