#!/bin/sh
# tests/bench/serverss.sh: serve's memory stays flat (issue 13): drives
# scandeliver serve (built-in defaults: the builtin engine, the policy,
# virtual Maildirs) with Postfix's smtp-source -L, 4 KB messages, and
# reads the server's VmRSS after 5k messages and after 50k; prints both
# and their ratio (target: within 10%), and the RSS at each step between.
# Delivered mail is removed between steps (the disk is not the point).
#   tests/bench/serverss.sh [-first 5000] [-total 50000] [-step 5000] [-s SESSIONS] [-l BYTES]
# Needs postfix (smtp-source).
set -eu
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
first=5000 total=50000 step=5000 sessions=4 len=4096
while [ $# -gt 0 ]; do
	case $1 in
	-first) first=$2; shift 2 ;;
	-total) total=$2; shift 2 ;;
	-step) step=$2; shift 2 ;;
	-s) sessions=$2; shift 2 ;;
	-l) len=$2; shift 2 ;;
	*) echo "usage: $0 [-first N] [-total N] [-step N] [-s SESSIONS] [-l BYTES]" >&2; exit 64 ;;
	esac
done
command -v smtp-source >/dev/null || { echo "smtp-source is needed: apt-get install postfix" >&2; exit 1; }
mkdir -p build
CGO_ENABLED=0 go build -trimpath -o build/scandeliver ./cmd/scandeliver

work=$(mktemp -d /tmp/scandeliver-bench-rss.XXXXXX)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir -p "$work/mail" "$work/spool" "$work/q"
cat > "$work/scandeliver.toml" <<CONF
[log]
syslog = false
[spool]
dir = "$work/spool"
[quarantine]
dir = "$work/q"
[notify]
sendmail = ["/bin/true"]
[serve]
mailbox = "$work/mail/%d/%n/Maildir/"
CONF
build/scandeliver serve -c "$work/scandeliver.toml" --listen "unix:$work/lmtp" 2> "$work/serve.log" &
spid=$!
i=0
until [ -S "$work/lmtp" ]; do
	i=$((i + 1)); [ $i -gt 200 ] && { echo "serve does not listen" >&2; exit 1; }
	sleep 0.05
done
box="$work/mail/example.net/bench/Maildir/new"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$spid/status"; }
# send N: N messages, every one delivered, then the Maildir emptied.
send() {
	# smtp-source -m counts messages over all sessions.
	smtp-source -L -s "$sessions" -m "$1" -l "$len" -f bench@example.org -t bench@example.net "unix:$work/lmtp"
	got=$(ls "$box" | wc -l)
	[ "$got" -eq "$1" ] || { echo "$got messages delivered, want $1" >&2; exit 1; }
	rm -f "$box"/*
}
echo "serve, ${len}-byte messages, $sessions sessions; VmRSS of the server (kB)"
send "$first"
r0=$(rss)
printf '%8s %10s\n' messages rss_kB
printf '%8d %10d\n' "$first" "$r0"
done_n=$first
while [ "$done_n" -lt "$total" ]; do
	k=$step
	[ $((done_n + k)) -gt "$total" ] && k=$((total - done_n))
	send "$k"
	done_n=$((done_n + k))
	printf '%8d %10d\n' "$done_n" "$(rss)"
done
r1=$(rss)
echo "RSS after $total / after $first: $(echo "$r1 $r0" | awk '{ printf "%.3f", $1 / $2 }') (target <= 1.10)"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$spid/status")
echo "peak RSS ${hwm} kB; every message delivered once"
