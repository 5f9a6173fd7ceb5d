package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Notice is one message we write. Build turns it into RFC 5322 text.
type Notice struct {
	From          string // address
	FromName      string // display name, may be non-ASCII
	To            string // address
	Subject       string // any text: control characters removed, RFC 2047-encoded when not ASCII
	Body          string // UTF-8 text
	AutoSubmitted string // RFC 3834: "auto-replied" (to a sender) or "auto-generated" (reports)
	InReplyTo     string // the original Message-ID; dropped unless well-formed
	Lang          string // Content-Language
	Hostname      string // right side of the Message-ID
	Date          time.Time
}

// ErrBadAddress is returned for an address we will not write into a header
// or pass to sendmail.
var ErrBadAddress = errors.New("unusable address")

// addrRE accepts a plain address (local@domain) or a bare local name
// ("postmaster"), both without quoting, spaces or controls. A quoted local
// part is legal (RFC 5321 section 4.1.2) but never needed for a notice,
// and refusing it keeps every header and argv simple.
var addrRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~.-]+(@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|@\[[0-9A-Fa-f:.]+\])?$`)
})

// CheckAddress reports whether addr may be used as a notice's sender or
// recipient. It strips one pair of angle brackets.
func CheckAddress(addr string) (string, error) {
	a := addr
	if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") {
		a = a[1 : len(a)-1]
	}
	if a == "" || len(a) > 254 || !addrRE().MatchString(a) || strings.HasPrefix(a, "-") ||
		strings.HasPrefix(a, ".") || strings.Contains(a, "..") {
		return "", fmt.Errorf("%w: %q", ErrBadAddress, Escape(addr))
	}
	return a, nil
}

var msgIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^<[!-;=?-~]{1,250}@[!-;=?-Z^-~]{1,250}>$`) })

var hostRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$`) })

// oneLineText removes control and formatting characters and collapses
// white space, for a header value; at most max characters.
func oneLineText(s string, max int) string {
	e := Escape(s) // control, bidi, invalid UTF-8 -> visible escapes; at most 256
	e = strings.Join(strings.Fields(e), " ")
	if utf8.RuneCountInString(e) > max {
		r := []rune(e)
		e = string(r[:max-1]) + "…"
	}
	return e
}

// foldEncoded writes a header field, folding between encoded words or at
// spaces so that lines stay within 78 characters where possible (RFC 5322
// section 2.2.3).
func foldHeader(b *bytes.Buffer, name, value string) {
	line := name + ":"
	for _, w := range strings.Split(value, " ") {
		if len(line)+1+len(w) > 78 && len(line) > len(name)+1 {
			b.WriteString(line + "\n")
			line = ""
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
}

// Build returns the notice as an RFC 5322 message with LF line endings,
// as sendmail(8) reads it: UTF-8 body in quoted-printable, a MIME
// version, Date, Message-ID, and the Auto-Submitted field.
func (n Notice) Build() ([]byte, error) {
	from, err := CheckAddress(n.From)
	if err != nil {
		return nil, fmt.Errorf("notice From: %w", err)
	}
	to, err := CheckAddress(n.To)
	if err != nil {
		return nil, fmt.Errorf("notice To: %w", err)
	}
	host := n.Hostname
	if !hostRE().MatchString(host) {
		host, _ = os.Hostname()
		if !hostRE().MatchString(host) {
			host = "localhost"
		}
	}
	date := n.Date
	if date.IsZero() {
		date = time.Now()
	}
	auto := n.AutoSubmitted
	if auto != "auto-replied" {
		auto = "auto-generated"
	}
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fromName := oneLineText(n.FromName, 64)
	if fromName != "" {
		// B encoding: a Q-encoded word may not hold "(" or "," in a phrase
		// (RFC 2047 section 5 (3)), B has no such restriction.
		fmt.Fprintf(&b, "From: %s <%s>\n", mime.BEncoding.Encode("utf-8", quotePhrase(fromName)), from)
	} else {
		fmt.Fprintf(&b, "From: <%s>\n", from)
	}
	fmt.Fprintf(&b, "To: <%s>\n", to)
	foldHeader(&b, "Subject", mime.QEncoding.Encode("utf-8", oneLineText(n.Subject, 200)))
	fmt.Fprintf(&b, "Date: %s\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.%s@%s>\n", date.Unix(), hex.EncodeToString(rnd[:]), host)
	if msgIDRE().MatchString(n.InReplyTo) {
		fmt.Fprintf(&b, "In-Reply-To: %s\nReferences: %s\n", n.InReplyTo, n.InReplyTo)
	}
	fmt.Fprintf(&b, "Auto-Submitted: %s\n", auto)
	b.WriteString("X-Auto-Response-Suppress: All\n")
	b.WriteString("MIME-Version: 1.0\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\n")
	if l := strings.ToLower(n.Lang); langRE().MatchString(l) {
		fmt.Fprintf(&b, "Content-Language: %s\n", l)
	}
	b.WriteString("\n")
	var body bytes.Buffer
	qp := quotedprintable.NewWriter(&body)
	text := strings.ToValidUTF8(strings.ReplaceAll(n.Body, "\r\n", "\n"), "\uFFFD")
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.Write(bytes.ReplaceAll(body.Bytes(), []byte("\r\n"), []byte("\n")))
	// A last check that nothing above let a line break into a header.
	head, _, _ := bytes.Cut(b.Bytes(), []byte("\n\n"))
	if _, err := mail.ReadMessage(bytes.NewReader(append(append([]byte{}, head...), "\n\n"...))); err != nil {
		return nil, fmt.Errorf("notice: built an unparsable header: %w", err)
	}
	return b.Bytes(), nil
}

// quotePhrase quotes a display name that has specials (RFC 5322 section
// 3.2.3); non-ASCII names are RFC 2047-encoded by the caller instead.
func quotePhrase(s string) string {
	for _, r := range s {
		if r >= 0x80 {
			return s
		}
	}
	if strings.ContainsAny(s, `()<>[]:;@\,."`) {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}
