package html

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"
)

// newsletter builds about size bytes of mail-like HTML: tables, styled
// text, links (some phishing), images (some web bugs), a few scripts.
func newsletter(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html><html><head><meta charset=utf-8><style>td{font:12px sans-serif}</style></head><body>")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `<table width="600" cellpadding="0"><tr><td style="padding:4px;color:#333">
<h2>Item %d</h2><p>Lorem ipsum dolor sit amet, <b>consectetur</b> adipiscing elit &amp; more, sed do eiusmod tempor.</p>
<a href="https://shop.example.com/item/%d?utm_source=mail">https://shop.example.com/item/%d</a>
<img src="https://cdn.example.com/img/%d.jpg" width="300" height="200" alt="item">
</td><td><a href="https://click.example.net/r/%d" onclick="track(%d)">www.shop.example.com</a></td></tr></table>
`, i, i, i, i, i, i)
		if i%50 == 0 {
			fmt.Fprintf(&b, `<img src="https://t.example/open.gif?u=%d" width="1" height="1"><script>var x=%d;</script>`, i, i)
		}
	}
	b.WriteString("</body></html>")
	return b.Bytes()
}

// peakHeap runs f while sampling the heap every 200µs and returns the
// highest growth seen above the heap at the start (after a GC).
func peakHeap(f func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ls := []metrics.Sample{{Name: heapMetric}}
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Microsecond):
			}
			metrics.Read(ls)
			if v := ls[0].Value.Uint64(); v > base {
				mu.Lock()
				peak = max(peak, v-base)
				mu.Unlock()
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak
}

// BenchmarkDisarm2MB times Disarm on a 2 MB body beside a reference run
// of plain x/net/html Parse+Render of the same input, and reports the
// ratios (time, allocated bytes, peak heap).
func BenchmarkDisarm2MB(b *testing.B) {
	in := newsletter(2 << 20)
	ref := func() {
		doc, err := xhtml.Parse(bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		if err := xhtml.Render(io.Discard, doc); err != nil {
			b.Fatal(err)
		}
	}
	dis := func() {
		rep, err := Disarm(context.Background(), io.Discard, bytes.NewReader(in), Options{Timeout: time.Minute})
		if err != nil || !rep.Changed {
			b.Fatalf("Disarm: %v %+v", err, rep)
		}
	}
	var m0, m1 runtime.MemStats
	measure := func(f func()) (time.Duration, uint64) {
		runtime.ReadMemStats(&m0)
		start := time.Now()
		f()
		d := time.Since(start)
		runtime.ReadMemStats(&m1)
		return d, m1.TotalAlloc - m0.TotalAlloc
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	var tDis, tRef time.Duration
	var aDis, aRef uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		d, a := measure(ref)
		tRef += d
		aRef += a
		b.StartTimer()
		d, a = measure(dis)
		tDis += d
		aDis += a
	}
	b.StopTimer()
	pDis, pRef := peakHeap(dis), peakHeap(ref)
	n := float64(b.N)
	b.ReportMetric(float64(tRef.Nanoseconds())/n, "ref-ns/op")
	b.ReportMetric(float64(tDis)/float64(tRef), "time-x-ref")
	b.ReportMetric(float64(aDis)/float64(aRef), "alloc-x-ref")
	b.ReportMetric(float64(pDis)/(1<<20), "peak-MB")
	b.ReportMetric(float64(pRef)/(1<<20), "ref-peak-MB")
	b.Logf("%d bytes: disarm %v/op, reference %v/op (%.2fx); allocated %.1f MB vs %.1f MB; peak heap %.1f MB vs %.1f MB",
		len(in), tDis/time.Duration(b.N), tRef/time.Duration(b.N), float64(tDis)/float64(tRef),
		float64(aDis)/n/(1<<20), float64(aRef)/n/(1<<20), float64(pDis)/(1<<20), float64(pRef)/(1<<20))
}

// BenchmarkPathological times the pathological inputs of TestPathological.
func BenchmarkPathological(b *testing.B) {
	for _, c := range pathological() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				_, _ = Disarm(context.Background(), io.Discard, bytes.NewReader(c.in), Options{Timeout: time.Minute})
			}
		})
	}
}
