package pipeline

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/notify"
	"github.com/scandeliver/scandeliver/quarantine"
	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/sanitize"
	"github.com/scandeliver/scandeliver/sanitize/html"
	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/unpack"
)

// RejectError is a message refused by a "reject" rule: exit 65 (the MTA
// bounces it to the sender), or a 5xx reply in serve mode.
type RejectError struct{ Reason string }

func (e RejectError) Error() string { return "rejected by policy: " + e.Reason }

// facts turns the part tree and the verdicts into the plain facts rules
// decides on.
func facts(m *unpack.Message, res scan.Result, size int64, sender, rcpt string, local bool) rules.MessageFacts {
	f := rules.MessageFacts{Size: size, Sender: sender, Recipient: rcpt, LocalSender: local}
	ix := newTreeIndex(m)
	byPath := map[string]*rules.PartFacts{}
	partInfected := false
	for _, p := range m.Parts {
		if p.Container && p.Origin != unpack.OriginMIME && p.Origin != unpack.OriginRFC822 {
			continue
		}
		pf := rules.PartFacts{
			Path: p.Path, Name: p.Name,
			InArchive:    p.Origin == unpack.OriginArchive || p.Origin == unpack.OriginCompressed,
			DeclaredType: p.DeclaredType, DetectedType: p.DetectedType,
			Size: p.Size, Encrypted: p.Encrypted, Macros: p.Macros, Unscannable: p.Unscannable,
			Partial:      p.DeclaredType == "message/partial",
			ExternalBody: p.DeclaredType == "message/external-body",
		}
		for _, pr := range p.Problems {
			pf.Problems = append(pf.Problems, pr.Kind+": "+pr.Detail)
		}
		pf.Ambiguous, pf.Separable = placement(ix, p)
		for _, n := range p.Names {
			if n != p.Name {
				pf.OtherNames = append(pf.OtherNames, n)
			}
		}
		f.Parts = append(f.Parts, pf)
	}
	// Index after the loop: pointers taken while f.Parts grew would point
	// into arrays that append has since left behind (and findings written
	// through them would be lost).
	for i := range f.Parts {
		byPath[f.Parts[i].Path] = &f.Parts[i]
	}
	// A content two readings share was scanned once (ScanObjects): its
	// verdicts count for every part that has it.
	same := map[string][]*rules.PartFacts{}
	for p, first := range contentTwins(m) {
		if pf := byPath[p]; pf != nil {
			same[first] = append(same[first], pf)
		}
	}
	partsOf := func(obj string) []*rules.PartFacts {
		pf := byPath[obj]
		if pf == nil {
			return nil
		}
		return append([]*rules.PartFacts{pf}, same[obj]...)
	}
	var rawInfected []string
	for _, v := range res.Verdicts {
		switch {
		case v.Status == scan.Infected && v.Object == scan.RawID:
			rawInfected = append(rawInfected, v.Signature)
		case v.Status == scan.Infected:
			for _, pf := range partsOf(v.Object) {
				pf.Infected = append(pf.Infected, v.Signature)
				partInfected = true
			}
		case v.Status == scan.Unscannable && v.Kind == scan.Virus:
			if v.Object == scan.RawID {
				f.Unscannable = cmp.Or(f.Unscannable, v.Engine+": "+v.Reason)
			}
			for _, pf := range partsOf(v.Object) {
				if pf.Unscannable == "" {
					pf.Unscannable = v.Engine + ": " + v.Reason
				}
			}
		case v.Kind == scan.Spam && (v.Status == scan.IsSpam || v.Status == scan.Clean):
			if v.Status == scan.IsSpam {
				f.Spam = true
			}
			if v.Score > f.SpamScore {
				f.SpamScore = v.Score
			}
			f.SpamSymbols = append(f.SpamSymbols, v.Symbols...)
		}
	}
	// An engine that finds a virus in the raw message but in none of our
	// parts read the message differently from us: that is a finding about
	// the whole message (it cannot be cut out), not something to ignore.
	if len(rawInfected) > 0 && !partInfected {
		f.Infected = rawInfected
	}
	return f
}

// treeIndex gives each part its parent.
type treeIndex map[*unpack.Part]*unpack.Part

func newTreeIndex(m *unpack.Message) treeIndex {
	ix := treeIndex{}
	var walk func(p *unpack.Part)
	walk = func(p *unpack.Part) {
		for _, c := range p.Children {
			ix[c] = p
			walk(c)
		}
		for _, a := range p.Alternatives {
			if q := ix[p]; q != nil {
				ix[a] = q
			}
			walk(a)
		}
	}
	if m.Root != nil {
		walk(m.Root)
	}
	return ix
}

// placement says where a part is, for the verdict (issue 11 section 2):
// why readers could disagree on its bounds or content ("" when they
// agree), and whether it can be cut out alone (sanitize replaces the
// nearest enclosing part whose bytes are in the message: it must not be
// the message itself, and readers must agree on it). unpack's readings
// decide (Part.Ambiguous on the part, or on a part between it and the
// one sanitize would replace); so does, until every disagreement is
// modelled as a reading, a problem of kind ambiguous about structure (a
// boundary, a transfer encoding on a multipart, duplicate Content-Type or
// Content-Transfer-Encoding fields) on the part or around it, not one
// only about a name.
func placement(ix treeIndex, p *unpack.Part) (ambiguous string, separable bool) {
	raw := p
	for raw != nil && raw.HeaderStart < 0 {
		raw = ix[raw]
	}
	// ripmime's reading of MIME fields inside a part's content
	// (unpack.OriginInner) is read from the bytes of the part that holds
	// it: when readers agree on that part, cutting it out takes the
	// reading away from ripmime too, so disagreement inside it does not
	// count (a banned name in a forwarded .eml, tests/policy
	// TestAttachedMessageFile).
	for q := p; raw != nil && q != nil && q != raw; q = ix[q] {
		if q.Origin == unpack.OriginInner {
			p = ix[q]
		}
	}
	for q := p; q != nil; q = ix[q] {
		if q.Ambiguous && (raw == nil || q.Depth >= raw.Depth) {
			ambiguous = "readers read part " + q.Path + " differently"
			break
		}
		for _, pr := range q.Problems {
			if pr.Kind == unpack.KindAmbiguous && structuralAmbiguity(pr.Detail) {
				ambiguous = "part " + q.Path + ": " + pr.Detail
				break
			}
		}
		if ambiguous != "" {
			break
		}
	}
	return ambiguous, ambiguous == "" && raw != nil && raw.Depth > 0
}

// structuralAmbiguity reports an "ambiguous" problem about the structure
// of the message, as opposed to one about a name (a file name that
// differs from the Content-Type name, a path or control characters in
// it) or a Content-Disposition that readers resolve to the same content.
func structuralAmbiguity(detail string) bool {
	return !strings.HasPrefix(detail, "file name ") && !strings.HasPrefix(detail, "Content-Disposition")
}

// messageHeader reads the top-level header of the message for the notices
// (who sent it, is it a list or an auto-reply). Lenient: a broken header
// gives what could be read.
func messageHeader(raw *Message) textproto.MIMEHeader {
	r := textproto.NewReader(bufio.NewReader(io.LimitReader(raw.Reader(), maxHeaderScan)))
	h, _ := r.ReadMIMEHeader()
	if h == nil {
		h = textproto.MIMEHeader{}
	}
	return h
}

// delivery is everything the policy stage needs to finish a message.
type delivery struct {
	now     func() time.Time
	cfg     Config
	s       *Summary
	o       *scanned
	raw     *Message
	hi      headerInfo
	sender  string
	rcpt    string
	dest    deliver.Dest
	user    *deliver.User
	home    string
	rc      Recipient
	write   func(context.Context, Write) (deliver.Result, error)
	ruleset string
	// disarmed keeps what the HTML disarmer gave before the policy
	// decided, for sanitize to use rather than disarm twice.
	disarmed map[string]sanitize.Disarmed
	// htmlBudget is the memory budget of the message's HTML parts, shared
	// by the disarming before the decision and the rewrite (issue 12.4).
	htmlBudget *html.Budget
	// reasons translates reasons into the templates' language; nil
	// until the first one is needed.
	reasons *notify.Reasons
}

// maxKeptDisarmed bounds the disarmed HTML kept in memory between the
// decision and the rewrite; past it, sanitize disarms again.
const maxKeptDisarmed = 16 << 20

// applyPolicy decides what happens to the message and does it: quarantine
// the original when anything was not allowed, deliver the message (as is,
// sanitized, or a notice in its place), then tell the postmaster and the
// real sender. Notices go last, so that a delivery that fails (and is
// retried by the MTA) does not send them twice.
func (d *delivery) applyPolicy(ctx context.Context) (Action, error) {
	// [notify] senders overrides [policy] notify_sender when set (a
	// ruleset's own still wins): it is applied before the defaults fill
	// the policy, which left it no unset field to take (issue 12.3).
	base := d.cfg.Policy
	if d.cfg.Notify.Senders != nil {
		base.NotifySender = d.cfg.Notify.Senders
	}
	// pol is whole (SelectNamed applies the defaults): no WithDefaults
	// below, each is reflection paid by every delivery.
	pol, ruleset := rules.SelectNamed(base, d.cfg.Rulesets, d.sender, d.rcpt)
	d.ruleset = ruleset
	f := facts(d.o.msg, d.o.res, d.raw.Size(), d.sender, d.rcpt, pol.IsLocal(d.sender))
	f.Unscannable = cmp.Or(f.Unscannable, d.o.unscannable)
	d.htmlBudget = html.NewBudget(int64(d.cfg.HTML.MaxMemory))
	if d.cfg.HTML.Disarm {
		d.markHTMLUnscannable(ctx, &f)
	}
	normalize, normalizeWhy := sanitize.Normalized(d.o.msg, pol.Normalize)
	v := rules.Decide(pol, f)
	if d.o.action == "quarantine" { // an engine that could not answer, on_error = quarantine
		v.Message = rules.Worse(v.Message, rules.Quarantine)
		v.Quarantine = true
		v.Reasons = append(v.Reasons, d.o.reasons...)
	}
	// Not "status": Postfix logs the command's output after its own
	// status=, and log readers must not find ours first.
	d.s.Add("scan", cmp.Or(string(v.Status), "clean"))
	if ruleset != "" {
		d.s.Add("ruleset", ruleset)
	}
	if len(v.Reasons) > 0 {
		d.s.Add("reason", strings.Join(v.Reasons, "; "))
	}
	if v.Message == rules.Reject {
		return "", RejectError{strings.Join(v.Reasons, "; ")}
	}

	qid := ""
	if v.Quarantine || v.Message == rules.Quarantine || v.Message == rules.Drop {
		var err error
		qid, err = d.quarantine(v)
		if err != nil {
			return "", fmt.Errorf("quarantining the message: %w", err)
		}
		d.s.Add("quarantine_id", qid)
	}

	status := d.statusHeaders(v)
	if qid != "" {
		status = append(status, "X-Scandeliver-Quarantine-ID: "+qid)
	}
	hopt := d.cfg.HTML.options()
	hopt.Budget = d.htmlBudget
	opt := sanitize.Options{
		DisarmHTML:    d.cfg.HTML.Disarm,
		HTML:          hopt,
		SubjectTags:   v.SubjectTags,
		Now:           d.now,
		SignatureText: d.cfg.Sanitize.SignatureText,
		SignatureHTML: d.cfg.Sanitize.SignatureHTML,
		Disinfect:     d.cfg.Sanitize.Disinfect,
		Disarmed:      d.disarmed,
	}
	if normalize && v.Message != rules.Quarantine && v.Message != rules.Drop {
		opt.Normalize = true
		status = append(status, "X-Scandeliver-Normalized: "+normalizeWhy)
	}
	dest := d.dest
	if v.Junk {
		switch {
		case d.cfg.Deliver.Junk != "":
			// A junk mailbox of its own ("~/mail/junk" or "~/Junk/").
			j, err := deliver.ParseDest(d.cfg.Deliver.Junk, d.home)
			if err != nil {
				return "", &ConfigError{Key: "deliver.junk", Err: err}
			}
			dest = j
		case dest.Kind == deliver.Maildir:
			dest = dest.WithFolder(".Junk")
		}
		// An mbox without [deliver] junk: delivered in place, tagged.
	}

	var err error
	action := "dropped"
	switch v.Message {
	case rules.Drop:
	case rules.Quarantine:
		action = "withheld"
		err = d.deliverNotice(ctx, dest, v, qid, status, opt)
	default:
		action, err = d.deliverMessage(ctx, dest, v, qid, status, opt)
		var uv unverifiedError
		if errors.As(err, &uv) {
			// The rewrite would give some reader what was not scanned
			// (sanitize.Verify): it is not delivered, the message is
			// withheld as unscannable (quarantine and notice), never
			// delivered unverified.
			action, err = d.withholdUnverified(ctx, dest, &v, &qid, opt, uv.why)
		}
	}
	if err != nil {
		return "", err
	}
	d.s.Add("action", action)
	d.notify(ctx, pol, v, qid)
	return Action(action), nil
}

// statusHeaders are the fields that tell the reader (and filters) what
// the scanner found.
func (d *delivery) statusHeaders(v rules.Verdict) []string {
	st := string(v.Status)
	if st == "" || st == string(rules.StatusClean) {
		st = "clean"
		if v.Spam {
			st = "spam"
		}
	}
	if len(v.Signatures) > 0 {
		st += " (" + strings.Join(v.Signatures, ", ") + ")"
	}
	h := []string{d.statusName() + ": " + st}
	if v.Spam || v.SpamScore != 0 || hasSpamEngine(d.o.res) {
		yes := "No"
		if v.Spam {
			yes = "Yes"
			h = append(h, "X-Spam-Flag: YES")
		}
		h = append(h, fmt.Sprintf("X-Spam-Status: %s, score=%.1f", yes, v.SpamScore),
			fmt.Sprintf("X-Spam-Score: %.1f", v.SpamScore))
	}
	for _, w := range d.o.headers {
		if strings.HasPrefix(w, "X-Scandeliver-Warning:") {
			h = append(h, w)
		}
	}
	return h
}

func (d *delivery) statusName() string {
	return cmp.Or(d.cfg.Headers.Status, "X-Scandeliver-Status")
}

func hasSpamEngine(r scan.Result) bool {
	for _, v := range r.Verdicts {
		if v.Kind == scan.Spam {
			return true
		}
	}
	return false
}

func (d *delivery) quarantine(v rules.Verdict) (string, error) {
	r := quarantineReport(d.o, d.hi, d.sender, d.rcpt)
	r.Status = cmp.Or(string(v.Status), "clean")
	if r.Status == string(rules.StatusClean) && v.Spam {
		r.Status = "spam"
	}
	r.Action = verdictAction(v)
	r.Ruleset = d.ruleset
	r.Reasons = append([]string(nil), v.Reasons...)
	for _, pd := range v.Parts {
		r.Decisions = append(r.Decisions, quarantine.Decision{Part: pd.Part, Name: pd.Name, Action: string(pd.Action),
			Kind: string(pd.Kind), Rule: pd.Rule, Reason: pd.Reason, NewName: pd.NewName})
	}
	return quarantine.Store{Dir: d.cfg.Quarantine.Dir, Group: d.cfg.Quarantine.Group, Now: d.now}.Put(d.raw.Reader(), r)
}

// becomeUser drops root for the recipient before the mailbox is touched.
func (d *delivery) becomeUser() error {
	if d.user != nil && os.Geteuid() == 0 {
		if err := deliver.DropPrivileges(d.user); err != nil {
			return fmt.Errorf("switching to user %s: %w", d.user.Name, err)
		}
	}
	return nil
}

func (d *delivery) put(ctx context.Context, dest deliver.Dest, prefix []byte, body io.ReaderAt, size int64) error {
	w := Write{Recipient: d.rc, Dest: dest, Prefix: prefix, Body: body, Size: size,
		Envelope: deliver.Envelope{Sender: d.sender, Recipient: d.rcpt},
		Options: deliver.Options{
			LockTimeout: time.Duration(d.cfg.Deliver.LockTimeout),
			StaleLock:   time.Duration(d.cfg.Deliver.StaleLock),
			Now:         d.now,
		}}
	var res deliver.Result
	var err error
	if d.write != nil {
		res, err = d.write(ctx, w)
	} else {
		if err := d.becomeUser(); err != nil {
			return err
		}
		res, err = deliver.Deliver(ctx, w.Dest, w.Prefix, w.Body, w.Size, w.Envelope, w.Options)
	}
	if err != nil {
		return err
	}
	if res.Path != "" {
		d.s.Add("file", res.Path)
	}
	return nil
}

// respool runs a writer (sanitize) into a new spool, streaming.
func (d *delivery) respool(write func(w io.Writer) error) (*unpack.Spool, error) {
	pr, pw := io.Pipe()
	go func() {
		// A panic in a goroutine would end the process with exit 2, not
		// 75: make it an error, which defers the message.
		defer func() {
			if p := recover(); p != nil {
				pw.CloseWithError(fmt.Errorf("internal error: %v", p))
			}
		}()
		pw.CloseWithError(write(pw))
	}()
	sp, err := unpack.NewSpool(pr, unpack.SpoolOptions{Dir: d.cfg.Spool.Dir, Memory: int64(d.cfg.Spool.Memory)})
	pr.CloseWithError(errors.New("spool closed"))
	return sp, err
}

// unverifiedError: the rewrite failed sanitize.Verify (why says how); it
// was not delivered.
type unverifiedError struct{ why string }

func (e unverifiedError) Error() string {
	return "the rewritten message could not be verified: " + e.why
}

// verifyRewrite unpacks the rewrite sp again, every reading, with the
// limits of the message's own unpacking, and checks it with
// sanitize.Verify: "" when it gives no reader a content or a name the
// message did not have judged, else why not.
func (d *delivery) verifyRewrite(ctx context.Context, v rules.Verdict, res sanitize.Result, sp *unpack.Spool) (string, error) {
	lim := d.cfg.Limits
	if budget := time.Duration(cmp.Or(d.cfg.Scan.Budget, Duration(DefaultBudget))); lim.Timeout <= 0 || lim.Timeout > budget {
		lim.Timeout = budget
	}
	om, err := unpack.Unpack(ctx, sp, sp.Size(), unpack.Options{Limits: lim, TempDir: d.cfg.Spool.Dir})
	if err != nil {
		return "", fmt.Errorf("unpacking the rewrite: %w", err)
	}
	defer om.Close()
	return sanitize.Verify(ctx, d.o.msg, v, res, om)
}

// withholdUnverified withholds a message whose rewrite failed
// sanitize.Verify: quarantined (once), a notice delivered in its place,
// the postmaster told as for any message withheld as unscannable.
func (d *delivery) withholdUnverified(ctx context.Context, dest deliver.Dest, v *rules.Verdict, qid *string, opt sanitize.Options, why string) (string, error) {
	d.s.Add("unverified", why)
	v.Message = rules.Worse(v.Message, rules.Quarantine)
	v.Quarantine = true
	if v.Status == "" || v.Status == rules.StatusClean || v.Status == rules.StatusBlocked {
		v.Status = rules.StatusUnscannable
	}
	v.Reasons = append(v.Reasons, "unscannable: the rewritten message could not be verified ("+why+")")
	if *qid == "" {
		id, err := d.quarantine(*v)
		if err != nil {
			return "", fmt.Errorf("quarantining the message: %w", err)
		}
		*qid = id
		d.s.Add("quarantine_id", id)
	}
	status := append(d.statusHeaders(*v), "X-Scandeliver-Quarantine-ID: "+*qid)
	opt.Normalize = false
	return "withheld", d.deliverNotice(ctx, dest, *v, *qid, status, opt)
}

// deliverMessage delivers the message, sanitized when the verdict or the
// HTML disarming changes anything, and says which it was. A rewrite is
// unpacked again and checked (sanitize.Verify) before it is delivered:
// one that fails is not delivered (unverifiedError).
func (d *delivery) deliverMessage(ctx context.Context, dest deliver.Dest, v rules.Verdict, qid string, status []string, opt sanitize.Options) (string, error) {
	if !sanitize.Plan(d.o.msg, v, opt) {
		return "delivered", d.putFinal(ctx, dest, status, d.raw, d.raw.Size())
	}
	var res sanitize.Result
	sp, err := d.respool(func(w io.Writer) error {
		var err error
		res, err = sanitize.Rewrite(ctx, w, d.raw.Reader(), d.raw.Size(), d.o.msg, v, opt, d.replacement(qid))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("sanitizing the message: %w", err)
	}
	defer sp.Close()
	if res.Changed {
		why, err := d.verifyRewrite(ctx, v, res, sp)
		if err != nil {
			return "", fmt.Errorf("verifying the rewrite: %w", err)
		}
		if why != "" {
			return "", unverifiedError{why}
		}
	}
	if len(res.HTMLUnscannable) > 0 {
		status = append(status, "X-Scandeliver-HTML: kept whole, could not be disarmed: "+strings.Join(res.HTMLUnscannable, " "))
	}
	if n := res.HTML.Phishing; n > 0 {
		status = append(status, fmt.Sprintf("X-Scandeliver-HTML: %d suspicious link(s) marked", n))
	}
	action := "delivered"
	if res.Changed {
		action = "sanitized"
	}
	if len(res.Replaced) > 0 {
		d.s.Add("replaced", strings.Join(res.Replaced, " "))
	}
	if len(res.Renamed) > 0 {
		d.s.Add("renamed", strings.Join(res.Renamed, " "))
	}
	if len(res.Disinfected) > 0 {
		d.s.Add("disinfected", strings.Join(res.Disinfected, " "))
	}
	if len(res.Signed) > 0 {
		d.s.Add("signed", strings.Join(res.Signed, " "))
	}
	if len(res.Canonical) > 0 {
		d.s.Add("canonical", strings.Join(res.Canonical, " "))
	}
	if res.Normalized {
		d.s.Add("normalized", "yes")
	}
	if res.HTML.Changed {
		d.s.Add("html", fmt.Sprintf("scripts=%d handlers=%d urls=%d disarmed=%d webbugs=%d phishing=%d",
			res.HTML.Scripts, res.HTML.Handlers, res.HTML.BadURLs, res.HTML.Disarmed, res.HTML.WebBugs, res.HTML.Phishing))
	}
	return action, d.putFinal(ctx, dest, status, sp, sp.Size())
}

// putFinal delivers body (size bytes) below our header fields: the
// return path, the recipient and status. Every field of ours that came
// with the message (a forged "clean" mark, a release mark, spam fields
// from outside) is removed first, wherever it stands, and so is a
// Return-Path on top that does not name the envelope sender (issue
// 12.3); the rest is delivered byte for byte.
func (d *delivery) putFinal(ctx context.Context, dest deliver.Dest, status []string, body io.ReaderAt, size int64) error {
	rp := d.sender
	if strings.EqualFold(rp, "MAILER-DAEMON") {
		rp = ""
	}
	f := headerFilter{custom: d.cfg.Headers.Status, returnPath: cleanAddr(rp)}
	found, err := filterHeader(nil, io.NewSectionReader(body, 0, size), f)
	if err != nil {
		return fmt.Errorf("reading the header: %w", err)
	}
	if found {
		sp, err := d.respool(func(w io.Writer) error {
			_, err := filterHeader(w, io.NewSectionReader(body, 0, size), f)
			return err
		})
		if err != nil {
			return fmt.Errorf("removing forged fields: %w", err)
		}
		defer sp.Close()
		d.s.Add("removed_fields", "ours")
		body, size = sp, sp.Size()
	}
	return d.put(ctx, dest, prefixFields(scanHeader(body, size), d.sender, d.rcpt, status), body, size)
}

// deliverNotice delivers the short notice that stands for a message
// withheld whole.
func (d *delivery) deliverNotice(ctx context.Context, dest deliver.Dest, v rules.Verdict, qid string, status []string, opt sanitize.Options) error {
	text, err := d.templates().Render(d.lang(), "withheld", d.noticeData(v, qid))
	if err != nil {
		return fmt.Errorf("withheld notice: %w", err)
	}
	sp, err := d.respool(func(w io.Writer) error {
		return sanitize.Withheld(w, d.raw.Reader(), d.raw.Size(), d.o.msg, text, opt)
	})
	if err != nil {
		return fmt.Errorf("writing the withheld notice: %w", err)
	}
	defer sp.Close()
	return d.putFinal(ctx, dest, status, sp, sp.Size())
}

func (d *delivery) templates() notify.Templates { return notify.Templates{Dir: d.cfg.Notify.Templates} }

func (d *delivery) lang() string { return cmp.Or(d.cfg.Notify.Lang, "en") }

// reason translates a part's reason into the templates' language (the
// site's LANG/reasons.txt, then the built-in one), loaded on first use.
// A broken site file leaves the English text and is logged once.
func (d *delivery) reason(text string) string {
	if d.reasons == nil {
		var err error
		if d.reasons, err = d.templates().Reasons(d.lang()); err != nil {
			d.s.Add("template_error", err.Error())
		}
	}
	return d.reasons.Translate(text)
}

func (d *delivery) contact() string {
	return cmp.Or(d.cfg.Notify.Contact, d.cfg.Policy.WithDefaults().Postmaster, "postmaster")
}

// replacement renders the text that replaces a part.
func (d *delivery) replacement(qid string) sanitize.Replacement {
	return func(p *unpack.Part, pd rules.Decision) (string, error) {
		data := notify.Data{
			Date: d.now().Format(time.RFC1123Z), QuarantineID: qid, Contact: d.contact(),
			Sender: d.sender, Recipient: d.rcpt, Subject: d.o.msg.Subject, MessageID: d.hi.messageID,
			File: cmp.Or(pd.Name, p.Name), Reason: d.reason(pd.Reason), Rule: pd.Rule,
		}
		for _, fd := range pd.Findings {
			if len(fd.Signatures) > 0 {
				data.Signature = strings.Join(fd.Signatures, ", ")
			}
		}
		return d.templates().Render(d.lang(), "replacement", data)
	}
}

// Hostname names this host in notices and greetings.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

func (d *delivery) noticeData(v rules.Verdict, qid string) notify.Data {
	data := notify.Data{
		Hostname: Hostname(),
		Date:     d.now().Format(time.RFC1123Z), QuarantineID: qid, Contact: d.contact(),
		Sender: d.sender, Recipient: d.rcpt, Subject: d.o.msg.Subject, MessageID: d.hi.messageID,
		Status: string(v.Status), Action: verdictAction(v), Reason: strings.Join(v.Reasons, "; "),
		Signature: strings.Join(v.Signatures, ", "),
	}
	for _, pd := range v.Parts {
		if pd.Action == rules.Allow {
			continue
		}
		it := notify.Item{File: pd.Name, Part: pd.Part, Action: string(pd.Action), Reason: d.reason(pd.Reason), Rule: pd.Rule}
		for _, fd := range pd.Findings {
			if len(fd.Signatures) > 0 {
				it.Signature = strings.Join(fd.Signatures, ", ")
			}
		}
		data.Items = append(data.Items, it)
	}
	return data
}

// notify tells the postmaster and the real sender. A notice that cannot
// be sent is logged, not retried: the message itself was handled.
func (d *delivery) notify(ctx context.Context, pol rules.Policy, v rules.Verdict, qid string) {
	if !v.NotifyPostmaster && !v.NotifySender {
		return
	}
	n := notify.Notifier{
		From: cmp.Or(d.cfg.Notify.From, "postmaster@"+Hostname()), FromName: d.cfg.Notify.FromName,
		Hostname: Hostname(), Lang: d.lang(),
		Templates: d.templates(), Now: d.now, Mailer: d.cfg.Notify.mailer(),
	}
	data := d.noticeData(v, qid)
	h := messageHeader(d.raw)
	for _, k := range []string{"From", "To", "Cc", "Subject", "Date", "Message-Id"} {
		for _, val := range h.Values(k) {
			data.Headers = append(data.Headers, k+": "+val)
		}
	}
	var sent []string
	postmaster := cmp.Or(v.Postmaster, d.cfg.Notify.Postmaster)
	if v.NotifyPostmaster && postmaster != "" {
		if err := n.Postmaster(ctx, postmaster, data); err != nil {
			d.s.Add("notify_error", "postmaster: "+err.Error())
		} else {
			sent = append(sent, "postmaster")
		}
	}
	if v.NotifySender {
		// A virus's sender must be proven real; for blocked names and
		// types the same proof is required too (the default):
		// most such mail is forged.
		ok, why := notify.RealSender(d.sender, h, notify.Proof{Local: v.SenderLocal, Forged: v.SenderForged,
			RequireProof: len(v.Signatures) > 0 || d.cfg.Notify.RequireProof == nil || *d.cfg.Notify.RequireProof,
			AuthServID:   d.cfg.Notify.AuthservID})
		if ok && !v.SenderLocal {
			rl := notify.RateLimit{Dir: filepath.Join(cmp.Or(d.cfg.Spool.Dir, os.TempDir()), fmt.Sprintf("scandeliver-notify-%d", os.Getuid())),
				Interval: time.Duration(d.cfg.Notify.SenderInterval), Now: d.now}
			if allowed, err := rl.Allow(d.sender); err == nil && !allowed {
				ok, why = false, "a notice went to this sender less than an interval ago"
			}
		}
		if ok {
			if err := n.Sender(ctx, d.sender, data); err != nil {
				d.s.Add("notify_error", "sender: "+err.Error())
			} else {
				sent = append(sent, "sender")
			}
		} else {
			d.s.Add("sender_not_told", why)
		}
	}
	if len(sent) > 0 {
		d.s.Add("notified", strings.Join(sent, ","))
	}
}

// markHTMLUnscannable disarms each HTML part before the policy decides: a
// part the disarmer gives up on (budget, nesting) is unscannable ("html"),
// and the policy treats it as such, rather than the part reaching the user
// undisarmed. A part whose header is malformed or ambiguous is disarmed
// like any other: sanitize writes it anew in canonical form (issue 11
// section 3: it was marked unscannable, and 47 legitimate corpus
// messages were withheld for it). The outcomes are kept (up to maxKeptDisarmed bytes) for
// sanitize, so that each part is disarmed once.
func (d *delivery) markHTMLUnscannable(ctx context.Context, f *rules.MessageFacts) {
	byPath := map[string]*rules.PartFacts{}
	for i := range f.Parts {
		byPath[f.Parts[i].Path] = &f.Parts[i]
	}
	kept := 0
	for _, p := range d.o.msg.Parts {
		if p.Container || p.DeclaredType != "text/html" {
			continue
		}
		pf := byPath[p.Path]
		if pf == nil || pf.Unscannable != "" {
			continue
		}
		r, err := p.Open()
		if err != nil {
			continue
		}
		o := d.cfg.HTML.options()
		o.Charset = p.Charset
		o.Budget = d.htmlBudget
		var out bytes.Buffer
		rep, err := html.Disarm(ctx, &out, r, o)
		r.Close()
		if errors.Is(err, html.ErrUnscannable) {
			pf.Unscannable = "html: " + err.Error()
		}
		if kept+out.Len() <= maxKeptDisarmed && ctx.Err() == nil {
			if d.disarmed == nil {
				d.disarmed = map[string]sanitize.Disarmed{}
			}
			d.disarmed[p.Path] = sanitize.Disarmed{Out: out.Bytes(), Report: rep, Err: err}
			kept += out.Len()
			d.htmlBudget.Keep(out.Cap())
		}
	}
}

// verdictAction names what happens to the message as a whole: the
// message-level action, or "sanitize" when it is delivered with parts
// replaced or renamed.
func verdictAction(v rules.Verdict) string {
	if v.Message != rules.Deliver && v.Message != "" {
		return string(v.Message)
	}
	for _, pd := range v.Parts {
		if pd.Action != rules.Allow {
			return "sanitize"
		}
	}
	return "deliver"
}
