#!/bin/sh
# tests/bench/unpack.sh: unpacking throughput (MB/s) and peak RSS of
# `scandeliver scan --no-engines` beside `ripmime -i MSG -d DIR` on a
# 20 MB message with a base64 zip attachment, interleaved, medians and
# ratios (issue 3's target: faster than ripmime, peak RSS under 64 MB).
# No assertions.
#   tests/bench/unpack.sh [-n RUNS] [-size 20MB]
set -eu
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
command -v ripmime >/dev/null || { echo "ripmime is needed: apt-get install ripmime" >&2; exit 1; }
mkdir -p build
CGO_ENABLED=0 go build -trimpath -o build/scandeliver ./cmd/scandeliver
# Two payloads: "random" (an incompressible deflated file: the walk
# mostly decodes base64 and hashes) and "mixed" (half stored random, half
# text that inflates about 6x: the walk also inflates 40+ MB).
go build -o build/scanbench ./tests/bench/scanbench
for p in random mixed; do
	build/scanbench unpack -scandeliver build/scandeliver -payload $p "$@"
	echo
done
