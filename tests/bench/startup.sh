#!/bin/sh
# Start-up cost: `procbox exitcode 0` against `busybox true` (Debian's
# busybox-static), N runs each, interleaved, plus the binary's size.
# Prints the ratio procbox/busybox (target <= 1.0).
set -eu
cd "$(dirname "$0")/../.."
N=${N:-2000}
BUSYBOX=${BUSYBOX:-$(command -v busybox || echo /bin/busybox)}
[ -x "$BUSYBOX" ] || { echo "startup: busybox not installed (apt-get install busybox-static)"; exit 1; }
PB=$PWD/procbox

# one shell loop per command, so the loop's own cost is the same on both sides
loop() { i=0; while [ $i -lt "$N" ]; do "$@" >/dev/null; i=$((i + 1)); done; }
now() { date +%s%N; }
best_pb=999999999999 best_bb=999999999999
for round in 1 2 3 4 5; do
	t0=$(now); loop "$PB" exitcode 0; t1=$(now)
	loop "$BUSYBOX" true; t2=$(now)
	[ $((t1 - t0)) -lt $best_pb ] && best_pb=$((t1 - t0))
	[ $((t2 - t1)) -lt $best_bb ] && best_bb=$((t2 - t1))
done
echo "startup: procbox exitcode 0: $((best_pb / N)) ns/run, busybox true: $((best_bb / N)) ns/run (best of 5 x $N)"
awk -v a="$best_pb" -v b="$best_bb" 'BEGIN { printf "startup: ratio procbox/busybox = %.2f (target <= 1.0)\n", a / b }'
size=$(wc -c < "$PB")
bbsize=$(wc -c < "$(readlink -f "$BUSYBOX")")
echo "size: procbox $size bytes ($((size / 1024)) KiB, $(./procbox --list | wc -l) applets), busybox $bbsize bytes"
