// Command hdbbench measures what the size of the builtin engine's hash
// database costs (issue 13, "signature database size"), in one run:
//
//   - serve: scandeliver serve with no database, with a generated
//     database of -sigs MD5 signatures loaded from its text, and with the
//     same database mapped from its cache; each driven in turn (rounds
//     alternate) by Postfix's smtp-source -L with 4 KB messages. Reported:
//     the server's CPU time per message (from /proc/PID/stat) and
//     messages/s, medians, with ratios to the run with no database.
//   - one-shot: scandeliver delivering a 4 KB message into a Maildir (in
//     /dev/shm when there is one: no fsync noise) with no database, with
//     the database and its cache, and with the database and no cache
//     (cache_dir = ""), interleaved; median wall and CPU time per
//     delivery, with ratios to the run with no database.
//
// The signatures' sizes are spread uniformly over 1..-maxsize bytes: with
// the defaults, 63% of the sizes up to 1 MB have a signature (it prints
// how many), so a part is often hashed and looked up, as with a real
// database, rather than skipped for its size.
// Run it through tests/bench/hashdb.sh.
package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/tests/bench/benchlib"
)

func main() {
	bin := flag.String("scandeliver", "build/scandeliver", "scandeliver binary")
	sigs := flag.Int("sigs", 1_000_000, "signatures in the generated .hdb")
	maxSize := flag.Int("maxsize", 1_000_000, "signature sizes are uniform in 1..maxsize")
	n := flag.Int("n", 2000, "messages per serve run")
	rounds := flag.Int("r", 3, "serve rounds")
	runs := flag.Int("oneshot", 21, "one-shot deliveries per configuration")
	skipServe := flag.Bool("noserve", false, "skip the serve part")
	flag.Parse()

	work, err := os.MkdirTemp("", "hdbbench-")
	check(err)
	defer os.RemoveAll(work)
	check(os.Chmod(work, 0o755))

	hdb := filepath.Join(work, "db", "bench.hdb")
	check(os.MkdirAll(filepath.Dir(hdb), 0o755))
	sizes := genHDB(hdb, *sigs, *maxSize)
	st, _ := os.Stat(hdb)
	fmt.Printf("database: %d MD5 signatures, %.1f MB of text, sizes uniform in 1..%d (%d distinct)\n",
		*sigs, float64(st.Size())/1e6, *maxSize, len(sizes))
	cache := filepath.Join(work, "cache")

	configs := []struct{ name, engine string }{
		{"no database", "cache_dir = \"\"\n"},
		{"1M cache", fmt.Sprintf("databases = [%q]\ncache_dir = %q\n", hdb, cache)},
		{"1M text", fmt.Sprintf("databases = [%q]\ncache_dir = \"\"\n", hdb)},
	}
	cfgFile := func(i int, extra string) string {
		p := filepath.Join(work, fmt.Sprintf("c%d.toml", i))
		spool := filepath.Join(work, fmt.Sprintf("spool%d", i))
		q := filepath.Join(work, fmt.Sprintf("q%d", i))
		check(os.MkdirAll(spool, 0o700))
		check(os.MkdirAll(q, 0o700))
		s := fmt.Sprintf("[log]\nsyslog = false\n[spool]\ndir = %q\n[quarantine]\ndir = %q\n[notify]\nsendmail = [\"/bin/true\"]\n%s[[engine]]\nname = \"builtin\"\ntype = \"builtin\"\n%s",
			spool, q, extra, configs[i].engine)
		check(os.WriteFile(p, []byte(s), 0o644))
		return p
	}

	// The 4 KB message of the one-shot runs: text, and a 1 KB attachment.
	msg := filepath.Join(work, "msg.eml")
	var m bytes.Buffer
	m.WriteString("From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n")
	for m.Len() < 2800 {
		m.WriteString("the quick brown fox jumps over the lazy dog 0123456789\r\n")
	}
	m.WriteString("--b\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for m.Len() < 4000 {
		m.WriteString("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n")
	}
	m.WriteString("--b--\r\n")
	check(os.WriteFile(msg, m.Bytes(), 0o644))

	// One-shot. The Maildirs are in /dev/shm when there is one: fsync on
	// a busy disk would add noise larger than what is measured here.
	mdRoot := work
	if d, err := os.MkdirTemp("/dev/shm", "hdbbench-"); err == nil {
		defer os.RemoveAll(d)
		mdRoot = d
	}
	var oneCfg []string
	for i := range configs {
		oneCfg = append(oneCfg, cfgFile(i, ""))
	}
	wall := make([][]float64, len(configs))
	cpu := make([][]float64, len(configs))
	for r := -1; r < *runs; r++ { // run -1 warms up (and writes the cache)
		for i := range configs {
			md := filepath.Join(mdRoot, fmt.Sprintf("oneshot%d", i)) + "/"
			in, err := os.Open(msg)
			check(err)
			c := exec.Command(*bin, "-c", oneCfg[i], "-f", "a@example.org", "-a", "b@example.net", "--to", md)
			c.Stdin = in
			var stderr bytes.Buffer
			c.Stderr = &stderr
			t0 := time.Now()
			err = c.Run()
			d := time.Since(t0)
			in.Close()
			if err != nil {
				fmt.Fprintf(os.Stderr, "one-shot %s: %v\n%s", configs[i].name, err, stderr.String())
				os.Exit(1)
			}
			if r >= 0 {
				wall[i] = append(wall[i], ms(d))
				cpu[i] = append(cpu[i], ms(c.ProcessState.UserTime()+c.ProcessState.SystemTime()))
			}
		}
	}
	if _, err := os.Stat(cache); err != nil {
		fmt.Fprintln(os.Stderr, "no cache was written:", err)
		os.Exit(1)
	}
	fmt.Printf("\none-shot, 4 KB message, %d deliveries each, medians\n", *runs)
	fmt.Printf("%-12s %10s %10s %10s %10s\n", "database", "wall ms", "ratio", "cpu ms", "ratio")
	for i := range configs {
		fmt.Printf("%-12s %10.2f %9.2fx %10.2f %9.2fx\n", configs[i].name, benchlib.MedianFloat(wall[i]), benchlib.MedianFloat(wall[i])/benchlib.MedianFloat(wall[0]),
			benchlib.MedianFloat(cpu[i]), benchlib.MedianFloat(cpu[i])/benchlib.MedianFloat(cpu[0]))
	}
	if *skipServe {
		return
	}

	// serve: three servers, one per configuration, driven in turn.
	type server struct {
		cmd  *exec.Cmd
		sock string
		box  string
	}
	var srv []server
	defer func() {
		for _, s := range srv {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	}()
	for i := range configs {
		box := filepath.Join(work, fmt.Sprintf("serve%d", i))
		// Started as root, serve runs as [serve] user: it owns the
		// mailboxes and the spool.
		p := cfgFile(i, fmt.Sprintf("[serve]\nmailbox = %q\nuser = \"nobody\"\n", box+"/%d/%n/Maildir/"))
		if os.Geteuid() == 0 {
			check(os.MkdirAll(box, 0o755))
			check(os.Chown(box, 65534, 65534))
			check(os.Chown(filepath.Join(work, fmt.Sprintf("spool%d", i)), 65534, 65534))
		}
		sock := filepath.Join(work, fmt.Sprintf("s%d.lmtp", i))
		c := exec.Command(*bin, "serve", "-c", p, "--listen", "unix:"+sock)
		logf, err := os.Create(filepath.Join(work, fmt.Sprintf("serve%d.log", i)))
		check(err)
		c.Stderr = logf
		check(c.Start())
		srv = append(srv, server{c, sock, filepath.Join(box, "example.net", "bench", "Maildir", "new")})
	}
	for i, s := range srv {
		for t := 0; ; t++ {
			if _, err := os.Stat(s.sock); err == nil {
				break
			}
			if t > 1200 {
				fmt.Fprintf(os.Stderr, "serve (%s) does not listen\n", configs[i].name)
				os.Exit(1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	rate := make([][]float64, len(configs))
	per := make([][]float64, len(configs))
	for r := -1; r < *rounds; r++ { // round -1 warms up
		for i, s := range srv {
			count := func() int { e, _ := os.ReadDir(s.box); return len(e) }
			before := count()
			c0 := procCPU(s.cmd.Process.Pid)
			t0 := time.Now()
			out, err := exec.Command("smtp-source", "-L", "-s", "1", "-m", strconv.Itoa(*n), "-l", "4096",
				"-f", "bench@example.org", "-t", "bench@example.net", "unix:"+s.sock).CombinedOutput()
			d := time.Since(t0)
			c1 := procCPU(s.cmd.Process.Pid)
			if err != nil {
				fmt.Fprintf(os.Stderr, "smtp-source: %v\n%s", err, out)
				os.Exit(1)
			}
			if got := count() - before; got != *n {
				fmt.Fprintf(os.Stderr, "serve (%s): %d messages delivered, want %d\n", configs[i].name, got, *n)
				os.Exit(1)
			}
			if r >= 0 {
				rate[i] = append(rate[i], float64(*n)/d.Seconds())
				per[i] = append(per[i], (c1-c0).Seconds()*1e6/float64(*n))
			}
		}
	}
	fmt.Printf("\nserve, 4 KB messages (smtp-source -L, 1 session), %d per run, %d rounds, medians\n", *n, *rounds)
	fmt.Printf("%-12s %12s %10s %10s %10s %10s\n", "database", "cpu us/msg", "ratio", "msgs/s", "ratio", "RSS MB")
	for i, s := range srv {
		fmt.Printf("%-12s %12.0f %9.3fx %10.1f %9.3fx %10.1f\n", configs[i].name, benchlib.MedianFloat(per[i]), benchlib.MedianFloat(per[i])/benchlib.MedianFloat(per[0]),
			benchlib.MedianFloat(rate[i]), benchlib.MedianFloat(rate[i])/benchlib.MedianFloat(rate[0]), float64(rss(s.cmd.Process.Pid))/1024)
	}
	fmt.Println("(cpu us/msg: the server's user+system time; smtp-source's own is not counted)")
}

// genHDB writes n signatures of random content hashes and sizes; it
// returns the set of sizes used.
func genHDB(path string, n, maxSize int) map[int]bool {
	f, err := os.Create(path)
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewSource(13))
	sizes := map[int]bool{}
	var b [8]byte
	for i := range n {
		rng.Read(b[:])
		sz := 1 + rng.Intn(maxSize)
		sizes[sz] = true
		fmt.Fprintf(w, "%x:%d:Bench.Sig-%d\n", md5.Sum(b[:]), sz, i)
	}
	check(w.Flush())
	check(f.Close())
	return sizes
}

// procCPU is the user+system time of a process, from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err)
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// rss is a process's resident set, kB.
func rss(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			k, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return k
		}
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "hdbbench:", err)
		os.Exit(1)
	}
}
