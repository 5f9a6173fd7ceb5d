package archive

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
)

// CHM (Microsoft Compiled HTML Help, "ITSF"), which Windows' help viewer,
// 7-Zip and libmspack's chmd open: the directory (PMGL chunks of
// entries: name, section, offset, length) lists the files; section 0
// holds them stored, section 1 ("MSCompressed") as one LZX stream
// (lzx.go) whose state resets every few frames, as its ControlData
// says. Layout after libmspack's chmd.c and the "CHM file format" notes
// of Pabs.

type chmEntry struct {
	name           string
	section        uint64
	offset, length int64
}

func isChm(h []byte) bool {
	return len(h) >= 0x58 && string(h[:4]) == "ITSF" && (h[4] == 2 || h[4] == 3)
}

// encint reads CHM's variable-length integer (7 bits a byte, most
// significant first).
func encint(b []byte, i *int) (uint64, bool) {
	var v uint64
	for k := 0; k < 9 && *i < len(b); k++ {
		c := b[*i]
		*i++
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return v, true
		}
	}
	return 0, false
}

func walkChm(w *walker, r io.ReaderAt, size int64) error {
	b := &byteReaderAt{r: r, size: size}
	h := b.read(0x60)
	if b.err != nil {
		w.problem("truncated: chm: header")
		return nil
	}
	le := binary.LittleEndian
	version := le.Uint32(h[4:])
	dirOff := int64(le.Uint64(h[0x48:]))
	dirLen := int64(le.Uint64(h[0x50:]))
	content := dirOff + dirLen // version 2: content follows the directory
	if version >= 3 {
		content = int64(le.Uint64(h[0x58:]))
	}
	if dirOff < 0 || dirLen < 0x54 || dirOff+0x54 > size || content < 0 || content > size {
		w.problem("corrupt: chm: directory at %d", dirOff)
		return nil
	}
	b.off = dirOff
	itsp := b.read(0x54)
	if b.err != nil || string(itsp[:4]) != "ITSP" {
		w.problem("corrupt: chm: no directory header")
		return nil
	}
	chunkSize := int64(le.Uint32(itsp[0x10:]))
	first, nChunks := int64(int32(le.Uint32(itsp[0x20:]))), int64(le.Uint32(itsp[0x2c:]))
	if chunkSize < 0x14 || chunkSize > 1<<16 || nChunks > 1<<16 || first < 0 || first >= nChunks {
		w.problem("corrupt: chm: directory of %d chunks of %d bytes", nChunks, chunkSize)
		return nil
	}
	var entries []chmEntry
	chunk := make([]byte, chunkSize)
	for c, seen := first, 0; c >= 0 && c < nChunks && seen < int(nChunks); seen++ {
		if _, err := r.ReadAt(chunk, dirOff+0x54+c*chunkSize); err != nil {
			w.problem("truncated: chm: directory chunk %d", c)
			break
		}
		if string(chunk[:4]) != "PMGL" {
			break
		}
		end := chunkSize - int64(le.Uint32(chunk[4:]))
		next := int64(int32(le.Uint32(chunk[16:])))
		for i := 0x14; int64(i) < end && end <= chunkSize; {
			n, ok := encint(chunk, &i)
			if !ok || int64(i)+int64(n) > end {
				break
			}
			name := string(chunk[i : i+int(n)])
			i += int(n)
			sec, ok1 := encint(chunk, &i)
			off, ok2 := encint(chunk, &i)
			length, ok3 := encint(chunk, &i)
			if !ok1 || !ok2 || !ok3 || off > 1<<62 || length > 1<<62 {
				break
			}
			entries = append(entries, chmEntry{name, sec, int64(off), int64(length)})
			if len(entries) > 1<<17 {
				w.problem("limit: chm: more than %d directory entries", 1<<17)
				return nil
			}
		}
		c = next
	}
	find := func(name string) *chmEntry {
		for i := range entries {
			if entries[i].name == name {
				return &entries[i]
			}
		}
		return nil
	}
	// Section 1: where the LZX stream is, and how it is coded.
	var lzxData, control *chmEntry
	for i := range entries {
		switch entries[i].name {
		case "::DataSpace/Storage/MSCompressed/Content":
			lzxData = &entries[i]
		case "::DataSpace/Storage/MSCompressed/ControlData":
			control = &entries[i]
		}
	}
	resetTable := find("::DataSpace/Storage/MSCompressed/Transform/{7FC28940-9D31-11D0-9B27-00A0C91E9C7C}/InstanceData/ResetTable")
	var sec1 []chmEntry
	for _, e := range entries {
		// Files, not directories or the internal "::" and "#" streams
		// (which the help viewer does not open as pages... but a
		// reader of the archive sees them: keep all but directories).
		if strings.HasSuffix(e.name, "/") || e.length == 0 || strings.HasPrefix(e.name, "::DataSpace") {
			continue
		}
		if e.section == 0 {
			m := Member{Name: e.name, Size: e.length}
			at, n := content+e.offset, e.length
			open := func() (io.Reader, error) {
				if at+n > size {
					return nil, fmt.Errorf("%w: member past the end of the file", io.ErrUnexpectedEOF)
				}
				return io.NewSectionReader(r, at, n), nil
			}
			if err := w.yield(m, open, 0); err != nil {
				return err
			}
			continue
		}
		sec1 = append(sec1, e)
	}
	if len(sec1) == 0 {
		return nil
	}
	// Window and reset interval from ControlData ("LZXC", version 2
	// counts in 32 KiB units), the uncompressed length from the reset
	// table.
	var windowBits uint
	var resetFrames int64
	var plain int64 = -1
	if control != nil && lzxData != nil && control.section == 0 && control.length >= 24 {
		cd := make([]byte, 24)
		if _, err := r.ReadAt(cd, content+control.offset); err == nil && string(cd[4:8]) == "LZXC" {
			ver, reset, win := le.Uint32(cd[8:]), int64(le.Uint32(cd[12:])), le.Uint32(cd[16:])
			if ver == 2 {
				reset *= lzxFrame
				win *= lzxFrame
			}
			for b := uint(15); b <= 21; b++ {
				if uint32(1)<<b == win {
					windowBits = b
				}
			}
			if reset > 0 && reset%lzxFrame == 0 {
				resetFrames = reset / lzxFrame
			}
		}
	}
	if resetTable != nil && resetTable.section == 0 && resetTable.length >= 0x28 {
		rt := make([]byte, 0x28)
		if _, err := r.ReadAt(rt, content+resetTable.offset); err == nil {
			plain = int64(le.Uint64(rt[0x10:]))
		}
	}
	var stream io.Reader
	if windowBits == 0 || resetFrames == 0 || plain < 0 || plain > 1<<40 || lzxData.section != 0 {
		stream = errReader{fmt.Errorf("%w: chm compressed section without usable control data", ErrUnsupported)}
	} else {
		d, err := newLZXReset(bufio.NewReader(io.NewSectionReader(r, content+lzxData.offset, lzxData.length)), windowBits, plain, resetFrames)
		if err != nil {
			stream = errReader{err}
		} else {
			stream = d
		}
	}
	// Members of the compressed section in the order of their offsets,
	// decoded once from its start; what lies between is charged.
	sort.SliceStable(sec1, func(i, j int) bool { return sec1[i].offset < sec1[j].offset })
	var pos int64
	for _, e := range sec1 {
		m := Member{Name: e.name, Size: e.length}
		if e.offset < pos {
			// Overlapping members: decode again from the start.
			stream, pos = errReader{fmt.Errorf("%w: overlapping members in the compressed section", ErrUnsupported)}, e.offset
		}
		if skip := e.offset - pos; skip > 0 {
			if err := w.charge(skip); err != nil {
				return err
			}
			n, err := io.CopyN(io.Discard, stream, skip)
			pos += n
			if err != nil {
				stream = errReader{err}
			}
		}
		s, n := stream, e.length
		open := func() (io.Reader, error) { return &countedReader{r: io.LimitReader(s, n), n: &pos, want: n}, nil }
		if err := w.yield(m, open, 0); err != nil {
			return err
		}
	}
	return nil
}
