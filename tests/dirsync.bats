#!/usr/bin/env bats
# dirsync: mirroring, itemizing, options, safety refusals, faults, watch mode.

bats_require_minimum_version 1.5.0
load helpers

usage() { usage_line dirsync; }

setup() {
	W=$(scratch)
	S=$W/src
	T=$W/dst
	mkdir "$S"
	export XDG_STATE_HOME=$W/state
	MOUNTS=()
	LOOPS=()
}

teardown() {
	if [ -n "${WPID:-}" ]; then
		kill -TERM "$WPID" 2>/dev/null || true
		retry_until 5 eval '! kill -0 "$WPID" 2>/dev/null' || kill -KILL "$WPID" 2>/dev/null || true
	fi
	if [ -n "${HOLDER:-}" ]; then
		kill -KILL "$HOLDER" 2>/dev/null || true
	fi
	local m i
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || true
	done
	for m in "${LOOPS[@]}"; do
		losetup -d "$m" 2>/dev/null || true
	done
	if [ -n "${PUBLIC:-}" ]; then
		rm -rf "$PUBLIC"
	fi
}

# rsync itself must find nothing to do between the trees (nanoseconds too).
mirrored() {
	local out
	out=$(rsync -a --delete -n -i -@-1 "$1/" "$2/") || return 1
	[ -z "$out" ] || { echo "rsync would still change: $out" >&2; return 1; }
}

no_temp_files() {
	[ -z "$(find "$1" -name '.*.dirsync.*')" ]
}

# A tree with every kind of entry and awkward names.
make_tree() {
	mkdir -p "$1/dir/sub" "$1/empty" "$1/-dash"
	printf 'hello\n' >"$1/file"
	printf 'x' >"$1/sp ace"
	printf 'y' >"$1/new"$'\n'"line"
	printf 'z' >"$1/"$'\xff\xfe'
	printf 'w' >"$1/-dash/-f"
	head -c 300000 /dev/urandom >"$1/dir/sub/big"
	ln -s file "$1/link"
	ln -s /nonexistent/target "$1/dangling"
	mkfifo "$1/fifo"
	chmod 751 "$1/dir"
	chmod 600 "$1/file"
	touch -d '2020-01-02 03:04:05.123456789' "$1/file"
	touch -h -d '2019-05-06 07:08:09.5' "$1/link"
	touch -d '2018-01-01 00:00:00.25' "$1/dir/sub"
}

# Holds a write lease on FILE: the next open of FILE by anyone blocks until
# the lease is released. On the break, "unlink X" removes X and releases;
# "hold M" creates M and releases only on SIGUSR1.
lease() {
	cat >"$BATS_TEST_TMPDIR/lease.py" <<'EOF'
import fcntl, os, signal, sys
path, ready, mode, arg = sys.argv[1:5]
F_SETLEASE = 1024
fd = os.open(path, os.O_RDONLY)
def release(*_):
    fcntl.fcntl(fd, F_SETLEASE, fcntl.F_UNLCK)
    sys.exit(0)
def broken(*_):
    if mode == "unlink":
        os.unlink(arg)
        release()
    open(arg, "w").close()
signal.signal(signal.SIGUSR1, release)
signal.signal(signal.SIGIO, broken)
fcntl.fcntl(fd, F_SETLEASE, fcntl.F_WRLCK)
open(ready, "w").write("ready\n")
while True:
    signal.pause()
EOF
	python3 "$BATS_TEST_TMPDIR/lease.py" "$1" "$W/lease-ready" "$2" "$3" &
	HOLDER=$!
	retry_until 10 test -s "$W/lease-ready"
}

mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=${2:-1m}" dirsync-test "$1"
	MOUNTS+=("$1")
}

start_watch() {
	dirsync -w "$@" >"$W/log" 2>"$W/err" &
	WPID=$!
}

# ---- mirroring

@test "the first run copies every kind of entry and rsync finds nothing left to do" {
	need_cmd rsync
	make_tree "$S"
	run -0 dirsync "$S" "$T"
	[ "$output" = "" ]
	mirrored "$S" "$T"
	[ "$(stat -c %y "$T/file")" = "2020-01-02 03:04:05.123456789 +0000" ] ||
		[ "$(stat -c %Y.%y "$T/file")" = "$(stat -c %Y.%y "$S/file")" ]
	[ "$(stat -c %a "$T/file")" = 600 ]
	[ "$(stat -c %a "$T/dir")" = 751 ]
	[ "$(readlink "$T/dangling")" = /nonexistent/target ]
	[ -p "$T/fifo" ]
	[ -d "$T/empty" ]
	cmp "$S/dir/sub/big" "$T/dir/sub/big"
	[ "$(cat "$T/new"$'\n'"line")" = y ]
	[ "$(cat "$T/"$'\xff\xfe')" = z ]
	[ "$(stat -c %y "$T/link")" = "$(stat -c %y "$S/link")" ]
	no_temp_files "$T"
}

@test "works the same through procbox and through the link" {
	need_cmd rsync
	make_tree "$S"
	run -0 "$PROCBOX" dirsync "$S" "$T"
	mirrored "$S" "$T"
	rm -rf "$T"
	run -0 "$PROCBOX_BIN/dirsync" "$S" "$T"
	mirrored "$S" "$T"
}

@test "owners and groups are copied when run as root" {
	need_root
	need_cmd rsync
	make_tree "$S"
	chown 1234:5678 "$S/file" "$S/dir"
	chown -h 4321:8765 "$S/link"
	run -0 dirsync "$S" "$T"
	[ "$(stat -c %u:%g "$T/file")" = 1234:5678 ]
	[ "$(stat -c %u:%g "$T/dir")" = 1234:5678 ]
	[ "$(stat -c %u:%g "$T/link")" = 4321:8765 ]
	mirrored "$S" "$T"
}

@test "a second run over an unchanged tree does nothing" {
	make_tree "$S"
	run -0 dirsync "$S" "$T"
	run -0 dirsync -i "$S" "$T"
	[ "$output" = "" ]
}

@test "entries DST has and SRC does not are deleted" {
	need_cmd rsync
	make_tree "$S"
	mkdir -p "$T/old/deeper"
	touch "$T/old/deeper/f" "$T/stray"
	run -0 dirsync "$S" "$T"
	[ ! -e "$T/old" ] && [ ! -e "$T/stray" ]
	mirrored "$S" "$T"
}

@test "--no-delete keeps entries SRC does not have" {
	echo a >"$S/a"
	mkdir -p "$T/keep"
	touch "$T/stray"
	run -0 dirsync --no-delete -i "$S" "$T"
	[ -e "$T/stray" ] && [ -d "$T/keep" ] && [ -e "$T/a" ]
	[[ "$output" != *deleting* ]]
}

@test "changed files, links, modes and types are brought up to date" {
	need_cmd rsync
	make_tree "$S"
	run -0 dirsync "$S" "$T"
	echo longer >>"$S/file"
	ln -sfn elsewhere "$S/link"
	chmod 640 "$S/sp ace"
	rm -rf "$S/empty" && echo now-a-file >"$S/empty"
	rm "$S/fifo" && mkdir "$S/fifo"
	run -0 dirsync "$S" "$T"
	mirrored "$S" "$T"
	no_temp_files "$T"
}

@test "-c compares contents: a same-size, same-mtime change is only seen with -c" {
	echo aaaa >"$S/f"
	touch -d '2021-01-01 00:00:00' "$S/f"
	run -0 dirsync "$S" "$T"
	echo bbbb >"$S/f"
	touch -d '2021-01-01 00:00:00' "$S/f"
	touch -d '2021-01-01 00:00:00' "$S"
	touch -d '2021-01-01 00:00:00' "$T"
	run -0 dirsync -i "$S" "$T"
	[ "$output" = "" ]
	[ "$(cat "$T/f")" = aaaa ]
	run -0 dirsync -i --checksum "$S" "$T"
	[ "$output" = ">fc........ f" ]
	[ "$(cat "$T/f")" = bbbb ]
}

@test "a sparse file stays sparse" {
	truncate -s 64M "$S/sparse"
	echo tail >>"$S/sparse"
	run -0 dirsync "$S" "$T"
	cmp "$S/sparse" "$T/sparse"
	[ "$(stat -c %b "$T/sparse")" -lt 1024 ]
}

@test "a copy on a reflink-capable filesystem shares extents" {
	need_root
	need_cmd strace mkfs.xfs xfs_io losetup
	grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null ||
		needs "needs XFS in the kernel"
	truncate -s 320M "$W/xfs.img"
	mkfs.xfs -q -m reflink=1 "$W/xfs.img" || needs "needs mkfs.xfs -m reflink=1"
	local dev
	dev=$(losetup -f --show "$W/xfs.img") || needs "needs a free loop device"
	LOOPS+=("$dev")
	mkdir "$W/xfs"
	mount -t xfs "$dev" "$W/xfs"
	MOUNTS+=("$W/xfs")
	mkdir "$W/xfs/src"
	head -c 1000000 /dev/urandom >"$W/xfs/src/f"
	strace -f -y -o "$W/trace" -e trace=ioctl,copy_file_range,pwrite64 \
		dirsync "$W/xfs/src" "$W/xfs/dst"
	cmp "$W/xfs/src/f" "$W/xfs/dst/f"
	grep -E "^([0-9]+ +)?ioctl\([0-9]+<$W/xfs/dst/#[0-9]+>\(deleted\), [^,]*FICLONE, [0-9]+\) = 0$" "$W/trace"
	run -1 grep -E 'copy_file_range|pwrite64' "$W/trace"
	# the same physical blocks, flagged shared, under both names
	extents() { xfs_io -r -c 'fiemap -v' "$1" | awk 'NR > 2 { print $3, $5 }'; }
	[ -n "$(extents "$W/xfs/src/f")" ]
	[ "$(extents "$W/xfs/src/f")" = "$(extents "$W/xfs/dst/f")" ]
	filefrag -v "$W/xfs/dst/f" | grep -q shared
}

@test "on a filesystem without reflink, large files go through copy_file_range" {
	need_cmd strace
	case $(stat -f -c %T "$W") in
	ext2/ext3 | tmpfs) ;;
	*) needs "needs the test directory on ext4 or tmpfs, not $(stat -f -c %T "$W")" ;;
	esac
	# above the 128 KiB copy buffer copy_file_range is used; below it one pread and one pwrite
	head -c 1000000 /dev/urandom >"$S/big"
	head -c 100000 /dev/urandom >"$S/small"
	strace -f -y -o "$W/trace" -e trace=ioctl,copy_file_range,pread64,pwrite64 dirsync "$S" "$T"
	cmp "$S/big" "$T/big"
	cmp "$S/small" "$T/small"
	grep -E "^([0-9]+ +)?ioctl\([0-9]+<$T/#[0-9]+>\(deleted\), [^,]*FICLONE, [0-9]+\) = -1 " "$W/trace"
	grep -E "^([0-9]+ +)?copy_file_range\([0-9]+<$S/big>, \[0\], [0-9]+<$T/#[0-9]+>\(deleted\), \[0\], 1000000, 0\) = 1000000$" "$W/trace"
	run -1 grep -E "(pread64|pwrite64)\([0-9]+<$S/big>" "$W/trace"
	run -1 grep -E "copy_file_range\([0-9]+<$S/small>" "$W/trace"
	grep -E "^([0-9]+ +)?pread64\([0-9]+<$S/small>, .*, 100000, 0\) = 100000$" "$W/trace"
	grep -E "^([0-9]+ +)?pwrite64\([0-9]+<$T/#[0-9]+>\(deleted\), .*, 100000, 0\) = 100000$" "$W/trace"
}

@test "names that look like temp files are ordinary entries, and no run leaves one" {
	echo a >"$S/a"
	mkdir -p "$T/sub"
	mkdir "$S/sub"
	echo user >"$S/.u.dirsync.abc123"
	echo torn >"$T/.a.dirsync.k3j9xq"
	echo torn >"$T/sub/.b.dirsync.000000"
	run -0 dirsync -i "$S" "$T"
	[[ "$output" == *$'\n>f+++++++++ a'* ]]
	[[ "$output" == *$'\n*deleting   .a.dirsync.k3j9xq'* ]]
	[[ "$output" == *$'\n*deleting   sub/.b.dirsync.000000'* ]]
	[ "$(ls -A "$T" | sort | tr '\n' ' ')" = ".u.dirsync.abc123 a sub " ]
	[ "$(cat "$T/.u.dirsync.abc123")" = user ]
	# kept when not to be deleted
	echo torn >"$T/.c.dirsync.000000"
	run -0 dirsync --no-delete "$S" "$T"
	[ -e "$T/.c.dirsync.000000" ]
	run -0 dirsync --exclude '.c.*' "$S" "$T"
	[ -e "$T/.c.dirsync.000000" ]
	run -0 rsync -a --delete -n -i -@-1 --exclude=/.c.dirsync.000000 "$S/" "$T/"
	[ -z "$output" ]
}

# ---- itemize, dry run, verbose

@test "-i prints rsync's itemize lines for new, changed and deleted entries" {
	mkdir -p "$S/d"
	echo one >"$S/f"
	ln -s f "$S/l"
	touch -h -d 2000-01-01 "$S/l"
	run -0 dirsync -i "$S" "$T"
	[ "$output" = "created directory $T
cd+++++++++ ./
>f+++++++++ f
cL+++++++++ l -> f
cd+++++++++ d/" ]
	echo changed-size >"$S/f"
	touch -d '2001-01-01' "$S/d"
	touch "$T/gone"
	run -0 dirsync -i "$S" "$T"
	[ "$output" = ".d..t...... ./
>f.st...... f
.d..t...... d/
*deleting   gone" ]
	chmod 700 "$S/f"
	ln -sfn g "$S/l"
	touch -h -d 2000-01-01 "$S/l"
	run -0 dirsync -i "$S" "$T"
	[ "$output" = ".d..t...... ./
.f...p..... f
cLc........ l -> g" ]
}

@test "-n changes nothing and prints the same lines as the real run after it" {
	make_tree "$S"
	mkdir -p "$T/x/y"
	touch "$T/x/y/z" "$T/file"
	cp -a "$T" "$W/before"
	run -0 dirsync -n -i "$S" "$T"
	dry=$output
	[ -n "$dry" ]
	diff -r "$W/before" "$T"
	run -0 dirsync -i "$S" "$T"
	[ "$output" = "$dry" ]
}

@test "-n on a DST that does not exist yet creates nothing" {
	echo a >"$S/a"
	run -0 dirsync --dry-run -i "$S" "$T"
	[ "$output" = "created directory $T"$'\ncd+++++++++ ./\n>f+++++++++ a' ]
	[ ! -e "$T" ]
}

@test "names are printed with control bytes escaped, one entry per line" {
	printf x >"$S/a"$'\n'"b"
	run -0 dirsync -i "$S" "$T"
	[ "$output" = "created directory $T"$'\ncd+++++++++ ./\n>f+++++++++ a\\#012b' ]
}

@test "-v names the changes and ends with a stats line" {
	echo a >"$S/a"
	mkdir "$S/d"
	mkdir "$T"
	touch "$T/old"
	run -0 dirsync -v "$S" "$T"
	[ "${lines[0]}" = "./" ] || [ "${lines[0]}" = "a" ]
	[[ "$output" == *$'\na\n'* || "${lines[0]}" = a ]]
	[[ "$output" == *$'\nd/\n'* ]]
	[[ "$output" == *$'\ndeleting old\n'* ]]
	[[ "${lines[-1]}" =~ ^1\ files,\ 1\ directories,\ 0\ other\;\ 1\ transferred\ \(2\ bytes\),\ 1\ deleted\ in\ [0-9]+\.[0-9]{6}\ s$ ]]
}

# ---- options

@test "--fsync none, batch and file all produce the mirror" {
	need_cmd rsync
	make_tree "$S"
	for m in none batch file; do
		rm -rf "$T"
		run -0 dirsync --fsync "$m" "$S" "$T"
		mirrored "$S" "$T"
	done
}

@test "--fsync file syncs every file, batch one syncfs, none neither" {
	need_cmd strace
	echo a >"$S/a"
	echo b >"$S/b"
	strace -f -o "$W/trace" -e trace=fsync,syncfs dirsync --fsync file "$S" "$T"
	[ "$(grep -c '^[0-9]* *fsync(' "$W/trace")" = 2 ]
	[ "$(grep -c 'syncfs(' "$W/trace")" = 0 ]
	rm -rf "$T"
	strace -f -o "$W/trace" -e trace=fsync,syncfs dirsync --fsync batch "$S" "$T"
	[ "$(grep -c '^[0-9]* *fsync(' "$W/trace")" = 0 ]
	[ "$(grep -c 'syncfs(' "$W/trace")" = 1 ]
	rm -rf "$T"
	strace -f -o "$W/trace" -e trace=fsync,syncfs dirsync --fsync none "$S" "$T"
	[ "$(grep -c 'sync' "$W/trace")" = 0 ]
}

@test "long option names work like the short ones" {
	echo aaaa >"$S/f"
	run -0 dirsync --dry-run --itemize-changes --checksum "$S" "$T"
	[ "$output" = "created directory $T"$'\ncd+++++++++ ./\n>f+++++++++ f' ]
	[ ! -e "$T" ]
	run -0 dirsync --verbose "$S" "$T"
	[ "${lines[0]}" = "created directory $T" ] && [ "${lines[1]}" = "./" ] && [ "${lines[2]}" = f ]
}

@test "--backup-dir keeps what is replaced and what is deleted" {
	echo v1 >"$S/f"
	echo was-a-file >"$S/t"
	mkdir -p "$S/d"
	echo keep >"$S/d/g"
	run -0 dirsync "$S" "$T"
	echo version-two >"$S/f"
	rm "$S/t" && ln -s f "$S/t"
	rm -rf "$S/d"
	run -0 dirsync -i --backup-dir "$W/bak" "$S" "$T"
	[ "$(cat "$T/f")" = version-two ]
	[ "$(cat "$W/bak/f")" = v1 ]
	[ "$(cat "$W/bak/t")" = was-a-file ] && [ "$(readlink "$T/t")" = f ]
	[ "$(cat "$W/bak/d/g")" = keep ]
	[ ! -e "$T/d" ]
}

@test "a relative --backup-dir lives in DST and is not mirrored or deleted" {
	echo v1 >"$S/f"
	run -0 dirsync "$S" "$T"
	echo v2-longer >"$S/f"
	run -0 dirsync --backup-dir .old "$S" "$T"
	[ "$(cat "$T/.old/f")" = v1 ]
	run -0 dirsync -i --backup-dir .old "$S" "$T"
	[ "$output" = "" ]
	[ -d "$T/.old" ]
	rm "$S/f"
	touch "$S/g"
	run -0 dirsync --backup-dir .old "$S" "$T"
	[ "$(cat "$T/.old/f")" = v2-longer ]
}

@test "--exclude skips by name, anchored path, directory-only and ** patterns" {
	mkdir -p "$S/sub/top" "$S/top" "$S/cache" "$S/sub/cache" "$S/deep/a/b"
	touch "$S/x.o" "$S/sub/y.o" "$S/keep.c" "$S/top/f" "$S/sub/top/f" "$S/file-cache" \
		"$S/deep/a/b/z" "$S/deep/k"
	rm -rf "$S/sub/cache" && touch "$S/sub/cache"
	run -0 dirsync --exclude '*.o' --exclude /top --exclude 'cache/' --exclude 'deep/**' "$S" "$T"
	[ ! -e "$T/x.o" ] && [ ! -e "$T/sub/y.o" ] && [ -e "$T/keep.c" ]
	[ ! -e "$T/top" ] && [ -e "$T/sub/top/f" ]
	[ ! -e "$T/cache" ] && [ -f "$T/sub/cache" ]
	[ -d "$T/deep" ] && [ ! -e "$T/deep/k" ] && [ ! -e "$T/deep/a" ]
}

@test "exclude patterns: table of pattern, path, directory and match" {
	run "${PROCBOX_UNIT:-$PROCBOX_TOP/build/unit/libbox_test}" exclude
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the watch reports changes by name, its directory going away, and polls without inotify" {
	run "${PROCBOX_UNIT:-$PROCBOX_TOP/build/unit/libbox_test}" watch
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "excluded entries of DST are never deleted" {
	echo a >"$S/a"
	mkdir -p "$T/.git"
	touch "$T/.git/config" "$T/local.conf" "$T/stray"
	run -0 dirsync --exclude .git --exclude '*.conf' "$S" "$T"
	[ -e "$T/.git/config" ] && [ -e "$T/local.conf" ] && [ ! -e "$T/stray" ]
}

@test "--max-delete N deletes at most N entries and exits 25" {
	echo a >"$S/a"
	mkdir -p "$T"
	touch "$T/x1" "$T/x2" "$T/x3"
	run -25 dirsync --max-delete 2 "$S" "$T"
	[ "$output" = "dirsync: deletions stopped at the --max-delete limit of 2" ]
	[ "$(ls "$T" | grep -c '^x')" = 1 ]
	[ -e "$T/a" ]
}

@test "--max-delete 0 deletes nothing" {
	echo a >"$S/a"
	mkdir -p "$T/dir"
	touch "$T/x1"
	run -25 dirsync --max-delete 0 "$S" "$T"
	[ -e "$T/x1" ] && [ -d "$T/dir" ] && [ -e "$T/a" ]
}

# ---- safety: refused with 16, nothing deleted

@test "a missing SRC is refused with 16" {
	mkdir -p "$T"
	touch "$T/precious"
	run -16 dirsync "$W/nope" "$T"
	[ "$output" = "dirsync: refusing to sync: source $W/nope does not exist" ]
	[ -e "$T/precious" ]
}

@test "an empty SRC with a non-empty DST is refused with 16" {
	mkdir -p "$T"
	touch "$T/precious"
	run -16 dirsync "$S" "$T"
	[ "$output" = "dirsync: refusing to sync: source $S is empty and destination $T is not" ]
	[ -e "$T/precious" ]
}

@test "an empty SRC with an empty DST is fine" {
	mkdir -p "$T"
	run -0 dirsync "$S" "$T"
}

@test "SRC on another filesystem than recorded (an unmounted disk) is refused with 16" {
	need_root
	mount_tmpfs "$W/disk"
	echo data >"$W/disk/f"
	run -0 dirsync "$W/disk" "$T"
	# what was recorded is kept outside DST
	[ "$(ls -A "$T")" = f ]
	local state=("$XDG_STATE_HOME"/dirsync/*)
	[ -f "${state[0]}" ]
	umount "$W/disk"
	touch "$W/disk/left-on-the-mountpoint"
	run -16 dirsync "$W/disk" "$T"
	[[ "$output" == "dirsync: refusing to sync: source $W/disk is not the filesystem it was on ("*"); remove ${state[0]} if this is intended" ]]
	[ "$(cat "$T/f")" = data ]
	rm "${state[0]}"
	run -0 dirsync "$W/disk" "$T"
	[ ! -e "$T/f" ]
}

@test "DST inside SRC is refused with 16" {
	echo a >"$S/a"
	run -16 dirsync "$S" "$S/mirror"
	[ "$output" = "dirsync: refusing to sync: destination $S/mirror is inside source $S" ]
	[ ! -e "$S/mirror" ]
}

@test "SRC inside DST is refused with 16" {
	mkdir -p "$T/inner"
	touch "$T/inner/a" "$T/b"
	run -16 dirsync "$T/inner" "$T"
	[ "$output" = "dirsync: refusing to sync: source $T/inner is inside destination $T" ]
	[ -e "$T/b" ]
}

@test "DST == SRC is refused with 16, also through a symlink" {
	echo a >"$S/a"
	run -16 dirsync "$S" "$S/"
	[ "$output" = "dirsync: refusing to sync: source and destination are the same directory" ]
	ln -s "$S" "$W/alias"
	run -16 dirsync "$S" "$W/alias"
	[ "$output" = "dirsync: refusing to sync: source and destination are the same directory" ]
}

@test "DST == / is refused with 16" {
	echo a >"$S/a"
	run -16 dirsync "$S" /
	[ "$output" = "dirsync: refusing to sync: destination is /" ]
	run -16 dirsync "$S" /tmp/../
	[ "$output" = "dirsync: refusing to sync: destination is /" ]
}

@test "a symlink in DST where SRC has a directory is replaced, never written through" {
	mkdir -p "$S/d" "$W/outside" "$T"
	echo secret >"$S/d/f"
	ln -s "$W/outside" "$T/d"
	run -0 dirsync -i "$S" "$T"
	# as rsync: the replaced link is not reported, only the new directory
	[[ "$output" == *$'cd+++++++++ d/\n>f+++++++++ d/f' ]]
	[[ "$output" != *deleting* ]]
	[ -d "$T/d" ] && [ ! -L "$T/d" ]
	[ "$(cat "$T/d/f")" = secret ]
	[ -z "$(ls -A "$W/outside")" ]
}

@test "a symlink in DST where SRC has a file is replaced, its target untouched" {
	echo new >"$S/f"
	mkdir -p "$T"
	echo original >"$W/target"
	ln -s "$W/target" "$T/f"
	run -0 dirsync "$S" "$T"
	[ ! -L "$T/f" ] && [ "$(cat "$T/f")" = new ]
	[ "$(cat "$W/target")" = original ]
}

# ---- bad SRC/DST: 3

@test "a SRC that is not a directory is an error 3" {
	touch "$W/file"
	run -3 dirsync "$W/file" "$T"
	[ "$output" = "dirsync: source $W/file is not a directory" ]
}

@test "a DST that is a file is an error 3" {
	echo a >"$S/a"
	touch "$T"
	run -3 dirsync "$S" "$T"
	[ "$output" = "dirsync: destination $T is not a directory" ]
}

@test "a DST whose parent does not exist is an error 3" {
	echo a >"$S/a"
	run -3 dirsync "$S" "$W/no/such"
	[ "$output" = "dirsync: unable to resolve the parent of $W/no/such: No such file or directory" ]
}

@test "a --backup-dir on another filesystem than DST is an error 3" {
	need_root
	echo a >"$S/a"
	mkdir -p "$T"
	mount_tmpfs "$W/other"
	run -3 dirsync --backup-dir "$W/other/bak" "$S" "$T"
	[ "$output" = "dirsync: backup directory $W/other/bak is not on the filesystem of $T" ]
}

# ---- faults

@test "a full DST filesystem exits 11 and leaves no temp file and the old contents" {
	need_root
	mount_tmpfs "$W/full" 1m
	echo old >"$S/a"
	echo keep >"$S/b"
	run -0 dirsync "$S" "$W/full/t"
	head -c 2000000 /dev/urandom >"$S/a"
	echo newer >"$S/c"
	touch "$W/full/t/stray"
	run -11 dirsync "$S" "$W/full/t"
	[[ "$output" == *"dirsync: unable to write $W/full/t/a: No space left on device"* ]]
	[ "$(cat "$W/full/t/a")" = old ]
	[ "$(cat "$W/full/t/b")" = keep ]
	[ -e "$W/full/t/stray" ]
	no_temp_files "$W/full/t"
}

@test "an unreadable source file gives 23, the rest is copied, deletions there skipped" {
	need_cmd setpriv
	need_root
	PUBLIC=$(mktemp -d /tmp/dirsync-nobody.XXXXXX)
	chmod 755 "$PUBLIC"
	mkdir -p "$PUBLIC/s/a" "$PUBLIC/s/b" "$PUBLIC/t/a" "$PUBLIC/t/b"
	echo 1 >"$PUBLIC/s/a/ok"
	echo 2 >"$PUBLIC/s/a/secret"
	echo 3 >"$PUBLIC/s/b/f"
	touch "$PUBLIC/t/a/stale" "$PUBLIC/t/b/stale"
	chmod 000 "$PUBLIC/s/a/secret"
	chown -R nobody "$PUBLIC"
	run -23 setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
		"$PROCBOX" dirsync "$PUBLIC/s" "$PUBLIC/t"
	[[ "$output" == *"dirsync: unable to open $PUBLIC/s/a/secret: Permission denied"* ]]
	[ "$(cat "$PUBLIC/t/a/ok")" = 1 ] && [ "$(cat "$PUBLIC/t/b/f")" = 3 ]
	[ -e "$PUBLIC/t/a/stale" ] && [ ! -e "$PUBLIC/t/b/stale" ]
	[ ! -e "$PUBLIC/t/a/secret" ]
	no_temp_files "$PUBLIC/t"
}

@test "a source file vanishing during the run gives 24" {
	need_cmd python3
	echo a >"$S/a"
	echo b >"$S/b"
	lease "$S/a" unlink "$S/b"
	run -24 dirsync "$S" "$T"
	[ "$output" = "dirsync: file has vanished: $S/b" ]
	[ "$(cat "$T/a")" = a ] && [ ! -e "$T/b" ]
}

@test "SIGTERM during a run stops it with 20 and no temp file; the next run completes" {
	need_cmd python3 rsync
	head -c 1000000 /dev/urandom >"$S/a"
	echo b >"$S/b"
	lease "$S/a" hold "$W/broken"
	dirsync "$S" "$T" 2>"$W/err" &
	local pid=$!
	retry_until 10 test -e "$W/broken"
	kill -TERM "$pid"
	kill -USR1 "$HOLDER"
	local st=0
	wait "$pid" || st=$?
	[ "$st" = 20 ]
	no_temp_files "$T"
	[ ! -e "$T/b" ]
	run -0 dirsync "$S" "$T"
	mirrored "$S" "$T"
}

# ---- watch mode

@test "-w mirrors new files and new directory trees within the delay" {
	echo a >"$S/a"
	start_watch --delay 100ms "$S" "$T"
	retry_until 5 test -e "$T/a"
	mkdir -p "$S/n/m"
	echo deep >"$S/n/m/f"
	echo b >"$S/b"
	retry_until 5 test -e "$T/n/m/f"
	retry_until 5 test -e "$T/b"
	rm "$S/a"
	retry_until 5 test ! -e "$T/a"
	echo inner >"$S/n/m/g"
	retry_until 5 test -e "$T/n/m/g"
	[ "$(cat "$T/n/m/f")" = deep ]
}

@test "-w waits --delay after a change before syncing" {
	echo a >"$S/a"
	start_watch --delay 3s "$S" "$T"
	retry_until 5 test -e "$T/a"
	echo b >"$S/b"
	local t0=$(date +%s%N)
	retry_until 10 test -e "$T/b"
	local ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -ge 2500 ]
}

@test "-w: the source root moved away cancels the pending sync and resumes when back" {
	echo a >"$S/a"
	echo b >"$S/b"
	start_watch --delay 1s "$S" "$T"
	retry_until 5 test -e "$T/b"
	rm "$S/b"
	mv "$S" "$W/moved"
	retry_until 5 grep -q "source $S went away; pending sync cancelled" "$W/err"
	# moved back only once dirsync re-checked and refused: it waits for SRC
	retry_until 5 grep -q "refusing to sync: source $S is not there" "$W/err"
	[ -e "$T/b" ] && [ -e "$T/a" ]
	mv "$W/moved" "$S"
	echo c >"$S/c"
	retry_until 5 test -e "$T/c"
	retry_until 5 test ! -e "$T/b"
	grep -q "source $S is back" "$W/err"
}

@test "-w: the source root deleted deletes nothing in DST" {
	echo a >"$S/a"
	start_watch --delay 200ms "$S" "$T"
	retry_until 5 test -e "$T/a"
	rm -rf "$S"
	retry_until 5 grep -q "refusing to sync: source $S is not there" "$W/err"
	[ -e "$T/a" ]
	mkdir "$S"
	echo new >"$S/n"
	retry_until 5 test -e "$T/n"
}

@test "-w: the source unmounted deletes nothing and resumes when mounted again" {
	need_root
	mount_tmpfs "$W/store" 4m
	mkdir "$W/store/data"
	echo a >"$W/store/data/a"
	mount --bind "$W/store/data" "$S"
	MOUNTS+=("$S")
	start_watch --delay 200ms "$S" "$T"
	retry_until 5 test -e "$T/a"
	umount "$S"
	retry_until 5 grep -q "went away" "$W/err"
	echo b >"$W/store/data/b"
	[ -e "$T/a" ]
	mount --bind "$W/store/data" "$S"
	retry_until 5 test -e "$T/b"
	[ -e "$T/a" ]
}

@test "-w: a source emptied while DST is not is refused, and resumes with content" {
	echo a >"$S/a"
	start_watch --delay 100ms "$S" "$T"
	retry_until 5 test -e "$T/a"
	rm "$S/a"
	retry_until 5 grep -q "refusing to sync: source $S is empty and destination $T is not" "$W/err"
	[ -e "$T/a" ]
	echo b >"$S/b"
	retry_until 5 test -e "$T/b"
	retry_until 5 test ! -e "$T/a"
}

@test "-w: an event queue overflow makes a full rescan" {
	mkdir "$S/many" "$S/quiet"
	echo a >"$S/quiet/f"
	start_watch -v --delay 100ms "$S" "$T"
	retry_until 5 test -e "$T/quiet/f"
	kill -STOP "$WPID"
	local q=$(cat /proc/sys/fs/inotify/max_queued_events)
	(cd "$S/many" && seq 1 $((q + 100)) | xargs touch)
	echo changed-quietly >"$S/quiet/f"
	kill -CONT "$WPID"
	retry_until 20 grep -q changed-quietly "$T/quiet/f"
	[ "$(ls "$T/many" | wc -l)" -eq $((q + 100)) ]
}

@test "--poll DUR mirrors changes by polling" {
	echo a >"$S/a"
	start_watch --poll 100ms "$S" "$T"
	retry_until 5 test -e "$T/a"
	mkdir "$S/d"
	echo b >"$S/d/b"
	retry_until 5 test -e "$T/d/b"
}

@test "-w falls back to polling when out of inotify watches" {
	need_root
	need_cmd unshare
	mkdir -p "$S/d1/d2/d3"
	echo a >"$S/a"
	unshare -U -r sh -c 'echo 2 >/proc/sys/user/max_inotify_watches && exec "$0" "$@"' \
		dirsync -w --delay 100ms "$S" "$T" 2>"$W/err" &
	WPID=$!
	retry_until 5 test -e "$T/a"
	retry_until 5 grep -q "polling instead" "$W/err"
	echo new >"$S/d1/d2/d3/n"
	retry_until 5 test -e "$T/d1/d2/d3/n"
}

@test "-w falls back to polling without inotify" {
	need_root
	need_cmd unshare
	echo a >"$S/a"
	unshare -U -r sh -c 'echo 0 >/proc/sys/user/max_inotify_instances && exec "$0" "$@"' \
		dirsync -w "$S" "$T" 2>"$W/err" &
	WPID=$!
	retry_until 5 test -e "$T/a"
	grep -q "dirsync: unable to use inotify, polling instead" "$W/err"
	echo b >"$S/b"
	retry_until 5 test -e "$T/b"
}

@test "-w ends with 0 on SIGTERM while idle" {
	echo a >"$S/a"
	start_watch "$S" "$T"
	retry_until 5 test -e "$T/a"
	kill -TERM "$WPID"
	local st=0
	wait "$WPID" || st=$?
	WPID=
	[ "$st" = 0 ]
}

# ---- bad input: one line saying what is wrong, the usage line, status 1

@test "no SRC and DST is a usage error" {
	run -1 dirsync
	[ "${lines[0]}" = "dirsync: need SRC and DST" ]
	[ "${lines[1]}" = "$(usage)" ]
	run -1 dirsync "$S"
	[ "${lines[0]}" = "dirsync: need SRC and DST" ]
}

@test "a third operand is a usage error" {
	run -1 dirsync "$S" "$T" extra
	[ "${lines[0]}" = "dirsync: too many arguments" ]
	[ "${lines[1]}" = "$(usage)" ]
}

@test "an unknown option is a usage error" {
	run -1 dirsync --delete "$S" "$T"
	[ "${lines[0]}" = "dirsync: unknown option '--delete'" ]
	[ "${lines[1]}" = "$(usage)" ]
}

@test "a bad --max-delete is a usage error" {
	run -1 dirsync --max-delete -1 "$S" "$T"
	[[ "${lines[0]}" == "dirsync: invalid --max-delete '-1'"* ]]
	run -1 dirsync --max-delete lots "$S" "$T"
	[[ "${lines[0]}" == "dirsync: invalid --max-delete 'lots'"* ]]
	[ "${lines[1]}" = "$(usage)" ]
}

@test "a bad --fsync is a usage error" {
	run -1 dirsync --fsync sometimes "$S" "$T"
	[ "${lines[0]}" = "dirsync: invalid --fsync 'sometimes': expected none, batch or file" ]
	[ "${lines[1]}" = "$(usage)" ]
}

@test "a bad --delay or --poll is a usage error" {
	run -1 dirsync -w --delay soon "$S" "$T"
	[[ "${lines[0]}" == "dirsync: invalid --delay 'soon'"* ]]
	run -1 dirsync -w --poll 0 "$S" "$T"
	[ "${lines[0]}" = "dirsync: invalid --poll '0': must be more than 0" ]
	run -1 dirsync -w --poll -1s "$S" "$T"
	[[ "${lines[0]}" == "dirsync: invalid --poll '-1s'"* ]]
}

@test "--delay, --delete-delay, --rescan and --poll without -w, and -n with -w, are usage errors" {
	local opt
	for opt in --delay --poll --delete-delay --rescan; do
		run -1 dirsync $opt 1s "$S" "$T"
		[ "${lines[0]}" = "dirsync: --delay, --delete-delay, --rescan and --poll need -w" ]
	done
	run -1 dirsync -n -w "$S" "$T"
	[ "${lines[0]}" = "dirsync: -n and -w cannot be combined" ]
}

@test "an empty exclude pattern, SRC, DST or --backup-dir is a usage error" {
	run -1 dirsync --exclude / "$S" "$T"
	[ "${lines[0]}" = "dirsync: invalid exclude pattern '/'" ]
	run -1 dirsync --exclude '' "$S" "$T"
	[ "${lines[0]}" = "dirsync: invalid exclude pattern ''" ]
	run -1 dirsync "" "$T"
	[ "${lines[0]}" = "dirsync: empty SRC or DST" ]
	run -1 dirsync --backup-dir '' "$S" "$T"
	[ "${lines[0]}" = "dirsync: empty --backup-dir" ]
	[ "${lines[1]}" = "$(usage)" ]
}

@test "--help prints the usage and exits 0" {
	run -0 dirsync --help
	[ "${lines[0]}" = "$(usage)" ]
	[[ "$output" == *"--max-delete N"* ]]
}
