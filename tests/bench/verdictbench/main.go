// Command verdictbench compares the cost of two scandeliver binaries, a
// reference and the one under test, delivering the same messages with the
// builtin engine into Maildirs, interleaved (ref then new, new then ref
// on the next round, so that machine noise hits both alike): every
// message of the shared corpus per round, and the 4 KB to 20 MB messages
// of tests/bench/ldabench. It prints medians and the ratio new/ref, and
// asserts nothing. Run it through tests/bench/verdict.sh.
package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	ref := flag.String("ref", "", "reference scandeliver binary")
	cur := flag.String("new", "", "scandeliver binary under test")
	corpus := flag.String("corpus", "../shared/corpus/messages", "corpus messages")
	rounds := flag.Int("rounds", 3, "rounds over the corpus")
	runs := flag.Int("n", 11, "runs per binary and bench size")
	sizes := flag.String("sizes", "4KB,100KB,2MB,20MB", "bench message sizes")
	flag.Parse()
	if *ref == "" || *cur == "" {
		fmt.Fprintln(os.Stderr, "usage: verdictbench -ref BIN -new BIN [-corpus DIR] [-rounds N] [-n N] [-sizes ...]")
		os.Exit(2)
	}
	work, err := os.MkdirTemp("", "verdictbench-")
	check(err)
	defer os.RemoveAll(work)
	cfg := filepath.Join(work, "c.toml")
	check(os.WriteFile(cfg, []byte(fmt.Sprintf("[log]\nsyslog = false\n[quarantine]\ndir = %q\n[spool]\ndir = %q\n[notify]\nsendmail = [\"/bin/true\"]\n",
		filepath.Join(work, "q"), work)), 0o600))
	bins := []struct{ name, path string }{{"ref", *ref}, {"new", *cur}}

	var files []string
	check(filepath.WalkDir(*corpus, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	}))
	msgs := make([][]byte, len(files))
	var total int64
	for i, f := range files {
		msgs[i], err = os.ReadFile(f)
		check(err)
		total += int64(len(msgs[i]))
	}
	fmt.Printf("corpus: %d messages, %d bytes, %d rounds\n", len(files), total, *rounds)
	perRound := map[string][]time.Duration{}
	for r := 0; r < *rounds; r++ {
		sum := map[string]time.Duration{}
		for i, m := range msgs {
			order := bins
			if (r+i)%2 == 1 {
				order = []struct{ name, path string }{bins[1], bins[0]}
			}
			for _, b := range order {
				sum[b.name] += deliver(b.path, cfg, filepath.Join(work, b.name), m)
			}
			if i%200 == 199 {
				for _, b := range bins {
					os.RemoveAll(filepath.Join(work, b.name))
				}
			}
		}
		for _, b := range bins {
			perRound[b.name] = append(perRound[b.name], sum[b.name])
		}
	}
	rm, nm := median(perRound["ref"]), median(perRound["new"])
	fmt.Printf("%-10s %12s %12s %8s\n", "what", "ref", "new", "new/ref")
	fmt.Printf("%-10s %12s %12s %8.3f\n", "corpus", rm.Round(time.Millisecond), nm.Round(time.Millisecond), float64(nm)/float64(rm))

	for _, sz := range strings.Split(*sizes, ",") {
		msg := makeMessage(parseSize(sz))
		times := map[string][]time.Duration{}
		for i := 0; i < *runs; i++ {
			order := bins
			if i%2 == 1 {
				order = []struct{ name, path string }{bins[1], bins[0]}
			}
			for _, b := range order {
				times[b.name] = append(times[b.name], deliver(b.path, cfg, filepath.Join(work, b.name+sz), msg))
			}
			if i%10 == 9 {
				for _, b := range bins {
					os.RemoveAll(filepath.Join(work, b.name+sz))
				}
			}
		}
		rm, nm := median(times["ref"]), median(times["new"])
		fmt.Printf("%-10s %12s %12s %8.3f\n", sz, rm.Round(10*time.Microsecond), nm.Round(10*time.Microsecond), float64(nm)/float64(rm))
	}
	fmt.Println("corpus: median over rounds of the total time; sizes: median time per message (well-formed mail)")
}

// deliver runs one delivery and returns its wall time; a failure stops
// the benchmark (a deferral costs nothing and would flatter the figure).
func deliver(bin, cfg, home string, msg []byte) time.Duration {
	c := exec.Command(bin, "-c", cfg, "--to", filepath.Join(home, "Maildir")+"/", "-f", "a@example.org")
	c.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "USER=bob", "RECIPIENT=b@example.org"}
	c.Stdin = bytes.NewReader(msg)
	var errb bytes.Buffer
	c.Stderr = &errb
	start := time.Now()
	err := c.Run()
	d := time.Since(start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v: %s\n", bin, err, errb.String())
		os.Exit(1)
	}
	return d
}

// makeMessage is ldabench's: a text body up to 8 KB, above it a base64
// attachment of random bytes.
func makeMessage(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Alice <a@example.org>\nTo: Bob <b@example.org>\nSubject: bench\n" +
		"Message-ID: <bench@example.org>\nMIME-Version: 1.0\n")
	if n <= 8<<10 {
		b.WriteString("Content-Type: text/plain\n\n")
		for b.Len() < n {
			b.WriteString("The quick brown fox jumps over the lazy dog. From here on it is text.\n")
		}
		return b.Bytes()
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nSee attachment.\n" +
		"--b\nContent-Type: application/octet-stream; name=\"data.bin\"\nContent-Transfer-Encoding: base64\n\n")
	raw := make([]byte, (n-b.Len())*3/4)
	rand.New(rand.NewSource(1)).Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n--b--\n")
	return b.Bytes()
}

func parseSize(s string) int {
	var n int
	var u string
	fmt.Sscanf(s, "%d%s", &n, &u)
	switch strings.ToUpper(u) {
	case "KB":
		n <<= 10
	case "MB":
		n <<= 20
	}
	return n
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
