package ole

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func openBytes(b []byte, lim Limits) (*File, error) {
	return Open(bytes.NewReader(b), int64(len(b)), lim)
}

// wordFIB is the start of a WordDocument stream: a FibBase (MS-DOC
// 2.5.2) with fEncrypted as asked, padded to n bytes.
func wordFIB(encrypted bool, n int) []byte {
	b := make([]byte, n)
	binary.LittleEndian.PutUint16(b, wordIdent)
	binary.LittleEndian.PutUint16(b[2:], 0x00C1) // nFib of Word 97
	if encrypted {
		binary.LittleEndian.PutUint16(b[10:], wordFEncrypted|0x0200)
	} else {
		binary.LittleEndian.PutUint16(b[10:], 0x0200) // fWhichTblStm only
	}
	return b
}

// biffRec is one BIFF record.
func biffRec(typ uint16, data []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, typ)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// workbook is a Workbook stream: BOF, FilePass when asked, a few records,
// EOF, padded to n bytes.
func workbook(filePass bool, n int) []byte {
	b := biffRec(biffBOF, make([]byte, 16))
	if filePass {
		b = append(b, biffRec(biffFilePass, make([]byte, 54))...)
	}
	b = append(b, biffRec(0x00E1, []byte{0xB0, 0x04})...) // InterfaceHdr
	b = append(b, biffRec(0x0042, []byte{0xE4, 0x04})...) // CodePage
	b = append(b, biffRec(biffEOF, nil)...)
	// A FilePass after the EOF record does not count.
	b = append(b, biffRec(biffFilePass, make([]byte, 6))...)
	if len(b) < n {
		b = append(b, make([]byte, n-len(b))...)
	}
	return b
}

func summary() []*node {
	return []*node{
		stream("\x05SummaryInformation", bytes.Repeat([]byte{1}, 300)),
		stream("\x05DocumentSummaryInformation", bytes.Repeat([]byte{2}, 200)),
	}
}

func vbaStorage(name string, streams ...string) *node {
	s := storage(name)
	for _, n := range streams {
		s.kids = append(s.kids, stream(n, bytes.Repeat([]byte(n), 50)))
	}
	return s
}

type docCase struct {
	name    string
	tree    []*node
	vba     bool
	xlm     bool
	enc     bool
	problem string // a substring of one of Problems, if any
}

func docCases() []docCase {
	word := func(kids ...*node) []*node {
		return append(append(summary(), stream("WordDocument", wordFIB(false, 5000)), stream("1Table", make([]byte, 700))), kids...)
	}
	return append([]docCase{
		{name: "word plain", tree: word()},
		{name: "word macros", tree: word(storage("Macros", vbaStorage("VBA", "dir", "_VBA_PROJECT", "ThisDocument"), stream("PROJECT", []byte("ID=")))), vba: true},
		{name: "word macros dir only", tree: word(storage("Macros", vbaStorage("VBA", "dir"))), vba: true},
		{name: "word macros _VBA_PROJECT only", tree: word(storage("Macros", vbaStorage("VBA", "_VBA_PROJECT"))), vba: true},
		{name: "word macros case", tree: word(storage("macros", vbaStorage("vba", "DIR"))), vba: true},
		{name: "word VBA storage without project", tree: word(storage("Macros", vbaStorage("VBA", "Module1", "ThisDocument")))},
		{name: "dir beside VBA stream", tree: word(stream("VBA", []byte("x")), stream("dir", []byte("y")))},
		{name: "dir under VBA2", tree: word(storage("Macros", vbaStorage("VBA2", "dir")))},
		{name: "dir under VBA grandchild", tree: word(storage("VBA", vbaStorage("sub", "dir")))},
		{name: "_VBA_PROJECT stream deep", tree: word(storage("a", storage("b", storage("c", stream("_vba_project", []byte("z")))))), vba: true}, // anywhere
		{name: "excel macros", tree: append(summary(), stream("Workbook", workbook(false, 6000)), storage("_VBA_PROJECT_CUR", vbaStorage("VBA", "dir", "_VBA_PROJECT", "Sheet1"), stream("PROJECT", nil))), vba: true},
		{name: "excel plain", tree: append(summary(), stream("Workbook", workbook(false, 6000)))},
		{name: "excel filepass", tree: append(summary(), stream("Workbook", workbook(true, 6000))), enc: true},
		{name: "excel filepass small", tree: append(summary(), stream("Workbook", workbook(true, 900))), enc: true},
		{name: "excel BIFF5 Book filepass", tree: []*node{stream("Book", workbook(true, 300))}, enc: true},
		{name: "powerpoint macros elsewhere", tree: append(summary(), stream("PowerPoint Document", make([]byte, 800)), stream("Current User", make([]byte, 60)), storage("_1234567890", vbaStorage("VBA", "dir"))), vba: true},
		{name: "powerpoint encrypted", tree: append(summary(), stream("PowerPoint Document", make([]byte, 800)), stream("EncryptedSummary", make([]byte, 100))), enc: true},
		{name: "word encrypted", tree: append(summary(), stream("WordDocument", wordFIB(true, 5000)), stream("1Table", make([]byte, 700))), enc: true},
		{name: "word encrypted small", tree: append(summary(), stream("WordDocument", wordFIB(true, 1200)), stream("1Table", make([]byte, 700))), enc: true},
		{name: "word encrypted flag in a substorage does not count", tree: append(summary(), storage("ObjectPool", storage("_1", stream("WordDocument", wordFIB(true, 100)))))},
		{name: "word without FIB", tree: []*node{stream("WordDocument", make([]byte, 100))}, problem: "does not start with a FIB"},
		{name: "ooxml encrypted", tree: []*node{stream("EncryptionInfo", make([]byte, 200)), stream("EncryptedPackage", make([]byte, 9000))}, enc: true},
		{name: "ooxml encrypted case", tree: []*node{stream("encryptioninfo", make([]byte, 200)), stream("ENCRYPTEDPACKAGE", make([]byte, 9000))}, enc: true},
		{name: "EncryptionInfo alone", tree: []*node{stream("EncryptionInfo", make([]byte, 200))}},
		{name: "empty", tree: nil},
		{name: "empty stream", tree: []*node{stream("WordDocument", nil)}, problem: "does not start with a FIB"},
		{name: "control chars", tree: []*node{storage("\x01Ole10\x7f\x02", stream("\x1b[31m", []byte("x"))), stream("ünïcödé ✓", []byte("y"))}},
		{name: "many entries", tree: manyStreams(300)},
	}, xlmCases()...)
}

func manyStreams(n int) []*node {
	var kids []*node
	for i := range n {
		kids = append(kids, stream(fmt.Sprintf("__substg1.0_%08X", i), bytes.Repeat([]byte{byte(i)}, i*7)))
	}
	return []*node{storage("__attach_version1.0_#00000000", kids...), stream("__properties_version1.0", make([]byte, 100))}
}

// wantEntries lists the paths the tree should yield, "path stream size".
func wantEntries(tree []*node) []string {
	var out []string
	var walk func(prefix string, ns []*node)
	walk = func(prefix string, ns []*node) {
		for _, n := range ns {
			p := n.name
			if prefix != "" {
				p = prefix + "/" + n.name
			}
			out = append(out, fmt.Sprintf("%q %v %d", p, n.stream, len(n.data)))
			walk(p, n.kids)
		}
	}
	walk("", tree)
	slices.Sort(out)
	return out
}

func gotEntries(f *File) []string {
	var out []string
	for _, e := range f.Entries() {
		out = append(out, fmt.Sprintf("%q %v %d", e.Path, e.Stream, e.Size))
	}
	slices.Sort(out)
	return out
}

var variants = []struct {
	name string
	o    writeOpts
}{
	{"v3", writeOpts{shift: 9}},
	{"v4", writeOpts{shift: 12}},
}

func TestGenerated(t *testing.T) {
	for _, c := range docCases() {
		for _, v := range variants {
			t.Run(c.name+"/"+v.name, func(t *testing.T) {
				l := writeCFB(c.tree, v.o)
				f, err := openBytes(l.b, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := gotEntries(f), wantEntries(c.tree); !slices.Equal(got, want) {
					t.Errorf("entries:\n got %q\nwant %q", got, want)
				}
				if f.HasVBA() != c.vba {
					t.Errorf("HasVBA() = %v, want %v", f.HasVBA(), c.vba)
				}
				if f.HasXLM() != c.xlm || f.HasMacros() != (c.vba || c.xlm) {
					t.Errorf("HasXLM() = %v, HasMacros() = %v, want %v", f.HasXLM(), f.HasMacros(), c.xlm)
				}
				if f.Encrypted() != c.enc {
					t.Errorf("Encrypted() = %v, want %v", f.Encrypted(), c.enc)
				}
				probs := strings.Join(f.Problems(), "\n")
				if c.problem == "" && probs != "" || !strings.Contains(probs, c.problem) {
					t.Errorf("Problems() = %q, want one containing %q", f.Problems(), c.problem)
				}
			})
		}
	}
}

func TestIs(t *testing.T) {
	l := writeCFB(nil, writeOpts{})
	if !Is(l.b) || !Is(Magic) || Is(Magic[:7]) || Is([]byte("PK\x03\x04")) || Is(nil) {
		t.Error("Is misjudges")
	}
}

// TestDIFAT builds a file whose FAT needs more than the header's 109
// sectors, so that the DIFAT chain is read.
func TestDIFAT(t *testing.T) {
	big := make([]byte, 110*128*512)
	for i := range big {
		big[i] = byte(i / 512)
	}
	tree := []*node{stream("WordDocument", wordFIB(true, 5000)), stream("Big", big)}
	l := writeCFB(tree, writeOpts{})
	if len(l.difSecs) == 0 {
		t.Fatalf("the writer made no DIFAT sector (%d FAT sectors)", len(l.fatSecs))
	}
	start := time.Now()
	f, err := openBytes(l.b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("opened a %d-byte file with %d FAT and %d DIFAT sectors in %v", len(l.b), len(l.fatSecs), len(l.difSecs), time.Since(start))
	if got, want := gotEntries(f), wantEntries(tree); !slices.Equal(got, want) || !f.Encrypted() {
		t.Errorf("entries %q encrypted %v, want %q true", got, f.Encrypted(), want)
	}
	// The DIFAT chain looping on itself.
	l.put32(68+4, 5) // header: 5 DIFAT sectors declared
	d := l.difSecs[0]
	l.put32(l.secOff(d), freeSect) // the one FAT sector it lists: now the next DIFAT sector is needed
	l.put32(l.secOff(d)+512-4, d)
	_, err = openBytes(l.b, Limits{})
	wantErr(t, err, ErrMalformed, "DIFAT chain loops at sector")
	// Past MaxSectors.
	_, err = openBytes(l.b, Limits{MaxSectors: 10000})
	wantErr(t, err, ErrLimit, "over the limit of 10000")
}

func wantErr(t *testing.T, err, kind error, text string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %q", kind, text)
	}
	if !errors.Is(err, kind) || !strings.Contains(err.Error(), text) || !strings.HasPrefix(err.Error(), "ole: ") {
		t.Fatalf("error %q, want %v containing %q", err, kind, text)
	}
}

// base is a document whose directory spans several sectors, with a
// Workbook stream in regular sectors and small streams in the mini stream.
func base(o writeOpts) *layout {
	return writeCFB(append(summary(),
		stream("Workbook", workbook(false, 6000)),
		stream("WordDocument", wordFIB(false, 300)),
		storage("Macros", vbaStorage("VBA", "Module1", "ThisDocument")),
	), o)
}

func TestMalformed(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name  string
		edit  func(l *layout) []byte
		kind  error
		text  string
		lim   Limits
		shift uint
	}{
		{name: "empty", edit: func(l *layout) []byte { return nil }, kind: ErrMalformed, text: "shorter than the 512-byte header"},
		{name: "truncated header", edit: func(l *layout) []byte { return l.b[:300] }, kind: ErrMalformed, text: "shorter than the 512-byte header"},
		{name: "header only", edit: func(l *layout) []byte { return l.b[:512] }, kind: ErrMalformed, text: "FAT sectors, file has 0 sectors"},
		{name: "truncated after FAT", edit: func(l *layout) []byte { return l.b[:l.secOff(l.fatSecs[0])+l.secSize] }, kind: ErrMalformed, text: "out of range"},
		{name: "no signature", edit: func(l *layout) []byte { l.b[0] = 'P'; return l.b }, kind: ErrMalformed, text: "no compound file signature"},
		{name: "sector shift", edit: func(l *layout) []byte { le.PutUint16(l.b[30:], 10); return l.b }, kind: ErrMalformed, text: "sector shift 10"},
		{name: "sector shift huge", edit: func(l *layout) []byte { le.PutUint16(l.b[30:], 0xFFFF); return l.b }, kind: ErrMalformed, text: "sector shift 65535"},
		{name: "mini sector shift", edit: func(l *layout) []byte { le.PutUint16(l.b[32:], 7); return l.b }, kind: ErrMalformed, text: "mini sector shift 7"},
		{name: "huge FAT count", edit: func(l *layout) []byte { l.put32(44, 0xFFFFFFFF); return l.b }, kind: ErrMalformed, text: "declares 4294967295 FAT sectors"},
		{name: "FAT sector out of range", edit: func(l *layout) []byte { l.put32(76, 1_000_000); return l.b }, kind: ErrMalformed, text: "FAT sector 1000000 (number 0) out of range"},
		{name: "FAT sector special", edit: func(l *layout) []byte { l.put32(76, endOfChain-1); return l.b }, kind: ErrMalformed, text: "out of range"},
		{name: "FAT sector twice", edit: func(l *layout) []byte { l.put32(44, 2); l.put32(80, l.fatSecs[0]); return l.b }, kind: ErrMalformed, text: "listed twice"},
		{name: "directory start out of range", edit: func(l *layout) []byte { l.put32(48, 1_000_000); return l.b }, kind: ErrMalformed, text: "directory chain: sector 1000000 out of range"},
		{name: "directory start special", edit: func(l *layout) []byte { l.put32(48, fatSect); return l.b }, kind: ErrMalformed, text: "special sector 0xfffffffd"},
		{name: "directory empty", edit: func(l *layout) []byte { l.put32(48, endOfChain); return l.b }, kind: ErrMalformed, text: "empty directory"},
		{name: "directory chain loops", edit: func(l *layout) []byte { l.setFAT(l.dirSecs[1], l.dirSecs[0]); return l.b }, kind: ErrMalformed, text: fmt.Sprintf("directory chain loops at sector %d", 1)},
		{name: "directory chain self loop", edit: func(l *layout) []byte { l.setFAT(l.dirSecs[0], l.dirSecs[0]); return l.b }, kind: ErrMalformed, text: "directory chain loops"},
		{name: "directory chain out of range", edit: func(l *layout) []byte { l.setFAT(l.dirSecs[0], 99999); return l.b }, kind: ErrMalformed, text: "sector 99999 out of range"},
		{name: "root not root", edit: func(l *layout) []byte { l.b[l.dirOff(0)+66] = typeStorage; return l.b }, kind: ErrMalformed, text: "not the root (type 1)"},
		{name: "second root", edit: func(l *layout) []byte { l.b[l.dirOff(l.dirIndex["Workbook"])+66] = typeRoot; return l.b }, kind: ErrMalformed, text: "second root"},
		{name: "sibling loops to itself", edit: func(l *layout) []byte {
			i := l.dirIndex["Workbook"]
			l.put32(l.dirOff(i)+72, uint32(i))
			return l.b
		}, kind: ErrMalformed, text: "reached twice"},
		{name: "child loops to ancestor", edit: func(l *layout) []byte {
			vba := l.dirIndex["Macros/VBA"]
			l.put32(l.dirOff(vba)+76, uint32(l.dirIndex["Macros"]))
			return l.b
		}, kind: ErrMalformed, text: "reached twice"},
		{name: "child loops to root", edit: func(l *layout) []byte {
			l.put32(l.dirOff(l.dirIndex["Macros"])+76, 0)
			return l.b
		}, kind: ErrMalformed, text: "entry 0 reached twice"},
		{name: "link out of range", edit: func(l *layout) []byte {
			l.put32(l.dirOff(l.dirIndex["Workbook"])+68, 5000)
			return l.b
		}, kind: ErrMalformed, text: "links to entry 5000, out of range"},
		{name: "too many entries", edit: func(l *layout) []byte { return l.b }, lim: Limits{MaxEntries: 4}, kind: ErrLimit, text: "more than 4 entries"},
		{name: "too many sectors", edit: func(l *layout) []byte { return l.b }, lim: Limits{MaxSectors: 3}, kind: ErrLimit, text: "over the limit of 3"},
		{name: "v4 truncated", shift: 12, edit: func(l *layout) []byte { return l.b[:4096+100] }, kind: ErrMalformed, text: "out of range"},
		{name: "v4 huge FAT count", shift: 12, edit: func(l *layout) []byte { l.put32(44, 1<<30); return l.b }, kind: ErrMalformed, text: "FAT sectors"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := base(writeOpts{shift: c.shift})
			if len(l.dirSecs) < 2 && c.shift != 12 {
				t.Fatalf("the base document has %d directory sectors, want 2 or more", len(l.dirSecs))
			}
			b := c.edit(l)
			cr := &countingReader{r: bytes.NewReader(b)}
			_, err := Open(cr, int64(len(b)), c.lim)
			wantErr(t, err, c.kind, c.text)
			if cr.n > 4*int64(len(b))+1<<20 {
				t.Errorf("read %d bytes of a %d-byte file", cr.n, len(b))
			}
		})
	}
}

// TestTolerated: damage that Open survives, recording a problem where a
// check could not be made.
func TestTolerated(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name    string
		edit    func(l *layout)
		problem string
		enc     bool
		size    int64 // the WordDocument size reported, when not 0
		shift   uint
	}{
		{name: "workbook chain loops", edit: func(l *layout) {
			s := le.Uint32(l.b[l.dirOff(l.dirIndex["Workbook"])+116:])
			l.setFAT(l.fat[s], s)
		}, problem: "corrupt: Workbook: ole: stream chain loops at sector"},
		{name: "workbook chain out of range", edit: func(l *layout) {
			l.put32(l.dirOff(l.dirIndex["Workbook"])+116, 77777)
		}, problem: "stream chain: sector 77777 out of range"},
		{name: "word mini sector out of range", edit: func(l *layout) {
			l.put32(l.dirOff(l.dirIndex["WordDocument"])+116, 4000)
		}, problem: "mini FAT chain: sector 4000 out of range"},
		{name: "mini stream chain loops", edit: func(l *layout) {
			s := le.Uint32(l.b[l.dirOff(0)+116:])
			l.setFAT(s, s)
		}, problem: "mini stream chain loops"},
		{name: "huge word size v3", edit: func(l *layout) {
			o := l.dirOff(l.dirIndex["WordDocument"])
			binary.LittleEndian.PutUint64(l.b[o+120:], 0x7FFFFFFF_FFFFFFFF)
			// Now over the cutoff, the stream is looked for in regular
			// sectors: make its start one that holds an encrypted FIB.
			l.put32(o+116, le.Uint32(l.b[l.dirOff(l.dirIndex["Workbook"])+116:]))
		}, size: 0xFFFFFFFF, problem: "does not start with a FIB"},
		{name: "huge word size v4", shift: 12, edit: func(l *layout) {
			o := l.dirOff(l.dirIndex["WordDocument"])
			binary.LittleEndian.PutUint64(l.b[o+120:], 1<<62)
		}, size: 1 << 62, problem: "does not start with a FIB"},
		{name: "huge root size", edit: func(l *layout) {
			binary.LittleEndian.PutUint64(l.b[l.dirOff(0)+120:], 0xFFFFFFFF)
		}},
		{name: "huge mini FAT count", edit: func(l *layout) { l.put32(64, 0xFFFFFFFF) }},
		{name: "unallocated entry linked", edit: func(l *layout) {
			l.b[l.dirOff(l.dirIndex["Macros"])+66] = typeUnknown
		}, problem: "corrupt: directory entry"},
		{name: "bad name length", edit: func(l *layout) {
			le.PutUint16(l.b[l.dirOff(l.dirIndex["Workbook"])+64:], 999)
		}},
		{name: "short last sector", edit: func(l *layout) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := base(writeOpts{shift: c.shift})
			c.edit(l)
			b := l.b
			if c.name == "short last sector" {
				b = b[:len(b)-100]
			}
			f, err := openBytes(b, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			probs := strings.Join(f.Problems(), "\n")
			if c.problem == "" && probs != "" || !strings.Contains(probs, c.problem) {
				t.Errorf("Problems() = %q, want one containing %q", f.Problems(), c.problem)
			}
			if f.Encrypted() != c.enc {
				t.Errorf("Encrypted() = %v", f.Encrypted())
			}
			if c.name != "unallocated entry linked" && len(f.Entries()) != 8 {
				t.Errorf("%d entries: %q", len(f.Entries()), gotEntries(f))
			}
			for _, e := range f.Entries() {
				if e.Path == "WordDocument" && c.size != 0 && e.Size != c.size {
					t.Errorf("WordDocument size %d, want %d", e.Size, c.size)
				}
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	n := stream("leaf", []byte("x"))
	for i := range 40 {
		n = storage(fmt.Sprintf("s%d", i), n)
	}
	_, err := openBytes(writeCFB([]*node{n}, writeOpts{}).b, Limits{})
	wantErr(t, err, ErrLimit, "nested deeper than 32")

	n = stream("_VBA_PROJECT", []byte("x"))
	for i := range 30 {
		n = storage(fmt.Sprintf("s%d", i), n)
	}
	f, err := openBytes(writeCFB([]*node{n}, writeOpts{}).b, Limits{})
	if err != nil || !f.HasVBA() {
		t.Fatalf("31 deep: %v, HasVBA %v", err, f != nil && f.HasVBA())
	}
}

type countingReader struct {
	r interface {
		ReadAt([]byte, int64) (int, error)
	}
	n     int64
	calls int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// TestDuplicateNames: two root streams of one name (which MS-CFB forbids)
// are both checked, whatever order the tree gives them.
func TestDuplicateNames(t *testing.T) {
	for _, order := range [][]bool{{false, true}, {true, false}} {
		tree := []*node{stream("WordDocument", wordFIB(order[0], 300)), stream("WORDDOCUMENT", wordFIB(order[1], 5000))}
		f, err := openBytes(writeCFB(tree, writeOpts{}).b, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !f.Encrypted() || len(f.Entries()) != 2 {
			t.Errorf("%v: Encrypted %v, entries %q", order, f.Encrypted(), gotEntries(f))
		}
	}
}
