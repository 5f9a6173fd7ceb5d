package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/notify"
	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize/html"
	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/unpack"
)

// Config is the whole configuration file, decoded once by cmd and handed
// to each stage as its own section (ARCHITECTURE.md: only cmd reads the
// config file and the environment).
type Config struct {
	Deliver    DeliverConfig    `toml:"deliver"`
	Spool      SpoolConfig      `toml:"spool"`
	Quarantine QuarantineConfig `toml:"quarantine"`
	Log        LogConfig        `toml:"log"`
	Limits     unpack.Limits    `toml:"limits"`
	Scan       ScanConfig       `toml:"scan"`
	Engines    []scan.Config    `toml:"engine"`
	Policy     rules.Policy     `toml:"policy"`
	Rulesets   []rules.Ruleset  `toml:"ruleset"`
	Notify     NotifyConfig     `toml:"notify"`
	HTML       HTMLConfig       `toml:"html"`
	Headers    HeadersConfig    `toml:"headers"`
	Sanitize   SanitizeConfig   `toml:"sanitize"`
	Canary     CanaryConfig     `toml:"canary"`
	Release    ReleaseConfig    `toml:"release"`
	Serve      ServeConfig      `toml:"serve"`
}

// DeliverConfig is the [deliver] table.
type DeliverConfig struct {
	// Default destination: a trailing "/" means a Maildir, anything else
	// an mbox file; "~/" is the recipient's home.
	Default string `toml:"default"`
	// LockTimeout bounds the wait for an mbox lock.
	LockTimeout Duration `toml:"lock_timeout"`
	// StaleLock is the age past which a dotlock is considered stale.
	StaleLock Duration `toml:"stale_lock"`
	// Junk is where spam goes when the policy says junk: "" means the
	// Maildir++ folder .Junk of a Maildir destination (an mbox
	// destination gets it in place, tagged).
	Junk string `toml:"junk"`
}

// SpoolConfig is the [spool] table.
type SpoolConfig struct {
	Dir    string `toml:"dir"`    // "" = $TMPDIR or /tmp
	Memory Size   `toml:"memory"` // above this the message goes to a file
	// MaxSize is the hard size ceiling: a message above it is refused
	// without being stored (TooLargeError). 0: Config.Ceiling's default,
	// CeilingFactor times the largest max_message_size.
	MaxSize Size `toml:"max_size"`
}

// QuarantineConfig is the [quarantine] table.
type QuarantineConfig struct {
	Dir   string `toml:"dir"`
	Group string `toml:"group"`
	// TrustedAuthors are the users (names or uids), besides root, whose
	// quarantine entries may be released to any recipient: the user a
	// delivery daemon runs as. An entry written by anyone else (a
	// delivery running as the recipient) is released only to its author.
	TrustedAuthors []string `toml:"trusted_authors"`
}

// LogConfig is the [log] table.
type LogConfig struct {
	Syslog bool   `toml:"syslog"` // also log to syslog's mail facility
	Level  string `toml:"level"`  // debug, info, warn, error
}

// ConfigError is a configuration file that cannot be used. It carries
// the file, line and key so that a postmaster finds the typo at once.
type ConfigError struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Size is a byte count written as an integer or with a unit: "512KB",
// "1MB", "20MB", "1GB" (powers of 1024), the same type as [limits] uses.
type Size = unpack.Size

// Duration is a time.Duration written as "60s", "10m".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q (want e.g. 30s, 10m)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ScanConfig is the [scan] table.
type ScanConfig struct {
	// Concurrency bounds how many engines run at once (0: all).
	Concurrency int `toml:"concurrency"`
	// Budget is the time one message may take to be unpacked and
	// scanned, all engines together (0: DefaultBudget). When it runs out
	// the message is unscannable and follows that policy; no engine is
	// waited for past it, whatever its own timeout.
	Budget Duration `toml:"budget"`
}

// DefaultBudget is the time budget of one message ([scan] budget).
const DefaultBudget = 30 * time.Second

// NotifyConfig is the [notify] table: how notices reach the postmaster
// and real senders.
type NotifyConfig struct {
	// Sendmail is the program and its leading arguments; the recipient is
	// added by scandeliver ("-t" is refused).
	Sendmail []string `toml:"sendmail"`
	From     string   `toml:"from"`      // From address of notices; default "postmaster"
	FromName string   `toml:"from_name"` // default "Mail scanner"
	Contact  string   `toml:"contact"`   // who readers may contact; default the postmaster
	Lang     string   `toml:"lang"`      // "en" or "fr"
	// Templates is a directory of site templates (LANG/NAME.tmpl) that
	// override the shipped ones.
	Templates string   `toml:"templates"`
	Timeout   Duration `toml:"timeout"`
	// Postmaster receives the notices when [policy] (or the ruleset)
	// names nobody.
	Postmaster string `toml:"postmaster"`
	// Senders: notices to real senders of blocked or infected mail
	// (overrides [policy] notify_sender when set).
	Senders *bool `toml:"senders"`
	// AuthservID is the authserv-id of our own MTA's
	// Authentication-Results fields; only those prove a sender real
	// (dmarc=pass, or spf=pass for the envelope sender's domain). "" trusts none.
	AuthservID string `toml:"authserv_id"`
	// SenderInterval: at most one notice per sender per interval.
	SenderInterval Duration `toml:"sender_interval"`
	// RequireProof: a sender of blocked (not infected) mail is told only
	// when provably real, as for viruses (default true; viruses always
	// need the proof).
	RequireProof *bool `toml:"require_proof"`
}

// mailer is the notices' sendmail. "-t" and "-i" are accepted for
// compatibility with other scanners' configurations and dropped: the
// recipient is always passed as an argument, never read from the header.
func (n NotifyConfig) mailer() notify.Mailer {
	var argv []string
	for _, a := range n.Sendmail {
		if len(argv) > 0 && (a == "-t" || a == "-i") {
			continue
		}
		argv = append(argv, a)
	}
	return notify.Mailer{Sendmail: argv, Timeout: time.Duration(n.Timeout)}
}

// HeadersConfig is the [headers] table.
type HeadersConfig struct {
	// Status is the name of the status field ("X-Scandeliver-Status").
	Status string `toml:"status"`
}

// SanitizeConfig is the [sanitize] table.
type SanitizeConfig struct {
	// SignatureText and SignatureHTML are added once to the first text
	// and HTML body parts of clean messages ("" = none).
	SignatureText string `toml:"signature_text"`
	SignatureHTML string `toml:"signature_html"`
	// Disinfect delivers a zip or tar attachment rebuilt without its
	// infected or denied members, with a note, instead of replacing it.
	Disinfect bool `toml:"disinfect"`
}

// HTMLConfig is the [html] table (sanitize/html's options).
type HTMLConfig struct {
	Disarm             bool              `toml:"disarm"`
	Elements           map[string]string `toml:"elements"` // element = "allow" | "disarm" | "remove"
	BlockRemoteContent bool              `toml:"block_remote_content"`
	TrustedHosts       []string          `toml:"trusted_hosts"`
	MaxBytes           Size              `toml:"max_bytes"`
	Timeout            Duration          `toml:"timeout"`
	// MaxMemory is the memory all the HTML parts of one message may
	// take together while they are disarmed (0: html.DefaultMessageMemory).
	MaxMemory Size `toml:"max_memory"`
}

func (h HTMLConfig) options() html.Options {
	o := html.Options{BlockRemoteContent: h.BlockRemoteContent, TrustedHosts: h.TrustedHosts,
		MaxBytes: int64(h.MaxBytes), Timeout: time.Duration(h.Timeout)}
	if len(h.Elements) > 0 {
		o.Elements = map[string]html.Action{}
		for k, v := range h.Elements {
			o.Elements[k] = html.Action(v)
		}
	}
	return o
}

// ServeConfig is the [serve] table: scandeliver serve, the resident LMTP
// server. The pipeline does not read it; the serve front door does.
// Listen, MaxSessions, MaxSize and SocketGroup take effect at start; the
// rest at every reload.
type ServeConfig struct {
	// Listen is "unix:/path" or a loopback "host:port"; --listen wins.
	Listen string `toml:"listen"`
	// SocketGroup owns a unix socket (mode 0660): the group of the MTA's
	// LMTP client ("postfix"); "" leaves the server's group.
	SocketGroup string `toml:"socket_group"`
	// Mailbox is where a recipient's mail goes: a template for virtual
	// mailboxes ("/var/vmail/%d/%n/Maildir/": %u the whole address, %n
	// the local part, %d the domain, %% a percent sign), or an LMTP
	// destination ("lmtp:unix:/run/dovecot/lmtp"); "" means system users
	// (the local part names one) with [deliver] default.
	Mailbox string `toml:"mailbox"`
	// MaxSessions bounds the concurrent LMTP sessions; past it, a new
	// connection is answered 421 (the MTA retries).
	MaxSessions int `toml:"max_sessions"`
	// MaxSize bounds a message; bigger ones are refused with 552.
	MaxSize Size `toml:"max_size"`
	// User is the unprivileged user that serve, started as root, becomes
	// once its socket is bound, before it reads the configuration again
	// or a byte of mail: "" is "scandeliver" when that user exists, else
	// "nobody". With virtual mailboxes it must own the mailbox tree.
	// Never root. Takes effect at start.
	User string `toml:"user"`
	// Timeout is the time budget of one message (all its recipients);
	// past it, what is not delivered is deferred (451).
	Timeout Duration `toml:"timeout"`
}
