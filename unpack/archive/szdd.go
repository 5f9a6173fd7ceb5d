package archive

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// SZDD, the format of Microsoft's COMPRESS.EXE (files named like
// SETUP.EX_), which EXPAND.EXE, 7-Zip and ClamAV open: an 14-byte header
// (magic, mode 'A', the file name's missing last character, the
// uncompressed size) and LZSS with a 4 KiB window that starts filled with
// spaces, as documented with libmspack's szdd.h.

const szddMagic = "SZDD\x88\xf0\x27\x33"

func newSZDD(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReader(r)
	var h [14]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, "", fmt.Errorf("szdd header: %w", io.ErrUnexpectedEOF)
	}
	if string(h[:8]) != szddMagic || h[8] != 'A' {
		return nil, "", fmt.Errorf("not an SZDD header")
	}
	size := int64(binary.LittleEndian.Uint32(h[10:]))
	var (
		window [4096]byte
		pos    = 4096 - 16
		left   = size
		out    = &window4k{}
	)
	for i := range window {
		window[i] = ' '
	}
	put := func(c byte) {
		window[pos] = c
		pos = (pos + 1) & 4095
		out.buf = append(out.buf, c)
		left--
	}
	step := func() (bool, error) {
		for len(out.buf) < outChunk && left > 0 {
			control, err := br.ReadByte()
			if err != nil {
				return false, io.ErrUnexpectedEOF
			}
			for bit := 0; bit < 8 && left > 0; bit++ {
				if control&(1<<bit) != 0 {
					c, err := br.ReadByte()
					if err != nil {
						return false, io.ErrUnexpectedEOF
					}
					put(c)
					continue
				}
				b0, err0 := br.ReadByte()
				b1, err1 := br.ReadByte()
				if err0 != nil || err1 != nil {
					return false, io.ErrUnexpectedEOF
				}
				from := int(b0) | int(b1&0xf0)<<4
				for n := int(b1&0x0f) + 3; n > 0 && left > 0; n-- {
					put(window[from])
					from = (from + 1) & 4095
				}
			}
		}
		return left == 0, nil
	}
	return io.NopCloser(&szddReader{out: out, step: step}), "", nil
}

type window4k struct{ buf []byte }

// szddReader hands out what step decodes.
type szddReader struct {
	out  *window4k
	off  int
	step func() (bool, error)
	done bool
	err  error
}

func (z *szddReader) Read(p []byte) (int, error) {
	for z.off == len(z.out.buf) {
		if z.err != nil {
			return 0, z.err
		}
		if z.done {
			return 0, io.EOF
		}
		z.out.buf, z.off = z.out.buf[:0], 0
		z.done, z.err = z.step()
	}
	n := copy(p, z.out.buf[z.off:])
	z.off += n
	return n, nil
}
