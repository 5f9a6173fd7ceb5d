// TEMPORARY STAND-IN, replaced by branch archive.
//
// Package archive is written on branch archive; this file only lets
// package unpack compile and test its integration until the merge. It
// opens zip and gzip with the standard library, nothing else. The lead
// drops this file when merging branch archive.
package archive

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
)

// Limits bounds one Walk.
type Limits struct {
	MaxMembers int
	MaxBytes   int64
	MaxRatio   float64
}

// Member describes one regular file of an archive.
type Member struct {
	Name      string
	Size      int64
	Encrypted bool
	Problems  []string
}

// Identify sniffs the start of the content.
func Identify(head []byte) (format string, ok bool) {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "zip", true
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gz", true
	}
	return "", false
}

// Walk opens one level of an archive or compressed stream.
func Walk(ctx context.Context, format string, r io.ReaderAt, size int64, lim Limits, fn func(m Member, content io.Reader) error) (problems []string, err error) {
	switch format {
	case "gz":
		zr, err := gzip.NewReader(io.NewSectionReader(r, 0, size))
		if err != nil {
			return []string{"gzip: " + err.Error()}, nil
		}
		zr.Multistream(true)
		lr := &io.LimitedReader{R: zr, N: lim.MaxBytes + 1}
		if err := fn(Member{Name: zr.Name, Size: -1}, lr); err != nil {
			return nil, err
		}
		if lr.N <= 0 {
			problems = append(problems, "limit: expanded size")
		}
		return problems, nil
	case "zip":
		zr, err := zip.NewReader(r, size)
		if err != nil {
			return []string{"zip: " + err.Error()}, nil
		}
		var total int64
		for i, f := range zr.File {
			if ctx.Err() != nil {
				return problems, ctx.Err()
			}
			if i >= lim.MaxMembers {
				return append(problems, fmt.Sprintf("limit: more than %d members", lim.MaxMembers)), nil
			}
			if f.Mode().IsDir() {
				continue
			}
			m := Member{Name: f.Name, Size: int64(f.UncompressedSize64), Encrypted: f.Flags&1 != 0}
			if m.Encrypted {
				if err := fn(m, bytes.NewReader(nil)); err != nil {
					return problems, err
				}
				continue
			}
			rc, err := f.Open()
			if err != nil {
				m.Problems = append(m.Problems, err.Error())
				if err := fn(m, bytes.NewReader(nil)); err != nil {
					return problems, err
				}
				continue
			}
			lr := &io.LimitedReader{R: rc, N: lim.MaxBytes - total + 1}
			err = fn(m, lr)
			rc.Close()
			total = lim.MaxBytes + 1 - lr.N
			if err != nil {
				return problems, err
			}
			if total > lim.MaxBytes {
				return append(problems, "limit: expanded size"), nil
			}
		}
		return problems, nil
	}
	return nil, fmt.Errorf("format %q not supported", format)
}
