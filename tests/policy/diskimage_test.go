package policy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// TestDiskImageByContent: an ISO image (made by genisoimage, holding a
// program) sent as "invoice.pdf", application/pdf, is recognised by its
// structure and removed by the disk-image rule; the rest is delivered.
func TestDiskImageByContent(t *testing.T) {
	if _, err := exec.LookPath("genisoimage"); err != nil {
		testenv.Missing(t, "genisoimage is needed (apt-get install genisoimage)")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "invoice.exe")
	if err := os.WriteFile(exe, minimalPE(), 0o600); err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(dir, "invoice.iso")
	if out, err := exec.Command("genisoimage", "-quiet", "-J", "-o", iso, exe).CombinedOutput(); err != nil {
		t.Fatalf("genisoimage: %v\n%s", err, out)
	}
	img, err := os.ReadFile(iso)
	if err != nil {
		t.Fatal(err)
	}
	b := newBox(t, "")
	if r := b.deliver(t, mixed("your invoice", attachment("application/pdf", "invoice.pdf", img)), "alice@example.org"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := b.delivered(t)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered", len(got))
	}
	text := partsText(t, got[0].data)
	if !strings.Contains(text, "Disk images are not accepted by mail") || !strings.Contains(text, "See attached.") {
		t.Errorf("the image was not replaced by the disk-image rule's text:\n%s", text)
	}
	q := b.quarantined(t)
	if len(q) != 1 {
		t.Fatalf("%d quarantined, want the original", len(q))
	}
}
