// Package scan runs the message's objects through scan engines and
// collects their verdicts.
//
// An Object is something to scan: a leaf part as unpack decoded it (ID is
// its part path, "1.2"), or the whole raw message (ID "message", Raw
// true) for engines that parse mail themselves. Object IDs never come
// from the message: no file name from a message reaches an engine, a
// path or a shell.
//
// An Engine answers with one Verdict per object it takes, or with an
// error meaning it could not answer (down, timed out, garbled reply):
// that is never read as clean. Which objects an engine takes is its
// Config.Send ("parts", "raw", "both"); the others are not sent to it.
//
// Run drives several engines concurrently (bounded), each under its own
// timeout, and merges their verdicts: any "infected" makes the message
// infected; engines that could not answer are listed with their on_error
// action for the caller (cmd) to apply: tempfail, pass or quarantine.
//
// The protocol clients live in subpackages that know nothing of this
// package: scan/clamd, scan/spamd, scan/rspamd, scan/command,
// scan/builtin (EICAR and ClamAV .hdb/.hsb hash databases), and
// scan/addr (addresses and failover). New builds an Engine from one
// [[engine]] table of the config.
//
// # Defaults
//
//	type     kind   send   on_error  timeout  max_size
//	clamd    virus  both   tempfail  60s      0 (clamd decides: StreamMaxLength)
//	spamd    spam   raw    pass      60s      500KB (spamc's default)
//	rspamd   spam   raw    pass      60s      0 (rspamd decides)
//	command  virus  parts  tempfail  60s      0
//	builtin  virus  parts  tempfail  60s      0
//
// An object above max_size is not sent: its verdict is "unscannable"
// with the reason. For a spam engine that is what spamc does (the message
// passes unscored); policy reads Kind to tell the two apart.
package scan
