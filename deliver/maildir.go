package deliver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// deliveries counts Maildir names made by this process, so that two
// deliveries in the same microsecond still differ (the Q field).
var deliveries atomic.Uint64

func deliverMaildir(ctx context.Context, d Dest, prefix []byte, msg io.ReaderAt, size int64, opt Options) (Result, error) {
	dir, err := d.dir()
	if err != nil {
		return Result{}, fmt.Errorf("delivering to %s: %w", d, err)
	}
	if err := ensureMaildir(d.Path, false); err != nil {
		return Result{}, fmt.Errorf("delivering to %s: %w", d, err)
	}
	if d.Folder != "" {
		if err := ensureMaildir(dir, true); err != nil {
			return Result{}, fmt.Errorf("delivering to %s: %w", d, err)
		}
	}
	total := int64(len(prefix)) + size
	res, err := writeMaildir(ctx, dir, prefix, msg, size, total, opt)
	if err != nil {
		return Result{}, fmt.Errorf("delivering to %s: %w", d, err)
	}
	return res, nil
}

// writeMaildir is the durable write: a new file in tmp/, fsync, link into
// new/ (rename where links are refused), fsync new/. On any error the tmp
// file is removed and nothing stays in new/.
func writeMaildir(ctx context.Context, dir string, prefix []byte, msg io.ReaderAt, size, total int64, opt Options) (res Result, err error) {
	var f *os.File
	var name string
	for try := 0; ; try++ {
		name, err = maildirName(opt, total)
		if err != nil {
			return Result{}, err
		}
		f, err = os.OpenFile(filepath.Join(dir, "tmp", name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try >= 5 {
			return Result{}, fmt.Errorf("creating the file in tmp/: %w", err)
		}
	}
	tmp := f.Name()
	final := filepath.Join(dir, "new", name)
	inNew := false
	defer func() {
		if err == nil {
			return
		}
		if f != nil {
			f.Close()
		}
		os.Remove(tmp)
		if inNew {
			os.Remove(final)
			syncDir(filepath.Join(dir, "new"))
		}
	}()
	if err = copyMessage(ctx, f, prefix, msg, size, nil); err != nil {
		return Result{}, fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return Result{}, fmt.Errorf("syncing %s: %w", tmp, err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return Result{}, fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err = ctx.Err(); err != nil {
		return Result{}, err
	}
	// link(2) never replaces an existing name, unlike rename(2); fall back
	// to rename on filesystems without hard links (the name is unique).
	if err = os.Link(tmp, final); err == nil {
		inNew = true
		os.Remove(tmp)
	} else if errors.Is(err, fs.ErrExist) {
		return Result{}, fmt.Errorf("moving into new/: %w", err)
	} else if err = os.Rename(tmp, final); err != nil {
		return Result{}, fmt.Errorf("moving into new/: %w", err)
	} else {
		inNew = true
	}
	if err = syncDir(filepath.Join(dir, "new")); err != nil {
		return Result{}, err
	}
	return Result{Path: final, Size: total, Appended: total}, nil
}

// maildirName makes a unique file name in the style of Dovecot and
// qmail's current documentation: time.MusecPpidQcountRrandom.host,S=size.
func maildirName(opt Options, total int64) (string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("making a unique name: %w", err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	// The Maildir spec escapes "/" and ":" in the host part.
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	now := opt.Now()
	return fmt.Sprintf("%d.M%dP%dQ%dR%s.%s,S=%d", now.Unix(), now.Nanosecond()/1000, os.Getpid(),
		deliveries.Add(1), hex.EncodeToString(rnd[:]), host, total), nil
}

// ensureMaildir creates dir and its tmp/, new/, cur/ (0700) when missing,
// fsyncing each parent it adds an entry to. A Maildir++ folder also gets
// its "maildirfolder" marker file.
func ensureMaildir(dir string, folder bool) error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := mkdirDurable(filepath.Join(dir, sub)); err != nil {
			return err
		}
	}
	if folder {
		p := filepath.Join(dir, "maildirfolder")
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
			if err != nil {
				return fmt.Errorf("creating %s: %w", p, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("creating %s: %w", p, err)
			}
			if err := syncDir(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// mkdirDurable makes dir (0700), and its missing parents, and fsyncs the
// parent of every directory it makes. An existing non-directory is an
// error.
func mkdirDurable(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another deliverer made it first. Sync the parent anyway:
			// our message must not depend on its fsync having happened.
			if err := mkdirDurable(dir); err != nil {
				return err
			}
			return syncDir(parent)
		}
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return syncDir(parent)
}

// syncDir fsyncs a directory so that entries added to it survive a crash.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s to sync it: %w", dir, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// itoa is strconv.FormatInt for int64, short.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
