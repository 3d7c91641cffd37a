#!/usr/bin/env bats
# supervise as root in production: [supervisord] user=, crash-looping
# programs, the order of shutdown and reload, and what the programs leave
# behind — each checked against the real supervisord where it has the
# behaviour.

bats_require_minimum_version 1.5.0
load helpers
load supervise_helpers

setup() {
	# short: Unix socket paths are limited to 107 bytes
	D=$(mktemp -d /tmp/svp.XXXXXX)
	chmod 755 "$D"
	DPID= SDPID=
}

teardown() {
	stop_pid "$DPID"
	stop_pid "$SDPID"
	kill_marked
	rm -rf "$D"
}

# conf: sv.conf for supervise, the program sections from stdin; SVEXTRA
# goes into [supervisord]. sd.conf: the same for supervisord, with its own
# socket, log and pidfile, and what supervisorctl needs.
conf() {
	cat >"$D/sv.conf" <<EOF
[supervisord]
logfile=$D/main.log
pidfile=$D/sv.pid
childlogdir=$D
environment=SVMARK="$D"
${SVEXTRA:-}

[unix_http_server]
file=$D/sock

EOF
	cat >>"$D/sv.conf"
	sed -e "s#^file=$D/sock#file=$D/sd.sock#" -e "s#^logfile=$D/main.log#logfile=$D/sd.log#" \
		-e "s#^pidfile=$D/sv.pid#pidfile=$D/sd.pid#" "$D/sv.conf" >"$D/sd.conf"
	cat >>"$D/sd.conf" <<EOF

[supervisorctl]
serverurl=unix://$D/sd.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
EOF
}

start_daemon() {
	supervise -n -c "$D/sv.conf" >"$D/out" 2>&1 3>&- &
	DPID=$!
	retry_until 10 test -S "$D/sock" || { cat "$D/out" >&2; return 1; }
}

start_supervisord() {
	need_cmd supervisord supervisorctl
	supervisord -n -c "$D/sd.conf" >"$D/sd.out" 2>&1 3>&- &
	SDPID=$!
	retry_until 15 test -S "$D/sd.sock" || { cat "$D/sd.out" >&2; return 1; }
}

ctl() { supervise ctl -c "$D/sv.conf" "$@"; }
sdctl() { supervisorctl -c "$D/sd.conf" "$@"; }
uid_of() { awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"; }
has_pid() { local p; p=$("$@") && [ -n "$p" ] && [ "$p" != 0 ]; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- [supervisord] user= ----------------------------------------------------

@test "[supervisord] user=nobody: the daemon and its programs run as nobody, as under supervisord" {
	need_root
	chown nobody "$D"   # the socket and the logs are made as nobody
	SVEXTRA="user=nobody" conf <<EOF
[program:a]
command=sleep 1000
startsecs=0
EOF
	start_daemon
	start_supervisord
	retry_until 10 has_pid ctl pid a
	retry_until 10 has_pid sdctl pid a
	[ "$(uid_of "$DPID")" = "65534 65534 65534 65534" ]
	[ "$(uid_of "$(ctl pid a)")" = "65534 65534 65534 65534" ]
	[ "$(uid_of "$SDPID")" = "$(uid_of "$DPID")" ]
	[ "$(uid_of "$(sdctl pid a)")" = "$(uid_of "$(ctl pid a)")" ]
	grep -q "INFO Set uid to user 65534 succeeded" "$D/main.log"
	grep -q "INFO Set uid to user 65534 succeeded" "$D/sd.log"
}

@test "[supervisord] user= other than the caller, without root: refused with 2, as supervisord" {
	need_root
	need_cmd setpriv supervisord
	SVEXTRA="user=root" conf <<EOF
[program:a]
command=sleep 1000
EOF
	local as_nobody=(timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups)
	run -2 "${as_nobody[@]}" "$PROCBOX" supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: unable to switch to user root: Operation not permitted" ]
	run -2 "${as_nobody[@]}" supervisord -n -c "$D/sd.conf"
	[ "${lines[0]}" = "Error: Can't drop privilege as nonroot user" ]
	[ ! -e "$D/sock" ] && [ ! -e "$D/sv.pid" ] && [ -z "$(marked_pids)" ]
}

@test "[supervisord] user= naming no user is a configuration error (2), as under supervisord" {
	need_cmd supervisord
	SVEXTRA="user=no_such_user_xyz" conf <<EOF
[program:a]
command=sleep 1000
EOF
	run -2 timeout 10 supervise -n -c "$D/sv.conf"
	[ "$output" = "supervise: $D/sv.conf:6: invalid value 'no_such_user_xyz' for user: unknown user" ]
	run -2 timeout 10 supervisord -n -c "$D/sd.conf"
	[[ "${lines[0]}" == "Error: Invalid user name no_such_user_xyz"* ]]
}

# ---- crash loops ---------------------------------------------------------------

# N programs that exit at once, restarted for ever
crash_conf() {
	local i
	for ((i = 1; i <= $1; i++)); do
		printf '[program:c%d]\ncommand=/bin/false\nstartsecs=0\nautorestart=true\n\n' "$i"
	done | conf
}

spawns_at_least() {
	local n
	n=$(grep -c "spawned: " "$D/main.log" 2>/dev/null)
	[ "${n:-0}" -ge "$1" ]
}

# status answers, five times in a row, each within 1 s (the target is
# 50 ms; tests/bench/supervise.sh prints the real figure)
status_answers_promptly() {
	local i t0 ms
	for i in 1 2 3 4 5; do
		t0=$(now_ms)
		run timeout 5 supervise ctl -c "$D/sv.conf" status
		ms=$(($(now_ms) - t0))
		echo "status: exit $status in $ms ms"
		[ "$status" -eq 0 ] || [ "$status" -eq 3 ]
		[ "${#lines[@]}" -eq "$1" ]
		[ "$ms" -le 1000 ]
	done
}

@test "20 crash-looping programs: status answers within 1 s and SIGTERM stops the daemon" {
	crash_conf 20
	start_daemon
	retry_until 15 spawns_at_least 40
	status_answers_promptly 20
	kill -TERM "$DPID"
	retry_until 5 gone "$DPID"
	grep -q "INFO exiting" "$D/main.log"
}

@test "100 crash-looping programs: status answers within 1 s and SIGTERM stops the daemon" {
	crash_conf 100
	start_daemon
	retry_until 20 spawns_at_least 200
	status_answers_promptly 100
	kill -TERM "$DPID"
	retry_until 5 gone "$DPID"
}

# milliseconds of the day of each "spawned: 'NAME'" line of the main log
spawn_times() {
	grep "spawned: '$1' " "$D/main.log" 2>/dev/null | awk '{ split($2, t, /[:,]/); print ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 + t[4] }'
}

spawned_times() { [ "$(spawn_times "$1" | wc -l)" -ge "$2" ]; }

@test "a program that dies at once is started again no faster than once a second" {
	crash_conf 20
	start_daemon
	retry_until 15 spawned_times c1 5
	retry_until 15 spawned_times c20 5
	local name gaps
	for name in c1 c20; do
		# each start at least a second (less the log's rounding) after the last
		gaps=$(spawn_times "$name" | awk 'NR > 1 { g = $1 - last; if (g < 0) g += 86400000; print g } { last = $1 }')
		echo "$name: gaps $(echo $gaps) ms"
		[ -n "$gaps" ]
		! echo "$gaps" | awk '$1 < 950 { bad = 1 } END { exit !bad }'
	done
}

# ---- shutdown and reload order ----------------------------------------------

# Programs that note when SIGTERM comes and when they are gone, 0.3 s
# apart: a (priority 10), b (20), c (30), and group g (20) of x and y.
order_conf() {
	cat >"$D/prog.sh" <<'EOF'
#!/bin/sh
trap 'echo "$1 term" >>"$2"; sleep 0.3; echo "$1 exit" >>"$2"; kill $! 2>/dev/null; exit 0' TERM
echo "$1" >>"$2.ready"
sleep 1000 &
wait
EOF
	local n p
	{
		for n in a:10 b:20 c:30 x:1 y:2; do
			p=${n#*:} n=${n%:*}
			printf '[program:%s]\ncommand=/bin/sh %s/prog.sh %s %s/order\npriority=%s\n\n' \
				"$n" "$D" "$n" "$D" "$p"
		done
		printf '[group:g]\nprograms=x,y\npriority=20\n'
	} | conf
}

# All five programs have their TERM trap set: a signal before that would
# end one without a line. The next run starts from none.
all_ready() {
	retry_until 15 lines_in "$D/order.ready" 5
	rm "$D/order.ready"
}

# The order file with x and y as their group: within a group the two are
# signalled together, so only the group's place is compared.
order_of() {
	sed -e 's/^[xy] /g /' "$1" | paste -sd, -
}

lines_in() { [ -e "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

@test "shutdown stops groups in reverse priority order, each gone before the next, as supervisord" {
	order_conf
	local want="c term,c exit,g term,g term,g exit,g exit,b term,b exit,a term,a exit"
	start_daemon
	all_ready
	kill -TERM "$DPID"
	retry_until 15 gone "$DPID"
	mv "$D/order" "$D/order.sv"
	start_supervisord
	all_ready
	kill -TERM "$SDPID"
	retry_until 15 gone "$SDPID"
	echo "supervise:   $(order_of "$D/order.sv")"
	echo "supervisord: $(order_of "$D/order")"
	[ "$(order_of "$D/order")" = "$want" ]
	[ "$(order_of "$D/order.sv")" = "$want" ]
}

@test "reload stops the programs in the same order as supervisord's reload" {
	order_conf
	local want="c term,c exit,g term,g term,g exit,g exit,b term,b exit,a term,a exit"
	start_daemon
	all_ready
	run -0 ctl reload
	retry_until 15 lines_in "$D/order" 10
	mv "$D/order" "$D/order.sv"
	all_ready	# supervise's programs, started again
	start_supervisord
	all_ready
	run -0 sdctl reload
	retry_until 15 lines_in "$D/order" 10
	echo "supervise:   $(order_of "$D/order.sv")"
	echo "supervisord: $(order_of "$D/order")"
	[ "$(order_of "$D/order")" = "$want" ]
	[ "$(order_of "$D/order.sv")" = "$want" ]
	# and both started everything again
	retry_until 15 ctl status
	retry_until 15 sdctl status
}

# ---- what the programs leave behind ------------------------------------------

@test "the orphan list: every pid of a long children file, never a cut one" {
	run "${PROCBOX_UNIT:-$PROCBOX_TOP/build/unit/libbox_test}" supervise-pids
	echo "$output"
	[ "$status" -eq 0 ]
}

children_at_least() { [ "$(cat /proc/"$DPID"/task/*/children | wc -w)" -ge "$1" ]; }

@test "more than 1024 orphans that ignore SIGTERM are all killed when the daemon exits" {
	conf <<EOF
[program:spawner]
command=/bin/sh -c 'trap "" TERM; i=0; while [ \$i -lt 1100 ]; do sleep 1000 & i=\$((i+1)); done'
startsecs=0
autorestart=false
EOF
	start_daemon
	retry_until 60 children_at_least 1100
	kill -TERM "$DPID"
	retry_until 20 gone "$DPID"
	grep -q "stopping 1100 processes the programs left behind" "$D/main.log"
	[ -z "$(marked_pids)" ]
}

# ---- user= of a program -----------------------------------------------------

@test "a program's user= is looked up when the config loads: a restart needs no user database" {
	need_root
	need_cmd unshare nsenter
	conf <<EOF
[program:a]
command=sleep 1000
startsecs=0
user=nobody
EOF
	# the daemon in a mount namespace of its own, so that /etc/passwd can
	# vanish for it alone, as it does when descriptors run out
	unshare -m --propagation private supervise -n -c "$D/sv.conf" >"$D/out" 2>&1 3>&- &
	DPID=$!
	retry_until 10 test -S "$D/sock" || { cat "$D/out" >&2; false; }
	retry_until 10 has_pid ctl pid a
	first=$(ctl pid a)
	[ "$(uid_of "$first")" = "65534 65534 65534 65534" ]
	nsenter -t "$DPID" -m mount --bind /dev/null /etc/passwd
	kill "$first"
	retry_until 10 sh -c 'p=$(supervise ctl -c "$1/sv.conf" pid a) && [ "$p" != 0 ] && [ "$p" != "$2" ]' - "$D" "$first"
	[ "$(uid_of "$(ctl pid a)")" = "65534 65534 65534 65534" ]
	run -0 ctl status a
	[[ "$output" == "a "*RUNNING* ]]
}
