// TEMPORARY STAND-IN, replaced by branch archive.
//
// Package tnef is written on branch archive; this file only lets package
// unpack compile until the merge. It decodes nothing and says so. The
// lead drops this file when merging branch archive.
package tnef

import "io"

// Attachment is one file inside a TNEF stream.
type Attachment struct {
	Name string
	Data []byte
}

// Decode is the stand-in: it reports that no decoder is built in.
func Decode(r io.Reader, maxBytes int64) (atts []Attachment, problems []string, err error) {
	return nil, []string{"TNEF stand-in: no decoder until branch archive is merged"}, nil
}
