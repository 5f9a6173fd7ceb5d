package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/scandeliver/scandeliver/pipeline"
	"github.com/scandeliver/scandeliver/scan"
	"github.com/scandeliver/scandeliver/unpack"
)

// Exit codes of `scandeliver scan`, as clamdscan has them.
const (
	scanClean    = 0 // nothing found
	scanFound    = 1 // infected (or spam) found in at least one message
	scanTrouble  = 2 // an error: unreadable file, engine down, bad config
	scanMaxFiles = 10000
)

// scanCommand prints the part tree of each message and every engine's
// verdict, without delivering anything.
func scanCommand(args []string, e *sysEnv) int {
	fs := newFlagSet("scan", e)
	cpath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print a JSON document per message")
	noEngines := fs.Bool("no-engines", false, "only unpack: show the tree, scan nothing")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exOK
		}
		return exUsage
	}
	path, explicit := cpath()
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
		return scanTrouble
	}
	var engines []scan.Engine
	if !*noEngines {
		if engines, err = pipeline.BuildEngines(cfg.Engines); err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: %s: %v\n", path, err)
			return scanTrouble
		}
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	if len(files) > scanMaxFiles {
		fmt.Fprintf(e.stderr, "scandeliver: too many files (at most %d)\n", scanMaxFiles)
		return exUsage
	}
	code := scanClean
	for _, f := range files {
		c := scanOne(e, cfg, engines, f, *asJSON)
		code = max(code, c)
	}
	return code
}

func scanOne(e *sysEnv, cfg Config, engines []scan.Engine, name string, asJSON bool) int {
	var in io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
			return scanTrouble
		}
		defer f.Close()
		in = f
	}
	raw, err := pipeline.NewMessage(in, pipeline.SpoolConfig{Dir: cfg.Spool.Dir, Memory: cfg.Spool.Memory})
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s: %v\n", strconv.QuoteToGraphic(name), err)
		return scanTrouble
	}
	defer raw.Close()
	ctx := context.Background()
	m, err := unpack.Unpack(ctx, raw, raw.Size(), unpack.Options{Limits: cfg.Limits, TempDir: cfg.Spool.Dir})
	if err != nil {
		fmt.Fprintf(e.stderr, "scandeliver: %s: %v\n", strconv.QuoteToGraphic(name), err)
		return scanTrouble
	}
	defer m.Close()
	var res scan.Result
	if len(engines) > 0 {
		res = scan.Run(ctx, engines, pipeline.ScanObjects(m, raw), scan.Envelope{Sender: raw.FromLine()}, cfg.Scan.Concurrency)
	}
	code := scanClean
	if res.Infected || res.Spam {
		code = scanFound
	}
	if len(res.Failed) > 0 {
		code = scanTrouble
	}
	if asJSON {
		var tree bytes.Buffer
		if err := unpack.WriteJSON(&tree, m); err != nil {
			fmt.Fprintf(e.stderr, "scandeliver: %v\n", err)
			return scanTrouble
		}
		doc := scanDoc{File: name, Message: json.RawMessage(tree.Bytes()), Verdicts: res.Verdicts,
			Infected: res.Infected, Spam: res.Spam, DurationMS: float64(res.Duration) / float64(time.Millisecond)}
		if doc.Verdicts == nil {
			doc.Verdicts = []scan.Verdict{}
		}
		for _, f := range res.Failed {
			doc.Failed = append(doc.Failed, scanFailure{Engine: f.Engine, OnError: f.OnError, Error: f.Err.Error()})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return scanTrouble
		}
		return code
	}
	fmt.Fprintf(e.stdout, "== %s\n", strconv.QuoteToGraphic(name))
	if err := unpack.WriteTree(e.stdout, m); err != nil {
		return scanTrouble
	}
	for _, v := range res.Verdicts {
		line := fmt.Sprintf("  %s %s %s", v.Engine, v.Object, v.Status)
		if v.Signature != "" {
			line += " " + strconv.QuoteToGraphic(v.Signature)
		}
		if v.Kind == scan.Spam && v.Status != scan.Unscannable {
			line += fmt.Sprintf(" score=%.1f/%.1f", v.Score, v.Threshold)
		}
		if v.Reason != "" {
			line += " (" + strconv.QuoteToGraphic(v.Reason) + ")"
		}
		fmt.Fprintln(e.stdout, line)
	}
	for _, f := range res.Failed {
		fmt.Fprintf(e.stdout, "  %s ERROR (on_error=%s): %s\n", f.Engine, f.OnError, strconv.QuoteToGraphic(f.Err.Error()))
	}
	switch {
	case len(engines) == 0:
	case res.Infected:
		fmt.Fprintln(e.stdout, "  => INFECTED")
	case res.Spam:
		fmt.Fprintln(e.stdout, "  => SPAM")
	case len(res.Failed) > 0:
		fmt.Fprintln(e.stdout, "  => NOT SCANNED (engine error)")
	default:
		fmt.Fprintln(e.stdout, "  => clean")
	}
	return code
}

// scanDoc is the JSON document `scandeliver scan --json` prints for each
// message: the unpack tree (unpack's JSON, version 1) and the verdicts.
type scanDoc struct {
	File       string          `json:"file"`
	Message    json.RawMessage `json:"message"`
	Verdicts   []scan.Verdict  `json:"verdicts"`
	Failed     []scanFailure   `json:"failed,omitempty"`
	Infected   bool            `json:"infected"`
	Spam       bool            `json:"spam"`
	DurationMS float64         `json:"scan_ms"`
}

type scanFailure struct {
	Engine  string `json:"engine"`
	OnError string `json:"on_error"`
	Error   string `json:"error"`
}
