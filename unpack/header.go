package unpack

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// field is one header field, its name in lower case and its value
// unfolded (line breaks removed, RFC 5322 section 2.2.3).
type field struct {
	name, value string
	// trailWS: the value ended in white space before it was trimmed
	// (Python's email compares the Content-Transfer-Encoding with it).
	trailWS bool
	// lead: white space came between the colon and the value (ripmime
	// looks for parameters only after the second separator it finds).
	lead bool
}

// isHeaderLine reports whether a line can belong to a header: a field
// ("name:"), a continuation (leading space or tab), or an mbox "From ".
// QUIRK: the same test as Python's email.feedparser headerRE; a line that
// fails it ends the header and starts the body, as in Python and
// Thunderbird, with a "malformed" problem.
func isHeaderLine(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if b[0] == ' ' || b[0] == '\t' {
		return true
	}
	if bytes.HasPrefix(b, []byte("From ")) {
		return true
	}
	for _, c := range b {
		if c == ':' {
			return true
		}
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return false
}

// parseFields splits a raw header into fields. Continuation lines before
// any field and lines without a colon are skipped. It is linear in the
// size of the header (a field folded over 330,000 lines must not cost
// quadratic time) and calls stop every 1024 lines: when stop reports
// true (the time budget is spent) it returns the fields read so far and
// false.
func parseFields(raw []byte, stop func() bool) ([]field, bool) {
	var fields []field
	var val []byte // the value of the last field, being unfolded
	flush := func() {
		if n := len(fields); n > 0 {
			fields[n-1].value = string(bytes.TrimSpace(val))
			fields[n-1].trailWS = len(val) > 0 && (val[len(val)-1] == ' ' || val[len(val)-1] == '\t')
			fields[n-1].lead = len(val) > 0 && (val[0] == ' ' || val[0] == '\t')
		}
	}
	complete := true
	for nline := 1; len(raw) > 0; nline++ {
		if nline&1023 == 0 && stop != nil && stop() {
			complete = false
			break
		}
		line := raw
		if i := indexNL(raw); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if len(fields) > 0 {
				val = append(val, line...)
			}
			continue
		}
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		flush()
		name := strings.ToLower(strings.TrimRight(string(line[:i]), " \t"))
		fields = append(fields, field{name: name})
		val = append(val[:0], line[i+1:]...)
	}
	flush()
	return fields, complete
}

// param is one parameter of a structured field, in order of appearance.
type param struct {
	name, value string
	quoted      bool
}

// parseParamField splits "type/subtype; a=b; c=\"d\"" leniently into its
// value (lower case) and parameters. It never fails: what cannot be read
// is skipped and reported in problems.
func parseParamField(s string) (value string, params []param, problems []string) {
	i := strings.IndexByte(s, ';')
	if i < 0 {
		return strings.ToLower(strings.TrimSpace(stripComment(s))), nil, nil
	}
	value = strings.ToLower(strings.TrimSpace(stripComment(s[:i])))
	s = s[i+1:]
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t;")
		if s == "" {
			break
		}
		eq := strings.IndexAny(s, "=;")
		if eq < 0 || s[eq] == ';' {
			end := eq
			if end < 0 {
				end = len(s)
			}
			problems = append(problems, fmt.Sprintf("parameter without value %q", clip(s[:end])))
			s = s[end:]
			continue
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var v string
		quoted := false
		if strings.HasPrefix(s, "\"") {
			quoted = true
			var b strings.Builder
			j := 1
			closed := false
			for ; j < len(s); j++ {
				c := s[j]
				if c == '\\' && j+1 < len(s) {
					j++
					b.WriteByte(s[j])
					continue
				}
				if c == '"' {
					closed = true
					j++
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				problems = append(problems, fmt.Sprintf("unterminated quoted value of %q", clip(name)))
			}
			v = b.String()
			s = s[j:]
			// Anything up to the next ';' after the quotes is dropped.
			if k := strings.IndexByte(s, ';'); k >= 0 {
				if strings.TrimSpace(s[:k]) != "" {
					problems = append(problems, fmt.Sprintf("text after quoted value of %q", clip(name)))
				}
				s = s[k:]
			} else {
				if strings.TrimSpace(s) != "" {
					problems = append(problems, fmt.Sprintf("text after quoted value of %q", clip(name)))
				}
				s = ""
			}
		} else {
			// QUIRK: an unquoted value runs to the next ';' and may hold
			// spaces (RFC 2045 wants a token); Thunderbird and Outlook
			// read it this way.
			k := strings.IndexByte(s, ';')
			if k < 0 {
				k = len(s)
			}
			v = strings.TrimSpace(s[:k])
			s = s[k:]
		}
		params = append(params, param{name: name, value: v, quoted: quoted})
	}
	return value, params, problems
}

// stripComment removes an RFC 5322 comment after a media type.
func stripComment(s string) string {
	if i := strings.IndexByte(s, '('); i >= 0 {
		return s[:i]
	}
	return s
}

// resolvedParams is what a part's parameters mean once RFC 2231 is
// applied, with the ambiguities found.
type resolvedParams struct {
	values    map[string]string
	ambiguous []string
	problems  []string
}

// resolveParams applies RFC 2231 (sections 3 and 4: continuations
// name*0, name*1 and charset'lang'%XX values) and RFC 2047 encoded words,
// and notes duplicates and disagreements.
func resolveParams(params []param) resolvedParams {
	res := resolvedParams{values: map[string]string{}}
	type section struct {
		n       int
		value   string
		encoded bool
	}
	plain := map[string][]string{}
	ext := map[string][]section{}
	var order []string
	seen := map[string]bool{}
	for _, p := range params {
		name := p.name
		if j := strings.IndexByte(name, '*'); j >= 0 {
			base, rest := name[:j], name[j+1:]
			sec := section{value: p.value}
			if strings.HasSuffix(rest, "*") {
				sec.encoded = true
				rest = strings.TrimSuffix(rest, "*")
			}
			if rest == "" {
				// name*=charset'lang'value
				sec.encoded = true
				sec.n = 0
				if !strings.HasSuffix(name, "*") || strings.Count(name, "*") != 1 {
					sec.encoded = false
				}
			} else if n, err := strconv.Atoi(rest); err == nil && n >= 0 && n < 1000 {
				sec.n = n
			} else {
				res.problems = append(res.problems, fmt.Sprintf("bad RFC 2231 parameter name %q", clip(name)))
				continue
			}
			if !seen[base] {
				seen[base] = true
				order = append(order, base)
			}
			ext[base] = append(ext[base], sec)
			continue
		}
		if !seen[name] {
			seen[name] = true
			order = append(order, name)
		}
		plain[name] = append(plain[name], p.value)
	}
	for _, name := range order {
		if vs := plain[name]; len(vs) > 1 {
			res.ambiguous = append(res.ambiguous, fmt.Sprintf("parameter %q given %d times: %s", clip(name), len(vs), quoteList(vs)))
		}
		secs := ext[name]
		var extValue string
		hasExt := len(secs) > 0
		if hasExt {
			sort.SliceStable(secs, func(i, j int) bool { return secs[i].n < secs[j].n })
			var cs string
			var b []byte
			for i, s := range secs {
				if i > 0 && s.n == secs[i-1].n {
					res.ambiguous = append(res.ambiguous, fmt.Sprintf("RFC 2231 section %d of %q given twice", s.n, clip(name)))
					continue
				}
				if s.n != i {
					res.problems = append(res.problems, fmt.Sprintf("RFC 2231 sections of %q not contiguous (missing %d)", clip(name), i))
				}
				v := s.value
				if s.encoded {
					if i == 0 {
						// charset'language'value
						parts := strings.SplitN(v, "'", 3)
						if len(parts) == 3 {
							cs, v = parts[0], parts[2]
						} else {
							res.problems = append(res.problems, fmt.Sprintf("RFC 2231 value of %q lacks charset'language'", clip(name)))
						}
					}
					u, err := url.PathUnescape(v)
					if err != nil {
						res.problems = append(res.problems, fmt.Sprintf("bad %%-escape in RFC 2231 value of %q", clip(name)))
						u = v
					}
					v = u
				}
				b = append(b, v...)
			}
			extValue = toUTF8(cs, b, &res.problems)
		}
		var plainValue string
		if vs := plain[name]; len(vs) > 0 {
			// QUIRK: of repeated parameters the first counts, as in
			// Python's email (get_param) and Thunderbird; the repetition is
			// recorded as ambiguous because some parsers take the last
			// (amavis CVE-2024-28054).
			plainValue = decode2047(vs[0], &res.problems)
		}
		switch {
		case hasExt && len(plain[name]) > 0:
			// QUIRK: the RFC 2231 form wins over the plain one, as in
			// Thunderbird, Outlook and Go's mime package; Python's email
			// returns the plain one. A disagreement is ambiguous.
			if plainValue != extValue {
				res.ambiguous = append(res.ambiguous, fmt.Sprintf("parameter %q: RFC 2231 value %q differs from plain value %q", clip(name), clip(extValue), clip(plainValue)))
			}
			res.values[name] = extValue
		case hasExt:
			res.values[name] = extValue
		default:
			res.values[name] = plainValue
		}
	}
	return res
}

// toUTF8 converts b from the named charset; "" means ASCII or UTF-8.
func toUTF8(cs string, b []byte, problems *[]string) string {
	cs = strings.ToLower(strings.TrimSpace(cs))
	if cs == "" || cs == "utf-8" || cs == "us-ascii" || cs == "utf8" {
		if !utf8.Valid(b) {
			*problems = append(*problems, "invalid UTF-8 in parameter value")
			return strings.ToValidUTF8(string(b), "\uFFFD")
		}
		return string(b)
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("unknown charset %q", clip(cs)))
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(len(b))*4+16))
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("bad %s text", clip(cs)))
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// decode2047 decodes RFC 2047 encoded words. QUIRK: they are decoded in
// parameter values too (RFC 2047 section 5 forbids them there), because
// Outlook, Gmail and Thunderbird do so for file names.
func decode2047(s string, problems *[]string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d := mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
		return charset.Reader(cs, r)
	}}
	out, err := d.DecodeHeader(s)
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("bad RFC 2047 encoded word in %q", clip(s)))
		return s
	}
	return strings.ToValidUTF8(out, "\uFFFD")
}

// clip shortens s for a problem's detail.
func clip(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func quoteList(vs []string) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 5 {
			b.WriteString("...")
			break
		}
		b.WriteString(strconv.Quote(clip(v)))
	}
	return b.String()
}
