package unpack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// readingsPayload is the content every testdata/readings message hides
// in a part named x.exe (testdata/readings/gen.py).
const readingsPayload = "READINGS-PAYLOAD-0123456789-abcdefghij"

// readerOf maps readers.py's reader names to ours.
var readerOf = map[string]Readers{
	"py-default": ReaderPyDefault, "py-compat32": ReaderPyCompat32, "ripmime": ReaderRipMIME, "munpack": ReaderMunpack,
}

// TestReadings: each trick family of issue 11 (testdata/readings, one
// message each) hides the payload so that some reader extracts it. Some
// reading of unpack's must hold it, under a name that some reading gives.
func TestReadings(t *testing.T) {
	files, _ := filepath.Glob("testdata/readings/*.eml")
	if len(files) < 30 {
		t.Fatalf("%d messages in testdata/readings", len(files))
	}
	for _, f := range files {
		m := unpackFile(t, f, Options{})
		switch filepath.Base(f) {
		case "cte-b64-after-padding.eml":
			// Every reader stops at the padding, or decodes on and
			// gets "AB" in front of the payload: nobody gets it alone.
		case "boundary-not-found.eml":
			// The body itself is the payload, without a name.
			if !holds(t, m, AllReaders) {
				t.Errorf("%s: no reading holds the payload", filepath.Base(f))
			}
			continue
		default:
			if !holds(t, m, AllReaders) {
				t.Errorf("%s: no reading holds the payload", filepath.Base(f))
			}
		}
		named := false
		for _, p := range m.Parts {
			for _, n := range p.Names {
				named = named || bannedName(n)
			}
		}
		if !named {
			t.Errorf("%s: no reading names a part x.exe", filepath.Base(f))
		}
	}
}

// holds reports whether a part read by one of rs has the payload as
// its content.
func holds(t *testing.T, m *Message, rs Readers) bool {
	for _, p := range m.Parts {
		if p.Container || p.Readers&rs == 0 || p.Size != int64(len(readingsPayload)) {
			continue
		}
		r, err := p.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		if b.String() == readingsPayload {
			return true
		}
	}
	return false
}

// TestReadingsAgainstReaders runs Python's email (both policies),
// ripmime and munpack on testdata/readings (readers.py): whatever they
// extract that matters is in some reading of unpack's, and the reader
// that extracts the payload is modelled: our reading for it holds the
// payload too (known exceptions listed).
func TestReadingsAgainstReaders(t *testing.T) {
	files, _ := filepath.Glob("testdata/readings/*.eml")
	res := runReaders(t, files)
	sum := sha256.Sum256([]byte(readingsPayload))
	payload := hex.EncodeToString(sum[:])
	for _, f := range files {
		m := unpackFile(t, f, Options{})
		base := filepath.Base(f)
		checkCovers(t, base, m, res[f], payload)
		for _, it := range res[f] {
			r := readerOf[it.Reader]
			if it.SHA256 != payload || r == 0 || holds(t, m, r) {
				continue
			}
			if why, ok := unmodelled[base+" "+it.Reader]; ok {
				t.Logf("%s: %s extracts the payload, our reading for it does not (%s)", base, it.Reader, why)
				continue
			}
			t.Errorf("%s: %s extracts the payload, our reading for it does not hold it", base, it.Reader)
		}
	}
	if _, err := os.Stat("testdata/readings/gen.py"); err != nil {
		t.Error(err)
	}
}

// unmodelled lists where our model of a reader is not that reader: the
// payload is then in another reading (checked above), not in the one we
// attribute to it.
var unmodelled = map[string]string{
	"header-bare-cr.eml ripmime":     "ripmime reads a field behind a lone CR in some places only; Python's reading holds the payload",
	"header-space-colon.eml munpack": "munpack ends the header at the field name followed by white space (as Python), finds the field in the body (munpackBody) and reads it as a field there; ripmime's reading holds the payload",
}

// TestJSONReadings: the JSON document (scandeliver scan --json) shows
// the readings: each part's readers, and the other readings of its bytes.
func TestJSONReadings(t *testing.T) {
	m := unpackFile(t, "testdata/readings/boundary-prefix-line.eml", Options{})
	var b bytes.Buffer
	if err := WriteJSON(&b, m); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Readers   []string `json:"readers"`
		Ambiguous bool     `json:"ambiguous"`
		Root      struct {
			Readers      []string `json:"readers"`
			Alternatives []struct {
				Path     string   `json:"path"`
				Readers  []string `json:"readers"`
				Children []struct {
					Names []string `json:"names"`
				} `json:"children"`
			} `json:"alternatives"`
		} `json:"root"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Readers) != 8 || !doc.Ambiguous || len(doc.Root.Alternatives) != 1 {
		t.Fatalf("readers %v, ambiguous %v, %d alternatives", doc.Readers, doc.Ambiguous, len(doc.Root.Alternatives))
	}
	a := doc.Root.Alternatives[0]
	// ripmime does not split at "--BBjunk" (more letters than the
	// boundary: ripMatch); it finds the part by reading MIME fields in
	// the text (OriginInner).
	if a.Path != "1~1" || strings.Join(a.Readers, ",") != "rfc,munpack" || len(a.Children) != 2 ||
		strings.Join(a.Children[1].Names, ",") != "x.exe" {
		t.Errorf("alternative %+v", a)
	}
	if strings.Join(doc.Root.Readers, ",") != "thunderbird,outlook,go,py-default,py-compat32,ripmime" {
		t.Errorf("root readers %v", doc.Root.Readers)
	}
}

// TestListPlain writes the corpus messages that have one reading to
// $UNPACK_LIST_PLAIN (for BenchmarkCorpus's UNPACK_BENCH_FILES); skipped
// without it.
func TestListPlain(t *testing.T) {
	out := os.Getenv("UNPACK_LIST_PLAIN")
	if out == "" {
		t.Skip("UNPACK_LIST_PLAIN not set")
	}
	var plain, amb []string
	for _, f := range testenv.CorpusMessages(t) {
		m := unpackFile(t, f, Options{})
		if m.Ambiguous {
			amb = append(amb, f)
		} else {
			plain = append(plain, f)
		}
	}
	t.Logf("%d messages with one reading, %d ambiguous", len(plain), len(amb))
	if err := os.WriteFile(out, []byte(strings.Join(plain, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out+".ambiguous", []byte(strings.Join(amb, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
