package pipeline

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// headerInfo is what the delivery path needs from the top of the message.
type headerInfo struct {
	fromLine      string // the sender named in a leading "From " line, if any
	bodyStart     int64  // offset of the message proper (after a From_ line)
	crlf          bool   // the header uses CRLF line endings
	messageID     string
	hasReturnPath bool     // the MTA already put a Return-Path: on top
	deliveredTo   []string // Delivered-To: fields at the top of the header
}

// isStatusField reports whether a header field name is one we own: every
// X-Scandeliver-* field (status, warnings, quarantine id, the release
// mark), every X-Spam-* field, and the configured status field name. A
// message that arrives with one was marked by someone else (a sender
// forging a "clean" mark, or a release): they are all removed before ours
// are added (issue 12.3).
func isStatusField(name, custom string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	return strings.HasPrefix(n, "x-scandeliver-") || strings.HasPrefix(n, "x-spam-") ||
		(custom != "" && n == strings.ToLower(strings.TrimSpace(custom)))
}

// maxHeaderScan bounds how much of the header the delivery path reads;
// unpack reads the rest with its own limits.
const maxHeaderScan = 256 << 10

// scanHeader reads the top of the message. A leading "From " line (the
// mbox envelope an MTA may prepend, as Postfix does for commands) is the
// envelope, not the message: it is skipped, like procmail and dovecot-lda
// do, and its sender used when no other is known.
func scanHeader(r io.ReaderAt, size int64) headerInfo {
	n := min(size, maxHeaderScan)
	// Most headers end within their first few KiB: those are read
	// first, and the rest up to maxHeaderScan only for a header that
	// goes on past them. The answer is the same: parseHeader reads no
	// further than the empty line. (A message over 256 KiB had two such
	// buffers allocated and read per delivery, enough to start the
	// garbage collector.)
	if first := int64(16 << 10); n > first {
		buf := make([]byte, first)
		if m, _ := r.ReadAt(buf, 0); m == len(buf) {
			if hi, ended := parseHeader(buf); ended {
				return hi
			}
		}
	}
	buf := make([]byte, n)
	m, _ := r.ReadAt(buf, 0)
	hi, _ := parseHeader(buf[:m])
	return hi
}

// parseHeader is scanHeader on the bytes read; ended reports that it
// found the empty line that ends the header.
func parseHeader(buf []byte) (hi headerInfo, ended bool) {
	if bytes.HasPrefix(buf, []byte("From ")) {
		// The line runs to its newline, or to the end of what was read
		// (a message that is only "From ...": issue 12.4, it panicked).
		line, rest := buf, []byte(nil)
		if eol := bytes.IndexByte(buf, '\n'); eol >= 0 {
			line, rest = buf[:eol], buf[eol+1:]
		}
		f := strings.Fields(string(line[len("From "):]))
		if len(f) > 0 {
			hi.fromLine = f[0]
		}
		hi.bodyStart = int64(len(buf) - len(rest))
		buf = rest
	}
	if i := bytes.IndexByte(buf, '\n'); i > 0 && buf[i-1] == '\r' {
		hi.crlf = true
	}
	top := true // still in the leading trace fields an MTA adds
	for len(buf) > 0 {
		eol := bytes.IndexByte(buf, '\n')
		var line []byte
		if eol < 0 {
			line, buf = buf, nil
		} else {
			line, buf = buf[:eol], buf[eol+1:]
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			ended = true
			break // end of header
		}
		if line[0] == ' ' || line[0] == '\t' {
			// QUIRK: folded Message-ID values (RFC 5322 section 2.2.3)
			if hi.messageID == "\x00" {
				hi.messageID = strings.TrimSpace(string(line))
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			top = false
			continue
		}
		key := strings.ToLower(strings.TrimSpace(string(name)))
		val := strings.TrimSpace(string(value))
		switch key {
		case "return-path":
			if top {
				hi.hasReturnPath = true
			}
		case "delivered-to":
			if top {
				hi.deliveredTo = append(hi.deliveredTo, strings.ToLower(val))
			}
		case "x-original-to":
		case "message-id":
			top = false
			if hi.messageID == "" {
				hi.messageID = val
				if val == "" {
					hi.messageID = "\x00" // value on the next line
				}
			}
		default:
			top = false
		}
	}
	if hi.messageID == "\x00" {
		hi.messageID = ""
	}
	return hi, ended
}

// prefixFields builds the header fields prepended to the message:
// Return-Path and Delivered-To, as other LDAs do, unless the MTA already
// put the same ones on top (Postfix does for commands), so that they are
// never doubled.
func prefixFields(hi headerInfo, sender, recipient string, status []string) []byte {
	nl := "\n"
	if hi.crlf {
		nl = "\r\n"
	}
	var b strings.Builder
	if !hi.hasReturnPath {
		rp := sender
		if strings.EqualFold(rp, "MAILER-DAEMON") {
			rp = ""
		}
		b.WriteString("Return-Path: <" + cleanAddr(rp) + ">" + nl)
	}
	if recipient != "" {
		seen := false
		for _, d := range hi.deliveredTo {
			if d == strings.ToLower(recipient) {
				seen = true
			}
		}
		if !seen {
			b.WriteString("Delivered-To: " + cleanAddr(recipient) + nl)
		}
	}
	for _, h := range status {
		b.WriteString(cleanField(h) + nl)
	}
	return []byte(b.String())
}

// cleanAddr keeps an envelope address from breaking the header it is
// written into: no line breaks, no control characters, no angle brackets.
func cleanAddr(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '<' || r == '>' {
			return -1
		}
		return r
	}, s)
}

// cleanField keeps a status field we generate on one line.
func cleanField(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// headerFilter says which fields of a message's top-level header are
// removed before delivery: every field we own (isStatusField, wherever it
// stands in the header, however long its line), and a Return-Path in the
// leading trace fields that does not name the envelope sender (it would
// hide it: ours is written on top instead, as Postfix's local(8) does).
type headerFilter struct {
	custom     string // the configured status field name
	returnPath string // the envelope sender as Return-Path names it, "" for <>
}

// removes reports whether the field named key (lower case) with value is
// removed; top says it stands among the leading trace fields.
func (f headerFilter) removes(key string, value []byte, top bool) bool {
	if isStatusField(key, f.custom) {
		return true
	}
	return key == "return-path" && top && !strings.EqualFold(returnPathAddr(string(value)), f.returnPath)
}

// returnPathAddr is the address of a Return-Path value: "<a@b>" -> "a@b".
func returnPathAddr(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	return strings.TrimSpace(v)
}

// traceField reports the fields an MTA puts on top at delivery (see
// scanHeader): a Return-Path among them is the envelope's.
func traceField(key string) bool {
	return key == "return-path" || key == "delivered-to" || key == "x-original-to"
}

// filterHeader copies the message from r to w without the fields f
// removes from its top-level header (up to the first empty line); the
// rest is copied byte for byte. With w nil it only reports, as soon as it
// knows, whether anything would be removed. Lines of any length are
// judged by their start: a field of ours padded past the reader's buffer
// is still ours.
func filterHeader(w io.Writer, r io.Reader, f headerFilter) (removed bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var bw *bufio.Writer
	if w != nil {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	write := func(b []byte) {
		if bw != nil {
			bw.Write(b)
		}
	}
	skipping, top := false, true
	for {
		line, err := br.ReadSlice('\n')
		long := err == bufio.ErrBufferFull
		if len(line) == 0 && err != nil && !long {
			if err != io.EOF {
				return removed, err
			}
			break
		}
		t := bytes.TrimRight(line, "\r\n")
		if len(t) == 0 && !long { // the empty line that ends the header
			write(line)
			break
		}
		if len(t) > 0 && (t[0] == ' ' || t[0] == '\t') {
			// A continuation line (RFC 5322 section 2.2.3): it goes with
			// its field.
		} else {
			name, value, ok := bytes.Cut(t, []byte(":"))
			key := strings.ToLower(strings.TrimSpace(string(name)))
			skipping = ok && f.removes(key, value, top)
			if !ok || !traceField(key) {
				top = false
			}
			if skipping {
				removed = true
				if bw == nil {
					return true, nil
				}
			}
		}
		if !skipping {
			write(line)
		}
		for long {
			line, err = br.ReadSlice('\n')
			long = err == bufio.ErrBufferFull
			if !skipping {
				write(line)
			}
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			return removed, err
		}
	}
	if bw == nil {
		return removed, nil
	}
	if _, err := io.Copy(bw, br); err != nil {
		return removed, err
	}
	return removed, bw.Flush()
}
