package unpack

import (
	"strings"
	"testing"
)

// TestParseFieldsUnfolds checks unfolding (RFC 5322 section 2.2.3) and
// that the time budget is checked inside a long header.
func TestParseFieldsUnfolds(t *testing.T) {
	raw := "Subject: a\n b\n\tc\nx\nContent-Type: text/plain;\r\n charset=utf-8\r\n"
	got, ok := parseFields([]byte(raw), nil)
	want := []field{{name: "subject", value: "a b\tc", lead: true}, {name: "content-type", value: "text/plain; charset=utf-8", lead: true}}
	if !ok || len(got) != len(want) {
		t.Fatalf("parseFields = %+v, %v; want %+v", got, ok, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	long := "X-Long: a\n" + strings.Repeat(" b\n", 10000)
	calls := 0
	got, ok = parseFields([]byte(long), func() bool { calls++; return calls > 2 })
	if ok || calls != 3 {
		t.Errorf("stop called %d times, complete %v; want 3 calls and incomplete", calls, ok)
	}
	if len(got) != 1 || len(got[0].value) == 0 || len(got[0].value) > 3*1024*len(" b") {
		t.Errorf("fields read before the stop: %d, value of %d bytes", len(got), len(got[0].value))
	}
}
