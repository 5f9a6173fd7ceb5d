#!/bin/sh
# tests/bench/hashdb.sh: what a 1M-signature .hdb costs the builtin
# engine (issue 13), in one run: serve's CPU per message and messages/s
# with no database, the database loaded from its text, and the database
# mapped from its cache; one-shot deliveries the same three ways. Ratios
# are against the run with no database (see tests/bench/hdbbench).
#   tests/bench/hashdb.sh [-n MESSAGES] [-r ROUNDS] [-oneshot RUNS] [-sigs N] [-noserve]
# Needs postfix (smtp-source).
set -eu
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
command -v smtp-source >/dev/null || { echo "smtp-source is needed: apt-get install postfix" >&2; exit 1; }
mkdir -p build
CGO_ENABLED=0 go build -trimpath -o build/scandeliver ./cmd/scandeliver
go run ./tests/bench/hdbbench -scandeliver build/scandeliver "$@"
