package unpack

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// Encoded blocks inside text bodies. QUIRK: Thunderbird (libmime's
// MimeUntypedText) and Outlook Express open "begin NNN name" uuencoded
// blocks and "=ybegin" yEnc blocks found in plain text bodies as
// attachments, so we make them parts: a payload there is one click away.
// BinHex blocks likewise (binhex.go).

// blockSink receives the blocks found by scanBlocks.
type blockSink interface {
	// begin starts a block; a nil writer skips it (a limit).
	begin(origin Origin, name string) io.Writer
	// end closes the block with the problems found in it.
	end(problems []string) error
}

// maxBlockLine bounds the lines scanBlocks looks at: longer lines are
// not encoded data.
const maxBlockLine = 64 << 10

// scanBlocks finds uuencoded and yEnc blocks in text and decodes each
// into the writer sink.begin returns. It returns the first error of the
// sink (a write error on the temporary file), or a read error of r.
func scanBlocks(r io.Reader, sink blockSink) error { return scanBlocksBegin(r, sink, uuBegin) }

// scanBlocksBegin is scanBlocks with begin recognising the first line of
// a uuencoded block.
func scanBlocksBegin(r io.Reader, sink blockSink, begin func([]byte) (string, bool)) error {
	br := bufio.NewReaderSize(r, maxBlockLine)
	var (
		inBlock Origin
		w       io.Writer
		probs   []string
		skip    bool // inside a line too long to matter
		buf     []byte
		uuEnded bool // saw the zero-length line of uuencode
		ysize   int64
		ygot    int64
		bh      *binhexBlock
	)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			skip = true
			continue
		}
		if skip {
			// The tail of an overlong line.
			skip = false
			if err != nil {
				break
			}
			continue
		}
		if len(line) == 0 && err != nil {
			if err != io.EOF {
				return err
			}
			break
		}
		t := bytes.TrimRight(line, "\r\n")
		switch inBlock {
		case "":
			if name, ok := begin(t); ok {
				inBlock, w, probs, uuEnded = OriginUUEncode, sink.begin(OriginUUEncode, name), nil, false
			} else if bytes.HasPrefix(t, []byte("=ybegin ")) {
				name, size := yBegin(t)
				inBlock, w, probs, ysize, ygot = OriginYEnc, sink.begin(OriginYEnc, name), nil, size, 0
			} else if isBinhexStart(t) {
				inBlock, bh = OriginBinHex, &binhexBlock{sink: sink}
			}
		case OriginBinHex:
			if bh.feed(t) {
				inBlock = ""
				if err := bh.finish(false); err != nil {
					return err
				}
			}
		case OriginUUEncode:
			if bytes.Equal(bytes.TrimRight(t, " \t"), []byte("end")) {
				if err := sink.end(probs); err != nil {
					return err
				}
				inBlock = ""
				break
			}
			if uuEnded {
				if len(bytes.TrimSpace(t)) > 0 {
					probs = append(probs, "text between the last data line and \"end\"")
				}
				break
			}
			var bad bool
			buf, bad = uuDecodeLine(buf[:0], t)
			if bad && len(probs) < 10 {
				probs = append(probs, "malformed data line")
			}
			if len(t) > 0 && (t[0] == '`' || t[0] == ' ') && len(buf) == 0 {
				uuEnded = true
			}
			if w != nil && len(buf) > 0 {
				if _, err := w.Write(buf); err != nil {
					w = nil // a limit: the rest is skipped
				}
			}
		case OriginYEnc:
			if bytes.HasPrefix(t, []byte("=yend")) {
				if ysize >= 0 && ygot != ysize {
					probs = append(probs, fmt.Sprintf("=yend after %d bytes, header said %d", ygot, ysize))
				}
				if err := sink.end(probs); err != nil {
					return err
				}
				inBlock = ""
				break
			}
			if bytes.HasPrefix(t, []byte("=ypart ")) {
				break
			}
			buf = yDecodeLine(buf[:0], t)
			ygot += int64(len(buf))
			if w != nil && len(buf) > 0 {
				if _, err := w.Write(buf); err != nil {
					w = nil
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				return err
			}
			break
		}
	}
	if inBlock == OriginBinHex {
		return bh.finish(true)
	}
	if inBlock != "" {
		return sink.end(append(probs, "the text ends inside the block"))
	}
	return nil
}

// uuBegin recognises "begin MODE NAME" with an octal mode of 3 or 4
// digits (the form uuencode(1) writes and Thunderbird looks for).
func uuBegin(t []byte) (string, bool) {
	if len(t) < 6 || !bytes.EqualFold(t[:5], []byte("begin")) {
		return "", false
	}
	rest := t[5:]
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	// QUIRK: ripmime takes "BEGIN" in any case, tabs, and several
	// blanks between the fields.
	rest = bytes.TrimLeft(rest, " \t")
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '7' {
		i++
	}
	if i < 3 || i > 4 || i >= len(rest) || (rest[i] != ' ' && rest[i] != '\t') {
		return "", false
	}
	name := bytes.TrimSpace(rest[i+1:])
	if len(name) == 0 {
		return "", false
	}
	return string(name), true
}

// uuBeginLoose recognises the begin line of a part whose
// Content-Transfer-Encoding ripmime reads as uuencode
// (UUENCODE_decode_uu): "begin" in any case followed by white space (not
// a colon), whatever comes after ("begin report.pdf", no mode; the name
// is the part's own).
func uuBeginLoose(t []byte) (string, bool) {
	if len(t) < 5 || !bytes.EqualFold(t[:5], []byte("begin")) {
		return "", false
	}
	if len(t) > 5 && t[5] != ' ' && t[5] != '\t' && t[5] != '\v' && t[5] != '\f' {
		return "", false
	}
	return string(bytes.TrimSpace(t[5:])), true
}

// uuDecodeLine appends the bytes of one uuencoded line to dst. The first
// character gives the count; each group of four characters gives three
// bytes (a backtick stands for a space, value 0). bad reports a line too
// short for its count or with characters outside the range.
func uuDecodeLine(dst, t []byte) ([]byte, bool) {
	if len(t) == 0 {
		return dst, false
	}
	n := int((t[0] - ' ') & 63)
	data := t[1:]
	bad := false
	var group [4]byte
	got := 0
	for i := 0; got < n; i += 4 {
		for j := 0; j < 4; j++ {
			c := byte('`')
			if i+j < len(data) {
				c = data[i+j]
			} else {
				bad = true
			}
			if c < ' ' || c > '`' {
				bad = true
			}
			group[j] = (c - ' ') & 63
		}
		b := [3]byte{group[0]<<2 | group[1]>>4, group[1]<<4 | group[2]>>2, group[2]<<6 | group[3]}
		k := min(3, n-got)
		dst = append(dst, b[:k]...)
		got += k
		if i+4 >= len(data) && got < n {
			bad = true
			break
		}
	}
	return dst, bad
}

// yBegin reads the name and size of an "=ybegin" line. The name is the
// rest of the line after "name=" (yEnc 1.3: it is the last parameter).
func yBegin(t []byte) (name string, size int64) {
	size = -1
	if i := bytes.Index(t, []byte(" name=")); i >= 0 {
		name = string(bytes.TrimSpace(t[i+6:]))
	}
	if i := bytes.Index(t, []byte(" size=")); i >= 0 {
		v := t[i+6:]
		if j := bytes.IndexByte(v, ' '); j >= 0 {
			v = v[:j]
		}
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n >= 0 {
			size = n
		}
	}
	return name, size
}

// yDecodeLine appends the bytes of one yEnc data line to dst: each byte
// minus 42, "=" escaping the next byte (minus 64 more).
func yDecodeLine(dst, t []byte) []byte {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == '=' && i+1 < len(t) {
			i++
			c = t[i] - 64
		}
		dst = append(dst, c-42)
	}
	return dst
}

// uuDecodeBody decodes a body with Content-Transfer-Encoding x-uuencode
// into w: the data of its first block, which starts at a begin line
// uuBegin recognises, or with loose any line uuBeginLoose does. looser
// reports (without loose) a line uuBeginLoose takes and uuBegin does not
// before the first block: a reader that starts at any begin line
// (dialect.uuLoose) decodes otherwise.
func uuDecodeBody(r io.Reader, w io.Writer, p *Part, loose bool) (looser bool, err error) {
	c := &firstBlock{w: w}
	begin := func(t []byte) (string, bool) {
		name, ok := uuBegin(t)
		if !ok && !c.found && !looser {
			_, looser = uuBeginLoose(t)
		}
		return name, ok
	}
	if loose {
		begin = uuBeginLoose
	}
	err = scanBlocksBegin(r, c, begin)
	if !c.found {
		p.addProblem(KindEncoding, "x-uuencode body without a begin line")
	}
	for _, pr := range c.probs {
		p.addProblem(KindEncoding, "uuencode: %s", pr)
	}
	if c.err != nil {
		return looser, c.err
	}
	return looser, err
}

// firstBlock is a blockSink that takes the first block only.
type firstBlock struct {
	w     io.Writer
	found bool
	probs []string
	err   error
}

func (f *firstBlock) begin(_ Origin, _ string) io.Writer {
	if f.found {
		return nil
	}
	f.found = true
	return writerFunc(func(b []byte) (int, error) {
		n, err := f.w.Write(b)
		if err != nil && f.err == nil {
			f.err = err
		}
		return n, err
	})
}

func (f *firstBlock) end(probs []string) error {
	if f.probs == nil {
		f.probs = probs
	}
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
