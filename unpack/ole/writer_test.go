package ole

import (
	"encoding/binary"
	"sort"
	"strings"
	"unicode/utf16"
)

// A tiny CFB writer for the tests: a tree of storages and streams laid
// out as MS-CFB says (header, FAT, DIFAT when the FAT needs more than the
// header's 109 entries, directory, mini FAT and mini stream for streams
// under 4096 bytes, then the other streams), so that the reader can be
// tested on documents no corpus holds (macros) and on precise corruptions.

type node struct {
	name   string
	data   []byte // a stream's content
	stream bool
	kids   []*node
}

func stream(name string, data []byte) *node { return &node{name: name, data: data, stream: true} }
func storage(name string, kids ...*node) *node {
	return &node{name: name, kids: kids}
}

type writeOpts struct {
	shift uint // 9 (version 3) or 12 (version 4); 0 means 9
}

// layout is a written file and where its structures are, for corrupting.
type layout struct {
	b        []byte
	secSize  int
	fatSecs  []uint32
	difSecs  []uint32
	dirSecs  []uint32
	dirIndex map[string]int // path -> directory entry index ("" is the root)
	fat      []uint32
}

func (l *layout) secOff(s uint32) int { return (int(s) + 1) * l.secSize }

// dirOff is the offset of directory entry i.
func (l *layout) dirOff(i int) int {
	per := l.secSize / dirEntrySize
	return l.secOff(l.dirSecs[i/per]) + (i%per)*dirEntrySize
}

// setFAT overwrites the FAT entry of sector s.
func (l *layout) setFAT(s, v uint32) {
	per := uint32(l.secSize / 4)
	off := l.secOff(l.fatSecs[s/per]) + int(s%per)*4
	binary.LittleEndian.PutUint32(l.b[off:], v)
}

func (l *layout) put32(off int, v uint32) { binary.LittleEndian.PutUint32(l.b[off:], v) }

type wentry struct {
	n                  *node
	path               string
	left, right, child uint32
	start              uint32
	size               uint64
	typ                byte
}

// cfbLess orders sibling names as MS-CFB 2.6.4 does: shorter first, then
// by upper-cased UTF-16 code units.
func cfbLess(a, b string) bool {
	ua, ub := utf16.Encode([]rune(strings.ToUpper(a))), utf16.Encode([]rune(strings.ToUpper(b)))
	if len(ua) != len(ub) {
		return len(ua) < len(ub)
	}
	for i := range ua {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return false
}

func writeCFB(root []*node, o writeOpts) *layout {
	if o.shift == 0 {
		o.shift = 9
	}
	ss := 1 << o.shift
	le := binary.LittleEndian

	// Directory entries, breadth first; each storage's children form a
	// balanced binary tree through left/right.
	ents := []*wentry{{n: &node{kids: root}, typ: typeRoot, left: noStream, right: noStream, child: noStream}}
	for i := 0; i < len(ents); i++ {
		p := ents[i]
		if p.n.stream || len(p.n.kids) == 0 {
			continue
		}
		kids := append([]*node(nil), p.n.kids...)
		sort.SliceStable(kids, func(a, b int) bool { return cfbLess(kids[a].name, kids[b].name) })
		base := uint32(len(ents))
		for _, k := range kids {
			typ := byte(typeStorage)
			if k.stream {
				typ = typeStream
			}
			path := k.name
			if p.path != "" || i != 0 {
				path = p.path + "/" + k.name
			}
			ents = append(ents, &wentry{n: k, path: path, typ: typ, left: noStream, right: noStream, child: noStream})
		}
		var build func(lo, hi int) uint32
		build = func(lo, hi int) uint32 {
			if lo >= hi {
				return noStream
			}
			mid := (lo + hi) / 2
			e := ents[base+uint32(mid)]
			e.left = build(lo, mid)
			e.right = build(mid+1, hi)
			return base + uint32(mid)
		}
		p.child = build(0, len(kids))
	}

	// Mini stream.
	var mini []byte
	var miniFAT []uint32
	var big []*wentry
	for _, e := range ents[1:] {
		if !e.n.stream {
			continue
		}
		e.size = uint64(len(e.n.data))
		switch {
		case len(e.n.data) == 0:
			e.start = endOfChain
		case len(e.n.data) < miniCutoff:
			first := uint32(len(miniFAT))
			k := (len(e.n.data) + miniSectorSize - 1) / miniSectorSize
			for j := 0; j < k; j++ {
				miniFAT = append(miniFAT, first+uint32(j)+1)
			}
			miniFAT[len(miniFAT)-1] = endOfChain
			e.start = first
			mini = append(mini, e.n.data...)
			mini = append(mini, make([]byte, k*miniSectorSize-len(e.n.data))...)
		default:
			big = append(big, e)
		}
	}

	ceil := func(a, b int) int { return (a + b - 1) / b }
	nDir := ceil(len(ents)*dirEntrySize, ss)
	nMiniFAT := ceil(len(miniFAT)*4, ss)
	nMini := ceil(len(mini), ss)
	rest := nDir + nMiniFAT + nMini
	for _, e := range big {
		rest += ceil(len(e.n.data), ss)
	}
	per := ss / 4
	nFAT, nDIF := 1, 0
	for {
		nDIF = 0
		if nFAT > headerDIFAT {
			nDIF = ceil(nFAT-headerDIFAT, per-1)
		}
		if nFAT*per >= rest+nFAT+nDIF {
			break
		}
		nFAT++
	}
	total := rest + nFAT + nDIF
	l := &layout{secSize: ss, dirIndex: map[string]int{}}
	fat := make([]uint32, nFAT*per)
	for i := range fat {
		fat[i] = freeSect
	}
	next := uint32(0)
	alloc := func(k int, mark uint32) []uint32 {
		var s []uint32
		for j := 0; j < k; j++ {
			s = append(s, next)
			if mark != 0 {
				fat[next] = mark
			} else if j == k-1 {
				fat[next] = endOfChain
			} else {
				fat[next] = next + 1
			}
			next++
		}
		return s
	}
	l.fatSecs = alloc(nFAT, fatSect)
	l.difSecs = alloc(nDIF, difSect)
	l.dirSecs = alloc(nDir, 0)
	miniFATSecs := alloc(nMiniFAT, 0)
	miniSecs := alloc(nMini, 0)
	img := make([]byte, (total+1)*ss)
	l.b = img
	write := func(secs []uint32, data []byte) {
		for j, s := range secs {
			off := (int(s) + 1) * ss
			end := min((j+1)*ss, len(data))
			copy(img[off:], data[j*ss:end])
		}
	}
	for _, e := range big {
		secs := alloc(ceil(len(e.n.data), ss), 0)
		e.start = secs[0]
		write(secs, e.n.data)
	}
	write(miniSecs, mini)
	mf := make([]byte, nMiniFAT*ss)
	for i := range mf {
		mf[i] = 0xFF
	}
	for i, v := range miniFAT {
		le.PutUint32(mf[4*i:], v)
	}
	write(miniFATSecs, mf)
	ents[0].size = uint64(len(mini))
	ents[0].start = endOfChain
	if nMini > 0 {
		ents[0].start = miniSecs[0]
	}

	// Directory.
	dir := make([]byte, nDir*ss)
	for i := len(ents) * dirEntrySize; i < len(dir); i += dirEntrySize {
		// Unused entries: no name, links NOSTREAM.
		le.PutUint32(dir[i+68:], noStream)
		le.PutUint32(dir[i+72:], noStream)
		le.PutUint32(dir[i+76:], noStream)
	}
	for i, e := range ents {
		b := dir[i*dirEntrySize:]
		name := "Root Entry"
		if i > 0 {
			name = e.n.name
			l.dirIndex[e.path] = i
		} else {
			l.dirIndex[""] = 0
		}
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			le.PutUint16(b[2*j:], c)
		}
		le.PutUint16(b[64:], uint16(2*len(u)+2))
		b[66] = e.typ
		b[67] = 1 // black
		le.PutUint32(b[68:], e.left)
		le.PutUint32(b[72:], e.right)
		le.PutUint32(b[76:], e.child)
		le.PutUint32(b[116:], e.start)
		le.PutUint64(b[120:], e.size)
	}
	write(l.dirSecs, dir)

	// FAT and DIFAT.
	fb := make([]byte, len(fat)*4)
	for i, v := range fat {
		le.PutUint32(fb[4*i:], v)
	}
	write(l.fatSecs, fb)
	l.fat = fat
	if nDIF > 0 {
		db := make([]byte, nDIF*ss)
		for i := range db {
			db[i] = 0xFF
		}
		for k, s := range l.fatSecs[headerDIFAT:] {
			d, j := k/(per-1), k%(per-1)
			le.PutUint32(db[d*ss+4*j:], s)
		}
		for d := range nDIF {
			nx := uint32(endOfChain)
			if d+1 < nDIF {
				nx = l.difSecs[d+1]
			}
			le.PutUint32(db[d*ss+4*(per-1):], nx)
		}
		write(l.difSecs, db)
	}

	// Header.
	h := img[:headerSize]
	copy(h, Magic)
	le.PutUint16(h[24:], 0x003E)
	if o.shift == 12 {
		le.PutUint16(h[26:], 4)
		le.PutUint32(h[40:], uint32(nDir))
	} else {
		le.PutUint16(h[26:], 3)
	}
	le.PutUint16(h[28:], 0xFFFE)
	le.PutUint16(h[30:], uint16(o.shift))
	le.PutUint16(h[32:], 6)
	le.PutUint32(h[44:], uint32(nFAT))
	le.PutUint32(h[48:], l.dirSecs[0])
	le.PutUint32(h[56:], miniCutoff)
	le.PutUint32(h[60:], endOfChain)
	if nMiniFAT > 0 {
		le.PutUint32(h[60:], miniFATSecs[0])
	}
	le.PutUint32(h[64:], uint32(nMiniFAT))
	le.PutUint32(h[68:], endOfChain)
	if nDIF > 0 {
		le.PutUint32(h[68:], l.difSecs[0])
	}
	le.PutUint32(h[72:], uint32(nDIF))
	for i := 0; i < headerDIFAT; i++ {
		v := uint32(freeSect)
		if i < nFAT {
			v = l.fatSecs[i]
		}
		le.PutUint32(h[76+4*i:], v)
	}
	return l
}
