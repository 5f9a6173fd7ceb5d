package differential

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Shrinking (SCANDELIVER_DIFF_SHRINK=K after TestDifferential): up to K
// leaking messages, one per (tricks, reader), are made smaller while the
// binary still does the same with it (delivered as is, sanitized,
// withheld) and the same reader still obtains the same kind of thing
// (EICAR, or a banned name) from the delivered copy: first whole tricks are dropped (the
// message is generated again without them), then lines. Each result goes
// to testdata/regress/FAMILY-DESCRIPTION.eml with its leaks added to the
// known list, and, when $SCANDELIVER_FINDINGS names a directory, there too
// with a one-line .txt saying what leaked through which reader.

// leakKind is what a leak is, without the name itself: "eicar" or "name".
func leakKind(what string) string {
	k, _, _ := strings.Cut(what, ":")
	return k
}

// still reports, for each candidate, whether reader still obtains a thing
// of kind from its delivered copy, the binary having done the same
// (action: delivered, sanitized, withheld) with it. Candidates are run as
// one batch.
func (e *env) still(t testing.TB, cands [][]byte, reader, kind, action string) []bool {
	t.Helper()
	var rs []*result
	for i, c := range cands {
		rs = append(rs, &result{id: fmt.Sprintf("shrink-%d", i), raw: c})
	}
	e.runs(t, rs, false, false)
	out := make([]bool, len(rs))
	for i, r := range rs {
		out[i] = leakKind(r.leaks[reader]) == kind && r.d.action == action
	}
	return out
}

// splitLines splits after "\n", and after a "\r" that no "\n" follows.
func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(b); i++ {
		if b[i] == '\n' || (b[i] == '\r' && (i+1 == len(b) || b[i+1] != '\n')) {
			out = append(out, b[start:i+1])
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

func without(lines [][]byte, from, to int) []byte {
	var b bytes.Buffer
	for i, l := range lines {
		if i < from || i >= to {
			b.Write(l)
		}
	}
	return b.Bytes()
}

// shrinkTricks drops tricks while the leak stays.
func (e *env) shrinkTricks(t testing.TB, seed uint64, family string, tricks []string, reader, kind, action string) []string {
	for len(tricks) > 0 {
		var cands [][]byte
		var lists [][]string
		for i := range tricks {
			l := append(append([]string(nil), tricks[:i]...), tricks[i+1:]...)
			lists = append(lists, l)
			cands = append(cands, generateWith(seed, family, l).render())
		}
		ok := e.still(t, cands, reader, kind, action)
		i := indexTrue(ok)
		if i < 0 {
			break
		}
		tricks = lists[i]
	}
	return tricks
}

// generateWith is generate with exactly these tricks, keeping family.
func generateWith(seed uint64, family string, tricks []string) *msg {
	m := generate(seed, append([]string{}, tricks...))
	m.family = family
	return m
}

func indexTrue(b []bool) int {
	for i, v := range b {
		if v {
			return i
		}
	}
	return -1
}

// shrinkLines drops runs of lines, halving the run length, while the leak
// stays.
func (e *env) shrinkLines(t testing.TB, raw []byte, reader, kind, action string) []byte {
	lines := splitLines(raw)
	for k := max(1, len(lines)/2); k >= 1; k /= 2 {
		for {
			var cands [][]byte
			var at []int
			for i := 0; i < len(lines); i += k {
				cands = append(cands, without(lines, i, i+k))
				at = append(at, i)
			}
			ok := e.still(t, cands, reader, kind, action)
			first := indexTrue(ok)
			if first < 0 {
				break
			}
			// Try every run that could go on its own, all at once.
			drop := map[int]bool{}
			for j, v := range ok {
				if v {
					for i := at[j]; i < at[j]+k && i < len(lines); i++ {
						drop[i] = true
					}
				}
			}
			var all bytes.Buffer
			for i, l := range lines {
				if !drop[i] {
					all.Write(l)
				}
			}
			if n := len(drop); n > k && e.still(t, [][]byte{all.Bytes()}, reader, kind, action)[0] {
				lines = splitLines(all.Bytes())
			} else {
				lines = splitLines(cands[first])
			}
			if len(lines) <= 1 {
				break
			}
		}
	}
	return bytes.Join(lines, nil)
}

func shrinkAll(t *testing.T, e *env, rs []*result, limit int) {
	findings := os.Getenv("SCANDELIVER_FINDINGS")
	type job struct {
		r            *result
		reader, kind string
		tricks       []string
		shrunk       []byte
		file         string
	}
	// In seed order: first one message per trick among the messages of
	// one trick, then messages of several tricks where one of them has no
	// message yet, then one per (tricks, payload kind), so that the budget
	// covers as many kinds of leak as it can. Regression files that exist
	// already are not made again.
	seen, covered := map[string]bool{}, map[string]bool{}
	var jobs []*job
	for pass := 0; pass < 3; pass++ {
		for _, r := range rs {
			if len(r.leaks) == 0 || (pass == 0 && len(r.m.tricks) != 1) || (pass == 1 && len(r.m.tricks) < 2) {
				continue
			}
			key := strings.Join(r.m.tricks, "+") + " " + r.m.kind
			fresh := false
			for _, n := range r.m.tricks {
				fresh = fresh || !covered[n]
			}
			if seen[key] || (pass < 2 && !fresh) {
				continue
			}
			seen[key] = true
			for _, n := range r.m.tricks {
				covered[n] = true
			}
			reader := sortedKeys(r.leaks)[0]
			jobs = append(jobs, &job{r: r, reader: reader, kind: leakKind(r.leaks[reader])})
		}
	}
	if len(jobs) > limit {
		jobs = jobs[:limit]
	}
	done := map[string]bool{}
	var knownLines []string
	for _, j := range jobs {
		j.tricks = e.shrinkTricks(t, j.r.m.seed, j.r.family, j.r.m.tricks, j.reader, j.kind, j.r.d.action)
		desc := strings.Join(j.tricks, "+")
		if desc == "" {
			desc = "none"
		}
		// The file is named after the family of the first trick left
		// (TestRegress takes the family from the name).
		family := j.r.family
		if len(j.tricks) > 0 {
			family = trickByName[j.tricks[0]].family
		}
		j.file = family + "-" + strings.TrimPrefix(desc, family+"-") + "-" + j.r.m.kind
		if j.r.d.action != "delivered" {
			// Sanitized or withheld, and still leaking: another kind of
			// failure than a message delivered as it came.
			j.file += "-" + j.r.d.action
		}
		if done[j.file] {
			continue
		}
		done[j.file] = true
		raw := generateWith(j.r.m.seed, j.r.family, j.tricks).render()
		j.shrunk = e.shrinkLines(t, raw, j.reader, j.kind, j.r.d.action)
		// A name taken by an earlier case (which may be fixed by now, or
		// leak another way) gets a number; the same bytes are not kept
		// twice.
		same := false
		for n := 1; ; n++ {
			name := j.file
			if n > 1 {
				name = fmt.Sprintf("%s-%d", j.file, n)
			}
			old, err := os.ReadFile(filepath.Join("testdata/regress", name+".eml"))
			if err != nil {
				j.file = name
				break
			}
			if bytes.Equal(old, j.shrunk) {
				same = true
				break
			}
		}
		if same {
			continue
		}
		// What leaks from the shrunk message, through every reader.
		probe := []*result{{id: "probe", raw: j.shrunk}}
		e.run(t, probe, false)
		var what []string
		for _, reader := range sortedKeys(probe[0].leaks) {
			knownLines = append(knownLines, "regress/"+j.file+".eml "+family+" "+reader)
			what = append(what, reader+" ("+probe[0].leaks[reader]+")")
		}
		if len(what) == 0 {
			t.Logf("%s: shrunk message no longer leaks (flaky?), dropped", j.file)
			continue
		}
		line := fmt.Sprintf("%s: %s obtained from the delivered copy through %s (binary: exit %d, %s); seed %d, tricks %s, payload %s (SCANDELIVER_DIFF_SEED=%[6]d go test -run TestOne -v ./tests/differential shows the whole message)\n",
			j.file, map[string]string{"eicar": "EICAR", "name": "a banned file name"}[j.kind], strings.Join(what, ", "),
			probe[0].d.code, probe[0].d.action, j.r.m.seed, desc, j.r.m.kind)
		if err := os.WriteFile(filepath.Join("testdata/regress", j.file+".eml"), j.shrunk, 0o644); err != nil {
			t.Fatal(err)
		}
		if findings != "" {
			os.WriteFile(filepath.Join(findings, j.file+".eml"), j.shrunk, 0o644)
			os.WriteFile(filepath.Join(findings, j.file+".txt"), []byte(line), 0o644)
		}
		t.Logf("shrunk %d -> %d bytes: %s", len(j.r.raw), len(j.shrunk), line)
	}
	if len(knownLines) > 0 {
		sort.Strings(knownLines)
		f, err := os.OpenFile(knownFile, os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString(strings.Join(knownLines, "\n") + "\n")
	}
}
