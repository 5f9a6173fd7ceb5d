// Package deliver writes one message durably into a Maildir or an mbox,
// the way procmail, maildrop, dovecot-lda and mail.local do, and looks up
// and becomes the local user mail is delivered for. It imports no other
// package of the project.
//
// # Destinations
//
// ParseDest follows procmail: a trailing "/" names a Maildir, anything
// else an mbox file; "~/" expands to the user's home; relative paths are
// errors. Dest.WithFolder addresses a Maildir++ subfolder (".Junk").
//
// # Contract of Deliver
//
// Deliver writes prefix (header fields the caller formatted, such as
// Return-Path: and Delivered-To:) and then exactly size bytes of msg. The
// message's bytes are not changed, except for mboxrd quoting in an mbox.
// msg is read with ReadAt only, so the caller's spool can be re-read.
//
// Durability, Maildir: missing directories (the Maildir itself, its
// parents, tmp/ new/ cur/, and for a folder its "maildirfolder" file) are
// made 0700 and their parent directory is fsynced. The message is written
// to a uniquely named file in tmp/ (O_EXCL, 0600), fsynced, closed, hard
// linked into new/ (renamed where hard links are refused) and new/ is
// fsynced before Deliver returns. A file in new/ is therefore always
// complete. After a crash or SIGKILL a partial file may remain in tmp/,
// which readers ignore and Maildir cleaners remove after 36 hours.
//
// Durability, mbox: the file (created 0600 when missing) gets the
// separator the previous message needs, a From_ line ("From sender
// asctime-date", MAILER-DAEMON for the null sender), the message with
// mboxrd quoting (every line matching ^>*From  gains a ">", including the
// first line and the lines of prefix) and a final newline plus an empty
// line. The data is fdatasynced (and the directory too when the file was
// created) before the locks are released and Deliver returns. A message
// that does not end in a newline gets one: the format cannot record it.
//
// On any error, nothing is left visible: a Maildir's tmp file is removed
// (and the file in new/, if fsyncing new/ failed); an mbox is cut back
// to its size before the attempt and fsynced. That includes ctx being
// cancelled: the caller cancels ctx on SIGTERM/SIGINT, and Deliver checks
// it between chunks of 256 KiB and before the commit, then rolls back.
//
// # mbox locking
//
// Locks are taken in this order and held for the whole append:
//
//  1. A dotlock, "mbox.lock", made with O_EXCL and holding the pid (the
//     liblockfile convention). When the directory is not writable for
//     us (EACCES/EPERM), as for /var/mail without setgid mail, the
//     dotlock is skipped and only the fcntl lock is used, as procmail
//     does. A dotlock is stale when its mtime is older than
//     Options.StaleLock (default 5 minutes; a holder refreshes it during
//     long appends), or at once when scandeliver wrote it on this host
//     and its pid no longer exists. A stale lock is renamed aside, checked
//     to be the same file, and removed.
//  2. An fcntl write lock on the whole file: an open-file-description
//     lock (F_OFD_SETLK, Linux 3.15+), which conflicts with the classic
//     POSIX locks of other programs and also between goroutines of one
//     process, falling back to F_SETLK on older kernels. It is polled
//     with F_SETLK-style non-blocking calls and a jittered backoff.
//
// Both waits share one deadline, Options.LockTimeout (default 60s);
// running out wraps ErrLockTimeout. After locking, the file at the path
// is checked to be the one locked (a reader may replace it meanwhile).
//
// Recovering from SIGKILL: before appending, scandeliver writes into its
// dotlock the device, inode and size of the mbox and a hash of the
// separator and From_ line it is about to write. The dotlock is removed
// only after the data is synced, while the fcntl lock is still held. A
// later deliverer that removes the lock of a dead (or stale) scandeliver
// then, holding both locks, cuts the mbox back to the recorded size, but
// only if it is the same file, longer than recorded, the recorded bytes
// are there, and no line after them starts with "From " (which would be
// a complete message appended since by a program that uses fcntl alone).
// It logs what it did or why it did not. Power loss is not covered: the
// dotlock is not fsynced.
//
// # Errors
//
// Every error is temporary (the caller defers the mail, EX_TEMPFAIL)
// unless it wraps ErrBadDest (the destination can never work as written)
// or, from LookupUser, ErrNoUser. Errors wrap the underlying cause, so
// callers can also test for fs.ErrPermission, syscall.ENOSPC,
// ErrLockTimeout or context.Canceled.
//
// # Users
//
// LookupUser reads the user database (with CGO_ENABLED=0, /etc/passwd and
// /etc/group); DropPrivileges, when running as root, sets the
// supplementary groups, gid and uid, and checks that root cannot be
// regained. The caller must drop privileges before Deliver touches any
// mailbox of that user.
//
// # Reading
//
// ReadMbox reads an mboxrd file back (for tests, and for later use such
// as quarantine listings), undoing the quoting; QuoteMboxrd and
// UnquoteMboxrd are the quoting on its own.
package deliver
