package unpack

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

func checkSpool(t *testing.T, s *Spool, want []byte) {
	t.Helper()
	if s.Size() != int64(len(want)) {
		t.Fatalf("size %d, want %d", s.Size(), len(want))
	}
	got, err := io.ReadAll(s.Open())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("spool content differs (err %v)", err)
	}
	// Two readers are independent.
	a, b := s.Open(), s.Open()
	p := make([]byte, 10)
	a.Read(p)
	q := make([]byte, 10)
	b.Read(q)
	if !bytes.Equal(p, q) {
		t.Fatalf("readers share an offset")
	}
}

func TestSpoolMemoryAndFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 1000, 1024, 1025, 70000, 3 << 20} {
		data := randBytes(n)
		s, err := NewSpool(bytes.NewReader(data), SpoolOptions{Dir: dir, Memory: 1024})
		if err != nil {
			t.Fatal(err)
		}
		if s.InMemory() != (n <= 1024) {
			t.Errorf("%d bytes: InMemory %v", n, s.InMemory())
		}
		checkSpool(t, s, data)
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("spool file visible in %s: %v", dir, left)
		}
		s.Close()
		s.Close()
	}
}

func TestSpoolFromPipeAndFile(t *testing.T) {
	data := randBytes(5<<20 + 17)
	// A pipe, as an MTA gives it: spliced by the kernel.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { pw.Write(data); pw.Close() }()
	s, err := NewSpool(pr, SpoolOptions{Memory: 4096})
	if err != nil {
		t.Fatal(err)
	}
	checkSpool(t, s, data)
	s.Close()
	// A regular file, as a shell redirection gives it.
	fn := t.TempDir() + "/in"
	os.WriteFile(fn, data, 0o600)
	f, _ := os.Open(fn)
	defer f.Close()
	s, err = NewSpool(f, SpoolOptions{Memory: 4096})
	if err != nil {
		t.Fatal(err)
	}
	checkSpool(t, s, data)
	s.Close()
}

func TestSpoolMaxSize(t *testing.T) {
	for _, tc := range []struct {
		n, mem, max int64
		ok          bool
	}{{100, 1024, 100, true}, {101, 1024, 100, false}, {5000, 1024, 5000, true}, {5001, 1024, 5000, false}} {
		s, err := NewSpool(bytes.NewReader(randBytes(int(tc.n))), SpoolOptions{Memory: tc.mem, MaxSize: tc.max})
		if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, ErrTooLarge)) {
			t.Errorf("%+v: %v", tc, err)
		}
		if s != nil {
			s.Close()
		}
	}
	// Through a pipe as well.
	pr, pw, _ := os.Pipe()
	go func() { pw.Write(randBytes(10000)); pw.Close() }()
	if _, err := NewSpool(pr, SpoolOptions{Memory: 1024, MaxSize: 9999}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("pipe over max: %v", err)
	}
}

func TestSpoolReadError(t *testing.T) {
	r := io.MultiReader(bytes.NewReader(randBytes(3000)), iotestErr{})
	if _, err := NewSpool(r, SpoolOptions{Memory: 1024, Dir: t.TempDir()}); err == nil {
		t.Fatal("a read error was not reported")
	}
	if _, err := NewSpool(bytes.NewReader(randBytes(3000)), SpoolOptions{Memory: 1024, Dir: "/nonexistent/dir"}); err == nil {
		t.Fatal("an unusable spool directory was not reported")
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestSpoolPeakMemory checks, in a child process, that spooling 64 MB
// through a pipe does not raise the heap beyond the memory threshold.
func TestSpoolPeakMemory(t *testing.T) {
	if os.Getenv("SPOOL_CHILD") == "1" {
		var ms0, ms1 runtimeMem
		ms0.read()
		s, err := NewSpool(os.Stdin, SpoolOptions{Memory: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		ms1.read()
		if s.Size() != 64<<20 {
			t.Fatalf("size %d", s.Size())
		}
		if grown := ms1.total - ms0.total; grown > 4<<20 {
			t.Fatalf("allocated %d bytes to spool 64 MB with a 1 MB threshold", grown)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolPeakMemory$")
	cmd.Env = append(os.Environ(), "SPOOL_CHILD=1")
	w, _ := cmd.StdinPipe()
	go func() {
		chunk := randBytes(1 << 20)
		for i := 0; i < 64; i++ {
			w.Write(chunk)
		}
		w.Close()
	}()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.total = ms.TotalAlloc
}

// TestSpoolRegularFile: a regular file is spooled from its offset on; one
// that holds more than Memory goes to the spool file without passing
// through memory (no buffer of Memory bytes is allocated), one over
// MaxSize is refused before a byte is read.
func TestSpoolRegularFile(t *testing.T) {
	const mem = 1 << 20
	data := randBytes(4<<20 + 3)
	fn := t.TempDir() + "/in"
	if err := os.WriteFile(fn, data, 0o600); err != nil {
		t.Fatal(err)
	}
	spool := func(t *testing.T, off int64, max int64) (*Spool, *os.File, uint64, error) {
		t.Helper()
		f, err := os.Open(fn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		var m0, m1 runtimeMem
		m0.read()
		s, err := NewSpool(f, SpoolOptions{Dir: t.TempDir(), Memory: mem, MaxSize: max})
		m1.read()
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
		return s, f, m1.total - m0.total, err
	}
	for _, tc := range []struct {
		off      int64
		inMemory bool
	}{
		{0, false},
		{1000, false},
		{int64(len(data)) - mem - 1, false},
		{int64(len(data)) - mem, true},
		{int64(len(data)) - 10, true},
		{int64(len(data)), true},
	} {
		s, _, alloc, err := spool(t, tc.off, 64<<20)
		if err != nil {
			t.Fatalf("offset %d: %v", tc.off, err)
		}
		if s.InMemory() != tc.inMemory {
			t.Errorf("offset %d: InMemory %v", tc.off, s.InMemory())
		}
		checkSpool(t, s, data[tc.off:])
		if !tc.inMemory && alloc > 256<<10 {
			t.Errorf("offset %d: %d bytes allocated to spool %d bytes of a regular file: read through memory", tc.off, alloc, len(data)-int(tc.off))
		}
	}
	// Over the limit: refused, and the file was not read.
	for _, max := range []int64{mem, int64(len(data)) - 1001} {
		_, f, _, err := spool(t, 1000, max)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("max %d: %v", max, err)
		}
		if off, _ := f.Seek(0, io.SeekCurrent); off != 1000 {
			t.Errorf("max %d: refused after reading to offset %d", max, off)
		}
	}
	// At the limit: spooled.
	s, _, _, err := spool(t, 1000, int64(len(data))-1000)
	if err != nil {
		t.Fatal(err)
	}
	checkSpool(t, s, data[1000:])
}
