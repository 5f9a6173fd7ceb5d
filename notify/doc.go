// Package notify writes the texts scandeliver shows people and sends the
// notices: reports to the postmaster and notices to real senders, as
// RFC 5322 messages handed to sendmail(8) (an argument vector, never a
// shell: Mailer). It imports no other scandeliver package; cmd gives it the
// facts as a Data value.
//
// # Templates
//
// Texts are Go text/template files, embedded for English ("en") and French
// ("fr") and overridable per site: Templates.Dir/<lang>/<name>.tmpl is
// used in preference to the embedded one. The names:
//
//	replacement  the text that replaces a removed part (sanitize)
//	withheld     the short notice delivered instead of a quarantined message (sanitize)
//	disinfected  the note listing members removed from a rebuilt archive (sanitize)
//	postmaster   the report to the postmaster (has a "subject" template)
//	sender       the notice to the sender (has a "subject" template)
//
// Every template receives a Data; Render escapes every string in it first
// (Escape), so a name or subject taken from a message cannot start a new
// line, reorder text with bidirectional controls or send terminal escapes.
// The fields are documented on Data.
//
// # Who is told
//
// RealSender decides whether a sender may get a notice: never the null
// sender, MAILER-DAEMON and list or robot addresses, never mail marked
// Precedence: bulk/list/junk, carrying List-Id or Auto-Submitted other
// than "no" (RFC 3834 section 2), never the sender of a virus known to
// forge senders unless the sender is local, and, when proof is required,
// only a local sender or one our own MTA authenticated (RFC 8601
// Authentication-Results from our authserv-id with dmarc=pass or spf=pass
// for the envelope sender's domain). Only the topmost field with our
// authserv-id is read, the one our MTA added last (RFC 8601 section 5);
// the MTA must remove incoming fields with our authserv-id, or a sender
// without such a field of ours could forge one. RateLimit keeps it to one notice per
// sender per interval. A notice that cannot be sent is the caller's to log;
// it never changes a delivery's outcome.
package notify
