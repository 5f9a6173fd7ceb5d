package unpack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/scandeliver/scandeliver/unpack/archive"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// Options configures Unpack. The zero value uses the default limits and
// os.TempDir for decoded content.
type Options struct {
	Limits  Limits
	TempDir string // directory for the unlinked file of decoded content; "" means os.TempDir()
	// NoHashes leaves Part.SHA256 empty: hashing every decoded byte is
	// a fifth of the work on a large attachment, and a delivery never
	// shows the parts' hashes (scandeliver scan does). Ambiguous parts
	// are hashed all the same: the pipeline scans a content that several
	// readings give once, by its hash.
	NoHashes bool

	// reference makes Unpack read and decode without its shortcuts (the
	// walker's skipping of lines, the base64 line path): the reference
	// the differential tests compare the shortcuts with.
	reference bool
}

// Memory bounds of the decoded content kept in memory: a part's content
// stays in memory when it is at most memPartMax bytes and the total kept
// stays under memTotalMax; everything else goes to the temporary file.
const (
	memPartMax  = 64 << 10
	memTotalMax = 8 << 20
	headSize    = 3072 // bytes of decoded content kept for type detection
)

// unpacker is the state shared by the passes over one message.
type unpacker struct {
	ctx    context.Context // with the Timeout
	parent context.Context
	lim    Limits
	msg    *Message
	st     *store
	nparts int
	total  int64  // decoded bytes stored, against MaxExpandedBytes
	ioErr  error  // a temporary error (temp file): Unpack fails with it
	buf    []byte // copy buffer; copies never nest
	ref    bool   // Options.reference
	noHash bool   // Options.NoHashes

	// rewalked counts the bytes walked again for alternative readings,
	// at most rewalkMax.
	rewalked, rewalkMax int64
	innerRd             *bufio.Reader // innerScan's reader, reused
	innerLines          []byte        // the line buffer of innerReading's walks, reused
	innerBlocks         int           // blocks innerReading read, against MaxParts
	eol                 string        // the message's line break, as sanitize's lineEnding reads it
}

func (u *unpacker) copy(dst io.Writer, src io.Reader) (int64, error) {
	if u.buf == nil {
		u.buf = make([]byte, 32<<10)
	}
	return io.CopyBuffer(dst, src, u.buf)
}

// Unpack reads the message in src (size bytes) and returns its tree of
// parts. Malformed input never makes it fail: what is wrong becomes
// Problems on the parts, and what a limit stopped is marked Unscannable.
// It fails only for temporary trouble: a read error on src, the temporary
// directory, or ctx cancelled by the caller (its own Timeout is a limit,
// not an error). The caller must Close the Message.
func Unpack(ctx context.Context, src io.ReaderAt, size int64, opt Options) (*Message, error) {
	lim := opt.Limits.withDefaults()
	tctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	st := &store{dir: opt.TempDir, memMax: memTotalMax}
	msg := &Message{Size: size, st: st}
	u := &unpacker{ctx: tctx, parent: ctx, lim: lim, msg: msg, st: st, ref: opt.reference, noHash: opt.NoHashes}
	// Alternative readings may walk the message again, a few times at
	// most for real mail; past this the part concerned is unscannable.
	u.rewalkMax = 8*min(size, int64(lim.MaxMessageBytes)) + 1<<20
	u.eol = lineEnding(src, size)
	root := &Part{Path: "1", Origin: OriginMIME, src: src, Readers: AllReaders}
	u.nparts = 1
	msg.Root = root
	n := size
	if n > int64(lim.MaxMessageBytes) {
		n = int64(lim.MaxMessageBytes)
		root.unscannable(KindLimit, "message of %d bytes, only the first %d read", size, n)
	}
	w := u.newWalker(src, src, n, 0, n, true, AllReaders, false)
	w.parseEntity(root, "text/plain")
	settle(root)
	if w.lr.err == nil {
		w.lr.err = u.ioErr
	}
	if w.lr.err != nil {
		msg.Close()
		return nil, fmt.Errorf("reading message: %w", w.lr.err)
	}
	if err := u.decodeTree(root); err != nil {
		msg.Close()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		msg.Close()
		return nil, err
	}
	publish(root, true)
	msg.Parts = preorder(root, msg.Parts[:0])
	for _, p := range msg.Parts {
		if p.Ambiguous {
			msg.Ambiguous = true
			break
		}
	}
	return msg, nil
}

// publish sets the public offsets of p and its subtree: the first-pass
// offsets when the part lies in the raw message, else -1.
func publish(p *Part, raw bool) {
	p.Ambiguous = p.Readers != AllReaders
	inRaw := raw && (p.Origin == OriginMIME || p.Origin == OriginRFC822)
	if inRaw {
		p.HeaderStart, p.BodyStart, p.End = p.hs, p.bs, p.end
	} else {
		p.HeaderStart, p.BodyStart, p.End = -1, -1, -1
	}
	// Only a container's children are in the raw message; a leaf's (an
	// encoded embedded message, an archive, a message attached as a
	// file) are in its decoded content.
	childRaw := inRaw && p.Container
	for _, c := range p.Children {
		publish(c, childRaw)
	}
	for _, a := range p.Alternatives {
		publish(a, raw)
	}
}

// preorder lists p and its subtree, each part's alternatives after its
// own subtree; parts that are the Same as another are left out.
func preorder(p *Part, out []*Part) []*Part {
	if p.Same != "" {
		return out
	}
	out = append(out, p)
	for _, c := range p.Children {
		out = preorder(c, out)
	}
	for _, a := range p.Alternatives {
		out = preorder(a, out)
	}
	return out
}

// expired reports whether the time budget is spent.
func (u *unpacker) expired() bool { return u.ctx.Err() != nil }

// newPart appends a new child to parent, or returns nil when MaxParts is
// reached (the caller marks the parent).
func (u *unpacker) newPart(parent *Part, origin Origin, mime bool) *Part {
	if u.nparts >= u.lim.MaxParts {
		return nil
	}
	u.nparts++
	c := &Part{
		Path:    childPath(parent, mime, len(parent.Children)+1),
		Origin:  origin,
		Depth:   parent.Depth + 1,
		Readers: parent.Readers,
		inner:   parent.inner,
	}
	parent.Children = append(parent.Children, c)
	return c
}

// decodeTree is the second pass: it decodes every leaf, stores its
// content, detects its type and opens what it contains.
func (u *unpacker) decodeTree(p *Part) error {
	if p.Same != "" {
		return nil
	}
	if err := u.decodeOne(p); err != nil {
		return err
	}
	for i := 0; i < len(p.Alternatives); i++ {
		if err := u.decodeTree(p.Alternatives[i]); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) decodeOne(p *Part) error {
	if p.decoded {
		if p.embedded {
			return u.walkEmbedded(p)
		}
		return u.expand(p, 0, nil)
	}
	if p.Container {
		start := p.bs
		if p.Origin == OriginRFC822 || p.Depth == 0 {
			start = p.hs
		}
		p.content = contentRef{src: p.src, off: start, n: p.end - start}
		p.Size = p.end - start
		for _, c := range p.Children {
			if err := u.decodeTree(c); err != nil {
				return err
			}
		}
		return nil
	}
	if u.expired() {
		p.unscannable(KindLimit, "time budget of %s exceeded", u.lim.Timeout)
		return nil
	}
	body := io.NewSectionReader(p.src, p.bs, p.end-p.bs)
	s := u.newSink(p, -1)
	var err error
	var b64 *base64Writer
	var qp *qpWriter
	uuLoose := false
	switch p.dec {
	case "":
		if !knownEncoding(p.Encoding) {
			p.addProblem(KindEncoding, "unknown Content-Transfer-Encoding %q, content kept raw", clip(p.Encoding))
		}
		_, err = u.copy(s, body)
	case "base64":
		d := newBase64Writer(s)
		d.ref = u.ref
		var dst io.Writer = d
		var watch *boundaryWatch
		if len(p.bounds) > 0 {
			watch = &boundaryWatch{w: d, bounds: p.bounds}
			dst = watch
		}
		_, err = u.copy(dst, body)
		if err == nil {
			err = d.Close()
		}
		b64 = d
		for _, pr := range d.problems() {
			p.addProblem(KindEncoding, "base64: %s", pr)
		}
		if watch != nil && watch.found != "" {
			p.addProblem(KindAmbiguous, "base64 body contains enclosing boundary %q", clip(watch.found))
		}
	case "quoted-printable":
		d := &qpWriter{w: s}
		_, err = u.copy(d, body)
		if err == nil {
			err = d.Close()
		}
		qp = d
		if d.bad > 0 {
			p.addProblem(KindEncoding, "quoted-printable: %d invalid escapes kept as they are", d.bad)
		}
	case "x-uuencode":
		// QUIRK: not an RFC 2045 encoding, but Thunderbird and Outlook
		// Express decode it; ripmime from any begin line
		// (dialect.uuLoose: a variant when that differs).
		uuLoose, err = uuDecodeBody(body, s, p, false)
	}
	if err != nil && !errors.Is(err, errSinkFull) {
		if u.ioErr == nil && s.err == nil {
			// A read error on the message itself.
			return fmt.Errorf("reading part %s: %w", p.Path, err)
		}
	}
	s.finish()
	if u.ioErr != nil {
		return u.ioErr
	}
	if err := u.decodeVariants(p, b64, qp, uuLoose); err != nil {
		return err
	}
	if p.embedded {
		return u.walkEmbedded(p)
	}
	return u.expand(p, 0, nil)
}

// walkEmbedded reads the decoded content of an encoded message/rfc822
// part as a message.
func (u *unpacker) walkEmbedded(p *Part) error {
	ra, size := p.readerAt()
	p.head = nil
	child := u.newPart(p, OriginRFC822, true)
	if child == nil {
		p.unscannable(KindLimit, "more than %d parts", u.lim.MaxParts)
		return nil
	}
	child.src = ra
	w := u.newWalker(ra, ra, size, 0, size, false, p.Readers, false)
	w.parseEntity(child, "text/plain")
	settle(child)
	if w.lr.err == nil {
		w.lr.err = u.ioErr
	}
	if w.lr.err != nil {
		return fmt.Errorf("reading decoded part %s: %w", p.Path, w.lr.err)
	}
	return u.decodeTree(child)
}

// readerAt returns the stored decoded content of a leaf.
func (p *Part) readerAt() (io.ReaderAt, int64) {
	c := p.content
	if c.inMemory {
		return bytes.NewReader(c.mem), int64(len(c.mem))
	}
	if c.src == nil {
		return bytes.NewReader(nil), 0
	}
	return io.NewSectionReader(c.src, c.off, c.n), c.n
}

var errSinkFull = errors.New("unpack: expansion limit reached")

// sink receives the decoded content of one part: it counts, hashes and
// stores it (memory when small, else the message's temporary file) and
// keeps its first bytes for type detection. It accepts at most limit
// bytes, then fails with errSinkFull.
type sink struct {
	u     *unpacker
	p     *Part
	h     hash.Hash
	n     int64
	limit int64
	full  bool
	head  []byte
	mem   []byte
	f     *os.File
	fOff  int64
	err   error
	watch contentWatch
}

// contentWatch is what the sink notes in a content as it stores it, for
// the searches that expand makes in every leaf: an archive signature past
// offset 0 (archive.Locate) and a MIME field at a line start (innerEntity).
// Where it saw none, expand does not read the content again to search it
// (issue 11: a well-formed message costs what it cost before the
// readings; a 1 MB read buffer and a search over the first 4 MB of every
// large attachment were most of what they added).
type contentWatch struct {
	arc     archive.Watch
	inner   innerWatch
	munpack munpackWatch
}

// see notes the next stored bytes of the content.
func (w *contentWatch) see(b []byte) {
	w.arc.Write(b)
	w.inner.Write(b)
	w.munpack.Write(b)
}

// newSink starts the content of p; limit < 0 means only the total budget
// (MaxExpandedBytes) applies.
func (u *unpacker) newSink(p *Part, limit int64) *sink {
	rem := int64(u.lim.MaxExpandedBytes) - u.total
	if limit < 0 || limit > rem {
		limit = rem
	}
	if limit < 0 {
		limit = 0
	}
	s := &sink{u: u, p: p, limit: limit}
	// Only a MIME leaf's content is searched for MIME fields (expand).
	s.watch.inner.skip = !innerSearched(p)
	s.watch.munpack.skip = !munpackCandidate(p)
	if !u.noHash || p.Readers != AllReaders {
		// The parts some readers read otherwise are hashed anyway: a
		// content two readings share is scanned once (by its hash).
		s.h = sha256.New()
	}
	return s
}

func (s *sink) Write(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	full := false
	if int64(len(b)) > s.limit-s.n {
		b = b[:s.limit-s.n]
		full = true
	}
	if s.h != nil {
		s.h.Write(b)
	}
	if len(s.head) < headSize {
		k := min(headSize-len(s.head), len(b))
		s.head = append(s.head, b[:k]...)
	}
	if s.f == nil && int64(len(s.mem)+len(b)) <= memPartMax {
		s.mem = append(s.mem, b...)
	} else {
		if s.f == nil {
			f, err := s.u.st.file()
			if err != nil {
				s.err = fmt.Errorf("creating temporary file for decoded content: %w", err)
				s.u.ioErr = s.err
				return 0, s.err
			}
			s.f, s.fOff = f, s.u.st.size
			if err := s.writeFile(s.mem); err != nil {
				return 0, err
			}
			s.watch.see(s.mem)
			s.mem = nil
		}
		if err := s.writeFile(b); err != nil {
			return 0, err
		}
		// Content in memory is watched once, whole, by finish.
		s.watch.see(b)
	}
	s.n += int64(len(b))
	if full {
		s.full = true
		return len(b), errSinkFull
	}
	return len(b), nil
}

func (s *sink) writeFile(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := s.f.WriteAt(b, s.u.st.size); err != nil {
		s.err = fmt.Errorf("writing decoded content: %w", err)
		s.u.ioErr = s.err
		return s.err
	}
	s.u.st.size += int64(len(b))
	return nil
}

// finish records the content on the part.
func (s *sink) finish() {
	p := s.p
	st := s.u.st
	s.u.total += s.n
	p.Size = s.n
	if s.f == nil {
		s.watch.see(s.mem)
	}
	p.watch = s.watch
	if s.h != nil {
		p.SHA256 = hex.EncodeToString(s.h.Sum(nil))
	}
	p.head = s.head
	if s.f == nil {
		if st.memUse+int64(len(s.mem)) <= st.memMax {
			st.memUse += int64(len(s.mem))
			p.content = contentRef{mem: s.mem, inMemory: true}
		} else {
			// The memory budget is spent: move it to the file.
			f, err := st.file()
			if err != nil {
				s.u.ioErr = fmt.Errorf("creating temporary file for decoded content: %w", err)
				return
			}
			s.f, s.fOff = f, st.size
			if s.writeFile(s.mem) != nil {
				return
			}
			s.mem = nil
			p.content = contentRef{src: f, off: s.fOff, n: s.n, st: st}
		}
	} else {
		p.content = contentRef{src: s.f, off: s.fOff, n: s.n, st: st}
	}
	p.DetectedType = detectType(s.head)
	if s.full {
		p.unscannable(KindLimit, "expanded content over the limit; only the first %d bytes kept", s.n)
	}
}

// detectType sniffs the media type of content from its first bytes.
func detectType(head []byte) string {
	t := mimetype.Detect(head).String()
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return t
}

// boundaryWatch passes base64 text through and notes when an enclosing
// boundary occurs in it: a parser that looks for boundaries anywhere, or
// a client that decodes the base64 first, could split differently.
type boundaryWatch struct {
	w       io.Writer
	bounds  [][]byte
	tail    []byte
	scratch []byte
	found   string
}

func (b *boundaryWatch) Write(p []byte) (int, error) {
	if b.found == "" {
		maxLen := 0
		for _, x := range b.bounds {
			maxLen = max(maxLen, len(x))
		}
		keep := max(maxLen-1, 0)
		// A boundary straddling two writes lies within the kept tail and
		// the first bytes of p; any other lies within p. Neither check
		// copies p, which may be large (no allocation per write).
		b.scratch = append(append(b.scratch[:0], b.tail...), p[:min(len(p), keep)]...)
		for _, x := range b.bounds {
			if bytes.Contains(b.scratch, x) || bytes.Contains(p, x) {
				b.found = string(x[2:])
				break
			}
		}
		if len(p) >= keep {
			b.tail = append(b.tail[:0], p[len(p)-keep:]...)
		} else {
			b.tail = append(b.tail, p...)
			b.tail = b.tail[len(b.tail)-min(len(b.tail), keep):]
		}
	}
	return b.w.Write(p)
}

// lineEnding is the message's line break as the canonical rewrite takes
// it (sanitize's lineEnding): CRLF when its first LF follows a CR.
func lineEnding(src io.ReaderAt, size int64) string {
	buf := make([]byte, 4096)
	prevCR := false
	for off := int64(0); off < size; off += int64(len(buf)) {
		n, err := src.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			if (i > 0 && buf[i-1] == '\r') || (i == 0 && prevCR) {
				return "\r\n"
			}
			return "\n"
		}
		if n == 0 || (err != nil && !errors.Is(err, io.EOF)) {
			break
		}
		prevCR = buf[n-1] == '\r'
	}
	return "\n"
}
