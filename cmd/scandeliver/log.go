package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/scandeliver/scandeliver/pipeline"
)

// syslogPaths are where a local syslog daemon listens, in the order
// log/syslog tries them.
var syslogPaths = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

// syslogMailInfo is log/syslog's LOG_MAIL|LOG_INFO.
const syslogMailInfo = 2<<3 | 6

// syslogLine sends one line to syslog's mail facility (where mail logs
// live on every Unix).
func syslogLine(line string) error { return syslogTo(syslogPaths, line, time.Now()) }

// syslogTo sends line to the first local syslog socket of paths that
// takes it, in log/syslog's local format ("<22>Jan  2 15:04:05
// scandeliver[PID]: line"), datagram sockets first, then stream ones, as
// log/syslog does. It is written with plain system calls: log/syslog
// dials through package net, whose set-up (poller, goroutines) cost a
// one-shot delivery about 0.15 ms of its few (issue 13, start-up).
func syslogTo(paths []string, line string, now time.Time) error {
	msg := fmt.Appendf(nil, "<%d>%s scandeliver[%d]: %s", syslogMailInfo, now.Format(time.Stamp), os.Getpid(), line)
	if !bytes.HasSuffix(msg, []byte("\n")) {
		msg = append(msg, '\n')
	}
	err := errors.New("no syslog socket")
	for _, typ := range []int{syscall.SOCK_DGRAM, syscall.SOCK_STREAM} {
		for _, p := range paths {
			fd, serr := syscall.Socket(syscall.AF_UNIX, typ|syscall.SOCK_CLOEXEC, 0)
			if serr != nil {
				return serr
			}
			if cerr := syscall.Connect(fd, &syscall.SockaddrUnix{Name: p}); cerr != nil {
				syscall.Close(fd)
				err = &os.PathError{Op: "connect", Path: p, Err: cerr}
				continue
			}
			_, werr := syscall.Write(fd, msg)
			syscall.Close(fd)
			return werr
		}
	}
	return err
}

// logSummary writes the summary line to stderr and, when configured, to
// syslog. Values are quoted by slog's text handler, so nothing from the
// message can forge a second line or reach a terminal unescaped.
func (e *sysEnv) logSummary(cfg pipeline.LogConfig, s *pipeline.Summary, msg string) {
	if s.Level < parseLevel(cfg.Level) {
		return
	}
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // syslog and the MTA's log add their own
			}
			return a
		},
	})
	r := slog.NewRecord(e.now(), s.Level, msg, 0)
	r.AddAttrs(s.Attrs...)
	_ = h.Handle(context.Background(), r)
	line := strings.TrimRight(buf.String(), "\n")
	fmt.Fprintln(e.stderr, line)
	if cfg.Syslog && e.syslog != nil {
		// No syslog daemon is not worth a word: stderr already has the
		// line, and whatever we print there ends up in the MTA's bounce
		// and deferral texts.
		_ = e.syslog(line)
	}
}

func parseLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
