package pipeline

import (
	"testing"

	"github.com/scandeliver/scandeliver/rules"
)

// TestCeilingPolicies: Ceiling reads max_message_size off the policies
// without building them; it must give what the policies as WithDefaults
// and Override build them give, for every mix of unset, unlimited and
// set sizes in [policy] and up to three rulesets.
func TestCeilingPolicies(t *testing.T) {
	sizes := []rules.Size{0, rules.Unlimited, 1, 1000, 50 << 20, 300 << 20}
	built := func(c Config) int64 {
		pols := []rules.Policy{c.Policy.WithDefaults()}
		for _, rs := range c.Rulesets {
			pols = append(pols, rules.Override(pols[0], rs.Policy))
		}
		largest := int64(0)
		for _, p := range pols {
			lim, ok := p.MaxMessageSize.Limit()
			if !ok {
				return 0
			}
			largest = max(largest, lim)
		}
		return CeilingFactor * largest
	}
	n := 0
	var walk func(c Config, sets int)
	walk = func(c Config, sets int) {
		if got, want := c.Ceiling(), built(c); got != want {
			t.Errorf("policy %v, rulesets %v: Ceiling %d, the built policies give %d", c.Policy.MaxMessageSize, c.Rulesets, got, want)
		}
		n++
		if sets == 3 {
			return
		}
		for _, s := range sizes {
			d := c
			d.Rulesets = append(append([]rules.Ruleset(nil), c.Rulesets...), rules.Ruleset{Policy: rules.Policy{MaxMessageSize: s}})
			walk(d, sets+1)
		}
	}
	for _, s := range sizes {
		walk(Config{Policy: rules.Policy{MaxMessageSize: s}}, 0)
	}
	if n < 1000 {
		t.Fatalf("only %d configurations tried", n)
	}
	// [spool] max_size wins over every policy.
	c := Config{Policy: rules.Policy{MaxMessageSize: rules.Unlimited}}
	c.Spool.MaxSize = 12345
	if got := c.Ceiling(); got != 12345 {
		t.Errorf("[spool] max_size 12345: Ceiling %d", got)
	}
}
