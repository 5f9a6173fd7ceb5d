package policy

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// minimalPE is the start of a Windows executable: a DOS header whose
// e_lfanew points at a PE signature and a COFF header (i386, no sections),
// enough for content sniffing (gabriel-vasile/mimetype reads "MZ") and for
// a reader that follows e_lfanew.
func minimalPE() []byte {
	b := make([]byte, 0x40+4+20)
	copy(b, "MZ")
	binary.LittleEndian.PutUint16(b[2:], 0x90)    // bytes on last page
	binary.LittleEndian.PutUint16(b[4:], 3)       // pages
	binary.LittleEndian.PutUint16(b[8:], 4)       // header paragraphs
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40) // e_lfanew
	copy(b[0x40:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x44:], 0x14c) // Machine: i386
	binary.LittleEndian.PutUint16(b[0x44+18:], 0x0102)
	return append(b, []byte("This program cannot be run in DOS mode.\r\n")...)
}

type zipFile struct {
	name string
	data []byte
}

// makeZip writes a plain zip of stored members.
func makeZip(t testing.TB, files ...zipFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeEncryptedZip writes a zip whose one member is encrypted with the
// traditional PKWARE cipher (APPNOTE.TXT section 6.1), password given:
// what a "password-protected" attachment is.
func makeEncryptedZip(t testing.TB, name string, data []byte, password string) []byte {
	t.Helper()
	k := zipCrypto{0x12345678, 0x23456789, 0x34567890}
	for _, c := range []byte(password) {
		k.update(c)
	}
	crc := crc32.ChecksumIEEE(data)
	// 12-byte encryption header: 11 arbitrary bytes (fixed here, so the
	// test is reproducible) and the high byte of the CRC (6.1.6).
	head := []byte{0x1f, 0x8b, 0x33, 0x42, 0x99, 0x01, 0x7e, 0x5a, 0xc3, 0x10, 0x2d, byte(crc >> 24)}
	plain := append(head, data...)
	enc := make([]byte, len(plain))
	for i, c := range plain {
		enc[i] = c ^ k.stream()
		k.update(c)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, Flags: 0x1, CRC32: crc,
		CompressedSize64: uint64(len(enc)), UncompressedSize64: uint64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(enc)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zipCrypto [3]uint32

func (k *zipCrypto) update(c byte) {
	k[0] = crc32.IEEETable[byte(k[0])^c] ^ (k[0] >> 8)
	k[1] = (k[1]+k[0]&0xff)*134775813 + 1
	k[2] = crc32.IEEETable[byte(k[2])^byte(k[1]>>24)] ^ (k[2] >> 8)
}

func (k *zipCrypto) stream() byte {
	t := uint16(k[2] | 2)
	return byte((uint32(t) * uint32(t^1)) >> 8)
}

// TNEF attribute ids (MS-OXTNEF 2.1.3.1): level 2 (attachment).
const (
	tnefAttachRendData = 0x00069002
	tnefAttachTitle    = 0x00018010
	tnefAttachData     = 0x0006800f
)

// makeTNEF writes a TNEF stream carrying the files: per file
// attAttachRendData (which starts an attachment), attAttachTitle with the
// name (8-bit, NUL-terminated) and attAttachData with the content. Each
// attribute is level, id, length (LE), data, checksum (sum of the data
// bytes mod 65536); the stream starts with the signature and a key.
func makeTNEF(files ...zipFile) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(0x223e9f78))
	binary.Write(&b, binary.LittleEndian, uint16(0x0001))
	attr := func(id uint32, data []byte) {
		b.WriteByte(0x02)
		binary.Write(&b, binary.LittleEndian, id)
		binary.Write(&b, binary.LittleEndian, uint32(len(data)))
		b.Write(data)
		var sum uint16
		for _, c := range data {
			sum += uint16(c)
		}
		binary.Write(&b, binary.LittleEndian, sum)
	}
	for _, f := range files {
		attr(tnefAttachRendData, make([]byte, 14)) // attachment type, position, rendering...
		attr(tnefAttachTitle, append([]byte(f.name), 0))
		attr(tnefAttachData, f.data)
	}
	return b.Bytes()
}
