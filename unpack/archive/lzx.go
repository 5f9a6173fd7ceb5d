package archive

import (
	"encoding/binary"
	"errors"
	"io"
)

// LZX, the compression of most Microsoft cabinets (and of CHM and WIM),
// as cabextract and 7-Zip decode it: written after the LZX sections of
// [MS-PATCH] and libmspack's lzxd.c. The bit stream is 16-bit
// little-endian words read from their top bit; blocks are verbatim,
// aligned-offset or uncompressed; every 32 KiB frame ends on a word
// boundary, and the E8 call translation is undone frame by frame.

var errLZX = errors.New("invalid LZX data")

const lzxFrame = 32768

var lzxExtraBits, lzxPositionBase = func() (eb [51]uint8, pb [51]uint32) {
	j := uint8(0)
	for i := 0; i < 51; i += 2 {
		eb[i] = j
		if i+1 < 51 {
			eb[i+1] = j
		}
		if i != 0 && j < 17 {
			j++
		}
	}
	b := uint32(0)
	for i := range pb {
		pb[i] = b
		b += 1 << eb[i]
	}
	return
}()

// lzxBits reads LZX's bit stream: 16-bit little-endian words, most
// significant bit first. Past the end it gives zeros (a last code may
// reach past it, as lzxd.c allows) and counts them.
type lzxBits struct {
	r       io.ByteReader
	buf     uint64
	n       uint
	overrun int
	push    []byte // bytes of a word read ahead, for an uncompressed block
}

func (b *lzxBits) word() {
	lo, err1 := b.rawByte()
	hi, err2 := b.rawByte()
	if err1 != nil || err2 != nil {
		b.overrun++
		lo, hi = 0, 0
	}
	b.buf = b.buf<<16 | uint64(hi)<<8 | uint64(lo)
	b.n += 16
}

func (b *lzxBits) get(k uint) uint32 {
	if k == 0 {
		return 0
	}
	for b.n < k {
		b.word()
	}
	b.n -= k
	return uint32(b.buf>>b.n) & (1<<k - 1)
}

// align drops the bits left of the current word.
func (b *lzxBits) align() { b.n -= b.n % 16 }

// rawByte reads a byte of an uncompressed block.
func (b *lzxBits) rawByte() (byte, error) {
	if len(b.push) > 0 {
		c := b.push[0]
		b.push = b.push[1:]
		return c, nil
	}
	c, err := b.r.ReadByte()
	if err != nil {
		return 0, io.ErrUnexpectedEOF
	}
	return c, nil
}

// lzxCode decodes a canonical Huffman code, most significant bit first.
type lzxCode struct{ h *huffman }

func (c lzxCode) decode(b *lzxBits) int {
	if c.h == nil {
		return -1
	}
	code, first, index := 0, 0, 0
	for l := 1; l <= maxCodeBits; l++ {
		code |= int(b.get(1))
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

func lzxTree(lens []uint8) (lzxCode, error) {
	empty := true
	for _, l := range lens {
		if l != 0 {
			empty = false
		}
	}
	if empty {
		return lzxCode{}, nil // an unused tree (the length tree may be)
	}
	h, err := newHuffman(lens)
	if err != nil {
		return lzxCode{}, errLZX
	}
	return lzxCode{h}, nil
}

// readLens reads code lengths first..last-1 as deltas from the previous
// block's, through a pretree (lzxd_read_lens).
func (b *lzxBits) readLens(lens []uint8, first, last int) error {
	var pl [20]uint8
	for i := range pl {
		pl[i] = uint8(b.get(4))
	}
	pre, err := lzxTree(pl[:])
	if err != nil {
		return err
	}
	for x := first; x < last; {
		z := pre.decode(b)
		switch {
		case z < 0:
			return errLZX
		case z == 17, z == 18:
			var y int
			if z == 17 {
				y = int(b.get(4)) + 4
			} else {
				y = int(b.get(5)) + 20
			}
			for ; y > 0 && x < last; y-- {
				lens[x] = 0
				x++
			}
		case z == 19:
			y := int(b.get(1)) + 4
			z = pre.decode(b)
			if z < 0 || z > 16 {
				return errLZX
			}
			v := (int(lens[x]) - z + 17) % 17
			for ; y > 0 && x < last; y-- {
				lens[x] = uint8(v)
				x++
			}
		default:
			lens[x] = uint8((int(lens[x]) - z + 17) % 17)
			x++
		}
	}
	return nil
}

// newLZX decodes a folder's LZX stream (the CFDATA payloads one after
// the other) into size bytes, with a window of 2^windowBits.
func newLZX(r io.ByteReader, windowBits uint, size int64) (io.Reader, error) {
	return newLZXReset(r, windowBits, size, 0)
}

// newLZXReset is newLZX for a stream whose state resets every
// resetFrames frames (CHM; 0: never): the trees' lengths, the repeated
// offsets and the E8 header start again.
func newLZXReset(r io.ByteReader, windowBits uint, size int64, resetFrames int64) (io.Reader, error) {
	if windowBits < 15 || windowBits > 21 {
		return nil, errLZX
	}
	slots := map[uint]int{15: 30, 16: 32, 17: 34, 18: 36, 19: 38, 20: 42, 21: 50}[windowBits]
	b := &lzxBits{r: r}
	win := newWindow(1 << windowBits)
	var (
		mainLens   = make([]uint8, 256+slots*8)
		lengthLens = make([]uint8, 249)
		mainTree   lzxCode
		lengthTree lzxCode
		aligned    lzxCode
		blockType  uint32
		blockLeft  int
		blockLen   int
		r0, r1, r2 = 1, 1, 1
		intel      int32
		started    bool // the header is read
		intelOn    bool
		out        int64 // bytes made, all frames
		frameLeft  = int(min(size, lzxFrame))
		frame      []byte
	)
	frames := int64(0)
	step := func() (bool, error) {
		if resetFrames > 0 && frames > 0 && frames%resetFrames == 0 {
			if blockLeft != 0 {
				return false, errLZX // a block may not span a reset
			}
			clear(mainLens)
			clear(lengthLens)
			r0, r1, r2 = 1, 1, 1
			started, intel, intelOn = false, 0, false
		}
		frames++
		if !started {
			started = true
			if b.get(1) == 1 {
				intel = int32(b.get(16)<<16 | b.get(16))
			}
		}
		start := len(win.out)
		for frameLeft > 0 {
			if blockLeft == 0 {
				blockType = b.get(3)
				blockLeft = int(b.get(16)<<8 | b.get(8))
				blockLen = blockLeft
				switch blockType {
				case 2:
					var al [8]uint8
					for i := range al {
						al[i] = uint8(b.get(3))
					}
					var err error
					if aligned, err = lzxTree(al[:]); err != nil {
						return false, err
					}
					fallthrough
				case 1:
					if err := b.readLens(mainLens, 0, 256); err != nil {
						return false, err
					}
					if err := b.readLens(mainLens, 256, len(mainLens)); err != nil {
						return false, err
					}
					var err error
					if mainTree, err = lzxTree(mainLens); err != nil {
						return false, err
					}
					if mainLens[0xe8] != 0 {
						intelOn = true
					}
					if err := b.readLens(lengthLens, 0, 249); err != nil {
						return false, err
					}
					if lengthTree, err = lzxTree(lengthLens); err != nil {
						return false, err
					}
				case 3:
					intelOn = true
					// Align to the next word; a word already read whole
					// belongs to the block.
					if b.n == 0 {
						b.word()
					}
					if b.n > 16 {
						w := uint16(b.buf)
						b.push = []byte{byte(w), byte(w >> 8)}
					}
					b.n, b.buf = 0, 0
					var rs [12]byte
					for i := range rs {
						c, err := b.rawByte()
						if err != nil {
							return false, err
						}
						rs[i] = c
					}
					r0 = int(binary.LittleEndian.Uint32(rs[0:]))
					r1 = int(binary.LittleEndian.Uint32(rs[4:]))
					r2 = int(binary.LittleEndian.Uint32(rs[8:]))
				default:
					return false, errLZX
				}
				if blockLeft == 0 {
					return false, errLZX
				}
			}
			if b.overrun > 2 {
				return false, io.ErrUnexpectedEOF
			}
			if blockType == 3 {
				c, err := b.rawByte()
				if err != nil {
					return false, err
				}
				win.lit(c)
				blockLeft--
				frameLeft--
				if blockLeft == 0 && blockLen%2 == 1 {
					b.rawByte() // an odd-sized block is padded to a word
				}
				continue
			}
			sym := mainTree.decode(b)
			if sym < 0 {
				return false, errLZX
			}
			if sym < 256 {
				win.lit(byte(sym))
				blockLeft--
				frameLeft--
				continue
			}
			sym -= 256
			n := sym & 7
			if n == 7 {
				l := lengthTree.decode(b)
				if l < 0 {
					return false, errLZX
				}
				n += l
			}
			n += 2
			slot := sym >> 3
			var off int
			switch {
			case slot == 0:
				off = r0
			case slot == 1:
				off, r1, r0 = r1, r0, r1
			case slot == 2:
				off, r2, r0 = r2, r0, r2
			default:
				extra := uint(lzxExtraBits[min(slot, 50)])
				off = int(lzxPositionBase[min(slot, 50)]) - 2
				if blockType == 2 {
					switch {
					case extra > 3:
						off += int(b.get(extra-3)) << 3
						a := aligned.decode(b)
						if a < 0 {
							return false, errLZX
						}
						off += a
					case extra == 3:
						a := aligned.decode(b)
						if a < 0 {
							return false, errLZX
						}
						off += a
					case extra > 0:
						off += int(b.get(extra))
					default:
						off = 1
					}
				} else if slot == 3 {
					off = 1
				} else {
					off += int(b.get(extra))
				}
				r2, r1, r0 = r1, r0, off
			}
			if off < 1 || n > frameLeft+257 {
				return false, errLZX
			}
			if err := win.match(off, n, false); err != nil {
				return false, err
			}
			blockLeft -= n
			frameLeft -= n
			if frameLeft < 0 || blockLeft < 0 {
				// A match may not run past its frame or its block.
				return false, errLZX
			}
		}
		// The frame is done: undo the E8 translation, realign.
		frame = win.out[start:]
		if intelOn && intel != 0 && len(frame) > 10 && out < 1<<30 {
			for i := 0; i < len(frame)-10; i++ {
				if frame[i] != 0xe8 {
					continue
				}
				cur := int32(out) + int32(i)
				abs := int32(binary.LittleEndian.Uint32(frame[i+1:]))
				if abs >= -cur && abs < intel {
					rel := abs + intel
					if abs >= 0 {
						rel = abs - cur
					}
					binary.LittleEndian.PutUint32(frame[i+1:], uint32(rel))
				}
				i += 4
			}
		}
		out += int64(len(frame))
		b.align()
		frameLeft = int(min(size-out, lzxFrame))
		return frameLeft == 0, nil
	}
	return &lzReader{win: win, step: step}, nil
}
