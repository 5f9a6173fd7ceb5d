package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// setupMbox makes an mbox holding one message and returns its path and
// bytes.
func setupMbox(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	p := filepath.Join(dir, "mbox")
	if _, err := deliverBytes(context.Background(), Dest{Path: p, Kind: Mbox}, []byte("Subject: first\n\nbody\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	return p, mustRead(t, p)
}

// checkUnchanged fails unless the mbox holds exactly before and the
// Maildir has nothing in new/ or tmp/.
func checkUnchanged(t *testing.T, mbox string, before []byte, md string) {
	t.Helper()
	if mbox != "" {
		if got := mustRead(t, mbox); !bytes.Equal(got, before) {
			t.Errorf("mbox changed: %d bytes, was %d", len(got), len(before))
		}
		if _, err := os.Stat(mbox + ".lock"); err == nil {
			t.Errorf("dotlock left behind")
		}
	}
	if md != "" {
		for _, sub := range []string{"new", "tmp", "cur"} {
			if names := listDir(t, filepath.Join(md, sub)); len(names) != 0 {
				t.Errorf("Maildir %s/ holds %v", sub, names)
			}
		}
	}
}

func bigMessage(n int) []byte {
	line := []byte("From the depths of a large message, a line of text to fill it up.\n")
	b := []byte("Subject: big\n\n")
	for len(b) < n {
		b = append(b, line...)
	}
	return b
}

// TestReadOnlyDestination: a user who may not write the destination (a
// child that dropped to nobody: chmod does not stop root), and a
// read-only bind mount, which stops root too.
func TestReadOnlyDestination(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop to nobody")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(dir), 0o755)
	mbox, before := setupMbox(t, dir)
	os.Chmod(mbox, 0o644)
	md := filepath.Join(dir, "Maildir")
	if err := ensureMaildir(md, false); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"", "tmp", "new", "cur"} {
		os.Chmod(filepath.Join(md, sub), 0o755)
	}
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, []byte("Subject: x\n\ny\n"), 0o644)
	for _, dest := range []string{mbox, md + "/", filepath.Join(dir, "missing") + "/"} {
		code, _, stderr := runHelper(t, "deliver", "HELPER_USER=nobody", "HELPER_MSG="+msgFile, "HELPER_DESTS="+dest)
		if code != 75 || !strings.Contains(stderr, "permission denied") {
			t.Errorf("%s as nobody: exit %d, %q; want 75 and permission denied", dest, code, stderr)
		}
	}
	checkUnchanged(t, mbox, before, md)
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("nobody created a Maildir")
	}

	ro := t.TempDir()
	if out, err := exec.Command("mount", "--bind", dir, ro).CombinedOutput(); err != nil {
		t.Skipf("cannot bind-mount (%v: %s); the read-only mount case is not run", err, out)
	}
	defer exec.Command("umount", ro).Run()
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v: %s", err, out)
	}
	for _, d := range []Dest{{Path: filepath.Join(ro, "mbox"), Kind: Mbox}, {Path: filepath.Join(ro, "Maildir"), Kind: Maildir}} {
		_, err := deliverBytes(context.Background(), d, []byte("x\n"), Options{})
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s on a read-only mount: %v, want EROFS", d, err)
		}
	}
	checkUnchanged(t, mbox, before, md)
}

// TestWriteFailsMidway: a child with RLIMIT_FSIZE gets EFBIG part-way
// through a 2 MB message (Go ignores SIGXFSZ).
func TestWriteFailsMidway(t *testing.T) {
	dir := t.TempDir()
	mbox, before := setupMbox(t, dir)
	md := filepath.Join(dir, "Maildir")
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, bigMessage(2<<20), 0o600)
	for _, dest := range []string{mbox, md + "/"} {
		code, _, stderr := runHelper(t, "deliver", "HELPER_FSIZE=1000000", "HELPER_MSG="+msgFile, "HELPER_DESTS="+dest)
		if code != 75 || !strings.Contains(stderr, "file too large") {
			t.Errorf("%s: exit %d, %q; want 75 and EFBIG", dest, code, stderr)
		}
	}
	checkUnchanged(t, mbox, before, md)
	// And the next delivery works.
	if _, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("x\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	if _, msgs := readMbox(t, mbox); len(msgs) != 2 {
		t.Errorf("%d messages after a good delivery, want 2", len(msgs))
	}
}

func TestHeldDotlock(t *testing.T) {
	dir := t.TempDir()
	mbox, before := setupMbox(t, dir)
	// A fresh lock held by a live process (this one).
	lock := mbox + ".lock"
	os.WriteFile(lock, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644)
	start := time.Now()
	_, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("x\n"), Options{LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("err = %v, want ErrLockTimeout", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("gave up after %v", el)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("someone else's lock removed: %v", err)
	}
	os.Remove(lock)
	checkUnchanged(t, mbox, before, "")

	// The same lock, but old: stale, broken, delivered.
	os.WriteFile(lock, []byte("1\n"), 0o644)
	old := time.Now().Add(-10 * time.Minute)
	os.Chtimes(lock, old, old)
	if _, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("x\n"), Options{LockTimeout: time.Second}); err != nil {
		t.Fatalf("stale lock not broken: %v", err)
	}
	if _, err := os.Stat(lock); err == nil {
		t.Errorf("lock left")
	}
}

// TestHeldFcntlLock: another program (Python, fcntl.lockf, the classic
// POSIX lock that procmail and mutt use) holds the mbox.
func TestHeldFcntlLock(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	mbox, before := setupMbox(t, dir)
	cmd := exec.Command(py, "-c", `import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()`, mbox)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf[:6]) != "locked" {
		t.Fatalf("python did not lock: %q %v", buf, err)
	}
	_, err = deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("x\n"), Options{LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrLockTimeout) {
		t.Errorf("err = %v, want ErrLockTimeout", err)
	}
	checkUnchanged(t, mbox, before, "")
	// Released while we wait: the delivery goes through.
	done := make(chan error, 1)
	go func() {
		_, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("x\n"), Options{LockTimeout: 10 * time.Second})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	stdin.Close()
	cmd.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, msgs := readMbox(t, mbox); len(msgs) != 2 {
		t.Errorf("%d messages, want 2", len(msgs))
	}
}

// TestKilledMidWrite kills a child with SIGKILL while it writes a large
// message slowly. Maildir: nothing in new/. mbox: the partial append is
// visible until the next delivery, which removes the dead child's lock,
// cuts the file back, and appends.
func TestKilledMidWrite(t *testing.T) {
	dir := t.TempDir()
	mbox, before := setupMbox(t, dir)
	md := filepath.Join(dir, "Maildir")
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, bigMessage(8<<20), 0o600)
	kill := func(dest string, partial func() bool) {
		cmd := helper(t, "deliver", "HELPER_SLOW_MS=100", "HELPER_MSG="+msgFile, "HELPER_DESTS="+dest)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for !partial() {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("%s: no partial write seen", dest)
			}
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait() // reaped: its pid is gone, not a zombie
		if cmd.ProcessState.Success() {
			t.Fatalf("%s: the child finished before the kill", dest)
		}
	}
	kill(md+"/", func() bool {
		names := listDir(t, filepath.Join(md, "tmp"))
		if len(names) == 0 {
			return false
		}
		fi, err := os.Stat(filepath.Join(md, "tmp", names[0]))
		return err == nil && fi.Size() > 2*chunkSize
	})
	if names := listDir(t, filepath.Join(md, "new")); len(names) != 0 {
		t.Errorf("new/ holds %v after the kill", names)
	}
	kill(mbox, func() bool {
		fi, err := os.Stat(mbox)
		return err == nil && fi.Size() > int64(len(before))+2*chunkSize
	})
	fi, _ := os.Stat(mbox)
	t.Logf("mbox after the kill: %d bytes (was %d), lock: %q", fi.Size(), len(before), mustRead(t, mbox+".lock"))
	if _, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("Subject: after\n\nok\n"), Options{LockTimeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	_, msgs := readMbox(t, mbox)
	want := []string{testPrefix + "Subject: first\n\nbody\n", testPrefix + "Subject: after\n\nok\n"}
	if len(msgs) != 2 || string(msgs[0]) != want[0] || string(msgs[1]) != want[1] {
		t.Errorf("after recovery the mbox holds %d messages: %.200q", len(msgs), msgs)
	}
	checkPython(t, mbox, msgs)
}

// TestRecoverySafety: a dead deliverer's record must not cut away a
// complete message appended after it by a program that used fcntl only,
// nor a file that does not hold the recorded From_ line.
func TestRecoverySafety(t *testing.T) {
	dir := t.TempDir()
	mbox, before := setupMbox(t, dir)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	syscall.Stat(mbox, &st)
	lead := "\nFrom dead@example.org Mon Jan  1 00:00:00 2024\n"
	rec := func(l string) string {
		h := sha256sum([]byte(l))
		return fmt.Sprintf("%d\nscandeliver host=%s dev=%d ino=%d size=%d lead=%d:%s\n", dead.Process.Pid, hostname(), st.Dev, st.Ino, len(before), len(l), h)
	}
	partial := lead + "Subject: cut off\n\nhalf a li"
	later := "\n\nFrom other@example.org Mon Jan  1 00:00:01 2024\nSubject: later\n\ncomplete\n\n"
	// Case 1: a later complete message: keep everything.
	os.WriteFile(mbox, append(append([]byte{}, before...), partial+later...), 0o600)
	os.WriteFile(mbox+".lock", []byte(rec(lead)), 0o644)
	if _, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("x\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, mbox); !bytes.HasPrefix(got, append(append([]byte{}, before...), partial+later...)) {
		t.Errorf("recovery cut away a later message")
	}
	// Case 2: the recorded lead is not there: keep everything.
	os.WriteFile(mbox, append(append([]byte{}, before...), partial...), 0o600)
	os.WriteFile(mbox+".lock", []byte(rec(lead+"x")), 0o644)
	if _, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("x\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, mbox); !bytes.HasPrefix(got, append(append([]byte{}, before...), partial...)) {
		t.Errorf("recovery cut a file that does not match the record")
	}
	// Case 3: it matches: cut back, then append.
	os.WriteFile(mbox, append(append([]byte{}, before...), partial...), 0o600)
	os.WriteFile(mbox+".lock", []byte(rec(lead)), 0o644)
	if _, err := deliverBytes(context.Background(), Dest{Path: mbox, Kind: Mbox}, []byte("x\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	if _, msgs := readMbox(t, mbox); len(msgs) != 2 || string(msgs[1]) != testPrefix+"x\n" {
		t.Errorf("after recovery: %q", msgs)
	}
}

// TestCancel: the caller cancels ctx (SIGTERM) mid-write; the delivery is
// rolled back.
func TestCancel(t *testing.T) {
	dir := t.TempDir()
	mbox, before := setupMbox(t, dir)
	md := filepath.Join(dir, "Maildir")
	msg := bigMessage(4 << 20)
	for _, d := range []Dest{{Path: mbox, Kind: Mbox}, {Path: md, Kind: Maildir}} {
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancelReader{r: bytes.NewReader(msg), after: 3, cancel: cancel}
		_, err := Deliver(ctx, d, []byte(testPrefix), r, int64(len(msg)), Envelope{}, Options{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", d, err)
		}
	}
	checkUnchanged(t, mbox, before, md)
}

type cancelReader struct {
	r      *bytes.Reader
	after  int
	cancel func()
}

func (c *cancelReader) ReadAt(p []byte, off int64) (int, error) {
	if c.after--; c.after == 0 {
		c.cancel()
	}
	return c.r.ReadAt(p, off)
}

func TestShortMessage(t *testing.T) {
	dir := t.TempDir()
	mbox, before := setupMbox(t, dir)
	md := filepath.Join(dir, "Maildir")
	for _, d := range []Dest{{Path: mbox, Kind: Mbox}, {Path: md, Kind: Maildir}} {
		_, err := Deliver(context.Background(), d, nil, strings.NewReader("short"), 100, Envelope{}, Options{})
		if !errors.Is(err, ErrShortMessage) {
			t.Errorf("%s: err = %v, want ErrShortMessage", d, err)
		}
	}
	checkUnchanged(t, mbox, before, md)
}

// TestNoSpace fills a 64 KiB tmpfs.
func TestNoSpace(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, out)
	}
	defer exec.Command("umount", dir).Run()
	mbox, before := setupMbox(t, dir)
	md := filepath.Join(dir, "Maildir")
	msg := bigMessage(200 << 10)
	for _, d := range []Dest{{Path: mbox, Kind: Mbox}, {Path: md, Kind: Maildir}} {
		_, err := deliverBytes(context.Background(), d, msg, Options{})
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("%s: err = %v, want ENOSPC", d, err)
		}
	}
	checkUnchanged(t, mbox, before, md)
}

func TestNotRegular(t *testing.T) {
	dir := t.TempDir()
	if _, err := deliverBytes(context.Background(), Dest{Path: dir, Kind: Mbox}, []byte("x\n"), Options{}); err == nil {
		t.Errorf("a directory accepted as an mbox")
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := deliverBytes(context.Background(), Dest{Path: f, Kind: Maildir}, []byte("x\n"), Options{}); err == nil {
		t.Errorf("a file accepted as a Maildir")
	}
	if os.Geteuid() == 0 {
		link := filepath.Join(dir, "link")
		os.Symlink(f, link)
		_, err := deliverBytes(context.Background(), Dest{Path: link, Kind: Mbox}, []byte("x\n"), Options{})
		if err == nil || !errors.Is(err, syscall.ELOOP) {
			t.Errorf("root followed a symlinked mbox: %v", err)
		}
	}
	_ = fs.ErrNotExist
}
