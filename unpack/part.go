package unpack

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// Origin tells how a part was found.
type Origin string

// The origins of parts.
const (
	OriginMIME       Origin = "mime"       // a MIME entity of the raw message
	OriginRFC822     Origin = "rfc822"     // a message inside a message/rfc822 or message/global part
	OriginUUEncode   Origin = "uuencode"   // a uuencoded block in a text body
	OriginYEnc       Origin = "yenc"       // a yEnc block in a text body
	OriginBinHex     Origin = "binhex"     // a fork of a BinHex 4.0 block (attachment or text body)
	OriginTNEF       Origin = "tnef"       // an attachment inside application/ms-tnef (winmail.dat)
	OriginArchive    Origin = "archive"    // a member of an archive (zip, tar, 7z, rar...)
	OriginCompressed Origin = "compressed" // the content of a compressed stream (gzip, xz...)
	OriginInner      Origin = "inner"      // an entity ripmime finds by its MIME fields inside a part's decoded content, or parts munpack finds in a message's text body
)

// Problem kinds. Policy may treat any "ambiguous", "limit" or "encrypted"
// problem as making the part unscannable.
const (
	KindMalformed = "malformed" // the syntax is broken; we read it the way mail clients do
	KindEncoding  = "encoding"  // bad transfer encoding, charset or encoded word
	KindAmbiguous = "ambiguous" // a client and a scanner could read the bytes differently
	KindLimit     = "limit"     // a limit stopped us; the part is Unscannable
	KindTruncated = "truncated" // the data ends early
	KindEncrypted = "encrypted" // content we cannot read without a key
	KindArchive   = "archive"   // a problem reported by the archive or TNEF reader
)

// Problem is one finding about a part or the message.
type Problem struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Message is the unpacked tree of one message. It is read-only once
// Unpack returns; Close releases the temporary storage of decoded content.
type Message struct {
	Root     *Part     `json:"root"`
	Parts    []*Part   `json:"-"` // every part, pre-order, Root first
	Problems []Problem `json:"problems"`

	MessageID string `json:"message_id"`
	Subject   string `json:"subject"` // RFC 2047 decoded
	From      string `json:"from"`    // RFC 2047 decoded
	Size      int64  `json:"size"`    // bytes of the raw message
	// Ambiguous: the readers disagree somewhere in the message (some
	// part is Ambiguous).
	Ambiguous bool `json:"ambiguous"`

	st *store
}

// Close removes the temporary storage behind Part.Open. Parts can no
// longer be opened afterwards. It is safe to call more than once.
func (m *Message) Close() error {
	if m.st == nil {
		return nil
	}
	err := m.st.close()
	m.st = nil
	return err
}

// Part is one object a mail client could open: a MIME entity, an embedded
// message, a uuencoded, yEnc or TNEF attachment, an archive member.
type Part struct {
	// Path names the part in the tree, stable for a given message: the root
	// is "1"; the i-th MIME child of part P (1-based) is "P.i" (an embedded
	// message is the only child of its message/rfc822 part); the i-th
	// non-MIME child (archive member, TNEF, uuencode or yEnc attachment)
	// is "P/i". So "1.2/3/1" is the first member of the third member of an
	// archive that is MIME part 1.2.
	Path   string `json:"path"`
	Origin Origin `json:"origin"`
	Depth  int    `json:"depth"` // MIME nesting depth; 0 for the root

	DeclaredType string `json:"declared_type"` // media type, lower case, without parameters; "" when none was declared
	DetectedType string `json:"detected_type"` // by magic, from the decoded content
	Name         string `json:"name"`          // file name as declared (decoded), "" when none
	SafeName     string `json:"safe_name"`     // Name as a safe base name for display and files
	Charset      string `json:"charset"`
	Encoding     string `json:"encoding"` // Content-Transfer-Encoding, lower case; "" when none
	Disposition  string `json:"disposition"`
	Format       string `json:"format,omitempty"` // archive or compression format when the content is one we open

	Size      int64  `json:"size"`   // bytes of decoded content (what Open returns)
	SHA256    string `json:"sha256"` // hex SHA-256 of the decoded content
	Encrypted bool   `json:"encrypted"`
	// Macros: an Office document carrying macros (an OLE2 .doc, .xls,
	// .ppt with a VBA storage, or an .xls with an Excel 4.0 macro sheet;
	// an OOXML one shows its vbaProject.bin as an archive member, which
	// is itself marked).
	Macros bool `json:"macros"`
	// Container is true for a multipart or an embedded message: its
	// children are its content. An archive is a leaf with children.
	Container   bool      `json:"container"`
	Unscannable string    `json:"unscannable,omitempty"`
	Problems    []Problem `json:"problems,omitempty"`

	// Byte offsets in the raw message, for parts whose bytes are in it
	// (Origin mime or rfc822 and not inside a decoded container): the
	// header starts at HeaderStart, the body at BodyStart, and End is the
	// offset just past the body (the line break before a boundary belongs
	// to the boundary, RFC 2046 section 5.1.1). All three are -1 for
	// other parts.
	HeaderStart int64 `json:"header_start"`
	BodyStart   int64 `json:"body_start"`
	End         int64 `json:"end"`

	Children []*Part `json:"children,omitempty"`

	// Readings (package documentation, section Readings).
	//
	// Readers are the readers whose reading holds this part as it is:
	// the same bytes, read the same way, giving the same content.
	// AllReaders when every modelled reader agrees on it.
	Readers Readers `json:"-"`
	// Ambiguous: some reader does not read this part as it is (Readers
	// is not AllReaders). It lies in structure the readers split
	// differently, or its content differs between them, so a finding in
	// it cannot be cut out: another reader would still see the bytes.
	Ambiguous bool `json:"ambiguous"`
	// Names is every distinct file name that some reading gives the part,
	// Name first; more than one when readers disagree on the name.
	Names []string `json:"names,omitempty"`
	// Alternatives are the other readings of the part's bytes: each
	// covers the same bytes (the same offsets), is read by the readers in
	// its Readers, and has its own subtree. The path of the k-th (k from
	// 1) is the part's path and "~k" ("1.2~1", whose children are
	// "1.2~1.1"...; a number may be skipped: a reading that holds
	// nothing of its own is dropped). Message.Parts lists each alternative with its
	// subtree right after the part's own subtree.
	Alternatives []*Part `json:"alternatives,omitempty"`
	// Same, on a part of an alternative reading, is the path of the part
	// with the same bytes read the same way: that part's Readers and
	// Names include this one's, and its content is this one's. A part
	// with Same is not listed in Message.Parts (nothing to scan twice).
	Same string `json:"same,omitempty"`

	content contentRef

	// first pass: where the entity is in src (the raw message, or the
	// decoded content of an encoded embedded message)
	src         io.ReaderAt
	hs, bs, end int64
	embedded    bool      // message/rfc822 with a transfer encoding: decode, then walk
	dec         string    // how the body is decoded (canonicalDec)
	decoded     bool      // an alternative content, decoded already
	nalt        int       // alternatives numbered so far
	inner       bool      // under an entity found in decoded content (innerEntity)
	munpackMsg  bool      // an entity munpack reads as a message in a text body (munpackBody)
	pending     []Readers // readers whose alternative reading is built once the entity is walked
	bounds      [][]byte  // enclosing boundaries, for base64 bodies
	head        []byte    // first bytes of the decoded content, until expand
	// what the sink saw in the content as it was stored, so that expand
	// reads it again only where a search could find something
	watch contentWatch
}

// contentRef locates a part's decoded content.
type contentRef struct {
	mem      []byte      // small content kept in memory
	src      io.ReaderAt // else: bytes in src at off, n long
	off, n   int64
	st       *store
	inMemory bool
}

// Open returns the decoded content of the part: the transfer-decoded body
// of a MIME leaf, a member's decompressed bytes, or the raw body of a
// container. When a limit stopped decoding, it returns what was decoded.
func (p *Part) Open() (io.ReadCloser, error) {
	c := p.content
	if c.inMemory {
		return io.NopCloser(bytes.NewReader(c.mem)), nil
	}
	if c.src == nil {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	if c.st != nil && c.st.closed() {
		return nil, errors.New("unpack: message closed")
	}
	return io.NopCloser(io.NewSectionReader(c.src, c.off, c.n)), nil
}

// addName adds a candidate file name to Names (the first one is also
// Name and SafeName).
func (p *Part) addName(name string) {
	if name == "" {
		return
	}
	for _, n := range p.Names {
		if n == name {
			return
		}
	}
	p.Names = append(p.Names, name)
	if p.Name == "" {
		p.Name, p.SafeName = name, SafeName(name)
	}
}

// addProblem records a problem on the part.
func (p *Part) addProblem(kind, format string, args ...any) {
	p.Problems = append(p.Problems, Problem{Kind: kind, Detail: sprintf(format, args...)})
}

// unscannable marks the part unscannable (the first reason wins) and
// records the problem.
func (p *Part) unscannable(kind, format string, args ...any) {
	d := sprintf(format, args...)
	p.Problems = append(p.Problems, Problem{Kind: kind, Detail: d})
	if p.Unscannable == "" {
		p.Unscannable = kind + ": " + d
	}
}

// store holds decoded content that is too large for memory, appended to
// one unlinked temporary file so that a message with many parts uses one
// descriptor.
type store struct {
	dir    string
	f      *os.File
	size   int64
	memMax int64 // bytes of content kept in memory across all parts
	memUse int64
	done   bool
}

func (s *store) closed() bool { return s.done }

func (s *store) file() (*os.File, error) {
	if s.f != nil {
		return s.f, nil
	}
	dir := s.dir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "scandeliver-unpack-*")
	if err != nil {
		return nil, err
	}
	// Unlinked at once, so nothing is left behind on any exit path.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	s.f = f
	return f, nil
}

func (s *store) close() error {
	s.done = true
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
