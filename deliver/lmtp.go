package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// ReplyError is the next hop's reply refusing the message for this
// recipient (LMTP destinations): Code 4xx is temporary, 5xx permanent.
type ReplyError struct {
	Code     int
	Enhanced [3]int // {0,0,0} when the server gave none
	Message  string
}

func (e *ReplyError) Error() string {
	if e.Enhanced != [3]int{} {
		return fmt.Sprintf("next hop replied %d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
	}
	return fmt.Sprintf("next hop replied %d %s", e.Code, e.Message)
}

// Permanent reports a 5xx reply: retrying cannot help.
func (e *ReplyError) Permanent() bool { return e.Code >= 500 && e.Code < 600 }

// lmtpTimeout bounds one exchange with the next hop when ctx has no
// deadline of its own.
const lmtpTimeout = 10 * time.Minute

// parseLMTP parses what follows "lmtp:": "unix:/path" or
// "inet:host:port".
func parseLMTP(s, rest string) (Dest, error) {
	if p, ok := strings.CutPrefix(rest, "unix:"); ok {
		if !filepath.IsAbs(p) {
			return Dest{}, fmt.Errorf("destination %q: the socket path is not absolute: %w", s, ErrBadDest)
		}
		return Dest{Path: "unix:" + filepath.Clean(p), Kind: LMTP}, nil
	}
	if hp, ok := strings.CutPrefix(rest, "inet:"); ok {
		if h, port, err := net.SplitHostPort(hp); err != nil || h == "" || port == "" {
			return Dest{}, fmt.Errorf("destination %q: want lmtp:inet:host:port: %w", s, ErrBadDest)
		}
		return Dest{Path: "inet:" + hp, Kind: LMTP}, nil
	}
	return Dest{}, fmt.Errorf("destination %q: want lmtp:unix:/path or lmtp:inet:host:port: %w", s, ErrBadDest)
}

// deliverLMTP hands the message to the LMTP server d for one recipient
// (RFC 2033). The server's reply for the recipient becomes a *ReplyError;
// a connection that fails before the reply is a temporary error. A
// message the next hop accepted is its own from then on.
func deliverLMTP(ctx context.Context, d Dest, prefix []byte, msg io.ReaderAt, size int64, env Envelope) (Result, error) {
	network, addr := "unix", strings.TrimPrefix(d.Path, "unix:")
	if a, ok := strings.CutPrefix(d.Path, "inet:"); ok {
		network, addr = "tcp", a
	}
	fail := func(err error) (Result, error) {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			err = &ReplyError{Code: se.Code, Enhanced: [3]int(se.EnhancedCode), Message: se.Message}
			if se.EnhancedCode == smtp.NoEnhancedCode {
				err.(*ReplyError).Enhanced = [3]int{}
			}
		}
		return Result{}, fmt.Errorf("delivering to %s: %w", d, err)
	}
	var dl net.Dialer
	conn, err := dl.DialContext(ctx, network, addr)
	if err != nil {
		return fail(err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(lmtpTimeout)
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	if err := c.Hello(host); err != nil {
		return fail(err)
	}
	sender := env.Sender
	if sender == "<>" || strings.EqualFold(sender, "MAILER-DAEMON") {
		sender = ""
	}
	if err := c.Mail(sender, &smtp.MailOptions{Size: int64(len(prefix)) + size}); err != nil {
		return fail(err)
	}
	if err := c.Rcpt(env.Recipient, nil); err != nil {
		return fail(err)
	}
	w, err := c.Data()
	if err != nil {
		return fail(err)
	}
	if err := copyMessage(ctx, w, prefix, msg, size, nil); err != nil {
		w.Close()
		return fail(err)
	}
	if _, err := w.CloseWithLMTPResponse(); err != nil {
		var le smtp.LMTPDataError
		if errors.As(err, &le) {
			for _, se := range le {
				return fail(se)
			}
		}
		return fail(err)
	}
	c.Quit()
	return Result{Path: d.String(), Size: int64(len(prefix)) + size}, nil
}
