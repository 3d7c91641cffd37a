#!/bin/bash
# dirsync against rsync -a --delete and cp -a on a generated tree: 10,000
# files of 0.1-8 KB in 200 directories plus 8 x 32 MB, in a scratch
# directory (BENCH_DIR, default /tmp) removed at the end.
#   first mirror      dirsync SRC DST vs rsync -a --delete SRC/ DST/ vs cp -a
#                     (best of 3 interleaved rounds, empty DST each time;
#                     target <= 0.6x rsync and <= 1.1x cp -a), then the same
#                     with -HAX (rsync -aHAX) on a tree where every file has
#                     a user xattr, every tenth an ACL and every twentieth a
#                     second name
#   no-op re-run      the same trees again, nothing to do (best of 5;
#                     target <= 0.5x rsync), plain and with -HAX
#   deep tree         a 1,500-level chain with and without --exclude '**/*.tmp'
#                     vs rsync (best of 3)
#   watch latency     dirsync -w --delay DELAY, plain and -HAX: time from a
#                     file written in SRC to its copy in DST, median of 10
#                     (target <= DELAY + 50 ms)
# Every figure is measured in this run; the ratios are dirsync/rsync.
set -eu
cd "$(dirname "$0")/../.."
PB=${PB:-$PWD/procbox}
DELAY=${DELAY:-200ms}
DELAY_MS=${DELAY_MS:-200}
for c in rsync cp python3; do
	command -v "$c" >/dev/null || { echo "dirsync: $c not installed"; exit 1; }
done
B=$(mktemp -d "${BENCH_DIR:-/tmp}/dirsync-bench.XXXXXX")
WPID=
cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
	rm -rf "$B"
}
trap cleanup EXIT INT TERM

python3 - "$B/src" <<'EOF'
import os, random, sys
top = sys.argv[1]
rnd = random.Random(7)
pool = os.urandom(1 << 20)
for d in range(200):
    path = os.path.join(top, "d%03d" % (d // 20), "s%03d" % d)
    os.makedirs(path)
    for f in range(50):
        n = rnd.randint(100, 8192)
        off = rnd.randint(0, len(pool) - n)
        with open(os.path.join(path, "f%02d.dat" % f), "wb") as fh:
            fh.write(pool[off:off + n])
os.makedirs(os.path.join(top, "big"))
for b in range(8):
    with open(os.path.join(top, "big", "b%d" % b), "wb") as fh:
        for i in range(32):
            fh.write(os.urandom(1 << 20))
EOF
S=$B/src
cat "$S"/big/* >/dev/null
now() { date +%s%N; }
ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }

# ROUNDS rounds, the tools taking turns (so load on a shared machine hits
# them alike); each is given an empty or unchanged DST and a settled disk.
# Each tool's own DST of the round before is removed just before it runs:
# ext4 steps over inodes deleted in the last seconds when it allocates,
# so a tool that ran right after all three trees were removed would pay
# for the others' deletions.
interleave() {	# interleave ROUNDS FRESH(0/1) [FLAGS]: sets t_pb t_rs t_cp (best, ns)
	local rounds=$1 fresh=$2 flags=${3:-} t0 t1 r
	t_pb=999999999999 t_rs=999999999999 t_cp=999999999999
	for ((r = 0; r < rounds; r++)); do
		[ "$fresh" = 1 ] && rm -rf "$B/d"
		sync
		t0=$(now); "$PB" dirsync $flags "$S" "$B/d"; t1=$(now)
		[ $((t1 - t0)) -lt $t_pb ] && t_pb=$((t1 - t0))
		[ "$fresh" = 1 ] && rm -rf "$B/r"
		sync
		t0=$(now); rsync -a${flags#-} --delete "$S/" "$B/r/"; t1=$(now)
		[ $((t1 - t0)) -lt $t_rs ] && t_rs=$((t1 - t0))
		[ "$fresh" = 1 ] || continue
		rm -rf "$B/c"
		sync
		t0=$(now); cp -a "$S" "$B/c"; t1=$(now)
		[ $((t1 - t0)) -lt $t_cp ] && t_cp=$((t1 - t0))
	done
	return 0
}

export XDG_STATE_HOME=$B/state
round() {	# round NAME FLAGS
	interleave 3 1 "$2"
	rsync -a${2#-} --delete -n -i "$S/" "$B/d/" | grep -q . &&
		{ echo "dirsync: the mirror differs from the source"; exit 1; }
	echo "dirsync: first mirror$1: dirsync $(ms "$t_pb") ms, rsync $(ms "$t_rs") ms, cp -a $(ms "$t_cp") ms (best of 3)"
	awk -v a="$t_pb" -v b="$t_rs" -v c="$t_cp" -v n="$1" 'BEGIN {
		printf "dirsync: first mirror%s ratio dirsync/rsync = %.2f (target <= 0.6), dirsync/cp = %.2f (target <= 1.1)\n", n, a / b, a / c }'
	interleave 5 0 "$2"
	echo "dirsync: no-op re-run$1: dirsync $(ms "$t_pb") ms, rsync $(ms "$t_rs") ms (best of 5)"
	awk -v a="$t_pb" -v b="$t_rs" -v n="$1" 'BEGIN {
		printf "dirsync: no-op%s ratio dirsync/rsync = %.2f (target <= 0.5)\n", n, a / b }'
}
round "" ""
python3 - "$S" <<'EOF2'
import os, sys
top = sys.argv[1]
n = 0
for dirpath, dirs, files in os.walk(top):
    for f in sorted(files):
        p = os.path.join(dirpath, f)
        os.setxattr(p, "user.bench", b"v%d" % n)
        if n % 10 == 0:
            # an ACL: the raw system.posix_acl_access of u::rw- u:65534:r-- g::r-- m::r-- o::r--
            import struct
            ent = [(0x01, 6, 0xffffffff), (0x02, 4, 65534), (0x04, 4, 0xffffffff),
                   (0x10, 4, 0xffffffff), (0x20, 4, 0xffffffff)]
            os.setxattr(p, "system.posix_acl_access",
                        struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in ent))
        if n % 20 == 0 and not f.startswith("b"):
            os.link(p, p + ".link")
        n += 1
EOF2
round " -HAX" "-HAX"

rm -rf "$B/deep" "$B/dd" "$B/dr"
python3 - "$B/deep" <<'EOF2'
import os, sys
os.mkdir(sys.argv[1])
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(1500):
    os.mkdir("d", dir_fd=fd)
    open(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w").close()
    nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
EOF2
for ex in "" "**/*.tmp"; do
	best_pb=999999999999 best_rs=999999999999
	for r in 1 2 3; do
		rm -rf "$B/dd" "$B/dr"
		t0=$(now); "$PB" dirsync ${ex:+--exclude "$ex"} "$B/deep" "$B/dd"; t1=$(now)
		[ $((t1 - t0)) -lt $best_pb ] && best_pb=$((t1 - t0))
		t0=$(now); rsync -a --delete ${ex:+--exclude "$ex"} "$B/deep/" "$B/dr/" 2>/dev/null || true; t1=$(now)
		[ $((t1 - t0)) -lt $best_rs ] && best_rs=$((t1 - t0))
	done
	awk -v a="$best_pb" -v b="$best_rs" -v e="${ex:-none}" 'BEGIN {
		printf "dirsync: 1,500-level tree, exclude %s: dirsync %.1f ms, rsync %.1f ms, ratio %.2f\n", e, a / 1e6, b / 1e6, a / b }'
done

for flags in "" -HAX; do
"$PB" dirsync -w $flags --delay "$DELAY" "$S" "$B/d" 2>"$B/watch.err" &
WPID=$!
python3 - "$S" "$B/d" "$DELAY_MS" "${flags:+ }$flags" <<'EOF'
import os, sys, time
src, dst, delay, flags = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
time.sleep(2 * delay / 1000 + 1)       # let the first full scan finish
lat = []
for i in range(10):
    name = "d000/s001/watch%s%d" % (flags.strip(), i)
    data = b"change %d\n" % i
    t0 = time.monotonic()
    with open(os.path.join(src, name), "wb") as f:
        f.write(data)
    target = os.path.join(dst, name)
    while time.monotonic() - t0 < 30:
        try:
            with open(target, "rb") as f:
                if f.read() == data:
                    break
        except OSError:
            pass
        time.sleep(0.001)
    lat.append((time.monotonic() - t0) * 1000)
    time.sleep(delay / 1000 + 0.1)
lat.sort()
med = (lat[4] + lat[5]) / 2
print("dirsync: watch%s change->mirrored: median %.1f ms, max %.1f ms with --delay %d ms "
      "(target <= %d ms; lsyncd's default delay is 15 s)" % (flags, med, lat[-1], delay, delay + 50))
EOF
kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null || true; WPID=
done
