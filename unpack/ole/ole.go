package ole

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// Magic is the CFB signature (MS-CFB 2.2).
var Magic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// Is reports whether head starts with the CFB signature.
func Is(head []byte) bool { return bytes.HasPrefix(head, Magic) }

// ErrMalformed is matched (errors.Is) by every error Open returns for a
// file that breaks the format: a loop, an index out of range, a truncated
// structure.
var ErrMalformed = errors.New("ole: malformed compound file")

// ErrLimit is matched by the errors Open returns when the file is beyond
// Limits (or the fixed depth bound), whatever else is wrong with it.
var ErrLimit = errors.New("ole: limit exceeded")

type malformedError struct{ msg string }

func (e *malformedError) Error() string        { return "ole: " + e.msg }
func (e *malformedError) Is(target error) bool { return target == ErrMalformed }

type limitError struct{ msg string }

func (e *limitError) Error() string        { return "ole: " + e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }

func malformed(format string, a ...any) error {
	return &malformedError{fmt.Sprintf(format, a...)}
}

func overLimit(format string, a ...any) error {
	return &limitError{fmt.Sprintf(format, a...)}
}

// Limits bounds the work Open does. The zero value of a field means its
// default (DefaultLimits).
type Limits struct {
	// MaxSectors is the most sectors the file may have (its size divided
	// by the sector size, rounded up). It bounds the FAT kept in memory
	// (4 bytes per sector) and every chain walked. Default 1<<20: 512 MiB
	// with 512-byte sectors, 4 GiB with 4096-byte sectors.
	MaxSectors int
	// MaxEntries is the most directory entries (128 bytes each) read.
	// Default 1<<16.
	MaxEntries int
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits { return Limits{MaxSectors: 1 << 20, MaxEntries: 1 << 16} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxSectors <= 0 {
		l.MaxSectors = d.MaxSectors
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}

// maxDepth bounds storage nesting; real documents nest a handful deep,
// and the bound keeps the total length of the paths built linear.
const maxDepth = 32

// Special sector numbers (MS-CFB 2.1).
const (
	maxRegSect = 0xFFFFFFFA
	difSect    = 0xFFFFFFFC
	fatSect    = 0xFFFFFFFD
	endOfChain = 0xFFFFFFFE
	freeSect   = 0xFFFFFFFF
	noStream   = 0xFFFFFFFF
)

// Directory entry object types (MS-CFB 2.6.1).
const (
	typeUnknown = 0
	typeStorage = 1
	typeStream  = 2
	typeRoot    = 5
)

const (
	headerSize     = 512
	dirEntrySize   = 128
	miniSectorSize = 64
	miniCutoff     = 4096
	headerDIFAT    = 109
)

// Entry is one storage or stream of the file.
type Entry struct {
	// Path is the storage/stream path joined with "/", each name decoded
	// from UTF-16LE. Names are hostile: they may hold "/" themselves and
	// control characters, kept as they are (callers escape).
	Path   string
	Stream bool  // false for storages
	Size   int64 // stream size as declared (0 for storages)
}

// File is what Open learned about a compound file. It holds no reference
// to the reader.
type File struct {
	entries   []Entry
	vba       bool
	xlm       bool
	encrypted bool
	problems  []string
}

// Entries returns the storages and streams below the root, parents before
// children.
func (f *File) Entries() []Entry { return f.entries }

// HasVBA reports a VBA project: a storage named "VBA" holding a stream
// "dir" or "_VBA_PROJECT", or a stream named "_VBA_PROJECT" anywhere.
func (f *File) HasVBA() bool { return f.vba }

// HasXLM reports an Excel 4.0 (XLM) macro sheet: a BoundSheet8 record of
// sheet type "macro sheet" in the globals substream of a Workbook (BIFF8)
// or Book (BIFF5) stream directly under the root. An encrypted workbook's
// sheet types cannot be read; it reports false (and Encrypted true).
func (f *File) HasXLM() bool { return f.xlm }

// HasMacros reports macros of either kind: HasVBA or HasXLM.
func (f *File) HasMacros() bool { return f.HasVBA() || f.HasXLM() }

// Encrypted reports an encrypted document (see the package doc for what
// is detected).
func (f *File) Encrypted() bool { return f.encrypted }

// Problems lists what Open tolerated or could not check, each starting
// with a keyword ("corrupt: ", "limit: "). A stream that the encryption
// checks could not read is recorded here rather than failing Open.
func (f *File) Problems() []string { return f.problems }

// reader holds the parse state of one Open.
type reader struct {
	r          io.ReaderAt
	size       int64
	lim        Limits
	shift      uint
	secSize    int
	nSectors   uint32 // sectors present in the file (last one may be short)
	fat        []uint32
	dir        []dirEntry
	miniFAT    []uint32 // loaded on first use
	miniChain  []uint32 // regular sectors of the mini stream, loaded on first use
	miniLoaded bool
	miniErr    error

	rootStreams map[string][]uint32 // streams directly under the root, by upper-case name

	dirStart     uint32
	miniFATStart uint32
	miniFATCount uint32
}

type dirEntry struct {
	name        string
	typ         byte
	left, right uint32
	child       uint32
	start       uint32
	size        uint64
}

// Open reads the header, the FAT, the directory and, for the encryption
// checks, the first bytes of a few streams. Errors match ErrMalformed or
// ErrLimit, or wrap the reader's error.
func Open(r io.ReaderAt, size int64, lim Limits) (*File, error) {
	rd := &reader{r: r, size: size, lim: lim.withDefaults()}
	if err := rd.header(); err != nil {
		return nil, err
	}
	if err := rd.readDir(); err != nil {
		return nil, err
	}
	f := &File{}
	if err := rd.walk(f); err != nil {
		return nil, err
	}
	rd.checkEncryption(f)
	return f, nil
}

func (rd *reader) readAt(p []byte, off int64) error {
	n, err := rd.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return malformed("file truncated at offset %d", off+int64(n))
	}
	return fmt.Errorf("ole: reading at offset %d: %w", off, err)
}

// sector reads regular sector i into p (len secSize).
func (rd *reader) sector(i uint32, p []byte) error {
	if i >= rd.nSectors {
		return malformed("sector %d out of range (file has %d)", i, rd.nSectors)
	}
	off := int64(i+1) << rd.shift
	n := int64(len(p))
	if off+n > rd.size {
		// QUIRK: the last sector may be short (writers that do not pad
		// the file); its missing bytes read as zeros.
		n = rd.size - off
		clear(p[n:])
	}
	return rd.readAt(p[:n], off)
}

func (rd *reader) header() error {
	if rd.size < headerSize {
		return malformed("file of %d bytes is shorter than the %d-byte header", rd.size, headerSize)
	}
	var h [headerSize]byte
	if err := rd.readAt(h[:], 0); err != nil {
		return err
	}
	if !Is(h[:]) {
		return malformed("no compound file signature")
	}
	le := binary.LittleEndian
	// QUIRK: the byte order mark (0xFFFE), the minor version and the
	// header CLSID are not checked; the sector shift decides the layout
	// whatever the major version says.
	switch s := le.Uint16(h[30:]); s {
	case 9, 12:
		rd.shift = uint(s)
	default:
		return malformed("sector shift %d (want 9 or 12)", s)
	}
	if ms := le.Uint16(h[32:]); ms != 6 {
		return malformed("mini sector shift %d (want 6)", ms)
	}
	// QUIRK: the mini stream cutoff field is ignored; MS-CFB 2.2 fixes it
	// at 4096.
	rd.secSize = 1 << rd.shift
	ss := int64(rd.secSize)
	n := (rd.size - ss + ss - 1) / ss
	if n < 0 {
		n = 0
	}
	if n > int64(rd.lim.MaxSectors) || n > maxRegSect {
		return overLimit("file has %d sectors, over the limit of %d", n, rd.lim.MaxSectors)
	}
	rd.nSectors = uint32(n)

	nFAT := le.Uint32(h[44:])
	if int64(nFAT) > n {
		return malformed("header declares %d FAT sectors, file has %d sectors", nFAT, n)
	}
	// FAT sector numbers: the first 109 in the header, then the DIFAT
	// chain (MS-CFB 2.5).
	fatSecs := make([]uint32, 0, nFAT)
	for i := 0; i < headerDIFAT && uint32(len(fatSecs)) < nFAT; i++ {
		s := le.Uint32(h[76+4*i:])
		if s == freeSect || s == endOfChain {
			// QUIRK: fewer FAT sectors listed than declared: use those
			// listed.
			break
		}
		fatSecs = append(fatSecs, s)
	}
	nDIFAT := le.Uint32(h[72:])
	next := le.Uint32(h[68:])
	if uint32(len(fatSecs)) < nFAT && nDIFAT > 0 && next <= maxRegSect {
		if err := rd.difat(next, nDIFAT, nFAT, &fatSecs); err != nil {
			return err
		}
	}
	if err := rd.loadFAT(fatSecs); err != nil {
		return err
	}
	rd.dirStart = le.Uint32(h[48:])
	rd.miniFATStart = le.Uint32(h[60:])
	rd.miniFATCount = le.Uint32(h[64:])
	return nil
}

// difat follows the DIFAT chain from next (count sectors declared),
// appending FAT sector numbers until nFAT are known.
func (rd *reader) difat(next, count, nFAT uint32, fatSecs *[]uint32) error {
	le := binary.LittleEndian
	per := rd.secSize/4 - 1
	buf := make([]byte, rd.secSize)
	seen := newBitset(rd.nSectors)
	for i := uint32(0); uint32(len(*fatSecs)) < nFAT; i++ {
		if next == endOfChain || next == freeSect || i >= count {
			// QUIRK: a DIFAT chain shorter than declared, or listing
			// fewer FAT sectors: use what it lists.
			break
		}
		if next >= rd.nSectors {
			return malformed("DIFAT sector %d out of range (file has %d sectors)", next, rd.nSectors)
		}
		if seen.testSet(next) {
			return malformed("DIFAT chain loops at sector %d", next)
		}
		if err := rd.sector(next, buf); err != nil {
			return err
		}
		for j := 0; j < per && uint32(len(*fatSecs)) < nFAT; j++ {
			s := le.Uint32(buf[4*j:])
			if s == freeSect {
				continue
			}
			*fatSecs = append(*fatSecs, s)
		}
		next = le.Uint32(buf[4*per:])
	}
	return nil
}

// loadFAT reads the FAT sectors, keeping one entry per sector of the
// file: entries past the end of the file can only name sectors that do
// not exist.
func (rd *reader) loadFAT(fatSecs []uint32) error {
	per := uint32(rd.secSize / 4)
	n := uint64(len(fatSecs)) * uint64(per)
	if n > uint64(rd.nSectors) {
		n = uint64(rd.nSectors)
	}
	// QUIRK: a FAT covering fewer sectors than the file holds leaves the
	// rest unreachable (trailing data), not an error.
	rd.fat = make([]uint32, n)
	buf := make([]byte, rd.secSize)
	seen := newBitset(rd.nSectors)
	le := binary.LittleEndian
	for k, s := range fatSecs {
		if s >= rd.nSectors {
			return malformed("FAT sector %d (number %d) out of range (file has %d sectors)", s, k, rd.nSectors)
		}
		if seen.testSet(s) {
			return malformed("FAT sector %d listed twice", s)
		}
		base := uint64(k) * uint64(per)
		if base >= n {
			// Beyond the file: only check that it exists.
			continue
		}
		if err := rd.sector(s, buf); err != nil {
			return err
		}
		for j := uint64(0); j < uint64(per) && base+j < n; j++ {
			rd.fat[base+j] = le.Uint32(buf[4*j:])
		}
	}
	return nil
}

// bitset marks visited sectors or entries.
type bitset []uint64

func newBitset(n uint32) bitset { return make(bitset, (uint64(n)+63)/64) }

// testSet reports whether i was set, and sets it. i must be in range.
func (b bitset) testSet(i uint32) bool {
	w, m := i/64, uint64(1)<<(i%64)
	was := b[w]&m != 0
	b[w] |= m
	return was
}

// chain returns the sectors of the chain starting at start in table (the
// FAT or the mini FAT), at most max of them: a longer chain is cut, not
// an error. A sector visited twice, or a link out of the table, is.
func chain(table []uint32, start uint32, max int, what string) ([]uint32, error) {
	var out []uint32
	seen := newBitset(uint32(len(table)))
	for s := start; s != endOfChain && len(out) < max; {
		if s == freeSect && len(out) > 0 {
			// QUIRK: a chain ending in a free sector instead of
			// ENDOFCHAIN ends there.
			break
		}
		if s >= uint32(len(table)) {
			switch s {
			case freeSect, fatSect, difSect:
				return nil, malformed("%s chain links to special sector %#x after %d sectors", what, s, len(out))
			}
			return nil, malformed("%s chain: sector %d out of range (%d known)", what, s, len(table))
		}
		if seen.testSet(s) {
			return nil, malformed("%s chain loops at sector %d", what, s)
		}
		out = append(out, s)
		s = table[s]
	}
	return out, nil
}

func (rd *reader) readDir() error {
	per := rd.secSize / dirEntrySize
	maxSecs := (rd.lim.MaxEntries + per - 1) / per
	secs, err := chain(rd.fat, rd.dirStart, maxSecs+1, "directory")
	if err != nil {
		return err
	}
	if len(secs) > maxSecs {
		return overLimit("directory holds more than %d entries", rd.lim.MaxEntries)
	}
	if len(secs) == 0 {
		return malformed("empty directory")
	}
	buf := make([]byte, rd.secSize)
	rd.dir = make([]dirEntry, 0, len(secs)*per)
	le := binary.LittleEndian
	for _, s := range secs {
		if err := rd.sector(s, buf); err != nil {
			return err
		}
		for j := 0; j < per; j++ {
			b := buf[j*dirEntrySize : (j+1)*dirEntrySize]
			e := dirEntry{
				name:  decodeName(b[:64], le.Uint16(b[64:])),
				typ:   b[66],
				left:  le.Uint32(b[68:]),
				right: le.Uint32(b[72:]),
				child: le.Uint32(b[76:]),
				start: le.Uint32(b[116:]),
				size:  le.Uint64(b[120:]),
			}
			if rd.shift == 9 {
				// QUIRK: version 3 writers may leave garbage in the high
				// 32 bits of the size (MS-CFB 2.6.3).
				e.size &= 0xFFFFFFFF
			}
			rd.dir = append(rd.dir, e)
		}
	}
	return nil
}

// decodeName decodes a directory entry name: UTF-16LE, n bytes including
// the terminating NUL.
func decodeName(b []byte, n uint16) string {
	units := make([]uint16, 0, 32)
	if n > 64 || n%2 != 0 {
		// QUIRK: a bad length: read up to the first NUL.
		n = 64
	}
	for i := 0; i+1 < int(n); i += 2 {
		u := binary.LittleEndian.Uint16(b[i:])
		if u == 0 {
			// QUIRK: a NUL before the declared end ends the name.
			break
		}
		units = append(units, u)
	}
	return string(utf16.Decode(units))
}

// walk visits the tree from the root, iteratively, each entry at most
// once, and fills f.entries and f.vba.
func (rd *reader) walk(f *File) error {
	if rd.dir[0].typ != typeRoot {
		return malformed("directory entry 0 is not the root (type %d)", rd.dir[0].typ)
	}
	type frame struct {
		idx, from uint32 // entry, and the entry that links to it
		parent    string // path of the parent storage
		parentVBA bool   // the parent storage is named VBA
		depth     int
	}
	seen := newBitset(uint32(len(rd.dir)))
	seen.testSet(0)
	rd.rootStreams = map[string][]uint32{}
	stack := []frame{{idx: rd.dir[0].child, from: 0, depth: 1}}
	// Paths are built for every entry; bound their total so that deep
	// nesting cannot turn a small directory into a large allocation.
	pathBytes, maxPathBytes := 0, 256*rd.lim.MaxEntries
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if fr.idx == noStream {
			continue
		}
		if fr.idx >= uint32(len(rd.dir)) {
			return malformed("directory entry %d links to entry %d, out of range (%d entries)", fr.from, fr.idx, len(rd.dir))
		}
		if seen.testSet(fr.idx) {
			return malformed("directory links loop: entry %d reached twice (from entry %d)", fr.idx, fr.from)
		}
		e := rd.dir[fr.idx]
		if e.typ != typeStorage && e.typ != typeStream {
			if e.typ == typeRoot {
				return malformed("directory entry %d is a second root", fr.idx)
			}
			// QUIRK: an unallocated entry linked into the tree is
			// skipped, with its links.
			f.problems = append(f.problems, fmt.Sprintf("corrupt: directory entry %d of type %d linked into the tree", fr.idx, e.typ))
			continue
		}
		sib := fr
		sib.from = fr.idx
		sib.idx = e.right
		stack = append(stack, sib)
		sib.idx = e.left
		stack = append(stack, sib)

		path := e.name
		if fr.parent != "" {
			path = fr.parent + "/" + e.name
		}
		if pathBytes += len(path); pathBytes > maxPathBytes {
			return overLimit("entry paths longer than %d bytes in total", maxPathBytes)
		}
		if e.typ == typeStream {
			f.entries = append(f.entries, Entry{Path: path, Stream: true, Size: int64(min(e.size, 1<<63-1))})
			if strings.EqualFold(e.name, "_VBA_PROJECT") || fr.parentVBA && strings.EqualFold(e.name, "dir") {
				f.vba = true
			}
			if fr.depth == 1 {
				// Names should be unique among siblings; when they are
				// not, every stream of the name is checked.
				k := strings.ToUpper(e.name)
				rd.rootStreams[k] = append(rd.rootStreams[k], fr.idx)
			}
			// QUIRK: a stream's child link is ignored.
			continue
		}
		f.entries = append(f.entries, Entry{Path: path})
		if e.child == noStream {
			continue
		}
		if fr.depth >= maxDepth {
			return overLimit("storages nested deeper than %d at %q", maxDepth, path)
		}
		stack = append(stack, frame{idx: e.child, from: fr.idx, parent: path, parentVBA: strings.EqualFold(e.name, "VBA"), depth: fr.depth + 1})
	}
	return nil
}

// loadMini reads the mini FAT and the chain of the mini stream, once.
func (rd *reader) loadMini() error {
	if !rd.miniLoaded {
		rd.miniLoaded = true
		rd.miniErr = rd.readMini()
	}
	return rd.miniErr
}

func (rd *reader) readMini() error {
	root := rd.dir[0]
	secs, err := chain(rd.fat, rd.miniFATStart, int(min(uint64(rd.miniFATCount), uint64(len(rd.fat)))), "mini FAT")
	if err != nil {
		return err
	}
	per := rd.secSize / 4
	rd.miniFAT = make([]uint32, 0, len(secs)*per)
	buf := make([]byte, rd.secSize)
	for _, s := range secs {
		if err := rd.sector(s, buf); err != nil {
			return err
		}
		for j := 0; j < per; j++ {
			rd.miniFAT = append(rd.miniFAT, binary.LittleEndian.Uint32(buf[4*j:]))
		}
	}
	need := (root.size + uint64(rd.secSize) - 1) / uint64(rd.secSize)
	rd.miniChain, err = chain(rd.fat, root.start, int(min(need, uint64(len(rd.fat)))), "mini stream")
	return err
}

// streamReader reads a stream a sector at a time, through the FAT, or the
// mini FAT and the mini stream under the cutoff. It reads only what is
// asked for: nothing is allocated in proportion to the declared size.
type streamReader struct {
	rd     *reader
	e      dirEntry
	mini   bool
	secs   []uint32 // the stream's sectors (mini sectors when mini)
	i      int      // next index in secs
	left   int      // bytes still to return
	done   int      // bytes returned
	buf    []byte   // one regular sector
	cached uint32   // the regular sector held in buf (mini streams), or freeSect
}

// openStream prepares to read the first max bytes of e (fewer if it is
// shorter). The chain of those bytes is followed (and checked for loops)
// now; the sectors are read by next.
func (rd *reader) openStream(e dirEntry, max int) (*streamReader, error) {
	s := &streamReader{rd: rd, e: e, left: int(min(uint64(max), e.size)), cached: freeSect}
	if s.left == 0 {
		return s, nil
	}
	var err error
	if e.size < miniCutoff {
		s.mini = true
		if err := rd.loadMini(); err != nil {
			return nil, err
		}
		s.secs, err = chain(rd.miniFAT, e.start, (s.left+miniSectorSize-1)/miniSectorSize, "mini FAT")
	} else {
		s.secs, err = chain(rd.fat, e.start, (s.left+rd.secSize-1)/rd.secSize, "stream")
	}
	if err != nil {
		return nil, err
	}
	s.buf = make([]byte, rd.secSize)
	return s, nil
}

// next returns the next bytes of the stream, valid until the next call;
// nil at the end of what openStream was asked for. A chain shorter than
// the stream is an error when its end is reached.
func (s *streamReader) next() ([]byte, error) {
	if s.left == 0 {
		return nil, nil
	}
	if s.i >= len(s.secs) {
		return nil, malformed("stream %q of %d bytes ends after %d", s.e.name, s.e.size, s.done)
	}
	m := s.secs[s.i]
	s.i++
	var out []byte
	if s.mini {
		per := uint32(s.rd.secSize / miniSectorSize)
		k := m / per
		if k >= uint32(len(s.rd.miniChain)) {
			return nil, malformed("mini sector %d beyond the mini stream (%d sectors)", m, len(s.rd.miniChain))
		}
		if sec := s.rd.miniChain[k]; sec != s.cached {
			s.cached = freeSect
			if err := s.rd.sector(sec, s.buf); err != nil {
				return nil, err
			}
			s.cached = sec
		}
		off := int(m%per) * miniSectorSize
		out = s.buf[off : off+miniSectorSize]
	} else {
		if err := s.rd.sector(m, s.buf); err != nil {
			return nil, err
		}
		out = s.buf
	}
	out = out[:min(len(out), s.left)]
	s.left -= len(out)
	s.done += len(out)
	return out, nil
}

// readPrefix returns the first n bytes of the stream (fewer if it is
// shorter).
func (rd *reader) readPrefix(e dirEntry, n int) ([]byte, error) {
	s, err := rd.openStream(e, n)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, s.left)
	for {
		b, err := s.next()
		if err != nil {
			return out, err
		}
		if b == nil {
			return out, nil
		}
		out = append(out, b...)
	}
}

// Record types and marks of the legacy formats.
const (
	wordIdent      = 0xA5EC // FibBase.wIdent (MS-DOC 2.5.2)
	wordFEncrypted = 0x0100 // FibBase flags bit F (MS-DOC 2.5.2)
	biffBOF        = 0x0809 // BOF (MS-XLS 2.4.21)
	biffEOF        = 0x000A
	biffFilePass   = 0x002F // FilePass (MS-XLS 2.4.117)
	biffBoundSheet = 0x0085 // BoundSheet8 (MS-XLS 2.4.28), BOUNDSHEET in BIFF5
	biffMacroSheet = 0x01   // BoundSheet8.dt of a macro sheet (Excel 4.0)

	// biffMaxBytes bounds the stream bytes of BIFF records walked, in all
	// Workbook and Book streams together. The globals substream (FilePass
	// right after its BOF, then fonts, formats, styles, names and the
	// BoundSheet8 records) ends within a few KB in ordinary workbooks and
	// within a few hundred KB in large ones.
	biffMaxBytes = 1 << 20
	// biffMaxStreams bounds the Workbook and Book streams walked (names
	// should be unique among siblings; a real file has one).
	biffMaxStreams = 16
)

func (rd *reader) checkEncryption(f *File) {
	root := rd.rootStreams
	has := func(name string) bool { _, ok := root[strings.ToUpper(name)]; return ok }
	// Encrypted OOXML in a CFB wrapper (MS-OFFCRYPTO 2.3.4.4, 2.2.4).
	if has("EncryptionInfo") && has("EncryptedPackage") {
		f.encrypted = true
	}
	// Encrypted PowerPoint 97-2003 (MS-PPT 2.1.3: EncryptedSummary
	// replaces the summary streams of an encrypted document).
	if has("EncryptedSummary") {
		f.encrypted = true
	}
	for _, i := range root["WORDDOCUMENT"] {
		b, err := rd.readPrefix(rd.dir[i], 12)
		switch {
		case err != nil:
			f.problems = append(f.problems, "corrupt: WordDocument: "+err.Error())
		case len(b) < 12 || binary.LittleEndian.Uint16(b) != wordIdent:
			f.problems = append(f.problems, "corrupt: WordDocument stream does not start with a FIB")
		case binary.LittleEndian.Uint16(b[10:])&wordFEncrypted != 0:
			f.encrypted = true
		}
	}
	budget := biffMaxBytes
	for k, i := range append(root["WORKBOOK"], root["BOOK"]...) {
		if k == biffMaxStreams {
			f.problems = append(f.problems, fmt.Sprintf("limit: more than %d Workbook and Book streams, the others not checked", biffMaxStreams))
			break
		}
		if p := rd.scanBIFF(f, rd.dir[i], &budget); p != "" {
			f.problems = append(f.problems, p)
		}
	}
}

// scanBIFF walks the records of the globals substream of a Workbook
// (BIFF8) or Book (BIFF5) stream, from its BOF to its first EOF record,
// at most *budget bytes of it (and takes them from *budget). A FilePass
// record sets f.encrypted, a BoundSheet8 record of a macro sheet f.xlm;
// either ends the walk. It returns what kept it from reaching the EOF
// record, or "".
func (rd *reader) scanBIFF(f *File, e dirEntry, budget *int) string {
	s, err := rd.openStream(e, max(*budget, 0))
	if err != nil {
		return "corrupt: " + e.name + ": " + err.Error()
	}
	le := binary.LittleEndian
	var win []byte // the stream from off on, as far as read
	off := 0
	// fill reads until win holds n bytes; false at the end of what
	// openStream allowed.
	fill := func(n int) (bool, error) {
		for len(win) < n {
			b, err := s.next()
			if err != nil || b == nil {
				return false, err
			}
			*budget -= len(b)
			win = append(win, b...)
		}
		return true, nil
	}
	for first := true; ; first = false {
		ok, err := fill(4)
		if ok && first && le.Uint16(win)&0x00FF != biffBOF&0x00FF {
			// Not BIFF (BOF of BIFF2-8 is 0x0009, 0x0209, 0x0409, 0x0809).
			return fmt.Sprintf("corrupt: %s stream does not start with a BOF record", e.name)
		}
		if ok {
			ok, err = fill(4 + int(le.Uint16(win[2:])))
		}
		if err != nil {
			return "corrupt: " + e.name + ": " + err.Error()
		}
		if !ok {
			switch {
			case uint64(off+len(win)) < e.size:
				return fmt.Sprintf("limit: %s: no EOF record in the first %d bytes read; its sheets were not all checked for macro sheets", e.name, off+len(win))
			case first && len(win) < 4:
				return fmt.Sprintf("corrupt: %s stream of %d bytes holds no BIFF record", e.name, e.size)
			case len(win) == 0:
				return fmt.Sprintf("corrupt: %s: no EOF record before the end of the stream (%d bytes)", e.name, e.size)
			}
			return fmt.Sprintf("corrupt: %s: the record at offset %d runs past the end of the stream (%d bytes) before the EOF record", e.name, off, e.size)
		}
		typ, n := le.Uint16(win), int(le.Uint16(win[2:]))
		switch typ {
		case biffFilePass:
			// The records after FilePass are encrypted but for their
			// type and size (and BoundSheet8.lbPlyPos): their sheet
			// types cannot be read (MS-XLS 2.2.10).
			f.encrypted = true
			return ""
		case biffEOF:
			return ""
		case biffBoundSheet:
			// lbPlyPos (4 bytes), hsState (1 byte), dt (1 byte), name.
			// QUIRK: a record too short to hold dt is skipped.
			if n >= 6 && win[4+5] == biffMacroSheet {
				f.xlm = true
				return ""
			}
		}
		win = win[4+n:]
		off += 4 + n
	}
}
