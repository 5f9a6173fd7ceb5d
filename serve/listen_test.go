package serve

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestListenGroupNoFollow: a socket swapped for a symbolic link between
// its creation and the setting of its group (by whoever can write its
// directory: postfix, for /var/spool/postfix/private) does not make root
// give that group a file the link points to; Listen fails instead.
func TestListenGroupNoFollow(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "needs root: it sets a socket's group")
	}
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("secret\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "lmtp")
	afterBind = func(path string) {
		if err := os.Remove(path); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(victim, path); err != nil {
			t.Error(err)
		}
	}
	defer func() { afterBind = nil }()
	l, err := Listen("unix:"+sock, "daemon")
	if err == nil {
		l.Close()
		t.Errorf("Listen succeeded on a socket replaced by a link")
	}
	fi, err := os.Stat(victim)
	if err != nil {
		t.Fatal(err)
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 0 {
		t.Errorf("the link's target got group %d: the group was set through the link", gid)
	}
}

// TestListenGroup: the socket gets the group.
func TestListenGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "needs root: it sets a socket's group")
	}
	sock := filepath.Join(t.TempDir(), "lmtp")
	l, err := Listen("unix:"+sock, "daemon")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Sys().(*syscall.Stat_t).Gid != 1 || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket: mode %v gid %d, want a socket 0660 of group daemon (1)", fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid)
	}
}
