package quarantine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// A message with what byte-for-byte storage must keep: CRLF and bare LF,
// a NUL, 8-bit bytes, no final newline.
var raw = []byte("From: a@b.c\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody\x00\xff\nlast line")

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestPutGetOpen(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "q")}
	rep := Report{Sender: "a@b.c", Recipients: []string{"u@example.org"}, Subject: "café\u202e", Status: "infected",
		Action: "deliver", Decisions: []Decision{{Part: "2", Name: "../../x.exe", Action: "deny", Rule: "infected"}},
		Verdicts: []EngineVerdict{{Engine: "clamd", Result: "infected", Signatures: []string{"Eicar-Signature"}}}}
	id, err := s.Put(bytes.NewReader(raw), rep)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidID(id) {
		t.Fatalf("id %q invalid", id)
	}
	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Size != int64(len(raw)) || len(got.SHA256) != 64 || got.Subject != rep.Subject ||
		got.Decisions[0].Name != "../../x.exe" || got.Verdicts[0].Signatures[0] != "Eicar-Signature" || got.Time.IsZero() {
		t.Errorf("report %+v", got)
	}
	f, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(b, raw) {
		t.Errorf("stored %q, want %q", b, raw)
	}
	// The layout: Dir/<id>/{message,report.json}, and nothing else:
	// no directory between the top one and the entry, no staging left.
	for _, name := range []string{"message", "report.json"} {
		if _, err := os.Stat(filepath.Join(s.Dir, id, name)); err != nil {
			t.Error(err)
		}
	}
	if ents, _ := os.ReadDir(s.Dir); len(ents) != 1 || ents[0].Name() != id {
		t.Errorf("quarantine directory holds %v", ents)
	}
	if got.Author != os.Geteuid() {
		t.Errorf("author %d, want %d", got.Author, os.Geteuid())
	}
	// No name from the message in any path.
	filepath.Walk(s.Dir, func(p string, _ os.FileInfo, _ error) error {
		if strings.Contains(p, "x.exe") || strings.Contains(p, "caf") {
			t.Errorf("message data in path %s", p)
		}
		return nil
	})
}

func TestModes(t *testing.T) {
	old := syscall.Umask(0o077) // the modes must not depend on the umask
	defer syscall.Umask(old)
	gid := os.Getgid()
	for _, c := range []struct {
		group        string
		file, dir    os.FileMode
		wantGid      int
		wantErr      bool
		groupByLabel bool
	}{
		{"", 0o600, 0o700, gid, false, false},
		{strconv.Itoa(gid), 0o640, 0o750, gid, false, false},
		{"no-such-group-x9", 0, 0, 0, true, false},
	} {
		s := Store{Dir: filepath.Join(t.TempDir(), "q"), Group: c.group}
		id, err := s.Put(bytes.NewReader(raw), Report{})
		if c.wantErr {
			if err == nil {
				t.Errorf("group %q: no error", c.group)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{s.entryDir(id),
			filepath.Join(s.entryDir(id), "message"), filepath.Join(s.entryDir(id), "report.json")} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			want := c.file
			if fi.IsDir() {
				want = c.dir
			}
			if fi.Mode().Perm() != want {
				t.Errorf("group %q: %s mode %v, want %v", c.group, p, fi.Mode().Perm(), want)
			}
			if st := fi.Sys().(*syscall.Stat_t); int(st.Gid) != c.wantGid {
				t.Errorf("group %q: %s gid %d, want %d", c.group, p, st.Gid, c.wantGid)
			}
		}
	}
	// By name: the group of a gid other than ours when we are root, to see
	// chown happen.
	if os.Geteuid() == 0 {
		s := Store{Dir: filepath.Join(t.TempDir(), "q"), Group: "mail"}
		id, err := s.Put(bytes.NewReader(raw), Report{})
		if err != nil {
			t.Skipf("no group mail: %v", err)
		}
		fi, _ := os.Stat(filepath.Join(s.entryDir(id), "message"))
		if st := fi.Sys().(*syscall.Stat_t); st.Gid != 8 || st.Uid != 0 {
			t.Errorf("owner %d:%d, want root:mail (0:8)", st.Uid, st.Gid)
		}
	}
}

func TestHostileIDs(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "q")}
	id, err := s.Put(bytes.NewReader(raw), Report{})
	if err != nil {
		t.Fatal(err)
	}
	// Something outside the store that a traversal would reach.
	outside := filepath.Join(filepath.Dir(s.Dir), "victim")
	os.MkdirAll(outside, 0o700)
	os.WriteFile(filepath.Join(outside, "report.json"), []byte(`{"id":"x"}`), 0o600)
	for _, bad := range []string{"", ".", "..", "../victim", "../../etc/passwd", id + "/../" + id, id + "/", "/" + id,
		strings.ToUpper(id), id + "0", id[:len(id)-1], id + "\x00", "20261327-154843-123456-9f86d081884c",
		"20261127-256843-123456-9f86d081884c", "20261127-154843-123456-9f86d081884g", "20261127_154843_123456_9f86d081884c",
		"tmp", id[:8], "20261127-154843-123456-9f86d081884c\n"} {
		if _, err := s.Get(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("Get(%q): %v, want ErrBadID", bad, err)
		}
		if f, err := s.Open(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("Open(%q): %v, want ErrBadID", bad, err)
			if f != nil {
				f.Close()
			}
		}
		if err := s.Delete(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("Delete(%q): %v, want ErrBadID", bad, err)
		}
		if err := s.Update(bad, func(*Report) {}); !errors.Is(err, ErrBadID) {
			t.Errorf("Update(%q): %v", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "report.json")); err != nil {
		t.Errorf("outside file touched: %v", err)
	}
	absent := id[:23] + "000000000000"
	if absent == id {
		absent = id[:23] + "111111111111"
	}
	if _, err := s.Get(absent); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent: %v", err)
	}
	// An entry replaced by a symbolic link is refused, not followed.
	link := id[:23] + "222222222222"
	if err := os.Symlink(outside, filepath.Join(s.Dir, link)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(link); err == nil {
		t.Error("followed a symlinked entry")
	}
	if err := s.Delete(link); err == nil {
		t.Error("deleted through a symlinked entry")
	}
	if _, err := os.Stat(filepath.Join(outside, "report.json")); err != nil {
		t.Errorf("outside file touched: %v", err)
	}
}

func TestConcurrentPut(t *testing.T) {
	// Every writer at the same microsecond: only the random part differs.
	s := Store{Dir: filepath.Join(t.TempDir(), "q"), Now: fixedClock(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC))}
	const n = 40
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id, err := s.Put(strings.NewReader(fmt.Sprintf("message %d\n", i)), Report{Sender: strconv.Itoa(i)})
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}(i)
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		r, err := s.Get(id)
		if err != nil || r.Sender != strconv.Itoa(i) {
			t.Errorf("%s: %+v %v", id, r, err)
		}
		f, _ := s.Open(id)
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != fmt.Sprintf("message %d\n", i) {
			t.Errorf("%s holds %q", id, b)
		}
	}
	list, err := s.List(time.Time{})
	if err != nil || len(list) != n {
		t.Errorf("listed %d, %v", len(list), err)
	}
}

func TestListSortedAndSince(t *testing.T) {
	base := time.Date(2026, 1, 31, 23, 59, 59, 999999000, time.UTC)
	var want []string
	dir := filepath.Join(t.TempDir(), "q")
	// Out of order on purpose.
	for _, d := range []time.Duration{50 * 24 * time.Hour, 0, 48 * time.Hour, time.Microsecond, time.Hour} {
		s := Store{Dir: dir, Now: fixedClock(base.Add(d))}
		id, err := s.Put(bytes.NewReader(raw), Report{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
		if got, _ := IDTime(id); !got.Equal(base.Add(d).Truncate(time.Microsecond)) {
			t.Errorf("IDTime(%s) = %v, want %v", id, got, base.Add(d))
		}
	}
	sort.Strings(want)
	s := Store{Dir: dir}
	list, err := s.List(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range list {
		got = append(got, r.ID)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("list %v, want %v", got, want)
	}
	// The ids sort in time order.
	for i := 1; i < len(list); i++ {
		if !list[i-1].Time.Before(list[i].Time) {
			t.Errorf("%s not before %s", list[i-1].ID, list[i].ID)
		}
	}
	since, err := s.List(base.Add(time.Hour))
	if err != nil || len(since) != 3 || since[0].ID != want[2] {
		t.Errorf("since: %d entries, %v", len(since), err)
	}
	// An unreadable report is listed by id, with an error.
	os.WriteFile(filepath.Join(s.entryDir(want[0]), "report.json"), []byte("{"), 0o600)
	list, err = s.List(time.Time{})
	if err == nil || len(list) != 5 || list[0].ID != want[0] {
		t.Errorf("corrupt report: %d entries, %v", len(list), err)
	}
	// Stray files are ignored.
	os.WriteFile(filepath.Join(dir, "README"), nil, 0o600)
	os.MkdirAll(filepath.Join(dir, "2026013x"), 0o700)
	os.MkdirAll(filepath.Join(dir, "not-an-id"), 0o700)
	os.Symlink("/etc", filepath.Join(dir, want[1][:23]+"999999999999"))
	if list, _ := s.List(time.Time{}); len(list) != 6 {
		t.Errorf("strays listed: %d", len(list))
	}
}

func TestDeletePurge(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	day := 24 * time.Hour
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for _, d := range []time.Duration{0, day, 9 * day, 10 * day} {
		id, err := Store{Dir: dir, Now: fixedClock(t0.Add(d))}.Put(bytes.NewReader(raw), Report{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// A leftover of an interrupted Put.
	stale := ids[0][:23] + "abcdefabcdef"
	os.MkdirAll(filepath.Join(dir, ".tmp."+stale), 0o700)
	s := Store{Dir: dir, Now: fixedClock(t0.Add(10 * day))}
	gone, err := s.Purge(5 * day)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(gone, " ") != ids[0]+" "+ids[1] {
		t.Errorf("purged %v, want the first two of %v", gone, ids)
	}
	for _, id := range ids[:2] {
		if _, err := s.Get(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s still there: %v", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp."+stale)); !os.IsNotExist(err) {
		t.Error("stale staging entry kept")
	}
	if err := s.Delete(ids[2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ids[2]); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if list, _ := s.List(time.Time{}); len(list) != 1 || list[0].ID != ids[3] {
		t.Errorf("left %v", list)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	r.n -= len(p)
	return len(p), nil
}

func TestPutFailureLeavesNothing(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "q")}
	if _, err := s.Put(&failingReader{n: 10000}, Report{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err %v", err)
	}
	if ents, _ := os.ReadDir(s.Dir); len(ents) != 0 {
		t.Errorf("quarantine directory holds %v", ents)
	}
	if list, _ := s.List(time.Time{}); len(list) != 0 {
		t.Errorf("listed %v", list)
	}
	// A store directory that cannot be made.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := (Store{Dir: filepath.Join(file, "q")}).Put(bytes.NewReader(raw), Report{}); err == nil {
		t.Error("no error under a file")
	}
}

func TestUpdate(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "q")}
	id, err := s.Put(bytes.NewReader(raw), Report{Status: "infected"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	err = s.Update(id, func(r *Report) {
		r.Released = append(r.Released, Release{Time: at, To: "/home/u/Maildir/", By: "root"})
		r.ID, r.Size = "hijack", 1
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Get(id)
	if err != nil || len(r.Released) != 1 || !r.Released[0].Time.Equal(at) || r.Size != int64(len(raw)) || r.Status != "infected" {
		t.Errorf("%+v %v", r, err)
	}
	ents, _ := os.ReadDir(s.entryDir(id))
	if len(ents) != 2 {
		t.Errorf("entry holds %v", ents)
	}
}

func FuzzID(f *testing.F) {
	f.Add("20261127-154843-123456-9f86d081884c")
	f.Add("../../etc/passwd")
	f.Add("20261127-154843-123456-9f86d081884c/../x")
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidID(id) {
			return
		}
		dir := "/q"
		p := Store{Dir: dir}.entryDir(id)
		if filepath.Clean(p) != p || !strings.HasPrefix(p, dir+"/") || strings.Count(p, "/") != 2 {
			t.Fatalf("id %q gives path %q", id, p)
		}
		tm, err := IDTime(id)
		if err != nil {
			t.Fatal(err)
		}
		s := tm.Format(idLayout)
		if s[:15]+"-"+s[16:] != id[:22] {
			t.Fatalf("id %q time %v does not round-trip", id, tm)
		}
	})
}

func (s Store) entryDir(id string) string { return filepath.Join(s.Dir, id) }

// TestMigrate: the old layout (Dir/YYYYMMDD/<id>, Dir/tmp) is moved into
// place by Purge and Migrate: entries keep their ids and content, the day
// and tmp directories go.
func TestMigrate(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "q")}
	id, err := s.Put(bytes.NewReader(raw), Report{Sender: "old@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	day := filepath.Join(s.Dir, id[:8])
	os.Mkdir(day, 0o777)
	if err := os.Rename(filepath.Join(s.Dir, id), filepath.Join(day, id)); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(s.Dir, "tmp", id[:23]+"000000000000"), 0o700)
	os.WriteFile(filepath.Join(day, "junk"), nil, 0o600)
	if _, err := s.List(time.Time{}); err == nil || !strings.Contains(err.Error(), "old layout") {
		t.Errorf("list of the old layout: %v", err)
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "migrating needs root")
	}
	if _, err := s.Purge(1000 * time.Hour); err != nil {
		t.Fatal(err)
	}
	r, err := s.Get(id)
	if err != nil || r.Sender != "old@example.org" {
		t.Errorf("after migration: %+v %v", r, err)
	}
	for _, d := range []string{day, filepath.Join(s.Dir, "tmp")} {
		if _, err := os.Lstat(d); err == nil {
			t.Errorf("%s left", d)
		}
	}
}

// TestEntryChecks: what an entry's author could plant is refused: a
// message that is a hard link, a file owned by someone else, a FIFO; and
// a top directory that is not safe.
func TestEntryChecks(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "q")}
	id, err := s.Put(bytes.NewReader(raw), Report{})
	if err != nil {
		t.Fatal(err)
	}
	msg := filepath.Join(s.Dir, id, "message")
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("secret"), 0o600)

	os.Remove(msg)
	if err := os.Link(other, msg); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Open(id); err == nil || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("hard-linked message opened: %v", err)
		if f != nil {
			f.Close()
		}
	}
	os.Remove(msg)
	if err := syscall.Mkfifo(msg, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := s.Open(id)
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO was opened as the message")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	if os.Geteuid() == 0 {
		os.Remove(msg)
		os.WriteFile(msg, raw, 0o600)
		os.Chown(msg, 65534, 65534)
		if f, err := s.Open(id); err == nil || !strings.Contains(err.Error(), "not by the entry's author") {
			t.Errorf("a file of another owner opened: %v", err)
			if f != nil {
				f.Close()
			}
		}
		// A top directory owned by another user, or open to all without
		// the sticky bit.
		os.Chown(s.Dir, 65534, 65534)
		if _, err := s.Get(id); !errors.Is(err, ErrLayout) {
			t.Errorf("top directory owned by nobody: %v", err)
		}
		os.Chown(s.Dir, 0, 0)
	}
	os.Chmod(s.Dir, 0o777)
	if _, err := s.Put(bytes.NewReader(raw), Report{}); !errors.Is(err, ErrLayout) {
		t.Errorf("top directory 0777 without the sticky bit: %v", err)
	}
	os.Chmod(s.Dir, 0o777|os.ModeSticky)
	if _, err := s.Put(bytes.NewReader(raw), Report{}); err != nil {
		t.Errorf("top directory 1777: %v", err)
	}
}
