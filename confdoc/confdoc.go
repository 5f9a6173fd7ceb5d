// Package confdoc is the one source of the configuration reference: the
// key list of scandeliver.toml(5), the annotated example configuration
// (etc/scandeliver.toml) and check-config's printout are written from
// Tables (the text of every key) and the configuration structs (the keys,
// their order, types and values), like mox writes its configuration
// documentation from its config types. cmd/scandeliver's TestReference
// fails when a struct key is undocumented, a documented key does not
// exist, or a committed file differs from what this package writes
// ("go test ./cmd/scandeliver -run TestReference -update" rewrites them).
package confdoc

import (
	"bytes"
	"encoding"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// Table is one table of the file: [name], or [[name]] when Array.
type Table struct {
	Name   string
	Array  bool
	Intro  string   // mdoc: what the table is
	Covers []string // keys the intro documents, without an item of their own
	Items  []Item
	Outro  string // mdoc after the list
}

// Item documents one key, or several that share a text.
type Item struct {
	Keys []string
	Arg  string // mdoc after "key =": "Ar path"
	Text string // mdoc
}

// TomlName is the key a struct field decodes from ("" for none).
func TomlName(f reflect.StructField) string {
	tag := f.Tag.Get("toml")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name
	}
	return ""
}

// StructKeys returns the keys of each table of the configuration type t
// (a struct whose fields are the tables), in struct order.
func StructKeys(t reflect.Type) map[string][]string {
	out := map[string][]string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := TomlName(f)
		if name == "" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct {
			continue
		}
		for j := 0; j < ft.NumField(); j++ {
			if k := TomlName(ft.Field(j)); k != "" {
				out[name] = append(out[name], k)
			}
		}
	}
	return out
}

// Check compares Tables with the configuration type t: every key of a
// struct is documented once, every documented key exists.
func Check(t reflect.Type) []error {
	var errs []error
	keys := StructKeys(t)
	seen := map[string]bool{}
	for _, tb := range Tables {
		have := map[string]bool{}
		for _, k := range keys[tb.Name] {
			have[k] = true
		}
		if _, ok := keys[tb.Name]; !ok {
			errs = append(errs, fmt.Errorf("confdoc: table %q is not in the configuration", tb.Name))
			continue
		}
		seen[tb.Name] = true
		doc := map[string]bool{}
		for _, it := range tb.Items {
			for _, k := range it.Keys {
				doc[k] = true
			}
		}
		for _, k := range tb.Covers {
			doc[k] = true
		}
		for k := range doc {
			if !have[k] {
				errs = append(errs, fmt.Errorf("confdoc: %s.%s is documented but is no key of the configuration", tb.Name, k))
			}
		}
		for _, k := range keys[tb.Name] {
			if !doc[k] {
				errs = append(errs, fmt.Errorf("confdoc: key %s.%s has no documentation in confdoc/docs.go", tb.Name, k))
			}
		}
	}
	for name := range keys {
		if !seen[name] {
			errs = append(errs, fmt.Errorf("confdoc: table [%s] has no documentation in confdoc/docs.go", name))
		}
	}
	return errs
}

// Man writes the key reference of scandeliver.toml(5): one .Ss per table.
func Man(w io.Writer) {
	for _, tb := range Tables {
		h := "[" + tb.Name + "]"
		if tb.Array {
			h = "[" + h + "]"
		}
		fmt.Fprintf(w, ".Ss %s\n", h)
		if tb.Intro != "" {
			fmt.Fprintln(w, tb.Intro)
		}
		if len(tb.Items) == 0 {
			continue
		}
		fmt.Fprintln(w, ".Bl -tag -width Ds")
		for _, it := range tb.Items {
			fmt.Fprintf(w, ".It Ic %s", strings.Join(it.Keys, " , "))
			if it.Arg != "" {
				fmt.Fprintf(w, " No = %s", it.Arg)
			}
			fmt.Fprintln(w)
			if it.Text != "" {
				fmt.Fprintln(w, it.Text)
			}
		}
		fmt.Fprintln(w, ".El")
		if tb.Outro != "" {
			fmt.Fprintln(w, tb.Outro)
		}
	}
}

var (
	// escRE is compiled on first use: every delivery links this package
	// (check-config's reference), none of them renders it.
	escRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\\(dq|\\\(aq|\\-|\\&|\\e|\\ `) })
	escRepl = map[string]string{`\(dq`: `"`, `\(aq`: `'`, `\-`: `-`, `\&`: ``, `\e`: `\`, `\ `: ` `}
)

// macros are the mdoc macros Plain drops (their arguments stay).
var macros = map[string]bool{"Ic": true, "Ar": true, "Pa": true, "Cm": true, "Fl": true, "Ev": true, "Em": true,
	"Sy": true, "Li": true, "Dv": true, "Va": true, "Sx": true, "Nm": true, "No": true, "Ql": true, "Dq": true,
	"Sq": true, "Pq": true, "Op": true, "Bq": true, "Xr": true, "Pf": true, "Ns": true, "Po": true, "Pc": true, "Aq": true}

// Plain renders mdoc as plain text, one paragraph per .Pp, unwrapped.
func Plain(mdoc string) string {
	var b strings.Builder
	noSpace := true
	put := func(s string) {
		if s == "" {
			return
		}
		if !noSpace && !isPunct(s) {
			b.WriteByte(' ')
		}
		b.WriteString(s)
		noSpace = false
	}
	for _, line := range strings.Split(mdoc, "\n") {
		line = escRE().ReplaceAllStringFunc(line, func(m string) string { return escRepl[m] })
		if !strings.HasPrefix(line, ".") {
			put(line)
			continue
		}
		f := strings.Fields(line[1:])
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "Pp", "Bd", "Ed", "Bl", "El":
			b.WriteString("\n\n")
			noSpace = true
			continue
		case "It", "D1", "Dl":
			b.WriteString("\n  ")
			noSpace = true
			f = f[1:]
		}
		var closers []string
		closeAll := func() {
			for i := len(closers) - 1; i >= 0; i-- {
				b.WriteString(closers[i])
			}
			closers = nil
		}
		for i := 0; i < len(f); i++ {
			a := f[i]
			// Trailing punctuation goes after the enclosures.
			rest := true
			for _, r := range f[i:] {
				rest = rest && isPunct(r)
			}
			if rest {
				closeAll()
			}
			switch {
			case a == "Ql" || a == "Dq" || a == "Sq":
				q := "'"
				if i+1 < len(f) && strings.HasPrefix(f[i+1], `"`) {
					q = ""
				}
				if q != "" {
					put(q)
					noSpace = true
				}
				closers = append(closers, q)
				continue
			case a == "Pq":
				put("(")
				noSpace = true
				closers = append(closers, ")")
				continue
			case a == "Po":
				put("(")
				noSpace = true
				continue
			case a == "Pc":
				b.WriteString(")")
				continue
			case a == "Ns":
				noSpace = true
				continue
			case a == "Pf" && i+1 < len(f):
				put(f[i+1])
				noSpace = true
				i++
				continue
			case a == "Fl" && i+1 < len(f):
				put("-" + f[i+1])
				i++
				continue
			case a == "Xr" && i+2 < len(f):
				put(f[i+1] + "(" + f[i+2] + ")")
				i += 2
				continue
			case macros[a]:
				continue
			}
			put(a)
		}
		closeAll()
	}
	s := b.String()
	s = regexp.MustCompile(`[ \t]+\n`).ReplaceAllString(s, "\n")
	return strings.TrimSpace(s)
}

// isPunct: a token mdoc writes without a space before it.
func isPunct(s string) bool {
	switch s {
	case ".", ",", ";", ":", ")", "]", "?", "!":
		return true
	}
	return false
}

// comment wraps text as TOML comment lines of at most width columns.
func comment(w io.Writer, text, indent string, width int) {
	for i, para := range strings.Split(text, "\n\n") {
		if i > 0 {
			fmt.Fprintln(w, indent+"#")
		}
		for _, ln := range strings.Split(para, "\n") {
			line := indent + "#"
			for _, word := range strings.Fields(ln) {
				if len(line)+1+len(word) > width && len(line) > len(indent)+2 {
					fmt.Fprintln(w, line)
					line = indent + "#"
				}
				line += " " + word
			}
			if line != indent+"#" {
				fmt.Fprintln(w, line)
			}
		}
	}
}

// firstSentence is the text up to its first full stop.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// Inline writes a value as a TOML inline value; ok is false for a value
// that is nil (a pointer or map not set, a nil list).
func Inline(v reflect.Value) (string, bool) {
	if !v.IsValid() {
		return "", false
	}
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "", false
		}
		return Inline(v.Elem())
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err == nil {
			return scalar(string(b)), true
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		var parts []string
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name := TomlName(t.Field(i))
			if name == "" || v.Field(i).IsZero() {
				continue
			}
			if s, ok := Inline(v.Field(i)); ok {
				parts = append(parts, name+" = "+s)
			}
		}
		if len(parts) == 0 {
			return "{}", true
		}
		return "{ " + strings.Join(parts, ", ") + " }", true
	case reflect.Slice:
		if v.IsNil() {
			return "", false
		}
		var parts []string
		for i := 0; i < v.Len(); i++ {
			s, _ := Inline(v.Index(i))
			parts = append(parts, s)
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	case reflect.Map:
		if v.IsNil() {
			return "", false
		}
		var parts []string
		for _, k := range v.MapKeys() {
			s, _ := Inline(v.MapIndex(k))
			parts = append(parts, scalar(fmt.Sprint(k.Interface()))+" = "+s)
		}
		sort.Strings(parts)
		return "{ " + strings.Join(parts, ", ") + " }", true
	}
	return scalar(v.Interface()), true
}

// scalar is a TOML scalar, as BurntSushi/toml writes it.
func scalar(x any) string {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(map[string]any{"v": x}); err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(x))
	}
	return strings.TrimSpace(strings.TrimPrefix(b.String(), "v = "))
}

// Options say how Write writes.
type Options struct {
	Header string // comment lines written first, as they are
	Brief  bool   // one sentence of documentation per key (check-config)
	// MaxValue: longer values are not written, a comment says where they
	// are documented (0: no limit).
	MaxValue int
	// Trailer is written at the end of each table, by name (examples).
	Trailer map[string]string
	// Width of the comment lines.
	Width int
}

// Write writes cfg (a configuration struct, its fields the tables) as
// TOML, each table and key preceded by its documentation from Tables.
func Write(w io.Writer, cfg any, opt Options) {
	if opt.Width == 0 {
		opt.Width = 76
	}
	v := reflect.ValueOf(cfg)
	t := v.Type()
	field := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if n := TomlName(t.Field(i)); n != "" {
			field[n] = i
		}
	}
	fmt.Fprint(w, opt.Header)
	for _, tb := range Tables {
		fi, ok := field[tb.Name]
		if !ok {
			continue
		}
		tv := v.Field(fi)
		fmt.Fprintln(w)
		if !tb.Array {
			fmt.Fprintf(w, "[%s]\n", tb.Name)
			if tb.Intro != "" && !opt.Brief {
				comment(w, Plain(tb.Intro), "", opt.Width)
			}
			writeKeys(w, tb, tv, opt, true)
			if tb.Outro != "" && !opt.Brief {
				fmt.Fprintln(w)
				comment(w, Plain(tb.Outro), "", opt.Width)
			}
		} else {
			if tb.Intro != "" {
				intro := Plain(tb.Intro)
				if opt.Brief {
					intro = firstSentence(intro)
				}
				comment(w, intro, "", opt.Width)
			}
			if !opt.Brief {
				comment(w, "Keys:", "", opt.Width)
				for _, it := range tb.Items {
					comment(w, strings.Join(it.Keys, ", ")+": "+Plain(it.Text), "", opt.Width)
				}
			}
			for i := 0; i < tv.Len(); i++ {
				fmt.Fprintf(w, "[[%s]]\n", tb.Name)
				writeKeys(w, tb, tv.Index(i), opt, false)
			}
		}
		if s := opt.Trailer[tb.Name]; s != "" {
			fmt.Fprint(w, s)
		}
	}
}

func writeKeys(w io.Writer, tb Table, tv reflect.Value, opt Options, docs bool) {
	tt := tv.Type()
	byName := map[string]int{}
	for i := 0; i < tt.NumField(); i++ {
		if n := TomlName(tt.Field(i)); n != "" {
			byName[n] = i
		}
	}
	written := map[string]bool{}
	emit := func(k string, text string) {
		i, ok := byName[k]
		if !ok || written[k] {
			return
		}
		written[k] = true
		fv := tv.Field(i)
		if !docs && fv.IsZero() {
			return // an array table lists what is set
		}
		if docs && text != "" && !opt.Brief {
			fmt.Fprintln(w)
		}
		s, ok := Inline(fv)
		switch {
		case !ok:
			if docs && text != "" {
				comment(w, text, "", opt.Width)
			}
			fmt.Fprintf(w, "# %s: not set\n", k)
		case opt.MaxValue > 0 && len(s) > opt.MaxValue:
			if docs && text != "" {
				comment(w, text, "", opt.Width)
			}
			fmt.Fprintf(w, "# %s: the shipped value, in scandeliver.toml(5)\n", k)
		default:
			if docs && text != "" {
				comment(w, text, "", opt.Width)
			}
			fmt.Fprintf(w, "%s = %s\n", k, s)
		}
	}
	for _, it := range tb.Items {
		text := Plain(it.Text)
		if opt.Brief {
			text = firstSentence(text)
		}
		for j, k := range it.Keys {
			if j > 0 {
				text = ""
			}
			emit(k, text)
		}
	}
	for i := 0; i < tt.NumField(); i++ {
		if n := TomlName(tt.Field(i)); n != "" {
			emit(n, "")
		}
	}
}
