package unpack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// BinHex 4.0 (RFC 1741, and the format notes of Peter Lewis's BinHex
// 4.0 definition), the Macintosh encoding that Eudora, StuffIt Expander
// and The Unarchiver open, and that arrives as application/mac-binhex40
// or inside a text body. QUIRK: like uuencode, a BinHex block in a plain
// text body is a file one click away, so it becomes a part wherever it
// stands.

// binhexMarker opens a BinHex block; the data starts at the next ':'.
var binhexMarker = []byte("(This file must be converted with BinHex")

// binhexAlphabet maps the 64 characters of BinHex 4.0 to their values.
var binhexAlphabet = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i, c := range "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr" {
		t[c] = int8(i)
	}
	return t
}()

// binhexBlock decodes one BinHex block fed line by line: 6-bit
// characters, then run-length decoding (0x90), then the header (name,
// type, creator, flags, fork lengths), the data fork and the resource
// fork. Each non-empty fork becomes a block of sink (the resource fork
// named NAME.rsrc). It never holds more than the header in memory.
// todo: the CRCs are not checked (a reader refuses a bad one; scanning
// the bytes anyway is on the safe side).
type binhexBlock struct {
	sink    blockSink
	started bool // saw the opening ':'
	ended   bool // saw the closing ':'
	acc     uint32
	nbits   uint
	last    byte // previous byte out of the 6-bit stage, for runs
	marker  bool // the previous byte was 0x90
	hdr     []byte
	name    string
	forks   [2]int64 // data, resource lengths
	fork    int      // 0 header, 1 data, 2 data CRC, 3 resource, 4 resource CRC, 5 done
	left    int64
	w       io.Writer
	open    bool // a sink block is begun
	probs   []string
	err     error
	garbage bool // a character outside the alphabet was seen
}

// feed decodes the characters of one line; it returns true once the
// closing ':' is seen.
func (b *binhexBlock) feed(line []byte) bool {
	for _, c := range line {
		if b.ended || b.err != nil {
			return true
		}
		if !b.started {
			b.started = c == ':'
			continue
		}
		if c == ':' {
			b.ended = true
			return true
		}
		v := binhexAlphabet[c]
		if v < 0 {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' && !b.garbage {
				b.garbage = true
				b.probs = append(b.probs, fmt.Sprintf("character %q outside the BinHex alphabet", c))
			}
			continue
		}
		b.acc = b.acc<<6 | uint32(v)
		b.nbits += 6
		if b.nbits >= 8 {
			b.nbits -= 8
			b.rle(byte(b.acc >> b.nbits))
		}
	}
	return b.ended
}

// rle undoes the run-length encoding: 0x90 n repeats the byte before it
// n times in all (n = 0 is a literal 0x90).
func (b *binhexBlock) rle(c byte) {
	switch {
	case b.marker:
		b.marker = false
		if c == 0 {
			b.last = 0x90
			b.out(0x90)
			return
		}
		for i := 1; i < int(c); i++ {
			b.out(b.last)
		}
	case c == 0x90:
		b.marker = true
	default:
		b.last = c
		b.out(c)
	}
}

// out takes one decoded byte into the header, a fork or a CRC.
func (b *binhexBlock) out(c byte) {
	switch b.fork {
	case 0:
		b.hdr = append(b.hdr, c)
		n := int(b.hdr[0])
		if n < 1 || n > 63 {
			b.probs = append(b.probs, fmt.Sprintf("malformed header: name of %d bytes", n))
			// Not a header a reader takes: keep the bytes whole.
			b.begin("")
			b.fork, b.left = 1, 1<<62
			b.write(b.hdr)
			return
		}
		// name, version, type, creator, flags, data and resource
		// lengths, header CRC
		if len(b.hdr) < 1+n+1+4+4+2+4+4+2 {
			return
		}
		b.name = string(b.hdr[1 : 1+n])
		f := b.hdr[1+n+1+4+4+2:]
		b.forks = [2]int64{int64(binary.BigEndian.Uint32(f)), int64(binary.BigEndian.Uint32(f[4:]))}
		b.next(1)
	case 1, 3:
		b.write([]byte{c})
		b.left--
		if b.left == 0 {
			b.next(b.fork + 1)
		}
	case 2, 4:
		b.left--
		if b.left == 0 {
			b.next(b.fork + 1)
		}
	}
}

// next moves to fork state f, skipping empty forks.
func (b *binhexBlock) next(f int) {
	for {
		b.fork = f
		switch f {
		case 1, 3:
			b.left = b.forks[(f-1)/2]
			if b.left == 0 {
				f++
				continue
			}
			name := b.name
			if f == 3 {
				name += ".rsrc"
			}
			b.begin(name)
		case 2, 4:
			if b.open {
				b.end()
			}
			b.left = 2
		}
		return
	}
}

func (b *binhexBlock) begin(name string) {
	b.w, b.open = b.sink.begin(OriginBinHex, name), true
}

func (b *binhexBlock) end() {
	if !b.open {
		return
	}
	b.open = false
	probs := b.probs
	b.probs = nil
	if err := b.sink.end(probs); err != nil && b.err == nil {
		b.err = err
	}
}

func (b *binhexBlock) write(p []byte) {
	if b.w != nil {
		if _, err := b.w.Write(p); err != nil {
			b.w = nil // a limit: the rest is skipped
		}
	}
}

// finish closes the block; cut says the text ended inside it.
func (b *binhexBlock) finish(cut bool) error {
	switch {
	case cut || !b.ended:
		b.probs = append(b.probs, "the text ends inside the block")
	case b.fork == 0:
		b.probs = append(b.probs, "the block ends inside the header")
	case b.fork < 4:
		// The forks and their CRCs end at state 5; the resource CRC
		// (state 4) is left out by some encoders.
		b.probs = append(b.probs, "the block ends before the forks it declares")
	}
	if !b.open && len(b.probs) > 0 && b.fork == 0 {
		// Nothing decoded to a part: the problems go on an empty one,
		// so that they are seen.
		b.begin(b.name)
		b.write(b.hdr)
	}
	b.end()
	return b.err
}

// isBinhexStart reports whether a text line opens a BinHex block.
func isBinhexStart(t []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(t, " \t"), binhexMarker)
}
