#!/bin/sh
# runner beside its peers, each figure from the same run:
#  1. 1000 x `true`, two at a time: `runner -j2` against `xargs -P2` and
#     GNU parallel -j2, interleaved, best of ROUNDS (target <= 0.6x xargs);
#  2. how soon a job starts after its line is written to `runner -f -`
#     (target <= 50 ms), against parallel, best and worst of ROUNDS;
#  3. peak memory with 1M lines queued behind a running job, runner -f -
#     and parallel (target <= 16 MiB);
#  4. peak memory running LINES (default 1M, several minutes) `true` jobs
#     through `runner -j2 -f -`, and parallel on PAR_LINES (default 10000:
#     it runs about ten times slower).
set -eu
cd "$(dirname "$0")/../.."
N=${N:-1000}
ROUNDS=${ROUNDS:-5}
LINES=${LINES:-1000000}
PAR_LINES=${PAR_LINES:-10000}
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
max() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

run_runner() { "$PB" runner -j2 -f "$tmp/cmds"; }
run_xargs() { xargs -P2 -n1 true < "$tmp/args"; }
run_parallel() { parallel --will-cite -j2 true < "$tmp/args"; }

have_parallel=0
command -v parallel >/dev/null && have_parallel=1
[ $have_parallel = 1 ] || echo "runner: GNU parallel not installed (apt-get install parallel), not compared"

# ---- 1. throughput -------------------------------------------------------------
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
[ $have_parallel = 1 ] && echo "  parallel -j2 true < ARGS          $best_p ms"
echo "runner: ratio runner/xargs = $(ratio "$best_r" "$best_x") (target <= 0.6)"
[ $have_parallel = 1 ] && echo "runner: ratio runner/parallel = $(ratio "$best_r" "$best_p")"

# ---- 2. first job start after its line ----------------------------------------------
# The producer notes the time, writes a job that prints its own start
# time, and keeps the pipe open a second longer: a tool that waits for
# more input or for EOF shows it here.
latency_us() {
	out=$(
		{
			t=$(now)
			echo "$t" > "$tmp/written"
			echo 'date +%s%N'
			sleep 1
		} | "$@" 2>/dev/null
	)
	echo $(((out - $(cat "$tmp/written")) / 1000))
}
lo_r=999999999 hi_r=0 lo_p=999999999 hi_p=0
i=0
while [ $i -lt "$ROUNDS" ]; do
	l=$(latency_us "$PB" runner -f -)
	lo_r=$(min "$lo_r" "$l")
	hi_r=$(max "$hi_r" "$l")
	if [ $have_parallel = 1 ]; then
		l=$(latency_us parallel --will-cite)
		lo_p=$(min "$lo_p" "$l")
		hi_p=$(max "$hi_p" "$l")
	fi
	i=$((i + 1))
done
us_ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }
echo "runner: first job's start after its line was written, $ROUNDS runs (best - worst)"
echo "  procbox runner -f -               $(us_ms "$lo_r") - $(us_ms "$hi_r")  (target <= 50 ms)"
[ $have_parallel = 1 ] && echo "  parallel                          $(us_ms "$lo_p") - $(us_ms "$hi_p")"

# ---- 3. memory with 1M lines queued ---------------------------------------------------
# The first job signals that it runs and sleeps; the peak memory is read
# while the other 999,999 lines wait, then the run is stopped.
queued_kb() {
	rm -f "$tmp/started"
	{
		echo "echo \$\$ > $tmp/s; mv $tmp/s $tmp/started; exec sleep 300"
		yes true | head -n 999999
	} | "$@" >/dev/null 2>&1 &
	pid=$!
	i=0
	while [ ! -s "$tmp/started" ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i + 1)); done
	kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	kill -TERM "$pid"
	kill "$(cat "$tmp/started")" 2>/dev/null || true
	wait "$pid" || true
	echo "$kb"
}
kb_r=$(queued_kb "$PB" runner -f -)
echo "runner: peak memory with 1M lines queued behind a running job"
echo "  procbox runner -f -               $kb_r kB  (target <= 16384 kB)"
if [ $have_parallel = 1 ]; then
	kb_p=$(queued_kb parallel --will-cite -j1)
	echo "  parallel -j1                      $kb_p kB"
	echo "runner: ratio runner/parallel = $(ratio "$kb_r" "$kb_p")"
fi

# ---- 4. memory running every line -------------------------------------------------------
# peak_kb LINES CMD...: /usr/bin/time's maximum resident set, in kB
peak_kb() {
	n=$1
	shift
	yes true | head -n "$n" | /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1
	cat "$tmp/rss"
}
if [ -x /usr/bin/time ]; then
	echo "runner: peak memory running every line of the input, 2 at a time"
	t0=$(now)
	kb=$(peak_kb "$LINES" "$PB" runner -j2 -f -)
	echo "  procbox runner -j2 -f -, $LINES lines   $kb kB in $((($(now) - t0) / 1000000000)) s  (target <= 16384 kB)"
	if [ $have_parallel = 1 ]; then
		t0=$(now)
		kb=$(peak_kb "$PAR_LINES" parallel --will-cite -j2)
		echo "  parallel -j2, $PAR_LINES lines          $kb kB in $((($(now) - t0) / 1000000000)) s"
	fi
else
	echo "runner: /usr/bin/time not installed (apt-get install time), memory per run not measured"
fi
