package differential

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

var bin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithBinary(m, &bin, nil)) }

// env is a private setup for the binary: a config with the default policy
// and the builtin engine alone, a quarantine and spool of its own, and a
// sendmail that swallows the postmaster's notices.
type env struct {
	dir, cfg string
	readers  string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	readers := filepath.Join(testenv.Shared(t), "readers", "readers.py")
	if _, err := os.Stat(readers); err != nil {
		testenv.Missing(t, "readers.py not found: "+readers)
	}
	for _, tool := range []string{"python3", "ripmime", "munpack"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" is not installed (Debian packages python3, ripmime, mpack; tests/run.sh installs them)")
		}
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"spool", "quarantine", "m"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "scandeliver.toml")
	text := fmt.Sprintf("[log]\nsyslog = false\n[quarantine]\ndir = %q\n[spool]\ndir = %q\n[notify]\nsendmail = [\"/bin/sh\", \"-c\", \"cat >/dev/null\"]\n",
		filepath.Join(dir, "quarantine"), filepath.Join(dir, "spool"))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return &env{dir: dir, cfg: cfg, readers: readers}
}

var actionRE = regexp.MustCompile(`action=(\S+)`)

// delivery is what the binary did with one message.
type delivery struct {
	code      int
	action    string
	stderr    string
	delivered []string // the files it wrote into its Maildir (new, cur, folders)
}

// deliver runs the binary on raw with a Maildir of its own (key names it).
func (e *env) deliver(t testing.TB, key string, raw []byte) delivery {
	t.Helper()
	md := filepath.Join(e.dir, "m", key)
	os.RemoveAll(md)
	cmd := exec.Command(bin, "-c", e.cfg, "--to", md+"/")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + e.dir, "USER=u", "SENDER=s@example.org", "RECIPIENT=r@example.net"}
	cmd.Stdin = bytes.NewReader(raw)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	d := delivery{stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		d.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	if a := actionRE.FindStringSubmatch(d.stderr); a != nil {
		d.action = a[1]
	}
	filepath.WalkDir(md, func(p string, de fs.DirEntry, err error) error {
		if err == nil && de.Type().IsRegular() {
			if b := filepath.Base(filepath.Dir(p)); b == "new" || b == "cur" {
				d.delivered = append(d.delivered, p)
			}
		}
		return nil
	})
	sort.Strings(d.delivered)
	return d
}

// item is one thing a reader extracted (readers.py --json).
type item struct {
	Reader string  `json:"reader"`
	Where  string  `json:"where"`
	Name   *string `json:"name"`
	Eicar  bool    `json:"eicar"`
	SHA256 string  `json:"sha256"`
	Error  string  `json:"error"`
}

// read runs readers.py on files, in batches, two at a time.
func (e *env) read(t testing.TB, files []string) map[string][]item {
	t.Helper()
	const batch = 100
	out := map[string][]item{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	var firstErr error
	for i := 0; i < len(files); i += batch {
		chunk := files[i:min(i+batch, len(files))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cmd := exec.Command("python3", append([]string{e.readers, "--json"}, chunk...)...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			b, err := cmd.Output()
			var res map[string][]item
			if err == nil {
				err = json.Unmarshal(b, &res)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("readers.py: %v: %s", err, errb.String())
				}
				return
			}
			for k, v := range res {
				out[k] = v
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return out
}

const workers = 2

// bannedRules are the shipped filename rules that say "this runs code":
// a reader that gives the user a file with such a name has leaked it. The
// other deny rules (control characters, long names) are left out: readers
// mangle harmless names into those on their own.
var bannedRules = map[string]bool{
	"Executable or script file name":     true,
	"Hidden double extension":            true,
	"Trailing dot or space in file name": true,
}

// banned reports whether the binary's default policy denies name as a
// program's name.
func banned(name string) bool {
	r, _, err := rules.MatchFilename(rules.Defaults().FilenameRules, name)
	return err == nil && r.Action == rules.Deny && bannedRules[r.Log]
}

// leaks returns, per reader, what it obtained that must not reach a user:
// "eicar" or "name:NAME". Errors of a reader are failures of the harness.
func leaks(t testing.TB, items []item) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, it := range items {
		if it.Error != "" {
			t.Fatalf("reader %s failed: %s", it.Reader, it.Error)
		}
		what := ""
		if it.Eicar {
			what = "eicar"
		} else if it.Name != nil && banned(*it.Name) {
			what = "name:" + *it.Name
		}
		if what != "" && out[it.Reader] == "" {
			out[it.Reader] = what
		}
	}
	return out
}

// knownLeak is one line of testdata/known-leaks.txt: id (a seed, or
// "regress/FILE"), the family, the reader.
type knownLeak struct{ id, family, reader string }

const knownFile = "testdata/known-leaks.txt"

func loadKnown(t testing.TB) map[string]knownLeak {
	t.Helper()
	f, err := os.Open(knownFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]knownLeak{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 3 {
			t.Fatalf("%s:%d: want \"ID FAMILY READER\": %q", knownFile, n, line)
		}
		k := knownLeak{fs[0], fs[1], fs[2]}
		out[k.id+" "+k.reader] = k
	}
	return out
}

// result is one message through the binary and the readers.
type result struct {
	id       string
	m        *msg // nil for a regression file
	family   string
	raw      []byte
	d        delivery
	leaks    map[string]string // reader -> what, in the delivered copy
	reach    map[string]string // reader -> what, in the original
	hasReach bool
}

// run delivers every message and reads the delivered copies (and, with
// original, the messages themselves).
func (e *env) run(t testing.TB, rs []*result, original bool) { e.runs(t, rs, original, true) }

// runs is run; with strict false, an exit other than 0 and 75 counts as no
// leak instead of failing (shrinking makes such messages).
func (e *env) runs(t testing.TB, rs []*result, original, strict bool) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan *result)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				r.d = e.deliver(t, strings.ReplaceAll(r.id, "/", "_"), r.raw)
			}
		}()
	}
	for _, r := range rs {
		next <- r
	}
	close(next)
	wg.Wait()
	var files []string
	origs := map[*result]string{}
	for _, r := range rs {
		if r.d.code != 0 && r.d.code != 75 {
			if !strict {
				continue
			}
			t.Fatalf("%s: exit %d: %s", r.id, r.d.code, r.d.stderr)
		}
		if r.d.code == 0 && len(r.d.delivered) == 0 && r.d.action != "dropped" {
			t.Fatalf("%s: exit 0 (%s) but nothing in the Maildir: %s", r.id, r.d.action, r.d.stderr)
		}
		if r.d.code == 75 && len(r.d.delivered) != 0 {
			t.Fatalf("%s: exit 75 but delivered %v", r.id, r.d.delivered)
		}
		files = append(files, r.d.delivered...)
		if original {
			p := filepath.Join(e.dir, "m", strings.ReplaceAll(r.id, "/", "_")+".eml")
			if err := os.WriteFile(p, r.raw, 0o644); err != nil {
				t.Fatal(err)
			}
			origs[r] = p
			files = append(files, p)
		}
	}
	got := e.read(t, files)
	for _, r := range rs {
		var items []item
		for _, f := range r.d.delivered {
			items = append(items, got[f]...)
		}
		r.leaks = leaks(t, items)
		if p, ok := origs[r]; ok {
			r.reach, r.hasReach = leaks(t, got[p]), true
		}
	}
}

func generated(seeds []uint64) []*result {
	var rs []*result
	for _, s := range seeds {
		m := generate(s, nil)
		rs = append(rs, &result{id: strconv.FormatUint(s, 10), m: m, family: m.family, raw: m.render()})
	}
	return rs
}

// compare checks the leaks of rs against the known list: a leak not in the
// list fails, and so does a listed leak (of a message that ran) that is
// gone. It returns the messages to report.
func compare(t testing.TB, known map[string]knownLeak, rs []*result) (news []string) {
	t.Helper()
	ran := map[string]bool{}
	for _, r := range rs {
		ran[r.id] = true
		for reader, what := range r.leaks {
			k, ok := known[r.id+" "+reader]
			if !ok {
				news = append(news, fmt.Sprintf("%s %s %s", r.id, r.family, reader))
				t.Errorf("NEW LEAK: message %s (family %s, tricks %v, exit %d, %s): %s obtains %s from the delivered copy",
					r.id, r.family, tricksOf(r), r.d.code, r.d.action, reader, what)
			} else if k.family != r.family {
				t.Errorf("%s: known leak listed with family %s, the message's family is %s", knownFile, k.family, r.family)
			}
		}
	}
	var gone []string
	for _, k := range known {
		if !ran[k.id] {
			continue
		}
		for _, r := range rs {
			if r.id == k.id && r.leaks[k.reader] == "" {
				gone = append(gone, k.id+" "+k.family+" "+k.reader)
			}
		}
	}
	sort.Strings(gone)
	if os.Getenv("SCANDELIVER_DIFF_PRUNE") != "" && len(gone) > 0 {
		prune(t, gone)
		return news
	}
	for _, g := range gone {
		t.Errorf("FIXED: %q no longer leaks: remove it from %s (the list only shrinks; SCANDELIVER_DIFF_PRUNE=1 does it)", g, knownFile)
	}
	return news
}

// prune removes the lines of gone (leaks fixed) from the known list.
func prune(t testing.TB, gone []string) {
	t.Helper()
	b, err := os.ReadFile(knownFile)
	if err != nil {
		t.Fatal(err)
	}
	drop := map[string]bool{}
	for _, g := range gone {
		drop[g] = true
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if !drop[strings.Join(strings.Fields(l), " ")] {
			keep = append(keep, l)
		}
	}
	if err := os.WriteFile(knownFile, []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("removed %d fixed leaks from %s", len(gone), knownFile)
}

func tricksOf(r *result) []string {
	if r.m == nil {
		return nil
	}
	return r.m.tricks
}

// stats are per family (or per trick): messages, deferred, messages whose
// payload some reader obtains from the original (reachable), and leaks
// (some reader obtains it from the delivered copy).
type stats struct{ n, deferred, reachable, leaked int }

func report(t testing.TB, rs []*result) {
	t.Helper()
	fam, tr, rd := map[string]*stats{}, map[string]*stats{}, map[string]*stats{}
	add := func(m map[string]*stats, k string, r *result) {
		s := m[k]
		if s == nil {
			s = &stats{}
			m[k] = s
		}
		s.n++
		if r.d.code == 75 {
			s.deferred++
		}
		if len(r.reach) > 0 {
			s.reachable++
		}
		if len(r.leaks) > 0 {
			s.leaked++
		}
	}
	total := &stats{}
	for _, r := range rs {
		add(fam, r.family, r)
		add(map[string]*stats{"": total}, "", r)
		for _, n := range tricksOf(r) {
			add(tr, n, r)
		}
		for reader := range r.leaks {
			s := rd[reader]
			if s == nil {
				s = &stats{}
				rd[reader] = s
			}
			s.leaked++
		}
	}
	var b strings.Builder
	line := func(k string, s *stats) {
		fmt.Fprintf(&b, "  %-34s %5d messages  leaked %5d (%.2f of all, %.2f of reachable %d)  deferred %d\n",
			k, s.n, s.leaked, ratio(s.leaked, s.n), ratio(s.leaked, s.reachable), s.reachable, s.deferred)
	}
	b.WriteString("leak rate per family (leaked: some reader obtains the payload from the delivered copy;\n" +
		"reachable: some reader obtains it from the original):\n")
	for _, k := range sortedKeys(fam) {
		line(k, fam[k])
	}
	line("all", total)
	b.WriteString("per trick (a message counts for each of its tricks):\n")
	for _, k := range sortedKeys(tr) {
		line(k, tr[k])
	}
	b.WriteString("leaks per reader:")
	for _, k := range sortedKeys(rd) {
		fmt.Fprintf(&b, " %s %d", k, rd[k].leaked)
	}
	t.Log(b.String())
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
