package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
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
	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/scan"
)

const quarantineUsage = `Usage:
  scandeliver quarantine list [-c FILE] [--since D] [--json]
  scandeliver quarantine show [-c FILE] ID
  scandeliver quarantine release [-c FILE] ID --to DEST [--user USER] [--force]
  scandeliver quarantine release [-c FILE] ID --resend [--sendmail "PROGRAM ARGS"] [--force]
  scandeliver quarantine purge [-c FILE] --older-than D
  scandeliver quarantine init [-c FILE]

D is a duration (90m, 36h, 30d) or a date (2026-11-27). list and show
need read access to the quarantine (root or the configured group);
release, purge and init need root. list and show name each entry's
author (the uid that wrote it). An entry written by a user (a delivery
running as the recipient) is released only to that user. A release
scans the message again with the engines, as an unprivileged user, as a
delivery would ([scan] budget, limits), and refuses it when one finds it
infected (exit 77) or the scan is not whole: budget spent, an engine
that could not answer, a part over the limits (exit 75). --force
releases it anyway and prints the content's SHA-256 and the verdict
first. init creates the quarantine
directory (root:GROUP, mode 3773; 1733 without a group).
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
	case "init":
		return quarantineInit(args[1:], e)
	case "deliver-released":
		return writeStdin("quarantine deliver-released", args[1:], e)
	case "rescan":
		return quarantineRescan(args[1:], e)
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
			fmt.Fprintf(e.stdout, "%s %s %s %s%s %d <%s> -> %s %s\n", r.ID, r.Time.Local().Format("2006-01-02 15:04:05"),
				authorName(r.Author), orDash(r.Status), rel, r.Size, termSafe(r.Sender), termSafe(strings.Join(r.Recipients, ",")), strconv.QuoteToASCII(r.Subject))
		}
	}
	if err != nil {
		return exCheckFail
	}
	return exOK
}

// authorName shows who wrote an entry: "uid=1001(bob)", the uid alone
// when it has no name, "uid=?" when unknown.
func authorName(uid int) string {
	if uid < 0 {
		return "uid=?"
	}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return "uid=" + strconv.Itoa(uid) + "(" + termSafe(u.Username) + ")"
	}
	return "uid=" + strconv.Itoa(uid)
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
	ent, err := storeOf(cfg, e).OpenEntry(id)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	defer ent.Close()
	r := ent.Report
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	p := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-11s %s\n", k+":", termSafe(v))
		}
	}
	p("ID", r.ID)
	p("Time", r.Time.Local().Format(time.RFC3339))
	p("Author", authorName(r.Author))
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
	f, err := ent.Open()
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
	err = nil
	if os.Geteuid() == 0 {
		// Root keeps the layout right: the directory made or checked, the
		// old layout's entries moved into place.
		err = st.Ensure()
	}
	done, perr := st.Purge(age)
	for _, id := range done {
		fmt.Fprintf(e.stdout, "purged %s\n", id)
	}
	if err = errors.Join(err, perr); err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	return exOK
}

// quarantineInit creates the quarantine directory with its layout (as
// root), or checks an existing one, and says what it is.
func quarantineInit(args []string, e *sysEnv) int {
	cfg, _, rest, code := qflags("init", args, e, func(*flag.FlagSet) {})
	if code >= 0 {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "scandeliver: quarantine init takes no arguments\n")
		return exUsage
	}
	st := storeOf(cfg, e)
	err := st.Ensure()
	if err == nil && os.Geteuid() == 0 {
		err = st.Migrate()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	fi, err := os.Stat(st.Dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return exCheckFail
	}
	sys := fi.Sys().(*syscall.Stat_t)
	grp := strconv.Itoa(int(sys.Gid))
	if g, err := user.LookupGroupId(grp); err == nil {
		grp = g.Name
	}
	fmt.Fprintf(e.stdout, "quarantine %s: %s:%s mode %04o\n", termSafe(st.Dir), strings.TrimPrefix(authorName(int(sys.Uid)), "uid="), grp, fi.Mode().Perm()|modeBits(fi.Mode()))
	return exOK
}

func modeBits(m os.FileMode) os.FileMode {
	var b os.FileMode
	if m&os.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
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
	var resend, force bool
	cfg, cfgPath, rest, code := qflags("release", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "destination: Maildir (trailing /) or mbox")
		fs.StringVar(&userName, "user", "", "deliver as this user (default: the destination's owner)")
		fs.BoolVar(&resend, "resend", false, "re-inject through sendmail for the original recipients")
		fs.StringVar(&sendmail, "sendmail", notify.DefaultSendmail, "sendmail program and arguments (split on spaces)")
		fs.StringVar(&keyFlag, "key", "", "release signing key (default: [release] key)")
		fs.BoolVar(&force, "force", false, "release even what the engines find infected (prints its SHA-256 and the verdict first)")
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
	var err error
	if st.Trusted, err = trustedUIDs(cfg.Quarantine.TrustedAuthors); err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s: %s\n", cfgPath, termSafe(err.Error()))
		return exCheckFail
	}
	ent, err := st.OpenEntry(id)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	defer ent.Close()
	r := ent.Report
	ctx := context.Background()

	// Who may receive it: decided before anything is scanned or sent.
	var dest deliver.Dest
	var du *deliver.User
	var rcpts []string
	var refused []error
	if to != "" {
		if dest, du, err = releaseDest(to, userName); err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: release %s: %s\n", id, termSafe(err.Error()))
			return exTempFail
		}
		uid := os.Geteuid()
		if du != nil {
			uid = du.Uid
		}
		if !st.MayRelease(r.Author, uid) {
			fmt.Fprintf(e.stderr, "scandeliver: release %s: refused: the entry was written by %s, who cannot have quarantined mail for %s (uid %d); only root and trusted_authors write entries for others\n",
				id, authorName(r.Author), termSafe(dest.Path), uid)
			return exNoPerm
		}
	} else {
		for _, rc := range r.Recipients {
			addr, err := notify.CheckAddress(rc)
			if err != nil {
				refused = append(refused, err)
				continue
			}
			if err := mayResendTo(st, r.Author, addr); err != nil {
				refused = append(refused, err)
				continue
			}
			rcpts = append(rcpts, addr)
		}
		if len(rcpts) == 0 {
			refused = append(refused, errors.New("no recipient left to re-send to"))
			fmt.Fprintf(e.stderr, "scandeliver: release %s: refused: %s\n", id, termSafe(errors.Join(refused...).Error()))
			return exNoPerm
		}
	}

	// The engines, again: the mark may waive the administrator's rules,
	// never an infected verdict without --force.
	msg, err := ent.Open()
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s\n", termSafe(err.Error()))
		return exCheckFail
	}
	defer msg.Close()
	rs, err := rescan(ctx, cfgPath, msg)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: release %s: scanning it again: %s\n", id, termSafe(err.Error()))
		return exTempFail
	}
	// Only the engines' whole answer releases without --force: a scan
	// that ran out of its time budget, an engine that could not answer,
	// a part over the limits is doubt, and doubt defers (75).
	if force {
		fmt.Fprintf(e.stdout, "SHA-256: %s\nverdict: %s\n", rs.sha256, termSafe(rs.summary()))
	} else if rs.Infected || !rs.whole() {
		fmt.Fprintf(e.stderr, "scandeliver: release %s: refused: %s; --force releases it anyway\n", id, termSafe(rs.summary()))
		if !rs.Infected {
			return exTempFail
		}
		return exNoPerm
	}

	var rels []quarantine.Release
	if to != "" {
		if err := releaseTo(ctx, e, r, msg, dest, du); err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: release %s: %s\n", id, termSafe(err.Error()))
			return exTempFail
		}
		rels = append(rels, quarantine.Release{Time: e.now().UTC(), To: dest.String(), By: releasedBy(e)})
		fmt.Fprintf(e.stdout, "released %s to %s\n", id, termSafe(dest.String()))
	} else {
		key := cfg.Release.KeyFile()
		if keyFlag != "" {
			key = keyFlag
		}
		sent, err := releaseResend(ctx, e, r, msg, rcpts, force, key, strings.Fields(sendmail))
		for _, rc := range sent {
			rels = append(rels, quarantine.Release{Time: e.now().UTC(), To: "resend:" + rc, By: releasedBy(e)})
			fmt.Fprintf(e.stdout, "released %s: re-sent to %s\n", id, termSafe(rc))
		}
		if err = errors.Join(append(refused, err)...); err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: release %s: %s\n", id, termSafe(err.Error()))
			if len(sent) == 0 {
				return exTempFail
			}
			code = exTempFail
		}
	}
	if uerr := ent.Update(func(r *quarantine.Report) { r.Released = append(r.Released, rels...) }); uerr != nil {
		fmt.Fprintf(e.stderr, "scandeliver: released, but recording it in the report failed: %s\n", termSafe(uerr.Error()))
		return exTempFail
	}
	if code >= 0 {
		return code
	}
	return exOK
}

// trustedUIDs resolves [quarantine] trusted_authors.
func trustedUIDs(names []string) ([]int, error) {
	var out []int
	for _, n := range names {
		if uid, err := strconv.Atoi(n); err == nil && uid >= 0 {
			out = append(out, uid)
			continue
		}
		u, err := deliver.LookupUser(n)
		if err != nil {
			return nil, fmt.Errorf("quarantine.trusted_authors: %w", err)
		}
		out = append(out, u.Uid)
	}
	return out, nil
}

// mayResendTo checks that an entry written by author may be re-sent to
// addr: always when root or a trusted author wrote it; else only when
// addr is the author's own: its local part (or the part before a "+"
// extension) names the local user with that uid.
func mayResendTo(st quarantine.Store, author int, addr string) error {
	if st.MayRelease(author, -1) {
		return nil
	}
	local := addr
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	var names []string
	for _, n := range []string{local, strings.ToLower(local)} {
		names = append(names, n)
		if b, _, ok := strings.Cut(n, "+"); ok {
			names = append(names, b)
		}
	}
	for _, n := range names {
		if u, err := deliver.LookupUser(n); err == nil && st.MayRelease(author, u.Uid) {
			return nil
		}
	}
	return fmt.Errorf("%s: the entry was written by %s, who cannot have quarantined mail for that address", addr, authorName(author))
}

// rescanDoc is what the rescan child prints: the engines' verdicts, the
// engines that could not answer, and why their answer is not whole (""
// when it is; see pipeline.Rescan).
type rescanDoc struct {
	Verdicts   []scan.Verdict `json:"verdicts"`
	Failed     []scanFailure  `json:"failed,omitempty"`
	Infected   bool           `json:"infected"`
	Incomplete string         `json:"incomplete,omitempty"`
}

// rescanResult is what the engines say of a quarantined message now.
type rescanResult struct {
	rescanDoc
	sha256 string // of the stored message, computed here
}

// whole reports whether the engines gave their whole answer.
func (r rescanResult) whole() bool { return r.Incomplete == "" && len(r.Failed) == 0 }

func (r rescanResult) summary() string {
	var parts []string
	for _, v := range r.Verdicts {
		if v.Status == scan.Infected {
			parts = append(parts, v.Engine+" "+v.Object+" infected "+v.Signature)
		}
	}
	if r.Incomplete != "" {
		parts = append(parts, "not scanned whole: "+r.Incomplete)
	} else {
		for _, f := range r.Failed {
			parts = append(parts, "engine "+f.Engine+" could not answer: "+f.Error)
		}
	}
	if len(parts) == 0 {
		return "clean (engines: " + strconv.Itoa(len(engineNames(r.Verdicts))) + ")"
	}
	if r.Infected {
		return "infected: " + strings.Join(parts, "; ")
	}
	return strings.Join(parts, "; ")
}

func engineNames(vs []scan.Verdict) map[string]bool {
	m := map[string]bool{}
	for _, v := range vs {
		m[v.Engine] = true
	}
	return m
}

// rescan has the message scanned by the configured engines in a child
// process ("quarantine rescan") that runs as an unprivileged user when
// we are root (nobody), so that the hostile bytes are parsed without
// privileges: the child gets the message on its standard input and the
// configuration on descriptor 3, both opened here, and prints the scan
// command's JSON document.
func rescan(ctx context.Context, cfgPath string, msg *os.File) (rescanResult, error) {
	var res rescanResult
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(msg, 0, 1<<62)); err != nil {
		return res, err
	}
	res.sha256 = hex.EncodeToString(h.Sum(nil))
	cfgFile, err := os.Open(cfgPath)
	if errors.Is(err, fs.ErrNotExist) {
		cfgFile, err = os.Open(os.DevNull) // the built-in defaults
	}
	if err != nil {
		return res, err
	}
	defer cfgFile.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	self := "/proc/self/exe" // runnable even where the child could not reach our path
	if _, err := os.Stat(self); err != nil {
		if self, err = os.Executable(); err != nil {
			return res, err
		}
	}
	cmd := exec.CommandContext(ctx, self, "quarantine", "rescan")
	cmd.Stdin = io.NewSectionReader(msg, 0, 1<<62)
	cmd.ExtraFiles = []*os.File{cfgFile}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if os.Geteuid() == 0 {
		u, err := unprivilegedUser()
		if err != nil {
			return res, err
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid), Groups: []uint32{}}}
	}
	err = cmd.Run()
	if jerr := json.Unmarshal(out.Bytes(), &res.rescanDoc); jerr != nil {
		return res, fmt.Errorf("%v %v: %s", err, jerr, strings.TrimSpace(errb.String()))
	}
	return res, nil
}

// unprivilegedUser is who parses quarantined messages when root
// releases one: nobody.
func unprivilegedUser() (*deliver.User, error) {
	u, err := deliver.LookupUser("nobody")
	if err != nil {
		return nil, fmt.Errorf("the user nobody, to scan as: %w", err)
	}
	if u.Uid == 0 {
		return nil, errors.New("the user nobody has uid 0")
	}
	return u, nil
}

// quarantineRescan is the child of rescan: configuration on descriptor
// 3, the message on standard input, the scan's JSON on standard output.
func quarantineRescan(args []string, e *sysEnv) int {
	if len(args) > 0 {
		return exUsage
	}
	data, err := io.ReadAll(io.LimitReader(os.NewFile(3, "config"), 16<<20))
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: reading the configuration: %v\n", err)
		return scanTrouble
	}
	cfg := defaultConfig()
	if err := decodeConfig("(configuration)", data, &cfg); err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return scanTrouble
	}
	snap, err := pipeline.NewSnapshot(cfg, "(configuration)")
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return scanTrouble
	}
	raw, err := pipeline.NewMessage(e.stdin, pipeline.SpoolConfig{Dir: cfg.Spool.Dir, Memory: cfg.Spool.Memory})
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return scanTrouble
	}
	defer raw.Close()
	// Scanned as a delivery scans (one time budget, the limits), so that
	// a release goes by what a delivery would have found.
	j, err := pipeline.Rescan(context.Background(), snap, raw, scan.Envelope{Sender: raw.FromLine()}, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return scanTrouble
	}
	doc := rescanDoc{Verdicts: j.Verdicts, Infected: j.Infected, Incomplete: j.Incomplete}
	for _, f := range j.Failed {
		doc.Failed = append(doc.Failed, scanFailure{Engine: f.Engine, OnError: f.OnError, Error: f.Err.Error()})
	}
	if err := json.NewEncoder(e.stdout).Encode(doc); err != nil {
		return scanTrouble
	}
	return scanClean
}

// releaseDest parses --to (and --user): the destination and, as root,
// the user the delivery runs as (--user, else the destination's owner).
func releaseDest(to, userName string) (deliver.Dest, *deliver.User, error) {
	var u *deliver.User
	var err error
	if userName != "" {
		if u, err = deliver.LookupUser(userName); err != nil {
			return deliver.Dest{}, nil, err
		}
	}
	home := ""
	if u != nil {
		home = u.Home
	}
	dest, err := deliver.ParseDest(to, home)
	if err != nil {
		return deliver.Dest{}, nil, err
	}
	if u == nil && os.Geteuid() == 0 {
		uid, gid, err := nearestOwner(dest.Path)
		if err != nil {
			return deliver.Dest{}, nil, err
		}
		u = &deliver.User{Uid: uid, Gid: gid, Groups: []int{gid}}
	}
	return dest, u, nil
}

// releaseTo delivers the original, untouched, below one
// X-Scandeliver-Released field, into dest, as the destination's user: a
// child process (this program's deliver-released, writeStdin) running with that
// user's ids, so that root never writes into a directory a user controls.
func releaseTo(ctx context.Context, e *sysEnv, r quarantine.Report, f *os.File, dest deliver.Dest, u *deliver.User) error {
	rcpt := ""
	if len(r.Recipients) > 0 {
		rcpt = r.Recipients[0]
	}
	field := fmt.Sprintf("%s: id=%s; to=%s; by=%s; %s (delivered directly after a scan by the engines)\n", quarantine.ReleaseField,
		r.ID, headerSafe(dest.Path), headerSafe(releasedBy(e)), e.now().UTC().Format(time.RFC1123Z))
	if os.Geteuid() != 0 {
		u = nil // we write as ourselves
	}
	stdin := io.MultiReader(strings.NewReader(field), io.NewSectionReader(f, 0, 1<<62))
	if _, err := runWriter(ctx, u, stdin, "quarantine", "deliver-released", "--to="+dest.String(), "-f="+r.Sender, "-a="+rcpt); err != nil {
		return fmt.Errorf("delivering to %s: %w", dest, err)
	}
	return nil
}

// headerSafe makes s usable inside a header field value: one line,
// printable ASCII.
func headerSafe(s string) string {
	q := strconv.QuoteToASCII(s)
	return strings.ReplaceAll(q[1:len(q)-1], ";", ",")
}

// nearestOwner is who a release into path runs as: the owner of path or
// of its nearest existing parent, found without following a symbolic
// link that a user could have placed. Every existing component of the
// path is looked at with Lstat; a link of root's is followed (the
// administrator's, /var/spool/mail -> ../mail); a link of a user's is
// followed only to something of that same user's (their ~/Maildir ->
// ~/mail/Maildir): one to another user's or root's directory or file (a
// user's ~/Maildir -> /home/bob/Maildir, ~/mbox -> /etc/passwd, or a
// dangling one to where root would create it) is refused, since with
// os.Stat the release would run as that owner and write there for them.
func nearestOwner(path string) (int, int, error) {
	if !filepath.IsAbs(path) {
		return 0, 0, fmt.Errorf("%s: not an absolute path", path)
	}
	owner, err := os.Lstat("/")
	if err != nil {
		return 0, 0, err
	}
	linkUID := -1 // the owner of a user's link on the way
	var linkPath string
	cur := "/"
	rest := strings.Split(filepath.Clean(path), "/")
	for hops := 0; len(rest) > 0; {
		comp := rest[0]
		rest = rest[1:]
		switch comp {
		case "", ".":
			continue
		case "..": // from a link's target (path itself is clean)
			cur = filepath.Dir(cur)
			if owner, err = os.Lstat(cur); err != nil {
				return 0, 0, err
			}
			continue
		}
		next := filepath.Join(cur, comp)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			break // the nearest existing parent is cur
		}
		if err != nil {
			return 0, 0, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur, owner = next, fi
			if !fi.IsDir() && len(rest) > 0 {
				break // a file in the middle: what follows cannot exist
			}
			continue
		}
		if hops++; hops > 40 {
			return 0, 0, fmt.Errorf("%s: too many symbolic links", path)
		}
		if uid := int(fi.Sys().(*syscall.Stat_t).Uid); uid != 0 {
			if linkUID >= 0 && linkUID != uid {
				return 0, 0, fmt.Errorf("%s: goes through symbolic links of uid %d and uid %d: refused (name the real destination, or --user)", path, linkUID, uid)
			}
			linkUID, linkPath = uid, next
		}
		target, err := os.Readlink(next)
		if err != nil {
			return 0, 0, err
		}
		if filepath.IsAbs(target) {
			cur = "/"
			if owner, err = os.Lstat("/"); err != nil {
				return 0, 0, err
			}
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	st := owner.Sys().(*syscall.Stat_t)
	if linkUID >= 0 && int(st.Uid) != linkUID {
		return 0, 0, fmt.Errorf("%s: %s is a symbolic link of uid %d to %s, owned by uid %d: refused (name the real destination, or --user)",
			path, linkPath, linkUID, cur, st.Uid)
	}
	return int(st.Uid), int(st.Gid), nil
}

// releaseResend re-injects the original through sendmail, once per
// recipient (those of the entry that its author may release to), each
// copy below its own signed release mark (quarantine.ReleaseField) that
// the delivery coming back honours; force is signed into the mark. It
// returns the recipients it was handed to.
func releaseResend(ctx context.Context, e *sysEnv, r quarantine.Report, f *os.File, rcpts []string, force bool, keyPath string, sendmail []string) ([]string, error) {
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
	for _, addr := range rcpts {
		field := quarantine.Mark{ID: r.ID, Time: e.now(), Recipient: addr, SHA256: h, Force: force}.Field(key)
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
