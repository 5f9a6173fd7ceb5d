package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/scandeliver/scandeliver/confdoc"
	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/pipeline"
)

// checkConfig is `scandeliver check-config`: the configuration is read as
// a delivery reads it, then everything a delivery builds from it is built
// by the same code (pipeline.Check: engines, destinations, templates,
// the spool); every error is printed with its file, line and key, and
// the exit status is 1. Otherwise the effective configuration is printed:
// every value a delivery uses, defaults filled in.
func checkConfig(args []string, e *sysEnv) int {
	fs := newFlagSet("check-config", e)
	cpath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exOK
		}
		return exUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "scandeliver: check-config takes no arguments")
		return exUsage
	}
	path, explicit := cpath()
	return checkConfigFile(path, explicit, e)
}

// checkConfigFile checks the configuration at path (explicit: named with
// -c, so that its absence is an error).
func checkConfigFile(path string, explicit bool, e *sysEnv) int {
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		for _, err := range pipeline.Errors(err) {
			fmt.Fprintf(e.stderr, "scandeliver: check-config: %v\n", err)
		}
		return exCheckFail
	}
	snap, errs, warnings := pipeline.Check(cfg, path)
	if err := checkServeUser(cfg.Serve.User); err != nil {
		warnings = append(warnings, &ConfigError{File: path, Key: "serve.user", Err: err})
	}
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "scandeliver: check-config: warning: %v\n", withLines(w))
	}
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintf(e.stderr, "scandeliver: check-config: %v\n", withLines(err))
		}
		fmt.Fprintf(e.stderr, "scandeliver: check-config: %d error(s): deliveries would be deferred (exit 75)\n", len(errs))
		return exCheckFail
	}
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(e.stdout, "# %s not found: built-in defaults\n", path)
	} else {
		fmt.Fprintf(e.stdout, "# %s: OK\n", path)
	}
	fmt.Fprintf(e.stdout, "# %d engine(s) built, templates rendered; the effective configuration, defaults filled in:\n", len(snap.Engines))
	// The printout is written like the example configuration, by confdoc,
	// one sentence of scandeliver.toml(5) per key.
	confdoc.Write(e.stdout, cfg.Effective(), confdoc.Options{Brief: true})
	return exOK
}

// checkServeUser checks [serve] user, which only scandeliver serve
// started as root uses (a warning: one-shot deliveries do not need it).
func checkServeUser(name string) error {
	if name == "" {
		return nil
	}
	u, err := deliver.LookupUser(name)
	if err != nil {
		return fmt.Errorf("%v: scandeliver serve would not start as root", err)
	}
	if u.Uid == 0 {
		return fmt.Errorf("%q is root: scandeliver serve would not start (it must not parse mail as root)", name)
	}
	return nil
}
