#!/bin/sh
# timer against GNU timeout and sleep, side by side in the same run:
#  1. wall time of `timer -t 0.1 -- sleep 5` vs `timeout 0.1 sleep 5`,
#     N runs each, interleaved; ratio timer/timeout (target <= 1.0)
#  2. firing error of -d 200ms: when the command starts (it prints
#     date +%s%N) minus (start of timer + 200 ms), median over N runs, minus
#     the same median for -d 0 (starting timer and date); next to
#     `sleep 0.2; date` measured the same way as the peer
#  3. firing error of -i 100ms -n 21: start of run k minus (start of timer +
#     k * 100 ms), start-up taken out as in 2; median and max over all runs
#     (target median <= 2 ms)
#  4. timer --crontab with 1,000 jobs (none due within the next hour):
#     context switches of the idle process over IDLE seconds (target 0)
#     and its peak RSS (target <= 2 MiB)
set -eu
cd "$(dirname "$0")/../.."
N=${N:-30}
PB=$PWD/procbox
TIMEOUT=$(command -v timeout) || { echo "timer: GNU timeout not installed (coreutils)"; exit 1; }
now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m / 1e6 }'; }
maxabs() { awk 'function a(x) { return x < 0 ? -x : x } { if (a($1) > m) m = a($1) } END { printf "%.3f", m / 1e6 }'; }

t_pb=0 t_to=0 i=0
while [ $i -lt "$N" ]; do
	t0=$(now); "$PB" timer -t 0.1 -- sleep 5 || [ $? -eq 124 ]; t1=$(now)
	"$TIMEOUT" 0.1 sleep 5 || [ $? -eq 124 ]; t2=$(now)
	t_pb=$((t_pb + t1 - t0)) t_to=$((t_to + t2 - t1)) i=$((i + 1))
done
echo "timer -t 0.1 -- sleep 5: $((t_pb / N / 1000)) us/run; timeout 0.1 sleep 5: $((t_to / N / 1000)) us/run ($N runs each)"
awk -v a="$t_pb" -v b="$t_to" 'BEGIN { printf "timer: ratio timer/timeout = %.3f (target <= 1.0)\n", a / b }'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ $i -lt "$N" ]; do
	t0=$(now); t1=$("$PB" timer -d 200ms -- date +%s%N); echo $((t1 - t0 - 200000000)) >> "$tmp/d"
	t0=$(now); t1=$("$PB" timer -d 0 -- date +%s%N); echo $((t1 - t0)) >> "$tmp/d0"
	t0=$(now); t1=$(sh -c 'sleep 0.2; exec date +%s%N'); echo $((t1 - t0 - 200000000)) >> "$tmp/sleep"
	t0=$(now); t1=$(sh -c 'sleep 0; exec date +%s%N'); echo $((t1 - t0)) >> "$tmp/sleep0"
	i=$((i + 1))
done
d=$(median < "$tmp/d") d0=$(median < "$tmp/d0") s=$(median < "$tmp/sleep") s0=$(median < "$tmp/sleep0")
echo "timer: -d 200ms: command started $d ms late (median of $N; with -d 0: $d0 ms of start-up)"
awk -v d="$d" -v d0="$d0" -v s="$s" -v s0="$s0" 'BEGIN { printf "timer: -d firing error = %.3f ms (target <= 2 ms); sleep 0.2: %.3f ms\n", d - d0, s - s0 }'

t0=$(now); "$PB" timer -i 100ms -n 21 -- date +%s%N > "$tmp/ticks" 2>/dev/null
# run k is due at the start of timer + k * 100 ms; the start-up of timer and
# date is taken out as for -d (the median with -d 0); a skipped tick is not
# an error, so each run is matched to the nearest tick
awk -v t0="$t0" -v base="$d0" '{ k = int(($1 - t0 - base * 1e6) / 1e8 + 0.5); print $1 - t0 - k * 1e8 - base * 1e6 }' "$tmp/ticks" > "$tmp/i"
echo "timer: -i 100ms firing error over $(wc -l < "$tmp/i") runs: median $(median < "$tmp/i") ms, max $(maxabs < "$tmp/i") ms (target median <= 2 ms)"

IDLE=${IDLE:-5}
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "%d %d %d %d * /bin/true job%d\n", i % 60, i % 24, 1 + i % 28, 1 + i % 12, i }' > "$tmp/tab"
# (when the first of them is due is printed with the figures)
"$PB" timer --crontab "$tmp/tab" 2>/dev/null &
cpid=$!
sleep 1
sw() { awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { n += $2 } END { print n }' "/proc/$cpid/status"; }
due=$("$PB" timer --crontab "$tmp/tab" --next 1 | cut -d' ' -f1)
s0=$(sw); sleep "$IDLE"; s1=$(sw)
rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$cpid/status")
kill "$cpid"; wait "$cpid" 2>/dev/null || true
echo "timer: --crontab of 1000 jobs (next due $due): $((s1 - s0)) wakeups in $IDLE s idle (target 0), peak RSS $rss KiB (target <= 2048)"
