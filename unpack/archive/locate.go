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
	return LocateWatched(r, size, nil)
}

// LocateWatched is Locate for content that w saw whole as it was written:
// it checks the signatures w found where they are, and does not read the
// content again to search for them (only its end, for a zip, and the
// header after each signature). The answer is Locate's. A nil w, or one
// that did not see size bytes, searches as Locate does.
func LocateWatched(r io.ReaderAt, size int64, w *Watch) (format string, off int64, err error) {
	if size < 22 {
		return "", 0, nil
	}
	if zipAtEnd(r, size) {
		return "zip", 0, nil
	}
	if w != nil && w.n == size {
		return w.locate(r, size)
	}
	return search(r, size)
}

// chunk is how much of the content search reads at a time.
const chunk = 256 << 10

// search is Locate's search for a signature past offset 0, reading the
// first SearchLimit bytes chunk by chunk. Watch.locate gives the same
// answer from the signatures a Watch found.
func search(r io.ReaderAt, size int64) (format string, off int64, err error) {
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
	if !bytes.Contains(b, []byte("PK\x05\x06")) {
		return false
	}
	zr, err := kzip.NewReader(r, size)
	return err == nil && len(zr.File) > 0
}

// maxSignature is the length of the longest of signatures.
const maxSignature = 8

// Watch sees content as it is written (unpack's sink feeds it every byte
// it stores, in order) and keeps where the signatures that Locate
// searches for start past offset 0 within SearchLimit (the first
// maxCandidates+1 of each: search never checks more). LocateWatched then
// checks those places only: on a well-formed message with a large
// attachment, reading its first 4 MiB back and searching them was most
// of what the readings work added (issue 11's 1.05x bar). The zero value
// is ready to use.
type Watch struct {
	n     int64                  // bytes seen
	tail  [maxSignature - 1]byte // the last bytes seen, for a signature across two writes
	nt    int                    // bytes in tail
	cands [len(signatures)][]int64
}

// Write notes the next bytes of the content.
func (w *Watch) Write(b []byte) {
	base := w.n
	w.n += int64(len(b))
	if base >= SearchLimit+maxSignature {
		return
	}
	if w.nt > 0 {
		// A signature that starts in the tail and ends in b.
		var j [2*maxSignature - 2]byte
		k := copy(j[:], w.tail[:w.nt])
		k += copy(j[k:], b[:min(len(b), maxSignature-1)])
		w.find(j[:k], base-int64(w.nt), w.nt, w.nt)
	}
	w.find(b, base, len(b), 0)
	if len(b) >= len(w.tail) {
		w.nt = copy(w.tail[:], b[len(b)-len(w.tail):])
	} else {
		keep := min(w.nt, len(w.tail)-len(b))
		copy(w.tail[:], w.tail[w.nt-keep:w.nt])
		w.nt = keep + copy(w.tail[keep:], b)
	}
}

// find notes the signatures that occur whole in b (which starts at
// content offset base) starting at an index below starts and ending past
// index ends (those before were noted with the bytes before), at a
// content offset in [1, SearchLimit).
func (w *Watch) find(b []byte, base int64, starts, ends int) {
	starts = int(min(int64(starts), SearchLimit-base))
	if starts <= 0 {
		return
	}
	if usePairs {
		w.findPairs(b, base, starts, ends)
	} else {
		w.findEach(b, base, starts, ends)
	}
}

// usePairs: find searches the four signatures at once (findPairs) where
// indexPair has an assembly version (pairScan), else each in turn with
// bytes.Index (findEach: indexPair in plain Go compares byte by byte,
// six times slower). A variable for the tests, which run both.
var usePairs = pairScan

// findPairs is find by indexPair: every place where a signature's first
// two bytes are, then which signature, if any, is there whole. It stops
// when every signature has all the places search may check.
func (w *Watch) findPairs(b []byte, base int64, starts, ends int) {
	p := b[:min(len(b), starts+1)]
	for i := 0; i+1 < len(p); i++ {
		j := indexPair(p[i:])
		if j < 0 {
			break
		}
		i += j
		if base+int64(i) == 0 {
			continue
		}
		full := true
		for k, sig := range signatures {
			if len(w.cands[k]) <= maxCandidates && i+len(sig) > ends && bytes.HasPrefix(b[i:], sig) {
				w.cands[k] = append(w.cands[k], base+int64(i))
			}
			full = full && len(w.cands[k]) > maxCandidates
		}
		if full {
			return
		}
	}
}

// findEach is find by bytes.Index, one signature after the other.
func (w *Watch) findEach(b []byte, base int64, starts, ends int) {
	for k, sig := range signatures {
		end := min(len(b), starts+len(sig)-1)
		for i := 0; i < end && len(w.cands[k]) <= maxCandidates; {
			j := bytes.Index(b[i:end], sig)
			if j < 0 {
				break
			}
			i += j
			if base+int64(i) > 0 && i+len(sig) > ends {
				w.cands[k] = append(w.cands[k], base+int64(i))
			}
			i++
		}
	}
}

// locate is search's answer from the signatures w found: chunk by chunk,
// each signature's places in the chunk in order, counting the false
// starts, the first good one of each and the earliest of those, with the
// header after each place read as long as search has it in its buffer.
func (w *Watch) locate(r io.ReaderAt, size int64) (format string, off int64, err error) {
	var next, tried [len(signatures)]int
	var h []byte
	for pos := int64(0); pos < min(size, SearchLimit); pos += chunk {
		best, bestFormat := int64(-1), ""
		for k := range signatures {
			for ; next[k] < len(w.cands[k]) && w.cands[k][next[k]] < pos+chunk; next[k]++ {
				at := w.cands[k][next[k]]
				if tried[k]++; tried[k] > maxCandidates {
					return "", 0, fmt.Errorf("%w: more than %d false starts of a %s signature", ErrLimit, maxCandidates, formatsOf[k])
				}
				// What search's h holds: its buffer from at on, or
				// HeadSize bytes read anew when fewer are left in it
				// before the end of the content.
				hl := min(pos+chunk+HeadSize, size) - at
				if hl < HeadSize && at+hl < size {
					hl = min(HeadSize, size-at)
				}
				// Only the bytes signatureAt looks at are read.
				if cap(h) < 16 {
					h = make([]byte, 16)
				}
				h = h[:min(hl, 16)]
				if m, _ := r.ReadAt(h, at); m < len(h) {
					h = h[:m]
				}
				if need := headerNeed(h); int64(len(h)) < min(hl, need) {
					h = append(h[:0], make([]byte, min(hl, need))...)
					m, _ := r.ReadAt(h, at)
					h = h[:m]
				}
				if f, good := signatureAt(h, size-at); good {
					if best < 0 || at < best {
						best, bestFormat = at, f
					}
					next[k] = len(w.cands[k]) // search looks no further for this one
					break
				}
			}
		}
		if best >= 0 {
			return bestFormat, best, nil
		}
	}
	return "", 0, nil
}

// headerNeed is how many bytes from a signature signatureAt may look at,
// given the first 16 of them (all there are when fewer): those past it
// change nothing, whether present or not.
func headerNeed(h []byte) int64 {
	switch {
	case bytes.HasPrefix(h, []byte("Rar!\x1a\x07\x01\x00")):
		// rar5HeaderOK: a CRC, a size of at most 3 bytes, that size.
		if len(h) < 16 {
			return 16
		}
		size, n := int64(0), 0
		for i := 12; i < 15; i++ {
			size |= int64(h[i]&0x7f) << (7 * (i - 12))
			n++
			if h[i]&0x80 == 0 {
				break
			}
		}
		return 8 + 4 + int64(n) + size
	case bytes.HasPrefix(h, []byte("7z")):
		return 32
	case bytes.HasPrefix(h, []byte("MSCF")):
		return 36
	case len(h) >= 4 && h[0] == 0x60 && h[1] == 0xea:
		if n := int64(binary.LittleEndian.Uint16(h[2:])); n >= 30 && n <= arjMaxHeader {
			return 4 + n + 4
		}
	}
	return 16
}
