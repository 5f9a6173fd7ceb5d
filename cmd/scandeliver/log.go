package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"log/syslog"
	"strings"
	"sync"
)

var (
	syslogOnce sync.Once
	syslogW    *syslog.Writer
	syslogErr  error
)

// syslogLine sends one line to syslog's mail facility (where mail logs
// live on every Unix), connecting on first use.
func syslogLine(line string) error {
	syslogOnce.Do(func() {
		syslogW, syslogErr = syslog.New(syslog.LOG_MAIL|syslog.LOG_INFO, "scandeliver")
	})
	if syslogErr != nil {
		return syslogErr
	}
	return syslogW.Info(line)
}

// summary is the one line logged per message.
type summary struct {
	attrs []slog.Attr
	level slog.Level
}

func (s *summary) add(k string, v any) { s.attrs = append(s.attrs, slog.Any(k, v)) }

// logSummary writes the summary line to stderr and, when configured, to
// syslog. Values are quoted by slog's text handler, so nothing from the
// message can forge a second line or reach a terminal unescaped.
func (e *sysEnv) logSummary(cfg LogConfig, s *summary, msg string) {
	if s.level < parseLevel(cfg.Level) {
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
	r := slog.NewRecord(e.now(), s.level, msg, 0)
	r.AddAttrs(s.attrs...)
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
