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
// Access: entries are mode 0640 and directories 0750, group Group, so
// that root and the configured group (the quarantine tool's users) can
// read them; without a Group, 0600 and 0700. The top directory's mode is
// the administrator's: the shared directories Put creates (tmp, the day
// directories) copy it. For deliveries that run as the recipient
// (Postfix's mailbox_command), install.sh makes it root:GROUP mode 3773:
// others may create entries but not list; the set-gid bit gives new
// entries the group (a user who is not a member cannot chgrp, so Put
// creates the files before setting the entry directory's mode, which
// drops the inherited set-gid bit); the sticky bit stops users removing
// each other's entries. Prepare, run by root (selftest from cron, purge),
// creates the next days' directories owned by root, so that no user owns
// a day directory. A non-root writer that cannot open a shared directory
// to fsync it syncs the file system instead (syncfs). Limit: the user a
// delivery runs as owns the entries it wrote, so a recipient can read the
// quarantined copies of their own mail.
//
// Release marks (release.go): a message released with "quarantine
// release --resend" comes back through the MTA below an
// X-Scandeliver-Released field signed with an Ed25519 key (private
// 0600 root, public readable by all, because the delivery that verifies
// it runs as the recipient); see ReleaseField for what it proves.
package quarantine
