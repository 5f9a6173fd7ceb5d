package unpack

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// BenchmarkCorpus unpacks every message of the shared corpus once per
// iteration, as a delivery does (no hashes): the cost of real mail,
// where most messages have one reading. Compare it with the same
// benchmark on another revision (tests/bench-readings.sh).
func BenchmarkCorpus(b *testing.B) {
	var msgs [][]byte
	var total int64
	for _, name := range testenv.CorpusMessages(b) {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, data)
		total += int64(len(data))
	}
	dir := b.TempDir()
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, data := range msgs {
			m, err := Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), Options{TempDir: dir, NoHashes: true})
			if err != nil {
				b.Fatal(err)
			}
			m.Close()
		}
	}
}
