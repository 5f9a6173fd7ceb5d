package archive

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// ARJ (Robert Jung's ARJ, documented in its TECHNOTE.DOC; decoders after
// the public unarj 2.65 sources), which 7-Zip, unar and arj itself open.
// Methods 0 (stored), 1 to 3 (LZ77 with Huffman codes, the "ar002"
// scheme of Haruhiko Okumura) and 4 (LZ77 with fixed variable-length
// codes) are decoded; an encrypted ("garbled") member is encrypted.

const (
	arjMaxHeader = 2600
	arjGarbled   = 0x01
	arjVolume    = 0x04
	arjDictSize  = 26624
)

// isArj checks the first header: its size, and its CRC-32 when the head
// holds all of it.
func isArj(h []byte) bool {
	if len(h) < 10 || h[0] != 0x60 || h[1] != 0xea {
		return false
	}
	n := int(binary.LittleEndian.Uint16(h[2:]))
	if n < 30 || n > arjMaxHeader {
		return false
	}
	if len(h) >= 4+n+4 {
		return crc32.ChecksumIEEE(h[4:4+n]) == binary.LittleEndian.Uint32(h[4+n:])
	}
	return true
}

func walkArj(w *walker, r io.ReaderAt, size int64) error {
	off := int64(0)
	first := true
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		var hb [4]byte
		if _, err := r.ReadAt(hb[:], off); err != nil {
			w.problem("truncated: arj: no end-of-archive header")
			return nil
		}
		if hb[0] != 0x60 || hb[1] != 0xea {
			w.problem("corrupt: arj: no header at offset %d", off)
			return nil
		}
		n := int64(binary.LittleEndian.Uint16(hb[2:]))
		if n == 0 {
			return nil // end of archive
		}
		if n < 30 || n > arjMaxHeader || off+4+n+4 > size {
			w.problem("corrupt: arj: header of %d bytes at offset %d", n, off)
			return nil
		}
		h := make([]byte, n+4)
		if _, err := r.ReadAt(h, off+4); err != nil {
			w.problem("truncated: arj: header at offset %d", off)
			return nil
		}
		if crc32.ChecksumIEEE(h[:n]) != binary.LittleEndian.Uint32(h[n:]) {
			w.problem("corrupt: arj: header CRC at offset %d", off)
			return nil
		}
		h = h[:n]
		off += 4 + n + 4
		// Extended headers: a size, the header and its CRC, until 0.
		for {
			var e [2]byte
			if _, err := r.ReadAt(e[:], off); err != nil {
				w.problem("truncated: arj: extended header")
				return nil
			}
			off += 2
			en := int64(binary.LittleEndian.Uint16(e[:]))
			if en == 0 {
				break
			}
			off += en + 4
		}
		if first {
			first = false // the main header: archive name and comment
			continue
		}
		firstSize := int(h[0])
		flags, method, ftype := h[4], h[5], h[6]
		packed := int64(binary.LittleEndian.Uint32(h[12:]))
		plain := int64(binary.LittleEndian.Uint32(h[16:]))
		crc := binary.LittleEndian.Uint32(h[20:])
		name := ""
		if firstSize < len(h) {
			name = cstr(h[firstSize:])
		}
		dataAt := off
		off += packed
		if ftype == 3 || ftype == 4 {
			continue // directory, volume label
		}
		m := Member{Name: name, Size: plain, Encrypted: flags&arjGarbled != 0}
		var open func() (io.Reader, error)
		switch {
		case dataAt+packed > size:
			open = func() (io.Reader, error) {
				return nil, fmt.Errorf("%w: member data past the end of the archive", io.ErrUnexpectedEOF)
			}
		case flags&arjVolume != 0:
			open = func() (io.Reader, error) {
				return nil, fmt.Errorf("%w: member continues in the next volume", io.ErrUnexpectedEOF)
			}
		case method > 4:
			open = func() (io.Reader, error) {
				return nil, fmt.Errorf("%w: arj method %d", ErrUnsupported, method)
			}
		default:
			open = func() (io.Reader, error) {
				src := io.NewSectionReader(r, dataAt, packed)
				var d io.Reader
				switch method {
				case 0:
					d = src
				case 4:
					d = newArjFastest(bufio.NewReader(src), plain)
				default:
					d = newArjLZH(bufio.NewReader(src), plain)
				}
				return &checkedReader{r: d, crc: crc32.NewIEEE(), want: crc, size: plain}, nil
			}
		}
		if err := w.yield(m, open, 0); err != nil {
			return err
		}
	}
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// msbReader reads bits most significant first, as ARJ stores them. Past
// the end it sets err and gives zeros.
type msbReader struct {
	r    io.ByteReader
	bits uint64
	n    uint
	err  error
}

func (b *msbReader) get(k uint) uint32 {
	if k == 0 {
		return 0
	}
	for b.n < k {
		c, err := b.r.ReadByte()
		if err != nil {
			if b.err == nil {
				b.err = io.ErrUnexpectedEOF
			}
			c = 0
		}
		b.bits = b.bits<<8 | uint64(c)
		b.n += 8
	}
	b.n -= k
	return uint32(b.bits>>b.n) & (1<<k - 1)
}

// arjCode is a canonical Huffman code read most significant bit first;
// single >= 0 is a code of one symbol that takes no bits.
type arjCode struct {
	h      *huffman
	single int
}

func (c arjCode) decode(br *msbReader) int {
	if c.single >= 0 {
		return c.single
	}
	code, first, index := 0, 0, 0
	for l := 1; l <= maxCodeBits; l++ {
		code |= int(br.get(1))
		if br.err != nil {
			return -1
		}
		count := int(c.h.count[l])
		if code-count < first {
			return int(c.h.symbol[index+(code-first)])
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return -1
}

var errArj = errors.New("invalid ARJ data")

const (
	arjNC   = 510 // 256 literals + lengths 3..256
	arjNP   = 17
	arjNT   = 19
	arjCBit = 9
	arjPBit = 5
	arjTBit = 5
)

// readPtLen reads the lengths of the position code or of the code-length
// code (unarj's read_pt_len).
func readPtLen(br *msbReader, nn int, nbit uint, special int) (arjCode, error) {
	n := int(br.get(nbit))
	if n == 0 {
		c := int(br.get(nbit))
		if c >= nn {
			return arjCode{}, errArj
		}
		return arjCode{single: c}, nil
	}
	if n > nn {
		return arjCode{}, errArj
	}
	lens := make([]uint8, nn)
	for i := 0; i < n; {
		c := int(br.get(3))
		if c == 7 {
			for br.get(1) == 1 {
				c++
				if c > maxCodeBits {
					return arjCode{}, errArj
				}
			}
		}
		lens[i] = uint8(c)
		i++
		if i == special {
			z := int(br.get(2))
			if i+z > nn {
				return arjCode{}, errArj
			}
			i += z
		}
	}
	h, err := newHuffman(lens)
	if err != nil || br.err != nil {
		return arjCode{}, orArj(br.err)
	}
	return arjCode{h: h, single: -1}, nil
}

func readCLen(br *msbReader, pt arjCode) (arjCode, error) {
	n := int(br.get(arjCBit))
	if n == 0 {
		c := int(br.get(arjCBit))
		if c >= arjNC {
			return arjCode{}, errArj
		}
		return arjCode{single: c}, nil
	}
	if n > arjNC {
		return arjCode{}, errArj
	}
	lens := make([]uint8, arjNC)
	for i := 0; i < n; {
		c := pt.decode(br)
		switch {
		case c < 0:
			return arjCode{}, orArj(br.err)
		case c <= 2:
			z := 1
			if c == 1 {
				z = int(br.get(4)) + 3
			} else if c == 2 {
				z = int(br.get(arjCBit)) + 20
			}
			if i+z > arjNC {
				return arjCode{}, errArj
			}
			i += z
		default:
			lens[i] = uint8(c - 2)
			i++
		}
	}
	h, err := newHuffman(lens)
	if err != nil || br.err != nil {
		return arjCode{}, orArj(br.err)
	}
	return arjCode{h: h, single: -1}, nil
}

func orArj(err error) error {
	if err != nil {
		return err
	}
	return errArj
}

// newArjLZH decodes methods 1 to 3 (unarj's decode) into size bytes.
func newArjLZH(r io.ByteReader, size int64) io.Reader {
	return newLZH(r, size, arjDictSize, arjNP, arjPBit)
}

// newLZH decodes the ar002 scheme with a window of dict bytes and a
// position code of np symbols whose count takes pbit bits: ARJ methods 1
// to 3, LHA -lh4- to -lh7-.
func newLZH(r io.ByteReader, size int64, dict, np int, pbit uint) io.Reader {
	br := &msbReader{r: r}
	win := newWindow(dict)
	var (
		blockLeft int
		c, p      arjCode
	)
	left := size
	step := func() (bool, error) {
		for len(win.out) < outChunk && left > 0 {
			if blockLeft == 0 {
				blockLeft = int(br.get(16))
				pt, err := readPtLen(br, arjNT, arjTBit, 3)
				if err != nil {
					return false, err
				}
				if c, err = readCLen(br, pt); err != nil {
					return false, err
				}
				if p, err = readPtLen(br, np, pbit, -1); err != nil {
					return false, err
				}
				if blockLeft == 0 {
					return false, errArj
				}
			}
			blockLeft--
			sym := c.decode(br)
			if sym < 0 {
				return false, orArj(br.err)
			}
			if sym < 256 {
				win.lit(byte(sym))
				left--
				continue
			}
			n := sym - 253
			j := p.decode(br)
			if j < 0 {
				return false, orArj(br.err)
			}
			if j != 0 {
				j = 1<<(j-1) + int(br.get(uint(j-1)))
			}
			if br.err != nil {
				return false, br.err
			}
			if int64(n) > left {
				n = int(left)
			}
			if err := win.match(j+1, n, false); err != nil {
				return false, err
			}
			left -= int64(n)
		}
		return left == 0, nil
	}
	return &lzReader{win: win, step: step}
}

// newArjFastest decodes method 4 (unarj's decode_f) into size bytes.
func newArjFastest(r io.ByteReader, size int64) io.Reader {
	br := &msbReader{r: r}
	win := newWindow(arjDictSize)
	// varLen reads unary-prefixed widths from start to stop (decode_len
	// and decode_ptr).
	varLen := func(start, stop uint) int {
		plus, pwr, width := 0, 1<<start, start
		for ; width < stop; width++ {
			if br.get(1) == 0 {
				break
			}
			plus += pwr
			pwr <<= 1
		}
		return int(br.get(width)) + plus
	}
	left := size
	step := func() (bool, error) {
		for len(win.out) < outChunk && left > 0 {
			c := varLen(0, 7)
			if c == 0 {
				win.lit(byte(br.get(8)))
				left--
			} else {
				n := c - 1 + 3
				d := varLen(9, 13)
				if br.err != nil {
					return false, br.err
				}
				if int64(n) > left {
					n = int(left)
				}
				if err := win.match(d+1, n, false); err != nil {
					return false, err
				}
				left -= int64(n)
			}
			if br.err != nil {
				return false, br.err
			}
		}
		return left == 0, nil
	}
	return &lzReader{win: win, step: step}
}
