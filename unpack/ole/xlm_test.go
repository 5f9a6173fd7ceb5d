package ole

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// Sheet types of BoundSheet8.dt (MS-XLS 2.4.28).
const (
	dtWorksheet = 0x00
	dtMacro     = 0x01
	dtChart     = 0x02
	dtVBModule  = 0x06
)

// sheet is one BoundSheet8 record to write.
type sheet struct {
	name    string
	dt      byte
	hsState byte // 0 visible, 1 hidden, 2 very hidden
}

// boundSheet8 is a BIFF8 BoundSheet8 record: lbPlyPos, hsState, dt, and
// the name as a ShortXLUnicodeString (cch, fHighByte 0, Latin-1 bytes).
func boundSheet8(pos uint32, s sheet) []byte {
	d := binary.LittleEndian.AppendUint32(nil, pos)
	d = append(d, s.hsState, s.dt, byte(len(s.name)), 0)
	return biffRec(biffBoundSheet, append(d, s.name...))
}

// boundSheet5 is a BIFF5 BOUNDSHEET record: the same fields, the name
// with an 8-bit length and no flags byte.
func boundSheet5(pos uint32, s sheet) []byte {
	d := binary.LittleEndian.AppendUint32(nil, pos)
	d = append(d, s.hsState, s.dt, byte(len(s.name)))
	return biffRec(biffBoundSheet, append(d, s.name...))
}

type bookOpts struct {
	biff5    bool
	filePass bool
	filler   int // bytes of Font records before the BoundSheet8 records
	after    []sheet
}

// xlsBook is a Workbook (BIFF8) or Book (BIFF5) stream: the globals
// substream (BOF, FilePass if asked, InterfaceHdr, CodePage, filler Font
// records, one BoundSheet8 per sheet, EOF), then one substream per sheet
// (BOF, Dimensions, EOF) at the position its BoundSheet8 names, then the
// o.after BoundSheet8 records, past the globals EOF, which must not count.
func xlsBook(o bookOpts, sheets ...sheet) []byte {
	bof := func(dt uint16) []byte {
		d := make([]byte, 16)
		if o.biff5 {
			d = d[:8]
		}
		binary.LittleEndian.PutUint16(d, 0x0600)
		if o.biff5 {
			binary.LittleEndian.PutUint16(d, 0x0500)
		}
		binary.LittleEndian.PutUint16(d[2:], dt)
		return biffRec(biffBOF, d)
	}
	bs := boundSheet8
	if o.biff5 {
		bs = boundSheet5
	}
	g := bof(0x0005) // workbook globals
	if o.filePass {
		g = append(g, biffRec(biffFilePass, make([]byte, 54))...)
	}
	g = append(g, biffRec(0x00E1, []byte{0xB0, 0x04})...) // InterfaceHdr
	g = append(g, biffRec(0x0042, []byte{0xE4, 0x04})...) // CodePage
	font := biffRec(0x0031, bytes.Repeat([]byte{0x41}, 1000))
	for n := 0; n < o.filler; n += len(font) {
		g = append(g, font...)
	}
	// The substreams follow the globals: compute the globals' size first.
	bsLen := 0
	for _, s := range sheets {
		bsLen += len(bs(0, s))
	}
	pos := len(g) + bsLen + 4
	var subs []byte
	for _, s := range sheets {
		g = append(g, bs(uint32(pos+len(subs)), s)...)
		dt := uint16(0x0010) // worksheet
		switch s.dt {
		case dtMacro:
			dt = 0x0040
		case dtChart:
			dt = 0x0020
		}
		subs = append(subs, bof(dt)...)
		subs = append(subs, biffRec(0x0200, make([]byte, 14))...) // Dimensions
		subs = append(subs, biffRec(biffEOF, nil)...)
	}
	g = append(g, biffRec(biffEOF, nil)...)
	g = append(g, subs...)
	for _, s := range o.after {
		g = append(g, bs(0, s)...)
	}
	return g
}

// xlmCases are documents for the XLM detection, checked by TestGenerated
// with the other docCases.
func xlmCases() []docCase {
	ws := sheet{name: "Sheet1", dt: dtWorksheet}
	macro := sheet{name: "Macro1", dt: dtMacro}
	hidden := sheet{name: "Auto_Open", dt: dtMacro, hsState: 2}
	chart := sheet{name: "Chart1", dt: dtChart}
	wb := func(o bookOpts, s ...sheet) []*node {
		return append(summary(), stream("Workbook", xlsBook(o, s...)))
	}
	return []docCase{
		{name: "xlm macro sheet", tree: wb(bookOpts{}, ws, macro), xlm: true},
		{name: "xlm macro sheet first", tree: wb(bookOpts{}, macro, ws), xlm: true},
		{name: "xlm very hidden macro sheet", tree: wb(bookOpts{}, ws, ws, hidden), xlm: true},
		{name: "xlm only sheet", tree: wb(bookOpts{}, hidden), xlm: true},
		{name: "xlm after 200 KB of globals", tree: wb(bookOpts{filler: 200_000}, ws, macro), xlm: true},
		{name: "xlm BIFF5 Book", tree: []*node{stream("Book", xlsBook(bookOpts{biff5: true}, ws, macro))}, xlm: true},
		{name: "xlm beside VBA", tree: append(wb(bookOpts{}, ws, macro), storage("_VBA_PROJECT_CUR", vbaStorage("VBA", "dir"))), xlm: true, vba: true},
		{name: "xlm workbook case", tree: []*node{stream("WORKBOOK", xlsBook(bookOpts{}, macro))}, xlm: true},
		{name: "xls worksheets and chart", tree: wb(bookOpts{}, ws, chart, sheet{name: "Sheet2"})},
		{name: "xls VB module sheet", tree: wb(bookOpts{}, ws, sheet{name: "Module1", dt: dtVBModule})},
		{name: "xls hidden worksheet", tree: wb(bookOpts{}, sheet{name: "h", hsState: 2})},
		{name: "xls BIFF5 worksheets", tree: []*node{stream("Book", xlsBook(bookOpts{biff5: true}, ws, chart))}},
		{name: "xls no sheets", tree: wb(bookOpts{})},
		{name: "xls large globals", tree: wb(bookOpts{filler: 200_000}, ws, chart)},
		{name: "xls macro sheet after the globals EOF", tree: wb(bookOpts{after: []sheet{macro}}, ws)},
		// The sheet types of an encrypted workbook are encrypted.
		{name: "xls filepass hides the sheet types", tree: wb(bookOpts{filePass: true}, ws, macro), enc: true},
		// An embedded workbook is not opened.
		{name: "xlm in a substorage", tree: append(summary(), stream("WordDocument", wordFIB(false, 600)),
			storage("ObjectPool", storage("_1", stream("Workbook", xlsBook(bookOpts{}, macro)))))},
		{name: "xls two workbooks, the second with XLM", tree: []*node{stream("Workbook", xlsBook(bookOpts{}, ws)), stream("Book", xlsBook(bookOpts{biff5: true}, macro))}, xlm: true},
	}
}

// TestXLMDamaged: Workbook streams that are not what they should be.
// Nothing fails Open; what kept the walk from the EOF record is a
// problem, and a macro sheet seen before the damage still counts.
func TestXLMDamaged(t *testing.T) {
	ws := sheet{name: "Sheet1", dt: dtWorksheet}
	macro := sheet{name: "Macro1", dt: dtMacro}
	good := xlsBook(bookOpts{}, ws, macro)
	globalsEnd := bytes.Index(good, biffRec(biffEOF, nil))
	if globalsEnd < 0 {
		t.Fatal("no EOF record")
	}
	macroAt := bytes.Index(good, boundSheet8(0, macro)[:4]) // the second BoundSheet8 header
	macroAt += 4 + bytes.Index(good[macroAt+4:], boundSheet8(0, macro)[:4])
	cases := []struct {
		name    string
		data    []byte
		xlm     bool
		problem string
	}{
		{name: "truncated before the macro sheet", data: good[:macroAt+3], problem: "runs past the end of the stream"},
		{name: "truncated inside the macro sheet", data: good[:macroAt+9], problem: "runs past the end of the stream"},
		{name: "truncated after the macro sheet", data: good[:globalsEnd], xlm: true},
		{name: "no EOF record", data: xlsBook(bookOpts{}, ws)[:globalsEnd-len(boundSheet8(0, macro))], problem: "no EOF record before the end"},
		{name: "record length past the end", data: append(xlsBook(bookOpts{}, ws)[:20], biffRec(biffBoundSheet, nil)[:2]...), problem: "runs past the end"},
		{name: "huge record length", data: append(bytes.Clone(good[:20]), 0x85, 0x00, 0xFF, 0xFF, 1, 2, 3), problem: "runs past the end"},
		{name: "garbage", data: bytes.Repeat([]byte("garbage!"), 700), problem: "does not start with a BOF record"},
		{name: "garbage in regular sectors", data: bytes.Repeat([]byte("garbage!"), 7000), problem: "does not start with a BOF record"},
		{name: "empty", data: nil, problem: "holds no BIFF record"},
		{name: "three bytes", data: []byte{9, 8, 0}, problem: "holds no BIFF record"},
		{name: "zeros after BOF", data: append(bytes.Clone(good[:20]), make([]byte, 9000)...), problem: "no EOF record before the end"},
		{name: "short BoundSheet8", data: append(append(bytes.Clone(good[:20]), biffRec(biffBoundSheet, []byte{0, 0, 0, 0, 1})...), biffRec(biffEOF, nil)...)},
		// The record header alone says dt: it must not be read past the
		// record into the next one.
		{name: "BoundSheet8 of 5 bytes before a 1", data: append(append(bytes.Clone(good[:20]), biffRec(biffBoundSheet, []byte{0, 0, 0, 0, 0})...), biffRec(0x0001, []byte{1, 1, 1, 1, 1, 1})...), problem: "no EOF record before the end"},
	}
	for _, c := range cases {
		for _, v := range variants {
			t.Run(c.name+"/"+v.name, func(t *testing.T) {
				f, err := openBytes(writeCFB([]*node{stream("Workbook", c.data)}, v.o).b, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if f.HasXLM() != c.xlm || f.HasMacros() != c.xlm || f.Encrypted() {
					t.Errorf("HasXLM %v HasMacros %v Encrypted %v, want %v %v false", f.HasXLM(), f.HasMacros(), f.Encrypted(), c.xlm, c.xlm)
				}
				probs := strings.Join(f.Problems(), "\n")
				if c.problem == "" && probs != "" || !strings.Contains(probs, c.problem) || len(f.Problems()) > 1 {
					t.Errorf("Problems() = %q, want one containing %q", f.Problems(), c.problem)
				}
			})
		}
	}
}

// TestXLMBounded: a huge Workbook stream without an EOF record is walked
// for at most biffMaxBytes, in all its namesakes together, and the rest
// is reported unchecked.
func TestXLMBounded(t *testing.T) {
	ws := sheet{name: "Sheet1", dt: dtWorksheet}
	macro := sheet{name: "Macro1", dt: dtMacro}
	// 2 MB of globals, the macro sheet at their end.
	body := xlsBook(bookOpts{filler: 2 << 20}, ws, macro)
	small := xlsBook(bookOpts{}, ws)
	for _, c := range []struct {
		n       int
		body    []byte
		problem string
	}{
		{1, body, "no EOF record in the first 1048576 bytes read"},
		{3, body, "no EOF record in the first 0 bytes read"}, // the bound is shared
		{20, small, fmt.Sprintf("more than %d Workbook and Book streams", biffMaxStreams)},
	} {
		t.Run(fmt.Sprint(c.n, " streams"), func(t *testing.T) {
			var tree []*node
			for i := range c.n {
				name := "Workbook"
				if i%2 == 1 {
					name = "Book"
				}
				tree = append(tree, stream(name, c.body))
			}
			l := writeCFB(tree, writeOpts{})
			cr := &countingReader{r: bytes.NewReader(l.b)}
			f, err := Open(cr, int64(len(l.b)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if f.HasXLM() {
				t.Error("HasXLM past the bound")
			}
			if probs := strings.Join(f.Problems(), "\n"); !strings.Contains(probs, c.problem) {
				t.Errorf("Problems() = %q, want one containing %q", f.Problems(), c.problem)
			}
			// The header, FAT and directory, plus the records walked.
			meta := int64(512 * (1 + len(l.fatSecs) + len(l.difSecs) + len(l.dirSecs)))
			if limit := meta + biffMaxBytes + 512; cr.n > limit {
				t.Errorf("read %d bytes of a %d-byte file (bound %d)", cr.n, len(l.b), limit)
			}
			t.Logf("read %d of %d bytes in %d calls", cr.n, len(l.b), cr.calls)
		})
	}
	// Within the bound, the same stream with an EOF record after the
	// macro sheet is found.
	near := xlsBook(bookOpts{filler: biffMaxBytes - 4096}, ws, macro)
	f, err := openBytes(writeCFB([]*node{stream("Workbook", near)}, writeOpts{}).b, Limits{})
	if err != nil || !f.HasXLM() || len(f.Problems()) != 0 {
		t.Fatalf("macro sheet at %d bytes: err %v, HasXLM %v", len(near), err, f != nil && f.HasXLM())
	}
}

// TestXLMDeclaredSize: a Workbook stream declaring far more bytes than
// the file holds is read only as far as the file goes.
func TestXLMDeclaredSize(t *testing.T) {
	body := xlsBook(bookOpts{filler: 6000})
	body = body[:len(body)-4] // no EOF
	l := writeCFB([]*node{stream("Workbook", body)}, writeOpts{})
	binary.LittleEndian.PutUint32(l.b[l.dirOff(l.dirIndex["Workbook"])+120:], 0xFFFFFFF0)
	cr := &countingReader{r: bytes.NewReader(l.b)}
	f, err := Open(cr, int64(len(l.b)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if probs := strings.Join(f.Problems(), "\n"); !strings.Contains(probs, "ends after") {
		t.Errorf("Problems() = %q", f.Problems())
	}
	if cr.n > 2*int64(len(l.b)) {
		t.Errorf("read %d bytes of a %d-byte file", cr.n, len(l.b))
	}
}
