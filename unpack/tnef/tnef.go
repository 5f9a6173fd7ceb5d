// Package tnef decodes application/ms-tnef (winmail.dat) attachments into
// the files and bodies they carry.
//
// The contract: Decode reads a TNEF stream (MS-OXTNEF) once, holding at
// most maxBytes of it in memory, and returns every attachment it finds
// with its name as declared (hostile data: never a path) and its content,
// plus the message body when the stream carries one (compressed RTF,
// HTML or plain text), marked Body. Malformed input is not an error: what
// could be decoded is returned with problems that start with a keyword
// ("corrupt: ", "truncated: ", "limit: ", "embedded: "). err is only for
// a failure to read r.
//
// Attachment names: PR_ATTACH_LONG_FILENAME (0x3707), else
// PR_ATTACH_FILENAME (0x3704), else attAttachTitle, else PR_DISPLAY_NAME
// (0x3001). Content: attAttachData, or PR_ATTACH_DATA_BIN (0x3701). An
// embedded message (PR_ATTACH_DATA_OBJ) is returned as an attachment
// holding the embedded TNEF stream, with an "embedded: " problem, for the
// caller to Decode again.
package tnef

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
)

// DefaultMaxBytes is used when Decode's maxBytes is zero or less.
const DefaultMaxBytes = 64 << 20

// Signature starts every TNEF stream (little-endian 0x223E9F78).
var Signature = []byte{0x78, 0x9f, 0x3e, 0x22}

// Attachment is one file (or body) carried by the TNEF stream.
type Attachment struct {
	Name string // as declared; may be empty
	Data []byte
	Body bool // the message body (body.rtf, body.html, body.txt), not a file
}

// TNEF attributes (MS-OXTNEF 2.1.3.1): the id in the low 16 bits.
const (
	attAttachData     = 0x800f
	attAttachTitle    = 0x8010
	attAttachRendData = 0x9002
	attMsgProps       = 0x9003
	attAttachment     = 0x9005
	attBody           = 0x800c
)

// MAPI property ids and types (MS-OXPROPS, MS-OXCDATA 2.11.1).
const (
	prAttachDataBin      = 0x3701
	prAttachFilename     = 0x3704
	prAttachLongFilename = 0x3707
	prDisplayName        = 0x3001
	prAttachMimeTag      = 0x370e
	prBody               = 0x1000
	prRTFCompressed      = 0x1009
	prHTML               = 0x1013

	ptShort    = 0x0002
	ptLong     = 0x0003
	ptFloat    = 0x0004
	ptDouble   = 0x0005
	ptCurrency = 0x0006
	ptAppTime  = 0x0007
	ptError    = 0x000a
	ptBoolean  = 0x000b
	ptObject   = 0x000d
	ptI8       = 0x0014
	ptString8  = 0x001e
	ptUnicode  = 0x001f
	ptSysTime  = 0x0040
	ptCLSID    = 0x0048
	ptBinary   = 0x0102
	mvFlag     = 0x1000
)

type decoder struct {
	atts     []Attachment
	problems []string
	cur      *att
	list     []*att
	body     []Attachment
}

type att struct {
	title, long, short, display string
	data                        []byte
	haveData                    bool
	embedded                    bool
}

func (d *decoder) problem(f string, a ...any) {
	if len(d.problems) < 100 {
		d.problems = append(d.problems, fmt.Sprintf(f, a...))
	}
}

// Decode reads the TNEF stream r (at most maxBytes of it) and returns the
// attachments and bodies it carries.
func Decode(r io.Reader, maxBytes int64) (atts []Attachment, problems []string, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	buf, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading tnef: %w", err)
	}
	d := &decoder{}
	if int64(len(buf)) > maxBytes {
		buf = buf[:maxBytes]
		d.problem("limit: tnef stream larger than %d bytes, decoded the first %d", maxBytes, maxBytes)
	}
	d.decode(buf)
	for _, a := range d.list {
		name := firstNonEmpty(a.long, a.short, a.title, a.display)
		at := Attachment{Name: name, Data: a.data}
		if a.embedded {
			d.problem("embedded: attachment %q is an embedded message (TNEF)", name)
		}
		if !a.haveData && !a.embedded {
			d.problem("corrupt: attachment %q has no data", name)
			continue
		}
		d.atts = append(d.atts, at)
	}
	return append(d.atts, d.body...), d.problems, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (d *decoder) decode(b []byte) {
	if len(b) < 6 || !bytes.Equal(b[:4], Signature) {
		d.problem("corrupt: not a TNEF stream (no signature)")
		return
	}
	b = b[6:] // signature, legacy key
	for len(b) > 0 {
		if len(b) < 9 {
			d.problem("truncated: %d bytes after the last attribute", len(b))
			return
		}
		level := b[0]
		id := binary.LittleEndian.Uint32(b[1:5])
		n := binary.LittleEndian.Uint32(b[5:9])
		if level != 1 && level != 2 {
			// QUIRK: some writers pad or append junk after the last
			// attribute; what was decoded stands.
			d.problem("corrupt: bad attribute level %d; %d bytes ignored", level, len(b))
			return
		}
		if uint64(n)+11 > uint64(len(b)) {
			d.problem("truncated: attribute 0x%08x declares %d bytes, %d left", id, n, len(b)-9)
			n = uint32(len(b) - 9)
			d.attr(level, id, b[9:9+n])
			return
		}
		data := b[9 : 9+n]
		var sum uint16
		for _, c := range data {
			sum += uint16(c)
		}
		if got := binary.LittleEndian.Uint16(b[9+n:]); got != sum {
			d.problem("corrupt: attribute 0x%08x checksum 0x%04x, want 0x%04x", id, got, sum)
		}
		d.attr(level, id, data)
		b = b[11+n:]
	}
}

func (d *decoder) attr(level byte, id uint32, data []byte) {
	switch id & 0xffff {
	case attAttachRendData:
		// starts a new attachment (MS-OXTNEF 2.1.3.3.2)
		d.cur = &att{}
		d.list = append(d.list, d.cur)
	case attAttachTitle:
		d.attachment().title = cString(data)
	case attAttachData:
		a := d.attachment()
		a.data, a.haveData = data, true
	case attAttachment:
		d.props(data, d.attachment())
	case attMsgProps:
		d.props(data, nil)
	case attBody:
		if level == 1 {
			d.body = append(d.body, Attachment{Name: "body.txt", Data: data, Body: true})
		}
	}
}

// attachment returns the current attachment, starting one when data comes
// before attAttachRendData.
func (d *decoder) attachment() *att {
	if d.cur == nil {
		d.cur = &att{}
		d.list = append(d.list, d.cur)
	}
	return d.cur
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func utf16String(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

var errShort = errors.New("short property block")

// props decodes a MAPI property list (MS-OXTNEF 2.1.3.4); a is nil for the
// message's own properties.
func (d *decoder) props(b []byte, a *att) {
	p := &reader{b: b}
	count := p.u32()
	for i := uint32(0); i < count && p.err == nil; i++ {
		typ := p.u16()
		id := p.u16()
		if id >= 0x8000 { // named property: GUID, kind, id or name
			p.skip(16)
			if p.u32() == 0 {
				p.u32()
			} else {
				p.skip(pad4(p.u32()))
			}
		}
		values := uint32(1)
		base := typ &^ mvFlag
		if typ&mvFlag != 0 || base == ptString8 || base == ptUnicode || base == ptBinary || base == ptObject {
			values = p.u32()
		}
		if values > uint32(len(b)) {
			p.err = errShort
			break
		}
		for v := uint32(0); v < values && p.err == nil; v++ {
			var val []byte
			switch base {
			case ptShort, ptLong, ptFloat, ptError, ptBoolean:
				val = p.bytes(4)
			case ptDouble, ptCurrency, ptAppTime, ptI8, ptSysTime:
				val = p.bytes(8)
			case ptCLSID:
				val = p.bytes(16)
			case ptString8, ptUnicode, ptBinary, ptObject:
				n := p.u32()
				val = p.bytes(n)
				p.skip(pad4(n) - n)
			default:
				d.problem("corrupt: unknown MAPI property type 0x%04x; rest of the property list skipped", typ)
				return
			}
			if p.err == nil && v == 0 {
				d.prop(a, id, base, val)
			}
		}
	}
	if p.err != nil {
		d.problem("truncated: MAPI property list: %v", p.err)
	}
}

func pad4(n uint32) uint32 { return (n + 3) &^ 3 }

func str(typ uint16, v []byte) string {
	if typ == ptUnicode {
		return utf16String(v)
	}
	return cString(v)
}

func (d *decoder) prop(a *att, id, typ uint16, v []byte) {
	if a == nil {
		switch {
		case id == prRTFCompressed && typ == ptBinary:
			rtf, err := decompressRTF(v)
			if err != nil {
				d.problem("corrupt: compressed RTF body: %v", err)
				rtf = v
			}
			d.body = append(d.body, Attachment{Name: "body.rtf", Data: rtf, Body: true})
		case id == prHTML && (typ == ptBinary || typ == ptString8):
			d.body = append(d.body, Attachment{Name: "body.html", Data: v, Body: true})
		case id == prBody && (typ == ptString8 || typ == ptUnicode):
			d.body = append(d.body, Attachment{Name: "body.txt", Data: []byte(str(typ, v)), Body: true})
		}
		return
	}
	switch id {
	case prAttachLongFilename:
		if typ == ptString8 || typ == ptUnicode {
			a.long = str(typ, v)
		}
	case prAttachFilename:
		if typ == ptString8 || typ == ptUnicode {
			a.short = str(typ, v)
		}
	case prDisplayName:
		if typ == ptString8 || typ == ptUnicode {
			a.display = str(typ, v)
		}
	case prAttachDataBin:
		switch typ {
		case ptBinary:
			a.data, a.haveData = v, true
		case ptObject:
			// 16-byte interface id, then the object: for IID_IMessage an
			// embedded TNEF stream.
			if len(v) >= 16 {
				v = v[16:]
			}
			a.data, a.haveData, a.embedded = v, true, bytes.HasPrefix(v, Signature)
		}
	}
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n uint32) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)) {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) skip(n uint32) { r.bytes(n) }

func (r *reader) u32() uint32 {
	v := r.bytes(4)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

func (r *reader) u16() uint16 {
	v := r.bytes(2)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(v)
}
