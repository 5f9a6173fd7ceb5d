package serve

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// hijacked plays a server taken over by a hostile message: it speaks to
// a real "scandeliver serve broker" directly and asks for what the
// server would never ask. It is a fake server, on purpose.
type hijacked struct {
	conn *net.UnixConn
	cmd  *exec.Cmd
}

func startBroker(t *testing.T, cfg string) *hijacked {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	cmd := exec.Command(bin, "serve", "broker", "-c", cfg)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	h := &hijacked{conn: c.(*net.UnixConn), cmd: cmd}
	t.Cleanup(func() { h.conn.Close(); cmd.Process.Kill(); cmd.Wait() })
	return h
}

// ask sends one request with the message body and returns the broker's
// answer ("" path and error when it gave none).
func (h *hijacked) ask(t *testing.T, req map[string]any, body string) (path, errText string) {
	t.Helper()
	b, _ := json.Marshal(req)
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	rfds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.conn.WriteMsgUnix(b, syscall.UnixRights(p[0], rfds[1]), nil); err != nil {
		t.Fatal(err)
	}
	syscall.Close(p[0])
	syscall.Close(rfds[1])
	go func() {
		syscall.Write(p[1], []byte(body))
		syscall.Close(p[1])
	}()
	defer syscall.Close(rfds[0])
	buf := make([]byte, 65536)
	n, err := syscall.Read(rfds[0], buf)
	if err != nil || n <= 0 {
		t.Fatalf("no answer from the broker: %d %v", n, err)
	}
	var rep struct{ Path, Error string }
	if err := json.Unmarshal(buf[:n], &rep); err != nil {
		t.Fatalf("answer %q: %v", buf[:n], err)
	}
	return rep.Path, rep.Error
}

// TestServeBrokerRefuses: the root broker of system-user mode writes only
// as a non-root user that exists, and only to the destinations the
// configuration gives that user ([deliver] default, junk); a request
// without its descriptors is dropped and the broker goes on; it exits
// when the server's end of the socket closes.
func TestServeBrokerRefuses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	base, err := os.MkdirTemp("", "scandeliver-serve-broker-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	amy := testenv.NewUser(t, base, "sdba")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte(config(dir, "", "")), 0o644)
	h := startBroker(t, cfg)
	msg := message("b1", "through the broker")
	profile := filepath.Join(amy.Home, ".profile")
	os.WriteFile(profile, []byte("# amy's\n"), 0o644)
	os.Chown(profile, amy.Uid, amy.Gid)
	for _, c := range []struct {
		name string
		req  map[string]any
		want string
	}{
		{"a file of amy's that is not her mailbox", map[string]any{"user": amy.Name, "to": profile}, "not a destination"},
		{"a Maildir elsewhere", map[string]any{"user": amy.Name, "to": filepath.Join(dir, "elsewhere") + "/"}, "not a destination"},
		{"root", map[string]any{"user": "root", "to": "/root/Maildir/"}, "root"},
		{"no such user", map[string]any{"user": "sdnosuchuser", "to": "/tmp/x/"}, "no such user"},
		{"a folder that leaves the Maildir", map[string]any{"user": amy.Name, "to": amy.Home + "/Maildir/", "folder": "../../x"}, "refused"},
	} {
		path, e := h.ask(t, c.req, msg)
		if path != "" || !strings.Contains(e, c.want) {
			t.Errorf("%s: path %q, error %q; want refused (%q)", c.name, path, e, c.want)
		}
	}
	if b, _ := os.ReadFile(profile); string(b) != "# amy's\n" {
		t.Errorf("amy's .profile was written:\n%s", b)
	}
	// Garbage without descriptors: dropped, the broker still answers.
	h.conn.Write([]byte(`{"user":"root"}`))
	path, e := h.ask(t, map[string]any{"user": amy.Name, "to": amy.Home + "/Maildir/", "sender": "alice@example.org", "recipient": amy.Name + "@localhost"}, msg)
	if e != "" || !strings.HasPrefix(path, filepath.Join(amy.Home, "Maildir", "new")+"/") {
		t.Fatalf("amy's own Maildir: path %q, error %q", path, e)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != amy.Uid {
		t.Errorf("%s is uid %d's, want amy's %d", path, st.Uid, amy.Uid)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "through the broker") {
		t.Errorf("delivered:\n%s", b)
	}
	h.conn.Close()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the broker: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the broker did not exit when the server's end closed")
	}
}
