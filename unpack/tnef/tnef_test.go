package tnef

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.tnef"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		atts, _, err := Decode(bytes.NewReader(b), 1<<20)
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
