package quarantine

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Everything below the top directory is reached through directory file
// descriptors: openat(2) with O_NOFOLLOW, then fstat(2) on what was
// opened, fchmod/fchown on descriptors, renameat/unlinkat relative to an
// open directory. No path below the top directory is ever resolved
// twice, so a local user who swaps a name for a symbolic link (or a
// directory for another) between a check and a use gains nothing: the
// call fails, or works on what was checked.

// dirFD is an open directory.
type dirFD struct {
	fd   int
	name string // for messages
	path bool   // opened with O_PATH: usable as a dirfd only
}

func (d *dirFD) close() {
	if d != nil && d.fd >= 0 {
		unix.Close(d.fd)
		d.fd = -1
	}
}

func pathErr(op, name string, err error) error {
	return &os.PathError{Op: op, Path: name, Err: err}
}

// openDirAt opens the directory name relative to dirfd without following
// a symbolic link (name is a single component, or an absolute path whose
// last component is not followed). With pathOnly it falls back to O_PATH
// when the directory is not readable (searchable is enough for *at calls).
func openDirAt(dirfd int, name, display string, pathOnly bool) (*dirFD, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.EACCES && pathOnly {
		fd, err = unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			return &dirFD{fd: fd, name: display, path: true}, nil
		}
	}
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return nil, fmt.Errorf("%s: not a directory (a symbolic link or a file)", display)
		}
		return nil, pathErr("open", display, err)
	}
	return &dirFD{fd: fd, name: display}, nil
}

func (d *dirFD) stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return st, pathErr("fstat", d.name, err)
	}
	return st, nil
}

// names lists the directory (which must not be O_PATH).
func (d *dirFD) names() ([]string, error) {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, pathErr("open", d.name, err)
	}
	f := os.NewFile(uintptr(fd), d.name)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, pathErr("readdir", d.name, err)
	}
	return names, nil
}

// sync makes the directory's entries durable. A directory opened O_PATH
// (a delivery running as a user cannot read the shared top directory)
// cannot be fsynced: via, a descriptor of ours on the same file system,
// is synced with syncfs(2) instead, which covers the directory too.
func (d *dirFD) sync(via *dirFD) error {
	if !d.path {
		if err := unix.Fsync(d.fd); err != nil {
			return pathErr("fsync", d.name, err)
		}
		return nil
	}
	if via == nil || via.path {
		return fmt.Errorf("syncing %s: no readable directory on its file system", d.name)
	}
	if err := unix.Syncfs(via.fd); err != nil {
		return pathErr("syncfs", d.name, err)
	}
	return nil
}

// openFileAt opens a regular file in d for reading, never through a
// symbolic link, never blocking on a FIFO, and checks what was opened: a
// regular file owned by owner (-1: any) with a single link, so that
// neither a link planted by a user nor a file of someone else moved into
// an entry is read as that entry's.
func openFileAt(d *dirFD, name string, owner int) (*os.File, error) {
	display := d.name + "/" + name
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ELOOP {
			return nil, fmt.Errorf("%s: a symbolic link", display)
		}
		return nil, pathErr("open", display, err)
	}
	f := os.NewFile(uintptr(fd), display)
	if err := checkFile(f, owner); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkFile checks that f is a regular file with one link, owned by owner
// (-1: any).
func checkFile(f *os.File, owner int) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return pathErr("fstat", f.Name(), err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%s: not a regular file", f.Name())
	case st.Nlink != 1:
		return fmt.Errorf("%s: %d hard links (want 1)", f.Name(), st.Nlink)
	case owner >= 0 && int(st.Uid) != owner:
		return fmt.Errorf("%s: owned by uid %d, not by the entry's author (uid %d)", f.Name(), st.Uid, owner)
	}
	return nil
}

// createFileAt creates name in d exclusively (never through a link),
// gives it its group (gid -1: leave) and mode through the descriptor,
// copies r into it and syncs it.
func createFileAt(d *dirFD, name string, r io.Reader, mode os.FileMode, gid, uid int) (n int64, err error) {
	display := d.name + "/" + name
	fd, err := unix.Openat(d.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return 0, pathErr("create", display, err)
	}
	f := os.NewFile(uintptr(fd), display)
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := fsetMode(fd, display, mode, gid, uid); err != nil {
		return 0, err
	}
	if n, err = io.Copy(f, r); err != nil {
		return n, err
	}
	return n, f.Sync()
}

// fsetMode gives the open file or directory fd its owner (uid -1: leave),
// group (gid -1: leave; changed only when it differs: a user who is not
// a member of the group may keep a group inherited from a set-gid
// directory, never set it) and mode.
func fsetMode(fd int, display string, mode os.FileMode, gid, uid int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return pathErr("fstat", display, err)
	}
	if (gid >= 0 && int(st.Gid) != gid) || (uid >= 0 && int(st.Uid) != uid) {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return fmt.Errorf("giving %s to uid %d group %d: %w (is the quarantine directory set-gid to its group? see install.sh)", display, uid, gid, err)
		}
	}
	m := uint32(mode.Perm())
	if mode&os.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if mode&os.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	if err := unix.Fchmod(fd, m); err != nil {
		return pathErr("chmod", display, err)
	}
	return nil
}

// removeAllAt removes name (a file, or a directory and everything in it)
// from d without following any symbolic link: each directory is opened
// with O_NOFOLLOW and emptied through its descriptor. depth bounds the
// nesting (an entry has none; a hostile one could have much).
func removeAllAt(d *dirFD, name string, depth int) error {
	err := unix.Unlinkat(d.fd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return pathErr("unlink", d.name+"/"+name, err)
	}
	if depth <= 0 {
		return fmt.Errorf("%s/%s: nested too deep", d.name, name)
	}
	sub, err := openDirAt(d.fd, name, d.name+"/"+name, false)
	if err != nil {
		return err
	}
	names, err := sub.names()
	if err != nil {
		sub.close()
		return err
	}
	var errs []error
	for _, n := range names {
		if err := removeAllAt(sub, n, depth-1); err != nil {
			errs = append(errs, err)
		}
	}
	sub.close()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return pathErr("rmdir", d.name+"/"+name, err)
	}
	return nil
}
