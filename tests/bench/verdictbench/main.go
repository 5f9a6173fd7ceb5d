// Command verdictbench compares the cost of two scandeliver binaries, a
// reference and the one under test, delivering the same messages with the
// builtin engine into the same Maildir (one per message size: a Maildir of
// each binary's own sits where ext4 puts it, one more thing that differs
// for a whole run), interleaved (ref then new, new then ref
// on the next run, so that machine noise hits both alike): every message
// of the shared corpus per round, and the 4 KB to 20 MB messages of
// tests/bench/benchlib (well-formed mail: one text part, and above 8 KB
// a base64 attachment of random bytes).
//
// The cost is the CPU time of the delivery process (user + system, from
// its rusage), not its wall time: on a shared machine other processes
// stretch wall time but hardly the CPU time a process itself uses. Each
// ref run is paired with the new run beside it; the figure is the median
// of the pair ratios new/ref, with a 95% confidence interval of that
// median and the ratios' spread (the 25th and 75th percentiles), beside
// the ratio of the median CPU times and the ratio of median wall times.
// Each binary runs from -copies copies of its file in turn (see copies).
// What stays the same for a whole run still moves its figure by a few
// percent from one run to the next (at 4 KB, four runs of the same two
// binaries gave 0.92 to 0.97, each with a confidence interval of about
// +-0.03): run it more than once. It asserts nothing. Run it through
// tests/bench/verdict.sh.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/tests/bench/benchlib"
)

// bin is one binary under comparison, as copies of its file: run i uses
// copies[i%len(copies)].
type bin struct {
	name   string
	copies []string
}

// copies writes k copies of the executable at path into dir, with
// write(2): the CPU time of a delivery was measured to depend on the
// file the binary runs from, by up to 5% between byte-identical copies
// on ext4 (and more for the file the linker wrote through mmap), a bias
// that more runs of one copy do not remove; rotating through several
// copies averages it out. dir is on /dev/shm where there is one (tmpfs:
// its pages are all alike, not large folios of varying size as ext4's
// page cache may give a file).
func copies(dir, name, path string, k int) []string {
	b, err := os.ReadFile(path)
	check(err)
	var out []string
	for i := 0; i < k; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%s-%d", name, i))
		check(os.WriteFile(p, b, 0o755))
		out = append(out, p)
	}
	return out
}

// cost is what one delivery (or one round over the corpus) took.
type cost struct{ wall, cpu time.Duration }

func main() {
	ref := flag.String("ref", "", "reference scandeliver binary")
	cur := flag.String("new", "", "scandeliver binary under test")
	corpus := flag.String("corpus", "../shared/corpus/messages", "corpus messages")
	rounds := flag.Int("rounds", 5, "rounds over the corpus")
	runs := flag.Int("n", 201, "runs per binary and bench size")
	sizes := flag.String("sizes", "4KB,100KB,2MB,20MB", "bench message sizes")
	ncopies := flag.Int("copies", 8, "copies of each binary's file to rotate through")
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
	bdir := filepath.Join(work, "bin")
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		bdir, err = os.MkdirTemp("/dev/shm", "verdictbench-")
		check(err)
		defer os.RemoveAll(bdir)
	} else {
		check(os.Mkdir(bdir, 0o755))
	}
	bins := []bin{{"ref", copies(bdir, "ref", *ref, *ncopies)}, {"new", copies(bdir, "new", *cur, *ncopies)}}

	fmt.Printf("%-8s %5s %10s %10s %9s %15s %15s %9s\n", "what", "runs", "ref cpu", "new cpu", "new/ref", "median 95% ci", "spread p25-p75", "wall")
	if *rounds > 0 {
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
		var refs, news []cost
		for r := 0; r < *rounds; r++ {
			sum := map[string]cost{}
			for i, m := range msgs {
				for _, b := range order(bins, r+i) {
					c := deliver(b.copies[(r*len(msgs)+i)%len(b.copies)], cfg, filepath.Join(work, "box"), m)
					s := sum[b.name]
					s.wall += c.wall
					s.cpu += c.cpu
					sum[b.name] = s
				}
				if i%200 == 199 {
					os.RemoveAll(filepath.Join(work, "box"))
				}
			}
			refs, news = append(refs, sum["ref"]), append(news, sum["new"])
		}
		report("corpus", refs, news, time.Millisecond)
		fmt.Printf("         (%d messages, %d bytes; a run is one round over them all)\n", len(files), total)
	}

	for _, sz := range strings.Split(*sizes, ",") {
		if sz == "" {
			continue
		}
		msg := benchlib.Message(benchlib.ParseSize(sz))
		var refs, news []cost
		for i := 0; i < *runs; i++ {
			for _, b := range order(bins, i) {
				c := deliver(b.copies[i%len(b.copies)], cfg, filepath.Join(work, "box"+sz), msg)
				if b.name == "ref" {
					refs = append(refs, c)
				} else {
					news = append(news, c)
				}
			}
			if i%10 == 9 {
				os.RemoveAll(filepath.Join(work, "box"+sz))
			}
		}
		report(sz, refs, news, 10*time.Microsecond)
	}
	fmt.Println("new/ref: median of the ratios of paired runs' CPU time (user+sys); ci: a 95% confidence interval of that")
	fmt.Println("median (order statistics); spread: the ratios' 25th-75th percentiles (one pair's noise);")
	fmt.Println("wall: ratio of the median wall times (noisy on a loaded machine). Target: new/ref <= 1.05 on well-formed mail.")
}

// order gives the binaries in the order of run i: ref first on even runs,
// new first on odd ones.
func order(bins []bin, i int) []bin {
	if i%2 == 1 {
		return []bin{bins[1], bins[0]}
	}
	return bins
}

// report prints one line: the median CPU times, the median and spread of
// the pair ratios, and the ratio of median wall times.
func report(what string, refs, news []cost, round time.Duration) {
	var ratios []float64
	var rc, nc, rw, nw []time.Duration
	for i := range refs {
		ratios = append(ratios, float64(news[i].cpu)/float64(refs[i].cpu))
		rc, nc = append(rc, refs[i].cpu), append(nc, news[i].cpu)
		rw, nw = append(rw, refs[i].wall), append(nw, news[i].wall)
	}
	sort.Float64s(ratios)
	lo, hi := medianCI(ratios)
	fmt.Printf("%-8s %5d %10s %10s %9.3f %7.3f-%-7.3f %7.3f-%-7.3f %9.3f\n", what, len(refs),
		benchlib.Median(rc).Round(round), benchlib.Median(nc).Round(round),
		benchlib.MedianFloat(ratios), lo, hi, quantile(ratios, 0.25), quantile(ratios, 0.75),
		float64(benchlib.Median(nw))/float64(benchlib.Median(rw)))
}

// medianCI returns a 95% confidence interval of the median of the
// sorted values s, by order statistics: the values of rank n/2 -+
// 0.98 sqrt(n) (the normal approximation of the binomial; about a
// quarter of the interquartile range at 200 runs).
func medianCI(s []float64) (lo, hi float64) {
	if len(s) == 0 {
		return 0, 0
	}
	n := float64(len(s))
	d := 0.98 * math.Sqrt(n)
	i := max(0, int(math.Floor(n/2-d)))
	j := min(len(s)-1, int(math.Ceil(n/2+d)))
	return s[i], s[j]
}

// quantile returns the q quantile of the sorted values s (nearest rank).
func quantile(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1)+0.5)]
}

// deliver runs one delivery and returns its wall and CPU time; a failure
// stops the benchmark (a deferral costs nothing and would flatter the
// figure).
func deliver(bin, cfg, home string, msg []byte) cost {
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
	return cost{wall: d, cpu: c.ProcessState.UserTime() + c.ProcessState.SystemTime()}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
