#!/bin/sh
# grepscan.sh FILE: a tiny real scanner for the tests. Exit codes like
# many vendors' scanners: 0 clean, 1 infected (and a report line),
# 2 error. Special contents exercise the error and timeout paths.
f=${1:?usage: grepscan.sh FILE}
[ -r "$f" ] || { echo "cannot read $f" >&2; exit 2; }
if grep -q 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "$f"; then
	echo "$f: infected by [Test.EICAR.grepscan]"
	exit 1
fi
if grep -q 'PLEASE-FAIL' "$f"; then
	echo "scanner internal error" >&2
	exit 2
fi
if grep -q 'PLEASE-HANG' "$f"; then
	# A child that would outlive a kill of this shell alone.
	sleep 300 &
	echo $! >"${GREPSCAN_CHILD:-/dev/null}"
	wait
fi
echo "$f: clean"
exit 0
