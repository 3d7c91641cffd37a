#!/usr/bin/env bats
# timeout, timer's compat name: GNU timeout's command line, messages and
# exit codes. Each case runs GNU timeout (coreutils) on the same arguments
# in the same test and compares; the cases follow coreutils' own
# tests/misc/timeout*.sh.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	need_cmd timeout
	GNU=$(command -v timeout)
	case $GNU in "$PROCBOX_BIN"/*) GNU=/usr/bin/timeout ;; esac
	[ -x "$GNU" ] || needs "needs GNU timeout (coreutils)"
	BIN=$BATS_TEST_TMPDIR/bin
	mkdir -p "$BIN"
	"$PROCBOX" --install -s --compat "$BIN" >/dev/null
	cd "$BATS_TEST_TMPDIR"
}

# same ARGS...: GNU timeout and the link print the same (stdout and stderr
# together, GNU's quotes in the C locale) and exit the same.
same() {
	local want got wrc grc
	# both called by the name timeout, which GNU's messages start with
	want=$(PATH=${GNU%/*}:$PATH LC_ALL=C timeout "$@" 2>&1) && wrc=0 || wrc=$?
	got=$(PATH=$BIN:$PATH timeout "$@" 2>&1) && grc=0 || grc=$?
	if [ "$want" != "$got" ] || [ "$wrc" != "$grc" ]; then
		echo "timeout $*" >&2
		echo "  GNU  ($wrc): $want" >&2
		echo "  ours ($grc): $got" >&2
		return 1
	fi
}

@test "timeout: listed and linked only with --compat; its own --help" {
	run -0 "$PROCBOX" --list --compat
	[[ "$output" == *timeout* ]]
	run -0 "$PROCBOX" --list
	[[ "$output" != *timeout* ]]
	run -0 "$BIN/timeout" --help
	[[ "${lines[0]}" == "usage: timeout "* ]]
}

@test "timeout: durations as GNU reads them, and its invalid ones (125)" {
	same 10.34 sleep 0
	same 9.999999999 sleep 0
	same 1d true
	same 0.5m true
	same 0 true
	same 10 true
	same invalid sleep 0
	same 42D sleep 0
	same 10.34x sleep 0
	same ' -0.1' sleep 0
	same -- -1 sleep 0
	same 1ss true
	same '' true
	same nan true
	# beyond any clock: no limit
	same 9223372036854775808 sleep 0
	same 9223372036854775808d sleep 0
	same 2.34e+5d sleep 0
	same 1.18973149535723176502e+4932 sleep 0
	same -- -1.18973149535723176502e+4932 sleep 0
	same inf true
}

@test "timeout: options: bad -k and -s, missing operands, unknown options (125)" {
	same --kill-after=invalid 1 sleep 0
	same -k x 1 sleep 0
	same --signal=invalid 1 sleep 0
	same -s NOSUCH 1 sleep 0
	same
	same 1
	# getopt's own complaints are worded differently, with the same code
	run -125 "$BIN/timeout" -s
	run -125 "$BIN/timeout" -x 1 true
	run -125 "$BIN/timeout" --bogus 1 true
}

@test "timeout: the command's status, 124 timed out, 137 killed, 126 and 127" {
	same 10 sh -c 'exit 2'
	same .1 sleep 10
	same --preserve-status .1 sleep 10
	same -s KILL .1 sleep 10
	same -s INT .1 sleep 10
	same -s0 -k1 .1 sleep 10
	same --foreground -s0 -k1 .1 sleep 10
	same -k .1 .1 sh -c 'trap "" TERM; sleep 10'
	same 10 no_such
	same 10 .
	same .1 sh -c 'trap "exit 3" TERM; sleep 10 & wait'
	same --preserve-status .1 sh -c 'trap "exit 3" TERM; sleep 10 & wait'
}

@test "timeout: -v says every signal sent, in GNU's words" {
	same -v -s0 -k .1 .1 sleep 10
	same --verbose -s0 -k .1 .1 sleep 10
	same -v .1 sleep 10
	same -v 10 true
	same -v --preserve-status .1 sleep 10
	# -p and -f: POSIX 2024's letters, newer than Debian 12's GNU timeout
	run -143 --separate-stderr "$BIN/timeout" -vp .1 sleep 10
	[ "$stderr" = "timeout: sending signal TERM to command 'sleep'" ]
	run -124 "$BIN/timeout" -f .1 sleep 10
}

@test "timeout: SIGALRM blocked by the caller changes nothing (coreutils' timeout-blocked)" {
	same_blocked() {
		local g=0 o=0
		env --block-signal=ALRM "$GNU" "$@" || g=$?
		env --block-signal=ALRM "$BIN/timeout" "$@" || o=$?
		[ "$g" = "$o" ]
	}
	same_blocked .1 sleep 10
	same_blocked 10 true
}

@test "timeout: started with SIGCHLD ignored, or with a child of its own already running" {
	(trap '' CHLD; exec "$BIN/timeout" 10 true)
	local out status
	out=$(sleep .1 & exec "$BIN/timeout" .5 sh -c 'sleep 2; echo foo') && status=0 || status=$?
	[ "$out" = "" ]
	[ "$status" = 124 ]
}

# int_cmd: ./cmd, coreutils' timeout.cmd: says it runs, waits up to 20 s
# for SIGINT and notes it in int.received.
int_cmd() {
	printf '%s\n' '#!/bin/sh' \
		'trap "touch int.received; exit" INT' \
		'touch timeout.running' \
		'i=0; while [ $i -lt 200 ] && [ ! -e int.received ]; do sleep 0.1; i=$((i + 1)); done' \
		>cmd
	chmod +x cmd
}

@test "timeout: a SIGALRM from outside is the deadline, as GNU's (nested timeouts)" {
	int_cmd
	"$BIN/timeout" -sALRM 30 "$BIN/timeout" -sINT 25 ./cmd &
	local pid=$!
	retry_until 10 test -e timeout.running
	kill -ALRM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 124 ]
	[ -e int.received ]
}

@test "timeout: --foreground with INT ignored by its parent: the command still gets INT" {
	need_cmd setsid
	int_cmd
	printf '%s\n' "trap '' INT" "'$BIN/timeout' --foreground 25 ./cmd &" wait >group.sh
	setsid sh group.sh &
	local pid=$!
	retry_until 10 test -e timeout.running
	kill -INT -- -"$pid"
	wait "$pid" || true
	[ -e int.received ]
}

@test "timeout: a signal sent to timeout is passed on, and timeout dies of it as GNU's" {
	local g o
	"$GNU" 10 sleep 10 &
	g=$!
	"$BIN/timeout" 10 sleep 10 &
	o=$!
	retry_until 5 pgrep -P "$g" sleep
	retry_until 5 pgrep -P "$o" sleep
	kill -TERM "$g" "$o"
	local gs=0 os=0
	wait "$g" || gs=$?
	wait "$o" || os=$?
	[ "$gs" = 143 ]
	[ "$os" = "$gs" ]
}
