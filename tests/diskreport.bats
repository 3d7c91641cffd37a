#!/usr/bin/env bats
# diskreport: df's numbers, thresholds and exit codes, hung mounts, JSON/CSV,
# and mail through a real SMTP server on a loopback port.

bats_require_minimum_version 1.5.0
load helpers
load diskreport_helpers

usage() { usage_line diskreport; }


setup() {
	MOUNTS=()
	DEAD_PIDS=()
}

teardown() {
	# a dead filesystem's daemon goes first: that frees whatever waits on it
	local p
	for p in "${DEAD_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -n "${FUSE_PID:-}" ]; then
		kill -CONT "$FUSE_PID" 2>/dev/null || true
	fi
	local i
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true
	done
	if [ -n "${FUSE_PID:-}" ]; then
		kill "$FUSE_PID" 2>/dev/null || true
	fi
	if [ -n "${SMTPD_PID:-}" ]; then
		kill "$SMTPD_PID" 2>/dev/null || true
		wait "$SMTPD_PID" 2>/dev/null || true
	fi
	if [ -n "${LOOPDEV:-}" ]; then
		losetup -d "$LOOPDEV" 2>/dev/null || true
	fi
}

# same_as_df ARGS...: diskreport's stdout equals df's for the same arguments
# (-h first, the default of diskreport). Live filesystems change while they
# run, so df runs before and after and either may match; callers retry.
same_as_df() {
	local before mine after
	before=$(timeout 20 df -h "$@" 2>/dev/null)
	mine=$(diskreport "$@" 2>/dev/null)
	after=$(timeout 20 df -h "$@" 2>/dev/null)
	if [ "$mine" != "$before" ] && [ "$mine" != "$after" ]; then
		diff <(echo "$mine") <(echo "$after") >&2
		return 1
	fi
}

# Several tmpfs mounts of awkward sizes, partly filled, so rounding and
# unit changes are exercised ("9.9G", "10G", "1020K", "1.0M", "4.0K").
make_sweep() {
	local top=$1 i=0 s
	for s in 4k 40k 1020k 1024k 1028k 10236k 10244k 102396k 1048572k 1153433k \
		10485756k 10485760k 999996k 9999360k 1099511627776 1125899906842624; do
		i=$((i + 1))
		mount_tmpfs "drsweep$i" "$top/m$i" "size=$s,nr_inodes=$((i * 99997 + 3))"
		head -c $((i * 123457)) /dev/zero >"$top/m$i/f" 2>/dev/null || true
	done
}

# helo_name: what EHLO must name from here: the host name when it is a
# domain (has a dot), else the address literal of the loopback connection.
helo_name() {
	local host
	host=$(uname -n)
	if [[ "$host" == *.* ]]; then
		echo "$host"
	else
		echo "[127.0.0.1]"
	fi
}

# body FILE: the message body (after the blank line), CRLF turned into LF.
body() {
	sed -e '1,/^\r\{0,1\}$/d' -e 's/\r$//' "$1"
}

header() {
	sed -n -e '/^\r\{0,1\}$/q' -e "s/^$2: \\(.*\\)\\r\$/\\1/p" "$1"
}

# ---- the report ---------------------------------------------------------------

@test "the default report is df -h's table for every mount" {
	retry_until 10 same_as_df
	run -0 diskreport
	[[ "${lines[0]}" =~ ^Filesystem\ +Size\ +Used\ Avail\ Use%\ Mounted\ on$ ]]
}

@test "works the same through procbox and through the link" {
	run -0 "$PROCBOX" diskreport -k /
	a=$output
	run -0 "$PROCBOX_BIN/diskreport" -k /
	[ "${lines[0]}" = "${a%%$'\n'*}" ]
	[[ "${lines[1]}" =~ \ /$ ]]
}

@test "-H, -k, -i, -T, -a and -l give df's numbers for every mount" {
	local f
	for f in -h "-k -h" -H -k -i "-i -k" "-i -H" -T "-a" "-a -k -T" -l "-l -T -i"; do
		# shellcheck disable=SC2086
		retry_until 10 same_as_df $f
	done
}

# same_as_df_plain ARGS...: as same_as_df, without the -h first (df's own
# default unit, 1K blocks): for -P, whose default is df's.
same_as_df_plain() {
	local before mine after
	before=$(timeout 20 df "$@" 2>/dev/null)
	mine=$(diskreport "$@" 2>/dev/null)
	after=$(timeout 20 df "$@" 2>/dev/null)
	if [ "$mine" != "$before" ] && [ "$mine" != "$after" ]; then
		diff <(echo "$mine") <(echo "$after") >&2
		return 1
	fi
}

@test "-P, -m, -B SIZE and --total print what df prints" {
	need_root
	local top f
	top=$(scratch)
	make_sweep "$top"
	for f in -P "-P -m" "-P -B4096" "-P -i" "-P -H" "-P -T" "-P --total" "-P -a"; do
		# shellcheck disable=SC2086
		same_as_df_plain $f "$top"/m*
	done
	for f in -m -BK -B1K -B4096 -B1000 -BKB -B3000 -BM -B1M -B2M -B512 -B1 -BG \
		-BKiB -BMB "--block-size=1M" "--block-size=KB" \
		--total "-k --total" "-T --total -k" "-i --total" "-H --total" "-m --total"; do
		# shellcheck disable=SC2086
		same_as_df $f "$top"/m*
	done
	# --total only sums what is shown, as df
	same_as_df -k --total -t tmpfs "$top"/m1 "$top"/m2
}

@test "--json keeps a mount path that is not UTF-8: its bytes come back exactly" {
	need_root
	local d
	d=$(scratch)
	mount_tmpfs drlatin "$d/caf"$'\xe9'"-"$'\xff' size=64k
	run -0 diskreport --json "$d/caf"$'\xe9'"-"$'\xff'
	echo "$output" | "$SYS_PYTHON" -c '
import json, os, sys
r = json.load(sys.stdin)
got = os.fsencode(r["filesystems"][0]["mounted_on"])
want = os.fsencode(sys.argv[1]) + b"/caf\xe9-\xff"
assert got == want, (got, want)' "$d"
	[[ "$output" == *'/caf\udce9-\udcff"'* ]]
}

@test "--output[=FIELDS] prints df's columns, in the order asked for" {
	need_root
	local top f
	top=$(scratch)
	make_sweep "$top"
	for f in --output "-k --output" "-H --output" \
		--output=source,size,used,avail,pcent,target,file,itotal,fstype \
		"-k --output=target,pcent,source" --output=file \
		"-m --output=itotal,iused,iavail,ipcent,used" "-k --total --output=size,source,file"; do
		# shellcheck disable=SC2086
		same_as_df $f "$top"/m*
	done
}

@test "--output: an unknown or repeated field, or -P, -i, -T, --json, --csv with it, exit 3" {
	local f
	run --separate-stderr -3 diskreport --output=size,bogus /
	[ "${stderr_lines[0]}" = "diskreport: option --output: field 'bogus' unknown" ]
	run -1 df --output=size,bogus /
	run --separate-stderr -3 diskreport --output=size,used,size /
	[ "${stderr_lines[0]}" = "diskreport: option --output: field 'size' used more than once" ]
	run -1 df --output=size,used,size /
	for f in -P -i -T --json --csv; do
		run --separate-stderr -3 diskreport --output "$f" /
		[ "${stderr_lines[0]}" = "diskreport: --output cannot be combined with $f" ]
	done
}

@test "--total in JSON and CSV: the sums after the filesystems" {
	need_root
	local d
	d=$(scratch)
	mount_tmpfs drt1 "$d/a" size=64k
	mount_tmpfs drt2 "$d/b" size=128k
	head -c 40000 /dev/zero >"$d/b/f"
	run -0 diskreport --json --total "$d/a" "$d/b"
	echo "$output" | "$SYS_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
assert [f["filesystem"] for f in r["filesystems"]] == ["drt1", "drt2"], r
t = r["total"]
assert t["size"] == 65536 + 131072, t
assert t["used"] == sum(f["used"] for f in r["filesystems"]), t
assert t["avail"] == sum(f["avail"] for f in r["filesystems"]), t
assert t["use_percent"] == -(-t["used"] * 100 // (t["used"] + t["avail"])), t'
	run -0 diskreport --csv --total "$d/a" "$d/b"
	[ "${#lines[@]}" = 4 ]
	[[ "${lines[3]}" == "total,-,-,196608,"*",-"$'\r' ]]
}

@test "a bad -B SIZE is a usage error, exit 3" {
	local b
	for b in 0 x 5X 1KX -1 K1 99999999999999999999 1Q1; do
		run --separate-stderr -3 diskreport -B "$b" /
		[ "${stderr_lines[0]}" = "diskreport: invalid block size '$b'" ]
		run -1 df -B "$b" /
	done
}

@test "long options are the short ones" {
	retry_until 10 eval '[ "$(diskreport -a -l -T -i -H -t tmpfs -x devtmpfs)" = \
		"$(diskreport --all --local --print-type --inodes --si --type tmpfs --exclude-type devtmpfs)" ]'
	retry_until 10 eval '[ "$(diskreport -k -h)" = "$(diskreport --human-readable)" ]'
}

@test "rounding and units match df on mounts of awkward sizes" {
	need_root
	local top f
	top=$(scratch)
	make_sweep "$top"
	for f in "" -H -k -i "-i -H" "-i -k" -T "-k -T"; do
		# shellcheck disable=SC2086
		retry_until 10 same_as_df $f -t tmpfs
		# shellcheck disable=SC2086
		same_as_df $f "$top"/m*
	done
	run -0 diskreport -t tmpfs
	[[ "$output" == *"drsweep1                 4.0K  4.0K     0 100% $top/m1"* ]]
}

@test "Use% is rounded up as df does, on a filesystem with reserved blocks" {
	need_root
	need_cmd mkfs.ext4 losetup
	local d img
	d=$(scratch)
	img=$d/img
	truncate -s 16M "$img"
	mkfs.ext4 -q -F "$img"
	LOOPDEV=$(losetup -f --show "$img")
	mkdir "$d/mnt"
	mount "$LOOPDEV" "$d/mnt"
	MOUNTS+=("$d/mnt")
	head -c 3333333 /dev/urandom >"$d/mnt/f"
	sync
	same_as_df -k "$d/mnt"
	same_as_df "$d/mnt" -i
	# a block device argument reports the filesystem mounted from it
	same_as_df -k -T "$LOOPDEV"
	run -0 diskreport -k "$LOOPDEV"
	[[ "${lines[1]}" == "$LOOPDEV "*" $d/mnt" ]]
	# another filesystem mounted over it: df refuses the device, exit 1
	mount_tmpfs drover "$d/mnt" size=64k
	run --separate-stderr -1 df -k "$LOOPDEV"
	[ "$stderr" = "df: cannot access '$LOOPDEV': over-mounted by another device" ]
	run --separate-stderr -3 diskreport -k "$LOOPDEV" "$d/mnt"
	[ "$stderr" = "diskreport: cannot access '$LOOPDEV': over-mounted by another device" ]
	[ "${#lines[@]}" = 2 ]
	[[ "${lines[1]}" == "drover "*" $d/mnt" ]]
}

@test "PATH arguments report the filesystem holding each path, in order" {
	need_root
	local d
	d=$(scratch)
	mount_tmpfs drpath "$d/t" size=64k
	mkdir "$d/p"
	mount -t proc drproc "$d/p"
	MOUNTS+=("$d/p")
	retry_until 10 same_as_df -k "$d/t" "$d/p" "$d/t/" "$d/p/self"
	run -0 diskreport -k "$d/p" "$d/t"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == drproc*" $d/p" ]]
	[[ "${lines[2]}" == drpath*" $d/t" ]]
}

@test "pseudo filesystems are hidden unless -a" {
	need_root
	local d
	d=$(scratch)
	mkdir "$d/p"
	mount -t proc drproc "$d/p"
	MOUNTS+=("$d/p")
	run -0 diskreport
	[[ "$output" != *"$d/p"* ]]
	run -0 diskreport -a
	[[ "$output" == *"drproc "*" $d/p"* ]]
}

@test "a duplicate bind mount is hidden, keeping the shortest mount point" {
	need_root
	local d
	d=$(scratch)
	mount_tmpfs drbind "$d/a" size=1m
	mkdir -p "$d/a/sub" "$d/zz/longer"
	mount --bind "$d/a" "$d/zz/longer"
	MOUNTS+=("$d/zz/longer")
	run -0 diskreport -t tmpfs
	[[ "$output" == *"drbind "*" $d/a"* ]]
	[[ "$output" != *"$d/zz/longer"* ]]
	run -0 diskreport -a -t tmpfs
	[[ "$output" == *" $d/zz/longer"* ]]
	retry_until 10 same_as_df -t tmpfs
	retry_until 10 same_as_df -a -t tmpfs
}

@test "mount points with blanks are unescaped from mountinfo" {
	need_root
	local d
	d=$(scratch)
	mount_tmpfs "drblank" "$d/with space	tab" size=64k
	run -0 diskreport -k -t tmpfs
	[[ "$output" == *"drblank"*" 0% $d/with space?tab"* ]]
	run -0 diskreport --json -t tmpfs
	[[ "$output" == *"\"mounted_on\":\"$d/with space\\ttab\""* ]]
	retry_until 10 same_as_df -k "$d/with space	tab"
}

@test "-l hides remote filesystems, -t and -x select by type" {
	need_root
	local d
	d=$(scratch)
	mount_tmpfs "fileserver:/export" "$d/remote" size=64k
	run -0 diskreport -t tmpfs
	[[ "$output" == *"fileserver:/export"* ]]
	run -0 diskreport -l -t tmpfs
	[[ "$output" != *"fileserver:/export"* ]]
	retry_until 10 same_as_df -l
	mkdir "$d/ram" "$d/p"
	mount -t ramfs drramfs "$d/ram"
	MOUNTS+=("$d/ram")
	mount -t proc drproc "$d/p"
	MOUNTS+=("$d/p")
	run -0 diskreport -T -t ramfs -t tmpfs "$d/ram" "$d/p" "$d/remote"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == "drramfs "*" ramfs "*" $d/ram" ]]
	[[ "${lines[2]}" == "fileserver:/export"*" tmpfs "*" $d/remote" ]]
	run -0 diskreport -T -x tmpfs "$d/ram" "$d/remote"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == "drramfs "*" ramfs "*" $d/ram" ]]
	retry_until 10 same_as_df -T -x tmpfs -x devtmpfs
}

@test "the mount table falls back to getmntent when mountinfo is missing" {
	need_root
	need_cmd unshare
	local mtab=$BATS_TEST_TMPDIR/mtab d
	d=$(scratch)
	mkdir "$d/a" "$d/b"
	printf '%s\n' "drmtab1 $d/a tmpfs rw 0 0" "proc /proc proc rw 0 0" \
		"fileserver:/x /nonexistent nfs rw 0 0" "drmtab2 $d/b tmpfs rw 0 0" >"$mtab"
	# the tmpfs mounts exist only in the private namespace; exec keeps
	# the pid, so /proc/self/ is the directory the mounts cover
	run --separate-stderr -0 unshare -m sh -c 'mount -t tmpfs -o size=64k drmtab1 "$2/a" &&
		mount -t tmpfs -o size=128k drmtab2 "$2/b" &&
		mount --bind /dev/null /proc/$$/mountinfo &&
		mount --bind "$1" /proc/$$/mounts && exec "$0" diskreport -T -k' "$PROCBOX" "$mtab" "$d"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" =~ ^drmtab1\ +tmpfs\ +64\ +0\ +64\ +0%\ $d/a$ ]]
	[[ "${lines[2]}" =~ ^drmtab2\ +tmpfs\ +128\ +0\ +128\ +0%\ $d/b$ ]]
}

# ---- thresholds and exit codes ------------------------------------------------

# A 400k tmpfs 60% full with 5 of 10 inodes used.
threshold_mount() {
	need_root
	TM=$(scratch)/t
	mount_tmpfs drthresh "$TM" size=400k,nr_inodes=10
	head -c 245760 /dev/zero >"$TM/a"
	touch "$TM/b" "$TM/c" "$TM/d"
	[ "$(df --output=pcent "$TM" | tail -1 | tr -d ' ')" = "60%" ]
	[ "$(df --output=ipcent "$TM" | tail -1 | tr -d ' ')" = "50%" ]
}

@test "below --warn the row is OK and the exit status 0" {
	threshold_mount
	run -0 diskreport -k --warn 61 --crit 90 "$TM"
	[[ "${lines[0]}" == *"Use% Status Mounted on" ]]
	[[ "${lines[1]}" =~ ^drthresh\ +400\ +240\ +160\ +60%\ OK\ +$TM$ ]]
}

@test "reaching --warn marks WARN and exits 1" {
	threshold_mount
	run -1 diskreport -k --warn 60 --crit 90 "$TM"
	[[ "${lines[1]}" =~ \ 60%\ WARN\ +$TM$ ]]
	run -1 diskreport --warn 60% "$TM"
}

@test "reaching --crit marks CRIT and exits 2" {
	threshold_mount
	run -2 diskreport --warn 50 --crit 60 "$TM"
	[[ "${lines[1]}" =~ \ 60%\ CRIT\ +$TM$ ]]
	local empty
	empty=$(scratch)/e
	mount_tmpfs drempty "$empty" size=64k
	run -2 diskreport --crit 1 "$empty" "$TM"
	[[ "${lines[1]}" =~ \ 0%\ OK\ +$empty$ ]]
	[[ "${lines[2]}" =~ \ 60%\ CRIT\ +$TM$ ]]
}

@test "--iwarn and --icrit check inode use" {
	threshold_mount
	run -0 diskreport -i --iwarn 51 "$TM"
	[[ "${lines[1]}" =~ \ 50%\ OK\ +$TM$ ]]
	run -1 diskreport -i --iwarn 50 --icrit 51 "$TM"
	[[ "${lines[1]}" =~ \ 50%\ WARN\ +$TM$ ]]
	run -2 diskreport --icrit 50 "$TM"
	[[ "${lines[1]}" =~ \ 60%\ CRIT\ +$TM$ ]]
}

@test "a mount that stops answering is reported, the rest completes, exit 3" {
	need_root
	need_cmd bindfs
	[ -c /dev/fuse ] || needs "needs /dev/fuse"
	local d
	d=$(scratch)
	mkdir "$d/src" "$d/mnt"
	echo hello >"$d/src/file"
	mount_tmpfs drok "$d/ok" size=64k
	bindfs --no-allow-other "$d/src" "$d/mnt"
	MOUNTS+=("$d/mnt")
	FUSE_PID=$(pgrep -n -f "^bindfs --no-allow-other $d/src")
	[ -n "$FUSE_PID" ]
	run -0 diskreport -T "$d/mnt"
	kill -STOP "$FUSE_PID"
	local start=$SECONDS
	run --separate-stderr -3 diskreport -T --timeout 1s
	[ $((SECONDS - start)) -lt 10 ]
	[ "$stderr" = "diskreport: $d/mnt: not answering after 1s" ]
	[[ "$output" =~ $'\n'$d/src\ +fuse\ +-\ +-\ +-\ +-\ $d/mnt($'\n'|$) ]]
	[[ "$output" == *" $d/ok"$'\n'* || "$output" == *" $d/ok" ]]
	run --separate-stderr -3 diskreport --timeout 300ms --warn 95 --json "$d/ok" "$d/mnt"
	[ "$stderr" = "diskreport: $d/mnt: not answering after 300ms" ]
	echo "$output" | "$SYS_PYTHON" -m json.tool >/dev/null
	[[ "$output" == *"\"mounted_on\":\"$d/ok\",\"answered\":true"* ]]
	[[ "$output" == *"\"mounted_on\":\"$d/mnt\",\"answered\":false,\"size\":null"* ]]
	[[ "$output" == *'"status":"UNKNOWN","exit":3}' ]]
	kill -CONT "$FUSE_PID"
}

@test "ten dead mounts are waited for side by side: about one --timeout in all" {
	local d i
	d=$(scratch)
	for i in 0 1 2 3 4 5 6 7 8 9; do
		start_deadfs "$d/dead$i"
	done
	# one at a time it would take 30 s
	diskreport -T --timeout 3s >"$d/out" 2>"$d/err" &
	local pid=$!
	retry_until 15 finished "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 3 ]
	[ "$(grep -c "^diskreport: $d/dead[0-9]: not answering after 3s\$" "$d/err")" = 10 ]
	[ "$(grep -c "^deadfs  *fuse  *-  *-  *-  *-  *$d/dead[0-9]\$" "$d/out")" = 10 ]
	grep -q " /\$" "$d/out"
}

@test "a probe stuck in the kernel holds none of the caller's descriptors" {
	local d
	d=$(scratch)
	start_deadfs "$d/dead"
	# \$(...) waits for every holder of the pipe: the stuck probe must
	# not be one (it cannot be killed until the daemon goes)
	bash -c 'out=$(diskreport --timeout 1s 2>/dev/null); echo "done $?"' >"$d/res" &
	retry_until 15 grep -q . "$d/res"
	[ "$(cat "$d/res")" = "done 3" ]
	diskreport --timeout 1s 2>/dev/null | cat >"$d/piped" &
	local pid=$!
	retry_until 15 finished "$pid"
	grep -q "$d/dead\$" "$d/piped"
}

@test "a device PATH does not hang on a mount whose source is on a dead mount" {
	local d
	d=$(scratch)
	start_deadfs "$d/dead"
	# first, as df would wait for the dead source too
	df -k /dev/null >"$d/df"
	# a tmpfs's source is any string: here a path on the dead mount
	mkdir "$d/t"
	mount --no-canonicalize -t tmpfs -o size=64k "$d/dead/src" "$d/t"
	MOUNTS+=("$d/t")
	diskreport -k --timeout 1s /dev/null >"$d/out" 2>"$d/err" &
	local pid=$!
	retry_until 15 finished "$pid"
	wait "$pid"
	[ "$(cat "$d/out")" = "$(cat "$d/df")" ]
}

@test "a report that cannot be written is an error, as df's, exit 3" {
	run --separate-stderr -3 sh -c 'diskreport -k / >/dev/full'
	[ "$stderr" = "diskreport: unable to write the report: No space left on device" ]
	local rc=0
	df -k / >/dev/full 2>/dev/null || rc=$?
	[ "$rc" = 1 ]
	rc=0
	diskreport -k / >&- 2>/dev/null || rc=$?
	[ "$rc" = 3 ]
}

@test "a nonexistent PATH is an error, the other paths are reported, exit 3" {
	run --separate-stderr -3 diskreport -k /nonexistent/x /
	[ "$stderr" = "diskreport: unable to stat /nonexistent/x: No such file or directory" ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == *" /" ]]
}

@test "a type that matches nothing processes no filesystem, exit 3" {
	run --separate-stderr -3 diskreport -t nosuchfs
	[ "$stderr" = "diskreport: no file systems processed" ]
	[ "$output" = "" ]
}

@test "SMTP replies, server specs and addresses: table" {
	run "${PROCBOX_UNIT:-$PROCBOX_TOP/build/unit/libbox_test}" smtp
	echo "$output"
	[ "$status" -eq 0 ]
}

# ---- output formats -------------------------------------------------------------

@test "--json is valid JSON with sizes in bytes, equal to df -B1" {
	threshold_mount
	run -0 diskreport --json "$TM"
	echo "$output" | "$SYS_PYTHON" -m json.tool >/dev/null
	[[ "$output" == *"{\"filesystem\":\"drthresh\",\"type\":\"tmpfs\",\"mounted_on\":\"$TM\",\"answered\":true,\"size\":409600,\"used\":245760,\"avail\":163840,\"use_percent\":60,\"inodes\":10,\"iused\":5,\"ifree\":5,\"iuse_percent\":50,\"status\":\"OK\"}"* ]]
	[[ "$output" == *'],"status":"OK","exit":0}' ]]
	# every number of the test's mounts, against df: a sized one and a
	# pseudo one of no size
	local p
	p=$(scratch)/p
	mkdir "$p"
	mount -t proc drproc "$p"
	MOUNTS+=("$p")
	run -0 diskreport --json -a
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	"$SYS_PYTHON" - "$BATS_TEST_TMPDIR/r.json" "$TM" "$p" <<-'EOF'
	import json, subprocess, sys
	rep = json.load(open(sys.argv[1]))
	checked = 0
	for fs in rep["filesystems"]:
	    if fs["mounted_on"] in sys.argv[2:]:
	        out = subprocess.run(["df", "-B1", "--output=size,used,avail,itotal,iused,iavail",
	                              fs["mounted_on"]], capture_output=True, text=True).stdout
	        vals = [None if v == "-" else int(v) for v in out.split("\n")[1].split()]
	        got = [fs[k] for k in ("size", "used", "avail", "inodes", "iused", "ifree")]
	        assert got == vals, (fs, vals)
	        assert isinstance(fs["size"], int)
	        checked += 1
	assert checked == 2, checked
	EOF
}

@test "--csv has a header and one quoted row per filesystem" {
	threshold_mount
	run -1 diskreport --csv --warn 50 "$TM"
	# RFC 4180: CRLF line ends
	[ "${lines[0]}" = "filesystem,type,mounted_on,size,used,avail,use_percent,inodes,iused,ifree,iuse_percent,status"$'\r' ]
	[ "${lines[1]}" = "drthresh,tmpfs,$TM,409600,245760,163840,60,10,5,5,50,WARN"$'\r' ]
	local d
	d=$(scratch)
	mount_tmpfs 'dr,"q"' "$d/m" size=64k
	run -0 diskreport --csv "$d/m"
	[[ "${lines[1]}" == "\"dr,\"\"q\"\"\",tmpfs,$d/m,65536,0,65536,0,"* ]]
	# as Python's csv module (RFC 4180 dialect) reads it back
	echo "$output" | "$SYS_PYTHON" -c '
import csv, sys
rows = list(csv.reader(sys.stdin.buffer.read().decode().splitlines(True)))
assert rows[1][0] == "dr,\"q\"", rows
assert len(rows) == 2 and all(len(r) == 12 for r in rows), rows'
	[ "$(printf '%s\n' "$output" | grep -c $'\r$')" = 2 ]
}

@test "on a terminal a usage bar is shown, colored unless NO_COLOR" {
	need_cmd script
	threshold_mount
	run -1 script -qec "NO_COLOR= TERM=xterm $PROCBOX diskreport --warn 50 --crit 90 $TM" /dev/null
	[[ "$output" == *"Use% Usage                  Status Mounted on"* ]]
	[[ "$output" == *" 60% "$'\e[33m'"[############........]"$'\e[0m'" "$'\e[33m'"WARN"$'\e[0m'"   $TM"* ]]
	run -0 script -qec "NO_COLOR=1 $PROCBOX diskreport $TM" /dev/null
	[[ "$output" == *" 60% [############........] $TM"* ]]
	[[ "$output" != *$'\e'* ]]
	run -0 diskreport "$TM"
	[[ "$output" != *"["* ]]
}

# ---- mail ---------------------------------------------------------------------------

@test "the report is mailed intact to every recipient, a leading dot included" {
	need_root
	local d
	d=$(scratch)
	mount_tmpfs ".dotted" "$d/m" size=64k
	start_smtpd
	run --separate-stderr -0 diskreport --mail-to staff@example.com,ops@example.com \
		--mail-from reports@example.com --smtp "127.0.0.1:$PORT" "$d/m" /
	[ "$stderr" = "" ]
	[[ "${lines[1]}" == ".dotted "* ]]
	local rcpt
	for rcpt in staff@example.com ops@example.com; do
		[ "$(body "$MAILDIR/$rcpt/1.eml")" = "$output" ]
		grep -qx "from reports@example.com" "$MAILDIR/$rcpt/1.env"
		grep -qx "to staff@example.com ops@example.com" "$MAILDIR/$rcpt/1.env"
		[ "$(header "$MAILDIR/$rcpt/1.eml" From)" = "<reports@example.com>" ]
		[ "$(header "$MAILDIR/$rcpt/1.eml" To)" = "<staff@example.com>, <ops@example.com>" ]
		[ "$(header "$MAILDIR/$rcpt/1.eml" Subject)" = "Disk usage on $(uname -n): OK" ]
		local date
		date=$(header "$MAILDIR/$rcpt/1.eml" Date)
		[[ "$date" =~ ^(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ \+0000$ ]]
		[ $(($(date +%s) - $(date -d "$date" +%s))) -lt 60 ]
		[[ "$(header "$MAILDIR/$rcpt/1.eml" Message-ID)" =~ ^\<[0-9]+\.[0-9]+\.diskreport@.+\>$ ]]
		[ "$(header "$MAILDIR/$rcpt/1.eml" MIME-Version)" = "1.0" ]
		[ "$(header "$MAILDIR/$rcpt/1.eml" Content-Type)" = "text/plain; charset=UTF-8" ]
	done
	# the server removes one leading dot, so the line kept its dot only
	# because it was stuffed; the saved data has CRLF line ends
	grep -q $'^\\.dotted .*\r$' "$MAILDIR/ops@example.com/1.eml"
}

@test "--subject sets the subject, non-ASCII encoded; the default sender is LOGNAME@HOST" {
	start_smtpd
	LOGNAME=alice run -0 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" --subject "Nightly Disk Usage Report" /
	[ "$(header "$MAILDIR/a@example.com/1.eml" Subject)" = "Nightly Disk Usage Report" ]
	grep -qx "from alice@$(uname -n)" "$MAILDIR/a@example.com/1.env"
	[ "$(header "$MAILDIR/a@example.com/1.eml" From)" = "<alice@$(uname -n)>" ]
	run -0 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" --subject "Plattenplatz ü" /
	[ "$(header "$MAILDIR/a@example.com/2.eml" Subject)" = "=?UTF-8?B?UGxhdHRlbnBsYXR6IMO8?=" ]
}

@test "HELO is used when the server refuses EHLO" {
	start_smtpd --no-ehlo
	run -0 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" /
	grep -qxF "helo $(helo_name)" "$MAILDIR/a@example.com/1.env"
}

@test "--mail-if warn and crit mail only when the status calls for it" {
	threshold_mount
	start_smtpd
	run -0 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" --mail-if warn --warn 90 "$TM"
	[ ! -e "$MAILDIR/a@example.com" ]
	run -1 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" --mail-if crit --warn 50 "$TM"
	[ ! -e "$MAILDIR/a@example.com" ]
	run -1 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" --mail-if warn --warn 50 "$TM"
	[ -f "$MAILDIR/a@example.com/1.eml" ]
	[ "$(header "$MAILDIR/a@example.com/1.eml" Subject)" = "Disk usage on $(uname -n): WARN" ]
	run -2 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" --mail-if crit --crit 50 "$TM"
	[ -f "$MAILDIR/a@example.com/2.eml" ]
	run -0 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" --mail-if always "$TM"
	[ -f "$MAILDIR/a@example.com/3.eml" ]
}

@test "the Subject names failed mounts that a WARN or CRIT hides in the exit status" {
	threshold_mount
	start_smtpd
	run -1 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" --warn 50 "$TM" \
		"$TM/nonexistent"
	[ "$(header "$MAILDIR/a@example.com/1.eml" Subject)" = "Disk usage on $(uname -n): WARN, 1 UNKNOWN" ]
}

@test "a server that is down: the step is named, exit 4, the report still printed" {
	start_smtpd
	kill "$SMTPD_PID"
	wait "$SMTPD_PID" 2>/dev/null || true
	SMTPD_PID=
	run --separate-stderr -4 diskreport -k --mail-to a@example.com --smtp-retries 0 --smtp "127.0.0.1:$PORT" /
	[ "$stderr" = "diskreport: mail: connect to 127.0.0.1:$PORT: Connection refused" ]
	[[ "${lines[1]}" == *" /" ]]
}

@test "a rejected recipient is named, the others still get it, exit 4" {
	start_smtpd --reject nobody@example.com
	run --separate-stderr -4 diskreport --mail-to a@example.com,nobody@example.com --smtp "127.0.0.1:$PORT" /
	[ "$stderr" = "diskreport: mail: RCPT TO <nobody@example.com>: 550 5.1.1 <nobody@example.com>: Recipient address rejected" ]
	[ "$(body "$MAILDIR/a@example.com/1.eml")" = "$output" ]
	[ ! -e "$MAILDIR/nobody@example.com" ]
	run --separate-stderr -4 diskreport --mail-to nobody@example.com --smtp "127.0.0.1:$PORT" /
	[ "${stderr_lines[0]}" = "diskreport: mail: RCPT TO <nobody@example.com>: 550 5.1.1 <nobody@example.com>: Recipient address rejected" ]
	[ "${stderr_lines[1]}" = "diskreport: mail: RCPT TO: no recipient accepted" ]
}

@test "a connection dropped during DATA is an error naming the step, exit 4" {
	start_smtpd --drop-data
	run --separate-stderr -4 diskreport -k --mail-to a@example.com --smtp-retries 0 --smtp "127.0.0.1:$PORT" /
	[ "$stderr" = "diskreport: mail: end of DATA: connection closed by the server" ]
	[[ "${lines[1]}" == *" /" ]]
}

@test "the mail is 7-bit, folded and encoded as strict relays and readers want it" {
	need_root
	local d long latin rc i
	d=$(scratch)
	# a mount path of over 1,000 bytes, and one that is not UTF-8
	long=$d/$(printf 'a%.0s' $(seq 200))/$(printf 'b%.0s' $(seq 200))/$(printf 'c%.0s' $(seq 200))
	long=$long/$(printf 'd%.0s' $(seq 200))/$(printf 'e%.0s' $(seq 200))
	latin=$d/caf$'\xe9'
	mount_tmpfs long "$long" size=64k
	mount_tmpfs latin "$latin" size=64k
	# sixty recipients, a long Subject outside ASCII
	local to=() subject="Plattenplatz über alle Maschinen – nächtlicher Bericht für das Rechenzentrum Süd"
	for i in $(seq 60); do
		to+=("admin$i@example.com")
	done
	start_smtpd
	rc=0
	diskreport -k --mail-to "$(IFS=,; echo "${to[*]}")" --smtp "127.0.0.1:$PORT" \
		--subject "$subject" "$long" "$latin" >"$d/report" 2>"$d/err" || rc=$?
	[ "$rc" = 0 ]
	[ ! -s "$d/err" ]
	"$SYS_PYTHON" "$BATS_TEST_DIRNAME/diskreport_mailcheck.py" \
		"$MAILDIR/admin1@example.com/1.eml" "$d/report" "$subject" "${to[@]}"
	# the path not in UTF-8 is not labelled UTF-8
	[ "$(header "$MAILDIR/admin1@example.com/1.eml" Content-Type)" = "text/plain; charset=unknown-8bit" ]
	# a plain ASCII report goes as it is
	run -0 diskreport -k --mail-to a@example.com --smtp "127.0.0.1:$PORT" /
	[ "$(header "$MAILDIR/a@example.com/2.eml" Content-Transfer-Encoding)" = "7bit" ]
	[ "$(body "$MAILDIR/a@example.com/2.eml")" = "$output" ]
}

@test "EHLO names a domain or an address literal; a refused transaction ends with QUIT" {
	start_smtpd --reject nobody@example.com
	run -0 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" /
	grep -qxF "helo $(helo_name)" "$MAILDIR/a@example.com/1.env"
	[ "$(wc -l <"$MAILDIR/quits")" = 1 ]
	run --separate-stderr -4 diskreport --mail-to nobody@example.com --smtp "127.0.0.1:$PORT" /
	[ "${stderr_lines[1]}" = "diskreport: mail: RCPT TO: no recipient accepted" ]
	retry_until 5 eval 'test "$(wc -l <"$MAILDIR/quits")" = 2'
}

@test "a 4xx is tried again after --smtp-retry-delay, doubling; a greylisted recipient too" {
	start_smtpd --tempfail-mail 2 --tempfail-rcpt b@example.com
	run --separate-stderr -0 diskreport --mail-to a@example.com,b@example.com --smtp "127.0.0.1:$PORT" \
		--smtp-retry-delay 200ms /
	[ "${stderr_lines[0]}" = "diskreport: mail: MAIL FROM: 451 4.3.0 Try again later; trying again in 200ms" ]
	[ "${stderr_lines[1]}" = "diskreport: mail: MAIL FROM: 451 4.3.0 Try again later; trying again in 400ms" ]
	[ "${stderr_lines[2]}" = "diskreport: mail: RCPT TO <b@example.com>: 450 4.2.0 <b@example.com>: Greylisted, try again later" ]
	[ "${stderr_lines[3]}" = "diskreport: mail: some recipients were told to try later; trying again in 800ms" ]
	[ "${#stderr_lines[@]}" = 4 ]
	# each got the report once
	[ "$(ls "$MAILDIR/a@example.com"/*.eml | wc -l)" = 1 ]
	[ "$(ls "$MAILDIR/b@example.com"/*.eml | wc -l)" = 1 ]
	[ "$(body "$MAILDIR/b@example.com/2.eml")" = "$output" ]
	grep -qx "to b@example.com" "$MAILDIR/b@example.com/2.env"
}

@test "--smtp-retries bounds the attempts; a refused connection is tried again, a 5xx is not" {
	start_smtpd --tempfail-mail 4 --reject nobody@example.com
	run --separate-stderr -4 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" \
		--smtp-retries 1 --smtp-retry-delay 100ms /
	[ "${stderr_lines[0]}" = "diskreport: mail: MAIL FROM: 451 4.3.0 Try again later; trying again in 100ms" ]
	[ "${stderr_lines[1]}" = "diskreport: mail: MAIL FROM: 451 4.3.0 Try again later" ]
	[ "${#stderr_lines[@]}" = 2 ]
	# a permanent refusal ends it at once
	run --separate-stderr -4 diskreport --mail-to nobody@example.com --smtp "127.0.0.1:$PORT" \
		--smtp-retry-delay 100ms /
	[ "${stderr_lines[0]}" = "diskreport: mail: MAIL FROM: 451 4.3.0 Try again later; trying again in 100ms" ]
	[ "${stderr_lines[1]}" = "diskreport: mail: MAIL FROM: 451 4.3.0 Try again later; trying again in 200ms" ]
	[ "${stderr_lines[2]}" = "diskreport: mail: RCPT TO <nobody@example.com>: 550 5.1.1 <nobody@example.com>: Recipient address rejected" ]
	[ "${stderr_lines[3]}" = "diskreport: mail: RCPT TO: no recipient accepted" ]
	[ "${#stderr_lines[@]}" = 4 ]
	kill "$SMTPD_PID"
	wait "$SMTPD_PID" || true
	run --separate-stderr -4 diskreport --mail-to a@example.com --smtp "127.0.0.1:$PORT" \
		--smtp-retries 2 --smtp-retry-delay 100ms /
	[ "${stderr_lines[0]}" = "diskreport: mail: connect to 127.0.0.1:$PORT: Connection refused; trying again in 100ms" ]
	[ "${stderr_lines[2]}" = "diskreport: mail: connect to 127.0.0.1:$PORT: Connection refused" ]
	[ "${#stderr_lines[@]}" = 3 ]
	run --separate-stderr -3 diskreport --smtp-retries 11 --mail-to a@example.com /
	run --separate-stderr -3 diskreport --smtp-retry-delay 0 --mail-to a@example.com /
}

@test "a report with no rows is mailed all the same, saying so" {
	start_smtpd
	run --separate-stderr -3 diskreport -t nosuchfs --mail-to a@example.com --smtp "127.0.0.1:$PORT"
	[ "$stderr" = "diskreport: no file systems processed" ]
	[ -f "$MAILDIR/a@example.com/1.eml" ]
	[ "$(header "$MAILDIR/a@example.com/1.eml" Subject)" = "Disk usage on $(uname -n): UNKNOWN" ]
}

@test "a server that never answers times out after --smtp-timeout, exit 4" {
	need_cmd "$SYS_PYTHON"
	local d
	d=$(scratch)
	"$SYS_PYTHON" -c '
import socket, sys, os, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)' "$d/port" >/dev/null 2>&1 3>&- &
	SMTPD_PID=$!
	retry_until 15 test -f "$d/port"
	local start=$SECONDS
	run --separate-stderr -4 diskreport --mail-to a@example.com --smtp-retries 0 --smtp "127.0.0.1:$(cat "$d/port")" --smtp-timeout 300ms /
	[ "$stderr" = "diskreport: mail: greeting: no reply within 300ms" ]
	[ $((SECONDS - start)) -lt 10 ]
}

# endless_server FILE MODE: a server on 127.0.0.1 that answers the
# connection with a multi-line reply that never ends, as fast as it can
# (MODE fast: greeting lines; ehlo: a greeting, then EHLO lines) or a line
# every 100 ms (slow). Its port goes to FILE.
endless_server() {
	need_cmd "$SYS_PYTHON"
	"$SYS_PYTHON" -c '
import socket, sys, os, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
c.settimeout(60)
mode = sys.argv[2]
code = b"220"
if mode == "ehlo":
    c.sendall(b"220 ready\r\n")
    c.recv(1000)
    code = b"250"
end = time.monotonic() + 60
try:
    while time.monotonic() < end:
        c.sendall(code + b"-" + b"x" * 70 + b"\r\n")
        if mode == "slow":
            time.sleep(0.1)
except OSError:
    pass' "$1" "$2" >/dev/null 2>&1 3>&- &
	SMTPD_PID=$!
	retry_until 15 test -f "$1"
}

@test "a reply that never ends is bounded in size and in time, exit 4" {
	local d
	d=$(scratch)
	endless_server "$d/port" fast
	diskreport --mail-to a@example.com --smtp-retries 0 --smtp "127.0.0.1:$(cat "$d/port")" \
		--smtp-timeout 2s / >/dev/null 2>"$d/err" &
	local pid=$!
	retry_until 15 finished "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 4 ]
	[ "$(cat "$d/err")" = "diskreport: mail: greeting: reply longer than 65536 bytes" ]
	kill "$SMTPD_PID" 2>/dev/null || true
	rm "$d/port"
	endless_server "$d/port" ehlo
	run --separate-stderr -4 diskreport --mail-to a@example.com --smtp-retries 0 --smtp "127.0.0.1:$(cat "$d/port")" \
		--smtp-timeout 2s /
	[ "$stderr" = "diskreport: mail: EHLO: reply longer than 65536 bytes" ]
	kill "$SMTPD_PID" 2>/dev/null || true
	rm "$d/port"
	endless_server "$d/port" slow
	run --separate-stderr -4 diskreport --mail-to a@example.com --smtp-retries 0 --smtp "127.0.0.1:$(cat "$d/port")" \
		--smtp-timeout 1s /
	[ "$stderr" = "diskreport: mail: greeting: no reply within 1s" ]
}

# ---- bad input ----------------------------------------------------------------------

@test "--help prints the usage and exits 0" {
	run -0 diskreport --help
	[ "${lines[0]}" = "usage: $(usage | sed 's/^usage: //')" ]
	[[ "$output" == *"--mail-if always|warn|crit"* ]]
}

@test "a bad percentage is a usage error, exit 3" {
	local opt
	for opt in --warn --crit --iwarn --icrit; do
		run --separate-stderr -3 diskreport "$opt" 101
		[ "${stderr_lines[0]}" = "diskreport: invalid $opt '101': expected a percentage 0-100" ]
		[ "${stderr_lines[1]}" = "$(usage)" ]
	done
	run --separate-stderr -3 diskreport --warn abc
	[ "${stderr_lines[0]}" = "diskreport: invalid --warn 'abc': expected a percentage 0-100 or a size such as 500G" ]
	run --separate-stderr -3 diskreport --crit -5
	[ "${stderr_lines[0]}" = "diskreport: invalid --crit '-5': expected a percentage 0-100 or a size such as 500G" ]
	run --separate-stderr -3 diskreport --icrit -5
	[ "${stderr_lines[0]}" = "diskreport: invalid --icrit '-5': expected a percentage 0-100" ]
}

@test "--warn above --crit is a usage error, exit 3" {
	run --separate-stderr -3 diskreport --warn 95 --crit 90
	[ "${stderr_lines[0]}" = "diskreport: --warn 95 is above --crit 90" ]
	run --separate-stderr -3 diskreport --iwarn 95 --icrit 90
	[ "${stderr_lines[0]}" = "diskreport: --iwarn 95 is above --icrit 90" ]
}

@test "a bad --timeout or --smtp-timeout is a usage error, exit 3" {
	run --separate-stderr -3 diskreport --timeout 5x
	[ "${stderr_lines[0]}" = "diskreport: invalid --timeout '5x': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
	[ "${stderr_lines[1]}" = "$(usage)" ]
	run --separate-stderr -3 diskreport --timeout 0
	[ "${stderr_lines[0]}" = "diskreport: invalid --timeout '0': must be more than 0" ]
	run --separate-stderr -3 diskreport --smtp-timeout soon --mail-to a@example.com
	[ "${stderr_lines[0]}" = "diskreport: invalid --smtp-timeout 'soon': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
}

@test "a bad mail address is a usage error, exit 3" {
	local a
	for a in nobody "@example.com" "a@" "a b@example.com" "a@b@c" "<a@example.com>"; do
		run --separate-stderr -3 diskreport --mail-to "$a"
		[ "${stderr_lines[0]}" = "diskreport: invalid mail address '$a'" ]
		[ "${stderr_lines[1]}" = "$(usage)" ]
	done
	run --separate-stderr -3 diskreport --mail-to a@example.com --mail-from bad
	[ "${stderr_lines[0]}" = "diskreport: invalid mail address 'bad'" ]
	run --separate-stderr -3 diskreport --mail-to ,
	[ "${stderr_lines[0]}" = "diskreport: invalid --mail-to ',': no address" ]
}

@test "a bad --smtp host or port is a usage error, exit 3" {
	local p
	for p in 0 65536 smtp 25x ""; do
		run --separate-stderr -3 diskreport --mail-to a@example.com --smtp "localhost:$p"
		[ "${stderr_lines[0]}" = "diskreport: invalid --smtp port '$p': expected 1-65535" ]
	done
	run --separate-stderr -3 diskreport --mail-to a@example.com --smtp "[::1"
	[ "${stderr_lines[0]}" = "diskreport: invalid --smtp '[::1': expected HOST[:PORT] or [ADDR]:PORT" ]
	run --separate-stderr -3 diskreport --mail-to a@example.com --smtp ":25"
	[ "${stderr_lines[0]}" = "diskreport: invalid --smtp ':25': expected HOST[:PORT] or [ADDR]:PORT" ]
}

@test "other bad options and combinations are usage errors, exit 3" {
	run --separate-stderr -3 diskreport --bogus
	[ "${stderr_lines[0]}" = "diskreport: unknown option '--bogus'" ]
	[ "${stderr_lines[1]}" = "$(usage)" ]
	run --separate-stderr -3 diskreport -Z
	[ "${stderr_lines[0]}" = "diskreport: unknown option '-Z'" ]
	run --separate-stderr -3 diskreport --json --csv
	[ "${stderr_lines[0]}" = "diskreport: --json and --csv cannot be combined" ]
	run --separate-stderr -3 diskreport --smtp 127.0.0.1:25
	[ "${stderr_lines[0]}" = "diskreport: mail options need --mail-to" ]
	run --separate-stderr -3 diskreport --mail-to a@example.com --mail-if sometimes
	[ "${stderr_lines[0]}" = "diskreport: invalid --mail-if 'sometimes': expected always, warn or crit" ]
	run --separate-stderr -3 diskreport -t ""
	[ "${stderr_lines[0]}" = "diskreport: empty filesystem type" ]
	run --separate-stderr -3 diskreport --mail-to a@example.com --subject $'two\nlines'
	[ "${stderr_lines[0]}" = "diskreport: invalid --subject: it must be one line" ]
	run --separate-stderr -3 diskreport --timeout
	[ "${stderr_lines[0]}" = "diskreport: option '--timeout' needs an argument" ]
}
