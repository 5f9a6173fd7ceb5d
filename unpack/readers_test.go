package unpack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

// readerItem is one file readers.py says a reader extracts.
type readerItem struct {
	Reader string  `json:"reader"`
	Where  string  `json:"where"`
	Name   *string `json:"name"`
	Size   int64   `json:"size"`
	SHA256 string  `json:"sha256"`
	EICAR  bool    `json:"eicar"`
	Error  string  `json:"error"`
}

// runReaders runs ../shared/readers/readers.py on the files.
func runReaders(t *testing.T, files []string) map[string][]readerItem {
	t.Helper()
	script := filepath.Join(testenv.Shared(t), "readers", "readers.py")
	if _, err := os.Stat(script); err != nil {
		testenv.Missing(t, "readers.py not found: "+err.Error())
	}
	for _, tool := range []string{"python3", "ripmime", "munpack"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" not installed (Debian packages ripmime and mpack)")
		}
	}
	out, err := exec.Command("python3", append([]string{script, "--json"}, files...)...).Output()
	if err != nil {
		t.Fatalf("readers.py: %v", err)
	}
	res := map[string][]readerItem{}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// isEICARContent is readers.py's definition: the 68 bytes, then only
// white space, 128 bytes at most.
func isEICARContent(b []byte) bool {
	e := builtin.Eicar()
	return len(b) <= 128 && bytes.HasPrefix(b, e) && len(bytes.Trim(b[len(e):], " \t\r\n\v\f")) == 0
}

// coverage is what unpack's readings hold: every content (by SHA-256),
// whether one is EICAR, and every name.
type coverage struct {
	hashes map[string]bool
	eicar  bool
	names  []string
}

func cover(t *testing.T, m *Message) coverage {
	c := coverage{hashes: map[string]bool{}}
	for _, p := range m.Parts {
		c.names = append(c.names, p.Names...)
		if p.Container {
			continue
		}
		r, err := p.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		sum := sha256.Sum256(b.Bytes())
		c.hashes[hex.EncodeToString(sum[:])] = true
		c.eicar = c.eicar || isEICARContent(b.Bytes())
	}
	return c
}

// bannedName is the differential tests' banned name: an .exe, a .scr or
// a .js (case does not matter).
func bannedName(n string) bool {
	n = strings.ToLower(strings.TrimRight(n, " ."))
	return strings.HasSuffix(n, ".exe") || strings.HasSuffix(n, ".scr") || strings.HasSuffix(n, ".js")
}

// checkCovers is the readings property: what any reader extracts that
// matters (the EICAR test file, a banned name, the payload) is in some
// reading of unpack's.
func checkCovers(t *testing.T, name string, m *Message, items []readerItem, payload string) {
	t.Helper()
	c := cover(t, m)
	hasBanned := false
	for _, n := range c.names {
		hasBanned = hasBanned || bannedName(n)
	}
	for _, it := range items {
		if it.Error != "" {
			continue
		}
		if it.EICAR && !c.eicar {
			t.Errorf("%s: %s extracts EICAR (%s), no reading of unpack holds it", name, it.Reader, it.Where)
		}
		if payload != "" && it.SHA256 == payload && !c.hashes[payload] {
			t.Errorf("%s: %s extracts the payload (%s), no reading of unpack holds it", name, it.Reader, it.Where)
		}
		if it.Name != nil && bannedName(*it.Name) && !hasBanned {
			t.Errorf("%s: %s extracts a file named %q, no reading of unpack gives such a name", name, it.Reader, *it.Name)
		}
	}
}

// TestFindings checks the property on the messages in $UNPACK_FINDINGS
// (the differential tests' shrunk failures, /work/findings); skipped
// without it.
func TestFindings(t *testing.T) {
	dir := os.Getenv("UNPACK_FINDINGS")
	if dir == "" {
		t.Skip("UNPACK_FINDINGS not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	res := runReaders(t, files)
	for _, f := range files {
		m := unpackFile(t, f, Options{})
		checkCovers(t, filepath.Base(f), m, res[f], "")
	}
}
