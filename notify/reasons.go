package notify

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// A reason is the short text that tells a recipient why a part was
// removed (a rule's report, or a fixed reason of the policy). They are
// written in English; Reason translates them into the language of the
// templates from a catalogue, LANG/reasons.txt: the embedded one, under a
// site's own (Templates.Dir), whose entries come first. An entry is the
// English text on one line and its translation on the next, after "= ";
// %d stands for a number and %s for a text, in the same order in both.
// Blank lines and lines starting with "#" are ignored.

// catalog is one language's translations.
type catalog struct {
	exact    map[string]string
	patterns []pattern // entries with %d or %s, in file order
}

type pattern struct {
	re  *regexp.Regexp
	out string // the translation, with %s for every argument
}

// parseCatalog reads a reasons.txt; src names it in errors.
func parseCatalog(b []byte, src string, into *catalog) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var from string
	have := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			if have {
				return fmt.Errorf("%s:%d: %q has no translation (a line starting with \"= \")", src, n-1, from)
			}
		case strings.HasPrefix(line, "= "):
			if !have {
				return fmt.Errorf("%s:%d: a translation without the English text before it", src, n)
			}
			to := line[2:]
			if verbs(from) != verbs(to) {
				return fmt.Errorf("%s:%d: the translation of %q does not have the same %%d and %%s", src, n, from)
			}
			into.add(from, to)
			have = false
		default:
			if have {
				return fmt.Errorf("%s:%d: %q has no translation (a line starting with \"= \")", src, n-1, from)
			}
			from, have = line, true
		}
	}
	if have {
		return fmt.Errorf("%s: %q, at the end, has no translation", src, from)
	}
	return sc.Err()
}

// verbs lists the %d and %s of s, in order.
func verbs(s string) string {
	var v []byte
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && (s[i+1] == 'd' || s[i+1] == 's') {
			v = append(v, s[i+1])
			i++
		}
	}
	return string(v)
}

func (c *catalog) add(from, to string) {
	if c.exact == nil {
		c.exact = map[string]string{}
	}
	if _, dup := c.exact[from]; dup {
		return // the first one (the site's) wins
	}
	c.exact[from] = to
	if verbs(from) == "" {
		return
	}
	var re strings.Builder
	re.WriteString("^")
	for rest := from; rest != ""; {
		i := strings.IndexByte(rest, '%')
		if i < 0 || i+1 == len(rest) || (rest[i+1] != 'd' && rest[i+1] != 's') {
			re.WriteString(regexp.QuoteMeta(rest))
			break
		}
		re.WriteString(regexp.QuoteMeta(rest[:i]))
		if rest[i+1] == 'd' {
			re.WriteString(`(-?[0-9]+)`)
		} else {
			re.WriteString(`(.*)`)
		}
		rest = rest[i+2:]
	}
	re.WriteString("$")
	out := strings.NewReplacer("%d", "%s").Replace(to)
	c.patterns = append(c.patterns, pattern{regexp.MustCompile(re.String()), out})
}

func (c *catalog) translate(text string) (string, bool) {
	if to, ok := c.exact[text]; ok && verbs(to) == "" {
		return to, true
	}
	for _, p := range c.patterns {
		m := p.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		out := p.out
		for _, a := range m[1:] {
			out = strings.Replace(out, "%s", a, 1)
		}
		return out, true
	}
	return text, false
}

// loadCatalog reads the site's LANG/reasons.txt, then the embedded one.
func (t Templates) loadCatalog(lang string) (*catalog, error) {
	c := &catalog{}
	if t.Dir != "" {
		src := filepath.Join(t.Dir, lang, "reasons.txt")
		b, err := os.ReadFile(src)
		switch {
		case err == nil:
			if err := parseCatalog(b, src, c); err != nil {
				return nil, err
			}
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("reasons: %w", err)
		}
	}
	if b, err := embedded.ReadFile("templates/" + lang + "/reasons.txt"); err == nil {
		if err := parseCatalog(b, "embedded "+lang+"/reasons.txt", c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Reasons is the translation of reasons into one language: the
// catalogues of the language and of its base language ("fr" for
// "fr-ca"), loaded once.
type Reasons struct {
	catalogs []*catalog // none for English
}

// Reasons loads the catalogues for lang. When a site catalogue cannot be
// read it returns the error and a Reasons that leaves every text as it is.
func (t Templates) Reasons(lang string) (*Reasons, error) {
	lang = strings.ToLower(lang)
	if !langRE().MatchString(lang) {
		return &Reasons{}, nil
	}
	langs := []string{lang}
	if i := strings.IndexByte(lang, '-'); i > 0 {
		langs = append(langs, lang[:i])
	}
	r := &Reasons{}
	for _, l := range langs {
		if l == "en" {
			break
		}
		c, err := t.loadCatalog(l)
		if err != nil {
			return &Reasons{}, err
		}
		r.catalogs = append(r.catalogs, c)
	}
	return r, nil
}

// Translate returns text in the language; a text without a translation,
// or in English, comes back as it is.
func (r *Reasons) Translate(text string) string {
	for _, c := range r.catalogs {
		if out, ok := c.translate(text); ok {
			return out
		}
	}
	return text
}

// Reason translates one reason into lang; see Reasons. A text without a
// translation comes back as it is; so does every text when a site
// catalogue cannot be read, with the error.
func (t Templates) Reason(lang, text string) (string, error) {
	r, err := t.Reasons(lang)
	return r.Translate(text), err
}
