package ole

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedTrees are the small documents committed as seeds under
// testdata/fuzz/FuzzOpen (written by TestWriteFuzzSeeds).
func seedTrees() map[string][]*node {
	return map[string][]*node{
		"macros": {stream("WordDocument", wordFIB(false, 600)), storage("Macros", vbaStorage("VBA", "dir", "_VBA_PROJECT")),
			stream("1Table", make([]byte, 100))},
		"word-encrypted": {stream("WordDocument", wordFIB(true, 700)), stream("\x05SummaryInformation", make([]byte, 100))},
		"xls-filepass":   {stream("Workbook", workbook(true, 500)), storage("_VBA_PROJECT_CUR", vbaStorage("VBA", "dir"))},
		"xls-xlm": {stream("Workbook", xlsBook(bookOpts{}, sheet{name: "Sheet1"}, sheet{name: "Macro1", dt: dtMacro, hsState: 2})),
			stream("\x05SummaryInformation", make([]byte, 100))},
		"ooxml-encrypted": {stream("EncryptionInfo", bytes.Repeat([]byte{4}, 200)), stream("EncryptedPackage", bytes.Repeat([]byte{5}, 300)),
			storage("\x06DataSpaces", stream("Version", []byte("x")))},
	}
}

// TestWriteFuzzSeeds rewrites the committed seeds when
// OLE_WRITE_SEEDS=1, and otherwise checks they are there.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	for name, tree := range seedTrees() {
		p := filepath.Join(dir, name)
		b := writeCFB(tree, writeOpts{}).b
		if os.Getenv("OLE_WRITE_SEEDS") != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)) {
			t.Errorf("seed %s missing or stale (%v): run OLE_WRITE_SEEDS=1 go test -run WriteFuzzSeeds", p, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	for _, c := range docCases() {
		for _, v := range variants {
			if b := writeCFB(c.tree, v.o).b; len(b) <= 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cr := &countingReader{r: bytes.NewReader(b)}
		lim := Limits{MaxSectors: 1 << 14, MaxEntries: 1 << 10}
		file, err := Open(cr, int64(len(b)), lim)
		// Bounded work: each sector is read a few times at most (FAT,
		// DIFAT, directory, mini FAT once each), plus the prefixes of a
		// few WordDocument streams (by 64-byte mini sectors at worst),
		// plus at most biffMaxStreams Workbook streams, each reading its
		// chain's sectors once (or 64 mini sectors), biffMaxBytes in all.
		biffCalls := min(biffMaxStreams*(len(b)/512+1+64), biffMaxBytes/64+biffMaxStreams)
		if maxCalls := 4*(len(b)/512+1) + 3*64 + 16 + biffCalls; cr.calls > maxCalls {
			t.Fatalf("%d reads of a %d-byte file (bound %d)", cr.calls, len(b), maxCalls)
		}
		if maxBytes := 4*int64(len(b)) + 3*64*4096 + 4096 + int64(biffCalls)*4096; cr.n > maxBytes {
			t.Fatalf("read %d bytes of a %d-byte file", cr.n, len(b))
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ole: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if n := len(file.Entries()); n > lim.MaxEntries || n > len(b)/dirEntrySize {
			t.Fatalf("%d entries from a %d-byte file", n, len(b))
		}
		if file.HasXLM() && !bytes.Contains(b, []byte{0x85, 0x00}) {
			t.Fatal("HasXLM without a BoundSheet8 record type in the file")
		}
		if file.HasMacros() != (file.HasVBA() || file.HasXLM()) {
			t.Fatal("HasMacros disagrees")
		}
		for _, e := range file.Entries() {
			if e.Size < 0 {
				t.Fatalf("negative size %d for %q", e.Size, e.Path)
			}
		}
	})
}
