package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"log/syslog"
	"strings"
	"sync"

	"github.com/scandeliver/scandeliver/pipeline"
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
