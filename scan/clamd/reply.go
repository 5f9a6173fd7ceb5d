package clamd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Status is what clamd said about one scanned stream or descriptor.
type Status int

const (
	Clean     Status = iota // "... OK"
	Found                   // "... <signature> FOUND"
	SizeLimit               // the object was too large to be scanned whole
	Error                   // "... <message> ERROR"
)

func (s Status) String() string {
	switch s {
	case Clean:
		return "clean"
	case Found:
		return "found"
	case SizeLimit:
		return "size-limit"
	case Error:
		return "error"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Reply is one parsed clamd reply line.
type Reply struct {
	ID        int    // request number inside an IDSESSION, else 0
	Status    Status //
	Signature string // for Found (and SizeLimit from a heuristic)
	Message   string // for Error and SizeLimit: clamd's own words
}

// ErrGarbled is wrapped by ParseReply for a reply that is none of clamd's
// forms; the caller treats the engine as unable to answer.
var ErrGarbled = errors.New("garbled clamd reply")

// maxReply bounds a reply line; clamd's are short (a name, a signature).
const maxReply = 4096

// ParseReply parses one reply line, with or without its terminating NUL
// or newline. In a session (IDSESSION) every reply starts with "N: ".
//
// The forms (clamd(8), and clamd/session.c):
//
//	stream: OK
//	stream: Eicar-Signature FOUND
//	fd[12]: Win.Test.EICAR_HDB-1 FOUND
//	INSTREAM size limit exceeded. ERROR
//	stream: Can't allocate memory ERROR
//	3: stream: OK                     (inside IDSESSION)
//
// A signature "Heuristics.Limits.Exceeded.*" (clamd with
// AlertExceedsMax) means clamd stopped scanning at a limit: that is
// SizeLimit, not an infection and not clean.
func ParseReply(line string, session bool) (Reply, error) {
	var r Reply
	s := strings.TrimRight(line, "\x00\r\n")
	if len(s) > maxReply {
		return r, fmt.Errorf("%w: reply of %d bytes", ErrGarbled, len(s))
	}
	if s == "" {
		return r, fmt.Errorf("%w: empty reply", ErrGarbled)
	}
	if session {
		i := strings.Index(s, ": ")
		if i <= 0 {
			return r, fmt.Errorf("%w: no request id in %q", ErrGarbled, s)
		}
		id, err := strconv.Atoi(s[:i])
		if err != nil || id <= 0 {
			return r, fmt.Errorf("%w: bad request id in %q", ErrGarbled, s)
		}
		r.ID = id
		s = s[i+2:]
	}
	switch {
	case strings.HasSuffix(s, " FOUND"):
		body := strings.TrimSuffix(s, " FOUND")
		i := strings.LastIndex(body, ": ")
		if i < 0 {
			return r, fmt.Errorf("%w: %q", ErrGarbled, s)
		}
		r.Signature = strings.TrimSpace(body[i+2:])
		if r.Signature == "" {
			return r, fmt.Errorf("%w: empty signature in %q", ErrGarbled, s)
		}
		r.Status = Found
		if strings.HasPrefix(r.Signature, "Heuristics.Limits.Exceeded") {
			r.Status = SizeLimit
			r.Message = r.Signature
		}
	case strings.HasSuffix(s, ": OK"):
		r.Status = Clean
	case strings.HasSuffix(s, " ERROR"):
		r.Message = strings.TrimSuffix(s, " ERROR")
		r.Status = Error
		// clamd/session.c: conn_reply_error(conn, "INSTREAM size limit exceeded.")
		if strings.Contains(r.Message, "size limit exceeded") {
			r.Status = SizeLimit
		}
	default:
		return r, fmt.Errorf("%w: %q", ErrGarbled, s)
	}
	return r, nil
}
