// Package pipeline carries one message through scandeliver's stages:
// spool + envelope + configuration snapshot → one Outcome per recipient.
//
// The front doors (cmd/scandeliver's one-shot delivery, and serve) call
// Deliver; Deliver calls the stages in order: unpack (the part tree), scan
// (the engines' verdicts, and the canary), rules (the verdict for each
// recipient), sanitize (the rewritten message), deliver (Maildir, mbox),
// quarantine (the original) and notify (postmaster, real sender). The
// stages know nothing of each other; only this package composes them.
//
// # Who owns what
//
//   - A Message is the spool, read exactly once from its source by
//     NewMessage and then read many times, never modified; the caller
//     closes it. Deliver writes rewritten copies to spools of its own.
//   - A Snapshot is the configuration as values (Config, whose section
//     types carry the TOML tags cmd decodes into) plus the engines built
//     from it. It is immutable: serve shares one between sessions, and a
//     reload builds a new one. Only cmd reads the configuration file and
//     the environment; this package never does.
//   - The Envelope is the caller's: the sender, and per recipient the
//     address, the home directory, the destination and, in one-shot mode
//     as root, the system user to become before the mailbox is touched.
//
// # Many recipients
//
// The message is unpacked and scanned once for every group of recipients
// the engines see alike (all of them, unless a spam engine takes
// per-user settings); each recipient then gets its own ruleset, verdict,
// quarantine entry, delivery and notices, and its own Outcome, whose Log
// holds that recipient's fields of the summary line.
//
// # What the front doors provide
//
// Options.Write replaces the final write of each recipient's message
// (serve: a child process with the system user's credentials, so that
// the server never changes user; by default the process itself writes,
// after switching to Recipient.User for good when it runs as root).
// Options.CanaryFailed replaces the canary run during deliveries (serve
// runs Canary on a timer and passes its result).
//
// # Errors
//
// Every stage can fail temporarily (engine down, disk full, lock timeout);
// the error travels up unchanged in Outcome.Err, after anything
// half-written has been removed. ActionOf classifies it: a RejectError is
// Rejected, deliver.ErrNoUser is NoUser, anything else is TempFail. The
// front doors map those to exit codes or LMTP replies.
package pipeline
