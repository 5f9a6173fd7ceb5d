package archive

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// TestWatch writes content to a Watch in random pieces: random bytes or
// zeros, with signatures planted at random offsets (at 0, across write
// boundaries, around SearchLimit), whole archives with bytes in front
// (rar, 7z, an arj header, a cab header), and more false starts than
// Locate checks. The Watch must keep exactly the places where a signature
// starts in [1, SearchLimit) (the first maxCandidates+1 of each), and
// LocateWatched must give what Locate's search gives.
func TestWatch(t *testing.T) {
	for _, pairs := range []bool{true, false} {
		if pairs && !pairScan {
			continue
		}
		t.Run(map[bool]string{true: "pairs", false: "each"}[pairs], func(t *testing.T) {
			old := usePairs
			usePairs = pairs
			defer func() { usePairs = old }()
			testWatch(t)
		})
	}
}

func testWatch(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	var samples [][]byte
	for _, n := range []string{"test_read_format_rar5_stored.rar", "test_read_format_rar.rar", "copy.7z", "test_read_format_7zip_lzma2.7z"} {
		b, err := os.ReadFile(filepath.Join("testdata", "samples", n))
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, b)
	}
	arj := make([]byte, 4+40+4)
	arj[0], arj[1] = 0x60, 0xea
	binary.LittleEndian.PutUint16(arj[2:], 40)
	rnd.Read(arj[4:44])
	binary.LittleEndian.PutUint32(arj[44:], crc32.ChecksumIEEE(arj[4:44]))
	cab := append([]byte("MSCF\x00\x00\x00\x00\x40\x00\x00\x00"), make([]byte, 60)...)
	samples = append(samples, arj, cab)
	sizes := []int{22, 100, 4 << 10, 300 << 10, SearchLimit - 3, SearchLimit + 20}
	found, limited := 0, 0
	for it := 0; it < 300; it++ {
		size := sizes[rnd.Intn(len(sizes))]
		if rnd.Intn(3) == 0 {
			size = 22 + rnd.Intn(600<<10)
		}
		data := make([]byte, size)
		if rnd.Intn(3) > 0 {
			rnd.Read(data) // else zeros
		}
		for k := rnd.Intn(4); k > 0; k-- {
			var plant []byte
			switch rnd.Intn(3) {
			case 0:
				plant = signatures[rnd.Intn(len(signatures))]
			case 1:
				plant = samples[rnd.Intn(len(samples))]
			case 2:
				plant = bytes.Repeat(signatures[rnd.Intn(len(signatures))], 300+rnd.Intn(900))
			}
			var at int
			switch rnd.Intn(5) {
			case 0:
				at = 0
			case 1:
				at = SearchLimit - len(plant)/2 - rnd.Intn(3)
			case 2:
				at = size - len(plant) + rnd.Intn(2)
			default:
				at = rnd.Intn(size)
			}
			if at >= 0 && at+len(plant) <= size {
				copy(data[at:], plant)
			}
		}
		var want [len(signatures)][]int64
		for k, sig := range signatures {
			for p := 1; p < min(size, SearchLimit) && p+len(sig) <= size && len(want[k]) <= maxCandidates; p++ {
				if data[p] == sig[0] && bytes.Equal(data[p:p+len(sig)], sig) {
					want[k] = append(want[k], int64(p))
				}
			}
		}
		var w Watch
		for rest := data; len(rest) > 0; {
			n := 1 + rnd.Intn(min(len(rest), []int{3, 9, 4096, 1 << 20}[rnd.Intn(4)]))
			w.Write(rest[:n])
			rest = rest[n:]
		}
		for k := range signatures {
			if !equalOffsets(w.cands[k], want[k]) {
				t.Fatalf("size %d: Watch kept %d places of %q, want %d", size, len(w.cands[k]), signatures[k], len(want[k]))
			}
		}
		f1, o1, e1 := search(bytes.NewReader(data), int64(size))
		f2, o2, e2 := w.locate(bytes.NewReader(data), int64(size))
		if f1 != "" {
			found++
		}
		if e1 != nil {
			limited++
		}
		if f1 != f2 || o1 != o2 || (e1 == nil) != (e2 == nil) {
			t.Fatalf("size %d: search %q %d %v, Watch %q %d %v", size, f1, o1, e1, f2, o2, e2)
		}
	}
	if found < 20 || limited < 5 {
		t.Errorf("only %d archives found and %d limits reached: the test tries too little", found, limited)
	}
	t.Logf("%d archives found, %d limits", found, limited)
}

func equalOffsets(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
