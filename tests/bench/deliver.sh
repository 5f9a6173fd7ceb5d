#!/bin/sh
# tests/bench/deliver.sh: scandeliver against procmail and maildrop,
# delivering 4 KB, 100 KB, 2 MB and 20 MB messages into Maildirs,
# interleaved; prints median time per message, peak RSS, and ratios.
# Two reference rows show the floor any Go delivery agent pays here.
#   tests/bench/deliver.sh [-n RUNS] [-sizes 4KB,100KB,2MB,20MB]
set -eu
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
for t in procmail maildrop /usr/bin/time; do
	command -v $t >/dev/null || { echo "$t is needed: apt-get install procmail maildrop time" >&2; exit 1; }
done
mkdir -p build
CGO_ENABLED=0 go build -trimpath -o build/scandeliver ./cmd/scandeliver
# The floors (tests/bench/ldafloor): what any Go delivery agent pays, with
# and without the modules the brief fixes linked in.
CGO_ENABLED=0 go build -trimpath -o build/ldafloor-plain ./tests/bench/ldafloor/plain
CGO_ENABLED=0 go build -trimpath -o build/ldafloor-deps ./tests/bench/ldafloor/fixeddeps
go run ./tests/bench/ldabench -scandeliver build/scandeliver \
	-floor build/ldafloor-plain -floordeps build/ldafloor-deps "$@"
