package deliver

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/emersion/go-maildir/maildirpp"
)

// Kind is the mailbox format of a destination.
type Kind int

const (
	// Maildir is a Maildir (or Maildir++) directory: tmp/, new/, cur/.
	Maildir Kind = iota
	// Mbox is a single mbox file in mboxrd format.
	Mbox
	// LMTP is another LMTP server (Dovecot's, typically) that the message
	// is handed to: Path is "unix:/path" or "inet:host:port".
	LMTP
)

func (k Kind) String() string {
	switch k {
	case Maildir:
		return "maildir"
	case Mbox:
		return "mbox"
	case LMTP:
		return "lmtp"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Dest is where a message goes.
type Dest struct {
	// Path is the absolute, cleaned path of the Maildir (without the
	// trailing slash) or of the mbox file.
	Path string
	Kind Kind
	// Folder is a Maildir++ subfolder in its on-disk form (".Junk",
	// ".Lists.go"); "" is the INBOX, Path itself. Only for Maildir.
	Folder string
}

// ErrBadDest is wrapped by ParseDest and Deliver for a destination that can
// never work as written (relative path, bad folder name). Retrying cannot
// fix it, but the caller still decides the exit code.
var ErrBadDest = errors.New("bad destination")

// ParseDest parses a destination as procmail writes it: a trailing "/"
// means a Maildir, anything else an mbox file; "lmtp:unix:/path" and
// "lmtp:inet:host:port" name an LMTP server the message is handed to. A leading "~/" (or a lone
// "~") expands to home, which must then be absolute. Relative paths,
// "~user/" and paths with NUL bytes are errors wrapping ErrBadDest.
func ParseDest(s, home string) (Dest, error) {
	if s == "" {
		return Dest{}, fmt.Errorf("empty destination: %w", ErrBadDest)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Dest{}, fmt.Errorf("destination %q contains a NUL byte: %w", s, ErrBadDest)
	}
	if rest, ok := strings.CutPrefix(s, "lmtp:"); ok {
		return parseLMTP(s, rest)
	}
	p := s
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home == "" || !filepath.IsAbs(home) {
			return Dest{}, fmt.Errorf("destination %q: home directory %q is not absolute: %w", s, home, ErrBadDest)
		}
		p = home + p[1:]
	} else if strings.HasPrefix(p, "~") {
		return Dest{}, fmt.Errorf("destination %q: only ~/ is expanded, not ~user: %w", s, ErrBadDest)
	}
	if !filepath.IsAbs(p) {
		return Dest{}, fmt.Errorf("destination %q is not an absolute path: %w", s, ErrBadDest)
	}
	kind := Mbox
	if strings.HasSuffix(p, "/") {
		kind = Maildir
	}
	clean := filepath.Clean(p)
	if clean == "/" {
		return Dest{}, fmt.Errorf("destination %q is the root directory: %w", s, ErrBadDest)
	}
	return Dest{Path: clean, Kind: kind}, nil
}

// WithFolder returns d addressing the Maildir++ subfolder name: "Junk",
// ".Junk", ".Junk/" and "Junk/" all mean the folder stored as ".Junk";
// "Lists/go" and ".Lists.go" both mean ".Lists.go". "" and "INBOX" (any
// case) mean the INBOX. The name is checked by Deliver, which refuses
// names with "..", empty elements, NUL bytes or control characters, and
// folders on mbox destinations.
func (d Dest) WithFolder(name string) Dest {
	name = strings.TrimSuffix(name, "/")
	if name == "" || strings.EqualFold(name, "INBOX") {
		d.Folder = ""
		return d
	}
	if strings.HasPrefix(name, ".") {
		d.Folder = name
		return d
	}
	elems := strings.Split(name, "/")
	f, err := maildirpp.Join(elems)
	if err != nil {
		// An element holding a dot: in Maildir++ the dot is the
		// hierarchy separator, so "a.b" is folder b inside a.
		f = "." + strings.Join(elems, ".")
	}
	d.Folder = f
	return d
}

// String returns the destination as ParseDest reads it, with the folder.
func (d Dest) String() string {
	if d.Kind == LMTP {
		return "lmtp:" + d.Path
	}
	if d.Kind == Mbox {
		return d.Path
	}
	if d.Folder != "" {
		return filepath.Join(d.Path, d.Folder) + "/"
	}
	return d.Path + "/"
}

// dir returns the Maildir directory messages go to, checking the folder.
func (d Dest) dir() (string, error) {
	if d.Folder == "" {
		return d.Path, nil
	}
	if err := checkFolder(d.Folder); err != nil {
		return "", err
	}
	return filepath.Join(d.Path, d.Folder), nil
}

// CheckFolder checks a Maildir++ folder in its on-disk form (".Junk"),
// as Deliver does: the error wraps ErrBadDest.
func CheckFolder(f string) error { return checkFolder(f) }

func checkFolder(f string) error {
	if len(f) > 255 {
		return fmt.Errorf("folder name too long (%d bytes): %w", len(f), ErrBadDest)
	}
	elems, err := maildirpp.Split(f)
	if err != nil {
		return fmt.Errorf("folder %q: %v: %w", f, err, ErrBadDest)
	}
	for _, e := range elems {
		if e == "" {
			return fmt.Errorf("folder %q has an empty element: %w", f, ErrBadDest)
		}
	}
	for _, r := range f {
		if r < 0x20 || r == 0x7f || r == '/' {
			return fmt.Errorf("folder %q holds a '/' or a control character: %w", f, ErrBadDest)
		}
	}
	return nil
}
