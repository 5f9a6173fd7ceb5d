package unpack

import (
	"io"
	"math/rand"
	"strings"
	"testing"
)

// TestBoundaryWatchSplits: a boundary is found wherever the writes cut the
// stream, including across two or more writes.
func TestBoundaryWatchSplits(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	bounds := [][]byte{[]byte("--outer-boundary"), []byte("--in")}
	for i := 0; i < 2000; i++ {
		pre := strings.Repeat("QUJD", rng.Intn(50))
		b := bounds[rng.Intn(2)]
		stream := pre + string(b) + strings.Repeat("REVG", rng.Intn(20))
		w := &boundaryWatch{w: io.Discard, bounds: bounds}
		for rest := stream; len(rest) > 0; {
			n := 1 + rng.Intn(min(len(rest), 9))
			w.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		if w.found != string(b[2:]) {
			t.Fatalf("boundary %q in %q not found (found %q)", b, stream, w.found)
		}
		clean := &boundaryWatch{w: io.Discard, bounds: bounds}
		clean.Write([]byte(pre + "-" + "-i" + "n"[:0] + "x"))
		if clean.found != "" {
			t.Fatalf("found %q in a stream without it", clean.found)
		}
	}
}
