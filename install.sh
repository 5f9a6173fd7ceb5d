#!/bin/sh
# install.sh: build scandeliver as a static binary and install it, its man
# pages, the example configuration and the spool directories.
#
#   ./install.sh [--prefix P] [--destdir D]      install (P defaults to /usr/local)
#   ./install.sh [--prefix P] [--destdir D] --uninstall
#
# An existing /etc/scandeliver/scandeliver.toml is never overwritten.
set -eu

prefix=/usr/local
destdir=
uninstall=
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) prefix=$2; shift 2 ;;
	--prefix=*) prefix=${1#*=}; shift ;;
	--destdir) destdir=$2; shift 2 ;;
	--destdir=*) destdir=${1#*=}; shift ;;
	--uninstall) uninstall=1; shift ;;
	-h|--help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown argument $1" >&2; exit 64 ;;
	esac
done
: "${PREFIX:=$prefix}"
: "${DESTDIR:=$destdir}"
[ -n "$prefix" ] && PREFIX=$prefix
[ -n "$destdir" ] && DESTDIR=$destdir

top=$(cd "$(dirname "$0")" && pwd)
bindir=$DESTDIR$PREFIX/bin
man1=$DESTDIR$PREFIX/share/man/man1
man5=$DESTDIR$PREFIX/share/man/man5
docdir=$DESTDIR$PREFIX/share/doc/scandeliver
confdir=$DESTDIR/etc/scandeliver
spool=$DESTDIR/var/spool/scandeliver
manifest=$DESTDIR$PREFIX/share/scandeliver/installed-files

if [ -n "$uninstall" ]; then
	if [ ! -f "$manifest" ]; then
		echo "install.sh: nothing to uninstall ($manifest not found)" >&2
		exit 1
	fi
	while IFS= read -r f; do
		rm -f "$DESTDIR$f"
	done < "$manifest"
	rm -f "$manifest"
	rmdir "$DESTDIR$PREFIX/share/scandeliver" "$docdir" 2>/dev/null || true
	echo "scandeliver removed. Kept: $confdir (your configuration) and $spool (spool and quarantine)."
	exit 0
fi

export PATH="$PATH:/usr/local/go/bin"
ver=$(cd "$top" && git describe --always --dirty 2>/dev/null || echo devel)
mkdir -p "$top/build"
(cd "$top" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$ver" -o build/scandeliver ./cmd/scandeliver)

mkdir -p "$bindir" "$man1" "$man5" "$docdir" "$confdir" "$(dirname "$manifest")"
: > "$manifest.new"
put() { # mode src dst
	install -m "$1" "$2" "$3"
	echo "${3#"$DESTDIR"}" >> "$manifest.new"
}
put 0755 "$top/build/scandeliver" "$bindir/scandeliver"
put 0644 "$top/man/scandeliver.1" "$man1/scandeliver.1"
put 0644 "$top/man/scandeliver.toml.5" "$man5/scandeliver.toml.5"
put 0644 "$top/etc/scandeliver.toml" "$docdir/scandeliver.toml.example"
if [ -e "$confdir/scandeliver.toml" ]; then
	echo "kept the existing $confdir/scandeliver.toml (the new example is $docdir/scandeliver.toml.example)"
else
	install -m 0644 "$top/etc/scandeliver.toml" "$confdir/scandeliver.toml"
	echo "installed $confdir/scandeliver.toml"
fi
# The spool directory is shared by every user scandeliver runs as (files
# in it are mode 0600 and unlinked at once), like /tmp.
mkdir -p "$spool/tmp" "$spool/quarantine"
chmod 1777 "$spool/tmp"
chmod 0750 "$spool/quarantine"
mv "$manifest.new" "$manifest"

cat <<MSG
scandeliver installed in $bindir.

Postfix (main.cf), then 'postfix reload':
    mailbox_command = $PREFIX/bin/scandeliver -a "\$RECIPIENT"
sendmail (sendmail.mc), then rebuild sendmail.cf:
    define(\`LOCAL_MAILER_PATH', \`$PREFIX/bin/scandeliver')
    define(\`LOCAL_MAILER_FLAGS', \`Prn9S')
    define(\`LOCAL_MAILER_ARGS', \`scandeliver -f \$g -d \$u')
A user's ~/.forward:
    "|exec $PREFIX/bin/scandeliver || exit 75"
Check the configuration:
    $PREFIX/bin/scandeliver check-config
MSG
