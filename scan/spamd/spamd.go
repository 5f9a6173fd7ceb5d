// Package spamd is a client for SpamAssassin's spamd, speaking the SPAMC
// protocol (spamd(1p), "SPAMC/1.5"): CHECK, SYMBOLS or REPORT of one
// message, with the user whose preferences apply.
package spamd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/scandeliver/scandeliver/scan/addr"
)

// Result is spamd's answer about one message.
type Result struct {
	Spam      bool
	Score     float64
	Threshold float64
	Symbols   []string // SYMBOLS: the rules that hit
	Report    string   // REPORT: the report text
}

// ErrGarbled is wrapped by ParseResponse for a response that is not
// SPAMD's.
var ErrGarbled = errors.New("garbled spamd response")

// Client checks messages with a spamd at any of Addrs (failover in order).
type Client struct {
	Addrs   []addr.Addr
	Request string // "SYMBOLS" (default), "REPORT" or "CHECK"
}

// limits on what we read back from spamd.
const (
	maxHeaderLine = 4096
	maxBody       = 1 << 20
)

// Check sends msg (all of it: spamd needs Content-length up front) and
// returns spamd's verdict. user selects the per-user preferences.
func (c *Client) Check(ctx context.Context, msg []byte, user string) (Result, error) {
	req := strings.ToUpper(c.Request)
	switch req {
	case "":
		req = "SYMBOLS"
	case "SYMBOLS", "REPORT", "CHECK":
	default:
		return Result{}, fmt.Errorf("spamd: unsupported request %q", c.Request)
	}
	conn, a, err := addr.Dial(ctx, c.Addrs)
	if err != nil {
		return Result{}, fmt.Errorf("spamd: %w", err)
	}
	defer conn.Close()
	defer addr.Watch(ctx, conn)()
	var hdr strings.Builder
	fmt.Fprintf(&hdr, "%s SPAMC/1.5\r\nContent-length: %d\r\n", req, len(msg))
	if u := cleanUser(user); u != "" {
		fmt.Fprintf(&hdr, "User: %s\r\n", u)
	}
	hdr.WriteString("\r\n")
	bufs := net.Buffers{[]byte(hdr.String()), msg}
	if _, err := bufs.WriteTo(conn); err != nil {
		return Result{}, fmt.Errorf("spamd %s: sending: %w", a, err)
	}
	// spamc half-closes after the message; spamd does not need it
	// (it reads Content-length bytes) but some proxies do.
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	res, err := ParseResponse(bufio.NewReaderSize(conn, maxHeaderLine), req)
	if err != nil {
		return Result{}, fmt.Errorf("spamd %s: %w", a, err)
	}
	return res, nil
}

// cleanUser keeps a user name from breaking the protocol line: no
// control characters, no spaces, bounded length.
func cleanUser(u string) string {
	u = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, u)
	if len(u) > 256 {
		u = u[:256]
	}
	return u
}

// ParseResponse reads spamd's response to request req ("CHECK",
// "SYMBOLS" or "REPORT"):
//
//	SPAMD/1.1 0 EX_OK
//	Content-length: 11
//	Spam: True ; 1002.7 / 5.0
//
//	GTUBE,OTHER
//
// A non-zero response code (spamd's EX_* codes) is an error.
func ParseResponse(br *bufio.Reader, req string) (Result, error) {
	var r Result
	line, err := readLine(br)
	if err != nil {
		return r, fmt.Errorf("reading status line: %w", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "SPAMD/") {
		return r, fmt.Errorf("%w: status line %q", ErrGarbled, line)
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return r, fmt.Errorf("%w: status line %q", ErrGarbled, line)
	}
	if code != 0 {
		return r, fmt.Errorf("spamd refused: %s", strings.Join(f[1:], " "))
	}
	clen := -1
	sawSpam := false
	for {
		line, err := readLine(br)
		if err != nil {
			return r, fmt.Errorf("reading headers: %w", err)
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return r, fmt.Errorf("%w: header %q", ErrGarbled, line)
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || n > maxBody {
				return r, fmt.Errorf("%w: Content-length %q", ErrGarbled, value)
			}
			clen = n
		case "spam":
			// "True ; 1002.7 / 5.0" (also "Yes"/"No" from old spamd)
			flag, scores, ok := strings.Cut(value, ";")
			sc, th, ok2 := strings.Cut(scores, "/")
			if !ok || !ok2 {
				return r, fmt.Errorf("%w: Spam header %q", ErrGarbled, value)
			}
			switch strings.ToLower(strings.TrimSpace(flag)) {
			case "true", "yes":
				r.Spam = true
			case "false", "no":
			default:
				return r, fmt.Errorf("%w: Spam header %q", ErrGarbled, value)
			}
			if r.Score, err = strconv.ParseFloat(strings.TrimSpace(sc), 64); err != nil {
				return r, fmt.Errorf("%w: Spam header %q", ErrGarbled, value)
			}
			if r.Threshold, err = strconv.ParseFloat(strings.TrimSpace(th), 64); err != nil {
				return r, fmt.Errorf("%w: Spam header %q", ErrGarbled, value)
			}
			sawSpam = true
		}
	}
	if !sawSpam {
		return r, fmt.Errorf("%w: no Spam header", ErrGarbled)
	}
	if req == "CHECK" {
		return r, nil
	}
	var body []byte
	if clen >= 0 {
		body = make([]byte, clen)
		if _, err := io.ReadFull(br, body); err != nil {
			return r, fmt.Errorf("reading body: %w", err)
		}
	} else {
		body, err = io.ReadAll(io.LimitReader(br, maxBody))
		if err != nil {
			return r, fmt.Errorf("reading body: %w", err)
		}
	}
	switch req {
	case "SYMBOLS":
		for s := range strings.SplitSeq(strings.TrimSpace(string(body)), ",") {
			if s = strings.TrimSpace(s); s != "" {
				r.Symbols = append(r.Symbols, s)
			}
		}
	case "REPORT":
		r.Report = string(body)
	}
	return r, nil
}

func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", fmt.Errorf("%w: line longer than %d bytes", ErrGarbled, br.Size())
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
