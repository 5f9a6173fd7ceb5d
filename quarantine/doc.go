// Package quarantine is the store of withheld originals. Each entry is a
// directory Dir/YYYYMMDD/<id>/ holding "message", the original message byte
// for byte, and "report.json", a Report (envelope, verdicts, rules hit,
// decisions, time). Put writes an entry durably before the caller delivers
// anything: both files are written in Dir/tmp/<id>/, synced, the directory
// synced, then renamed into place and its parents synced, so an entry is
// either complete or absent. A failed Put is an error the caller turns into
// a temporary failure (exit 75).
//
// Ids look like 20261127-154843-123456-9f86d081884c: UTC date, time and
// microseconds, then 48 random bits. They sort by time, are unique (the
// entry directory is created exclusively), and are validated strictly
// before any use, so an id from a command line cannot reach outside Dir.
// Nothing taken from the message is ever part of a path.
//
// Access: entries are mode 0640 and directories 0750, group Group
// (owner: the running user, root in production), so that root and the
// configured group (the quarantine tool's users) can read them. Without a
// Group, modes are 0600 and 0700.
package quarantine
