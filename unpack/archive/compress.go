package archive

import (
	"bufio"
	"errors"
	"io"
)

// Unix compress (.Z), which gzip -d, uncompress and 7-Zip open: a 3-byte
// header (1F 9D, then the largest code size and the block-mode flag) and
// LZW codes of 9 to 16 bits, read least significant bit first. The code
// size grows, and block mode's CLEAR code resets it, at the end of a
// group of eight codes; written after gzip's unlzw.c.

var errCompress = errors.New("invalid compress data")

func newCompress(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReader(r)
	var h [3]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, "", io.ErrUnexpectedEOF
	}
	if h[0] != 0x1f || h[1] != 0x9d {
		return nil, "", errCompress
	}
	maxBits := uint(h[2] & 0x1f)
	block := h[2]&0x80 != 0
	if maxBits < 9 || maxBits > 16 {
		return nil, "", errCompress
	}
	bits := &bitReader{r: br}
	var (
		prefix   [1 << 16]uint16
		suffix   [1 << 16]byte
		stack    = make([]byte, 0, 1<<16)
		nBits    = uint(9)
		maxCode  = 1<<nBits - 1
		maxMax   = 1 << maxBits
		free     = 256
		oldCode  = -1
		finChar  byte
		read     int64 // bits read since the code size began
		out      = &window4k{}
		finished bool
	)
	if block {
		free = 257
	}
	for i := range 256 {
		suffix[i] = byte(i)
	}
	// align skips to the end of the current group of eight codes.
	align := func() {
		group := int64(nBits) * 8
		if rem := read % group; rem != 0 {
			for skip := group - rem; skip > 0; skip-- {
				bits.get(1)
			}
		}
		read = 0
	}
	step := func() (bool, error) {
		for len(out.buf) < outChunk && !finished {
			if free > maxCode && nBits < 16 {
				align()
				nBits++
				if nBits == maxBits {
					maxCode = maxMax
				} else {
					maxCode = 1<<nBits - 1
				}
			}
			code := int(bits.get(nBits))
			if bits.err != nil {
				// A last code cut short is the end, as unlzw.c reads it.
				return true, nil
			}
			read += int64(nBits)
			if oldCode == -1 {
				if code >= 256 {
					return false, errCompress
				}
				oldCode, finChar = code, byte(code)
				out.buf = append(out.buf, finChar)
				continue
			}
			if code == 256 && block {
				align()
				free, nBits, maxCode = 256, 9, 1<<9-1
				continue
			}
			inCode := code
			stack = stack[:0]
			if code >= free {
				if code > free {
					return false, errCompress
				}
				stack = append(stack, finChar)
				code = oldCode
			}
			for code >= 256 {
				stack = append(stack, suffix[code])
				code = int(prefix[code])
			}
			finChar = suffix[code]
			stack = append(stack, finChar)
			for i := len(stack) - 1; i >= 0; i-- {
				out.buf = append(out.buf, stack[i])
			}
			if free < maxMax {
				prefix[free], suffix[free] = uint16(oldCode), finChar
				free++
			}
			oldCode = inCode
		}
		return finished, nil
	}
	return io.NopCloser(&szddReader{out: out, step: step}), "", nil
}
