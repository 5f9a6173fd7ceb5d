package unpack

import (
	"bytes"
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
func NewSpool(r io.Reader, opt SpoolOptions) (*Spool, error) {
	memMax := opt.Memory
	if memMax <= 0 {
		memMax = DefaultSpoolMemory
	}
	if opt.MaxSize > 0 && memMax > opt.MaxSize {
		memMax = opt.MaxSize
	}
	// Read at most memMax+1 bytes into memory: the extra byte tells
	// whether the message fits.
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, memMax+1)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading message: %w", err)
	}
	if n <= memMax {
		return &Spool{mem: buf.Bytes(), size: n}, nil
	}
	if opt.MaxSize > 0 && n > opt.MaxSize {
		return nil, ErrTooLarge
	}
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
	if _, err := f.Write(buf.Bytes()); err != nil {
		s.Close()
		return nil, fmt.Errorf("writing spool file: %w", err)
	}
	buf = bytes.Buffer{} // release the memory part
	var src io.Reader = r
	if opt.MaxSize > 0 {
		src = io.LimitReader(r, opt.MaxSize-n+1)
	}
	m, err := io.CopyBuffer(f, src, make([]byte, 64<<10))
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
