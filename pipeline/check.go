package pipeline

import (
	"cmp"
	"fmt"
	"os"

	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/notify"
	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize/html"
	"github.com/scandeliver/scandeliver/scan"
)

// Check builds everything of cfg that deliveries build, with the same
// code, and returns the snapshot and every error a delivery would meet:
// the engines (NewSnapshot, what every delivery builds first), the
// destinations ([deliver] default and junk, as ParseDest reads them for a
// recipient), every notice template and the reasons catalogue in the
// configured language (rendered as a notice renders them), and the spool
// directory. Each error is a *ConfigError naming its key; the caller
// (which has the file) adds the line. check-config runs it; a delivery
// runs NewSnapshot and meets the rest when it gets there. warnings are
// what only some deliveries would meet (a missing spool directory defers
// the messages too large for memory).
func Check(cfg Config, file string) (snap *Snapshot, errs, warnings []error) {
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, &ConfigError{File: file, Key: key, Err: err})
		}
	}
	warn := func(key string, err error) {
		warnings = append(warnings, &ConfigError{File: file, Key: key, Err: err})
	}
	snap, err := NewSnapshot(cfg, file)
	if err != nil {
		errs = append(errs, err)
	} else if len(cfg.Engines) > 0 {
		for i, e := range snap.Engines {
			if cerr := scan.CacheError(e); cerr != nil {
				warn(fmt.Sprintf("engine[%d].cache_dir", i), fmt.Errorf("the signature cache cannot be used, every delivery parses the databases: %w", cerr))
			}
		}
	}
	// A recipient's home stands for ~ (what a delivery expands it to).
	const home = "/home/recipient"
	if _, err := deliver.ParseDest(cfg.Deliver.Default, home); err != nil {
		add("deliver.default", err)
	}
	if cfg.Deliver.Junk != "" {
		if _, err := deliver.ParseDest(cfg.Deliver.Junk, home); err != nil {
			add("deliver.junk", err)
		}
	}
	t := notify.Templates{Dir: cfg.Notify.Templates}
	lang := cmp.Or(cfg.Notify.Lang, "en")
	if cfg.Notify.Templates != "" {
		if fi, err := os.Stat(cfg.Notify.Templates); err != nil {
			add("notify.templates", err)
		} else if !fi.IsDir() {
			add("notify.templates", fmt.Errorf("%s is not a directory", cfg.Notify.Templates))
		}
	}
	sample := notify.Data{Date: "Thu, 01 Jan 2026 00:00:00 +0000", QuarantineID: "20260101-000000-000000-check", Contact: "postmaster",
		Hostname: "localhost", Sender: "sender@example.org", Recipient: "rcpt@example.org", Subject: "check-config",
		MessageID: "<check@localhost>", Status: string(rules.StatusBlocked), Action: "quarantine", File: "file.exe",
		Reason: "check-config", Rule: "shipped filename rule", Signature: "Test-Signature",
		Items:   []notify.Item{{File: "file.exe", Part: "2", Action: "deny", Reason: "check-config", Rule: "shipped filename rule"}},
		Headers: []string{"Subject: check-config"}}
	for _, name := range notify.Names() {
		if _, err := t.Render(lang, name, sample); err != nil {
			add("notify.templates", err)
		}
	}
	if _, err := t.Reasons(lang); err != nil {
		add("notify.templates", err)
	}
	if err := cfg.Notify.mailer().Check(); err != nil {
		add("notify.sendmail", err)
	}
	if cfg.Spool.Dir != "" {
		if fi, err := os.Stat(cfg.Spool.Dir); err != nil {
			warn("spool.dir", fmt.Errorf("%w (messages over [spool] memory would be deferred)", err))
		} else if !fi.IsDir() {
			warn("spool.dir", fmt.Errorf("%s is not a directory (messages over [spool] memory would be deferred)", cfg.Spool.Dir))
		}
	}
	return snap, errs, warnings
}

// Effective returns cfg with every default filled in as deliveries apply
// it: the engines (the builtin one when none is configured, each with
// scan.Config.WithDefaults), the policy and the rulesets' shipped
// defaults, the limits, and the sections' zero values that mean a
// default. check-config prints it.
func (c Config) Effective() Config {
	engines := c.Engines
	if len(engines) == 0 {
		engines = DefaultEngines()
	}
	c.Engines = make([]scan.Config, len(engines))
	for i, e := range engines {
		c.Engines[i] = e.WithDefaults()
	}
	c.Policy = c.Policy.WithDefaults()
	c.Limits = c.Limits.WithDefaults()
	c.Spool.Dir = cmp.Or(c.Spool.Dir, os.TempDir())
	if c.Scan.Budget <= 0 {
		c.Scan.Budget = Duration(DefaultBudget)
	}
	c.Canary.Interval = Duration(c.Canary.Every())
	c.Release.Key = c.Release.KeyFile()
	c.Release.MaxAge = Duration(c.Release.maxAge())
	c.Notify.Lang = cmp.Or(c.Notify.Lang, "en")
	c.Notify.From = cmp.Or(c.Notify.From, notify.DefaultFrom)
	c.Notify.FromName = cmp.Or(c.Notify.FromName, notify.DefaultFromName)
	c.Notify.Timeout = cmp.Or(c.Notify.Timeout, Duration(notify.DefaultSendTimeout))
	c.Notify.SenderInterval = cmp.Or(c.Notify.SenderInterval, Duration(notify.DefaultInterval))
	c.HTML.MaxBytes = cmp.Or(c.HTML.MaxBytes, Size(html.DefaultMaxBytes))
	c.HTML.Timeout = cmp.Or(c.HTML.Timeout, Duration(html.DefaultTimeout))
	c.HTML.MaxMemory = cmp.Or(c.HTML.MaxMemory, Size(html.DefaultMessageMemory))
	c.Headers.Status = cmp.Or(c.Headers.Status, "X-Scandeliver-Status")
	return c
}

// Errors flattens the errors of Check (or a joined error) for printing.
func Errors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
