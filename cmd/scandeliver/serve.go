package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/scandeliver/scandeliver/deliver"
	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/serve"
	"github.com/scandeliver/scandeliver/unpack"
)

// serveCommand runs the resident LMTP server until SIGTERM (or SIGINT):
// the configuration is loaded once, SIGHUP reloads it (a bad file keeps
// the running one), SIGTERM lets the messages in flight finish.
func serveCommand(args []string, e *sysEnv) int {
	if len(args) > 0 && args[0] == "write" {
		return writeStdin("serve write", args[1:], e)
	}
	if len(args) > 0 && args[0] == "broker" {
		return serveBroker(args[1:], e)
	}
	fs := newFlagSet("serve", e)
	cpath := configFlag(fs)
	listen := fs.String("listen", "", "unix:/path or loopback host:port")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exOK
		}
		return exUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "scandeliver: serve takes no arguments\n")
		return exUsage
	}
	path, explicit := cpath()
	load := func() (*pipeline.Snapshot, error) {
		cfg, err := loadConfig(path, explicit)
		if err != nil {
			return nil, err
		}
		return pipeline.NewSnapshot(cfg, path)
	}
	// Read by whoever started us (root): what takes effect at start.
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: serve: configuration error: %v\n", err)
		return exCheckFail
	}
	sc := cfg.Serve
	addr := cmp.Or(*listen, sc.Listen)
	l, err := serve.Listen(addr, sc.SocketGroup)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: serve: %v\n", err)
		return exCheckFail
	}
	var broker *brokerClient
	if os.Geteuid() == 0 {
		broker, err = dropServe(cfg, path, explicit, e)
		if err != nil {
			l.Close()
			fmt.Fprintf(e.stderr, "scandeliver: serve: %v\n", err)
			return exCheckFail
		}
	}
	// From here on, the service user: the configuration is read again
	// as it (so that a reload reads it the same way), then mail.
	snap, err := load()
	if err != nil {
		l.Close()
		fmt.Fprintf(e.stderr, "scandeliver: serve: configuration error: %v\n", err)
		return exCheckFail
	}
	writeAsUser := func(ctx context.Context, w pipeline.Write) (deliver.Result, error) {
		u := w.Recipient.User
		if u == nil || w.Dest.Kind == deliver.LMTP || os.Geteuid() == u.Uid {
			return deliver.Deliver(ctx, w.Dest, w.Prefix, w.Body, w.Size, w.Envelope, w.Options)
		}
		if broker == nil {
			return deliver.Result{}, fmt.Errorf("serve runs as uid %d and was not started as root for system users ([serve] mailbox = \"\"): it cannot write as user %s", os.Geteuid(), u.Name)
		}
		return broker.write(ctx, w)
	}
	srv := serve.New(snap, serve.Options{
		Write: writeAsUser,
		Log: func(cfg pipeline.Config, o pipeline.Outcome, took time.Duration) {
			e.logOutcome(cfg.Log, o.Log, o.Err, took)
		},
		Warn:     e.stderr,
		Hostname: pipeline.Hostname(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Canary(ctx)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	fmt.Fprintf(e.stderr, "scandeliver: serve: listening on %s (%s)\n", addr, versionString())
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				next, err := load()
				if err != nil {
					fmt.Fprintf(e.stderr, "scandeliver: serve: reload failed, the running configuration stays: %v\n", err)
					continue
				}
				srv.Reload(next)
				fmt.Fprintf(e.stderr, "scandeliver: serve: configuration reloaded from %s\n", path)
				continue
			}
			fmt.Fprintf(e.stderr, "scandeliver: serve: %v: finishing the messages in flight\n", sig)
			// The messages in flight get their time budget; past it (or
			// at a second signal) their connections close unacknowledged
			// and the MTA sends them again.
			sctx, scancel := context.WithTimeout(context.Background(), time.Duration(srv.Snapshot().Config.Serve.Timeout)+30*time.Second)
			go func() {
				select {
				case <-sigs:
					scancel()
				case <-sctx.Done():
				}
			}()
			err := srv.Shutdown(sctx)
			scancel()
			<-done
			if err != nil {
				fmt.Fprintf(e.stderr, "scandeliver: serve: stopped before all messages finished: %v\n", err)
				return exTempFail
			}
			fmt.Fprintf(e.stderr, "scandeliver: serve: stopped\n")
			return exOK
		case err := <-done:
			fmt.Fprintf(e.stderr, "scandeliver: serve: %v\n", err)
			return exTempFail
		}
	}
}

// writeStdin is the writer child that runs as a user: "serve write" for
// the broker (broker.go) and "quarantine deliver-released" for release
// --to (quarantinecmd.go). It writes standard input, as it is, to --to as
// the user it runs as, and prints where. Any user may run it; it writes
// nothing they could not write themselves.
func writeStdin(name string, args []string, e *sysEnv) int {
	fs := newFlagSet(name, e)
	to := fs.String("to", "", "destination")
	folder := fs.String("folder", "", "Maildir++ folder")
	sender := fs.String("f", "", "envelope sender")
	rcpt := fs.String("a", "", "recipient")
	lockTimeout := fs.Duration("lock-timeout", 0, "mbox lock timeout")
	staleLock := fs.Duration("stale-lock", 0, "stale dotlock age")
	if err := fs.Parse(args); err != nil || *to == "" || fs.NArg() > 0 {
		return exUsage
	}
	dest, err := deliver.ParseDest(*to, "")
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s: %v\n", name, err)
		return exitCode(err)
	}
	if *folder != "" {
		dest = dest.WithFolder(*folder)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sp, err := unpack.NewSpool(e.stdin, unpack.SpoolOptions{})
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s: %v\n", name, err)
		return exTempFail
	}
	defer sp.Close()
	res, err := deliver.Deliver(ctx, dest, nil, sp, sp.Size(), deliver.Envelope{Sender: *sender, Recipient: *rcpt},
		deliver.Options{LockTimeout: *lockTimeout, StaleLock: *staleLock, Now: e.now})
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s: %v\n", name, err)
		return exitCode(err)
	}
	fmt.Fprintln(e.stdout, res.Path)
	return exOK
}

// runWriter runs this program's writer child (writeStdin, args naming it:
// "serve write" or "quarantine deliver-released") with stdin, as u (its
// uid, gid and groups; nil: as we are), in / with a minimal environment.
// Past ctx the child is asked to stop (it removes what it half-wrote),
// then killed. It returns the path the child printed.
func runWriter(ctx context.Context, u *deliver.User, stdin io.Reader, args ...string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdin = stdin
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	if u != nil {
		cmd.Env = append(cmd.Env, "HOME="+u.Home)
		groups := make([]uint32, 0, len(u.Groups))
		for _, g := range u.Groups {
			groups = append(groups, uint32(g))
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid), Groups: groups}}
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
