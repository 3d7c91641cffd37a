#!/bin/sh
# Detach time: how long the caller waits, `procbox daemonize /bin/true`
# against Debian's daemonize(1) (package daemonize), N runs each,
# interleaved, best of 5 rounds. Prints the ratio procbox/daemonize
# (target <= 1.0). procbox waits until CMD was really executed; Debian's
# returns right after its first fork.
set -eu
cd "$(dirname "$0")/../.."
N=${N:-300}
PB=${PB:-$PWD/procbox}
# bin/daemonize would shadow it in PATH: always by full path
PEER=${PEER:-$(for p in /usr/sbin/daemonize /usr/bin/daemonize; do [ -x "$p" ] && echo "$p" && break; done; true)}
[ -n "$PEER" ] || { echo "daemonize: Debian's daemonize not installed (apt-get install daemonize)"; exit 1; }
TRUE=$(command -v true)
case $TRUE in /*) ;; *) TRUE=/bin/true ;; esac

loop() { i=0; while [ $i -lt "$N" ]; do "$@"; i=$((i + 1)); done; }
now() { date +%s%N; }
best_pb=999999999999 best_peer=999999999999
for round in 1 2 3 4 5; do
	t0=$(now); loop "$PB" daemonize "$TRUE"; t1=$(now)
	loop "$PEER" "$TRUE"; t2=$(now)
	[ $((t1 - t0)) -lt $best_pb ] && best_pb=$((t1 - t0))
	[ $((t2 - t1)) -lt $best_peer ] && best_peer=$((t2 - t1))
done
echo "daemonize: procbox daemonize $TRUE: $((best_pb / N / 1000)) us/run, $PEER $TRUE: $((best_peer / N / 1000)) us/run (best of 5 x $N)"
awk -v a="$best_pb" -v b="$best_peer" 'BEGIN { printf "daemonize: detach ratio procbox/daemonize = %.2f (target <= 1.0)\n", a / b }'
