package deliver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// dotlock is a held "mbox.lock" file.
type dotlock struct {
	path    string
	f       *os.File
	pidLine string
	touched time.Time
	stale   time.Duration
}

// lockRecord is what a scandeliver deliverer writes into its dotlock
// before appending, so that a later deliverer can undo the append of one
// that was killed mid-write.
type lockRecord struct {
	pid      int
	host     string
	dev, ino uint64
	size     int64  // mbox size before the append
	leadLen  int    // length of separator + From_ line written at size
	leadHash string // hex sha256 of those bytes
}

const recordTag = "scandeliver"

func (r *lockRecord) String() string {
	return fmt.Sprintf("%s host=%s dev=%d ino=%d size=%d lead=%d:%s", recordTag,
		r.host, r.dev, r.ino, r.size, r.leadLen, r.leadHash)
}

// parseLock reads a dotlock's contents: a pid line (the liblockfile
// convention) and, when scandeliver wrote it, a record line.
func parseLock(b []byte) (pid int, rec *lockRecord) {
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		pid = 0
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[1], recordTag+" ") {
		return pid, nil
	}
	r := &lockRecord{pid: pid}
	for _, kv := range strings.Fields(lines[1])[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "host":
			r.host = v
		case "dev":
			r.dev, err = strconv.ParseUint(v, 10, 64)
		case "ino":
			r.ino, err = strconv.ParseUint(v, 10, 64)
		case "size":
			r.size, err = strconv.ParseInt(v, 10, 64)
		case "lead":
			n, h, _ := strings.Cut(v, ":")
			r.leadLen, err = strconv.Atoi(n)
			r.leadHash = h
		}
		if err != nil {
			return pid, nil
		}
	}
	if r.host == "" || r.size < 0 || r.leadLen <= 0 || len(r.leadHash) != 64 {
		return pid, nil
	}
	return pid, r
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == '=' || r == 0x7f {
			return '_'
		}
		return r
	}, h)
}

// backoff sleeps a growing, jittered while, returning early with ctx's
// error or ErrLockTimeout at the deadline.
type backoff struct {
	d        time.Duration
	deadline time.Time
}

func (b *backoff) wait(ctx context.Context) error {
	left := time.Until(b.deadline)
	if left <= 0 {
		return ErrLockTimeout
	}
	if b.d == 0 {
		b.d = 2 * time.Millisecond
	}
	j, _ := rand.Int(rand.Reader, big.NewInt(int64(b.d)))
	d := min(b.d/2+time.Duration(j.Int64()), left)
	b.d = min(b.d*3/2, 200*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// acquireDotlock takes path (the mbox path + ".lock") with O_EXCL. It
// returns a nil lock and no error when the directory is not writable for
// us: then, as procmail does, only the fcntl lock is used. When it breaks
// a stale lock that recorded an append in progress, it returns that
// record for recoverInterrupted.
func acquireDotlock(ctx context.Context, path string, bo *backoff, opt Options) (*dotlock, *lockRecord, error) {
	pidLine := strconv.Itoa(os.Getpid()) + "\n"
	var found *lockRecord
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
		if err == nil {
			if _, err := f.WriteString(pidLine); err != nil {
				f.Close()
				os.Remove(path)
				return nil, nil, fmt.Errorf("writing dotlock %s: %w", path, err)
			}
			return &dotlock{path: path, f: f, pidLine: pidLine, touched: time.Now(), stale: opt.StaleLock}, found, nil
		}
		if errors.Is(err, fs.ErrPermission) {
			opt.Log.Debug("dotlock: directory not writable, using fcntl only", "lock", path)
			return nil, found, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, nil, fmt.Errorf("creating dotlock %s: %w", path, err)
		}
		rec, broken, err := breakIfStale(path, opt)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				opt.Log.Warn("dotlock: stale lock cannot be removed, using fcntl only", "lock", path, "err", err)
				return nil, rec, nil
			}
			return nil, nil, err
		}
		if broken {
			if rec != nil {
				found = rec
			}
			continue
		}
		if err := bo.wait(ctx); err != nil {
			return nil, nil, fmt.Errorf("dotlock %s: %w", path, err)
		}
	}
}

// breakIfStale removes the lock at path when it is abandoned: older than
// opt.StaleLock without a refresh, or written by scandeliver on this host
// by a process that no longer exists. The lock is renamed away first and
// checked to be the very file judged stale, so that two deliverers
// breaking the same lock cannot remove a fresh one.
func breakIfStale(path string, opt Options) (*lockRecord, bool, error) {
	// The lock is judged through an open descriptor: its stat and its
	// contents are then those of one file, and while we hold it open its
	// inode cannot be reused by a fresh lock (a file released and
	// re-created under the same inode number made os.SameFile below
	// take a live lock for the stale one, and remove it).
	var fi fs.FileInfo
	var b []byte
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, true, nil
	case errors.Is(err, fs.ErrPermission):
		// Unreadable: judged by its age alone.
		if fi, err = os.Lstat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, true, nil
			}
			return nil, false, fmt.Errorf("checking dotlock %s: %w", path, err)
		}
	case err != nil:
		return nil, false, fmt.Errorf("reading dotlock %s: %w", path, err)
	default:
		defer f.Close()
		if fi, err = f.Stat(); err != nil {
			return nil, false, fmt.Errorf("checking dotlock %s: %w", path, err)
		}
		if b, err = io.ReadAll(io.LimitReader(f, 4096)); err != nil {
			return nil, false, fmt.Errorf("reading dotlock %s: %w", path, err)
		}
	}
	pid, rec := parseLock(b)
	age := time.Since(fi.ModTime())
	dead := rec != nil && rec.host == hostname() && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	if !dead && age < opt.StaleLock {
		return nil, false, nil
	}
	if f != nil {
		// A holder that finished removed its lock before exiting: then
		// its pid is gone but so is the file (our descriptor keeps an
		// unlinked inode). That lock was released, not abandoned: try
		// again to create ours.
		if st, err := f.Stat(); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink == 0 {
				return nil, true, nil
			}
		}
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	aside := path + ".stale." + hex.EncodeToString(rnd[:])
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("removing stale dotlock %s: %w", path, err)
	}
	afi, err := os.Lstat(aside)
	if err != nil || !os.SameFile(fi, afi) {
		// Someone replaced the stale lock with a fresh one between our
		// look and the rename: put theirs back.
		if err == nil {
			os.Link(aside, path)
		}
		os.Remove(aside)
		return nil, true, nil
	}
	os.Remove(aside)
	opt.Log.Warn("dotlock: removed a stale lock", "lock", path, "pid", pid, "dead", dead, "age", age.Round(time.Second).String())
	return rec, true, nil
}

// record writes the append about to start into the lock file.
func (l *dotlock) record(r *lockRecord) error {
	if l == nil {
		return nil
	}
	s := l.pidLine + r.String() + "\n"
	if _, err := l.f.WriteAt([]byte(s), 0); err != nil {
		return fmt.Errorf("writing dotlock %s: %w", l.path, err)
	}
	return nil
}

// refresh updates the lock's mtime when a quarter of the stale age has
// passed, so that a long append is not taken for an abandoned one.
func (l *dotlock) refresh() {
	if l == nil || time.Since(l.touched) < l.stale/4 {
		return
	}
	now := time.Now()
	if err := os.Chtimes(l.path, now, now); err == nil {
		l.touched = now
	}
}

// release removes the lock; the record goes with it.
func (l *dotlock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Close()
	l.f = nil
	if err := os.Remove(l.path); err != nil {
		return fmt.Errorf("removing dotlock %s: %w", l.path, err)
	}
	return nil
}

// lockFcntl takes a write lock on the whole of f, polling until bo's
// deadline. It uses open-file-description locks, which conflict with the
// classic POSIX locks of other programs (procmail, mutt, dovecot) and,
// unlike them, also between two deliveries in one process; it falls back
// to F_SETLK on kernels without them (before Linux 3.15).
func lockFcntl(ctx context.Context, f *os.File, bo *backoff) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	cmd := unix.F_OFD_SETLK
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, &lk)
		if err == nil {
			return nil
		}
		if errors.Is(err, unix.EINVAL) && cmd == unix.F_OFD_SETLK {
			cmd = unix.F_SETLK
			continue
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("fcntl lock on %s: %w", f.Name(), err)
		}
		if err := bo.wait(ctx); err != nil {
			return fmt.Errorf("fcntl lock on %s: %w", f.Name(), err)
		}
	}
}

// recoverInterrupted undoes the partial append of a deliverer that died
// holding the lock. It is called with both locks held and cuts f back to
// rec.size only when all of these hold: f is the file the record names;
// it is longer than recorded; the bytes at rec.size are the separator and
// From_ line that deliverer recorded; and no line after them starts with
// "From " (a later, complete message appended by a program that used
// fcntl alone). Otherwise it leaves the file alone and logs why.
func recoverInterrupted(f *os.File, rec *lockRecord, log *slog.Logger) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if uint64(st.Dev) != rec.dev || st.Ino != rec.ino || st.Size <= rec.size {
		return nil
	}
	lead := make([]byte, rec.leadLen)
	if _, err := f.ReadAt(lead, rec.size); err != nil {
		log.Warn("mbox: interrupted delivery not undone, unreadable", "mbox", f.Name(), "err", err)
		return nil
	}
	if h := sha256.Sum256(lead); hex.EncodeToString(h[:]) != rec.leadHash {
		log.Warn("mbox: interrupted delivery not undone, the file changed since", "mbox", f.Name(), "recorded_size", rec.size)
		return nil
	}
	if later, err := fromLineAfter(f, rec.size+int64(rec.leadLen), st.Size); err != nil || later {
		log.Warn("mbox: interrupted delivery not undone, a later message follows it", "mbox", f.Name(), "recorded_size", rec.size, "err", err)
		return nil
	}
	if err := f.Truncate(rec.size); err != nil {
		return fmt.Errorf("undoing the interrupted delivery in %s: %w", f.Name(), err)
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("undoing the interrupted delivery in %s: %w", f.Name(), err)
	}
	log.Warn("mbox: undid the partial append of a killed deliverer", "mbox", f.Name(), "pid", rec.pid, "from_size", st.Size, "to_size", rec.size)
	return nil
}

// fromLineAfter reports whether a line starting with "From " begins in
// [start, end) of f; start is itself a line start.
func fromLineAfter(f *os.File, start, end int64) (bool, error) {
	buf := make([]byte, chunkSize)
	atLineStart := true
	var carry []byte // a possible "From " split across chunks
	for off := start; off < end; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if n == 0 {
			if err == nil || err == io.EOF {
				return false, nil
			}
			return false, err
		}
		data := append(carry, buf[:n]...)
		carry = nil
		i := 0
		for i < len(data) {
			if atLineStart {
				rest := data[i:]
				if len(rest) < len(fromSpace) && bytes.HasPrefix(fromSpace, rest) {
					carry = append(carry[:0], rest...)
					break
				}
				if bytes.HasPrefix(rest, fromSpace) {
					return true, nil
				}
			}
			j := bytes.IndexByte(data[i:], '\n')
			if j < 0 {
				atLineStart = false
				break
			}
			i += j + 1
			atLineStart = true
		}
		off += int64(n)
	}
	return false, nil
}

func sha256sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
