#!/usr/bin/env bats
# dirsync's promise not to eat data, against real hostile sources: rm -rf
# while watching or during a run, another disk at SRC, DST exactness,
# --no-delete, --backup-dir, DST inside SRC, the mass-deletion guard and
# HOST:PATH. rsync runs on the same trees where it has the behaviour.

bats_require_minimum_version 1.5.0
load helpers
load dirsync_helpers

setup() {
	ds_setup
}

teardown() {
	ds_teardown
}

# ---- a real rm -rf of SRC while watching

# rm_rf DIR US: rm -rf DIR, each unlink taking US microseconds longer (as
# on a slow or busy disk) when US is not 0, so that the removal spans many
# --delay windows. Still the real rm, in its real order: files first,
# directories emptied bottom up, the root last.
rm_rf() {
	if [ "$2" = 0 ]; then
		rm -rf "$1"
	else
		strace -f -o /dev/null -e trace=unlink,unlinkat,rmdir \
			-e inject=unlink,unlinkat,rmdir:delay_exit="$2" rm -rf "$1"
	fi
}

# rm_rf_while_watching N US [WATCH_OPTION...]: a tree of N entries mirrored
# by dirsync -w, then removed by rm -rf (see rm_rf); once dirsync said SRC
# is gone, and for longer than any delay after, DST still has it all.
rm_rf_while_watching() {
	local n=$1 us=$2 before t0
	shift 2
	[ "$us" = 0 ] || need_cmd strace
	gen_tree "$S" "$n"
	start_watch "$@" "$S" "$T"
	wait_until 120 ds_synced "$S" "$T"
	before=$(count_entries "$T")
	t0=$SECONDS
	rm_rf "$S" "$us"
	echo "rm -rf took about $((SECONDS - t0)) s" >&2
	wait_until 60 said_source_gone
	# a check that nothing happens: a deletion decided before SRC vanished
	# waits at most --delete-delay (2 s by default) after the last removal;
	# give it that long to go wrong
	sleep 3
	watch_alive
	[ "$(count_entries "$T")" = "$before" ]
	# copies may have happened (directory mtimes), deletions not
	gen_tree "$W/again" "$n"
	treecmp --no-dir-mtime --exclude .dirsync-source "$W/again" "$T"
}

@test "-w --delay 200ms: a progressive rm -rf of a 1,000-entry SRC deletes nothing in DST" {
	need_cmd rsync
	rm_rf_while_watching 1000 1000 --delay 200ms
}

@test "-w --delay 50ms: a progressive rm -rf of a 1,000-entry SRC deletes nothing in DST" {
	need_cmd rsync
	rm_rf_while_watching 1000 1000 --delay 50ms
}

@test "-w at the default delay: a progressive rm -rf of a 1,000-entry SRC deletes nothing in DST" {
	need_cmd rsync
	rm_rf_while_watching 1000 4000
}

@test "-w --delay 200ms: a plain fast rm -rf of a 1,000-entry SRC deletes nothing in DST" {
	need_cmd rsync
	rm_rf_while_watching 1000 0 --delay 200ms
}

@test "-w at the default delay: rm -rf of a 50,000-entry SRC deletes nothing in DST" {
	need_cmd rsync
	rm_rf_while_watching 50000 0
}

# ---- a one-shot run overlapping rm -rf of SRC

# rm_rf_during_run N WAIT COUNT: SRC (N entries, identical to DST) removed by rm -rf
# in the background; dirsync runs once rm has removed its first entries and
# WAIT more seconds. It sees a source changing under it or gone: 24 or 16,
# never 0, and DST keeps its COUNT entries.
rm_rf_during_run() {
	local n=$1 wait=$2 st=0 rmpid
	rm -rf "$S"
	gen_tree "$S" "$n"
	touch "$W/stamp"
	rm -rf "$S" &
	rmpid=$!
	BGPIDS+=("$rmpid")
	# rm has removed something once a top directory's mtime moved
	retry_until 30 eval '[ ! -e "$S" ] || [ -n "$(find "$S" -mindepth 1 -maxdepth 1 -newer "$W/stamp" -print -quit 2>/dev/null)" ]'
	sleep "$wait"
	local overlapped=no
	kill -0 "$rmpid" 2>/dev/null && overlapped=yes
	"$DIRSYNC" "$S" "$T" 2>"$W/err-$wait" || st=$?
	wait "$rmpid" || true
	echo "after ${wait}s: rm still running when dirsync started: $overlapped; dirsync: $st" >&2
	cat "$W/err-$wait" >&2
	[ "$(count_entries "$T")" = "$3" ]
	[ "$st" = 16 ] || [ "$st" = 24 ]
}

@test "one-shot runs overlapping rm -rf of SRC delete nothing and exit 24 or 16" {
	need_cmd rsync
	gen_tree "$S" 10000
	run -0 "$DIRSYNC" "$S" "$T"
	ds_synced "$S" "$T"
	local w n
	n=$(count_entries "$T")
	for w in 0 0.1 0.3; do
		rm_rf_during_run 10000 "$w" "$n"
	done
	gen_tree "$W/again" 10000
	treecmp --no-dir-mtime --exclude .dirsync-source "$W/again" "$T"
}

# ---- SRC identity: the filesystem, not the device number

@test "another disk on the same loop device at SRC is refused with 16; DST intact" {
	need_loop
	need_cmd rsync
	make_ext4 "$W/one.img" 16
	make_ext4 "$W/two.img" 16
	loop_attach "$W/one.img"
	local dev=$LOOPDEV
	mount_dev "$dev" "$S"
	mkdir "$S/photos"
	echo one >"$S/photos/a"
	echo one >"$S/b"
	run -0 "$DIRSYNC" "$S" "$T"
	cp -a "$T" "$W/before"
	umount "$S"
	loop_detach "$dev"
	# the other disk, same /dev/loopN, same mount point
	loop_attach "$W/two.img" "$dev"
	mount_dev "$dev" "$S"
	echo two >"$S/other"
	run -16 "$DIRSYNC" "$S" "$T"
	echo "$output"
	treecmp "$W/before" "$T"
}

@test "the same disk on another loop device at SRC is accepted" {
	need_loop
	need_cmd rsync
	make_ext4 "$W/one.img" 16
	loop_attach "$W/one.img"
	local first=$LOOPDEV
	mount_dev "$first" "$S"
	echo one >"$S/a"
	run -0 "$DIRSYNC" "$S" "$T"
	umount "$S"
	# the same image on a second device while the first one still holds it
	loop_attach "$W/one.img"
	local second=$LOOPDEV
	[ "$second" != "$first" ]
	loop_detach "$first"
	mount_dev "$second" "$S"
	[ "$(cat "$S/a")" = one ]
	echo more >"$S/new"
	run -0 "$DIRSYNC" "$S" "$T"
	[ "$(cat "$T/new")" = more ]
	ds_mirrored "$S" "$T"
}

@test "a new tmpfs at SRC after the old one was unmounted is refused with 16" {
	need_root
	need_cmd rsync
	mount_tmpfs "$S"
	echo one >"$S/a"
	mkdir "$S/d"
	echo one >"$S/d/b"
	local dev1
	dev1=$(stat -c %d "$S")
	run -0 "$DIRSYNC" "$S" "$T"
	cp -a "$T" "$W/before"
	umount "$S"
	mount_tmpfs "$S"
	echo two >"$S/other"
	# the kernel reuses a freed anonymous device number; when it did, the
	# device number alone cannot tell the two apart
	echo "device number before $dev1, now $(stat -c %d "$S")" >&2
	run -16 "$DIRSYNC" "$S" "$T"
	echo "$output"
	treecmp "$W/before" "$T"
}

# ---- DST is an exact copy

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
	touch -d '2018-01-01 00:00:00.25' "$1/dir/sub" "$1"
}

@test "after a sync rsync -n -i finds nothing, not even a state file, and treecmp finds DST equal" {
	need_cmd rsync
	make_tree "$S"
	run -0 "$DIRSYNC" "$S" "$T"
	run -0 rsync -a --delete -n -i -@-1 "$S/" "$T/"
	[ "$output" = "" ]
	treecmp "$S" "$T"
	[ -z "$(find "$T" -name '*dirsync*')" ]
	# and once more with DST already there
	echo changed >"$S/file"
	run -0 "$DIRSYNC" "$S" "$T"
	run -0 rsync -a --delete -n -i -@-1 "$S/" "$T/"
	[ "$output" = "" ]
	treecmp "$S" "$T"
}

@test "a file named .dirsync-source in SRC is mirrored like any other" {
	need_cmd rsync
	echo mine >"$S/.dirsync-source"
	echo a >"$S/a"
	rsync -a -@-1 --delete "$S/" "$R/"
	run -0 "$DIRSYNC" "$S" "$T"
	[ "$(cat "$T/.dirsync-source")" = mine ]
	treecmp "$R" "$T"
	echo mine-changed >"$S/.dirsync-source"
	rsync -a -@-1 --delete "$S/" "$R/"
	run -0 "$DIRSYNC" "$S" "$T"
	[ "$(cat "$T/.dirsync-source")" = mine-changed ]
	treecmp "$R" "$T"
	ds_mirrored "$S" "$T"
}

# A DST with a user's file that looks like an old temp name.
temp_lookalike() {
	echo a >"$S/a"
	mkdir -p "$1"
	echo a >"$1/a"
	echo users-own >"$1/.x.dirsync.abc123"
	touch -d '2001-01-01' "$1/a" "$S/a"
}

@test "a DST file that looks like a temp name is kept with --no-delete, as rsync without --delete" {
	need_cmd rsync
	temp_lookalike "$T"
	cp -a "$T" "$R"
	rsync -a -@-1 "$S/" "$R/"
	run -0 "$DIRSYNC" --no-delete "$S" "$T"
	[ "$(cat "$T/.x.dirsync.abc123")" = users-own ]
	treecmp "$R" "$T"
}

@test "a DST file that looks like a temp name is kept when excluded, as rsync --exclude" {
	need_cmd rsync
	temp_lookalike "$T"
	cp -a "$T" "$R"
	rsync -a -@-1 --delete --exclude '*.abc123' "$S/" "$R/"
	run -0 "$DIRSYNC" --exclude '*.abc123' "$S" "$T"
	[ "$(cat "$T/.x.dirsync.abc123")" = users-own ]
	treecmp "$R" "$T"
}

@test "a DST file that looks like a temp name is otherwise deleted as an extra entry, as rsync --delete" {
	need_cmd rsync
	temp_lookalike "$T"
	cp -a "$T" "$R"
	rsync -a -@-1 --delete "$S/" "$R/"
	run -0 "$DIRSYNC" "$S" "$T"
	[ ! -e "$T/.x.dirsync.abc123" ]
	treecmp "$R" "$T"
}

# ---- --no-delete and excludes never make way by deleting

@test "--no-delete keeps a non-empty directory where SRC has a file: 23, as rsync without --delete" {
	need_cmd rsync
	local st=0
	mkdir -p "$T/x"
	echo keep >"$T/x/keep"
	cp -a "$T" "$R"
	echo file >"$S/x"
	echo a >"$S/a"
	rsync -a -@-1 "$S/" "$R/" 2>/dev/null || st=$?
	[ "$st" = 23 ]
	run -23 "$DIRSYNC" --no-delete "$S" "$T"
	echo "$output"
	[ -d "$T/x" ] && [ "$(cat "$T/x/keep")" = keep ]
	[ "$(cat "$T/a")" = a ]
	treecmp --no-dir-mtime "$R" "$T"
}

@test "an excluded DST file blocking a type flip is an error 23, as rsync's" {
	need_cmd rsync
	local st=0
	mkdir -p "$T/d"
	echo mine >"$T/d/keep.conf"
	cp -a "$T" "$R"
	echo now-a-file >"$S/d"
	echo a >"$S/a"
	rsync -a -@-1 --delete --exclude '*.conf' "$S/" "$R/" 2>/dev/null || st=$?
	[ "$st" = 23 ]
	run -23 "$DIRSYNC" --exclude '*.conf' "$S" "$T"
	echo "$output"
	[ "$(cat "$T/d/keep.conf")" = mine ]
	[ "$(cat "$T/a")" = a ]
	treecmp --no-dir-mtime "$R" "$T"
}

# ---- --backup-dir

@test "--backup-dir . (DST itself) is refused with 1 before anything changes, as rsync refuses" {
	need_cmd rsync
	echo v1 >"$S/f"
	run -0 "$DIRSYNC" "$S" "$T"
	rsync -a -@-1 "$S/" "$R/"
	echo version-two >"$S/f"
	local st=0
	rsync -a -@-1 --delete --backup --backup-dir=. "$S/" "$R/" 2>/dev/null || st=$?
	[ "$st" = 1 ] && [ "$(cat "$R/f")" = v1 ]
	run -1 "$DIRSYNC" --backup-dir . "$S" "$T"
	echo "$output"
	[ "$(cat "$T/f")" = v1 ]
	run -1 "$DIRSYNC" --backup-dir "$T" "$S" "$T"
	[ "$(cat "$T/f")" = v1 ]
	run -1 "$DIRSYNC" --backup-dir "$T/" "$S" "$T"
	[ "$(cat "$T/f")" = v1 ]
}

@test "--backup-dir through a symlink that came from SRC is refused, nothing written through it" {
	need_cmd rsync
	mkdir "$W/outside" "$W/outside-rsync"
	echo v1 >"$S/f"
	ln -s "$W/outside" "$S/.trash"
	run -0 "$DIRSYNC" "$S" "$T"
	[ -L "$T/.trash" ]
	echo version-two >"$S/f"
	run "$DIRSYNC" --backup-dir .trash/old "$S" "$T"
	echo "$output"
	[ "$status" -ne 0 ]
	[ -z "$(ls -A "$W/outside")" ]
	[ "$(cat "$T/f")" = v1 ]
	run "$DIRSYNC" --backup-dir .trash "$S" "$T"
	[ "$status" -ne 0 ]
	[ -z "$(ls -A "$W/outside")" ]
	[ "$(cat "$T/f")" = v1 ]
	# rsync 3.x follows that symlink and writes the old file outside DST:
	# dirsync is stricter on purpose
	rm -f "$S/.trash"
	ln -s "$W/outside-rsync" "$S/.trash"
	echo v1 >"$W/f1"
	mkdir "$R"
	cp -a "$W/f1" "$R/f"
	ln -s "$W/outside-rsync" "$R/.trash"
	rsync -a -@-1 --delete --backup --backup-dir=.trash/old "$S/" "$R/"
	echo "rsync wrote outside DST: $(find "$W/outside-rsync" -type f)" >&2
}

@test "a --backup-dir inside SRC is refused with 1, nothing changed" {
	echo v1 >"$S/f"
	run -0 "$DIRSYNC" "$S" "$T"
	echo version-two >"$S/f"
	run -1 "$DIRSYNC" --backup-dir "$S/bak" "$S" "$T"
	echo "$output"
	[ ! -e "$S/bak" ]
	[ "$(cat "$T/f")" = v1 ]
	mkdir "$S/bak"
	run -1 "$DIRSYNC" --backup-dir "$S/bak" "$S" "$T"
	[ -z "$(ls -A "$S/bak")" ]
	[ "$(cat "$T/f")" = v1 ]
}

# ---- DST inside SRC through a bind mount

@test "DST inside SRC through a bind mount is refused with 16, no nested copies" {
	need_root
	mkdir -p "$S/sub/deeper"
	echo a >"$S/a"
	echo b >"$S/sub/b"
	mkdir "$W/m"
	mount --bind "$S/sub" "$W/m"
	MOUNTS+=("$W/m")
	# the mount table tells: refused before anything is made
	run -16 timeout 10 "$DIRSYNC" "$S" "$W/m/dst"
	echo "$output"
	[[ "$output" == *"inside source"* ]]
	[ ! -e "$S/sub/dst" ]
	# the same again with DST already there, and with -H -X -A
	mkdir "$W/m/dst"
	echo keep >"$W/m/dst/keep"
	run -16 timeout 10 "$DIRSYNC" "$S" "$W/m/dst"
	run -16 timeout 10 "$DIRSYNC" -HXA "$S" "$W/m/dst"
	[ "$(ls -A "$S/sub/dst")" = keep ]
}

# ---- the mass-deletion guard

# guard_trees KEEP EXTRA: SRC has KEEP files, DST those and EXTRA more.
guard_trees() {
	local i
	mkdir -p "$T"
	for ((i = 0; i < $1; i++)); do
		echo "$i" >"$S/k$i"
	done
	cp -a "$S/." "$T/"
	for ((i = 0; i < $2; i++)); do
		echo "$i" >"$T/x$i"
	done
}

@test "deleting more than half of DST, more than 100 entries, is refused with 16 by default" {
	guard_trees 50 150
	echo new >"$S/new"
	run -16 "$DIRSYNC" "$S" "$T"
	echo "$output"
	[ "$(ls "$T" | grep -c '^x')" = 150 ]
	[ "$(ls "$T" | grep -c '^k')" = 50 ]
}

@test "the default guard lets 100 deletions or up to half of DST through" {
	need_cmd rsync
	guard_trees 20 100
	run -0 "$DIRSYNC" "$S" "$T"
	ds_mirrored "$S" "$T"
	rm -rf "$S" "$T"
	mkdir "$S"
	guard_trees 300 120
	run -0 "$DIRSYNC" "$S" "$T"
	ds_mirrored "$S" "$T"
}

@test "--max-delete 100% turns the guard off" {
	need_cmd rsync
	guard_trees 50 150
	run -0 "$DIRSYNC" --max-delete 100% "$S" "$T"
	ds_mirrored "$S" "$T"
}

@test "--max-delete 10 deletes 10 then exits 25, as rsync --max-delete=10" {
	need_cmd rsync
	guard_trees 60 30
	cp -a "$T" "$R"
	local st=0
	rsync -a -@-1 --delete --max-delete=10 "$S/" "$R/" 2>/dev/null || st=$?
	[ "$st" = 25 ]
	run -25 "$DIRSYNC" --max-delete 10 "$S" "$T"
	[ "$(ls "$T" | grep -c '^x')" = 20 ]
	[ "$(ls "$T" | grep -c '^x')" = "$(ls "$R" | grep -c '^x')" ]
	[ "$(ls "$T" | grep -c '^k')" = 60 ]
}

# ---- HOST:PATH

@test "dirsync SRC host:path is a usage error and creates nothing; ./host:path is local" {
	need_cmd rsync
	echo a >"$S/a"
	cd "$W"
	run -1 "$DIRSYNC" "$S" host:path
	echo "$output"
	[ ! -e "$W/host:path" ]
	run -1 "$DIRSYNC" "$S" user@host:path
	[ ! -e "$W/user@host:path" ]
	run -0 "$DIRSYNC" "$S" ./host:path
	ds_mirrored "$S" "$W/host:path"
	mkdir "$W/sub"
	run -0 "$DIRSYNC" "$S" sub/a:b
	ds_mirrored "$S" "$W/sub/a:b"
}
