#!/bin/bash
# tests/newcomer.sh: an admin's first hour, in one go, on a fresh clone of
# the committed tree (so that what is not committed, or is committed by
# mistake, shows): the README's quick start run literally as README.md
# writes it, the EICAR test, check-config on each broken configuration of
# testdata/config (each must fail with its file:line:key), --version, and
# install.sh into a DESTDIR. tests/run.sh runs it; it needs Go and git,
# nothing else (no root, no engine, no corpus).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/usr/local/go/bin:$PATH"
work=$(mktemp -d /tmp/scandeliver-newcomer.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "newcomer: FAIL: $*" >&2; exit 1; }
step() { printf -- '--- newcomer: %s\n' "$*"; }

step "git clone"
git clone -q "$top" "$work/clone"
cd "$work/clone"
# NEWCOMER_REV: another commit to try (to see this script fail on the
# tree before the fixes it checks).
git checkout -q "${NEWCOMER_REV:-HEAD}"
git ls-files -z | while IFS= read -r -d '' f; do
	if [ -f "$f" ] && [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		fail "binary committed: $f"
	fi
done

step "README quick start, as written"
# The first sh block under "## The two commands", every command but the
# test suite itself (this script is part of it).
awk '/^## The two commands/ { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' README.md |
	grep -v -e '^#' -e '^[[:space:]]*$' -e '^\./tests/run\.sh$' > "$work/quickstart.sh"
[ -s "$work/quickstart.sh" ] || fail "no quick-start commands found in README.md"
demo=$(grep -o '/tmp/scandeliver-demo' "$work/quickstart.sh" | head -1 || true)
[ -n "$demo" ] && rm -rf "$demo"
if ! bash -euo pipefail "$work/quickstart.sh" > "$work/quickstart.out" 2>&1; then
	cat "$work/quickstart.out"
	fail "the README's quick start fails"
fi
cat "$work/quickstart.out"
n=$(grep -c '^/.*/new/' "$work/quickstart.out" || true)
[ "$n" = 1 ] || fail "the quick start delivered $n messages, want 1"
grep -q '^X-Scandeliver-Status: clean' "$(grep '^/.*/new/' "$work/quickstart.out")" || fail "the sample is not delivered clean"
[ -n "$demo" ] && rm -rf "$demo"
[ -x ./scandeliver ] || fail "the quick start built no ./scandeliver"
sd=$work/clone/scandeliver

step "--version"
v=$("$sd" --version) || fail "--version exits $?"
case $v in "scandeliver "*) ;; *) fail "--version prints '$v'" ;; esac
"$sd" -V > /dev/null || fail "-V exits $?"

step "EICAR"
mkdir -p "$work/spool" "$work/q"
cat > "$work/eicar.toml" <<TOML
[spool]
dir = "$work/spool"
[quarantine]
dir = "$work/q"
[log]
syslog = false
[notify]
sendmail = ["/bin/true"]
TOML
"$sd" check-config -c "$work/eicar.toml" > /dev/null || fail "check-config on a good configuration"
# The test file, built here (rot13) so that the repository holds no copy.
eicar=$(echo 'K5B!C%@NC[4\CMK54(C^)7PP)7}$RVPNE-FGNAQNEQ-NAGVIVEHF-GRFG-SVYR!$U+U*' | tr 'A-Za-z' 'N-ZA-Mn-za-m')
printf 'From: a@example.org\nTo: b@example.org\nSubject: eicar\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\n--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=eicar.com\n\n%s\n--b--\n' "$eicar" > "$work/eicar.eml"
"$sd" -c "$work/eicar.toml" --to "$work/Maildir/" < "$work/eicar.eml" 2> "$work/eicar.log" || { cat "$work/eicar.log"; fail "EICAR delivery exits $?"; }
got=$(find "$work/Maildir/new" -type f)
[ "$(echo "$got" | wc -l)" = 1 ] || fail "EICAR: $(echo "$got" | wc -l) messages delivered"
grep -q '^X-Scandeliver-Status: infected' "$got" || fail "EICAR: status is not infected"
if grep -qF "$eicar" "$got"; then fail "EICAR delivered"; fi
[ "$("$sd" quarantine list -c "$work/eicar.toml" | wc -l)" = 1 ] || fail "EICAR: not in the quarantine"

step "check-config on each broken configuration"
n=0
for f in testdata/config/broken-*.toml; do
	want=$(sed -n 's/^# expect: \([0-9]*\) \(.*\)$/\1: key "\2"/p' "$f")
	[ -n "$want" ] || fail "$f has no '# expect:' line"
	if "$sd" check-config -c "$f" > /dev/null 2> "$work/err"; then
		fail "check-config accepts $f"
	fi
	grep -qF "$f:$want" "$work/err" || { cat "$work/err"; fail "check-config on $f does not say $f:$want"; }
	n=$((n + 1))
done
[ "$n" -ge 5 ] || fail "only $n broken configurations"

step "install.sh into a DESTDIR"
./install.sh --destdir "$work/dest" > "$work/install.out" 2>&1 || { cat "$work/install.out"; fail "install.sh exits $?"; }
for f in usr/local/bin/scandeliver usr/local/share/man/man1/scandeliver.1 usr/local/share/man/man5/scandeliver.toml.5 etc/scandeliver/scandeliver.toml; do
	[ -e "$work/dest/$f" ] || fail "install.sh did not install $f"
done
"$work/dest/usr/local/bin/scandeliver" check-config -c "$work/dest/etc/scandeliver/scandeliver.toml" > /dev/null 2> "$work/err" ||
	{ cat "$work/err"; fail "the installed configuration does not pass check-config"; }
grep -q 'mailbox_command = /usr/local/bin/scandeliver' "$work/install.out" || fail "install.sh does not print the Postfix line"

step "the clone is clean"
if [ -n "$(git status --porcelain)" ]; then
	git status --porcelain
	fail "the first hour left files that git sees (.gitignore)"
fi
step "ok"
