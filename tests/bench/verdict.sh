#!/bin/sh
# tests/bench/verdict.sh: the cost of the verdict on readings (issue 11),
# as a ratio against a reference commit in the same run: the binary of
# REF (default a773592, main before issue 11's verdict work) is built
# from a temporary git worktree, the current tree's beside it, and both
# deliver every corpus message (../shared/corpus/messages) and the 4 KB
# to 20 MB bench messages (well-formed: a text, and above 8 KB a base64
# attachment of random bytes), interleaved. The cost is each delivery's
# CPU time (user+sys from its rusage), which other work on a shared
# machine hardly moves, unlike wall time; each ref run is paired with the
# new run beside it. Prints the median CPU times, the median ratio
# new/ref of the pairs with a 95% confidence interval of that median and
# the ratios' 25th-75th percentile spread, and the
# ratio of median wall times. The target is at most 1.05x on well-formed
# mail. No assertions. `-ref HEAD` on a clean tree times the code against
# itself: the spread of that run is the noise floor. Run it more than
# once: what stays fixed for a whole run (where the binaries' pages are)
# moves a run's figures by a few percent.
#   tests/bench/verdict.sh [-ref COMMIT] [-rounds N] [-n RUNS] [-sizes 4KB,100KB,2MB,20MB]
set -eu
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
ref=a773592
if [ "${1:-}" = "-ref" ]; then ref=$2; shift 2; fi
corpus=${SCANDELIVER_SHARED:-../shared}/corpus/messages
[ -d "$corpus" ] || { echo "verdict.sh: no corpus at $corpus (set SCANDELIVER_SHARED)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/ref" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach -q "$tmp/ref" "$ref"
(cd "$tmp/ref" && CGO_ENABLED=0 go build -trimpath -o "$tmp/scandeliver-ref" ./cmd/scandeliver)
CGO_ENABLED=0 go build -trimpath -o "$tmp/scandeliver-new" ./cmd/scandeliver
# verdictbench runs each binary from 8 copies of its file in turn
# (-copies): the CPU time of a delivery depends on the file the binary
# runs from, by up to 5% between byte-identical copies written with
# write(2) and up to 15% for the file the linker wrote through mmap.
echo "ref: $(git rev-parse --short "$ref")  new: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + changes')"
go run ./tests/bench/verdictbench -ref "$tmp/scandeliver-ref" -new "$tmp/scandeliver-new" -corpus "$corpus" "$@"
