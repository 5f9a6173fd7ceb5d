package tnef

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestExpected decodes every TNEF sample of the corpus that has an
// expected name list and compares the attachment names with it. The lists
// come from the sources' own tools: verdammelt's tnef saves the RTF body
// as "<file>-body.rtf" and writes "_" for " "; MimeKit lists "body.html".
func TestExpected(t *testing.T) {
	corpus := testenv.Corpus(t)
	lists, _ := filepath.Glob(filepath.Join(corpus, "expected", "*", "tnef", "*.list"))
	if len(lists) == 0 {
		t.Fatal("no expected lists")
	}
	for _, l := range lists {
		src := filepath.Base(filepath.Dir(filepath.Dir(l)))
		base := strings.TrimSuffix(filepath.Base(l), ".list")
		t.Run(src+"/"+base, func(t *testing.T) {
			want, err := os.ReadFile(l)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(corpus, "attachments", "tnef", src, base+".tnef"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			atts, probs, err := Decode(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got, gotBody []string
			for _, a := range atts {
				if a.Body {
					gotBody = append(gotBody, a.Name)
				} else {
					got = append(got, strings.ReplaceAll(a.Name, " ", "_"))
				}
			}
			var wantNames, wantBody []string
			for _, n := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				n = strings.TrimSpace(n)
				switch {
				case n == "":
				case strings.HasSuffix(n, "-body.rtf"), strings.HasSuffix(n, "-body.html"), n == "body.html":
					wantBody = append(wantBody, n[strings.LastIndex(n, "body"):])
				default:
					wantNames = append(wantNames, strings.ReplaceAll(n, " ", "_"))
				}
			}
			slices.Sort(got)
			slices.Sort(wantNames)
			t.Logf("got %q bodies %q problems %q", got, gotBody, probs)
			if extra, ok := moreThanListed[base]; ok {
				// we find attachments (with data) that the list omits
				wantNames = append(wantNames, extra...)
				slices.Sort(wantNames)
			}
			if !slices.Equal(got, wantNames) {
				t.Errorf("names %q, want %q", got, wantNames)
			}
			for _, b := range wantBody {
				if !slices.Contains(gotBody, b) {
					t.Errorf("body %q missing (have %q)", b, gotBody)
				}
			}
		})
	}
}

// moreThanListed: samples whose list names only the body, while the
// stream carries attachments with data (checked by hand with the
// attribute dump: attAttachRendData, a name and attAttachData each). A
// scanner must see them, so we keep them and say so here.
var moreThanListed = map[string][]string{
	"long-filename":     {"allproductsmar2000.dat"},
	"missing-filenames": {"TechlibDEC99-JAN00.doc", "TechlibDEC99.doc", "TechlibNOV99.doc", "generpts.src"},
}

// TestCorpus decodes every TNEF sample (with or without a list): no panic,
// no error.
func TestCorpus(t *testing.T) {
	dir := filepath.Join(testenv.Corpus(t), "attachments", "tnef")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		atts, probs, err := Decode(bytes.NewReader(data), 0)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		var names []string
		for _, a := range atts {
			names = append(names, a.Name)
		}
		t.Logf("%s: %q problems %q", strings.TrimPrefix(p, dir), names, probs)
	}
}

func TestLimit(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "winmail.tnef"))
	if err != nil {
		t.Fatal(err)
	}
	_, probs, err := Decode(bytes.NewReader(data), 100)
	if err != nil || len(probs) == 0 || !strings.HasPrefix(probs[0], "limit:") {
		t.Errorf("limit: %v %q", err, probs)
	}
	_, probs, _ = Decode(strings.NewReader("not tnef"), 0)
	if len(probs) != 1 || !strings.HasPrefix(probs[0], "corrupt:") {
		t.Errorf("not tnef: %q", probs)
	}
}

// TestClamTNEF: clam.exe comes out of Debian's clamav-testfiles clam.tnef
// byte for byte.
func TestClamTNEF(t *testing.T) {
	clam, err1 := os.ReadFile("/usr/share/clamav-testfiles/clam.exe")
	data, err2 := os.ReadFile("/usr/share/clamav-testfiles/clam.tnef")
	if err1 != nil || err2 != nil {
		testenv.Missing(t, "Debian package clamav-testfiles is not installed")
	}
	atts, _, err := Decode(bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range atts {
		if a.Name == "clam.exe" && sha256.Sum256(a.Data) == sha256.Sum256(clam) {
			return
		}
	}
	t.Errorf("clam.exe not found in %d attachments", len(atts))
}

func FuzzTNEF(f *testing.F) {
	// Small streams built here; the large samples in testdata belong to
	// TestSamples: a 100 KB seed makes each mutation and minimization
	// step slow.
	for _, s := range builtStreams() {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		atts, _, err := Decode(bytes.NewReader(b), 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		var total int
		for _, a := range atts {
			total += len(a.Data)
		}
		// Bodies are decompressed RTF: at most about 9 times the input.
		if total > 20*len(b)+1024 {
			t.Fatalf("%d bytes of attachments from %d", total, len(b))
		}
	})
}

// TestSamples decodes the MimeKit samples in testdata (always present,
// unlike the corpus) and compares with MimeKit's lists.
func TestSamples(t *testing.T) {
	for name, want := range map[string][]string{
		"panic.tnef":   {"image001.jpg", "image002.jpg", "image003.png", "body.html"},
		"winmail.tnef": {"Untitled Attachment", "Untitled Attachment", "body.rtf"}, // MimeKit lists no RTF body
	} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		atts, probs, err := Decode(bytes.NewReader(data), 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range atts {
			if len(a.Data) == 0 {
				t.Errorf("%s: %q is empty", name, a.Name)
			}
			got = append(got, a.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q (problems %q)", name, got, want, probs)
		}
	}
}

// builtStream is a TNEF stream made by the helpers below, with the
// attachments Decode must find in it.
type builtStream struct {
	name string
	data []byte
	want []Attachment
}

// attr encodes one TNEF attribute: level, id (type<<16 | attribute),
// length, data, checksum.
func attr(level byte, id uint32, data []byte) []byte {
	b := []byte{level}
	b = binary.LittleEndian.AppendUint32(b, id)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	var sum uint16
	for _, c := range data {
		sum += uint16(c)
	}
	return binary.LittleEndian.AppendUint16(b, sum)
}

func stream(attrs ...[]byte) []byte {
	b := append(slices.Clone(Signature), 0x01, 0x00) // legacy key
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

// prop encodes one single-valued MAPI property; variable-length types
// carry a count, a length and padding.
func prop(typ, id uint16, val []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, typ)
	b = binary.LittleEndian.AppendUint16(b, id)
	switch typ {
	case ptString8, ptUnicode, ptBinary, ptObject:
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(val)))
		b = append(b, val...)
		b = append(b, make([]byte, pad4(uint32(len(val)))-uint32(len(val)))...)
	default:
		b = append(b, val...)
	}
	return b
}

func props(ps ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(ps)))
	for _, p := range ps {
		b = append(b, p...)
	}
	return b
}

func utf16z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

// lzfu compresses nothing cleverly: 8 literals, then a reference into
// the preset dictionary ("{\rtf1\ansi", 11 bytes) and the end marker.
func lzfu() (comp, raw []byte) {
	lit := []byte("{\\rtf1 h")
	body := append([]byte{0x00}, lit...)
	w := len(rtfPrebuf) + len(lit) + 11
	body = append(body, 0x03, 0x00, 0x09, byte(w>>4), byte(w<<4))
	raw = append(slices.Clone(lit), rtfPrebuf[:11]...)
	h := binary.LittleEndian.AppendUint32(nil, uint32(len(body)+12))
	h = binary.LittleEndian.AppendUint32(h, uint32(len(raw)))
	h = append(h, "LZFu"...)
	h = binary.LittleEndian.AppendUint32(h, 0) // CRC, not checked
	return append(h, body...), raw
}

func builtStreams() []builtStream {
	comp, raw := lzfu()
	mela := append(binary.LittleEndian.AppendUint32(nil, 20), 5, 0, 0, 0)
	mela = append(append(mela, "MELA"...), 0, 0, 0, 0)
	mela = append(mela, "plain"...)
	inner := stream(attr(2, 0x00069002, make([]byte, 14)), attr(2, 0x00018010, []byte("in.txt\x00")), attr(2, 0x0006800f, []byte("inner")))
	return []builtStream{{
		name: "title and data",
		data: stream(
			attr(2, 0x00069002, make([]byte, 14)),
			attr(2, 0x00018010, []byte("a.txt\x00")),
			attr(2, 0x0006800f, []byte("hello")),
		),
		want: []Attachment{{Name: "a.txt", Data: []byte("hello")}},
	}, {
		name: "MAPI names and data",
		data: stream(
			attr(2, 0x00069002, make([]byte, 14)),
			attr(2, 0x00069005, props(
				prop(ptString8, prAttachFilename, []byte("SHORT~1.EXE\x00")),
				prop(ptUnicode, prAttachLongFilename, utf16z("long näme.exe")),
				prop(ptLong, 0x0e21, []byte{1, 0, 0, 0}),
				prop(ptBinary, prAttachDataBin, []byte("MZ\x90\x00")),
			)),
			attr(2, 0x00069002, make([]byte, 14)),
			attr(2, 0x00069005, props(
				prop(ptString8, prDisplayName, []byte("msg\x00")),
				prop(ptObject, prAttachDataBin, append(make([]byte, 16), inner...)),
			)),
		),
		want: []Attachment{
			{Name: "long näme.exe", Data: []byte("MZ\x90\x00")},
			{Name: "msg", Data: inner},
		},
	}, {
		name: "bodies",
		data: stream(
			attr(1, 0x0002800c, []byte("text body")),
			attr(1, 0x00069003, props(
				prop(ptBinary, prRTFCompressed, comp),
				prop(ptBinary, prHTML, []byte("<p>x</p>")),
				prop(ptUnicode, prBody, utf16z("b")),
			)),
			attr(1, 0x00069003, props(prop(ptBinary, prRTFCompressed, mela))),
		),
		want: []Attachment{
			{Name: "body.txt", Data: []byte("text body"), Body: true},
			{Name: "body.rtf", Data: raw, Body: true},
			{Name: "body.html", Data: []byte("<p>x</p>"), Body: true},
			{Name: "body.txt", Data: []byte("b"), Body: true},
			{Name: "body.rtf", Data: []byte("plain"), Body: true},
		},
	}}
}

// TestBuilt checks the streams that seed FuzzTNEF decode as intended, so
// the seeds reach attachments, MAPI properties, RTF and embedded messages.
func TestBuilt(t *testing.T) {
	for _, s := range builtStreams() {
		atts, probs, err := Decode(bytes.NewReader(s.data), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(atts) != len(s.want) {
			t.Fatalf("%s: %d attachments, want %d: %+v (problems %q)", s.name, len(atts), len(s.want), atts, probs)
		}
		for i, a := range atts {
			w := s.want[i]
			if a.Name != w.Name || a.Body != w.Body || !bytes.Equal(a.Data, w.Data) {
				t.Errorf("%s: attachment %d is %q %v %q, want %q %v %q", s.name, i, a.Name, a.Body, a.Data, w.Name, w.Body, w.Data)
			}
		}
		if len(s.data) > 4<<10 {
			t.Errorf("%s: %d bytes, too large for a seed", s.name, len(s.data))
		}
	}
}
