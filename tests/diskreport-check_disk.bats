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

# nagios_same DISKREPORT-ARGS -- CHECK_DISK-ARGS: diskreport --nagios and
# the real plugin print the same line and exit the same ("M/" as in same).
nagios_same() {
	local mine=() peer=() a to=mine
	for a in "$@"; do
		if [ "$a" = -- ]; then
			to=peer
			continue
		fi
		a=${a//M\//$D/}
		if [ $to = mine ]; then mine+=("$a"); else peer+=("$a"); fi
	done
	local want got wrc grc
	want=$(timeout 20 "$REAL" "${peer[@]}" 2>/dev/null) && wrc=0 || wrc=$?
	got=$(diskreport --nagios "${mine[@]}" 2>/dev/null) && grc=0 || grc=$?
	if [ "$want" != "$got" ] || [ "$wrc" != "$grc" ]; then
		echo "diskreport --nagios ${mine[*]}" >&2
		echo "  check_disk ($wrc): $want" >&2
		echo "  diskreport ($grc): $got" >&2
		return 1
	fi
}

@test "diskreport --nagios: check_disk's line and perfdata for the same free limits" {
	make_mounts
	nagios_same --warn free:20% --crit free:10% M/a M/b M/c -- -w 20% -c 10% -p M/a -p M/b -p M/c
	nagios_same --warn free:19% --crit free:10% M/b -- -w 19% -c 10% -p M/b
	nagios_same --warn free:25% --crit free:20% M/b -- -w 25% -c 20% -p M/b
	nagios_same --warn free:20M --crit free:10M M/b -- -w 20 -c 10 -p M/b
	nagios_same --warn free:30M M/b M/c -- -w 30 -p M/b -p M/c
	nagios_same --warn free:0% M/a M/a/sub "M/sp ace" -- -w 0% -p M/a -p M/a/sub -p "M/sp ace"
	nagios_same --iwarn free:20% --icrit free:10% M/i -- -W 20% -K 10% -p M/i
	# no filesystem: UNKNOWN, as the plugin's
	nagios_same -t nosuchfs -- -w 10% -N nosuchfs
}

@test "diskreport: limits used or free, in percent or size, per mount point and per type" {
	make_mounts
	status_of() { diskreport "$@" "$D/a" "$D/b" "$D/c" | awk -v d="$D/" 'index($NF, d) == 1 { printf "%s=%s ", substr($NF, length(d) + 1), $(NF-1) }'; }
	# a: 30% used, 70 MiB free; b: 80%, 20 MiB; c: 95%, 5 MiB
	[ "$(status_of --warn 85 --crit 95)" = "a=OK b=OK c=CRIT " ]
	[ "$(status_of --warn free:20% --crit free:5%)" = "a=OK b=WARN c=CRIT " ]
	[ "$(status_of --warn used:80M --crit used:90M)" = "a=OK b=WARN c=CRIT " ]
	[ "$(status_of --warn used:30M)" = "a=WARN b=WARN c=WARN " ]
	[ "$(status_of --warn free:70M --crit free:19M)" = "a=WARN b=WARN c=CRIT " ]
	[ "$(status_of --warn free:69M --crit free:20M)" = "a=OK b=CRIT c=CRIT " ]
	# a scope of a mount point beats one of a type, which beats none
	[ "$(status_of --warn 90 --warn type:tmpfs=25 --warn "$D/b=free:10%")" = "a=WARN b=OK c=WARN " ]
	[ "$(status_of --crit 99 --crit "$D/a=used:1M" --crit type:ext4=1)" = "a=CRIT b=OK c=OK " ]
	# the last of one scope counts
	[ "$(status_of --warn 10 --warn 90)" = "a=OK b=OK c=WARN " ]
	# and --nagios turns them into perfdata levels, as used bytes
	run -0 diskreport --nagios --warn 80 --crit "$D/a=free:10M" "$D/a"
	[ "$output" = "DISK OK - free space: $D/a 70MiB (70% inode=99%);| $D/a=31457280B;83886080;94371840;0;104857600" ]
}

@test "diskreport: bad limits are usage errors (3)" {
	run -3 diskreport --warn foo=10 /
	[ "${lines[0]}" = "diskreport: invalid --warn scope 'foo': expected a /path or type:TYPE" ]
	run -3 diskreport --crit type:=10 /
	[ "${lines[0]}" = "diskreport: invalid --crit scope 'type:': expected a /path or type:TYPE" ]
	run -3 diskreport --iwarn 10G /
	[ "${lines[0]}" = "diskreport: invalid --iwarn '10G': expected a percentage 0-100" ]
	run -3 diskreport --warn free: /
	[ "${lines[0]}" = "diskreport: invalid --warn '': expected a percentage 0-100 or a size such as 500G" ]
	run -3 diskreport --warn used:10Q /
	[ "${lines[0]}" = "diskreport: invalid --warn '10Q': expected a percentage 0-100 or a size such as 500G" ]
	run -3 diskreport --warn 101% /
	[ "${lines[0]}" = "diskreport: invalid --warn '101%': expected a percentage 0-100" ]
	run -3 diskreport --warn 90 --crit 80 /
	[ "${lines[0]}" = "diskreport: --warn 90 is above --crit 80" ]
	# scoped or free limits are not compared
	run -0 diskreport --warn free:90% --crit free:10% --warn /=95 --crit 80 /
	run -3 diskreport --nagios --json /
	[ "${lines[0]}" = "diskreport: --nagios cannot be combined with --json" ]
	run -3 diskreport --nagios --output /
	[ "${lines[0]}" = "diskreport: --nagios cannot be combined with --output" ]
}

@test "diskreport --nagios: a dead mount is CRITICAL and named, never hidden behind a warning" {
	make_mounts
	start_deadfs "$D/dead"
	local out rc
	out=$(diskreport --nagios --timeout 1s --warn free:25% "$D/b" "$D/dead" 2>/dev/null) && rc=0 || rc=$?
	[ "$rc" -eq 2 ]
	[ "$out" = "DISK CRITICAL - free space: $D/b 20MiB (20% inode=99%); $D/dead not answering;| $D/b=83886080B;78643200;;0;104857600" ]
	# a PATH that does not exist: no row, CRITICAL all the same, said on stderr
	run -2 --separate-stderr diskreport --nagios "$D/a" "$D/nonexistent"
	[ "$output" = "DISK CRITICAL - free space: $D/a 70MiB (70% inode=99%);| $D/a=31457280B;;;0;104857600" ]
	[ "$stderr" = "diskreport: unable to stat $D/nonexistent: No such file or directory" ]
}
