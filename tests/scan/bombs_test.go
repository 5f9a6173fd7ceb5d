package scan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// measured is one delivery with what it cost the child (rusage) and the
// time it took.
type measured struct {
	result
	cpu, wall time.Duration
}

// deliverMeasured delivers msg like box.deliver and reports the child's
// CPU (user + system, from rusage) and the elapsed time. The test logs
// them; it asserts on the budget mechanism, not on time.
func (b *box) deliverMeasured(t testing.TB, msg []byte) measured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", b.cfg, "--to", b.maildir+"/")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + b.dir, "USER=u", "SENDER=s@example.org", "RECIPIENT=r@example.org"}
	r := testenv.Run(t, cmd, msg)
	if ctx.Err() != nil {
		t.Fatalf("killed after 3 minutes; stderr: %s", r.Stderr)
	}
	m := measured{result{r.Code, r.Stdout, r.Stderr}, r.CPU, r.Wall}
	t.Logf("%d-byte message: cpu %s, elapsed %s, exit %d", len(msg), m.cpu.Round(time.Millisecond), m.wall.Round(time.Millisecond), m.code)
	return m
}

// bombMessage wraps an archive as a base64 attachment.
func bombMessage(name, ctype string, data []byte) []byte {
	var b strings.Builder
	b.WriteString("From: a@example.org\nTo: r@example.org\nSubject: " + name + "\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nsee attached\n" +
		"--b1\nContent-Type: " + ctype + "; name=\"" + name + "\"\nContent-Disposition: attachment; filename=\"" + name +
		"\"\nContent-Transfer-Encoding: base64\n\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n--b1--\n")
	return []byte(b.String())
}

// zipBomb is a zip of n members, each size bytes of zeros deflated once
// (the same compressed bytes written n times): n*size bytes expanded.
func zipBomb(t testing.TB, n int, size int64) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	crc := crc32.NewIEEE()
	zeros := make([]byte, 1<<20)
	for w := int64(0); w < size; w += int64(len(zeros)) {
		fw.Write(zeros)
		crc.Write(zeros)
	}
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < n; i++ {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("zeros%02d.bin", i), Method: zip.Deflate,
			CRC32: crc.Sum32(), CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(size)})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// nestedZip is depth zips, each holding the next, the innermost a text.
func nestedZip(t testing.TB, depth int) []byte {
	t.Helper()
	data, name := []byte("the bottom\n"), "bottom.txt"
	for i := 0; i < depth; i++ {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		zw.Close()
		data, name = buf.Bytes(), fmt.Sprintf("layer%02d.zip", i)
	}
	return data
}

// manyEntriesTar is a tar.gz of n one-byte files.
func manyEntriesTar(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gw)
	for i := 0; i < n; i++ {
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d/f%06d", i), Mode: 0o644, Size: 1, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte("x"))
	}
	tw.Close()
	gw.Close()
	return buf.Bytes()
}

// TestBombsWithClamd delivers archive bombs with clamd configured (issue
// 12.4: clamd chewed for over 60 s what unpack had already judged): the
// parts unpack judged over its limits, and the raw message holding them,
// are not sent to clamd, and the message is withheld as unscannable
// within the time budget. CPU and elapsed time are logged.
func TestBombsWithClamd(t *testing.T) {
	clamd := testenv.Env(t, "SCANDELIVER_CLAMD")
	cases := []struct {
		name string
		msg  func(t testing.TB) []byte
	}{
		{"zip-bomb-10x200MB", func(t testing.TB) []byte {
			return bombMessage("zeros.zip", "application/zip", zipBomb(t, 10, 200<<20))
		}},
		{"nested-zip-12", func(t testing.TB) []byte { return bombMessage("nested.zip", "application/zip", nestedZip(t, 12)) }},
		{"tar-100k-entries", func(t testing.TB) []byte {
			return bombMessage("many.tar.gz", "application/gzip", manyEntriesTar(t, 100000))
		}},
		{"42.zip", func(t testing.TB) []byte {
			msg, err := os.ReadFile(filepath.Join(testenv.Corpus(t), "messages", "amavis", "sample-42-mail-bomb.txt"))
			if err != nil {
				t.Fatal(err)
			}
			return msg
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := c.msg(t)
			b := newBox(t, clamdEngine(tomlStrings(clamd)))
			r := b.deliverMeasured(t, msg)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0 (withheld); stderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "scan=unscannable") || !strings.Contains(r.stderr, "not sent to the engines") {
				t.Errorf("not withheld as unscannable, without the engines: %s", r.stderr)
			}
			q := b.quarantined(t)
			if len(q) != 1 {
				t.Fatalf("%d quarantine entries, want 1", len(q))
			}
			for _, v := range q[0].Verdicts {
				if strings.HasPrefix(v.Engine, "clamav:message") {
					t.Errorf("the raw message holding the bomb went to clamd: %+v", v)
				}
			}
			for _, m := range b.delivered(t) {
				if bytes.Contains(m, msg[len(msg)-200:]) {
					t.Errorf("the bomb was delivered")
				}
			}
		})
	}
}

// TestTimeBudget runs a message past its time budget ([scan] budget) on
// an engine that does not answer (a real command-line scanner that
// sleeps): the message is withheld as unscannable when the budget runs
// out, the engine's own timeout (2 minutes here) is not waited for, and
// its on_error (tempfail) does not apply.
func TestTimeBudget(t *testing.T) {
	b := newBox(t, "[scan]\nbudget = \"2s\"\n[[engine]]\nname = \"slow\"\ntype = \"command\"\ncommand = [\"/bin/sh\", \"-c\", \"sleep 300\", \"sh\"]\ntimeout = \"2m\"\n")
	msg := []byte("From: a@example.org\nTo: r@example.org\nSubject: slow\n\nhello\n")
	r := b.deliverMeasured(t, msg)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 (withheld as unscannable); stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "scan=unscannable") || !strings.Contains(r.stderr, "time budget of 2s spent") {
		t.Errorf("not withheld for the time budget: %s", r.stderr)
	}
	if len(b.quarantined(t)) != 1 {
		t.Errorf("not quarantined")
	}
}

// TestBombPartOnlyEngine: with engines that read parts only (the builtin
// one), leaving the raw message out misses nothing, so a bomb costs the
// user only the bomb: it is cut out and the rest delivered.
func TestBombPartOnlyEngine(t *testing.T) {
	b := newBox(t, builtinEngine(t))
	r := b.deliverMeasured(t, bombMessage("nested.zip", "application/zip", nestedZip(t, 12)))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "not sent to the engines") {
		t.Errorf("the message was judged unscannable for an engine that reads no raw message: %s", r.stderr)
	}
	d := b.delivered(t)
	if len(d) != 1 || !bytes.Contains(d[0], []byte("see attached")) {
		t.Errorf("the rest of the message was not delivered; log: %s", r.stderr)
	}
}
