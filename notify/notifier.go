package notify

import (
	"context"
	"fmt"
	"time"
)

// Notifier builds and sends the notices.
type Notifier struct {
	From      string           // From address of notices; default "postmaster"
	FromName  string           // default "Mail scanner"
	Hostname  string           // for Message-ID and the texts; default os.Hostname()
	Lang      string           // template language; default "en"
	Templates Templates        // site overrides
	Mailer    Mailer           // sendmail
	Now       func() time.Time // nil = time.Now
}

func (n Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

// Build renders the template name (one with a "subject") for d and returns
// the message to send to "to". auto is the Auto-Submitted keyword.
func (n Notifier) Build(name, to string, d Data, auto string) ([]byte, error) {
	now := n.now()
	if d.Date == "" {
		d.Date = now.Format(time.RFC1123Z)
	}
	if d.Hostname == "" {
		d.Hostname = n.Hostname
	}
	body, subject, err := n.Templates.render(n.Lang, name, d)
	if err != nil {
		return nil, err
	}
	from := n.From
	if from == "" {
		from = DefaultFrom
	}
	fromName := n.FromName
	if fromName == "" {
		fromName = DefaultFromName
	}
	lang := n.Lang
	if lang == "" {
		lang = "en"
	}
	return Notice{From: from, FromName: fromName, To: to, Subject: subject, Body: body, AutoSubmitted: auto,
		InReplyTo: d.MessageID, Lang: lang, Hostname: n.Hostname, Date: now}.Build()
}

// Postmaster sends the incident report (template "postmaster",
// Auto-Submitted: auto-generated) to the postmaster address to.
func (n Notifier) Postmaster(ctx context.Context, to string, d Data) error {
	msg, err := n.Build("postmaster", to, d, "auto-generated")
	if err != nil {
		return fmt.Errorf("postmaster notice: %w", err)
	}
	return n.Mailer.Send(ctx, to, msg)
}

// Sender sends the notice (template "sender", Auto-Submitted:
// auto-replied) to the envelope sender. The caller has checked RealSender
// (and RateLimit); Sender refuses only addresses unusable in a header.
func (n Notifier) Sender(ctx context.Context, to string, d Data) error {
	msg, err := n.Build("sender", to, d, "auto-replied")
	if err != nil {
		return fmt.Errorf("sender notice: %w", err)
	}
	return n.Mailer.Send(ctx, to, msg)
}
