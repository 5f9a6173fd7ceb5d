package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"

	"github.com/scandeliver/scandeliver/scan/addr"
	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/scan/clamd"
	"github.com/scandeliver/scandeliver/scan/command"
	"github.com/scandeliver/scandeliver/scan/rspamd"
	"github.com/scandeliver/scandeliver/scan/spamd"
)

// DefaultTimeout bounds one engine's Scan call when Config.Timeout is 0.
const DefaultTimeout = 60 * time.Second

// DefaultSpamdMaxSize is spamc's default size limit (spamc(1) -s).
const DefaultSpamdMaxSize = 500 << 10

// New builds the engine described by cfg. It checks the configuration
// (addresses, patterns, databases: a builtin engine loads its databases
// here) but contacts no daemon. Every default comes from
// cfg.WithDefaults. An error wraps a *KeyError naming the key at fault.
func New(cfg Config) (Engine, error) {
	if err := cfg.checkType(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	e := &engine{name: cfg.Name, kind: kindOf(cfg.Type), timeout: time.Duration(cfg.Timeout), maxSize: int64(cfg.MaxSize),
		send: cfg.Send, onError: cfg.OnError}
	switch e.send {
	case SendParts, SendRaw, SendBoth:
	default:
		return nil, keyErr(cfg.Name, "send", fmt.Errorf("send = %q: want parts, raw or both", cfg.Send))
	}
	switch e.onError {
	case OnErrorTempfail, OnErrorPass, OnErrorQuarantine:
	default:
		return nil, keyErr(cfg.Name, "on_error", fmt.Errorf("on_error = %q: want tempfail, pass or quarantine", cfg.OnError))
	}
	var addrs []addr.Addr
	if wantsAddress(cfg.Type) {
		if len(cfg.Address) == 0 {
			return nil, keyErr(cfg.Name, "address", fmt.Errorf("%s needs an address", cfg.Type))
		}
		var err error
		if addrs, err = addr.ParseList(cfg.Address); err != nil {
			return nil, keyErr(cfg.Name, "address", err)
		}
	} else if len(cfg.Address) > 0 {
		return nil, keyErr(cfg.Name, "address", fmt.Errorf("%s takes no address", cfg.Type))
	}
	switch cfg.Type {
	case "clamd":
		c := &clamd.Client{Addrs: addrs, MaxStream: e.maxSize,
			NoFILDES: cfg.Fildes != nil && !*cfg.Fildes, NoSession: cfg.Session != nil && !*cfg.Session, Conns: cfg.Conns}
		e.maxSize = 0 // clamd.Client answers SizeLimit itself
		e.scan = func(ctx context.Context, objs []Object, _ Envelope) ([]Verdict, error) {
			return scanClamd(ctx, c, objs)
		}
	case "spamd":
		switch cfg.Request {
		case "", "SYMBOLS", "REPORT", "CHECK":
		default:
			return nil, keyErr(cfg.Name, "request", fmt.Errorf("request = %q: want SYMBOLS, REPORT or CHECK", cfg.Request))
		}
		c := &spamd.Client{Addrs: addrs, Request: cfg.Request}
		e.scan = func(ctx context.Context, objs []Object, env Envelope) ([]Verdict, error) {
			return scanEach(ctx, objs, func(ctx context.Context, o Object) (Verdict, error) {
				return scanSpamd(ctx, c, o, env)
			})
		}
	case "rspamd":
		c := &rspamd.Client{Addrs: addrs}
		e.scan = func(ctx context.Context, objs []Object, env Envelope) ([]Verdict, error) {
			return scanEach(ctx, objs, func(ctx context.Context, o Object) (Verdict, error) {
				return scanRspamd(ctx, c, o, env)
			})
		}
	case "command":
		if len(cfg.Command) == 0 || cfg.Command[0] == "" {
			return nil, keyErr(cfg.Name, "command", errors.New("command needs an argument list"))
		}
		s := &command.Scanner{Argv: cfg.Command, Clean: cfg.Clean, Infected: cfg.Infected, TempDir: cfg.TempDir}
		// What a process killed during a scan left behind (issue 12.4).
		command.Sweep(cfg.TempDir, time.Now())
		if cfg.SignaturePattern != "" {
			re, err := regexp.Compile(cfg.SignaturePattern)
			if err != nil {
				return nil, keyErr(cfg.Name, "signature_pattern", fmt.Errorf("signature_pattern: %w", err))
			}
			s.Pattern = re
		}
		e.scan = func(ctx context.Context, objs []Object, _ Envelope) ([]Verdict, error) {
			return scanEach(ctx, objs, func(ctx context.Context, o Object) (Verdict, error) {
				return scanCommand(ctx, s, o)
			})
		}
	case "builtin":
		// The tables are loaded once per snapshot, from the cache file
		// when one is valid and trusted (a one-shot delivery maps it
		// instead of parsing the text). Why a cache is not used does not
		// stop a delivery: check-config shows it (CacheError).
		db := &builtin.DB{}
		state, cerr, err := db.LoadCached(*cfg.CacheDir, cfg.Databases...)
		if err != nil {
			return nil, keyErr(cfg.Name, "databases", err)
		}
		if state == builtin.CacheUnusable {
			e.cacheErr = cerr
		}
		var eicar []byte
		if !cfg.NoEicar {
			eicar = builtin.Eicar()
		}
		e.scan = func(ctx context.Context, objs []Object, _ Envelope) ([]Verdict, error) {
			return scanEach(ctx, objs, func(ctx context.Context, o Object) (Verdict, error) {
				return scanBuiltin(db, eicar, o)
			})
		}
	}
	return e, nil
}

// engine is what New returns: the common settings around a protocol
// client.
type engine struct {
	name, send, onError string
	kind                Kind
	timeout             time.Duration
	maxSize             int64
	scan                func(ctx context.Context, objs []Object, env Envelope) ([]Verdict, error)
	cacheErr            error // builtin: why its signature cache could be neither read nor written
}

// CacheError says why a builtin engine's signature cache (cache_dir)
// could be neither used nor written, so that every load parses the
// databases' text; nil when it could, or for other engines. A delivery
// goes on without the cache; check-config warns.
func CacheError(e Engine) error {
	if en, ok := e.(*engine); ok {
		return en.cacheErr
	}
	return nil
}

// TakesRaw reports whether e is sent the raw message (its send setting:
// raw or both). Engines not made by New are assumed to take it.
func TakesRaw(e Engine) bool {
	if en, ok := e.(*engine); ok {
		return en.send != SendParts
	}
	return true
}

func (e *engine) Name() string    { return e.name }
func (e *engine) Kind() Kind      { return e.kind }
func (e *engine) OnError() string { return e.onError }

// Scan sends the objects e takes, under e's timeout; objects above
// max_size get an "unscannable" verdict without being sent.
func (e *engine) Scan(ctx context.Context, objs []Object, env Envelope) ([]Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	var send []Object
	var out []Verdict
	for _, o := range objs {
		if (o.Raw && e.send == SendParts) || (!o.Raw && e.send == SendRaw) {
			continue
		}
		if e.maxSize > 0 && o.Size > e.maxSize {
			out = append(out, Verdict{Object: o.ID, Status: Unscannable,
				Reason: fmt.Sprintf("%d bytes over max_size %d: not sent", o.Size, e.maxSize)})
			continue
		}
		send = append(send, o)
	}
	if len(send) > 0 {
		v, err := e.scan(ctx, send, env)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
				err = fmt.Errorf("timed out after %v: %w", e.timeout, err)
			}
			return nil, err
		}
		out = append(out, v...)
	}
	// Verdicts in the order of objs.
	order := make(map[string]int, len(objs))
	for i, o := range objs {
		order[o.ID] = i
	}
	sorted := slices.Clone(out)
	slices.SortStableFunc(sorted, func(a, b Verdict) int { return order[a.Object] - order[b.Object] })
	for i := range sorted {
		sorted[i].Engine, sorted[i].Kind = e.name, e.kind
	}
	return sorted, nil
}

func scanEach(ctx context.Context, objs []Object, f func(context.Context, Object) (Verdict, error)) ([]Verdict, error) {
	out := make([]Verdict, 0, len(objs))
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, err := f(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", o.ID, err)
		}
		v.Object = o.ID
		out = append(out, v)
	}
	return out, nil
}

func scanClamd(ctx context.Context, c *clamd.Client, objs []Object) ([]Verdict, error) {
	items := make([]clamd.Item, len(objs))
	for i, o := range objs {
		items[i] = clamd.Item{Size: o.Size, Open: o.Open, File: o.File}
	}
	replies, err := c.Scan(ctx, items)
	if err != nil {
		return nil, err
	}
	out := make([]Verdict, len(objs))
	for i, r := range replies {
		v := Verdict{Object: objs[i].ID}
		switch r.Status {
		case clamd.Clean:
			v.Status = Clean
		case clamd.Found:
			v.Status, v.Signature = Infected, r.Signature
		case clamd.SizeLimit:
			v.Status, v.Reason = Unscannable, "clamd: "+r.Message
		default:
			v.Status, v.Reason = Error, "clamd: "+r.Message
		}
		out[i] = v
	}
	return out, nil
}

func readAll(o Object) ([]byte, error) {
	rc, err := o.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	if o.Size > 0 {
		b.Grow(int(o.Size))
	}
	_, err = b.ReadFrom(rc)
	return b.Bytes(), err
}

func scanSpamd(ctx context.Context, c *spamd.Client, o Object, env Envelope) (Verdict, error) {
	msg, err := readAll(o)
	if err != nil {
		return Verdict{}, fmt.Errorf("reading: %w", err)
	}
	user := env.User
	if user == "" && len(env.Recipients) > 0 {
		user = env.Recipients[0]
	}
	r, err := c.Check(ctx, msg, user)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Status: Clean, Score: r.Score, Threshold: r.Threshold, Symbols: r.Symbols}
	if r.Spam {
		v.Status = IsSpam
	}
	return v, nil
}

func scanRspamd(ctx context.Context, c *rspamd.Client, o Object, env Envelope) (Verdict, error) {
	rc, err := o.Open()
	if err != nil {
		return Verdict{}, fmt.Errorf("reading: %w", err)
	}
	defer rc.Close()
	r, err := c.Check(ctx, rc, o.Size, rspamd.Envelope{From: env.Sender, Rcpt: env.Recipients,
		IP: env.ClientIP, Helo: env.Helo, User: env.AuthUser, DeliverTo: env.User})
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Status: Clean, Score: r.Score, Threshold: r.RequiredScore, Symbols: r.Symbols(), Action: r.Action}
	if r.Spam() {
		v.Status = IsSpam
	}
	return v, nil
}

func scanCommand(ctx context.Context, s *command.Scanner, o Object) (Verdict, error) {
	r, err := s.Scan(ctx, o.Open)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Status: Clean}
	switch r.Status {
	case command.Infected:
		v.Status, v.Signature = Infected, r.Signature
		if v.Signature == "" {
			v.Signature = fmt.Sprintf("exit code %d", r.ExitCode)
		}
	case command.Error:
		v.Status, v.Reason = Error, fmt.Sprintf("exit code %d: %.200q", r.ExitCode, r.Output)
	}
	return v, nil
}

func scanBuiltin(db *builtin.DB, eicar []byte, o Object) (Verdict, error) {
	open := func() (io.ReadCloser, error) { return o.Open() }
	if eicar != nil && (o.Size < 0 || o.Size <= builtin.EicarMaxSize) {
		rc, err := open()
		if err != nil {
			return Verdict{}, fmt.Errorf("reading: %w", err)
		}
		found, err := builtin.IsEicar(rc, o.Size, eicar)
		rc.Close()
		if err != nil {
			return Verdict{}, fmt.Errorf("reading: %w", err)
		}
		if found {
			return Verdict{Status: Infected, Signature: builtin.EicarName}, nil
		}
	}
	if !db.MayMatch(o.Size) {
		return Verdict{Status: Clean}, nil // no signature of its size: not read
	}
	rc, err := open()
	if err != nil {
		return Verdict{}, fmt.Errorf("reading: %w", err)
	}
	defer rc.Close()
	name, err := db.Match(rc, o.Size)
	if err != nil {
		return Verdict{}, fmt.Errorf("reading: %w", err)
	}
	if name != "" {
		return Verdict{Status: Infected, Signature: name}, nil
	}
	return Verdict{Status: Clean}, nil
}
