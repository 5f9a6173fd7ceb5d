package policy

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
)

// containerSamples hide EICAR, under the harmless name data.txt, in each
// container added for issue 11 §5, made here byte by byte (fixtures in
// git never hold EICAR).
func containerSamples(t *testing.T) map[string][]byte {
	e := builtin.Eicar()
	le := binary.LittleEndian
	out := map[string][]byte{}

	// cpio, newc.
	var c bytes.Buffer
	for _, f := range []struct {
		name string
		data []byte
	}{{"data.txt", e}, {"TRAILER!!!", nil}} {
		fmt.Fprintf(&c, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", 1, 0o100644, 0, 0, 1, 0, len(f.data), 0, 0, 0, 0, len(f.name)+1, 0)
		c.WriteString(f.name + "\x00")
		for c.Len()%4 != 0 {
			c.WriteByte(0)
		}
		c.Write(f.data)
		for c.Len()%4 != 0 {
			c.WriteByte(0)
		}
	}
	out["cpio"] = c.Bytes()

	// ar.
	out["ar"] = []byte(fmt.Sprintf("!<arch>\n%-16s%-12d%-6d%-6d%-8o%-10d`\n%s", "data.txt/", 0, 0, 0, 0o644, len(e), e))

	// cab, one stored folder.
	var cab bytes.Buffer
	table := append(le.AppendUint32(le.AppendUint32(nil, uint32(len(e))), 0), 0, 0, 0, 0, 0, 0, 0, 0)
	table = append(table, "data.txt\x00"...)
	dataAt := 36 + 8 + len(table)
	cab.WriteString("MSCF\x00\x00\x00\x00")
	binary.Write(&cab, le, uint32(dataAt+8+len(e)))
	binary.Write(&cab, le, uint32(0))
	binary.Write(&cab, le, uint32(36+8))
	binary.Write(&cab, le, uint32(0))
	cab.Write([]byte{3, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	binary.Write(&cab, le, uint32(dataAt))
	cab.Write([]byte{1, 0, 0, 0})
	cab.Write(table)
	binary.Write(&cab, le, uint32(0))
	binary.Write(&cab, le, uint16(len(e)))
	binary.Write(&cab, le, uint16(len(e)))
	cab.Write(e)
	out["cab"] = cab.Bytes()

	// arj, stored.
	var arj bytes.Buffer
	hdr := func(ftype byte, name string, data []byte) {
		h := []byte{30, 11, 1, 2, 0, 0, ftype, 0, 0, 0, 0, 0}
		h = le.AppendUint32(h, uint32(len(data)))
		h = le.AppendUint32(h, uint32(len(data)))
		h = le.AppendUint32(h, crc32.ChecksumIEEE(data))
		h = append(h, 0, 0, 0, 0, 0, 0)
		h = append(h, name+"\x00\x00"...)
		arj.Write([]byte{0x60, 0xea})
		binary.Write(&arj, le, uint16(len(h)))
		arj.Write(h)
		binary.Write(&arj, le, crc32.ChecksumIEEE(h))
		arj.Write([]byte{0, 0})
		arj.Write(data)
	}
	hdr(2, "a.arj", nil)
	hdr(0, "data.txt", e)
	arj.Write([]byte{0x60, 0xea, 0, 0})
	out["arj"] = arj.Bytes()

	// LHA, a level 0 header, stored.
	var crc uint16
	for _, x := range e {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xa001
			} else {
				crc >>= 1
			}
		}
	}
	h := le.AppendUint32(le.AppendUint32([]byte("-lh0-"), uint32(len(e))), uint32(len(e)))
	h = append(h, 0, 0, 0, 0, 0x20, 0, 8)
	h = le.AppendUint16(append(h, "data.txt"...), crc)
	var sum byte
	for _, x := range h {
		sum += x
	}
	out["lha"] = append(append(append([]byte{byte(len(h)), sum}, h...), e...), 0)

	// SZDD (COMPRESS.EXE), literals only.
	sz := le.AppendUint32([]byte("SZDD\x88\xf0\x27\x33A_"), uint32(len(e)))
	for i := 0; i < len(e); i += 8 {
		chunk := e[i:min(i+8, len(e))]
		sz = append(append(sz, byte(0xff>>(8-len(chunk)))), chunk...)
	}
	out["szdd"] = sz

	// Unix compress (.Z), one 9-bit code per byte.
	z := []byte{0x1f, 0x9d, 0x90}
	var acc uint64
	var n uint
	for _, x := range e {
		acc |= uint64(x) << n
		n += 9
		for n >= 8 {
			z = append(z, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	if n > 0 {
		z = append(z, byte(acc))
	}
	out["compress"] = z

	// A zip behind a self-extractor's stub.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("data.txt")
	w.Write(e)
	zw.Close()
	stub := append([]byte("MZ\x90\x00"), bytes.Repeat([]byte("This program cannot be run in DOS mode.\x00"), 2000)...)
	out["sfx-zip"] = append(stub, zb.Bytes()...)
	return out
}

// TestContainersDeliver delivers a message with EICAR in each container
// of issue 11 §5 (and BinHex in a text body) through the binary with the
// builtin engine: each is found infected, the attachment is not
// delivered, the message is (exit 0). Before, these containers were
// delivered "clean" with EICAR inside.
func TestContainersDeliver(t *testing.T) {
	samples := containerSamples(t)
	msgs := map[string][]byte{}
	for name, data := range samples {
		msgs[name] = mixed("files", attachment("application/octet-stream", "archive.bin", data))
	}
	msgs["binhex-in-text"] = []byte("From: Alice <alice@example.org>\nTo: Bob <bob@example.net>\nSubject: mac\n" +
		"Message-ID: <binhex@example.org>\n\nHere it is:\n\n" + binhexOf("data.txt", builtin.Eicar()) + "\nbye\n")
	for name, msg := range msgs {
		t.Run(name, func(t *testing.T) {
			b := newBox(t, "")
			r := b.deliver(t, msg, "alice@example.org")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			d := b.delivered(t)
			if len(d) != 1 {
				t.Fatalf("%d messages delivered", len(d))
			}
			if !bytes.Contains(d[0].data, []byte("X-Scandeliver-Status: infected")) {
				t.Errorf("not found infected:\n%s", d[0].data[:min(len(d[0].data), 600)])
			}
			if data, ok := samples[name]; ok && bytes.Contains(d[0].data, []byte(strings.Split(wrap64(data), "\n")[0])) {
				t.Errorf("the container was delivered")
			}
		})
	}
}

// binhexOf encodes a file as BinHex 4.0 (no runs, zero CRCs).
func binhexOf(name string, data []byte) string {
	const chars = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"
	raw := append([]byte{byte(len(name))}, name...)
	raw = append(raw, 0)
	raw = append(raw, "TEXTttxt\x00\x00"...)
	raw = binary.BigEndian.AppendUint32(raw, uint32(len(data)))
	raw = binary.BigEndian.AppendUint32(raw, 0)
	raw = append(append(append(raw, 0, 0), data...), 0, 0, 0, 0)
	var enc strings.Builder
	var acc uint32
	var n uint
	for _, c := range bytes.ReplaceAll(raw, []byte{0x90}, []byte{0x90, 0}) {
		acc = acc<<8 | uint32(c)
		for n += 8; n >= 6; {
			n -= 6
			enc.WriteByte(chars[acc>>n&63])
		}
	}
	if n > 0 {
		enc.WriteByte(chars[acc<<(6-n)&63])
	}
	s := ":" + enc.String() + ":"
	var out strings.Builder
	out.WriteString("(This file must be converted with BinHex 4.0)\n")
	for len(s) > 64 {
		out.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	return out.String() + s + "\n"
}
