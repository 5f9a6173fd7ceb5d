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
// Malformed input never makes Unpack fail: it yields parts with Problems,
// read the way the main mail clients read them (each such choice is a
// QUIRK: comment in the source). Where a client and a scanner could split
// the same bytes differently, the part gets a problem of kind "ambiguous"
// (several boundary= parameters, repeated Content-Type,
// Content-Transfer-Encoding or Content-Disposition fields, RFC 2231 and
// plain parameters that disagree, a filename that differs from the name,
// an enclosing boundary inside a base64 body, a line that starts with a
// boundary but has more text, nested boundaries that are prefixes of each
// other, a name with a path or control or bidi characters) so that policy
// can treat the part as unscannable. Unpack fails only for temporary
// trouble: reading the message, the temporary directory, or the caller's
// context.
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
//	 "size": 1234, "part_count": 5, "problems": [{"kind": "...", "detail": "..."}],
//	 "root": PART}
//
// where PART is
//
//	{"path": "1.2", "origin": "mime|rfc822|uuencode|yenc|tnef|archive|compressed",
//	 "depth": 1, "declared_type": "application/zip", "detected_type": "application/zip",
//	 "name": "as declared", "safe_name": "base name safe to show", "charset": "",
//	 "encoding": "base64", "disposition": "attachment", "format": "zip",
//	 "size": 1234, "sha256": "hex", "encrypted": false, "macros": false, "container": false,
//	 "unscannable": "", "problems": [...], "header_start": 10, "body_start": 80,
//	 "end": 900, "children": [PART...]}
//
// Every field is always present. "size" is the decoded size (for a
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
