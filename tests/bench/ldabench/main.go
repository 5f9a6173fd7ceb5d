// Command ldabench delivers the same messages with scandeliver, procmail
// and maildrop into Maildirs, interleaved (one run of each in turn, so
// that machine noise hits all three alike), and prints the median time
// per message and the peak RSS of each, with scandeliver's ratios to the
// others. Run it through tests/bench/deliver.sh.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/tests/bench/benchlib"
)

type tool struct {
	name string
	cmd  func(msg, maildir string) *exec.Cmd
}

func main() {
	bin := flag.String("scandeliver", "build/scandeliver", "scandeliver binary")
	floor := flag.String("floor", "", "tests/bench/ldafloor/plain binary (optional reference)")
	floorDeps := flag.String("floordeps", "", "tests/bench/ldafloor/fixeddeps binary (optional reference)")
	runs := flag.Int("n", 21, "runs per tool and size")
	sizes := flag.String("sizes", "4KB,100KB,2MB,20MB", "message sizes")
	flag.Parse()

	work, err := os.MkdirTemp("", "ldabench-")
	check(err)
	defer os.RemoveAll(work)

	mailfilter := filepath.Join(work, "mailfilter")
	check(os.WriteFile(mailfilter, []byte("to $MD\n"), 0o600))
	empty := filepath.Join(work, "empty.toml") // the built-in defaults
	check(os.WriteFile(empty, nil, 0o600))
	tools := []tool{
		{"scandeliver", func(msg, md string) *exec.Cmd {
			return exec.Command(*bin, "-c", empty, "-f", "a@example.org", "-a", "b@example.org", "--to", md+"/")
		}},
		{"procmail", func(msg, md string) *exec.Cmd {
			// An empty rcfile: procmail delivers to DEFAULT.
			return exec.Command("procmail", "-f", "a@example.org", "DEFAULT="+md+"/", "/dev/null")
		}},
		{"maildrop", func(msg, md string) *exec.Cmd {
			c := exec.Command("maildrop", mailfilter)
			c.Env = append(os.Environ(), "MD="+md+"/")
			return c
		}},
	}
	// The floors: the least a Go delivery agent does, without and with
	// the brief's fixed modules linked in (see tests/bench/ldafloor).
	if *floor != "" {
		tools = append(tools, tool{"go-floor", func(msg, md string) *exec.Cmd { return exec.Command(*floor, md) }})
	}
	if *floorDeps != "" {
		tools = append(tools, tool{"go-floor+deps", func(msg, md string) *exec.Cmd { return exec.Command(*floorDeps, md) }})
	}

	fmt.Printf("%-8s %-14s %12s %12s %10s %10s\n", "size", "tool", "median", "peak RSS", "time x", "RSS x")
	for _, sz := range strings.Split(*sizes, ",") {
		n := benchlib.ParseSize(sz)
		msg := filepath.Join(work, "msg-"+sz+".eml")
		check(os.WriteFile(msg, benchlib.Message(n), 0o644))
		times := map[string][]time.Duration{}
		rss := map[string]int64{}
		for i := 0; i < *runs; i++ {
			for _, t := range tools {
				md := filepath.Join(work, t.name+"-"+sz)
				for _, d := range []string{"tmp", "new", "cur"} {
					check(os.MkdirAll(filepath.Join(md, d), 0o700))
				}
				d, r := runOne(t.cmd(msg, md), msg)
				times[t.name] = append(times[t.name], d)
				if r > rss[t.name] {
					rss[t.name] = r
				}
				// Keep the Maildirs small: directory growth is not what
				// is measured.
				if i%10 == 9 {
					os.RemoveAll(filepath.Join(md, "new"))
				}
			}
		}
		base := benchlib.Median(times["scandeliver"])
		for _, t := range tools {
			m := benchlib.Median(times[t.name])
			fmt.Printf("%-8s %-14s %12s %10dKB %10.2f %10.2f\n", sz, t.name, m.Round(10*time.Microsecond), rss[t.name],
				float64(base)/float64(m), float64(rss["scandeliver"])/float64(rss[t.name]))
		}
	}
	fmt.Println("time x and RSS x: scandeliver's figure divided by the tool's (below 1: scandeliver is faster / smaller)")
	if *floor != "" || *floorDeps != "" {
		fmt.Println("go-floor: stdin to a Maildir in Go, durably, nothing else; go-floor+deps: the same with go-message, go-maildir, toml and mholt/archives linked in")
	}
}

// runOne runs c under GNU time(1) for its peak RSS: rusage taken by this
// process would count our own memory too, because Go starts children with
// vfork semantics and ru_maxrss survives exec.
func runOne(c *exec.Cmd, msg string) (time.Duration, int64) {
	in, err := os.Open(msg)
	check(err)
	defer in.Close()
	rssFile := msg + ".rss"
	w := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile, c.Path}, c.Args[1:]...)...)
	w.Env = c.Env
	w.Stdin = in
	var errb bytes.Buffer
	w.Stderr = &errb
	start := time.Now()
	err = w.Run()
	d := time.Since(start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v: %s\n", c.Path, err, errb.String())
		os.Exit(1)
	}
	b, err := os.ReadFile(rssFile)
	check(err)
	var kb int64
	fmt.Sscanf(string(b), "%d", &kb)
	return d, kb
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
