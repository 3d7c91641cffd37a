#!/usr/bin/env bats
# pipe: shell-free pipelines, their wiring, statuses, input, output, stderr,
# timeouts and failures.

bats_require_minimum_version 1.5.0
load helpers

usage() { usage_line pipe; }

# a test that fails half-way leaves no stage behind
teardown() {
	if [ -n "${PIPE_PID:-}" ]; then
		kill -KILL $(children_of "$PIPE_PID") "$PIPE_PID" 2>/dev/null || true
	fi
}

# The children of a process, one pid per line.
children_of() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'
}

# only_stdio CMD...: runs CMD with every fd but 0-2 closed.
only_stdio() {
	local f n
	for f in /proc/self/fd/*; do
		n=${f##*/}
		[ "$n" -gt 2 ] && eval "exec $n>&-"
	done
	exec "$@"
}

# wait_status PID CODE: PID (a background job of this shell) ends with CODE
wait_status() {
	local rc=0
	wait "$1" || rc=$?
	[ "$rc" -eq "$2" ] || { echo "exit status $rc, expected $2" >&2; return 1; }
}

has_children() {
	[ "$(children_of "$1" | wc -l)" -eq "$2" ]
}

# ---- the classic cases ---------------------------------------------------

@test "-i feeds the string to the first stage: charactersinword has 16 bytes" {
	run -0 --separate-stderr pipe -i charactersinword 'wc -c'
	[ "$output" = "16" ]
	[ "$stderr" = "" ]
}

@test "a three-stage pipeline gives what the shell pipeline gives" {
	expected=$(cat /etc/passwd | grep 0:0 | cut -d: -f7)
	[ -n "$expected" ]
	run -0 --separate-stderr pipe 'cat /etc/passwd' 'grep 0:0' 'cut -d: -f7'
	[ "$output" = "$expected" ]
}

@test "-i with tr translates to upper case" {
	run -0 pipe -i translatetoupper 'tr a-z A-Z'
	[ "$output" = "TRANSLATETOUPPER" ]
}

@test "seq piped into head -1 exits 0: the last stage's status" {
	run -0 --separate-stderr pipe 'seq 1000000' 'head -1'
	[ "$output" = "1" ]
	[ "$stderr" = "" ]
}

@test "-p reports the SIGPIPE death of seq as 141" {
	run -141 --separate-stderr pipe -p -s 'seq 1000000' 'head -1'
	[ "$output" = "1" ]
	[ "$stderr" = "pipe: status 141 0" ]
}

@test "--sigpipe-ok forgives the SIGPIPE death of an early stage under -p" {
	run -0 --separate-stderr pipe -p --sigpipe-ok -s 'seq 1000000' 'head -1'
	[ "$output" = "1" ]
	[ "$stderr" = "pipe: status 141 0" ]
}

@test "works the same through procbox and through the link" {
	run -0 "$PROCBOX" pipe -i abc 'tr a-c x-z'
	[ "$output" = "xyz" ]
	run -0 "$PROCBOX_BIN/pipe" -i abc 'tr a-c x-z'
	[ "$output" = "xyz" ]
}

# ---- words, no shell -----------------------------------------------------

@test "a stage is split with quotes and backslashes and nothing is expanded" {
	run -0 pipe "printf '%s\n' 'a b' \"c\\\"d\" e\\ f \$HOME '*'"
	[ "${lines[0]}" = "a b" ]
	[ "${lines[1]}" = 'c"d' ]
	[ "${lines[2]}" = "e f" ]
	[ "${lines[3]}" = '$HOME' ]
	[ "${lines[4]}" = '*' ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "a single stage runs on its own" {
	run -0 pipe 'echo alone'
	[ "$output" = "alone" ]
}

@test "stages are found in PATH" {
	d=$(scratch)
	printf '#!/bin/sh\necho found-in-path\n' > "$d/pipe-probe"
	chmod +x "$d/pipe-probe"
	PATH="$d:$PATH" run -0 pipe pipe-probe cat
	[ "$output" = "found-in-path" ]
}

# ---- what the children inherit ---------------------------------------------

# fds_of_children PID: "0 1 2 " per child of PID, one line each
fds_of_children() {
	local c
	for c in $(children_of "$1"); do
		ls /proc/"$c"/fd | sort -n | tr '\n' ' '
		echo
	done
}

all_sleeping() {
	local c n=0
	for c in $(children_of "$1"); do
		[ "$(cat /proc/"$c"/comm)" = sleep ] || return 1
		n=$((n + 1))
	done
	[ "$n" -eq "$2" ]
}

@test "stages get the fds pipe inherited, as under env, and none of pipe's own" {
	d=$(scratch)
	echo in > "$d/in"
	# fd 7 is inherited by pipe itself and passed on unchanged, as env does
	env sh -c 'ls /proc/$$/fd' </dev/null >"$d/peer" 2>&1 7<"$d/in" 3>&-
	want=$(sort -n "$d/peer" | tr '\n' ' ')
	[[ " $want" == *" 7 "* ]]
	"$PROCBOX" pipe -I "$d/in" -o "$d/out" -e "$d/err" 'sleep 30' 'sleep 30' 'sleep 30' \
		</dev/null >/dev/null 2>&1 7<"$d/in" 3>&- &
	PIPE_PID=$!
	retry_until 5 all_sleeping "$PIPE_PID" 3
	[ "$(fds_of_children "$PIPE_PID")" = "$(printf '%s\n%s\n%s' "$want" "$want" "$want")" ]
	kill -TERM "$PIPE_PID"
	wait_status "$PIPE_PID" 143
	"$PROCBOX" pipe -t -i feed 'sleep 30' 'sleep 30' </dev/null >/dev/null 2>&1 7<"$d/in" 3>&- &
	PIPE_PID=$!
	retry_until 5 all_sleeping "$PIPE_PID" 2
	[ "$(fds_of_children "$PIPE_PID")" = "$(printf '%s\n%s' "$want" "$want")" ]
	kill -TERM "$PIPE_PID"
	wait_status "$PIPE_PID" 143
	PIPE_PID=
}

@test "stages inherit SIGPIPE and SIGINT ignored when pipe started so, as under env" {
	# the peer: env passes the ignored signals on
	run -0 bash -c 'trap "" PIPE INT; exec "$@"' - env sh -c 'grep ^Sig[IB] /proc/self/status'
	want=$output
	[ "$want" != "$(printf 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000')" ]
	run -0 bash -c 'trap "" PIPE INT; exec "$@"' - pipe \
		'sh -c "grep ^Sig[IB] /proc/self/status"' 'cat'
	[ "$output" = "$want" ]
	# and nothing else: what this test was started with, as env gives it
	run -0 env grep ^Sig[IB] /proc/self/status
	want=$output
	run -0 pipe 'grep -h ^Sig[IB] /proc/self/status' 'cat'
	[ "$output" = "$want" ]
}

@test "the parent holds no pipe end of the stages; SIGTERM to pipe reaches them" {
	only_stdio "$PROCBOX" pipe 'sleep 30' 'cat' </dev/null >/dev/null 2>&1 &
	PIPE_PID=$!
	retry_until 5 has_children "$PIPE_PID" 2
	cat_pid=
	for c in $(children_of "$PIPE_PID"); do
		[ "$(cat /proc/"$c"/comm)" = cat ] && cat_pid=$c
	done
	[ -n "$cat_pid" ]
	link=$(readlink /proc/"$cat_pid"/fd/0)
	[[ "$link" == pipe:* ]]
	held=$(for f in /proc/"$PIPE_PID"/fd/*; do readlink "$f"; done)
	[[ "$held" != *"$link"* ]]
	# beyond stdio only the signal fd is left
	[ "$(ls /proc/"$PIPE_PID"/fd | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
	[[ "$(readlink /proc/"$PIPE_PID"/fd/3)" == *signalfd* ]]
	kill -TERM "$PIPE_PID"
	wait_status "$PIPE_PID" 143
	PIPE_PID=
}

@test "SIGINT to pipe is passed on to the stages" {
	# a shell starts background jobs with SIGINT ignored: undo that, as a
	# terminal's foreground job would have it
	env --default-signal=INT "$PROCBOX" pipe -s 'sleep 30' 'sleep 30' </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	PIPE_PID=$!
	retry_until 5 has_children "$PIPE_PID" 2
	kill -INT "$PIPE_PID"
	wait_status "$PIPE_PID" 130
	PIPE_PID=
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "pipe: status 130 130" ]
}

@test "SIGHUP to pipe is passed on to the stages" {
	"$PROCBOX" pipe -s 'sleep 30' 'sleep 30' </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	PIPE_PID=$!
	retry_until 5 has_children "$PIPE_PID" 2
	kill -HUP "$PIPE_PID"
	wait_status "$PIPE_PID" 129
	PIPE_PID=
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "pipe: status 129 129" ]
}

# ---- input and output ------------------------------------------------------

@test "-I feeds a file to the first stage" {
	d=$(scratch)
	printf 'b\na\nc\n' > "$d/in"
	run -0 pipe -I "$d/in" sort 'head -2'
	[ "$output" = "$(printf 'a\nb')" ]
	run -0 pipe --input-file "$d/in" 'wc -l'
	[ "$output" = "3" ]
}

@test "-i feeds exactly the string: no newline is added, empty feeds nothing" {
	run -0 pipe -i '' 'wc -c'
	[ "$output" = "0" ]
	run -0 pipe --input $'two\nlines' 'wc -l'
	[ "$output" = "1" ]
}

@test "-i with a string larger than a pipe buffer does not deadlock" {
	big=$(head -c 90000 /dev/zero | tr '\0' x)
	run -0 pipe -i "$big" cat cat 'wc -c'
	[ "$output" = "90000" ]
	run -0 pipe -i "$big" 'head -c 3'
	[ "$output" = "xxx" ]
	run -0 pipe -i "$big" true
}

@test "-o writes the last stage's stdout to a file, truncating it" {
	d=$(scratch)
	echo old-content-longer > "$d/out"
	run -0 --separate-stderr pipe -o "$d/out" 'echo new' cat
	[ "$output" = "" ]
	[ "$(cat "$d/out")" = "new" ]
	run -0 pipe --output "$d/out" 'echo again'
	[ "$(cat "$d/out")" = "again" ]
}

@test "-e collects every stage's stderr in a file" {
	d=$(scratch)
	run -0 --separate-stderr pipe -e "$d/err" "sh -c 'echo e1 >&2; echo out'" "sh -c 'cat; echo e2 >&2'"
	[ "$output" = "out" ]
	[ "$stderr" = "" ]
	[ "$(sort "$d/err")" = "$(printf 'e1\ne2')" ]
	run -0 pipe --errors "$d/err" "sh -c 'echo e3 >&2'"
	[ "$(cat "$d/err")" = "e3" ]
}

@test "-t tags every stderr line with its stage number and name" {
	run -0 --separate-stderr pipe -t "sh -c 'echo one >&2; echo out; printf partial >&2'" \
		"grep -v nothing" "sh -c 'cat; echo three >&2'"
	[ "$output" = "out" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[ "$(printf '%s\n' "${stderr_lines[@]}" | grep '^\[1 sh\]' | sort)" = "$(printf '[1 sh] one\n[1 sh] partial')" ]
	[ "${stderr_lines[2]}" = "[3 sh] three" ]
}

@test "-t keeps lines whole when stages write stderr at the same time" {
	writer="sh -c 'i=0; while [ \$i -lt 300 ]; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa >&2; i=\$((i+1)); done'"
	run -0 --separate-stderr pipe --tag "$writer" "$writer" "$writer"
	[ "${#stderr_lines[@]}" -eq 900 ]
	bad=$(printf '%s\n' "${stderr_lines[@]}" | grep -cv '^\[[123] sh\] a\{64\}$' || true)
	[ "$bad" = 0 ]
}

@test "-t with -e writes the tagged lines to the file" {
	d=$(scratch)
	run -0 --separate-stderr pipe -t -e "$d/err" "sh -c 'echo oops >&2'" cat
	[ "$stderr" = "" ]
	[ "$(cat "$d/err")" = "[1 sh] oops" ]
}

@test "-t names a stage by the basename of its command" {
	run -0 --separate-stderr pipe -t "/bin/sh -c 'echo x >&2'"
	[ "$stderr" = "[1 sh] x" ]
}

# ---- statuses -------------------------------------------------------------

@test "the exit status is the last stage's; -s prints every stage's" {
	run -0 --separate-stderr pipe -s "sh -c 'exit 3'" "sh -c 'exit 5'" true
	[ "$stderr" = "pipe: status 3 5 0" ]
	run -4 --separate-stderr pipe --status true "sh -c 'exit 4'"
	[ "$stderr" = "pipe: status 0 4" ]
}

@test "-p exits with the rightmost non-zero status" {
	run -5 pipe -p "sh -c 'exit 3'" "sh -c 'exit 5'" true
	run -3 pipe --pipefail "sh -c 'exit 3'" true true
	run -0 pipe -p true true
}

@test "a stage killed by a signal counts as 128+N" {
	run -143 --separate-stderr pipe -s true "sh -c 'kill -TERM \$\$'"
	[ "$stderr" = "pipe: status 0 143" ]
}

@test "--sigpipe-ok does not forgive the last stage or other signals" {
	run -141 pipe -p --sigpipe-ok true "sh -c 'kill -PIPE \$\$'"
	run -143 pipe -p --sigpipe-ok "sh -c 'kill -TERM \$\$'" true
}

# ---- exec failures ---------------------------------------------------------

@test "a stage that is not found gets 127, says so, and the rest finishes" {
	run -0 --separate-stderr pipe -s yes nosuch-pipe-cmd 'wc -l'
	[ "$output" = "0" ]
	[ "${stderr_lines[0]}" = "pipe: stage 2: unable to execute nosuch-pipe-cmd: No such file or directory" ]
	[ "${stderr_lines[1]}" = "pipe: status 141 127 0" ]
	run -127 --separate-stderr pipe -p -s yes nosuch-pipe-cmd 'wc -l'
}

@test "a last stage that is not found makes the exit status 127" {
	run -127 --separate-stderr pipe 'echo x' nosuch-pipe-cmd
	[ "$stderr" = "pipe: stage 2: unable to execute nosuch-pipe-cmd: No such file or directory" ]
}

@test "a stage that cannot be executed gets 126 with the reason" {
	d=$(scratch)
	printf 'echo never\n' > "$d/noexec"
	chmod 644 "$d/noexec"
	run -126 --separate-stderr pipe 'echo x' "$d/noexec"
	[ "$stderr" = "pipe: stage 2: unable to execute $d/noexec: Permission denied" ]
	run -126 --separate-stderr pipe 'echo x' "$d"
	[ "$stderr" = "pipe: stage 2: unable to execute $d: Permission denied" ]
}

@test "a first stage that fails does not hang the -i feeder or the next stage" {
	big=$(head -c 90000 /dev/zero | tr '\0' x)
	run -0 --separate-stderr pipe -s -i "$big" nosuch-pipe-cmd 'wc -c'
	[ "$output" = "0" ]
	[ "${stderr_lines[1]}" = "pipe: status 127 0" ]
}

# ---- timeout ---------------------------------------------------------------

@test "--timeout kills the pipeline and exits 124" {
	start=$(date +%s%N)
	run -124 --separate-stderr pipe -s --timeout 200ms 'sleep 30' cat
	elapsed=$((($(date +%s%N) - start) / 1000000))
	[ "$elapsed" -lt 5000 ]
	[ "$stderr" = "pipe: status 143 143" ]
}

@test "--timeout kills grandchildren too: the stages have one process group" {
	d=$(scratch)
	run -124 pipe --timeout 0.3 "sh -c 'sleep 60 & echo \$! > $d/pid; wait'" cat
	pid=$(cat "$d/pid")
	[ -n "$pid" ]
	gone() { ! kill -0 "$pid" 2>/dev/null; }
	retry_until 5 gone
}

# pgid_of PID: the process group of PID, from /proc
pgid_of() {
	local stat
	stat=$(cat /proc/"$1"/stat)
	stat=${stat##*) }
	set -- $stat
	echo "$3"
}

@test "--timeout puts every stage in one new process group, otherwise they stay in the caller's" {
	d=$(scratch)
	printf 'read -r _ _ _ _ g _ < /proc/$$/stat; echo $g > "$1"\n' > "$d/pg.sh"
	run -0 pipe --timeout 10s "sh $d/pg.sh $d/g1" "sh $d/pg.sh $d/g2" "sh $d/pg.sh $d/g3"
	[ "$(cat "$d/g1")" = "$(cat "$d/g2")" ]
	[ "$(cat "$d/g1")" = "$(cat "$d/g3")" ]
	[ "$(cat "$d/g1")" != "$(pgid_of $$)" ]
	run -0 pipe "sh $d/pg.sh $d/g1" "sh $d/pg.sh $d/g2"
	[ "$(cat "$d/g1")" = "$(pgid_of $$)" ]
	[ "$(cat "$d/g2")" = "$(pgid_of $$)" ]
}

@test "--timeout sends SIGKILL when SIGTERM is ignored, then exits 137" {
	run -137 pipe --timeout 0.2 "sh -c 'trap \"\" TERM; sleep 30'"
}

@test "a pipeline that ends before --timeout keeps its own status" {
	run -3 pipe --timeout 10s "sh -c 'exit 3'"
	run -0 pipe --timeout 0 'echo zero means none'
	[ "$output" = "zero means none" ]
}

# ---- own failures: 125 ---------------------------------------------------------

@test "an -I file that cannot be opened is pipe's own failure: 125" {
	run -125 --separate-stderr pipe -I /nonexistent/pipe-in cat
	[ "$stderr" = "pipe: unable to open /nonexistent/pipe-in: No such file or directory" ]
}

@test "an -o or -e file that cannot be opened is pipe's own failure: 125" {
	d=$(scratch)
	run -125 --separate-stderr pipe -o "$d" 'echo x'
	[ "$stderr" = "pipe: unable to open $d: Is a directory" ]
	run -125 --separate-stderr pipe -e /nonexistent/pipe-err 'echo x'
	[ "$stderr" = "pipe: unable to open /nonexistent/pipe-err: No such file or directory" ]
}

@test "-o and -e never open through a symbolic link: 125, and its target untouched" {
	d=$(scratch)
	echo victim >"$d/victim"
	ln -s "$d/victim" "$d/link"
	ln -s "$d/new" "$d/dangling"
	for opt in -o -e; do
		for f in link dangling; do
			run -125 --separate-stderr pipe $opt "$d/$f" "sh -c 'echo x; echo y >&2'"
			[ "$output" = "" ]
			[ "$stderr" = "pipe: unable to open $d/$f: it is a symbolic link" ]
		done
	done
	[ "$(cat "$d/victim")" = victim ]
	[ ! -e "$d/new" ]
}

@test "running out of file descriptors is pipe's own failure: 125" {
	run -125 --separate-stderr only_stdio bash -c 'ulimit -n 6; exec "$@"' - \
		pipe -s true true true true true true true true
	[[ "$stderr" =~ ^"pipe: stage "[0-9]": unable to start: "(No file descriptors available|Too many open files)$'\n'"pipe: status "[0-9\ ]*" 125"$ ]]
}

# ---- usage errors: 125 ---------------------------------------------------------

@test "no stage at all is a usage error" {
	run -125 --separate-stderr pipe
	[ "$stderr" = "$(printf 'pipe: no stage given\n%s' "$(usage)")" ]
	run -125 --separate-stderr pipe -s
	[ "${stderr_lines[0]}" = "pipe: no stage given" ]
}

@test "an empty or blank stage is a usage error naming the stage" {
	run -125 --separate-stderr pipe 'echo x' ''
	[ "$stderr" = "$(printf 'pipe: stage 2 is empty\n%s' "$(usage)")" ]
	run -125 --separate-stderr pipe '   ' 'echo x'
	[ "${stderr_lines[0]}" = "pipe: stage 1 is empty" ]
}

@test "an unterminated quote is a usage error naming the stage" {
	run -125 --separate-stderr pipe 'echo x' "grep 'abc"
	[ "$stderr" = "$(printf 'pipe: stage 2: unterminated single quote\n%s' "$(usage)")" ]
	run -125 --separate-stderr pipe 'echo "x'
	[ "${stderr_lines[0]}" = "pipe: stage 1: unterminated double quote" ]
	run -125 --separate-stderr pipe 'echo x\'
	[ "${stderr_lines[0]}" = "pipe: stage 1: backslash at end of string" ]
}

@test "a bad stage is refused before any stage runs" {
	d=$(scratch)
	run -125 pipe "touch $d/ran" "'"
	[ ! -e "$d/ran" ]
}

@test "an unknown option is a usage error" {
	run -125 --separate-stderr pipe --bogus cat
	[ "$stderr" = "$(printf "pipe: unknown option '--bogus'\n%s" "$(usage)")" ]
	run -125 --separate-stderr pipe -x cat
	[ "${stderr_lines[0]}" = "pipe: unknown option '-x'" ]
}

@test "an option without its argument is a usage error" {
	run -125 --separate-stderr pipe -i
	[ "${stderr_lines[0]}" = "pipe: option '-i' needs an argument" ]
	run -125 --separate-stderr pipe --timeout
	[ "${stderr_lines[0]}" = "pipe: option '--timeout' needs an argument" ]
}

@test "a bad --timeout duration is a usage error" {
	run -125 --separate-stderr pipe --timeout 1x cat
	[ "${stderr_lines[0]}" = "pipe: invalid timeout '1x': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
	[ "${stderr_lines[1]}" = "$(usage)" ]
	run -125 --separate-stderr pipe --timeout -1 cat
	[[ "${stderr_lines[0]}" == "pipe: invalid timeout '-1'"* ]]
}

@test "-i and -I together are a usage error" {
	run -125 --separate-stderr pipe -i x -I /etc/passwd cat
	[ "$stderr" = "$(printf 'pipe: -i and -I cannot be combined\n%s' "$(usage)")" ]
}

@test "--help prints the usage and exits 0" {
	run -0 pipe --help
	[ "${lines[0]}" = "$(usage)" ]
	[[ "$output" == *"--sigpipe-ok"* ]]
}
