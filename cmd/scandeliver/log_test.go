package main

import (
	"log/syslog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSyslogTo: the line reaches a local syslog socket in log/syslog's
// local format and priority (LOG_MAIL|LOG_INFO), after paths where
// nothing listens; with no socket at all it is an error.
func TestSyslogTo(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if syslogMailInfo != int(syslog.LOG_MAIL|syslog.LOG_INFO) {
		t.Fatalf("priority %d, want log/syslog's %d", syslogMailInfo, syslog.LOG_MAIL|syslog.LOG_INFO)
	}
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.Local)
	if err := syslogTo([]string{filepath.Join(dir, "none"), sock}, `level=INFO msg=delivered size=5`, now); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := "<22>Jan  2 15:04:05 scandeliver[" + itoa(os.Getpid()) + "]: level=INFO msg=delivered size=5\n"
	if got := string(buf[:n]); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if err := syslogTo([]string{filepath.Join(dir, "none")}, "x", now); err == nil {
		t.Error("no socket: no error")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
