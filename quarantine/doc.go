// Package quarantine is the store of withheld originals. Each entry is a
// directory Dir/<id>/ holding "message", the original message byte for
// byte, and "report.json", a Report (envelope, verdicts, rules hit,
// decisions, time). Put writes an entry durably before the caller delivers
// anything: both files are written in Dir/.tmp.<id>/ (created
// exclusively), synced, then the directory is renamed to Dir/<id> (never
// over anything) and synced, so an entry is either complete or absent. A
// failed Put is an error the caller turns into a temporary failure (exit
// 75).
//
// Ids look like 20261127-154843-123456-9f86d081884c: UTC date, time and
// microseconds, then 48 random bits. They sort by time, are unique (the
// entry directory is created exclusively), and are validated strictly
// before any use, so an id from a command line cannot reach outside Dir.
// Nothing taken from the message is ever part of a path.
//
// # Local users are hostile
//
// Under Postfix's mailbox_command a delivery runs as the recipient, with
// no root to lean on, so users must be able to add entries to a shared
// directory. What keeps them from each other is the kernel, not us:
//
//   - The top directory is root's, sticky, and others may write and
//     search it but not read it (install.sh: root:GROUP 3773; Ensure,
//     as root, makes it so when it is missing). Users cannot list it,
//     and the sticky bit keeps each entry in its author's hands: nobody
//     else can remove, rename or replace it. openTop refuses a top
//     directory owned by another user, or writable by others without
//     the sticky bit.
//   - Entries sit directly in it: no day or staging directory shared by
//     several users, which the first user to create it would own (and
//     could then empty of others' entries). Each writer's staging
//     directory, .tmp.<id>, is its own, in the same sticky directory.
//   - Entries are 0750 and their files 0640, group GROUP (set-gid top
//     directory), or 0700/0600 without a group: only their author, root
//     and GROUP read them.
//   - The author of an entry is the owner of its directory, as fstat(2)
//     reports it, never what report.json says; its files must be
//     regular, owned by that author, with a single link. Report.Author
//     carries it, and "quarantine list" shows it.
//   - Nothing below the top directory is reached by a path that could
//     follow a symbolic link: openat(2) with O_NOFOLLOW on descriptors
//     (fd.go), fchmod/fchown on the descriptors of the files created.
//
// What a user can still do: read and rewrite their own entries (the
// quarantined copies of their own mail, written as them), and fill the
// disk with entries of their own. Because a user writes their own
// report, an entry written by a user is released only to that user
// (MayRelease), and a release always has the message scanned again by
// the engines (the cmd side does it, as an unprivileged user).
//
// The old layout, Dir/YYYYMMDD/<id>/ with a shared Dir/tmp, is moved
// into place by Ensure and Purge when run as root.
//
// Release marks (release.go): a message released with "quarantine
// release --resend" comes back through the MTA below an
// X-Scandeliver-Released field signed with an Ed25519 key (private
// 0600 root, public readable by all, because the delivery that verifies
// it runs as the recipient); see ReleaseField for what it proves and
// what it waives.
package quarantine
