package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/unpack"
)

// ScanConfig is the [scan] table.
type ScanConfig struct {
	// Concurrency bounds how many engines run at once (0: all).
	Concurrency int `toml:"concurrency"`
}

// defaultEngines is used when the configuration has no [[engine]] table:
// the builtin engine, which needs no daemon, so that a fresh machine
// scans something real (EICAR) from the first message.
func defaultEngines() []scan.Config {
	return []scan.Config{{Name: "builtin", Type: "builtin"}}
}

// buildEngines makes the configured engines; an error is a configuration
// error (a bad table, an unreadable signature database).
func buildEngines(cfgs []scan.Config) ([]scan.Engine, error) {
	if len(cfgs) == 0 {
		cfgs = defaultEngines()
	}
	var out []scan.Engine
	for i, c := range cfgs {
		e, err := scan.New(c)
		if err != nil {
			return nil, fmt.Errorf("[[engine]] #%d (%q): %w", i+1, c.Name, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// scanObjects lists what the engines see: every part with content of its
// own (MIME leaves, archives and their members, uuencoded, yEnc and TNEF
// attachments), by its path, and the raw message once, so that a parser
// differential between us and an engine cannot hide a payload.
func scanObjects(m *unpack.Message, raw *spoolSection) []scan.Object {
	objs := []scan.Object{{
		ID:   scan.RawID,
		Raw:  true,
		Size: raw.Size(),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(raw.Reader()), nil },
		File: raw.File(),
	}}
	for _, p := range m.Parts {
		if p.Container {
			continue // multipart and message/rfc822: their children are scanned
		}
		p := p
		objs = append(objs, scan.Object{ID: p.Path, Size: p.Size, Open: p.Open})
	}
	return objs
}

// spoolSection is the message proper within the spool (after an envelope
// From_ line).
type spoolSection struct {
	sp   *unpack.Spool
	off  int64
	size int64
}

func (s *spoolSection) Size() int64                             { return s.size }
func (s *spoolSection) Reader() *io.SectionReader               { return io.NewSectionReader(s.sp, s.off, s.size) }
func (s *spoolSection) ReadAt(p []byte, off int64) (int, error) { return s.Reader().ReadAt(p, off) }

// File is the spool file, for clamd's FILDES, when the message is all of
// it (no From_ line to skip) and it is not held in memory; else nil.
func (s *spoolSection) File() *os.File {
	if s.off != 0 {
		return nil
	}
	return s.sp.File()
}

// outcome is what unpacking and scanning found; the policy stage (rules)
// decides from it.
type outcome struct {
	msg     *unpack.Message
	res     scan.Result
	action  string   // "deliver", or "quarantine" when an engine with on_error = quarantine failed
	reasons []string // why, for the log and the quarantine report
	headers []string // warnings for the status header fields
}

// scanMessage unpacks the message and runs it through the engines.
// Engines that could not answer apply their on_error: tempfail returns a
// temporary error (exit 75), quarantine withholds the message, pass lets
// it through with a header saying so.
func scanMessage(ctx context.Context, cfg Config, engines []scan.Engine, raw *spoolSection, env scan.Envelope, warn io.Writer) (*outcome, error) {
	// A delivery never shows the parts' hashes: they are not computed.
	m, err := unpack.Unpack(ctx, raw, raw.Size(), unpack.Options{Limits: cfg.Limits, TempDir: cfg.Spool.Dir, NoHashes: true})
	if err != nil {
		return nil, fmt.Errorf("unpacking the message: %w", err)
	}
	o := &outcome{msg: m, action: "deliver"}
	o.res = scan.Run(ctx, engines, scanObjects(m, raw), env, cfg.Scan.Concurrency)
	// The canary: an engine that answers but no longer detects EICAR
	// counts as down (its on_error applies).
	o.res.Failed = append(o.res.Failed, canaryCheck(ctx, cfg.Canary, cfg.Spool.Dir, cfg.Engines, engines, time.Now(), warn)...)
	if err := ctx.Err(); err != nil {
		m.Close()
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
			m.Close()
			return nil, fmt.Errorf("engine %s could not answer: %w", f.Engine, f.Err)
		}
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
func quarantineReport(o *outcome, hi headerInfo, sender, rcpt string) quarantine.Report {
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
