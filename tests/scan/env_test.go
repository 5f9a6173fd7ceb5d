package scan

import (
	"os"
	"os/exec"
	"testing"

	"github.com/scandeliver/scandeliver/tests/testenv"
)

// need makes cmd available by installing the Debian package pkg (as the
// engines' start.sh does), or skips (fails under CI) when it cannot.
func need(t testing.TB, cmd, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(cmd); err == nil {
		return
	}
	if os.Geteuid() == 0 {
		c := exec.Command("apt-get", "install", "-y", pkg)
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := c.CombinedOutput(); err != nil {
			t.Logf("apt-get install %s: %v\n%s", pkg, err, out)
		}
	}
	if _, err := exec.LookPath(cmd); err != nil {
		testenv.Missing(t, cmd+" not found (Debian package "+pkg+")")
	}
}

// clamExe reads clamav-testfiles' clam.exe (skip, or fail under CI, when
// the package is missing).
func clamExe(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(clamExePath)
	if err != nil {
		testenv.Missing(t, "Debian package clamav-testfiles is not installed")
	}
	return b
}
