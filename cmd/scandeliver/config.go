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
	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/serve"
)

// DefaultConfigPath is read when -c is not given; its absence means the
// built-in defaults.
const DefaultConfigPath = "/etc/scandeliver/scandeliver.toml"

// Config is the configuration file: its sections are the pipeline's own
// types, which every stage takes as values; cmd only decodes into them.
type Config = pipeline.Config

// ConfigError is a configuration that cannot be used (file, line, key).
type ConfigError = pipeline.ConfigError

// defaultConfig returns the built-in defaults, which the config file
// overrides key by key.
func defaultConfig() Config {
	return Config{
		Deliver: pipeline.DeliverConfig{
			Default:     "~/Maildir/",
			LockTimeout: pipeline.Duration(60 * time.Second),
			StaleLock:   pipeline.Duration(5 * time.Minute),
		},
		Spool: pipeline.SpoolConfig{
			Memory: 1 << 20,
		},
		Quarantine: pipeline.QuarantineConfig{
			Dir: "/var/spool/scandeliver/quarantine",
		},
		Log:     pipeline.LogConfig{Syslog: true, Level: "info"},
		HTML:    pipeline.HTMLConfig{Disarm: true},
		Canary:  pipeline.CanaryConfig{Interval: pipeline.Duration(pipeline.DefaultCanaryInterval)},
		Release: pipeline.ReleaseConfig{Key: pipeline.DefaultReleaseKey, MaxAge: pipeline.Duration(pipeline.DefaultReleaseMaxAge)},
		Serve: pipeline.ServeConfig{
			Listen:      "unix:/run/scandeliver/lmtp",
			MaxSessions: 20,
			MaxSize:     64 << 20,
			Timeout:     pipeline.Duration(10 * time.Minute),
		},
	}
}

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
	return validateConfig(path, cfg)
}

// tomlTypeErr is compiled on first use (only a broken config needs it).
var tomlTypeErr = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)
})

// validate checks what the types alone cannot.
func validateConfig(path string, c *Config) error {
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
	if err := serve.CheckTemplate(c.Serve.Mailbox); err != nil {
		return &ConfigError{File: path, Key: "serve.mailbox", Err: err}
	}
	if c.Serve.MaxSessions < 1 {
		return &ConfigError{File: path, Key: "serve.max_sessions", Err: errors.New("must be at least 1")}
	}
	if c.Serve.Timeout <= 0 {
		return &ConfigError{File: path, Key: "serve.timeout", Err: errors.New("must be more than 0")}
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
