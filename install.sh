#!/bin/sh
# install.sh: build scandeliver as a static binary and install it, its man
# pages, the example configuration and the spool directories.
#
#   ./install.sh [--prefix P] [--destdir D] [--group G]   install
#   ./install.sh [--prefix P] [--destdir D] --uninstall
#
# P: --prefix, else $PREFIX, else /usr/local. D: --destdir, else $DESTDIR,
# else nothing (a staging root for packages: files go to D/P/..., the
# paths they name stay P/...).
# An existing /etc/scandeliver/scandeliver.toml is never overwritten; a new
# one gets [quarantine] group = "G".
# G (default scandeliver) is the group that may read the quarantine; it
# is created (groupadd --system) when installing into / as root, and so
# is the user scandeliver that "scandeliver serve" runs as.
set -eu

prefix=
destdir=
uninstall=
group=scandeliver
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) prefix=$2; shift 2 ;;
	--prefix=*) prefix=${1#*=}; shift ;;
	--destdir) destdir=$2; shift 2 ;;
	--destdir=*) destdir=${1#*=}; shift ;;
	--group) group=$2; shift 2 ;;
	--group=*) group=${1#*=}; shift ;;
	--uninstall) uninstall=1; shift ;;
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "install.sh: unknown argument $1" >&2; exit 64 ;;
	esac
done
case $group in
'' | -* | *[!A-Za-z0-9_.-]*) echo "install.sh: --group: invalid group name '$group'" >&2; exit 64 ;;
esac
# The command line wins over the environment, which wins over the default.
PREFIX=${prefix:-${PREFIX:-/usr/local}}
DESTDIR=${destdir:-${DESTDIR:-}}

top=$(cd "$(dirname "$0")" && pwd)
bindir=$DESTDIR$PREFIX/bin
man1=$DESTDIR$PREFIX/share/man/man1
man5=$DESTDIR$PREFIX/share/man/man5
man8=$DESTDIR$PREFIX/share/man/man8
unitdir=$DESTDIR/etc/systemd/system
docdir=$DESTDIR$PREFIX/share/doc/scandeliver
tmpldir=$DESTDIR$PREFIX/share/scandeliver/templates
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
	for d in "$tmpldir"/* "$tmpldir" "$DESTDIR$PREFIX/share/scandeliver" "$docdir"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
	echo "scandeliver removed. Kept: $confdir (your configuration) and $spool (spool and quarantine)."
	exit 0
fi

export PATH="$PATH:/usr/local/go/bin"
ver=$(cd "$top" && git describe --always --dirty 2>/dev/null || echo devel)
mkdir -p "$top/build"
(cd "$top" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$ver" -o build/scandeliver ./cmd/scandeliver)

mkdir -p "$bindir" "$man1" "$man5" "$man8" "$unitdir" "$docdir" "$confdir" "$(dirname "$manifest")"
: > "$manifest.new"
put() { # mode src dst
	install -m "$1" "$2" "$3"
	echo "${3#"$DESTDIR"}" >> "$manifest.new"
}
put 0755 "$top/build/scandeliver" "$bindir/scandeliver"
put 0644 "$top/man/scandeliver.1" "$man1/scandeliver.1"
put 0644 "$top/man/scandeliver.toml.5" "$man5/scandeliver.toml.5"
put 0644 "$top/man/scandeliver.8" "$man8/scandeliver.8"
# The systemd unit of scandeliver serve, naming this PREFIX's binary.
sed "s|@PREFIX@|$PREFIX|g" "$top/etc/scandeliver.service" > "$top/build/scandeliver.service"
put 0644 "$top/build/scandeliver.service" "$unitdir/scandeliver.service"
put 0644 "$top/etc/scandeliver.toml" "$docdir/scandeliver.toml.example"
# Report templates and reason translations, for sites to copy and edit
# (the same ones are built into the binary).
for f in "$top"/notify/templates/*/*.tmpl "$top"/notify/templates/*/reasons.txt; do
	lang=$(basename "$(dirname "$f")")
	mkdir -p "$tmpldir/$lang"
	put 0644 "$f" "$tmpldir/$lang/$(basename "$f")"
done
if [ -e "$confdir/scandeliver.toml" ]; then
	echo "kept the existing $confdir/scandeliver.toml (the new example is $docdir/scandeliver.toml.example)"
else
	# The shipped example leaves [quarantine] group empty (root only);
	# the installed configuration names the group made for it below.
	sed '/^\[quarantine\]/,/^\[/s/^group = ""/group = "'"$group"'"/' "$top/etc/scandeliver.toml" > "$confdir/scandeliver.toml.new"
	grep -q '^group = "'"$group"'"' "$confdir/scandeliver.toml.new" || {
		echo "install.sh: could not set [quarantine] group in $confdir/scandeliver.toml" >&2
		exit 1
	}
	chmod 0644 "$confdir/scandeliver.toml.new"
	mv "$confdir/scandeliver.toml.new" "$confdir/scandeliver.toml"
	echo "installed $confdir/scandeliver.toml ([quarantine] group = \"$group\")"
fi
# The spool directory is shared by every user scandeliver runs as (files
# in it are mode 0600 and unlinked at once), like /tmp.
mkdir -p "$spool/tmp" "$spool/quarantine"
chmod 1777 "$spool/tmp"
# The builtin engine's compiled signature cache ([[engine]] cache_dir):
# root's, writable by no one else, or it is not trusted.
mkdir -p "$DESTDIR/var/cache/scandeliver"
chmod 0755 "$DESTDIR/var/cache/scandeliver"
# The quarantine. Under Postfix's mailbox_command scandeliver runs as the
# recipient, who must be able to add an entry but neither list the
# quarantine nor read anyone else's entry: root:GROUP, mode 3773
# (sticky: nobody removes or renames another's entry; set-gid: entries
# are created in GROUP, so that its members read them; others: write and
# search, no read). Entries are 0640 in 0750 directories, directly in it:
# no directory a user could create sits in between. The quarantine tool's
# list and show are for root and GROUP, release and purge for root.
# An old layout's day directories and tmp are moved into place by
# "scandeliver quarantine purge" (the nightly cron job) or "init".
if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && ! getent group "$group" >/dev/null; then
	groupadd --system "$group"
	echo "created the group $group (members may read the quarantine)"
fi
# The service user that "scandeliver serve" becomes once its socket is
# bound ([serve] user): no login, no home, not in GROUP (it does not read
# others' quarantine entries).
if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && ! getent passwd scandeliver >/dev/null; then
	useradd --system --gid nogroup --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "scandeliver serve" scandeliver
	echo "created the user scandeliver (scandeliver serve runs as it)"
fi
if getent group "$group" >/dev/null; then
	chown "root:$group" "$spool/quarantine" 2>/dev/null ||
		chgrp "$group" "$spool/quarantine" 2>/dev/null ||
		echo "install.sh: could not give $spool/quarantine to group $group" >&2
fi
chmod 3773 "$spool/quarantine"
mv "$manifest.new" "$manifest"

# Say what was done, not what was meant: under --destdir, or without the
# group, the owner is not root:GROUP and whoever installs the staged tree
# must set it.
qowner=$(stat -c '%U:%G' "$spool/quarantine")
qmode=$(stat -c '%a' "$spool/quarantine")
if [ "$qowner" = "root:$group" ]; then
	qnote="Quarantine: $spool/quarantine (root:$group, mode $qmode)."
else
	qnote="Quarantine: $spool/quarantine is $qowner, mode $qmode, NOT root:$group:
when this tree is installed, run (as root)
    groupadd --system $group; chown root:$group ${spool#"$DESTDIR"}/quarantine
    chmod 3773 ${spool#"$DESTDIR"}/quarantine"
fi
if grep -q '^group = "'"$group"'"' "$confdir/scandeliver.toml"; then
	gnote="$confdir/scandeliver.toml has [quarantine] group = \"$group\"."
else
	gnote="In $confdir/scandeliver.toml set
    [quarantine]
    group = \"$group\""
fi

cat <<MSG
scandeliver installed in $bindir.

$qnote
$gnote

Postfix (main.cf), then 'postfix reload':
    mailbox_command = $PREFIX/bin/scandeliver -a "\$RECIPIENT"
or, resident (scandeliver serve, man 8 scandeliver; set [serve] in the
configuration, then 'systemctl daemon-reload; systemctl enable --now scandeliver'):
    virtual_transport = lmtp:unix:/run/scandeliver/lmtp
(Debian's lmtp client runs chrooted: listen in /var/spool/postfix/private
and name it lmtp:unix:private/scandeliver, see the man page's EXAMPLES.)
sendmail (sendmail.mc), then rebuild sendmail.cf:
    define(\`LOCAL_MAILER_PATH', \`$PREFIX/bin/scandeliver')
    define(\`LOCAL_MAILER_FLAGS', \`Prn9S')
    define(\`LOCAL_MAILER_ARGS', \`scandeliver -f \$g -d \$u')
A user's ~/.forward:
    "|exec $PREFIX/bin/scandeliver || exit 75"
crontab (/etc/cron.d/scandeliver): check every engine every 20 minutes
(cron mails the output, printed only on failure), purge the quarantine
nightly:
    */20 * * * * root out=\$($PREFIX/bin/scandeliver selftest 2>&1) || echo "\$out"
    17 3 * * * root $PREFIX/bin/scandeliver quarantine purge --older-than 30d
Check the configuration and the engines:
    $PREFIX/bin/scandeliver check-config
    $PREFIX/bin/scandeliver selftest
MSG
