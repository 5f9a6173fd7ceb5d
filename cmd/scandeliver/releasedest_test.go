package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestNearestOwnerLinks: the user a release --to runs as is found
// without following a symbolic link a user placed (issue 12.1: nothing
// is opened through a link). The uids are numbers only (Lchown as root),
// no users are needed.
func TestNearestOwnerLinks(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "needs root: it gives files to other uids (lchown)")
	}
	const u1, u2 = 4201, 4202
	base := t.TempDir()
	os.Chmod(base, 0o755)
	mk := func(p string, uid int) string {
		p = filepath.Join(base, p)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(target, p string, uid int) {
		p = filepath.Join(base, p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	mk("u1", u1)
	mk("u1/real", u1)
	mk("u2", u2)
	mk("u2/Maildir", u2)
	mk("rootonly", 0)
	os.WriteFile(filepath.Join(base, "rootfile"), []byte("root's\n"), 0o600)
	link(filepath.Join(base, "u2/Maildir"), "u1/Maildir", u1) // to another user's Maildir
	link(filepath.Join(base, "rootfile"), "u1/mbox", u1)      // to a root file (an mbox destination)
	link(filepath.Join(base, "rootonly/new"), "u1/dangling", u1)
	link(filepath.Join(base, "u2"), "u1/lnk", u1) // a directory on the way
	link(filepath.Join(base, "u1/real"), "u1/own", u1)
	link("../u1/real", "u1/ownrel", u1)
	link(filepath.Join(base, "u2"), "rootlink", 0) // root's: followed
	link("loop", "u1/loop", u1)

	for _, c := range []struct {
		path string
		uid  int // -1: refused
	}{
		{"u1/Maildir", -1},
		{"u1/mbox", -1},
		{"u1/dangling", -1},
		{"u1/lnk/Maildir", -1},
		{"u1/lnk/new/Maildir", -1},
		{"u1/loop", -1},
		{"u1/own", u1},
		{"u1/own/Maildir", u1},
		{"u1/ownrel/Maildir", u1},
		{"u1/new/Maildir", u1},
		{"u2/Maildir", u2},
		{"rootlink/Maildir", u2},
		{"rootonly/x", 0},
	} {
		uid, _, err := nearestOwner(filepath.Join(base, c.path))
		switch {
		case c.uid < 0 && err == nil:
			t.Errorf("%s: uid %d, want refused", c.path, uid)
		case c.uid >= 0 && (err != nil || uid != c.uid):
			t.Errorf("%s: uid %d (%v), want %d", c.path, uid, err, c.uid)
		case err != nil && !strings.Contains(err.Error(), "refused") && !strings.Contains(err.Error(), "too many"):
			t.Errorf("%s: %v", c.path, err)
		}
	}
}
