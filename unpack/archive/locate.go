package archive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	kzip "github.com/klauspost/compress/zip"
)

// SearchLimit is how far into content Locate looks for the signature of
// an archive that does not start at its first byte (a self-extracting
// executable's stub, or junk put in front): 7-Zip and unrar search the
// first megabytes of a file, and self-extractor stubs are a few hundred
// KiB.
const SearchLimit = 4 << 20

// maxCandidates bounds the signatures of one kind that Locate checks:
// content crafted with more false starts than that is reported as a
// limit (unscannable), not searched without end.
const maxCandidates = 1000

// Locate finds an archive that does not start at offset 0, the way the
// tools that open it find it: a zip by its end-of-central-directory
// record at the end (unzip, 7-Zip and Windows Explorer accept bytes in
// front and adjust the offsets: off is 0 and Walk opens the whole
// content), and a rar, 7z, cab or arj archive by its signature within
// the first SearchLimit bytes, checked against the header that follows
// (off is where it starts: open the content from there). format is ""
// when there is none. err wraps ErrLimit when the content holds more
// false starts of one signature than Locate checks. Call it only when
// Identify claimed nothing.
func Locate(r io.ReaderAt, size int64) (format string, off int64, err error) {
	if size < 22 {
		return "", 0, nil
	}
	if zipAtEnd(r, size) {
		return "zip", 0, nil
	}
	const chunk = 256 << 10
	buf := make([]byte, min(size, chunk)+HeadSize)
	var tried [len(signatures)]int
	for pos := int64(0); pos < min(size, SearchLimit); pos += chunk {
		n, _ := r.ReadAt(buf, pos)
		b := buf[:n]
		best, bestFormat := -1, ""
		for k, sig := range signatures {
			end := min(len(b), chunk+len(sig)-1) // signatures starting in this chunk
			for i := 0; i < end; i++ {
				j := bytes.Index(b[i:end], sig)
				if j < 0 {
					break
				}
				i += j
				if pos+int64(i) == 0 {
					continue // at 0 it is Identify's
				}
				if tried[k]++; tried[k] > maxCandidates {
					return "", 0, fmt.Errorf("%w: more than %d false starts of a %s signature", ErrLimit, maxCandidates, formatsOf[k])
				}
				h := b[i:]
				if len(h) < HeadSize && pos+int64(i)+int64(len(h)) < size {
					h = make([]byte, HeadSize)
					m, _ := r.ReadAt(h, pos+int64(i))
					h = h[:m]
				}
				if f, good := signatureAt(h, size-pos-int64(i)); good {
					if best < 0 || i < best {
						best, bestFormat = i, f
					}
					break
				}
			}
		}
		if best >= 0 {
			return bestFormat, pos + int64(best), nil
		}
	}
	return "", 0, nil
}

var (
	signatures = [...][]byte{[]byte("Rar!\x1a\x07"), []byte("7z\xbc\xaf\x27\x1c"), []byte("MSCF\x00\x00\x00\x00"), {0x60, 0xea}}
	formatsOf  = [...]string{"rar", "7z", "cab", "arj"}
)

// signatureAt checks for a rar, 7z, cab or arj archive at the start of
// h, with left bytes of content from there.
func signatureAt(h []byte, left int64) (string, bool) {
	switch {
	case bytes.HasPrefix(h, []byte("7z\xbc\xaf\x27\x1c")):
		// The start header's CRC (7zFormat.txt).
		return "7z", len(h) >= 32 && crc32.ChecksumIEEE(h[12:32]) == binary.LittleEndian.Uint32(h[8:])
	case bytes.HasPrefix(h, []byte("Rar!\x1a\x07\x01\x00")):
		// RAR 5: the main header's CRC-32 over its size and fields.
		return "rar", len(h) >= 12 && rar5HeaderOK(h[8:])
	case bytes.HasPrefix(h, []byte("Rar!\x1a\x07\x00")):
		// RAR 1.5-4: the main archive header (type 0x73) follows.
		return "rar", len(h) >= 14 && h[9] == 0x73
	case bytes.HasPrefix(h, []byte("MSCF\x00\x00\x00\x00")):
		// The cabinet's own size must fit in what follows.
		if len(h) < 36 {
			return "", false
		}
		n := int64(binary.LittleEndian.Uint32(h[8:]))
		return "cab", n >= 36 && n <= left
	case len(h) >= 4 && h[0] == 0x60 && h[1] == 0xea:
		return "arj", len(h) >= 4+int(binary.LittleEndian.Uint16(h[2:]))+4 && isArj(h)
	}
	return "", false
}

// rar5HeaderOK checks a RAR 5 header's CRC-32, which covers its size
// (a variable-length integer) and its fields.
func rar5HeaderOK(h []byte) bool {
	if len(h) < 5 {
		return false
	}
	want := binary.LittleEndian.Uint32(h)
	size, n := uint64(0), 0
	for i := 4; i < len(h) && i < 4+3; i++ {
		size |= uint64(h[i]&0x7f) << (7 * (i - 4))
		n++
		if h[i]&0x80 == 0 {
			break
		}
	}
	end := 4 + n + int(size)
	if size == 0 || end > len(h) {
		return false
	}
	return crc32.ChecksumIEEE(h[4:end]) == want
}

// zipAtEnd reports whether the content ends with a zip whose central
// directory opens (the reader then finds the members wherever the zip
// starts).
func zipAtEnd(r io.ReaderAt, size int64) bool {
	// The end record is 22 bytes plus a comment of at most 65,535.
	tail := min(size, 22+65535)
	b := make([]byte, tail)
	if _, err := r.ReadAt(b, size-tail); err != nil && err != io.EOF {
		return false
	}
	if bytes.LastIndex(b, []byte("PK\x05\x06")) < 0 {
		return false
	}
	zr, err := kzip.NewReader(r, size)
	return err == nil && len(zr.File) > 0
}
