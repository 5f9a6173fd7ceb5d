package pipeline

import "time"

// Operations settings: the [canary] and [release] tables of Config.

// DefaultCanaryInterval is how often, at most, a delivery sends EICAR to
// the virus engines when [canary] interval is not set.
const DefaultCanaryInterval = 10 * time.Minute

// DefaultReleaseKey is the private key that signs release marks; its
// public half is the same path with ".pub" appended.
const DefaultReleaseKey = "/etc/scandeliver/release.key"

// DefaultReleaseMaxAge bounds how long a release mark is honoured.
const DefaultReleaseMaxAge = 7 * 24 * time.Hour

// CanaryConfig is the [canary] table: during deliveries, at most once per
// Interval, EICAR is sent to every virus engine (but the builtin one); an
// engine that does not call it infected is treated as down.
type CanaryConfig struct {
	Interval Duration `toml:"interval"` // 0 = DefaultCanaryInterval
	Disable  bool     `toml:"disable"`
}

// ReleaseConfig is the [release] table: the key pair that marks a
// message released from the quarantine and re-sent through the MTA, so
// that the delivery it comes back to does not quarantine it again.
type ReleaseConfig struct {
	Key    string   `toml:"key"`     // "" = DefaultReleaseKey; public key: Key+".pub"
	MaxAge Duration `toml:"max_age"` // 0 = DefaultReleaseMaxAge
}

// Every is how often the canary runs.
func (c CanaryConfig) Every() time.Duration {
	if c.Interval <= 0 {
		return DefaultCanaryInterval
	}
	return time.Duration(c.Interval)
}

// KeyFile is the private key's path.
func (c ReleaseConfig) KeyFile() string {
	if c.Key == "" {
		return DefaultReleaseKey
	}
	return c.Key
}

// PubFile is the public key's path.
func (c ReleaseConfig) PubFile() string { return c.KeyFile() + ".pub" }

func (c ReleaseConfig) maxAge() time.Duration {
	if c.MaxAge <= 0 {
		return DefaultReleaseMaxAge
	}
	return time.Duration(c.MaxAge)
}
