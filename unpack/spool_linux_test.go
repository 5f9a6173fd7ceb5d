package unpack

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// threadReads is the number of read system calls this thread has made, as
// the kernel counts them (syscr of /proc/thread-self/io: read, pread,
// readv; copy_file_range counts one per call however much it moves). The
// caller must hold its OS thread (runtime.LockOSThread).
func threadReads(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/thread-self/io")
	if err != nil {
		t.Skipf("no per-thread I/O accounting: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("/proc/thread-self/io: %q", line)
			}
			return n
		}
	}
	t.Fatalf("/proc/thread-self/io has no syscr: %q", b)
	return 0
}

// TestSpoolRegularFileInKernel: a message given as a regular file (stdin
// redirected from a file) is moved into the spool file by the kernel
// (copy_file_range), with and without a size limit, not read through a
// buffer 64 KiB at a time. With the size
// ceiling that pipeline sets on every delivery, the limit reader hid the
// *os.File and 20 MB cost 320 read/write pairs (red before the fix).
// The kernel counts this thread's read calls: a buffered copy of the 8 MiB
// past the first MiB makes at least 128, the kernel's copy a handful.
func TestSpoolRegularFileInKernel(t *testing.T) {
	const mem = 1 << 20
	data := randBytes(mem + 8<<20 + 5)
	fn := t.TempDir() + "/in"
	if err := os.WriteFile(fn, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		max  int64
		ok   bool
	}{
		{"no limit", 0, true},
		{"under the limit", 64 << 20, true},
		{"at the limit", int64(len(data)), true},
		{"over the limit", int64(len(data)) - 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(fn)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			before := threadReads(t)
			s, err := NewSpool(f, SpoolOptions{Dir: t.TempDir(), Memory: mem, MaxSize: tc.max})
			reads := threadReads(t) - before
			if !tc.ok {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("over the limit: %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if s.InMemory() {
					t.Fatal("spool in memory")
				}
				checkSpool(t, s, data)
			}
			// 64 KiB chunks would be 128 reads for the 8 MiB past memory.
			if buffered := int64(len(data)-mem) / (64 << 10); reads > buffered/4 {
				t.Errorf("%d read calls to spool %d bytes from a regular file (a 64 KiB copy makes %d): not moved by the kernel", reads, len(data), buffered)
			}
			t.Logf("%d read calls", reads)
		})
	}
}

// TestSpoolPipeInKernel: the same for a pipe, as an MTA gives it
// (splice), whatever the size limit. Little is kept in memory so that the
// count does not depend on how the writer fills the pipe.
func TestSpoolPipeInKernel(t *testing.T) {
	const mem = 4096
	data := randBytes(8<<20 + 5)
	for _, max := range []int64{0, 64 << 20} {
		t.Run("max="+strconv.FormatInt(max, 10), func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			go func() { pw.Write(data); pw.Close() }()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			before := threadReads(t)
			s, err := NewSpool(pr, SpoolOptions{Dir: t.TempDir(), Memory: mem, MaxSize: max})
			reads := threadReads(t) - before
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkSpool(t, s, data)
			// A pipe read gives at most 64 KiB (what the pipe holds).
			if buffered := int64(len(data)) / (64 << 10); reads > buffered/4 {
				t.Errorf("%d read calls to spool %d bytes from a pipe (a 64 KiB copy makes %d): not spliced", reads, len(data), buffered)
			}
			t.Logf("%d read calls", reads)
		})
	}
}
