// Command scanbench runs the scan and unpack benchmarks of issues 3 and 4
// against reference tools, interleaved (one run of each command in turn,
// so that machine noise hits all alike), and prints medians and ratios.
// It asserts nothing. Run it through tests/bench/scan.sh and
// tests/bench/unpack.sh.
//
//	scanbench scan   -scandeliver BIN -clamd unix:/path [-n RUNS] [-sizes 4KB,100KB,2MB,20MB]
//	scanbench unpack -scandeliver BIN [-n RUNS] [-size 20MB]
//
// scan: for each size, a message with one base64 attachment of random
// bytes; `scandeliver scan -c CFG MSG` with a clamd engine in each sending
// mode (raw, parts, both: the default) beside `clamdscan --stream` of the
// same raw message against the same clamd.
//
// unpack: a message with a base64 zip attachment; `scandeliver scan
// --no-engines MSG` beside `ripmime -i MSG -d DIR`: MB/s of message and
// peak RSS (ru_maxrss of the child: the figure `/usr/bin/time -f %M`
// prints).
package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scanbench scan|unpack [flags]")
		os.Exit(64)
	}
	switch os.Args[1] {
	case "scan":
		benchScan(os.Args[2:])
	case "unpack":
		benchUnpack(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: scanbench scan|unpack [flags]")
		os.Exit(64)
	}
}

// command is one contender: a fresh *exec.Cmd for each run, and a
// cleanup run after each (untimed).
type command struct {
	label string
	make  func() *exec.Cmd
	after func()
	rss   bool // measure peak RSS (through /usr/bin/time)
}

type sample struct {
	dur    time.Duration
	rssKB  int64
	failed int
	last   string
}

// interleave runs each command n times, in turn, after one warm-up run
// of each, and returns the samples per label.
func interleave(n int, cmds []command) map[string]*[]sample {
	out := map[string]*[]sample{}
	for _, c := range cmds {
		out[c.label] = &[]sample{}
	}
	for i := -1; i < n; i++ {
		for _, c := range cmds {
			cmd := c.make()
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = nil, &stderr
			// Peak RSS through /usr/bin/time: a child forked by Go
			// inherits this (large) process's high-water mark in its
			// ru_maxrss, a child of time(1) does not.
			rss := ""
			if c.rss {
				rss = filepath.Join(os.TempDir(), fmt.Sprintf("scanbench-rss-%d", os.Getpid()))
				cmd = exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rss}, cmd.Args...)...)
			}
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			s := sample{dur: d}
			if rss != "" {
				b, _ := os.ReadFile(rss)
				f := strings.Fields(string(b))
				if len(f) > 0 {
					s.rssKB, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
				}
				os.Remove(rss)
			}
			if err != nil {
				s.failed = 1
				s.last = fmt.Sprintf("%v: %.300s", err, stderr.String())
			}
			if c.after != nil {
				c.after()
			}
			if i >= 0 {
				*out[c.label] = append(*out[c.label], s)
			}
		}
	}
	return out
}

type stats struct {
	med    time.Duration
	rssKB  int64
	failed int
	last   string
}

func summarize(ss []sample) stats {
	ds := make([]time.Duration, len(ss))
	rs := make([]int64, len(ss))
	var st stats
	for i, s := range ss {
		ds[i], rs[i] = s.dur, s.rssKB
		st.failed += s.failed
		if s.last != "" {
			st.last = s.last
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
	st.med, st.rssKB = ds[len(ds)/2], rs[len(rs)/2]
	return st
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func parseSize(s string) int {
	s = strings.ToUpper(strings.TrimSpace(s))
	m := 1
	switch {
	case strings.HasSuffix(s, "KB"):
		m, s = 1<<10, strings.TrimSuffix(s, "KB")
	case strings.HasSuffix(s, "MB"):
		m, s = 1<<20, strings.TrimSuffix(s, "MB")
	}
	n, err := strconv.Atoi(s)
	check(err)
	return n * m
}

// message builds a message of about size bytes whose body is one base64
// attachment of payload (cut or padded with random bytes to fit).
func message(size int, name string, payload func(n int) []byte) []byte {
	head := "From: bench@example.org\r\nTo: r@example.org\r\nSubject: bench " + strconv.Itoa(size) +
		"\r\nMessage-ID: <bench." + strconv.Itoa(size) + "@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbench\r\n" +
		"--b\r\nContent-Type: application/octet-stream; name=\"" + name + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n"
	tail := "\r\n--b--\r\n"
	room := size - len(head) - len(tail)
	raw := payload(max(1, room*57/78)) // 76 characters + CRLF per 57 bytes
	enc := base64.StdEncoding.EncodeToString(raw)
	var b bytes.Buffer
	b.WriteString(head)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + tail)
	return b.Bytes()
}

func randomBytes(seed int64) func(int) []byte {
	return func(n int) []byte {
		b := make([]byte, n)
		rand.New(rand.NewSource(seed)).Read(b)
		return b
	}
}

func benchScan(args []string) {
	fs := flag.NewFlagSet("scan", flag.ExitOnError)
	bin := fs.String("scandeliver", "build/scandeliver", "scandeliver binary")
	clamd := fs.String("clamd", os.Getenv("SCANDELIVER_CLAMD"), "clamd address (unix:/path)")
	runs := fs.Int("n", 0, "runs per command and size (0: 21 for small messages, fewer for large)")
	sizes := fs.String("sizes", "4KB,100KB,2MB,20MB", "message sizes")
	check(fs.Parse(args))
	if !strings.HasPrefix(*clamd, "unix:") {
		fatalf("-clamd must be unix:/path (got %q)", *clamd)
	}
	work, err := os.MkdirTemp("", "scanbench-")
	check(err)
	defer os.RemoveAll(work)

	clamdscanConf := filepath.Join(work, "clamdscan.conf")
	check(os.WriteFile(clamdscanConf, []byte("LocalSocket "+strings.TrimPrefix(*clamd, "unix:")+"\n"), 0o644))
	modes := []string{"both", "raw", "parts"} // both is the default
	cfgs := map[string]string{}
	for _, m := range modes {
		p := filepath.Join(work, m+".toml")
		check(os.WriteFile(p, []byte(fmt.Sprintf("[log]\nsyslog = false\n[quarantine]\ndir = %q\n[spool]\ndir = %q\n"+
			"[[engine]]\nname = \"clamav\"\ntype = \"clamd\"\naddress = %q\nsend = %q\n",
			filepath.Join(work, "q"), work, *clamd, m)), 0o644))
		cfgs[m] = p
	}

	fmt.Printf("scan time per message, median of interleaved runs; clamd at %s\n", *clamd)
	fmt.Printf("%-7s %4s %12s %12s %12s %12s %10s %10s %10s\n", "size", "runs", "clamdscan", "sd both", "sd raw", "sd parts", "both/cd", "raw/cd", "parts/cd")
	for _, sz := range strings.Split(*sizes, ",") {
		size := parseSize(sz)
		msg := filepath.Join(work, "msg-"+sz+".eml")
		check(os.WriteFile(msg, message(size, "data.bin", randomBytes(int64(size))), 0o644))
		n := *runs
		if n == 0 {
			switch {
			case size >= 16<<20:
				n = 7
			case size >= 1<<20:
				n = 11
			default:
				n = 21
			}
		}
		cmds := []command{{label: "clamdscan", make: func() *exec.Cmd {
			return exec.Command("clamdscan", "--config-file="+clamdscanConf, "--stream", "--no-summary", "--quiet", msg)
		}}}
		for _, m := range modes {
			cmds = append(cmds, command{label: m, make: func() *exec.Cmd {
				return exec.Command(*bin, "scan", "-c", cfgs[m], msg)
			}})
		}
		res := interleave(n, cmds)
		st := map[string]stats{}
		for l, ss := range res {
			st[l] = summarize(*ss)
		}
		ref := float64(st["clamdscan"].med)
		fmt.Printf("%-7s %4d %10sms %10sms %10sms %10sms %9.2fx %9.2fx %9.2fx\n", sz, n,
			ms(st["clamdscan"].med), ms(st["both"].med), ms(st["raw"].med), ms(st["parts"].med),
			float64(st["both"].med)/ref, float64(st["raw"].med)/ref, float64(st["parts"].med)/ref)
		for l, s := range st {
			if s.failed > 0 {
				fmt.Printf("   !! %s failed %d of %d runs: %s\n", l, s.failed, n, s.last)
			}
		}
	}
	fmt.Println("target (issue 4): default mode (both) at most 1.50x clamdscan")
}

// zipPayload is a zip of n bytes or so: half random (stored as it is,
// incompressible) and half text (deflated), so that the walk both copies
// and inflates.
func zipPayload(kind string, n int) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	r := rand.New(rand.NewSource(1))
	if kind == "random" {
		rnd := make([]byte, n)
		r.Read(rnd)
		f, err := w.Create("random.bin")
		check(err)
		_, err = f.Write(rnd)
		check(err)
		check(w.Close())
		return b.Bytes()
	}
	rnd := make([]byte, n/2)
	r.Read(rnd)
	f, err := w.CreateHeader(&zip.FileHeader{Name: "random.bin", Method: zip.Store})
	check(err)
	_, err = f.Write(rnd)
	check(err)
	f, err = w.Create("text.txt")
	check(err)
	words := []string{"scan", "mail", "archive", "zip", "deliver", "quarantine", "engine", "part", "message", "header"}
	var line []byte
	for written := 0; written < n/2*6; written += len(line) {
		line = line[:0]
		for range 12 {
			line = append(line, words[r.Intn(len(words))]...)
			line = append(line, ' ')
		}
		line = append(line, '\n')
		_, err = f.Write(line)
		check(err)
	}
	check(w.Close())
	return b.Bytes()
}

func benchUnpack(args []string) {
	fs := flag.NewFlagSet("unpack", flag.ExitOnError)
	bin := fs.String("scandeliver", "build/scandeliver", "scandeliver binary")
	runs := fs.Int("n", 7, "runs per command")
	sizeS := fs.String("size", "20MB", "message size")
	kind := fs.String("payload", "mixed", "zip content: mixed (half random stored, half text deflated) or random (incompressible, deflate)")
	check(fs.Parse(args))
	work, err := os.MkdirTemp("", "unpackbench-")
	check(err)
	defer os.RemoveAll(work)

	size := parseSize(*sizeS)
	data := message(size, "data.zip", func(n int) []byte {
		// Deflate's ratio is not known in advance: aim, then correct.
		t := n
		z := zipPayload(*kind, t)
		for range 4 {
			if len(z) <= n && len(z) > n*97/100 {
				break
			}
			t = int(int64(t) * int64(n) * 99 / 100 / int64(len(z)))
			z = zipPayload(*kind, t)
		}
		return z
	})
	msg := filepath.Join(work, "msg.eml")
	check(os.WriteFile(msg, data, 0o644))
	cfg := filepath.Join(work, "cfg.toml")
	check(os.WriteFile(cfg, []byte(fmt.Sprintf("[log]\nsyslog = false\n[quarantine]\ndir = %q\n[spool]\ndir = %q\n", filepath.Join(work, "q"), work)), 0o644))
	out := filepath.Join(work, "ripmime")
	cmds := []command{
		{label: "ripmime", rss: true, make: func() *exec.Cmd {
			check(os.MkdirAll(out, 0o755))
			return exec.Command("ripmime", "-i", msg, "-d", out)
		}, after: func() { os.RemoveAll(out) }},
		{label: "scandeliver", rss: true, make: func() *exec.Cmd {
			return exec.Command(*bin, "scan", "-c", cfg, "--no-engines", msg)
		}},
	}
	// What scandeliver finds, once: the zip must be opened, or the
	// figure measures nothing.
	tree, err := exec.Command(*bin, "scan", "-c", cfg, "--no-engines", msg).Output()
	check(err)
	fmt.Printf("unpack of a %.1f MB message (base64 zip attachment, payload %s, %d runs each, interleaved); scandeliver's tree:\n%s",
		float64(len(data))/(1<<20), *kind, *runs, tree)
	res := interleave(*runs, cmds)
	mb := float64(len(data)) / (1 << 20)
	rip, sd := summarize(*res["ripmime"]), summarize(*res["scandeliver"])
	fmt.Printf("%-12s %10s %10s %12s\n", "tool", "median", "MB/s", "peak RSS")
	for _, r := range []struct {
		l string
		s stats
	}{{"ripmime", rip}, {"scandeliver", sd}} {
		fmt.Printf("%-12s %8sms %10.1f %9.1f MB\n", r.l, ms(r.s.med), mb/r.s.med.Seconds(), float64(r.s.rssKB)/1024)
		if r.s.failed > 0 {
			fmt.Printf("   !! %s failed %d runs: %s\n", r.l, r.s.failed, r.s.last)
		}
	}
	fmt.Printf("scandeliver/ripmime: time %.2fx, throughput %.2fx, peak RSS %.2fx\n",
		float64(sd.med)/float64(rip.med), rip.med.Seconds()/sd.med.Seconds(), float64(sd.rssKB)/float64(rip.rssKB))
	fmt.Println("target (issue 3): faster than ripmime (time < 1.00x), peak RSS under 64 MB")
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "scanbench: "+f+"\n", a...)
	os.Exit(1)
}
