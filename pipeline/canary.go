package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/scandeliver/scandeliver/scan"
)

// The canary: an engine that answers but no longer detects (an empty or
// broken signature database after a failed update answers "OK" to
// everything) is worse than one that is down. During deliveries, at most
// once per interval, EICAR goes to every virus engine; one that does not
// call it infected is treated as down: its on_error applies (default
// tempfail, exit 75).
//
// The timestamp of the last good canary is a file per user in the spool
// directory, ".scandeliver-canary.<uid>", mode 0600, holding Unix seconds.
// Per user, because deliveries run as different users (Postfix's
// mailbox_command runs as the recipient) in a shared sticky directory:
// one shared file writable by all would let any local user postpone the
// canary for everyone by writing a future time. A user can only postpone
// their own. A file that is not ours (another user's, planted in a shared
// spool), a symlink or unreadable counts as "due": the canary runs; it
// never counts as "recently checked".

// canaryFile is the timestamp file for the running user.
func canaryFile(spoolDir string) string {
	if spoolDir == "" {
		spoolDir = os.TempDir()
	}
	return filepath.Join(spoolDir, ".scandeliver-canary."+strconv.Itoa(os.Geteuid()))
}

// canaryDue reports whether the last good canary recorded in path is
// older than interval (or unknown).
func canaryDue(path string, now time.Time, interval time.Duration) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return true
	}
	defer f.Close()
	if !ownRegular(f) {
		return true
	}
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return true
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return true
	}
	last := time.Unix(sec, 0)
	// A time in the future (clock stepped back) is not trusted either.
	return last.After(now.Add(time.Minute)) || now.Sub(last) >= interval
}

// ownRegular reports whether f is a regular file of ours with a single
// link. The link count matters as much as the owner: in a shared spool
// directory a user can plant a hard link named like root's canary file
// to a file of root's (where fs.protected_hardlinks is off), which
// O_NOFOLLOW does not see and whose owner is root; written through, it
// would be truncated.
func ownRegular(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid() && st.Nlink == 1
}

// canaryRecord writes now into path (created 0600, never through a
// symbolic or a hard link, only when it is ours).
func canaryRecord(path string, now time.Time) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if !ownRegular(f) {
		return fmt.Errorf("%s: not a regular file of ours with a single link", path)
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt([]byte(strconv.FormatInt(now.Unix(), 10)+"\n"), 0)
	return err
}

// canaryEngines returns the virus engines the canary checks: all but the
// builtin ones, whose EICAR detection is code, not a database that can
// rot (and can be switched off with no_eicar). cfgs are the [[engine]]
// tables the engines were built from (empty: the defaults).
func canaryEngines(cfgs []scan.Config, engines []scan.Engine) []scan.Engine {
	if len(cfgs) == 0 {
		cfgs = DefaultEngines()
	}
	var out []scan.Engine
	for i, e := range engines {
		if e.Kind() != scan.Virus {
			continue
		}
		if i < len(cfgs) && cfgs[i].Type == "builtin" {
			continue
		}
		out = append(out, e)
	}
	return out
}

// canaryCheck runs the canary when it is due: EICAR to each virus engine
// (but builtin ones). It returns the engines that failed it, as
// scan.EngineError values carrying their on_error, for the caller to
// apply exactly as for an engine that could not answer; each failure is
// also written to warn (standard error: the MTA's log). When every engine
// passes, the time is recorded and the canary is not due again for
// cc.Interval. A disabled canary, or one not yet due, returns nil at once.
func canaryCheck(ctx context.Context, cc CanaryConfig, spoolDir string, cfgs []scan.Config, engines []scan.Engine, now time.Time, warn io.Writer) []scan.EngineError {
	if cc.Disable {
		return nil
	}
	check := canaryEngines(cfgs, engines)
	if len(check) == 0 {
		return nil
	}
	path := canaryFile(spoolDir)
	if !canaryDue(path, now, cc.Every()) {
		return nil
	}
	failed := probeAll(ctx, check, warn)
	if len(failed) == 0 && ctx.Err() == nil {
		if err := canaryRecord(path, now); err != nil && warn != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(warn, "scandeliver: canary: recording the time: %v (the canary runs at every delivery)\n", err)
		}
	}
	return failed
}

// Canary sends EICAR to the snapshot's virus engines (but builtin ones)
// now, whatever the timestamp file says, and returns those that failed,
// each also written to warn. serve runs it on a timer (every [canary]
// interval) and hands the result to its deliveries through
// Options.CanaryFailed. A disabled canary returns nil.
func Canary(ctx context.Context, snap *Snapshot, warn io.Writer) []scan.EngineError {
	if snap.Config.Canary.Disable {
		return nil
	}
	return probeAll(ctx, canaryEngines(snap.Config.Engines, snap.Engines), warn)
}

// probeAll probes each engine with EICAR and returns those that failed,
// as scan.EngineError values carrying their on_error.
func probeAll(ctx context.Context, check []scan.Engine, warn io.Writer) []scan.EngineError {
	var failed []scan.EngineError
	for _, e := range check {
		p := ProbeEngine(ctx, e)
		if p.OK {
			continue
		}
		if ctx.Err() != nil {
			// The message's time budget (or the caller) ended the
			// canary: that says nothing of the engine. It is not
			// recorded, so it runs again at the next delivery.
			break
		}
		// An engine that is merely down is reported as down (the scan
		// would say the same); CANARY FAILED is kept for the news only
		// the canary brings: an engine that answers but does not detect.
		err := fmt.Errorf("canary failed: %s", p.Detail)
		if p.Down {
			err = fmt.Errorf("canary: %s", p.Detail)
		}
		failed = append(failed, scan.EngineError{Engine: e.Name(), Kind: e.Kind(), OnError: scan.OnErrorOf(e), Err: err})
		if warn != nil {
			if p.Down {
				fmt.Fprintf(warn, "scandeliver: canary: engine %s is down (on_error %s): %s\n",
					p.Engine, scan.OnErrorOf(e), p.Detail)
			} else {
				fmt.Fprintf(warn, "scandeliver: CANARY FAILED: engine %s answers but does not detect EICAR, treated as down (on_error %s): %s\n",
					p.Engine, scan.OnErrorOf(e), p.Detail)
			}
		}
	}
	return failed
}
