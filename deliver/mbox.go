package deliver

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func deliverMbox(ctx context.Context, d Dest, prefix []byte, msg io.ReaderAt, size int64, env Envelope, opt Options) (Result, error) {
	res, err := appendMbox(ctx, d.Path, prefix, msg, size, env, opt)
	if err != nil {
		return Result{}, fmt.Errorf("delivering to mbox %s: %w", d.Path, err)
	}
	return res, nil
}

// FromLine returns the mbox From_ line for sender at t, with its "\n":
// "From sender Mon Jan  2 15:04:05 2006" (asctime). The null sender ("" or
// "<>") is written MAILER-DAEMON; angle brackets are dropped, and
// whitespace and control characters, which would break readers that
// parse the line (RFC 4155 section 2), become "_".
func FromLine(sender string, t time.Time) string {
	s := strings.TrimSpace(sender)
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		s = "MAILER-DAEMON"
	}
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	return "From " + s + " " + t.Format(time.ANSIC) + "\n"
}

func appendMbox(ctx context.Context, path string, prefix []byte, msg io.ReaderAt, size int64, env Envelope, opt Options) (res Result, err error) {
	if !filepath.IsAbs(path) {
		return Result{}, fmt.Errorf("%q is not absolute: %w", path, ErrBadDest)
	}
	bo := &backoff{deadline: time.Now().Add(opt.LockTimeout)}
	dl, rec, err := acquireDotlock(ctx, path+".lock", bo, opt)
	if err != nil {
		return Result{}, err
	}
	defer dl.release()
	f, created, err := openLocked(ctx, path, bo)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	if rec != nil {
		if err := recoverInterrupted(f, rec, opt.Log); err != nil {
			return Result{}, err
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Result{}, fmt.Errorf("stat: %w", err)
	}
	orig := st.Size
	sep, err := separator(f, orig)
	if err != nil {
		return Result{}, err
	}
	lead := sep + FromLine(env.Sender, opt.Now())
	h := sha256.Sum256([]byte(lead))
	if err := dl.record(&lockRecord{pid: os.Getpid(), host: hostname(), dev: uint64(st.Dev), ino: st.Ino,
		size: orig, leadLen: len(lead), leadHash: hex.EncodeToString(h[:])}); err != nil {
		return Result{}, err
	}

	defer func() {
		if err != nil {
			if rerr := rollback(f, orig); rerr != nil {
				err = fmt.Errorf("%w (and the rollback failed: %v)", err, rerr)
			}
		}
	}()
	bw := bufio.NewWriterSize(io.NewOffsetWriter(f, orig), chunkSize)
	if _, err = bw.WriteString(lead); err != nil {
		return Result{}, fmt.Errorf("writing: %w", err)
	}
	q := newQuoteWriter(bw)
	if err = copyMessage(ctx, q, prefix, msg, size, dl.refresh); err != nil {
		return Result{}, fmt.Errorf("writing: %w", err)
	}
	if err = q.Close(); err != nil {
		return Result{}, fmt.Errorf("writing: %w", err)
	}
	// Each message ends with a line end and then an empty line; a message
	// not ending in "\n" gets one (QUIRK: the format cannot keep that).
	end := "\n"
	if q.n > 0 && q.last != '\n' {
		end = "\n\n"
	}
	if _, err = bw.WriteString(end); err != nil {
		return Result{}, fmt.Errorf("writing: %w", err)
	}
	if err = bw.Flush(); err != nil {
		return Result{}, fmt.Errorf("writing: %w", err)
	}
	if err = ctx.Err(); err != nil {
		return Result{}, err
	}
	if err = unix.Fdatasync(int(f.Fd())); err != nil {
		return Result{}, fmt.Errorf("syncing: %w", err)
	}
	if created {
		if err = syncDir(filepath.Dir(path)); err != nil {
			return Result{}, err
		}
	}
	// Remove the dotlock (and its record) while still holding the fcntl
	// lock: once we report success, no later deliverer may undo this
	// append.
	if err = dl.release(); err != nil {
		return Result{}, err
	}
	appended := int64(len(lead)) + q.n + int64(len(end))
	return Result{Path: path, Offset: orig + int64(len(sep)), Size: int64(len(prefix)) + size, Appended: appended}, nil
}

// separator returns what must precede a new From_ line so that the
// previous message ends with a line end and an empty line: nothing for an
// empty file or one ending "\n\n".
func separator(f *os.File, size int64) (string, error) {
	if size == 0 {
		return "", nil
	}
	var b [2]byte
	n := min(size, 2)
	if _, err := f.ReadAt(b[2-n:], size-n); err != nil {
		return "", fmt.Errorf("reading the end of the mbox: %w", err)
	}
	switch {
	case b[1] != '\n':
		return "\n\n", nil
	case n == 2 && b[0] == '\n':
		return "", nil
	case n == 1:
		// The file is a lone "\n": an empty line already.
		return "", nil
	}
	return "\n", nil
}

// rollback cuts the mbox back to its size before the attempt.
func rollback(f *os.File, orig int64) error {
	if err := f.Truncate(orig); err != nil {
		return err
	}
	return unix.Fdatasync(int(f.Fd()))
}

// openLocked opens (creating it 0600 when missing) and fcntl-locks the
// mbox, making sure that the file locked is still the one at path (a
// mail reader may have replaced it while we waited).
func openLocked(ctx context.Context, path string, bo *backoff) (*os.File, bool, error) {
	flags := os.O_RDWR | syscall.O_CLOEXEC
	// QUIRK: like mail.local, refuse symlinks and hard links when
	// running as root, where they could point the write elsewhere.
	asRoot := os.Geteuid() == 0
	if asRoot {
		flags |= syscall.O_NOFOLLOW
	}
	for {
		created := false
		f, err := os.OpenFile(path, flags, 0)
		if errors.Is(err, fs.ErrNotExist) {
			f, err = os.OpenFile(path, flags|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			created = err == nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("opening: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, false, fmt.Errorf("stat: %w", err)
		}
		if !fi.Mode().IsRegular() {
			f.Close()
			return nil, false, fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && asRoot && st.Nlink > 1 {
			f.Close()
			return nil, false, fmt.Errorf("%s has %d hard links; refusing to write it as root", path, st.Nlink)
		}
		if err := lockFcntl(ctx, f, bo); err != nil {
			f.Close()
			return nil, false, err
		}
		stat := os.Stat
		if asRoot {
			stat = os.Lstat
		}
		pfi, err := stat(path)
		if err == nil && os.SameFile(fi, pfi) {
			return f, created, nil
		}
		f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("stat: %w", err)
		}
	}
}
