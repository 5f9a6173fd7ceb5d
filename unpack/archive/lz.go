package archive

import (
	"errors"
	"io"
	"sync"
)

// Decoders for the zip methods that klauspost/compress/zip lacks but
// unzip, 7-Zip and Windows open: deflate64 (method 9, "enhanced
// deflate", written by Windows Explorer for large files and by 7-Zip)
// and implode (method 6, PKZIP 1.x). They are written here after RFC
// 1951, PKWARE's APPNOTE.TXT (sections 5.3 and 5.5) and Info-ZIP's
// explode.c; the Huffman decoding is the canonical one of zlib's puff.c,
// slow and small. Both stream: the memory is the window (64 KiB) and
// one output chunk.

var errLZ = errors.New("invalid compressed data")

// bitReader reads bits least significant first, as deflate and implode
// store them. A read past the end sets err and returns zeros.
type bitReader struct {
	r    io.ByteReader
	bits uint64
	n    uint
	err  error
}

func (b *bitReader) get(k uint) uint32 {
	for b.n < k {
		c, err := b.r.ReadByte()
		if err != nil {
			if b.err == nil {
				b.err = io.ErrUnexpectedEOF
			}
			return 0
		}
		b.bits |= uint64(c) << b.n
		b.n += 8
	}
	v := uint32(b.bits & (1<<k - 1))
	b.bits >>= k
	b.n -= k
	return v
}

// align drops the bits left in the current byte.
func (b *bitReader) align() { b.bits >>= b.n % 8; b.n -= b.n % 8 }

// byteOf reads a whole byte (after align).
func (b *bitReader) byteOf() byte { return byte(b.get(8)) }

const maxCodeBits = 16

// huffman is a canonical code: how many codes of each length, and the
// symbols in code order (puff.c).
type huffman struct {
	count  [maxCodeBits + 1]uint16
	symbol []uint16
}

// newHuffman builds the code for the lengths (0: symbol unused). An
// over-subscribed set is an error; an incomplete one is allowed (deflate
// allows one distance code; a stream that uses a missing code fails).
func newHuffman(lengths []uint8) (*huffman, error) {
	h := &huffman{symbol: make([]uint16, len(lengths))}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l <= maxCodeBits; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return nil, errLZ
		}
	}
	var offs [maxCodeBits + 2]uint16
	for l := 1; l <= maxCodeBits; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	return h, nil
}

// decode reads one symbol, the code's first bit first; invert flips
// every bit (implode stores its codes complemented, explode.c). It
// returns -1 on a code that is not in the table or past the end.
func (h *huffman) decode(br *bitReader, invert bool) int {
	code, first, index := 0, 0, 0
	for l := 1; l <= maxCodeBits; l++ {
		bit := int(br.get(1))
		if br.err != nil {
			return -1
		}
		if invert {
			bit ^= 1
		}
		code |= bit
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+(code-first)])
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return -1
}

// window is the sliding dictionary and the output not yet read.
type window struct {
	buf  []byte
	pos  int
	full bool
	out  []byte
}

func newWindow(size int) *window { return &window{buf: make([]byte, size)} }

func (w *window) lit(c byte) {
	w.buf[w.pos] = c
	w.pos++
	if w.pos == len(w.buf) {
		w.pos, w.full = 0, true
	}
	w.out = append(w.out, c)
}

// match copies n bytes from dist back. Before the start of the data,
// zeroFill gives zeros (explode.c does so for implode); otherwise it is
// an error.
func (w *window) match(dist, n int, zeroFill bool) error {
	if dist < 1 || dist > len(w.buf) {
		return errLZ
	}
	for ; n > 0; n-- {
		i := w.pos - dist
		if i < 0 {
			if !w.full {
				if !zeroFill {
					return errLZ
				}
				w.lit(0)
				continue
			}
			i += len(w.buf)
		}
		w.lit(w.buf[i])
	}
	return nil
}

// outChunk is how much output a decoder makes before Read returns.
const outChunk = 32 << 10

// lzReader drives a step function that appends to win.out until it has
// at least outChunk bytes or the stream ends (done).
type lzReader struct {
	win  *window
	step func() (done bool, err error)
	off  int
	done bool
	err  error
}

func (z *lzReader) Read(p []byte) (int, error) {
	for z.off == len(z.win.out) {
		if z.err != nil {
			return 0, z.err
		}
		if z.done {
			return 0, io.EOF
		}
		z.win.out, z.off = z.win.out[:0], 0
		for len(z.win.out) < outChunk && !z.done && z.err == nil {
			z.done, z.err = z.step()
		}
	}
	n := copy(p, z.win.out[z.off:])
	z.off += n
	return n, nil
}

// Deflate tables (RFC 1951 section 3.2.5), with deflate64's changes:
// length code 285 takes 16 extra bits from base 3, and distance codes 30
// and 31 exist (APPNOTE 5.5, "Enhanced Deflating").
var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [32]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
		4097, 6145, 8193, 12289, 16385, 24577, 32769, 49153}
	distExtra = [32]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14}
	clOrder   = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// fixedCodes are deflate's fixed codes, built on first use (not at
// package init, which every delivery pays).
var fixedCodes = sync.OnceValues(func() (*huffman, *huffman) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	lit, _ := newHuffman(l[:])
	dist, _ := newHuffman(d[:])
	return lit, dist
})

// newInflater decodes a raw deflate64 stream (deflate64 true) or a raw
// deflate stream.
func newInflater(r io.ByteReader, deflate64 bool) io.Reader {
	br := &bitReader{r: r}
	size := 32 << 10
	if deflate64 {
		size = 64 << 10
	}
	win := newWindow(size)
	var (
		inBlock   bool
		final     bool
		stored    int // bytes left of a stored block
		lit, dist *huffman
	)
	step := func() (bool, error) {
		if !inBlock {
			if final {
				return true, nil
			}
			final = br.get(1) == 1
			switch br.get(2) {
			case 0:
				br.align()
				n, nn := br.get(16), br.get(16)
				if br.err == nil && n != ^nn&0xffff {
					return false, errLZ
				}
				stored = int(n)
				lit = nil
			case 1:
				lit, dist = fixedCodes()
			case 2:
				var err error
				if lit, dist, err = dynamicTables(br); err != nil {
					return false, err
				}
			default:
				return false, errLZ
			}
			if br.err != nil {
				return false, br.err
			}
			inBlock = true
			return false, nil
		}
		if lit == nil { // stored
			for ; stored > 0 && len(win.out) < outChunk; stored-- {
				c := br.byteOf()
				if br.err != nil {
					return false, br.err
				}
				win.lit(c)
			}
			if stored == 0 {
				inBlock = false
			}
			return false, nil
		}
		for len(win.out) < outChunk {
			sym := lit.decode(br, false)
			switch {
			case sym < 0:
				if br.err != nil {
					return false, br.err
				}
				return false, errLZ
			case sym < 256:
				win.lit(byte(sym))
				continue
			case sym == 256:
				inBlock = false
				return false, nil
			}
			sym -= 257
			if sym >= 29 {
				return false, errLZ
			}
			n := int(lenBase[sym]) + int(br.get(uint(lenExtra[sym])))
			if deflate64 && sym == 28 {
				n = 3 + int(br.get(16))
			}
			ds := dist.decode(br, false)
			if ds < 0 || ds >= 32 || (!deflate64 && ds >= 30) {
				if br.err != nil {
					return false, br.err
				}
				return false, errLZ
			}
			d := int(distBase[ds]) + int(br.get(uint(distExtra[ds])))
			if br.err != nil {
				return false, br.err
			}
			if err := win.match(d, n, false); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	return &lzReader{win: win, step: step}
}

// dynamicTables reads the code lengths of a dynamic block (RFC 1951
// section 3.2.7).
func dynamicTables(br *bitReader) (*huffman, *huffman, error) {
	nlen, ndist, ncode := int(br.get(5))+257, int(br.get(5))+1, int(br.get(4))+4
	if br.err != nil {
		return nil, nil, br.err
	}
	if nlen > 288 || ndist > 32 {
		return nil, nil, errLZ
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		cl[clOrder[i]] = uint8(br.get(3))
	}
	clh, err := newHuffman(cl[:])
	if err != nil {
		return nil, nil, err
	}
	lengths := make([]uint8, nlen+ndist)
	for i := 0; i < nlen+ndist; {
		sym := clh.decode(br, false)
		var rep int
		var val uint8
		switch {
		case sym < 0:
			if br.err != nil {
				return nil, nil, br.err
			}
			return nil, nil, errLZ
		case sym < 16:
			lengths[i] = uint8(sym)
			i++
			continue
		case sym == 16:
			if i == 0 {
				return nil, nil, errLZ
			}
			val, rep = lengths[i-1], 3+int(br.get(2))
		case sym == 17:
			rep = 3 + int(br.get(3))
		default:
			rep = 11 + int(br.get(7))
		}
		if i+rep > len(lengths) {
			return nil, nil, errLZ
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return nil, nil, errLZ
	}
	lit, err := newHuffman(lengths[:nlen])
	if err != nil {
		return nil, nil, err
	}
	dist, err := newHuffman(lengths[nlen:])
	if err != nil {
		return nil, nil, err
	}
	return lit, dist, nil
}

// newExploder decodes PKWARE implode (zip method 6) of size bytes, with
// the options of the zip entry's general purpose flags: bit 1 an 8 KiB
// window (else 4 KiB), bit 2 a literal tree (else literals are raw
// bytes).
func newExploder(r io.ByteReader, flags uint16, size int64) io.Reader {
	br := &bitReader{r: r}
	bigWindow, litTree := flags&2 != 0, flags&4 != 0
	win := newWindow(8 << 10)
	var (
		lit, length, dist *huffman
		started           bool
	)
	lowBits, minLen := uint(6), 2
	if bigWindow {
		lowBits = 7
	}
	if litTree {
		minLen = 3
	}
	left := size
	step := func() (bool, error) {
		if !started {
			started = true
			var err error
			if litTree {
				if lit, err = implodeTree(br, 256); err != nil {
					return false, err
				}
			}
			if length, err = implodeTree(br, 64); err != nil {
				return false, err
			}
			if dist, err = implodeTree(br, 64); err != nil {
				return false, err
			}
			return false, nil
		}
		for len(win.out) < outChunk && left > 0 {
			if br.get(1) == 1 {
				var c int
				if litTree {
					c = lit.decode(br, true)
				} else {
					c = int(br.get(8))
				}
				if c < 0 || br.err != nil {
					return false, orLZ(br.err)
				}
				win.lit(byte(c))
				left--
				continue
			}
			low := int(br.get(lowBits))
			ds := dist.decode(br, true)
			ls := length.decode(br, true)
			if ds < 0 || ls < 0 || br.err != nil {
				return false, orLZ(br.err)
			}
			d := ds<<lowBits + low + 1
			n := ls + minLen
			if ls == 63 {
				n += int(br.get(8))
			}
			if br.err != nil {
				return false, br.err
			}
			if int64(n) > left {
				n = int(left)
			}
			if err := win.match(d, n, true); err != nil {
				return false, err
			}
			left -= int64(n)
		}
		return left == 0, nil
	}
	return &lzReader{win: win, step: step}
}

func orLZ(err error) error {
	if err != nil {
		return err
	}
	return errLZ
}

// implodeTree reads one Shannon-Fano tree of n symbols (APPNOTE 5.3.7):
// a count of bytes, then bytes that each give a bit length (low nibble
// + 1) for a run of symbols (high nibble + 1).
func implodeTree(br *bitReader, n int) (*huffman, error) {
	records := int(br.byteOf()) + 1
	lengths := make([]uint8, 0, n)
	for ; records > 0; records-- {
		b := br.byteOf()
		if br.err != nil {
			return nil, br.err
		}
		l, rep := b&0xf+1, int(b>>4)+1
		if len(lengths)+rep > n {
			return nil, errLZ
		}
		for ; rep > 0; rep-- {
			lengths = append(lengths, l)
		}
	}
	if len(lengths) != n {
		return nil, errLZ
	}
	return newHuffman(lengths)
}
