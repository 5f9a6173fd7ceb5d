#!/bin/sh
# tests/bench/scan.sh: time per message of `scandeliver scan` with a clamd
# engine, in each sending mode (both = the default, raw, parts), beside
# `clamdscan --stream` of the same raw message against the same clamd,
# for 4 KB, 100 KB, 2 MB and 20 MB messages (one base64 attachment),
# interleaved; prints medians and ratios (issue 4's target: the default
# mode at most 1.5x clamdscan). No assertions.
#   tests/bench/scan.sh [-n RUNS] [-sizes 4KB,100KB,2MB,20MB]
# The engines come from tests/engines/start.sh (started when needed);
# ENVFILE (default /tmp/eng.env) holds their addresses.
set -eu
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
envfile=${ENVFILE:-/tmp/eng.env}
[ -s "$envfile" ] || tests/engines/start.sh "$envfile"
. "$envfile"
command -v clamdscan >/dev/null || { echo "clamdscan is needed: apt-get install clamdscan" >&2; exit 1; }
# clamd caches clean results by hash: with the cache on, every run after
# the first would measure a lookup, not a scan.
conf=$SCANDELIVER_ENGINES_DIR/clamd/clamd.conf
if ! grep -qi '^DisableCache[[:space:]]*yes' "$conf"; then
	echo "scan.sh: $conf lacks 'DisableCache yes': the figures would measure clamd's cache" >&2
	exit 1
fi
echo "clamd: $conf has DisableCache yes"
mkdir -p build
CGO_ENABLED=0 go build -trimpath -o build/scandeliver ./cmd/scandeliver
go run ./tests/bench/scanbench scan -scandeliver build/scandeliver -clamd "$SCANDELIVER_CLAMD" "$@"
