#!/usr/bin/env bats
# supervise's compat names: supervisord and supervisorctl take Supervisor's
# command lines. Each test runs the real supervisord/supervisorctl on the
# same configuration (in $D/r, ours in $D/o) and compares.

bats_require_minimum_version 1.5.0
load helpers
load supervise_helpers

REAL_D=/usr/bin/supervisord
REAL_C=/usr/bin/supervisorctl

setup() {
	# short: Unix socket paths are limited to 107 bytes
	D=$(mktemp -d /tmp/svc.XXXXXX)
	chmod 755 "$D"
	mkdir "$D/r" "$D/o" "$D/bin"
	# the compat links, as `procbox --install -s --compat` makes them
	"$PROCBOX" --install -s --compat "$D/bin" >/dev/null 2>&1 || true
	RPID= OPID=
}

need_peer() {
	[ -x "$REAL_D" ] && [ -x "$REAL_C" ] || needs "needs supervisord and supervisorctl"
}

teardown() {
	local w
	for w in r o; do
		[ -s "$D/$w/sv.pid" ] && stop_pid "$(cat "$D/$w/sv.pid")"
	done
	stop_pid "$RPID"
	stop_pid "$OPID"
	kill_marked
	rm -rf "$D"
}

# conf: the same configuration for both daemons, each in its own
# directory; the program sections come on stdin.
conf() {
	local body w
	body=$(cat)
	for w in r o; do
		cat >"$D/$w/sv.conf" <<EOF
[supervisord]
logfile=$D/$w/main.log
pidfile=$D/$w/sv.pid
childlogdir=$D/$w
environment=SVMARK="$D"

[unix_http_server]
file=$D/$w/sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$D/$w/sock

$body
EOF
	done
}

two_programs() {
	conf <<EOF
[program:x]
command=sleep 1000
startsecs=0

[program:y]
command=sleep 1000
startsecs=0
autostart=false
EOF
}

# start_both [OPTION...]: each daemon through its own name, -n -c CONF
start_both() {
	"$REAL_D" -n -c "$D/r/sv.conf" "$@" >"$D/r/out" 2>&1 3>&- &
	RPID=$!
	"$D/bin/supervisord" -n -c "$D/o/sv.conf" "$@" >"$D/o/out" 2>&1 3>&- &
	OPID=$!
	retry_until 20 test -S "$D/r/sock" || { cat "$D/r/out" >&2; return 1; }
	retry_until 10 test -S "$D/o/sock" || { cat "$D/o/out" >&2; return 1; }
}

running() { "$1" -c "$D/$2/sv.conf" status x 2>/dev/null | grep -q RUNNING; }
both_running() { retry_until 20 running "$REAL_C" r && retry_until 10 running "$D/bin/supervisorctl" o; }

# pids, uptimes and the socket's directory differ between the two daemons
normalize() { sed -E 's/pid [0-9]+, uptime [0-9:]+/pid N, uptime T/; s/^[0-9]+$/N/; s#/[ro]/sock#/W/sock#'; }

# same_as_supervisorctl ARG...: stdout (normalized) and exit status of
# supervisorctl -c CONF ARG... are the real one's
same_as_supervisorctl() {
	local want got wrc grc
	want=$("$REAL_C" -c "$D/r/sv.conf" "$@" 2>/dev/null | normalize; echo "rc=${PIPESTATUS[0]}")
	got=$("$D/bin/supervisorctl" -c "$D/o/sv.conf" "$@" 2>/dev/null | normalize; echo "rc=${PIPESTATUS[0]}")
	[ "$got" = "$want" ] || { printf 'supervisorctl %s\nwant:\n%s\ngot:\n%s\n' "$*" "$want" "$got" >&2; false; }
}

# ---- the names --------------------------------------------------------------

@test "supervisord and supervisorctl answer through their links and through procbox" {
	[ -L "$D/bin/supervisord" ] && [ -L "$D/bin/supervisorctl" ]
	run -0 "$D/bin/supervisord" --help
	[[ "${lines[0]}" == "usage: supervisord "* ]]
	[ "$output" = "$("$PROCBOX" --help supervisord)" ]
	[ "$output" = "$("$PROCBOX" supervisord --help)" ]
	run -0 "$D/bin/supervisorctl" --help
	[[ "${lines[0]}" == "usage: supervisorctl "* ]]
	[ "$output" = "$("$PROCBOX" --help supervisorctl)" ]
}

@test "-h and -? print the help and exit 0, as the peers do" {
	for n in supervisord supervisorctl; do
		for o in -h -? --help; do
			run -0 --separate-stderr "$D/bin/$n" "$o"
			[[ "${lines[0]}" == "usage: $n "* ]]
			[ "$stderr" = "" ]
		done
	done
}

@test "supervisord -v and --version print one version line and exit 0, as supervisord" {
	need_peer
	run -0 "$REAL_D" -v
	[[ "$output" =~ ^[0-9]+(\.[0-9]+)+$ ]]
	for o in -v --version; do
		run -0 "$D/bin/supervisord" "$o"
		[[ "$output" =~ ^[0-9]+(\.[0-9]+)+$ ]]
	done
}

# ---- supervisord's command line ---------------------------------------------

@test "supervisord: bad options and arguments exit 2 with a message, as supervisord" {
	need_peer
	two_programs
	for args in "--bogus" "-x" "-c" "-n -c $D/r/sv.conf extra" "-c $D/nonexistent.conf" \
		"-n -c $D/r/sv.conf -y notasize" "-n -c $D/r/sv.conf -z x" "-n -c $D/r/sv.conf -u nosuchuser" \
		"-n -c $D/r/sv.conf -m 9x"; do
		run -2 --separate-stderr "$REAL_D" $args
		run -2 --separate-stderr "$D/bin/supervisord" ${args//\/r\//\/o\/}
		[ "$output" = "" ]
		[[ "${stderr_lines[0]}" == "supervisord: "* ]] || { echo "$args: $stderr"; false; }
	done
	run -2 --separate-stderr "$D/bin/supervisord" --bogus
	[ "${stderr_lines[0]}" = "supervisord: unknown option '--bogus'" ]
	run -2 --separate-stderr "$D/bin/supervisord" -n -c "$D/o/sv.conf" extra
	[ "${stderr_lines[0]}" = "supervisord: positional arguments are not supported: extra" ]
	[ ! -e "$D/o/sock" ]
}

@test "supervisord: what it cannot do is refused with one line and status 2" {
	two_programs
	for o in "-q $D" "--childlogdir=$D" "-t" "--strip_ansi" "--profile_options=cumulative"; do
		run -2 --separate-stderr "$D/bin/supervisord" -n -c "$D/o/sv.conf" $o
		[ "$output" = "" ]
		[[ "$stderr" =~ ^supervisord:\ option\ [-/a-z_]+\ is\ not\ supported$ ]]
	done
	run -2 "$D/bin/supervisord" -n -c "$D/o/sv.conf" -q "$D"
	[ "$output" = "supervisord: option -q/--childlogdir is not supported" ]
	[ ! -e "$D/o/sock" ] && [ ! -e "$D/o/sv.pid" ]
}

@test "supervisord -n -c: status, stop, start, restart, avail print what supervisorctl prints" {
	need_peer
	two_programs
	start_both
	both_running
	same_as_supervisorctl status
	same_as_supervisorctl status x
	same_as_supervisorctl status nosuch
	same_as_supervisorctl avail
	same_as_supervisorctl stop x
	same_as_supervisorctl status
	same_as_supervisorctl stop x
	same_as_supervisorctl start x
	same_as_supervisorctl start x
	same_as_supervisorctl start y
	same_as_supervisorctl restart x
	same_as_supervisorctl stop nosuch
	same_as_supervisorctl start nosuch
	same_as_supervisorctl pid x
	same_as_supervisorctl signal HUP y
	# y died of the HUP: each daemon restarts it in its own time
	y_running() { "$1" -c "$D/$2/sv.conf" status y 2>/dev/null | grep -q RUNNING; }
	retry_until 20 y_running "$REAL_C" r && retry_until 20 y_running "$D/bin/supervisorctl" o
	same_as_supervisorctl status
}

@test "supervisorctl shutdown ends both daemons with status 0" {
	need_peer
	two_programs
	start_both
	both_running
	same_as_supervisorctl shutdown
	wait "$RPID" && wait "$OPID"
	RPID= OPID=
	same_as_supervisorctl status
	same_as_supervisorctl stop x
	same_as_supervisorctl shutdown
}

@test "a second supervisord on the same configuration exits 2, as supervisord" {
	need_peer
	two_programs
	start_both
	both_running
	run -2 "$REAL_D" -n -c "$D/r/sv.conf"
	run -2 "$D/bin/supervisord" -n -c "$D/o/sv.conf"
	echo "$output"
	[[ "${lines[-1]}" == "supervisord: another supervise is already running"* ]]
	same_as_supervisorctl status
}

@test "supervisord -l -j override the configuration's logfile and pidfile" {
	need_peer
	two_programs
	"$REAL_D" -n -c "$D/r/sv.conf" -l "$D/r/other.log" -j "$D/r/other.pid" >"$D/r/out" 2>&1 3>&- &
	RPID=$!
	"$D/bin/supervisord" -n -c "$D/o/sv.conf" -l "$D/o/other.log" -j "$D/o/other.pid" >"$D/o/out" 2>&1 3>&- &
	OPID=$!
	both_running
	for w in r o; do
		retry_until 10 test -s "$D/$w/other.pid"
		grep -q "spawned: 'x'" "$D/$w/other.log"
		[ ! -e "$D/$w/main.log" ]
	done
	[ "$(cat "$D/r/other.pid")" = "$RPID" ]
	[ "$(cat "$D/o/other.pid")" = "$OPID" ]
}

@test "supervisord without -n detaches; -d and -m set its directory and umask, as supervisord" {
	need_peer
	two_programs
	mkdir "$D/r/wd" "$D/o/wd"
	run -0 "$REAL_D" -c "$D/r/sv.conf" -d "$D/r/wd" -m 027
	run -0 "$D/bin/supervisord" -c "$D/o/sv.conf" -d "$D/o/wd" -m 027
	for w in r o; do
		retry_until 20 test -s "$D/$w/sv.pid"
		p=$(cat "$D/$w/sv.pid")
		[ "$(readlink "/proc/$p/cwd")" = "$D/$w/wd" ]
		[ "$(awk '/^Umask:/ { print $2 }' "/proc/$p/status")" = 0027 ]
	done
}

@test "supervisord accepts -y -z -a -e -i -k -s --minprocs and runs as supervisord does" {
	need_peer
	two_programs
	start_both -y 1MB -z 2 -a 2000 -e debug -i ident -k -s --minprocs 10
	both_running
	same_as_supervisorctl status
	for p in "$RPID" "$OPID"; do
		[ "$(awk '/^Max open files/ { print $4 }' "/proc/$p/limits")" -ge 2000 ]
	done
}

@test "supervisord -u USER runs the daemon as USER, as supervisord does" {
	need_root
	need_peer
	two_programs
	chmod 777 "$D/r" "$D/o"
	start_both -u nobody
	both_running
	nobody=$(id -u nobody)
	for p in "$RPID" "$OPID"; do
		[ "$(awk '/^Uid:/ { print $2 }' "/proc/$p/status")" = "$nobody" ]
	done
	same_as_supervisorctl status
}

# ---- supervisorctl's command line ---------------------------------------------

@test "supervisorctl -s unix:///PATH works without a configuration; -u -p -r are accepted" {
	need_peer
	two_programs
	start_both
	both_running
	for w in r o; do
		cmd=$REAL_C
		[ "$w" = o ] && cmd=$D/bin/supervisorctl
		run -3 "$cmd" -s "unix://$D/$w/sock" -u user -p secret -r "$D/hist" status
		[ "${#lines[@]}" = 2 ]
		[[ "${lines[0]}" == "x "*RUNNING* ]]
		run -0 "$cmd" --serverurl="unix://$D/$w/sock" --username=u --password=p status x
		[[ "$output" == "x "*RUNNING* ]]
	done
}

@test "supervisorctl -s wins over -c, and -i with a verb runs the verb" {
	need_peer
	two_programs
	start_both
	both_running
	run -0 "$D/bin/supervisorctl" -c "$D/r/sv.conf" -s "unix://$D/o/sock" pid
	[ "$output" = "$OPID" ]
	run -0 "$REAL_C" -c "$D/o/sv.conf" -s "unix://$D/r/sock" pid
	[ "$output" = "$RPID" ]
	same_as_supervisorctl -i status x
	same_as_supervisorctl -i stop y
}

@test "supervisorctl with no server: the peer's messages and exit codes" {
	need_peer
	two_programs
	same_as_supervisorctl status
	same_as_supervisorctl stop x
	same_as_supervisorctl start x
	same_as_supervisorctl shutdown
}

@test "supervisorctl: bad options exit 2 with a message; http:// is refused with one line" {
	need_peer
	for args in "--bogus" "-x" "-c" "-s /tmp/not-a-url status"; do
		run -2 --separate-stderr "$REAL_C" $args
		run -2 --separate-stderr "$D/bin/supervisorctl" $args
		[ "$output" = "" ]
		[[ "${stderr_lines[0]}" == "supervisorctl: "* ]]
	done
	run -2 --separate-stderr "$D/bin/supervisorctl" -s http://localhost:9001 status
	[ "$output" = "" ]
	[ "$stderr" = "supervisorctl: http://localhost:9001: only unix:///PATH server URLs are supported" ]
}

@test "supervisorctl -i and no verb read verbs from stdin and exit 0, as supervisorctl" {
	need_peer
	two_programs
	start_both
	both_running
	run -0 "$REAL_C" -c "$D/r/sv.conf" -i <<<"stop x"
	[[ "$output" == *"x: stopped"* ]]
	run -0 "$D/bin/supervisorctl" -c "$D/o/sv.conf" -i <<<"stop x"
	[[ "$output" == *"x: stopped"* ]]
	run -0 "$D/bin/supervisorctl" -c "$D/o/sv.conf" <<<"start x"
	[[ "$output" == *"x: started"* ]]
}
