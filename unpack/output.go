package unpack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// JSONVersion is the version of the document WriteJSON writes. It changes
// only when a field changes meaning or disappears; new fields may be added
// without a change.
const JSONVersion = 1

type jsonMessage struct {
	Version   int       `json:"version"`
	MessageID string    `json:"message_id"`
	Subject   string    `json:"subject"`
	From      string    `json:"from"`
	Size      int64     `json:"size"`
	PartCount int       `json:"part_count"`
	Readers   []string  `json:"readers"`
	Ambiguous bool      `json:"ambiguous"`
	Problems  []Problem `json:"problems"`
	Root      *jsonPart `json:"root"`
}

type jsonPart struct {
	Path         string      `json:"path"`
	Origin       Origin      `json:"origin"`
	Depth        int         `json:"depth"`
	DeclaredType string      `json:"declared_type"`
	DetectedType string      `json:"detected_type"`
	Name         string      `json:"name"`
	SafeName     string      `json:"safe_name"`
	Charset      string      `json:"charset"`
	Encoding     string      `json:"encoding"`
	Disposition  string      `json:"disposition"`
	Format       string      `json:"format"`
	Size         int64       `json:"size"`
	SHA256       string      `json:"sha256"`
	Encrypted    bool        `json:"encrypted"`
	Macros       bool        `json:"macros"`
	Container    bool        `json:"container"`
	Unscannable  string      `json:"unscannable"`
	Problems     []Problem   `json:"problems"`
	HeaderStart  int64       `json:"header_start"`
	BodyStart    int64       `json:"body_start"`
	End          int64       `json:"end"`
	Readers      []string    `json:"readers"`
	Ambiguous    bool        `json:"ambiguous"`
	Names        []string    `json:"names"`
	Same         string      `json:"same"`
	Children     []*jsonPart `json:"children"`
	Alternatives []*jsonPart `json:"alternatives"`
}

func toJSONPart(p *Part) *jsonPart {
	j := &jsonPart{
		Path: p.Path, Origin: p.Origin, Depth: p.Depth,
		DeclaredType: p.DeclaredType, DetectedType: p.DetectedType,
		Name: p.Name, SafeName: p.SafeName, Charset: p.Charset, Encoding: p.Encoding,
		Disposition: p.Disposition, Format: p.Format, Size: p.Size, SHA256: p.SHA256,
		Encrypted: p.Encrypted, Macros: p.Macros, Container: p.Container, Unscannable: p.Unscannable,
		Problems:    append([]Problem{}, p.Problems...),
		HeaderStart: p.HeaderStart, BodyStart: p.BodyStart, End: p.End,
		Readers: p.Readers.Names(), Ambiguous: p.Ambiguous, Names: append([]string{}, p.Names...), Same: p.Same,
		Children: []*jsonPart{}, Alternatives: []*jsonPart{},
	}
	for _, c := range p.Children {
		j.Children = append(j.Children, toJSONPart(c))
	}
	for _, a := range p.Alternatives {
		j.Alternatives = append(j.Alternatives, toJSONPart(a))
	}
	return j
}

// WriteJSON writes the tree as the JSON document described in the package
// documentation (section JSON). Strings are valid UTF-8; encoding/json
// escapes control characters and HTML-special characters.
func WriteJSON(w io.Writer, m *Message) error {
	doc := jsonMessage{
		Version: JSONVersion, MessageID: m.MessageID, Subject: m.Subject, From: m.From,
		Size: m.Size, PartCount: len(m.Parts), Problems: append([]Problem{}, m.Problems...),
		Readers: ReaderNames(), Ambiguous: m.Ambiguous,
	}
	if m.Root != nil {
		doc.Root = toJSONPart(m.Root)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteTree writes the tree for people: a summary line, then one line per
// part, indented by depth. Everything that comes from the message is
// quoted with control, format (bidi) and invalid characters escaped, so
// that nothing in it can drive a terminal or reorder the line.
func WriteTree(w io.Writer, m *Message) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "message %s size %d parts %d\n", quote(m.MessageID), m.Size, len(m.Parts))
	if m.Ambiguous {
		fmt.Fprintf(bw, "  readers disagree: parts marked AMBIGUOUS are read as shown only by the readers named\n")
	}
	if m.From != "" || m.Subject != "" {
		fmt.Fprintf(bw, "  from %s subject %s\n", quote(m.From), quote(m.Subject))
	}
	for _, pr := range m.Problems {
		fmt.Fprintf(bw, "  ! %s: %s\n", pr.Kind, quote(pr.Detail))
	}
	for _, p := range m.Parts {
		ind := strings.Repeat("  ", min(p.Depth, 40))
		var b strings.Builder
		fmt.Fprintf(&b, "%s%s %s", ind, p.Path, p.Origin)
		declared := p.DeclaredType
		if declared == "" {
			declared = "-"
		}
		fmt.Fprintf(&b, " %s", quoteToken(declared))
		if p.DetectedType != "" && p.DetectedType != p.DeclaredType {
			fmt.Fprintf(&b, " (detected %s)", quoteToken(p.DetectedType))
		}
		if p.Format != "" {
			fmt.Fprintf(&b, " [%s]", quoteToken(p.Format))
		}
		fmt.Fprintf(&b, " %d B", p.Size)
		if p.Name != "" {
			fmt.Fprintf(&b, " name=%s", quote(p.Name))
		}
		for _, n := range p.Names[min(len(p.Names), 1):] {
			fmt.Fprintf(&b, " or name=%s", quote(n))
		}
		if p.Encoding != "" {
			fmt.Fprintf(&b, " cte=%s", quoteToken(p.Encoding))
		}
		if p.SHA256 != "" {
			fmt.Fprintf(&b, " sha256=%s", p.SHA256[:16])
		}
		if p.Encrypted {
			b.WriteString(" ENCRYPTED")
		}
		if p.Macros {
			b.WriteString(" MACROS")
		}
		if p.Unscannable != "" {
			fmt.Fprintf(&b, " UNSCANNABLE=%s", quote(p.Unscannable))
		}
		if p.Ambiguous {
			fmt.Fprintf(&b, " AMBIGUOUS readers=%s", p.Readers)
		}
		b.WriteByte('\n')
		bw.WriteString(b.String())
		for _, pr := range p.Problems {
			fmt.Fprintf(bw, "%s    ! %s: %s\n", ind, quoteToken(pr.Kind), quote(pr.Detail))
		}
	}
	return bw.Flush()
}

// quote quotes s for a terminal: strconv.QuoteToGraphic escapes control
// and format characters (the bidi overrides among them) and invalid UTF-8.
func quote(s string) string { return strconv.QuoteToGraphic(s) }

// quoteToken leaves plain tokens (media types, encodings) unquoted.
func quoteToken(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return quote(s)
		}
	}
	return s
}
