#!/usr/bin/env bats
# runner: sequential and parallel jobs, grouped output, timeouts that kill
# process groups, retries, halt, joblog, JSON, ssh fan-out, exit codes.

bats_require_minimum_version 1.5.0
load helpers
load sshd_helpers

usage() { usage_line runner; }

setup() {
	S=$(scratch)
	cd "$S" || return 1
}

# Not running: gone, or a zombie waiting for an init that does not reap.
not_running() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# ---- sshd on loopback, started once for the file, stopped in teardown_file

teardown_file() {
	sshd_stop
}

# Sets SSH (the --ssh command) and PORT.
sshd_up() {
	sshd_start || return 1
	SSH="$(sshd_ssh) -p $PORT -o ConnectTimeout=10"
}

# ---- running in order ------------------------------------------------------

@test "runs commands one after the other by default" {
	run -0 runner 'sleep 0.3; echo one' 'echo two'
	[ "$output" = "$(printf 'one\ntwo\nrunner: 2 jobs: 2 ok, 0 failed')" ]
}

@test "works the same through procbox and through the link" {
	run -0 --separate-stderr "$PROCBOX" runner 'echo a' 'echo b'
	[ "$output" = "$(printf 'a\nb')" ]
	[ "$stderr" = "runner: 2 jobs: 2 ok, 0 failed" ]
	run -0 --separate-stderr "$PROCBOX_BIN/runner" 'echo a'
	[ "$output" = "a" ]
	[ "$stderr" = "" ]
}

@test "--help prints the usage and exits 0" {
	run -0 runner --help
	[ "${lines[0]}" = "$(usage)" ]
}

@test "-d waits between starts" {
	run -0 --separate-stderr runner -v -d 400ms true true
	[[ "${stderr_lines[0]}" =~ ^runner:\ \+0\.([0-9]{3})s\ start\ 1/2:\ true$ ]]
	first=$((10#${BASH_REMATCH[1]}))
	[[ "${stderr_lines[2]}" =~ ^runner:\ \+([0-9]+)\.([0-9]{3})s\ start\ 2/2:\ true$ ]]
	[ $((${BASH_REMATCH[1]} * 1000 + 10#${BASH_REMATCH[2]} - first)) -ge 400 ]
}

@test "-v says what starts when, and how it ended" {
	run -0 --separate-stderr runner -v 'echo a' 'exit 0'
	[ "$output" = "a" ]
	[[ "${stderr_lines[0]}" =~ ^runner:\ \+0\.[0-9]{3}s\ start\ 1/2:\ echo\ a$ ]]
	[[ "${stderr_lines[1]}" =~ ^runner:\ \+[0-9.]+s\ ok\ 1/2:\ echo\ a$ ]]
	[[ "${stderr_lines[2]}" =~ ^runner:\ \+[0-9.]+s\ start\ 2/2:\ exit\ 0$ ]]
	[[ "${stderr_lines[3]}" =~ ^runner:\ \+[0-9.]+s\ ok\ 2/2:\ exit\ 0$ ]]
}

@test "-v says when a timeout stops a job" {
	run -1 --separate-stderr runner -v --timeout 0.2 'sleep 30'
	[[ "${stderr_lines[0]}" =~ ^runner:\ \+0\.[0-9]{3}s\ start\ 1/1:\ sleep\ 30$ ]]
	[[ "${stderr_lines[1]}" =~ ^runner:\ \+[0-9]+\.[0-9]{3}s\ timeout,\ stopping\ 1/1:\ sleep\ 30$ ]]
	[[ "${stderr_lines[2]}" =~ ^runner:\ \+[0-9.]+s\ timed\ out\ 1/1:\ sleep\ 30$ ]]
	[ "${stderr_lines[3]}" = "runner: timed out: sleep 30" ]
}

@test "-f reads commands from a file, skipping blank lines and comments" {
	printf '# comment\necho one\n\n   \n  echo two  \n' > cmds
	run -0 --separate-stderr runner -f cmds
	[ "$output" = "$(printf 'one\ntwo')" ]
}

@test "-f - reads commands from stdin" {
	run -0 --separate-stderr sh -c 'printf "echo two\necho three\n" | runner -f -'
	[ "$output" = "$(printf 'two\nthree')" ]
	[ "$stderr" = "runner: 2 jobs: 2 ok, 0 failed" ]
}

@test "an empty command file runs nothing and succeeds" {
	: > empty
	run -0 runner -f empty
	[ "$output" = "" ]
}

# ---- parallel, grouped output -------------------------------------------------

@test "-j runs jobs at the same time" {
	# job 1 can only finish once job 2 has run and ended
	run -0 --separate-stderr runner -j2 --timeout 10 \
		'while [ ! -s flag ]; do sleep 0.01; done; while [ -e /proc/$(cat flag) ]; do sleep 0.01; done; echo first' \
		'echo $$ > f; mv f flag; echo second'
	[ "$output" = "$(printf 'second\nfirst')" ]
}

@test "-j output is grouped: one job's lines together, never interleaved" {
	run -0 --separate-stderr runner -j4 \
		'for i in 1 2 3; do echo A$i; sleep 0.05; done' \
		'for i in 1 2 3; do echo B$i; sleep 0.07; done' \
		'for i in 1 2 3; do echo C$i; sleep 0.03; done' \
		'sleep 0.5; echo D1; echo D2; echo D3'
	[ "${#lines[@]}" -eq 12 ]
	# every job's three lines are adjacent and in their own order
	for start in 0 3 6 9; do
		l=${lines[$start]}
		[ "${lines[$((start + 1))]}" = "${l%1}2" ]
		[ "${lines[$((start + 2))]}" = "${l%1}3" ]
	done
}

@test "-k prints output in input order" {
	run -0 --separate-stderr runner -j2 -k 'sleep 0.4; echo first' 'echo second'
	[ "$output" = "$(printf 'first\nsecond')" ]
}

@test "stderr is grouped per job too, on stderr" {
	run -0 --separate-stderr runner -j2 -k 'echo out1; sleep 0.2; echo err1 >&2' 'echo out2; echo err2 >&2; sleep 0.1; echo err2b >&2'
	[ "$output" = "$(printf 'out1\nout2')" ]
	[ "$stderr" = "$(printf 'err1\nerr2\nerr2b\nrunner: 2 jobs: 2 ok, 0 failed')" ]
}

@test "--tag prefixes every line with the command and a tab" {
	run -0 --separate-stderr runner --tag 'printf "a\nb\n"' 'echo c >&2'
	[ "$output" = "$(printf 'printf "a\\nb\\n"\ta\nprintf "a\\nb\\n"\tb')" ]
	[ "${stderr_lines[0]}" = "$(printf 'echo c >&2\tc')" ]
}

@test "large output is kept whole, tagged line by line" {
	run -0 --separate-stderr runner -j2 -k --tag 'seq 400000' 'echo x'
	[ "${#lines[@]}" -eq 400001 ]
	[ "${lines[0]}" = "$(printf 'seq 400000\t1')" ]
	[ "${lines[399999]}" = "$(printf 'seq 400000\t400000')" ]
	[ "${lines[400000]}" = "$(printf 'echo x\tx')" ]
	run -0 sh -c 'runner "head -c 3000000 /dev/zero" 2>/dev/null | wc -c'
	[ "$output" = 3000000 ]
	# without a usable temp directory the output stays in memory
	run -0 sh -c 'TMPDIR=/nonexistent runner "head -c 3000000 /dev/zero" 2>/dev/null | wc -c'
	[ "$output" = 3000000 ]
}

# ---- direct exec or shell -------------------------------------------------------

@test "a command without shell syntax is executed directly, no shell between" {
	printf '#!/bin/sh\ncat /proc/$PPID/comm\n' > parent
	chmod +x parent
	run -0 "$PROCBOX_BIN/runner" "$S/parent"
	[ "$output" = runner ]
	run -0 "$PROCBOX_BIN/runner" "$S/parent; true"
	[ "$output" = sh ]
}

@test "a newline separates commands, so such a string goes to the shell" {
	run -0 runner $'echo a\necho b'
	[ "$output" = "$(printf 'a\nb')" ]
}

@test "shell builtins and unknown commands go to the shell" {
	run -3 runner 'exit 3' 'cd /' 'echo $((1+1))' no-such-command-xyz 'exit 7' true
	[ "${lines[0]}" = 2 ]
	[[ "$output" == *"no-such-command-xyz: not found"* ]]
	[[ "$output" == *"runner: failed: exit 3 (exited with status 3)"* ]]
	[[ "$output" == *"runner: failed: no-such-command-xyz (exited with status 127)"* ]]
}

@test "a file that is not executable fails with 126 and the reason" {
	printf '#!/bin/sh\necho hi\n' > noexec
	run -1 --separate-stderr runner --json "$S/noexec"
	[[ "$output" == *'"exit":126,'* ]]
	[[ "$output" == *"\"stderr\":\"runner: unable to execute $S/noexec: Permission denied\\n\"}" ]]
}

@test "many jobs at once get more file descriptors; the jobs keep the old limit" {
	yes 'sh -c "ulimit -n"' | head -60 > sixty
	run -0 --separate-stderr bash -c 'ulimit -Sn 64; runner -j60 -f sixty'
	[ "${#lines[@]}" -eq 60 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u)" = 64 ]
	run -255 bash -c 'ulimit -n 64; runner -j60 -f sixty'
	[ "$output" = "runner: unable to run 60 jobs at once: the open file limit is 64" ]
}

# ---- timeout, retries, halt ------------------------------------------------------

@test "--timeout kills the job's whole process group, grandchildren included" {
	run -1 --separate-stderr runner --timeout 0.3 'sleep 300 & echo $! > gc; wait'
	[ "$stderr" = 'runner: timed out: sleep 300 & echo $! > gc; wait' ]
	retry_until 5 not_running "$(cat gc)"
}

@test "--timeout also kills a grandchild that ignores SIGTERM" {
	SECONDS=0
	run -1 runner --timeout 0.3 'sh -c "trap \"\" TERM; exec sleep 300" & echo $! > gc; wait'
	retry_until 5 not_running "$(cat gc)"
	[ "$SECONDS" -lt 10 ]
}

@test "--timeout that is not reached changes nothing" {
	run -0 runner --timeout 5s 'echo fast'
	[ "$output" = fast ]
}

@test "--retries runs a failing job again, up to N more times" {
	run -1 --separate-stderr runner --retries 2 'echo try >> tries; exit 4'
	[ "$(wc -l < tries)" -eq 3 ]
	run -0 runner --retries 3 --json '[ -e once ] || { touch once; exit 1; }; echo done'
	[[ "$output" == *'"result":"ok","exit":0,"signal":null,"signum":null,"core_dumped":false,"tries":2,'* ]]
	[[ "$output" == *'"stdout":"done\n"'* ]]
}

@test "--halt starts nothing new after the first failure" {
	run -1 --separate-stderr runner --halt 'echo a' 'exit 5' 'touch started'
	[ ! -e started ]
	[ "$output" = a ]
	[ "${stderr_lines[0]}" = "runner: 2 jobs: 1 ok, 1 failed, 1 not started" ]
	[ "${stderr_lines[1]}" = "runner: failed: exit 5 (exited with status 5)" ]
}

# ---- joblog, json, summary ----------------------------------------------------------

@test "--joblog writes GNU parallel's columns" {
	run -2 --separate-stderr runner --timeout 0.5 --joblog log 'echo hi' 'kill -9 $$' 'sleep 10'
	[ "$(sed -n 1p log)" = "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')" ]
	[ "$(wc -l < log)" -eq 4 ]
	grep -qP '^1\t:\t\d{10}\.\d{3}\t +\d+\.\d{3}\t0\t3\t0\t0\techo hi$' log
	grep -qP '^2\t:\t\d{10}\.\d{3}\t +\d+\.\d{3}\t0\t0\t0\t9\tkill -9 \$\$$' log
	grep -qP '^3\t:\t\d{10}\.\d{3}\t +\d+\.\d{3}\t0\t0\t-1\t15\tsleep 10$' log
}

@test "--joblog that cannot be opened is runner's own error, 255" {
	run -255 runner --joblog /nonexistent/dir/log true
	[ "$output" = "runner: unable to open /nonexistent/dir/log: No such file or directory" ]
}

@test "--json prints one object per job with outcome, duration and output" {
	run -2 --separate-stderr runner --json -k 'printf "hi\n"; echo e >&2' 'exit 2' 'kill -TERM $$'
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^\{\"seq\":1,\"host\":null,\"command\":\"printf\ \\\"hi\\\\n\\\"\;\ echo\ e\ \>\&2\",\"result\":\"ok\",\"exit\":0,\"signal\":null,\"signum\":null,\"core_dumped\":false,\"tries\":1,\"start\":[0-9]{10}\.[0-9]{3},\"duration\":[0-9]+\.[0-9]{6},\"stdout_bytes\":3,\"stderr_bytes\":2,\"stdout\":\"hi\\n\",\"stderr\":\"e\\n\"\}$ ]]
	[[ "${lines[1]}" == '{"seq":2,"host":null,"command":"exit 2","result":"failed","exit":2,"signal":null,"signum":null,"core_dumped":false,"tries":1,'* ]]
	[[ "${lines[2]}" == '{"seq":3,"host":null,"command":"kill -TERM $$","result":"failed","exit":null,"signal":"SIGTERM",'* ]]
	[ "${stderr_lines[0]}" = "runner: 3 jobs: 1 ok, 2 failed" ]
}

@test "the summary counts and names what failed, only when several jobs ran" {
	run -2 --separate-stderr runner 'true' 'exit 3' 'kill -KILL $$'
	[ "$stderr" = "$(printf '%s\n' 'runner: 3 jobs: 1 ok, 2 failed' \
		'runner: failed: exit 3 (exited with status 3)' 'runner: failed: kill -KILL $$ (killed by SIGKILL (Killed))')" ]
	run -1 --separate-stderr runner 'exit 3'
	[ "$stderr" = "" ]
}

# ---- exit codes ------------------------------------------------------------------

@test "exit status is the number of failed jobs" {
	run -3 --separate-stderr runner -j3 false true false 'exit 9' true
	[ "${stderr_lines[0]}" = "runner: 5 jobs: 2 ok, 3 failed" ]
}

@test "100 failed jobs exit 100, more than 100 exit 101" {
	yes false | head -100 > hundred
	run -100 --separate-stderr runner -j4 -f hundred
	[ "${stderr_lines[0]}" = "runner: 100 jobs: 0 ok, 100 failed" ]
	yes false | head -101 > more
	run -101 --separate-stderr runner -j4 -f more
	[ "${stderr_lines[0]}" = "runner: 101 jobs: 0 ok, 101 failed" ]
}

@test "SIGTERM stops every job's process group and still prints the summary" {
	runner -j2 'sleep 300 & echo $! > gc; wait' 'echo $$ > job2; sleep 300' 'touch never' >out 2>err &
	pid=$!
	retry_until 10 test -s gc
	retry_until 10 test -s job2
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 3 ]
	[ ! -e never ]
	retry_until 5 not_running "$(cat gc)"
	retry_until 5 not_running "$(cat job2)"
	grep -qx 'runner: 2 jobs: 0 ok, 2 failed, 1 not started (stopped by SIGTERM)' err
	grep -qxF 'runner: failed: echo $$ > job2; sleep 300 (killed by SIGTERM (Terminated))' err
}

@test "SIGINT stops the jobs too" {
	# a shell starts background jobs with SIGINT ignored: undo that
	env --default-signal=INT runner 'sleep 300 & echo $! > gc; wait' 'touch never' >out 2>err &
	pid=$!
	retry_until 10 test -s gc
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 2 ]
	[ ! -e never ]
	retry_until 5 not_running "$(cat gc)"
	grep -qx 'runner: 1 job: 0 ok, 1 failed, 1 not started (stopped by SIGINT)' err
}

@test "output that cannot be written stops runner with 255" {
	run -255 --separate-stderr sh -c 'runner "echo a" "touch never" >/dev/full'
	[ "${stderr_lines[0]}" = "runner: unable to write to standard output: No space left on device" ]
	[ "${stderr_lines[1]}" = "runner: 1 job: 1 ok, 0 failed, 1 not started" ]
	[ ! -e never ]
}

# ---- bad input: 255 with a message and the usage line ------------------------------

@test "a bad -j is a usage error" {
	run -255 runner -j abc true
	[ "${lines[0]}" = "runner: invalid job count 'abc': not a number" ]
	[ "${lines[1]}" = "$(usage)" ]
	run -255 runner -j 10001 true
	[ "${lines[0]}" = "runner: invalid job count '10001': out of range 0-10000" ]
	run -255 runner -j 5x% true
	[ "${lines[0]}" = "runner: invalid job count '5x%': expected N, N%, +N or -N" ]
	run -255 runner -j
	[ "${lines[0]}" = "runner: option '-j' needs an argument" ]
}

@test "a bad duration is a usage error" {
	run -255 runner -d 5x true
	[ "${lines[0]}" = "runner: invalid delay '5x': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
	[ "${lines[1]}" = "$(usage)" ]
	run -255 runner --timeout -1 true
	[ "${lines[0]}" = "runner: invalid timeout '-1': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
}

@test "a bad retry count is a usage error" {
	run -255 runner --retries many true
	[ "${lines[0]}" = "runner: invalid retry count 'many': not a number" ]
}

@test "an unreadable -f file is runner's own error" {
	run -255 runner -f "$S/missing"
	[ "$output" = "runner: unable to read $S/missing: No such file or directory" ]
	mkdir dir
	run -255 runner -f dir
	[ "$output" = "runner: unable to read dir: Is a directory" ]
}

@test "an unknown option is a usage error" {
	run -255 runner --frobnicate true
	[ "${lines[0]}" = "runner: unknown option '--frobnicate'" ]
	[ "${lines[1]}" = "$(usage)" ]
	run -255 runner -z true
	[ "${lines[0]}" = "runner: unknown option '-z'" ]
}

@test "no command, an empty command, or a bad --ssh are usage errors" {
	run -255 runner
	[ "${lines[0]}" = "runner: no command given" ]
	run -255 runner 'echo a' '  '
	[ "${lines[0]}" = "runner: empty command" ]
	run -255 runner --ssh 'ssh -p 1' true
	[ "${lines[0]}" = "runner: --ssh needs hosts (-H or -h)" ]
	run -255 runner -H h --ssh "ssh -o 'x" true
	[ "${lines[0]}" = "runner: invalid --ssh 'ssh -o 'x': unterminated single quote" ]
	run -255 runner -H , true
	[ "${lines[0]}" = "runner: no host in -H ','" ]
	run -255 runner -h "$S/nohosts" true
	[ "${lines[0]}" = "runner: unable to read $S/nohosts: No such file or directory" ]
}

# ---- ssh fan-out against a real sshd --------------------------------------------

@test "-H runs every command on every host over ssh" {
	sshd_up
	run -0 --separate-stderr runner -H 127.0.0.1,127.0.0.2 --ssh "$SSH" \
		'echo "$SSH_CONNECTION" | cut -d" " -f3' 'echo two'
	[ "$output" = "$(printf '127.0.0.1\n127.0.0.2\ntwo\ntwo')" ]
	[ "$stderr" = "runner: 4 jobs: 4 ok, 0 failed" ]
}

@test "-h reads hosts from a file; --tag prefixes lines with the host" {
	sshd_up
	printf '# hosts\n127.0.0.1\n\n127.0.0.2\n' > hosts
	run -0 --separate-stderr runner -j2 -k --tag -h hosts --ssh "$SSH" 'echo a; echo b >&2'
	[ "$output" = "$(printf '127.0.0.1\ta\n127.0.0.2\ta')" ]
	[ "${stderr_lines[0]}" = "$(printf '127.0.0.1\tb')" ]
	[ "${stderr_lines[1]}" = "$(printf '127.0.0.2\tb')" ]
}

@test "a remote command's own status comes back; remote 255 is not a connection failure" {
	sshd_up
	run -2 --separate-stderr runner -k --json -H 127.0.0.1 --ssh "$SSH" 'exit 3' 'echo out; exit 255'
	[[ "${lines[0]}" == '{"seq":1,"host":"127.0.0.1","command":"exit 3","result":"failed","exit":3,'* ]]
	[[ "${lines[1]}" == '{"seq":2,"host":"127.0.0.1","command":"echo out; exit 255","result":"failed","exit":255,'* ]]
	[[ "${lines[1]}" == *'"stdout_bytes":4,"stderr_bytes":0,"stdout":"out\n","stderr":""}' ]]
}

@test "a host with nothing listening is reported as unreachable" {
	sshd_up
	run -2 --separate-stderr runner -j2 -k -H 127.0.0.1,127.0.0.3 --ssh "$SSH" 'exit 255'
	# ssh ends its own messages with CR LF
	[[ "${stderr_lines[0]}" == "ssh: connect to host 127.0.0.3 port "*": Connection refused"* ]]
	[ "${stderr_lines[1]}" = "runner: 2 jobs: 0 ok, 1 failed, 1 unreachable" ]
	[ "${stderr_lines[2]}" = "runner: failed: 127.0.0.1: exit 255 (exited with status 255)" ]
	[ "${stderr_lines[3]}" = "runner: unreachable: 127.0.0.3: exit 255 (ssh exited 255 before the remote command started)" ]
}

@test "ssh jobs are logged with their host and can time out" {
	sshd_up
	run -1 --separate-stderr runner --timeout 3 --joblog log -H 127.0.0.2 --ssh "$SSH" 'sleep 30'
	[ "$stderr" = "runner: timed out: 127.0.0.2: sleep 30" ]
	grep -qP '^1\t127\.0\.0\.2\t\d+\.\d{3}\t +\d+\.\d{3}\t0\t0\t-1\t15\tsleep 30$' log
}

@test "a program is found in PATH once per run, and again when it is gone from there" {
	mkdir a b
	printf '#!/bin/sh\necho from-a\n' >a/prog
	printf '#!/bin/sh\necho from-b\n' >b/prog
	chmod +x a/prog b/prog
	PATH="$S/a:$S/b:$PATH" run -0 --separate-stderr runner prog "rm $S/a/prog" prog
	[ "$output" = "$(printf 'from-a\nfrom-b')" ]
	PATH="$S/a:$S/b:$PATH" run -1 --separate-stderr runner prog "rm $S/b/prog" prog
	[ "$(printf '%s\n' "$output" | head -n 1)" = from-b ]
	[[ "$stderr" == *"prog: not found"* ]]
}

@test "a program found in PATH that cannot run is reported once, and the run goes on" {
	mkdir a
	printf '#!/nonexistent/interp\necho hi\n' >a/badscript
	chmod +x a/badscript
	PATH="$S/a:$PATH" run -2 --separate-stderr timeout -s KILL 20 runner badscript 'echo x' badscript
	[ "$output" = x ]
	[ "$(grep -c 'unable to execute its interpreter /nonexistent/interp for badscript' <<< "$stderr")" = 2 ]
	[[ "$stderr" == *"3 jobs: 1 ok, 2 failed"* ]]
}
