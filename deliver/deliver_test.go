package deliver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-maildir"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

// loadMessages returns the files under dir, sorted, by path.
func loadMessages(t *testing.T, dir string) (paths []string, msgs [][]byte) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		msgs = append(msgs, mustRead(t, p))
	}
	return paths, msgs
}

// syntheticMessages are the edge cases the corpus may lack.
var syntheticMessages = [][]byte{
	[]byte(""),
	[]byte("\n"),
	[]byte("From x"),
	[]byte("From x\n"),
	[]byte(">From x\n>>From y\n\nFrom z\n"),
	[]byte("Subject: no newline at the end"),
	[]byte("Subject: ends in CR\r"),
	[]byte("Subject: x\r\n\r\nFrom crlf\r\n>From crlf\r\n"),
	[]byte("Subject: blank lines at the end\n\n\n\n"),
	[]byte("Subject: nul\n\nA\x00B\nFrom \x00\n"),
}

func TestRoundTripTestdata(t *testing.T) {
	paths, msgs := loadMessages(t, "testdata/messages")
	if len(msgs) < 5 {
		t.Fatalf("testdata: only %d messages", len(msgs))
	}
	for i, m := range syntheticMessages {
		paths = append(paths, fmt.Sprintf("synthetic-%d", i))
		msgs = append(msgs, m)
	}
	roundTrip(t, paths, msgs)
}

func TestRoundTripCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	paths, msgs := loadMessages(t, filepath.Join(testenv.Corpus(t), "messages"))
	start := time.Now()
	roundTrip(t, paths, msgs)
	t.Logf("%d messages delivered to a Maildir and an mbox and read back in %v", len(msgs), time.Since(start).Round(time.Millisecond))
}

// roundTrip delivers every message to one Maildir and one mbox, reads
// them back with our reader and with Python's mailbox module, and
// compares with prefix+message.
func roundTrip(t *testing.T, paths []string, msgs [][]byte) {
	dir := t.TempDir()
	md := Dest{Path: filepath.Join(dir, "Maildir"), Kind: Maildir}
	mb := Dest{Path: filepath.Join(dir, "mbox"), Kind: Mbox}
	ctx := context.Background()
	var want [][]byte
	var lastEnd int64
	for i, m := range msgs {
		full := append([]byte(testPrefix), m...)
		want = append(want, expectRead(full))
		res, err := deliverBytes(ctx, md, m, Options{})
		if err != nil {
			t.Fatalf("%s: %v", paths[i], err)
		}
		if got := mustRead(t, res.Path); !bytes.Equal(got, full) {
			t.Errorf("%s: Maildir file differs from prefix+message", paths[i])
		}
		if res.Size != int64(len(full)) || filepath.Dir(res.Path) != filepath.Join(md.Path, "new") {
			t.Errorf("%s: Maildir result %+v", paths[i], res)
		}
		// A sender with a space, every so often.
		env := Envelope{Sender: "sender@example.org"}
		if i%3 == 1 {
			env.Sender = `"odd sender"@example.org`
		}
		res, err = Deliver(ctx, mb, []byte(testPrefix), bytes.NewReader(m), int64(len(m)), env, Options{})
		if err != nil {
			t.Fatalf("%s: %v", paths[i], err)
		}
		if res.Offset < lastEnd {
			t.Errorf("%s: offset %d before the previous end %d", paths[i], res.Offset, lastEnd)
		}
		lastEnd = res.Offset + res.Appended
	}
	if fi, err := os.Stat(mb.Path); err != nil || fi.Size() != lastEnd || fi.Mode().Perm() != 0o600 {
		t.Errorf("mbox: %v %v, want size %d mode 0600", fi, err, lastEnd)
	}
	if n, err := maildir.Dir(md.Path).UnseenCount(); err != nil || n != len(msgs) {
		t.Errorf("go-maildir counts %d messages in new/ (%v), want %d", n, err, len(msgs))
	}
	if tmp := listDir(t, filepath.Join(md.Path, "tmp")); len(tmp) != 0 {
		t.Errorf("tmp/ not empty: %v", tmp)
	}
	froms, got := readMbox(t, mb.Path)
	if len(got) != len(want) {
		t.Fatalf("ReadMbox: %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s: mbox message differs after unquoting", paths[i])
		}
		if !strings.HasPrefix(froms[i], "sender@example.org ") && !strings.HasPrefix(froms[i], `"odd_sender"@example.org `) {
			t.Errorf("%s: From_ line %q", paths[i], froms[i])
		}
	}
	checkPython(t, mb.Path, want)
}

// pyReader reads an mbox with Python's mailbox module, undoes the mboxrd
// quoting, and prints the count and one sha256 per message.
const pyReader = `
import hashlib, mailbox, re, sys
mb = mailbox.mbox(sys.argv[1], create=False)
keys = list(mb.keys())
print(len(keys))
for k in keys:
    b = mb.get_bytes(k)
    b = re.sub(rb'(?m)^>(>*From )', rb'\1', b)
    print(hashlib.sha256(b).hexdigest())
`

// checkPython makes Python's mailbox module, an independent reader, agree
// on the count and contents of the mbox.
func checkPython(t *testing.T, path string, want [][]byte) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 not installed")
	}
	out, err := exec.Command(py, "-c", pyReader, path).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Scan()
	if sc.Text() != fmt.Sprint(len(want)) {
		t.Fatalf("python counts %s messages, want %d", sc.Text(), len(want))
	}
	for i := 0; sc.Scan(); i++ {
		h := sha256.Sum256(want[i])
		if sc.Text() != hex.EncodeToString(h[:]) {
			t.Errorf("python reads message %d differently", i)
		}
	}
}

// TestConcurrentProcesses runs 50 separate processes, each delivering its
// own message into one shared mbox and one shared Maildir.
func TestConcurrentProcesses(t *testing.T) {
	const n = 50
	dir := t.TempDir()
	mbox := filepath.Join(dir, "mbox")
	md := filepath.Join(dir, "Maildir")
	// Start with an existing message, to lock against.
	if _, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, genMessage(-1), Options{}); err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range n {
		c := helper(t, "deliver", fmt.Sprintf("HELPER_GEN=%d", i), "HELPER_DESTS="+mbox+string(filepath.ListSeparator)+md+"/")
		var b bytes.Buffer
		c.Stderr = &b
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, c), append(outs, &b)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v: %s", i, err, outs[i])
		}
	}
	want := map[string]bool{}
	for i := range n {
		want[string(append([]byte(testPrefix), genMessage(i)...))] = true
	}
	_, msgs := readMbox(t, mbox)
	if len(msgs) != n+1 {
		t.Fatalf("mbox holds %d messages, want %d", len(msgs), n+1)
	}
	seen := map[string]bool{}
	for _, m := range msgs[1:] {
		if !want[string(m)] || seen[string(m)] {
			t.Errorf("mbox: unexpected or duplicate message %.80q", m)
		}
		seen[string(m)] = true
	}
	checkPython(t, mbox, msgs)
	names := listDir(t, filepath.Join(md, "new"))
	if len(names) != n {
		t.Fatalf("Maildir new/ holds %d messages, want %d", len(names), n)
	}
	seen = map[string]bool{}
	for _, name := range names {
		m := string(mustRead(t, filepath.Join(md, "new", name)))
		if !want[m] || seen[m] {
			t.Errorf("Maildir: unexpected or duplicate message in %s", name)
		}
		seen[m] = true
	}
	if _, err := os.Stat(mbox + ".lock"); err == nil {
		t.Errorf("dotlock left behind")
	}
}

func TestMaildirFolder(t *testing.T) {
	dir := t.TempDir()
	d := Dest{Path: filepath.Join(dir, "Maildir"), Kind: Maildir}.WithFolder("Junk")
	res, err := deliverBytes(context.Background(), d, []byte("Subject: spam\n\nx\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(res.Path) != filepath.Join(dir, "Maildir", ".Junk", "new") {
		t.Errorf("delivered to %s", res.Path)
	}
	for _, p := range []string{"tmp", "new", "cur", ".Junk/tmp", ".Junk/cur", ".Junk/maildirfolder"} {
		fi, err := os.Stat(filepath.Join(dir, "Maildir", p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
		} else if fi.IsDir() && fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", p, fi.Mode())
		}
	}
	if _, err := deliverBytes(context.Background(), d.WithFolder("../x"), []byte("x"), Options{}); err == nil {
		t.Errorf("folder ../x accepted")
	}
	mb := Dest{Path: filepath.Join(dir, "mbox"), Kind: Mbox}.WithFolder("Junk")
	if _, err := deliverBytes(context.Background(), mb, []byte("x"), Options{}); err == nil {
		t.Errorf("a folder on an mbox accepted")
	}
}
