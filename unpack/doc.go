// Package unpack owns the spool and the tree of parts of one message.
//
// The message is read once from stdin into a Spool (memory up to a
// threshold, then an unlinked mode-0600 file). Every later stage re-reads
// the spool; nothing modifies it.
//
// Unpack turns the spooled message into a Message: a tree of every object
// a mail client could open, each Part with the facts the rules need (path,
// declared and detected type, name and safe name, size, SHA-256, origin,
// encryption, problems). It opens nested multiparts of any kind,
// message/rfc822, message/global and message/news (as messages, even when
// wrongly transfer-encoded), every transfer encoding (lenient base64 and
// quoted-printable; unknown encodings kept raw with a problem), names from
// Content-Disposition and Content-Type with RFC 2231 and RFC 2047,
// uuencoded and yEnc blocks in plain text bodies, TNEF (winmail.dat),
// archives and compressed streams (package archive), and messages
// attached as files (an .eml sent as application/octet-stream or inside
// an archive; format "message"), recursively.
// Containers are identified by content, never by declared name or type.
// OLE2 compound files (legacy Office documents, .msg, .msi) are not
// opened as containers, engines see them whole, but their directory is
// read (package ole): a VBA project or an Excel 4.0 (XLM) macro sheet
// sets Macros, an encrypted document is
// Encrypted and unscannable, a broken one unscannable. Disk images (ISO
// 9660, UDF, VHD, VHDX, VMDK, qcow2, DMG), which mimetype cannot tell
// from their first bytes, get their type from their structure.
//
// Malformed input never makes Unpack fail: it yields parts with Problems.
// Unpack fails only for temporary trouble: reading the message, the
// temporary directory, or the caller's context.
//
// # Readings
//
// Mail readers read broken MIME in different ways, and an attacker picks
// bytes that a scanner reads one way and the victim's reader another.
// Unpack models the widely used readers (Readers): the strict RFC
// reading, Thunderbird, Outlook/Exchange, Go's net/mail and
// mime/multipart, Python's email (policy.default and compat32), ripmime
// and munpack. Where the bytes allow more than one interpretation, it
// builds every reading, not one tree: the walk follows the first reader
// of the set, and at each point where readers decide differently (a
// repeated Content-Type, Content-Transfer-Encoding or
// Content-Disposition field, a repeated or RFC 2231 parameter, a
// boundary that some readers match as a prefix, base64 that goes on
// after its padding...) the others get an alternative reading of the
// entity concerned (Part.Alternatives): the same bytes walked again the
// way those readers walk them, with its own subtree. A well-formed
// message has one reading and costs what it cost before readings: the
// other readings are built only at the points where the bytes diverge.
//
// Every part records which readers see it as it is (Part.Readers) and
// whether some reader does not (Part.Ambiguous): a finding there cannot
// be cut out of the message, because another reader would still see
// the bytes elsewhere. A part every reader agrees on (Readers is
// AllReaders) can be cut out. A part of an alternative that is the same
// bytes read the same way as a part of the first reading is not built
// twice: it names that part (Part.Same), which adds the readers. File
// names that readers take differently (name against filename, first or
// last of repeated parameters, RFC 2231 against plain, encoded words or
// not) are all kept (Part.Names): a name rule must match any of them.
// Where a reader finds MIME structure inside a part's content (ripmime
// reads MIME fields in any decoded content: every block of them, wherever
// it is in the content, and again in each content it extracts, within
// MaxParts and MaxMIMEDepth, unless a content over innerGate (128 KiB)
// starts none of its first ripmimeLines lines, as fgets cuts them, with
// one of the fields ripmime tests a file's first 100 lines for; munpack
// reads the parts or
// the entity it finds by their delimiter or field lines in the text body
// of a message, also one declared text/plain), that reading is a child
// of the part, of origin "inner", for that reader only. A boundary
// parameter on a type that is not multipart makes ripmime read the
// entity as a multipart: an alternative for ripmime. ripmime's rules are
// ported from its source (ripmime.go): its own split of a Content-Type's
// parameters and its quotes ('B' reads B), its delimiter lines (a line
// that starts with "-" and holds the boundary within its first four
// bytes and as many letters and digits as the boundary: "--'B'" and "-B"
// delimit, "--Bx" does not), its reading of the Content-Transfer-Encoding
// value (the first of base64, 7bit, 8bit, quoted-printable, binary, uu
// found in it) and of uuencode begin lines. ripmime also gives the user
// the preamble of the multipart a message starts with, and what follows
// a close delimiter (ripOuter): children of origin "inner" of the
// multipart, for ripmime only.
// Message.Parts lists every reading's parts, so every distinct content
// and name reaches the engines and the rules. Each point of disagreement
// is also a problem of kind "ambiguous" on the part, for people; the
// readings are what policy acts on.
//
// The choices each reader makes are QUIRK: comments in the source, and
// the tests compare them with what Python's email, ripmime and munpack
// extract (../shared/readers/readers.py). What cannot be enumerated
// within the limits (readings nested too deep, too many bytes walked
// again) is a problem of kind "limit" and makes the part Unscannable.
//
// Memory stays bounded whatever the message size: the MIME structure is
// found in one pass over the io.ReaderAt with a 64 KB line buffer, leaves
// are decoded streaming and hashed while decoding, and decoded content is
// kept in memory only for parts up to 64 KB (8 MB in all); the rest goes
// to one unlinked temporary file under Options.TempDir, released by
// Message.Close.
//
// # Paths
//
// The root is "1". The i-th MIME child (1-based) of part P is "P.i"; an
// embedded message is the only child of its message/rfc822 part, so the
// first part of a message attached as 1.2 is 1.2.1.1. The i-th non-MIME
// child of P (archive member, decompressed stream, TNEF attachment,
// uuencoded or yEnc block) is "P/i": "1.2/3/1" is the first member of the
// third member of the archive that is MIME part 1.2. Paths are stable for
// given bytes and limits, and never contain names from the message.
//
// # Offsets
//
// Parts whose bytes are in the raw message (Origin "mime" or "rfc822",
// not inside a decoded container) have HeaderStart, BodyStart and End:
// the part's header starts at HeaderStart, its body at BodyStart, and End
// is just past the body. The line break before a boundary belongs to the
// boundary (RFC 2046 section 5.1.1), so replacing [BodyStart, End) keeps
// the structure intact. Other parts have -1 in all three.
//
// # Limits
//
// Limits bounds the work; a zero field takes its default. Hitting a limit
// never aborts: the part concerned gets a problem of kind "limit" and a
// non-empty Unscannable, and what was seen so far stays in the tree.
//
//	max_message_bytes    100MB  only the first bytes are read; the root is marked
//	max_header_bytes     1MB    per header; fields past it are ignored, the part marked
//	max_mime_depth       64     multiparts and messages deeper than this are not opened
//	max_parts            10000  parts of all kinds; the container that would add more is marked
//	max_archive_depth    8      archives, TNEF and encoded blocks nested under one MIME leaf
//	max_archive_members  10000  members per archive (passed to package archive)
//	max_expanded_bytes   512MB  decoded bytes stored for the whole message
//	max_ratio            100    bytes expanded under one MIME leaf, at most max_ratio times
//	                            its size (but never limited below 1MB: RatioFloor)
//	timeout              60s    time budget; parts not done are marked
//
// Sizes are Size values: a number of bytes or "64KB", "20MB", "1GB".
//
// # JSON
//
// WriteJSON writes one object (version 1; fields are added, never changed
// without a version change):
//
//	{"version": 1, "message_id": "...", "subject": "...", "from": "...",
//	 "size": 1234, "part_count": 5, "readers": ["rfc", ...], "ambiguous": false,
//	 "problems": [{"kind": "...", "detail": "..."}], "root": PART}
//
// where PART is
//
//	{"path": "1.2", "origin": "mime|rfc822|uuencode|yenc|tnef|archive|compressed|inner",
//	 "depth": 1, "declared_type": "application/zip", "detected_type": "application/zip",
//	 "name": "as declared", "safe_name": "base name safe to show", "charset": "",
//	 "encoding": "base64", "disposition": "attachment", "format": "zip",
//	 "size": 1234, "sha256": "hex", "encrypted": false, "macros": false, "container": false,
//	 "unscannable": "", "problems": [...], "header_start": 10, "body_start": 80,
//	 "end": 900, "readers": ["rfc", ...], "ambiguous": false, "names": ["..."],
//	 "same": "", "children": [PART...], "alternatives": [PART...]}
//
// Every field is always present. "readers" lists the readers that read
// the part as shown, "names" every name a reader gives it, "alternatives"
// the other readings of its bytes (section Readings), and "same" the path
// of the part an alternative's part is the same as. "size" is the decoded size (for a
// container, the bytes of its body, or of the whole message for the root
// and embedded messages), "sha256" is "" for containers (and for every
// part with Options.NoHashes), "format" is
// "ole2" for an OLE2 compound file and "macros" says it holds a VBA
// project. Problem kinds
// are "malformed", "encoding", "ambiguous", "limit", "truncated",
// "encrypted" and "archive".
//
// WriteTree writes the same for people, one line per part; everything
// from the message is quoted with control and bidi characters escaped.
package unpack
