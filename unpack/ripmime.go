package unpack

import (
	"bytes"
	"strings"
)

// ripmime's reading of a Content-Type's boundary and of delimiter lines,
// ported from its source (MIME_headers.c MIMEH_parse_contenttype and
// MIMEH_parse_header_parameter, mime.c MIME_unpack_stage2,
// boundary-stack.c BS_cmp; Debian's ripmime 1.4.0.10) and checked with
// ../shared/readers/readers.py and ripmime --debug.

// ripBoundaries returns the boundaries ripmime finds in a Content-Type
// value (comments removed, encoded words decoded), in order; lead is the
// white space between the colon and the value. QUIRK: ripmime splits the
// value at ";", space and tab itself: a parameter is looked for only after
// the second separator (with no white space before the value, nothing
// before "boundary=" in "multipart/mixed;boundary=B" is a separator
// ripmime uses, and it finds no boundary); a quoted value ends at the next
// quote whatever follows it; an unquoted one ends at ";", space or tab;
// then a value that starts and ends with a double or a single quote loses
// both ('B' reads B).
func ripBoundaries(value string, lead bool) []string {
	hv := []byte(value)
	if lead {
		hv = append([]byte{' '}, hv...)
	}
	hv = append(hv, 0) // C string: ripmime writes NULs into it
	p := ripPbrk(hv, 0, ";\t\n\r ")
	if p < 0 {
		return nil
	}
	param := ripPbrk(hv, p+1, ";\n\r\t ")
	var out []string
	for param >= 0 {
		param++
		for hv[param] == ' ' || hv[param] == '\t' {
			param++
		}
		if hv[param] == 0 {
			break
		}
		if _, _, dep := ripParam(hv, param, "name"); dep > param {
			param = dep
		}
		v, ok, dep := ripParam(hv, param, "boundary")
		if dep > param {
			param = dep
		}
		if ok {
			out = append(out, v)
		}
		param = ripPbrk(hv, param, ";\n\r ")
	}
	return out
}

// ripBoundarySet is what ripmime splits a multipart at, from the
// boundaries its Content-Type gives: the last one, and, QUIRK
// (MIME_unpack_stage2), the last one without its first or last character
// when that is a double quote.
func ripBoundarySet(all []string) (string, []string, bool) {
	if len(all) == 0 {
		return "", nil, false
	}
	last := all[len(all)-1]
	var extra []string
	if strings.HasPrefix(last, `"`) {
		extra = append(extra, last[1:])
	}
	if strings.HasSuffix(last, `"`) && len(last) > 1 {
		extra = append(extra, last[:len(last)-1])
	}
	return last, extra, true
}

// ripPbrk is C's strpbrk on the NUL-terminated hv from i: the index of
// the first byte of set, or -1.
func ripPbrk(hv []byte, i int, set string) int {
	for ; i < len(hv) && hv[i] != 0; i++ {
		if strings.IndexByte(set, hv[i]) >= 0 {
			return i
		}
	}
	return -1
}

func ripSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// ripParam is MIMEH_parse_header_parameter: the value of parameter
// search when hv at at starts with it (any case), whether it did, and
// where ripmime goes on (dep). Like ripmime it writes NULs into hv.
func ripParam(hv []byte, at int, search string) (string, bool, int) {
	dep := at
	end := at + bytes.IndexByte(hv[at:], 0)
	if end-at < len(search) || !strings.EqualFold(string(hv[at:at+len(search)]), search) {
		return "", false, dep
	}
	s := at + len(search)
	switch hv[s] {
	case '*':
		// RFC 2231 sections: ripmime joins every "search" it finds; not
		// a boundary any reader here splits at.
		return "", false, dep
	case '=', ' ', '\t':
	default:
		return "", false, dep
	}
	for ripSpace(hv[s]) {
		s++
	}
	if hv[s] == 0 {
		return "", false, dep
	}
	for hv[s+1] == '=' {
		s++
	}
	e := s + bytes.IndexByte(hv[s:], 0) - 1
	dep = e
	for e > s && ripSpace(hv[e]) {
		hv[e] = 0
		e--
	}
	if hv[s] == '=' {
		s++
	}
	for ripSpace(hv[s]) {
		s++
	}
	if hv[s] == '"' {
		s++
		for hv[s] == '"' {
			s++
		}
		if hv[s] != 0 {
			q := -1
			if hv[s+1] != 0 {
				if k := bytes.IndexByte(hv[s+1:], '"'); k >= 0 && k < bytes.IndexByte(hv[s+1:], 0) {
					q = s + 1 + k
				}
			}
			if q < 0 {
				q = ripPbrk(hv, s, "; \n\r\t")
			}
			if q >= 0 {
				hv[q] = 0
				dep = q + 1
			}
		}
	} else if q := ripPbrk(hv, s, "; \n\r\t"); q >= 0 {
		hv[q] = 0
		dep = q + 1
	}
	v := string(hv[s : s+bytes.IndexByte(hv[s:], 0)])
	if n := len(v); n > 0 && (v[0] == '"' && v[n-1] == '"' || v[0] == '\'' && v[n-1] == '\'') {
		if n == 1 {
			v = ""
		} else {
			v = v[1 : n-1]
		}
	}
	return v, true, dep
}

// ripAlnum counts the letters and digits of b (BS_non_hyphen_length).
func ripAlnum(b []byte) int {
	n := 0
	for _, c := range b {
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			n++
		}
	}
	return n
}

// ripMatch reports whether ripmime takes line (which starts with "-") as
// a delimiter of boundary b, and whether "--" follows the boundary.
// QUIRK (BS_cmp): the line must hold as many letters and digits as the
// boundary (nhl, counted by the caller over the whole line), and the
// boundary must start within its first four bytes ("--'B'" delimits B,
// "-B" too; "--Bx" and "--B x" do not); an empty boundary is any line
// that starts with "--" and holds no letter or digit.
func ripMatch(line []byte, nhl int, b []byte) (bool, bool) {
	if ripAlnum(b) != nhl {
		return false, false
	}
	if len(b) == 0 {
		return bytes.HasPrefix(line, []byte("--")), bytes.HasPrefix(line, []byte("----"))
	}
	t := line
	if len(t) > 126 { // ripmime copies the line into 127 bytes
		t = t[:126]
	}
	for k := 0; k < 4 && k < len(t); k++ {
		if bytes.HasPrefix(t[k:], b) {
			return true, bytes.HasPrefix(t[k+len(b):], []byte("--"))
		}
	}
	return false, false
}
