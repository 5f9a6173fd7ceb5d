package unpack

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/scandeliver/scandeliver/unpack/archive"
	"github.com/scandeliver/scandeliver/unpack/ole"
	"github.com/scandeliver/scandeliver/unpack/tnef"
)

// chain is the expansion budget of everything opened under one MIME leaf
// (archives in archives, TNEF, uuencoded blocks): at most MaxRatio times
// the leaf's size, but never less than RatioFloor. It bounds nested bombs
// (42.zip) whose every level looks harmless.
type chain struct {
	limit, used int64
}

func (c *chain) remaining() int64 { return max(c.limit-c.used, 0) }

var errStopWalk = errors.New("unpack: stop walking the archive")

// tnefSignature starts every TNEF stream (0x223E9F78, little endian).
var tnefSignature = []byte{0x78, 0x9f, 0x3e, 0x22}

// expand opens what the content of leaf p contains: a TNEF stream, an
// archive or compressed stream, or encoded blocks in text. Identification
// is by content, never by the declared name or type. adepth counts the
// containers opened above p since its MIME leaf.
func (u *unpacker) expand(p *Part, adepth int, ch *chain) error {
	head := p.head
	p.head = nil
	if p.Size == 0 || p.Encrypted {
		return nil
	}
	if u.expired() {
		p.unscannable(KindLimit, "time budget of %s exceeded", u.lim.Timeout)
		return nil
	}
	if ch == nil {
		ch = &chain{limit: max(RatioFloor, int64(float64(p.Size)*u.lim.MaxRatio))}
	}
	// Every MIME leaf's content, also one that ripmime does not read here
	// (another reader's part): the canonical rewrite gives each reading's
	// content to every reader, ripmime too, which then reads inside it;
	// and every leaf of that reading (ripmime reads each file it saves).
	// Not a report whose header blocks are its content, when the rewrite
	// writes it as it is; one it writes as application/octet-stream
	// (8-bit content, a misspelt message type) is read inside by ripmime
	// like any leaf (FuzzNormalize/3a72fd0f06c34f3a).
	if adepth == 0 && innerSearched(p) {
		asIs, err := u.writtenAsIs(p)
		if err != nil {
			return err
		}
		if !asIs && p.watch.inner.maybe(p.Size) {
			read := true
			if p.watch.inner.cut {
				var err error
				if read, err = ripmimeOpens(p); err != nil {
					return err
				}
			}
			if read {
				if err := u.innerEntity(p); err != nil {
					return err
				}
			}
		}
	}
	if adepth == 0 && munpackText(p) && p.watch.munpack.maybe(p.Size) {
		if err := u.munpackBody(p); err != nil {
			return err
		}
	}
	if bytes.HasPrefix(head, tnefSignature) {
		return u.openTNEF(p, adepth, ch)
	}
	if t := p.DeclaredType; t == "application/ms-tnef" || t == "application/vnd.ms-tnef" {
		p.addProblem(KindMalformed, "declared %s without the TNEF signature", t)
	}
	if ole.Is(head) {
		u.inspectOLE(p)
		return nil
	}
	if format, ok := archive.Identify(head); ok {
		return u.openArchive(p, format, 0, adepth, ch)
	}
	// An archive behind bytes in front of it (a self-extractor's stub,
	// or junk) is opened where unzip, 7-Zip and unrar find it.
	if ra, size := p.readerAt(); size > 0 {
		format, off, err := archive.LocateWatched(ra, size, &p.watch.arc)
		if err != nil {
			p.unscannable(KindLimit, "%s", clip(err.Error()))
			return nil
		}
		if format != "" {
			if err := u.openArchive(p, format, off, adepth, ch); err != nil {
				return err
			}
			if p.DetectedType != "text/plain" && !declaredPlain(p) {
				return nil
			}
			return u.openBlocks(p, adepth, ch)
		}
	}
	// A format that desktop tools open and we do not cannot be judged.
	if format, ok := archive.Unopened(head); ok {
		p.Format = format
		p.unscannable(KindArchive, "unsupported: %s archives are not opened", format)
		return nil
	}
	// A disk image is known by structures past its first bytes, which
	// is all that mimetype saw.
	if p.DetectedType == "application/octet-stream" || p.DetectedType == "" {
		if ra, size := p.readerAt(); size > 0 {
			if t := detectDiskImage(ra, size); t != "" {
				p.DetectedType = t
				return nil
			}
		}
	}
	// QUIRK: a message attached as a file (an .eml sent as
	// application/octet-stream, or a member of an archive) is opened as a
	// message, as a mail client opens it for the user: its parts get the
	// same checks as the mail's own. A text part is not (a body that
	// starts with header-like lines is a forward quoted inline), nor a
	// message/* type that is a list of fields (delivery-status,
	// feedback-report, disposition-notification): the message types
	// that hold messages were opened by the MIME pass.
	//
	// A message/* subtype we do not know is application/octet-stream
	// (RFC 2046 section 5.2.4), opened the same way: the canonical
	// rewrite writes it so when its content is not 7-bit, and handed
	// readers a message never read as one (found by FuzzNormalize:
	// 40038260a5601c39).
	if p.DetectedType == "message/rfc822" && !strings.HasPrefix(p.DeclaredType, "text/") &&
		(!strings.HasPrefix(p.DeclaredType, "message/") || !knownMessageType[p.DeclaredType]) {
		if p.Depth >= u.lim.MaxMIMEDepth {
			p.unscannable(KindLimit, "MIME nesting deeper than %d", u.lim.MaxMIMEDepth)
			return nil
		}
		p.Format = "message"
		return u.walkEmbedded(p)
	}
	if p.DetectedType == "text/plain" || declaredPlain(p) {
		return u.openBlocks(p, adepth, ch)
	}
	return nil
}

// writtenAsIs reports whether the canonical rewrite (sanitize's leaf)
// writes p's content as it is, not re-encoded: a message/* type other
// than rfc822 and global, a valid type token, and content that is
// 7-bit safe with the message's line break (sanitize's sevenBitSafe).
// Content past innerMax counts as re-encoded (read inside).
func (u *unpacker) writtenAsIs(p *Part) (bool, error) {
	t := strings.ToLower(strings.TrimSpace(p.DeclaredType))
	if !strings.HasPrefix(t, "message/") || t == "message/rfc822" || t == "message/global" ||
		len(t) > 100 || strings.Count(t, "/") != 1 || strings.HasSuffix(t, "/") {
		return false, nil
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c != '/' && (c <= 0x20 || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0) {
			return false, nil
		}
	}
	ra, size := p.readerAt()
	if size > innerMax {
		return false, nil
	}
	b := make([]byte, size)
	if k, err := ra.ReadAt(b, 0); k < len(b) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return false, fmt.Errorf("reading part %s: %w", p.Path, err)
	}
	for _, line := range bytes.Split(b, []byte(u.eol)) {
		if len(line) > 998 || bytes.HasPrefix(line, []byte("-")) {
			return false, nil
		}
		for _, c := range line {
			if (c < 0x20 && c != '\t') || c > 0x7e {
				return false, nil
			}
		}
	}
	return true, nil
}

// compressedFormats are the formats that hold one stream, not members.
var compressedFormats = map[string]bool{
	"gz": true, "gzip": true, "bz2": true, "bzip2": true, "xz": true, "zst": true, "zstd": true,
	"lz4": true, "lz": true, "lzip": true, "lzma": true, "br": true, "brotli": true, "sz": true,
	"snappy": true, "z": true, "compress": true, "lzw": true, "minlz": true, "mz": true, "szdd": true,
}

func isCompressed(format string) bool {
	return compressedFormats[strings.ToLower(strings.TrimPrefix(format, "."))]
}

// openArchive opens the archive in p's content that starts at off.
func (u *unpacker) openArchive(p *Part, format string, off int64, adepth int, ch *chain) error {
	p.Format = format
	if adepth >= u.lim.MaxArchiveDepth {
		p.unscannable(KindLimit, "archives nested deeper than %d", u.lim.MaxArchiveDepth)
		return nil
	}
	origin := OriginArchive
	if isCompressed(format) {
		origin = OriginCompressed
	}
	ra, size := p.readerAt()
	if off > 0 {
		ra, size = io.NewSectionReader(ra, off, size-off), size-off
	}
	alim := archive.Limits{
		MaxMembers: u.lim.MaxArchiveMembers,
		MaxBytes:   min(ch.remaining(), int64(u.lim.MaxExpandedBytes)-u.total),
		MaxRatio:   u.lim.MaxRatio,
	}
	probs, err := archive.Walk(u.ctx, format, ra, size, alim, func(m archive.Member, content io.Reader) error {
		child := u.newPart(p, origin, false)
		if child == nil {
			p.unscannable(KindLimit, "more than %d parts", u.lim.MaxParts)
			return errStopWalk
		}
		child.setName(m.Name)
		for _, pr := range m.Problems {
			child.addProblem(KindArchive, "%s", clip(pr))
		}
		if m.Encrypted {
			child.Encrypted = true
			child.unscannable(KindEncrypted, "encrypted %s member", format)
			p.Encrypted = true
			p.addProblem(KindEncrypted, "encrypted member %q", clip(m.Name))
		}
		s := u.newSink(child, ch.remaining())
		_, err := u.copy(s, content)
		s.finish()
		ch.used += s.n
		if u.ioErr != nil {
			return u.ioErr
		}
		if s.full {
			p.unscannable(KindLimit, "expanded content over the limit (%s in all, or %g times the attachment)", u.lim.MaxExpandedBytes, u.lim.MaxRatio)
			return errStopWalk
		}
		if err != nil {
			if u.expired() || u.parent.Err() != nil {
				return err
			}
			child.unscannable(KindTruncated, "reading member: %s", clip(err.Error()))
			return nil
		}
		if m.Encrypted {
			return nil
		}
		return u.expand(child, adepth+1, ch)
	})
	for _, pr := range probs {
		// The archive reader's problems start with a keyword
		// (archive/doc.go): its limits are ours, KindLimit, so that
		// the part counts as over the limits (the engines are spared it).
		kind := KindArchive
		if strings.HasPrefix(pr, "limit:") {
			kind, pr = KindLimit, strings.TrimSpace(strings.TrimPrefix(pr, "limit:"))
		}
		p.unscannable(kind, "%s", clip(pr))
	}
	if err != nil {
		switch {
		case u.ioErr != nil:
			return u.ioErr
		case errors.Is(err, errStopWalk):
		case u.parent.Err() != nil:
			return u.parent.Err()
		case u.expired():
			p.unscannable(KindLimit, "time budget of %s exceeded", u.lim.Timeout)
		default:
			p.unscannable(KindArchive, "%s: %s", format, clip(err.Error()))
		}
	}
	return nil
}

// inspectOLE reads the directory of an OLE2 compound file (a legacy
// Office document, an Outlook .msg, an .msi): a VBA project sets Macros,
// an encrypted document is Encrypted and unscannable. The file is not
// opened as a container: engines see it whole, as Office would. A file
// the reader refuses, or whose streams it could not all follow, is
// unscannable, as a broken archive is: what Office makes of it is not
// known.
func (u *unpacker) inspectOLE(p *Part) {
	p.Format = "ole2"
	ra, size := p.readerAt()
	f, err := ole.Open(ra, size, ole.Limits{MaxEntries: u.lim.MaxArchiveMembers})
	if err != nil {
		kind := KindArchive
		if errors.Is(err, ole.ErrLimit) {
			kind = KindLimit
		}
		p.unscannable(kind, "%s", clip(err.Error()))
		return
	}
	p.Macros = f.HasMacros() // a VBA project or an Excel 4.0 macro sheet
	if f.Encrypted() {
		p.Encrypted = true
		p.unscannable(KindEncrypted, "encrypted Office document")
	}
	for _, pr := range f.Problems() {
		p.unscannable(KindArchive, "ole: %s", clip(pr))
	}
}

func (u *unpacker) openTNEF(p *Part, adepth int, ch *chain) error {
	p.Format = "tnef"
	if adepth >= u.lim.MaxArchiveDepth {
		p.unscannable(KindLimit, "archives nested deeper than %d", u.lim.MaxArchiveDepth)
		return nil
	}
	r, err := p.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	atts, probs, err := tnef.Decode(r, min(ch.remaining(), int64(u.lim.MaxExpandedBytes)-u.total))
	for _, pr := range probs {
		// A bad attribute checksum is common in real winmail.dat files
		// (several writers get it wrong) and costs us nothing: the data
		// was read. Anything else means we may not have seen everything.
		if strings.Contains(pr, " checksum ") || strings.HasPrefix(pr, "embedded:") {
			p.addProblem(KindArchive, "tnef: %s", clip(pr))
			continue
		}
		p.unscannable(KindArchive, "tnef: %s", clip(pr))
	}
	if err != nil {
		p.unscannable(KindArchive, "tnef: %s", clip(err.Error()))
	}
	for _, a := range atts {
		child := u.newPart(p, OriginTNEF, false)
		if child == nil {
			p.unscannable(KindLimit, "more than %d parts", u.lim.MaxParts)
			return nil
		}
		child.setName(a.Name)
		s := u.newSink(child, ch.remaining())
		s.Write(a.Data)
		s.finish()
		ch.used += s.n
		if u.ioErr != nil {
			return u.ioErr
		}
		if s.full {
			p.unscannable(KindLimit, "expanded content over the limit")
			return nil
		}
		if err := u.expand(child, adepth+1, ch); err != nil {
			return err
		}
	}
	return nil
}

// knownMessageType are the message/* types readers treat as their own
// (RFC 2046, 3462, 3798, 5965, 6532 and the IANA registry): the ones that
// hold a message (opened by the MIME walk) and those that are lists of
// header fields or fragments. Any other is application/octet-stream.
var knownMessageType = map[string]bool{
	"message/rfc822": true, "message/global": true, "message/partial": true, "message/external-body": true,
	"message/delivery-status": true, "message/global-delivery-status": true,
	"message/disposition-notification": true, "message/global-disposition-notification": true,
	"message/feedback-report": true, "message/global-headers": true, "message/news": true,
	"message/http": true, "message/sip": true, "message/sipfrag": true, "message/imdn+xml": true,
	"message/tracking-status": true, "message/cpim": true, "message/s-http": true,
}

// declaredPlain reports a MIME entity that readers take for text/plain:
// declared so, or declaring no type (RFC 2045 section 5.2's default, as
// mail clients read it: a message without Content-Type whose body holds
// a yEnc block is a text with a yEnc attachment to them, whatever bytes
// it holds; the canonical rewrite, which writes the default out, gave
// unpack that reading of corpus mimekit/yenc/simple.msg, never scanned
// in the message as received).
//
// So is an invalid type (read as text/plain, see the MIME walk), and a
// multipart leaf (no boundary, or one never found: read as text).
func declaredPlain(p *Part) bool {
	t := p.DeclaredType
	if t == "text/plain" {
		return true
	}
	if p.Origin != OriginMIME && p.Origin != OriginRFC822 {
		return false
	}
	i := strings.IndexByte(t, '/')
	return t == "" || i <= 0 || i == len(t)-1 || strings.ContainsAny(t, " \t\"") ||
		(strings.HasPrefix(t, "multipart/") && !p.Container)
}

// openBlocks makes parts of the uuencoded, yEnc and BinHex blocks of a
// text.
func (u *unpacker) openBlocks(p *Part, adepth int, ch *chain) error {
	if c := p.content; c.inMemory && !bytes.Contains(c.mem, []byte("egin")) && !bytes.Contains(c.mem, []byte("EGIN")) && !bytes.Contains(c.mem, binhexMarker) {
		return nil // nothing to find; spares scanBlocks' buffer
	}
	r, err := p.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	bs := &partBlocks{u: u, p: p, adepth: adepth, ch: ch}
	err = scanBlocks(r, bs)
	if u.ioErr != nil {
		return u.ioErr
	}
	if err != nil && bs.err == nil {
		return err
	}
	return bs.err
}

// partBlocks is the blockSink that makes parts.
type partBlocks struct {
	u      *unpacker
	p      *Part
	adepth int
	ch     *chain
	cur    *Part
	s      *sink
	err    error
	full   bool
}

func (b *partBlocks) begin(origin Origin, name string) io.Writer {
	b.cur, b.s = nil, nil
	if b.full || b.err != nil {
		return nil
	}
	if b.adepth >= b.u.lim.MaxArchiveDepth {
		b.p.unscannable(KindLimit, "encoded blocks nested deeper than %d", b.u.lim.MaxArchiveDepth)
		b.full = true
		return nil
	}
	child := b.u.newPart(b.p, origin, false)
	if child == nil {
		b.p.unscannable(KindLimit, "more than %d parts", b.u.lim.MaxParts)
		b.full = true
		return nil
	}
	child.setName(name)
	b.cur, b.s = child, b.u.newSink(child, b.ch.remaining())
	return b.s
}

func (b *partBlocks) end(probs []string) error {
	if b.cur == nil {
		return nil
	}
	for _, pr := range probs {
		b.cur.addProblem(KindEncoding, "%s: %s", b.cur.Origin, pr)
	}
	b.s.finish()
	b.ch.used += b.s.n
	if b.u.ioErr != nil {
		return b.u.ioErr
	}
	if b.s.full {
		b.full = true
		b.p.unscannable(KindLimit, "expanded content over the limit")
	}
	child := b.cur
	b.cur, b.s = nil, nil
	if err := b.u.expand(child, b.adepth+1, b.ch); err != nil {
		b.err = err
		return err
	}
	return nil
}

// innerSearched reports whether the content of leaf p is searched for
// MIME entities as ripmime reads them (innerEntity): a MIME leaf's
// (also one only some reader reads), or one of ripmime's inner reading,
// whose content ripmime reads again. Not an archive member or an encoded
// block, nor munpack's inner reading (the rewrite writes its holder as it
// is, and ripmime reads that).
func innerSearched(p *Part) bool {
	switch p.Origin {
	case OriginMIME, OriginRFC822, OriginInner:
		return !p.inner || p.Readers == ReaderRipMIME
	}
	return false
}

// innerMax bounds the content writtenAsIs reads.
const innerMax = 1 << 20

// innerEntity: QUIRK: ripmime looks for MIME header fields in the decoded
// content of every part it saves (mime.c: MIME_is_file_RFC822, then
// MIME_unpack_single on the file), and gives the user what it finds as
// parts of their own. It reads the file's paragraphs as headers until one
// holds a MIME field; that entity's body is the rest of the file, which
// it reads again the same way when the entity is text (a chain of blocks,
// each found in the rest of the one before, 20 levels deep at most), or
// the parts of a multipart, each read again, and after its close
// delimiter further entities. These readings are children of p for
// ripmime only (Readers, so Ambiguous), also when p is another reader's
// part only: the canonical rewrite gives p's content to ripmime, which
// reads this in it (FuzzNormalize/57a07f283dae49eb).
//
// Every block is read, wherever it is in the content: a line that starts
// a Content-Type, Content-Transfer-Encoding or Content-Disposition field
// (any case) begins an entity, read with ripmime's dialect. Its body, if
// it is a leaf, ends at the next such line: ripmime's text file goes on
// to the end of the content, but what follows is read here as entities
// of their own, so that the cost stays linear (a base64 body cannot hold
// such a line). A quoted-printable body goes to the end: ripmime decodes
// it before it reads the next blocks in the decoded text. The body of a
// message (message/rfc822) goes to the end too, as ripmime reads it. And
// every leaf's content below is read again (expand): a decoded one holds
// new bytes, a part of a multipart or a message's body was not searched
// here. ripmime reads a file only when one of its first 100 lines
// starts with a field it knows (ripmimeOpens): a content longer than
// innerGate without one in its head is not searched (the watch stops
// there, so a big attachment costs no whole search); a shorter one is
// searched all the same. Within a file it reads, ripmime finds fewer
// blocks than this (each block's body is a file of its own, tested
// again); each one it finds is read here.
// Past MaxParts or MaxMIMEDepth the part is unscannable.
func (u *unpacker) innerEntity(p *Part) error {
	ra, size := p.readerAt()
	found, loneCR, err := u.innerReading(p, ra, ra, size, false)
	if err != nil {
		return err
	}
	if found && !loneCR {
		off, err := u.innerScan(ra, 0, size, false)
		if err != nil {
			return fmt.Errorf("reading part %s: %w", p.Path, err)
		}
		loneCR = off == -2
	}
	if !loneCR {
		return nil
	}
	// QUIRK: ripmime's line reader (ffget.c) also ends a line at a lone
	// CR, where a header may end or a block begin (tests/differential
	// seed 1638: "\r\r\n" line breaks, the base64 after a lone CR): a
	// content that holds one is read that way too, and what that
	// reading finds that the first did not is kept.
	_, _, err = u.innerReading(p, ra, crSource{src: ra, size: size}, size, true)
	return err
}

// innerReading reads the entities in the content ra of p (its lines read
// from lsrc), as innerEntity says. It reports whether it found a block
// and whether the lines it searched held a lone CR.
func (u *unpacker) innerReading(p *Part, ra, lsrc io.ReaderAt, size int64, cr bool) (found, loneCR bool, err error) {
	first := len(p.Children)
	for from := int64(0); from < size; {
		off, err := u.innerScan(lsrc, from, size, true)
		if err != nil {
			return found, loneCR, fmt.Errorf("reading part %s: %w", p.Path, err)
		}
		if off < 0 {
			return found, loneCR || off == -2, nil
		}
		found = true
		if u.innerBlocks++; u.innerBlocks > u.lim.MaxParts {
			// Blocks read and dropped (nameless text) count too.
			p.unscannable(KindLimit, "more than %d blocks of MIME fields read in contents", u.lim.MaxParts)
			return found, loneCR, nil
		}
		if p.Depth >= u.lim.MaxMIMEDepth {
			p.unscannable(KindLimit, "MIME nesting deeper than %d (entities in the content, as ripmime reads them)", u.lim.MaxMIMEDepth)
			return found, loneCR, nil
		}
		child := u.newPart(p, OriginInner, false)
		if child == nil {
			p.unscannable(KindLimit, "more than %d parts", u.lim.MaxParts)
			return found, loneCR, nil
		}
		child.Readers = ReaderRipMIME
		child.inner = true
		child.src = ra
		// The walks share one line buffer: a content may hold many
		// blocks.
		if u.innerLines == nil {
			u.innerLines = make([]byte, lineBufSize)
		}
		w := u.newWalker(ra, lsrc, size, off, off, false, child.Readers, cr)
		w.lr = &lineReader{src: lsrc, end: size, bufOff: off, buf: u.innerLines}
		w.innerStop = true
		w.parseEntity(child, "text/plain")
		settle(child)
		if w.lr.err != nil {
			return found, loneCR, fmt.Errorf("reading decoded part %s: %w", p.Path, w.lr.err)
		}
		from = max(w.lr.offset(), off+1)
		if !child.Container && child.dec == "" && len(child.Names) == 0 && len(child.Alternatives) == 0 && !child.embedded {
			// A nameless text block, kept as it is: its bytes are p's
			// own, scanned with p. todo: ripmime saves it as a file of its
			// own, which a scanner that wants a file's first bytes (EICAR)
			// would see apart.
			p.Children = p.Children[:len(p.Children)-1]
			u.nparts--
			continue
		}
		if err := u.decodeTree(child); err != nil {
			return found, loneCR, err
		}
		if cr && len(child.Children) == 0 && sameInner(p.Children[:first], child) {
			// The reading with lone CRs as line breaks found what the
			// other did.
			p.Children = p.Children[:len(p.Children)-1]
			u.nparts--
		}
	}
	return found, loneCR, nil
}

// sameInner reports whether one of parts is a leaf with the content and
// the names of c.
func sameInner(parts []*Part, c *Part) bool {
	for _, q := range parts {
		if len(q.Children) == 0 && q.SHA256 != "" && q.SHA256 == c.SHA256 && slices.Equal(q.Names, c.Names) {
			return true
		}
	}
	return false
}

// innerScan reads the lines of src from from (a line start) to size.
// With block, it returns the offset of the first line that starts a MIME
// field (isInnerField); else, and when none does, -2 when a line it read
// held a lone CR, -1 when none did (without block, it stops at the first
// lone CR).
func (u *unpacker) innerScan(src io.ReaderAt, from, size int64, block bool) (int64, error) {
	if u.innerRd == nil {
		u.innerRd = bufio.NewReaderSize(nil, 64<<10)
	}
	r := u.innerRd
	r.Reset(io.NewSectionReader(src, from, size-from))
	defer r.Reset(nil)
	off, atStart, loneCR := from, true, false
	for {
		line, err := r.ReadSlice('\n')
		if block && atStart && isInnerField(line) {
			return off, nil
		}
		if !loneCR {
			loneCR = hasLoneCR(line)
			if !loneCR && err == bufio.ErrBufferFull && line[len(line)-1] == '\r' {
				next, _ := r.Peek(1)
				loneCR = len(next) == 1 && next[0] != '\n'
			}
			if loneCR && !block {
				return -2, nil
			}
		}
		off += int64(len(line))
		switch err {
		case nil:
			atStart = true
		case bufio.ErrBufferFull:
			atStart = false
		case io.EOF:
			if loneCR {
				return -2, nil
			}
			return -1, nil
		default:
			return -1, err
		}
	}
}

// innerFields are the field names (after "content-") that start an
// entity in decoded content: those that make ripmime's header block
// sane and give a part its type, encoding or name.
var innerFields = [...][]byte{[]byte("type"), []byte("transfer-encoding"), []byte("disposition")}

// isInnerField reports whether line starts a Content-Type,
// Content-Transfer-Encoding or Content-Disposition field, any case,
// white space allowed before the colon.
func isInnerField(line []byte) bool {
	if len(line) < 13 || line[0]|0x20 != 'c' || !bytes.EqualFold(line[:8], []byte("content-")) {
		return false
	}
	rest := line[8:]
	for _, name := range innerFields {
		if len(rest) > len(name) && bytes.EqualFold(rest[:len(name)], name) {
			t := bytes.TrimLeft(rest[len(name):], " \t")
			if len(t) > 0 && t[0] == ':' {
				return true
			}
		}
	}
	return false
}

// keepTail keeps in tail (holding nt bytes) its last bytes followed by
// b, as many as fit, and returns how many it holds: the watches look at
// the bytes before a write's first one through it.
func keepTail(tail []byte, nt int, b []byte) int {
	if len(b) >= len(tail) {
		return copy(tail, b[len(b)-len(tail):])
	}
	keep := min(nt, len(tail)-len(b))
	copy(tail, tail[nt-keep:nt])
	return keep + copy(tail[keep:], b)
}

// innerWatch sees a content as it is stored (the sink's contentWatch)
// and notes whether a line could start a field that innerEntity reads:
// "content-" in any case at the start of the content or after a "\n", or
// after a lone CR (ripmime's line reader ends a line there too). It
// looks for the "-" (one search).
type innerWatch struct {
	n    int64   // bytes seen
	tail [8]byte // the last bytes seen, for a field name across two writes
	nt   int     // bytes in tail
	seen bool
	skip bool // sees nothing: maybe is always true
	// cut: the watch stopped looking at innerGate bytes without seeing
	// a field; whether ripmime reads the content at all is then
	// ripmimeOpens's to say.
	cut bool
}

// Write notes the next bytes of the content.
func (w *innerWatch) Write(b []byte) {
	if w.skip {
		return
	}
	base := w.n
	w.n += int64(len(b))
	if w.seen || w.cut {
		return
	}
	lim := len(b)
	if base+int64(lim) > innerGate {
		// Past innerGate ripmimeOpens decides; a line start before it
		// is still looked at.
		lim = int(max(innerGate-base, 0))
		w.cut = true
	}
	for i := 0; i < lim; {
		k := bytes.IndexByte(b[i:lim], '-')
		if k < 0 {
			break
		}
		i += k + 1
		if w.nameBefore(b, i-1, base) {
			w.seen = true
			return
		}
	}
	w.nt = keepTail(w.tail[:], w.nt, b)
}

// nameBefore reports whether the "-" at b[k] (content offset base+k)
// ends "content" (any case) at a line start (after "\n" or "\r"); the
// bytes before b are w.tail's.
func (w *innerWatch) nameBefore(b []byte, k int, base int64) bool {
	c := base + int64(k) - 7 // content offset of the "C"
	if c < 0 {
		return false
	}
	at := func(j int) byte { // b[j], or the tail's byte for j < 0
		if j >= 0 {
			return b[j]
		}
		return w.tail[w.nt+j]
	}
	var name [7]byte
	for j := range name {
		name[j] = at(k - 7 + j)
	}
	if !bytes.EqualFold(name[:], []byte("content")) {
		return false
	}
	return c == 0 || at(k-8) == '\n' || at(k-8) == '\r'
}

// maybe reports whether innerEntity must read a content of size bytes:
// the watch did not see all of it, or saw a line it could find, or
// stopped at innerGate (ripmimeOpens then decides).
func (w *innerWatch) maybe(size int64) bool {
	return w.n != size || w.seen || w.cut
}

// innerGate bounds the bytes ripmime reads of a file before it decides
// whether the file holds MIME fields (mime.c MIME_is_file_RFC822: at most
// 100 lines, each of at most 1023 bytes, as fgets reads them), with room
// to spare.
const innerGate = 128 << 10

// ripmimeTriggers are the line starts MIME_is_file_RFC822 looks for
// (compared in any case); ripmime reads a file it saves for MIME fields
// only when one of its first 100 lines starts so (observed with ripmime
// 1.4.0.10: blocks of fields past 300 lines of text are not read without
// one; "Subject:" on the first line is enough, without MIME-Version).
var ripmimeTriggers = [][]byte{[]byte("received: "), []byte("from: "), []byte("subject: "), []byte("date: "),
	[]byte("content-"), []byte("boundary="), []byte("mime-version")}

// ripmimeLines and ripmimeLine bound what MIME_is_file_RFC822 reads of a
// file: 100 lines as fgets reads them into 1024 bytes (a line ends after
// a "\n" or at 1023 bytes), here 128 with room to spare. Observed with
// ripmime 1.4.0.10 (a base64 attachment whose content holds a block of
// fields after some lines of text): "Subject: x" read on line 100 and
// not on line 101, read at byte 1023 of a long line and not at 1022 or
// 1024, not read after "xx " on the same line; a blank line does not
// stop the test.
const ripmimeLines, ripmimeLine = 128, 1023

// ripmimeOpens reports whether ripmime could read the content of p for
// MIME fields: one of ripmimeTriggers (any case) starts one of its first
// ripmimeLines lines, as fgets cuts them (a superset of ripmime's test,
// which also wants MIME-Version and two hits). Only asked where the
// watch stopped at innerGate, so that a big attachment without a trigger
// in its head is not searched whole, as ripmime does not search it.
func ripmimeOpens(p *Part) (bool, error) {
	ra, size := p.readerAt()
	head := make([]byte, min(size, ripmimeLines*ripmimeLine))
	if k, err := ra.ReadAt(head, 0); k < len(head) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return false, fmt.Errorf("reading part %s: %w", p.Path, err)
	}
	for n, start := 0, 0; n < ripmimeLines && start < len(head); n++ {
		line := head[start:min(len(head), start+ripmimeLine)]
		for _, t := range ripmimeTriggers {
			if len(line) >= len(t) && bytes.EqualFold(line[:len(t)], t) {
				return true, nil
			}
		}
		if k := bytes.IndexByte(line, '\n'); k >= 0 {
			line = line[:k+1]
		}
		start += len(line)
	}
	return false, nil
}
