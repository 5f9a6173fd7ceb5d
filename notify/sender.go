package notify

import (
	"strings"
)

// Header is what RealSender reads of the original message's header:
// net/textproto.MIMEHeader, net/http.Header and go-message's
// textproto.Header all have this method.
type Header interface {
	Values(key string) []string
}

// Proof is what the caller knows about the sender.
type Proof struct {
	Local        bool   // the sender is ours (rules.Verdict.SenderLocal)
	Forged       bool   // the virus is known to forge senders (rules.Verdict.SenderForged)
	RequireProof bool   // only a local or authenticated sender may be told (always for viruses)
	AuthServID   string // our MTA's authserv-id; "" trusts no Authentication-Results
}

// robots are local parts that never get a notice (RFC 3834 section 2 and
// common practice).
var robots = []string{"mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply",
	"do-not-reply", "donotreply", "bounce", "bounces", "nobody", "root"}

// RealSender decides whether the envelope sender may get a notice, and
// says why not. See the package documentation.
func RealSender(sender string, h Header, p Proof) (ok bool, why string) {
	s := strings.ToLower(strings.TrimSpace(sender))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	if s == "" {
		return false, "null sender"
	}
	if _, err := CheckAddress(s); err != nil {
		return false, "unusable address"
	}
	local, domain, _ := strings.Cut(s, "@")
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i] // owner+x, bounces+x
	}
	for _, r := range robots {
		if local == r {
			return false, "robot address " + r
		}
	}
	if strings.HasPrefix(local, "owner-") || strings.HasSuffix(local, "-request") || strings.HasSuffix(local, "-owner") ||
		strings.HasSuffix(local, "-bounces") || strings.HasPrefix(local, "bounce-") {
		return false, "list address"
	}
	if h != nil {
		for _, v := range h.Values("Precedence") {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "bulk", "list", "junk":
				return false, "Precedence: " + strings.ToLower(strings.TrimSpace(v))
			}
		}
		for _, f := range []string{"List-Id", "List-Unsubscribe", "List-Post"} {
			if len(h.Values(f)) > 0 {
				return false, f + " present"
			}
		}
		for _, v := range h.Values("Auto-Submitted") {
			kw, _, _ := strings.Cut(v, ";")
			if !strings.EqualFold(strings.TrimSpace(stripComments(kw)), "no") {
				return false, "Auto-Submitted present"
			}
		}
	}
	if p.Local {
		return true, "local sender"
	}
	if p.Forged {
		return false, "virus known to forge senders"
	}
	if !p.RequireProof {
		return true, "no proof required"
	}
	if p.AuthServID == "" || h == nil {
		return false, "sender not authenticated"
	}
	// Only the topmost field with our authserv-id counts: our MTA adds
	// its own above those of the message (RFC 8601 section 5), so any
	// other one with our id came from outside, forged, and it must not
	// turn a notice into backscatter to a third party. The MTA must also
	// remove incoming fields with our id (see the package documentation).
	for _, v := range h.Values("Authentication-Results") {
		ar, err := ParseAuthResults(v)
		if err != nil || !strings.EqualFold(ar.AuthServID, p.AuthServID) {
			continue // not ours: ignored (RFC 8601 section 5)
		}
		for _, r := range ar.Results {
			switch {
			case r.Method == "dmarc" && r.Result == "pass" && sameDomain(r.Props["header.from"], domain):
				return true, "dmarc=pass"
			case r.Method == "spf" && r.Result == "pass" && sameDomain(r.Props["smtp.mailfrom"], domain):
				return true, "spf=pass"
			}
		}
		break
	}
	return false, "sender not authenticated"
}

// sameDomain compares a property value (a domain or an address) with the
// envelope sender's domain.
//
// QUIRK: dmarc=pass authenticates the From: domain, which may differ from
// the envelope sender (DKIM alignment needs no SPF). We accept it only
// when the From: domain is the envelope sender's: a notice goes to the
// envelope sender, and a pass for another domain proves nothing about it.
func sameDomain(prop, domain string) bool {
	prop = strings.ToLower(strings.TrimSpace(prop))
	if i := strings.LastIndexByte(prop, '@'); i >= 0 {
		prop = prop[i+1:]
	}
	return prop != "" && domain != "" && strings.TrimSuffix(prop, ".") == strings.TrimSuffix(domain, ".")
}

// AuthResults is a parsed Authentication-Results field (RFC 8601).
type AuthResults struct {
	AuthServID string
	Results    []AuthResult
}

// AuthResult is one resinfo: method=result and its properties
// ("smtp.mailfrom" -> "example.org").
type AuthResult struct {
	Method string // lowercased
	Result string // lowercased
	Props  map[string]string
}

type arError string

func (e arError) Error() string { return "Authentication-Results: " + string(e) }

// ParseAuthResults parses an Authentication-Results field value leniently:
// comments are dropped, quoted strings kept, unknown parts skipped. It
// fails only when there is no authserv-id.
func ParseAuthResults(v string) (AuthResults, error) {
	var ar AuthResults
	parts := splitUnquoted(stripComments(v), ';')
	if len(parts) == 0 {
		return ar, arError("empty")
	}
	head := strings.Fields(parts[0])
	if len(head) == 0 {
		return ar, arError("no authserv-id")
	}
	ar.AuthServID = unquote(head[0])
	for _, p := range parts[1:] {
		toks := fieldsUnquoted(p)
		if len(toks) == 0 || strings.EqualFold(toks[0], "none") {
			continue
		}
		// Allow "method = result" with spaces around '='.
		toks = joinEquals(toks)
		m, res, ok := strings.Cut(toks[0], "=")
		if !ok {
			continue
		}
		if i := strings.IndexByte(m, '/'); i >= 0 {
			m = m[:i] // method version
		}
		r := AuthResult{Method: strings.ToLower(m), Result: strings.ToLower(unquote(res)), Props: map[string]string{}}
		for _, t := range toks[1:] {
			k, val, ok := strings.Cut(t, "=")
			if ok && strings.Contains(k, ".") {
				r.Props[strings.ToLower(k)] = unquote(val)
			}
		}
		ar.Results = append(ar.Results, r)
	}
	return ar, nil
}

// stripComments removes RFC 5322 comments (nested parentheses, with
// backslash quoting), outside quoted strings.
func stripComments(s string) string {
	var b strings.Builder
	depth, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (depth > 0 || inQuote):
			if inQuote && i+1 < len(s) {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
		case inQuote:
			b.WriteByte(c)
			if c == '"' {
				inQuote = false
			}
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
		case depth > 0:
		case c == '"':
			inQuote = true
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func splitUnquoted(s string, sep byte) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == sep && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func fieldsUnquoted(s string) []string {
	var out []string
	for _, f := range splitUnquoted(strings.Map(func(r rune) rune {
		if r == '\t' || r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s), ' ') {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// joinEquals merges "a", "=", "b" and "a=", "b" and "a", "=b" into "a=b".
func joinEquals(toks []string) []string {
	var out []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		for (strings.HasSuffix(t, "=") || (i+1 < len(toks) && strings.HasPrefix(toks[i+1], "="))) && i+1 < len(toks) {
			t += toks[i+1]
			i++
		}
		out = append(out, t)
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		s = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(s)
	}
	return s
}
