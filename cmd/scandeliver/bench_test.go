package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkDeliver4KB runs the whole delivery path in process, to see
// what it costs beyond the Go runtime's start (tests/bench/deliver.sh
// measures whole processes against procmail and maildrop).
func BenchmarkDeliver4KB(b *testing.B) {
	dir := b.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[log]\nsyslog = false\n"), 0o644)
	msg := msg1 + strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 90)
	env := map[string]string{"HOME": dir, "USER": "u", "SENDER": "a@b", "RECIPIENT": "c@d"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e, _, errb := testEnv(msg, env)
		e.now = time.Now
		if code := run([]string{"-c", cfg, "--to", dir + "/M/"}, e); code != 0 {
			b.Fatalf("exit %d: %s", code, errb)
		}
		if i%500 == 499 {
			os.RemoveAll(dir + "/M/new")
		}
	}
}
