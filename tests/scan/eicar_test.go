package scan

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/scan/builtin"
	"github.com/scandeliver/scandeliver/tests/testenv"
)

// carrier is one way of hiding a payload in a message.
type carrier struct {
	name string
	make func(t testing.TB, payload []byte) []byte
}

func carriers() []carrier {
	return []carrier{
		{"plain", func(t testing.TB, p []byte) []byte {
			return withPart("plain", []string{
				"Content-Type: application/octet-stream; name=\"eicar.com\"",
				"Content-Disposition: attachment; filename=\"eicar.com\"",
				"Content-Transfer-Encoding: 7bit",
			}, p)
		}},
		{"base64", func(t testing.TB, p []byte) []byte { return attachB64("base64", "eicar.com", p) }},
		{"quoted-printable", func(t testing.TB, p []byte) []byte {
			return withPart("quoted-printable", []string{
				"Content-Type: application/octet-stream; name=\"eicar.com\"",
				"Content-Disposition: attachment; filename=\"eicar.com\"",
				"Content-Transfer-Encoding: quoted-printable",
			}, qpAll(p))
		}},
		{"uuencode", func(t testing.TB, p []byte) []byte {
			return withPart("uuencode", []string{"Content-Type: text/plain; charset=us-ascii"},
				append([]byte("Here it is:\r\n\r\n"), uuencode("eicar.com", p)...))
		}},
		{"zip", func(t testing.TB, p []byte) []byte { return attachB64("zip", "eicar.zip", zipOf(t, "eicar.com", p)) }},
		{"zip-in-zip-in-zip", func(t testing.TB, p []byte) []byte {
			z := zipOf(t, "eicar.com", p)
			z = zipOf(t, "inner.zip", z)
			z = zipOf(t, "middle.zip", z)
			return attachB64("zip in zip in zip", "outer.zip", z)
		}},
		{"tar.gz", func(t testing.TB, p []byte) []byte {
			return attachB64("tar.gz", "eicar.tar.gz", tarGzOf(t, "eicar.com", p))
		}},
		{"7z", func(t testing.TB, p []byte) []byte { return attachB64("7z", "eicar.7z", sevenZOf(t, "eicar.com", p)) }},
		{"forwarded message/rfc822", func(t testing.TB, p []byte) []byte {
			return forwarded("forwarded", attachB64("inner", "eicar.com", p))
		}},
	}
}

// TestEicarCarriers: EICAR in every carrier, with clamd alone and with the
// builtin engine alone: detected on an unpacked part (not only on the raw
// message), never delivered, quarantined.
func TestEicarCarriers(t *testing.T) {
	payload := builtin.Eicar()
	engines := []struct {
		name  string
		table func(t *testing.T) string
	}{
		{"builtin", func(t *testing.T) string { return builtinEngine(t) }},
		{"clamd", func(t *testing.T) string {
			return clamdEngine(tomlStrings(testenv.Env(t, "SCANDELIVER_CLAMD")))
		}},
	}
	for _, eng := range engines {
		for _, c := range carriers() {
			t.Run(eng.name+"/"+c.name, func(t *testing.T) {
				b := newBox(t, eng.table(t))
				msg := c.make(t, payload)
				d, r := scanJSON(t, msg, "-c", b.cfg)
				if !d.Infected || r.code != 1 {
					t.Fatalf("not detected (scan exit %d): %s", r.code, r.stdout)
				}
				onPart := false
				for _, o := range d.infectedObjects() {
					onPart = onPart || !strings.HasSuffix(o, ":message")
				}
				if !onPart {
					t.Errorf("detected only on the raw message, not on an unpacked part: %v", d.infectedObjects())
				}
				t.Logf("infected: %v", d.infectedObjects())
				assertWithheld(t, b, b.deliver(t, msg), payload)
			})
		}
	}
}

// TestRarOnlyThroughUnpacking: clam-v2.rar and clam-v3.rar (ClamAV's own
// test archives holding clam.exe, from the shared corpus) attached to a
// message. Debian's libclamav has no unrar: clamdscan --stream says OK
// for the raw archive and for the raw message, and clamd's verdict on
// the raw message is clean; scandeliver finds clam.exe because it opens
// the RAR and sends the member.
func TestRarOnlyThroughUnpacking(t *testing.T) {
	sock := testenv.Env(t, "SCANDELIVER_CLAMD")
	clam := clamExe(t)
	corpus := testenv.Corpus(t)
	need(t, "clamdscan", "clamdscan")
	conf := filepath.Join(t.TempDir(), "clamd.conf")
	if err := os.WriteFile(conf, []byte("LocalSocket "+strings.TrimPrefix(sock, "unix:")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clamdscan := func(t *testing.T, data []byte) (int, string) {
		f := filepath.Join(t.TempDir(), "sample")
		os.WriteFile(f, data, 0o644)
		out, err := exec.Command("clamdscan", "--config-file="+conf, "--stream", "--no-summary", f).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, strings.TrimSpace(string(out))
	}
	for _, name := range []string{"clam-v2.rar", "clam-v3.rar"} {
		t.Run(name, func(t *testing.T) {
			rar, err := os.ReadFile(filepath.Join(corpus, "attachments/archives/clamav", name))
			if err != nil {
				t.Fatal(err)
			}
			msg := attachB64(name, name, rar)
			// clamd alone cannot see into it.
			for what, data := range map[string][]byte{"archive": rar, "message": msg} {
				code, out := clamdscan(t, data)
				if code != 0 {
					t.Errorf("clamdscan --stream on the raw %s: exit %d (%s); want 0: clamd without unrar should not see clam.exe", what, code, out)
				} else {
					t.Logf("clamdscan --stream, raw %s: %s", what, out)
				}
			}
			// clamd through scandeliver: found in the member.
			b := newBox(t, clamdEngine(tomlStrings(sock)))
			d, r := scanJSON(t, msg, "-c", b.cfg)
			if !d.Infected || r.code != 1 {
				t.Fatalf("scandeliver + clamd: not detected (exit %d): %s", r.code, r.stdout)
			}
			for _, v := range d.Verdicts {
				if v.Object == "message" && v.Status == "infected" {
					t.Errorf("clamd called the raw message infected (%s): then this test proves nothing about our unpacking", v.Signature)
				}
			}
			t.Logf("scandeliver + clamd: %v", d.infectedObjects())
			assertWithheld(t, b, b.deliver(t, msg), clam)
			// The builtin engine with only clam.exe's SHA-256.
			bb := newBox(t, builtinEngine(t, clam))
			if d, r := scanJSON(t, msg, "-c", bb.cfg); !d.Infected {
				t.Errorf("scandeliver + builtin: not detected (exit %d): %s", r.code, r.stdout)
			}
			assertWithheld(t, bb, bb.deliver(t, msg), clam)
		})
	}
}
