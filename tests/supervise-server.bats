#!/usr/bin/env bats
# supervise: the control server and the log files under hostile load —
# bounded memory and descriptors per client, peers checked by what they
# had when they connected, and files written as root in directories that
# others can write to.

bats_require_minimum_version 1.5.0
load helpers
load supervise_helpers

setup() {
	# short: Unix socket paths are limited to 107 bytes
	D=$(mktemp -d /tmp/svs.XXXXXX)
	chmod 755 "$D"
	DPID= SDPID= HOLDER=
}

teardown() {
	[ -z "$HOLDER" ] || kill -KILL "$HOLDER" 2>/dev/null
	stop_pid "$DPID"
	stop_pid "$SDPID"
	kill_marked
	rm -rf "$D"
}

conf() {
	cat >"$D/sv.conf" <<EOF
[supervisord]
logfile=$D/main.log
pidfile=$D/sv.pid
childlogdir=${CHILDLOGDIR:-$D}
environment=SVMARK="$D"

[unix_http_server]
file=$D/sock
${SOCKEXTRA:-}
EOF
	cat >>"$D/sv.conf"
}

# start_daemon [ULIMIT-OPTION VALUE]: the limit is the daemon's alone
start_daemon() {
	(
		[ $# = 0 ] || ulimit "$@"
		exec supervise -n -c "$D/sv.conf"
	) >"$D/out" 2>&1 3>&- &
	DPID=$!
	retry_until 10 test -S "$D/sock" || { cat "$D/out" >&2; return 1; }
}

ctl() { supervise ctl -c "$D/sv.conf" "$@"; }
state_is() { [ "$(ctl status "$1" | awk '{ print $2 }')" = "$2" ]; }
count() { grep -c -- "$2" "$1" || true; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# a python3 that nobody may run (not a shim under /root)
need_system_python() {
	need_cmd setpriv
	[ -x /usr/bin/python3 ] || needs "needs /usr/bin/python3"
}

# ---- memory --------------------------------------------------------------------

@test "a tail -f reader slower than the program skips ahead with a marker; memory stays bounded" {
	need_cmd python3
	conf <<EOF
[program:a]
command=yes 0123456789abcdef0123456789abcdef0123456789abcdef
stdout_logfile=$D/a.log
stdout_logfile_maxbytes=1MB
stdout_logfile_backups=0
EOF
	start_daemon
	retry_until 10 state_is a RUNNING
	# reads 40 MB, a piece every 2 ms: slower than yes, never idle
	run -0 timeout 60 python3 - "$D/sock" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"tail -f a\n")
got, last, marks = 0, b"", 0
while got < 40 << 20:
    b = s.recv(65536)
    if not b:
        break
    got += len(b)
    marks += (last + b).count(b"==> supervise: skipped ") - last.count(b"==> supervise: skipped ")
    last = b[-64:]
    time.sleep(0.002)
print(got >= 40 << 20, marks > 0)
EOF
	[ "$output" = "True True" ]
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DPID/status")
	echo "daemon peak RSS: $hwm kB" >&3
	# ASan's shadow memory and quarantine are not the daemon's
	[ -n "${PROCBOX_ASAN:-}" ] || [ "$hwm" -lt 16384 ]
	run -0 ctl pid
	[ "$output" = "$DPID" ]
}

@test "tail -1099511627776 on a log larger than the daemon's memory streams all of it; the daemon survives" {
	# a sparse 256 MiB log, a daemon limited to 128 MiB of address space
	truncate -s 256M "$D/a.log"
	conf <<EOF
[program:a]
command=sh -c 'echo END; exec sleep 100'
stdout_logfile=$D/a.log
stdout_logfile_maxbytes=0
EOF
	if [ -n "${PROCBOX_ASAN:-}" ]; then
		start_daemon	# ASan reserves terabytes of address space
	else
		start_daemon -v 131072
	fi
	retry_until 10 eval 'test "$(tail -c 4 "$D/a.log")" = END'
	ctl tail -1099511627776 a >"$D/got"
	[ "$(stat -c %s "$D/got")" = $((256 * 1024 * 1024 + 4)) ]
	[ "$(tail -c 4 "$D/got")" = END ]
	run -0 ctl pid
	[ "$output" = "$DPID" ]
	run -0 ctl tail -4 a
	[ "$output" = END ]
}

# ---- descriptors -----------------------------------------------------------------

@test "out of descriptors with 100 idle clients: status still answers and the daemon does not spin" {
	need_cmd python3
	conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon -n 32
	retry_until 10 state_is a RUNNING
	python3 - "$D/sock" "$D/held" <<'EOF' 3>&- &
import socket, sys, time
held = []
for i in range(100):
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except OSError:
        pass
    held.append(s)
open(sys.argv[2], "w").close()
time.sleep(120)
EOF
	HOLDER=$!
	retry_until 10 test -e "$D/held"
	run -0 timeout 5 supervise ctl -c "$D/sv.conf" status
	[[ "$output" == "a "*RUNNING* ]]
	t0=$(cpu_ticks "$DPID")
	sleep 1	# a measurement window, not a wait
	t1=$(cpu_ticks "$DPID")
	echo "daemon CPU over 1 s: $((t1 - t0)) ticks" >&3
	[ $((t1 - t0)) -le 10 ]
	run -0 timeout 5 supervise ctl -c "$D/sv.conf" pid
	[ "$output" = "$DPID" ]
}

@test "a client that sends no request is closed after 10 seconds" {
	need_cmd python3
	conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	run -0 python3 - "$D/sock" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(20)
t = time.monotonic()
b = s.recv(100)
print(b == b"", 9 <= time.monotonic() - t <= 15)
EOF
	[ "$output" = "True True" ]
}

# ---- peers ----------------------------------------------------------------------

@test "a chown group member is let in by the groups it had when it connected, even once gone" {
	need_root
	need_system_python
	SOCKEXTRA=$'chmod=0770\nchown=root:daemon' conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	# the connecting process has exited (its pid could be anyone's now)
	# before the daemon looks at the connection
	kill -STOP "$DPID"
	setpriv --reuid=nobody --regid=nogroup --groups=daemon /usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"pid\n")
if os.fork():
    os._exit(0)
r = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    r += b
sys.stdout.write(r.decode())
' "$D/sock" >"$D/reply" 3>&- &
	wait $!
	kill -CONT "$DPID"
	retry_until 10 grep -q . "$D/reply"
	retry_until 5 grep -qx "$DPID" "$D/reply"
}

@test "many refused connections write one log line, not one each" {
	need_root
	need_system_python
	SOCKEXTRA=chmod=0777 conf <<EOF
[program:a]
command=sleep 100
EOF
	start_daemon
	run -0 as_nobody /usr/bin/python3 - "$D/sock" <<'EOF'
import socket, sys
n = 0
for i in range(300):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    n += s.recv(100).startswith(b"4 ")
    s.close()
print(n)
EOF
	[ "$output" = 300 ]
	retry_until 5 grep -q "refused a control connection" "$D/main.log"
	run -0 ctl pid
	[ "$(count "$D/main.log" "refused a control connection from uid 65534: permission denied")" = 1 ]
}

# ---- files as root -----------------------------------------------------------------

@test "AUTO logs go in a 0700 directory of supervise's own under childlogdir" {
	conf <<EOF
[program:a]
command=sh -c 'echo out; echo err >&2; exec sleep 100'
EOF
	start_daemon
	retry_until 5 grep -sqx out "$D/supervise-logs/a-stdout.log"
	retry_until 5 grep -sqx err "$D/supervise-logs/a-stderr.log"
	[ "$(stat -c %a "$D/supervise-logs")" = 700 ]
	run -0 ctl tail a
	[ "$output" = out ]
}

@test "symbolic links planted by another user at AUTO log names do not make root write through them" {
	need_root
	need_cmd setpriv
	# writable by others, without the sticky bit that lets the kernel's
	# protected_symlinks stand in
	mkdir -m 0777 "$D/tmp"
	echo secret >"$D/victim"
	# the name AUTO logs had, and a directory of the name they have now
	as_nobody ln -s "$D/victim" "$D/tmp/a-stdout.log"
	as_nobody mkdir "$D/tmp/supervise-logs"
	as_nobody ln -s "$D/victim" "$D/tmp/supervise-logs/a-stdout.log"
	CHILDLOGDIR=$D/tmp conf <<EOF
[program:a]
command=sh -c 'echo pwned; exec sleep 100'
EOF
	start_daemon
	retry_until 10 state_is a RUNNING
	[ "$(cat "$D/victim")" = secret ]
	retry_until 5 grep -q "unable to open log file $D/tmp/supervise-logs/a-stdout.log: its directory is not supervise's own" "$D/main.log"
}

@test "a symbolic link or another user's file at a stdout_logfile= path is not written to" {
	need_root
	need_cmd setpriv
	# writable by others, without the sticky bit that lets the kernel's
	# protected_symlinks stand in
	mkdir -m 0777 "$D/tmp"
	echo secret >"$D/victim"
	as_nobody ln -s "$D/victim" "$D/tmp/out.log"
	as_nobody sh -c "echo mine >'$D/tmp/err.log'"
	conf <<EOF
[program:a]
command=sh -c 'echo pwned; echo pwned >&2; exec sleep 100'
stdout_logfile=$D/tmp/out.log
stderr_logfile=$D/tmp/err.log
EOF
	start_daemon
	retry_until 10 state_is a RUNNING
	[ "$(cat "$D/victim")" = secret ]
	[ "$(cat "$D/tmp/err.log")" = mine ]
	retry_until 5 grep -q "unable to open log file $D/tmp/out.log: it is a symbolic link of another user" "$D/main.log"
	retry_until 5 grep -q "unable to open log file $D/tmp/err.log: it belongs to another user or has other names" "$D/main.log"
	[ "$(cat "$D/victim")" = secret ]
	[ "$(cat "$D/tmp/err.log")" = mine ]
}

@test "stdout_logfile=/dev/stdout (a symbolic link of root's) still reaches the daemon's output" {
	conf <<EOF
[program:a]
command=sh -c 'echo to-docker-logs; exec sleep 100'
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
EOF
	start_daemon
	retry_until 5 grep -qx to-docker-logs "$D/out"
}

@test "a regular file at the socket path makes supervise refuse to start and survives (supervisord deletes it)" {
	need_cmd supervisord
	echo keep >"$D/sock"
	conf <<EOF
[program:a]
command=sleep 100
EOF
	run -1 timeout 10 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: unable to bind $D/sock: it exists and is not a socket" ]
	[ "$(cat "$D/sock")" = keep ]
	# supervisord takes any file there for a stale socket
	echo keep >"$D/sd.sock"
	cat >"$D/sd.conf" <<EOF
[supervisord]
nodaemon=true
logfile=$D/sd.log
pidfile=$D/sd.pid
childlogdir=$D

[unix_http_server]
file=$D/sd.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:a]
command=sleep 100
environment=SVMARK="$D"
EOF
	supervisord -n -c "$D/sd.conf" >"$D/sd.out" 2>&1 3>&- &
	SDPID=$!
	retry_until 15 test -S "$D/sd.sock"
	grep -q "Unlinking stale socket $D/sd.sock" "$D/sd.out"
}

@test "a log write that fails (disk full) is said once in the main log" {
	conf <<EOF
[program:a]
command=sh -c 'for i in 1 2 3 4 5; do echo line \$i; sleep 0.1; done; touch $D/done; exec sleep 100'
stdout_logfile=/dev/full
EOF
	start_daemon
	retry_until 10 test -e "$D/done"
	retry_until 5 grep -q "unable to write log file /dev/full: No space left on device" "$D/main.log"
	[ "$(count "$D/main.log" "unable to write log file")" = 1 ]
}
