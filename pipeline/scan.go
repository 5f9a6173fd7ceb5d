package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/unpack"
)

// DefaultEngines is used when the configuration has no [[engine]] table:
// the builtin engine, which needs no daemon, so that a fresh machine
// scans something real (EICAR) from the first message.
func DefaultEngines() []scan.Config {
	return []scan.Config{{Name: "builtin", Type: "builtin"}}
}

// BuildEngines makes the configured engines; an error is a configuration
// error (a bad table, an unreadable signature database).
func BuildEngines(cfgs []scan.Config) ([]scan.Engine, error) {
	if len(cfgs) == 0 {
		cfgs = DefaultEngines()
	}
	var out []scan.Engine
	for i, c := range cfgs {
		e, err := scan.New(c)
		if err != nil {
			key := fmt.Sprintf("engine[%d]", i)
			var ke *scan.KeyError
			if errors.As(err, &ke) {
				key += "." + ke.Key
			}
			return nil, &ConfigError{Key: key, Err: err}
		}
		out = append(out, e)
	}
	return out, nil
}

// ScanObjects lists what the engines see: every part with content of its
// own (MIME leaves, archives and their members, uuencoded, yEnc and TNEF
// attachments), by its path, and the raw message once, so that a parser
// differential between us and an engine cannot hide a payload.
//
// What unpack judged over its limits (a bomb: too deep, too many members,
// too much expanded, out of time) is not sent: neither the part, nor an
// archive holding it (the engine would open the same bomb), nor the raw
// message (it holds it too). The policy withholds such a part, and
// NotSent says why the raw message was left out, which makes the whole
// message unscannable when an engine would have read it (scan.TakesRaw):
// an engine's verdict could not change that, and the engine would chew
// the bomb for a minute first (issue 12.4).
func ScanObjects(m *unpack.Message, raw *Message) []scan.Object {
	var objs []scan.Object
	if NotSent(m) == "" {
		objs = append(objs, scan.Object{
			ID:   scan.RawID,
			Raw:  true,
			Size: raw.Size(),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(raw.Reader()), nil },
			File: raw.File(),
		})
	}
	twin := contentTwins(m)
	for _, p := range m.Parts {
		if p.Container {
			continue // multipart and message/rfc822: their children are scanned
		}
		if overLimits(p) {
			continue
		}
		if twin[p.Path] != "" {
			continue // another reading gives the same content: scanned once
		}
		p := p
		objs = append(objs, scan.Object{ID: p.Path, Size: p.Size, Open: p.Open})
	}
	return objs
}

// contentTwins maps each part of an ambiguous message whose content
// another part has too (the same bytes in two readings of the message,
// by unpack's SHA-256, which it computes for such parts) to the first
// part with that content: the content is scanned once, by that part's
// path, and its verdicts count for all (facts).
func contentTwins(m *unpack.Message) map[string]string {
	if !m.Ambiguous {
		return nil
	}
	first := map[string]string{}
	twin := map[string]string{}
	for _, p := range m.Parts {
		if p.Container || p.SHA256 == "" || !p.Ambiguous {
			continue
		}
		if f, ok := first[p.SHA256]; ok {
			twin[p.Path] = f
		} else {
			first[p.SHA256] = p.Path
		}
	}
	return twin
}

// NotSent says why the raw message is not sent to the engines: "" when
// it is, else the first part unpack judged over its limits.
func NotSent(m *unpack.Message) string {
	for _, p := range m.Parts {
		if limitHit(p) {
			return fmt.Sprintf("part %s over the limits (%s): not sent to the engines", p.Path, p.Unscannable)
		}
	}
	return ""
}

// limitHit reports a part that a limit of unpack stopped.
func limitHit(p *unpack.Part) bool {
	for _, pr := range p.Problems {
		if pr.Kind == unpack.KindLimit {
			return true
		}
	}
	return false
}

// overLimits reports a part that a limit stopped, or that holds one.
func overLimits(p *unpack.Part) bool {
	if limitHit(p) {
		return true
	}
	for _, c := range p.Children {
		if overLimits(c) {
			return true
		}
	}
	return false
}

// scanned is what unpacking and scanning found; the policy stage (rules)
// decides from it.
type scanned struct {
	msg     *unpack.Message
	res     scan.Result
	action  string   // "deliver", or "quarantine" when an engine with on_error = quarantine failed
	reasons []string // why, for the log and the quarantine report
	headers []string // warnings for the status header fields
	// unscannable says why the message as a whole could not be judged:
	// the time budget ran out, or the raw message was not sent to the
	// engines (NotSent). The policy's unscannable action applies.
	unscannable string
}

// scanMessage unpacks the message and runs it through the engines.
// Engines that could not answer apply their on_error: tempfail returns a
// temporary error (exit 75), quarantine withholds the message, pass lets
// it through with a header saying so.
func scanMessage(ctx context.Context, snap *Snapshot, raw *Message, env scan.Envelope, opt Options) (*scanned, error) {
	o, err := scanEngines(ctx, snap, raw, env, opt)
	if err != nil {
		return nil, err
	}
	for _, f := range o.res.Failed {
		switch f.OnError {
		case scan.OnErrorPass:
			o.headers = append(o.headers, fmt.Sprintf("X-Scandeliver-Warning: %s check unavailable (engine %s)", f.Kind, f.Engine))
		case scan.OnErrorQuarantine:
			o.action = "quarantine"
			o.reasons = append(o.reasons, fmt.Sprintf("engine %s could not answer: %v", f.Engine, f.Err))
		default:
			o.msg.Close()
			return nil, fmt.Errorf("engine %s could not answer: %w", f.Engine, f.Err)
		}
	}
	return o, nil
}

// scanEngines unpacks the message and runs it through the engines under
// the message's one time budget, leaving the engines that could not
// answer in res.Failed, their on_error not applied.
func scanEngines(ctx context.Context, snap *Snapshot, raw *Message, env scan.Envelope, opt Options) (*scanned, error) {
	cfg, engines := snap.Config, snap.Engines
	// One time budget for unpacking and scanning (issue 12.4): unpack
	// gets what is left of it as its own limit (a limit marks parts
	// unscannable, it is no error), the engines a context that ends
	// with it.
	budget := time.Duration(cmp.Or(cfg.Scan.Budget, Duration(DefaultBudget)))
	deadline := time.Now().Add(budget)
	lim := cfg.Limits
	if lim.Timeout <= 0 || lim.Timeout > budget {
		lim.Timeout = budget
	}
	// A delivery never shows the parts' hashes: they are not computed.
	m, err := unpack.Unpack(ctx, raw, raw.Size(), unpack.Options{Limits: lim, TempDir: cfg.Spool.Dir, NoHashes: true})
	if err != nil {
		return nil, fmt.Errorf("unpacking the message: %w", err)
	}
	o := &scanned{msg: m, action: "deliver"}
	for _, e := range engines {
		if scan.TakesRaw(e) {
			// An engine that reads the raw message could not: the
			// message as a whole is not judged (a part-only engine,
			// such as the builtin one, misses nothing).
			o.unscannable = NotSent(m)
			break
		}
	}
	sctx, cancel := context.WithDeadline(ctx, deadline)
	o.res = scan.Run(sctx, engines, ScanObjects(m, raw), env, cfg.Scan.Concurrency)
	// The canary: an engine that answers but no longer detects EICAR
	// counts as down (its on_error applies). It runs within the budget.
	if opt.CanaryFailed != nil {
		o.res.Failed = append(o.res.Failed, opt.CanaryFailed()...)
	} else {
		o.res.Failed = append(o.res.Failed, canaryCheck(sctx, cfg.Canary, cfg.Spool.Dir, cfg.Engines, engines, opt.Now(), opt.Warn)...)
	}
	spent := sctx.Err() != nil && ctx.Err() == nil
	cancel()
	if spent {
		// The engines that had not answered did not fail: the message
		// could not be scanned within its budget. That is a verdict
		// (unscannable), not an engine's on_error.
		for _, f := range o.res.Failed {
			o.res.Verdicts = append(o.res.Verdicts, scan.Verdict{Engine: f.Engine, Object: scan.RawID, Kind: f.Kind,
				Status: scan.Unscannable, Reason: fmt.Sprintf("time budget of %s spent", budget)})
		}
		o.res.Failed = nil
		o.unscannable = cmp.Or(o.unscannable, fmt.Sprintf("time budget of %s spent", budget))
	}
	if err := ctx.Err(); err != nil {
		m.Close()
		return nil, err
	}
	return o, nil
}

// verdictSummary is the verdict part of the log line.
func verdictSummary(r scan.Result) string {
	var b strings.Builder
	for _, v := range r.Verdicts {
		if v.Status == scan.Clean {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s:%s:%s", v.Engine, v.Object, v.Status)
		if v.Signature != "" {
			b.WriteString(":" + v.Signature)
		}
	}
	if b.Len() == 0 {
		return "clean"
	}
	return b.String()
}

// quarantineReport describes a withheld message for the quarantine.
func quarantineReport(o *scanned, hi headerInfo, sender, rcpt string) quarantine.Report {
	r := quarantine.Report{
		Sender:     sender,
		Recipients: []string{rcpt},
		MessageID:  hi.messageID,
		Subject:    o.msg.Subject,
		Status:     "infected",
		Action:     "quarantined",
		Reasons:    o.reasons,
	}
	if !o.res.Infected {
		r.Status = "unscannable"
	}
	for _, v := range o.res.Verdicts {
		ev := quarantine.EngineVerdict{Engine: v.Engine + ":" + v.Object, Result: string(v.Status), Score: v.Score}
		if v.Signature != "" {
			ev.Signatures = []string{v.Signature}
		}
		if v.Reason != "" && v.Status == scan.Error {
			ev.Error = v.Reason
		}
		r.Verdicts = append(r.Verdicts, ev)
	}
	for _, f := range o.res.Failed {
		r.Verdicts = append(r.Verdicts, quarantine.EngineVerdict{Engine: f.Engine, Result: "error", Error: f.Err.Error()})
	}
	return r
}
