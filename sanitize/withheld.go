package sanitize

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/unpack"
)

// keptFields are the fields of the original that a withheld notice keeps,
// so that it threads and sorts with the conversation (RFC 5322 section
// 3.6), in the order written.
var keptFields = map[string]string{
	"from":        "From",
	"to":          "To",
	"cc":          "Cc",
	"date":        "Date",
	"subject":     "Subject",
	"message-id":  "Message-ID",
	"in-reply-to": "In-Reply-To",
	"references":  "References",
}

// Withheld writes the short notice delivered in place of a message
// withheld whole: opt.Headers, then the original's From, To, Cc, Date,
// Subject (with opt.SubjectTags), Message-ID, In-Reply-To and References
// (the first of each, unfolded, cleaned of control characters and folded
// again), a Date from opt.Now when the original has none, and a
// text/plain UTF-8 body holding text. Line breaks are the message's.
func Withheld(w io.Writer, raw io.ReaderAt, size int64, m *unpack.Message, text string, opt Options) error {
	if m == nil || m.Root == nil {
		return fmt.Errorf("sanitize: no message")
	}
	eol, err := lineEnding(raw, size)
	if err != nil {
		return err
	}
	root := m.Root
	n := min(max(root.BodyStart-root.HeaderStart, 0), maxHeader)
	hdr := make([]byte, n)
	if _, err := io.ReadFull(io.NewSectionReader(raw, root.HeaderStart, n), hdr); err != nil {
		return fmt.Errorf("reading message header: %w", err)
	}
	var b bytes.Buffer
	for _, h := range opt.Headers {
		b.WriteString(normalizeEOL(h, eol) + eol)
	}
	seen := map[string]bool{}
	tags := newTags(m.Subject, opt.SubjectTags)
	for _, c := range splitHeader(hdr) {
		name, ok := keptFields[c.name]
		if !ok || seen[c.name] {
			continue
		}
		seen[c.name] = true
		v := c.value()
		if c.name == "subject" && len(tags) > 0 {
			// Tag the cleaned value, then fold it like the others.
			one := chunk{name: "subject", raw: []byte("Subject: " + cleanValue(v) + "\n")}
			v = chunk{name: "subject", raw: tagSubject(&one, tags, "\n")}.value()
		}
		b.Write(foldValue(name, v, eol))
	}
	if !seen["subject"] && len(tags) > 0 {
		b.Write(tagSubject(nil, tags, eol))
	}
	if !seen["date"] {
		now := time.Now
		if opt.Now != nil {
			now = opt.Now
		}
		b.WriteString("Date: " + now().Format(time.RFC1123Z) + eol)
	}
	b.WriteString("MIME-Version: 1.0" + eol)
	b.WriteString("Content-Type: text/plain; charset=utf-8" + eol)
	b.WriteString("Content-Transfer-Encoding: quoted-printable" + eol)
	b.WriteString(eol)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	b.Write(qpEncode([]byte(text), eol))
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing notice: %w", err)
	}
	return nil
}
