# Shared by the dirsync-*.bats files: scratch trees, tree generators, the
# mirror checks (rsync -n -i and treecmp.py), loop images and mounts, and
# the teardown that undoes them. Load after helpers.bash.
#
# dirsync is the one found first in PATH (PROCBOX_BIN, see helpers.bash):
# PROCBOX_BIN=/some/bin bats tests/dirsync-safety.bats runs the tests
# against the dirsync link in /some/bin.

PY=/usr/bin/python3
TREECMP="$BATS_TEST_DIRNAME/treecmp.py"

ds_setup() {
	W=$(scratch)
	S=$W/src
	T=$W/dst
	R=$W/rsync
	mkdir "$S"
	MOUNTS=()
	LOOPS=()
	BGPIDS=()
	WPID=
	PUBLIC=
	export XDG_STATE_HOME="$W/state"
	DIRSYNC=$(command -v dirsync) || DIRSYNC=dirsync
}

ds_teardown() {
	local p i
	if [ -n "${WPID:-}" ]; then
		kill -TERM "$WPID" 2>/dev/null || true
		retry_until 5 eval '! kill -0 "$WPID" 2>/dev/null' || kill -KILL "$WPID" 2>/dev/null || true
	fi
	for p in "${BGPIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || true
	done
	for p in "${LOOPS[@]}"; do
		losetup -d "$p" 2>/dev/null || true
	done
	if [ -n "${PUBLIC:-}" ]; then
		rm -rf "$PUBLIC"
	fi
}

# treecmp [OPTIONS] A B: treecmp.py, the difference list on stderr for the log.
treecmp() {
	"$PY" "$TREECMP" "$@" >&2
}

# ds_mirrored [RSYNC_OPTION...] SRC DST: rsync itself finds nothing to do
# between the trees, nanoseconds included, and nothing of dirsync's is
# excused: a state file or temp file in DST is an extra entry.
ds_mirrored() {
	local n=$# out
	local src=${*:n-1:1} dst=${*:n:1}
	out=$(rsync -a --delete -n -i -@-1 "${@:1:n-2}" "$src/" "$dst/") || return 1
	[ -z "$out" ] || { echo "rsync would still change: $out" >&2; return 1; }
}

# wait_until SECONDS CMD...: like retry_until, bounded by the clock rather
# than by a number of tries (for conditions that take long to check); only
# the last try's complaints are shown.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	while ((SECONDS < end)); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	"$@" && return 0
	echo "condition not met within the time: $*" >&2
	return 1
}

# ds_synced SRC DST: for waiting until a sync happened, and for tests whose
# subject is not DST's exactness: like ds_mirrored, but a state file of an
# older dirsync in DST is not a difference.
ds_synced() {
	local out
	out=$(rsync -a --delete -n -i -@-1 --exclude=/.dirsync-source "$1/" "$2/") || return 1
	[ -z "$out" ] || { echo "rsync would still change: $out" >&2; return 1; }
}

# count_entries DIR: entries below DIR (any names, newlines included).
count_entries() {
	find "$1" -mindepth 1 -printf x | wc -c
}

# gen_tree DIR N [SEED]: exactly N entries below DIR (created if needed),
# made fast: directories of 50 entries (top/dNNNN/sK/fM and top/dNNNN/fM),
# small files of varying content, every mtime fixed, so two calls with the
# same arguments make identical trees.
gen_tree() {
	"$PY" - "$@" <<'EOF'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
os.makedirs(top, exist_ok=True)
made = 0
dirs = []
d = 0
base = 1600000000 * 10**9 + seed
while made < n:
    dp = os.path.join(top, "d%04d" % d)
    os.mkdir(dp)
    made += 1
    dirs.append(dp)
    subs = []
    for k in range(4):
        if made >= n:
            break
        sp = os.path.join(dp, "s%d" % k)
        os.mkdir(sp)
        made += 1
        subs.append(sp)
    places = subs + [dp]
    m = 0
    while made < n and m < 45:
        p = os.path.join(places[m % len(places)], "f%d" % m)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"%d:%d:%d\n" % (seed, d, m) * (1 + m % 7))
        os.close(fd)
        t = base + made * 1000003
        os.utime(p, ns=(t, t))
        made += 1
        m += 1
    for sp in subs:
        os.utime(sp, ns=(base + 7, base + 7))
    d += 1
for dp in dirs:
    os.utime(dp, ns=(base + 11, base + 11))
os.utime(top, ns=(base + 13, base + 13))
EOF
}

# gen_deep DIR LEVELS: a chain DIR/d/d/.../d LEVELS deep (beyond PATH_MAX:
# made through directory descriptors), a file at the bottom and one every
# 1,000 levels.
gen_deep() {
	"$PY" - "$@" <<'EOF'
import os, sys
top, levels = sys.argv[1], int(sys.argv[2])
os.makedirs(top, exist_ok=True)
fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
for i in range(levels):
    if i % 1000 == 999:
        f = os.open("f%d" % i, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(f, b"level %d\n" % i)
        os.close(f)
    os.mkdir("d", dir_fd=fd)
    n = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = n
f = os.open("bottom", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"bottom\n")
os.close(f)
os.close(fd)
EOF
}

start_watch() {
	"$DIRSYNC" -w "$@" >"$W/log" 2>"$W/err" &
	WPID=$!
}

# watch_alive: the watching dirsync has not died (crashed or exited).
watch_alive() {
	kill -0 "$WPID" 2>/dev/null || {
		local st=0
		wait "$WPID" || st=$?
		echo "dirsync -w ended with status $st" >&2
		cat "$W/err" >&2
		return 1
	}
}

# said_source_gone: dirsync's stderr says SRC ($S) is not there any more.
said_source_gone() {
	grep -F "$S" "$W/err" | grep -Eqi 'not there|gone|vanished|went away|does not exist|missing|no such'
}

# ---- public scratch space for runs as nobody

make_public() {
	PUBLIC=$(mktemp -d /tmp/dirsync-nobody.XXXXXX)
	chmod 755 "$PUBLIC"
}

# as_nobody CMD...: CMD as nobody with its own state directory.
as_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
		env XDG_STATE_HOME="$PUBLIC/state" "$@"
}

# ---- mounts and loop images (root)

mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=${2:-8m}" dirsync-test "$1"
	MOUNTS+=("$1")
}

# make_ext4 IMAGE SIZE_MB [MKFS_OPTION...]
make_ext4() {
	local img=$1 mb=$2
	shift 2
	truncate -s "${mb}M" "$img"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$@" "$img" >/dev/null
}

# loop_attach IMAGE [DEVICE]: sets LOOPDEV (on DEVICE when given).
loop_attach() {
	if [ -n "${2:-}" ]; then
		retry_until 10 losetup "$2" "$1" 2>/dev/null || needs "loop device $2 taken meanwhile"
		LOOPDEV=$2
	else
		LOOPDEV=$(losetup -f --show "$1") || needs "needs a free loop device"
	fi
	LOOPS+=("$LOOPDEV")
}

loop_detach() {
	losetup -d "$1"
	retry_until 10 eval "! losetup '$1' >/dev/null 2>&1"
}

# mount_dev DEVICE DIR: mounted, undone in teardown.
mount_dev() {
	mkdir -p "$2"
	mount "$1" "$2"
	MOUNTS+=("$2")
}

need_loop() {
	need_root
	need_cmd losetup mkfs.ext4
	[ -e /dev/loop-control ] || needs "needs loop devices"
}
