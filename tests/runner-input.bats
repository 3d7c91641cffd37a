#!/usr/bin/env bats
# runner's input: -f files and pipes read as jobs need them, templates
# whose arguments come from input lines, -0 records or ::: lists, GNU
# parallel's replacement strings, file names that never become shell
# syntax, -j 0 and -j N%. Side by side with GNU parallel where it has the
# behaviour.

bats_require_minimum_version 1.5.0
load helpers
load sshd_helpers

setup() {
	S=$(scratch)
	cd "$S" || return 1
}

par() { parallel --will-cite "$@"; }

# A program that writes each of its arguments followed by a NUL byte.
make_args() {
	printf '#!/bin/sh\nprintf "%%s\\0" "$@"\n' > "$S/args"
	chmod +x "$S/args"
}

# Files in names/ whose names hold every byte 1-255 but '/': one per byte
# ("x", the byte, "y.log"), four holding all of them between them, and
# the man page's old example of a name that is shell code.
make_names() {
	local b c all=("" "" "" "")
	mkdir names
	for b in $(seq 1 255); do
		[ "$b" = 47 ] && continue
		printf -v c "\\x$(printf %02x "$b")"
		: > "names/x${c}y.log"
		all[$((b / 64))]+=$c
	done
	for b in 0 1 2 3; do
		: > "names/${all[$b]}.log"
	done
	: > 'names/x;touch INJECTED;.log'
	[ "$(find names -type f -printf x | wc -c)" -eq 259 ]
}

# VmHWM (peak resident memory, kB) of a process.
peak_kb() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# ---- streaming ------------------------------------------------------------

@test "-f - starts a job as soon as its line arrives, as parallel does" {
	need_cmd parallel
	for tool in "runner -f -" "par"; do
		rm -f started late
		# the second line is written only once the first job has run
		{ echo 'touch started'; retry_until 10 test -e started || touch late; echo true; } |
			$tool
		[ -e started ]
		[ ! -e late ]
	done
}

@test "-f FIFO streams too: a job starts before the writer is done" {
	mkfifo fifo
	{ echo 'touch started'; retry_until 10 test -e started || touch late; echo 'echo done'; } > fifo &
	run -0 --separate-stderr runner -f fifo
	wait
	[ "$output" = done ]
	[ ! -e late ]
}

@test "arguments stream as well: -f - with a template" {
	need_cmd parallel
	for tool in "runner -f - touch" "par touch"; do
		rm -f started late
		{ echo started; retry_until 10 test -e started || touch late; echo other; } | $tool
		[ -e other ]
		[ ! -e late ]
	done
}

@test "1M queued lines: runner holds the running job and a small read-ahead, parallel beside" {
	need_cmd parallel
	local tool pid kb_runner kb_parallel
	for tool in runner par; do
		rm -f started
		{ echo 'echo $$ > s; mv s started; exec sleep 300'; yes true | head -n 1000000; } |
			if [ $tool = runner ]; then exec runner -f -; else exec parallel --will-cite -j1; fi &
		pid=$!
		retry_until 60 test -s started
		eval "kb_$tool=\$(peak_kb $pid)"
		kill -TERM "$pid"
		kill "$(cat started)" 2>/dev/null || true
		wait "$pid" || true
	done
	echo "peak RSS: runner ${kb_runner} kB, parallel ${kb_par} kB"
	[ "$kb_runner" -le 16384 ]
	[ "$kb_runner" -le "$kb_par" ]
}

@test "streamed jobs keep -k order, retries and the count in the summary" {
	{ echo 'sleep 0.3; echo one'; echo 'echo two'; echo '[ -e x ] || { touch x; exit 1; }; echo three'; } > cmds
	run -0 --separate-stderr sh -c 'cat cmds | runner -j3 -k --retries 1 -f -'
	[ "$output" = "$(printf 'one\ntwo\nthree')" ]
	[ "$stderr" = "runner: 3 jobs: 3 ok, 0 failed" ]
}

@test "job numbers are input line numbers, comments and blank lines counted, as parallel counts them" {
	need_cmd parallel
	printf 'echo a\n\n# note\n  \necho b\n' > cmds
	run -0 runner --joblog rlog -f cmds
	run -0 par --joblog plog -a cmds
	[ "$(cut -f1,9 rlog | sed 1d)" = "$(printf '1\techo a\n5\techo b')" ]
	[ "$(cut -f1,9 plog | grep -P '\techo ')" = "$(cut -f1,9 rlog | sed 1d)" ]
}

@test "--halt on a stream counts the jobs of a regular file that were not started" {
	printf 'exit 1\necho a\n# skipped\necho b\n' > cmds
	run -1 --separate-stderr runner --halt -f cmds
	[ "$stderr" = "$(printf '%s\n' 'runner: 1 job: 0 ok, 1 failed, 2 not started' \
		'runner: failed: exit 1 (exited with status 1)')" ]
}

@test "-v numbers jobs out of a total once the input is read" {
	run -0 --separate-stderr runner -v echo ::: a b
	[[ "${stderr_lines[0]}" =~ ^runner:\ \+[0-9.]+s\ start\ 1/2:\ echo\ a$ ]]
	run -0 --separate-stderr sh -c 'echo true | runner -v -f -'
	[[ "${stderr_lines[0]}" =~ ^runner:\ \+[0-9.]+s\ start\ 1:\ true$ ]]
}

# ---- templates: CMD with an input ---------------------------------------------

@test "CMD with -f: each line is an argument, appended when CMD names no value, as parallel" {
	need_cmd parallel
	printf 'a b\n\n  c  \n# d\n' > in
	run -0 --separate-stderr runner -k -f in echo '[{}]'
	[ "$output" = "$(printf '[a b]\n[]\n[  c  ]\n[# d]')" ]
	[ "$output" = "$(par -k -a in echo '[{}]')" ]
	run -0 --separate-stderr runner -k -f in echo x
	[ "$output" = "$(par -k -a in echo x)" ]
	[ "${lines[0]}" = "x a b" ]
}

@test "-a FILE is -f FILE, as parallel's -a" {
	printf 'a\nb\n' > in
	run -0 --separate-stderr runner -k -a in echo
	[ "$output" = "$(printf 'a\nb')" ]
}

@test "::: gives the arguments on the command line, as parallel" {
	need_cmd parallel
	run -0 --separate-stderr runner -k echo {} ::: a 'b c' ''
	[ "$output" = "$(printf 'a\nb c\n')" ]
	[ "$output" = "$(par -k echo {} ::: a 'b c' '')" ]
	run -0 --separate-stderr runner -k ::: 'echo one' 'echo two'
	[ "$output" = "$(printf 'one\ntwo')" ]
	run -0 runner echo :::
	[ "$output" = "" ]
}

@test "-0 reads NUL-terminated records, from standard input when no -f is given" {
	need_cmd parallel
	printf 'a\nb\0c d\0e' > in
	run -0 --separate-stderr sh -c 'runner -0 -k echo "[{}]" < in'
	[ "$output" = "$(printf '[a\nb]\n[c d]\n[e]')" ]
	[ "$output" = "$(par -0 -k echo '[{}]' < in)" ]
	run -0 --separate-stderr runner -0 -k -f in echo "[{}]"
	[ "$output" = "$(printf '[a\nb]\n[c d]\n[e]')" ]
}

@test "standard input is read only when asked: operands alone are commands" {
	run -0 --separate-stderr sh -c 'echo "echo no" | runner "echo yes"'
	[ "$output" = yes ]
}

@test "replacement strings {} {.} {/} {//} {/.} {#} mean what they mean to parallel" {
	need_cmd parallel
	local v=(a.b/c.d.e .bashrc dir/.x a /a a/b/ / '' a. .. x.tar.gz 'a//b' //a a/b// 'sp ace/f.x y')
	local t=('[{}]' '[{.}]' '[{/}]' '[{//}]' '[{/.}]' '{#}')
	run -0 --separate-stderr runner -k echo "${t[@]}" ::: "${v[@]}"
	[ "${lines[0]}" = "[a.b/c.d.e] [a.b/c.d] [c.d.e] [a.b] [c.d] 1" ]
	[ "${lines[5]}" = "[a/b/] [a/b/] [] [a] [] 6" ]
	[ "$output" = "$(par -k echo "${t[@]}" ::: "${v[@]}")" ]
	# the same without a shell: each value one argument
	run -0 --separate-stderr runner -k printf %s, {} {.} {/} {//} {/.} {#} ::: "${v[@]}"
	[ "$output" = "$(par -k printf %s, {} {.} {/} {//} {/.} {#} ::: "${v[@]}")" ]
}

@test "{/} is what follows the last slash even across a newline (parallel's stops at the line)" {
	run -0 runner printf %s, {/} {/.} ::: $'a\nb/c.x'
	[ "$output" = "c.x,c," ]
}

@test "{%} is the job slot, from 1 to -j, as parallel" {
	need_cmd parallel
	# jobs 1 and 2 wait for each other, so they hold both slots at once;
	# 3 and 4 take whichever slot is free when they start
	local job='touch b.{}; n=0; while [ $(ls | grep -c "^b\.") -lt 2 ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done; echo {#}:{%}'
	local tool
	for tool in runner par; do
		rm -f b.*
		run -0 --separate-stderr $tool -j2 "$job" ::: 1 2 3 4
		[ "$(printf '%s\n' "$output" | grep -c '^[1-4]:[12]$')" = 4 ]
		[ "$(printf '%s\n' "$output" | grep '^[12]:' | cut -d: -f2 | sort | tr '\n' ' ')" = "1 2 " ]
	done
}

@test "a value is one argument when the template needs no shell, even with blanks and quotes" {
	printf '#!/bin/sh\necho "$# $(cat /proc/$PPID/comm)"\n' > count
	chmod +x count
	run -0 --separate-stderr runner -k "$S/count" {} x{}y ::: 'a b' "it's" '$(touch INJECTED)' ''
	[ "$output" = "$(printf '2 runner\n2 runner\n2 runner\n2 runner')" ]
	[ ! -e INJECTED ]
	# shell syntax in the template: the value is quoted for /bin/sh
	run -0 --separate-stderr runner -k "$S/count {} | cat" ::: 'a b' '$(touch INJECTED)'
	[ "$output" = "$(printf '1 sh\n1 sh')" ]
	[ ! -e INJECTED ]
}

@test "the joblog shows the command with each value quoted as parallel quotes it" {
	need_cmd parallel
	local v=("it's" 'a b' 'x;y' plain '' "'" 'a"b')
	run -0 runner -k --joblog rlog echo {} ::: "${v[@]}"
	run -0 par -k --joblog plog echo {} ::: "${v[@]}"
	[ "$(cut -f1,9 rlog)" = "$(cut -f1,9 plog)" ]
}

@test "--tag prefixes the argument of a template, as parallel" {
	need_cmd parallel
	run -0 --separate-stderr runner -k --tag echo x ::: a b
	[ "$output" = "$(printf 'a\tx a\nb\tx b')" ]
	[ "$output" = "$(par -k --tag echo x ::: a b)" ]
}

# ---- sshd on loopback, as tests/runner.bats starts it

teardown_file() {
	sshd_stop
}

# Sets SSH (the --ssh command) and PORT.
sshd_up() {
	sshd_start || return 1
	SSH="$(sshd_ssh) -p $PORT -o ConnectTimeout=10"
}

@test "a template's values reach a remote shell quoted, never as shell code" {
	sshd_up
	local bad="\$(touch $S/INJECTED)"
	run -0 --separate-stderr runner -k -H 127.0.0.1,127.0.0.2 --ssh "$SSH" \
		printf %s, {} {#} ::: 'a b' "$bad" "it's"
	[ "$output" = "a b,1,a b,2,$bad,3,$bad,4,it's,5,it's,6," ]
	[ ! -e "$S/INJECTED" ]
}

# ---- file names are never shell code -------------------------------------------

@test "no file name becomes shell syntax: every byte 1-255 through -0, direct and by the shell, as parallel" {
	need_cmd parallel
	make_args
	make_names
	cd names
	find . -type f -print0 > ../list
	for t in "$S/args {}" "$S/args {} | cat" "$S/args x{}y" "$S/args {.} {/} {//} {/.}"; do
		runner -0 -k $t < ../list > ../out.runner
		par -0 -k $t < ../list > ../out.parallel
		cmp ../out.runner ../out.parallel
	done
	runner -0 -k "$S/args" {} < ../list > ../out.runner
	cmp ../out.runner ../list
	[ ! -e INJECTED ] && [ ! -e ../INJECTED ]
}

@test "no file name becomes shell syntax through -f - either (names without a newline)" {
	need_cmd parallel
	make_args
	make_names
	cd names
	find . -type f ! -name $'*\n*' | sort > ../list
	[ "$(wc -l < ../list)" -eq 257 ]
	for t in "$S/args {}" "$S/args {} | cat"; do
		runner -k -f - $t < ../list > ../out.runner
		par -k $t < ../list > ../out.parallel
		cmp ../out.runner ../out.parallel
	done
	tr '\n' '\0' < ../list | cmp - ../out.runner
	[ ! -e INJECTED ] && [ ! -e ../INJECTED ]
}

@test "the man page's way to compress logs leaves every name intact, as parallel does" {
	need_cmd parallel gzip
	make_names
	cp -a names copy
	(cd names && find . -name '*.log' -print0 | runner -0 -j4 gzip -9 {})
	(cd copy && find . -name '*.log' -print0 | par -0 -j4 gzip -9 {})
	[ "$(ls names | grep -c '\.log\.gz$')" -eq 259 ]
	(cd names && find . -print0 | sort -z) > list.runner
	(cd copy && find . -print0 | sort -z) > list.parallel
	cmp list.runner list.parallel
	(cd names && find . -name '*.gz' -print0 | runner -0 -j4 -f - gzip -d {})
	[ "$(ls names | grep -c '\.log$')" -eq 259 ]
	[ ! -e names/INJECTED ] && [ ! -e INJECTED ]
}

# ---- -j 0, -j N% ------------------------------------------------------------------

# The slots used by 2*E jobs that each wait until E of them run at once.
slots_used() {
	local e=$1
	shift
	rm -rf b
	mkdir b
	"$@" "touch b/{}; n=0; while [ \$(ls b | wc -l) -lt $e ] && [ \$n -lt 1000 ]; do sleep 0.01; n=\$((n+1)); done; echo {%}" \
		::: $(seq $((2 * e))) | sort -un | tr '\n' ' '
}

@test "-j 0 runs one job per core; -j N% that share of the cores, rounded up, as parallel" {
	need_cmd parallel nproc
	local cores half
	cores=$(nproc)
	half=$(((cores + 1) / 2))
	[ "$(slots_used "$cores" runner -j 0)" = "$(seq -s ' ' "$cores") " ]
	[ "$(slots_used "$cores" par -j 100%)" = "$(seq -s ' ' "$cores") " ]
	[ "$(slots_used "$half" runner -j 50%)" = "$(seq -s ' ' "$half") " ]
	[ "$(slots_used "$half" par -j 50%)" = "$(seq -s ' ' "$half") " ]
	[ "$(slots_used $((cores + 1)) runner -j +1)" = "$(seq -s ' ' $((cores + 1))) " ]
	[ "$(slots_used $((cores + 1)) par -j +1)" = "$(seq -s ' ' $((cores + 1))) " ]
	[ "$(slots_used 1 runner -j 1%)" = "1 " ]
	[ "$(slots_used 1 runner -j -1000)" = "1 " ]
}

# ---- usage --------------------------------------------------------------------------

@test "two inputs are a usage error: runner reads one" {
	run -255 runner echo ::: a ::: b
	[ "${lines[0]}" = "runner: more than one ::: list (runner takes one input)" ]
	run -255 runner -f - echo ::: a
	[ "${lines[0]}" = "runner: both -f and a ::: list (runner takes one input)" ]
	run -255 runner ::: ''
	[ "${lines[0]}" = "runner: empty command" ]
}

# ---- stopping -----------------------------------------------------------------------

@test "SIGTERM while runner waits for input stops it at once, and the run fails" {
	mkfifo fifo
	# before a writer has opened the FIFO
	runner -f fifo 2> err &
	pid=$!
	retry_until 10 sh -c "ls -l /proc/$pid/fd | grep -q fifo"
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 1 ]
	[ "$(cat err)" = "runner: 0 jobs: 0 ok, 0 failed, the rest of the input not read (stopped by SIGTERM)" ]
	# and once jobs ran
	runner -f fifo > out 2> err &
	pid=$!
	exec 7> fifo
	echo 'touch started' >&7
	retry_until 10 test -e started
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	exec 7>&-
	[ "$rc" -eq 1 ]
	[ "$(cat err)" = "runner: 1 job: 1 ok, 0 failed, the rest of the input not read (stopped by SIGTERM)" ]
}

@test "--halt on a pipe counts what was read and says the rest was not" {
	# one write: runner reads both lines at once, and nothing after them
	run -1 --separate-stderr sh -c 'printf "exit 1\ntrue\n" | runner --halt -f -'
	[ "${stderr_lines[0]}" = "runner: 1 job: 0 ok, 1 failed, 1 not started, the rest of the input not read" ]
}
