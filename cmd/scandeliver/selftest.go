package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/scandeliver/scandeliver/notify"
	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/quarantine"
)

// selftestCommand checks every configured engine with EICAR or GTUBE.
// One line per engine; exit 0 when all pass, 1 naming the failing ones.
func selftestCommand(args []string, e *sysEnv) int {
	cfg, path, code := configCommand("selftest", args, e)
	if code >= 0 {
		return code
	}
	engines, err := pipeline.BuildEngines(cfg.Engines)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: selftest: %s: %v\n", path, err)
		return exCheckFail
	}
	// Run as root from cron, selftest also keeps the quarantine laid
	// out right (checked, the old layout moved into place:
	// see quarantine.Store.Ensure).
	if os.Geteuid() == 0 && cfg.Quarantine.Dir != "" {
		if _, err := os.Lstat(cfg.Quarantine.Dir); err == nil {
			st := quarantine.Store{Dir: cfg.Quarantine.Dir, Group: cfg.Quarantine.Group, Now: e.now}
			if err := st.Migrate(); err != nil {
				fmt.Fprintf(e.stderr, "scandeliver: selftest: %v\n", err)
			}
		}
	}
	ctx := context.Background()
	var failed []string
	for _, en := range engines {
		p := pipeline.ProbeEngine(ctx, en)
		status := "ok"
		if !p.OK {
			status = "FAILED"
			failed = append(failed, p.Engine)
		}
		fmt.Fprintf(e.stdout, "%s %s %s: %s (%v)\n", notify.Escape(p.Engine), p.Kind, status, p.Detail, p.Took.Round(time.Millisecond))
	}
	if len(failed) > 0 {
		fmt.Fprintf(e.stdout, "selftest FAILED: %s\n", notify.Escape(strings.Join(failed, ", ")))
		return exCheckFail
	}
	fmt.Fprintf(e.stdout, "selftest ok: %d engines\n", len(engines))
	return exOK
}
