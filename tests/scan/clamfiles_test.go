package scan

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// provenOpen lists the clamav-testfiles whose container the unpack
// stage's own tests prove it opens, giving up clam.exe with its SHA-256:
// unpack/archive's TestClamavTestfiles (zip, zip holding bzip2, 7z,
// gzip>tar, bzip2) and unpack/tnef's tests (TNEF). Each of these must be
// detected by the builtin engine holding only clam.exe's hash; the total
// detected must be at least len(provenOpen)+1 (plus clam.exe itself,
// which needs no unpacking).
var provenOpen = map[string]string{
	"clam.zip":     "zip",
	"clam.bz2.zip": "zip>bzip2",
	"clam.7z":      "7z",
	"clam.tar.gz":  "gzip>tar",
	"clam.exe.bz2": "bzip2",
	"clam.tnef":    "tnef",
	// unpack/archive's TestContainersCorpus and unpack's TestBinHexCorpus
	// (issue 11 section 5).
	"clam.arj":         "arj",
	"clam.cab":         "cab",
	"clam.bin-be.cpio": "cpio",
	"clam.bin-le.cpio": "cpio",
	"clam.newc.cpio":   "cpio",
	"clam.odc.cpio":    "cpio",
	"clam.d64.zip":     "zip",
	"clam.impl.zip":    "zip",
	"clam.exe.binhex":  "binhex",
}

// TestClamavTestfiles attaches every /usr/share/clamav-testfiles/clam.*
// to a message and scans it: with clamd (each must be detected), and with
// the builtin engine holding only the SHA-256 of clam.exe, so that what
// it detects measures our unpacking: it must detect exactly the messages
// whose unpacked tree holds clam.exe, and at least the proven formats.
func TestClamavTestfiles(t *testing.T) {
	clam := clamExe(t)
	want := sha(clam)
	files, _ := filepath.Glob("/usr/share/clamav-testfiles/clam.*")
	if len(files) < len(provenOpen) {
		t.Fatalf("only %d clam.* files", len(files))
	}
	sort.Strings(files)
	clamd := ""
	if testenv.CI() || os.Getenv("SCANDELIVER_CLAMD") != "" {
		clamd = testenv.Env(t, "SCANDELIVER_CLAMD")
	}
	builtin := newBox(t, builtinEngine(t, clam))
	var clamdBox *box
	if clamd != "" {
		clamdBox = newBox(t, clamdEngine(tomlStrings(clamd)))
	}

	var table strings.Builder
	fmt.Fprintf(&table, "%-22s %-16s %-8s %-9s %s\n", "file", "unpacked as", "clam.exe", "builtin", "clamd (objects infected)")
	detected, unpacked := 0, 0
	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg := attachB64(name, name, data)

		// What our unpacking finds, no engine involved.
		tree, _ := scanJSON(t, msg, "--no-engines")
		var formats []string
		found := false
		tree.Message.Root.walk(func(n node) {
			if n.Format != "" && n.Path != "1" {
				formats = append(formats, n.Format)
			}
			found = found || n.SHA256 == want
		})
		if found {
			unpacked++
		}

		bd, _ := scanJSON(t, msg, "-c", builtin.cfg)
		if bd.Infected {
			detected++
		}
		if bd.Infected != found {
			t.Errorf("%s: builtin infected=%v but clam.exe in the unpacked tree=%v", name, bd.Infected, found)
		}
		if p, ok := provenOpen[name]; ok && !bd.Infected {
			t.Errorf("%s: the unpack tests prove %s opens, but the builtin engine did not find clam.exe (tree formats %v)", name, p, formats)
		}

		cl := "-"
		if clamdBox != nil {
			cd, r := scanJSON(t, msg, "-c", clamdBox.cfg)
			if !cd.Infected {
				cl = "NOT DETECTED"
				t.Errorf("%s: clamd did not detect it (exit %d): %v", name, r.code, cd.Verdicts)
			} else {
				cl = strings.ReplaceAll(strings.Join(cd.infectedObjects(), " "), "clamav:", "")
			}
		}
		yes := map[bool]string{true: "found", false: "-"}
		bv := map[bool]string{true: "INFECTED", false: "clean"}
		fmt.Fprintf(&table, "%-22s %-16s %-8s %-9s %s\n", name, strings.Join(formats, ">"), yes[found], bv[bd.Infected], cl)
	}
	t.Logf("every clam.* attached in base64; builtin holds only clam.exe's SHA-256:\n%s"+
		"builtin detected %d of %d (unpacking reached clam.exe in %d); proven formats %d",
		table.String(), detected, len(files), unpacked, len(provenOpen))
	if detected < len(provenOpen)+1 {
		t.Errorf("builtin detected %d, want at least %d (the proven formats plus clam.exe itself)", detected, len(provenOpen)+1)
	}
}
