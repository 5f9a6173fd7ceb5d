package unpack

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Size is a byte count that reads from text as a plain number or with a
// unit: "512", "64KB", "20MB", "1GB" (powers of 1024; "KiB", "MiB", "GiB"
// are accepted too). It is how sizes are written in the config file.
type Size int64

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(text []byte) error {
	v := strings.TrimSpace(string(text))
	num := strings.TrimRight(v, "KkMmGgTtiIBb ")
	unit := strings.ToUpper(strings.TrimSpace(v[len(num):]))
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("invalid size %q: want a number of bytes, optionally with KB, MB or GB", v)
	}
	mult := int64(1)
	switch unit {
	case "", "B":
	case "K", "KB", "KIB":
		mult = 1 << 10
	case "M", "MB", "MIB":
		mult = 1 << 20
	case "G", "GB", "GIB":
		mult = 1 << 30
	case "T", "TB", "TIB":
		mult = 1 << 40
	default:
		return fmt.Errorf("invalid size %q: unknown unit %q", v, unit)
	}
	if n > (1<<63-1)/mult {
		return fmt.Errorf("invalid size %q: too large", v)
	}
	*s = Size(n * mult)
	return nil
}

// MarshalText implements encoding.TextMarshaler with String's form.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// String gives the size in the largest unit that divides it exactly.
func (s Size) String() string {
	n := int64(s)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Limits bounds the work Unpack does on one message. A zero field takes
// its default (see the package documentation, section Limits). Hitting a
// limit never fails Unpack: the part concerned is marked Unscannable with
// a problem of kind "limit".
type Limits struct {
	MaxMessageBytes   Size          `toml:"max_message_bytes" json:"max_message_bytes"`
	MaxHeaderBytes    Size          `toml:"max_header_bytes" json:"max_header_bytes"`
	MaxMIMEDepth      int           `toml:"max_mime_depth" json:"max_mime_depth"`
	MaxParts          int           `toml:"max_parts" json:"max_parts"`
	MaxArchiveDepth   int           `toml:"max_archive_depth" json:"max_archive_depth"`
	MaxArchiveMembers int           `toml:"max_archive_members" json:"max_archive_members"`
	MaxExpandedBytes  Size          `toml:"max_expanded_bytes" json:"max_expanded_bytes"`
	MaxRatio          float64       `toml:"max_ratio" json:"max_ratio"`
	Timeout           time.Duration `toml:"timeout" json:"timeout"`
}

// Defaults for the zero fields of Limits.
const (
	DefaultMaxMessageBytes   = 100 << 20
	DefaultMaxHeaderBytes    = 1 << 20
	DefaultMaxMIMEDepth      = 64
	DefaultMaxParts          = 10000
	DefaultMaxArchiveDepth   = 8
	DefaultMaxArchiveMembers = 10000
	DefaultMaxExpandedBytes  = 512 << 20
	DefaultMaxRatio          = 100
	DefaultTimeout           = 60 * time.Second

	// RatioFloor is the expanded size below which MaxRatio is not
	// applied: a 1 KB zip of a 200 KB text file is ordinary.
	RatioFloor = 1 << 20
)

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxMIMEDepth <= 0 {
		l.MaxMIMEDepth = DefaultMaxMIMEDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxArchiveDepth <= 0 {
		l.MaxArchiveDepth = DefaultMaxArchiveDepth
	}
	if l.MaxArchiveMembers <= 0 {
		l.MaxArchiveMembers = DefaultMaxArchiveMembers
	}
	if l.MaxExpandedBytes <= 0 {
		l.MaxExpandedBytes = DefaultMaxExpandedBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

// WithDefaults returns l with every zero field set to its documented
// default, as Unpack applies them.
func (l Limits) WithDefaults() Limits { return l.withDefaults() }
