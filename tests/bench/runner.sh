#!/bin/sh
# 1000 x `true`, two at a time: `runner -j2` against `xargs -P2` and GNU
# parallel -j2, interleaved, best of ROUNDS. Prints the ratios
# runner/xargs (target <= 1.0) and runner/parallel.
set -eu
cd "$(dirname "$0")/../.."
N=${N:-1000}
ROUNDS=${ROUNDS:-3}
PB=${PROCBOX:-$PWD/procbox}
command -v xargs >/dev/null || { echo "runner: xargs not installed (findutils)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
yes true | head -n "$N" > "$tmp/cmds"
seq "$N" > "$tmp/args"

now() { date +%s%N; }
# time_ms CMD...: wall time of one run in ms; output discarded
time_ms() {
	t0=$(now)
	"$@" >/dev/null 2>&1 || { echo "runner bench: failed: $*" >&2; exit 1; }
	echo $((($(now) - t0) / 1000000))
}
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }

run_runner() { "$PB" runner -j2 -f "$tmp/cmds"; }
run_xargs() { xargs -P2 -n1 true < "$tmp/args"; }
run_parallel() { parallel --will-cite -j2 true < "$tmp/args"; }

have_parallel=0
command -v parallel >/dev/null && have_parallel=1
best_r=999999 best_x=999999 best_p=999999
i=0
while [ $i -lt "$ROUNDS" ]; do
	best_r=$(min "$best_r" "$(time_ms run_runner)")
	best_x=$(min "$best_x" "$(time_ms run_xargs)")
	[ $have_parallel = 1 ] && best_p=$(min "$best_p" "$(time_ms run_parallel)")
	i=$((i + 1))
done

echo "runner: $N x true, 2 at a time, best of $ROUNDS"
echo "  procbox runner -j2 -f CMDS        $best_r ms"
echo "  xargs -P2 -n1 true < ARGS         $best_x ms"
awk -v a="$best_r" -v b="$best_x" 'BEGIN { printf "runner: ratio runner/xargs = %.2f (target <= 1.0)\n", a / b }'
if [ $have_parallel = 1 ]; then
	echo "  parallel -j2 true < ARGS          $best_p ms"
	awk -v a="$best_r" -v b="$best_p" 'BEGIN { printf "runner: ratio runner/parallel = %.2f\n", a / b }'
else
	echo "runner: GNU parallel not installed (apt-get install parallel), not compared"
fi
