package rules

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// FilenameRule is one line of a filename rule list; see the package doc for
// the pattern syntax. Log is written to the log when the rule matches,
// Report is shown to the recipient (and the sender, if notified).
type FilenameRule struct {
	Action  Action `toml:"action" json:"action"`
	Pattern string `toml:"pattern" json:"pattern"`
	Log     string `toml:"log" json:"log,omitempty"`
	Report  string `toml:"report" json:"report,omitempty"`
}

// TypeRule applies an action to parts whose declared or detected MIME type
// falls under Type: a category ("executable", "script", "office-macro",
// "disk-image"; see Categories) or a MIME type glob
// ("application/x-msdownload", "application/vnd.ms-*"), case-insensitive.
type TypeRule struct {
	Action Action `toml:"action" json:"action"`
	Type   string `toml:"type" json:"type"`
	Log    string `toml:"log" json:"log,omitempty"`
	Report string `toml:"report" json:"report,omitempty"`
}

// SpamPolicy is the [policy.spam] table.
type SpamPolicy struct {
	// Threshold: a score at or above it is spam. 0 (the default) trusts the
	// engine's own spam flag (spamd's required_score, rspamd's actions).
	Threshold float64 `toml:"threshold" json:"threshold,omitempty"`
	// Action for spam: deliver (headers only), tag (subject tag, inbox),
	// junk (subject tag, Junk folder; the default), quarantine, drop, reject.
	Action Action `toml:"action" json:"action,omitempty"`
	// HighThreshold: a score at or above it gets HighAction. Default 15;
	// negative disables.
	HighThreshold float64 `toml:"high_threshold" json:"high_threshold,omitempty"`
	// HighAction: default quarantine (never discarded silently by default).
	HighAction Action `toml:"high_action" json:"high_action,omitempty"`
}

// SubjectTags are prepended to the Subject per category. nil is the
// default ("{Virus?}", "{Blocked?}", "{Spam?}"), "" turns tagging off.
type SubjectTags struct {
	Virus   *string `toml:"virus" json:"virus,omitempty"`
	Blocked *string `toml:"blocked" json:"blocked,omitempty"`
	Spam    *string `toml:"spam" json:"spam,omitempty"`
}

// Policy is the [policy] table. The zero value of each field is its
// shipped default (see Defaults); a ruleset overrides only the fields it
// sets.
type Policy struct {
	// FilenameRules apply to the names of MIME parts (and uuencoded and
	// TNEF attachments); ArchiveFilenameRules to names of archive members.
	FilenameRules        []FilenameRule `toml:"filename_rules" json:"filename_rules,omitempty"`
	ArchiveFilenameRules []FilenameRule `toml:"archive_filename_rules" json:"archive_filename_rules,omitempty"`
	TypeRules            []TypeRule     `toml:"type_rules" json:"type_rules,omitempty"`

	MaxMessageSize    Size   `toml:"max_message_size" json:"max_message_size,omitempty"`       // default 50MB
	MaxAttachmentSize Size   `toml:"max_attachment_size" json:"max_attachment_size,omitempty"` // default 50MB (decoded size of one part)
	TooLarge          Action `toml:"too_large" json:"too_large,omitempty"`                     // default quarantine

	Partial      Action `toml:"partial" json:"partial,omitempty"`             // message/partial: default quarantine
	ExternalBody Action `toml:"external_body" json:"external_body,omitempty"` // message/external-body: default quarantine
	Encrypted    Action `toml:"encrypted" json:"encrypted,omitempty"`         // password-protected archive or document: default quarantine
	Unscannable  Action `toml:"unscannable" json:"unscannable,omitempty"`     // limit hit, ambiguous structure, engine could not scan: default quarantine
	Infected     Action `toml:"infected" json:"infected,omitempty"`           // default deny (replace the part)

	// LocalInfected applies to infected mail whose sender is local
	// (LocalDomains, or MessageFacts.LocalSender): default drop, and the
	// postmaster and the local sender are told.
	LocalInfected Action `toml:"local_infected" json:"local_infected,omitempty"`
	// SilentViruses: signature globs of viruses known to forge senders; no
	// notice goes to a non-local sender of these. Default ["*"], all.
	SilentViruses []string `toml:"silent_viruses" json:"silent_viruses,omitempty"`

	// RenameTo is the name given by "rename"; __FILENAME__ is the
	// original, disarmed (see DisarmedName). Default "__FILENAME__.disarmed".
	RenameTo string `toml:"rename_to" json:"rename_to,omitempty"`

	Spam        SpamPolicy  `toml:"spam" json:"spam"`
	SubjectTags SubjectTags `toml:"subject_tags" json:"subject_tags"`

	// LocalDomains: sender domains (globs, "*.example.org") that are ours.
	LocalDomains []string `toml:"local_domains" json:"local_domains,omitempty"`
	// Postmaster receives incident reports. Default "postmaster".
	Postmaster string `toml:"postmaster" json:"postmaster,omitempty"`
	// NotifyPostmaster: a report per incident (default true).
	NotifyPostmaster *bool `toml:"notify_postmaster" json:"notify_postmaster,omitempty"`
	// NotifySender: notices to real senders of infected or blocked mail
	// (default false; local senders of infected mail are always told).
	NotifySender *bool `toml:"notify_sender" json:"notify_sender,omitempty"`

	// Normalize: when a delivered message is written anew in canonical
	// form (one boundary per multipart, one encoding and one name per
	// part): "ambiguous" (the default) when readers could read it
	// differently, "always", or "never".
	Normalize string `toml:"normalize" json:"normalize,omitempty"`
}

// The normalize modes.
const (
	NormalizeAmbiguous = "ambiguous"
	NormalizeAlways    = "always"
	NormalizeNever     = "never"
)

const defaultRenameTo = "__FILENAME__.disarmed"

// dangerous lists extensions that run code when opened on a common desktop:
// MailScanner's starter set and what mail-borne malware has used since.
const dangerous = `exe|com|scr|pif|bat|cmd|cpl|vbs|vbe|vb|js|jse|wsf|wsh|wsc|ws|hta|lnk|reg|chm|hlp|` +
	`msi|msp|mst|msc|jar|jnlp|ps1|ps1xml|ps2|ps2xml|psc1|psc2|psm1|psd1|msh|msh1|msh2|mshxml|msh1xml|msh2xml|` +
	`scf|inf|ins|isp|sct|shb|shs|iso|img|vhd|vhdx|vmdk|dmg|appx|appxbundle|msix|msixbundle|appref-ms|` +
	`application|gadget|dll|sys|drv|ocx|xll|xbap|mde|ade|adp|accde|mda|settingcontent-ms|library-ms|` +
	`search-ms|searchconnector-ms|diagcab|iqy|slk|one|ceo`

// Character classes shared by the default rules. \s is ASCII only in RE2;
// \p{Z} adds what NFKC leaves of Unicode spaces (U+2028, U+2029).
const (
	controlChars = `[\x00-\x1f\x7f-\x9f]`
	bidiChars    = `[\x{061c}\x{180e}\x{200b}\x{200e}\x{200f}\x{202a}-\x{202e}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{fff9}-\x{fffb}\x{feff}]`
	space        = `[\s\p{Z}]`
)

var commonHead = []FilenameRule{
	{Deny, controlChars, "Control character in file name", "The file name contains a control character"},
	{Deny, bidiChars, "Bidirectional or invisible formatting character in file name", "The file name contains a right-to-left override or another invisible character that disguises its real extension"},
}

var commonTail = []FilenameRule{
	{Deny, space + `{5,}`, "Long run of spaces in file name", "The file name contains a long gap that hides its real extension"},
	{Deny, `\{[0-9a-f-]{25,}\}`, "CLSID in file name", "The file name ends in a Windows class identifier that hides its real type"},
	{Deny, `(^|[/\\])\.\.([/\\]|$)`, "Parent directory in file name", "The file name tries to reach a parent directory"},
	{Deny, `\.[a-z0-9]{1,6}[\s\p{Z}_]*\.(` + dangerous + `)$`, "Hidden double extension", "The file name hides an executable extension behind a harmless one"},
	{Deny, `\.(` + dangerous + `)$`, "Executable or script file name", "Files of this type can run programs on your computer"},
	{Deny, `[.\s\p{Z}]$`, "Trailing dot or space in file name", "The file name ends in a dot or a space, which Windows removes to reveal another extension"},
}

var defaultFilenameRules = concat(commonHead,
	[]FilenameRule{{Deny, `^.{150,}`, "Very long file name", "The file name is too long (150 characters or more)"}},
	commonTail,
	[]FilenameRule{{Rename, `[/\\:]`, "Path separator in file name", "The file name contains a directory or drive part"}},
)

var defaultArchiveFilenameRules = concat(commonHead,
	[]FilenameRule{
		{Deny, `(^|[/\\])[^/\\]{150,}$`, "Very long file name in archive", "A file name in the archive is too long (150 characters or more)"},
		{Deny, `^([/\\]|[a-z]:)`, "Absolute path in archive", "The archive holds a file with an absolute path"},
		// An OOXML document (docm, xlsm, pptm, or one renamed docx) is a
		// zip that unpack opens: its VBA project is a member of its own.
		{Deny, `(^|/)vbaProject\.bin$`, "Office document with macros", "Office documents with macros are not accepted by mail"},
	},
	commonTail,
)

var defaultTypeRules = []TypeRule{
	{Deny, "executable", "Executable program", "Executable programs are not accepted by mail, whatever their name"},
	{Deny, "script", "Script", "Scripts are not accepted by mail, whatever their name"},
	{Deny, "office-macro", "Office document with macros", "Office documents with macros are not accepted by mail"},
	{Deny, "disk-image", "Disk image", "Disk images are not accepted by mail"},
}

func concat[T any](lists ...[]T) []T {
	var out []T
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// DefaultMaxMessageSize is the shipped max_message_size.
const DefaultMaxMessageSize Size = 50 << 20

// Defaults returns the shipped policy (fresh copies of every list).
func Defaults() Policy {
	return Policy{
		FilenameRules:        concat(defaultFilenameRules),
		ArchiveFilenameRules: concat(defaultArchiveFilenameRules),
		TypeRules:            concat(defaultTypeRules),
		MaxMessageSize:       DefaultMaxMessageSize,
		MaxAttachmentSize:    50 << 20,
		TooLarge:             Quarantine,
		Partial:              Quarantine,
		ExternalBody:         Quarantine,
		Encrypted:            Quarantine,
		Unscannable:          Quarantine,
		Infected:             Deny,
		LocalInfected:        Drop,
		SilentViruses:        []string{"*"},
		RenameTo:             defaultRenameTo,
		Spam: SpamPolicy{
			Action:        Junk,
			HighThreshold: 15,
			HighAction:    Quarantine,
		},
		SubjectTags: SubjectTags{
			Virus:   ptr("{Virus?}"),
			Blocked: ptr("{Blocked?}"),
			Spam:    ptr("{Spam?}"),
		},
		LocalDomains:     []string{},
		Postmaster:       "postmaster",
		NotifyPostmaster: ptr(true),
		NotifySender:     ptr(false),
		Normalize:        NormalizeAmbiguous,
	}
}

// WithDefaults returns p with every unset (zero) field taken from Defaults.
func (p Policy) WithDefaults() Policy {
	return Override(Defaults(), p)
}

// Override returns base with every field that is set (non-zero) in over
// replacing base's, key by key; nested tables (spam, subject_tags) are
// merged field by field too. Lists are replaced whole; an explicitly empty
// list is set.
func Override(base, over Policy) Policy {
	out := base
	overlay(reflect.ValueOf(&out).Elem(), reflect.ValueOf(over))
	return out
}

func overlay(dst, src reflect.Value) {
	for i := 0; i < src.NumField(); i++ {
		f := src.Field(i)
		if f.Kind() == reflect.Struct {
			overlay(dst.Field(i), f)
			continue
		}
		if !f.IsZero() {
			dst.Field(i).Set(f)
		}
	}
}

// Validate reports every error in p: unknown or misplaced actions,
// patterns that do not compile, unknown type categories.
func (p Policy) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, list := range []struct {
		name  string
		rules []FilenameRule
	}{{"filename_rules", p.FilenameRules}, {"archive_filename_rules", p.ArchiveFilenameRules}} {
		for i, r := range list.rules {
			if r.Action == UseDefaults {
				continue
			}
			if r.Action == "" {
				add(fmt.Errorf("%s[%d]: missing action", list.name, i))
			}
			add(r.Action.check(fmt.Sprintf("%s[%d]", list.name, i), partActions...))
			if _, err := regexp.Compile("(?i)" + r.Pattern); err != nil {
				add(fmt.Errorf("%s[%d]: pattern %q: %w", list.name, i, r.Pattern, err))
			}
		}
	}
	for i, r := range p.TypeRules {
		if r.Action == UseDefaults {
			continue
		}
		if r.Action == "" {
			add(fmt.Errorf("type_rules[%d]: missing action", i))
		}
		add(r.Action.check(fmt.Sprintf("type_rules[%d]", i), partActions...))
		t := strings.ToLower(strings.TrimSpace(r.Type))
		if _, ok := categories[t]; !ok && !strings.Contains(t, "/") {
			add(fmt.Errorf("type_rules[%d]: type %q is neither a category (executable, script, office-macro, disk-image) nor a MIME type", i, r.Type))
		}
	}
	for name, a := range map[string]Action{
		"too_large": p.TooLarge, "partial": p.Partial, "external_body": p.ExternalBody,
		"encrypted": p.Encrypted, "unscannable": p.Unscannable, "infected": p.Infected,
	} {
		add(a.check(name, partActions...))
	}
	switch p.Normalize {
	case "", NormalizeAmbiguous, NormalizeAlways, NormalizeNever:
	default:
		add(fmt.Errorf("normalize: %q is not one of ambiguous, always, never", p.Normalize))
	}
	add(p.LocalInfected.check("local_infected", messageActions...))
	add(p.Spam.Action.check("spam.action", spamActions...))
	add(p.Spam.HighAction.check("spam.high_action", spamActions...))
	return errors.Join(errs...)
}
