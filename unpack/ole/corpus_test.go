package ole

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// corpusDocs are the shared corpus's CFB files (GPL: read in place, never
// copied) and whether each is encrypted. The legacy .doc/.dot and .xls are
// RC4 CryptoAPI encrypted (found through the FIB and FilePass), the
// OOXML ones are EncryptionInfo + EncryptedPackage.
func corpusDocs(t *testing.T) map[string]bool {
	dir := filepath.Join(testenv.Corpus(t), "attachments", "documents", "clamav")
	docs := map[string]bool{
		filepath.Join(dir, "clam.ole.doc"): false,
		filepath.Join(dir, "clam.ppt"):     false,
	}
	enc, err := filepath.Glob(filepath.Join(dir, "ole2_encryption", "password.*"))
	if err != nil || len(enc) != 14 {
		t.Fatalf("%d encrypted samples in %s (want 14): %v", len(enc), dir, err)
	}
	for _, p := range enc {
		docs[p] = true
	}
	return docs
}

// blob is a CFB file found in a corpus message.
type blob struct {
	name string
	data []byte
}

// messageBlobs decodes a message's leaf parts and returns the CFB files
// among them and among the members of zip parts (an .xlsm's
// vbaProject.bin).
func messageBlobs(t *testing.T, path string) []blob {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	m, err := mail.ReadMessage(fh)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	if err := mimeLeaves(m.Header, m.Body, &leaves, 0); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []blob
	for i, d := range leaves {
		name := fmt.Sprintf("%s#%d", filepath.Base(path), i+1)
		if Is(d) {
			out = append(out, blob{name, d})
			continue
		}
		z, err := zip.NewReader(bytes.NewReader(d), int64(len(d)))
		if err != nil {
			continue
		}
		for _, zf := range z.File {
			rc, err := zf.Open()
			if err != nil {
				continue // the password-protected zip
			}
			md, err := io.ReadAll(rc)
			rc.Close()
			if err == nil && Is(md) {
				out = append(out, blob{name + "/" + zf.Name, md})
			}
		}
	}
	return out
}

type getter interface{ Get(string) string }

func mimeLeaves(h getter, body io.Reader, out *[][]byte, depth int) error {
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") && depth < 10 {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := mimeLeaves(p.Header, p, out, depth+1); err != nil {
				return err
			}
		}
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("Content-Transfer-Encoding")), "base64") {
		clean := strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, string(data))
		data, err = base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return err
		}
	}
	*out = append(*out, data)
	return nil
}

// want is what a corpus CFB should yield. No corpus sample has an Excel
// 4.0 macro sheet: HasXLM is false for all (TestCorpus names the
// workbooks it walked).
type want struct {
	enc, vba bool
	bad      bool // Open fails with ErrMalformed
}

// corpusMessages are the corpus messages carrying CFB files (Apache,
// BSD and MIT samples), with what each CFB, in order, should yield.
var corpusMessages = map[string][]want{
	"messages/mail-mime-parser/m0024.txt":                    {{}},          // Word 97
	"messages/php-mime-mail-parser/m0024":                    {{}},          // the same
	"messages/spamassassin/spam/olevbmacro/encrypted.eml":    {{enc: true}}, // encrypted .docx
	"messages/spamassassin/spam/olevbmacro/macro.eml":        {{vba: true}}, // .xlsm's vbaProject.bin
	"messages/spamassassin/spam/olevbmacro/malicemacro.eml":  {{vba: true}},
	"messages/spamassassin/spam/olevbmacro/renamedmacro.eml": {{vba: true}},
	"messages/spamassassin/spam/olevbmacro/nomacro.eml":      nil,
	// rspamd's magic test: .doc, .xls, .ppt, a truncated CFB (its header
	// declares 13 FAT sectors in a 27 KB file, olefile refuses it too),
	// an Outlook .msg, a Visio .vsd.
	"messages/rspamd/gargantua.eml": {{}, {}, {}, {bad: true}, {}, {}},
}

func TestCorpus(t *testing.T) {
	root := testenv.Corpus(t)
	type sample struct {
		name string
		data []byte
		want want
	}
	var samples []sample
	for p, enc := range corpusDocs(t) {
		d, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{strings.TrimPrefix(p, root+"/"), d, want{enc: enc}})
	}
	for p, wants := range corpusMessages {
		blobs := messageBlobs(t, filepath.Join(root, p))
		if len(blobs) != len(wants) {
			t.Errorf("%s: %d CFB files, want %d", p, len(blobs), len(wants))
			continue
		}
		for i, b := range blobs {
			samples = append(samples, sample{b.name, b.data, wants[i]})
		}
	}
	slices.SortFunc(samples, func(a, b sample) int { return strings.Compare(a.name, b.name) })

	var total time.Duration
	var bytesTotal int
	var workbooks []string
	for _, s := range samples {
		start := time.Now()
		f, err := openBytes(s.data, Limits{})
		total += time.Since(start)
		bytesTotal += len(s.data)
		if s.want.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: error %v, want ErrMalformed", s.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		if len(f.Entries()) == 0 || f.Encrypted() != s.want.enc || f.HasVBA() != s.want.vba || f.HasXLM() || len(f.Problems()) > 0 {
			t.Errorf("%s: %d entries, Encrypted %v HasVBA %v HasXLM %v (want %v %v false), problems %q",
				s.name, len(f.Entries()), f.Encrypted(), f.HasVBA(), f.HasXLM(), s.want.enc, s.want.vba, f.Problems())
		}
		for _, e := range f.Entries() {
			if strings.EqualFold(e.Path, "Workbook") || strings.EqualFold(e.Path, "Book") {
				workbooks = append(workbooks, fmt.Sprintf("%s (%s, encrypted %v)", s.name, e.Path, f.Encrypted()))
			}
		}
	}
	t.Logf("opened %d CFB samples (%d KB) in %v", len(samples), bytesTotal>>10, total)
	t.Logf("%d workbooks walked for macro sheets, none found: %s", len(workbooks), strings.Join(workbooks, ", "))
	if len(workbooks) < 2 {
		t.Errorf("%d workbooks in the corpus samples, want the .xls of gargantua.eml and ClamAV's", len(workbooks))
	}

	// The independent reader agrees on every entry.
	dir := t.TempDir()
	var paths []string
	for i, s := range samples {
		p := filepath.Join(dir, fmt.Sprintf("%02d.cfb", i))
		if err := os.WriteFile(p, s.data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	ref := olefileList(t, paths)
	for i, s := range samples {
		r := ref[paths[i]]
		if s.want.bad {
			if r.Error == "" {
				t.Errorf("%s: olefile opens what Open refuses", s.name)
			}
			continue
		}
		f, err := openBytes(s.data, Limits{})
		if err != nil {
			continue
		}
		compareOlefile(t, s.name, f, r, nil)
	}
}

// olefileResult is what olefile (python3-olefile) lists for a file.
type olefileResult struct {
	Error   string
	Entries [][4]any // path, stream, size, sha256 of the content
}

const olefileScript = `
import sys, json, hashlib, olefile
out = {}
for p in sys.argv[1:]:
    try:
        o = olefile.OleFileIO(p)
        ents = []
        for path in o.listdir(streams=True, storages=True):
            name = '/'.join(path)
            if o.get_type(path) == olefile.STGTY_STREAM:
                d = o.openstream(path).read()
                ents.append([name, True, o.get_size(path), hashlib.sha256(d).hexdigest()])
            else:
                ents.append([name, False, 0, ""])
        out[p] = {"Entries": ents}
    except Exception as e:
        out[p] = {"Error": repr(e) or "error"}
print(json.dumps(out))
`

// olefileList runs olefile over paths. Without it the test is skipped,
// or fails under CI (tests/run.sh installs python3-olefile).
func olefileList(t *testing.T, paths []string) map[string]olefileResult {
	t.Helper()
	py := ""
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(c); err == nil && exec.Command(p, "-c", "import olefile").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		testenv.Missing(t, "python3 with olefile not found (Debian: apt-get install python3-olefile)")
	}
	out, err := exec.Command(py, append([]string{"-c", olefileScript}, paths...)...).Output()
	if err != nil {
		t.Fatalf("olefile: %v", err)
	}
	res := map[string]olefileResult{}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("olefile output: %v", err)
	}
	return res
}

// compareOlefile checks f's entries against olefile's listing, and the
// stream contents against data (path -> content) when given.
func compareOlefile(t *testing.T, name string, f *File, r olefileResult, data map[string][]byte) {
	t.Helper()
	if r.Error != "" {
		t.Errorf("%s: olefile: %s", name, r.Error)
		return
	}
	var ref []string
	for _, e := range r.Entries {
		path, _ := e[0].(string)
		isStream, _ := e[1].(bool)
		size, _ := e[2].(float64)
		ref = append(ref, fmt.Sprintf("%q %v %d", path, isStream, int64(size)))
		if want, ok := data[path]; ok && isStream {
			sum := sha256.Sum256(want)
			if e[3] != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: olefile reads different content for %q", name, path)
			}
		}
	}
	slices.Sort(ref)
	if got := gotEntries(f); !slices.Equal(got, ref) {
		t.Errorf("%s: entries differ from olefile's:\n got %q\nwant %q", name, got, ref)
	}
}

// TestWriterOlefile checks the test writer's output with olefile: the
// documents the VBA tests rely on are real compound files.
func TestWriterOlefile(t *testing.T) {
	dir := t.TempDir()
	type gen struct {
		name string
		tree []*node
		b    []byte
	}
	var gens []gen
	var paths []string
	for _, c := range docCases() {
		for _, v := range variants {
			g := gen{c.name + "/" + v.name, c.tree, writeCFB(c.tree, v.o).b}
			p := filepath.Join(dir, fmt.Sprintf("%03d.cfb", len(gens)))
			if err := os.WriteFile(p, g.b, 0o600); err != nil {
				t.Fatal(err)
			}
			gens = append(gens, g)
			paths = append(paths, p)
		}
	}
	ref := olefileList(t, paths)
	for i, g := range gens {
		f, err := openBytes(g.b, Limits{})
		if err != nil {
			t.Errorf("%s: %v", g.name, err)
			continue
		}
		data := map[string][]byte{}
		var walk func(prefix string, ns []*node)
		walk = func(prefix string, ns []*node) {
			for _, n := range ns {
				p := n.name
				if prefix != "" {
					p = prefix + "/" + n.name
				}
				if n.stream {
					data[p] = n.data
				}
				walk(p, n.kids)
			}
		}
		walk("", g.tree)
		compareOlefile(t, g.name, f, ref[paths[i]], data)
	}
}
