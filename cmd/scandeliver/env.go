package main

import (
	"io"
	"os"
	"time"
)

// sysEnv is everything run takes from the process: tests build their own.
type sysEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// syslog, when not nil, receives the summary line in addition to
	// stderr (tests leave it nil).
	syslog func(line string) error
	// signals, when not nil, are the signals that cancel a delivery.
	signals bool
}

func newSystemEnv() *sysEnv {
	return &sysEnv{
		stdin:   os.Stdin,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		getenv:  os.Getenv,
		now:     time.Now,
		syslog:  syslogLine,
		signals: true,
	}
}
