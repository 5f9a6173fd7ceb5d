package privilege

import (
	"encoding/base64"
	"strings"

	"github.com/scandeliver/scandeliver/scan/builtin"
)

// eicarMessage carries EICAR as an attachment.
func eicarMessage(id string) []byte {
	return attached(id, "EICAR", "report.com", "application/octet-stream", builtin.Eicar())
}

// bannedMessage carries a file that the shipped rules block by its name
// (the original is quarantined, the part replaced).
func bannedMessage(id string) []byte {
	return attached(id, "invoice", "invoice.pdf.exe", "application/octet-stream", []byte("MZ not really a program PRIVILEGE-BANNED\n"))
}

func attached(id, subject, name, ctype string, content []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString(content)
	var w strings.Builder
	for len(b64) > 76 {
		w.WriteString(b64[:76] + "\n")
		b64 = b64[76:]
	}
	w.WriteString(b64 + "\n")
	return []byte("From: Alice <alice@example.org>\nTo: someone@localhost\nSubject: " + subject + "\n" +
		"Message-ID: <" + id + "@privilege.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b1\n\n" +
		"--b1\nContent-Type: text/plain\n\nsee attached\n--b1\nContent-Type: " + ctype + "; name=\"" + name + "\"\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\nContent-Transfer-Encoding: base64\n\n" + w.String() + "--b1--\n")
}

// grepEngine is a command-line virus scanner made of grep(1): infected
// when the part holds the EICAR string. The canary runs on it (it is not
// the builtin engine); uids, when not "", gets the uid of every run.
func grepEngine(uids string) string {
	cmd := `grep -q -F EICAR-STANDARD-ANTIVIRUS-TEST-FILE "$1"`
	if uids != "" {
		cmd = `id -u >> ` + uids + `; ` + cmd
	}
	return `
[[engine]]
name = "grep"
type = "command"
command = ["/bin/sh", "-c", '` + cmd + `', "sh", "{}"]
infected = [0]
clean = [1]
`
}
