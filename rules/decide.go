package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// PartFacts is what unpack and scan know about one part: a MIME part, an
// uuencoded or TNEF attachment, or an archive member.
type PartFacts struct {
	Path         string   `json:"path"`                    // unpack's path of the part ("2.1", "2/archive.zip/a.exe"); echoed in Decision.Part
	Name         string   `json:"name,omitempty"`          // file name as decoded from the message (RFC 2231/2047) or the archive
	InArchive    bool     `json:"in_archive,omitempty"`    // a member of an archive: ArchiveFilenameRules apply
	DeclaredType string   `json:"declared_type,omitempty"` // Content-Type as sent
	DetectedType string   `json:"detected_type,omitempty"` // sniffed from the content
	Size         int64    `json:"size"`                    // decoded size
	Encrypted    bool     `json:"encrypted,omitempty"`     // password-protected archive or document
	Macros       bool     `json:"macros,omitempty"`        // an Office document carrying a VBA project
	Unscannable  string   `json:"unscannable,omitempty"`   // why it could not be judged (limit hit, ambiguous structure, engine said so); "" if scannable
	Problems     []string `json:"problems,omitempty"`      // recorded parse problems (informational; Unscannable is what counts)
	Infected     []string `json:"infected,omitempty"`      // signature names from the engines
	Partial      bool     `json:"partial,omitempty"`       // message/partial (RFC 2046 section 5.2.2)
	ExternalBody bool     `json:"external_body,omitempty"` // message/external-body (RFC 2046 section 5.2.3)
	// OtherNames are the names other readings of the message give the
	// part (a Content-Type name beside a different filename, a lenient
	// reader's parameter): a filename rule matches when any name does.
	OtherNames []string `json:"other_names,omitempty"`
	// Ambiguous says why readers could disagree on where this part is or
	// what it holds (a boundary read two ways, a transfer encoding on a
	// multipart that some decode); "" when every reading agrees. A
	// finding on such a part withholds the whole message: replacing the
	// part as we read it cannot remove what another reader would see.
	Ambiguous string `json:"ambiguous,omitempty"`
	// Separable: the part (or, for an archive member or an attachment
	// inside a body, the MIME part that holds it) can be cut out alone:
	// it is not the message itself and every reading agrees on its
	// bounds. A part that cannot be judged (too_large, partial,
	// external_body, encrypted, unscannable set to "quarantine") is then
	// replaced by a text rather than the message withheld.
	Separable bool `json:"separable,omitempty"`
}

// MessageFacts is what is known about the message as a whole.
type MessageFacts struct {
	Size        int64       `json:"size"`
	Sender      string      `json:"sender"`    // envelope sender; "" or "<>" for the null sender
	Recipient   string      `json:"recipient"` // envelope recipient
	Parts       []PartFacts `json:"parts"`
	Infected    []string    `json:"infected,omitempty"`    // signatures from scanning the message whole
	Unscannable string      `json:"unscannable,omitempty"` // why the message as a whole could not be judged
	SpamScore   float64     `json:"spam_score,omitempty"`
	Spam        bool        `json:"spam,omitempty"` // the spam engine's own verdict
	SpamSymbols []string    `json:"spam_symbols,omitempty"`
	LocalSender bool        `json:"local_sender,omitempty"` // submitted locally (in addition to Policy.LocalDomains)
}

// Kind names what a finding is about.
type Kind string

// The kinds of findings.
const (
	KindInfected     Kind = "infected"
	KindFilename     Kind = "filename"
	KindType         Kind = "type"
	KindPartial      Kind = "partial"
	KindExternalBody Kind = "external-body"
	KindEncrypted    Kind = "encrypted"
	KindUnscannable  Kind = "unscannable"
	KindTooLarge     Kind = "too-large"
	KindPolicyError  Kind = "policy-error" // a rule that does not compile: fails closed (quarantine)
)

// Finding is one reason to act on a part or the message.
type Finding struct {
	Kind       Kind     `json:"kind"`
	Action     Action   `json:"action"`
	Rule       string   `json:"rule"`          // which rule: "filename_rules #2", "shipped filename rule", "type executable", "infected", ...
	Reason     string   `json:"reason"`        // for the recipient (a rule's Report text)
	Log        string   `json:"log,omitempty"` // for the log (a rule's Log text)
	Signatures []string `json:"signatures,omitempty"`
}

// Decision is what happens to one part. Its Action, Kind, Rule and Reason
// are those of the most severe of its Findings. Part == "" designates the
// message as a whole. Parts without findings get no Decision (allowed).
// For an archive member, sanitize acts on the enclosing MIME part.
type Decision struct {
	Part     string    `json:"part"`
	Name     string    `json:"name,omitempty"` // the original name, unescaped: escape before display
	Action   Action    `json:"action"`
	Kind     Kind      `json:"kind"`
	Rule     string    `json:"rule"`
	Reason   string    `json:"reason"`
	NewName  string    `json:"new_name,omitempty"` // for rename
	Findings []Finding `json:"findings"`
}

// Status is the overall state, for the status header.
type Status string

// The statuses, from least to most severe.
const (
	StatusClean       Status = "clean"
	StatusBlocked     Status = "blocked"
	StatusUnscannable Status = "unscannable"
	StatusInfected    Status = "infected"
)

var statusRank = map[Status]int{StatusClean: 0, StatusBlocked: 1, StatusUnscannable: 2, StatusInfected: 3}

func (k Kind) status() Status {
	switch k {
	case KindInfected:
		return StatusInfected
	case KindEncrypted, KindUnscannable, KindPolicyError:
		return StatusUnscannable
	}
	return StatusBlocked
}

// Verdict is the outcome of Decide. It gives facts; sanitize writes the
// headers and the replacement parts, cmd quarantines, delivers, notifies.
type Verdict struct {
	Parts   []Decision `json:"parts,omitempty"`
	Message Action     `json:"message"` // deliver, quarantine (withhold whole, short notice delivered), drop or reject (exit 65)
	Status  Status     `json:"status"`
	// Quarantine: the original must be stored (before anything is
	// delivered) because something was not allowed.
	Quarantine bool     `json:"quarantine"`
	Reasons    []string `json:"reasons,omitempty"`    // one line per finding, names quoted: safe for a log
	Signatures []string `json:"signatures,omitempty"` // every virus name, deduplicated

	Spam       bool    `json:"spam,omitempty"`
	SpamHigh   bool    `json:"spam_high,omitempty"`
	SpamScore  float64 `json:"spam_score,omitempty"`
	SpamAction Action  `json:"spam_action,omitempty"` // what the spam policy asked for
	Junk       bool    `json:"junk,omitempty"`        // deliver to the Junk folder

	SubjectTags []string `json:"subject_tags,omitempty"` // to prepend, in order

	NotifyPostmaster bool   `json:"notify_postmaster,omitempty"`
	Postmaster       string `json:"postmaster,omitempty"`
	NotifySender     bool   `json:"notify_sender,omitempty"` // wanted by policy; notify still checks the sender is real
	SenderLocal      bool   `json:"sender_local,omitempty"`  // the sender is ours: proven real
	SenderForged     bool   `json:"sender_forged,omitempty"` // a virus known to forge senders: never notify a non-local sender
}

// compiled holds a policy's compiled rule lists for one Decide call.
type compiled struct {
	names, archive []compiledRule
}

// Decide applies the policy to the facts. The policy's unset fields take
// the shipped defaults.
func Decide(p Policy, m MessageFacts) Verdict {
	p = p.WithDefaults()
	// Compiling the rules costs about half a millisecond: only when some
	// part has a name to match (most mail has none). A pattern that does
	// not compile is caught by Validate when the configuration is read.
	var c compiled
	for _, pf := range m.Parts {
		if pf.Name != "" || len(pf.OtherNames) > 0 {
			c = compiled{
				names:   compileRules(p.FilenameRules, defaultFilenameRules),
				archive: compileRules(p.ArchiveFilenameRules, defaultArchiveFilenameRules),
			}
			break
		}
	}
	v := Verdict{Message: Deliver, Status: StatusClean, Postmaster: p.Postmaster, SpamScore: m.SpamScore}
	local := m.LocalSender || p.IsLocal(m.Sender)
	v.SenderLocal = local
	infected := false

	var msg []Finding
	if max, ok := p.MaxMessageSize.Limit(); ok && m.Size > max {
		msg = append(msg, Finding{Kind: KindTooLarge, Action: p.TooLarge, Rule: "max_message_size",
			Reason: fmt.Sprintf("The message is larger than the limit of %d bytes", max),
			Log:    fmt.Sprintf("message size %d > max_message_size %d", m.Size, max)})
	}
	if len(m.Infected) > 0 {
		msg = append(msg, infectedFinding(p, m.Infected))
	}
	if m.Unscannable != "" {
		msg = append(msg, Finding{Kind: KindUnscannable, Action: p.Unscannable, Rule: "unscannable",
			Reason: "The message could not be checked", Log: "unscannable: " + m.Unscannable})
	}
	if len(msg) > 0 {
		d := decision(PartFacts{}, msg)
		// A message cannot be replaced or renamed: withhold it.
		if d.Action == Deny || d.Action == Rename {
			d.Action = Quarantine
		}
		if d.Action != Allow {
			v.Parts = append(v.Parts, d)
		}
	}

	for _, pf := range m.Parts {
		fs := partFindings(p, c, pf)
		if len(fs) == 0 {
			continue
		}
		placeFindings(fs, pf)
		d := decision(pf, fs)
		if d.Action == Rename {
			if pf.InArchive {
				// An archive cannot be rewritten member by member to rename
				// one: the member's archive is replaced instead.
				d.Action = Deny
			} else {
				d.NewName = DisarmedName(p.RenameTo, pf.Name)
			}
		}
		if d.Action != Allow {
			v.Parts = append(v.Parts, d)
		}
	}

	seen := map[string]bool{}
	for _, d := range v.Parts {
		for _, f := range d.Findings {
			if f.Action == Allow {
				continue
			}
			if st := f.Kind.status(); statusRank[st] > statusRank[v.Status] {
				v.Status = st
			}
			if f.Kind == KindInfected {
				infected = true
			}
			for _, s := range f.Signatures {
				if !seen[s] {
					seen[s] = true
					v.Signatures = append(v.Signatures, s)
				}
			}
			where := "message"
			if d.Part != "" {
				where = "part " + strconv.Quote(d.Part)
				if d.Name != "" {
					where += " " + strconv.Quote(d.Name)
				}
			}
			line := fmt.Sprintf("%s: %s: %s (%s)", where, f.Action, oneLine(f.Log), oneLine(f.Rule))
			v.Reasons = append(v.Reasons, line)
		}
		switch d.Action {
		case Quarantine, Drop, Reject:
			v.Message = Worse(v.Message, d.Action)
		}
	}
	if infected && local {
		v.Message = Worse(v.Message, p.LocalInfected)
	}

	// Spam.
	spam := m.Spam
	if p.Spam.Threshold > 0 {
		spam = m.SpamScore >= p.Spam.Threshold
	}
	high := p.Spam.HighThreshold > 0 && m.SpamScore >= p.Spam.HighThreshold
	if spam || high {
		v.Spam = true
		v.SpamHigh = high
		v.SpamAction = p.Spam.Action
		if high {
			v.SpamAction = p.Spam.HighAction
		}
		switch v.SpamAction {
		case Junk:
			v.Junk = true
		case Quarantine, Drop, Reject:
			v.Message = Worse(v.Message, v.SpamAction)
			v.Quarantine = v.Quarantine || v.SpamAction != Reject
			if high {
				v.Reasons = append(v.Reasons, fmt.Sprintf("Spam: score %.1f, at or above the high threshold %g", m.SpamScore, p.Spam.HighThreshold))
			} else {
				v.Reasons = append(v.Reasons, fmt.Sprintf("Spam: score %.1f", m.SpamScore))
			}
		}
	}

	// Subject tags.
	tag := func(t *string) {
		if t != nil && *t != "" {
			v.SubjectTags = append(v.SubjectTags, *t)
		}
	}
	switch v.Status {
	case StatusInfected:
		tag(p.SubjectTags.Virus)
	case StatusBlocked, StatusUnscannable:
		tag(p.SubjectTags.Blocked)
	}
	if v.Spam && (v.SpamAction == Tag || v.SpamAction == Junk) {
		tag(p.SubjectTags.Spam)
	}

	v.Quarantine = len(v.Parts) > 0 || v.Message != Deliver
	if v.Status != StatusClean {
		v.NotifyPostmaster = p.NotifyPostmaster != nil && *p.NotifyPostmaster
		v.SenderForged = infected && !local && anySilent(p.SilentViruses, v.Signatures)
		v.NotifySender = (p.NotifySender != nil && *p.NotifySender && !v.SenderForged) || (infected && local)
		if normAddr(m.Sender) == "" {
			v.NotifySender = false
		}
	}
	return v
}

func anySilent(globs, sigs []string) bool {
	for _, s := range sigs {
		if anyGlob(globs, strings.ToLower(s)) && len(globs) > 0 {
			return true
		}
	}
	return false
}

func infectedFinding(p Policy, sigs []string) Finding {
	return Finding{Kind: KindInfected, Action: p.Infected, Rule: "infected",
		Reason:     "Infected: " + strings.Join(sigs, ", "),
		Log:        "infected: " + strings.Join(sigs, ", "),
		Signatures: append([]string(nil), sigs...)}
}

// partFindings lists every finding on one part, in a fixed order.
func partFindings(p Policy, c compiled, pf PartFacts) []Finding {
	var fs []Finding
	if len(pf.Infected) > 0 {
		fs = append(fs, infectedFinding(p, pf.Infected))
	}
	if pf.Partial {
		fs = append(fs, Finding{Kind: KindPartial, Action: p.Partial, Rule: "partial",
			Reason: "A message in parts (message/partial) cannot be checked", Log: "message/partial"})
	}
	if pf.ExternalBody {
		fs = append(fs, Finding{Kind: KindExternalBody, Action: p.ExternalBody, Rule: "external_body",
			Reason: "A reference to an external body (message/external-body) cannot be checked", Log: "message/external-body"})
	}
	if pf.Encrypted {
		fs = append(fs, Finding{Kind: KindEncrypted, Action: p.Encrypted, Rule: "encrypted",
			Reason: "A password-protected file cannot be checked", Log: "encrypted"})
	}
	if pf.Unscannable != "" {
		fs = append(fs, Finding{Kind: KindUnscannable, Action: p.Unscannable, Rule: "unscannable",
			Reason: "This part could not be checked", Log: "unscannable: " + pf.Unscannable})
	}
	if max, ok := p.MaxAttachmentSize.Limit(); ok && pf.Size > max {
		fs = append(fs, Finding{Kind: KindTooLarge, Action: p.TooLarge, Rule: "max_attachment_size",
			Reason: fmt.Sprintf("The attachment is larger than the limit of %d bytes", max),
			Log:    fmt.Sprintf("part size %d > max_attachment_size %d", pf.Size, max)})
	}
	if pf.Name != "" || len(pf.OtherNames) > 0 {
		list, listName := c.names, "filename"
		if pf.InArchive {
			list, listName = c.archive, "archive_filename"
		}
		if r := matchNames(list, pf.Name, pf.OtherNames); r != nil {
			if r.err != nil {
				fs = append(fs, Finding{Kind: KindPolicyError, Action: Quarantine, Rule: r.label(listName),
					Reason: "The mail policy could not be applied", Log: r.err.Error()})
			} else {
				fs = append(fs, Finding{Kind: KindFilename, Action: r.Action, Rule: r.label(listName),
					Reason: r.Report, Log: r.logText()})
			}
		}
	}
	var types []TypeRule
	for _, r := range p.TypeRules {
		if r.Action == UseDefaults {
			types = append(types, defaultTypeRules...)
		} else {
			types = append(types, r)
		}
	}
	for _, r := range types {
		if typeMatches(r.Type, pf) {
			t := pf.DetectedType
			if t == "" || !typeMatches(r.Type, PartFacts{DetectedType: t}) {
				t = pf.DeclaredType
			}
			fs = append(fs, Finding{Kind: KindType, Action: r.Action, Rule: "type " + r.Type,
				Reason: r.Report, Log: r.Log + ": " + baseType(t)})
			break
		}
	}
	return fs
}

// cutOut lists the kinds of findings that say a part cannot be judged:
// their "quarantine" cuts the part out when it is Separable (the man
// page's "the part is cut out where it can be, else the message is
// withheld").
var cutOut = map[Kind]bool{KindTooLarge: true, KindPartial: true, KindExternalBody: true, KindEncrypted: true, KindUnscannable: true}

// placeFindings adjusts the actions of a part's findings to where the part
// is. In ambiguous structure any action on the part withholds the message
// (issue 11, section 2: replacing the part as we read it cannot remove
// what another reader sees). In a part every reading agrees on, a
// "quarantine" for a part that cannot be judged cuts the part out (deny)
// and the rest of the message is delivered.
func placeFindings(fs []Finding, pf PartFacts) {
	for i := range fs {
		f := &fs[i]
		switch {
		case pf.Ambiguous != "":
			if f.Action.Severity() > Allow.Severity() && f.Action.Severity() < Quarantine.Severity() {
				f.Action = Quarantine
				f.Log += " (in ambiguous structure: " + pf.Ambiguous + ")"
			}
		case pf.Separable && f.Action == Quarantine && cutOut[f.Kind]:
			f.Action = Deny
		}
	}
}

// decision folds findings into the decision on one part.
func decision(pf PartFacts, fs []Finding) Decision {
	d := Decision{Part: pf.Path, Name: pf.Name, Action: Allow, Findings: fs}
	worst := -1
	for i, f := range fs {
		if worst < 0 || f.Action.Severity() > fs[worst].Action.Severity() {
			worst = i
		}
	}
	if worst >= 0 {
		f := fs[worst]
		d.Action, d.Kind, d.Rule, d.Reason = f.Action, f.Kind, f.Rule, f.Reason
		if d.Action == "" {
			d.Action = Allow
		}
	}
	return d
}

// oneLine makes text from a message or a rule safe for a single log line:
// every non-printable character (controls, bidi overrides, newlines) is
// written as a Go escape.
func oneLine(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
