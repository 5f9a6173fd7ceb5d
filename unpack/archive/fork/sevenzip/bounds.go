package sevenzip

// scandeliver: bounds on what a header declares. Upstream v1.6.1 makes
// every slice a header count asks for before reading a byte of it, so a
// few hundred bytes declaring 2^36 files end the process with "fatal
// error: runtime: out of memory", which no recover catches. Every count
// is now checked against these bounds before the allocation it sizes;
// past one, NewReader fails with an error wrapping ErrBound. The bounds
// are far above what 7-Zip writes (7-Zip itself refuses more than 64
// coders in a folder and 64 streams in a coder).

import (
	"errors"
	"fmt"

	"github.com/bodgit/sevenzip/internal/util"
)

const (
	// MaxEntries bounds files, folders, pack streams and substreams: far
	// above scandeliver's own member limit (10,000 by default), and low
	// enough that what one folder or file costs in memory (a few hundred
	// bytes) stays under 100 MB when a small compressed header repeats a
	// record.
	MaxEntries = 1 << 17
	// MaxCoders bounds the coders of a folder and the streams of a coder.
	MaxCoders = 64
	// MaxProperties bounds the size of a coder's properties.
	MaxProperties = 1 << 10
	// MaxWindow bounds a decoder's dictionary or window (LZMA, LZMA2,
	// Zstandard).
	MaxWindow = util.MaxWindow
	// MaxHeaderSize bounds the decoded size of a compressed header, and
	// of a property skipped in it.
	MaxHeaderSize = 64 << 20
)

// ErrBound is wrapped by the error NewReader returns when the header
// declares more than a bound.
var ErrBound = errors.New("sevenzip: header exceeds a bound")

func bound(n, limit uint64, what string) error {
	if n > limit {
		return fmt.Errorf("%w: %s %d > %d", ErrBound, what, n, limit)
	}

	return nil
}
