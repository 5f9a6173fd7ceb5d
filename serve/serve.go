package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/scan"
)

// Options are what the front door (cmd) provides.
type Options struct {
	// Write writes one recipient's final message (see pipeline.Options):
	// for a system user, a child process running as that user. Required.
	Write func(context.Context, pipeline.Write) (deliver.Result, error)
	// Log receives each recipient's outcome, with the time the message
	// took, for the summary line.
	Log func(cfg pipeline.Config, o pipeline.Outcome, took time.Duration)
	// Warn receives the server's own messages (start, reload, canary).
	Warn io.Writer
	// Hostname names this server in its greeting.
	Hostname string
}

// Server is the LMTP front door: sessions, concurrency, replies per
// recipient, reloads and a graceful stop. It runs as whatever user the
// caller made the process (cmd: [serve] user, dropped to after binding).
type Server struct {
	opt  Options
	snap atomic.Pointer[pipeline.Snapshot]
	// canary holds the last canary's failures and the snapshot they are
	// about.
	canary atomic.Pointer[canaryResult]
	smtp   *smtp.Server
	start  pipeline.ServeConfig // the settings that take effect at start

	mu        sync.Mutex
	sessions  map[*session]struct{}
	listeners []net.Listener
	draining  bool
	conns     atomic.Int64
	stopped   chan struct{}
	stopOnce  sync.Once
}

type canaryResult struct {
	snap   *pipeline.Snapshot
	failed []scan.EngineError
}

// New makes a server on snapshot snap. It runs the canary once before
// returning, so that the first message already knows which engines fail.
func New(snap *pipeline.Snapshot, opt Options) *Server {
	s := &Server{opt: opt, start: snap.Config.Serve, sessions: map[*session]struct{}{}, stopped: make(chan struct{})}
	if s.opt.Warn == nil {
		s.opt.Warn = io.Discard
	}
	s.runCanary(snap)
	s.snap.Store(snap)
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.LMTP = true
	srv.Domain = opt.Hostname
	if srv.Domain == "" {
		srv.Domain = "localhost"
	}
	srv.MaxMessageBytes = int64(snap.Config.Serve.MaxSize)
	srv.MaxRecipients = 1000
	// RFC 5321 section 4.5.3.1.6 allows 1000 bytes; MTAs fold longer
	// lines, but a message is not refused for one up to 64 KiB.
	srv.MaxLineLength = 64 << 10
	srv.ReadTimeout = 10 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = logger{s.opt.Warn}
	s.smtp = srv
	return s
}

type logger struct{ w io.Writer }

func (l logger) Printf(format string, v ...any) {
	fmt.Fprintf(l.w, "scandeliver: serve: "+format+"\n", v...)
}
func (l logger) Println(v ...any) { fmt.Fprintln(l.w, append([]any{"scandeliver: serve:"}, v...)...) }

// Snapshot is the configuration in use.
func (s *Server) Snapshot() *pipeline.Snapshot { return s.snap.Load() }

// Reload switches to snap for the messages that start from now on; the
// messages in flight finish with the snapshot they started with. The
// canary runs on the new engines first.
func (s *Server) Reload(snap *pipeline.Snapshot) {
	s.runCanary(snap)
	s.snap.Store(snap)
}

func (s *Server) runCanary(snap *pipeline.Snapshot) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s.canary.Store(&canaryResult{snap: snap, failed: pipeline.Canary(ctx, snap, s.opt.Warn)})
}

// canaryFailed is what the last canary found for snap (nothing known yet
// for a snapshot it did not check).
func (s *Server) canaryFailed(snap *pipeline.Snapshot) []scan.EngineError {
	if c := s.canary.Load(); c != nil && c.snap == snap {
		return c.failed
	}
	return nil
}

// Canary runs the canary every [canary] interval until ctx ends.
func (s *Server) Canary(ctx context.Context) {
	for {
		every := s.Snapshot().Config.Canary.Every()
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		s.runCanary(s.Snapshot())
	}
}

// Serve accepts LMTP sessions on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	err := s.smtp.Serve(&limitListener{Listener: l, s: s})
	select {
	case <-s.stopped:
		return nil
	default:
		return err
	}
}

// Shutdown stops accepting connections, answers 421 to every session
// that is not in the middle of a message and closes it, lets the messages
// in flight finish (their replies are sent), then returns. When ctx ends
// first, the remaining connections are closed (their messages were not
// acknowledged: the MTA sends them again).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	for _, l := range s.listeners {
		l.Close() // before anything else: no new session from now on
	}
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stopped) })
	// Closes the listeners; connections stay (go-smtp's Shutdown waits for
	// them, in the background here).
	go s.smtp.Shutdown(context.Background())
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		for ss := range s.sessions {
			if !ss.busy && !ss.closed {
				ss.closed = true
				ss.goodbye()
			}
		}
		n := len(s.sessions)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.smtp.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// limitListener answers 421 to connections past [serve] max_sessions.
type limitListener struct {
	net.Listener
	s *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		draining := l.s.draining
		l.s.mu.Unlock()
		max := int64(l.s.start.MaxSessions)
		if n := l.s.conns.Add(1); draining || (max > 0 && n > max) {
			l.s.conns.Add(-1)
			why := "Too many sessions"
			if draining {
				why = "Service shutting down"
			}
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "421 4.3.2 "+why+", try again later\r\n")
			c.Close()
			continue
		}
		return &countedConn{Conn: c, s: l.s}, nil
	}
}

type countedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.s.conns.Add(-1) })
	return c.Conn.Close()
}

// session is one LMTP connection.
type session struct {
	s    *Server
	conn *smtp.Conn
	from string
	// rcpts are the accepted recipients, in order, one per distinct
	// address; rcptTo are the addresses as the client gave them, each
	// mapped to its index in rcpts.
	rcpts  []pipeline.Recipient
	rcptTo map[string]int
	order  []string
	// busy: between the start of a message's data and the end of its
	// replies; a draining server does not close a busy session.
	busy   bool
	closed bool
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	ss := &session{s: s, conn: c}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return nil, errShuttingDown
	}
	s.sessions[ss] = struct{}{}
	return ss, nil
}

var errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, try again later"}

// goodbye tells the client the server is going away and closes the
// connection (s.mu held).
func (ss *session) goodbye() {
	c := ss.conn.Conn()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "421 4.3.2 Service shutting down, try again later\r\n")
	c.Close()
}

func (ss *session) Reset() {
	ss.s.mu.Lock()
	ss.busy = false
	ss.s.mu.Unlock()
	ss.from, ss.rcpts, ss.rcptTo, ss.order = "", nil, nil, nil
}

func (ss *session) Logout() error {
	ss.s.mu.Lock()
	delete(ss.s.sessions, ss)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	draining := ss.s.draining
	ss.s.mu.Unlock()
	if draining {
		return errShuttingDown
	}
	ss.Reset()
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	key := strings.ToLower(to)
	if _, ok := ss.rcptTo[key]; ok {
		ss.order = append(ss.order, to)
		return nil // the same recipient twice: one delivery, two replies
	}
	rc, err := ss.s.recipient(to)
	if err != nil {
		return err
	}
	if ss.rcptTo == nil {
		ss.rcptTo = map[string]int{}
	}
	ss.rcptTo[key] = len(ss.rcpts)
	ss.rcpts = append(ss.rcpts, rc)
	ss.order = append(ss.order, to)
	return nil
}

// recipient resolves an RCPT TO address: a virtual mailbox from the
// template, or a system user named by the local part.
func (s *Server) recipient(addr string) (pipeline.Recipient, error) {
	cfg := s.Snapshot().Config
	if t := cfg.Serve.Mailbox; t != "" {
		dest, err := Expand(t, addr)
		if err != nil {
			return pipeline.Recipient{}, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: oneLine(err.Error())}
		}
		return pipeline.Recipient{Address: addr, Dest: dest}, nil
	}
	local := addr
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local = addr[:i]
	}
	u, err := deliver.LookupUser(strings.ToLower(local))
	if errors.Is(err, deliver.ErrNoUser) {
		if base, _, ok := strings.Cut(local, "+"); ok && base != "" {
			u, err = deliver.LookupUser(strings.ToLower(base))
		}
	}
	switch {
	case errors.Is(err, deliver.ErrNoUser):
		return pipeline.Recipient{}, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	case err != nil:
		return pipeline.Recipient{}, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: oneLine(err.Error())}
	}
	return pipeline.Recipient{Address: addr, User: u, Home: u.Home}, nil
}

func (ss *session) Data(r io.Reader) error {
	return errors.New("LMTP only") // go-smtp calls LMTPData in LMTP mode
}

// LMTPData spools the message once, runs it through the pipeline for
// every recipient and replies for each.
func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	ss.s.mu.Lock()
	ss.busy = true
	ss.s.mu.Unlock()
	start := time.Now()
	snap := ss.s.Snapshot()
	cfg := snap.Config
	sender := ss.from
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	// go-smtp enforces [serve] max_size while reading, the spool the hard
	// ceiling ([spool] max_size, Config.Ceiling): both are 552.
	m, err := pipeline.SpoolMessage(r, cfg)
	if err != nil {
		var se *smtp.SMTPError
		var tl *pipeline.TooLargeError
		switch {
		case errors.As(err, &se), errors.As(err, &tl):
			ss.tooLarge(cfg, sender, err, tl, time.Since(start))
			return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big for this system"}
		}
		return tempError(fmt.Errorf("spooling the message: %w", err))
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Serve.Timeout))
	defer cancel()
	out := pipeline.Deliver(ctx, snap, m, pipeline.Envelope{Sender: sender, Recipients: ss.rcpts}, pipeline.Options{
		Write:        ss.s.opt.Write,
		Warn:         ss.s.opt.Warn,
		CanaryFailed: func() []scan.EngineError { return ss.s.canaryFailed(snap) },
	})
	took := time.Since(start)
	if ss.s.opt.Log != nil {
		for _, o := range out {
			ss.s.opt.Log(cfg, o, took)
		}
	}
	for _, to := range ss.order {
		status.SetStatus(to, Reply(out[ss.rcptTo[strings.ToLower(to)]]))
	}
	return nil
}

// tooLarge logs a message refused for its size, one line per recipient,
// and tells the postmaster when it passed the hard ceiling (tl), as
// one-shot mode does: only the envelope is known, nothing was kept.
func (ss *session) tooLarge(cfg pipeline.Config, sender string, err error, tl *pipeline.TooLargeError, took time.Duration) {
	for _, rc := range ss.rcpts {
		s := &pipeline.Summary{}
		s.Add("sender", sender)
		s.Add("recipient", rc.Address)
		if tl != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if nerr := pipeline.NotifyTooLarge(ctx, cfg, sender, rc.Address, tl, time.Now()); nerr != nil {
				s.Add("notify_error", "postmaster: "+nerr.Error())
			} else {
				s.Add("notified", "postmaster")
			}
			cancel()
		}
		if ss.s.opt.Log != nil {
			ss.s.opt.Log(cfg, pipeline.Outcome{Recipient: rc.Address, Action: pipeline.TooLarge, Err: tooBig{err}, Log: s}, took)
		}
	}
}

// tooBig is a message over [serve] max_size or the ceiling: 552, and
// exit 65's word ("rejected") in the log.
type tooBig struct{ error }

func (tooBig) Unwrap() error { return &pipeline.TooLargeError{} }

// Reply is the LMTP reply for one recipient's outcome (RFC 2033 section
// 4.2): 250 when the message was handled (delivered, sanitized, withheld
// or dropped on purpose), 5xx when retrying cannot help, 4xx for anything
// else: the MTA keeps the message and tries again.
func Reply(o pipeline.Outcome) *smtp.SMTPError {
	var se *smtp.SMTPError
	var re pipeline.RejectError
	var hop *deliver.ReplyError
	switch {
	case o.Err == nil:
		return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: " + string(o.Action)}
	case errors.As(o.Err, &se):
		return se
	case errors.As(o.Err, &hop):
		// The next hop's own reply for this recipient, passed back.
		return &smtp.SMTPError{Code: hop.Code, EnhancedCode: smtp.EnhancedCode(hop.Enhanced), Message: oneLine("next hop: " + hop.Message)}
	case errors.As(o.Err, new(pipeline.EmptyError)):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: oneLine(o.Err.Error())}
	case errors.As(o.Err, &re):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: oneLine(re.Error())}
	case errors.Is(o.Err, deliver.ErrNoUser):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	case pipeline.ActionOf(o.Err) == pipeline.TooLarge:
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big for this system"}
	}
	return tempError(o.Err)
}

// tempError is a 4xx reply: 452 for a full disk or quota, 451 otherwise.
func tempError(err error) *smtp.SMTPError {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: oneLine("Insufficient storage, try again later: " + err.Error())}
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: oneLine("Temporary failure, try again later: " + err.Error())}
}

// oneLine keeps a reply on one line of printable ASCII, short.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// afterBind, when set (by tests), runs between making the socket and
// setting its group.
var afterBind func(path string)

// Listen opens the listening socket: "unix:/path" (mode 0660, group
// group when set; a stale socket of a previous run is removed, nothing
// else is) or a loopback TCP "host:port". LMTP has no authentication:
// any other address is refused.
func Listen(addr, group string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("listen %q: want an absolute socket path", addr)
		}
		if fi, err := os.Lstat(path); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return nil, fmt.Errorf("listen %q: %s exists and is not a socket", addr, path)
			}
			if c, err := net.Dial("unix", path); err == nil {
				c.Close()
				return nil, fmt.Errorf("listen %q: another server answers on %s", addr, path)
			}
			os.Remove(path)
		}
		old := syscall.Umask(0o117)
		l, err := net.Listen("unix", path)
		syscall.Umask(old)
		if err != nil {
			return nil, err
		}
		if afterBind != nil {
			afterBind(path)
		}
		if group != "" {
			// Whoever can write the socket's directory (postfix, for a
			// socket in /var/spool/postfix/private) could have swapped
			// the socket for a link since it was made: the group is set
			// on the name itself, never on what a link points to, and
			// the name must still be a socket.
			g, err := user.LookupGroup(group)
			if err == nil {
				gid, _ := strconv.Atoi(g.Gid)
				err = os.Lchown(path, -1, gid)
			}
			if err == nil {
				var fi os.FileInfo
				if fi, err = os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket == 0 {
					err = fmt.Errorf("%s was replaced by something that is not a socket", path)
				}
			}
			if err != nil {
				l.Close()
				return nil, fmt.Errorf("listen %q: socket group %q: %w", addr, group, err)
			}
		}
		return l, nil
	}
	addr = strings.TrimPrefix(addr, "inet:")
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: want unix:/path or host:port: %w", addr, err)
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("listen %q: %v", addr, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("listen %q: %s is not a loopback address (LMTP has no authentication)", addr, ip)
		}
	}
	return net.Listen("tcp", addr)
}
