package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/quarantine"
)

// The privilege model of scandeliver serve started as root with system
// users ([serve] mailbox = ""): the server binds its socket, starts the
// broker (this file) and becomes [serve] user for good before it loads
// the configuration or reads a byte of mail. The broker is the only part
// that stays root. It never sees a header or a MIME part: it takes a
// request (user name, destination, envelope addresses) and an already
// sanitized message as a file descriptor, checks the request, and runs
// "serve write" with that user's uid, gid and groups, which copies the
// descriptor into the mailbox. It serves one server and exits when the
// server's end of their socket closes (the server exited or was killed).

// brokerRequest is one write, sent on the broker's socket (a
// SOCK_SEQPACKET socketpair) with two descriptors: the message (read end
// of a pipe) and the reply socket.
type brokerRequest struct {
	User        string        `json:"user"`
	To          string        `json:"to"`     // destination, without folder
	Folder      string        `json:"folder"` // Maildir++ folder
	Sender      string        `json:"sender"`
	Recipient   string        `json:"recipient"`
	LockTimeout time.Duration `json:"lock_timeout"`
	StaleLock   time.Duration `json:"stale_lock"`
}

// brokerReply is the broker's answer on the request's reply socket.
type brokerReply struct {
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
}

const brokerMaxRequest = 64 << 10

// brokerClient is the server's side of the broker.
type brokerClient struct {
	conn *net.UnixConn
	pid  int
	mu   sync.Mutex // one request written at a time
}

// startBroker starts "scandeliver serve broker" as a child (still root)
// on a socketpair. cfgPath is the configuration the broker reads the
// destinations it allows from.
func startBroker(cfgPath string, explicit bool) (*brokerClient, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("broker socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "broker"), os.NewFile(uintptr(fds[1]), "broker-peer")
	defer theirs.Close()
	self, err := os.Executable()
	if err != nil {
		ours.Close()
		return nil, err
	}
	args := []string{"serve", "broker"}
	if explicit {
		args = append(args, "-c", cfgPath)
	}
	cmd := exec.Command(self, args...)
	cmd.ExtraFiles = []*os.File{theirs} // fd 3
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, fmt.Errorf("starting the broker: %w", err)
	}
	go cmd.Wait() // reap it whenever it ends
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, err
	}
	return &brokerClient{conn: c.(*net.UnixConn), pid: cmd.Process.Pid}, nil
}

// write hands one recipient's final message to the broker and waits for
// the result. Cancelling ctx closes the reply socket: the broker stops
// the writer, which removes what it half-wrote.
func (b *brokerClient) write(ctx context.Context, w pipeline.Write) (deliver.Result, error) {
	u := w.Recipient.User
	dest := w.Dest
	folder := dest.Folder
	dest.Folder = ""
	req, err := json.Marshal(brokerRequest{User: u.Name, To: dest.String(), Folder: folder,
		Sender: w.Envelope.Sender, Recipient: w.Envelope.Recipient,
		LockTimeout: w.Options.LockTimeout, StaleLock: w.Options.StaleLock})
	if err != nil {
		return deliver.Result{}, err
	}
	if len(req) > brokerMaxRequest {
		return deliver.Result{}, errors.New("broker request too long")
	}
	// A blocking pipe: the writer child reads it as its standard input.
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return deliver.Result{}, err
	}
	pw := os.NewFile(uintptr(p[1]), "message")
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		syscall.Close(p[0])
		pw.Close()
		return deliver.Result{}, err
	}
	// Our end non-blocking, so that closing it ends a pending read.
	syscall.SetNonblock(fds[0], true)
	replyOurs := os.NewFile(uintptr(fds[0]), "reply")
	b.mu.Lock()
	_, _, err = b.conn.WriteMsgUnix(req, syscall.UnixRights(p[0], fds[1]), nil)
	b.mu.Unlock()
	syscall.Close(p[0])
	syscall.Close(fds[1])
	if err != nil {
		pw.Close()
		replyOurs.Close()
		return deliver.Result{}, fmt.Errorf("writing as user %s: the broker is gone: %w", u.Name, err)
	}
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(pw, io.MultiReader(bytes.NewReader(w.Prefix), io.NewSectionReader(w.Body, 0, w.Size)))
		pw.Close()
		copied <- err
	}()
	stop := context.AfterFunc(ctx, func() { replyOurs.Close() })
	buf := make([]byte, brokerMaxRequest)
	n, rerr := replyOurs.Read(buf)
	if stop() {
		replyOurs.Close()
	}
	<-copied // ends: the writer and the broker closed the pipe
	var rep brokerReply
	switch {
	case ctx.Err() != nil:
		return deliver.Result{}, fmt.Errorf("writing as user %s: %w", u.Name, ctx.Err())
	case rerr != nil || n == 0:
		return deliver.Result{}, fmt.Errorf("writing as user %s: no answer from the broker: %v", u.Name, rerr)
	case json.Unmarshal(buf[:n], &rep) != nil:
		return deliver.Result{}, fmt.Errorf("writing as user %s: bad answer from the broker", u.Name)
	case rep.Error != "":
		return deliver.Result{}, fmt.Errorf("writing as user %s: %s", u.Name, rep.Error)
	}
	return deliver.Result{Path: rep.Path, Size: int64(len(w.Prefix)) + w.Size}, nil
}

// serveBroker is "scandeliver serve broker": the root side of a server
// started as root for system users. Fd 3 is its socket to the server.
func serveBroker(args []string, e *sysEnv) int {
	fs := newFlagSet("serve broker", e)
	cpath := configFlag(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exUsage
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(e.stderr, "scandeliver: serve broker: runs as root, started by scandeliver serve\n")
		return exUsage
	}
	path, explicit := cpath()
	// Signals are for the server: the broker ends when the server does
	// (its socket closes), so that messages in flight still get written.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	f := os.NewFile(3, "server")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: serve broker: %v\n", err)
		return exUsage
	}
	conn, ok := c.(*net.UnixConn)
	if !ok {
		return exUsage
	}
	bk := &broker{path: path, explicit: explicit, warn: e.stderr}
	bk.cfg, err = loadConfig(path, explicit)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: serve broker: %v\n", err)
		return exCheckFail
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	buf := make([]byte, brokerMaxRequest)
	oob := make([]byte, syscall.CmsgSpace(2*4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil || (n == 0 && oobn == 0) {
			break // the server is gone
		}
		msg, fd1, fd2, perr := parseRequest(buf[:n], oob[:oobn])
		if perr != nil {
			// Not from our server: close what came with it and go on.
			fmt.Fprintf(e.stderr, "scandeliver: serve broker: refused a request: %v\n", perr)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			bk.handle(ctx, msg, fd1, fd2)
		}()
	}
	cancel() // the writers still running are stopped: their messages were not acknowledged
	wg.Wait()
	return exOK
}

// parseRequest decodes a request and takes its two descriptors (the
// message, the reply socket). Any descriptor received is closed on error.
func parseRequest(b, oob []byte) (brokerRequest, *os.File, *os.File, error) {
	var req brokerRequest
	var fds []int
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			r, err := syscall.ParseUnixRights(&m)
			if err == nil {
				fds = append(fds, r...)
			}
		}
	}
	if len(fds) != 2 {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return req, nil, nil, fmt.Errorf("want 2 descriptors, got %d", len(fds))
	}
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
	}
	// The message is the writer's standard input (blocking); the reply
	// socket non-blocking, so that closing it ends the pending read.
	syscall.SetNonblock(fds[0], false)
	syscall.SetNonblock(fds[1], true)
	f1, f2 := os.NewFile(uintptr(fds[0]), "message"), os.NewFile(uintptr(fds[1]), "reply")
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		f1.Close()
		f2.Close()
		return req, nil, nil, err
	}
	return req, f1, f2, nil
}

type broker struct {
	path     string
	explicit bool
	warn     io.Writer
	mu       sync.Mutex
	cfg      Config
}

// handle checks one request, runs the writer and answers on reply.
func (bk *broker) handle(ctx context.Context, req brokerRequest, body, reply *os.File) {
	defer reply.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The server gave up (its time budget, or it died): the reply socket
	// reads EOF, and the writer is stopped.
	go func() {
		var b [1]byte
		reply.Read(b[:])
		cancel()
	}()
	path, err := bk.write(ctx, req, body)
	body.Close()
	rep := brokerReply{Path: path}
	if err != nil {
		rep.Error = err.Error()
	}
	b, _ := json.Marshal(rep)
	reply.Write(b)
}

func (bk *broker) write(ctx context.Context, req brokerRequest, body *os.File) (string, error) {
	u, err := deliver.LookupUser(req.User)
	if err != nil {
		return "", err
	}
	if u.Uid == 0 {
		return "", fmt.Errorf("refused: the broker does not write as root (alias root's mail to a user)")
	}
	dest, err := deliver.ParseDest(req.To, "")
	if err != nil || dest.Kind == deliver.LMTP {
		return "", fmt.Errorf("refused: destination %q", req.To)
	}
	if req.Folder != "" {
		f := dest.WithFolder(req.Folder).Folder
		if dest.Kind != deliver.Maildir || f == "" || deliver.CheckFolder(f) != nil {
			return "", fmt.Errorf("refused: folder %q", req.Folder)
		}
	}
	if !bk.allowed(u, dest) {
		return "", fmt.Errorf("refused: %s is not a destination of user %s in %s ([deliver] default or junk)", dest.Path, u.Name, bk.path)
	}
	return writeAs(ctx, u, req, body)
}

// allowed reports whether dest is one the configuration names for u
// ([deliver] default or junk under u's home). The server, which runs
// as a user that parses mail, cannot make the broker write elsewhere.
// A destination not allowed by the configuration read last is checked
// once more against the file as it is now (the server was reloaded).
func (bk *broker) allowed(u *deliver.User, dest deliver.Dest) bool {
	bk.mu.Lock()
	defer bk.mu.Unlock()
	match := func(cfg Config) bool {
		for _, spec := range []string{cfg.Deliver.Default, cfg.Deliver.Junk} {
			if spec == "" {
				continue
			}
			d, err := deliver.ParseDest(spec, u.Home)
			if err == nil && d.Path == dest.Path && d.Kind == dest.Kind {
				return true
			}
		}
		return false
	}
	if match(bk.cfg) {
		return true
	}
	cfg, err := loadConfig(bk.path, bk.explicit)
	if err != nil {
		fmt.Fprintf(bk.warn, "scandeliver: serve broker: reading %s: %v\n", bk.path, err)
		return false
	}
	bk.cfg = cfg
	return match(cfg)
}

// writeAs runs "serve write" with u's uid, gid and groups, its standard
// input the message.
func writeAs(ctx context.Context, u *deliver.User, req brokerRequest, body *os.File) (string, error) {
	return runWriter(ctx, u, body, "serve", "write", "--to="+req.To, "--folder="+req.Folder,
		"-f="+req.Sender, "-a="+req.Recipient,
		"--lock-timeout="+req.LockTimeout.String(), "--stale-lock="+req.StaleLock.String())
}

// dropServe is what serve does as root before it becomes [serve] user
// for good: for system users it starts the broker; it makes sure the
// quarantine directory exists with its layout (root's, sticky: entries
// are owned by their author, here the service user); then it drops. The
// listening socket is already bound.
func dropServe(cfg Config, path string, explicit bool, e *sysEnv) (*brokerClient, error) {
	name := cfg.Serve.User
	if name == "" {
		name = "scandeliver"
		if _, err := deliver.LookupUser(name); errors.Is(err, deliver.ErrNoUser) {
			name = "nobody"
		}
	}
	u, err := deliver.LookupUser(name)
	if err != nil {
		return nil, fmt.Errorf("serve.user: %w", err)
	}
	if u.Uid == 0 {
		return nil, fmt.Errorf("serve.user: %q is root: serve parses mail, it must not do so as root", name)
	}
	// A quarantine private to the service user (its own, mode 0700) is
	// left as it is; any other is made root's and sticky if missing.
	var qst syscall.Stat_t
	private := syscall.Lstat(cfg.Quarantine.Dir, &qst) == nil && qst.Mode&syscall.S_IFMT == syscall.S_IFDIR && int(qst.Uid) == u.Uid
	if cfg.Quarantine.Dir != "" && !private {
		st := quarantine.Store{Dir: cfg.Quarantine.Dir, Group: cfg.Quarantine.Group}
		if err := st.Ensure(); err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: serve: quarantine: %v\n", err)
		}
	}
	var b *brokerClient
	if cfg.Serve.Mailbox == "" {
		if b, err = startBroker(path, explicit); err != nil {
			return nil, err
		}
	}
	if err := deliver.DropPrivileges(u); err != nil {
		if b != nil {
			b.conn.Close()
		}
		return nil, err
	}
	if b != nil {
		fmt.Fprintf(e.stderr, "scandeliver: serve: running as user %s (uid %d); system users' mailboxes are written through the root broker (pid %d)\n", u.Name, u.Uid, b.pid)
	} else {
		fmt.Fprintf(e.stderr, "scandeliver: serve: running as user %s (uid %d)\n", u.Name, u.Uid)
	}
	return b, nil
}
