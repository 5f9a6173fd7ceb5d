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
	"github.com/scandeliver/scandeliver/deliver"
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
		return cfg, withLines(err)
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

// validate checks what the types alone cannot. Every error is a
// *ConfigError with its key (and line, found in the file); several are
// joined.
func validateConfig(path string, c *Config) error {
	var errs []error
	if c.Deliver.Default == "" {
		errs = append(errs, &ConfigError{File: path, Key: "deliver.default", Err: errors.New("must not be empty")})
	} else if _, err := deliver.ParseDest(c.Deliver.Default, "/home/recipient"); err != nil {
		// Relative, ~user: no delivery could use it.
		errs = append(errs, &ConfigError{File: path, Key: "deliver.default", Err: err})
	}
	policyErrs := func(prefix string, err error) {
		for _, e := range pipeline.Errors(err) {
			key := prefix
			if m := policyKey().FindStringSubmatch(e.Error()); m != nil {
				key += "." + m[1]
			}
			errs = append(errs, &ConfigError{File: path, Key: key, Err: e})
		}
	}
	policyErrs("policy", c.Policy.Validate())
	for i, rs := range c.Rulesets {
		policyErrs(fmt.Sprintf("ruleset[%d].policy", i), rs.Policy.Validate())
	}
	if err := serve.CheckTemplate(c.Serve.Mailbox); err != nil {
		errs = append(errs, &ConfigError{File: path, Key: "serve.mailbox", Err: err})
	}
	if c.Serve.MaxSessions < 1 {
		errs = append(errs, &ConfigError{File: path, Key: "serve.max_sessions", Err: errors.New("must be at least 1")})
	}
	if c.Serve.Timeout <= 0 {
		errs = append(errs, &ConfigError{File: path, Key: "serve.timeout", Err: errors.New("must be more than 0")})
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, &ConfigError{File: path, Key: "log.level", Err: fmt.Errorf("%q is not one of debug, info, warn, error", c.Log.Level)})
	}
	return errors.Join(errs...)
}

// policyKey finds the key an error of rules.Policy.Validate is about:
// "filename_rules[3]: ...", "spam.action ...".
var policyKey = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([a-z_]+(?:\.[a-z_]+)*(?:\[\d+\])?)`)
})

// withLines gives every *ConfigError of err that names a key but no line
// the line of that key in the file (read again: only a broken
// configuration pays for it).
func withLines(err error) error {
	for _, e := range pipeline.Errors(err) {
		var ce *ConfigError
		if !errors.As(e, &ce) || ce.Line > 0 || ce.Key == "" || ce.File == "" {
			continue
		}
		data, rerr := os.ReadFile(ce.File)
		if rerr != nil {
			continue
		}
		ce.Line = keyPathLine(data, ce.Key)
	}
	return err
}

// keyPathLine finds the line of a key path as the errors name them:
// "deliver.default", "engine[1].type" (the second [[engine]] table),
// "policy.filename_rules[3]" (the line of filename_rules under
// [policy]), "ruleset[0].policy.infected". When the key itself is not in
// the file (a missing key, a default), it is the line of its table's
// header; 0 when neither is found.
func keyPathLine(data []byte, key string) int {
	type seg struct {
		name string
		idx  int // -1: no index
	}
	var segs []seg
	for _, p := range strings.Split(key, ".") {
		s := seg{name: p, idx: -1}
		if i := strings.IndexByte(p, '['); i > 0 && strings.HasSuffix(p, "]") {
			if n, err := strconv.Atoi(p[i+1 : len(p)-1]); err == nil {
				s = seg{name: p[:i], idx: n}
			}
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		return 0
	}
	names := make([]string, len(segs))
	for i, s := range segs {
		names[i] = s.name
	}
	// count[p] is the index of the current [[p]] table.
	count := map[string]int{}
	// indexOK: the array tables the key goes through are at the wanted
	// occurrence.
	indexOK := func(upto int) bool {
		for i := 0; i < upto && i < len(segs); i++ {
			if segs[i].idx >= 0 {
				p := strings.Join(names[:i+1], ".")
				c, ok := count[p]
				if (ok && c != segs[i].idx) || (!ok && i < len(segs)-1) {
					return false
				}
			}
		}
		return true
	}
	cur := ""
	best := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, " #"); i >= 0 && !strings.ContainsAny(line[:i], `"'`) {
			line = strings.TrimSpace(line[:i])
		}
		if strings.HasPrefix(line, "[") {
			arr := strings.HasPrefix(line, "[[")
			h := strings.TrimSpace(strings.Trim(line, "[]"))
			h = strings.ReplaceAll(h, " ", "")
			if arr {
				if _, ok := count[h]; ok {
					count[h]++
				} else {
					count[h] = 0
				}
			}
			cur = h
			// The header of the key's table (or of an enclosing one).
			for l := len(segs); l >= 1; l-- {
				if h == strings.Join(names[:l], ".") && indexOK(l) {
					if l == len(segs) {
						return n // the key is a table
					}
					best = n
					break
				}
			}
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			continue
		}
		lhs := strings.ReplaceAll(strings.TrimSpace(line[:eq]), " ", "")
		lhs = strings.Trim(lhs, `"'`)
		full := lhs
		if cur != "" {
			full = cur + "." + lhs
		}
		// The key, or an enclosing key holding it inline.
		for l := len(segs); l >= 1; l-- {
			if full == strings.Join(names[:l], ".") && indexOK(len(segs)) {
				return n
			}
		}
	}
	return best
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
