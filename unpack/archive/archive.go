package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// HeadSize is how many leading bytes Identify should be given.
const HeadSize = 8 << 10

// RatioFloor is the amount of decompressed content below which MaxRatio is
// not checked: small members of text compress far better than 100 to 1.
const RatioFloor = 1 << 20

// Default limits, used where a Limits field is zero.
const (
	DefaultMaxMembers = 10000
	DefaultMaxBytes   = 256 << 20
	DefaultMaxRatio   = 100
	DefaultMaxWindow  = 64 << 20
)

// Limits bound one Walk. A zero field takes its default (see the package
// documentation).
type Limits struct {
	MaxMembers int     // regular-file members yielded
	MaxBytes   int64   // decompressed bytes of all members together
	MaxRatio   float64 // decompressed bytes / compressed size
	MaxWindow  int64   // decoder window or dictionary size
}

func (l Limits) withDefaults() Limits {
	if l.MaxMembers <= 0 {
		l.MaxMembers = DefaultMaxMembers
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	if l.MaxWindow <= 0 {
		l.MaxWindow = DefaultMaxWindow
	}
	return l
}

// Member describes one regular-file member of an archive, or the single
// content of a compressed stream.
type Member struct {
	// Name as stored in the archive: hostile data, never a path. It may
	// be empty (a compressed stream without a name) or not UTF-8.
	Name string
	// Size as declared by the archive (-1 when it declares none). The
	// content may be shorter (truncated) or is cut at the limits.
	Size int64
	// Encrypted members are yielded with a content reader at EOF.
	Encrypted bool
	// Problems found with this member before its content was read.
	Problems []string
}

var (
	// ErrLimit is wrapped by the error a content reader returns when a
	// limit is reached; Walk then stops.
	ErrLimit = errors.New("limit")
	// ErrCorrupt is wrapped by the error a content reader returns when
	// the member's data cannot be decoded (truncated, bad checksum...).
	// Walk goes on with the next member where the format allows.
	ErrCorrupt = errors.New("corrupt")
	// ErrUnsupported is wrapped by the error a content reader returns
	// when the member's compression method has no decoder here: the
	// member is unscannable, never empty.
	ErrUnsupported = errors.New("unsupported")
)

// errStop ends a walk early without an error for the caller.
var errStop = errors.New("stop")

// walker holds the state of one Walk.
type walker struct {
	ctx      context.Context
	lim      Limits
	fn       func(Member, io.Reader) error
	in       inputSize // compressed bytes, for the ratio
	total    int64     // decompressed bytes yielded or charged
	members  int
	problems []string
}

// inputSize reports the compressed size the ratio is measured against:
// the whole archive, or what a stream decoder has consumed so far.
type inputSize func() int64

func (w *walker) problem(format string, args ...any) {
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
}

// checkBudget returns a "limit: ..." message when total bytes exceed a
// limit, or "".
func (w *walker) checkBudget(total int64) string {
	if total > w.lim.MaxBytes {
		return fmt.Sprintf("limit: decompressed content exceeds %d bytes", w.lim.MaxBytes)
	}
	if total > RatioFloor {
		in := w.in()
		if in < 1 {
			in = 1
		}
		if float64(total) > w.lim.MaxRatio*float64(in) {
			return fmt.Sprintf("limit: expansion ratio exceeds %g (%d bytes from %d)", w.lim.MaxRatio, total, in)
		}
	}
	return ""
}

// charge counts n bytes that a decoder will produce whether or not they
// are read (7z solid blocks). It returns errStop after recording a problem
// when that goes over a limit.
func (w *walker) charge(n int64) error {
	if n < 0 {
		n = 0
	}
	if msg := w.checkBudget(w.total + n); msg != "" {
		w.problem("%s", msg)
		return errStop
	}
	w.total += n
	return nil
}

// yield hands one member to fn. open returns the decompressed content;
// it is called only for members that are not encrypted. charged is what
// was already charged to the budget for this member (7z). It returns
// errStop when the walk must end, or fn's own error.
func (w *walker) yield(m Member, open func() (io.Reader, error), charged int64) error {
	return w.yieldOpts(m, open, charged, false)
}

// yieldDrain is yield for formats whose decoder goes through a member's
// content even when it is skipped: what fn leaves unread is read here,
// against the limits.
func (w *walker) yieldDrain(m Member, open func() (io.Reader, error)) error {
	return w.yieldOpts(m, open, 0, true)
}

func (w *walker) yieldOpts(m Member, open func() (io.Reader, error), charged int64, drain bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.members >= w.lim.MaxMembers {
		w.problem("limit: more than %d members", w.lim.MaxMembers)
		return errStop
	}
	w.members++
	c := &content{w: w, name: m.Name, credit: charged}
	if !m.Encrypted {
		r, err := open()
		if err != nil {
			if errors.Is(err, errStop) {
				return errStop
			}
			c.fail(err)
		} else {
			c.r = r
		}
	}
	err := w.fn(m, c)
	if c.err != nil && err != nil && errors.Is(err, c.err) {
		// fn passed on our reader's error: it is recorded already.
		err = nil
	}
	if err != nil {
		return err
	}
	if drain && c.err == nil {
		_, _ = io.Copy(io.Discard, c)
	}
	if c.limited {
		return errStop
	}
	return nil
}

// content is the reader given to fn: it counts bytes against the limits
// and turns decoder errors into problems.
type content struct {
	w       *walker
	r       io.Reader
	name    string
	credit  int64 // bytes already charged for this member
	err     error // sticky
	limited bool
}

// contentError is what a content reader returns on a decode failure or a
// limit.
type contentError struct {
	msg  string
	kind error
	err  error
}

func (e *contentError) Error() string { return e.msg }
func (e *contentError) Unwrap() []error {
	if e.err != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.kind}
}

func (c *content) fail(err error) {
	kind := "corrupt"
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		kind = "truncated"
	case errors.Is(err, ErrUnsupported):
		kind = "unsupported"
	}
	msg := fmt.Sprintf("%s: member %q: %v", kind, c.name, err)
	c.w.problem("%s", msg)
	c.err = &contentError{msg: msg, kind: ErrCorrupt, err: err}
}

func (c *content) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.r == nil {
		return 0, io.EOF
	}
	if err := c.w.ctx.Err(); err != nil {
		return 0, err
	}
	// Never hand out more than the budget allows: read at most one byte
	// past it, so that going over is noticed without passing it on.
	if room := c.w.lim.MaxBytes - c.w.total + c.credit + 1; int64(len(p)) > room {
		if room < 1 {
			room = 1
		}
		p = p[:room]
	}
	n, err := c.r.Read(p)
	if n > 0 {
		used := int64(n)
		if c.credit > 0 {
			d := min(c.credit, used)
			c.credit -= d
			used -= d
		}
		if msg := c.w.checkBudget(c.w.total + used); msg != "" {
			c.w.problem("%s (member %q)", msg, c.name)
			c.err = &contentError{msg: msg, kind: ErrLimit}
			c.limited = true
			return 0, c.err
		}
		c.w.total += used
	}
	if err != nil && err != io.EOF {
		c.fail(err)
		return n, c.err
	}
	return n, err
}

// Walk opens one level of the archive or compressed stream r (size bytes,
// in format as named by Identify) and calls fn for every regular-file
// member, with a reader over its decompressed content. The reader is valid
// only until fn returns. See the package documentation for the limits,
// the problems and the errors.
func Walk(ctx context.Context, format string, r io.ReaderAt, size int64, lim Limits, fn func(m Member, content io.Reader) error) (problems []string, err error) {
	w := &walker{ctx: ctx, lim: lim.withDefaults(), fn: fn}
	w.in = func() int64 { return size }
	defer func() {
		if v := recover(); v != nil {
			// Some decoders panic on hostile input; a panic raised by fn
			// is not ours to hide.
			if fe, ok := v.(fnPanic); ok {
				panic(fe.v)
			}
			w.problem("corrupt: %s decoder panicked: %v", format, firstLine(fmt.Sprint(v)))
			problems, err = w.problems, nil
			if ctx.Err() != nil {
				err = ctx.Err()
			}
		}
	}()
	inner := fn
	w.fn = func(m Member, c io.Reader) (err error) {
		// Keep fn's panics apart from the decoders'.
		defer func() {
			if v := recover(); v != nil {
				panic(fnPanic{v})
			}
		}()
		return inner(m, c)
	}
	err = walk(w, format, r, size)
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return w.problems, err
}

type fnPanic struct{ v any }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func walk(w *walker, format string, r io.ReaderAt, size int64) error {
	switch format {
	case "zip":
		return walkZip(w, r, size)
	case "tar":
		return walkTar(w, io.NewSectionReader(r, 0, size))
	case "7z":
		return walk7z(w, r, size)
	case "rar":
		return walkRar(w, io.NewSectionReader(r, 0, size))
	case "cpio":
		return walkCpio(w, r, size)
	case "cab":
		return walkCab(w, r, size)
	case "arj":
		return walkArj(w, r, size)
	case "lha":
		return walkLha(w, r, size)
	case "ar":
		return walkAr(w, r, size)
	case "chm":
		return walkChm(w, r, size)
	}
	if _, ok := streams[format]; ok {
		return walkStream(w, format, io.NewSectionReader(r, 0, size))
	}
	w.problem("unsupported: format %q", format)
	return nil
}

// Formats lists the format names Walk opens.
func Formats() []string {
	return append([]string{"zip", "tar", "7z", "rar", "cpio", "cab", "arj", "lha", "ar", "chm"}, streamOrder...)
}
