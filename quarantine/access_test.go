package quarantine

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The helper process: run by TestNonRootAccess as another user, it does
// one operation on the store named in the environment and prints the
// result as JSON.
func TestMain(m *testing.M) {
	if op := os.Getenv("QUARANTINE_HELPER_OP"); op != "" {
		os.Exit(helper(op))
	}
	os.Exit(m.Run())
}

type helperOut struct {
	ID    string   `json:"id,omitempty"`
	IDs   []string `json:"ids,omitempty"`
	Data  []byte   `json:"data,omitempty"`
	Error string   `json:"error,omitempty"`
}

func helper(op string) int {
	s := Store{Dir: os.Getenv("QUARANTINE_HELPER_DIR"), Group: os.Getenv("QUARANTINE_HELPER_GROUP")}
	var out helperOut
	switch op {
	case "put":
		id, err := s.Put(bytes.NewReader(raw), Report{Sender: "a@b.c"})
		out.ID = id
		if err != nil {
			out.Error = err.Error()
		}
	case "list":
		rs, err := s.List(time.Time{})
		for _, r := range rs {
			out.IDs = append(out.IDs, r.ID)
		}
		if err != nil {
			out.Error = err.Error()
		}
	case "read":
		f, err := s.Open(os.Getenv("QUARANTINE_HELPER_ID"))
		if err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			out.Data = b
		} else {
			out.Error = err.Error()
		}
		// And by path, without the store's listing.
		p := filepath.Join(s.Dir, os.Getenv("QUARANTINE_HELPER_ID"), "message")
		if b, err := os.ReadFile(p); err == nil {
			out.Data = b
		}
	case "delete":
		p := filepath.Join(s.Dir, os.Getenv("QUARANTINE_HELPER_ID"))
		var errs []string
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err.Error())
		}
		if err := os.Rename(p, p+"-hidden"); err != nil {
			errs = append(errs, err.Error())
		}
		out.Error = strings.Join(errs, "; ")
	}
	json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

// runAs runs this test binary (copied where every user can execute it)
// as uid:gid for one helper operation.
func runAs(t *testing.T, bin string, uid, gid int, op, dir, group, id string) helperOut {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"QUARANTINE_HELPER_OP=" + op, "QUARANTINE_HELPER_DIR=" + dir, "QUARANTINE_HELPER_GROUP=" + group, "QUARANTINE_HELPER_ID=" + id}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	cmd.Dir = "/"
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper %s as %d:%d: %v", op, uid, gid, err)
	}
	var h helperOut
	if err := json.Unmarshal(out, &h); err != nil {
		t.Fatalf("helper %s: %v: %q", op, err, out)
	}
	return h
}

// TestNonRootAccess is the layout for deliveries that run as the
// recipient (Postfix mailbox_command): the quarantine directory
// root:GROUP mode 3773 (install.sh), deliveries as two unprivileged users
// who are not in GROUP. Each can quarantine; neither can list the
// quarantine or read (or remove) the other's entry; a member of GROUP can
// list and read both; root can too.
func TestNonRootAccess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run helpers as other users")
	}
	grp, err := user.LookupGroup("mail")
	if err != nil {
		t.Skip("no group mail")
	}
	gid, _ := strconv.Atoi(grp.Gid)
	nobody, nogroup := 65534, 65534
	other := 65533 // a second unprivileged uid, with no passwd entry
	member := 65532
	base := t.TempDir()
	for d := base; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // searchable by the helpers
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "helper.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "quarantine")
	// What install.sh does.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o773|os.ModeSticky|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	s := Store{Dir: dir, Group: "mail"}
	if err := s.Ensure(); err != nil {
		t.Fatal(err)
	}

	a := runAs(t, bin, nobody, nogroup, "put", dir, "mail", "")
	if a.Error != "" || !ValidID(a.ID) {
		t.Fatalf("put as nobody: %+v", a)
	}
	o := runAs(t, bin, other, nogroup, "put", dir, "mail", "")
	if o.Error != "" || !ValidID(o.ID) {
		t.Fatalf("put as uid %d: %+v", other, o)
	}
	// The entries: owned by their writer, group mail, 0640 in 0750.
	for _, c := range []struct {
		id  string
		uid int
	}{{a.ID, nobody}, {o.ID, other}} {
		for _, p := range []string{s.entryDir(c.id), filepath.Join(s.entryDir(c.id), "message"), filepath.Join(s.entryDir(c.id), "report.json")} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			want := os.FileMode(0o640)
			if fi.IsDir() {
				want = 0o750
			}
			if int(st.Uid) != c.uid || int(st.Gid) != gid || fi.Mode().Perm() != want {
				t.Errorf("%s: %d:%d %v, want %d:%d %v", p, st.Uid, st.Gid, fi.Mode().Perm(), c.uid, gid, want)
			}
		}
	}
	// nobody can neither list nor read the other's entry, nor remove it.
	if l := runAs(t, bin, nobody, nogroup, "list", dir, "mail", ""); len(l.IDs) != 0 || l.Error == "" {
		t.Errorf("nobody lists the quarantine: %+v", l)
	}
	if r := runAs(t, bin, nobody, nogroup, "read", dir, "mail", o.ID); len(r.Data) != 0 || !strings.Contains(r.Error, "permission denied") {
		t.Errorf("nobody reads uid %d's entry: %+v", other, r)
	}
	if r := runAs(t, bin, nobody, nogroup, "delete", dir, "mail", o.ID); r.Error == "" {
		t.Errorf("nobody removed uid %d's entry", other)
	}
	if _, err := os.Stat(s.entryDir(o.ID)); err != nil {
		t.Errorf("entry gone: %v", err)
	}
	// A member of the group lists and reads both.
	l := runAs(t, bin, member, gid, "list", dir, "mail", "")
	if l.Error != "" || len(l.IDs) != 2 {
		t.Errorf("group member's list: %+v", l)
	}
	for _, id := range []string{a.ID, o.ID} {
		if r := runAs(t, bin, member, gid, "read", dir, "mail", id); !bytes.Equal(r.Data, raw) {
			t.Errorf("group member reads %s: %+v", id, r)
		}
	}
	// Root too, and root purges.
	rs, err := s.List(time.Time{})
	if err != nil || len(rs) != 2 {
		t.Errorf("root lists %d entries: %v", len(rs), err)
	}
	done, err := s.Purge(-1)
	if err != nil || len(done) != 2 {
		t.Errorf("root purges %v: %v", done, err)
	}
}
