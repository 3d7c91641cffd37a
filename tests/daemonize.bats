#!/usr/bin/env bats
# daemonize: every daemon(7) step checked in /proc, pidfile locking,
# readiness, --status and --stop.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	D=$(scratch)
	PF=$D/d.pid
}

# Kill whatever a test left running: every pidfile of the scratch
# directory whose lock is still held names a live daemon of this test.
teardown() {
	local f pid
	for f in "$D"/*.pid; do
		[ -f "$f" ] || continue
		flock -n "$f" true 2>/dev/null && continue
		pid=$(head -n1 "$f")
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	[ -f "$D/.kill" ] && xargs kill -KILL <"$D/.kill" 2>/dev/null
	return 0
}

daemon_pid() {
	head -n1 "$PF"
}

# field N of /proc/PID/stat (the comm field has no blanks here)
stat_field() {
	awk -v n="$2" '{ print $n }' "/proc/$1/stat"
}

status_line() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}

gone() {
	[ ! -e "/proc/$1" ] || [ "$(stat_field "$1" 3)" = Z ]
}

@test "it starts CMD in the background and exits 0 at once, silently" {
	run daemonize -p "$PF" -- sleep 100
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	pid=$(daemon_pid)
	[ "$(cat "/proc/$pid/comm")" = sleep ]
}

@test "it works as 'procbox daemonize' too" {
	run "$PROCBOX" daemonize -p "$PF" sleep 100
	[ "$status" -eq 0 ]
	[ "$(cat "/proc/$(daemon_pid)/comm")" = sleep ]
}

@test "the pidfile holds exactly the daemon's pid and a newline" {
	daemonize -p "$PF" -- sleep 100
	pid=$(daemon_pid)
	[ "$(od -An -c "$PF" | tr -d ' ')" = "${pid}\\n" ]
	[ "$(stat_field "$pid" 1)" = "$pid" ]
}

@test "CMD is in a new session but is not its leader, after the second fork" {
	daemonize -p "$PF" -- sleep 100
	pid=$(daemon_pid)
	sid=$(stat_field "$pid" 6)
	[ "$sid" != "$pid" ]
	[ "$sid" != "$(stat_field $$ 6)" ]
	[ "$(stat_field "$pid" 5)" = "$sid" ]
}

@test "CMD has no controlling terminal even when started from one" {
	need_cmd script
	# the caller really has a terminal under script(1)
	tty=$(script -qec "awk '{ print \$7 }' /proc/self/stat" /dev/null | tr -d '\r')
	[ "$tty" != 0 ]
	script -qec "daemonize -p $PF -- sleep 100" /dev/null
	pid=$(daemon_pid)
	[ "$(stat_field "$pid" 7)" = 0 ]
	[ "$(stat_field "$pid" 6)" != "$pid" ]
}

@test "the working directory is / by default" {
	cd "$D"
	daemonize -p "$PF" -- sleep 100
	[ "$(readlink "/proc/$(daemon_pid)/cwd")" = / ]
}

@test "-c DIR sets the working directory" {
	mkdir "$D/work"
	daemonize -c "$D/work" -p "$PF" -- sleep 100
	[ "$(readlink "/proc/$(daemon_pid)/cwd")" = "$D/work" ]
}

@test "-c with a missing directory fails with the reason and leaves no pidfile" {
	run daemonize -c "$D/nope" -p "$PF" -- sleep 100
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to change directory to $D/nope: No such file or directory" ]
	[ ! -e "$PF" ]
	[ "$(ls "$D")" = "" ]
}

@test "the umask is 022 by default, whatever the caller's, and -m sets it" {
	(umask 077 && daemonize -p "$PF" -- sleep 100)
	[ "$(status_line "$(daemon_pid)" Umask)" = 0022 ]
	(umask 000 && daemonize -p "$D/z.pid" -- sleep 100)
	[ "$(status_line "$(head -n1 "$D/z.pid")" Umask)" = 0022 ]
	daemonize -m 027 -p "$D/m.pid" -- sleep 100
	[ "$(status_line "$(head -n1 "$D/m.pid")" Umask)" = 0027 ]
}

@test "a file the daemon creates gets the mode it gets under daemonize(1) started from a umask 022 shell" {
	need_cmd /usr/bin/daemonize
	(
		umask 022
		/usr/bin/daemonize /bin/sh -c "echo x >$D/peer"
		umask 000
		daemonize -- sh -c "echo x >$D/ours"
	)
	retry_until 5 [ -s "$D/peer" ]
	retry_until 5 [ -s "$D/ours" ]
	[ "$(stat -c %a "$D/peer")" = 644 ]
	[ "$(stat -c %a "$D/ours")" = 644 ]
}

@test "only fds 0-2 and the pidfile lock (fd 3) are open in CMD, whatever the caller had open" {
	exec 5>"$D/extra" 7<"$D/extra"
	daemonize -p "$PF" -- sleep 100
	exec 5>&- 7<&-
	pid=$(daemon_pid)
	[ "$(ls "/proc/$pid/fd" | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
	[ "$(readlink "/proc/$pid/fd/3")" = "$PF" ]
}

@test "without -p nothing but fds 0-2 is open" {
	exec 5>"$D/extra"
	run daemonize -v -- sleep 100
	exec 5>&-
	pid=${output##* }
	echo "$pid" >>"$D/.kill"
	[ "$output" = "daemonize: started sleep as pid $pid" ]
	[ "$(ls "/proc/$pid/fd" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
	kill "$pid"
}

@test "stdio goes to /dev/null by default" {
	daemonize -p "$PF" -- sleep 100
	pid=$(daemon_pid)
	for fd in 0 1 2; do
		[ "$(readlink "/proc/$pid/fd/$fd")" = /dev/null ]
	done
}

@test "signal dispositions and mask are reset even when the caller ignored and blocked signals" {
	block='use POSIX; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGUSR2, SIGALRM)) or die; exec @ARGV'
	(
		trap '' INT HUP TERM USR1
		# the caller really has them blocked and ignored
		perl -e "$block" -- grep -E '^Sig(Blk|Ign)' /proc/self/status >"$D/caller"
		perl -e "$block" -- daemonize -p "$PF" -- sleep 100
	)
	# (the environment may add bits of its own: check that ours are there)
	blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "$D/caller")
	ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "$D/caller")
	(( (0x$blk & 0x2800) == 0x2800 ))
	(( (0x$ign & 0x4203) == 0x4203 ))
	pid=$(daemon_pid)
	[ "$(status_line "$pid" SigBlk)" = 0000000000000000 ]
	[ "$(status_line "$pid" SigIgn)" = 0000000000000000 ]
}

@test "-o and -e send stdout and stderr to files, truncating them" {
	echo old >"$D/out"
	echo old >"$D/err"
	daemonize -o "$D/out" -e "$D/err" -- sh -c 'echo to-out; echo to-err >&2'
	retry_until 5 grep -q to-out "$D/out"
	retry_until 5 grep -q to-err "$D/err"
	[ "$(cat "$D/out")" = to-out ]
	[ "$(cat "$D/err")" = to-err ]
}

@test "-a appends to the -o and -e files" {
	echo old >"$D/out"
	echo old >"$D/err"
	daemonize -a -o "$D/out" -e "$D/err" -- sh -c 'echo to-out; echo to-err >&2'
	retry_until 5 grep -q to-err "$D/err"
	retry_until 5 grep -q to-out "$D/out"
	[ "$(cat "$D/out")" = "$(printf 'old\nto-out')" ]
	[ "$(cat "$D/err")" = "$(printf 'old\nto-err')" ]
}

@test "-o and -e never open through a symbolic link: refused, and its target untouched" {
	echo victim >"$D/victim"
	ln -s "$D/victim" "$D/link"
	for opt in -o -e; do
		for append in "" -a; do
			run daemonize $append $opt "$D/link" -p "$PF" -- echo hi
			[ "$status" -eq 125 ]
			[ "$output" = "daemonize: unable to open $D/link: it is a symbolic link" ]
		done
	done
	# nor a dangling one, which O_CREAT would have created
	ln -s "$D/new" "$D/dangling"
	run daemonize -o "$D/dangling" -- echo hi
	[ "$status" -eq 125 ]
	[ "$(cat "$D/victim")" = victim ]
	[ ! -e "$D/new" ]
	[ ! -e "$PF" ]
}

@test "-o and -e naming one file share it" {
	daemonize -o "$D/log" -e "$D/log" -- sh -c 'echo one; echo two >&2; echo three'
	retry_until 5 grep -q three "$D/log"
	[ "$(cat "$D/log")" = "$(printf 'one\ntwo\nthree')" ]
}

@test "an -o file that cannot be opened is an error before anything starts" {
	run daemonize -p "$PF" -o "$D/no/such/out" -- sleep 100
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to open $D/no/such/out: No such file or directory" ]
	[ ! -e "$PF" ]
}

@test "-E adds environment variables, repeatable, over inherited ones" {
	FOO=inherited daemonize -E FOO=bar -E EMPTY= -E 'SP=a b' -p "$PF" -- sleep 100
	env=$(tr '\0' '\n' <"/proc/$(daemon_pid)/environ")
	grep -qx 'FOO=bar' <<<"$env"
	grep -qx 'EMPTY=' <<<"$env"
	grep -qx 'SP=a b' <<<"$env"
	! grep -q '^READY_FD=' <<<"$env"
}

@test "an inherited READY_FD is not passed on without --wait-ready" {
	READY_FD=3 daemonize -p "$PF" -- sleep 100
	! tr '\0' '\n' <"/proc/$(daemon_pid)/environ" | grep -q '^READY_FD='
}

@test "a relative CMD path means relative to where daemonize was started" {
	printf '#!/bin/sh\nexec sleep 100\n' >"$D/srv"
	chmod +x "$D/srv"
	cd "$D"
	run daemonize -p "$PF" -- ./srv
	[ "$status" -eq 0 ]
	[ "$(readlink "/proc/$(daemon_pid)/cwd")" = / ]
}

@test "a second daemonize on a locked pidfile refuses and leaves it alone" {
	daemonize -p "$PF" -- sleep 100
	pid=$(daemon_pid)
	run daemonize -p "$PF" -- sleep 100
	[ "$status" -eq 123 ]
	[ "$output" = "daemonize: pidfile $PF is locked: already running as pid $pid" ]
	[ "$(daemon_pid)" = "$pid" ]
	[ "$(ls "$D")" = d.pid ]
}

@test "a -u daemon holds its pidfile and lock file read-only and cannot write another pid in" {
	need_root
	run daemonize -v -u nobody -l "$D/lock" -o "$D/out" -p "$PF" -- sh -c \
		'if echo 999999 >&3; then echo wrote; else echo refused; fi; exec sleep 100'
	[ "$status" -eq 0 ]
	pid=${output##* }
	echo "$pid" >>"$D/.kill"
	retry_until 5 [ -s "$D/out" ]
	[ "$(cat "$D/out")" = refused ]
	[ "$(daemon_pid)" = "$pid" ]
	for fd in 3 4; do
		flags=$(awk '$1 == "flags:" { print $2 }' "/proc/$pid/fdinfo/$fd")
		(( (8#$flags & 3) == 0 ))	# O_RDONLY
	done
	[ "$(readlink "/proc/$pid/fd/3")" = "$PF" ]
	run flock -n "$PF" true
	[ "$status" -ne 0 ]
}

@test "the pidfile lock is held by the daemon (flock(1) sees it)" {
	daemonize -p "$PF" -- sleep 100
	run flock -n "$PF" true
	[ "$status" -ne 0 ]
}

@test "a stale pidfile (no lock) is taken over" {
	echo 999999 >"$PF"
	run daemonize -p "$PF" -- sleep 100
	[ "$status" -eq 0 ]
	pid=$(daemon_pid)
	[ "$pid" != 999999 ]
	[ "$(cat "/proc/$pid/comm")" = sleep ]
}

@test "of several daemonizes racing for one pidfile exactly one starts" {
	for i in 1 2 3 4 5 6; do
		(rc=0; daemonize -p "$PF" -- sleep 100 2>/dev/null || rc=$?; echo $rc >"$D/rc$i") &
	done
	wait
	[ "$(cat "$D"/rc* | sort | tr '\n' ' ')" = "0 123 123 123 123 123 " ]
	[ "$(cat "/proc/$(daemon_pid)/comm")" = sleep ]
	[ "$(ls "$D" | grep -c pid)" = 1 ]
}

@test "readers never see the pidfile empty or partial while daemons take it over" {
	(
		end=$((SECONDS + 20))
		while [ ! -e "$D/stop" ] && [ $SECONDS -lt $end ]; do
			c=$(cat "$PF" 2>/dev/null) || continue
			[[ "$c" =~ ^[0-9]+$ ]] || echo "bad: '$c'" >>"$D/bad"
		done
	) &
	reader=$!
	for i in $(seq 30); do
		# the previous daemon (true) may still hold the lock for a moment
		retry_until 10 sh -c '[ ! -e "$1" ] || flock -n "$1" true' _ "$PF"
		daemonize -p "$PF" -- true
	done
	touch "$D/stop"
	wait "$reader"
	[ ! -e "$D/bad" ]
}

@test "-l LOCKFILE is held while the daemon lives and a second one refuses" {
	daemonize -l "$D/lock" -p "$PF" -- sleep 100
	pid=$(daemon_pid)
	[ "$(readlink "/proc/$pid/fd/4")" = "$D/lock" ]
	run flock -n "$D/lock" true
	[ "$status" -ne 0 ]
	run daemonize -l "$D/lock" -- sleep 100
	[ "$status" -eq 123 ]
	[ "$output" = "daemonize: lockfile $D/lock is locked: already running" ]
}

@test "a lock file that cannot be created is an error, and no pidfile stays" {
	run daemonize -l "$D/no/lock" -p "$PF" -- sleep 100
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to lock $D/no/lock: No such file or directory" ]
	[ "$(ls "$D")" = "" ]
}

@test "-l naming the pidfile itself is the pidfile lock" {
	run daemonize -l "$PF" -p "$PF" -- sleep 100
	[ "$status" -eq 0 ]
	[ "$(ls "/proc/$(daemon_pid)/fd" | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
}

@test "a stale lockfile is taken over" {
	: >"$D/lock"
	run daemonize -l "$D/lock" -p "$PF" -- sleep 100
	[ "$status" -eq 0 ]
}

@test "an unwritable pidfile location is an error with the reason" {
	run daemonize -p "$D/no/d.pid" -- sleep 100
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to create pidfile $D/no/d.pid: No such file or directory" ]
	touch "$D/file"
	run daemonize -p "$D/file/d.pid" -- sleep 100
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to create pidfile $D/file/d.pid: Not a directory" ]
	run daemonize -p /sys/procbox-daemonize.pid -- sleep 100
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to create pidfile /sys/procbox-daemonize.pid: Permission denied" ]
}

@test "-u nobody drops to its uid, gid and groups and sets HOME, USER, LOGNAME" {
	need_root
	daemonize -u nobody -p "$PF" -- sleep 100
	pid=$(daemon_pid)
	uid=$(id -u nobody) gid=$(id -g nobody)
	[ "$(status_line "$pid" Uid)" = "$(printf '%s\t%s\t%s\t%s' $uid $uid $uid $uid)" ]
	[ "$(status_line "$pid" Gid)" = "$(printf '%s\t%s\t%s\t%s' $gid $gid $gid $gid)" ]
	[ "$(status_line "$pid" Groups | tr -d ' ')" = "$(id -G nobody | tr -d ' ')" ]
	env=$(tr '\0' '\n' <"/proc/$pid/environ")
	grep -qx "HOME=$(getent passwd nobody | cut -d: -f6)" <<<"$env"
	grep -qx 'USER=nobody' <<<"$env"
	grep -qx 'LOGNAME=nobody' <<<"$env"
	# the pidfile was written before the drop, and stays locked
	[ "$(readlink "/proc/$pid/fd/3")" = "$PF" ]
}

@test "-u USER:GROUP sets the group" {
	need_root
	daemonize -u nobody:daemon -p "$PF" -- sleep 100
	gid=$(getent group daemon | cut -d: -f3)
	[ "$(status_line "$(daemon_pid)" Gid)" = "$(printf '%s\t%s\t%s\t%s' $gid $gid $gid $gid)" ]
}

@test "-c is entered as the -u user, so a directory it cannot enter is an error" {
	need_root
	chmod 700 "$D"
	run daemonize -u nobody -c "$D" -p "$PF" -- sleep 100
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to change directory to $D: Permission denied" ]
	[ ! -e "$PF" ]
}

@test "-u without the privilege to change user fails with the step and the reason" {
	need_root
	need_cmd setpriv
	run setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		"$PROCBOX" daemonize -u daemon -- sleep 100
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to set supplementary groups: Operation not permitted" ]
}

@test "an unknown user or group is a usage error" {
	run daemonize -u no-such-user-x -- sleep 100
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: invalid user 'no-such-user-x': unknown user" ]
	[ "${lines[1]}" = "usage: $(usage_line daemonize | sed 's/^usage: //')" ]
	run daemonize -u nobody:no-such-group-x -- sleep 100
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: invalid user 'nobody:no-such-group-x': unknown group" ]
}

@test "a command that is not found exits 127 with the reason, and no pidfile stays" {
	run -127 daemonize -p "$PF" -- no-such-command-x
	[ "$status" -eq 127 ]
	[ "$output" = "daemonize: unable to execute no-such-command-x: No such file or directory" ]
	[ "$(ls "$D")" = "" ]
}

@test "a command that cannot be executed exits 126 with the reason" {
	printf 'not a program\n' >"$D/f"
	chmod 644 "$D/f"
	run daemonize -p "$PF" -- "$D/f"
	[ "$status" -eq 126 ]
	[ "$output" = "daemonize: unable to execute $D/f: Permission denied" ]
	[ ! -e "$PF" ]
}

@test "--wait-ready exits 0 once CMD writes a line to READY_FD" {
	run daemonize --wait-ready=10s -p "$PF" -- sh -c 'echo "$READY_FD" >'"$D/fdno"'; sleep 0.3; echo ready >&$READY_FD; exec sleep 100'
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	[ "$(cat "$D/fdno")" = 4 ]
	retry_until 5 eval '[ "$(cat "/proc/$(daemon_pid)/comm")" = sleep ]'
}

@test "--wait-ready with -v says when CMD is ready" {
	run daemonize -v --wait-ready -p "$PF" -- sh -c 'echo ready >&$READY_FD; exec sleep 100'
	[ "$status" -eq 0 ]
	pid=$(daemon_pid)
	[ "${lines[0]}" = "daemonize: started sh as pid $pid" ]
	[ "${lines[1]}" = "daemonize: sh (pid $pid) is ready" ]
}

@test "--wait-ready counts readiness from a child of a CMD that forks and exits" {
	run daemonize --wait-ready=10s -- sh -c '(sleep 0.2; echo ok >&$READY_FD; exec sleep 1) & exit 0'
	[ "$status" -eq 0 ]
}

@test "--wait-ready reports CMD dying first with its status" {
	run daemonize --wait-ready=10s -p "$PF" -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	[ "$output" = "daemonize: sh exited with status 3 before it was ready" ]
	[ ! -e "$PF" ]
	run daemonize --wait-ready=10s -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	[ "$output" = "daemonize: sh killed by SIGTERM (Terminated) before it was ready" ]
	run daemonize --wait-ready -- true
	[ "$status" -eq 1 ]
	[ "$output" = "daemonize: true exited with status 0 before it was ready" ]
}

@test "--wait-ready=DUR gives up after DUR with 124 and leaves CMD running" {
	start=$(date +%s%N)
	run daemonize --wait-ready=300ms -p "$PF" -- sleep 100
	end=$(date +%s%N)
	pid=$(daemon_pid)
	[ "$status" -eq 124 ]
	[ "$output" = "daemonize: sleep not ready after 300ms (pid $pid still running)" ]
	[ $(((end - start) / 1000000)) -ge 300 ]
	[ $(((end - start) / 1000000)) -lt 3000 ]
	[ "$(cat "/proc/$pid/comm")" = sleep ]
}

@test "a write to READY_FD after the caller left fails with EPIPE and does not kill the daemon" {
	mkfifo "$D/go"
	run daemonize --wait-ready=10s -o "$D/out" -p "$PF" -- sh -c 'echo ready >&$READY_FD
		read x <'"$D/go"'
		if echo again >&$READY_FD; then echo wrote; else echo failed; fi
		exec sleep 100'
	[ "$status" -eq 0 ]
	echo go >"$D/go"
	retry_until 5 [ -s "$D/out" ]
	[ "$(cat "$D/out")" = failed ]
	retry_until 5 eval '[ "$(cat "/proc/$(daemon_pid)/comm")" = sleep ]'
}

@test "--wait-ready reports a CMD that closes READY_FD without a line" {
	run daemonize --wait-ready=10s -p "$PF" -- sh -c 'eval "exec $READY_FD>&-"; exec sleep 100'
	pid=$(daemon_pid)
	[ "$status" -eq 1 ]
	[ "$output" = "daemonize: sh closed READY_FD without saying it is ready (pid $pid still running)" ]
}

@test "the long options work like the short ones" {
	need_root
	echo old >"$D/out"
	# -c applies after the drop to nobody: a directory it can enter
	run daemonize --chdir /usr --umask 022 --pidfile "$PF" --lockfile "$D/lock" \
		--stdout "$D/out" --stderr "$D/err" --append --user nobody --env A=B --verbose \
		-- sh -c 'echo to-out; echo to-err >&2; exec sleep 100'
	[ "$status" -eq 0 ]
	pid=$(daemon_pid)
	[ "$output" = "daemonize: started sh as pid $pid" ]
	retry_until 5 eval '[ "$(cat "/proc/$pid/comm")" = sleep ]'
	[ "$(readlink "/proc/$pid/cwd")" = /usr ]
	[ "$(status_line "$pid" Umask)" = 0022 ]
	[ "$(readlink "/proc/$pid/fd/4")" = "$D/lock" ]
	[ "$(cat "$D/out")" = "$(printf 'old\nto-out')" ]
	[ "$(cat "$D/err")" = to-err ]
	[ "$(status_line "$pid" Uid | cut -f1)" = "$(id -u nobody)" ]
	tr '\0' '\n' <"/proc/$pid/environ" | grep -qx A=B
}

@test "--status: 0 running, 1 stale pidfile, 3 no pidfile" {
	daemonize -p "$PF" -- sleep 100
	pid=$(daemon_pid)
	run daemonize --status -p "$PF"
	[ "$status" -eq 0 ]
	[ "$output" = "$PF: running (pid $pid)" ]
	kill "$pid"
	retry_until 5 flock -n "$PF" true
	run daemonize --status -p "$PF"
	[ "$status" -eq 1 ]
	[ "$output" = "$PF: not running, stale pidfile (pid $pid)" ]
	rm "$PF"
	run daemonize --status -p "$PF"
	[ "$status" -eq 3 ]
	[ "$output" = "$PF: not running" ]
}

# a daemon that is not daemonize's: started and pidfile written by ARGS
foreign() {
	"$@"
	retry_until 5 [ -s "$PF" ]
	pid=$(daemon_pid)
	echo "$pid" >>"$D/.kill"
	retry_until 5 eval '[ "$(cat "/proc/$pid/comm")" = sleep ]'
}

@test "--status on start-stop-daemon's pidfile answers as start-stop-daemon --status, --exec and --name included" {
	need_cmd /sbin/start-stop-daemon
	foreign /sbin/start-stop-daemon --start --background --make-pidfile --pidfile "$PF" \
		--exec /bin/sleep -- 100
	for args in "" "--exec /bin/sleep" "--name sleep" "--exec /bin/sleep --name sleep" \
		"--exec /bin/sh" "--name sh" "--name sleep --exec /bin/sh"; do
		run /sbin/start-stop-daemon --status --pidfile "$PF" $args
		peer=$status
		run daemonize --status -p "$PF" $args
		echo "$args: peer $peer, daemonize $status"
		[ "$status" -eq "$peer" ]
	done
	run daemonize --status -p "$PF" --name sleep
	[ "$output" = "$PF: running (pid $pid)" ]
	# a pid that is gone for good (a killed daemon may stay a zombie for
	# a while, which start-stop-daemon counts as running and we do not)
	sh -c 'exit 0' &
	dead=$!
	wait "$dead"
	echo "$dead" >"$PF"
	run /sbin/start-stop-daemon --status --pidfile "$PF"
	[ "$status" -eq 1 ]
	run daemonize --status -p "$PF"
	[ "$status" -eq 1 ]
	[ "$output" = "$PF: not running, stale pidfile (pid $dead)" ]
	rm "$PF"
	run /sbin/start-stop-daemon --status --pidfile "$PF"
	[ "$status" -eq 3 ]
	run daemonize --status -p "$PF"
	[ "$status" -eq 3 ]
}

@test "--stop stops a daemon by the pidfile it wrote itself, and not when --exec or --name disagree" {
	need_cmd /usr/bin/daemonize /sbin/start-stop-daemon
	foreign /usr/bin/daemonize -p "$PF" /bin/sleep 100
	run /sbin/start-stop-daemon --status --pidfile "$PF" --exec /bin/sleep
	[ "$status" -eq 0 ]
	for wrong in "--exec /bin/sh" "--name sh"; do
		run daemonize --stop -p "$PF" $wrong
		[ "$status" -eq 1 ]
		[ "$output" = "daemonize: $PF: not running, stale pidfile (pid $pid)" ]
		[ "$(cat "/proc/$pid/comm")" = sleep ]
	done
	run daemonize -v --stop -p "$PF" --exec /bin/sleep --name sleep
	[ "$status" -eq 0 ]
	[ "$output" = "daemonize: stopped pid $pid" ]
	gone "$pid"
	[ ! -e "$PF" ]
}

@test "a process that started after its unlocked pidfile was written is a reused pid: not running, never signalled" {
	need_cmd /usr/bin/daemonize /sbin/start-stop-daemon
	foreign /usr/bin/daemonize -p "$PF" /bin/sleep 100
	touch -d "@$(($(date +%s) - 3600))" "$PF"
	# start-stop-daemon has no such check: it would signal this process
	run /sbin/start-stop-daemon --status --pidfile "$PF" --name sleep
	[ "$status" -eq 0 ]
	run daemonize --status -p "$PF" --name sleep
	[ "$status" -eq 1 ]
	[ "$output" = "$PF: not running, stale pidfile (pid $pid)" ]
	run daemonize --stop -p "$PF" --name sleep
	[ "$status" -eq 1 ]
	[ "$(cat "/proc/$pid/comm")" = sleep ]
}

@test "--stop sends TERM, waits until the lock is free and removes the pidfile" {
	daemonize -p "$PF" -- sleep 100
	pid=$(daemon_pid)
	run daemonize --stop -p "$PF"
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	gone "$pid"
	[ ! -e "$PF" ]
}

@test "--stop escalates to KILL for a process that ignores TERM" {
	daemonize -p "$PF" -- sh -c 'trap "" TERM; exec sleep 100'
	pid=$(daemon_pid)
	status_line "$pid" SigIgn | grep -q '[4-7c-f]...$'
	start=$(date +%s%N)
	run daemonize -v --stop -p "$PF" --retry TERM/0.5/KILL/5
	end=$(date +%s%N)
	[ "$status" -eq 0 ]
	[ "$output" = "daemonize: stopped pid $pid" ]
	[ $(((end - start) / 1000000)) -ge 500 ]
	gone "$pid"
}

@test "--stop waits until every process holding the lock has exited" {
	daemonize -p "$PF" -- sh -c "sleep 1.5 & echo \$! >$D/child; exec sleep 100"
	retry_until 5 [ -s "$D/child" ]
	child=$(cat "$D/child")
	[ "$(readlink "/proc/$child/fd/3")" = "$PF" ]
	run daemonize --stop -p "$PF"
	[ "$status" -eq 0 ]
	gone "$child"
}

@test "--status and --stop find the lock holder when the recorded pid died but its child holds the lock" {
	daemonize -p "$PF" -- sh -c "sleep 100 & echo \$! >$D/child; exit 0"
	main=$(daemon_pid)
	retry_until 5 [ -s "$D/child" ]
	child=$(cat "$D/child")
	echo "$child" >>"$D/.kill"
	retry_until 5 gone "$main"
	run daemonize --status -p "$PF"
	[ "$status" -eq 0 ]
	[ "$output" = "$PF: running (pid $child)" ]
	run daemonize -v --stop -p "$PF" --retry TERM/2
	[ "$status" -eq 0 ]
	[ "$output" = "daemonize: stopped pid $child" ]
	gone "$child"
	[ ! -e "$PF" ]
}

@test "--stop --retry N means TERM/N/KILL/N, and forever repeats the rest" {
	daemonize -p "$PF" -- sh -c 'trap "" TERM; exec sleep 100'
	run daemonize --stop -p "$PF" --retry 0.2
	[ "$status" -eq 0 ]
	daemonize -p "$PF" -- sh -c 'trap "" TERM; exec sleep 100'
	run daemonize --stop -p "$PF" --retry TERM/0.1/forever/-HUP/0.1
	[ "$status" -eq 0 ]
}

@test "--stop exits 2 when CMD outlives the schedule" {
	daemonize -p "$PF" -- sh -c 'trap "" TERM; exec sleep 100'
	pid=$(daemon_pid)
	run daemonize --stop -p "$PF" --retry TERM/0.2
	[ "$status" -eq 2 ]
	[ "$output" = "daemonize: pid $pid still running after the --retry schedule" ]
	[ "$(cat "/proc/$pid/comm")" = sleep ]
}

@test "--stop exits 1 when nothing runs" {
	run daemonize --stop -p "$PF"
	[ "$status" -eq 1 ]
	[ "$output" = "daemonize: $PF: not running" ]
	echo 999999 >"$PF"
	run daemonize --stop -p "$PF"
	[ "$status" -eq 1 ]
	[ "$output" = "daemonize: $PF: not running, stale pidfile (pid 999999)" ]
}

@test "a bad --retry schedule is a usage error" {
	for bad in TERM 'TERM/x' 'x/5' '' 'TERM/5/forever' 'forever/5/forever/KILL'; do
		run daemonize --stop -p "$PF" --retry "$bad"
		[ "$status" -eq 125 ]
		[[ "${lines[0]}" == "daemonize: invalid --retry schedule '$bad': "* ]]
	done
}

@test "a bad umask is a usage error" {
	for bad in 8 abc 01000 '' -1; do
		run daemonize -m "$bad" -- sleep 100
		[ "$status" -eq 125 ]
		[ "${lines[0]}" = "daemonize: invalid umask '$bad': expected an octal mode 0-0777" ]
	done
}

@test "a bad -E is a usage error" {
	run daemonize -E FOO -- sleep 100
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: invalid environment 'FOO': expected VAR=VALUE" ]
	run daemonize -E =x -- sleep 100
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: invalid environment '=x': expected VAR=VALUE" ]
}

@test "a bad --wait-ready duration is a usage error" {
	run daemonize --wait-ready=soon -- sleep 100
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: invalid --wait-ready duration 'soon': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
}

@test "a missing command is a usage error" {
	run daemonize -p "$PF"
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: no command given" ]
	[ "${lines[1]}" = "$(usage_line daemonize)" ]
	run daemonize --
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: no command given" ]
	[ ! -e "$PF" ]
}

@test "an unknown option or a missing option argument is a usage error" {
	run daemonize -z -- sleep 100
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: unknown option '-z'" ]
	[ "${lines[1]}" = "$(usage_line daemonize)" ]
	run daemonize --bogus -- sleep 100
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: unknown option '--bogus'" ]
	run daemonize -p
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: option '-p' needs an argument" ]
}

@test "--status and --stop need -p, take no command, and do not combine" {
	run daemonize --status
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: --status needs -p PIDFILE" ]
	run daemonize --stop -p "$PF" -- sleep 1
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: --stop takes no command" ]
	run daemonize --status --stop -p "$PF"
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: --status and --stop cannot be combined" ]
	run daemonize --retry 5 -p "$PF" -- sleep 1
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: --retry needs --stop" ]
	run daemonize --name sleep -p "$PF" -- sleep 1
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "daemonize: --exec and --name need --status or --stop" ]
}

@test "--status: a missing directory is 3, an unusable path an own failure" {
	run daemonize --status -p "$D/dir/x.pid/y"
	[ "$status" -eq 3 ]
	touch "$D/file"
	run daemonize --status -p "$D/file/x.pid"
	[ "$status" -eq 125 ]
	[ "$output" = "daemonize: unable to check pidfile $D/file/x.pid: Not a directory" ]
}

@test "libbox's detach tells the caller: up, a failed step, a failed exec, a silent death, the foreground" {
	run "${PROCBOX_UNIT:-$PROCBOX_TOP/build/unit/libbox_test}" detach
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "--help prints the usage and exits 0" {
	run daemonize --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: daemonize [-av] [-c DIR] [-m UMASK] [-p PIDFILE] [-l LOCKFILE] [-o OUT] [-e ERR] [-u USER[:GROUP]] [-E VAR=VAL]... [--wait-ready[=DUR]] [--] CMD [ARG...] | daemonize --status|--stop -p PIDFILE [--exec PATH] [--name NAME] [--retry SCHEDULE]" ]
}
