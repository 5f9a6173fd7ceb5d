#!/bin/sh
# start.sh ENVFILE: start private, offline instances of clamd, spamd and
# rspamd for the tests, and write their addresses into ENVFILE as shell
# exports. Idempotent: engines already answering are reused.
#
# State lives in $SCANDELIVER_ENGINES_DIR (default /tmp/scandeliver-engines).
# Nothing here touches the system's own daemons or their configuration.
#
# Exports written:
#   SCANDELIVER_CLAMD        unix:DIR/clamd/clamd.sock
#   SCANDELIVER_CLAMD_TCP    tcp:127.0.0.1:PORT (same clamd)
#   SCANDELIVER_CLAMD_SMALL  unix:DIR/clamd-small/clamd.sock (StreamMaxLength 1M)
#   SCANDELIVER_CLAMD_DB     DIR/db (the private signature database)
#   SCANDELIVER_SPAMD        tcp:127.0.0.1:PORT
#   SCANDELIVER_RSPAMD       unix:DIR/rspamd/rspamd.sock
#
# Exit status: non-zero when an engine fails to start (the reason on stderr).
set -eu

out=${1:?usage: start.sh ENVFILE}
dir=${SCANDELIVER_ENGINES_DIR:-/tmp/scandeliver-engines}
umask 022
mkdir -p "$dir"
chmod 0755 "$dir"

need() { # need CMD PKG: install PKG via apt when CMD is missing
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "start.sh: installing $2" >&2
	i=0
	until DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >&2; do
		i=$((i + 1)); [ $i -lt 30 ] || return 1
		sleep 5 # dpkg is shared: wait for the lock
	done
}
need clamd clamav-daemon
need clamdscan clamdscan # a package of its own on Debian 12
need clamscan clamav
[ -f /usr/share/clamav-testfiles/clam.exe ] || need /nonexistent clamav-testfiles
need spamd spamd # Debian 12 ships spamd apart from spamassassin
need spamc spamc
need rspamd rspamd
need python3 python3

# freeport: a TCP port on 127.0.0.1 nobody listens on now.
freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port() { # port NAME: a stable port for NAME, remembered across runs
	f="$dir/$1.port"
	[ -s "$f" ] || freeport >"$f"
	cat "$f"
}
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
waitfor() { # waitfor WHAT SECONDS CMD...: retry CMD until it succeeds
	what=$1 n=$2; shift 2
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge $((n * 5)) ]; then
			echo "start.sh: $what did not answer within ${n}s" >&2
			return 1
		fi
		sleep 0.2
	done
}

# --- the private signature database --------------------------------------
# EICAR is assembled here from two pieces so that it never sits whole in
# the repository.
db=$dir/db
mkdir -p "$db"
e1='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-'
e2='ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s%s' "$e1" "$e2" >"$dir/eicar.tmp"
clamexe=/usr/share/clamav-testfiles/clam.exe
sz() { wc -c <"$1" | tr -d ' '; }
{
	printf '%s:%s:Local.Eicar-Test-Signature.MD5\n' "$(md5sum <"$dir/eicar.tmp" | cut -d' ' -f1)" "$(sz "$dir/eicar.tmp")"
	printf '%s:%s:Local.ClamAV-Test-File.MD5\n' "$(md5sum <"$clamexe" | cut -d' ' -f1)" "$(sz "$clamexe")"
} >"$db/test.hdb.tmp"
{
	printf '%s:%s:Local.Eicar-Test-Signature.SHA256\n' "$(sha256sum <"$dir/eicar.tmp" | cut -d' ' -f1)" "$(sz "$dir/eicar.tmp")"
	printf '%s:%s:Local.ClamAV-Test-File.SHA256\n' "$(sha256sum <"$clamexe" | cut -d' ' -f1)" "$(sz "$clamexe")"
} >"$db/test.hsb.tmp"
# Body signatures: the EICAR string anywhere (the .hdb only matches a file
# that is exactly EICAR), and the code of clam.exe (so that the packed
# variants match once clamd has unpacked them).
{
	printf 'Local.Eicar-Test-Signature:0:*:%s\n' "$(printf '%s' "$e1$e2" | od -An -tx1 -v | tr -d ' \n')"
	printf 'Local.ClamAV-Test-File:1:*:%s\n' "bb7110400033c050508bf3535350b02940300466ac79f9ba3100780dad50ff66700e1fbe3100e9e5ffb409cd21b44ccd21"
} >"$db/test.ndb.tmp"
rm -f "$dir/eicar.tmp"
for f in test.hdb test.hsb test.ndb; do
	if cmp -s "$db/$f.tmp" "$db/$f"; then rm -f "$db/$f.tmp"; else mv "$db/$f.tmp" "$db/$f"; fi
done

# --- clamd ---------------------------------------------------------------
clamping() { # clamping SOCKETPATH: zPING -> PONG
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])
s.sendall(b"zPING\0"); r = s.recv(100)
sys.exit(0 if r.startswith(b"PONG") else 1)
PY
}
startclamd() { # startclamd NAME TCPPORT|"" STREAMMAX
	name=$1 tcp=$2 max=$3
	c=$dir/$name
	mkdir -p "$c"
	if alive "$c/pid" && clamping "$c/clamd.sock"; then return 0; fi
	[ -s "$c/pid" ] && kill "$(cat "$c/pid")" 2>/dev/null || true
	rm -f "$c/clamd.sock"
	{
		echo "LocalSocket $c/clamd.sock"
		echo "LocalSocketMode 666"
		[ -z "$tcp" ] || { echo "TCPSocket $tcp"; echo "TCPAddr 127.0.0.1"; }
		echo "DatabaseDirectory $db"
		echo "Foreground yes"
		echo "LogFile $c/clamd.log"
		echo "LogTime yes"
		echo "PidFile $c/clamd.pid"
		echo "TemporaryDirectory $c"
		# Benchmarks must not measure clamd's cache of clean hashes.
		echo "DisableCache yes"
		echo "StreamMaxLength $max"
		echo "MaxThreads 4"
		echo "SelfCheck 0"
		echo "ReadTimeout 30"
		echo "CommandReadTimeout 30"
	} >"$c/clamd.conf"
	# Started by root without a User line, clamd keeps running as root;
	# FILDES works because the passed descriptor needs no permissions.
	setsid clamd -c "$c/clamd.conf" </dev/null >>"$c/stdout.log" 2>&1 &
	echo $! >"$c/pid"
	waitfor "clamd ($name)" 60 clamping "$c/clamd.sock" || { tail -20 "$c/clamd.log" "$c/stdout.log" >&2; return 1; }
}
clamdport=$(port clamd)
startclamd clamd "$clamdport" 100M
startclamd clamd-small "" 1M

# --- spamd ---------------------------------------------------------------
s=$dir/spamd
spamdport=$(port spamd)
spamping() { spamc -d 127.0.0.1 -p "$spamdport" -K >/dev/null 2>&1; }
if ! { alive "$s/pid" && spamping; }; then
	[ -s "$s/pid" ] && kill "$(cat "$s/pid")" 2>/dev/null || true
	mkdir -p "$s/site" "$s/home"
	chown nobody "$s/home"
	# The stock rules (/usr/share/spamassassin) with a private site
	# config: the plugins Debian enables, no Bayes, no network tests.
	cp /etc/spamassassin/*.pre "$s/site/" 2>/dev/null || true
	cat >"$s/site/local.cf" <<'CF'
use_bayes 0
bayes_auto_learn 0
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
required_score 5.0
CF
	setsid spamd -L -x -4 --listen="127.0.0.1:$spamdport" -u nobody -H "$s/home" \
		--siteconfigpath="$s/site" --max-children=2 --min-children=1 \
		--pidfile="$s/spamd.pid" --syslog=stderr </dev/null >>"$s/spamd.log" 2>&1 &
	echo $! >"$s/pid"
	waitfor spamd 90 spamping || { tail -20 "$s/spamd.log" >&2; exit 1; }
fi

# --- rspamd --------------------------------------------------------------
r=$dir/rspamd
rping() { curl -sf --max-time 2 --unix-socket "$r/rspamd.sock" http://localhost/ping | grep -q pong; }
if ! { alive "$r/pid" && rping; }; then
	[ -s "$r/pid" ] && kill "$(cat "$r/pid")" 2>/dev/null || true
	mkdir -p "$r/local/local.d" "$r/local/override.d" "$r/db" "$r/run" "$r/log"
	chown nobody:nogroup "$r/db" "$r/run" "$r/log"
	rm -f "$r/rspamd.sock"
	# Only the scanning worker, on a UNIX socket; no controller, proxy
	# or fuzzy storage.
	cat >"$r/local/override.d/worker-normal.inc" <<CF
bind_socket = "$r/rspamd.sock mode=0666";
count = 1;
CF
	for w in controller proxy fuzzy; do
		echo 'enabled = false;' >"$r/local/override.d/worker-$w.inc"
	done
	cat >"$r/local/override.d/logging.inc" <<CF
type = "file";
filename = "$r/log/rspamd.log";
level = "warning";
CF
	# Offline: no redis, and every module that needs the network or
	# redis switched off (hfilter scores failed DNS lookups of the HELO
	# and sender domains, which offline would fail for every message).
	for m in asn dkim dmarc spf rbl surbl fuzzy_check greylist ratelimit \
		neural reputation replies history_redis dcc url_redirector \
		mx_check bimi p0f external_services metadata_exporter \
		clickhouse elastic rspamd_update arc dkim_signing antivirus \
		maillist metric_exporter aws_s3 emails phishing multimap hfilter; do
		echo 'enabled = false;' >"$r/local/local.d/$m.conf"
	done
	echo 'servers = ""; enabled = false;' >"$r/local/local.d/redis.conf"
	cat >"$r/local/local.d/options.inc" <<'CF'
dns { timeout = 1s; retransmits = 1; }
CF
	setsid rspamd -f -u nobody -g nogroup -c /etc/rspamd/rspamd.conf \
		--var="LOCAL_CONFDIR=$r/local" --var="DBDIR=$r/db" \
		--var="RUNDIR=$r/run" --var="LOGDIR=$r/log" \
		</dev/null >>"$r/stdout.log" 2>&1 &
	echo $! >"$r/pid"
	waitfor rspamd 90 rping || { tail -30 "$r/stdout.log" "$r/log/rspamd.log" >&2; exit 1; }
fi

tmp=$out.tmp.$$
cat >"$tmp" <<EOV
export SCANDELIVER_CLAMD=unix:$dir/clamd/clamd.sock
export SCANDELIVER_CLAMD_TCP=tcp:127.0.0.1:$clamdport
export SCANDELIVER_CLAMD_SMALL=unix:$dir/clamd-small/clamd.sock
export SCANDELIVER_CLAMD_DB=$db
export SCANDELIVER_SPAMD=tcp:127.0.0.1:$spamdport
export SCANDELIVER_RSPAMD=unix:$r/rspamd.sock
export SCANDELIVER_ENGINES_DIR=$dir
EOV
mv "$tmp" "$out"
echo "start.sh: engines up; addresses in $out" >&2
