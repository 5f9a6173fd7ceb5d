package pipeline

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/scandeliver/scandeliver/quarantine"
)

// ReleasedOK reports whether the message in raw carries a release mark
// (quarantine release --resend) that verifies for recipient rcpt with the
// installation's public key: the postmaster released exactly these bytes
// for this recipient. A missing public key, no mark, or a mark that does
// not verify all give false (and the message is handled as any other);
// why is for the log.
func ReleasedOK(raw io.ReaderAt, size int64, rc ReleaseConfig, rcpt string, now time.Time) (id string, ok bool, why string) {
	m, ok, why := releaseMark(raw, size, rc, rcpt, now)
	return m.ID, ok, why
}

// releaseMark is ReleasedOK with the verified mark. What the mark waives
// is Deliver's to decide: the policy rules always, an engine's infected
// verdict only when the mark says force (see quarantine.ReleaseField).
func releaseMark(raw io.ReaderAt, size int64, rc ReleaseConfig, rcpt string, now time.Time) (quarantine.Mark, bool, string) {
	pub, err := quarantine.LoadReleasePublicKey(rc.PubFile())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return quarantine.Mark{}, false, ""
		}
		return quarantine.Mark{}, false, err.Error()
	}
	m, err := quarantine.VerifyRelease(raw, size, pub, rcpt, now, rc.maxAge())
	if err != nil {
		if errors.Is(err, quarantine.ErrNoMark) {
			return quarantine.Mark{}, false, ""
		}
		return quarantine.Mark{}, false, err.Error()
	}
	return m, true, ""
}
