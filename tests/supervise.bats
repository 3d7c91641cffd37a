#!/usr/bin/env bats
# supervise: supervisord's config dialect, state machine, logs, control
# socket and ctl verbs, checked against real processes in /proc.

bats_require_minimum_version 1.5.0
load helpers
load supervise_helpers

setup() {
	# short: Unix socket paths are limited to 107 bytes
	D=$(mktemp -d /tmp/svb.XXXXXX)
	chmod 755 "$D"
	DPID=
}

teardown() {
	# a stopped FUSE daemon would hold up the rest
	[ -z "${FUSE_PID:-}" ] || kill -CONT "$FUSE_PID" 2>/dev/null
	stop_pid "$DPID"
	kill_marked
	[ -z "${FUSE_PID:-}" ] || umount "$D/mnt" 2>/dev/null || umount -l "$D/mnt"
	rm -rf "$D"
}

conf() {
	cat >"$D/sv.conf" <<EOF
[supervisord]
logfile=$D/main.log
pidfile=$D/sv.pid
childlogdir=$D
environment=SVMARK="$D"

[unix_http_server]
file=$D/sock
${SOCKEXTRA:-}
EOF
	cat >>"$D/sv.conf"
}

start_daemon() {
	supervise -n -c "$D/sv.conf" >"$D/out" 2>&1 3>&- &
	DPID=$!
	retry_until 10 test -S "$D/sock" || { cat "$D/out" >&2; return 1; }
}

ctl() { supervise ctl -c "$D/sv.conf" "$@"; }
state_of() { ctl status "$1" | awk '{ print $2 }'; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
pid_of() { ctl pid "$1"; }
pid_changed() { local p; p=$(pid_of "$1"); [ "$p" != 0 ] && [ "$p" != "$2" ]; }
count() { grep -c -- "$2" "$1" || true; }
spawned_at_least() { [ "$(count "$D/main.log" "spawned: 'a'")" -ge "$1" ]; }
runs_at_least() { [ -e "$D/runs" ] && [ "$(wc -l <"$D/runs")" -ge "$1" ]; }
no_zombie_children() { ! grep -l "^PPid:[[:space:]]*$DPID$" /proc/[0-9]*/status 2>/dev/null |
	xargs -r grep -l '^State:.*Z' | grep -q .; }

# ---- the INI reader ---------------------------------------------------------

@test "the INI reader: sections, keys, continuations, comments and errors with their line" {
	run "${PROCBOX_UNIT:-$PROCBOX_TOP/build/unit/libbox_test}" ini
	echo "$output"
	[ "$status" -eq 0 ]
}

# ---- options and usage ----------------------------------------------------

@test "--help prints the usage and exits 0, through procbox and the link" {
	run -0 "$PROCBOX" supervise --help
	[ "${lines[0]}" = "usage: $("$PROCBOX" --help supervise | head -1 | sed 's/^usage: //')" ]
	run -0 "$PROCBOX_BIN/supervise" --help
	[[ "$output" == *"supervise ctl [-c CONF | -s SOCKET]"* ]]
}

@test "an unknown option is a usage error (2)" {
	run -2 supervise --bogus
	[ "${lines[0]}" = "supervise: unknown option '--bogus'" ]
	[ "${lines[1]}" = "$(usage_line supervise)" ]
}

@test "a command without -- is a usage error" {
	run -2 supervise sleep 1
	[ "${lines[0]}" = "supervise: unexpected argument 'sleep' (a command goes after --)" ]
}

@test "-- with no command is a usage error" {
	run -2 supervise --
	[ "${lines[0]}" = "supervise: no command after --" ]
}

@test "bad single-command options are usage errors" {
	run -2 supervise --stopsignal FOO -- true
	[ "${lines[0]}" = "supervise: invalid stopsignal 'FOO': unknown signal" ]
	run -2 supervise --autorestart maybe -- true
	[ "${lines[0]}" = "supervise: invalid autorestart 'maybe': expected true, false or unexpected" ]
	run -2 supervise --startsecs xx -- true
	[[ "${lines[0]}" == "supervise: invalid startsecs 'xx'"* ]]
}

# ---- configuration -------------------------------------------------------

@test "a bad config line names file and line, exits 2 and starts nothing" {
	conf <<EOF
[program:a]
command=sleep 100
this line has no equals sign
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:12: expected 'key = value'" ]
	[ ! -e "$D/sock" ] && [ ! -e "$D/sv.pid" ]
	[ -z "$(marked_pids)" ]
}

@test "a value of the wrong type names file, line, key and reason" {
	conf <<EOF
[program:a]
command=sleep 100
autostart=maybe
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:12: invalid value 'maybe' for autostart: not a boolean" ]
	conf <<EOF
[program:a]
command=sleep 100
stdout_logfile_maxbytes=12XB
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:12: invalid value '12XB' for stdout_logfile_maxbytes: not a byte size" ]
	conf <<EOF
[program:a]
command=sleep 100
umask=099
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:12: invalid value '099' for umask: not an octal mode" ]
}

@test "a bad signal name in the config is an error" {
	conf <<EOF
[program:a]
command=sleep 100
stopsignal=FOO
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:12: invalid value 'FOO' for stopsignal: unknown signal" ]
}

@test "config errors: missing command, unknown user, bad expansion, numprocs without process_num" {
	conf <<EOF
[program:a]
autostart=true
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:10: [program:a] does not specify a command" ]
	conf <<EOF
[program:a]
command=sleep 1
user=no_such_user_xyz
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:12: invalid value 'no_such_user_xyz' for user: unknown user" ]
	conf <<EOF
[program:a]
command=sleep %(nope)s
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:11: bad expansion in command: unknown name 'nope' in %(nope)" ]
	conf <<EOF
[program:a]
command=sleep 1
numprocs=2
EOF
	run -2 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:10: %(process_num) must be present within process_name when numprocs > 1" ]
}

@test "an unreadable config file is an error (2)" {
	run -2 supervise -n -c "$D/missing.conf"
	[ "$output" = "supervise: unable to read $D/missing.conf: No such file or directory" ]
}

@test "unimplemented sections are accepted with one warning each" {
	conf <<EOF
[inet_http_server]
port=127.0.0.1:9001

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:a]
command=sleep 100
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	[ "$(count "$D/out" 'is not implemented; ignored')" -eq 2 ]
	grep -qx "supervise: $D/sv.conf:10: \[inet_http_server\] is not implemented; ignored" "$D/out"
}

@test "a realistic config with every key is applied to the real process" {
	mkdir "$D/work" "$D/conf.d"
	cat >"$D/conf.d/extra.conf" <<EOF
[program:inc]
command=sleep 300
startsecs=0
priority=5
EOF
	conf <<EOF
; a comment
# another comment
[include]
files = conf.d/*.conf

[group:svc]
programs=web
priority=100

[program:web]
command = sh -c 'echo "\$GREETING \$SUPERVISOR_PROCESS_NAME"; exec sleep 300'  ; inline comment
process_name=%(program_name)s-%(process_num)02d
numprocs=2
numprocs_start=3
priority=10
autostart=true
autorestart=unexpected
exitcodes=0,2
startsecs=0.2
startretries=5
stopsignal=INT
stopwaitsecs=3
stopasgroup=true
killasgroup=true
user=nobody
directory=%(here)s/work
umask=027
environment=GREETING="hello world",NUM=%(process_num)d,
  OTHER='x'
redirect_stderr=true
stdout_logfile=%(here)s/%(program_name)s_%(process_num)d.log
stdout_logfile_maxbytes=1MB
stdout_logfile_backups=2
stderr_logfile=NONE
stderr_logfile_maxbytes=1KB
stderr_logfile_backups=0
memory_max=512MB
cpu_max=100
nofile_max=123
backoff_max=5s
EOF
	need_root
	start_daemon
	retry_until 10 state_is svc:web-03 RUNNING
	retry_until 10 state_is svc:web-04 RUNNING
	retry_until 10 state_is inc RUNNING
	local pid
	pid=$(pid_of svc:web-04)
	grep -q "^Uid:[[:space:]]*65534" "/proc/$pid/status"
	grep -q "^Umask:[[:space:]]*0027" "/proc/$pid/status"
	[ "$(readlink "/proc/$pid/cwd")" = "$D/work" ]
	tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "GREETING=hello world"
	tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "NUM=4"
	tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "OTHER=x"
	tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "HOME=/nonexistent"
	tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "USER=nobody"
	grep -q "^Max open files *123 *123" "/proc/$pid/limits"
	grep -q "^Max cpu time *100 *101" "/proc/$pid/limits"
	grep -q "^Max address space *536870912 *536870912" "/proc/$pid/limits"
	retry_until 5 grep -qx "hello world web-04" "$D/web_4.log"
	# priority order: inc (5) before the svc group (100)
	[ "$(grep -o "spawned: '[a-z0-9-]*'" "$D/main.log" | head -3 | tr '\n' ' ')" = "spawned: 'inc' spawned: 'web-03' spawned: 'web-04' " ]
	run -0 ctl avail
	[ "${lines[0]}" = "inc                              in use    auto      5:5" ]
	[ "${lines[1]}" = "svc:web-03                       in use    auto      100:10" ]
}

# ---- the state machine ---------------------------------------------------

@test "STARTING becomes RUNNING once startsecs have passed" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=1.5
EOF
	start_daemon
	retry_until 5 state_is a STARTING
	retry_until 5 state_is a RUNNING
	run -0 ctl status a
	[[ "$output" =~ ^a\ {32}RUNNING\ {3}pid\ [0-9]+,\ uptime\ 0:00:0[0-9]$ ]]
	grep -q "success: a entered RUNNING state, process has stayed up for > than 1.5 seconds (startsecs)" "$D/main.log"
}

@test "a program that exits too quickly backs off with growing delays, then is FATAL" {
	conf <<EOF
[program:a]
command=false
startsecs=1
startretries=2
EOF
	local t0 t1
	t0=$(date +%s%N)
	start_daemon
	retry_until 5 state_is a BACKOFF
	run -0 ctl status a
	[[ "$output" == *"BACKOFF   Exited too quickly (process log may have details)" ]]
	retry_until 10 state_is a FATAL
	t1=$(date +%s%N)
	# delays 1 s then 2 s between the three attempts
	[ $(( (t1 - t0) / 1000000 )) -ge 2900 ]
	[ "$(count "$D/main.log" "spawned: 'a'")" -eq 3 ]
	grep -q "gave up: a entered FATAL state, too many start retries too quickly" "$D/main.log"
	run -3 ctl status a
	[[ "$output" == "a"*"FATAL     Exited too quickly (process log may have details)" ]]
}

@test "startretries=-1 retries for ever with the delay capped by backoff_max" {
	conf <<EOF
[program:a]
command=false
startsecs=1
startretries=-1
backoff_max=0.1
EOF
	start_daemon
	retry_until 10 spawned_at_least 8
	run -0 ctl status a
	[[ "$output" == *"BACKOFF"* || "$output" == *"STARTING"* ]]
	! grep -q "gave up" "$D/main.log"
}

@test "a program that cannot be executed is FATAL with the reason" {
	conf <<EOF
[program:a]
command=$D/no-such-program
startretries=0
EOF
	start_daemon
	retry_until 5 state_is a FATAL
	run -3 ctl status a
	[[ "$output" == *"FATAL     unable to execute $D/no-such-program: No such file or directory" ]]
}

@test "an expected exit with autorestart=unexpected is EXITED and stays down" {
	conf <<EOF
[program:a]
command=sh -c 'sleep 0.3; exit 2'
startsecs=0
exitcodes=0,2
EOF
	start_daemon
	retry_until 5 state_is a EXITED
	run -3 ctl status a
	[[ "$output" =~ ^a\ +EXITED\ +[A-Z][a-z][a-z]\ [0-9]{2}\ [0-9]{2}:[0-9]{2}\ [AP]M$ ]]
	grep -q "exited: a (exited with status 2; expected)" "$D/main.log"
	[ "$(count "$D/main.log" "spawned: 'a'")" -eq 1 ]
}

@test "an unexpected exit with autorestart=unexpected is restarted" {
	conf <<EOF
[program:a]
command=sh -c 'sleep 0.3; exit 3'
startsecs=0
exitcodes=0,2
EOF
	start_daemon
	retry_until 5 spawned_at_least 2
	grep -q "exited: a (exited with status 3; not expected)" "$D/main.log"
}

@test "autorestart=false leaves even a crash EXITED" {
	conf <<EOF
[program:a]
command=sh -c 'sleep 0.2; kill -9 \$\$'
startsecs=0
autorestart=false
EOF
	start_daemon
	retry_until 5 state_is a EXITED
	grep -q "exited: a (killed by SIGKILL (Killed); not expected)" "$D/main.log"
	run -3 ctl status --json a
	[[ "$output" == *'"state":"EXITED","pid":0,"uptime":0,"exit":null,"signal":"SIGKILL","signum":9'* ]]
}

@test "a program that was up longer than startsecs is respawned at once" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0.1
autorestart=true
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	local old
	old=$(pid_of a)
	kill -KILL "$old"
	# no backoff delay: a new pid within a fraction of a second
	retry_until 1 pid_changed a "$old"
}

@test "ready_fd: RUNNING only once the program writes a newline there" {
	conf <<EOF
[program:a]
command=sh -c 'sleep 1; echo ready >&3; exec sleep 100'
ready_fd=3
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a STARTING
	retry_until 5 state_is a RUNNING
	grep -q "success: a entered RUNNING state, process said it is ready" "$D/main.log"
}

@test "stop escalates to SIGKILL after stopwaitsecs" {
	conf <<EOF
[program:a]
command=sh -c 'trap "" TERM; while :; do sleep 1; done'
startsecs=0
stopwaitsecs=0.5
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	local pid
	pid=$(pid_of a)
	run -0 ctl stop a
	[ "$output" = "a: stopped" ]
	gone "$pid"
	grep -q "killing 'a' ($pid) with SIGKILL" "$D/main.log"
	grep -q "stopped: a (killed by SIGKILL (Killed))" "$D/main.log"
}

@test "stopasgroup stops the whole process group, grandchild included" {
	conf <<EOF
[program:a]
command=sh -c 'sleep 300 & echo \$! > $D/gc; wait'
startsecs=0
stopasgroup=true
EOF
	start_daemon
	retry_until 5 test -s "$D/gc"
	local gc pid
	gc=$(cat "$D/gc")
	pid=$(pid_of a)
	[ -e "/proc/$gc" ]
	run -0 ctl stop a
	retry_until 5 gone "$gc"
	gone "$pid"
}

@test "orphaned grandchildren are reaped by supervise: no zombies" {
	conf <<EOF
[program:a]
command=sh -c '( (sleep 0.5; echo done > $D/gc-done) & echo \$! > $D/gc ); exec sleep 300'
startsecs=0
EOF
	start_daemon
	retry_until 5 test -s "$D/gc"
	local gc
	gc=$(cat "$D/gc")
	# its parent subshell is gone: the orphan now belongs to supervise
	[ ! -e "/proc/$gc" ] || grep -q "^PPid:[[:space:]]*$DPID$" "/proc/$gc/status"
	retry_until 5 test -s "$D/gc-done"
	retry_until 5 gone "$gc"
	[ ! -e "/proc/$gc" ]
	no_zombie_children
}

# ---- logs -------------------------------------------------------------------

@test "stdout and stderr go to their log files, AUTO under childlogdir" {
	conf <<EOF
[program:a]
command=sh -c 'echo out; echo err >&2; exec sleep 100'
startsecs=0
EOF
	start_daemon
	retry_until 5 grep -qx out "$D/supervise-logs/a-stdout.log"
	retry_until 5 grep -qx err "$D/supervise-logs/a-stderr.log"
	run -0 ctl tail a
	[ "$output" = "out" ]
	run -0 ctl tail a stderr
	[ "$output" = "err" ]
}

@test "redirect_stderr puts both streams in the stdout log" {
	conf <<EOF
[program:a]
command=sh -c 'echo out; echo err >&2; exec sleep 100'
startsecs=0
redirect_stderr=true
EOF
	start_daemon
	retry_until 5 grep -qx err "$D/supervise-logs/a-stdout.log"
	grep -qx out "$D/supervise-logs/a-stdout.log"
	[ ! -e "$D/supervise-logs/a-stderr.log" ]
	run -1 ctl tail a stderr
	[ "$output" = "a: ERROR (no log file)" ]
}

@test "rotation keeps every file within maxbytes and at most backups+1 files" {
	conf <<EOF
[program:a]
command=sh -c 'head -c 3000000 /dev/urandom | od -An -v; exec sleep 100'
startsecs=0
stdout_logfile=$D/a.log
stdout_logfile_maxbytes=100KB
stdout_logfile_backups=3
EOF
	start_daemon
	retry_until 30 test -e "$D/a.log.3"
	retry_until 30 state_is a RUNNING
	sleep 0.5   # let the last of the output be written (nothing to wait on)
	local f total=0 s
	for f in "$D"/a.log*; do
		s=$(stat -c %s "$f")
		[ "$s" -le 102400 ]
		total=$((total + s))
	done
	[ "$total" -le $((102400 * 4)) ]
	[ ! -e "$D/a.log.4" ]
	[ "$(ls "$D"/a.log* | wc -l)" -eq 4 ]
}

@test "a program writing 100 MB as fast as it can is never blocked" {
	conf <<EOF
[program:a]
command=sh -c 'head -c 100000000 /dev/zero; echo finished > $D/fin; exec sleep 100'
startsecs=0
stdout_logfile=$D/a.log
stdout_logfile_maxbytes=1MB
stdout_logfile_backups=1
EOF
	start_daemon
	retry_until 60 test -s "$D/fin"
	# the writer may still be rotating: a.log can be missing for a moment,
	# so each size is read in one step that a rename cannot split
	size_at_most() { local s; s=$(stat -c %s "$1" 2>/dev/null) && [ "$s" -le "$2" ]; }
	retry_until 10 size_at_most "$D/a.log" 1048576
	retry_until 10 size_at_most "$D/a.log.1" 1048576
	[ ! -e "$D/a.log.2" ]
	run -0 ctl status --json a
	[[ "$output" == *'"state":"RUNNING"'* ]]
}

wchar() { sed -n 's/^wchar: //p' "/proc/$1/io"; }
log_size_moves() {
	local a b
	a=$(stat -c %s "$D/src/a.log")
	sleep 0.2
	b=$(stat -c %s "$D/src/a.log")
	[ "$a" != "$b" ]
}

@test "a log on a disk that stops answering blocks neither the program nor the daemon" {
	need_root
	need_cmd bindfs
	[ -c /dev/fuse ] || needs "needs /dev/fuse"
	mkdir "$D/src" "$D/mnt"
	bindfs --no-allow-other "$D/src" "$D/mnt"
	FUSE_PID=$(pgrep -n -f "^bindfs --no-allow-other $D/src")
	[ -n "$FUSE_PID" ]
	conf <<EOF
[program:a]
command=cat /dev/zero
startsecs=0
stdout_logfile=$D/mnt/a.log
stdout_logfile_maxbytes=1MB
stdout_logfile_backups=0
EOF
	start_daemon
	retry_until 10 test -s "$D/src/a.log"
	local pid w1 w2
	pid=$(pid_of a)
	kill -STOP "$FUSE_PID"
	sleep 0.5
	# the program goes on writing: far more than the pipe and queue hold
	w1=$(wchar "$pid")
	sleep 1
	w2=$(wchar "$pid")
	[ $((w2 - w1)) -gt $((32 << 20)) ]
	# the daemon goes on answering, and counts what it dropped
	run -0 timeout 5 supervise ctl -c "$D/sv.conf" status --json a
	[[ "$output" == *'"state":"RUNNING"'* ]]
	[[ "$output" =~ \"log_dropped\":[1-9][0-9]* ]]
	# the disk answers again: the log is written again
	kill -CONT "$FUSE_PID"
	retry_until 10 log_size_moves
}

@test "SIGUSR2 reopens the log files" {
	conf <<EOF
[program:a]
command=sh -c 'echo one; sleep 1; echo two; exec sleep 100'
startsecs=0
stdout_logfile=$D/a.log
EOF
	start_daemon
	retry_until 5 grep -qx one "$D/a.log"
	mv "$D/a.log" "$D/a.log.old"
	kill -USR2 "$DPID"
	retry_until 5 grep -qx two "$D/a.log"
	! grep -q two "$D/a.log.old"
}

# ---- control socket and access ----------------------------------------------

@test "the socket gets the configured chmod (default 0700)" {
	conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	[ "$(stat -c %a "$D/sock")" = 700 ]
}

@test "a client that is not root, the daemon's user or the chown group is refused" {
	need_root
	need_cmd setpriv
	SOCKEXTRA=chmod=0777 conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	[ "$(stat -c %a "$D/sock")" = 777 ]
	run -4 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PROCBOX" supervise ctl -s "$D/sock" status
	[ "$output" = "ERROR: permission denied" ]
	grep -q "refused a control connection" "$D/main.log"
	run -0 supervise ctl -s "unix://$D/sock" pid
	[ "$output" = "$DPID" ]
}

@test "members of the chown group are let in" {
	need_root
	need_cmd setpriv
	SOCKEXTRA=$'chmod=0770\nchown=root:nogroup' conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	[ "$(stat -c %a:%G "$D/sock")" = 770:nogroup ]
	run -0 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PROCBOX" supervise ctl -s "$D/sock" pid
	[ "$output" = "$DPID" ]
}

@test "a stale socket is replaced" {
	need_cmd python3
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$D/sock"
	[ -S "$D/sock" ]
	conf <<EOF
[program:a]
command=sleep 100
EOF
	supervise -n -c "$D/sv.conf" >"$D/out" 2>&1 3>&- &
	DPID=$!
	retry_until 10 ctl pid
	run -0 ctl pid
	[ "$output" = "$DPID" ]
}

@test "a second daemon on the same config refuses to start" {
	conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	run -1 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: another supervise is already running (pidfile $D/sv.pid is locked)" ]
	run -0 ctl pid
	[ "$output" = "$DPID" ]
}

@test "a second daemon on the same socket refuses to start" {
	conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	sed "s|^pidfile=.*|pidfile=$D/other.pid|" "$D/sv.conf" >"$D/other.conf"
	run -1 supervise -n -c "$D/other.conf"
	[ "$output" = "supervise: another supervise is already listening on $D/sock" ]
}

# ---- reread, update, reload, shutdown -----------------------------------------

@test "reread lists changes; update restarts only the changed programs" {
	conf <<EOF
[program:a]
command=sleep 101
startsecs=0

[program:b]
command=sleep 102
startsecs=0

[program:c]
command=sleep 103
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	retry_until 5 state_is b RUNNING
	retry_until 5 state_is c RUNNING
	local pa pb pc
	pa=$(pid_of a) pb=$(pid_of b) pc=$(pid_of c)
	run -0 ctl reread
	[ "$output" = "No config updates to processes" ]
	sed -i 's/sleep 102/sleep 202/; /^\[program:c\]/,$d' "$D/sv.conf"
	printf '[program:d]\ncommand=sleep 104\nstartsecs=0\n' >>"$D/sv.conf"
	run -0 ctl reread
	[ "$output" = $'b: changed\nc: disappeared\nd: available' ]
	run -0 ctl update
	[ "$output" = $'c: stopped\nc: removed process group\nb: stopped\nb: updated process group\nd: added process group' ]
	retry_until 5 state_is d RUNNING
	retry_until 5 pid_changed b "$pb"
	[ "$(pid_of a)" = "$pa" ]
	retry_until 5 gone "$pc"
	run -4 ctl status c
	[ "$output" = "c: ERROR (no such process)" ]
	grep -q "sleep 202" "/proc/$(pid_of b)/cmdline" || tr '\0' ' ' <"/proc/$(pid_of b)/cmdline" | grep -q "sleep 202"
}

@test "SIGHUP rereads and updates, restarting only what changed" {
	conf <<EOF
[program:a]
command=sleep 101
startsecs=0

[program:b]
command=sleep 102
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	retry_until 5 state_is b RUNNING
	local pa pb
	pa=$(pid_of a) pb=$(pid_of b)
	sed -i 's/sleep 102/sleep 302/' "$D/sv.conf"
	kill -HUP "$DPID"
	retry_until 5 pid_changed b "$pb"
	retry_until 5 state_is b RUNNING
	[ "$(pid_of a)" = "$pa" ]
}

@test "reread of a broken config reports it and changes nothing" {
	conf <<EOF
[program:a]
command=sleep 101
EOF
	start_daemon
	echo "garbage" >>"$D/sv.conf"
	run -1 supervise ctl -s "$D/sock" reread
	[ "$output" = "ERROR: CANT_REREAD: $D/sv.conf:12: expected 'key = value'" ]
	run -1 supervise ctl -s "$D/sock" update
	[ "$output" = "ERROR: CANT_REREAD: $D/sv.conf:12: expected 'key = value'" ]
}

@test "update answers once the old program is gone" {
	conf <<EOF
[program:a]
command=sh -c 'trap "" TERM; exec sleep 100'
startsecs=0
stopwaitsecs=1
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	local pa
	pa=$(pid_of a)
	sed -i 's/sleep 100/sleep 101/' "$D/sv.conf"
	# TERM is ignored: the stop takes stopwaitsecs, then SIGKILL
	run -0 ctl update
	[ "$output" = $'a: stopped\na: updated process group' ]
	gone "$pa"
	retry_until 5 state_is a RUNNING
}

@test "reload restarts every program with the new config" {
	conf <<EOF
[program:a]
command=sleep 101
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	local pa
	pa=$(pid_of a)
	run -0 ctl reload
	[ "$output" = "Restarted supervisord" ]
	retry_until 5 pid_changed a "$pa"
}

@test "reload starts over from [supervisord] and [unix_http_server] too, same pid" {
	conf <<EOF
[program:a]
command=sleep 101
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	[ "$(stat -c %a "$D/sock")" = 700 ]
	local pa
	pa=$(pid_of a)
	sed -i -e "s|^logfile=.*|logfile=$D/new.log|" -e "s|^pidfile=.*|pidfile=$D/new.pid|" \
		-e "s|^file=$D/sock|file=$D/sock\nchmod=0750|" -e 's/sleep 101/sleep 102/' "$D/sv.conf"
	run -0 ctl reload
	[ "$output" = "Restarted supervisord" ]
	retry_until 10 test -s "$D/new.pid"
	retry_until 10 state_is a RUNNING
	# the same process, with the new settings
	[ "$(cat "$D/new.pid")" = "$DPID" ]
	[ "$(ctl pid)" = "$DPID" ]
	[ "$(stat -c %a "$D/sock")" = 750 ]
	retry_until 5 grep -q "supervise started with pid $DPID" "$D/new.log"
	[ ! -e "$D/sv.pid" ]
	# the program was stopped and started again from the new config
	pid_changed a "$pa"
	[ "$(tr '\0' ' ' </proc/"$(pid_of a)"/cmdline)" = "sleep 102 " ]
	! kill -0 "$pa" 2>/dev/null
}

@test "shutdown stops every program and leaves no child behind" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0

[program:b]
command=sh -c 'sleep 200 & wait'
startsecs=0
stopasgroup=true
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	retry_until 5 state_is b RUNNING
	[ -n "$(marked_pids)" ]
	run -0 ctl shutdown
	[ "$output" = "Shut down" ]
	retry_until 10 gone "$DPID"
	[ -z "$(marked_pids)" ]
	[ ! -e "$D/sock" ] && [ ! -e "$D/sv.pid" ]
	wait "$DPID"
}

@test "shutdown also stops what the programs left behind" {
	conf <<EOF
[program:a]
command=sh -c 'sleep 300 & sleep 301 & exit 0'
startsecs=0
autorestart=false

[program:b]
command=sh -c 'trap "" TERM; sleep 302 & exec sleep 100'
startsecs=0
stopsignal=KILL
EOF
	start_daemon
	retry_until 5 state_is a EXITED
	retry_until 5 state_is b RUNNING
	# the orphans are the daemon's now (subreaper); one ignores SIGTERM
	retry_until 5 eval '[ "$(ps -o args= --ppid "$DPID" | grep -c "^sleep 30[01]$")" = 2 ]'
	run -0 ctl shutdown
	retry_until 10 gone "$DPID"
	[ -z "$(marked_pids)" ]
	grep -q "stopping 3 processes the programs left behind" "$D/main.log"
}

@test "SIGTERM shuts the daemon down with status 0" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	kill -TERM "$DPID"
	local rc=0
	wait "$DPID" || rc=$?
	[ "$rc" -eq 0 ]
	[ -z "$(marked_pids)" ]
}

# ---- ctl verbs -------------------------------------------------------------------

@test "status shows supervisorctl's columns and exits 3 when one is not running" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0

[program:b]
command=sleep 100
autostart=false

[program:longer_name_than_thirty_characters]
command=sleep 100
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	retry_until 5 state_is longer_name_than_thirty_characters RUNNING
	run -3 ctl status
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^a\ {36}RUNNING\ {3}pid\ [0-9]+,\ uptime\ 0:00:[0-9]{2}$ ]]
	[ "${lines[1]}" = "b$(printf '%36s' '')STOPPED   Not started" ]
	[[ "${lines[2]}" =~ ^longer_name_than_thirty_characters\ {3}RUNNING ]]
	run -0 ctl status a
	run -3 ctl status b
	run -4 ctl status nope
	[ "${lines[0]}" = "nope: ERROR (no such process)" ]
	run -4 ctl status nope:*
	[ "$output" = "nope: ERROR (no such group)" ]
}

@test "status --json gives one object per program" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	run -0 ctl status --json
	[[ "$output" =~ ^\[\{\"name\":\"a\",\"group\":\"a\",\"state\":\"RUNNING\",\"pid\":$(pid_of a), ]]
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[0]["state"]=="RUNNING"'
}

@test "start, stop and restart print supervisorctl's results" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0.2
autostart=false

[group:g]
programs=x,y

[program:x]
command=sleep 100
startsecs=0

[program:y]
command=sleep 100
startsecs=0
EOF
	start_daemon
	run -0 ctl start a
	[ "$output" = "a: started" ]
	state_is a RUNNING
	run -0 ctl start a
	[ "$output" = "a: ERROR (already started)" ]
	run -0 ctl restart a
	[ "$output" = $'a: stopped\na: started' ]
	run -0 ctl stop a
	[ "$output" = "a: stopped" ]
	run -0 ctl stop a
	[ "$output" = "a: ERROR (not running)" ]
	retry_until 5 state_is g:x RUNNING
	run -0 ctl stop 'g:*'
	[ "$output" = $'g:x: stopped\ng:y: stopped' ]
	run -0 ctl start g:y
	[ "$output" = "g:y: started" ]
	run -0 ctl start all
	[ "$output" = $'a: started\ng:x: started\ng:y: ERROR (already started)' ]
	run -0 ctl stop all
	[ "${#lines[@]}" -eq 3 ]
}

@test "start and stop errors: unknown names, no name, spawn error" {
	conf <<EOF
[program:a]
command=false
autostart=false
startretries=0

[program:m]
command=$D/missing
autostart=false
EOF
	start_daemon
	run -1 ctl start nope
	[ "$output" = "nope: ERROR (no such process)" ]
	run -2 ctl start nope:*
	[ "$output" = "nope: ERROR (no such group)" ]
	run -2 ctl start
	[ "${lines[0]}" = "Error: start requires a process name" ]
	run -1 ctl stop
	[ "${lines[0]}" = "Error: stop requires a process name" ]
	run -1 ctl stop nope
	[ "$output" = "nope: ERROR (no such process)" ]
	run -7 ctl start a
	[ "$output" = "a: ERROR (spawn error)" ]
	run -1 ctl start m
	[ "$output" = "m: ERROR (no such file)" ]
}

@test "signal sends a signal by name; bad names and stopped programs are errors" {
	conf <<EOF
[program:a]
command=sh -c 'trap "echo got-usr1 > $D/usr1" USR1; while :; do sleep 0.1; done'
startsecs=0

[program:b]
command=sleep 100
autostart=false
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	run -0 ctl signal USR1 a
	[ "$output" = "a: signalled" ]
	retry_until 5 grep -qx got-usr1 "$D/usr1"
	run -1 ctl signal NOSUCH a
	[ "$output" = "a: ERROR (bad signal name)" ]
	run -7 ctl signal HUP b
	[ "$output" = "b: ERROR (not running)" ]
	run -1 ctl signal HUP
	[ "${lines[0]}" = "Error: signal requires a signal name and a process name" ]
}

@test "pid prints the daemon's pid, a program's pid, or 0 with status 7" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0

[program:b]
command=sleep 100
autostart=false
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	run -0 ctl pid
	[ "$output" = "$DPID" ]
	run -0 ctl pid a
	[ -e "/proc/$output" ]
	grep -q "^PPid:[[:space:]]*$DPID$" "/proc/$output/status"
	run -7 ctl pid b
	[ "$output" = 0 ]
	run -1 ctl pid nope
	[ "$output" = "No such process nope" ]
	run -0 ctl pid all
	[ "${#lines[@]}" -eq 2 ]
}

@test "version, help and unknown verbs" {
	conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	run -0 ctl version
	[ "$output" = "0.1.0" ]
	run -0 ctl help stop
	[ "${lines[0]}" = "stop <name>		Stop a process" ]
	run -0 ctl help
	[[ "$output" == *"default commands (type help <topic>):"* ]]
	run -0 supervise ctl --help
	[[ "$output" == *"default commands (type help <topic>):"* ]]
	# supervisorctl's codes (tests/supervise-ctl.bats runs it side by side)
	run -0 ctl help nosuch
	[ "$output" = "*** No help on nosuch" ]
	run -1 ctl frobnicate
	[ "$output" = "*** Unknown syntax: frobnicate" ]
	run -1 ctl shutdown now
	[ "${lines[0]}" = "Error: shutdown accepts no arguments" ]
	run -1 ctl avail x
	[ "$output" = "Error: avail accepts no arguments" ]
}

@test "tail -BYTES, tail -f pushes new output, maintail" {
	conf <<EOF
[program:a]
command=sh -c 'echo first; while [ ! -e $D/go ]; do sleep 0.05; done; echo second; exec sleep 100'
startsecs=0
EOF
	start_daemon
	retry_until 5 grep -qx first "$D/supervise-logs/a-stdout.log"
	run -0 ctl tail -3 a
	[ "$output" = "st" ]
	supervise ctl -c "$D/sv.conf" tail -f a >"$D/follow" 3>&- &
	local tp=$!
	retry_until 5 grep -qx first "$D/follow"
	touch "$D/go"
	retry_until 5 grep -qx second "$D/follow"
	kill "$tp"
	wait "$tp" || true
	run -0 ctl maintail
	[[ "$output" == *"spawned: 'a' with pid"* ]]
	run -1 ctl tail nope
	[ "$output" = "nope: ERROR (no such process name)" ]
	run -2 ctl tail a stdboth
	[ "$output" = "Error: tail [-f] [-BYTES] <name> [stdout|stderr]" ]
}

@test "with no verb, ctl is an interactive supervisor> prompt" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	run -0 bash -c "printf 'pid a\nversion\nquit\n' | supervise ctl -c '$D/sv.conf'"
	[[ "${lines[0]}" == "a "*RUNNING* ]]
	[[ "${lines[1]}" =~ ^supervisor\>\ [0-9]+$ ]]
	[ "${lines[2]}" = "supervisor> 0.1.0" ]
	[ "${lines[3]}" = "supervisor> " ]
}

@test "no server: status exits 4, other verbs 7, shutdown 1" {
	run -4 supervise ctl -s "$D/nosock" status
	[ "$output" = "unix://$D/nosock no such file" ]
	run -7 supervise ctl -s "$D/nosock" stop all
	[ "$output" = "unix://$D/nosock no such file" ]
	run -1 supervise ctl -s "$D/nosock" shutdown
	[ "$output" = "ERROR: unix://$D/nosock no such file (already shut down?)" ]
}

@test "ctl usage errors exit 2" {
	run -2 supervise ctl --bogus
	[ "${lines[0]}" = "supervise: unknown option '--bogus'" ]
	run -2 supervise ctl -c a -s b status
	[ "${lines[0]}" = "supervise: -c and -s cannot be combined" ]
	run -2 supervise ctl -c "$D/missing.conf" status
	[ "$output" = "supervise: unable to read $D/missing.conf: No such file or directory" ]
}

# ---- one command, no config ---------------------------------------------------

@test "supervise -- CMD keeps a crashing command alive (the crash-and-restart demo)" {
	supervise --startsecs 0.2 -s "$D/sock" -- sh -c "echo run >> $D/runs; sleep 0.4; exit 1" \
		>"$D/out" 2>&1 3>&- &
	DPID=$!
	retry_until 10 runs_at_least 3
	run -0 supervise ctl -s "$D/sock" status
	[[ "$output" == "sh "* ]]
	kill -TERM "$DPID"
	local rc=0
	wait "$DPID" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "supervise -- CMD with autorestart false exits with the command's status" {
	run -5 supervise --autorestart false --startsecs 0 -- sh -c 'exit 5'
	[[ "$output" == *"exited: sh (exited with status 5; not expected)"* ]]
	run -127 supervise --startretries 0 -- "$D/no-such-command"
	[[ "$output" == *"gave up: no-such-command entered FATAL state"* ]]
}

# ---- no polling -------------------------------------------------------------------

@test "the daemon does not wake up while nothing happens" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0

[program:b]
command=sleep 100
startsecs=0
EOF
	start_daemon
	retry_until 5 state_is a RUNNING
	retry_until 5 state_is b RUNNING
	local before after
	before=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$DPID/status")
	sleep 2   # the measurement itself: two idle seconds
	after=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$DPID/status")
	[ "$before" = "$after" ]
}

# ---- daemon mode and the config search -------------------------------------------

@test "without -n it daemonizes: the caller returns once the daemon is up" {
	conf <<EOF
[program:a]
command=sleep 100
startsecs=0
EOF
	run -0 supervise -c "$D/sv.conf"
	[ -z "$output" ]
	DPID=$(cat "$D/sv.pid")
	[ -S "$D/sock" ]
	# a session of its own, not a child of this shell
	[ "$(awk '{ print $6 }' "/proc/$DPID/stat")" != "$(awk '{ print $6 }' /proc/$$/stat)" ]
	[ "$(awk '/^PPid/ { print $2 }' "/proc/$DPID/status")" != "$$" ]
	run -0 ctl pid
	[ "$output" = "$DPID" ]
	retry_until 5 state_is a RUNNING
	run -0 ctl shutdown
	retry_until 10 gone "$DPID"
}

@test "without -c, daemon and ctl find ./supervisord.conf as supervisord does" {
	conf <<EOF
[program:a]
command=sleep 100
EOF
	mv "$D/sv.conf" "$D/supervisord.conf"
	cd "$D"
	supervise -n >"$D/out" 2>&1 3>&- &
	DPID=$!
	retry_until 10 test -S "$D/sock"
	run -0 supervise ctl pid
	[ "$output" = "$DPID" ]
}
