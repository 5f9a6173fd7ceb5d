package policy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

var (
	bin            string // the scandeliver binary built for these tests
	recordSendmail string // the recording sendmail(8) of cmd/scandeliver's tests
)

func TestMain(m *testing.M) {
	os.Exit(testenv.RunWithBinary(m, &bin, func() error {
		var err error
		recordSendmail, err = filepath.Abs("../../cmd/scandeliver/testdata/record-sendmail")
		if err == nil {
			_, err = os.Stat(recordSendmail)
		}
		if err != nil {
			return fmt.Errorf("the recording sendmail: %w", err)
		}
		return nil
	}))
}

// box is one private installation: a configuration with its own
// quarantine, a recording sendmail, a home with a Maildir, and a working
// directory for the process. Everything is under one temp dir (root).
type box struct {
	root, cfg, home, notices, qdir, cwd, tmp string
}

// baseConfig is the configuration every box starts from; extra is
// appended (more [policy] keys, [[engine]] tables).
const baseConfig = `[log]
syslog = false
[quarantine]
dir = %q
[spool]
dir = %q
[notify]
sendmail = [%q, %q]
[policy]
postmaster = "postmaster@example.net"
local_domains = ["example.net"]
notify_sender = true
%s`

func newBox(t testing.TB, extra string) *box {
	t.Helper()
	root := t.TempDir()
	b := &box{root: root, cfg: filepath.Join(root, "scandeliver.toml"), home: filepath.Join(root, "home"),
		notices: filepath.Join(root, "notices"), qdir: filepath.Join(root, "quarantine"),
		cwd: filepath.Join(root, "cwd"), tmp: filepath.Join(root, "tmp")}
	for _, d := range []string{b.home, b.notices, b.cwd, b.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	text := fmt.Sprintf(baseConfig, b.qdir, b.tmp, recordSendmail, b.notices, extra)
	if err := os.WriteFile(b.cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

type result struct {
	code   int
	stderr string
}

// deliver runs the binary as an MTA would, from the box's working
// directory, with msg on stdin.
func (b *box) deliver(t testing.TB, msg []byte, sender string) result {
	t.Helper()
	cmd := exec.Command(bin, "-c", b.cfg)
	cmd.Dir = b.cwd
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + b.home, "USER=bob", "SENDER=" + sender,
		"RECIPIENT=bob@example.net", "TMPDIR=" + b.tmp, "LANG=C"}
	r := testenv.Run(t, cmd, msg)
	return result{r.Code, r.Stderr}
}

// deliverFile is deliver with msg in a regular file on stdin, as a shell's
// redirection gives it (scandeliver < msg.eml), not a pipe.
func (b *box) deliverFile(t testing.TB, msg []byte, sender string) result {
	t.Helper()
	fn := filepath.Join(b.root, "stdin.eml")
	if err := os.WriteFile(fn, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fn)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, "-c", b.cfg)
	cmd.Dir = b.cwd
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + b.home, "USER=bob", "SENDER=" + sender,
		"RECIPIENT=bob@example.net", "TMPDIR=" + b.tmp, "LANG=C"}
	cmd.Stdin = f
	var errb strings.Builder
	cmd.Stderr = &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running %v: %v", cmd.Args, err)
	}
	return result{cmd.ProcessState.ExitCode(), errb.String()}
}

// delivered returns the messages in the Maildir (inbox and folders),
// sorted by name of folder then file.
func (b *box) delivered(t testing.TB) []delivered {
	t.Helper()
	var out []delivered
	md := filepath.Join(b.home, "Maildir")
	dirs, _ := filepath.Glob(filepath.Join(md, ".*", "new"))
	dirs = append([]string{filepath.Join(md, "new")}, dirs...)
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(d, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			folder, _ := filepath.Rel(md, filepath.Dir(d))
			out = append(out, delivered{folder: folder, data: data})
		}
	}
	return out
}

type delivered struct {
	folder string // "." for the inbox, ".Junk" ...
	data   []byte
}

// notice is one recorded sendmail run.
type notice struct {
	argv  []string
	stdin []byte
}

func (n notice) rcpt() string { return n.argv[len(n.argv)-1] }

// sent returns the recorded notices, sorted by recipient.
func (b *box) sent(t testing.TB) []notice {
	t.Helper()
	var out []notice
	ents, _ := os.ReadDir(b.notices)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".argv") {
			continue
		}
		argv, err := os.ReadFile(filepath.Join(b.notices, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		in, err := os.ReadFile(filepath.Join(b.notices, strings.TrimSuffix(e.Name(), ".argv")+".stdin"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, notice{argv: strings.Split(strings.TrimSuffix(string(argv), "\n"), "\n"), stdin: in})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rcpt() < out[j].rcpt() })
	return out
}

// entry is one quarantine entry as found on disk.
type entry struct {
	id      string
	report  []byte
	message []byte
}

// quarantined returns the quarantine entries, each read from its
// directory; everything in the quarantine must be an entry, <id>/ holding
// its message and report.json (no staging .tmp.<id> left behind).
func (b *box) quarantined(t testing.TB) []entry {
	t.Helper()
	var out []entry
	ids, err := os.ReadDir(b.qdir)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !quarantine.ValidID(id.Name()) || !id.IsDir() {
			t.Errorf("quarantine holds %q, not an entry", id.Name())
			continue
		}
		dir := filepath.Join(b.qdir, id.Name())
		files, _ := os.ReadDir(dir)
		e := entry{id: id.Name()}
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			switch f.Name() {
			case "message":
				e.message = data
			case "report.json":
				e.report = data
			default:
				t.Errorf("quarantine entry %s holds %q", id.Name(), f.Name())
			}
		}
		out = append(out, e)
	}
	return out
}

// header builds the top of a test message.
func header(subject, ctype string) string {
	return "From: Alice <alice@example.org>\nTo: Bob <bob@example.net>\nSubject: " + subject +
		"\nDate: Mon, 2 Mar 2026 10:00:00 +0000\nMessage-ID: <" + msgIDWord(subject) + "@example.org>\nMIME-Version: 1.0\nContent-Type: " + ctype + "\n\n"
}

func msgIDWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}

// mixed builds a multipart/mixed message: a text part, then the parts.
func mixed(subject string, parts ...string) []byte {
	var b strings.Builder
	b.WriteString(header(subject, `multipart/mixed; boundary="b1"`))
	b.WriteString("--b1\nContent-Type: text/plain; charset=us-ascii\n\nSee attached.\n")
	for _, p := range parts {
		b.WriteString("--b1\n" + p)
	}
	b.WriteString("--b1--\n")
	return []byte(b.String())
}

// attachment is a base64 MIME part; name is written as given (the caller
// encodes it when it needs to).
func attachment(ctype, name string, content []byte) string {
	return "Content-Type: " + ctype + "; name=\"" + name + "\"\nContent-Disposition: attachment; filename=\"" + name +
		"\"\nContent-Transfer-Encoding: base64\n\n" + wrap64(content)
}

func wrap64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	out.WriteString(s + "\n")
	return out.String()
}
