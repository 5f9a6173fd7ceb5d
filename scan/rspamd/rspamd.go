// Package rspamd is a client for rspamd's HTTP scanning protocol:
// POST /checkv2 with the message as the body and the SMTP envelope as
// request headers (rspamd's "protocol" documentation: From, Rcpt, IP,
// Helo, User, Deliver-To), answered with JSON.
package rspamd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/scandeliver/scandeliver/scan/addr"
)

// Envelope is what rspamd is told about the message.
type Envelope struct {
	From      string
	Rcpt      []string
	IP        string
	Helo      string
	User      string // the SMTP-authenticated user: rspamd scores authenticated mail differently
	DeliverTo string
}

// Symbol is one rule that hit.
type Symbol struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// Result is rspamd's answer.
type Result struct {
	Action        string            `json:"action"` // "no action", "greylist", "add header", "rewrite subject", "soft reject", "reject"
	Score         float64           `json:"score"`
	RequiredScore float64           `json:"required_score"`
	IsSkipped     bool              `json:"is_skipped"`
	SymbolMap     map[string]Symbol `json:"symbols"`
	Messages      map[string]any    `json:"messages"`
}

// Symbols returns the names of the symbols that hit, sorted.
func (r Result) Symbols() []string {
	out := make([]string, 0, len(r.SymbolMap))
	for k := range r.SymbolMap {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Spam reports whether the action asks the MTA to mark or refuse the
// message. "greylist" and "soft reject" are temporary requests an LDA
// cannot honour; they are not spam verdicts.
func (r Result) Spam() bool {
	switch r.Action {
	case "reject", "add header", "rewrite subject":
		return true
	}
	return false
}

// ErrGarbled is wrapped by ParseResult for a body that is not rspamd's
// JSON answer.
var ErrGarbled = errors.New("garbled rspamd response")

const maxResponse = 4 << 20

// Client checks messages with rspamd at any of Addrs (failover in order).
type Client struct {
	Addrs []addr.Addr
}

// Check sends the message (size bytes from body) and returns rspamd's
// answer.
func (c *Client) Check(ctx context.Context, body io.Reader, size int64, env Envelope) (Result, error) {
	var used addr.Addr
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, a, err := addr.Dial(ctx, c.Addrs)
			used = a
			return conn, err
		},
		DisableKeepAlives:  true,
		DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://rspamd/checkv2", body)
	if err != nil {
		return Result{}, err
	}
	req.ContentLength = size
	set := func(k, v string) {
		if v = clean(v); v != "" {
			req.Header.Add(k, v)
		}
	}
	set("From", env.From)
	for _, r := range env.Rcpt {
		set("Rcpt", r)
	}
	set("IP", env.IP)
	set("Helo", env.Helo)
	set("User", env.User)
	set("Deliver-To", env.DeliverTo)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("rspamd: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return Result{}, fmt.Errorf("rspamd %s: reading answer: %w", used, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Result{}, fmt.Errorf("rspamd %s: %s: %.200q", used, resp.Status, data)
	}
	res, err := ParseResult(data)
	if err != nil {
		return Result{}, fmt.Errorf("rspamd %s: %w", used, err)
	}
	return res, nil
}

// clean drops control characters: envelope values come from the MTA but
// must not split an HTTP header.
func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s))
}

// ParseResult decodes rspamd's JSON answer.
func ParseResult(data []byte) (Result, error) {
	var r Result
	if len(data) > maxResponse {
		return r, fmt.Errorf("%w: answer over %d bytes", ErrGarbled, maxResponse)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrGarbled, err)
	}
	if r.Action == "" {
		return r, fmt.Errorf("%w: no action", ErrGarbled)
	}
	return r, nil
}
