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
	forged        bool     // the header holds status fields of ours or spam fields from outside
}

// statusFields are the fields whose meaning we own: a message that arrives
// with them was marked by someone else (a sender forging a "clean" mark),
// and they are removed before ours are added.
var statusFields = map[string]bool{
	"x-scandeliver-status": true, "x-scandeliver-warning": true, "x-scandeliver-html": true, "x-scandeliver-quarantine-id": true,
	"x-scandeliver-normalized": true,
	"x-spam-status":            true, "x-spam-score": true, "x-spam-flag": true, "x-spam-level": true,
}

// isStatusField reports whether a header field name is one of ours
// (statusFields, or the configured status field name).
func isStatusField(name, custom string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	return statusFields[n] || (custom != "" && n == strings.ToLower(custom))
}

// maxHeaderScan bounds how much of the header the delivery path reads;
// unpack reads the rest with its own limits.
const maxHeaderScan = 256 << 10

// scanHeader reads the top of the message. A leading "From " line (the
// mbox envelope an MTA may prepend, as Postfix does for commands) is the
// envelope, not the message: it is skipped, like procmail and dovecot-lda
// do, and its sender used when no other is known.
func scanHeader(r io.ReaderAt, size int64) headerInfo {
	n := size
	if n > maxHeaderScan {
		n = maxHeaderScan
	}
	buf := make([]byte, n)
	m, _ := r.ReadAt(buf, 0)
	buf = buf[:m]
	var hi headerInfo
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
		if isStatusField(key, "") {
			hi.forged = true
		}
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
	return hi
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

// stripStatusFields copies the message from r to w without the status
// fields (statusFields, and custom) in its top-level header; the rest is
// copied byte for byte.
func stripStatusFields(w io.Writer, r io.Reader, custom string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	skipping := false
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A header line over 64 KiB: not one of ours; copy it whole.
			if !skipping {
				bw.Write(line)
			}
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				if !skipping {
					bw.Write(line)
				}
			}
			if err != nil && err != io.EOF {
				return err
			}
			continue
		}
		if len(line) == 0 && err != nil {
			break
		}
		t := bytes.TrimRight(line, "\r\n")
		if len(t) == 0 { // end of the header
			bw.Write(line)
			break
		}
		if t[0] == ' ' || t[0] == '\t' {
			if !skipping {
				bw.Write(line)
			}
		} else {
			name, _, _ := bytes.Cut(t, []byte(":"))
			skipping = isStatusField(string(name), custom)
			if !skipping {
				bw.Write(line)
			}
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			return err
		}
	}
	if _, err := io.Copy(bw, br); err != nil {
		return err
	}
	return bw.Flush()
}
