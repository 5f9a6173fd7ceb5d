// Code written once from man/scandeliver.toml.5; now the source of its
// key reference (and of etc/scandeliver.toml and check-config).

package confdoc

//go:generate go test ../cmd/scandeliver -run TestReference -update

// Tables documents every key of the configuration file, in the order of
// scandeliver.toml(5). The text is mdoc (man/scandeliver.toml.5 shows it
// as it is; the example configuration and check-config show it as plain
// text). TestReference fails when a key of the configuration structs has
// no item here, or an item names no key.
var Tables = []Table{
	{
		Name: "deliver",
		Items: []Item{
			{Keys: []string{"default"}, Arg: "Ar path", Text: `The destination when
.Fl \-to
is not given.
A path ending in
.Ql /
is a Maildir, any other path an mbox file;
.Ql ~/
is the recipient's home directory.
Default:
.Ql \(dq~/Maildir/\(dq .`},
			{Keys: []string{"lock_timeout"}, Arg: "Ar duration", Text: `How long to wait for the dotlock and the
.Xr fcntl 2
lock of an mbox before deferring the message.
Default:
.Ql \(dq60s\(dq .`},
			{Keys: []string{"stale_lock"}, Arg: "Ar duration", Text: `A dotlock older than this, or whose process is gone, is removed.
Default:
.Ql \(dq5m0s\(dq .`},
			{Keys: []string{"junk"}, Arg: "Ar path", Text: `Where spam goes when the policy says
.Ql junk .
Default: the Maildir++ folder
.Pa .Junk
of a Maildir destination; an mbox destination gets it in place, tagged.`},
		},
	},
	{
		Name: "spool",
		Items: []Item{
			{Keys: []string{"dir"}, Arg: "Ar path", Text: `Directory of the spool file for messages larger than
.Ic memory .
The file is created with mode 0600 and unlinked at once.
Default:
.Ql \(dq\(dq ,
meaning
.Ev TMPDIR ,
else
.Pa /tmp .`},
			{Keys: []string{"memory"}, Arg: "Ar size", Text: `Messages up to this size are held in memory.
Default:
.Ql \(dq1MB\(dq .`},
			{Keys: []string{"max_size"}, Arg: "Ar size", Text: `The hard size ceiling: a message above it is refused without being
stored (the spool stops reading at the ceiling and frees what it read; no
quarantine copy): exit 65 in one-shot mode, so that the mail transport
agent bounces it, 552 over LMTP, and the postmaster is told.
Between
.Ic [policy] max_message_size
and the ceiling a message is quarantined whole.
0 means 4 times the largest
.Ic max_message_size
of
.Ic [policy]
and the rulesets (200MB with the default 50MB), or no ceiling when one of
them is unlimited.
Default: 0.`},
		},
	},
	{
		Name: "quarantine",
		Items: []Item{
			{Keys: []string{"dir"}, Arg: "Ar path", Text: `Where the originals of withheld messages and their reports are kept.
Default:
.Ql \(dq/var/spool/scandeliver/quarantine\(dq .`},
			{Keys: []string{"group"}, Arg: "Ar name", Text: `A group allowed to read the quarantine besides root.
Default:
.Ql \(dq\(dq
(root only).`},
			{Keys: []string{"trusted_authors"}, Arg: "Bq Ar user ...", Text: `Users (names or uids), besides root, whose quarantine entries may be
released to any recipient: the user a delivery daemon runs as.
An entry written by any other user, such as a delivery running as the
recipient under Postfix's
.Cm mailbox_command ,
is released only to that user, since that user could have written its
report.
Default: none.`},
		},
	},
	{
		Name: "log",
		Items: []Item{
			{Keys: []string{"syslog"}, Arg: "Ar bool", Text: `Send the line logged for each message to syslog's mail facility as well
as to standard error.
Default: true.`},
			{Keys: []string{"level"}, Arg: "Ar level", Text: `One of
.Ql debug ,
.Ql info ,
.Ql warn ,
.Ql error .
Default:
.Ql \(dqinfo\(dq .`},
		},
	},
	{
		Name: "limits",
		Intro: `Bounds on unpacking (package
.Sy unpack ) .
Hitting a limit never aborts the message: the part concerned is marked
unscannable and the policy decides
.Pq Ic unscannable No in Ic [policy] .`,
		Items: []Item{
			{Keys: []string{"max_message_bytes"}, Arg: "Ar size", Text: `Largest message unpacked.
Default:
.Ql \(dq100MB\(dq .`},
			{Keys: []string{"max_header_bytes"}, Arg: "Ar size", Text: `Largest header of one part.
Default:
.Ql \(dq1MB\(dq .`},
			{Keys: []string{"max_mime_depth"}, Arg: "Ar n", Text: `Deepest MIME nesting.
Default: 64.`},
			{Keys: []string{"max_parts"}, Arg: "Ar n", Text: `Most parts in the tree.
Default: 10000.`},
			{Keys: []string{"max_archive_depth"}, Arg: "Ar n", Text: `Deepest nesting of archives.
Default: 8.`},
			{Keys: []string{"max_archive_members"}, Arg: "Ar n", Text: `Most members read from one archive.
Default: 10000.`},
			{Keys: []string{"max_expanded_bytes"}, Arg: "Ar size", Text: `Most bytes decoded and decompressed for one message.
Default:
.Ql \(dq512MB\(dq .`},
			{Keys: []string{"max_ratio"}, Arg: "Ar number", Text: `Largest expansion ratio of an archive (checked past 1 MB of output).
Default: 100.`},
			{Keys: []string{"timeout"}, Arg: "Ar duration", Text: `Time budget of unpacking, within the message's
.Ic [scan] budget .
Default:
.Ql \(dq60s\(dq .`},
		},
	},
	{
		Name: "scan",
		Items: []Item{
			{Keys: []string{"concurrency"}, Arg: "Ar n", Text: `How many engines run at once; 0 means all.
Default: 0.`},
			{Keys: []string{"budget"}, Arg: "Ar duration", Text: `Time budget of one message: unpacking and every engine together.
When it runs out, the parts not yet unpacked are unscannable and the
engines that have not answered are not waited for, whatever their own
.Ic timeout :
the message is unscannable and
.Ic [policy] unscannable
applies (by default it is withheld and quarantined); no engine's
.Ic on_error
does.
Default:
.Ql \(dq30s\(dq .`},
		},
	},
	{
		Name:  "engine",
		Array: true,
		Intro: `Each
.Ic [[engine]]
table is one scan engine; any number, each with a name.
Every part with content of its own and the raw message go through every
engine (see
.Ic send ) ;
any engine saying infected wins.
A part that unpacking stopped at a
.Ic [limits]
limit (a decompression bomb, archives nested too deep, too many members),
and any archive holding one, is not sent to the engines, nor is the raw
message, which holds it too: the engine would open the same bomb, and its
verdict could not change the outcome.
When an engine reads the raw message
.Pf ( Ic send
is
.Ql raw
or
.Ql both ) ,
such a message is unscannable as a whole
.Pq Ic [policy] unscannable ;
with engines that read parts only, only the part is.
Without any
.Ic [[engine]]
table, the builtin engine alone is used.`,
		Items: []Item{
			{Keys: []string{"name"}, Arg: "Ar string", Text: `Name used in logs and headers.`},
			{Keys: []string{"type"}, Arg: "Ar string", Text: `.Ql clamd
(ClamAV's daemon: INSTREAM, FILDES over a UNIX socket, IDSESSION),
.Ql spamd
(SpamAssassin's SPAMC protocol),
.Ql rspamd
(HTTP
.Pa /checkv2 ) ,
.Ql command
(any program) or
.Ql builtin
(the EICAR test file and ClamAV hash databases, no daemon; EICAR as its
specification defines it and ClamAV detects it: a part that starts with
the 68-byte string followed only by white space, 128 bytes at most, not
the string inside a larger part).`},
			{Keys: []string{"address"}, Arg: "Ar string | list", Text: `.Ql unix:/path
or
.Ql tcp:host:port ;
a list is tried in order (failover).`},
			{Keys: []string{"timeout"}, Arg: "Ar duration", Text: `Per engine.
Default:
.Ql \(dq60s\(dq .`},
			{Keys: []string{"on_error"}, Arg: "Ar action", Text: `What an engine that cannot answer (down, timeout, garbled reply) does to the
message:
.Ql tempfail
(exit 75, the default for virus engines),
.Ql pass
(deliver, with an
.Ql X-Scandeliver-Warning:
field; the default for spam engines) or
.Ql quarantine .`},
			{Keys: []string{"send"}, Arg: "Ar string", Text: `.Ql parts ,
.Ql raw
or
.Ql both .
Default: both for clamd, raw for spamd and rspamd, parts for command and
builtin.`},
			{Keys: []string{"max_size"}, Arg: "Ar size", Text: `Objects above this are not sent and are
.Dq unscannable .
Default: 500KB for spamd (as spamc), else none.`},
			{Keys: []string{"fildes"}, Arg: "Ar bool", Text: `clamd: pass file descriptors over a UNIX socket.
Default: true.`},
			{Keys: []string{"session"}, Arg: "Ar bool", Text: `clamd: several objects per connection.
Default: true.`},
			{Keys: []string{"connections"}, Arg: "Ar n", Text: `clamd: connections used at once.
Default: 2.`},
			{Keys: []string{"request"}, Arg: "Ar string", Text: `spamd:
.Ql SYMBOLS ,
.Ql REPORT
or
.Ql CHECK .
Default: SYMBOLS.`},
			{Keys: []string{"command"}, Arg: "Ar list", Text: `command: the argument vector, run without a shell;
.Ql {}
is replaced by the path of the file to scan (a safe generated name in a
private directory), else the path is appended.`},
			{Keys: []string{"infected", "clean", "error"}, Arg: "Ar list", Text: `command: exit codes.
Default: infected [1], clean [0]; any other code is an error.`},
			{Keys: []string{"signature_pattern"}, Arg: "Ar regexp", Text: `command: where the signature name is in the output (group 1).`},
			{Keys: []string{"temp_dir"}, Arg: "Ar path", Text: `command: where the private directories are made
.Pf ( Pa scandeliver-cmd- Ns Ar pid Ns Pa -* ,
mode 0700, one per scan, removed after it).
The scanner runs in a process group of its own, killed on timeout, and is
killed by the kernel if scandeliver dies (even by SIGKILL); the directories
that a killed scandeliver left are removed when the engine is next set up
(only ours: our uid, mode 0700, not a symbolic link, its process gone).
Default: the
.Ev TMPDIR
directory, else
.Pa /tmp .`},
			{Keys: []string{"databases"}, Arg: "Ar list", Text: `builtin: ClamAV
.Pa .hdb
and
.Pa .hsb
files (MD5, SHA-1, SHA-256 with size), or directories of them.`},
			{Keys: []string{"no_eicar"}, Arg: "Ar bool", Text: `builtin: do not detect EICAR.`},
			{Keys: []string{"cache_dir"}, Arg: "Ar path", Text: `builtin: where the
.Ar databases
are kept compiled (sorted tables, one file per engine), so that a
delivery maps them instead of parsing the text: with a million signatures
that is about half a second of CPU saved on every one-shot delivery.
The cache is written by whoever loads the databases and may write here
(run
.Nm scandeliver Cm check-config
as root after each database update), and a stale one is rebuilt when a
database file changes.
It is read only when this directory, every directory above it and the
file belong to root or to the user the delivery runs as and are writable
by no one else; else the text is loaded, and check-config warns.
.Ql \(dq\(dq
keeps no cache.
Default:
.Pa /var/cache/scandeliver .`},
		},
	},
	{
		Name: "policy",
		Intro: `What happens to a message and each part, decided by package
.Sy rules .
Every key has a shipped default; see
.Sx POLICY .`,
		Items: []Item{
			{Keys: []string{"filename_rules"}, Arg: "Ar list", Text: `Ordered
.Brq Ic action , pattern , log , report
tables matched against the name of each part: the first match decides.
.Ic pattern
is a case-insensitive RE2 regular expression (MailScanner's
.Pa filename.rules.conf
patterns read unchanged) matched on the NFKC-normalized name;
.Ic action
is
.Ql allow ,
.Ql deny
(replace the part by a text),
.Ql rename
(keep it under a disarmed name) or
.Ql defaults
(the shipped list at that place).`},
			{Keys: []string{"archive_filename_rules"}, Arg: "Ar list", Text: `The same, for names inside archives.`},
			{Keys: []string{"type_rules"}, Arg: "Ar list", Text: `.Brq Ic action , type , log , report
tables matched against the declared and detected type:
.Ic type
is a category
.Pf ( Ql executable ,
.Ql script ,
.Ql office-macro ,
.Ql disk-image )
or a MIME type glob.
By default executables are denied whatever their name.
Types are judged by content:
.Ql office-macro
also matches a legacy Office file (OLE2: .doc, .xls, .ppt) whose
directory holds a VBA project or whose workbook has an Excel 4.0 (XLM)
macro sheet, and
.Ql disk-image
matches ISO 9660, UDF, VHD, VHDX, VMDK, qcow2 and DMG images recognised
by their structure, whatever the part's name and declared type.
An encrypted Office document counts as a password-protected file
.Pq Ic encrypted .`},
			{Keys: []string{"max_message_size", "max_attachment_size"}, Arg: "Ar size", Text: `Default: 50MB each;
.Ic too_large
says what happens beyond.`},
			{Keys: []string{"too_large", "partial", "external_body", "encrypted", "unscannable"}, Arg: "Ar action", Text: `What a too large message or part,
.Ql message/partial ,
.Ql message/external-body ,
an encrypted archive or document, and a part that could not be judged
(limit hit, ambiguous structure, engine said unscannable) do.
Default:
.Ql quarantine
(the part is cut out where it can be, else the message is withheld).`},
			{Keys: []string{"infected"}, Arg: "Ar action", Text: `Default:
.Ql deny
(the infected part is replaced and the rest delivered).`},
			{Keys: []string{"local_infected"}, Arg: "Ar action", Text: `Infected mail from a local sender.
Default:
.Ql drop
(not delivered; the postmaster and the sender are told).`},
			{Keys: []string{"silent_viruses"}, Arg: "Ar list", Text: `Signature globs of viruses that forge senders: their senders are not told.
Default: all.`},
			{Keys: []string{"rename_to"}, Arg: "Ar template", Text: `Default:
.Ql __FILENAME__.disarmed .`},
			{Keys: []string{"spam"}, Arg: "Ar table", Text: `.Ic threshold
(0: the engine's own verdict),
.Ic action
.Pf ( Ql deliver ,
.Ql tag ,
.Ql junk
to the Maildir folder
.Pa .Junk ,
.Ql quarantine ) ,
.Ic high_threshold
and
.Ic high_action .`},
			{Keys: []string{"subject_tags"}, Arg: "Ar table", Text: `.Ic virus ,
.Ic blocked ,
.Ic spam :
text put before the Subject; empty for none.`},
			{Keys: []string{"local_domains"}, Arg: "Ar list", Text: `Domains whose senders are local.`},
			{Keys: []string{"postmaster"}, Arg: "Ar address", Text: `Who gets the notices.`},
			{Keys: []string{"notify_postmaster", "notify_sender"}, Arg: "Ar bool", Text: `Default: true and false.`},
			{Keys: []string{"normalize"}, Arg: "Ar mode", Text: `When a delivered message is written anew in one canonical form:
.Ql ambiguous
(the default) when mail readers could read it differently,
.Ql always
or
.Ql never .
Differently means on structure or content: readers split or decode some
part otherwise (the readings disagree), or the message has a boundary,
repeated
.Ql Content-Type
or
.Ql Content-Transfer-Encoding
fields or conflicting parameters that no reading models yet.
A file name that differs between
.Ql Content-Type
and
.Ql Content-Disposition ,
or holds a path or control characters, is not a reason: the filename
rules judge every name a reader gives, and a part whose name any rule
acts on is cut out anyway; nor is a repeated
.Ql Content-Disposition ,
or a transfer encoding on a multipart (every modelled reader ignores it).
Such messages, when clean, are delivered byte for byte, so that their
signatures (DKIM) stay valid.
The canonical form has one boundary of its own per multipart and no
preamble or epilogue, one
.Ql Content-Type ,
one file name and base64 for every part, the message's own line breaks,
and every content that any reading of the message gave; the header
.Ql X-Scandeliver-Normalized
says so.
It protects readers that split or decode the original otherwise.
Every message delivered rewritten (canonical form, a part replaced or
renamed, HTML disarmed, a signature added) is unpacked again, with every
reading, before it is delivered: each content and each file name any
reading of the rewrite gives must be one the message had and the verdict
kept, or one the rewrite made itself (a replacement text, disarmed HTML,
a new name).
A rewrite that fails is not delivered: the message is withheld as
unscannable (quarantined, a notice delivered in its place; the log line
has
.Ql unverified= ) .
A message delivered as it came is not unpacked again.`},
		},
	},
	{
		Name:  "ruleset",
		Array: true,
		Intro: `Each
.Ic [[ruleset]]
has a
.Ic name ,
a
.Ic match
table
.Pf ( Ic sender ,
.Ic recipient ,
.Ic domain :
lists of globs) and a
.Ic [ruleset.policy]
table with any key of
.Ic [policy] .
The first ruleset that matches the envelope overrides
.Ic [policy]
key by key.`,
		Covers: []string{"name", "match", "policy"},
		Items:  []Item{},
	},
	{
		Name: "notify",
		Items: []Item{
			{Keys: []string{"sendmail"}, Arg: "Ar list", Text: `The program that sends notices, and its leading arguments; the recipient
is added.
Default:
.Ql [\(dq/usr/sbin/sendmail\(dq] .`},
			{Keys: []string{"from", "from_name"}, Arg: "Ar string", Text: `Default:
.Ql postmaster ,
.Ql Mail scanner .`},
			{Keys: []string{"contact"}, Arg: "Ar address", Text: `Whom readers of a notice may contact.
Default: the postmaster.`},
			{Keys: []string{"lang"}, Arg: "Ar string", Text: `.Ql en
or
.Ql fr .`},
			{Keys: []string{"templates"}, Arg: "Ar path", Text: `Site templates
.Pa LANG/NAME.tmpl
overriding the shipped ones (replacement, withheld, postmaster, sender,
disinfected), and translations of reasons,
.Pa LANG/reasons.txt
(see
.Sx TEMPLATES ) .`},
			{Keys: []string{"timeout"}, Arg: "Ar duration", Text: `Default:
.Ql \(dq60s\(dq .`},
			{Keys: []string{"postmaster"}, Arg: "Ar address", Text: `Who gets the notices when
.Ic [policy]
names nobody.`},
			{Keys: []string{"senders"}, Arg: "Ar bool", Text: `Notices to real senders of blocked or infected mail; overrides
.Ic notify_sender
of
.Ic [policy] .
A sender is told only when provably real: a local sender, or an
.Ql Authentication-Results:
field of our own MTA
.Pq Ic authserv_id
with
.Ql dmarc=pass ,
or
.Ql spf=pass
for the envelope sender's domain; never the null sender,
.Ql MAILER-DAEMON ,
lists or bulk mail.`},
			{Keys: []string{"authserv_id"}, Arg: "Ar string", Text: `The authserv-id of our MTA's
.Ql Authentication-Results:
fields; fields from anyone else are ignored, and of ours only the topmost
is read (RFC 8601 section 5: our MTA adds its own above those that came
with the message).
The MTA must remove incoming fields that carry this authserv-id (OpenDMARC
and opendkim do for their own; with Postfix, a
.Cm header_checks
rule such as
.Ql /^Authentication-Results:[[:space:]]*mx\e.example\e.org([[:space:];]|$)/ IGNORE ,
which does not see the fields milters add), or a message that gets no field
of ours could bring a forged one.
Default: none trusted.`},
			{Keys: []string{"require_proof"}, Arg: "Ar bool", Text: `Senders of blocked (not infected) mail are told only when provably real,
as senders of viruses always are.
Default: true.`},
			{Keys: []string{"sender_interval"}, Arg: "Ar duration", Text: `At most one notice per sender per interval (state in the spool directory).
Default:
.Ql \(dq1h\(dq .`},
		},
		Outro: `.Pp
.Ql -t
and
.Ql -i
in
.Ic sendmail
are accepted for compatibility and dropped: the recipient is always passed
as an argument, never taken from the notice's header.`,
	},
	{
		Name: "headers",
		Items: []Item{
			{Keys: []string{"status"}, Arg: "Ar name", Text: `The status field.
Default:
.Ql X-Scandeliver-Status .
Every field we own that arrives with a message is removed before ours are
added, wherever it stands in the header and however long its line: the
status field (this name, and
.Ql X-Scandeliver-Status ) ,
every
.Ql X-Scandeliver-*
field
.Pf ( Ql X-Scandeliver-Quarantine-ID ,
which names the quarantine entry of a message whose original was kept, and
.Ql X-Scandeliver-Released ,
the release mark, once it has been checked) and every
.Ql X-Spam-*
field, so that a sender cannot forge a
.Dq clean
mark.`},
		},
	},
	{
		Name: "sanitize",
		Items: []Item{
			{Keys: []string{"signature_text", "signature_html"}, Arg: "Ar string", Text: `A signature added once (never twice: a message that already carries it is
left alone) to the first text and HTML body parts of clean messages.
Default: none.`},
			{Keys: []string{"disinfect"}, Arg: "Ar bool", Text: `When infected or denied files are members of a zip or tar attachment,
deliver the archive rebuilt without them, followed by a note listing what
was removed, instead of replacing the whole attachment.
Deeper nesting falls back to replacement.
Default: false.`},
		},
	},
	{
		Name: "html",
		Items: []Item{
			{Keys: []string{"disarm"}, Arg: "Ar bool", Text: `Disarm HTML parts: scripts, event handlers and script URLs removed;
iframe, object, embed, applet, form, meta refresh and base replaced by a
visible marker; web bugs replaced by a transparent pixel; links whose text
names another host than their target marked.
Default: true.`},
			{Keys: []string{"elements"}, Arg: "Ar table", Text: `Per element
.Pf ( Ql iframe ,
.Ql form ,
.Ql meta-refresh ,
\&...):
.Ql allow ,
.Ql disarm
or
.Ql remove .`},
			{Keys: []string{"block_remote_content"}, Arg: "Ar bool", Text: `Replace every remote image, not only web bugs.`},
			{Keys: []string{"trusted_hosts"}, Arg: "Ar list", Text: `Hosts (and their subdomains) never flagged as phishing.`},
			{Keys: []string{"max_bytes", "timeout"}, Arg: "", Text: `Budget of one part; beyond it the part is kept whole and marked unscannable.
Default: 8MB, 5s.`},
			{Keys: []string{"max_memory"}, Arg: "Ar size", Text: `Memory that all the HTML parts of one message may take together while they
are disarmed: the parsed tree of a part (about 15 times its size for
ordinary mail HTML, far more for hostile markup such as millions of empty
paragraphs) plus what is kept of earlier parts.
A part that does not fit is marked unscannable, and the unscannable policy
applies.
Default: 128MB.`},
		},
	},
	{
		Name: "canary",
		Items: []Item{
			{Keys: []string{"interval"}, Arg: "Ar duration", Text: `During deliveries, at most once per interval, EICAR is sent to every virus
engine but the builtin one; an engine that answers without detecting it
(an empty or broken signature database answers OK to everything) is
treated as down: its
.Ic on_error
applies, by default the message is deferred, and the failure is logged.
The time of the last canary is kept per user in the spool directory.
Default:
.Ql \(dq10m\(dq .`},
			{Keys: []string{"disable"}, Arg: "Ar bool", Text: `No canary.
Default: false.`},
		},
	},
	{
		Name: "release",
		Items: []Item{
			{Keys: []string{"key"}, Arg: "Ar path", Text: `Private Ed25519 key (mode 0600, root) that signs the
.Ql X-Scandeliver-Released:
mark of a message released with
.Ql scandeliver quarantine release --resend ;
its public half,
.Ar path Ns Pa .pub ,
is read by deliveries, which then deliver the marked message without
applying the policy's rules, on the engines' whole answer that it is not
infected (see
.Xr scandeliver 1 ) .
The mark binds the entry, the recipient, the time and the message's
SHA-256: a forged or altered mark is ignored.
Created at the first release.
Default:
.Pa /etc/scandeliver/release.key .`},
			{Keys: []string{"max_age"}, Arg: "Ar duration", Text: `How long a mark is honoured.
Default:
.Ql \(dq168h\(dq .`},
		},
	},
	{
		Name: "serve",
		Intro: `The resident LMTP server,
.Ql scandeliver serve .`,
		Items: []Item{
			{Keys: []string{"listen"}, Arg: "Ar address", Text: `.Ql unix:/path
or a loopback
.Ql host:port ;
.Fl \-listen
wins.
Default:
.Ql \(dqunix:/run/scandeliver/lmtp\(dq .`},
			{Keys: []string{"socket_group"}, Arg: "Ar name", Text: `The group that owns a UNIX socket (mode 0660): the group of the mail
transport agent's LMTP client
.Pq Ql postfix ;
empty leaves the server's group.`},
			{Keys: []string{"mailbox"}, Arg: "Ar template", Text: `Where a recipient's mail goes.
A path is a template for virtual mailboxes, such as
.Ql /var/vmail/%d/%n/Maildir/ ,
where
.Ql %u
is the whole address,
.Ql %n
the local part,
.Ql %d
the domain and
.Ql %%
a percent sign.
.Ql lmtp:unix:/run/dovecot/lmtp
passes the message on to an LMTP server.
Empty means system users (the local part names one) and
.Ic [deliver] default .`},
			{Keys: []string{"max_sessions"}, Arg: "Ar n", Text: `Concurrent LMTP sessions at most; past it, a new connection is answered
421 and the mail transport agent retries.
Default: 20.`},
			{Keys: []string{"max_size"}, Arg: "Ar size", Text: `Bigger messages are refused with 552.
Default:
.Ql \(dq64MB\(dq .`},
			{Keys: []string{"user"}, Arg: "Ar name", Text: `The user that
.Ql scandeliver serve ,
started as root, becomes for good once its socket is bound, before it
reads the configuration again or any mail; it may not be root.
With virtual mailboxes it must own the mailbox tree.
For system users a root broker that parses no mail stays behind to start
each user's writer
.Pq Xr scandeliver 8 .
Takes effect at start.
Default:
.Ql scandeliver
when that user exists, else
.Ql nobody .`},
			{Keys: []string{"timeout"}, Arg: "Ar duration", Text: `The time budget of one message, all its recipients; past it, what is not
delivered is deferred (451).
Default:
.Ql \(dq10m\(dq .`},
		},
	},
}
