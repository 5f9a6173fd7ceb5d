package notify

import "time"

// The defaults of the [notify] settings, in one place (check-config and
// the example configuration show them).
const (
	DefaultFrom        = "postmaster"   // From address of notices
	DefaultFromName    = "Mail scanner" // its display name
	DefaultSendTimeout = 60 * time.Second
	DefaultInterval    = time.Hour // RateLimit: one notice per address per hour
)
