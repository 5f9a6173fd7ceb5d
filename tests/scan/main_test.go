package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

var bin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithBinary(m, &bin, nil)) }

const clamExePath = "/usr/share/clamav-testfiles/clam.exe"

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary with stdin and a controlled environment, killed
// after two minutes so that a hang fails the test instead of the suite.
func run(t testing.TB, stdin []byte, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	r := testenv.Run(t, cmd, stdin)
	if ctx.Err() != nil {
		t.Fatalf("%v: killed after 2 minutes; stderr: %s", cmd.Args, r.Stderr)
	}
	return result{r.Code, r.Stdout, r.Stderr}
}

// box is one delivery setup: a private config, Maildir and quarantine.
type box struct {
	dir, cfg, maildir, qdir string
}

// newBox writes a configuration with the given [[engine]] tables (TOML
// text) and private directories for everything the binary writes.
func newBox(t testing.TB, engines string) *box {
	t.Helper()
	dir := t.TempDir()
	b := &box{dir: dir, cfg: filepath.Join(dir, "scandeliver.toml"),
		maildir: filepath.Join(dir, "Maildir"), qdir: filepath.Join(dir, "quarantine")}
	conf := fmt.Sprintf("[log]\nsyslog = false\n[quarantine]\ndir = %q\n[spool]\ndir = %q\n\n%s", b.qdir, dir, engines)
	if err := os.WriteFile(b.cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *box) deliver(t testing.TB, msg []byte) result {
	t.Helper()
	return run(t, msg, []string{"HOME=" + b.dir, "USER=u", "SENDER=s@example.org", "RECIPIENT=r@example.org"},
		"-c", b.cfg, "--to", b.maildir+"/")
}

// delivered returns the messages in the Maildir (new and cur).
func (b *box) delivered(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(b.maildir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(b.maildir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
	}
	return out
}

// quarantined returns the quarantine's entries.
func (b *box) quarantined(t testing.TB) []quarantine.Report {
	t.Helper()
	if _, err := os.Stat(b.qdir); os.IsNotExist(err) {
		return nil
	}
	rs, err := quarantine.Store{Dir: b.qdir}.List(time.Time{})
	if err != nil {
		t.Fatalf("listing the quarantine: %v", err)
	}
	return rs
}

// scanDoc is the part of `scandeliver scan --json` the tests read.
type scanDoc struct {
	Message struct {
		Root node `json:"root"`
	} `json:"message"`
	Verdicts []struct {
		Engine, Object, Kind, Status, Signature string
		Score, Threshold                        float64
		Reason                                  string
	} `json:"verdicts"`
	Failed []struct {
		Engine, Error string
	} `json:"failed"`
	Infected bool `json:"infected"`
	Spam     bool `json:"spam"`
}

type node struct {
	Path        string `json:"path"`
	Format      string `json:"format"`
	SHA256      string `json:"sha256"`
	Unscannable string `json:"unscannable"`
	Problems    []struct {
		Kind, Detail string
	} `json:"problems"`
	Children []node `json:"children"`
}

func (n node) walk(fn func(node)) {
	fn(n)
	for _, c := range n.Children {
		c.walk(fn)
	}
}

// scanJSON runs `scandeliver scan --json` on msg (args before the file:
// -c, --no-engines) and decodes the document.
func scanJSON(t testing.TB, msg []byte, args ...string) (scanDoc, result) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(f, msg, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, nil, append(append([]string{"scan", "--json"}, args...), f)...)
	var d scanDoc
	if r.code == 2 || json.Unmarshal([]byte(r.stdout), &d) != nil {
		t.Fatalf("scan %v: exit %d\nstdout: %.2000s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return d, r
}

// infectedObjects lists the objects an engine called infected.
func (d scanDoc) infectedObjects() []string {
	var out []string
	for _, v := range d.Verdicts {
		if v.Status == "infected" {
			out = append(out, v.Engine+":"+v.Object)
		}
	}
	return out
}

// assertWithheld checks what must hold for an infected message, under
// today's policy (quarantine whole) and issue 5's (replace the part):
// exit 0, a quarantine entry, and nothing in the Maildir that holds the
// payload, in clear or in base64, or that the builtin engine (with the
// payload's hash) finds infected once unpacked.
func assertWithheld(t *testing.T, b *box, r result, payload []byte) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 (quarantined); stderr: %s", r.code, r.stderr)
	}
	if q := b.quarantined(t); len(q) == 0 {
		t.Errorf("no quarantine entry; stderr: %s", r.stderr)
	}
	rescan := newBox(t, builtinEngine(t, payload))
	for _, m := range b.delivered(t) {
		for _, bad := range [][]byte{payload, []byte(base64.StdEncoding.EncodeToString(payload))} {
			if bytes.Contains(m, bad) {
				t.Errorf("the Maildir holds the payload (%.20q...)", bad)
			}
		}
		d, _ := scanJSON(t, m, "-c", rescan.cfg)
		if d.Infected {
			t.Errorf("a delivered message is infected: %v", d.infectedObjects())
		}
	}
}

// builtinEngine is a [[engine]] table for the builtin engine alone (it
// always detects EICAR), with a .hsb holding the SHA-256 of each of
// extra, written into a private directory.
func builtinEngine(t testing.TB, extra ...[]byte) string {
	t.Helper()
	var hsb strings.Builder
	for i, e := range extra {
		fmt.Fprintf(&hsb, "%s:%d:Test.Extra-%d\n", sha(e), len(e), i)
	}
	db := filepath.Join(t.TempDir(), "test.hsb")
	if err := os.WriteFile(db, []byte(hsb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("[[engine]]\nname = \"builtin\"\ntype = \"builtin\"\ndatabases = [%q]\n", db)
}

// clamdEngine is a [[engine]] table for one clamd (addresses as a TOML
// value) plus extra settings.
func clamdEngine(addrs string, extra ...string) string {
	return "[[engine]]\nname = \"clamav\"\ntype = \"clamd\"\naddress = " + addrs + "\n" + strings.Join(extra, "\n") + "\n"
}

func tomlStrings(v ...string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
