package unpack

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// splicePipe moves the data of the pipe in to the end of f inside the
// kernel (splice(2)), without copying it through our memory: a large
// message from an MTA's pipe costs no user-space buffer. handled is false
// when in is not a pipe or splice is not supported, and nothing was read.
func splicePipe(f, in *os.File, limit int64) (n int64, handled bool, err error) {
	st, err := in.Stat()
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return 0, false, nil
	}
	rc, err := in.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	off, err := f.Seek(0, 2)
	if err != nil {
		return 0, false, nil
	}
	for limit < 0 || n < limit {
		chunk := 1 << 20
		if limit >= 0 && limit-n < int64(chunk) {
			chunk = int(limit - n)
		}
		var m int64
		var serr error
		cerr := rc.Read(func(fd uintptr) bool {
			m, serr = unix.Splice(int(fd), nil, int(f.Fd()), &off, chunk, unix.SPLICE_F_MOVE)
			return serr != unix.EAGAIN
		})
		if cerr != nil && serr == nil {
			serr = cerr
		}
		if serr != nil {
			if n == 0 && (errors.Is(serr, unix.EINVAL) || errors.Is(serr, unix.ENOSYS)) {
				return 0, false, nil
			}
			return n, true, serr
		}
		if m == 0 {
			break // EOF
		}
		n += m
	}
	return n, true, nil
}
