#!/usr/bin/env bats
# check_disk, diskreport's compat name: the Nagios plugin's command line,
# status line, perfdata and exit codes. Each case runs the real plugin
# (Debian's monitoring-plugins-basic) on the same arguments, on tmpfs mounts
# the test makes and fills, and compares stdout and the exit code.

bats_require_minimum_version 1.5.0
load helpers
load diskreport_helpers

REAL=/usr/lib/nagios/plugins/check_disk

setup() {
	MOUNTS=()
	DEAD_PIDS=()
	LOOPDEV=
	D=$BATS_TEST_TMPDIR/m
	BIN=$BATS_TEST_TMPDIR/bin
	mkdir -p "$D" "$BIN"
	"$PROCBOX" --install -s --compat "$BIN" >/dev/null
}

teardown() {
	local p i
	for p in "${DEAD_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true
	done
	if [ -n "$LOOPDEV" ]; then
		losetup -d "$LOOPDEV" 2>/dev/null || true
	fi
}

need_peer() {
	[ -x "$REAL" ] || needs "needs $REAL (monitoring-plugins-basic)"
}

# Four filesystems at known fill levels: a 70% free, b exactly 20% free,
# c 5% free, "sp ace" empty (a name that perfdata must quote).
make_mounts() {
	need_root
	need_peer
	mount_tmpfs tmpfs "$D/a" size=100M,nr_inodes=10000
	mount_tmpfs tmpfs "$D/b" size=100M,nr_inodes=10000
	mount_tmpfs tmpfs "$D/c" size=100M,nr_inodes=10000
	mount_tmpfs "dev one" "$D/sp ace" size=10M
	mount_tmpfs tmpfs "$D/i" size=100M,nr_inodes=10
	mkdir "$D/a/sub"
	fallocate -l 30M "$D/a/f"
	fallocate -l 80M "$D/b/f"
	fallocate -l 95M "$D/c/f"
	touch "$D/i/1" "$D/i/2" "$D/i/3" "$D/i/4" "$D/i/5" "$D/i/6" "$D/i/7"
}

# same ARGS...: both plugins print the same line and exit the same; the
# words "M/" in ARGS stand for "$D/".
same() {
	local args=() a
	for a in "$@"; do
		args+=("${a//M\//$D/}")
	done
	local want got wrc grc
	want=$(timeout 20 "$REAL" "${args[@]}" 2>/dev/null) && wrc=0 || wrc=$?
	got=$(timeout 20 "$BIN/check_disk" "${args[@]}" 2>/dev/null) && grc=0 || grc=$?
	if [ "$want" != "$got" ] || [ "$wrc" != "$grc" ]; then
		echo "check_disk ${args[*]}" >&2
		echo "  real ($wrc): $want" >&2
		echo "  ours ($grc): $got" >&2
		return 1
	fi
}

@test "check_disk: compat name listed and linked only with --compat" {
	run "$PROCBOX" --list --compat
	[[ "$output" == *check_disk* ]]
	run "$PROCBOX" --list
	[[ "$output" != *check_disk* ]]
	[ -L "$BIN/check_disk" ]
	run "$BIN/check_disk" -h
	[ "$status" -eq 3 ]
	[[ "$output" == usage:\ check_disk* ]]
}

@test "check_disk: free-space thresholds in percent and units, warning and critical" {
	make_mounts
	same -w 20% -c 10% -p M/a -p M/b -p M/c
	same -w 19% -c 10% -p M/b
	same -w 25% -c 20% -p M/b
	same -w 20 -c 10 -p M/b
	same -w 19.9 -c 10 -p M/b
	same -w 20M -c 10M -p M/b
	same -w 10% -c 5 -p M/b
	same -w 10 -c 5 -w 50% -c 30% -p M/b
	same -w 20% -p M/b
	same -c 5% -p M/c
	same -w 10% -c 30% -p M/b
}

@test "check_disk: ranges: inside, outside, open ends, and a bad one" {
	make_mounts
	same -w 60:80% -p M/a
	same -w @60:80% -p M/a
	same -w '~:80%' -p M/a
	same -w 80: -p M/a
	same -w '' -p M/a
	same -c 120% -p M/a
	same -w 200 -p M/a
	same -w 30:20% -p M/a
	same -w -5 -p M/a
}

@test "check_disk: units: bytes, kB, MB, GB, -k, -m, and an unknown one" {
	make_mounts
	same -w 20% -c 10% -u bytes -p M/a
	same -w 20% -c 10% -u kB -p M/a
	same -w 20% -c 10% -u KiB -p M/a
	same -w 20% -c 10% -u GB -p M/a
	same -w 1 -c 0 -u GB -p M/a
	same -w 80000 -c 10 -p M/a -u kB
	same -w 20% -c 10% -k -p M/b
	same -w 20% -c 10% -m -p M/b
	same -w 20% -c 10% -u TB -p M/b
	same -w 20% -c 10% -u KB -p M/a
}

@test "check_disk: inode thresholds and inode perfdata (-W -K -P)" {
	make_mounts
	same -W 20% -K 10% -p M/i
	same -W 30 -K 20 -p M/i
	same -W 50% -K 30% -P -p M/i
	same -W 150% -K 120% -P -p M/a
	same -w 20% -c 10% -P -p "M/sp ace"
}

@test "check_disk: output forms: -v, -e, -q, -M, quoted labels, -f" {
	make_mounts
	same -w 20% -c 10% -v -p M/a -p M/b -p M/c
	same -w 20% -c 10% -e -p M/a
	same -w 20% -c 10% -e -v -p M/a
	same -w 20% -c 10% -e -p M/a -p M/b -p M/c
	same -w 20% -c 10% -q -p M/c
	same -w 20% -c 10% -M -p "M/sp ace"
	same -w 20% -c 10% -P -M -p "M/sp ace"
	same -w 20% -c 10% -f -p M/a
}

@test "check_disk: -p matching: a path inside a mount, a device, -E, a missing path" {
	make_mounts
	same -w 20% -c 10% -p M/a/sub
	same -w 20% -c 10% -p M/a/
	same -w 20% -c 10% -p M/a -p M/a/sub
	same -w 20% -c 10% -E -p M/a
	same -w 20% -c 10% -E -p M/a/sub
	same -w 20% -c 10% -p M/nonexistent
	same -w 20% -c 10% -p M/b -E
	same -w 20% -c 10% -p M/a -g grp
	same -p M/a
}

@test "check_disk: -C, groups, and the legacy WARN CRIT PATH form" {
	make_mounts
	same -w 10% -c 5% -p M/b -C -w 30% -c 25% -p M/a
	same -g grp -w 20% -c 10% -p M/a -p M/b
	same -w 20% -c 10% -g grp -p M/a -C -w 20% -c 10% -g g2 -p M/b -p M/c
	same -w 20% -c 10% -g 'my grp' -p M/a -p M/b
	same -w 20% -c 10% -g grp -p M/a -X tmpfs
	same 79 81 M/b
	same 80 90 M/b
	same M/b
}

@test "check_disk: -r, -R, -A with -i and -I; -x, -X, -N, -l" {
	make_mounts
	same -w 20% -c 10% -r "^M/[ab]\$"
	same -w 20% -c 10% -R "^${D^^}/[AB]\$"
	same -w 20% -c 10% -r "^M/" -i 'c$'
	same -w 20% -c 10% -r "^M/" -I '/C$'
	same -w 20% -c 10% -r "^M/[[:alpha:]]\$"
	same -w 20% -c 10% -r "^M/.*e\$"
	same -w 20% -c 10% -r "^M/x+\$"
	same -w 20% -c 10% -x M/a -p M/a -p M/b
	same -w 20% -c 10% -X tmpfs -p M/a
	same -w 20% -c 10% -N ext4 -p M/a
	same -w 20% -c 10% -N tmpfs -p M/a
	same -w 20% -c 10% -l -p M/a
	same -w 20% -c 10% -e -X tmpfs
	same -p M/a -w 10%
}

@test "check_disk: every mount without -p: the test's mounts read the same" {
	make_mounts
	local want got
	want=$(timeout 20 "$REAL" -w 20% -c 10% -X fuse -X fuse.deadfs 2>/dev/null |
		grep -o " $D/[abc] [^;]*;") || true
	got=$(timeout 20 "$BIN/check_disk" -w 20% -c 10% -X fuse -X fuse.deadfs 2>/dev/null |
		grep -o " $D/[abc] [^;]*;") || true
	[ -n "$got" ]
	[ "$want" = "$got" ]
}

@test "check_disk: root-reserved blocks on ext4 (free of usable, -f perfdata)" {
	make_mounts
	need_cmd mkfs.ext4 losetup
	truncate -s 64M "$BATS_TEST_TMPDIR/img"
	mkfs.ext4 -q -F -m 10 -N 2048 "$BATS_TEST_TMPDIR/img"
	LOOPDEV=$(losetup -f --show "$BATS_TEST_TMPDIR/img")
	mkdir -p "$D/e"
	mount "$LOOPDEV" "$D/e"
	MOUNTS+=("$D/e")
	fallocate -l 20M "$D/e/f"
	same -w 20% -c 10% -p M/e
	same -w 20% -c 10% -f -p M/e
	same -w 20% -c 10% -u bytes -p M/e
	same -w 20% -c 10% -W 20% -K 10% -P -p M/e
	same -w 20% -c 10% -p "$LOOPDEV"
	same -w 20% -c 10% -M -p M/e
}

@test "check_disk: usage errors are UNKNOWN (3), as the plugin's" {
	make_mounts
	same -w 10% -p M/a -t 1.5
	same -p M/a
	same -w 10% -p M/b -g grp -p M/a
	same -w 10% -p M/b -E -p M/a
	same -w 10% -r 'M/[a'
	same -w 10% -r "^M/nothing"
	same -w 10% -i x
	run "$BIN/check_disk"
	[ "$status" -eq 3 ]
	run "$BIN/check_disk" -n -w 10% -p "$D/a"
	[ "$status" -eq 3 ]
	run "$BIN/check_disk" -w 10% -r "^$D/(a|b)"
	[ "$status" -eq 3 ]
	[ "$output" = "DISK UNKNOWN: Could not compile regular expression - groups, alternatives and counts are not supported" ]
	run "$BIN/check_disk" -V
	[ "$status" -eq 3 ]
}

@test "check_disk: a dead mount is CRITICAL after -t seconds, where the plugin hangs" {
	make_mounts
	start_deadfs "$D/dead"
	# the real plugin never returns (its -t is parsed but not used), and
	# not even SIGKILL frees it while the filesystem's daemon lives
	"$REAL" -w 20% -c 10% -t 2 -p "$D/a" -p "$D/dead" >"$BATS_TEST_TMPDIR/real.out" &
	local peer=$! t0=$SECONDS out rc
	out=$("$BIN/check_disk" -w 20% -c 10% -t 2 -p "$D/a" -p "$D/dead") && rc=0 || rc=$?
	[ "$rc" -eq 2 ]
	[ "$out" = "DISK CRITICAL - $D/dead is not accessible: no answer within 2s" ]
	# one timeout (two at most: finding the mount, then its statvfs)
	[ $((SECONDS - t0)) -le 5 ]
	# every mount, the dead one among them
	out=$("$BIN/check_disk" -w 20% -c 10% -t 1) && rc=0 || rc=$?
	[ "$rc" -eq 2 ]
	[[ "$out" == "DISK CRITICAL - "*" is not accessible: no answer within 1s" ]]
	# and excluded, it is never touched
	same -w 20% -c 10% -t 2 -p M/a
	out=$("$BIN/check_disk" -w 20% -c 10% -t 2 -x "$D/dead" -r "^$D/") && rc=0 || rc=$?
	[ "$rc" -eq 2 ]
	[[ "$out" == "DISK CRITICAL - free space: $D/a 70MiB"* ]]
	# all this time the plugin has been waiting, with nothing printed
	! finished "$peer"
	[ ! -s "$BATS_TEST_TMPDIR/real.out" ]
	kill -9 "$peer"
}
