package archive

import (
	"bytes"
	"crypto/sha256"
	"math/rand"
	"testing"
)

// BenchmarkLocate15MB runs Locate over 15 MB of random bytes (no archive:
// the whole cost of a miss, a tail read and a 4 MiB signature search);
// BenchmarkLocateReference hashes the same bytes with SHA-256, which
// unpack does for every part anyway: compare the two.
func BenchmarkLocate15MB(b *testing.B) {
	data := randomBytes(15 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if f, _, err := Locate(bytes.NewReader(data), int64(len(data))); f != "" || err != nil {
			b.Fatal(f, err)
		}
	}
}

func BenchmarkLocateReference(b *testing.B) {
	data := randomBytes(15 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sha256.Sum256(data)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	return b
}
