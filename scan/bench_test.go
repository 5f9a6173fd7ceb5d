package scan

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// benchMessage builds a raw message of about size bytes: a short text
// part and a binary attachment (pseudo-random, so clamd cannot skip
// it), base64-encoded; and the decoded parts unpack would give.
func benchMessage(size int, seed uint64) (raw []byte, text, attach []byte) {
	rng := rand.New(rand.NewPCG(seed, 42))
	text = []byte("Hello,\r\nthe figures are attached.\r\n")
	n := max(size*3/4-400, 16)
	attach = make([]byte, n)
	for i := range attach {
		attach[i] = byte(rng.Uint32())
	}
	b64 := base64.StdEncoding.EncodeToString(attach)
	var m bytes.Buffer
	m.WriteString("From: alice@example.com\r\nTo: bob@example.net\r\nSubject: figures\r\n" +
		"Message-ID: <" + fmt.Sprint(seed) + "@example.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n")
	m.Write(text)
	m.WriteString("\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(b64) > 76 {
		m.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	m.WriteString(b64 + "\r\n--b1--\r\n")
	return m.Bytes(), text, attach
}

// BenchmarkClamdVsClamdscan: the time to scan one message with our
// clamd engine in each sending mode, against `clamdscan --stream` of the
// same raw message to the same clamd, interleaved in every iteration.
// Metrics: ms per message for each, and ratio-MODE = ours/clamdscan.
// Needs tests/engines/start.sh (clamd runs with DisableCache yes).
//
//	go test -run '^$' -bench ClamdVsClamdscan -benchtime 10x ./scan/
func BenchmarkClamdVsClamdscan(b *testing.B) {
	unix := testenv.Env(b, "SCANDELIVER_CLAMD")
	clamdscan, err := exec.LookPath("clamdscan")
	if err != nil {
		testenv.Missing(b, "clamdscan not installed")
	}
	dir := b.TempDir()
	conf := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(conf, []byte("LocalSocket "+strings.TrimPrefix(unix, "unix:")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	type mode struct {
		name  string
		send  string
		files bool // the raw message as an open file (a spooled message): FILDES
	}
	modes := []mode{
		{"raw", SendRaw, false},
		{"raw-fildes", SendRaw, true},
		{"parts", SendParts, false},
		{"both", SendBoth, false},
		{"both-fildes", SendBoth, true},
	}
	for _, size := range []int{4 << 10, 100 << 10, 2 << 20, 20 << 20} {
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			raw, text, attach := benchMessage(size, uint64(size))
			rawPath := filepath.Join(dir, "message.eml")
			if err := os.WriteFile(rawPath, raw, 0o600); err != nil {
				b.Fatal(err)
			}
			f, err := os.Open(rawPath)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			engines := make([]Engine, len(modes))
			for i, m := range modes {
				engines[i] = newEngine(b, Config{Name: m.name, Type: "clamd", Address: Addresses{unix}, Send: m.send})
			}
			var ref time.Duration
			ours := make([]time.Duration, len(modes))
			for b.Loop() {
				t0 := time.Now()
				out, err := exec.Command(clamdscan, "--no-summary", "--stream", "-c", conf, rawPath).CombinedOutput()
				ref += time.Since(t0)
				if err != nil || !bytes.Contains(out, []byte(": OK")) {
					b.Fatalf("clamdscan: %v: %s", err, out)
				}
				for i, m := range modes {
					rawObj := mem(RawID, true, raw)
					if m.files {
						rawObj.File = f
					}
					objs := []Object{mem("1", false, text), mem("2", false, attach), rawObj}
					t0 := time.Now()
					r := Run(context.Background(), engines[i:i+1], objs, Envelope{}, 1)
					ours[i] += time.Since(t0)
					if len(r.Failed) != 0 || r.Infected {
						b.Fatalf("%s: %+v", m.name, r)
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(ref.Microseconds())/1000/n, "clamdscan-ms")
			for i, m := range modes {
				b.ReportMetric(float64(ours[i].Microseconds())/1000/n, m.name+"-ms")
				b.ReportMetric(float64(ours[i])/float64(ref), "ratio-"+m.name)
			}
		})
	}
}
