package archive

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ar, the Unix archive (Debian packages are ar archives), which 7-Zip
// and ar(1) open: "!<arch>\n", then for each member a 60-byte header
// (name, mtime, uid, gid, mode, decimal size, "`\n") and the data, padded
// to an even size. GNU ar names long members "/N", an offset into the
// "//" table; BSD ar writes "#1/N" and puts N bytes of name before the
// data.

const arMagic = "!<arch>\n"

func walkAr(w *walker, r io.ReaderAt, size int64) error {
	off := int64(len(arMagic))
	var longNames []byte
	for off < size {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		var h [60]byte
		if n, _ := r.ReadAt(h[:], off); n < 60 {
			if n > 0 && strings.TrimSpace(string(h[:n])) != "" {
				w.problem("truncated: ar: header at offset %d", off)
			}
			return nil
		}
		if string(h[58:60]) != "`\n" {
			w.problem("corrupt: ar: header at offset %d", off)
			return nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(h[48:58])), 10, 64)
		if err != nil || n < 0 {
			w.problem("corrupt: ar: size %q at offset %d", h[48:58], off)
			return nil
		}
		dataAt := off + 60
		off = dataAt + n + n%2
		name := strings.TrimRight(string(h[:16]), " ")
		switch {
		case name == "//": // GNU long-name table
			if n > 1<<20 {
				w.problem("limit: ar: long-name table of %d bytes", n)
				return nil
			}
			longNames = make([]byte, n)
			r.ReadAt(longNames, dataAt)
			continue
		case name == "/" || name == "/SYM64/" || strings.HasPrefix(name, "__.SYMDEF"):
			continue // symbol tables
		case strings.HasPrefix(name, "#1/"):
			k, err := strconv.Atoi(name[3:])
			if err != nil || k < 0 || int64(k) > n || k > 4096 {
				w.problem("corrupt: ar: name length %q", name)
				return nil
			}
			nb := make([]byte, k)
			r.ReadAt(nb, dataAt)
			name = string(bytes.TrimRight(nb, "\x00"))
			dataAt += int64(k)
			n -= int64(k)
		case len(name) > 1 && name[0] == '/' && name[1] >= '0' && name[1] <= '9':
			i, err := strconv.Atoi(name[1:])
			if err != nil || i < 0 || i >= len(longNames) {
				name = ""
				break
			}
			e := bytes.IndexByte(longNames[i:], '\n')
			if e < 0 {
				e = len(longNames) - i
			}
			name = strings.TrimSuffix(string(longNames[i:i+e]), "/")
		default:
			name = strings.TrimSuffix(name, "/")
		}
		m := Member{Name: name, Size: n}
		at := dataAt
		open := func() (io.Reader, error) {
			if at+n > size {
				return io.MultiReader(io.NewSectionReader(r, at, max(size-at, 0)),
					errReader{fmt.Errorf("member cut short: %w", io.ErrUnexpectedEOF)}), nil
			}
			return io.NewSectionReader(r, at, n), nil
		}
		if err := w.yield(m, open, 0); err != nil {
			return err
		}
	}
	return nil
}
