package quarantine

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Store is a quarantine directory. The zero Now means time.Now.
type Store struct {
	Dir   string           // the quarantine directory (quarantine_dir)
	Group string           // group name or number given read access; "" = none
	Now   func() time.Time // clock, for tests; nil = time.Now
}

// Report is the JSON description of an entry. Put fills ID, Time (when
// zero), Size and SHA256.
type Report struct {
	ID         string          `json:"id"`
	Time       time.Time       `json:"time"`
	Sender     string          `json:"sender"`
	Recipients []string        `json:"recipients"`
	MessageID  string          `json:"message_id,omitempty"`
	Subject    string          `json:"subject,omitempty"` // as decoded; escape before display
	Size       int64           `json:"size"`
	SHA256     string          `json:"sha256"`
	Status     string          `json:"status,omitempty"`  // clean, infected, blocked, unscannable
	Action     string          `json:"action,omitempty"`  // what happened to the message
	Ruleset    string          `json:"ruleset,omitempty"` // the ruleset applied, "" for [policy]
	Reasons    []string        `json:"reasons,omitempty"`
	Verdicts   []EngineVerdict `json:"verdicts,omitempty"`
	Decisions  []Decision      `json:"decisions,omitempty"`
	Released   []Release       `json:"released,omitempty"`
	Details    json.RawMessage `json:"details,omitempty"` // anything else the caller records (e.g. the full rules.Verdict)
}

// EngineVerdict is what one engine said.
type EngineVerdict struct {
	Engine     string   `json:"engine"`
	Result     string   `json:"result"` // clean, infected, spam, error, ...
	Signatures []string `json:"signatures,omitempty"`
	Score      float64  `json:"score,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// Decision is what the policy did to one part ("" = the message).
type Decision struct {
	Part    string `json:"part"`
	Name    string `json:"name,omitempty"`
	Action  string `json:"action"`
	Kind    string `json:"kind,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason,omitempty"`
	NewName string `json:"new_name,omitempty"`
}

// Release records one release of the entry (by the quarantine tool).
type Release struct {
	Time time.Time `json:"time"`
	To   string    `json:"to"` // destination or "resend"
	By   string    `json:"by,omitempty"`
}

// ErrNotFound is returned for a valid id with no entry.
var ErrNotFound = errors.New("no such quarantine entry")

// ErrBadID is returned for an id that is not of the form Put makes.
var ErrBadID = errors.New("malformed quarantine id")

// idRE is compiled on first use: a delivery that quarantines nothing
// should not pay for it at start-up.
var idRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-[0-9]{6}-[0-9a-f]{12}$`)
})

const idLayout = "20060102-150405.000000"

// ValidID reports whether id has the exact form of an id made by Put.
func ValidID(id string) bool {
	if !idRE().MatchString(id) {
		return false
	}
	_, err := IDTime(id)
	return err == nil
}

// IDTime returns the time encoded in an id.
func IDTime(id string) (time.Time, error) {
	if !idRE().MatchString(id) {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadID, id)
	}
	t, err := time.Parse(idLayout, id[:15]+"."+id[16:22])
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q: %v", ErrBadID, id, err)
	}
	return t, nil
}

func newID(now time.Time) (string, error) {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("quarantine id: %w", err)
	}
	s := now.UTC().Format(idLayout)
	return s[:15] + "-" + s[16:] + "-" + hex.EncodeToString(r[:]), nil
}

func (s Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// modes returns file and directory modes and the gid (-1 = leave).
func (s Store) modes() (file, dir os.FileMode, gid int, err error) {
	if s.Group == "" {
		return 0o600, 0o700, -1, nil
	}
	gid, err = strconv.Atoi(s.Group)
	if err != nil {
		g, lerr := user.LookupGroup(s.Group)
		if lerr != nil {
			return 0, 0, 0, fmt.Errorf("quarantine group %q: %w", s.Group, lerr)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return 0, 0, 0, fmt.Errorf("quarantine group %q: gid %q: %w", s.Group, g.Gid, err)
		}
	}
	return 0o640, 0o750, gid, nil
}

// mkdir makes dir with mode and group when it is missing. An existing
// directory is left as it is: its mode is the administrator's (install.sh
// sets the top directory's), and a non-root delivery could not change a
// directory it does not own anyway.
func mkdir(dir string, mode os.FileMode, gid int) error {
	err := os.Mkdir(dir, mode.Perm())
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	created := err == nil
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	if !created {
		return nil
	}
	return setMode(dir, mode, gid)
}

// sharedMode is the mode and group of the directories shared by every
// entry (tmp and the day directories) when they must be created: those of
// the top directory, so that the layout install.sh gives it (for
// instance root:GROUP 3773 for deliveries running as the recipient)
// carries down. gid -1 leaves the group as created.
func (s Store) sharedMode(def os.FileMode, defGid int) (os.FileMode, int) {
	fi, err := os.Stat(s.Dir)
	if err != nil {
		return def, defGid
	}
	m := fi.Mode() & (fs.ModePerm | fs.ModeSticky | fs.ModeSetgid)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return m, int(st.Gid)
	}
	return m, defGid
}

// setMode gives path its group (when it differs: a user who is not a
// member of the group may keep a group inherited from a set-gid
// directory, never set it) and its mode.
func setMode(path string, mode os.FileMode, gid int) error {
	if gid >= 0 {
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Gid) != gid {
			if err := os.Lchown(path, -1, gid); err != nil {
				return fmt.Errorf("giving %s to group %d: %w (is the quarantine directory set-gid to its group? see install.sh)", path, gid, err)
			}
		}
	}
	return os.Chmod(path, mode)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrPermission) {
		// A delivery running as the recipient cannot open the shared
		// directories (mode -wx for others, so that users cannot list the
		// quarantine): sync the whole file system instead, which makes
		// the rename durable as well.
		return syncFS(dir)
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// syncFS syncs the file system holding dir, through a descriptor opened
// without read permission (O_PATH is not enough for syncfs(2), so the
// nearest readable parent is used).
func syncFS(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		f, err := os.Open(d)
		if err == nil {
			defer f.Close()
			if err := unix.Syncfs(int(f.Fd())); err != nil {
				return fmt.Errorf("syncing the file system of %s: %w", dir, err)
			}
			return nil
		}
		if d == filepath.Dir(d) {
			return fmt.Errorf("syncing directory %s: %w", dir, err)
		}
	}
}

// writeFile creates path exclusively, copies r into it, syncs and closes.
func writeFile(path string, r io.Reader, mode os.FileMode, gid int) (n int64, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := setMode(path, mode, gid); err != nil {
		return 0, err
	}
	if n, err = io.Copy(f, r); err != nil {
		return n, err
	}
	return n, f.Sync()
}

func (s Store) entryDir(id string) string {
	return filepath.Join(s.Dir, id[:8], id)
}

// Put stores the original message read from raw, and the report, and
// returns the new entry's id. The entry is complete and synced to disk
// when Put returns nil; on error nothing is left behind.
func (s Store) Put(raw io.Reader, report Report) (id string, err error) {
	fmode, dmode, gid, err := s.modes()
	if err != nil {
		return "", err
	}
	tmp := filepath.Join(s.Dir, "tmp")
	if err := mkdir(s.Dir, dmode, gid); err != nil {
		return "", fmt.Errorf("quarantine directory: %w", err)
	}
	smode, sgid := s.sharedMode(dmode, gid)
	if err := mkdir(tmp, smode, sgid); err != nil {
		return "", fmt.Errorf("quarantine directory: %w", err)
	}
	now := s.now()
	var stage string
	for try := 0; ; try++ {
		if id, err = newID(now); err != nil {
			return "", err
		}
		stage = filepath.Join(tmp, id)
		err = os.Mkdir(stage, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try == 5 {
			return "", fmt.Errorf("quarantine entry: %w", err)
		}
	}
	defer func() {
		if err != nil {
			os.RemoveAll(stage)
			id = ""
		}
	}()
	// The entry's own mode is set last: for a user who is not a member
	// of the group, chmod drops the set-gid bit the stage inherited from
	// tmp, and the files must be created while it holds, to inherit the
	// group.
	h := sha256.New()
	n, err := writeFile(filepath.Join(stage, "message"), io.TeeReader(raw, h), fmode, gid)
	if err != nil {
		return "", fmt.Errorf("quarantine: writing message: %w", err)
	}
	report.ID = id
	if report.Time.IsZero() {
		report.Time = now.UTC()
	}
	report.Size = n
	report.SHA256 = hex.EncodeToString(h.Sum(nil))
	js, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return "", fmt.Errorf("quarantine: encoding report: %w", err)
	}
	if _, err := writeFile(filepath.Join(stage, "report.json"), bytes.NewReader(append(js, '\n')), fmode, gid); err != nil {
		return "", fmt.Errorf("quarantine: writing report: %w", err)
	}
	if err := setMode(stage, dmode, gid); err != nil {
		return "", fmt.Errorf("quarantine entry: %w", err)
	}
	if err := syncDir(stage); err != nil {
		return "", err
	}
	day := filepath.Join(s.Dir, id[:8])
	if err := mkdir(day, smode, sgid); err != nil {
		return "", fmt.Errorf("quarantine directory: %w", err)
	}
	if err := os.Rename(stage, filepath.Join(day, id)); err != nil {
		return "", fmt.Errorf("quarantine: %w", err)
	}
	stage = filepath.Join(day, id) // what to remove if syncing fails
	for _, d := range []string{day, tmp, s.Dir} {
		if err := syncDir(d); err != nil {
			return "", err
		}
	}
	return id, nil
}

func (s Store) check(id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("%w: %q", ErrBadID, id)
	}
	dir := s.entryDir(id)
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("quarantine entry %s: not a directory", id)
	}
	return dir, nil
}

// Get returns an entry's report.
func (s Store) Get(id string) (Report, error) {
	dir, err := s.check(id)
	if err != nil {
		return Report{}, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "report.json"), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return Report{}, fmt.Errorf("quarantine entry %s: %w", id, err)
	}
	defer f.Close()
	var r Report
	if err := json.NewDecoder(io.LimitReader(f, 64<<20)).Decode(&r); err != nil {
		return Report{}, fmt.Errorf("quarantine entry %s: report: %w", id, err)
	}
	if r.ID != id {
		return Report{}, fmt.Errorf("quarantine entry %s: report names %q", id, r.ID)
	}
	return r, nil
}

// Open opens an entry's original message for reading.
func (s Store) Open(id string) (*os.File, error) {
	dir, err := s.check(id)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "message"), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("quarantine entry %s: %w", id, err)
	}
	return f, nil
}

// ids lists the entry ids in the store, oldest first, from since on
// (the zero time lists all).
func (s Store) ids(since time.Time) ([]string, error) {
	days, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	first := ""
	if !since.IsZero() {
		first = since.UTC().Format("20060102")
	}
	var ids []string
	for _, d := range days {
		name := d.Name()
		if len(name) != 8 || !d.IsDir() || name < first || !allDigits(name) {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(s.Dir, name))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			id := e.Name()
			if !e.IsDir() || !ValidID(id) || id[:8] != name {
				continue
			}
			if t, _ := IDTime(id); !since.IsZero() && t.Before(since) {
				continue
			}
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// List returns the reports of the entries made at or after since (all for
// the zero time), oldest first. An entry whose report cannot be read is
// listed with only its ID and Time, and its error joined into the returned
// error.
func (s Store) List(since time.Time) ([]Report, error) {
	ids, err := s.ids(since)
	if err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	var out []Report
	var errs []error
	for _, id := range ids {
		r, err := s.Get(id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // deleted meanwhile
			}
			errs = append(errs, err)
			t, _ := IDTime(id)
			r = Report{ID: id, Time: t}
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Delete removes an entry.
func (s Store) Delete(id string) error {
	dir, err := s.check(id)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("deleting quarantine entry %s: %w", id, err)
	}
	return syncDir(filepath.Dir(dir))
}

// Purge deletes the entries older than olderThan, and staging leftovers
// of interrupted Puts as old, and returns the ids it deleted.
func (s Store) Purge(olderThan time.Duration) ([]string, error) {
	cutoff := s.now().Add(-olderThan)
	ids, err := s.ids(time.Time{})
	if err != nil {
		return nil, fmt.Errorf("purging quarantine: %w", err)
	}
	var done []string
	var errs []error
	for _, id := range ids {
		t, _ := IDTime(id)
		if !t.Before(cutoff) {
			continue
		}
		if err := s.Delete(id); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		done = append(done, id)
	}
	// Empty day directories before the cutoff's day.
	cutDay := cutoff.UTC().Format("20060102")
	if days, err := os.ReadDir(s.Dir); err == nil {
		for _, d := range days {
			if n := d.Name(); len(n) == 8 && allDigits(n) && n < cutDay {
				os.Remove(filepath.Join(s.Dir, n)) // fails, harmlessly, when not empty
			}
		}
	}
	// Staging leftovers.
	tmp := filepath.Join(s.Dir, "tmp")
	if ents, err := os.ReadDir(tmp); err == nil {
		for _, e := range ents {
			if t, err := IDTime(e.Name()); err == nil && t.Before(cutoff) {
				if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return done, errors.Join(errs...)
}

// Update rewrites an entry's report through fn (atomically: a new file
// renamed over the old). The ID, Size and SHA256 fields cannot change.
func (s Store) Update(id string, fn func(*Report)) error {
	r, err := s.Get(id)
	if err != nil {
		return err
	}
	keep := r
	fn(&r)
	r.ID, r.Size, r.SHA256 = keep.ID, keep.Size, keep.SHA256
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("quarantine entry %s: encoding report: %w", id, err)
	}
	fmode, _, gid, err := s.modes()
	if err != nil {
		return err
	}
	dir := s.entryDir(id)
	var rb [6]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".report."+hex.EncodeToString(rb[:]))
	if _, err := writeFile(tmp, bytes.NewReader(append(js, '\n')), fmode, gid); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("quarantine entry %s: %w", id, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "report.json")); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("quarantine entry %s: %w", id, err)
	}
	return syncDir(dir)
}

// Prepare creates the tmp directory and the day directories of today and
// the next days (days in all, at least 1) that are missing, with the top
// directory's mode and group. Run by root (the selftest and purge
// commands do it), it keeps them owned by root: a day directory first
// created by a delivery running as a user belongs to that user, who could
// then remove (not read) other users' entries of that day from it.
func (s Store) Prepare(days int) error {
	_, dmode, gid, err := s.modes()
	if err != nil {
		return err
	}
	if err := mkdir(s.Dir, dmode, gid); err != nil {
		return fmt.Errorf("quarantine directory: %w", err)
	}
	smode, sgid := s.sharedMode(dmode, gid)
	dirs := []string{filepath.Join(s.Dir, "tmp")}
	now := s.now().UTC()
	for i := 0; i < max(days, 1); i++ {
		dirs = append(dirs, filepath.Join(s.Dir, now.AddDate(0, 0, i).Format("20060102")))
	}
	for _, d := range dirs {
		if err := mkdir(d, smode, sgid); err != nil {
			return fmt.Errorf("quarantine directory: %w", err)
		}
	}
	return nil
}
