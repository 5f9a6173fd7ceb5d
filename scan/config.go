package scan

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/scan/clamd"
)

// on_error actions.
const (
	OnErrorTempfail   = "tempfail"
	OnErrorPass       = "pass"
	OnErrorQuarantine = "quarantine"
)

// Send settings: which objects an engine takes.
const (
	SendParts = "parts"
	SendRaw   = "raw"
	SendBoth  = "both"
)

// Config is one [[engine]] table. The zero value of each field is its
// documented default (see the package doc).
type Config struct {
	Name    string    `toml:"name"`
	Type    string    `toml:"type"`              // clamd | spamd | rspamd | command | builtin
	Address Addresses `toml:"address,omitempty"` // clamd, spamd, rspamd: one address or a list (failover in order)
	Timeout Duration  `toml:"timeout"`           // whole Scan call; default 60s
	OnError string    `toml:"on_error"`
	Send    string    `toml:"send"`
	MaxSize Size      `toml:"max_size,omitzero"` // objects above are not sent: "unscannable"

	// clamd
	Fildes  *bool `toml:"fildes,omitempty"`     // pass descriptors over a UNIX socket when the object is a file; default true
	Session *bool `toml:"session,omitempty"`    // several objects per connection (IDSESSION); default true
	Conns   int   `toml:"connections,omitzero"` // connections used at once; default 2

	// spamd
	Request string `toml:"request,omitempty"` // SYMBOLS (default), REPORT or CHECK

	// command
	Command          []string `toml:"command,omitempty"`           // argv; "{}" is replaced by the file's path, else the path is appended
	Infected         []int    `toml:"infected,omitempty"`          // exit codes meaning infected; default [1]
	Clean            []int    `toml:"clean,omitempty"`             // default [0]
	Error            []int    `toml:"error,omitempty"`             // listed for clarity: any unlisted code is an error too
	SignaturePattern string   `toml:"signature_pattern,omitempty"` // regexp over the output; group 1 (or the match) is the signature
	TempDir          string   `toml:"temp_dir,omitempty"`          // parent of the private per-scan directory; default os.TempDir()

	// builtin
	Databases []string `toml:"databases,omitempty"` // .hdb/.hsb files, or directories holding them
	NoEicar   bool     `toml:"no_eicar,omitempty"`  // builtin: do not detect EICAR
	// CacheDir holds the compiled signature cache (builtin.LoadCached);
	// nil: builtin.DefaultCacheDir; "": no cache.
	CacheDir *string `toml:"cache_dir,omitempty"`
}

// KeyError is a configuration error in one key of an [[engine]] table:
// check-config and the delivery's error name the file, line and key.
type KeyError struct {
	Engine string // the engine's name
	Key    string // "type", "on_error", "address", ...
	Err    error
}

func (e *KeyError) Error() string { return fmt.Sprintf("engine %q: %v", e.Engine, e.Err) }
func (e *KeyError) Unwrap() error { return e.Err }

func keyErr(engine, key string, err error) error {
	return &KeyError{Engine: engine, Key: key, Err: err}
}

// Types are the engine types, in the order the documentation lists them.
var Types = []string{"clamd", "spamd", "rspamd", "command", "builtin"}

func (c Config) checkType() error {
	name := c.Name
	if name == "" {
		name = c.Type
	}
	switch c.Type {
	case "clamd", "spamd", "rspamd", "command", "builtin":
		return nil
	case "":
		return keyErr(name, "type", errors.New("no type (clamd, spamd, rspamd, command, builtin)"))
	}
	return keyErr(name, "type", fmt.Errorf("unknown type %q (clamd, spamd, rspamd, command, builtin)", c.Type))
}

func kindOf(typ string) Kind {
	if typ == "spamd" || typ == "rspamd" {
		return Spam
	}
	return Virus
}

func wantsAddress(typ string) bool { return typ == "clamd" || typ == "spamd" || typ == "rspamd" }

// WithDefaults returns c with every unset key given the value New uses:
// what check-config prints as the effective configuration. Keys that do
// not apply to c's type stay unset.
func (c Config) WithDefaults() Config {
	if c.Name == "" {
		c.Name = c.Type
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	}
	if c.OnError == "" {
		c.OnError = defaultOnError(kindOf(c.Type))
	}
	t := true
	switch c.Type {
	case "clamd":
		c.Send = cmp.Or(c.Send, SendBoth)
		if c.Fildes == nil {
			c.Fildes = &t
		}
		if c.Session == nil {
			c.Session = &t
		}
		if c.Conns <= 0 {
			c.Conns = clamd.DefaultConns
		}
	case "spamd":
		c.Send = cmp.Or(c.Send, SendRaw)
		c.Request = cmp.Or(c.Request, "SYMBOLS")
		if c.MaxSize == 0 {
			c.MaxSize = DefaultSpamdMaxSize
		}
	case "rspamd":
		c.Send = cmp.Or(c.Send, SendRaw)
	case "command":
		c.Send = cmp.Or(c.Send, SendParts)
		if c.Infected == nil {
			c.Infected = []int{1}
		}
		if c.Clean == nil {
			c.Clean = []int{0}
		}
		c.TempDir = cmp.Or(c.TempDir, os.TempDir())
	case "builtin":
		c.Send = cmp.Or(c.Send, SendParts)
		if c.CacheDir == nil {
			d := builtin.DefaultCacheDir
			c.CacheDir = &d
		}
	}
	return c
}

// Addresses is one address or a list of them. Both
// `address = "unix:/x"` and `address = ["unix:/x", "tcp:h:3310"]` decode.
type Addresses []string

// UnmarshalTOML implements BurntSushi/toml's Unmarshaler.
func (a *Addresses) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*a = Addresses{v}
		return nil
	case []any:
		out := make(Addresses, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("address: want strings, got %T", e)
			}
			out = append(out, s)
		}
		*a = out
		return nil
	}
	return fmt.Errorf("address: want a string or a list of strings, got %T", v)
}

// UnmarshalText accepts one address, or several separated by commas.
func (a *Addresses) UnmarshalText(b []byte) error {
	var out Addresses
	for s := range strings.SplitSeq(string(b), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	*a = out
	return nil
}

// Duration is a time.Duration written like "60s" or "1m30s".
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	if v < 0 {
		return errors.New("negative duration")
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Size is a byte count written as a number or with a binary unit:
// "500KB" = 500*1024, "20MB", "1GB" (K, KB, KiB alike).
type Size int64

// ParseSize parses a Size.
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	num := strings.TrimRightFunc(s, func(r rune) bool { return r > '9' || r < '0' })
	unit := strings.ToUpper(strings.TrimSpace(s[len(num):]))
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (KB, MB, GB)", s)
	}
	var m int64
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "IB"), "B") {
	case "":
		m = 1
	case "K":
		m = 1 << 10
	case "M":
		m = 1 << 20
	case "G":
		m = 1 << 30
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	if n > (1<<62)/m {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return Size(n * m), nil
}

func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// UnmarshalTOML accepts an integer or a string.
func (z *Size) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return errors.New("negative size")
		}
		*z = Size(v)
		return nil
	case string:
		return z.UnmarshalText([]byte(v))
	}
	return fmt.Errorf("size: want a number or a string like \"20MB\", got %T", v)
}
