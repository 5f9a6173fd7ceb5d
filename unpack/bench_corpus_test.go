package unpack

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// BenchmarkCorpus unpacks every message of the shared corpus once per
// iteration, as a delivery does (no hashes): the cost of real mail,
// where most messages have one reading. Compare it with the same
// benchmark on another revision; $UNPACK_BENCH_FILES names a subset.
func BenchmarkCorpus(b *testing.B) {
	var msgs [][]byte
	var total int64
	names := testenv.CorpusMessages(b)
	if list := os.Getenv("UNPACK_BENCH_FILES"); list != "" {
		// A subset, one file name a line (the well-formed messages, to
		// compare revisions on mail that has one reading).
		data, err := os.ReadFile(list)
		if err != nil {
			b.Fatal(err)
		}
		names = strings.Fields(string(data))
	}
	for _, name := range names {
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
