#!/bin/sh
# stop.sh: stop the engines that start.sh started (by their recorded
# process ids only), and keep their state directory for inspection.
dir=${SCANDELIVER_ENGINES_DIR:-/tmp/scandeliver-engines}
rc=0
for p in "$dir/clamd/pid" "$dir/clamd-small/pid" "$dir/spamd/pid" "$dir/rspamd/pid"; do
	[ -s "$p" ] || continue
	pid=$(cat "$p")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || rc=1
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
		kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; rc=1; }
	fi
	rm -f "$p"
done
exit $rc
