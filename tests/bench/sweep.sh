#!/bin/sh
# sweep against fping, side by side in the same run, inside a network
# namespace made here (loopback only; removed on exit). Needs root.
#  1. 127.0.0.0/16, all alive, no pacing, no retries:
#     sweep -a -i 0 -r 0  vs  fping -a -g -i 0 -r 0   (target <= 0.5x)
#  2. 127.0.0.0/23 with 127.0.1.0/25 silenced by an nftables drop rule,
#     -t 200ms -r 0 (fping -t 200 -r 0), no pacing    (target <= 1.1x)
# Each case: N runs of each, interleaved, median wall time; the alive sets
# must be identical.
set -eu
cd "$(dirname "$0")/../.."
N=${N:-5}
PB=$PWD/procbox
command -v fping >/dev/null || { echo "sweep: fping not installed"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "sweep: the benchmark needs root (network namespace)"; exit 1; }
NS=pbsweep-bench-$$
tmp=$(mktemp -d)
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$tmp"' EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m / 1e9 }'; }

# bench NAME "SWEEP ARGS" "FPING ARGS"
bench() {
	: > "$tmp/t.sweep"; : > "$tmp/t.fping"
	i=0
	while [ "$i" -lt "$N" ]; do
		t0=$(now)
		# shellcheck disable=SC2086
		ip netns exec "$NS" "$PB" sweep $2 > "$tmp/a.sweep" || true
		t1=$(now)
		# shellcheck disable=SC2086
		ip netns exec "$NS" fping $3 > "$tmp/a.fping" 2>/dev/null || true
		t2=$(now)
		echo $((t1 - t0)) >> "$tmp/t.sweep"; echo $((t2 - t1)) >> "$tmp/t.fping"
		sort "$tmp/a.sweep" > "$tmp/s.sweep"; sort "$tmp/a.fping" > "$tmp/s.fping"
		if ! cmp -s "$tmp/s.sweep" "$tmp/s.fping"; then
			echo "sweep: $1: alive sets differ: sweep $(wc -l < "$tmp/s.sweep"), fping $(wc -l < "$tmp/s.fping")"
			exit 1
		fi
		i=$((i + 1))
	done
	s=$(median < "$tmp/t.sweep") f=$(median < "$tmp/t.fping")
	echo "sweep: $1: sweep $2: ${s}s; fping $3: ${f}s; same $(wc -l < "$tmp/s.sweep") alive (median of $N)"
	awk -v s="$s" -v f="$f" -v n="$1" -v t="$4" 'BEGIN { printf "sweep: %s: ratio sweep/fping = %.3f (target <= %s)\n", n, s / f, t }'
}

bench "127.0.0.0/16 all alive" "-a -i 0 -r 0 127.0.0.0/16" "-a -i 0 -r 0 -g 127.0.0.0/16" 0.5
ip netns exec "$NS" nft -f - <<'NFT'
table inet pbsweep {
	chain input {
		type filter hook input priority 0;
		ip daddr 127.0.1.0/25 icmp type echo-request drop
	}
}
NFT
bench "/23 half silent" "-a -i 0 -t 200ms -r 0 127.0.0.0/23" "-a -i 0 -t 200 -r 0 -g 127.0.0.0/23" 1.1
