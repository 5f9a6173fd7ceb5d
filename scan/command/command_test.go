package command

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/scan/builtin"
)

func content(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

func scanner(t *testing.T) *Scanner {
	p, err := filepath.Abs("testdata/grepscan.sh")
	if err != nil {
		t.Fatal(err)
	}
	return &Scanner{
		Argv:     []string{p, "{}"},
		Clean:    []int{0},
		Infected: []int{1},
		Pattern:  regexp.MustCompile(`infected by \[([^\]]+)\]`),
		TempDir:  t.TempDir(),
	}
}

func TestExitCodeTable(t *testing.T) {
	s := scanner(t)
	ctx := context.Background()
	for _, c := range []struct {
		in   []byte
		want Status
		sig  string
		code int
	}{
		{builtin.Eicar(), Infected, "Test.EICAR.grepscan", 1},
		{[]byte("hello\n"), Clean, "", 0},
		{[]byte("PLEASE-FAIL\n"), Error, "", 2},
	} {
		r, err := s.Scan(ctx, content(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != c.want || r.Signature != c.sig || r.ExitCode != c.code {
			t.Errorf("%.20q: got status %v sig %q code %d, want %v %q %d (output %q)", c.in, r.Status, r.Signature, r.ExitCode, c.want, c.sig, c.code, r.Output)
		}
	}
	// The table is the config's: here 1 means clean and 0 infected.
	s.Clean, s.Infected = []int{1}, []int{0}
	r, err := s.Scan(ctx, content([]byte("hello\n")))
	if err != nil || r.Status != Infected || r.Signature != "" {
		t.Errorf("swapped table: %+v, %v", r, err)
	}
}

// TestPrivateFile: the scanner sees a file named "object" in a fresh
// 0700 directory, removed afterwards.
func TestPrivateFile(t *testing.T) {
	tmp := t.TempDir()
	s := &Scanner{Argv: []string{"/bin/sh", "-c", `stat -c '%a %n' "$(dirname "$1")" "$1"`, "sh"}, TempDir: tmp}
	r, err := s.Scan(context.Background(), content([]byte("x")))
	if err != nil || r.Status != Clean {
		t.Fatalf("%+v, %v", r, err)
	}
	lines := strings.Split(strings.TrimSpace(string(r.Output)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "700 "+tmp+"/scandeliver-cmd-") || !strings.HasPrefix(lines[1], "600 ") || !strings.HasSuffix(lines[1], "/object") {
		t.Errorf("file modes and names: %q", r.Output)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestTimeoutKillsGroup: on timeout the scanner and its children die.
func TestTimeoutKillsGroup(t *testing.T) {
	s := scanner(t)
	child := filepath.Join(t.TempDir(), "child.pid")
	t.Setenv("GREPSCAN_CHILD", child)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Scan(ctx, content([]byte("PLEASE-HANG\n")))
	if err == nil {
		t.Fatal("hanging scanner: no error")
	}
	// The scanner's child sleeps 300 s: a minute tells a timeout
	// enforced (500 ms, and whatever a loaded machine adds) from none.
	if d := time.Since(start); d > time.Minute {
		t.Errorf("took %v", d)
	}
	b, err := os.ReadFile(child)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	time.Sleep(100 * time.Millisecond)
	if pid > 0 && alive(pid) {
		t.Errorf("child %d of the scanner still alive", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func TestMissingProgram(t *testing.T) {
	s := &Scanner{Argv: []string{filepath.Join(t.TempDir(), "no-such-scanner")}}
	if _, err := s.Scan(context.Background(), content([]byte("x"))); err == nil {
		t.Fatal("missing program: no error")
	}
}

func TestSignature(t *testing.T) {
	re := regexp.MustCompile(`FOUND: (\S+)`)
	if got := Signature(re, []byte("x FOUND: Bad\x1b[31m.Thing\n")); got != "Bad[31m.Thing" {
		t.Errorf("got %q", got)
	}
	if got := Signature(regexp.MustCompile(`Win\.\S+`), []byte("Win.Test\n")); got != "Win.Test" {
		t.Errorf("got %q", got)
	}
	if got := Signature(re, []byte("nothing")); got != "" {
		t.Errorf("got %q", got)
	}
}

// alive reports whether pid runs (a zombie left for a non-reaping init
// does not count).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}
