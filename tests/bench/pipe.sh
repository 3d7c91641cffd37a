#!/bin/sh
# SIZE (default 2G) bytes through two `cat` stages: `procbox pipe` against
# the same pipeline run by `sh -c 'a | b | c'`, interleaved, ROUNDS runs
# each. Prints the best and median times and the ratio pipe/sh of the
# medians (target <= 1.05).
set -eu
cd "$(dirname "$0")/../.."
SIZE=${SIZE:-2G}
ROUNDS=${ROUNDS:-5}
PB=${PROCBOX:-$PWD/procbox}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s%N; }
# time_ms CMD...: wall time of one run in ms
time_ms() {
	t0=$(now)
	"$@" || { echo "pipe bench: failed: $*" >&2; exit 1; }
	echo $((($(now) - t0) / 1000000))
}

run_pipe() { "$PB" pipe -o /dev/null "head -c $SIZE /dev/zero" cat cat; }
run_sh() { sh -c "head -c $SIZE /dev/zero | cat | cat > /dev/null"; }

i=0
while [ $i -lt "$ROUNDS" ]; do
	time_ms run_pipe >> "$tmp/pipe"
	time_ms run_sh >> "$tmp/sh"
	i=$((i + 1))
done

# stats FILE: "best median" in ms
stats() {
	sort -n "$1" | awk '{ t[NR] = $1 } END {
		m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
		printf "%d %d\n", t[1], m }'
}
set -- $(stats "$tmp/pipe") $(stats "$tmp/sh")
echo "pipe: $SIZE of zeros through cat | cat, $ROUNDS runs each, interleaved"
echo "  procbox pipe -o /dev/null 'head -c $SIZE /dev/zero' cat cat   best $1 ms, median $2 ms"
echo "  sh -c 'head -c $SIZE /dev/zero | cat | cat > /dev/null'     best $3 ms, median $4 ms"
awk -v a="$2" -v b="$4" -v c="$1" -v d="$3" 'BEGIN {
	printf "pipe: ratio pipe/sh = %.3f by median, %.3f by best (target <= 1.05)\n", a / b, c / d }'
