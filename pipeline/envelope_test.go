package pipeline

import (
	"strings"
	"testing"
)

func TestScanHeader(t *testing.T) {
	tests := []struct {
		name, msg string
		want      headerInfo
	}{
		{"plain", "Message-ID: <a@b>\nSubject: x\n\nbody\n", headerInfo{messageID: "<a@b>"}},
		{"from line", "From bob@example.org Thu Jan  1 00:00:00 2026\nSubject: x\n\nb\n",
			headerInfo{fromLine: "bob@example.org", bodyStart: 46}},
		{"crlf and folded id", "Subject: x\r\nMessage-Id:\r\n <c@d>\r\n\r\n", headerInfo{crlf: true, messageID: "<c@d>"}},
		{"mta trace on top", "Return-Path: <s@x>\nX-Original-To: r@y\nDelivered-To: R@y\nReceived: a\nDelivered-To: later@z\n\n",
			headerInfo{hasReturnPath: true, deliveredTo: []string{"r@y"}}},
		{"return-path lower down is not ours", "Subject: x\nReturn-Path: <s@x>\n\n", headerInfo{}},
		{"no header", "", headerInfo{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := scanHeader(strings.NewReader(tc.msg), int64(len(tc.msg)))
			if got.fromLine != tc.want.fromLine || got.bodyStart != tc.want.bodyStart || got.crlf != tc.want.crlf ||
				got.messageID != tc.want.messageID || got.hasReturnPath != tc.want.hasReturnPath ||
				strings.Join(got.deliveredTo, ",") != strings.Join(tc.want.deliveredTo, ",") {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestPrefixFields(t *testing.T) {
	if got := string(prefixFields(headerInfo{}, "a@b", "c@d", nil)); got != "Return-Path: <a@b>\nDelivered-To: c@d\n" {
		t.Errorf("plain: %q", got)
	}
	if got := string(prefixFields(headerInfo{crlf: true}, "MAILER-DAEMON", "c@d", []string{"X-S: clean"})); got != "Return-Path: <>\r\nDelivered-To: c@d\r\nX-S: clean\r\n" {
		t.Errorf("bounce, crlf: %q", got)
	}
	if got := string(prefixFields(headerInfo{hasReturnPath: true, deliveredTo: []string{"c@d"}}, "a@b", "C@d", nil)); got != "" {
		t.Errorf("fields already set by the MTA were doubled: %q", got)
	}
	if got := string(prefixFields(headerInfo{}, "a@b>\nX-Evil: 1", "c@d\r\nBcc: x", nil)); strings.Count(got, "\n") != 2 || strings.Contains(got, "\r") {
		t.Errorf("an envelope address broke the header: %q", got)
	}
}
