package command

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperScan is not a test: TestKilledLeavesNothing runs the test
// binary with SCANDELIVER_CMD_HELPER set, and this then is the process
// that scans, to be killed.
func TestHelperScan(t *testing.T) {
	v := os.Getenv("SCANDELIVER_CMD_HELPER")
	if v == "" {
		t.Skip("a helper process for TestKilledLeavesNothing")
	}
	tmp, pidFile, _ := strings.Cut(v, ",")
	s := &Scanner{Argv: []string{"/bin/sh", "-c", `echo $$ > "$0"; exec sleep 300`, pidFile}, TempDir: tmp}
	s.Scan(context.Background(), content([]byte("x")))
	t.Fatal("the scan returned")
}

// TestKilledLeavesNothing kills (SIGKILL) a process in the middle of a
// scan (issue 12.4: the scanner went on running and its private
// directory stayed): the scanner dies with it, and Sweep in the next
// process removes the directory.
func TestKilledLeavesNothing(t *testing.T) {
	tmp := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "scanner.pid")
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperScan$", "-test.count=1")
	helper.Env = append(os.Environ(), "SCANDELIVER_CMD_HELPER="+tmp+","+pidFile)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill()
	var pid int
	// A minute for the helper to start the scanner (it ends as soon as it
	// has; a loaded machine can take seconds to start a test binary).
	for deadline := time.Now().Add(time.Minute); pid == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if pid == 0 {
		t.Fatal("the scanner did not start")
	}
	helper.Process.Signal(syscall.SIGKILL)
	helper.Wait()
	for deadline := time.Now().Add(time.Minute); alive(pid) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the scanner (pid %d) outlived the process that ran it", pid)
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 1 {
		t.Fatalf("%d directories left by the killed process, want its 1", len(left))
	}
	if n := Sweep(tmp, time.Now()); n != 1 {
		t.Errorf("Sweep removed %d, want 1", n)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left after Sweep: %v", left)
	}
}

// TestSweepOnlyOurs: Sweep removes only the private directories of dead
// processes of ours, follows no symbolic link, and leaves alone what runs.
func TestSweepOnlyOurs(t *testing.T) {
	tmp := t.TempDir()
	dead := deadPid(t)
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(tmp, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		os.WriteFile(filepath.Join(p, "object"), []byte("x"), 0o600)
		return p
	}
	stale := mk(fmt.Sprintf("scandeliver-cmd-%d-1", dead), 0o700)
	old := mk("scandeliver-cmd-123456", 0o700)
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(old, past, past)
	keep := []string{
		mk(fmt.Sprintf("scandeliver-cmd-%d-2", os.Getppid()), 0o700), // a live process
		mk(fmt.Sprintf("scandeliver-cmd-%d-3", os.Getpid()), 0o700),  // ourselves
		mk(fmt.Sprintf("scandeliver-cmd-%d-4", dead), 0o755),         // not our mode
		mk("scandeliver-cmd-654321", 0o700),                          // old naming, recent
		mk("other-dir", 0o700),
	}
	// A symbolic link named like ours, to a directory that must survive.
	target := t.TempDir()
	os.WriteFile(filepath.Join(target, "precious"), []byte("x"), 0o600)
	link := filepath.Join(tmp, fmt.Sprintf("scandeliver-cmd-%d-5", dead))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, link)
	if os.Geteuid() == 0 {
		// Another user's directory.
		p := mk(fmt.Sprintf("scandeliver-cmd-%d-6", dead), 0o700)
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		keep = append(keep, p)
	}
	if n := Sweep(tmp, time.Now()); n != 2 {
		t.Errorf("Sweep removed %d, want 2", n)
	}
	for _, p := range []string{stale, old} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s not removed", filepath.Base(p))
		}
	}
	for _, p := range keep {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed", filepath.Base(p))
		}
	}
	if _, err := os.Stat(filepath.Join(target, "precious")); err != nil {
		t.Errorf("the link's target was emptied: %v", err)
	}
}

// deadPid returns the pid of a process that has ended.
func deadPid(t *testing.T) int {
	t.Helper()
	c := exec.Command("/bin/true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}
