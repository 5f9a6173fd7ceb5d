package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/scandeliver/scandeliver/rules"
	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/unpack"
)

// DefaultConfigPath is read when -c is not given; its absence means the
// built-in defaults.
const DefaultConfigPath = "/etc/scandeliver/scandeliver.toml"

// Config is the whole configuration file, decoded once by cmd and handed
// to each stage as its own section (ARCHITECTURE.md: only cmd reads the
// config file and the environment).
type Config struct {
	Deliver    DeliverConfig    `toml:"deliver"`
	Spool      SpoolConfig      `toml:"spool"`
	Quarantine QuarantineConfig `toml:"quarantine"`
	Log        LogConfig        `toml:"log"`
	Limits     unpack.Limits    `toml:"limits"`
	Scan       ScanConfig       `toml:"scan"`
	Engines    []scan.Config    `toml:"engine"`
	Policy     rules.Policy     `toml:"policy"`
	Rulesets   []rules.Ruleset  `toml:"ruleset"`
	Notify     NotifyConfig     `toml:"notify"`
	HTML       HTMLConfig       `toml:"html"`
	Headers    HeadersConfig    `toml:"headers"`
	Sanitize   SanitizeConfig   `toml:"sanitize"`
	Canary     CanaryConfig     `toml:"canary"`
	Release    ReleaseConfig    `toml:"release"`
}

// DeliverConfig is the [deliver] table.
type DeliverConfig struct {
	// Default destination: a trailing "/" means a Maildir, anything else
	// an mbox file; "~/" is the recipient's home.
	Default string `toml:"default"`
	// LockTimeout bounds the wait for an mbox lock.
	LockTimeout Duration `toml:"lock_timeout"`
	// StaleLock is the age past which a dotlock is considered stale.
	StaleLock Duration `toml:"stale_lock"`
	// Junk is where spam goes when the policy says junk: "" means the
	// Maildir++ folder .Junk of a Maildir destination (an mbox
	// destination gets it in place, tagged).
	Junk string `toml:"junk"`
}

// SpoolConfig is the [spool] table.
type SpoolConfig struct {
	Dir     string `toml:"dir"`      // "" = $TMPDIR or /tmp
	Memory  Size   `toml:"memory"`   // above this the message goes to a file
	MaxSize Size   `toml:"max_size"` // 0 = no limit; above it the message is deferred
}

// QuarantineConfig is the [quarantine] table.
type QuarantineConfig struct {
	Dir   string `toml:"dir"`
	Group string `toml:"group"`
}

// LogConfig is the [log] table.
type LogConfig struct {
	Syslog bool   `toml:"syslog"` // also log to syslog's mail facility
	Level  string `toml:"level"`  // debug, info, warn, error
}

// defaultConfig returns the built-in defaults, which the config file
// overrides key by key.
func defaultConfig() Config {
	return Config{
		Deliver: DeliverConfig{
			Default:     "~/Maildir/",
			LockTimeout: Duration(60 * time.Second),
			StaleLock:   Duration(5 * time.Minute),
		},
		Spool: SpoolConfig{
			Memory: 1 << 20,
		},
		Quarantine: QuarantineConfig{
			Dir: "/var/spool/scandeliver/quarantine",
		},
		Log:     LogConfig{Syslog: true, Level: "info"},
		HTML:    HTMLConfig{Disarm: true},
		Canary:  CanaryConfig{Interval: Duration(DefaultCanaryInterval)},
		Release: ReleaseConfig{Key: DefaultReleaseKey, MaxAge: Duration(DefaultReleaseMaxAge)},
	}
}

// ConfigError is a configuration file that cannot be used. It carries
// the file, line and key so that a postmaster finds the typo at once.
type ConfigError struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// loadConfig reads the configuration. explicit says whether the path was
// named with -c: a missing default file means the built-in defaults, a
// missing named file is an error.
func loadConfig(path string, explicit bool) (Config, error) {
	cfg := defaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicit {
			return cfg, nil
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in the ConfigError
		}
		return cfg, &ConfigError{File: path, Err: err}
	}
	if err := decodeConfig(path, data, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// decodeConfig decodes data strictly into cfg: a syntax error, a value of
// the wrong type and an unknown key are all errors with a line number.
func decodeConfig(path string, data []byte, cfg *Config) error {
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &ConfigError{File: path, Line: pe.Position.Line, Key: pe.LastKey, Err: errors.New(pe.Message)}
		}
		// Type mismatches come as plain errors that carry the position in
		// their text only.
		if m := tomlTypeErr().FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &ConfigError{File: path, Line: line, Key: m[2], Err: errors.New(m[3])}
		}
		return &ConfigError{File: path, Err: err}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return &ConfigError{File: path, Line: keyLine(data, k), Key: k.String(), Err: errors.New("unknown key")}
	}
	return cfg.validate(path)
}

// tomlTypeErr is compiled on first use (only a broken config needs it).
var tomlTypeErr = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)
})

// validate checks what the types alone cannot.
func (c *Config) validate(path string) error {
	if c.Deliver.Default == "" {
		return &ConfigError{File: path, Key: "deliver.default", Err: errors.New("must not be empty")}
	}
	if err := c.Policy.Validate(); err != nil {
		return &ConfigError{File: path, Key: "policy", Err: err}
	}
	for i, rs := range c.Rulesets {
		if err := rs.Policy.Validate(); err != nil {
			return &ConfigError{File: path, Key: fmt.Sprintf("ruleset[%d] (%s).policy", i, rs.Name), Err: err}
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return &ConfigError{File: path, Key: "log.level", Err: fmt.Errorf("%q is not one of debug, info, warn, error", c.Log.Level)}
	}
	return nil
}

// keyLine finds the line where key k is set: BurntSushi/toml reports
// unknown keys without a position, so we look for the key's last
// component under its table header ourselves.
func keyLine(data []byte, k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	table := strings.Join(k[:len(k)-1], ".")
	name := k[len(k)-1]
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			h := strings.Trim(line, "[] \t")
			if i := strings.IndexByte(h, '#'); i >= 0 {
				h = strings.Trim(h[:i], "[] \t")
			}
			cur = h
			if h == k.String() {
				return n // an unknown table
			}
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			continue
		}
		lhs := strings.Trim(strings.TrimSpace(line[:eq]), `"'`)
		full := lhs
		if cur != "" {
			full = cur + "." + lhs
		}
		if (cur == table && lhs == name) || full == k.String() {
			return n
		}
	}
	return 0
}

// Size is a byte count written as an integer or with a unit: "512KB",
// "1MB", "20MB", "1GB" (powers of 1024), the same type as [limits] uses.
type Size = unpack.Size

// Duration is a time.Duration written as "60s", "10m".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q (want e.g. 30s, 10m)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
