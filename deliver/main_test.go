package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a separate deliverer process: with
// DELIVER_TEST_HELPER set, TestMain runs one helper action and exits
// instead of running the tests. That gives real separate processes for
// concurrency, rlimits, SIGKILL and dropped privileges.
const helperEnv = "DELIVER_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

// testPrefix is what the caller prepends in every test.
const testPrefix = "Return-Path: <sender@example.org>\nDelivered-To: rcpt@example.net\n"

// helperMain runs one action in a child process. Exit 0: done; 75: Deliver
// failed (the error on stderr); 2: the helper itself failed.
func helperMain(mode string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "helper: "+format+"\n", a...)
		return 2
	}
	if v := os.Getenv("HELPER_FSIZE"); v != "" {
		n, _ := strconv.ParseUint(v, 10, 64)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
			return fail("setrlimit: %v", err)
		}
	}
	if name := os.Getenv("HELPER_USER"); name != "" {
		u, err := LookupUser(name)
		if err != nil {
			return fail("lookup: %v", err)
		}
		if err := DropPrivileges(u); err != nil {
			return fail("drop: %v", err)
		}
	}
	switch mode {
	case "deliver":
		var msg []byte
		if g := os.Getenv("HELPER_GEN"); g != "" {
			i, _ := strconv.Atoi(g)
			msg = genMessage(i)
		} else {
			var err error
			if msg, err = os.ReadFile(os.Getenv("HELPER_MSG")); err != nil {
				return fail("%v", err)
			}
		}
		var r io.ReaderAt = bytes.NewReader(msg)
		if ms, _ := strconv.Atoi(os.Getenv("HELPER_SLOW_MS")); ms > 0 {
			r = &slowReader{r: r, delay: time.Duration(ms) * time.Millisecond}
		}
		timeout, _ := time.ParseDuration(os.Getenv("HELPER_LOCK_TIMEOUT"))
		code := 0
		for _, ds := range filepath.SplitList(os.Getenv("HELPER_DESTS")) {
			d, err := ParseDest(ds, "/nonexistent")
			if err != nil {
				return fail("%v", err)
			}
			res, err := Deliver(context.Background(), d, []byte(testPrefix), r, int64(len(msg)),
				Envelope{Sender: "sender@example.org"}, Options{LockTimeout: timeout})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				code = 75
				continue
			}
			fmt.Println(res.Path)
		}
		return code
	case "drop":
		// Report who we are, then try to write into HELPER_DIR.
		fmt.Printf("uid=%d euid=%d gid=%d egid=%d\n", os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid())
		err := os.WriteFile(filepath.Join(os.Getenv("HELPER_DIR"), "x"), []byte("x"), 0o600)
		fmt.Printf("write: %v\n", err)
		root, err := LookupUser("root")
		if err != nil {
			return fail("%v", err)
		}
		fmt.Printf("regain: %v\n", DropPrivileges(root))
		return 0
	}
	return fail("unknown mode %q", mode)
}

// slowReader sleeps before every read after the first, so that a child
// can be killed or cancelled in the middle of a write.
type slowReader struct {
	r     io.ReaderAt
	delay time.Duration
	calls int
}

func (s *slowReader) ReadAt(p []byte, off int64) (int, error) {
	if s.calls > 0 {
		time.Sleep(s.delay)
	}
	s.calls++
	return s.r.ReadAt(p, off)
}

// genMessage makes a distinct test message: a marker, "From " lines to
// quote, and a size between about 1 KB and 300 KB.
func genMessage(i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: p%d@example.org\nSubject: message %d\nMessage-ID: <%d@test>\n\nFrom the start, %d\n", i, i, i, i)
	lines := 20 + (i*7919)%4000
	for j := 0; j < lines; j++ {
		switch j % 50 {
		case 7:
			fmt.Fprintf(&b, "From line %d of %d\n", j, i)
		case 13:
			fmt.Fprintf(&b, ">>From quoted %d of %d\n", j, i)
		default:
			fmt.Fprintf(&b, "line %06d of message %06d: the quick brown fox jumps over the lazy dog\n", j, i)
		}
	}
	fmt.Fprintf(&b, "end of message %d\n", i)
	return b.Bytes()
}

// helper returns a command re-running the test binary in a helper mode.
func helper(t *testing.T, mode string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// runHelper runs a helper to completion: its exit code, stdout, stderr.
func runHelper(t *testing.T, mode string, env ...string) (int, string, string) {
	t.Helper()
	cmd := helper(t, mode, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running helper: %v", err)
	}
	code := cmd.ProcessState.ExitCode()
	if code == 2 {
		t.Fatalf("helper failed: %s", errb.String())
	}
	return code, out.String(), strings.TrimSpace(errb.String())
}

// expectRead is what reading an mbox message back yields for msg.
func expectRead(msg []byte) []byte {
	if len(msg) > 0 && msg[len(msg)-1] != '\n' {
		return append(append([]byte{}, msg...), '\n')
	}
	return msg
}

// readMbox returns the messages of the mbox at path.
func readMbox(t *testing.T, path string) (froms []string, msgs [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = ReadMbox(f, func(from string, msg []byte) error {
		froms = append(froms, from)
		msgs = append(msgs, msg)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadMbox %s: %v", path, err)
	}
	return froms, msgs
}

// listDir returns the names in dir (nil when it is missing).
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func deliverBytes(ctx context.Context, d Dest, msg []byte, opt Options) (Result, error) {
	return Deliver(ctx, d, []byte(testPrefix), bytes.NewReader(msg), int64(len(msg)), Envelope{Sender: "sender@example.org"}, opt)
}
