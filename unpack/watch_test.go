package unpack

import (
	"math/rand"
	"testing"
)

// TestInnerWatch writes content with MIME field lines planted at random
// offsets (at 0, across write boundaries, around innerMax, in any case,
// after a "\n" or not) in random pieces to an innerWatch: it must see one
// exactly where a line that starts within innerMax begins with
// "Content-", "content-" or "CONTENT-", and so whenever innerHeaderAt
// finds a field in the bytes innerEntity reads.
func TestInnerWatch(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	names := []string{"Content-Type: a/b\n", "content-transfer-encoding: x\n", "CONTENT-TYPE :y\n", "cONTENT-Type:z\n", "CoNTENT-Type: q\n", "Content-", "ontent-Type: w\n"}
	sizes := []int{1, 9, 100, 70 << 10, innerMax - 5, innerMax + 30}
	for it := 0; it < 600; it++ {
		size := sizes[rnd.Intn(len(sizes))]
		data := make([]byte, size)
		switch rnd.Intn(3) {
		case 0:
			rnd.Read(data)
		case 1:
			for i := range data {
				data[i] = "ab-\nCcontent-"[rnd.Intn(13)]
			}
		}
		for k := rnd.Intn(3); k > 0; k-- {
			f := names[rnd.Intn(len(names))]
			if rnd.Intn(2) == 0 {
				f = "\n" + f
			}
			var at int
			switch rnd.Intn(4) {
			case 0:
				at = 0
			case 1:
				at = innerMax - rnd.Intn(12)
			default:
				at = rnd.Intn(size)
			}
			if at+len(f) <= size {
				copy(data[at:], f)
			}
		}
		want := false
		for c := 0; c < min(size, innerMax); c++ {
			if c > 0 && data[c-1] != '\n' || c+8 > size {
				continue
			}
			n := data[c : c+8]
			if (n[0] == 'C' || n[0] == 'c') && (string(n[1:]) == "ontent-" || string(n[1:]) == "ONTENT-") {
				want = true
			}
		}
		var w innerWatch
		for rest := data; len(rest) > 0; {
			n := 1 + rnd.Intn(min(len(rest), []int{3, 9, 4096, 1 << 20}[rnd.Intn(4)]))
			w.Write(rest[:n])
			rest = rest[n:]
		}
		if w.seen != want {
			t.Fatalf("size %d: innerWatch saw a field %v, want %v", size, w.seen, want)
		}
		if innerHeaderAt(data[:min(size, innerMax)]) >= 0 && !w.maybe(int64(size)) {
			t.Fatalf("size %d: innerHeaderAt finds a field the watch did not see", size)
		}
		if w.maybe(int64(size)+1) != true {
			t.Fatal("a watch that did not see the whole content must not rule it out")
		}
	}
}
