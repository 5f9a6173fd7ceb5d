package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Action is what the policy does with a part or a message.
type Action string

// The actions. Allow, Rename and Deny act on one part; Quarantine, Drop and
// Reject on the whole message; Deliver, Junk and Tag are spam handling
// (Deliver also names the ordinary outcome of a message); UseDefaults is only
// valid as a filename rule and stands for the shipped list.
const (
	Allow       Action = "allow"
	Deny        Action = "deny"       // replace the part with a notice
	Rename      Action = "rename"     // keep the content under a disarmed name
	Quarantine  Action = "quarantine" // withhold the whole message, deliver a short notice
	Reject      Action = "reject"     // exit 65: the MTA bounces
	Drop        Action = "drop"       // deliver nothing (the original is still quarantined)
	Deliver     Action = "deliver"    // deliver (spam: with headers only)
	Junk        Action = "junk"       // spam: deliver to the Junk folder
	Tag         Action = "tag"        // spam: deliver to the inbox with a subject tag
	UseDefaults Action = "defaults"   // in a rule list: the shipped rules here
)

var severity = map[Action]int{
	"":         0,
	Allow:      0,
	Deliver:    0,
	Tag:        0,
	Junk:       0,
	Rename:     1,
	Deny:       2,
	Quarantine: 3,
	Drop:       4,
	Reject:     5,
}

// Severity orders actions: allow < rename < deny < quarantine < drop < reject.
// Spam actions that still deliver (deliver, tag, junk) rank with allow.
func (a Action) Severity() int { return severity[a] }

// Worse returns the more severe of a and b (a when equal).
func Worse(a, b Action) Action {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

// UnmarshalText accepts any known action, case-insensitively.
func (a *Action) UnmarshalText(b []byte) error {
	s := Action(strings.ToLower(strings.TrimSpace(string(b))))
	if _, ok := severity[s]; !ok && s != UseDefaults {
		return fmt.Errorf("unknown action %q (want allow, deny, rename, quarantine, reject, drop, deliver, junk, tag or defaults)", string(b))
	}
	*a = s
	return nil
}

// MarshalText returns the action's name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a), nil }

// check reports whether a is one of the allowed actions for a setting.
func (a Action) check(setting string, allowed ...Action) error {
	if a == "" {
		return nil
	}
	for _, x := range allowed {
		if a == x {
			return nil
		}
	}
	return fmt.Errorf("%s: action %q not allowed here (want one of %v)", setting, string(a), allowed)
}

var partActions = []Action{Allow, Rename, Deny, Quarantine, Drop, Reject}
var messageActions = []Action{Deliver, Quarantine, Drop, Reject}
var spamActions = []Action{Deliver, Tag, Junk, Quarantine, Drop, Reject}

// Size is a byte count read from the configuration as a plain integer
// (bytes) or a string with a unit: "20MB", "20MiB", "20M" (KB, MB, GB and
// their other spellings are all powers of 1024, like every size in the
// configuration). "unlimited" or any
// negative number means no limit; 0 means the default.
type Size int64

// Unlimited is the Size that disables a limit.
const Unlimited Size = -1

// Limit reports the limit in bytes and whether there is one.
func (s Size) Limit() (int64, bool) { return int64(s), s > 0 }

// UnmarshalText parses a size; see Size.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText writes the size in bytes, or "unlimited".
func (s Size) MarshalText() ([]byte, error) {
	if s < 0 {
		return []byte("unlimited"), nil
	}
	return []byte(strconv.FormatInt(int64(s), 10)), nil
}

// ParseSize parses the text form of a Size.
func ParseSize(text string) (Size, error) {
	t := strings.TrimSpace(text)
	if strings.EqualFold(t, "unlimited") {
		return Unlimited, nil
	}
	i := 0
	if i < len(t) && (t[i] == '-' || t[i] == '+') {
		i++
	}
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("size %q: not a number", text)
	}
	if f < 0 {
		return Unlimited, nil
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		// QUIRK: KB, MB and GB are powers of 1024, as in every other size
		// of the configuration (and in MailScanner's and amavis's
		// configurations), not the SI powers of 1000.
		"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
		"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q (want B, KB, MB, GB, KiB, MiB, GiB, k, M or G)", text, unit)
	}
	v := math.Round(f * mult)
	if v >= math.MaxInt64 || math.IsNaN(v) {
		return 0, fmt.Errorf("size %q: too large", text)
	}
	return Size(v), nil
}
