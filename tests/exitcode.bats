#!/usr/bin/env bats
# exitcode: explaining statuses, classifying a run, fallbacks, remapping.

bats_require_minimum_version 1.5.0
load helpers

usage() { usage_line exitcode; }

@test "explains success, failure and a signal death, one line each" {
	run -0 exitcode 0 1 137
	[ "${lines[0]}" = "0: success" ]
	[ "${lines[1]}" = "1: general failure; grep/diff: no match or files differ" ]
	[ "${lines[2]}" = "137: killed by SIGKILL (Killed); timeout -k: the command was killed after the grace period" ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "works the same through procbox and through the link" {
	run -0 "$PROCBOX" exitcode 130
	[ "$output" = "130: killed by SIGINT (Interrupt), usually Ctrl-C" ]
	run -0 "$PROCBOX_BIN/exitcode" 130
	[ "$output" = "130: killed by SIGINT (Interrupt), usually Ctrl-C" ]
}

@test "signal names and descriptions come from this platform" {
	run -0 exitcode 141 143 139
	[ "${lines[0]}" = "141: killed by SIGPIPE (Broken pipe)" ]
	[ "${lines[1]}" = "143: killed by SIGTERM (Terminated)" ]
	[ "${lines[2]}" = "139: killed by SIGSEGV (Segmentation fault)" ]
}

@test "126 and 127 mean cannot execute and not found" {
	run -0 exitcode 126 127
	[ "${lines[0]}" = "126: command found but not executable; xargs/timeout/env: command found but cannot be executed" ]
	[ "${lines[1]}" = "127: command not found; xargs/timeout/env: command not found" ]
}

@test "sysexits codes are named" {
	run -0 exitcode 64 75 78
	[ "${lines[0]}" = "64: EX_USAGE: command line usage error" ]
	[ "${lines[1]}" = "75: EX_TEMPFAIL: temporary failure, retry later" ]
	[ "${lines[2]}" = "78: EX_CONFIG: configuration error" ]
}

@test "tool conventions for timeout, xargs and ssh are given" {
	run -0 exitcode 123 124 125 255
	[ "${lines[0]}" = "123: exited with status 123; xargs: a command exited with status 1-125" ]
	[ "${lines[1]}" = "124: exited with status 124; timeout: the command timed out; xargs: a command exited with 255" ]
	[ "${lines[2]}" = "125: exited with status 125; timeout/env/nice: the tool itself failed; xargs: a command was killed" ]
	[ "${lines[3]}" = "255: exit status out of range; ssh: connection or protocol error; also exit(-1)" ]
}

@test "an ordinary code is just a status" {
	run -0 exitcode 42 128
	[ "${lines[0]}" = "42: exited with status 42" ]
	[ "${lines[1]}" = "128: invalid argument to exit" ]
}

@test "-j explains as JSON lines" {
	run -0 exitcode -j 0 137
	[ "${lines[0]}" = '{"code":0,"kind":"success","meaning":"success","convention":null}' ]
	[ "${lines[1]}" = '{"code":137,"kind":"signal","meaning":"killed by SIGKILL (Killed)","signal":9,"signame":"SIGKILL","convention":"timeout -k: the command was killed after the grace period"}' ]
}

@test "-l lists the table: 0, every signal of this platform, sysexits, 255" {
	run -0 exitcode -l
	[ "${lines[0]}" = "0: success" ]
	[[ "$output" == *$'\n64: EX_USAGE: command line usage error\n'* ]]
	[[ "$output" == *$'\n143: killed by SIGTERM (Terminated)\n'* ]]
	[[ "$output" != *$'\n42: '* ]]
	[ "${lines[-1]}" = "255: exit status out of range; ssh: connection or protocol error; also exit(-1)" ]
	[ "$(grep -c 'killed by SIG' <<<"$output")" -ge 31 ]
}

@test "--list -j gives the table as JSON" {
	run -0 exitcode --list --json
	[ "${lines[0]}" = '{"code":0,"kind":"success","meaning":"success","convention":null}' ]
	python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <<<"$output"
}

@test "runs a command and reports its exit status" {
	run -3 exitcode -- sh -c 'exit 3'
	[ "$output" = "exitcode: sh exited with status 3" ]
}

@test "success is classified too and exits 0" {
	run -0 exitcode -- true
	[ "$output" = "exitcode: true exited with status 0" ]
}

@test "the command's output passes through untouched" {
	run -0 --separate-stderr exitcode -- printf 'a b\n'
	[ "$output" = "a b" ]
	[ "$stderr" = "exitcode: printf exited with status 0" ]
}

@test "a signal death exits 128+n and names the signal" {
	run -143 exitcode -- sh -c 'kill -TERM $$'
	[ "$output" = "exitcode: sh killed by SIGTERM (Terminated)" ]
}

@test "a core dump is reported" {
	ulimit -c unlimited 2>/dev/null || needs "cannot raise the core size limit"
	cd "$BATS_TEST_TMPDIR"
	run -134 exitcode -- sh -c 'ulimit -c unlimited; kill -ABRT $$'
	[[ "$output" == "exitcode: sh killed by SIGABRT (Aborted)"* ]]
	pattern=$(cat /proc/sys/kernel/core_pattern)
	case "$pattern" in
	"|"*) ;;  # piped to a helper that may refuse: the status bit is what we read
	*) [ "$output" = "exitcode: sh killed by SIGABRT (Aborted), core dumped" ] ;;
	esac
}

@test "a missing command is 127, command not found, from the exec errno" {
	run -127 exitcode -- /nonexistent/prog
	[ "$output" = "exitcode: /nonexistent/prog: command not found (No such file or directory)" ]
	run -127 exitcode -- no-such-command-xyz
	[ "$output" = "exitcode: no-such-command-xyz: command not found (No such file or directory)" ]
}

@test "a program that itself exits 127 is not 'command not found'" {
	run -127 exitcode -- sh -c 'exit 127'
	[ "$output" = "exitcode: sh exited with status 127" ]
}

@test "a file without execute permission is 126, not executable" {
	f=$BATS_TEST_TMPDIR/plain
	echo 'echo hi' > "$f"
	chmod 644 "$f"
	run -126 exitcode -- "$f"
	[ "$output" = "exitcode: $f: not executable (Permission denied)" ]
}

@test "a directory is 126, not executable" {
	run -126 exitcode -- /tmp
	[ "$output" = "exitcode: /tmp: not executable (Permission denied)" ]
}

@test "-j classifies a run as one JSON object on stderr" {
	run -139 --separate-stderr exitcode -j -- sh -c 'kill -SEGV $$'
	[ "$output" = "" ]
	[ "$stderr" = '{"command":"sh","argv":["sh","-c","kill -SEGV $$"],"result":"killed","exit":null,"signal":"SIGSEGV","signum":11,"core_dumped":false,"error":null,"status":139}' ] ||
	[ "$stderr" = '{"command":"sh","argv":["sh","-c","kill -SEGV $$"],"result":"killed","exit":null,"signal":"SIGSEGV","signum":11,"core_dumped":true,"error":null,"status":139}' ]
}

@test "-j reports an exec failure with the errno text" {
	run -127 exitcode -j -- /nonexistent/prog
	[ "$output" = '{"command":"/nonexistent/prog","argv":["/nonexistent/prog"],"result":"not_found","exit":null,"signal":null,"signum":null,"core_dumped":false,"error":"No such file or directory","status":127}' ]
}

@test "-m remaps the final status" {
	run -0 exitcode -m 1=0 -- false
	[ "$output" = "exitcode: false exited with status 1 (status 1 mapped to 0)" ]
	run -7 exitcode -m 3=5,143=7 -- sh -c 'kill $$'
	[ "$output" = "exitcode: sh killed by SIGTERM (Terminated) (status 143 mapped to 7)" ]
}

@test "-m leaves unmapped statuses alone" {
	run -2 exitcode --map 1=0 -- sh -c 'exit 2'
	[ "$output" = "exitcode: sh exited with status 2" ]
}

@test "-f moves on only when a command could not be executed, and says which ran" {
	run -0 exitcode -f 'no-such-rsync -a x y' -f 'echo "copied with echo"'
	[ "${lines[0]}" = "exitcode: no-such-rsync: command not found (No such file or directory), trying the next alternative" ]
	[ "${lines[1]}" = "copied with echo" ]
	[ "${lines[2]}" = "exitcode: echo exited with status 0 [alternative 2]" ]
}

@test "-f does not move on when the first command ran and failed" {
	run -1 exitcode -f 'false' -f 'echo never'
	[ "$output" = "exitcode: false exited with status 1 [alternative 1]" ]
}

@test "-f does not move on when the first command itself exits 127" {
	run -127 exitcode -f "sh -c 'exit 127'" -f 'echo never'
	[ "$output" = "exitcode: sh exited with status 127 [alternative 1]" ]
}

@test "-f ends with the last failure when no alternative can be executed" {
	run -127 exitcode -f 'nope-one' -f 'nope-two'
	[ "${lines[0]}" = "exitcode: nope-one: command not found (No such file or directory), trying the next alternative" ]
	[ "${lines[1]}" = "exitcode: nope-two: command not found (No such file or directory) [alternative 2]" ]
}

@test "-f with -j names the alternative in the JSON" {
	run -0 exitcode -j -f 'nope-one' -f 'true'
	[ "$output" = '{"command":"true","argv":["true"],"result":"exited","exit":0,"signal":null,"signum":null,"core_dumped":false,"error":null,"alternative":2,"status":0}' ]
}

@test "SIGTERM to exitcode is passed on to the command" {
	exitcode -- sleep 30 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	retry_until 5 pgrep -P "$pid" sleep
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "exitcode: sleep killed by SIGTERM (Terminated)" ]
}

# ---- bad input: one line saying what is wrong, the usage line, status 125

@test "a code that is not a number is a usage error" {
	run -125 exitcode abc
	[ "${lines[0]}" = "exitcode: invalid code 'abc': not a number" ]
	[ "${lines[1]}" = "usage: $(usage | sed 's/^usage: //')" ]
}

@test "a code above 255 is a usage error" {
	run -125 exitcode 256
	[ "${lines[0]}" = "exitcode: invalid code '256': out of range 0-255" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "a negative code is a usage error" {
	run -125 exitcode 0 -5
	[ "${lines[0]}" = "exitcode: invalid code '-5': out of range 0-255" ]
}

@test "-m with a bad value is a usage error" {
	run -125 exitcode -m 1=x -- true
	[ "${lines[0]}" = "exitcode: invalid mapping '1=x': codes are 0-255" ]
	run -125 exitcode -m 1 -- true
	[ "${lines[0]}" = "exitcode: invalid mapping '1': expected FROM=TO" ]
	run -125 exitcode -m 300=1 -- true
	[ "${lines[0]}" = "exitcode: invalid mapping '300=1': codes are 0-255" ]
	run -125 exitcode -m , -- true
	[ "${lines[0]}" = "exitcode: invalid mapping ',': expected FROM=TO" ]
}

@test "nothing after -- is a usage error" {
	run -125 exitcode --
	[ "${lines[0]}" = "exitcode: no command after --" ]
}

@test "an empty -f is a usage error" {
	run -125 exitcode -f ''
	[ "${lines[0]}" = "exitcode: empty command in -f" ]
	run -125 exitcode -f '   '
	[ "${lines[0]}" = "exitcode: empty command in -f" ]
}

@test "an unterminated quote in -f is a usage error" {
	run -125 exitcode -f "echo 'oops"
	[ "${lines[0]}" = "exitcode: invalid command 'echo 'oops': unterminated single quote" ]
}

@test "-f together with a command after -- is a usage error" {
	run -125 exitcode -f true -- true
	[ "${lines[0]}" = "exitcode: -f and a command after -- cannot be combined" ]
}

@test "-m without a command is a usage error" {
	run -125 exitcode -m 1=0 1
	[ "${lines[0]}" = "exitcode: -m needs a command (after --)" ]
}

@test "-l with other arguments is a usage error" {
	run -125 exitcode -l 3
	[ "${lines[0]}" = "exitcode: -l takes no other arguments" ]
}

@test "no arguments at all is a usage error" {
	run -125 exitcode
	[ "${lines[0]}" = "exitcode: no code or command given" ]
}

@test "an unknown option is a usage error" {
	run -125 exitcode -z
	[ "${lines[0]}" = "exitcode: unknown option '-z'" ]
	run -125 exitcode --bogus
	[ "${lines[0]}" = "exitcode: unknown option '--bogus'" ]
}

@test "an option missing its argument is a usage error" {
	run -125 exitcode -m
	[ "${lines[0]}" = "exitcode: option '-m' needs an argument" ]
}

@test "--help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr exitcode --help
	[[ "${lines[0]}" == "usage: exitcode "* ]]
	[[ "$output" == *"-m, --map FROM=TO"* ]]
	[ "$stderr" = "" ]
}
