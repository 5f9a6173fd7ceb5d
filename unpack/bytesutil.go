package unpack

import (
	"bytes"
	"fmt"
)

func indexNL(b []byte) int { return bytes.IndexByte(b, '\n') }

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// eolLen is the length of the line break ending b: 2 for CRLF, 1 for LF,
// 0 for none.
func eolLen(b []byte) int {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		if n > 1 && b[n-2] == '\r' {
			return 2
		}
		return 1
	}
	return 0
}

// isBlankLine reports whether b is an empty line (only a line break).
// QUIRK: a line of only spaces or tabs is not blank (RFC 5322 section
// 2.1); Python's email and Thunderbird agree.
func isBlankLine(b []byte) bool {
	return len(b) > 0 && len(b) == eolLen(b)
}
