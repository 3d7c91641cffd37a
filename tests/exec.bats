#!/usr/bin/env bats
# Running a command as env, nohup, xargs and GNU timeout run it: exec as
# POSIX execvp, signals ignored at start kept ignored, signal names that
# do not depend on the libc. Each behaviour is checked against the peer
# in the same test. libbox's part of it is also unit-tested here.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	cd "$(scratch)" || return 1
	printf 'echo "ran $0 with $#: $1 ${100000}"\n' >noshebang
	chmod +x noshebang
}

# ---- exec as POSIX execvp ----------------------------------------------------

@test "a script without #! runs through /bin/sh, as env runs it" {
	run -0 --separate-stderr env ./noshebang a b
	[ "$output" = "ran ./noshebang with 2: a " ]
	run -0 --separate-stderr exitcode -- ./noshebang a b
	[ "$output" = "ran ./noshebang with 2: a " ]
	[ "$stderr" = "exitcode: ./noshebang exited with status 0" ]
}

@test "a script without #! is found in PATH, as env finds it" {
	mkdir d
	mv noshebang d/noshebang-in-path
	PATH=$PWD/d:$PATH run -0 --separate-stderr env noshebang-in-path x
	peer=$output
	PATH=$PWD/d:$PATH run -0 --separate-stderr exitcode -- noshebang-in-path x
	[ "$output" = "$peer" ]
	[ "$output" = "ran $PWD/d/noshebang-in-path with 1: x " ]
}

@test "a script without #! gets 100,000 arguments, as env gives them" {
	mapfile -t many < <(seq 100000)
	run -0 --separate-stderr env ./noshebang "${many[@]}"
	[ "$output" = "ran ./noshebang with 100000: 1 100000" ]
	run -0 --separate-stderr exitcode -- ./noshebang "${many[@]}"
	[ "$output" = "ran ./noshebang with 100000: 1 100000" ]
	[ "$stderr" = "exitcode: ./noshebang exited with status 0" ]
}

@test "a missing #! interpreter is named, with env's status 127" {
	printf '#!/missing/interp -x\necho never\n' >bad
	chmod +x bad
	run -127 env ./bad
	run -127 exitcode -- ./bad
	[ "$output" = "exitcode: ./bad: unable to execute its interpreter /missing/interp: No such file or directory" ]
}

@test "daemonize runs a script without #! through /bin/sh, as daemonize(1) does" {
	need_cmd /usr/bin/daemonize
	printf 'echo "$0 $1" >"$1"\n' >ns
	chmod +x ns
	/usr/bin/daemonize "$PWD/ns" "$PWD/peer"
	retry_until 5 test -s peer
	run -0 daemonize -- ./ns "$PWD/ours"
	retry_until 5 test -s ours
	[ "$(cat ours)" = "$PWD/./ns $PWD/ours" ]
}

@test "daemonize names a missing #! interpreter and exits 127, where daemonize(1) says nothing" {
	printf '#!/missing/interp\n' >bad
	chmod +x bad
	run -127 daemonize -- ./bad
	[ "$output" = "daemonize: unable to execute its interpreter /missing/interp for ./bad: No such file or directory" ]
}

@test "a non-executable match earlier in PATH is passed over, as env passes it over" {
	mkdir d1 d2
	printf 'echo d1\n' >d1/prog
	printf '#!/bin/sh\necho d2\n' >d2/prog
	chmod 644 d1/prog
	chmod 755 d2/prog
	PATH=$PWD/d1:$PWD/d2:$PATH run -0 env prog
	[ "$output" = d2 ]
	PATH=$PWD/d1:$PWD/d2:$PATH run -0 --separate-stderr exitcode -- prog
	[ "$output" = d2 ]
	# with no executable one, the answer is EACCES (126), not "not found"
	env=$(command -v env) exitcode=$(command -v exitcode)
	PATH=$PWD/d1 run -126 "$env" prog
	PATH=$PWD/d1 run -126 "$exitcode" -- prog
	[ "$output" = "exitcode: prog: not executable (Permission denied)" ]
}

@test "pipe, runner, timer and supervise run a script without #! too, as env and xargs do" {
	run -0 --separate-stderr env ./noshebang a
	want=$output
	run -0 pipe './noshebang a' 'cat'
	[ "$output" = "$want" ]
	run -0 timer -t 5 -- ./noshebang a
	[ "$output" = "$want" ]
	echo a | xargs ./noshebang >peer
	[ "$(cat peer)" = "$want" ]
	run -0 runner './noshebang a'
	[ "$output" = "$want" ]
	run -0 --separate-stderr supervise --startretries 0 --autorestart false -- ./noshebang a
	[ "$output" = "$want" ]
}

# ---- signals ignored at start --------------------------------------------------

@test "SIGHUP ignored by nohup stays ignored in the command, as with env" {
	run -0 --separate-stderr nohup env sh -c 'kill -HUP $$; echo survived' </dev/null
	[ "$output" = survived ]
	run -0 --separate-stderr nohup exitcode -- sh -c 'kill -HUP $$; echo survived' </dev/null
	[ "$output" = survived ]
	[ "$stderr" = "exitcode: sh exited with status 0" ]
}

@test "SIGPIPE ignored by the caller stays ignored: yes gets EPIPE, as under env" {
	cmd='yes | head -1; echo "yes: ${PIPESTATUS[0]}"'
	run -0 --separate-stderr bash -c 'trap "" PIPE; exec env bash -c "$1"' - "$cmd"
	[ "$output" = "$(printf 'y\nyes: 1')" ]
	run -0 --separate-stderr bash -c 'trap "" PIPE; exec exitcode -- bash -c "$1"' - "$cmd"
	[ "$output" = "$(printf 'y\nyes: 1')" ]
	[ "${stderr_lines[-1]}" = "exitcode: bash exited with status 0" ]
	# the issue's own case: under GNU timeout and timer, yes gets EPIPE
	run -0 --separate-stderr bash -c 'trap "" PIPE; timeout 10 yes | :; echo "${PIPESTATUS[0]}"'
	[ "$output" = 1 ]
	run -0 --separate-stderr bash -c 'trap "" PIPE; timer -t 10 -- yes | :; echo "${PIPESTATUS[0]}"'
	[ "$output" = 1 ]
}

@test "a signal ignored at start stays ignored even when the applet catches it" {
	# exitcode catches SIGHUP to forward it; the command still inherits SIG_IGN
	want=$(nohup env sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status </dev/null 2>/dev/null)
	run -0 --separate-stderr nohup exitcode -- sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status </dev/null
	[ "$output" = "$want" ]
}

@test "nohup timer -d keeps its run when SIGHUP comes, as nohup sh does" {
	nohup timer -d 1 -- touch ran </dev/null >/dev/null 2>timer.err &
	t=$!
	nohup sh -c 'sleep 1; touch peer' </dev/null >/dev/null 2>&1 &
	p=$!
	# timer is waiting with its signal fd set up
	retry_until 10 grep -qE '^SigBlk:[[:space:]]*0*[1-9a-f]' /proc/$t/status
	retry_until 10 eval 'test "$(cat /proc/$p/comm 2>/dev/null)" = sh'
	kill -HUP "$t" "$p"
	wait "$p"
	rc=0
	wait "$t" || rc=$?
	[ -e peer ]
	[ "$rc" -eq 0 ]
	[ -e ran ]
	[ ! -s timer.err ]
}

@test "nohup runner keeps its jobs when SIGHUP comes, as nohup xargs does" {
	nohup runner -j2 'sleep 1; touch a' 'sleep 1; touch b' </dev/null >/dev/null 2>runner.err &
	r=$!
	printf '%s\n' 'sleep 1; touch pa' 'sleep 1; touch pb' |
		nohup xargs -P2 -I{} sh -c {} >/dev/null 2>&1 &
	x=$!
	retry_until 10 grep -qE '^SigBlk:[[:space:]]*0*[1-9a-f]' /proc/$r/status
	kill -HUP "$r" "$x"
	wait "$x"
	rc=0
	wait "$r" || rc=$?
	[ -e pa ] && [ -e pb ]
	[ "$rc" -eq 0 ]
	[ -e a ] && [ -e b ]
}

@test "nohup pipe keeps its stages when SIGHUP comes, as nohup sh does" {
	nohup pipe 'sleep 1' 'touch ran' </dev/null >/dev/null 2>pipe.err &
	p=$!
	nohup sh -c 'sleep 1 | touch peer' </dev/null >/dev/null 2>&1 &
	s=$!
	retry_until 10 grep -qE '^SigBlk:[[:space:]]*0*[1-9a-f]' /proc/$p/status
	kill -HUP "$p" "$s"
	wait "$s"
	rc=0
	wait "$p" || rc=$?
	[ -e peer ]
	[ "$rc" -eq 0 ]
	[ -e ran ]
}

# ---- descriptors -------------------------------------------------------------

@test "exitcode passes an inherited fd 3 to its command, as env does" {
	env sh -c 'echo peer >&3' 3>peer.out
	[ "$(cat peer.out)" = peer ]
	run -0 --separate-stderr exitcode -- sh -c 'echo hi >&3' 3>f
	[ "$(cat f)" = hi ]
	[ "$stderr" = "exitcode: sh exited with status 0" ]
}

@test "timer, pipe and runner pass an inherited fd 3 through, as timeout and xargs do" {
	timeout 5 sh -c 'echo timeout >&3' 3>peer1
	echo x | xargs sh -c 'echo xargs >&3' 3>peer2
	[ "$(cat peer1)" = timeout ] && [ "$(cat peer2)" = xargs ]
	run -0 timer -t 5 -- sh -c 'echo timer >&3' 3>f1
	[ "$(cat f1)" = timer ]
	run -0 pipe 'echo pipe' 'sh -c "cat >&3"' 3>f2
	[ "$(cat f2)" = pipe ]
	run -0 runner 'echo runner >&3' 3>f3
	[ "$(cat f3)" = runner ]
}

@test "--default-signals starts the command with every signal at default, as env --default-signal" {
	sigign='sed -n "s/^SigIgn:[[:space:]]*//p" /proc/self/status'
	peer=$(nohup env --default-signal sh -c "$sigign" </dev/null 2>/dev/null)
	# env cannot reset 32 and 33, the C library's own: procbox can
	[ $((0x$peer & ~0x180000000)) -eq 0 ]
	want=0000000000000000
	[ "$(nohup exitcode --default-signals -- sh -c "$sigign" </dev/null 2>/dev/null)" = "$want" ]
	[ "$(nohup pipe --default-signals "sh -c '$sigign'" </dev/null 2>/dev/null)" = "$want" ]
	[ "$(nohup timer --default-signals -t 5 -- sh -c "$sigign" </dev/null 2>/dev/null)" = "$want" ]
	[ "$(nohup runner --default-signals "$sigign" </dev/null 2>/dev/null)" = "$want" ]
	# without it, the command keeps nohup's SIGHUP ignored, as under env
	[ "$(nohup timer -t 5 -- sh -c "$sigign" </dev/null 2>/dev/null)" = "$(nohup env sh -c "$sigign" </dev/null 2>/dev/null)" ]
}

@test "exitcode waits for its command when started with SIGCHLD ignored, as env does" {
	ignore_chld='$SIG{CHLD} = "IGNORE"; exec @ARGV or die'
	run -3 perl -e "$ignore_chld" -- env sh -c 'exit 3'
	run -3 --separate-stderr perl -e "$ignore_chld" -- exitcode -- sh -c 'exit 3'
	[ "$stderr" = "exitcode: sh exited with status 3" ]
}

# ---- wrappers and their command -------------------------------------------------

@test "a command killed by a signal: timer dies of the same signal, as GNU timeout does" {
	py='import subprocess, sys; print(subprocess.call(sys.argv[1:]))'
	run -0 /usr/bin/python3 -c "$py" timeout 5 sh -c 'kill -USR1 $$'
	[ "$output" = -10 ]
	run -0 /usr/bin/python3 -c "$py" timer -t 5 -- sh -c 'kill -USR1 $$'
	[ "$output" = -10 ]
	# a timeout is still 124, and a command's own exit status is kept
	run -124 timer -t 0.1 -- sleep 5
	run -3 timer -t 5 -- sh -c 'exit 3'
}

@test "SIGUSR2 sent to timer reaches the command; GNU timeout dies and leaves it running" {
	timeout 30 sleep 301 &
	t=$!
	retry_until 5 pgrep -f 'sleep 301'
	kill -USR2 "$t"
	wait "$t" || true
	pgrep -f 'sleep 301'   # the peer's command outlives it
	pkill -f 'sleep 301'
	timer -t 30 -- sh -c 'trap "echo got USR2; exit 7" USR2; sleep 302 & wait' >out &
	t=$!
	retry_until 5 pgrep -f 'sleep 302'
	retry_until 5 grep -qE '^SigBlk:[[:space:]]*0*[1-9a-f]' /proc/$t/status
	kill -USR2 "$t"
	rc=0
	wait "$t" || rc=$?
	[ "$rc" -eq 7 ]
	[ "$(cat out)" = "got USR2" ]
	pkill -f 'sleep 302' || true
}

@test "the -s signal sent to timer is passed on to the command, not fatal to timer" {
	timer -t 30 -s USR1 -- sh -c 'trap "echo got USR1; exit 5" USR1; sleep 303 & wait' >out &
	t=$!
	retry_until 5 pgrep -f 'sleep 303'
	retry_until 5 grep -qE '^SigBlk:[[:space:]]*0*[1-9a-f]' /proc/$t/status
	kill -USR1 "$t"
	rc=0
	wait "$t" || rc=$?
	[ "$rc" -eq 5 ]
	[ "$(cat out)" = "got USR1" ]
	pkill -f 'sleep 303' || true
}

@test "SIGINT and SIGQUIT sent to exitcode or pipe reach the command, as timeout passes them on" {
	for sig in INT QUIT; do
		env --default-signal=INT,QUIT timeout 30 sh -c "trap 'echo got $sig; exit 4' $sig; sleep 310 & wait" >peer &
		t=$!
		retry_until 5 pgrep -f 'sleep 310'
		kill -s "$sig" "$t"
		rc=0
		wait "$t" || rc=$?
		[ "$rc" -eq 4 ] && [ "$(cat peer)" = "got $sig" ]
		pkill -f 'sleep 310' || true
		for w in exitcode pipe; do
			case $w in
			exitcode) exec env --default-signal=INT,QUIT exitcode -- sh -c "trap 'echo got $sig; exit 4' $sig; sleep 311 & wait" ;;
			pipe) exec env --default-signal=INT,QUIT pipe "sh -c 'trap \"echo got $sig; exit 4\" $sig; sleep 311 & wait'" ;;
			esac >out 2>/dev/null &
			t=$!
			retry_until 5 pgrep -f 'sleep 311'
			retry_until 5 grep -qE '^SigBlk:[[:space:]]*0*[1-9a-f]' /proc/$t/status
			kill -s "$sig" "$t"
			rc=0
			wait "$t" || rc=$?
			[ "$rc" -eq 4 ] || { echo "$w $sig: $rc"; false; }
			[ "$(cat out)" = "got $sig" ]
			pkill -f 'sleep 311' || true
		done
	done
}

@test "kill -9 of timer, exitcode or pipe takes the command with it; GNU timeout leaves it" {
	timeout 30 sleep 304 &
	t=$!
	retry_until 5 pgrep -f 'sleep 304'
	kill -9 "$t"
	wait "$t" || true
	pgrep -f 'sleep 304'   # the peer's command outlives it
	pkill -f 'sleep 304'
	for w in timer exitcode pipe; do
		case $w in
		timer) exec timer -t 30 -- sleep 305 ;;
		exitcode) exec exitcode -- sleep 305 ;;
		pipe) exec pipe "sleep 305" ;;
		esac >/dev/null 2>&1 &
		t=$!
		retry_until 5 pgrep -f 'sleep 305'
		kill -9 "$t"
		wait "$t" || true
		retry_until 5 sh -c '! pgrep -f "sleep 30[5]"'
	done
}

# ---- signal names ------------------------------------------------------------------

@test "exitcode 162 is RTMIN, as bash's kill -l names signal 34" {
	[ "$(bash -c 'kill -l 34')" = RTMIN ]
	run -0 exitcode 162
	[[ "$output" == "162: killed by SIGRTMIN ("* ]]
}

@test "a command killed by RTMIN is named RTMIN, with bash's status" {
	run -162 bash -c 'kill -s RTMIN $$'
	run -162 exitcode -- bash -c 'kill -s RTMIN $$'
	[[ "$output" == "exitcode: bash killed by SIGRTMIN ("* ]]
}

@test "runner --json names a real-time signal and gives its number" {
	run -1 runner --json 'kill -34 $$'
	[[ "$output" == *'"exit":null,"signal":"SIGRTMIN","signum":34,'* ]]
}

@test "every signal 1-64 has the name bash's kill -l gives it; 32 and 33 are RT32 and RT33" {
	run -0 exitcode $(seq 129 192)
	[ "${#lines[@]}" -eq 64 ]
	for n in $(seq 1 64); do
		case $n in
		32 | 33) name=RT$n ;;
		*) name=$(bash -c "kill -l $n") ;;
		esac
		[[ "${lines[n - 1]}" == "$((128 + n)): killed by SIG$name ("* ]] ||
			{ echo "signal $n: ${lines[n - 1]}, bash: $name"; return 1; }
	done
}

# ---- the glibc fallback build ----------------------------------------------------------

@test "the glibc build runs a script without #! with 100,000 arguments and names RTMIN" {
	[ -n "${PROCBOX_GLIBC:-}" ] ||
		needs "PROCBOX_GLIBC unset (a procbox built with make STATIC_CC=cc)"
	mkdir gbin
	ln -s "$PROCBOX_GLIBC" gbin/exitcode
	mapfile -t many < <(seq 100000)
	run -0 --separate-stderr env ./noshebang "${many[@]}"
	peer=$output
	run -0 --separate-stderr gbin/exitcode -- ./noshebang "${many[@]}"
	[ "$output" = "$peer" ]
	[ "$stderr" = "exitcode: ./noshebang exited with status 0" ]
	run -162 gbin/exitcode -- bash -c 'kill -s RTMIN $$'
	[[ "$output" == "exitcode: bash killed by SIGRTMIN ("* ]]
	run -0 --separate-stderr nohup gbin/exitcode -- sh -c 'kill -HUP $$; echo survived' </dev/null
	[ "$output" = survived ]
}

# ---- libbox ----------------------------------------------------------------------------

unit() {
	: "${PROCBOX_UNIT:=$PROCBOX_TOP/build/unit/libbox_test}"
	[ -x "$PROCBOX_UNIT" ] || needs "unit test binary $PROCBOX_UNIT not built (make check builds it)"
	run "$PROCBOX_UNIT" "$1"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "libbox: every signal 1-64 has a name, and the name gives the number back" {
	unit signal-names
}

@test "libbox: spawn execs as execvp: sh fallback, PATH past EACCES, missing interpreter named" {
	unit spawn-exec
}

@test "libbox: spawn passes inherited fds only when asked" {
	unit spawn-fds
}

@test "libbox: spawn keeps signals ignored at start ignored unless all are reset" {
	unit spawn-ignored
}

@test "libbox: the signal fd leaves signals ignored at start alone" {
	unit sigfd-ignored
}
