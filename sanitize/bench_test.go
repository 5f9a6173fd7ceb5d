package sanitize

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/rules"
)

// bigMessage builds a message with a large base64 attachment (kept) and
// a small one (denied).
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n")
	b.WriteString("--B\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5, 0x5A, 0x33}, 19)) // 76 chars
	for b.Len() < size {
		b.WriteString(line + "\r\n")
	}
	b.WriteString("--B\r\nContent-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AAA==\r\n--B--\r\n")
	return b.Bytes()
}

// BenchmarkRewrite20MB replaces the small part of a 20 MB message and
// reports, against a plain io.Copy of the same bytes in the same run, the
// time ratio and the bytes allocated per rewrite (they do not grow with
// the message: everything streams).
func BenchmarkRewrite20MB(b *testing.B) {
	raw := bigMessage(20 << 20)
	m := mustUnpack(b, raw)
	var v rules.Verdict
	for _, p := range m.Parts {
		if p.Name == "x.exe" {
			v.Parts = append(v.Parts, rules.Decision{Part: p.Path, Name: p.Name, Action: rules.Deny})
		}
	}
	if len(v.Parts) != 1 {
		b.Fatal("no part to deny")
	}
	opt := Options{SubjectTags: []string{"{Virus?}"}, Headers: []string{"X-Scandeliver-Status: infected"}}
	t0 := time.Now()
	for range 3 {
		io.Copy(io.Discard, io.NewSectionReader(bytes.NewReader(raw), 0, int64(len(raw))))
	}
	ref := time.Since(t0) / 3

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		res, err := Rewrite(context.Background(), io.Discard, bytes.NewReader(raw), int64(len(raw)), m, v, opt, testRepl)
		if err != nil || len(res.Replaced) != 1 {
			b.Fatal(err, res)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	per := time.Duration(b.Elapsed().Nanoseconds() / int64(b.N))
	b.ReportMetric(float64(per)/float64(ref), "x-io.Copy")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "alloc-B/op")
	b.ReportMetric(float64(len(raw)), "msg-B")
}
