#!/usr/bin/env bats
# supervise ctl against supervisorctl: what it reads of the configuration,
# what it prints, its exit codes, the interactive prompt, and how long it
# waits for a daemon. Where supervisorctl has the behaviour, both run in
# the same test against their own daemon on the same configuration.

bats_require_minimum_version 1.5.0
load helpers
load supervise_helpers

setup() {
	# short: Unix socket paths are limited to 107 bytes
	D=$(mktemp -d /tmp/svc.XXXXXX)
	chmod 755 "$D"
	DPID= SDPID= FAKE=
}

teardown() {
	stop_pid "$DPID"
	stop_pid "$SDPID"
	[ -z "$FAKE" ] || { kill -KILL "$FAKE" && wait "$FAKE"; } 2>/dev/null || true
	kill_marked
	rm -rf "$D"
}

# conf NAME: $D/NAME.conf, its socket $D/NAME.sock, programs from stdin.
# supervisord (sd) needs its rpcinterface section; supervise warns about it.
conf() {
	cat >"$D/$1.conf" <<EOF
[supervisord]
logfile=$D/$1.log
pidfile=$D/$1.pid
childlogdir=$D
environment=SVMARK="$D"

[unix_http_server]
file=$D/$1.sock

[supervisorctl]
serverurl=unix://$D/$1.sock

EOF
	[ "$1" != sd ] || printf '[rpcinterface:supervisor]\n%s\n\n' \
		'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface' \
		>>"$D/$1.conf"
	cat >>"$D/$1.conf"
}

# both daemons on the same programs: supervise on sv.conf, supervisord on
# sd.conf
both_confs() {
	local progs
	progs=$(cat)
	conf sv <<<"$progs"
	conf sd <<<"$progs"
}

start_supervise() {
	supervise -n -c "$D/sv.conf" >"$D/sv.out" 2>&1 3>&- &
	DPID=$!
	retry_until 10 test -S "$D/sv.sock" || { cat "$D/sv.out" >&2; return 1; }
}

start_supervisord() {
	need_cmd supervisord supervisorctl
	supervisord -n -c "$D/sd.conf" >"$D/sd.out" 2>&1 3>&- &
	SDPID=$!
	retry_until 15 test -S "$D/sd.sock" || { cat "$D/sd.out" >&2; return 1; }
}

ctl() { supervise ctl -c "$D/sv.conf" "$@"; }
sctl() { supervisorctl -c "$D/sd.conf" "$@"; }
running_in() { "$1" status "$2" | grep -q RUNNING; }

# pty_session CMD...: runs CMD on a terminal, types `tail -f a`, waits for
# a's output, types Ctrl-C, then `pid` and `quit`; prints what happened.
# Every wait is bounded.
pty_session() {
	/usr/bin/python3 - "$@" <<'EOF'
import os, pty, select, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(sys.argv[1], sys.argv[1:])
buf, deadline = b'', time.monotonic() + 20
# the prompt's end: a wrong prompt is another test's failure
PROMPT = b'> '
def until(pat, start):
    global buf
    while time.monotonic() < deadline:
        i = buf.find(pat, start)
        if i >= 0:
            return i + len(pat)
        if select.select([fd], [], [], 0.1)[0]:
            try:
                d = os.read(fd, 4096)
            except OSError:
                d = b''
            if not d:
                break
            buf += d
    os.kill(pid, signal.SIGKILL)
    st = os.waitpid(pid, 0)[1]
    print(buf.decode(errors='replace'))
    print('no %r; ended: %s' % (pat.decode(), 'signal %d' % os.WTERMSIG(st)
        if os.WIFSIGNALED(st) else 'exit %d' % os.WEXITSTATUS(st)))
    sys.exit(1)
pos = until(PROMPT, 0)
os.write(fd, b'tail -f a\n')
pos = until(b'tick', pos)
os.write(fd, b'\x03')
pos = until(PROMPT, pos)
print('back at the prompt')
os.write(fd, b'pid\n')
pos = until(PROMPT, pos)
os.write(fd, b'quit\n')
while select.select([fd], [], [], max(0, deadline - time.monotonic()))[0]:
    try:
        if not os.read(fd, 4096):
            break
    except OSError:
        break
done, st = 0, 0
while not done and time.monotonic() < deadline:
    done, st = os.waitpid(pid, os.WNOHANG)
    time.sleep(0.02)
print('exit %d' % os.WEXITSTATUS(st) if done and os.WIFEXITED(st) else 'still running')
EOF
}

# ---- the configuration ctl reads -------------------------------------------------

@test "ctl reads only where the socket is: a broken program does not stop status or stop" {
	both_confs <<EOF
[program:a]
command=sleep 100
startsecs=0
EOF
	start_supervise
	start_supervisord
	retry_until 10 running_in ctl a
	retry_until 10 running_in sctl a
	# being edited: a bad value and a line that is not "key = value"
	local f
	for f in sv sd; do
		printf '[program:b]\ncommand=sleep 100\nautorestart=maybe\nstartsecs=abc\n' >>"$D/$f.conf"
	done
	run -0 sctl status a
	[[ "$output" == "a "*RUNNING* ]]
	run -0 ctl status a
	[[ "$output" == "a "*RUNNING* ]]
	printf 'this line is broken\n' >>"$D/sv.conf"
	run -0 ctl status a
	[[ "$output" == "a "*RUNNING* ]]
	run -0 ctl stop a
	[ "$output" = "a: stopped" ]
	run -0 sctl stop a
	[ "$output" = "a: stopped" ]
}

@test "ctl finds the socket through %(here)s in serverurl, else [unix_http_server] file" {
	conf sv <<EOF
[program:a]
command=sleep 100
startsecs=0
EOF
	start_supervise
	retry_until 10 running_in ctl a
	sed -i "s|^serverurl=.*|serverurl=unix://%(here)s/sv.sock|" "$D/sv.conf"
	cd "$D"
	run -0 supervise ctl -c sv.conf status a
	[[ "$output" == "a "*RUNNING* ]]
	sed -i "/^serverurl=/d" "$D/sv.conf"
	run -0 ctl status a
	[[ "$output" == "a "*RUNNING* ]]
	sed -i "s|^file=.*|file=$D/nosock|" "$D/sv.conf"
	run -4 ctl status a
	[ "$output" = "unix://$D/nosock no such file" ]
}

@test "ctl prints none of the daemon's 'not implemented' warnings, as supervisorctl" {
	both_confs <<EOF
[program:a]
command=sleep 100
startsecs=0
stdout_events_enabled=true
EOF
	sed -i "s|^file=.*|&\nusername=u\npassword=p\n\n[rpcinterface:supervisor]\nx=y|" "$D/sv.conf"
	start_supervise
	start_supervisord
	retry_until 10 running_in ctl a
	grep -q "not implemented" "$D/sv.out"
	local c
	for c in sctl ctl; do
		run -0 --separate-stderr "$c" status a
		[[ "$output" == "a "*RUNNING* ]]
		[ "$stderr" = "" ]
	done
	run -0 --separate-stderr ctl pid
	[ "$stderr" = "" ]
}

# ---- exit codes and messages -------------------------------------------------------

@test "an unknown verb exits 1 and 'help nosuch' 0, with supervisorctl's messages" {
	both_confs <<EOF
[program:a]
command=sleep 100
EOF
	start_supervise
	start_supervisord
	local c
	for c in sctl ctl; do
		run -1 "$c" frobnicate
		[ "$output" = "*** Unknown syntax: frobnicate" ]
		run -0 "$c" help nosuch
		[ "$output" = "*** No help on nosuch" ]
	done
}

# ---- the interactive prompt ----------------------------------------------------

@test "the prompt is supervisorctl's 'supervisor> '" {
	both_confs <<EOF
[program:a]
command=sleep 100
startsecs=0
EOF
	start_supervise
	start_supervisord
	retry_until 10 running_in ctl a
	retry_until 10 running_in sctl a
	local c
	for c in "supervisorctl -c $D/sd.conf" "supervise ctl -c $D/sv.conf"; do
		run -0 bash -c "printf 'help nosuch\nfrobnicate\nquit\n' | $c"
		echo "$output"
		[[ "${lines[0]}" == "a "*RUNNING* ]]
		[ "${lines[1]}" = "supervisor> *** No help on nosuch" ]
		[ "${lines[2]}" = "supervisor> *** Unknown syntax: frobnicate" ]
		[ "${lines[3]}" = "supervisor> " ]
	done
}

@test "a y/N answer reads one line: the verbs piped after it run" {
	both_confs <<EOF
[program:a]
command=sleep 100
startsecs=0
EOF
	start_supervise
	start_supervisord
	retry_until 10 running_in ctl a
	retry_until 10 running_in sctl a
	# no: nothing happens, and status after it runs
	run -0 bash -c "printf 'shutdown\nn\nstatus\n' | supervise ctl -c '$D/sv.conf'"
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" == "supervisor> Really shut the remote supervise process down y/N? supervisor> a "*RUNNING* ]]
	! gone "$DPID"
	# yes: the daemon shuts down, and status after it runs and says so
	local c pid
	for c in "supervisorctl -c $D/sd.conf" "supervise ctl -c $D/sv.conf"; do
		[[ "$c" == supervise* ]] && pid=$DPID || pid=$SDPID
		run -0 bash -c "printf 'shutdown\ny\nstatus\n' | $c 2>&1"
		echo "$output"
		[[ "${lines[1]}" == *"y/N? Shut down" ]]
		[[ "${lines[2]}" == "supervisor> "?* ]]
		[ "${lines[-1]}" = "supervisor> " ]
		retry_until 15 gone "$pid"
	done
}

@test "Ctrl-C during tail -f at the prompt returns to the prompt, as in supervisorctl" {
	both_confs <<EOF
[program:a]
command=sh -c 'while :; do echo tick; sleep 0.2; done'
startsecs=0
EOF
	start_supervise
	start_supervisord
	retry_until 10 running_in ctl a
	retry_until 10 running_in sctl a
	run -0 pty_session supervisorctl -c "$D/sd.conf"
	echo "$output"
	[ "${lines[0]}" = "back at the prompt" ]
	[ "${lines[1]}" = "exit 0" ]
	run -0 pty_session supervise ctl -c "$D/sv.conf"
	echo "$output"
	[ "${lines[0]}" = "back at the prompt" ]
	[ "${lines[1]}" = "exit 0" ]
}

# ---- a socket that does not answer -------------------------------------------------

@test "a socket that does not speak the protocol: ctl gives up after 5 s with exit 4" {
	/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
held = []
while True:
    held.append(s.accept())
' "$D/mute.sock" &
	FAKE=$!
	retry_until 10 test -S "$D/mute.sock"
	local t0=$SECONDS
	run -4 timeout 15 supervise ctl -s "$D/mute.sock" status
	[ "$output" = "supervise: unable to read a reply from $D/mute.sock: no reply within 5 seconds" ]
	# the bound is 5 s; the slack is for a loaded machine
	[ $((SECONDS - t0)) -le 8 ]
	run -4 timeout 15 supervise ctl -s "$D/mute.sock" stop all
	[ "$output" = "supervise: unable to read a reply from $D/mute.sock: no reply within 5 seconds" ]
}

@test "a reply that takes longer than 5 s still comes: start waits for startsecs" {
	conf sv <<EOF
[program:slow]
command=sleep 100
startsecs=6
autostart=false
EOF
	start_supervise
	run -0 timeout 30 supervise ctl -c "$D/sv.conf" start slow
	[ "$output" = "slow: started" ]
}

@test "a stopped program's status shows when it stopped, and the log its times, as supervisord writes them" {
	both_confs <<-'EOF'
	[program:a]
	command=sleep 300
	startsecs=0
	EOF
	start_supervise
	start_supervisord
	retry_until 10 running_in ctl a
	retry_until 15 running_in sctl a
	ctl stop a >/dev/null
	sctl stop a >/dev/null
	local ours theirs
	ours=$(ctl status a) || true
	theirs=$(sctl status a) || true
	# "a   STOPPED   Dec 07 09:15 PM": the same words, the same minute or the next
	[[ "$ours" =~ ^a\ +STOPPED\ +([A-Z][a-z]{2}\ [0-9]{2}\ [0-9]{2}:[0-9]{2}\ [AP]M)$ ]]
	local when=${BASH_REMATCH[1]}
	[[ "$theirs" =~ ^a\ +STOPPED\ +([A-Z][a-z]{2}\ [0-9]{2}\ [0-9]{2}:[0-9]{2}\ [AP]M)$ ]]
	[ "$when" = "${BASH_REMATCH[1]}" ] || [ "$when" = "$(date -d "${BASH_REMATCH[1]} 1 minute ago" '+%b %d %I:%M %p')" ] ||
		[ "$when" = "$(date -d "${BASH_REMATCH[1]} 1 minute" '+%b %d %I:%M %p')" ]
	# the main log's lines start "2026-12-07 21:15:04,123 INFO ", as supervisord's
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3} INFO ' "$D/sv.log"
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3} INFO ' "$D/sd.log"
}
