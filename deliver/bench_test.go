package deliver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDeliver times deliveries of 4 KB to 2 MB messages and reports,
// as "x-ref", their ratio to a reference run in the same loop: writing
// the same bytes to a new file and fsyncing it, the least any durable
// delivery must do.
func BenchmarkDeliver(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10, 2 << 20} {
		msg := bigMessage(size)
		for _, kind := range []Kind{Maildir, Mbox} {
			b.Run(fmt.Sprintf("%v/%dKB", kind, size>>10), func(b *testing.B) {
				dir := b.TempDir()
				d := Dest{Path: filepath.Join(dir, "box"), Kind: kind}
				var ours, ref time.Duration
				for i := 0; b.Loop(); i++ {
					if kind == Mbox && i%50 == 0 {
						os.Remove(d.Path) // keep the mbox small
					}
					t0 := time.Now()
					if _, err := deliverBytes(context.Background(), d, msg, Options{}); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					f, err := os.Create(filepath.Join(dir, "ref"))
					if err != nil {
						b.Fatal(err)
					}
					f.Write([]byte(testPrefix))
					f.Write(msg)
					f.Sync()
					f.Close()
					ref += time.Since(t1)
					ours += t1.Sub(t0)
				}
				b.ReportMetric(float64(ours)/float64(ref), "x-ref")
			})
		}
	}
}
