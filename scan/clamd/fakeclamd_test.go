package clamd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeclamd is a FAKE clamd for the faults a real clamd cannot be made to
// produce on demand: it reads one command and its INSTREAM chunks, then
// misbehaves as told. It is not a model of clamd's scanning.
type fakeclamd struct {
	l    net.Listener
	mode string // "hang", "reset-mid-stream", "garbage", "ok", "wrong-id"
}

func startFake(t *testing.T, mode string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "fakeclamd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeclamd{l: l, mode: mode}
	t.Cleanup(func() { l.Close() })
	go f.serve()
	return "unix:" + sock
}

func (f *fakeclamd) serve() {
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		go f.handle(c)
	}
}

func (f *fakeclamd) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	cmd, err := br.ReadString(0)
	if err != nil {
		return
	}
	prefix := ""
	if cmd == "zIDSESSION\x00" {
		prefix = "1: "
		if f.mode == "wrong-id" {
			prefix = "7: "
		}
		if cmd, err = br.ReadString(0); err != nil {
			return
		}
	}
	if cmd != "zINSTREAM\x00" {
		return
	}
	var hdr [4]byte
	total := 0
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 {
			break
		}
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			return
		}
		total += int(n)
		if f.mode == "reset-mid-stream" && total >= 64<<10 {
			if uc, ok := c.(*net.UnixConn); ok {
				uc.Close()
			}
			return
		}
	}
	switch f.mode {
	case "hang":
		time.Sleep(time.Minute)
	case "garbage":
		c.Write([]byte("\x01\x02 this is not clamd\x00"))
	case "ok", "wrong-id":
		c.Write([]byte(prefix + "stream: OK\x00"))
	}
}

func TestFakeTimeout(t *testing.T) {
	a := startFake(t, "hang")
	c := Client{Addrs: mustAddrs(t, a)}
	start := time.Now()
	_, err := c.Scan(ctxT(t, 300*time.Millisecond), []Item{memItem([]byte("x"))})
	if err == nil {
		t.Fatal("a clamd that never answers: no error")
	}
	// The fake hangs a minute: half of it tells a timeout enforced
	// (300 ms, and whatever a loaded machine adds) from none.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestFakeResetMidStream(t *testing.T) {
	a := startFake(t, "reset-mid-stream")
	c := Client{Addrs: mustAddrs(t, a)}
	_, err := c.Scan(ctxT(t, 10*time.Second), []Item{memItem(bytes.Repeat([]byte("x"), 4<<20))})
	if err == nil {
		t.Fatal("connection reset mid-stream: no error")
	}
}

func TestFakeResetFailsOver(t *testing.T) {
	bad := startFake(t, "reset-mid-stream")
	good := startFake(t, "ok")
	c := Client{Addrs: mustAddrs(t, bad, good)}
	rs, err := c.Scan(ctxT(t, 10*time.Second), []Item{memItem(bytes.Repeat([]byte("x"), 4<<20))})
	if err != nil || rs[0].Status != Clean {
		t.Fatalf("failover after reset: %+v, %v", rs, err)
	}
}

func TestFakeGarbage(t *testing.T) {
	a := startFake(t, "garbage")
	c := Client{Addrs: mustAddrs(t, a)}
	_, err := c.Scan(ctxT(t, 10*time.Second), []Item{memItem([]byte("x"))})
	if !errors.Is(err, ErrGarbled) {
		t.Fatalf("garbage reply: %v, want ErrGarbled", err)
	}
}

func TestFakeWrongSessionID(t *testing.T) {
	a := startFake(t, "wrong-id")
	c := Client{Addrs: mustAddrs(t, a), Conns: 1}
	_, err := c.Scan(ctxT(t, 10*time.Second), []Item{memItem([]byte("x")), memItem([]byte("y"))})
	if err == nil || !strings.Contains(err.Error(), "want 1") {
		t.Fatalf("reply for another request: %v", err)
	}
}
