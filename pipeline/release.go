package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/scan"
)

// ReleasedOK reports whether the message in raw carries a release mark
// (quarantine release --resend) that verifies for recipient rcpt with the
// installation's public key: the postmaster released exactly these bytes
// for this recipient. A missing public key, no mark, or a mark that does
// not verify all give false (and the message is handled as any other);
// why is for the log.
func ReleasedOK(raw io.ReaderAt, size int64, rc ReleaseConfig, rcpt string, now time.Time) (id string, ok bool, why string) {
	m, ok, why := releaseMark(raw, size, rc, rcpt, now)
	return m.ID, ok, why
}

// releaseMark is ReleasedOK with the verified mark. What the mark waives
// is Deliver's to decide: the policy rules always, an engine's infected
// verdict only when the mark says force (see quarantine.ReleaseField).
func releaseMark(raw io.ReaderAt, size int64, rc ReleaseConfig, rcpt string, now time.Time) (quarantine.Mark, bool, string) {
	pub, err := quarantine.LoadReleasePublicKey(rc.PubFile())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return quarantine.Mark{}, false, ""
		}
		return quarantine.Mark{}, false, err.Error()
	}
	m, err := quarantine.VerifyRelease(raw, size, pub, rcpt, now, rc.maxAge())
	if err != nil {
		if errors.Is(err, quarantine.ErrNoMark) {
			return quarantine.Mark{}, false, ""
		}
		return quarantine.Mark{}, false, err.Error()
	}
	return m, true, ""
}

// incomplete says why the scan in o is not the engines' whole answer on
// the message, "" when it is. A release needs that answer, since all the
// mark may waive is the administrator's rules: the time budget spent
// (the engines still scanning are not "unscannable" then, they have not
// answered), the raw message not sent to an engine (NotSent), an engine
// that could not answer (whatever its on_error and kind), a virus
// engine's "unscannable" for some object, a part that a limit of unpack
// stopped (what it holds was never seen). A spam engine's "unscannable"
// (spamd's max_size) does not count: it cannot call anything infected.
// The first of these found is the reason given.
func (o *scanned) incomplete() string {
	if o.unscannable != "" {
		return o.unscannable
	}
	if len(o.res.Failed) > 0 {
		var why []string
		for _, f := range o.res.Failed {
			why = append(why, fmt.Sprintf("engine %s could not answer: %v", f.Engine, f.Err))
		}
		return strings.Join(why, "; ")
	}
	for _, v := range o.res.Verdicts {
		if v.Kind == scan.Virus && v.Status == scan.Unscannable {
			return fmt.Sprintf("engine %s: %s unscannable (%s)", v.Engine, v.Object, v.Reason)
		}
	}
	for _, p := range o.msg.Parts {
		if limitHit(p) {
			return fmt.Sprintf("part %s over the limits (%s)", p.Path, p.Unscannable)
		}
	}
	return ""
}

// Judgement is what the engines say of a message a release is about:
// their verdicts, and why their answer is not whole ("" when it is).
type Judgement struct {
	scan.Result
	Incomplete string
}

// Rescan is a release's scan (quarantine release): the message unpacked
// and scanned exactly as a delivery scans it (the [scan] budget, unpack's
// limits, the canary when it is due, failures written to warn), no
// policy applied and no engine's on_error: a release goes ahead only on
// the engines' whole, clean answer, or with --force.
func Rescan(ctx context.Context, snap *Snapshot, m *Message, env scan.Envelope, warn io.Writer) (Judgement, error) {
	o, err := scanEngines(ctx, snap, m, env, Options{Now: time.Now, Warn: warn})
	if err != nil {
		return Judgement{}, err
	}
	defer o.msg.Close()
	return Judgement{Result: o.res, Incomplete: o.incomplete()}, nil
}
