package unpack

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is returned by NewSpool when the input exceeds
// SpoolOptions.MaxSize. The spool never truncates silently.
var ErrTooLarge = errors.New("message exceeds the size limit")

// DefaultSpoolMemory is the number of bytes kept in memory before the
// spool moves to a file, when SpoolOptions.Memory is zero.
const DefaultSpoolMemory = 1 << 20

// SpoolOptions configures NewSpool. The zero value keeps up to
// DefaultSpoolMemory bytes in memory, spools the rest under os.TempDir and
// sets no size limit.
type SpoolOptions struct {
	Dir     string // directory for the spool file; "" means os.TempDir()
	Memory  int64  // bytes kept in memory before spooling to a file
	MaxSize int64  // 0: no limit; else NewSpool fails with ErrTooLarge above it
}

// Spool holds one message, read once from its source, and lets any number
// of readers re-read it. Up to Memory bytes it lives in memory; above that
// it lives in a mode-0600 file that is unlinked as soon as it is created,
// so that it disappears on every exit path, a SIGKILL included.
type Spool struct {
	mem  []byte
	f    *os.File
	size int64
}

// NewSpool reads r to its end into a new Spool.
//
// Memory use is bounded by Memory whatever the size of the message: the
// in-memory buffer never exceeds Memory+1 bytes,
// and the rest is moved to the file by the kernel where it can be (splice
// from a pipe, copy_file_range from a file), else through a 64 KiB buffer.
// A regular file that holds more than Memory bytes from its offset on (a
// shell's redirection) is moved whole by the kernel, none of it through our
// memory, and one over MaxSize is refused before anything is copied.
func NewSpool(r io.Reader, opt SpoolOptions) (*Spool, error) {
	memMax := opt.Memory
	if memMax <= 0 {
		memMax = DefaultSpoolMemory
	}
	if opt.MaxSize > 0 && memMax > opt.MaxSize {
		memMax = opt.MaxSize
	}
	if in, ok := r.(*os.File); ok {
		if rest, ok := regularRest(in); ok && rest > memMax {
			if opt.MaxSize > 0 && rest > opt.MaxSize {
				return nil, ErrTooLarge
			}
			return spoolFile(nil, r, opt)
		}
	}
	// Read at most memMax+1 bytes into memory: the extra byte tells
	// whether the message fits.
	buf, err := readUpTo(r, memMax+1)
	if err != nil {
		return nil, fmt.Errorf("reading message: %w", err)
	}
	n := int64(len(buf))
	if n <= memMax {
		return &Spool{mem: buf, size: n}, nil
	}
	if opt.MaxSize > 0 && n > opt.MaxSize {
		return nil, ErrTooLarge
	}
	return spoolFile(buf, r, opt)
}

// regularRest is the number of bytes from the offset of in to its end,
// when in is a regular file. It is what the file holds now: the copy reads
// to the end whatever it finds then, under the same limit.
func regularRest(in *os.File) (int64, bool) {
	st, err := in.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0, false
	}
	off, err := in.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, false
	}
	return st.Size() - off, true
}

// spoolFile makes the spool file and writes head and then the rest of r to
// it, refusing more than opt.MaxSize bytes in all.
func spoolFile(head []byte, r io.Reader, opt SpoolOptions) (*Spool, error) {
	dir := opt.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "scandeliver-spool-*")
	if err != nil {
		return nil, fmt.Errorf("creating spool file: %w", err)
	}
	// Unlink at once: the open descriptor keeps the data, nothing is left
	// behind whatever way the process ends. CreateTemp uses mode 0600.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlinking spool file: %w", err)
	}
	s := &Spool{f: f}
	if _, err := f.Write(head); err != nil {
		s.Close()
		return nil, fmt.Errorf("writing spool file: %w", err)
	}
	n := int64(len(head))
	head = nil
	limit := int64(-1)
	if opt.MaxSize > 0 {
		limit = opt.MaxSize - n + 1
	}
	m, err := copyToFile(f, r, limit)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("spooling message: %w", err)
	}
	s.size = n + m
	if opt.MaxSize > 0 && s.size > opt.MaxSize {
		s.Close()
		return nil, ErrTooLarge
	}
	return s, nil
}

// readUpTo reads r until EOF or max bytes. It starts with 64 KiB, enough
// for most mail, and then allocates max at once rather than doubling: pages
// of a fresh large allocation that are never written never become
// resident, and no garbage of intermediate sizes is left behind.
func readUpTo(r io.Reader, max int64) ([]byte, error) {
	buf := make([]byte, 0, min(max, 64<<10))
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), max)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// copyToFile appends r to f, at most limit bytes when limit >= 0. A pipe
// is spliced; a regular file goes to os.File.ReadFrom, which copies with
// copy_file_range (or splice) in the kernel, through the io.LimitedReader
// of a limit as well; anything else goes through a 64 KiB buffer.
func copyToFile(f *os.File, r io.Reader, limit int64) (int64, error) {
	if in, ok := r.(*os.File); ok {
		if n, handled, err := splicePipe(f, in, limit); handled {
			return n, err
		}
		if limit >= 0 {
			// ReadFrom sees through an *io.LimitedReader to the file
			// (copy_file_range of at most N bytes); any other wrapper
			// would hide it and copy 64 KiB at a time.
			return f.ReadFrom(&io.LimitedReader{R: in, N: limit})
		}
		return f.ReadFrom(in)
	}
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	return io.CopyBuffer(struct{ io.Writer }{f}, r, make([]byte, 64<<10))
}

// Size is the number of bytes in the spool.
func (s *Spool) Size() int64 { return s.size }

// InMemory reports whether the message is held in memory.
func (s *Spool) InMemory() bool { return s.f == nil }

// File returns the spool file, or nil when the spool is in memory. The
// caller must not close it nor change its offset-independent contents.
func (s *Spool) File() *os.File { return s.f }

// ReadAt implements io.ReaderAt over the spooled bytes.
func (s *Spool) ReadAt(p []byte, off int64) (int, error) {
	if s.f != nil {
		return s.f.ReadAt(p, off)
	}
	if off >= int64(len(s.mem)) {
		return 0, io.EOF
	}
	n := copy(p, s.mem[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Open returns a new reader over the whole message, independent of any
// other reader.
func (s *Spool) Open() *io.SectionReader { return io.NewSectionReader(s, 0, s.size) }

// Bytes returns the message when it is held in memory, else nil.
func (s *Spool) Bytes() []byte {
	if s.f != nil {
		return nil
	}
	return s.mem
}

// Close releases the spool. It is safe to call more than once.
func (s *Spool) Close() error {
	s.mem = nil
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
