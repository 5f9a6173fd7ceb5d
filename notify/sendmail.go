package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Mailer hands messages to sendmail(8) as an argument vector, never
// through a shell:
//
//	Sendmail[0] Sendmail[1:]... -oi -f <> -- recipient
//
// -oi: a line with a single dot does not end the message; -f <>: notices
// have the null envelope sender so that they can never cause a bounce loop
// (RFC 3834 section 3.3); "--" ends the options, so no recipient can be
// read as one.
type Mailer struct {
	Sendmail []string      // program (absolute path) and leading arguments; default /usr/sbin/sendmail
	Env      []string      // extra environment ("MAIL_CONFIG=/etc/postfix-out"); the rest is a fixed PATH only
	Timeout  time.Duration // default 60s
}

// DefaultSendmail is the program used when Mailer.Sendmail is empty.
const DefaultSendmail = "/usr/sbin/sendmail"

// Check reports a configuration that cannot work or is unsafe: a relative
// program path, or -t (recipients from the headers), which would let the
// header, not the caller, choose who gets the notice.
func (m Mailer) Check() error {
	argv := m.Sendmail
	if len(argv) == 0 {
		return nil
	}
	if !filepath.IsAbs(argv[0]) {
		return fmt.Errorf("sendmail %q: not an absolute path", argv[0])
	}
	for _, a := range argv[1:] {
		if a == "-t" || a == "--" {
			return fmt.Errorf("sendmail: argument %q not allowed: scandeliver passes the recipient itself", a)
		}
	}
	return nil
}

// Argv returns the command line for one recipient.
func (m Mailer) Argv(rcpt string) ([]string, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	to, err := CheckAddress(rcpt)
	if err != nil {
		return nil, err
	}
	argv := append([]string(nil), m.Sendmail...)
	if len(argv) == 0 {
		argv = []string{DefaultSendmail}
	}
	return append(argv, "-oi", "-f", "<>", "--", to), nil
}

// Send runs sendmail for one recipient with msg on its standard input.
// A non-zero exit, a timeout or a program that cannot start is an error
// that quotes (escaped) the start of what the program wrote.
func (m Mailer) Send(ctx context.Context, rcpt string, msg []byte) error {
	argv, err := m.Argv(rcpt)
	if err != nil {
		return err
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultSendTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, m.Env...)
	cmd.Stdin = bytes.NewReader(msg)
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// sendmail may leave children (postdrop, a queue runner) holding our
	// pipes: run it in its own process group and kill the group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) || out.Len() > 0 {
			return fmt.Errorf("sendmail %s for %s: %w: %s", argv[0], Escape(rcpt), err, Escape(out.String()))
		}
		return fmt.Errorf("sendmail %s for %s: %w", argv[0], Escape(rcpt), err)
	}
	return nil
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
