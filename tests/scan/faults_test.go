package scan

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

// cleanMessage is an ordinary message with a harmless attachment.
func cleanMessage() []byte {
	return attachB64("clean", "notes.txt", []byte("Nothing to see here.\n"))
}

// deadUnixSocket returns "unix:PATH" for a socket file that exists but
// has no listener (connect: connection refused), as clamd leaves behind
// when it is killed.
func deadUnixSocket(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dead.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	return "unix:" + p
}

// deadTCP returns "tcp:127.0.0.1:PORT" for a port nobody listens on.
func deadTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return "tcp:" + a
}

// fakeclamd is a FAKE clamd, for the one fault a real clamd cannot be
// made to produce on demand: it accepts connections and reads whatever
// is sent, and never answers. It stops when the test ends.
func fakeclamd(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fakeclamd.sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "unix:" + p
}

// assertDeferred: exit 75, nothing delivered, nothing quarantined.
func assertDeferred(t *testing.T, b *box, r result) {
	t.Helper()
	if r.code != 75 {
		t.Errorf("exit %d, want 75; stderr: %s", r.code, r.stderr)
	}
	if n := len(b.delivered(t)); n != 0 {
		t.Errorf("%d messages delivered, want none", n)
	}
	if n := len(b.quarantined(t)); n != 0 {
		t.Errorf("%d quarantine entries, want none (the MTA keeps the message)", n)
	}
}

// headerOf is the header section of a delivered message.
func headerOf(m []byte) string {
	m = bytes.ReplaceAll(m, []byte("\r\n"), []byte("\n"))
	if i := bytes.Index(m, []byte("\n\n")); i >= 0 {
		m = m[:i+1]
	}
	return string(m)
}

func TestClamdDeadSocket(t *testing.T) {
	for name, msg := range map[string][]byte{"clean": cleanMessage(), "eicar": attachB64("eicar", "eicar.com", builtin.Eicar())} {
		t.Run(name, func(t *testing.T) {
			b := newBox(t, clamdEngine(tomlStrings(deadUnixSocket(t))))
			assertDeferred(t, b, b.deliver(t, msg))
		})
	}
}

func TestClamdSilentTimeout(t *testing.T) {
	b := newBox(t, clamdEngine(tomlStrings(fakeclamd(t)), `timeout = "1s"`))
	start := time.Now()
	r := b.deliver(t, cleanMessage())
	t.Logf("deferred after %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.stderr))
	assertDeferred(t, b, r)
}

func TestClamdFailover(t *testing.T) {
	live := testenv.Env(t, "SCANDELIVER_CLAMD")
	for _, dead := range []string{deadUnixSocket(t), deadTCP(t)} {
		t.Run(strings.SplitN(dead, ":", 2)[0]+"-dead", func(t *testing.T) {
			addrs := tomlStrings(dead, live)
			b := newBox(t, clamdEngine(addrs))
			r := b.deliver(t, cleanMessage())
			if r.code != 0 {
				t.Fatalf("address = %s: exit %d, want 0 (failover); stderr: %s", addrs, r.code, r.stderr)
			}
			got := b.delivered(t)
			if len(got) != 1 {
				t.Fatalf("%d messages delivered, want 1", len(got))
			}
			if h := headerOf(got[0]); !strings.Contains(h, "X-Scandeliver-Status: clean") {
				t.Errorf("delivered without the clean status header:\n%s", h)
			}
			// The second address really scans: EICAR is withheld.
			e := newBox(t, clamdEngine(addrs))
			assertWithheld(t, e, e.deliver(t, attachB64("eicar", "eicar.com", builtin.Eicar())), builtin.Eicar())
		})
	}
}

// TestSpamEngineDownPasses: a spam engine that cannot answer, with
// on_error = "pass", lets the message through with a warning header.
func TestSpamEngineDownPasses(t *testing.T) {
	for _, typ := range []string{"spamd", "rspamd"} {
		t.Run(typ, func(t *testing.T) {
			dead := deadTCP(t)
			if typ == "rspamd" {
				dead = deadUnixSocket(t)
			}
			b := newBox(t, builtinEngine(t)+"\n[[engine]]\nname = \"spam\"\ntype = \""+typ+"\"\naddress = \""+dead+"\"\non_error = \"pass\"\n")
			r := b.deliver(t, cleanMessage())
			if r.code != 0 {
				t.Fatalf("exit %d, want 0; stderr: %s", r.code, r.stderr)
			}
			got := b.delivered(t)
			if len(got) != 1 {
				t.Fatalf("%d messages delivered, want 1", len(got))
			}
			h := headerOf(got[0])
			if !strings.Contains(h, "X-Scandeliver-Warning: spam check unavailable") {
				t.Errorf("no warning header in:\n%s", h)
			}
		})
	}
}
