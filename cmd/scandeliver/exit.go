package main

import (
	"errors"

	"github.com/scandeliver/scandeliver/pipeline"
)

// Exit codes, from sysexits.h, as Postfix and sendmail read them
// (ARCHITECTURE.md). Anything not classified is temporary: mail is
// deferred, never bounced or dropped, when we don't know.
const (
	exOK        = 0
	exUsage     = 64
	exDataErr   = 65
	exNoUser    = 67
	exTempFail  = 75
	exNoPerm    = 77
	exCheckFail = 1 // check-config and selftest: something is wrong
)

// usageError is a bad command line: exit 64.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCode maps an error to a sysexits code. This is the only place that
// does so.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exOK
	case errors.As(err, &ue):
		return exUsage
	}
	switch pipeline.ActionOf(err) {
	case pipeline.Rejected, pipeline.TooLarge:
		return exDataErr
	case pipeline.NoUser:
		return exNoUser
	}
	return exTempFail
}
