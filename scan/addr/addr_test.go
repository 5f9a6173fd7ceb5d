package addr

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Addr{
		"unix:/run/clamav/clamd.ctl": {"unix", "/run/clamav/clamd.ctl"},
		"/run/x.sock":                {"unix", "/run/x.sock"},
		"tcp:127.0.0.1:3310":         {"tcp", "127.0.0.1:3310"},
		"tcp:[::1]:783":              {"tcp", "[::1]:783"},
		"scan1.example.net:3310":     {"tcp", "scan1.example.net:3310"},
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "unix:", "tcp:host", "host", "udp:1.2.3.4:5",
		// Mistyped schemes parse as host:port with a non-numeric port;
		// they were dialled as TCP to host "unx".
		"unx:/x", "unx:/run/clamav/clamd.ctl", "tpc:127.0.0.1:783", "unix/run/x:1", "tcp::783",
		"tcp:h:0", "tcp:h:65536", "h:http", "tcp:a/b:1"} {
		if a, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %v, want error", bad, a)
		}
	}
}

func TestDialFailover(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "ok.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	list := []Addr{{"unix", filepath.Join(dir, "dead.sock")}, {"unix", filepath.Join(dir, "ok.sock")}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, a, err := Dial(ctx, list)
	if err != nil || a != list[1] {
		t.Fatalf("Dial: %v %v", a, err)
	}
	c.Close()
	if _, _, err := Dial(ctx, list[:1]); err == nil {
		t.Fatal("dead only: no error")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"unix:/x", "tcp:h:1", "/p", "h:1", "tcp:[::1]:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		if (a.Network != "unix" && a.Network != "tcp") || a.Address == "" {
			t.Fatalf("Parse(%q) = %v", s, a)
		}
		if a.Network == "tcp" {
			host, port, err := net.SplitHostPort(a.Address)
			if err != nil || host == "" || strings.Contains(host, "/") {
				t.Fatalf("Parse(%q) = %v: not a TCP host:port", s, a)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				t.Fatalf("Parse(%q) = %v: port %q", s, a, port)
			}
		}
	})
}
