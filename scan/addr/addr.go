// Package addr parses engine addresses ("unix:/path", "tcp:host:port") and
// dials a list of them in order, failing over to the next on a connection
// error. It is shared by the daemon clients under scan/.
package addr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Addr is one parsed address.
type Addr struct {
	Network string // "unix" or "tcp"
	Address string // a socket path, or host:port
}

func (a Addr) String() string { return a.Network + ":" + a.Address }

// Parse reads "unix:/path", "tcp:host:port", a bare absolute path (UNIX)
// or a bare host:port (TCP). The port is a number from 1 to 65535: a
// mistyped scheme ("unx:/x", "tpc:h:1") is an error, never dialled as a
// host name.
func Parse(s string) (Addr, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Addr{}, errors.New("empty address")
	case strings.HasPrefix(s, "unix:"):
		p := strings.TrimPrefix(s, "unix:")
		if p == "" {
			return Addr{}, fmt.Errorf("address %q: empty socket path", s)
		}
		return Addr{"unix", p}, nil
	case strings.HasPrefix(s, "tcp:"):
		hp := strings.TrimPrefix(s, "tcp:")
		if err := hostPort(hp); err != nil {
			return Addr{}, fmt.Errorf("address %q: %w", s, err)
		}
		return Addr{"tcp", hp}, nil
	case strings.HasPrefix(s, "/"):
		return Addr{"unix", s}, nil
	}
	if err := hostPort(s); err != nil {
		return Addr{}, fmt.Errorf("address %q: want unix:/path or tcp:host:port", s)
	}
	return Addr{"tcp", s}, nil
}

// hostPort checks a TCP host:port: a non-empty host without a path, and a
// numeric port.
func hostPort(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return err
	}
	if host == "" || strings.ContainsAny(host, "/ \t") {
		return fmt.Errorf("invalid host %q", host)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("invalid port %q (want 1-65535)", port)
	}
	return nil
}

// ParseList parses every address of a list.
func ParseList(list []string) ([]Addr, error) {
	out := make([]Addr, 0, len(list))
	for _, s := range list {
		a, err := Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Dial connects to the first address of list that accepts a connection,
// in order, and returns the connection and the address used. All failing,
// the error names every address tried.
func Dial(ctx context.Context, list []Addr) (net.Conn, Addr, error) {
	if len(list) == 0 {
		return nil, Addr{}, errors.New("no address configured")
	}
	var d net.Dialer
	var errs []error
	for _, a := range list {
		c, err := d.DialContext(ctx, a.Network, a.Address)
		if err == nil {
			return c, a, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", a, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, Addr{}, Join(errs...)
}

// Join is errors.Join for log lines: the distinct messages of the non-nil
// errors on one line, separated by "; " (errors.Join puts a newline
// between them, which a log line shows as a literal \n, and the same
// failure seen by several connections was printed once per connection).
// errors.Is and errors.As see every error. It returns nil when all are nil.
func Join(errs ...error) error {
	var m joined
	for _, err := range errs {
		if err != nil {
			m = append(m, err)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

type joined []error

func (m joined) Error() string {
	var b strings.Builder
	seen := make(map[string]bool, len(m))
	for _, err := range m {
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		if seen[msg] {
			continue
		}
		seen[msg] = true
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(msg)
	}
	return b.String()
}

func (m joined) Unwrap() []error { return m }

// Watch makes conn fail promptly once ctx is done (deadline or cancel),
// and gives it ctx's deadline. Call the returned stop when done with conn.
func Watch(ctx context.Context, conn net.Conn) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0)) // in the past: fail pending I/O now
	})
}
