package pipeline

import (
	"bytes"
	"io"
)

// emptyMax bounds the white-space-only check of checkInput: a message is
// read for it only when it is this small.
const emptyMax = 4096

// EmptyError is a message with nothing in it: Rejected (one-shot exit
// 65, LMTP 550 5.6.0), never retried.
type EmptyError struct{}

func (EmptyError) Error() string {
	return "empty message (nothing after the envelope): not delivered"
}

// checkInput decides the two degenerate inputs, for both front doors, as
// scandeliver(1) INPUT documents:
//
//   - an empty message (no byte, or only white space, after any From_
//     line) is not delivered: EmptyError, exit 65, 550 over LMTP. procmail would write an
//     empty file and we would write one made only of our own fields; an
//     MTA never hands over an empty message (Postfix adds its Received:
//     field), so this is a broken pipe or a mistaken command, and a retry
//     (75) could never succeed.
//   - a message whose first line is not a header field (binary garbage,
//     a bare body) is delivered as procmail and Postfix's local(8) deliver
//     it, scanned like any other: every reader (Python's email in both
//     policies, ripmime, munpack) takes it as one text/plain body, which
//     is what the engines are given. The log line says
//     warning="no header field".
func checkInput(m *Message, s *Summary) error {
	if m.Size() <= emptyMax {
		b, err := io.ReadAll(m.Reader())
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return EmptyError{}
		}
	}
	line := make([]byte, 998)
	n, _ := m.ReadAt(line, 0)
	if !isFieldLine(line[:n]) {
		s.Add("warning", "no header field: delivered as a body")
	}
	return nil
}

// isFieldLine reports whether b starts with a header field name (printable
// US-ASCII but colon, RFC 5322 section 2.2) followed by a colon.
func isFieldLine(b []byte) bool {
	for i, c := range b {
		switch {
		case c == ':':
			return i > 0
		case c < 33 || c > 126:
			return false
		}
	}
	return false
}
