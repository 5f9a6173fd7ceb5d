// Package rules is the policy of scandeliver: it turns plain facts about a
// message and its parts (names, declared and detected types, sizes, engine
// verdicts, spam score) into decisions. It never sees a socket, a file or
// the part tree; unpack and scan produce the facts, sanitize applies the
// decisions, cmd wires them. Decide is a pure function: the same policy and
// facts always give the same verdict.
//
// # Configuration
//
// Policy is the [policy] table of the configuration file and each
// [[ruleset]] carries a [ruleset.policy] table of overrides. Every field has a
// toml tag. The zero value of every field means "the shipped default"
// (Defaults): a nil rule list, an empty action, a zero size, a nil pointer.
// An explicitly empty list (filename_rules = []) means "no rules at all".
// Decide and Select apply the defaults themselves, so a zero Policy is the
// shipped policy.
//
// # Filename rules
//
// A filename rule is {action, pattern, log, report}. The pattern is a regular
// expression in Go's RE2 syntax (https://golang.org/s/re2syntax), which reads
// MailScanner's filename.rules.conf patterns such as `\.exe$` unchanged,
// except for Perl-only features (backreferences, look-around). It is
// unanchored: use ^ and $. It is matched case-insensitively ((?i) is
// implied) against the name after normalization (NormalizeName: invalid
// UTF-8 replaced by U+FFFD, then Unicode NFKC, so that "ｅｖｉｌ．ｅｘｅ" and
// "evil.ℯxe" are matched as "evil.exe"). Rules are tried in order, the first
// match decides; no match allows. A rule {action = "defaults"} stands for
// the shipped list at that position, so a site can add rules before or
// after the defaults without copying them. Names of archive members are
// matched against ArchiveFilenameRules instead, which accept directories
// in names but refuse absolute paths and ".." components.
// ParseMailScannerRules reads MailScanner's filename.rules.conf format.
//
// In a ruleset, {action = "defaults"} still means the shipped list, not
// the [policy] list it overrides. Type rules accept {action = "defaults"}
// the same way.
//
// # Actions
//
// On a part: "allow" keeps it; "rename" keeps the content under a disarmed
// name (RenameTo, "__FILENAME__.disarmed"); "deny" replaces the part with an
// explanatory text. On the message: "quarantine" withholds the whole
// message (a short notice is delivered in its place), "drop" delivers
// nothing, "reject" makes scandeliver exit 65 so the MTA bounces. Whenever
// anything is not allowed, Verdict.Quarantine asks for the original to be
// stored first. When several findings touch one part or message, the most
// severe action wins: allow < rename < deny < quarantine < drop < reject.
//
// # Readings
//
// Where readers can read a message two ways, unpack gives every reading,
// and the facts say so (issue 11, section 2). A filename rule matches
// when any name a reading gives the part matches (PartFacts.OtherNames),
// the most severe match deciding. A part whose bounds or content the
// readings disagree on (PartFacts.Ambiguous) cannot be cut out: any
// finding on it withholds the whole message (quarantine). A part every
// reading agrees on and that is not the message itself
// (PartFacts.Separable) is cut out when it cannot be judged: "quarantine"
// for too_large, partial, external_body, encrypted and unscannable
// replaces that part (deny) and delivers the rest; elsewhere it withholds
// the message. A "quarantine" that a filename or type rule, or infected,
// asks for always withholds the message.
//
// # Type rules
//
// A type rule matches the declared or detected MIME type of a part against
// a category ("executable", "script", "office-macro", "disk-image") or a
// MIME type glob ("application/x-msdownload", "application/vnd.ms-*"); the
// first matching type rule decides. Type rules apply whatever the name, so a
// Windows executable named invoice.pdf is caught. Filename and type rules
// are independent: an "allow" in one never overrides a finding of the
// other, nor an infection.
package rules
