package archive

import (
	"flag"
	"testing"
)

// TestMain bounds the minimization of each new corpus entry while
// fuzzing, unless -fuzzminimizetime is given. Go's default (60s per
// entry, quadratic in the entry's length) spends a whole short CI run
// (tests/run.sh: 10s a target) minimizing the first interesting input:
// "execs: 6 (0/sec), new interesting: 0". 100 calls still cut the tail.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", "100x"); err != nil {
			panic(err)
		}
	}
	m.Run()
}
