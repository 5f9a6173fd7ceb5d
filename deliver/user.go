package deliver

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// ErrNoUser is wrapped by LookupUser when the user does not exist (the
// caller's EX_NOUSER, 67). Any other error from LookupUser is temporary.
var ErrNoUser = errors.New("no such user")

// User is a local user that mail is delivered for.
type User struct {
	Name, Home string
	Uid, Gid   int
	// Groups are the supplementary groups, including Gid, as
	// initgroups(3) would set them.
	Groups []int
}

// LookupUser finds a user by name in the system's user database (with
// CGO_ENABLED=0, /etc/passwd and /etc/group). An unknown user, or a name
// no user can have (empty, or holding ':', '/', NUL or a newline), wraps
// ErrNoUser.
func LookupUser(name string) (*User, error) {
	if name == "" || strings.ContainsAny(name, ":/\x00\n") {
		return nil, fmt.Errorf("looking up user %q: %w", name, ErrNoUser)
	}
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("looking up user %q: %w", name, ErrNoUser)
		}
		return nil, fmt.Errorf("looking up user %q: %w", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil || uid < 0 {
		return nil, fmt.Errorf("user %q has a bad uid %q", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil || gid < 0 {
		return nil, fmt.Errorf("user %q has a bad gid %q", name, u.Gid)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("listing the groups of user %q: %w", name, err)
	}
	groups := []int{gid}
	for _, s := range ids {
		g, err := strconv.Atoi(s)
		if err != nil || g < 0 {
			return nil, fmt.Errorf("user %q has a bad group id %q", name, s)
		}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	return &User{Name: u.Username, Home: u.HomeDir, Uid: uid, Gid: gid, Groups: groups}, nil
}

// DropPrivileges makes the process u for good: when running as root it
// sets the supplementary groups, then the gid, then the uid (real,
// effective and saved; Go applies each to every thread on Linux), and
// checks the result, including that root cannot be regained. When not
// root, it succeeds only if the process already is u.
func DropPrivileges(u *User) error {
	if u == nil {
		return errors.New("dropping privileges: no user")
	}
	if os.Geteuid() != 0 {
		if os.Getuid() == u.Uid && os.Geteuid() == u.Uid {
			return nil
		}
		return fmt.Errorf("switching to user %q (uid %d): running as uid %d, not root", u.Name, u.Uid, os.Geteuid())
	}
	groups := u.Groups
	if len(groups) == 0 {
		groups = []int{u.Gid}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("switching to user %q: setgroups: %w", u.Name, err)
	}
	if err := syscall.Setgid(u.Gid); err != nil {
		return fmt.Errorf("switching to user %q: setgid %d: %w", u.Name, u.Gid, err)
	}
	if err := syscall.Setuid(u.Uid); err != nil {
		return fmt.Errorf("switching to user %q: setuid %d: %w", u.Name, u.Uid, err)
	}
	if os.Getuid() != u.Uid || os.Geteuid() != u.Uid || os.Getgid() != u.Gid || os.Getegid() != u.Gid {
		return fmt.Errorf("switching to user %q: still uid %d/%d gid %d/%d", u.Name,
			os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid())
	}
	if u.Uid != 0 {
		if err := syscall.Setuid(0); err == nil {
			return fmt.Errorf("switching to user %q: root could be regained", u.Name)
		}
	}
	return nil
}
