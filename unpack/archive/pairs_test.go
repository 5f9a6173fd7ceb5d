package archive

import (
	"math/rand"
	"testing"
)

// TestPairBytes checks pairBytes against signatures.
func TestPairBytes(t *testing.T) {
	for k, sig := range signatures {
		if pairBytes[k] != sig[0] || pairBytes[len(signatures)+k] != sig[1] {
			t.Errorf("pairBytes does not hold the first two bytes of %q", sig)
		}
	}
}

// naivePair is indexPair's definition, one place at a time.
func naivePair(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		for _, sig := range signatures {
			if b[i] == sig[0] && b[i+1] == sig[1] {
				return i
			}
		}
	}
	return -1
}

// TestIndexPair compares indexPair with naivePair on slices of every
// length up to 80 and every alignment of a 16-byte block, random or
// zero, with pairs and half pairs (a first byte alone, a second byte
// alone, a pair across the end) planted anywhere.
func TestIndexPair(t *testing.T) {
	for _, v := range pairVariants() {
		t.Run(v.name, func(t *testing.T) {
			defer v.use()()
			testIndexPair(t)
		})
	}
}

func testIndexPair(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	buf := make([]byte, 200)
	found := 0
	for it := 0; it < 200000; it++ {
		n := rnd.Intn(81)
		off := rnd.Intn(16)
		b := buf[off : off+n]
		if rnd.Intn(2) == 0 {
			rnd.Read(b)
		} else {
			clear(b)
		}
		for k := rnd.Intn(4); k > 0 && n > 0; k-- {
			sig := signatures[rnd.Intn(len(signatures))]
			at := rnd.Intn(n)
			switch rnd.Intn(4) {
			case 0:
				b[at] = sig[0]
			case 1:
				b[at] = sig[1]
			default:
				b[at] = sig[0]
				if at+1 < n {
					b[at+1] = sig[1]
				}
			}
		}
		want := naivePair(b)
		if got := indexPair(b); got != want {
			t.Fatalf("indexPair(%x) = %d, want %d", b, got, want)
		}
		if want >= 0 {
			found++
		}
	}
	if found < 50000 {
		t.Errorf("only %d slices held a pair: the test tries too little", found)
	}
}

func FuzzIndexPair(f *testing.F) {
	f.Add([]byte("0123456789abcdefRar!\x1a\x07"))
	f.Add([]byte("0123456789abcde\x60"))
	f.Add([]byte("0123456789abcdef\x60\xea"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range pairVariants() {
			restore := v.use()
			got, want := indexPair(b), naivePair(b)
			restore()
			if got != want {
				t.Fatalf("%s: indexPair = %d, want %d", v.name, got, want)
			}
		}
	})
}

// BenchmarkWatch writes 4 MiB of random bytes (no archive: the whole
// search Watch does for a well-formed attachment) to a Watch in 32 KiB
// writes; BenchmarkWatch/each is the same Watch searching each
// signature with bytes.Index (findEach: the way it was before indexPair,
// and still where there is no assembly version): compare the two.
func BenchmarkWatch(b *testing.B) {
	data := randomBytes(SearchLimit)
	b.Run("pairs", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var w Watch
			for p := 0; p < len(data); p += 32 << 10 {
				w.Write(data[p:min(len(data), p+32<<10)])
			}
		}
	})
	b.Run("each", func(b *testing.B) {
		old := usePairs
		usePairs = false
		defer func() { usePairs = old }()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var w Watch
			for p := 0; p < len(data); p += 32 << 10 {
				w.Write(data[p:min(len(data), p+32<<10)])
			}
		}
	})
}
