package html

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"time"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// Action is what Disarm does with an element of a disarmable kind.
type Action string

// The actions. The zero value means ActDisarm.
const (
	ActAllow  Action = "allow"  // keep the element (its attributes are still cleaned)
	ActDisarm Action = "disarm" // replace it by a visible marker naming it
	ActRemove Action = "remove" // drop it without a marker
)

// Defaults for the zero values of Options.
const (
	DefaultMaxBytes = 8 << 20
	DefaultTimeout  = 5 * time.Second
	// maxRounds bounds the serialize-reparse-disarm rounds (see doc.go).
	maxRounds = 4
)

// Options configure Disarm. The zero value is the documented default.
type Options struct {
	// Elements overrides the action per element kind. Keys are element
	// names (iframe frame frameset object embed applet portal fencedframe
	// form input button select textarea keygen base) and "meta-refresh".
	// Missing keys mean disarm.
	Elements map[string]Action
	// BlockRemoteContent replaces all remote images with the pixel and
	// drops every other reference that a renderer would load by itself.
	BlockRemoteContent bool
	// TrustedHosts suppresses phishing warnings for links to these hosts
	// and their subdomains.
	TrustedHosts []string
	// Charset is the part's charset parameter, if any. Empty: the
	// document's BOM or <meta> declaration, else UTF-8 if valid, else
	// windows-1252 (the WHATWG defaults).
	Charset string
	// MaxBytes caps the input size (0: DefaultMaxBytes).
	MaxBytes int64
	// Timeout caps the wall time of the call (0: DefaultTimeout).
	Timeout time.Duration
	// Budget, when not nil, is the memory budget of the whole message
	// that this part belongs to, shared by the Disarm calls on all its
	// parts (see NewBudget). Nil: each call has its own cap (see the
	// package documentation, section Limits).
	Budget *Budget
}

// DefaultMessageMemory is the memory budget of one message's HTML parts
// (NewBudget with 0).
const DefaultMessageMemory = 128 << 20

// Budget is the memory that the Disarm calls on one message's HTML parts
// may use together: what the caller keeps of earlier parts (Keep) plus
// the growth of the heap while one part is parsed, disarmed and
// rendered. A part that would go over it is unscannable. Its zero value
// is not usable; it is not safe for concurrent Disarm calls (a message's
// parts are disarmed one after the other).
type Budget struct {
	max  int64
	kept int64
}

// NewBudget returns the budget of one message: max bytes, or
// DefaultMessageMemory when max <= 0.
func NewBudget(max int64) *Budget {
	if max <= 0 {
		max = DefaultMessageMemory
	}
	return &Budget{max: max}
}

// Keep charges n bytes that the caller keeps after a Disarm call (the
// disarmed output held for later) to the budget, for the rest of the
// message.
func (mb *Budget) Keep(n int) { mb.kept += int64(n) }

// Left is what later parts may still use.
func (mb *Budget) Left() int64 { return max(mb.max-mb.kept, 0) }

// Link describes a link that got a phishing warning.
type Link struct {
	Text     string // visible text of the link (trimmed, at most 200 bytes)
	Href     string // the href (at most 200 bytes)
	TextHost string // the host named by the text, if it names one
	HrefHost string // the host the href goes to (ASCII form)
	Reason   string // why: "text-mismatch", "numeric-ip", "userinfo", "homograph"
}

// Report says what Disarm did. Every count but Phishing counts changes
// made in this call (so it is all zero when disarming an already disarmed
// document); Phishing and PhishingLinks describe the links that carry a
// warning in the output, whether added now or found already in place.
type Report struct {
	Scripts   int // script elements removed
	Handlers  int // on* attributes removed
	BadURLs   int // attributes or styles removed for a bad URL scheme (or srcdoc, CSS expressions)
	Disarmed  int // elements replaced by a marker or removed per Options.Elements
	Unwrapped int // noscript elements replaced by their content
	WebBugs   int // web bug images replaced by the pixel
	Remote    int // other remote references blocked (BlockRemoteContent) and resource hints removed
	Phishing  int
	// PhishingLinks lists the first 100 warned links.
	PhishingLinks []Link
	// Changed is true when the output differs from the input. When false,
	// the output is the input, byte for byte.
	Changed bool
	// Rounds is the number of parse passes made (1 when nothing changed).
	Rounds int
}

// ErrUnscannable is wrapped by every error that means the part could not
// be disarmed within the budget (too big, too slow, too deep, or a read
// error): the caller keeps the part whole and marks it.
var ErrUnscannable = errors.New("unscannable: html")

// Pixel is the inline transparent 1x1 GIF that replaces web bugs. It is
// the only data: URL Disarm lets through, and only in an img src.
const Pixel = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

// Disarm reads an HTML document from src, disarms it (see the package
// documentation) and writes the result to dst. On an error nothing has
// been written to dst; errors from the budget or the parser wrap
// ErrUnscannable, an error writing dst does not.
func Disarm(ctx context.Context, dst io.Writer, src io.Reader, opt Options) (Report, error) {
	var rep Report
	maxBytes := opt.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	in, err := io.ReadAll(io.LimitReader(src, maxBytes+1))
	if err != nil {
		return rep, fmt.Errorf("%w: reading: %v", ErrUnscannable, err)
	}
	if int64(len(in)) > maxBytes {
		return rep, fmt.Errorf("%w: larger than %d bytes", ErrUnscannable, maxBytes)
	}
	if mb := opt.Budget; mb != nil && mb.Left() <= int64(len(in)) {
		return rep, fmt.Errorf("%w: memory budget of the message (%d bytes) spent", ErrUnscannable, mb.max)
	}
	b := newBudget(ctx, timeout, int64(len(in)), opt.Budget)

	// Decode to UTF-8: x/net/html assumes UTF-8 and the output is UTF-8.
	text := in
	enc, name := detectCharset(in, opt.Charset)
	if name != "utf-8" {
		out, _, err := transform.Bytes(enc.NewDecoder(), in)
		if err != nil {
			return rep, fmt.Errorf("%w: decoding %s: %v", ErrUnscannable, name, err)
		}
		text = out
	}

	d := &disarmer{opt: opt, b: b, trusted: normTrusted(opt.TrustedHosts)}
	cur := text
	for round := 1; ; round++ {
		if round > maxRounds {
			return Report{}, fmt.Errorf("%w: output does not settle after %d rounds", ErrUnscannable, maxRounds)
		}
		rep.Rounds = round
		if round > 1 && len(cur) >= gcBefore {
			// The last round's tree is dead: collect it before building
			// the next, or the peak is two trees (see gcBefore).
			runtime.GC()
		}
		doc, err := parse(cur, b)
		if err != nil {
			return Report{}, err
		}
		d.changed = false
		d.rep = &rep
		rep.Phishing, rep.PhishingLinks = 0, nil
		if err := d.walk(doc); err != nil {
			return Report{}, err
		}
		if !d.changed {
			if round == 1 {
				// Nothing to do: hand back the input untouched, in
				// its own charset.
				if _, err := dst.Write(in); err != nil {
					return Report{}, fmt.Errorf("writing html: %w", err)
				}
				return rep, nil
			}
			// What we wrote last round parses into a tree with nothing
			// left to disarm: done.
			break
		}
		rep.Changed = true
		fixCharsetMeta(doc)
		var buf bytes.Buffer
		if err := xhtml.Render(&budgetWriter{w: &buf, b: b}, doc); err != nil {
			return Report{}, fmt.Errorf("%w: rendering: %v", ErrUnscannable, err)
		}
		cur = buf.Bytes()
	}
	if _, err := dst.Write(cur); err != nil {
		return Report{}, fmt.Errorf("writing disarmed html: %w", err)
	}
	return rep, nil
}

// detectCharset picks the input's encoding: the part's charset parameter
// if it names one we know, else a BOM or <meta> (x/net/html/charset's
// prescan), else UTF-8 when the whole input is valid UTF-8, else
// windows-1252 (the WHATWG default).
func detectCharset(in []byte, param string) (encoding.Encoding, string) {
	if param != "" {
		if e, name := charset.Lookup(param); e != nil {
			return e, name
		}
	}
	e, name, certain := charset.DetermineEncoding(in, "")
	if !certain && name == "windows-1252" && utf8.Valid(in) {
		return encoding.Nop, "utf-8"
	}
	return e, name
}

// parse parses with scripting disabled (see doc.go on noscript), through a
// reader that enforces the budget.
func parse(in []byte, b *budget) (*xhtml.Node, error) {
	doc, err := xhtml.ParseWithOptions(&budgetReader{r: bytes.NewReader(in), b: b}, xhtml.ParseOptionEnableScripting(false))
	if err != nil {
		if errors.Is(err, ErrUnscannable) {
			return nil, err
		}
		// QUIRK: x/net/html rejects nesting deeper than 512 open
		// elements (it panics and recovers into this error).
		return nil, fmt.Errorf("%w: parsing: %v", ErrUnscannable, err)
	}
	return doc, nil
}

// budget enforces the deadline, the context and the allocation cap.
type budget struct {
	ctx      context.Context
	deadline time.Time
	allocCap uint64
	alloc0   uint64
	sample   []metrics.Sample
	forcedGC int // collections forced by check
}

// heapMetric is the heap occupied by objects (live, or dead and not yet
// swept): cheap to read, and it follows what the parser builds.
const heapMetric = "/memory/classes/heap/objects:bytes"

// gcBefore is the input size from which a call with a message Budget
// collects the garbage first: the trees of earlier parts are dead but
// still counted by heapMetric (and still resident) until the collector
// runs, and would otherwise be charged to this part. Small parts skip it
// (a collection costs more than their whole parse).
const gcBefore = 1 << 20

func newBudget(ctx context.Context, timeout time.Duration, inLen int64, mb *Budget) *budget {
	b := &budget{ctx: ctx, deadline: time.Now().Add(timeout), allocCap: uint64(32*inLen + 256<<20)}
	b.sample = []metrics.Sample{{Name: heapMetric}}
	if mb != nil {
		// The input was read before the baseline: charge it too.
		b.allocCap = uint64(max(mb.Left()-inLen, 0))
		if inLen >= gcBefore {
			runtime.GC()
		}
	}
	b.alloc0 = b.allocated()
	return b
}

func (b *budget) allocated() uint64 {
	metrics.Read(b.sample)
	if b.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return b.sample[0].Value.Uint64()
}

func (b *budget) check() error {
	if err := b.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnscannable, err)
	}
	if time.Now().After(b.deadline) {
		return fmt.Errorf("%w: time budget exceeded", ErrUnscannable)
	}
	// QUIRK: the heap is process-wide, so another goroutine's growth is
	// charged to us too (serve runs several messages at once), and so is
	// garbage not yet collected. Before giving up, the garbage is
	// collected and the heap read again: only live growth counts, and
	// another session's churn cannot make a part unscannable. At most
	// maxForcedGC times per call, so that a tree just under the cap
	// cannot make every check a collection.
	over := func() bool { h := b.allocated(); return h > b.alloc0 && h-b.alloc0 > b.allocCap }
	if over() {
		if b.forcedGC >= maxForcedGC {
			return fmt.Errorf("%w: memory budget exceeded", ErrUnscannable)
		}
		b.forcedGC++
		runtime.GC()
		if over() {
			return fmt.Errorf("%w: memory budget exceeded", ErrUnscannable)
		}
	}
	return nil
}

// maxForcedGC bounds the collections one Disarm call forces (see check).
const maxForcedGC = 8

// budgetReader hands the parser small chunks and checks the budget before
// each, so that a parse cannot run far past it.
type budgetReader struct {
	r *bytes.Reader
	b *budget
}

const chunk = 2048

func (r *budgetReader) Read(p []byte) (int, error) {
	if err := r.b.check(); err != nil {
		return 0, err
	}
	if len(p) > chunk {
		p = p[:chunk]
	}
	return r.r.Read(p)
}

// budgetWriter implements x/net/html's writer interface (so Render does
// not add its own bufio.Writer) and checks the budget every few KiB.
type budgetWriter struct {
	w   *bytes.Buffer
	b   *budget
	n   int
	err error
}

func (w *budgetWriter) tick(n int) error {
	if w.err != nil {
		return w.err
	}
	w.n += n
	if w.n >= 16<<10 {
		w.n = 0
		w.err = w.b.check()
	}
	return w.err
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	if err := w.tick(len(p)); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

func (w *budgetWriter) WriteString(s string) (int, error) {
	if err := w.tick(len(s)); err != nil {
		return 0, err
	}
	return w.w.WriteString(s)
}

func (w *budgetWriter) WriteByte(c byte) error {
	if err := w.tick(1); err != nil {
		return err
	}
	return w.w.WriteByte(c)
}
