#!/bin/sh
# tests/bench/serve.sh: scandeliver serve against dovecot's LMTP server,
# in one run: 4 KB messages (smtp-source -L from Postfix), 1 and 4
# sessions, each into its own Maildirs (dovecot: its default mail_fsync,
# scandeliver: fsync of each file and directory); scandeliver with the
# built-in defaults (every part scanned by the builtin engine, the policy
# applied), dovecot scanning nothing. Rounds alternate between the two;
# prints the median messages/s of each, the ratio, and checks that every
# message was delivered once.
#   tests/bench/serve.sh [-n MESSAGES] [-r ROUNDS] [-rss]
# -rss then sends 50,000 more messages over 4 sessions and prints serve's
# RSS after 5,000 and after 50,000 (it should stay flat: within 10%).
# Needs root (dovecot's master), postfix (smtp-source), dovecot-lmtpd.
set -eu
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
n=2000
rounds=3
rss=
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	-rss) rss=1; shift ;;
	*) echo "usage: $0 [-n MESSAGES] [-r ROUNDS]" >&2; exit 64 ;;
	esac
done
for p in smtp-source /usr/sbin/dovecot; do
	command -v $p >/dev/null || { echo "$p is needed: apt-get install postfix dovecot-core dovecot-lmtpd" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "$0: run as root (dovecot's master)" >&2; exit 1; }
mkdir -p build
CGO_ENABLED=0 go build -trimpath -o build/scandeliver ./cmd/scandeliver

work=$(mktemp -d /tmp/scandeliver-bench-serve.XXXXXX)
chmod 0755 "$work"
dpid= spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# dovecot: LMTP only, a private socket, Maildirs under $work/dmail.
mkdir -p "$work/dmail" && chown 65534:65534 "$work/dmail"
echo "bench@example.net::65534:65534::$work/dmail/bench::" > "$work/users"
cat > "$work/dovecot.conf" <<CONF
base_dir = $work/drun
state_dir = $work/dstate
log_path = $work/dovecot.log
instance_name = scandeliver-bench-$$
protocols = lmtp
ssl = no
listen = 127.0.0.1
mail_location = maildir:~/Maildir

passdb {
  driver = passwd-file
  args = $work/users
}
userdb {
  driver = passwd-file
  args = $work/users
}
service lmtp {
  unix_listener $work/dovecot.lmtp {
    mode = 0666
  }
  process_min_avail = 4
}
CONF
/usr/sbin/dovecot -F -c "$work/dovecot.conf" &
dpid=$!

# scandeliver serve: the built-in defaults, virtual mailboxes.
mkdir -p "$work/smail" "$work/spool" "$work/q"
# Started as root, serve runs as [serve] user (nobody here): it owns the
# mailboxes and the spool.
[ "$(id -u)" = 0 ] && chmod 0755 "$work" && chown 65534:65534 "$work/smail" "$work/spool"
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
mailbox = "$work/smail/%d/%n/Maildir/"
user = "nobody"
CONF
build/scandeliver serve -c "$work/scandeliver.toml" --listen "unix:$work/scandeliver.lmtp" 2> "$work/serve.log" &
spid=$!

for s in dovecot scandeliver; do
	i=0
	until [ -S "$work/$s.lmtp" ]; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "$s does not listen" >&2; exit 1; }
		sleep 0.05
	done
done

maildir() { # system → its new/
	case $1 in
	dovecot) echo "$work/dmail/bench/Maildir/new" ;;
	scandeliver) echo "$work/smail/example.net/bench/Maildir/new" ;;
	esac
}

# run SYSTEM SESSIONS → messages/s (and checks the count)
run() {
	d=$(maildir "$1")
	before=$(ls "$d" 2>/dev/null | wc -l)
	t0=$(date +%s.%N)
	smtp-source -L -s "$2" -m "$n" -l 4096 -f bench@example.org -t bench@example.net "unix:$work/$1.lmtp"
	t1=$(date +%s.%N)
	after=$(ls "$d" | wc -l)
	if [ $((after - before)) -ne "$n" ]; then
		echo "$1, $2 sessions: $((after - before)) messages delivered, want $n" >&2
		exit 1
	fi
	echo "$t0 $t1 $n" | awk '{ printf "%.1f\n", $3 / ($2 - $1) }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "4 KB messages, $n per run, $rounds rounds, median messages/s"
printf '%-9s %12s %12s %8s\n' sessions dovecot scandeliver ratio
for sessions in 1 4; do
	: > "$work/r.dovecot" ; : > "$work/r.scandeliver"
	r=0
	while [ $r -lt "$rounds" ]; do
		run dovecot "$sessions" >> "$work/r.dovecot"
		run scandeliver "$sessions" >> "$work/r.scandeliver"
		r=$((r + 1))
	done
	dv=$(median < "$work/r.dovecot")
	sd=$(median < "$work/r.scandeliver")
	printf '%-9s %12s %12s %8s\n' "$sessions" "$dv" "$sd" "$(echo "$sd $dv" | awk '{ printf "%.2fx", $1 / $2 }')"
done
peak=$(awk '/VmHWM/ { print $2 }' "/proc/$spid/status")
echo "scandeliver serve peak RSS: ${peak} kB; every message delivered once"
if [ -n "$rss" ]; then
	vmrss() { awk '/VmRSS/ { print $2 }' "/proc/$spid/status"; }
	n=5000
	run scandeliver 4 > /dev/null
	r5=$(vmrss)
	rm -rf "$(maildir scandeliver)"/*
	for i in 1 2 3 4 5 6 7 8 9; do
		run scandeliver 4 > /dev/null
		rm -rf "$(maildir scandeliver)"/*
	done
	r50=$(vmrss)
	echo "serve RSS after 5,000 more messages: $r5 kB, after 50,000: $r50 kB ($(echo "$r50 $r5" | awk '{ printf "%.2fx", $1 / $2 }'))"
fi
