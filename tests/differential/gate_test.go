package differential

import (
	"bytes"
	"context"
	"encoding/base64"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
	"github.com/scandeliver/scandeliver/unpack"
)

// TestRipmimeGate checks unpack's model of ripmime's gate against ripmime
// itself: ripmime reads the MIME fields inside a content it saves only
// when one of the first lines of that content (100 lines as fgets cuts
// them, at a newline or after 1023 bytes) starts with a field it knows;
// unpack searches a content over 128 KiB only then (unpack.ripmimeOpens),
// not whole. Each message here is a base64 attachment of more than
// 128 KiB of text lines, short and long (past 1023 bytes), with a trigger
// ("Subject: ", "content-", "MIME-Version"..., in random case) at the
// start of a line, in the middle of one, at an fgets cut of a long line,
// or nowhere, and a block of fields past 128 KiB that hides a part named
// x.bin. Property: whenever ripmime extracts x.bin, unpack gives a part
// of that name. Both answers must occur, or the test tries too little.
func TestRipmimeGate(t *testing.T) {
	if _, err := exec.LookPath("ripmime"); err != nil {
		testenv.Missing(t, "ripmime is not installed (Debian package ripmime; tests/run.sh installs it)")
	}
	triggers := []string{"Received: x", "From: x", "Subject: x", "Date: x", "Content-Description: x",
		"boundary=x", "MIME-Version: 1.0"}
	n := 300
	if testing.Short() {
		n = 60
	}
	dir := t.TempDir()
	read, notRead, wider := 0, 0, 0
	for i := range n {
		r := rand.New(rand.NewPCG(uint64(i), 11))
		var c bytes.Buffer
		lines := r.IntN(160)
		at, mode := r.IntN(lines+1), r.IntN(4)
		trig := triggers[r.IntN(len(triggers))]
		if r.IntN(2) == 0 {
			trig = randomCase(r, trig)
		}
		for k := 0; k <= lines; k++ {
			size := r.IntN(60)
			if r.IntN(8) == 0 {
				size = 900 + r.IntN(1400)
			}
			line := []byte(randomText(r, size))
			if k == at {
				switch mode {
				case 0: // a line start
					line = append([]byte(trig), line...)
				case 1: // mid-line
					line = append(append([]byte("xx "), trig...), line...)
				case 2: // where fgets cuts a long line, or one byte off
					cut := 1023*(1+r.IntN(2)) + r.IntN(3) - 1
					pad := []byte(randomText(r, cut))
					line = append(append(pad, trig...), line...)
				}
			}
			c.Write(line)
			c.WriteByte('\n')
		}
		for c.Len() <= 130<<10 {
			c.WriteString(randomText(r, 70) + "\n")
		}
		c.WriteString("Content-Type: application/octet-stream; name=x.bin\nContent-Transfer-Encoding: base64\n\n" +
			base64.StdEncoding.EncodeToString([]byte("hidden payload")) + "\n")
		msg := "Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=BB\n\n--BB\n" +
			"Content-Type: application/octet-stream; name=data.txt\nContent-Transfer-Encoding: base64\n\n" +
			base64.StdEncoding.EncodeToString(c.Bytes()) + "\n--BB--\n"

		out := filepath.Join(dir, "out")
		os.RemoveAll(out)
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "m.eml")
		if err := os.WriteFile(file, []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command("ripmime", "-i", file, "-d", out).CombinedOutput(); err != nil {
			t.Fatalf("ripmime: %v: %s", err, b)
		}
		_, err := os.Stat(filepath.Join(out, "x.bin"))
		theirs := err == nil

		m, err := unpack.Unpack(context.Background(), strings.NewReader(msg), int64(len(msg)), unpack.Options{TempDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		ours := false
		for _, p := range m.Parts {
			ours = ours || p.Name == "x.bin" || slices.Contains(p.Names, "x.bin")
		}
		m.Close()
		switch {
		case theirs && !ours:
			t.Errorf("message %d (trigger %q, mode %d, line %d of %d): ripmime extracts x.bin, unpack does not read it", i, trig, mode, at, lines)
		case theirs:
			read++
		case ours:
			wider++
		default:
			notRead++
		}
	}
	t.Logf("%d messages: ripmime and unpack read the block in %d, neither in %d, only unpack in %d", n, read, notRead, wider)
	if read < n/10 || notRead < n/10 {
		t.Errorf("read %d, not read %d: the test tries too little", read, notRead)
	}
}

// randomText is n bytes of letters, digits and spaces.
func randomText(r *rand.Rand, n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789     "
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

// randomCase changes the case of each letter of s at random.
func randomCase(r *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if r.IntN(2) == 0 {
			if 'a' <= c && c <= 'z' {
				b[i] = c - 'a' + 'A'
			} else if 'A' <= c && c <= 'Z' {
				b[i] = c - 'A' + 'a'
			}
		}
	}
	return string(b)
}
