// Command verdictbench compares the cost of two scandeliver binaries, a
// reference and the one under test, delivering the same messages with the
// builtin engine into Maildirs, interleaved (ref then new, new then ref
// on the next round, so that machine noise hits both alike): every
// message of the shared corpus per round, and the 4 KB to 20 MB messages
// of tests/bench/benchlib. It prints medians and the ratio new/ref, and
// asserts nothing. Run it through tests/bench/verdict.sh.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/tests/bench/benchlib"
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
	rm, nm := benchlib.Median(perRound["ref"]), benchlib.Median(perRound["new"])
	fmt.Printf("%-10s %12s %12s %8s\n", "what", "ref", "new", "new/ref")
	fmt.Printf("%-10s %12s %12s %8.3f\n", "corpus", rm.Round(time.Millisecond), nm.Round(time.Millisecond), float64(nm)/float64(rm))

	for _, sz := range strings.Split(*sizes, ",") {
		msg := benchlib.Message(benchlib.ParseSize(sz))
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
		rm, nm := benchlib.Median(times["ref"]), benchlib.Median(times["new"])
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

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
