package html

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestMessageBudget checks the memory budget shared by a message's parts
// (issue 12.4: a single 8 MiB part of <p> tags took 372 MB, ten of them
// 637 MB): a part whose tree would not fit is unscannable, a newsletter
// of ordinary size fits, and what the caller keeps of earlier parts
// leaves less to the later ones.
func TestMessageBudget(t *testing.T) {
	paragraphs := []byte(strings.Repeat("<p>", DefaultMaxBytes/3))
	mb := NewBudget(0)
	var rep Report
	var err error
	peak := peakHeap(func() {
		rep, err = Disarm(context.Background(), io.Discard, bytes.NewReader(paragraphs), Options{Budget: mb})
	})
	t.Logf("%d bytes of <p>: heap growth %d MB, err %v", len(paragraphs), peak>>20, err)
	if !errors.Is(err, ErrUnscannable) || !strings.Contains(err.Error(), "memory budget") {
		t.Errorf("%d bytes of <p> under a message budget: err %v, want the memory budget exceeded", len(paragraphs), err)
	}
	// The budget bounds the heap, with the input and one check interval
	// of slack.
	if limit := uint64(DefaultMessageMemory + 2*DefaultMaxBytes); peak > limit {
		t.Errorf("heap grew by %d MB, over the budget of %d MB", peak>>20, DefaultMessageMemory>>20)
	}

	// Ordinary mail HTML of a few MB fits, part after part.
	news := newsletter(4 << 20)
	for i := 0; i < 3; i++ {
		var out bytes.Buffer
		rep, err = Disarm(context.Background(), &out, bytes.NewReader(news), Options{Budget: mb})
		if err != nil || !rep.Changed {
			t.Fatalf("newsletter %d of %d bytes: changed %v, err %v", i+1, len(news), rep.Changed, err)
		}
	}

	// What the caller keeps is charged: with most of it kept, the same
	// newsletter no longer fits.
	mb.Keep(int(mb.Left()) - 8<<20)
	_, err = Disarm(context.Background(), io.Discard, bytes.NewReader(news), Options{Budget: mb})
	if !errors.Is(err, ErrUnscannable) {
		t.Errorf("newsletter with %d bytes of budget left: err %v, want unscannable", mb.Left(), err)
	}
	mb.Keep(int(mb.Left()))
	_, err = Disarm(context.Background(), io.Discard, strings.NewReader("<p>tiny"), Options{Budget: mb})
	if !errors.Is(err, ErrUnscannable) {
		t.Errorf("a part after the budget is spent: err %v, want unscannable", err)
	}
}
