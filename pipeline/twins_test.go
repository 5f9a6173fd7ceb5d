package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/unpack"
)

// TestReadingsScannedOnce: a content that several readings give is one
// scan object (unpack's trick families, testdata/readings), and a verdict
// on it counts for every part that has it.
func TestReadingsScannedOnce(t *testing.T) {
	files, _ := filepath.Glob("../unpack/testdata/readings/*.eml")
	if len(files) == 0 {
		t.Fatal("no messages in ../unpack/testdata/readings")
	}
	twins := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := NewMessage(bytes.NewReader(data), SpoolConfig{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		m, err := unpack.Unpack(context.Background(), msg.Reader(), msg.Size(), unpack.Options{TempDir: t.TempDir(), NoHashes: true})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[[32]byte]string{}
		objs := ScanObjects(m, msg)
		for _, o := range objs {
			if o.Raw {
				continue
			}
			r, err := o.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			r.Close()
			sum := sha256.Sum256(b)
			if prev, ok := seen[sum]; ok && ambiguousPart(m, o.ID) && ambiguousPart(m, prev) {
				t.Errorf("%s: objects %s and %s have the same content", filepath.Base(f), prev, o.ID)
			}
			seen[sum] = o.ID
		}
		tw := contentTwins(m)
		twins += len(tw)
		for p, first := range tw {
			res := scan.Result{Verdicts: []scan.Verdict{{Engine: "test", Object: first, Status: scan.Infected, Kind: scan.Virus, Signature: "Test.Twin"}}}
			fs := facts(m, res, msg.Size(), "a@example.org", "b@example.org", false)
			for _, pf := range fs.Parts {
				if pf.Path == p && len(pf.Infected) == 0 {
					t.Errorf("%s: a verdict on %s does not reach %s, which has the same content", filepath.Base(f), first, p)
				}
			}
		}
		m.Close()
		msg.Close()
	}
	if twins == 0 {
		t.Error("no message gives the same content in two readings: the test checks nothing")
	}
	t.Logf("%d contents shared by two readings", twins)
}

func ambiguousPart(m *unpack.Message, path string) bool {
	for _, p := range m.Parts {
		if p.Path == path {
			return p.Ambiguous
		}
	}
	return false
}
