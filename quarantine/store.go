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
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Store is a quarantine directory. The zero Now means time.Now.
type Store struct {
	Dir   string           // the quarantine directory (quarantine_dir)
	Group string           // group name or number given read access; "" = none
	Now   func() time.Time // clock, for tests; nil = time.Now
	// Trusted are the uids, besides root, whose entries may be released
	// to any recipient: the service user of a delivery daemon that
	// quarantines for everyone. Any other author's entries are released
	// only to that author (see MayRelease).
	Trusted []int
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
	// Author is the uid that wrote the entry: the owner of its directory
	// and files, as the kernel records it. Get always sets it from
	// fstat(2); whatever report.json says is ignored.
	Author  int             `json:"author_uid"`
	Details json.RawMessage `json:"details,omitempty"` // anything else the caller records (e.g. the full rules.Verdict)
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
	gid, err = s.gid()
	if err != nil {
		return 0, 0, 0, err
	}
	return 0o640, 0o750, gid, nil
}

func (s Store) gid() (int, error) {
	gid, err := strconv.Atoi(s.Group)
	if err == nil {
		return gid, nil
	}
	g, lerr := user.LookupGroup(s.Group)
	if lerr != nil {
		return 0, fmt.Errorf("quarantine group %q: %w", s.Group, lerr)
	}
	if gid, err = strconv.Atoi(g.Gid); err != nil {
		return 0, fmt.Errorf("quarantine group %q: gid %q: %w", s.Group, g.Gid, err)
	}
	return gid, nil
}

// TopMode is the mode Ensure gives a quarantine directory it creates as
// root: with a group, root:GROUP 3773 (what install.sh makes); without,
// root 1733. In both, users may add entries (deliveries under Postfix's
// mailbox_command run as the recipient) but not list the directory, and
// the sticky bit keeps each entry in its author's hands only.
func (s Store) TopMode() os.FileMode {
	if s.Group == "" {
		return 0o733 | os.ModeSticky
	}
	return 0o773 | os.ModeSticky | os.ModeSetgid
}

// ErrLayout is wrapped by the errors about a quarantine directory that
// is not laid out safely.
var ErrLayout = errors.New("unsafe quarantine directory")

// openTop opens the quarantine directory and checks it: a directory (not
// a symbolic link), owned by root or by the running user, and, when
// others than its owner may write in it, sticky (so that nobody removes,
// renames or replaces another's entry). Readable, or else (a delivery
// running as a user) opened O_PATH, enough to create entries.
func (s Store) openTop() (*dirFD, error) {
	if s.Dir == "" {
		return nil, errors.New("quarantine directory: not configured")
	}
	top, err := openDirAt(unix.AT_FDCWD, s.Dir, s.Dir, true)
	if err != nil {
		return nil, err
	}
	st, err := top.stat()
	if err != nil {
		top.close()
		return nil, err
	}
	if err := checkTop(s.Dir, st); err != nil {
		top.close()
		return nil, err
	}
	return top, nil
}

func checkTop(dir string, st unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%w: %s: not a directory", ErrLayout, dir)
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, who could remove or hide any entry (want root: chown root %s, or run scandeliver quarantine init)", ErrLayout, dir, st.Uid, dir)
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return fmt.Errorf("%w: %s (mode %o) is writable by others but not sticky: anyone could remove or replace entries (want mode 3773 or 1733, see install.sh)", ErrLayout, dir, st.Mode&0o7777)
	}
	return nil
}

// Ensure creates the quarantine directory when it is missing, and checks
// it (see openTop). Run as root (install, init, purge, and every
// delivery before it drops privileges), it creates the directory owned by
// root with TopMode, and its missing parents 0755. A user may only create
// it inside a directory of their own that others cannot write (a private
// test set-up), mode 0700; elsewhere the error says what to run.
func (s Store) Ensure() error {
	top, err := s.openTop()
	if errors.Is(err, fs.ErrNotExist) {
		if err := s.create(); err != nil {
			return err
		}
		top, err = s.openTop()
	}
	if err != nil {
		return fmt.Errorf("quarantine directory: %w", err)
	}
	top.close()
	return nil
}

// Migrate moves the entries of the old layout into place (see migrate).
// Root only; Purge does it too.
func (s Store) Migrate() error {
	top, err := s.openTop()
	if err != nil {
		return fmt.Errorf("quarantine directory: %w", err)
	}
	defer top.close()
	return s.migrate(top)
}

func (s Store) create() error {
	if os.Geteuid() != 0 {
		parent := filepath.Dir(s.Dir)
		var st unix.Stat_t
		if err := unix.Stat(parent, &st); err != nil || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
			return fmt.Errorf("quarantine directory %s does not exist (as root, run: scandeliver quarantine init, or install.sh)", s.Dir)
		}
		if err := os.Mkdir(s.Dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("quarantine directory: %w", err)
		}
		return nil
	}
	gid := -1
	if s.Group != "" {
		var err error
		if gid, err = s.gid(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(s.Dir), 0o755); err != nil {
		return fmt.Errorf("quarantine directory: %w", err)
	}
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made meanwhile: openTop checks it
		}
		return fmt.Errorf("quarantine directory: %w", err)
	}
	d, err := openDirAt(unix.AT_FDCWD, s.Dir, s.Dir, false)
	if err != nil {
		return err
	}
	defer d.close()
	return fsetMode(d.fd, s.Dir, s.TopMode(), gid, 0)
}

// stagePrefix starts the name of an entry being written: Dir/.tmp.<id>,
// owned by its writer like the entry it becomes, in the same sticky
// directory (no shared staging directory that a user could create first
// and own).
const stagePrefix = ".tmp."

// Put stores the original message read from raw, and the report, and
// returns the new entry's id. The entry is complete and synced to disk
// when Put returns nil; on error nothing is left behind.
//
// The entry is written in Dir/.tmp.<id>/ (created exclusively, ours),
// synced, and renamed to Dir/<id> (never replacing anything): an entry is
// complete or absent, and it sits directly in the sticky top directory,
// with nothing a user could own in between.
func (s Store) Put(raw io.Reader, report Report) (id string, err error) {
	fmode, dmode, gid, err := s.modes()
	if err != nil {
		return "", err
	}
	top, err := s.openTop()
	if errors.Is(err, fs.ErrNotExist) {
		if err = s.Ensure(); err != nil {
			return "", err // it says what to run
		}
		top, err = s.openTop()
	}
	if err != nil {
		return "", fmt.Errorf("quarantine directory: %w", err)
	}
	defer top.close()
	now := s.now()
	var stageName string
	for try := 0; ; try++ {
		if id, err = newID(now); err != nil {
			return "", err
		}
		stageName = stagePrefix + id
		err = unix.Mkdirat(top.fd, stageName, 0o700)
		if err == nil {
			break
		}
		if err != unix.EEXIST || try == 5 {
			return "", fmt.Errorf("quarantine entry: %w", pathErr("mkdir", s.Dir+"/"+stageName, err))
		}
	}
	placed := false
	defer func() {
		if err != nil {
			name := stageName
			if placed {
				name = id
			}
			removeAllAt(top, name, 2)
			id = ""
		}
	}()
	stage, err := openDirAt(top.fd, stageName, s.Dir+"/"+stageName, false)
	if err != nil {
		return "", fmt.Errorf("quarantine entry: %w", err)
	}
	defer stage.close()
	if st, err := stage.stat(); err != nil {
		return "", err
	} else if int(st.Uid) != os.Geteuid() {
		return "", fmt.Errorf("quarantine entry %s: owned by uid %d, not by us", stageName, st.Uid)
	}
	// The entry's own mode is set last: for a user who is not a member
	// of the group, chmod drops the set-gid bit the stage inherited from
	// the top directory, and the files must be created while it holds,
	// to inherit the group.
	h := sha256.New()
	n, err := createFileAt(stage, "message", io.TeeReader(raw, h), fmode, gid, -1)
	if err != nil {
		return "", fmt.Errorf("quarantine: writing message: %w", err)
	}
	report.ID = id
	if report.Time.IsZero() {
		report.Time = now.UTC()
	}
	report.Size = n
	report.SHA256 = hex.EncodeToString(h.Sum(nil))
	report.Author = os.Geteuid()
	js, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return "", fmt.Errorf("quarantine: encoding report: %w", err)
	}
	if _, err := createFileAt(stage, "report.json", bytes.NewReader(append(js, '\n')), fmode, gid, -1); err != nil {
		return "", fmt.Errorf("quarantine: writing report: %w", err)
	}
	if err := fsetMode(stage.fd, stage.name, dmode, gid, -1); err != nil {
		return "", fmt.Errorf("quarantine entry: %w", err)
	}
	if err := stage.sync(nil); err != nil {
		return "", err
	}
	if err := unix.Renameat2(top.fd, stageName, top.fd, id, unix.RENAME_NOREPLACE); err != nil {
		return "", fmt.Errorf("quarantine: %w", pathErr("rename", s.Dir+"/"+stageName, err))
	}
	placed = true
	if err := top.sync(stage); err != nil {
		return "", err
	}
	return id, nil
}

// Entry is an open quarantine entry: its directory, held open, so that
// everything done to it (reading the message, updating the report) is
// done to the directory that was checked.
type Entry struct {
	Report Report // Report.Author is the owner of the entry, from fstat
	dir    *dirFD
	store  Store
}

// Close releases the entry's directory.
func (e *Entry) Close() error {
	e.dir.close()
	return nil
}

// OpenEntry opens the entry id and reads its report: the directory
// Dir/<id> (not a link, a directory owned by some uid, its author), and
// in it report.json, a regular file with one link owned by the author.
func (s Store) OpenEntry(id string) (*Entry, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%w: %q", ErrBadID, id)
	}
	top, err := s.openTop()
	if err != nil {
		return nil, err
	}
	defer top.close()
	return s.openEntryAt(top, id)
}

func (s Store) openEntryAt(top *dirFD, id string) (*Entry, error) {
	d, err := openDirAt(top.fd, id, "quarantine entry "+id, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, err
	}
	st, err := d.stat()
	if err != nil {
		d.close()
		return nil, err
	}
	author := int(st.Uid)
	f, err := openFileAt(d, "report.json", author)
	if err != nil {
		d.close()
		return nil, err
	}
	defer f.Close()
	var r Report
	if err := json.NewDecoder(io.LimitReader(f, maxReport)).Decode(&r); err != nil {
		d.close()
		return nil, fmt.Errorf("quarantine entry %s: report: %w", id, err)
	}
	if r.ID != id {
		d.close()
		return nil, fmt.Errorf("quarantine entry %s: report names %q", id, r.ID)
	}
	r.Author = author
	return &Entry{Report: r, dir: d, store: s}, nil
}

// maxReport bounds the report read (a hostile entry could hold any size).
const maxReport = 16 << 20

// Open opens the entry's original message for reading: a regular file
// with one link, owned by the entry's author (a file of anyone else, or
// a link to one, is refused).
func (e *Entry) Open() (*os.File, error) {
	return openFileAt(e.dir, "message", e.Report.Author)
}

// Get returns an entry's report.
func (s Store) Get(id string) (Report, error) {
	e, err := s.OpenEntry(id)
	if err != nil {
		return Report{}, err
	}
	defer e.Close()
	return e.Report, nil
}

// Open opens an entry's original message for reading.
func (s Store) Open(id string) (*os.File, error) {
	e, err := s.OpenEntry(id)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.Open()
}

// MayRelease reports whether an entry written by author may be released
// to the local user uid: entries written by root or a Trusted uid may go
// to anyone; an entry any other user wrote (a delivery that ran as that
// user, under Postfix's mailbox_command) only to that user, whatever its
// report says, since the user could have written the report.
func (s Store) MayRelease(author, uid int) bool {
	return author == 0 || author == uid || slices.Contains(s.Trusted, author)
}

// ids lists the entry ids in the store, oldest first, from since on
// (the zero time lists all).
func (s Store) ids(top *dirFD, since time.Time) ([]string, error) {
	names, err := top.names()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range names {
		if !ValidID(id) {
			continue
		}
		if t, _ := IDTime(id); !since.IsZero() && t.Before(since) {
			continue
		}
		ids = append(ids, id)
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
// listed with only its ID, Time and Author (-1 when unknown), and its
// error joined into the returned error.
func (s Store) List(since time.Time) ([]Report, error) {
	top, err := s.openTop()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	defer top.close()
	ids, err := s.ids(top, since)
	if err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	var out []Report
	var errs []error
	if legacy := s.legacyDirs(top); len(legacy) > 0 {
		errs = append(errs, fmt.Errorf("%s: old layout (%s): as root, run scandeliver quarantine purge or init to move its entries into place", s.Dir, strings.Join(legacy, " ")))
	}
	for _, id := range ids {
		e, err := s.openEntryAt(top, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // deleted meanwhile
			}
			errs = append(errs, err)
			t, _ := IDTime(id)
			r := Report{ID: id, Time: t, Author: -1}
			var st unix.Stat_t
			if unix.Fstatat(top.fd, id, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				r.Author = int(st.Uid)
			}
			out = append(out, r)
			continue
		}
		out = append(out, e.Report)
		e.Close()
	}
	return out, errors.Join(errs...)
}

// Delete removes an entry.
func (s Store) Delete(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("%w: %q", ErrBadID, id)
	}
	top, err := s.openTop()
	if err != nil {
		return err
	}
	defer top.close()
	return s.deleteAt(top, id)
}

func (s Store) deleteAt(top *dirFD, id string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(top.fd, id, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return pathErr("stat", s.Dir+"/"+id, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("quarantine entry %s: not a directory", id)
	}
	if err := removeAllAt(top, id, 4); err != nil {
		return fmt.Errorf("deleting quarantine entry %s: %w", id, err)
	}
	return top.sync(nil)
}

// Purge deletes the entries older than olderThan, and staging leftovers
// of interrupted Puts as old, and returns the ids it deleted. Run as
// root, it first moves the entries of the old layout into place (see
// Ensure).
func (s Store) Purge(olderThan time.Duration) ([]string, error) {
	cutoff := s.now().Add(-olderThan)
	top, err := s.openTop()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("purging quarantine: %w", err)
	}
	defer top.close()
	var errs []error
	if os.Geteuid() == 0 {
		if err := s.migrate(top); err != nil {
			errs = append(errs, err)
		}
	}
	ids, err := s.ids(top, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("purging quarantine: %w", err)
	}
	var done []string
	for _, id := range ids {
		t, _ := IDTime(id)
		if !t.Before(cutoff) {
			continue
		}
		if err := s.deleteAt(top, id); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		done = append(done, id)
	}
	// Staging leftovers.
	names, _ := top.names()
	for _, n := range names {
		if rest, ok := strings.CutPrefix(n, stagePrefix); ok {
			if t, err := IDTime(rest); err == nil && t.Before(cutoff) {
				if err := removeAllAt(top, n, 4); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return done, errors.Join(errs...)
}

// legacyDirs names the directories of the old layout (Dir/YYYYMMDD/<id>
// and Dir/tmp) still present.
func (s Store) legacyDirs(top *dirFD) []string {
	names, _ := top.names()
	var out []string
	for _, n := range names {
		if n == "tmp" || (len(n) == 8 && allDigits(n)) {
			var st unix.Stat_t
			if unix.Fstatat(top.fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// migrate moves the entries of the old layout, Dir/YYYYMMDD/<id>, to
// Dir/<id>, and removes the day directories and Dir/tmp. Those were
// shared directories a user could create first and own (and then rename
// other users' entries out of sight); an entry moved out keeps its owner,
// which is what release trusts, not where it was found. Root only.
func (s Store) migrate(top *dirFD) error {
	var errs []error
	for _, n := range s.legacyDirs(top) {
		day, err := openDirAt(top.fd, n, s.Dir+"/"+n, false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n != "tmp" {
			ids, err := day.names()
			if err != nil {
				errs = append(errs, err)
			}
			for _, id := range ids {
				if !ValidID(id) || id[:8] != n {
					continue
				}
				var st unix.Stat_t
				if unix.Fstatat(day.fd, id, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
					continue
				}
				if err := unix.Renameat2(day.fd, id, top.fd, id, unix.RENAME_NOREPLACE); err != nil {
					errs = append(errs, fmt.Errorf("moving %s/%s/%s into place: %w", s.Dir, n, id, err))
				}
			}
		}
		day.close()
		// What is left is the old staging area or a user's leftovers.
		if err := removeAllAt(top, n, 4); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return top.sync(nil)
	}
	return errors.Join(errs...)
}

// Update rewrites an entry's report through fn (atomically: a new file
// renamed over the old). The ID, Size, SHA256 and Author fields cannot
// change.
func (s Store) Update(id string, fn func(*Report)) error {
	e, err := s.OpenEntry(id)
	if err != nil {
		return err
	}
	defer e.Close()
	return e.Update(fn)
}

// Update rewrites the entry's report through fn: the new report is
// created exclusively in the entry's directory (through its descriptor,
// never through a link), given its mode and its author as owner through
// its own descriptor, synced, and renamed over report.json.
func (e *Entry) Update(fn func(*Report)) error {
	r := e.Report
	keep := r
	fn(&r)
	r.ID, r.Size, r.SHA256, r.Author = keep.ID, keep.Size, keep.SHA256, keep.Author
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("quarantine entry %s: encoding report: %w", r.ID, err)
	}
	fmode, _, gid, err := e.store.modes()
	if err != nil {
		return err
	}
	// Root keeps the file its author's, like the rest of the entry.
	uid := -1
	if os.Geteuid() == 0 {
		uid = r.Author
	}
	var rb [6]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return err
	}
	tmp := ".report." + hex.EncodeToString(rb[:])
	if _, err := createFileAt(e.dir, tmp, bytes.NewReader(append(js, '\n')), fmode, gid, uid); err != nil {
		unix.Unlinkat(e.dir.fd, tmp, 0)
		return fmt.Errorf("quarantine entry %s: %w", r.ID, err)
	}
	if err := unix.Renameat(e.dir.fd, tmp, e.dir.fd, "report.json"); err != nil {
		unix.Unlinkat(e.dir.fd, tmp, 0)
		return fmt.Errorf("quarantine entry %s: %w", r.ID, err)
	}
	e.Report = r
	return e.dir.sync(nil)
}
