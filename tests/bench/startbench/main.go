// Command startbench shows where a one-shot delivery's time goes before
// and after main (issue 13, one-shot start-up), in one run:
//
//   - go-floor (tests/bench/ldafloor/plain), go-floor+deps (the same with
//     the fixed modules linked in), "scandeliver version" (the runtime and
//     every package's init, no delivery) and a scandeliver delivery of a
//     4 KB message, interleaved; median wall and CPU time of each, with
//     ratios to go-floor; into -dir (a Maildir on disk, fsync included)
//     and, with -shm, also into /dev/shm (fsync costs nothing there, so
//     what remains is start-up and our work);
//   - GODEBUG=inittrace=1 of scandeliver: the package init time (median
//     per package over the runs), summed for the packages go-floor+deps
//     also links, the other modules' packages, and ours; the largest.
//
// Run it through tests/bench/startup.sh.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/tests/bench/benchlib"
)

func main() {
	bin := flag.String("scandeliver", "build/scandeliver", "scandeliver binary")
	floor := flag.String("floor", "build/ldafloor-plain", "go-floor binary")
	floorDeps := flag.String("floordeps", "build/ldafloor-deps", "go-floor+deps binary")
	depsList := flag.String("depslist", "", "file listing go-floor+deps's packages (go list -deps)")
	runs := flag.Int("n", 101, "runs of each")
	shm := flag.Bool("shm", true, "also run into /dev/shm")
	flag.Parse()

	work, err := os.MkdirTemp("", "startbench-")
	check(err)
	defer os.RemoveAll(work)
	msg := []byte("From: a@example.org\nTo: b@example.net\nSubject: bench\nMessage-ID: <x@example.org>\n\n")
	for len(msg) < 4096 {
		msg = append(msg, "The quick brown fox jumps over the lazy dog. 0123456789\n"...)
	}
	empty := filepath.Join(work, "empty.toml") // the built-in defaults
	check(os.WriteFile(empty, nil, 0o644))

	roots := []string{work}
	if *shm {
		d, err := os.MkdirTemp("/dev/shm", "startbench-")
		if err == nil {
			defer os.RemoveAll(d)
			roots = append(roots, d)
		}
	}
	type tool struct {
		name string
		argv func(md string) []string
	}
	tools := []tool{
		{"go-floor", func(md string) []string { return []string{*floor, md} }},
		{"go-floor+deps", func(md string) []string { return []string{*floorDeps, md} }},
		{"scandeliver version", func(string) []string { return []string{*bin, "version"} }},
		{"scandeliver", func(md string) []string {
			return []string{*bin, "-c", empty, "-f", "a@example.org", "-a", "b@example.net", "--to", md + "/"}
		}},
	}
	for _, root := range roots {
		wall := make([][]float64, len(tools))
		cpu := make([][]float64, len(tools))
		for r := -1; r < *runs; r++ {
			for i, t := range tools {
				md := filepath.Join(root, fmt.Sprintf("md%d", i))
				for _, s := range []string{"tmp", "new", "cur"} {
					check(os.MkdirAll(filepath.Join(md, s), 0o700))
				}
				a := t.argv(md)
				c := exec.Command(a[0], a[1:]...)
				c.Stdin = bytes.NewReader(msg)
				var stderr bytes.Buffer
				c.Stderr = &stderr
				t0 := time.Now()
				err := c.Run()
				d := time.Since(t0)
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s: %v\n%s", t.name, err, stderr.String())
					os.Exit(1)
				}
				if r >= 0 {
					wall[i] = append(wall[i], float64(d)/1e6)
					cpu[i] = append(cpu[i], float64(c.ProcessState.UserTime()+c.ProcessState.SystemTime())/1e6)
				}
				if r%50 == 49 {
					os.RemoveAll(filepath.Join(md, "new"))
				}
			}
		}
		where := "a Maildir on disk (fsync of the file and of new/)"
		if root != work {
			where = "a Maildir in /dev/shm (fsync costs nothing)"
		}
		fmt.Printf("4 KB message into %s; %d runs each, medians\n", where, *runs)
		fmt.Printf("%-20s %9s %7s %9s %7s\n", "", "wall ms", "x floor", "cpu ms", "x floor")
		for i, t := range tools {
			fmt.Printf("%-20s %9.2f %6.2fx %9.2f %6.2fx\n", t.name, benchlib.MedianFloat(wall[i]), benchlib.MedianFloat(wall[i])/benchlib.MedianFloat(wall[0]),
				benchlib.MedianFloat(cpu[i]), benchlib.MedianFloat(cpu[i])/benchlib.MedianFloat(cpu[0]))
		}
		fmt.Println()
	}

	// Package init, from GODEBUG=inittrace=1 of a delivery.
	floorPkgs := map[string]bool{"runtime": true}
	if *depsList != "" {
		b, err := os.ReadFile(*depsList)
		check(err)
		for _, p := range strings.Fields(string(b)) {
			floorPkgs[p] = true
		}
	}
	per := map[string][]float64{}
	md := filepath.Join(work, "init")
	for _, s := range []string{"tmp", "new", "cur"} {
		check(os.MkdirAll(filepath.Join(md, s), 0o700))
	}
	for r := 0; r < *runs; r++ {
		c := exec.Command(*bin, "-c", empty, "-f", "a@example.org", "-a", "b@example.net", "--to", md+"/")
		c.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		c.Stdin = bytes.NewReader(msg)
		var stderr bytes.Buffer
		c.Stderr = &stderr
		check(c.Run())
		for _, l := range strings.Split(stderr.String(), "\n") {
			f := strings.Fields(l)
			if len(f) >= 5 && f[0] == "init" {
				v, _ := strconv.ParseFloat(f[4], 64)
				per[f[1]] = append(per[f[1]], v)
			}
		}
		if r%50 == 49 {
			os.RemoveAll(filepath.Join(md, "new"))
		}
	}
	type pkg struct {
		name string
		ms   float64
	}
	var all []pkg
	sums := map[string]float64{}
	for p, v := range per {
		m := benchlib.MedianFloat(v)
		all = append(all, pkg{p, m})
		switch {
		case strings.HasPrefix(p, "github.com/scandeliver/") || p == "main":
			sums["ours"] += m
		case floorPkgs[p]:
			sums["linked by go-floor+deps too"] += m
		default:
			sums["other modules and std"] += m
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ms > all[j].ms })
	total := sums["ours"] + sums["linked by go-floor+deps too"] + sums["other modules and std"]
	fmt.Printf("scandeliver package init (GODEBUG=inittrace=1), %d packages, median per package: %.3f ms\n", len(all), total)
	for _, k := range []string{"linked by go-floor+deps too", "other modules and std", "ours"} {
		fmt.Printf("  %-28s %.3f ms (%.0f%%)\n", k, sums[k], 100*sums[k]/total)
	}
	fmt.Println("  largest:")
	for i := 0; i < len(all) && i < 15; i++ {
		tag := ""
		if floorPkgs[all[i].name] {
			tag = " (go-floor+deps too)"
		}
		fmt.Printf("    %.3f ms %s%s\n", all[i].ms, all[i].name, tag)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "startbench:", err)
		os.Exit(1)
	}
}
