package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults for the zero values of Options.
const (
	DefaultLockTimeout = 60 * time.Second
	DefaultStaleLock   = 5 * time.Minute
)

// chunkSize is how much of the message is copied between two checks of
// the context (and two refreshes of a dotlock).
const chunkSize = 256 << 10

// ErrLockTimeout is wrapped by Deliver when the mbox stayed locked by
// someone else for longer than Options.LockTimeout.
var ErrLockTimeout = errors.New("timed out waiting for the mailbox lock")

// ErrShortMessage is wrapped by Deliver when msg holds fewer than size
// bytes.
var ErrShortMessage = errors.New("message shorter than its stated size")

// Envelope is the SMTP envelope of the message.
type Envelope struct {
	// Sender is the envelope sender; "" or "<>" is the null sender,
	// written as MAILER-DAEMON in an mbox From_ line.
	Sender string
	// Recipient is the (original) recipient; informational here, the
	// caller puts it into the Delivered-To: field of prefix.
	Recipient string
}

// Options tune a delivery. The zero value is the documented default.
type Options struct {
	// LockTimeout bounds the total wait for the mbox locks (dotlock and
	// fcntl together); zero means DefaultLockTimeout (60s).
	LockTimeout time.Duration
	// StaleLock is the age after which a dotlock that its holder has not
	// refreshed counts as abandoned and is removed; zero means
	// DefaultStaleLock (5m). A dotlock written by scandeliver on this
	// host whose process is gone is removed at once.
	StaleLock time.Duration
	// Now returns the current time (the mbox From_ line, Maildir names);
	// nil means time.Now.
	Now func() time.Time
	// Log receives the rare events worth a line (stale lock removed, an
	// interrupted delivery rolled back); nil discards them.
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.StaleLock <= 0 {
		o.StaleLock = DefaultStaleLock
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Result describes a completed delivery.
type Result struct {
	// Path is the message's file in new/ (Maildir) or the mbox file.
	Path string
	// Offset is, for an mbox, where the message's From_ line starts; 0
	// for a Maildir.
	Offset int64
	// Size is the size of the message as delivered: len(prefix) + size,
	// before any mboxrd quoting.
	Size int64
	// Appended is, for an mbox, the number of bytes added to the file
	// (separator, From_ line, quoted message, final blank line); for a
	// Maildir it equals Size.
	Appended int64
}

// Deliver writes prefix followed by exactly size bytes of msg to d, durably
// (see the package documentation). On error nothing is left visible in the
// mailbox and the error is returned wrapped; every error is temporary
// unless it wraps ErrBadDest.
func Deliver(ctx context.Context, d Dest, prefix []byte, msg io.ReaderAt, size int64, env Envelope, opt Options) (Result, error) {
	opt = opt.withDefaults()
	if size < 0 {
		return Result{}, fmt.Errorf("delivering to %s: negative size %d", d, size)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("delivering to %s: %w", d, err)
	}
	switch d.Kind {
	case Maildir:
		return deliverMaildir(ctx, d, prefix, msg, size, opt)
	case Mbox:
		if d.Folder != "" {
			return Result{}, fmt.Errorf("delivering to %s: folder %q needs a Maildir: %w", d, d.Folder, ErrBadDest)
		}
		return deliverMbox(ctx, d, prefix, msg, size, env, opt)
	case LMTP:
		return deliverLMTP(ctx, d, prefix, msg, size, env)
	}
	return Result{}, fmt.Errorf("delivering to %q: unknown kind %v: %w", d.Path, d.Kind, ErrBadDest)
}

// copyMessage writes prefix and then size bytes of msg to w in chunks,
// checking ctx and calling tick (if non-nil) between chunks.
func copyMessage(ctx context.Context, w io.Writer, prefix []byte, msg io.ReaderAt, size int64, tick func()) error {
	if _, err := w.Write(prefix); err != nil {
		return err
	}
	var off int64
	if dst, ok := w.(*os.File); ok {
		if src, base := sourceFile(msg); src != nil {
			n, err := copyFileRange(ctx, dst, src, base, size)
			if err != nil {
				return err
			}
			off = n // all of it, or what remains for the buffered copy
		}
	}
	buf := make([]byte, min(int64(chunkSize), max(size-off, 1)))
	for off < size {
		if err := ctx.Err(); err != nil {
			return err
		}
		if tick != nil {
			tick()
		}
		n := int(min(int64(len(buf)), size-off))
		got, err := msg.ReadAt(buf[:n], off)
		if got < n {
			if err == nil || errors.Is(err, io.EOF) {
				return fmt.Errorf("at offset %d of %d: %w", off+int64(got), size, ErrShortMessage)
			}
			return fmt.Errorf("reading the message at offset %d: %w", off+int64(got), err)
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		off += int64(n)
	}
	return ctx.Err()
}

// fileBacked is a message source that keeps its bytes in a file, such as
// the spool of a large message (unpack.Spool).
type fileBacked interface{ File() *os.File }

// sourceFile finds the file under msg, if any, and where in it msg starts.
func sourceFile(msg io.ReaderAt) (*os.File, int64) {
	var base int64
	if sr, ok := msg.(*io.SectionReader); ok {
		msg, base, _ = sr.Outer()
	}
	switch v := msg.(type) {
	case *os.File:
		return v, base
	case fileBacked:
		if f := v.File(); f != nil {
			return f, base
		}
	}
	return nil, 0
}

// copyFileRange copies size bytes of src from offset base to dst's current
// offset inside the kernel (copy_file_range(2)): a large message goes from
// the spool to the mailbox without passing through our memory. It returns
// how many bytes it copied; when the kernel refuses at the start (another
// filesystem type, an old kernel) it returns 0 and no error, and the
// caller copies through a buffer.
func copyFileRange(ctx context.Context, dst, src *os.File, base, size int64) (int64, error) {
	soff := base
	var done int64
	for done < size {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		n, err := unix.CopyFileRange(int(src.Fd()), &soff, int(dst.Fd()), nil, int(min(size-done, 4<<20)), 0)
		if err != nil {
			if done == 0 && (errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EINVAL) ||
				errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EBADF)) {
				return 0, nil
			}
			return done, fmt.Errorf("copying the message at offset %d: %w", done, err)
		}
		if n == 0 {
			return done, fmt.Errorf("at offset %d of %d: %w", done, size, ErrShortMessage)
		}
		done += int64(n)
	}
	return done, nil
}
