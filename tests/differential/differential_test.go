package differential

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// messages returns how many seeded messages TestDifferential runs: 5000,
// 200 with -short, or $SCANDELIVER_DIFF_N.
func messages(t testing.TB) int {
	if s := os.Getenv("SCANDELIVER_DIFF_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SCANDELIVER_DIFF_N=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 200
	}
	return 5000
}

// TestDifferential delivers the messages of seeds 1..N and reads every
// delivered copy with the four readers; see the package comment for the
// property and the known-leaks list.
func TestDifferential(t *testing.T) {
	e := newEnv(t)
	n := messages(t)
	var seeds []uint64
	for s := 1; s <= n; s++ {
		seeds = append(seeds, uint64(s))
	}
	if list := os.Getenv("SCANDELIVER_DIFF_SEEDS"); list != "" {
		// Only these seeds (to shrink or look at some): no list check
		// of the others, no vacuity guards.
		seeds = nil
		for _, f := range strings.Split(list, ",") {
			s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("SCANDELIVER_DIFF_SEEDS: %v", err)
			}
			seeds = append(seeds, s)
		}
	}
	rs := generated(seeds)
	e.run(t, rs, true)
	report(t, rs)

	reachable, deferred := 0, 0
	for _, r := range rs {
		if len(r.reach) > 0 {
			reachable++
		}
		if r.d.code == 75 {
			deferred++
		}
	}
	// Guards against a test that passes vacuously: the readers must get
	// the payload out of most originals, and the binary must deliver.
	if reachable < len(seeds)/2 {
		t.Errorf("readers obtain the payload from only %d of %d original messages: the generator or the readers are broken", reachable, len(seeds))
	}
	if deferred > len(seeds)/20 {
		t.Errorf("%d of %d messages deferred (exit 75): that is no answer for a user", deferred, len(seeds))
	}

	if os.Getenv("SCANDELIVER_DIFF_WRITE") != "" {
		if os.Getenv("SCANDELIVER_DIFF_SEEDS") != "" {
			t.Fatal("SCANDELIVER_DIFF_WRITE writes the list of seeds 1..N: not with SCANDELIVER_DIFF_SEEDS")
		}
		writeKnown(t, rs)
		return
	}
	news := compare(t, loadKnown(t), rs)
	if len(news) > 0 {
		t.Logf("reproduce one with SCANDELIVER_DIFF_SEED=ID go test -run 'TestOne' -v ./tests/differential;"+
			" shrink them into testdata/regress with SCANDELIVER_DIFF_SHRINK=%d", len(news))
	}
	if k := os.Getenv("SCANDELIVER_DIFF_SHRINK"); k != "" {
		max, _ := strconv.Atoi(k)
		shrinkAll(t, e, rs, max)
	}
}

// writeKnown rewrites the known-leaks list from this run's leaks (with
// SCANDELIVER_DIFF_WRITE=1: only after a change of the generator, which
// changes every message; say so in the commit). Entries of regression
// files are kept.
func writeKnown(t *testing.T, rs []*result) {
	known := loadKnown(t)
	var lines []string
	for _, k := range known {
		if strings.HasPrefix(k.id, "regress/") {
			lines = append(lines, k.id+" "+k.family+" "+k.reader)
		}
	}
	sort.Strings(lines)
	var seeded []string
	for _, r := range rs {
		for _, reader := range sortedKeys(r.leaks) {
			seeded = append(seeded, r.id+" "+r.family+" "+reader)
		}
	}
	text := knownHeader + fmt.Sprintf("# seeds 1..%d\n", len(rs)) + strings.Join(append(seeded, lines...), "\n") + "\n"
	if err := os.WriteFile(knownFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d seeded leaks, %d of regression files", knownFile, len(seeded), len(lines))
}

const knownHeader = `# Known leaks of the differential test: ID FAMILY READER.
# ID is a seed of TestDifferential or regress/FILE. A leak not listed here
# fails the test; so does a listed one that no longer leaks: remove its
# line. The list only shrinks. It is rewritten whole (SCANDELIVER_DIFF_WRITE=1)
# only when the generator changes, as that changes every message.
`

// TestOne prints one seeded message, what the binary did with it and what
// each reader obtains from the delivered copy (SCANDELIVER_DIFF_SEED).
func TestOne(t *testing.T) {
	s := os.Getenv("SCANDELIVER_DIFF_SEED")
	if s == "" {
		t.Skip("set SCANDELIVER_DIFF_SEED to look at one message")
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	rs := generated([]uint64{seed})
	e.run(t, rs, true)
	r := rs[0]
	t.Logf("seed %d kind %s family %s tricks %v\n%s", seed, r.m.kind, r.family, r.m.tricks, r.raw)
	t.Logf("exit %d action %s\noriginal: %v\ndelivered: %v", r.d.code, r.d.action, r.reach, r.leaks)
	for _, f := range r.d.delivered {
		b, _ := os.ReadFile(f)
		t.Logf("delivered copy %s:\n%s", f, b)
	}
}

// TestRegress runs every shrunk failure under testdata/regress: each one
// must leak through exactly the readers the known list names for it.
func TestRegress(t *testing.T) {
	files, err := filepath.Glob("testdata/regress/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no regression cases yet")
	}
	e := newEnv(t)
	var rs []*result
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		rs = append(rs, &result{id: "regress/" + base, family: strings.SplitN(base, "-", 2)[0], raw: raw})
	}
	e.run(t, rs, false)
	compare(t, loadKnown(t), rs)
}

// FuzzDifferential takes the seed. A seed within the list's range is held
// to the list exactly; any other seed fails on a leak unless the list
// holds a leak of the same family through the same reader (a kind of leak
// the project knows of and tracks): as the list shrinks, the fuzzer gets
// stricter.
func FuzzDifferential(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 4, 5} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		e := newEnv(t)
		known := loadKnown(t)
		rs := generated([]uint64{seed})
		e.run(t, rs, false)
		r := rs[0]
		if seed >= 1 && seed <= uint64(knownRange(known)) {
			compare(t, known, rs)
			return
		}
		kinds := map[string]bool{}
		for _, k := range known {
			kinds[k.family+" "+k.reader] = true
		}
		for reader, what := range r.leaks {
			if !kinds[r.family+" "+reader] {
				t.Errorf("NEW KIND OF LEAK: seed %d (family %s, tricks %v): %s obtains %s from the delivered copy\n%s",
					seed, r.family, r.m.tricks, reader, what, r.raw)
			}
		}
	})
}

// knownRange is the N of the "# seeds 1..N" line of the known list: seeds
// up to it were run when the list was written.
func knownRange(known map[string]knownLeak) int {
	b, err := os.ReadFile(knownFile)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "# seeds 1.."); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(rest))
			return n
		}
	}
	return 0
}
