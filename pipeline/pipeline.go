package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/unpack"
)

// Snapshot is a loaded configuration: the sections as values and the
// engines built from them. It is immutable once made; serve shares one
// between all its sessions and a reload makes a new one.
type Snapshot struct {
	Config  Config
	File    string // the configuration file it came from, for errors
	Engines []scan.Engine
}

// NewSnapshot builds the engines of cfg. An error is a *ConfigError.
func NewSnapshot(cfg Config, file string) (*Snapshot, error) {
	engines, err := BuildEngines(cfg.Engines)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.File = file
			return nil, ce
		}
		return nil, &ConfigError{File: file, Err: err}
	}
	return &Snapshot{Config: cfg, File: file, Engines: engines}, nil
}

// Message is a spooled message: the spool, and within it the message
// proper (after an envelope From_ line, which is not part of it). It is
// read many times and never modified.
type Message struct {
	sp   *unpack.Spool
	hi   headerInfo
	off  int64
	size int64
}

// NewMessage spools r (read exactly once) under the [spool] settings: in
// memory up to c.Memory, then a private file; over c.MaxSize is an error.
func NewMessage(r io.Reader, c SpoolConfig) (*Message, error) {
	sp, err := unpack.NewSpool(r, unpack.SpoolOptions{Dir: c.Dir, Memory: int64(c.Memory), MaxSize: int64(c.MaxSize)})
	if err != nil {
		return nil, err
	}
	hi := scanHeader(sp, sp.Size())
	return &Message{sp: sp, hi: hi, off: hi.bodyStart, size: sp.Size() - hi.bodyStart}, nil
}

// Close removes the spool.
func (m *Message) Close() error { return m.sp.Close() }

// Size is the size of the message proper.
func (m *Message) Size() int64 { return m.size }

// SpoolSize is the size of all that was read, envelope line included.
func (m *Message) SpoolSize() int64 { return m.sp.Size() }

// FromLine is the sender named by a leading "From " line, if any.
func (m *Message) FromLine() string { return m.hi.fromLine }

// MessageID is the Message-ID field's value, if any.
func (m *Message) MessageID() string { return m.hi.messageID }

// Reader reads the message proper.
func (m *Message) Reader() *io.SectionReader { return io.NewSectionReader(m.sp, m.off, m.size) }

// ReadAt implements io.ReaderAt over the message proper.
func (m *Message) ReadAt(p []byte, off int64) (int, error) { return m.Reader().ReadAt(p, off) }

// File is the spool file, for clamd's FILDES, when the message is all of
// it (no From_ line to skip) and it is not held in memory; else nil.
func (m *Message) File() *os.File {
	if m.off != 0 {
		return nil
	}
	return m.sp.File()
}

// Envelope is who sent the message and whom it is for.
type Envelope struct {
	Sender     string // "MAILER-DAEMON" or "" for the null sender
	Recipients []Recipient
}

// Recipient is one recipient and where its copy goes.
type Recipient struct {
	// Address is the recipient address the rules, the Delivered-To field
	// and the notices use.
	Address string
	// User, when set and the process runs as root, is the system user
	// the mailbox is written as: the process switches to it for good
	// before touching the mailbox (one-shot mode, one recipient).
	User *deliver.User
	// Home is the home directory that "~/" in Dest names.
	Home string
	// Dest is the destination: a path ending in "/" is a Maildir, any
	// other path an mbox file; "" is [deliver] default.
	Dest string
}

// Action is what became of the message for one recipient.
type Action string

// The actions of an Outcome.
const (
	Delivered Action = "delivered" // as received, with our header fields
	Sanitized Action = "sanitized" // parts replaced, renamed or disarmed
	Withheld  Action = "withheld"  // quarantined, a notice delivered in its place
	Dropped   Action = "dropped"   // quarantined, nothing delivered (policy)
	Rejected  Action = "rejected"  // a reject rule: the MTA bounces it
	NoUser    Action = "no-such-user"
	TooLarge  Action = "too-large" // over the size ceiling, refused unstored: EX_DATAERR, 552
	TempFail  Action = "tempfail"  // nothing delivered; try again later
)

// Outcome is what happened for one recipient.
type Outcome struct {
	Recipient string
	Action    Action
	// Err is nil for Delivered, Sanitized, Withheld and Dropped; else why
	// (see ActionOf).
	Err error
	// Log holds this recipient's fields of the summary line.
	Log *Summary
}

// Options are what the caller provides besides the configuration.
type Options struct {
	Now  func() time.Time // default time.Now
	Warn io.Writer        // loud warnings (a failed canary); nil: none
	// Write, when set, writes each recipient's final message instead of
	// deliver.Deliver in this process (serve: a child process running as
	// the recipient's user). It must write all or nothing.
	Write func(context.Context, Write) (deliver.Result, error)
	// CanaryFailed, when set, replaces the canary run during deliveries:
	// it returns the engines the last canary found failing (serve runs
	// the canary on a timer, see Canary).
	CanaryFailed func() []scan.EngineError
}

// Write is one recipient's final message, ready to be written: Prefix
// (our header fields) then Size bytes of Body.
type Write struct {
	Recipient Recipient
	Dest      deliver.Dest
	Prefix    []byte
	Body      io.ReaderAt
	Size      int64
	Envelope  deliver.Envelope
	Options   deliver.Options
}

// ActionOf classifies an error the way the front doors map it to exit
// codes and LMTP replies: a RejectError is Rejected, a *TooLargeError is
// TooLarge (65, 552), deliver.ErrNoUser is
// NoUser, an LMTP next hop's permanent reply is NoUser (5.1.x) or
// Rejected; anything else is temporary.
func ActionOf(err error) Action {
	var re RejectError
	var hop *deliver.ReplyError
	switch {
	case err == nil:
		return Delivered
	case errors.As(err, &re), errors.As(err, new(EmptyError)):
		return Rejected
	case errors.As(err, new(*TooLargeError)):
		return TooLarge
	case errors.Is(err, deliver.ErrNoUser):
		return NoUser
	case errors.As(err, &hop) && hop.Permanent():
		// An LMTP next hop refused the recipient for good: no such user
		// (5.1.x), or anything else it will never accept.
		if hop.Enhanced[0] == 5 && hop.Enhanced[1] == 1 {
			return NoUser
		}
		return Rejected
	}
	return TempFail
}

// Deliver runs the message through the pipeline for every recipient of
// env: the message is unpacked and scanned once for all recipients that
// the engines see alike, then each recipient gets its own verdict and its
// own delivery. It returns one outcome per recipient, in order.
func Deliver(ctx context.Context, snap *Snapshot, m *Message, env Envelope, opt Options) []Outcome {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	out := make([]Outcome, len(env.Recipients))
	scans := map[string]*scanned{}
	scanErrs := map[string]error{}
	defer func() {
		for _, o := range scans {
			o.msg.Close()
		}
	}()
	for i, rc := range env.Recipients {
		s := &Summary{}
		s.Add("size", m.SpoolSize())
		if m.hi.messageID != "" {
			s.Add("message_id", m.hi.messageID)
		}
		s.Add("sender", env.Sender)
		s.Add("recipient", rc.Address)
		var action Action
		err := func() error {
			if err := checkInput(m, s); err != nil {
				return err
			}
			destSpec := cmp.Or(rc.Dest, snap.Config.Deliver.Default)
			if strings.HasPrefix(destSpec, "~/") && rc.Home == "" {
				return fmt.Errorf("destination %q: no home directory known for the recipient", destSpec)
			}
			dest, err := deliver.ParseDest(destSpec, rc.Home)
			if err != nil {
				return err // it names the destination
			}
			s.Add("destination", dest.Path)
			key := scanKey(snap, rc.Address)
			o, ok := scans[key]
			if !ok {
				if err, failed := scanErrs[key]; failed {
					return err
				}
				senv := scan.Envelope{Sender: env.Sender, User: rc.Address}
				for _, r := range env.Recipients {
					if scanKey(snap, r.Address) == key {
						senv.Recipients = append(senv.Recipients, r.Address)
					}
				}
				o, err = scanMessage(ctx, snap, m, senv, opt)
				if err != nil {
					scanErrs[key] = err
					return err
				}
				scans[key] = o
			}
			s.Add("parts", len(o.msg.Parts))
			s.Add("verdicts", verdictSummary(o.res))
			s.Add("scan_time", o.res.Duration.Round(time.Microsecond).String())
			d := &delivery{now: opt.Now, cfg: snap.Config, s: s, o: o, raw: m, hi: m.hi, sender: env.Sender, rcpt: rc.Address, dest: dest, user: rc.User, home: rc.Home, rc: rc, write: opt.Write}
			// A message released from the quarantine and re-sent through
			// the MTA carries a signed mark: it has been scanned again
			// above like any other, and is delivered as released, not
			// quarantined again for the policy's rules, only on the
			// engines' whole answer that it is not infected. An engine
			// that finds it infected, and a scan that is not whole (the
			// time budget spent, an engine that could not answer, a part
			// over the limits: see incomplete), leave it to the policy
			// like unmarked mail, unless the release was forced
			// (quarantine release --force, signed in the mark).
			mk, ok, why := releaseMark(m, m.Size(), snap.Config.Release, rc.Address, opt.Now())
			var notWhole string
			if ok && !mk.Force && !o.res.Infected {
				notWhole = o.incomplete()
			}
			if ok && (mk.Force || (!o.res.Infected && notWhole == "")) {
				s.Add("released", mk.ID)
				if mk.Force {
					s.Add("release_forced", true)
				}
				s.Add("action", "delivered")
				action = Delivered
				return d.putFinal(ctx, dest, []string{d.statusName() + ": released (" + mk.ID + ")"}, m, m.Size())
			} else if ok && o.res.Infected {
				s.Add("release_mark", "the engines' verdict stands: released "+mk.ID+" without --force")
			} else if ok {
				s.Add("release_mark", "not scanned whole ("+notWhole+"): released "+mk.ID+" without --force")
			} else if why != "" {
				s.Add("release_mark", why)
			}
			action, err = d.applyPolicy(ctx)
			return err
		}()
		out[i] = Outcome{Recipient: rc.Address, Action: action, Log: s}
		if err != nil {
			out[i].Action, out[i].Err = ActionOf(err), err
		}
	}
	return out
}

// scanKey groups the recipients that the engines see alike: virus engines
// see every recipient the same, a spam engine may hold per-user settings
// (spamd's user, rspamd's Deliver-To).
func scanKey(snap *Snapshot, rcpt string) string {
	for _, e := range snap.Engines {
		if e.Kind() == scan.Spam {
			return strings.ToLower(rcpt)
		}
	}
	return ""
}

// Summary is the one line logged per recipient: its fields in order.
type Summary struct {
	Attrs []slog.Attr
	Level slog.Level
}

// Add appends a field.
func (s *Summary) Add(k string, v any) { s.Attrs = append(s.Attrs, slog.Any(k, v)) }
