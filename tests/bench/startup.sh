#!/bin/sh
# tests/bench/startup.sh: where a one-shot delivery's time goes (issue 13,
# one-shot start-up): go-floor, go-floor+deps, "scandeliver version" (the
# runtime and package init alone) and a scandeliver delivery, interleaved,
# into a Maildir on disk and in /dev/shm, as ratios to go-floor; then the
# package init time by origin (see tests/bench/startbench).
#   tests/bench/startup.sh [-n RUNS] [-shm=false]
set -eu
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
mkdir -p build
CGO_ENABLED=0 go build -trimpath -o build/scandeliver ./cmd/scandeliver
CGO_ENABLED=0 go build -trimpath -o build/ldafloor-plain ./tests/bench/ldafloor/plain
CGO_ENABLED=0 go build -trimpath -o build/ldafloor-deps ./tests/bench/ldafloor/fixeddeps
go list -deps ./tests/bench/ldafloor/fixeddeps > build/ldafloor-deps.list
go run ./tests/bench/startbench -scandeliver build/scandeliver -floor build/ldafloor-plain \
	-floordeps build/ldafloor-deps -depslist build/ldafloor-deps.list "$@"
