package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// RateLimit allows one notice per address per Interval. Its state is one
// empty file per address in Dir, named by a hash of the address, whose
// modification time is the last notice.
//
// Dir usually sits in the shared spool directory (scandeliver-notify-UID),
// where any local user may have created it first, or planted symbolic
// links in it. So Dir must be a directory of the running user's that
// nobody else can enter (mode 0700: it is created so), opened without
// following a link; the files in it are reached through that descriptor,
// never through a link, and must be regular files of ours with a single
// link. Otherwise Allow fails, and creates nothing.
type RateLimit struct {
	Dir      string
	Interval time.Duration    // default one hour
	Now      func() time.Time // nil = time.Now
}

// Allow reports whether a notice may go to addr now, and if so records it.
// Concurrent deliveries may both be allowed within the same instant; the
// limit is against floods, not exact.
func (r RateLimit) Allow(addr string) (bool, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	iv := r.Interval
	if iv <= 0 {
		iv = DefaultInterval
	}
	dfd, err := r.openDir()
	if err != nil {
		return false, fmt.Errorf("notice rate limit: %w", err)
	}
	defer unix.Close(dfd)
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(addr))))
	name := hex.EncodeToString(sum[:16])
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	created := err == nil
	if err == unix.EEXIST {
		fd, err = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return false, fmt.Errorf("notice rate limit: %s/%s: %w", r.Dir, name, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, fmt.Errorf("notice rate limit: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() || st.Nlink != 1 {
		return false, fmt.Errorf("notice rate limit: %s/%s: not a regular file of ours with a single link", r.Dir, name)
	}
	last := time.Unix(st.Mtim.Unix())
	if !created && now.Sub(last) < iv && !last.After(now.Add(time.Minute)) {
		return false, nil
	}
	tv := unix.NsecToTimeval(now.UnixNano())
	if err := unix.Futimes(fd, []unix.Timeval{tv, tv}); err != nil {
		return false, fmt.Errorf("notice rate limit: %w", err)
	}
	return true, nil
}

// openDir creates Dir (0700) when missing and opens it, refusing a link,
// or a directory that is not ours or that others may enter.
func (r RateLimit) openDir() (int, error) {
	if err := unix.Mkdir(r.Dir, 0o700); err != nil && err != unix.EEXIST {
		if err == unix.ENOENT {
			if err := os.MkdirAll(r.Dir, 0o700); err != nil {
				return -1, err
			}
		} else {
			return -1, &os.PathError{Op: "mkdir", Path: r.Dir, Err: err}
		}
	}
	fd, err := unix.Open(r.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: r.Dir, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: owned by uid %d, mode %o: not a private directory of ours (uid %d, 0700)", r.Dir, st.Uid, st.Mode&0o7777, os.Geteuid())
	}
	return fd, nil
}
