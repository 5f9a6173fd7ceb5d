package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RateLimit allows one notice per address per Interval. Its state is one
// empty file per address in Dir (the spool directory's "notify/"), named
// by a hash of the address, whose modification time is the last notice.
type RateLimit struct {
	Dir      string
	Interval time.Duration    // default one hour
	Now      func() time.Time // nil = time.Now
}

// Allow reports whether a notice may go to addr now, and if so records it.
// Concurrent deliveries may both be allowed within the same instant; the
// limit is against floods, not exact.
func (r RateLimit) Allow(addr string) (bool, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	iv := r.Interval
	if iv <= 0 {
		iv = time.Hour
	}
	if err := os.MkdirAll(r.Dir, 0o700); err != nil {
		return false, fmt.Errorf("notice rate limit: %w", err)
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(addr))))
	p := filepath.Join(r.Dir, hex.EncodeToString(sum[:16]))
	fi, err := os.Stat(p)
	switch {
	case err == nil && now.Sub(fi.ModTime()) < iv && !fi.ModTime().After(now.Add(time.Minute)):
		return false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("notice rate limit: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return false, fmt.Errorf("notice rate limit: %w", err)
	}
	f.Close()
	if err := os.Chtimes(p, now, now); err != nil {
		return false, fmt.Errorf("notice rate limit: %w", err)
	}
	return true, nil
}
