package sanitize

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/unpack"
)

// maxDisinfect caps the archive rebuilt in memory (in and out).
// QUIRK: a bigger archive is replaced whole.
const maxDisinfect = 64 << 20

// errNoDisinfect says why an archive is replaced whole after all; the
// caller falls back to the replacement and never shows it.
var errNoDisinfect = errors.New("cannot disinfect")

// disinfect writes o.p rebuilt without its denied members, followed by a
// text part listing them, when o.p is a zip or tar attachment and every
// decision of o is a deny on one of its own members. It returns false
// (and writes nothing) when that cannot be done: the caller then replaces
// the part whole. An error is returned only for a failure of w or ctx.
func (rw *rewriter) disinfect(w io.Writer, o *op) (bool, error) {
	p := o.p
	removed, err := rw.disinfectable(o)
	if err != nil {
		return false, nil
	}
	boundary, err := rw.boundaryAfter(p)
	if err != nil {
		return false, nil
	}
	raw, ok, err := rw.readHeader(p)
	if err != nil || !ok {
		return false, nil
	}
	content, err := readContent(p)
	if err != nil {
		return false, nil
	}
	var rebuilt []byte
	switch p.Format {
	case "zip":
		rebuilt, err = rebuildZip(content, p, removed)
	case "tar":
		rebuilt, err = rebuildTar(content, p, removed)
	}
	if err != nil {
		return false, nil
	}
	text, err := rw.replacementText(o.replace)
	if err != nil {
		return false, err
	}
	if err := rw.ctx.Err(); err != nil {
		return false, err
	}

	var b bytes.Buffer
	// The part's own header, but for its transfer encoding.
	blank, b64 := false, false
	for _, c := range splitHeader(raw) {
		switch {
		case c.name == "content-transfer-encoding" && !b64 && strings.EqualFold(c.value(), "base64"):
			b64 = true
		case c.name == "content-transfer-encoding":
			continue
		case c.name == "" && isBlank(c.raw) && !blank:
			if !b64 {
				b.WriteString("Content-Transfer-Encoding: base64" + rw.eol)
			}
			blank = true
		}
		writeChunk(&b, c.raw, rw.eol)
	}
	if !blank {
		if !b64 {
			b.WriteString("Content-Transfer-Encoding: base64" + rw.eol)
		}
		b.WriteString(rw.eol)
	}
	enc := base64.StdEncoding.EncodeToString(rebuilt)
	for i := 0; i < len(enc); i += 76 {
		if i > 0 {
			b.WriteString(rw.eol)
		}
		b.WriteString(enc[i:min(i+76, len(enc))])
	}
	// The note, as a sibling right after the archive: the line break
	// before our delimiter belongs to it (RFC 2046 section 5.1.1), the
	// original delimiter that follows o.p stays.
	b.WriteString(rw.eol + "--" + boundary + rw.eol)
	b.WriteString("Content-Type: text/plain; charset=utf-8" + rw.eol)
	b.WriteString("Content-Transfer-Encoding: quoted-printable" + rw.eol)
	b.WriteString("Content-Disposition: inline" + rw.eol)
	b.WriteString(rw.eol)
	b.Write(qpEncode([]byte(text), rw.eol))
	rw.res.produced.content(rebuilt)
	rw.res.produced.content([]byte(text))
	if _, err := w.Write(b.Bytes()); err != nil {
		return false, fmt.Errorf("writing message: %w", err)
	}
	rw.res.Disinfected = append(rw.res.Disinfected, p.Path)
	return true, nil
}

// disinfectable returns the indexes in o.p.Children of the members to
// remove, or errNoDisinfect.
func (rw *rewriter) disinfectable(o *op) (map[int]bool, error) {
	p := o.p
	// A part also to be renamed is replaced whole: the rebuilt archive
	// kept its old name (found by sanitize.Verify while fuzzing).
	if o.rename != "" {
		return nil, errNoDisinfect
	}
	if (p.Format != "zip" && p.Format != "tar") || p.Encrypted || p.Unscannable != "" ||
		p.Container || !inRaw(p) || p.Depth == 0 || p.Size > maxDisinfect {
		return nil, errNoDisinfect
	}
	// The note is a sibling of o.p: its parent must be a multipart.
	// todo: an archive that is a whole message (or the body of an
	// embedded one) could become a multipart/mixed; it is replaced.
	if par := rw.ix.parent[p]; par == nil || !strings.HasPrefix(par.DeclaredType, "multipart/") {
		return nil, errNoDisinfect
	}
	pos := map[*unpack.Part]int{}
	for i, c := range p.Children {
		pos[c] = i
	}
	removed := map[int]bool{}
	for _, dn := range o.replace {
		// QUIRK: only direct members are removed. A member nested deeper
		// (a zip in the zip, a tar in a gzip) would need the inner archive
		// rebuilt too: todo; the outer part is replaced whole. So is an
		// archive with a decision on itself, or a rename of a member.
		i, ok := pos[dn.p]
		if !ok || dn.p.Origin != unpack.OriginArchive || dn.d.Action.Severity() < rules.Deny.Severity() {
			return nil, errNoDisinfect
		}
		removed[i] = true
	}
	if len(removed) == 0 {
		return nil, errNoDisinfect
	}
	return removed, nil
}

// boundaryAfter returns the boundary of o.p's parent multipart, checking
// that a delimiter line follows o.p in the raw message.
func (rw *rewriter) boundaryAfter(p *unpack.Part) (string, error) {
	par := rw.ix.parent[p]
	if par == nil || !inRaw(par) {
		return "", errNoDisinfect
	}
	raw, ok, err := rw.readHeader(par)
	if err != nil || !ok {
		return "", errNoDisinfect
	}
	var boundary string
	for _, c := range splitHeader(raw) {
		if c.name == "content-type" {
			_, params, err := mime.ParseMediaType(c.value())
			if err != nil {
				return "", errNoDisinfect
			}
			boundary = params["boundary"]
			break
		}
	}
	if boundary == "" || strings.ContainsAny(boundary, "\r\n") {
		return "", errNoDisinfect
	}
	want := len(boundary) + 4
	if p.End+int64(want) > rw.size {
		return "", errNoDisinfect
	}
	next, err := rw.readRange(p.End, int64(want))
	if err != nil {
		return "", errNoDisinfect
	}
	if !bytes.HasPrefix(next, []byte("\n--"+boundary)) && !bytes.HasPrefix(next, []byte("\r\n--"+boundary)) {
		return "", errNoDisinfect
	}
	return boundary, nil
}

// readContent returns the decoded content of p.
func readContent(p *unpack.Part) ([]byte, error) {
	rc, err := p.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxDisinfect+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != p.Size || len(b) > maxDisinfect {
		return nil, errNoDisinfect
	}
	return b, nil
}

// rebuildZip copies the zip in b without the members whose index (in the
// order unpack's archive walk yields them: every entry but empty
// directories) is in removed. Members are copied raw, compressed as they
// were. Any doubt (a member list that differs from unpack's) fails.
func rebuildZip(b []byte, p *unpack.Part, removed map[int]bool) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, err
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	n := 0
	for _, f := range zr.File {
		dir := f.Mode().IsDir() || strings.HasSuffix(f.Name, "/")
		if !(dir && f.UncompressedSize64 == 0 && f.CompressedSize64 == 0) {
			// A member unpack yielded: it must be the same one.
			if n >= len(p.Children) || p.Children[n].Name != f.Name {
				return nil, errNoDisinfect
			}
			n++
			if removed[n-1] {
				continue
			}
		}
		if err := zw.Copy(f); err != nil {
			return nil, err
		}
	}
	if n != len(p.Children) {
		return nil, errNoDisinfect
	}
	if err := zw.SetComment(zr.Comment); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// rebuildTar copies the tar in b without the members whose index (among
// the regular files, as unpack's archive walk yields them) is in removed.
func rebuildTar(b []byte, p *unpack.Part, removed map[int]bool) ([]byte, error) {
	tr := tar.NewReader(bytes.NewReader(b))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeReg, '\x00', tar.TypeCont, tar.TypeGNUSparse:
			if n >= len(p.Children) || p.Children[n].Name != h.Name {
				return nil, errNoDisinfect
			}
			n++
			if removed[n-1] {
				continue
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, err
		}
	}
	if n != len(p.Children) {
		return nil, errNoDisinfect
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
