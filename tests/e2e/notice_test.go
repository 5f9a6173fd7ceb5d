package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scandeliver/scandeliver/scan/builtin"
)

// TestPostfixPostmasterNotice: an infected message to User1; the
// postmaster (an alias of User2 in the instance) gets the notice.
//
// Notices leave through [notify] sendmail. Postfix's own sendmail cannot
// submit to this private instance when run as the recipient (a non-root
// "sendmail -C DIR" is refused unless DIR is listed in
// alternate_config_directories of /etc/postfix/main.cf, which the harness
// does not touch), so the instance's sendmail is a small script with
// sendmail's command line ("-oi -f SENDER -- RCPT") that submits over SMTP
// to the instance with swaks.
//
// Needs the policy and notification wiring ([notify] in the config).
func TestPostfixPostmasterNotice(t *testing.T) {
	Need(t, "postfix", "postalias", "swaks")
	clamd := StartClamd(t, map[string]string{"test.ndb": EicarNDB()})
	p := StartPostfix(t, Options{Config: scanConfig(clamd.Addr, "") + `
[notify]
sendmail = ["{dir}/bin/sendmail-smtp"]
`})
	makeQuarantine(t, p.Dir)
	aliases := filepath.Join(p.ConfigDir, "aliases")
	writeFile(t, aliases, "postmaster: "+User2+"\n")
	// postalias reads main.cf: the instance's (-c), not /etc/postfix's,
	// which a machine set up with "No configuration" (tests/run.sh) does
	// not have. The map type is the instance's default_database_type
	// (hash on Debian 12, lmdb where Berkeley DB is gone).
	dbtype, err := exec.Command("postconf", "-c", p.ConfigDir, "-h", "default_database_type").Output()
	if err != nil {
		t.Fatalf("postconf -c %s -h default_database_type: %v", p.ConfigDir, err)
	}
	aliasMap := strings.TrimSpace(string(dbtype)) + ":" + aliases
	if out, err := execOut("postalias", "-c", p.ConfigDir, aliasMap); err != nil {
		t.Fatalf("postalias -c %s %s: %v\n%s", p.ConfigDir, aliasMap, err, out)
	}
	p.Postconf(t, "alias_maps = "+aliasMap, "alias_database = "+aliasMap)
	script := `#!/bin/sh
# sendmail(8)'s command line, submitted over SMTP to the e2e instance.
from= rcpt=
while [ $# -gt 0 ]; do
	case $1 in
	-f) from=$2; shift 2 ;;
	--) rcpt=$2; shift 2 ;;
	*) shift ;;
	esac
done
exec swaks --server ` + p.Addr + ` --helo notify.e2e.test --from "$from" --to "$rcpt" --data - --suppress-data >/dev/null
`
	sm := filepath.Join(p.Dir, "bin", "sendmail-smtp")
	if err := os.WriteFile(sm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	msg := mimeMessage("notice-eicar", "EICAR for the notice", "a.zip", "application/zip", zipOf(t, "a.txt", builtin.Eicar()))
	sendAndWait(t, p, p.Address(User1), 1, msg)
	md := p.Maildir(t, User2)
	deadline := time.Now().Add(time.Minute)
	var notices [][]byte
	for time.Now().Before(deadline) {
		if notices = maildirWith(t, md, "notice-eicar@e2e.scandeliver.test"); len(notices) > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(notices) != 1 {
		t.Fatalf("%d postmaster notices in %s's Maildir, want 1 (needs the lead's notification wiring)", len(notices), User2)
	}
	if bytes.Contains(notices[0], builtin.Eicar()) {
		t.Errorf("the notice carries EICAR")
	}
	p.WaitLog(t, regexpQuote("to=<"+User2+"@"+p.Domain+">", "orig_to=<postmaster", "status=sent"), time.Minute)
}

func execOut(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
