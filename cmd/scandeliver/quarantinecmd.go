package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/notify"
	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/unpack"
)

const quarantineUsage = `Usage:
  scandeliver quarantine list [-c FILE] [--since D] [--json]
  scandeliver quarantine show [-c FILE] ID
  scandeliver quarantine release [-c FILE] ID --to DEST [--user USER]
  scandeliver quarantine release [-c FILE] ID --resend [--sendmail "PROGRAM ARGS"]
  scandeliver quarantine purge [-c FILE] --older-than D

D is a duration (90m, 36h, 30d) or a date (2026-11-27). list and show
need read access to the quarantine (root or the configured group);
release and purge need root.
`

// quarantineCommand is "scandeliver quarantine SUBCOMMAND ...".
func quarantineCommand(args []string, e *sysEnv) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, quarantineUsage)
		return exUsage
	}
	switch args[0] {
	case "list":
		return quarantineList(args[1:], e)
	case "show":
		return quarantineShow(args[1:], e)
	case "release":
		return quarantineRelease(args[1:], e)
	case "purge":
		return quarantinePurge(args[1:], e)
	case "deliver-released":
		return deliverReleased(args[1:], e)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, quarantineUsage)
		return exOK
	}
	fmt.Fprintf(e.stderr, "scandeliver: quarantine: unknown subcommand %s\n%s", strconv.QuoteToASCII(args[0]), quarantineUsage)
	return exUsage
}

// qflags parses a quarantine subcommand's flags, allowing them after the
// ID too ("release ID --to DEST"), and loads the configuration.
func qflags(name string, args []string, e *sysEnv, define func(*flag.FlagSet)) (cfg Config, path string, rest []string, code int) {
	fs := newFlagSet("quarantine "+name, e)
	fs.Usage = func() { fmt.Fprint(e.stderr, quarantineUsage) }
	cpath := configFlag(fs)
	define(fs)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return cfg, "", nil, exOK
			}
			return cfg, "", nil, exUsage
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	path, explicit := cpath()
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return cfg, "", nil, exCheckFail
	}
	return cfg, path, rest, -1
}

func storeOf(cfg Config, e *sysEnv) quarantine.Store {
	return quarantine.Store{Dir: cfg.Quarantine.Dir, Group: cfg.Quarantine.Group, Now: e.now}
}

// parseAge reads "30d", "36h", "90m" (time.ParseDuration plus days).
func parseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 || d > 100000 {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 30d, 36h)", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 30d, 36h)", s)
	}
	return d, nil
}

// parseSince reads --since: a duration back from now, or a date.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	d, err := parseAge(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since: %v (or a date, 2006-01-02)", err)
	}
	return now.Add(-d), nil
}

// termSafe escapes s for a terminal without cutting it: printable
// characters stay, everything else (controls, escapes, bidirectional
// overrides, invalid UTF-8) becomes a Go escape.
func termSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == ' ' || (unicode.IsPrint(r) && r != utf8.RuneError):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += w
	}
	return b.String()
}

// asciiJSON rewrites every non-ASCII rune of a JSON document as \uXXXX
// (still the same JSON), so that no bidirectional control reaches a
// terminal; json.Marshal has already escaped the ASCII controls.
func asciiJSON(b []byte) []byte {
	var out bytes.Buffer
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			out.WriteRune(r)
			continue
		}
		if r > 0xffff {
			r1, r2 := utf16Pair(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
			continue
		}
		fmt.Fprintf(&out, `\u%04x`, r)
	}
	return out.Bytes()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

func quarantineList(args []string, e *sysEnv) int {
	var since string
	var asJSON bool
	cfg, _, rest, code := qflags("list", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&since, "since", "", "entries since a duration ago or a date")
		fs.BoolVar(&asJSON, "json", false, "JSON output")
	})
	if code >= 0 {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "scandeliver: quarantine list takes no arguments\n")
		return exUsage
	}
	var from time.Time
	if since != "" {
		var err error
		if from, err = parseSince(since, e.now()); err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
			return exUsage
		}
	}
	reports, err := storeOf(cfg, e).List(from)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		if len(reports) == 0 {
			return exCheckFail
		}
	}
	if asJSON {
		if reports == nil {
			reports = []quarantine.Report{}
		}
		b, jerr := json.MarshalIndent(reports, "", "  ")
		if jerr != nil {
			fmt.Fprintf(e.stderr, "scandeliver: %v\n", jerr)
			return exCheckFail
		}
		e.stdout.Write(append(asciiJSON(b), '\n'))
	} else {
		for _, r := range reports {
			rel := ""
			if len(r.Released) > 0 {
				rel = " released"
			}
			fmt.Fprintf(e.stdout, "%s %s %s%s %d <%s> -> %s %s\n", r.ID, r.Time.Local().Format("2006-01-02 15:04:05"),
				orDash(r.Status), rel, r.Size, termSafe(r.Sender), termSafe(strings.Join(r.Recipients, ",")), strconv.QuoteToASCII(r.Subject))
		}
	}
	if err != nil {
		return exCheckFail
	}
	return exOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return termSafe(s)
}

func oneID(rest []string, e *sysEnv, what string) (string, bool) {
	if len(rest) != 1 {
		fmt.Fprintf(e.stderr, "scandeliver: quarantine %s takes one ID\n", what)
		return "", false
	}
	if !quarantine.ValidID(rest[0]) {
		fmt.Fprintf(e.stderr, "scandeliver: %s: not a quarantine ID\n", strconv.QuoteToASCII(rest[0]))
		return "", false
	}
	return rest[0], true
}

// maxShowHeader bounds the header show prints.
const maxShowHeader = 256 << 10

func quarantineShow(args []string, e *sysEnv) int {
	cfg, _, rest, code := qflags("show", args, e, func(*flag.FlagSet) {})
	if code >= 0 {
		return code
	}
	id, ok := oneID(rest, e, "show")
	if !ok {
		return exUsage
	}
	st := storeOf(cfg, e)
	r, err := st.Get(id)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	p := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-11s %s\n", k+":", termSafe(v))
		}
	}
	p("ID", r.ID)
	p("Time", r.Time.Local().Format(time.RFC3339))
	p("Sender", "<"+r.Sender+">")
	p("Recipients", strings.Join(r.Recipients, ", "))
	p("Message-ID", r.MessageID)
	p("Subject", r.Subject)
	p("Size", strconv.FormatInt(r.Size, 10))
	p("SHA-256", r.SHA256)
	p("Status", r.Status)
	p("Action", r.Action)
	p("Ruleset", r.Ruleset)
	for _, s := range r.Reasons {
		p("Reason", s)
	}
	for _, v := range r.Verdicts {
		s := v.Engine + " " + v.Result
		if len(v.Signatures) > 0 {
			s += " " + strings.Join(v.Signatures, ",")
		}
		if v.Score != 0 {
			s += fmt.Sprintf(" score=%.1f", v.Score)
		}
		if v.Error != "" {
			s += " (" + v.Error + ")"
		}
		p("Verdict", s)
	}
	for _, d := range r.Decisions {
		s := "part " + orDash(d.Part) + " " + d.Action
		if d.Name != "" {
			s += " name=" + strconv.QuoteToASCII(d.Name)
		}
		if d.Rule != "" {
			s += " rule=" + d.Rule
		}
		if d.Reason != "" {
			s += " (" + d.Reason + ")"
		}
		p("Decision", s)
	}
	for _, rel := range r.Released {
		p("Released", rel.Time.Local().Format(time.RFC3339)+" to "+rel.To+" by "+rel.By)
	}
	f, err := st.Open(id)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	defer f.Close()
	fmt.Fprintf(w, "\nHeader (escaped; the body is not shown):\n")
	br := bufio.NewReader(io.LimitReader(f, maxShowHeader))
	for {
		line, err := br.ReadString('\n')
		t := strings.TrimRight(line, "\r\n")
		if t == "" && (line != "" || err != nil) {
			break
		}
		fmt.Fprintf(w, "  %s\n", termSafe(t))
		if err != nil {
			break
		}
	}
	return exOK
}

func quarantinePurge(args []string, e *sysEnv) int {
	var older string
	cfg, _, rest, code := qflags("purge", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&older, "older-than", "", "age of the entries to delete (30d)")
	})
	if code >= 0 {
		return code
	}
	if len(rest) > 0 || older == "" {
		fmt.Fprintf(e.stderr, "scandeliver: quarantine purge needs --older-than D and nothing else\n")
		return exUsage
	}
	age, err := parseAge(older)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: --older-than: %v\n", err)
		return exUsage
	}
	st := storeOf(cfg, e)
	done, err := st.Purge(age)
	for _, id := range done {
		fmt.Fprintf(e.stdout, "purged %s\n", id)
	}
	if os.Geteuid() == 0 {
		if perr := st.Prepare(3); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	return exOK
}

// releasedBy names who ran the release, for the report.
func releasedBy(e *sysEnv) string {
	name := strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if s := e.getenv("SUDO_USER"); s != "" {
		name += " (sudo by " + s + ")"
	}
	return name
}

func quarantineRelease(args []string, e *sysEnv) int {
	var to, userName, sendmail, keyFlag string
	var resend bool
	cfg, _, rest, code := qflags("release", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "destination: Maildir (trailing /) or mbox")
		fs.StringVar(&userName, "user", "", "deliver as this user (default: the destination's owner)")
		fs.BoolVar(&resend, "resend", false, "re-inject through sendmail for the original recipients")
		fs.StringVar(&sendmail, "sendmail", notify.DefaultSendmail, "sendmail program and arguments (split on spaces)")
		fs.StringVar(&keyFlag, "key", "", "release signing key (default: [release] key)")
	})
	if code >= 0 {
		return code
	}
	id, ok := oneID(rest, e, "release")
	if !ok {
		return exUsage
	}
	if (to == "") == !resend {
		fmt.Fprintf(e.stderr, "scandeliver: quarantine release needs exactly one of --to DEST and --resend\n")
		return exUsage
	}
	st := storeOf(cfg, e)
	r, err := st.Get(id)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	ctx := context.Background()
	var rels []quarantine.Release
	if to != "" {
		dest, err := releaseTo(ctx, e, st, r, to, userName)
		if err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: release %s: %s\n", id, termSafe(err.Error()))
			return exTempFail
		}
		rels = append(rels, quarantine.Release{Time: e.now().UTC(), To: dest, By: releasedBy(e)})
		fmt.Fprintf(e.stdout, "released %s to %s\n", id, termSafe(dest))
	} else {
		key := cfg.Release.KeyFile()
		if keyFlag != "" {
			key = keyFlag
		}
		sent, err := releaseResend(ctx, e, st, r, key, strings.Fields(sendmail))
		for _, rc := range sent {
			rels = append(rels, quarantine.Release{Time: e.now().UTC(), To: "resend:" + rc, By: releasedBy(e)})
			fmt.Fprintf(e.stdout, "released %s: re-sent to %s\n", id, termSafe(rc))
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: release %s: %s\n", id, termSafe(err.Error()))
			if len(sent) == 0 {
				return exTempFail
			}
			code = exTempFail
		}
	}
	if uerr := st.Update(id, func(r *quarantine.Report) { r.Released = append(r.Released, rels...) }); uerr != nil {
		fmt.Fprintf(e.stderr, "scandeliver: released, but recording it in the report failed: %s\n", termSafe(uerr.Error()))
		return exTempFail
	}
	if code >= 0 {
		return code
	}
	return exOK
}

// releaseTo delivers the original, untouched, below one
// X-Scandeliver-Released field, into dest, as the destination's user: a
// child process (this program's deliver-released) running with that
// user's ids, so that root never writes into a directory a user controls.
func releaseTo(ctx context.Context, e *sysEnv, st quarantine.Store, r quarantine.Report, to, userName string) (string, error) {
	var u *deliver.User
	var err error
	if userName != "" {
		if u, err = deliver.LookupUser(userName); err != nil {
			return "", err
		}
	}
	home := ""
	if u != nil {
		home = u.Home
	}
	dest, err := deliver.ParseDest(to, home)
	if err != nil {
		return "", err
	}
	if u == nil && os.Geteuid() == 0 {
		uid, gid, err := nearestOwner(dest.Path)
		if err != nil {
			return "", err
		}
		u = &deliver.User{Uid: uid, Gid: gid, Groups: []int{gid}}
	}
	f, err := st.Open(r.ID)
	if err != nil {
		return "", err
	}
	defer f.Close()
	rcpt := ""
	if len(r.Recipients) > 0 {
		rcpt = r.Recipients[0]
	}
	field := fmt.Sprintf("%s: id=%s; to=%s; by=%s; %s (delivered directly, not re-scanned)\n", quarantine.ReleaseField,
		r.ID, headerSafe(dest.Path), headerSafe(releasedBy(e)), e.now().UTC().Format(time.RFC1123Z))
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, self, "quarantine", "deliver-released", "--to="+dest.String(), "-f="+r.Sender, "-a="+rcpt)
	cmd.Stdin = io.MultiReader(strings.NewReader(field), f)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if u != nil && os.Geteuid() == 0 {
		groups := make([]uint32, 0, len(u.Groups))
		for _, g := range u.Groups {
			groups = append(groups, uint32(g))
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid), Groups: groups}}
	}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("delivering to %s: %v: %s", dest, err, strings.TrimSpace(out.String()))
	}
	return dest.String(), nil
}

// headerSafe makes s usable inside a header field value: one line,
// printable ASCII.
func headerSafe(s string) string {
	q := strconv.QuoteToASCII(s)
	return strings.ReplaceAll(q[1:len(q)-1], ";", ",")
}

// nearestOwner is the owner of path or of its nearest existing parent.
func nearestOwner(path string) (int, int, error) {
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			st := fi.Sys().(*syscall.Stat_t)
			return int(st.Uid), int(st.Gid), nil
		}
		if p == filepath.Dir(p) {
			return 0, 0, err
		}
	}
}

// deliverReleased is the child of "release --to": it delivers standard
// input as it is (no scanning: the postmaster released it) to --to, as the
// user it runs as. Any user may run it; it writes nothing they could not
// write themselves.
func deliverReleased(args []string, e *sysEnv) int {
	fs := newFlagSet("quarantine deliver-released", e)
	to := fs.String("to", "", "destination")
	sender := fs.String("f", "", "envelope sender")
	rcpt := fs.String("a", "", "recipient")
	if err := fs.Parse(args); err != nil || *to == "" || fs.NArg() > 0 {
		return exUsage
	}
	dest, err := deliver.ParseDest(*to, "")
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return exUsage
	}
	sp, err := unpack.NewSpool(e.stdin, unpack.SpoolOptions{})
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return exTempFail
	}
	defer sp.Close()
	res, err := deliver.Deliver(context.Background(), dest, nil, sp, sp.Size(), deliver.Envelope{Sender: *sender, Recipient: *rcpt}, deliver.Options{Now: e.now})
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return exitCode(err)
	}
	fmt.Fprintln(e.stdout, res.Path)
	return exOK
}

// releaseResend re-injects the original through sendmail, once per
// original recipient, each copy below its own signed release mark
// (quarantine.ReleaseField) that the delivery coming back honours. It
// returns the recipients it was handed to.
func releaseResend(ctx context.Context, e *sysEnv, st quarantine.Store, r quarantine.Report, keyPath string, sendmail []string) ([]string, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("--resend needs root (the release key)")
	}
	if len(sendmail) == 0 || !filepath.IsAbs(sendmail[0]) {
		return nil, fmt.Errorf("--sendmail %q: want an absolute program path", strings.Join(sendmail, " "))
	}
	key, err := quarantine.EnsureReleaseKey(keyPath)
	if err != nil {
		return nil, err
	}
	f, err := st.Open(r.ID)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The stored original starts with the fields the delivering MTA put
	// on top (Return-Path, Delivered-To, X-Original-To): sent again with
	// them, Postfix's local(8) would see its own Delivered-To and bounce
	// the copy as a mail loop. They go; the mark covers what is sent.
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off, err := deliveryTraceEnd(f)
	if err != nil {
		return nil, err
	}
	body := io.NewSectionReader(f, off, fi.Size()-off)
	h, err := quarantine.ReleaseHash(body)
	if err != nil {
		return nil, err
	}
	sender := r.Sender
	if sender == "" || strings.EqualFold(sender, "MAILER-DAEMON") {
		sender = "<>"
	}
	var sent []string
	var errs []error
	for _, rc := range r.Recipients {
		addr, err := notify.CheckAddress(rc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		field := quarantine.Mark{ID: r.ID, Time: e.now(), Recipient: addr, SHA256: h}.Field(key)
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return sent, err
		}
		argv := append(append([]string(nil), sendmail...), "-oi", "-f", sender, "--", addr)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdin = io.MultiReader(strings.NewReader(field), body)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
		cmd.Dir = "/"
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			errs = append(errs, fmt.Errorf("%s for %s: %v: %s", argv[0], addr, err, strings.TrimSpace(out.String())))
			continue
		}
		sent = append(sent, addr)
	}
	return sent, errors.Join(errs...)
}

// deliveryTraceEnd returns the offset past the Return-Path, Delivered-To
// and X-Original-To fields (with their continuation lines) at the very
// top of a stored message: what the local delivery added.
func deliveryTraceEnd(r io.ReaderAt) (int64, error) {
	br := bufio.NewReader(io.NewSectionReader(r, 0, 1<<20))
	var off int64
	inTrace := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return off, nil // no complete line: leave the rest as it is
		}
		if (line[0] == ' ' || line[0] == '\t') && inTrace {
			off += int64(len(line))
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		switch strings.ToLower(name) {
		case "return-path", "delivered-to", "x-original-to":
			if ok {
				inTrace = true
				off += int64(len(line))
				continue
			}
		}
		return off, nil
	}
}
