package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/quarantine"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "devel"

const usageText = `Usage:
  scandeliver [-c FILE] [-f SENDER] [-a ADDRESS] [-d USER] [--to DEST] < message
  scandeliver scan [-c FILE] [--json] [--no-engines] [FILE...]
  scandeliver check-config [-c FILE]
  scandeliver selftest [-c FILE]
  scandeliver quarantine list|show|release|purge|init ...
  scandeliver serve [-c FILE] [--listen ADDR]
  scandeliver version | --version | -V
  scandeliver --help

Deliver one message, read on standard input, to a Maildir or an mbox,
after unpacking it (MIME, uuencode, yEnc, BinHex, TNEF, archives) and scanning
every part and the whole message with the configured engines (default:
the builtin engine), and applying the policy: an infected or banned part
is replaced by a text and the original quarantined, a message that cannot
be judged is withheld with a notice, HTML is disarmed, the postmaster is
told. Where mail readers could read the message differently, every
reading is scanned: a finding in such ambiguous structure withholds the
whole message, and a clean one is delivered rewritten in one canonical
form ([policy] normalize, header X-Scandeliver-Normalized). A rewritten
message is unpacked again before delivery, and withheld when a reading
of it gives a content or a file name that was not judged.

check-config builds every engine, destination and template as a delivery
would; each error is printed as FILE:LINE: key "KEY" and exits 1; else
the effective configuration is printed, defaults filled in.

scan prints the part tree of each FILE (or standard input) and every
engine's verdict, delivering nothing: one line per part, or a JSON document
per message with --json. Exit 0 clean, 1 infected or spam, 2 error.

selftest sends EICAR to every virus engine and GTUBE to every spam
engine: one line per engine, exit 0 when all detect, 1 naming those that
do not (cron: */20 * * * * root /usr/local/bin/scandeliver selftest || ...).

quarantine lists, shows, releases and purges quarantined messages, and
init creates the quarantine directory
("scandeliver quarantine help").

serve is the resident mode: an LMTP server (RFC 2033) on --listen
(unix:/path or a loopback host:port; default [serve] listen,
unix:/run/scandeliver/lmtp) that scans once per message and replies per
recipient: 250 delivered, 4xx try again later, 5xx rejected or unknown
user. [serve] mailbox = "/var/vmail/%d/%n/Maildir/" delivers to virtual
mailboxes, "lmtp:unix:/run/dovecot/lmtp" hands the result to Dovecot,
and "" (default) to the system user the local part names. Started as
root, it binds its socket and then runs as [serve] user (default
scandeliver, else nobody); for system users a root broker that parses no
mail writes as each user. SIGHUP reloads the configuration, SIGTERM
finishes the messages in flight and exits (man scandeliver.8).

Options:
  -c FILE     configuration file (default /etc/scandeliver/scandeliver.toml;
              when that file is missing the built-in defaults apply)
  -f SENDER   envelope sender (default: $SENDER, else the message's From_
              line, else MAILER-DAEMON)
  -a ADDRESS  original recipient (default: $ORIGINAL_RECIPIENT, else
              $RECIPIENT, else the user)
  -d USER     deliver for local USER; as root, switch to the user's uid,
              gid and groups before reading the message
  --to DEST   destination: an absolute path, or one starting with "~/"
              (the recipient's home); ending in "/" it is a Maildir
              (created with its missing parents), else an mbox file (its
              directory must exist); lmtp:unix:/path or
              lmtp:inet:host:port hands it to another LMTP server
              (default: [deliver] default, "~/Maildir/"); a relative or
              empty DEST exits 64

An empty message (nothing, or only white space, after a From_ line) is
not delivered: exit 65.

Exit status: 0 delivered (or withheld, quarantined, dropped by policy, on
record); 64 bad usage; 65 rejected by policy, or over the size ceiling
([spool] max_size; the MTA bounces); 67 unknown
user; 75 temporary failure, nothing delivered (the MTA retries).

Postfix:   mailbox_command = /usr/local/bin/scandeliver -a "$RECIPIENT"
sendmail:  Mlocal, P=/usr/local/bin/scandeliver, A=scandeliver -f $g -d $u
.forward:  "|exec /usr/local/bin/scandeliver || exit 75"
Postfix, resident:  virtual_transport = lmtp:unix:/run/scandeliver/lmtp
`

// run is the whole program. It never panics: a panic becomes exit 75,
// because a crash must never look like a delivery.
func run(args []string, e *sysEnv) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "scandeliver: internal error, message deferred: %v\n%s", r, debug.Stack())
			code = exTempFail
		}
	}()
	if len(args) > 0 {
		switch args[0] {
		case "check-config":
			return checkConfig(args[1:], e)
		case "scan":
			return scanCommand(args[1:], e)
		case "selftest":
			return selftestCommand(args[1:], e)
		case "quarantine":
			return quarantineCommand(args[1:], e)
		case "serve":
			return serveCommand(args[1:], e)
		case "version", "--version", "-version", "-V":
			fmt.Fprintf(e.stdout, "scandeliver %s\n", versionString())
			return exOK
		case "help", "-h", "-help", "--help":
			io.WriteString(e.stdout, usageText)
			return exOK
		}
	}
	return deliverMessage(args, e)
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "devel" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		v += " (" + bi.GoVersion + ")"
	}
	return v
}

func newFlagSet(name string, e *sysEnv) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { io.WriteString(e.stderr, usageText) }
	return fs
}

// configFlag registers -c and returns a function telling the path and
// whether it was given explicitly.
func configFlag(fs *flag.FlagSet) func() (string, bool) {
	c := fs.String("c", DefaultConfigPath, "configuration file")
	return func() (string, bool) {
		explicit := false
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "c" {
				explicit = true
			}
		})
		return *c, explicit
	}
}

// configCommand parses the command line of a subcommand that takes -c
// only, and loads the configuration. code >= 0 means: exit with it.
func configCommand(name string, args []string, e *sysEnv) (cfg Config, path string, code int) {
	fs := newFlagSet(name, e)
	cpath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, "", exOK
		}
		return cfg, "", exUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "scandeliver: %s takes no arguments\n", name)
		return cfg, "", exUsage
	}
	path, explicit := cpath()
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s: %v\n", name, err)
		return cfg, "", exCheckFail
	}
	return cfg, path, -1
}

// deliverMessage is the main job: spool, (scan,) deliver, log, exit code.
func deliverMessage(args []string, e *sysEnv) int {
	start := e.now()
	fs := newFlagSet("scandeliver", e)
	cpath := configFlag(fs)
	fSender := fs.String("f", "", "envelope sender")
	fRcpt := fs.String("a", "", "original recipient")
	fUser := fs.String("d", "", "local user")
	fTo := fs.String("to", "", "destination")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exOK
		}
		return exUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "scandeliver: unexpected argument %q (the message is read on standard input)\n", fs.Arg(0))
		return exUsage
	}
	// A destination that can never work is a bad command line (64), not
	// a temporary failure the MTA would retry for days; --to "" is not
	// "the default".
	toSet := false
	fs.Visit(func(f *flag.Flag) { toSet = toSet || f.Name == "to" })
	if toSet {
		if _, err := deliver.ParseDest(*fTo, "/home"); err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: --to: %v\n", err)
			return exUsage
		}
	}
	path, explicit := cpath()
	cfg, err := loadConfigRef(path, explicit)
	if err != nil {
		// A broken config defers mail: the postmaster fixes the file and
		// the MTA retries; nothing is lost.
		fmt.Fprintf(e.stderr, "scandeliver: configuration error, message deferred: %v\n", err)
		return exTempFail
	}

	ctx := context.Background()
	if e.signals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		defer stop()
	}

	s := &pipeline.Summary{}
	err = deliverSpooled(ctx, e, cfg, path, s, *fSender, *fRcpt, *fUser, *fTo)
	return e.logOutcome(cfg.Log, s, err, e.now().Sub(start))
}

// logOutcome ends a recipient's summary line (duration, result, error),
// logs it, and returns the exit code of err. One-shot and serve write the
// same line.
func (e *sysEnv) logOutcome(cfg pipeline.LogConfig, s *pipeline.Summary, err error, took time.Duration) int {
	code := exitCode(err)
	s.Add("duration", took.Round(time.Microsecond).String())
	if err != nil {
		s.Level = slog.LevelError // errors are always logged
		s.Add("result", resultWord(code))
		s.Add("error", err.Error())
		e.logSummary(cfg, s, "not delivered")
		return code
	}
	s.Add("result", "delivered")
	e.logSummary(cfg, s, "delivered")
	return exOK
}

func resultWord(code int) string {
	switch code {
	case exTempFail:
		return "deferred"
	case exNoUser:
		return "no-such-user"
	case exUsage:
		return "usage"
	case exDataErr:
		return "rejected"
	}
	return fmt.Sprintf("exit-%d", code)
}

// loadConfigRef is loadConfig for the delivery's call chain, which holds
// the Config by pointer: a Config (over 1 KiB) by value in the frames of
// deliverMessage and deliverSpooled, and in the argument areas of their
// calls, took the goroutine's stack past 16 KiB further down, and growing
// it to 32 KiB (a copy of the stack, fresh pages) was paid by every
// message. The calls that take a Config by value are in functions that
// return before the pipeline runs (loadConfigRef, spool, notifyTooLarge),
// not inlined, so that their frames are gone when it runs.
//
//go:noinline
func loadConfigRef(path string, explicit bool) (*Config, error) {
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		return nil, err
	}
	return &cfg, nil
}

// deliverSpooled takes the envelope from the flags and the environment,
// spools the message and hands it to the pipeline for its one recipient.
func deliverSpooled(ctx context.Context, e *sysEnv, cfg *Config, cfgPath string, s *pipeline.Summary, sender, rcpt, userName, to string) error {
	var u *deliver.User
	if userName != "" {
		var err error
		u, err = deliver.LookupUser(userName)
		if err != nil {
			return fmt.Errorf("-d %s: %w", userName, err)
		}
	}
	if u != nil && os.Geteuid() == 0 {
		if err := becomeRecipient(cfg, u, s); err != nil {
			return err
		}
	}

	snap, m, err := spool(e, cfg, cfgPath)
	if tl := (*pipeline.TooLargeError)(nil); errors.As(err, &tl) {
		// Refused unstored (65, the MTA bounces); the postmaster is told
		// from the envelope alone.
		sender = cmp.Or(sender, e.getenv("SENDER"), "MAILER-DAEMON")
		rcpt = cmp.Or(rcpt, e.getenv("ORIGINAL_RECIPIENT"), e.getenv("RECIPIENT"), userName, e.getenv("USER"))
		s.Add("sender", sender)
		s.Add("recipient", rcpt)
		if nerr := notifyTooLarge(ctx, cfg, sender, rcpt, tl, e.now()); nerr != nil {
			s.Add("notify_error", "postmaster: "+nerr.Error())
		} else {
			s.Add("notified", "postmaster")
		}
		return tl
	}
	if err != nil {
		return err
	}
	defer m.Close()

	// The envelope, in the order other LDAs take it.
	sender = cmp.Or(sender, e.getenv("SENDER"), m.FromLine(), "MAILER-DAEMON")
	home := ""
	if u != nil {
		home = u.Home
		rcpt = cmp.Or(rcpt, e.getenv("ORIGINAL_RECIPIENT"), e.getenv("RECIPIENT"), u.Name)
	} else {
		home = e.getenv("HOME")
		name := cmp.Or(e.getenv("USER"), e.getenv("LOGNAME"))
		if home == "" || name == "" {
			if cu, err := user.Current(); err == nil {
				home = cmp.Or(home, cu.HomeDir)
				name = cmp.Or(name, cu.Username)
			}
		}
		rcpt = cmp.Or(rcpt, e.getenv("ORIGINAL_RECIPIENT"), e.getenv("RECIPIENT"), name)
	}
	env := pipeline.Envelope{Sender: sender, Recipients: []pipeline.Recipient{{Address: rcpt, User: u, Home: home, Dest: to}}}
	out := pipeline.Deliver(ctx, snap, m, env, pipeline.Options{Now: e.now, Warn: e.stderr})
	o := out[0]
	s.Attrs = append(o.Log.Attrs, s.Attrs...)
	return o.Err
}

// spool takes the configuration's snapshot and spools the message (see
// loadConfigRef).
//
//go:noinline
func spool(e *sysEnv, cfg *Config, cfgPath string) (*pipeline.Snapshot, *pipeline.Message, error) {
	snap, err := pipeline.NewSnapshot(*cfg, cfgPath)
	if err != nil {
		return nil, nil, withLines(err)
	}
	m, err := pipeline.SpoolMessage(e.stdin, *cfg)
	if tl := (*pipeline.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("spooling the message: %w", err)
	}
	return snap, m, nil
}

// notifyTooLarge is pipeline.NotifyTooLarge with cfg by pointer (see
// loadConfigRef).
//
//go:noinline
func notifyTooLarge(ctx context.Context, cfg *Config, sender, rcpt string, tl *pipeline.TooLargeError, now time.Time) error {
	return pipeline.NotifyTooLarge(ctx, *cfg, sender, rcpt, tl, now)
}

// becomeRecipient is the privilege model of a delivery started as root
// with -d USER (sendmail's local mailer): the one thing done as root is
// what needs root and handles no message bytes, making sure the
// quarantine directory exists with its layout (root's, sticky, so that a
// first delivery before any cron job does not leave it to a user); then
// the process becomes USER for good, before it reads a byte of the
// message. Spooling, parsing, every engine (the command engine too), the
// quarantine entry, the mailbox and the notices' sendmail all run as the
// recipient, exactly as under Postfix's mailbox_command. A quarantine
// directory that cannot be made, or is not safe, does not stop a
// delivery that may not need it: it goes to the log here, and a message
// that must be quarantined is deferred when the entry cannot be written.
func becomeRecipient(cfg *Config, u *deliver.User, s *pipeline.Summary) error {
	if cfg.Quarantine.Dir != "" {
		st := quarantine.Store{Dir: cfg.Quarantine.Dir, Group: cfg.Quarantine.Group}
		if err := st.Ensure(); err != nil {
			s.Add("quarantine_warning", err.Error())
		}
	}
	return deliver.DropPrivileges(u)
}
