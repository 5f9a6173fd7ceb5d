package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"unicode"
	"unicode/utf8"
)

//go:embed templates
var embedded embed.FS

// Data is what every template sees. Render escapes each string (Escape)
// before the template runs: pass raw values.
type Data struct {
	Date         string   // when it happened, RFC 5322 form ("Fri, 27 Nov 2026 15:38:44 +0000")
	QuarantineID string   // id of the quarantined original ("" when none)
	Contact      string   // whom the reader may contact (the postmaster's address)
	Hostname     string   // the host that did it
	Sender       string   // envelope sender ("" for the null sender)
	Recipient    string   // envelope recipient
	Subject      string   // the original Subject, decoded
	MessageID    string   // the original Message-ID
	Status       string   // clean, infected, blocked, unscannable
	Action       string   // what happened to the message: deliver, quarantine, drop, reject
	File         string   // the file name of the part concerned (replacement)
	Reason       string   // why, for people (a rule's report text, "Infected: X")
	Rule         string   // which rule or check ("filename_rules #2", "shipped filename rule", "type executable", "infected")
	Signature    string   // virus names, comma-separated
	Items        []Item   // every part acted on (notices, withheld, disinfected)
	Headers      []string // header lines of the original (postmaster report only; never the body)
}

// Item is one part acted on.
type Item struct {
	File      string // file name ("" for the message or an unnamed part)
	Part      string // part path
	Action    string // deny, rename, quarantine, ...
	Reason    string
	Rule      string
	Signature string
}

// Escape makes a string from a message safe to show as one line of text:
// printable characters (letters, marks, digits, punctuation, symbols, the
// ASCII space) stay as they are; everything else, including newlines, tabs,
// other spaces, bidirectional controls, ANSI escapes and invalid UTF-8, is
// written as a Go escape (\n, \u202e, \x1b, \xff). The result is at most
// 256 characters, ending in "…" when cut.
func Escape(s string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if n >= 256 {
			b.WriteString("…")
			break
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == ' ' || (unicode.IsPrint(r) && r != utf8.RuneError):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r) // 'x' or '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += w
		n++
	}
	return b.String()
}

// escapeData returns a copy of v with every string escaped.
func escapeData(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(Escape(v.String()))
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			escapeData(v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			escapeData(v.Index(i))
		}
	}
}

// Escaped returns d with every string escaped (what templates see).
func (d Data) Escaped() Data {
	c := d
	c.Items = append([]Item(nil), d.Items...)
	c.Headers = append([]string(nil), d.Headers...)
	escapeData(reflect.ValueOf(&c).Elem())
	return c
}

// Templates finds templates: Dir/<lang>/<name>.tmpl when Dir is set and
// the file exists, else the embedded one; a language without the template
// falls back to English.
type Templates struct {
	Dir string
}

var (
	langRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`) })
	nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`) })
)

// ErrNoTemplate is returned when no template of that name exists.
var ErrNoTemplate = errors.New("no such template")

// Names lists the embedded template names.
func Names() []string {
	ents, _ := fs.ReadDir(embedded, "templates/en")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".tmpl"))
	}
	return out
}

// load returns the parsed template.
func (t Templates) load(lang, name string) (*template.Template, error) {
	if !nameRE().MatchString(name) {
		return nil, fmt.Errorf("%w: %q", ErrNoTemplate, name)
	}
	lang = strings.ToLower(lang)
	if !langRE().MatchString(lang) {
		lang = "en"
	}
	langs := []string{lang}
	if i := strings.IndexByte(lang, '-'); i > 0 {
		langs = append(langs, lang[:i])
	}
	if lang != "en" {
		langs = append(langs, "en")
	}
	for _, l := range langs {
		var text []byte
		var err error
		src := ""
		if t.Dir != "" {
			src = filepath.Join(t.Dir, l, name+".tmpl")
			text, err = os.ReadFile(src)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("template %s: %w", src, err)
			}
		}
		if text == nil {
			src = "templates/" + l + "/" + name + ".tmpl"
			text, err = embedded.ReadFile(src)
			if err != nil {
				continue
			}
		}
		tm, err := template.New(name).Option("missingkey=error").Parse(string(text))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", src, err)
		}
		return tm, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrNoTemplate, name)
}

// Render runs a template on data. When data is a Data or *Data, its
// strings are escaped first; any other value is passed as it is.
func (t Templates) Render(lang, name string, data any) (string, error) {
	s, _, err := t.render(lang, name, data)
	return s, err
}

// render returns the body and, when the template defines one, the
// subject (on one line).
func (t Templates) render(lang, name string, data any) (body, subject string, err error) {
	tm, err := t.load(lang, name)
	if err != nil {
		return "", "", err
	}
	switch d := data.(type) {
	case Data:
		data = d.Escaped()
	case *Data:
		data = d.Escaped()
	}
	var b bytes.Buffer
	if err := tm.Execute(&b, data); err != nil {
		return "", "", fmt.Errorf("template %s/%s: %w", lang, name, err)
	}
	body = b.String()
	if st := tm.Lookup("subject"); st != nil {
		b.Reset()
		if err := st.Execute(&b, data); err != nil {
			return "", "", fmt.Errorf("template %s/%s: subject: %w", lang, name, err)
		}
		subject = strings.Join(strings.Fields(b.String()), " ")
	}
	return body, subject, nil
}

// Render runs an embedded template; see Templates.Render.
func Render(lang, name string, data any) (string, error) {
	return Templates{}.Render(lang, name, data)
}
