package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/notify"
	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/unpack"
)

// CeilingFactor times the largest max_message_size of [policy] and the
// rulesets is the default hard size ceiling ([spool] max_size). Between
// max_message_size and the ceiling a message is quarantined whole (the
// policy's too_large); beyond the ceiling it is refused unstored.
const CeilingFactor = 4

// TooLargeError is a message over the hard size ceiling: it was refused
// without being stored (no spool file kept, no quarantine copy). The
// one-shot front door exits 65 (EX_DATAERR: the MTA bounces), serve
// answers 552; ActionOf gives TooLarge.
type TooLargeError struct {
	Limit int64 // the ceiling, bytes
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("message larger than the size ceiling of %d bytes ([spool] max_size): refused, not stored", e.Limit)
}

func (e *TooLargeError) Unwrap() error { return unpack.ErrTooLarge }

// Ceiling is the hard size ceiling of a message: [spool] max_size, else
// CeilingFactor times the largest max_message_size of [policy] and the
// rulesets (their default is 50MB, so 200MB); 0 (none) when a policy sets
// max_message_size to unlimited and [spool] max_size is not set.
func (c Config) Ceiling() int64 {
	if c.Spool.MaxSize > 0 {
		return int64(c.Spool.MaxSize)
	}
	// Each policy's max_message_size as WithDefaults and Override set it
	// (a zero field is taken from below), without building the policies:
	// that is reflection, paid by every delivery.
	base := cmp.Or(c.Policy.MaxMessageSize, rules.DefaultMaxMessageSize)
	largest := int64(0)
	for i := -1; i < len(c.Rulesets); i++ {
		size := base
		if i >= 0 {
			size = cmp.Or(c.Rulesets[i].Policy.MaxMessageSize, base)
		}
		lim, ok := size.Limit()
		if !ok {
			return 0
		}
		largest = max(largest, lim)
	}
	return CeilingFactor * largest
}

// SpoolMessage spools r like NewMessage, under the hard size ceiling of
// cfg (Ceiling): a message over it is a *TooLargeError, and nothing of it
// is kept (what was spooled is freed at once; the rest is not read).
func SpoolMessage(r io.Reader, cfg Config) (*Message, error) {
	sc := cfg.Spool
	sc.MaxSize = Size(cfg.Ceiling())
	m, err := NewMessage(r, sc)
	if errors.Is(err, unpack.ErrTooLarge) {
		return nil, &TooLargeError{Limit: int64(sc.MaxSize)}
	}
	return m, err
}

// NotifyTooLarge tells the postmaster of a message refused by the size
// ceiling (the policy's postmaster and notify_postmaster for the
// recipient). Only the envelope is known: the message was not kept.
func NotifyTooLarge(ctx context.Context, cfg Config, sender, rcpt string, tl *TooLargeError, now time.Time) error {
	pol, _ := rules.SelectNamed(cfg.Policy, cfg.Rulesets, sender, rcpt)
	if pol.NotifyPostmaster != nil && !*pol.NotifyPostmaster {
		return nil
	}
	to := cmp.Or(pol.Postmaster, cfg.Notify.Postmaster)
	if to == "" {
		return nil
	}
	n := notify.Notifier{
		From: cmp.Or(cfg.Notify.From, "postmaster@"+Hostname()), FromName: cfg.Notify.FromName,
		Hostname: Hostname(), Lang: cmp.Or(cfg.Notify.Lang, "en"),
		Templates: notify.Templates{Dir: cfg.Notify.Templates}, Now: func() time.Time { return now }, Mailer: cfg.Notify.mailer(),
	}
	if strings.EqualFold(sender, "MAILER-DAEMON") {
		sender = ""
	}
	d := notify.Data{
		Hostname: Hostname(), Date: now.Format(time.RFC1123Z), Contact: cmp.Or(cfg.Notify.Contact, pol.Postmaster),
		Sender: sender, Recipient: rcpt, Status: "blocked", Action: "reject",
		Reason: fmt.Sprintf("Message larger than the size ceiling of %d bytes: refused without being stored", tl.Limit),
		Rule:   "[spool] max_size",
	}
	return n.Postmaster(ctx, to, d)
}
