package scan

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Kind is what an engine looks for.
type Kind string

const (
	Virus Kind = "virus"
	Spam  Kind = "spam"
)

// Status is an engine's answer about one object.
type Status string

const (
	Clean       Status = "clean"
	Infected    Status = "infected"
	IsSpam      Status = "spam"
	Unscannable Status = "unscannable" // not scanned whole (size limit...): never clean
	Error       Status = "error"       // the engine reported an error for this object
)

// RawID is the Object ID of the whole raw message.
const RawID = "message"

// Object is one thing to scan.
type Object struct {
	ID   string // part path like "1.2", or RawID; never a name from the message
	Raw  bool   // the whole raw message, for engines that parse mail
	Size int64
	Open func() (io.ReadCloser, error)
	File *os.File // optional: an open file holding exactly the content; may be nil
}

// Envelope is what the MTA told us about the message.
type Envelope struct {
	Sender     string
	Recipients []string
	User       string // the local user we deliver to (spamd's User: falls back to the first recipient)
	AuthUser   string // the SMTP-authenticated sender, if known (rspamd's User header)
	ClientIP   string
	Helo       string
}

// Verdict is one engine's answer about one object.
type Verdict struct {
	Engine    string   `json:"engine"`
	Object    string   `json:"object"` // Object.ID
	Kind      Kind     `json:"kind"`
	Status    Status   `json:"status"`
	Signature string   `json:"signature,omitempty"` // infected: the engine's signature name
	Score     float64  `json:"score"`               // spam engines
	Threshold float64  `json:"threshold"`           // spam engines: the score at which it is spam
	Symbols   []string `json:"symbols,omitempty"`   // spam engines: rules that hit
	Action    string   `json:"action,omitempty"`    // rspamd's action ("reject", "add header", ...)
	Reason    string   `json:"reason,omitempty"`    // unscannable, error: why
}

func (v Verdict) String() string {
	s := v.Engine + " " + v.Object + ": " + string(v.Status)
	switch {
	case v.Signature != "":
		s += " " + v.Signature
	case v.Kind == Spam && v.Status != Unscannable && v.Status != Error:
		s += fmt.Sprintf(" %.1f/%.1f", v.Score, v.Threshold)
	}
	if v.Reason != "" {
		s += " (" + v.Reason + ")"
	}
	return s
}

// Engine is one configured scanner. Scan returns verdicts for the
// objects the engine takes (per its Send setting) and skips the others;
// an error means the engine could not answer.
type Engine interface {
	Name() string
	Kind() Kind
	Scan(ctx context.Context, objs []Object, env Envelope) ([]Verdict, error)
}

// EngineError is an engine that could not answer, or answered "error"
// for some object, with the action its config asks for.
type EngineError struct {
	Engine  string
	Kind    Kind
	OnError string // "tempfail", "pass" or "quarantine"
	Err     error
}

func (e EngineError) Error() string {
	return fmt.Sprintf("engine %s (on_error %s): %v", e.Engine, e.OnError, e.Err)
}

func (e EngineError) Unwrap() error { return e.Err }

// Result is what Run found.
type Result struct {
	Verdicts []Verdict     // every verdict, engines in the order given, objects in order
	Infected bool          // some engine said infected
	Spam     bool          // some engine said spam
	Failed   []EngineError // engines that could not answer, in the order given
	Duration time.Duration
}

// onErrorer is implemented by engines made by New.
type onErrorer interface{ OnError() string }

// OnErrorOf returns e's on_error action: its configured one for engines
// made by New, else the default for its kind.
func OnErrorOf(e Engine) string {
	if o, ok := e.(onErrorer); ok {
		return o.OnError()
	}
	return defaultOnError(e.Kind())
}

func defaultOnError(k Kind) string {
	if k == Spam {
		return OnErrorPass
	}
	return OnErrorTempfail
}

// Run scans objs with every engine, at most concurrency engines at a time
// (concurrency < 1 means all at once). Each engine made by New applies
// its own timeout. Run never fails: engines that could not answer are in
// Result.Failed.
func Run(ctx context.Context, engines []Engine, objs []Object, env Envelope, concurrency int) Result {
	start := time.Now()
	if concurrency < 1 || concurrency > len(engines) {
		concurrency = len(engines)
	}
	type out struct {
		v   []Verdict
		err error
	}
	outs := make([]out, len(engines))
	one := func(i int, e Engine) {
		defer func() {
			if p := recover(); p != nil {
				outs[i] = out{nil, fmt.Errorf("engine panicked: %v", p)}
			}
		}()
		v, err := e.Scan(ctx, objs, env)
		outs[i] = out{v, err}
	}
	if concurrency <= 1 {
		// One at a time (the usual single engine) needs no goroutine:
		// waking a second thread costs more than a small scan.
		for i, e := range engines {
			one(i, e)
		}
	} else {
		sem := make(chan struct{}, concurrency)
		var wg sync.WaitGroup
		for i, e := range engines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				one(i, e)
			}()
		}
		wg.Wait()
	}
	var r Result
	for i, e := range engines {
		o := outs[i]
		if o.err != nil {
			r.Failed = append(r.Failed, EngineError{e.Name(), e.Kind(), OnErrorOf(e), o.err})
			continue
		}
		var bad []string
		for _, v := range o.v {
			r.Verdicts = append(r.Verdicts, v)
			switch v.Status {
			case Infected:
				r.Infected = true
			case IsSpam:
				r.Spam = true
			case Error:
				bad = append(bad, v.Object+": "+v.Reason)
			}
		}
		if len(bad) > 0 {
			r.Failed = append(r.Failed, EngineError{e.Name(), e.Kind(), OnErrorOf(e),
				fmt.Errorf("error for %s", strings.Join(bad, "; "))})
		}
	}
	r.Duration = time.Since(start)
	return r
}
