package deliver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

func TestLookupUser(t *testing.T) {
	u, err := LookupUser("root")
	if err != nil {
		t.Fatal(err)
	}
	if u.Uid != 0 || u.Gid != 0 || u.Name != "root" || u.Home == "" || len(u.Groups) == 0 || u.Groups[0] != 0 {
		t.Errorf("root = %+v", u)
	}
	for _, name := range []string{"no-such-user-scandeliver", "", "a:b", "../etc", "x\x00"} {
		if _, err := LookupUser(name); !errors.Is(err, ErrNoUser) {
			t.Errorf("LookupUser(%q): %v, want ErrNoUser", name, err)
		}
	}
}

// TestDropPrivileges: a child drops to nobody, then cannot write into a
// root-owned 0700 directory (which this root process can), and cannot
// become root again.
func TestDropPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "needs root: it drops privileges to nobody")
	}
	nobody, err := LookupUser("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "control"), []byte("x"), 0o600); err != nil {
		t.Fatalf("root cannot write its own directory: %v", err)
	}
	code, out, stderr := runHelper(t, "drop", "HELPER_USER=nobody", "HELPER_DIR="+dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "uid=65534 euid=65534"
	if nobody.Uid != 65534 {
		want = "uid=" + itoa(int64(nobody.Uid))
	}
	if !strings.Contains(out, want) {
		t.Errorf("child reports %q, want %q", out, want)
	}
	if !strings.Contains(out, "write: open") || !strings.Contains(out, "permission denied") {
		t.Errorf("child could write a root-only directory: %q", out)
	}
	if !strings.Contains(out, "regain: switching to user \"root\"") {
		t.Errorf("dropping to root again did not fail: %q", out)
	}
	// Not root and already that user: a no-op.
	if os.Geteuid() == 0 {
		self := &User{Name: "root", Uid: 0, Gid: 0, Groups: []int{0}}
		if err := DropPrivileges(self); err != nil {
			t.Errorf("root to root: %v", err)
		}
	}
	if err := DropPrivileges(nil); err == nil {
		t.Errorf("nil user accepted")
	}
}
