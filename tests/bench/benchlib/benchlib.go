// Package benchlib holds what the benchmark commands under tests/bench
// share: the bench messages and size flags of the delivery benchmarks
// (ldabench, verdictbench), so that both measure the same mail, and
// medians.
package benchlib

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"time"
)

// Message builds a message of about n bytes: a text body, and above
// 8 KB a base64 attachment of random bytes (what large mail is).
func Message(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Alice <a@example.org>\nTo: Bob <b@example.org>\nSubject: bench\n" +
		"Message-ID: <bench@example.org>\nMIME-Version: 1.0\n")
	if n <= 8<<10 {
		b.WriteString("Content-Type: text/plain\n\n")
		for b.Len() < n {
			b.WriteString("The quick brown fox jumps over the lazy dog. From here on it is text.\n")
		}
		return b.Bytes()
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nSee attachment.\n" +
		"--b\nContent-Type: application/octet-stream; name=\"data.bin\"\nContent-Transfer-Encoding: base64\n\n")
	raw := make([]byte, (n-b.Len())*3/4)
	rand.New(rand.NewSource(1)).Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n--b--\n")
	return b.Bytes()
}

// ParseSize reads a size such as "4KB" or "20MB" (a bare number is bytes).
func ParseSize(s string) int {
	var n int
	var u string
	fmt.Sscanf(s, "%d%s", &n, &u)
	switch strings.ToUpper(u) {
	case "KB":
		n <<= 10
	case "MB":
		n <<= 20
	}
	return n
}

// Median returns the median of d (the upper one of an even count).
func Median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// MedianFloat returns the median of v (the mean of the two middle values
// of an even count; 0 for none).
func MedianFloat(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
