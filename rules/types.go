package rules

import "strings"

// The type categories a TypeRule can name instead of a MIME type. Each is
// a list of MIME type globs, compared case-insensitively with the declared
// and the detected type of a part (parameters stripped). The names are
// those of github.com/gabriel-vasile/mimetype, which unpack uses, and the
// usual aliases; detectors that mimetype lacks (ISO 9660, VHD, VBA
// projects) are expected to report the types listed here.
var categories = map[string][]string{
	"executable": {
		"application/vnd.microsoft.portable-executable",
		"application/x-msdownload", "application/x-dosexec", "application/x-ms-dos-executable",
		"application/x-msdos-program", "application/x-winexe", "application/x-exe", "application/exe",
		"application/x-elf", "application/x-executable", "application/x-sharedlib", "application/x-pie-executable",
		"application/x-mach-binary", "application/x-mach-o-executable",
		"application/x-java-applet", "application/java-archive", "application/jar", "application/jar-archive",
		"application/x-java-archive", "application/x-java-jnlp-file",
		"application/x-ms-installer", "application/x-windows-installer", "application/x-msi",
		"application/x-ms-shortcut", "application/x-ms-application",
		"application/vnd.android.package-archive", "application/x-apple-installer",
	},
	"script": {
		"text/x-shellscript", "text/x-sh", "application/x-sh", "application/x-shellscript",
		"text/javascript", "application/javascript", "application/x-javascript", "text/jscript",
		"text/vbscript", "application/x-vbscript", "text/x-vbscript",
		"application/x-powershell", "text/x-powershell",
		"application/hta", "application/x-hta",
		"application/x-bat", "application/bat", "text/x-msdos-batch", "application/x-msdos-batch",
		"application/vnd.ms-htmlhelp", "application/x-chm",
		"text/x-ms-wsf", "application/x-ms-wsf",
	},
	"office-macro": {
		"application/vnd.ms-*.macroenabled.*",
		"application/vnd.ms-office.vbaproject", "application/x-vba-project",
	},
	"disk-image": {
		"application/x-iso9660-image", "application/x-cd-image", "application/vnd.efi.iso",
		"application/vnd.efi.img", "application/x-raw-disk-image",
		"application/x-apple-diskimage", "application/x-vhd", "application/x-vhdx",
		"application/x-virtualbox-vhd", "application/x-virtualbox-vhdx", "application/x-virtualbox-vdi",
		"application/x-vmdk", "application/x-virtualbox-vmdk", "application/x-qemu-disk", "application/x-udf-image",
	},
}

// Categories returns the category names a TypeRule accepts, and the MIME
// type globs of each (a copy).
func Categories() map[string][]string {
	out := make(map[string][]string, len(categories))
	for k, v := range categories {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// baseType lowercases a MIME type and strips its parameters.
func baseType(t string) string {
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return strings.ToLower(strings.TrimSpace(t))
}

// typeMatches reports whether a part of the given declared/detected types
// (or with macros) falls under a TypeRule's Type.
func typeMatches(rule string, p PartFacts) bool {
	rule = strings.ToLower(strings.TrimSpace(rule))
	globs, isCat := categories[rule]
	if !isCat {
		globs = []string{rule}
	}
	if rule == "office-macro" && p.Macros {
		return true
	}
	for _, t := range []string{p.DetectedType, p.DeclaredType} {
		bt := baseType(t)
		if bt == "" {
			continue
		}
		for _, g := range globs {
			if Glob(g, bt) {
				return true
			}
		}
	}
	return false
}
