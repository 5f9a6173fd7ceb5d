package clamd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/scan/addr"
	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

func memItem(b []byte) Item {
	return Item{Size: int64(len(b)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

func fileItem(t *testing.T, path string) Item {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return Item{Size: st.Size(), Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

func mustAddrs(t testing.TB, list ...string) []addr.Addr {
	t.Helper()
	a, err := addr.ParseList(list)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestParseReply(t *testing.T) {
	cases := []struct {
		in      string
		session bool
		want    Reply
		bad     bool
	}{
		{"stream: OK\x00", false, Reply{Status: Clean}, false},
		{"stream: Eicar-Signature FOUND\x00", false, Reply{Status: Found, Signature: "Eicar-Signature"}, false},
		{"fd[12]: Win.Test.EICAR_HDB-1 FOUND\n", false, Reply{Status: Found, Signature: "Win.Test.EICAR_HDB-1"}, false},
		{"INSTREAM size limit exceeded. ERROR\x00", false, Reply{Status: SizeLimit, Message: "INSTREAM size limit exceeded."}, false},
		{"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND", false, Reply{Status: SizeLimit, Signature: "Heuristics.Limits.Exceeded.MaxFileSize", Message: "Heuristics.Limits.Exceeded.MaxFileSize"}, false},
		{"stream: Can't allocate memory ERROR", false, Reply{Status: Error, Message: "stream: Can't allocate memory"}, false},
		{"3: stream: OK\x00", true, Reply{ID: 3, Status: Clean}, false},
		{"12: stream: X FOUND\x00", true, Reply{ID: 12, Status: Found, Signature: "X"}, false},
		{"stream: OK", true, Reply{}, true},
		{"0: stream: OK", true, Reply{}, true},
		{"PONG", false, Reply{}, true},
		{"", false, Reply{}, true},
		{"stream:  FOUND", false, Reply{}, true},
		{"garbage\x00", false, Reply{}, true},
		{strings.Repeat("A", 5000) + ": OK", false, Reply{}, true},
	}
	for _, c := range cases {
		got, err := ParseReply(c.in, c.session)
		if c.bad {
			if err == nil || !errors.Is(err, ErrGarbled) {
				t.Errorf("ParseReply(%q) = %+v, %v; want ErrGarbled", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseReply(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"stream: OK\x00", "1: stream: Eicar FOUND\x00", "INSTREAM size limit exceeded. ERROR", "fd[3]: x ERROR", ": FOUND", "1: : OK"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, session bool) {
		r, err := ParseReply(s, session)
		if err != nil {
			if !errors.Is(err, ErrGarbled) {
				t.Fatalf("error not ErrGarbled: %v", err)
			}
			return
		}
		if r.Status == Found && r.Signature == "" {
			t.Fatalf("Found without signature: %q", s)
		}
		if session && r.ID <= 0 {
			t.Fatalf("session reply without id: %q", s)
		}
	})
}

// clamdAddrs returns the test clamd's UNIX and TCP addresses (started by
// tests/engines/start.sh).
func clamdAddrs(t *testing.T) (unix, tcp string) {
	return testenv.Env(t, "SCANDELIVER_CLAMD"), testenv.Env(t, "SCANDELIVER_CLAMD_TCP")
}

func TestRealEicar(t *testing.T) {
	unix, tcp := clamdAddrs(t)
	eicar := builtin.Eicar()
	dir := t.TempDir()
	p := filepath.Join(dir, "object")
	if err := os.WriteFile(p, eicar, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		c    Client
		it   Item
	}{
		{"unix-instream", Client{Addrs: mustAddrs(t, unix)}, memItem(eicar)},
		{"tcp-instream", Client{Addrs: mustAddrs(t, tcp)}, memItem(eicar)},
		{"unix-fildes", Client{Addrs: mustAddrs(t, unix)}, Item{Size: int64(len(eicar)), File: f, Open: nil}},
		{"tcp-file-falls-back-to-instream", Client{Addrs: mustAddrs(t, tcp)}, fileItem(t, p)},
		{"small-chunks", Client{Addrs: mustAddrs(t, unix), ChunkSize: 7}, memItem(eicar)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := tc.c.Scan(ctxT(t, 30*time.Second), []Item{tc.it, memItem([]byte("hello, clean world\n"))})
			if err != nil {
				t.Fatal(err)
			}
			if rs[0].Status != Found || !strings.Contains(rs[0].Signature, "Eicar") {
				t.Errorf("EICAR: got %+v", rs[0])
			}
			if rs[1].Status != Clean {
				t.Errorf("clean text: got %+v", rs[1])
			}
		})
	}
}

func TestRealPing(t *testing.T) {
	unix, tcp := clamdAddrs(t)
	for _, a := range []string{unix, tcp} {
		c := Client{Addrs: mustAddrs(t, a)}
		if err := c.Ping(ctxT(t, 10*time.Second)); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
}

// TestRealTestfiles: every clam.* file of clamav-testfiles is detected,
// one session for all of them, and one connection each.
func TestRealTestfiles(t *testing.T) {
	unix, _ := clamdAddrs(t)
	files, _ := filepath.Glob("/usr/share/clamav-testfiles/clam*")
	if len(files) == 0 {
		testenv.Missing(t, "clamav-testfiles not installed")
	}
	var items []Item
	for _, p := range files {
		items = append(items, fileItem(t, p))
	}
	for _, nosession := range []bool{false, true} {
		c := Client{Addrs: mustAddrs(t, unix), NoSession: nosession}
		rs, err := c.Scan(ctxT(t, 120*time.Second), items)
		if err != nil {
			t.Fatal(err)
		}
		missed := 0
		for i, r := range rs {
			if r.Status != Found {
				missed++
				t.Errorf("nosession=%v %s: %+v, want Found", nosession, filepath.Base(files[i]), r)
			}
		}
		t.Logf("nosession=%v: %d of %d clam.* files detected", nosession, len(files)-missed, len(files))
	}
}

// TestRealSizeLimit: the second test clamd has StreamMaxLength 1M; a
// larger stream is SizeLimit (unscannable), never Clean, and the session
// carries on for the next item.
func TestRealSizeLimit(t *testing.T) {
	small := testenv.Env(t, "SCANDELIVER_CLAMD_SMALL")
	big := bytes.Repeat([]byte("A"), 3<<20)
	c := Client{Addrs: mustAddrs(t, small)}
	rs, err := c.Scan(ctxT(t, 60*time.Second), []Item{memItem(big), memItem(builtin.Eicar()), memItem(big)})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != SizeLimit || rs[2].Status != SizeLimit {
		t.Errorf("3 MB stream to a 1M clamd: got %+v, %+v; want SizeLimit", rs[0], rs[2])
	}
	if rs[1].Status != Found {
		t.Errorf("EICAR after the size limit: %+v", rs[1])
	}
	// Known limit: answered without sending.
	c.MaxStream = 1 << 20
	rs, err = c.Scan(ctxT(t, 60*time.Second), []Item{memItem(big)})
	if err != nil || rs[0].Status != SizeLimit {
		t.Errorf("MaxStream: %+v, %v", rs, err)
	}
}

func TestRealFailover(t *testing.T) {
	unix, tcp := clamdAddrs(t)
	dead := "unix:" + filepath.Join(t.TempDir(), "no-clamd.sock")
	deadTCP := "tcp:" + closedPort(t)
	c := Client{Addrs: mustAddrs(t, dead, deadTCP, unix, tcp)}
	rs, err := c.Scan(ctxT(t, 30*time.Second), []Item{memItem(builtin.Eicar())})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != Found {
		t.Errorf("after failover: %+v", rs[0])
	}
}

// TestStopped: no clamd at any address is an error (could not answer),
// never a verdict.
func TestStopped(t *testing.T) {
	dead := "unix:" + filepath.Join(t.TempDir(), "no-clamd.sock")
	c := Client{Addrs: mustAddrs(t, dead, "tcp:"+closedPort(t))}
	rs, err := c.Scan(ctxT(t, 10*time.Second), []Item{memItem([]byte("x"))})
	if err == nil {
		t.Fatalf("no clamd: got %+v, want an error", rs)
	}
}

// TestStoppedMessage: clamd down, two connections and two addresses:
// the error is one line, each address's failure named once (it was the
// whole failure twice, joined by a newline that logs show as "\n").
func TestStoppedMessage(t *testing.T) {
	dead := "unix:" + filepath.Join(t.TempDir(), "no-clamd.sock")
	port := closedPort(t)
	c := Client{Addrs: mustAddrs(t, dead, "tcp:"+port), Conns: 2}
	_, err := c.Scan(ctxT(t, 10*time.Second), []Item{memItem([]byte("x")), memItem([]byte("y"))})
	if err == nil {
		t.Fatal("no clamd: no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error on several lines: %q", msg)
	}
	for _, a := range []string{"no-clamd.sock: connect", port + ": connect"} {
		if n := strings.Count(msg, a); n != 1 {
			t.Errorf("%q named %d times in %q", a, n, msg)
		}
	}
	if !errors.Is(err, syscall.ENOENT) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is does not see the causes of %q", msg)
	}
}

// closedPort returns a loopback host:port where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}
