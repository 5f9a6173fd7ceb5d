package e2e

import (
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

// Clamd is a private clamd started by a test, with its own signature
// database, socket and log, so that a test may stop and start it (or
// give it a database that misses EICAR) without disturbing the shared
// engines of tests/engines/start.sh.
type Clamd struct {
	Dir    string // its directory, mode 0755 (the socket is 0666: any delivering user reaches it)
	Socket string // the UNIX socket's path
	Addr   string // "unix:" + Socket, for an [[engine]] address
	conf   string
	cmd    *exec.Cmd
}

// ClamExeNDB is a body signature for clamav-testfiles' clam.exe (the one
// tests/engines/start.sh writes): a database with only this line answers
// every other file clean, as a clamd whose EICAR signatures are gone.
const ClamExeNDB = "Local.ClamAV-Test-File:1:*:bb7110400033c050508bf3535350b02940300466ac79f9ba3100780dad50ff66700e1fbe3100e9e5ffb409cd21b44ccd21\n"

// EicarNDB returns a body signature for EICAR (builtin.Eicar).
func EicarNDB() string {
	return "Local.Eicar-Test-Signature:0:*:" + hex.EncodeToString(builtin.Eicar()) + "\n"
}

// StartClamd starts a private clamd whose database is the given files
// (name → content, e.g. "test.ndb": ClamExeNDB); it is stopped when the
// test ends.
func StartClamd(t testing.TB, db map[string]string) *Clamd {
	t.Helper()
	if _, err := exec.LookPath("clamd"); err != nil {
		testenv.Missing(t, "clamd not found (tests/engines/start.sh installs clamav-daemon)")
	}
	dir, err := os.MkdirTemp("", "scandeliver-clamd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dbDir := filepath.Join(dir, "db")
	if err := os.Mkdir(dbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range db {
		if err := os.WriteFile(filepath.Join(dbDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &Clamd{Dir: dir, Socket: filepath.Join(dir, "clamd.sock"), conf: filepath.Join(dir, "clamd.conf")}
	c.Addr = "unix:" + c.Socket
	conf := strings.Join([]string{
		"LocalSocket " + c.Socket,
		"LocalSocketMode 666",
		"DatabaseDirectory " + dbDir,
		"Foreground yes",
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"TemporaryDirectory " + dir,
		"DisableCache yes",
		"MaxThreads 2",
		"SelfCheck 0",
		"StreamMaxLength 100M",
		"MaxScanSize 100M",
		"MaxFileSize 100M",
	}, "\n") + "\n"
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(t) })
	c.Start(t)
	return c
}

// Start starts clamd (again) and waits until it answers PING.
func (c *Clamd) Start(t testing.TB) {
	t.Helper()
	if c.cmd != nil {
		return
	}
	os.Remove(c.Socket)
	cmd := exec.Command("clamd", "-c", c.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting clamd: %v", err)
	}
	c.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for !c.ping() {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(c.Dir, "clamd.log"))
			t.Fatalf("private clamd did not answer within 60s:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops clamd (SIGTERM to the process this Clamd started, then
// waits for it).
func (c *Clamd) Stop(t testing.TB) {
	t.Helper()
	if c.cmd == nil {
		return
	}
	terminate(c.cmd, 15*time.Second)
	c.cmd = nil
	os.Remove(c.Socket)
}

func (c *Clamd) ping() bool {
	conn, err := net.DialTimeout("unix", c.Socket, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return false
	}
	b := make([]byte, 16)
	n, _ := conn.Read(b)
	return strings.HasPrefix(string(b[:n]), "PONG")
}

// terminate stops a process a test started: SIGTERM, then SIGKILL if it
// has not ended after grace; it returns once the process is reaped.
func terminate(cmd *exec.Cmd, grace time.Duration) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}
