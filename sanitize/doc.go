// Package sanitize applies the policy's decisions to a message and writes
// a new message. The spool and the part tree are read, never modified.
//
// # Contract
//
// Rewrite copies the raw message to a writer, changing only the parts the
// verdict and the options name; every other byte is copied from the spool
// exactly (io.Copy over io.NewSectionReader), so a clean message comes out
// byte-identical but for the prepended header fields, and the DKIM
// signatures of untouched parts survive. Plan says beforehand whether
// Rewrite would change anything, so that a clean message can be delivered
// straight from the spool. Withheld writes the short notice that replaces a
// message withheld whole.
//
// What is done:
//   - Deny (or any part decision more severe): the offending MIME part
//     becomes a "text/plain; charset=utf-8" part, quoted-printable, with
//     "Content-Disposition: inline", whose text is the Replacement's texts
//     for every decision inside that part, joined by an empty line. A
//     decision on a part whose bytes are not in the raw message (an
//     archive member, a TNEF or uuencoded attachment, a part of a
//     transfer-encoded embedded message) replaces its nearest ancestor
//     whose bytes are (HeaderStart >= 0): the zip attachment, the
//     winmail.dat, and for a uuencoded block the whole text part holding
//     it (not only the block: unpack records no offsets for blocks, and a
//     text body cut by a second parser could disagree with the first).
//     The MIME structure is kept: one part replaces one part. A message
//     (the root, or an embedded message/rfc822) that is replaced keeps its
//     header fields but the Content-* ones, and gets MIME-Version when it
//     had none.
//   - Rename: only the part's header is rewritten: every form of
//     Content-Disposition filename= and Content-Type name= (plain, RFC 2047
//     in quotes, RFC 2231 with continuations) is dropped and the new name
//     written where the old one was (as a token or quoted string when it is
//     short printable ASCII, else RFC 2231 UTF-8 extended values with
//     continuations). The rewritten header is read back with unpack: when
//     it does not give the new name, or the header is over 1 MB, the part
//     is replaced instead. A rename of a part not in the raw message
//     replaces its raw ancestor.
//   - HTML (Options.DisarmHTML): every part declared text/html, and every
//     named part sniffed as HTML but not declared text/plain, is disarmed
//     by package sanitize/html. When the disarmer changed something, the
//     part is re-encoded quoted-printable, its Content-Type charset set to
//     utf-8 and its Content-Transfer-Encoding replaced; its other header
//     fields stay as written. The rewritten header is read back with
//     unpack (same type and name, utf-8, quoted-printable, no new
//     structural problem); when it does not read so, Content-Type is
//     written anew from unpack's reading (type, name, charset), and when
//     that does not either the part is kept whole (HTMLUnscannable; a
//     signed part stays unsigned). When the disarmer gives up (ErrUnscannable),
//     or the part's content was cut by an unpack limit, the part is kept
//     whole and listed in Result.HTMLUnscannable. When its header has
//     structural problems of its own (malformed, ambiguous, truncated)
//     that a rename of it does not clear, the part is written anew in
//     the canonical form below (its bytes from header to end replaced by
//     a header of our own and the disarmed content, base64) and listed in
//     Result.Canonical. A text/plain alternative is left alone.
//   - Normalize (Options.Normalize; issue 11 section 4): the whole message
//     is written anew in canonical form from the part tree that was
//     scanned: every multipart with a boundary of our own, no preamble
//     or epilogue; every leaf with one Content-Type (type as unpack read
//     it, charset, name), one Content-Disposition (the same name), and
//     its decoded content base64 (76-character lines; every reader
//     decodes base64 to the same bytes, quoted-printable leaves them to
//     disagree on the last line break); the header fields of the message
//     and of embedded messages kept but Content-* and MIME-Version, each
//     unfolded, cleaned of control characters and folded again; a part's
//     Content-ID, -Description, -Location and -Language kept; the
//     message's own line break throughout. message/partial and
//     message/external-body bodies are written as they are when they are
//     7-bit and safe, else as application/octet-stream. The verdict and
//     the options act as above (deny, rename, HTML, subject tags), but a
//     denied archive is replaced whole (no Disinfect) and no signature is
//     added. Result.Normalized says so; Normalized tells whether a
//     message is to be normalized under the [policy] normalize mode.
//   - Subject tags are prepended to the first Subject field, each only when
//     the decoded subject does not hold it yet (so sanitizing twice tags
//     once); a tag that is not ASCII is an RFC 2047 encoded word. A message
//     without Subject gets one.
//   - Signature (Options.SignatureText, Options.SignatureHTML), on a
//     clean message only (Verdict.Status clean or empty): the text is
//     appended after a "-- " line to the first text/plain body part, the
//     HTML inserted before the last </body> (else at the end) of the first
//     text/html body part. A body part is a MIME entity of the raw message
//     that is not an attachment (no name, disposition not attachment),
//     not inside an embedded message, not unscannable. Its content is
//     decoded to UTF-8 from its charset (a charset we cannot convert, or
//     a converted HTML body that names its charset inside, is left
//     unsigned), signed, and re-encoded quoted-printable with charset
//     utf-8, as for HTML disarming. A part whose decoded content already
//     holds the signature is left alone, so signing twice signs once, and
//     Plan reads the two candidate parts to know it. With DisarmHTML the
//     HTML signature is added after disarming (it is the site's HTML).
//   - Disinfect (Options.Disinfect): when every decision replacing a zip
//     or tar attachment (Format "zip" or "tar", not encrypted, not
//     unscannable, a child of a multipart) is a deny on one of its own
//     members, the archive is rebuilt without those members (zip: the
//     others copied raw with (*zip.Writer).Copy; tar: headers and content
//     copied) and written in place of the part, base64, with its header
//     as it was but for Content-Transfer-Encoding; a text part of the
//     Replacement's texts follows it as a new sibling. The member list
//     must match unpack's exactly (names, order), else, or on any failure
//     (a member nested deeper, a rename, an archive over 64 MB), the part
//     is replaced whole as above. Result.Disinfected lists those parts.
//   - Options.Headers are written first (after a leading mbox "From " line,
//     if the spool has one).
//
// Bodies we write are quoted-printable with the message's own line breaks
// (those of its first line); no line of them starts with "-" or "From ".
//
// # Memory
//
// Everything streams but: header fields being rewritten (a header of at
// most 1 MB), the replacement texts, an HTML part being disarmed
// (bounded by html.Options.MaxBytes, in and out), a body part being
// signed (at most 8 MB, else unsigned) and an archive being rebuilt (at
// most 64 MB, in and out, else replaced).
//
// Decisions on the message as a whole (Decision.Part == "") are not
// Rewrite's: the caller withholds the message and delivers Withheld's
// notice.
package sanitize
