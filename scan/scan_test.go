package scan

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

func mem(id string, raw bool, b []byte) Object {
	return Object{ID: id, Raw: raw, Size: int64(len(b)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// eicarMessage is a raw message with EICAR as a base64 attachment (part
// 2) and its decoded parts, as unpack would give them.
func eicarMessage() (raw []byte, parts []Object) {
	e := builtin.Eicar()
	text := "Hello, see the attachment.\r\n"
	raw = []byte("From: alice@example.com\r\nTo: bob@example.net\r\nSubject: test\r\nMessage-ID: <e1@example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n" +
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"x.com\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(e) + "\r\n--b1--\r\n")
	return raw, []Object{mem("1", false, []byte(text)), mem("2", false, e)}
}

func newEngine(t testing.TB, cfg Config) Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func find(vs []Verdict, engine, obj string) (Verdict, bool) {
	for _, v := range vs {
		if v.Engine == engine && v.Object == obj {
			return v, true
		}
	}
	return Verdict{}, false
}

func TestConfigDecode(t *testing.T) {
	src := `
[[engine]]
name = "clamav"
type = "clamd"
address = ["unix:/run/clamav/clamd.ctl", "tcp:scan1.example.net:3310"]
timeout = "60s"
on_error = "tempfail"
max_size = "20MB"

[[engine]]
name = "sa"
type = "spamd"
address = "tcp:127.0.0.1:783"
max_size = 512000
send = "raw"

[[engine]]
name = "sophos"
type = "command"
command = ["/opt/sophos/bin/savscan", "-nc", "{}"]
infected = [3]
clean = [0]
error = [2]
signature_pattern = "Virus '([^']+)'"
`
	var c struct{ Engine []Config }
	md, err := toml.Decode(src, &c)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) != 0 {
		t.Fatalf("undecoded keys: %v", u)
	}
	if len(c.Engine) != 3 {
		t.Fatalf("%d engines", len(c.Engine))
	}
	if got := c.Engine[0].Address; len(got) != 2 || got[1] != "tcp:scan1.example.net:3310" {
		t.Errorf("address list: %q", got)
	}
	if got := c.Engine[1].Address; len(got) != 1 || got[0] != "tcp:127.0.0.1:783" {
		t.Errorf("address string: %q", got)
	}
	if time.Duration(c.Engine[0].Timeout) != time.Minute || c.Engine[0].MaxSize != 20<<20 || c.Engine[1].MaxSize != 512000 {
		t.Errorf("timeout %v, sizes %d %d", c.Engine[0].Timeout, c.Engine[0].MaxSize, c.Engine[1].MaxSize)
	}
	for _, cfg := range c.Engine {
		if _, err := New(cfg); err != nil {
			t.Errorf("New(%s): %v", cfg.Name, err)
		}
	}
	for _, bad := range []Config{
		{Name: "x", Type: "clamav"},
		{Name: "x", Type: "clamd"},
		{Name: "x", Type: "clamd", Address: Addresses{"nowhere"}},
		{Name: "x", Type: "clamd", Address: Addresses{"unix:/x"}, OnError: "ignore"},
		{Name: "x", Type: "spamd", Address: Addresses{"unix:/x"}, Send: "all"},
		{Name: "x", Type: "command"},
		{Name: "x", Type: "command", Command: []string{"/bin/true"}, SignaturePattern: "("},
		{Name: "x", Type: "builtin", Databases: []string{"/nonexistent.hdb"}},
		{Name: "x", Type: "builtin", Address: Addresses{"unix:/x"}},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%+v): no error", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"0": 0, "500KB": 500 << 10, "500 KiB": 500 << 10, "20MB": 20 << 20, "1G": 1 << 30, "77": 77} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1", "1.5MB", "3 parsecs", "99999999999999G"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q): no error", bad)
		}
	}
}

// TestBuiltinAlone: with no daemon at all, EICAR is found in its part. A
// message whose 7bit body is the EICAR string is not itself the test
// file (the EICAR specification, which ClamAV follows: the string first,
// then only white space, 128 bytes at most); its body part is, and unpack
// gives the engines that part.
func TestBuiltinAlone(t *testing.T) {
	raw, parts := eicarMessage()
	e := newEngine(t, Config{Name: "builtin", Type: "builtin", Send: SendBoth})
	inline := []byte("Subject: x\r\n\r\n" + string(builtin.Eicar()) + "\r\n")
	body := []byte(string(builtin.Eicar()) + "\r\n")
	objs := append(parts, mem(RawID, true, raw), mem("3", false, inline), mem("4", false, body))
	r := Run(context.Background(), []Engine{e}, objs, Envelope{}, 2)
	if !r.Infected || len(r.Failed) != 0 {
		t.Fatalf("%+v", r)
	}
	for obj, want := range map[string]Status{"1": Clean, "2": Infected, "3": Clean, "4": Infected, RawID: Clean} {
		// The raw message holds EICAR only base64-encoded: builtin does
		// not decode MIME (unpack does).
		if v, _ := find(r.Verdicts, "builtin", obj); v.Status != want {
			t.Errorf("object %s: %v, want %s", obj, v, want)
		}
	}
}

func TestBuiltinDatabase(t *testing.T) {
	exe, err := os.ReadFile("/usr/share/clamav-testfiles/clam.exe")
	if err != nil {
		testenv.Missing(t, "clamav-testfiles not installed")
	}
	db := filepath.Join(t.TempDir(), "test.hsb")
	line := "3395856ce81f2b7382dee72602f798b642f14140:544:Wrong.Size\n"
	sum := sha256sum(exe)
	line += sum + ":" + itoa(len(exe)) + ":Local.ClamAV-Test-File\n"
	if err := os.WriteFile(db, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, Config{Type: "builtin", Databases: []string{db}, NoEicar: true})
	r := Run(context.Background(), []Engine{e}, []Object{mem("1.2", false, exe), mem("1.3", false, builtin.Eicar())}, Envelope{}, 1)
	if v, _ := find(r.Verdicts, "builtin", "1.2"); v.Status != Infected || v.Signature != "Local.ClamAV-Test-File" {
		t.Errorf("clam.exe: %v", v)
	}
	if v, _ := find(r.Verdicts, "builtin", "1.3"); v.Status != Clean {
		t.Errorf("EICAR with no_eicar: %v", v)
	}
}

// TestRealEngines: the message with EICAR through clamd (UNIX and TCP),
// builtin, spamd and rspamd at once.
func TestRealEngines(t *testing.T) {
	unix, tcp := testenv.Env(t, "SCANDELIVER_CLAMD"), testenv.Env(t, "SCANDELIVER_CLAMD_TCP")
	sa, rs := testenv.Env(t, "SCANDELIVER_SPAMD"), testenv.Env(t, "SCANDELIVER_RSPAMD")
	raw, parts := eicarMessage()
	engines := []Engine{
		newEngine(t, Config{Name: "clamd-unix", Type: "clamd", Address: Addresses{unix}}),
		newEngine(t, Config{Name: "clamd-raw-only", Type: "clamd", Address: Addresses{tcp}, Send: SendRaw}),
		newEngine(t, Config{Name: "builtin", Type: "builtin"}),
		newEngine(t, Config{Name: "spamd", Type: "spamd", Address: Addresses{sa}}),
		newEngine(t, Config{Name: "rspamd", Type: "rspamd", Address: Addresses{rs}}),
	}
	objs := append(parts, mem(RawID, true, raw))
	env := Envelope{Sender: "alice@example.com", Recipients: []string{"bob@example.net"}, User: "bob", ClientIP: "192.0.2.1", Helo: "mail.example.com"}
	r := Run(context.Background(), engines, objs, env, 3)
	if len(r.Failed) != 0 {
		t.Fatalf("failed: %v", r.Failed)
	}
	for _, v := range r.Verdicts {
		t.Log(v)
	}
	if !r.Infected {
		t.Error("not infected")
	}
	for _, c := range []struct {
		engine, obj string
		want        Status
	}{
		{"clamd-unix", "1", Clean}, {"clamd-unix", "2", Infected}, {"clamd-unix", RawID, Infected},
		{"clamd-raw-only", RawID, Infected}, {"builtin", "2", Infected},
		{"spamd", RawID, Clean},
	} {
		if v, ok := find(r.Verdicts, c.engine, c.obj); !ok || v.Status != c.want {
			t.Errorf("%s on %s: %v, want %s", c.engine, c.obj, v, c.want)
		}
	}
	// rspamd scores the .com attachment; it must have answered.
	if v, ok := find(r.Verdicts, "rspamd", RawID); !ok || v.Action == "" {
		t.Errorf("rspamd: %v", v)
	}
	if _, ok := find(r.Verdicts, "clamd-raw-only", "2"); ok {
		t.Error("send = raw engine got a part")
	}
	if _, ok := find(r.Verdicts, "spamd", "2"); ok {
		t.Error("spamd got a part")
	}

	// GTUBE: spam for spamd and rspamd, with scores and rules.
	gt := []byte("From: alice@example.com\r\nTo: bob@example.net\r\nSubject: x\r\nMessage-ID: <g@example.com>\r\n\r\n" + string(builtin.GTUBE()) + "\r\n")
	r = Run(context.Background(), engines[3:], []Object{mem(RawID, true, gt)}, env, 2)
	if !r.Spam || len(r.Failed) != 0 {
		t.Fatalf("GTUBE: %+v", r)
	}
	if v, _ := find(r.Verdicts, "spamd", RawID); v.Status != IsSpam || v.Score < v.Threshold || !strings.Contains(strings.Join(v.Symbols, ","), "GTUBE") {
		t.Errorf("spamd GTUBE: %v %v", v, v.Symbols)
	}
	if v, _ := find(r.Verdicts, "rspamd", RawID); v.Status != IsSpam || v.Action != "reject" {
		t.Errorf("rspamd GTUBE: %v", v)
	}
}

// TestSpamdMaxSize: above max_size the message is not sent (as spamc
// does) and the verdict says so; no daemon is needed for that.
func TestSpamdMaxSize(t *testing.T) {
	e := newEngine(t, Config{Name: "spamd", Type: "spamd", Address: Addresses{"unix:" + t.TempDir() + "/none.sock"}})
	big := bytes.Repeat([]byte("a"), 600<<10)
	r := Run(context.Background(), []Engine{e}, []Object{mem(RawID, true, big)}, Envelope{}, 1)
	v, _ := find(r.Verdicts, "spamd", RawID)
	if len(r.Failed) != 0 || v.Status != Unscannable || !strings.Contains(v.Reason, "not sent") {
		t.Errorf("%+v", r)
	}
}

// TestFailures: an engine that cannot answer lands in Failed with its
// on_error; the defaults are tempfail (virus) and pass (spam).
func TestFailures(t *testing.T) {
	dead := "unix:" + t.TempDir() + "/none.sock"
	engines := []Engine{
		newEngine(t, Config{Name: "clamd", Type: "clamd", Address: Addresses{dead}}),
		newEngine(t, Config{Name: "spamd", Type: "spamd", Address: Addresses{dead}}),
		newEngine(t, Config{Name: "slow", Type: "command", Command: []string{"/bin/sh", "-c", "sleep 120", "sh"}, Timeout: Duration(200 * time.Millisecond), OnError: OnErrorQuarantine}),
		newEngine(t, Config{Name: "broken", Type: "command", Command: []string{"/bin/sh", "-c", "exit 2"}}),
		newEngine(t, Config{Name: "builtin", Type: "builtin"}),
	}
	_, parts := eicarMessage()
	start := time.Now()
	r := Run(context.Background(), engines, append(parts, mem(RawID, true, []byte("Subject: x\r\n\r\nx\r\n"))), Envelope{}, 5)
	// slow sleeps 120 s: a minute tells its 200 ms timeout enforced
	// (and whatever a loaded machine adds) from none.
	if d := time.Since(start); d > time.Minute {
		t.Errorf("Run took %v despite a 200ms timeout", d)
	}
	want := map[string]string{"clamd": OnErrorTempfail, "spamd": OnErrorPass, "slow": OnErrorQuarantine, "broken": OnErrorTempfail}
	if len(r.Failed) != len(want) {
		t.Errorf("failed: %v", r.Failed)
	}
	for _, f := range r.Failed {
		if want[f.Engine] != f.OnError {
			t.Errorf("%s: on_error %q, want %q (%v)", f.Engine, f.OnError, want[f.Engine], f.Err)
		}
	}
	if !r.Infected {
		t.Error("builtin's verdict lost")
	}
}

// TestRealFailover: a dead first address, then the real clamd.
func TestRealFailover(t *testing.T) {
	unix := testenv.Env(t, "SCANDELIVER_CLAMD")
	e := newEngine(t, Config{Name: "clamd", Type: "clamd", Address: Addresses{"unix:" + t.TempDir() + "/none.sock", unix}})
	_, parts := eicarMessage()
	r := Run(context.Background(), []Engine{e}, parts, Envelope{}, 1)
	if len(r.Failed) != 0 || !r.Infected {
		t.Errorf("%+v", r)
	}
}

// panicky is an engine whose Scan panics: a bug in one engine must come
// out as that engine's failure, whether engines run one at a time (no
// goroutine) or concurrently.
type panicky struct{ name string }

func (p panicky) Name() string { return p.name }
func (p panicky) Kind() Kind   { return Virus }
func (p panicky) Scan(context.Context, []Object, Envelope) ([]Verdict, error) {
	panic("boom in " + p.name)
}

func TestRunRecoversEnginePanic(t *testing.T) {
	for _, engines := range [][]Engine{
		{panicky{"one"}},
		{panicky{"a"}, panicky{"b"}},
	} {
		for _, conc := range []int{0, 1} {
			r := Run(context.Background(), engines, nil, Envelope{}, conc)
			if len(r.Failed) != len(engines) {
				t.Fatalf("%d engines, concurrency %d: %d failed, want all: %+v", len(engines), conc, len(r.Failed), r)
			}
			for i, f := range r.Failed {
				if f.Engine != engines[i].Name() || !strings.Contains(f.Err.Error(), "engine panicked: boom in "+f.Engine) {
					t.Errorf("failure %d = %+v", i, f)
				}
				if f.OnError != OnErrorTempfail {
					t.Errorf("a virus engine's panic must defer the mail, got on_error %q", f.OnError)
				}
			}
		}
	}
}
