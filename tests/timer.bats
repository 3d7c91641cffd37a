#!/usr/bin/env bats
# timer: delays, fixed-rate intervals, cron schedules, deadlines, cancelling.

bats_require_minimum_version 1.5.0
load helpers

usage() { usage_line timer; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

# PID routes its signals to its event loop (they are blocked and read from
# a signal fd), so a signal sent now is handled, not fatal.
signals_ready() {
	local mask
	mask=$(sed -n 's/^SigBlk:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$mask" ] && [ "$mask" != 0000000000000000 ]
}
inotify_ready() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q inotify; }
has_child() { [ -n "$(ps -o pid= --ppid "$1")" ]; }
no_child() { ! has_child "$1"; }
gone_or_zombie() { [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }

# background TIMER-ARGS...: starts timer in the background; its pid in $pid,
# output in $d/out and $d/err.
background() {
	timer "$@" >"$d/out" 2>"$d/err" 3>&- &
	pid=$!
}
# finish: waits for the background timer; its status in $rc.
finish() {
	rc=0
	wait "$pid" || rc=$?
}

setup() { d=$(scratch); }
teardown() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
	return 0
}

# The tests that step the wall clock run in the VM lane (tests/vm/timer-clock.sh,
# make check-vm): make check never changes this machine's clock.

runs() { [ -f "$d/runs" ] && wc -l <"$d/runs" | tr -d ' ' || echo 0; }
runs_are() { [ "$(runs)" = "$1" ]; }

# ---- dispatch and usage -----------------------------------------------------

@test "works through procbox and through the link" {
	run -0 "$PROCBOX" timer -d 0 -- echo via procbox
	[ "$output" = "via procbox" ]
	run -0 "$PROCBOX_BIN/timer" -d 0 -- echo via link
	[ "$output" = "via link" ]
}

@test "--help prints the usage and every option on stdout" {
	run -0 timer --help
	[ "${lines[0]}" = "$(usage)" ]
	for o in --delay --interval --count --cron --next --from --overlap \
		--cancel-if-missing --timeout --kill-after --signal --preserve-status --foreground \
		--verbose --crontab --system --smtp; do
		[[ "$output" == *"$o"* ]]
	done
}

@test "an unknown option is a usage error" {
	run -125 timer --bogus -- true
	[ "${lines[0]}" = "timer: unknown option '--bogus'" ]
	[ "${lines[1]}" = "$(usage)" ]
	run -125 timer -x -- true
	[ "${lines[0]}" = "timer: unknown option '-x'" ]
}

@test "a missing command is a usage error" {
	run -125 timer -d 1
	[ "${lines[0]}" = "timer: no command given" ]
	[ "${lines[1]}" = "$(usage)" ]
	run -125 timer -t 1 --
	[ "${lines[0]}" = "timer: no command given" ]
}

@test "nothing to do without -d, -i, -c or -t" {
	run -125 timer -- true
	[ "${lines[0]}" = "timer: nothing to do: give -d, -i, -c or -t" ]
}

@test "bad durations are usage errors naming the option" {
	local what
	for what in "-d delay" "-i interval" "-t timeout" "-k kill-after"; do
		set -- $what
		run -125 timer -t 1 "$1" 5x -- true
		[ "${lines[0]}" = "timer: invalid $2 '5x': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
		[ "${lines[1]}" = "$(usage)" ]
	done
	run -125 timer -d -1 -- true
	[ "${lines[0]}" = "timer: invalid delay '-1': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
	run -125 timer -i 0 -- true
	[ "${lines[0]}" = "timer: invalid interval '0': must be more than 0" ]
}

@test "a bad signal, count or overlap mode is a usage error" {
	run -125 timer -t 1 -s NOSUCH -- true
	[ "${lines[0]}" = "timer: invalid signal 'NOSUCH': unknown signal" ]
	run -125 timer -t 1 -s 99 -- true
	[ "${lines[0]}" = "timer: invalid signal '99': unknown signal" ]
	run -125 timer -t 1 -s -1 -- true
	[ "${lines[0]}" = "timer: invalid signal '-1': unknown signal" ]
	run -125 timer -i 1 -n 0 -- true
	[ "${lines[0]}" = "timer: invalid count '0': out of range 1-9223372036854775807" ]
	run -125 timer -i 1 -n x -- true
	[ "${lines[0]}" = "timer: invalid count 'x': not a number" ]
	run -125 timer -i 1 --overlap later -- true
	[ "${lines[0]}" = "timer: invalid overlap mode 'later': expected skip, wait or kill" ]
}

@test "options that need another one say so" {
	run -125 timer -d 1 -n 2 -- true
	[ "${lines[0]}" = "timer: -n needs -i or -c" ]
	run -125 timer -d 1 -k 1 -- true
	[ "${lines[0]}" = "timer: -k needs -t or --overlap kill" ]
	run -125 timer -d 1 -s KILL -- true
	[ "${lines[0]}" = "timer: -s needs -t or --overlap kill" ]
	run -125 timer -d 1 --preserve-status -- true
	[ "${lines[0]}" = "timer: --preserve-status needs -t" ]
	run -125 timer -d 1 --overlap wait -- true
	[ "${lines[0]}" = "timer: --overlap needs -i or -c" ]
	run -125 timer -t 1 --cancel-if-missing /x -- true
	[ "${lines[0]}" = "timer: --cancel-if-missing needs -d, -i or -c" ]
	run -125 timer -c '* * * * *' -d 1 -- true
	[ "${lines[0]}" = "timer: -c cannot be combined with -d or -i" ]
	run -125 timer -d 1 --next 2 -- true
	[ "${lines[0]}" = "timer: --next needs -c" ]
	run -125 timer -c '* * * * *' --from 2026-01-01 -- true
	[ "${lines[0]}" = "timer: --from needs --next" ]
	run -125 timer -c '* * * * *' --next 0
	[ "${lines[0]}" = "timer: invalid --next count '0': out of range 1-100000" ]
}

# ---- -d ----------------------------------------------------------------------

@test "-d runs the command once, after the delay" {
	local t0 t1
	t0=$(ms_now)
	run -0 timer -d 300ms -- sh -c 'echo ran; exit 0'
	t1=$(ms_now)
	[ "$output" = "ran" ]
	[ $((t1 - t0)) -ge 300 ]
	[ $((t1 - t0)) -lt 3000 ]
}

@test "-d exits with the command's status" {
	run -3 timer -d 0.05 -- sh -c 'exit 3'
	run -0 timer --delay=0 -- true
}

@test "SIGINT during the -d wait cancels the run and exits 130" {
	# a shell starts background jobs with SIGINT ignored: undo that, as a
	# terminal's foreground job would have it
	env --default-signal=INT timer -d 30 -- touch "$d/ran" >"$d/out" 2>"$d/err" 3>&- &
	pid=$!
	retry_until 10 signals_ready "$pid"
	kill -INT "$pid"
	finish
	[ "$rc" -eq 130 ]
	[ "$(cat "$d/err")" = "timer: run cancelled by SIGINT" ]
	[ ! -e "$d/ran" ]
}

@test "SIGTERM during the -d wait cancels the run and exits 143" {
	background -d 30 -- touch "$d/ran"
	retry_until 10 signals_ready "$pid"
	kill -TERM "$pid"
	finish
	[ "$rc" -eq 143 ]
	[ "$(cat "$d/err")" = "timer: run cancelled by SIGTERM" ]
	[ ! -e "$d/ran" ]
}

@test "SIGHUP during the wait cancels the run and exits 129" {
	background -d 30 -- touch "$d/ran"
	retry_until 10 signals_ready "$pid"
	kill -HUP "$pid"
	finish
	[ "$rc" -eq 129 ]
	[ "$(cat "$d/err")" = "timer: run cancelled by SIGHUP" ]
	[ ! -e "$d/ran" ]
}

@test "--cancel-if-missing cancels promptly when PATH is deleted" {
	local t0 t1
	touch "$d/flag"
	background -d 30 --cancel-if-missing "$d/flag" -- touch "$d/ran"
	retry_until 10 inotify_ready "$pid"
	t0=$(ms_now)
	rm "$d/flag"
	finish
	t1=$(ms_now)
	[ "$rc" -eq 122 ]
	[ "$(cat "$d/err")" = "timer: run cancelled: $d/flag disappeared" ]
	[ ! -e "$d/ran" ]
	[ $((t1 - t0)) -lt 2000 ]
}

@test "--cancel-if-missing cancels when PATH is renamed away" {
	touch "$d/flag"
	background -d 30 --cancel-if-missing "$d/flag" -- touch "$d/ran"
	retry_until 10 inotify_ready "$pid"
	mv "$d/flag" "$d/flag.old"
	finish
	[ "$rc" -eq 122 ]
	[ ! -e "$d/ran" ]
}

@test "--cancel-if-missing cancels when PATH's directory goes" {
	mkdir "$d/dir"
	touch "$d/dir/flag"
	background -d 30 --cancel-if-missing "$d/dir/flag" -- touch "$d/ran"
	retry_until 10 inotify_ready "$pid"
	rm -r "$d/dir"
	finish
	[ "$rc" -eq 122 ]
	[ ! -e "$d/ran" ]
}

@test "--cancel-if-missing with PATH already missing cancels at once" {
	run -122 timer -d 30 --cancel-if-missing "$d/none" -- touch "$d/ran"
	[ "$output" = "timer: run cancelled: $d/none disappeared" ]
	[ ! -e "$d/ran" ]
}

@test "--cancel-if-missing runs the command when PATH stays" {
	touch "$d/flag"
	run -0 timer -d 0.1 --cancel-if-missing "$d/flag" -- echo ran
	[ "$output" = "ran" ]
}

@test "--cancel-if-missing stops an interval schedule" {
	touch "$d/flag"
	background -i 0.1 --cancel-if-missing "$d/flag" -- sh -c "echo x >> '$d/runs'"
	retry_until 10 test -s "$d/runs"
	rm "$d/flag"
	finish
	[ "$rc" -eq 122 ]
	grep -q "disappeared" "$d/err"
}

# ---- -i ----------------------------------------------------------------------

@test "-i runs COUNT times at a fixed rate without drift" {
	# each run takes 100 ms (bash builtins only: a read with a timeout on a
	# fifo): a timer that waited DUR after each run would drift by 400 ms or
	# more over five runs; on the fixed grid the offsets of the starts from
	# k * 400 ms stay within the scheduling noise
	mkfifo "$d/fifo"
	run -0 timer -i 400ms -n 5 -- bash -c 'echo ${EPOCHREALTIME/./}; read -t 0.1 <> "$1"; exit 0' _ "$d/fifo"
	[ "${#lines[@]}" -eq 5 ]
	local k off min= max=
	for k in 0 1 2 3 4; do
		off=$((${lines[k]} / 1000 - k * 400))
		[ -z "$min" ] || [ "$off" -lt "$min" ] && min=$off
		[ -z "$max" ] || [ "$off" -gt "$max" ] && max=$off
	done
	echo "spread $((max - min)) ms"
	[ $((max - min)) -lt 200 ]
}

@test "-d delays the first run of -i" {
	local t0 t1
	t0=$(ms_now)
	run -0 timer -d 300ms -i 100ms -n 2 -- true
	t1=$(ms_now)
	[ $((t1 - t0)) -ge 400 ]
}

@test "-i exits with the last run's status" {
	run -0 timer -i 50ms -n 2 -- sh -c "[ -e '$d/x' ] || { touch '$d/x'; exit 4; }"
	rm "$d/x"
	run -4 timer -i 50ms -n 1 -- sh -c "[ -e '$d/x' ] || { touch '$d/x'; exit 4; }"
}

@test "-i skips a tick while the previous run is still going" {
	run -0 timer -i 100ms -n 2 -- sh -c "echo run; sleep 0.25"
	[ "$(grep -c '^run$' <<<"$output")" -eq 2 ]
	[ "$(grep -c '^timer: previous run still going, this one skipped$' <<<"$output")" -ge 1 ]
	[ "$(grep -vc -e '^run$' -e '^timer: previous run still going, this one skipped$' <<<"$output")" -eq 0 ]
}

@test "--overlap wait starts the late run as soon as the previous one ends" {
	# runs of 500 ms every 400 ms: each late run starts when the previous
	# one ends (gaps of about 500 ms), not at the next tick (800 ms)
	mkfifo "$d/fifo"
	run -0 timer -i 400ms -n 3 --overlap wait -- bash -c 'echo ${EPOCHREALTIME/./}; read -t 0.5 <> "$1"; exit 0' _ "$d/fifo"
	[ "${#lines[@]}" -eq 3 ]
	local gap1=$(((${lines[1]} - ${lines[0]}) / 1000))
	local gap2=$(((${lines[2]} - ${lines[1]}) / 1000))
	echo "gaps $gap1 $gap2"
	[ "$gap1" -ge 500 ] && [ "$gap1" -lt 750 ]
	[ "$gap2" -ge 500 ] && [ "$gap2" -lt 750 ]
}

@test "--overlap kill signals the previous run and starts the new one" {
	run -124 timer -i 200ms -n 3 --overlap kill -t 1 -- sh -c 'date +%s%N; exec sleep 10'
	[ "${#lines[@]}" -eq 3 ]
	local gap=$(((${lines[2]} - ${lines[0]}) / 1000000))
	[ "$gap" -ge 350 ] && [ "$gap" -lt 1500 ]
}

@test "--overlap kill sends -s SIG" {
	run -0 timer -i 200ms -n 2 --overlap kill -s USR1 -- \
		sh -c "trap 'echo got USR1; exit 0' USR1; sleep 0.5 & wait; exit 0"
	[ "${lines[0]}" = "got USR1" ]
}

@test "an exec failure in a schedule is reported and is the status" {
	run -127 timer -i 50ms -n 2 -- "$d/nosuch"
	[ "${lines[0]}" = "timer: unable to execute $d/nosuch: No such file or directory" ]
	[ "${lines[1]}" = "${lines[0]}" ]
}

@test "SIGTERM between interval runs stops the schedule" {
	background -i 30 -- sh -c "echo x >> '$d/runs'"
	retry_until 10 test -s "$d/runs"
	retry_until 10 no_child "$pid"
	kill -TERM "$pid"
	finish
	[ "$rc" -eq 143 ]
	[ "$(cat "$d/err")" = "timer: run cancelled by SIGTERM" ]
}

# ---- -t: GNU timeout semantics -------------------------------------------------

@test "-t lets a quick command finish with its own status" {
	run -0 timer -t 5 -- true
	run -7 timer -t 5 -- sh -c 'exit 7'
	run -0 timer -t 0 -- sleep 0.1
}

@test "-t exits 124 when the command timed out" {
	local t0 t1
	t0=$(ms_now)
	run -124 timer -t 0.2 -- sleep 10
	t1=$(ms_now)
	[ -z "$output" ]
	[ $((t1 - t0)) -lt 3000 ]
}

@test "-t exits 124 when the command caught the signal and exited" {
	run -124 timer -t 0.3 -- sh -c 'trap "exit 3" TERM; sleep 10 & wait'
}

@test "--preserve-status exits with the command's own status" {
	run -143 timer -t 0.2 --preserve-status -- sleep 10
	run -3 timer -t 0.3 --preserve-status -- sh -c 'trap "exit 3" TERM; sleep 10 & wait'
}

@test "-s KILL exits 137" {
	run -137 timer -t 0.2 -s KILL -- sleep 10
	run -137 timer -t 0.2 -s 9 --preserve-status -- sleep 10
}

@test "-s sends the named signal" {
	run -124 timer -t 0.3 -s USR1 -- sh -c 'trap "echo got USR1; exit 0" USR1; sleep 10 & wait'
	[ "$output" = "got USR1" ]
}

@test "-k sends SIGKILL when the command ignores the signal, exit 137" {
	local t0 t1
	t0=$(ms_now)
	run -137 timer -t 0.2 -k 0.3 -- sh -c 'trap "" TERM; sleep 10 & wait; sleep 10'
	t1=$(ms_now)
	[ $((t1 - t0)) -ge 500 ]
	[ $((t1 - t0)) -lt 4000 ]
}

@test "-k: a child that ignores SIGTERM and outlives the run is killed at the -k time" {
	# the run (sh) exits on TERM; its child, in its group, ignores TERM
	cat > "$d/run.sh" <<-EOF
	sh -c 'trap "" TERM; echo \$\$ > "$d/gc"; exec sleep 30' &
	wait
	EOF
	local t0 t1 gc
	t0=$(ms_now)
	run -124 --separate-stderr timer -v -t 0.3 -k 0.5 -- sh "$d/run.sh"
	t1=$(ms_now)
	gc=$(cat "$d/gc")
	# killed and reaped by timer before it exits: no process, no zombie
	[ ! -e "/proc/$gc" ]
	[ $((t1 - t0)) -ge 800 ]
	[ "${stderr_lines[1]}" = "timer: sending signal KILL to what is left of command 'sh'" ]
	# a child that ends by itself before then does not hold timer up
	t0=$(ms_now)
	run -124 timer -t 0.3 -k 20 -- sh -c 'sh -c "trap \"\" TERM; sleep 0.5" & wait'
	t1=$(ms_now)
	[ $((t1 - t0)) -lt 10000 ]
}

@test "-t rounds a part of a nanosecond up, as GNU timeout: it times out, never runs unbounded" {
	need_cmd timeout
	run -124 timeout 0.0000000001 sleep 2
	run -124 timer -t 0.0000000001 -- sleep 2
	run -124 timer -t 0.5ns -- sleep 2
	# 0 is no limit for both
	run -0 timeout 0 sleep 0.1
	run -0 timer -t 0.000 -- sleep 0.1
}

@test "-s 0 sends nothing at the deadline: the run ends by itself or by -k's KILL, as GNU's" {
	need_cmd timeout
	run -124 timeout -s 0 0.2 sleep 0.6
	run -124 timer -s 0 -t 0.2 -- sleep 0.6
	run -137 timeout -s0 -k 0.3 0.2 sh -c 'sleep 10'
	run -137 timer -s 0 -k 0.3 -t 0.2 -- sh -c 'sleep 10'
	run -0 timeout -s 0 --preserve-status 0.2 sleep 0.6
	run -0 timer -s 0 --preserve-status -t 0.2 -- sleep 0.6
}

@test "-v says each signal sent, as GNU timeout -v says it" {
	need_cmd timeout
	local w
	run -124 --separate-stderr env LC_ALL=C timeout -v 0.2 sleep 5
	w=$stderr
	run -124 --separate-stderr timer -v -t 0.2 -- sleep 5
	[ "$stderr" = "${w/timeout:/timer:}" ]
	[ "$stderr" = "timer: sending signal TERM to command 'sleep'" ]
	run -137 --separate-stderr env LC_ALL=C timeout --verbose -s 0 -k 0.2 0.2 sleep 5
	w=$stderr
	run -137 --separate-stderr timer --verbose -s 0 -k 0.2 -t 0.2 -- sleep 5
	[ "$stderr" = "${w//timeout:/timer:}" ]
	[ "${stderr_lines[1]}" = "timer: sending signal KILL to command 'sleep'" ]
	# nothing said when no deadline passes
	run -0 --separate-stderr timer -v -t 5 -- true
	[ -z "$stderr" ]
}

@test "-p and -f are --preserve-status and --foreground (POSIX 2024's letters)" {
	# Debian 12's GNU timeout (coreutils 9.1) predates them: no peer here
	run -143 timer -p -t 0.2 -- sleep 5
	# -f: only CMD is signalled, a grandchild in the group lives on
	run -124 timer -f -t 0.3 -- sh -c "sleep 30 >/dev/null 2>&1 & echo \$! > '$d/gc'; wait"
	local gc
	gc=$(cat "$d/gc")
	! gone_or_zombie "$gc"
	kill "$gc"
}

@test "-k is not needed when the command obeys the first signal" {
	run -124 timer -t 0.2 -k 5 -- sleep 10
}

@test "-t signals the whole process group: a grandchild dies too" {
	run -124 timer -t 0.3 -- sh -c "sleep 30 >/dev/null 2>&1 & echo \$! > '$d/gc'; wait"
	local gc
	gc=$(cat "$d/gc")
	retry_until 5 gone_or_zombie "$gc"
}

@test "--foreground signals only the command and leaves it in timer's group" {
	run -124 timer -t 0.3 --foreground -- sh -c "ps -o pgid= \$\$ > '$d/pg'; sleep 30 >/dev/null 2>&1 & echo \$! > '$d/gc'; wait"
	local gc
	gc=$(cat "$d/gc")
	[ "$(tr -d ' ' < "$d/pg")" = "$(ps -o pgid= $$ | tr -d ' ')" ]
	# the grandchild was not signalled
	[ -e "/proc/$gc" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$gc/status"
	kill "$gc"
}

@test "without --foreground the command runs in its own process group" {
	run -0 timer -t 5 -- sh -c 'echo $$ $(ps -o pgid= $$)'
	set -- $output
	[ "$1" = "$2" ]
}

@test "-t exits 127 when the command is not found" {
	run -127 timer -t 1 -- "$d/nosuch"
	[ "$output" = "timer: unable to execute $d/nosuch: No such file or directory" ]
}

@test "-t exits 126 when the command cannot be executed" {
	printf 'data\n' > "$d/notexec"
	run -126 timer -t 1 -- "$d/notexec"
	[ "$output" = "timer: unable to execute $d/notexec: Permission denied" ]
}

@test "a signal to timer during a run goes to the command, its status is returned" {
	background -t 30 -- sleep 30
	retry_until 10 has_child "$pid"
	kill -TERM "$pid"
	finish
	[ "$rc" -eq 143 ]
	[ ! -s "$d/err" ]
}

@test "-t applies to each run of -i and to -d" {
	run -124 timer -i 100ms -n 2 -t 50ms -- sleep 5
	run -124 timer -d 100ms -t 100ms -- sleep 5
}

# ---- -c: cron ------------------------------------------------------------------

@test "--next prints fire times in ISO 8601 with the offset, a Feb 29 job" {
	TZ=UTC run -0 timer -c '0 0 29 2 *' --next 3 --from 2026-01-01T00:00:00Z
	[ "$output" = $'2028-02-29T00:00:00+00:00\n2032-02-29T00:00:00+00:00\n2036-02-29T00:00:00+00:00' ]
}

@test "--next: lists, ranges and steps" {
	TZ=UTC run -0 timer -c '5,10-12,50-59/4 */8 * * *' --next 8 --from 2026-06-01T00:00Z
	[ "$output" = "$(printf '2026-06-01T00:%s:00+00:00\n' 05 10 11 12 50 54 58 | sed '$a2026-06-01T08:05:00+00:00')" ]
}

@test "--next: N/STEP runs from N to the end of the range" {
	TZ=UTC run -0 timer -c '0 20/2 * * *' --next 3 --from 2026-06-01T00:00Z
	[ "$output" = $'2026-06-01T20:00:00+00:00\n2026-06-01T22:00:00+00:00\n2026-06-02T20:00:00+00:00' ]
}

@test "--next: month and day names, any case" {
	TZ=UTC run -0 timer -c '30 9 * JAN,dec Mon-Fri' --next 3 --from 2026-12-30T12:00Z
	# Dec 30 2026 is a Wednesday
	[ "$output" = $'2026-12-31T09:30:00+00:00\n2027-01-01T09:30:00+00:00\n2027-01-04T09:30:00+00:00' ]
}

@test "--next: day of week 7 is Sunday like 0" {
	TZ=UTC run -0 timer -c '0 12 * * 7' --next 1 --from 2026-06-01T00:00Z
	[ "$output" = "2026-06-07T12:00:00+00:00" ]
	TZ=UTC run -0 timer -c '0 12 * * 5-7' --next 3 --from 2026-06-01T00:00Z
	[ "$output" = $'2026-06-05T12:00:00+00:00\n2026-06-06T12:00:00+00:00\n2026-06-07T12:00:00+00:00' ]
}

@test "--next: day of month OR day of week when both are restricted" {
	# the 1st and 15th, plus every Friday (May 1 2026 is a Friday)
	TZ=UTC run -0 timer -c '30 4 1,15 * fri' --next 6 --from 2026-04-30T00:00Z
	[ "$output" = "$(printf '2026-05-%s:30:00+00:00\n' 01T04 08T04 15T04 22T04 29T04 | sed '$a2026-06-01T04:30:00+00:00')" ]
}

@test "--next: a day field starting with '*' makes it AND, as in cron" {
	# */2 is "unrestricted": odd days of month that are Mondays
	TZ=UTC run -0 timer -c '0 0 */2 * mon' --next 3 --from 2026-06-01T00:00Z
	[ "$output" = $'2026-06-15T00:00:00+00:00\n2026-06-29T00:00:00+00:00\n2026-07-13T00:00:00+00:00' ]
	TZ=UTC run -0 timer -c '0 0 13 * *' --next 1 --from 2026-06-01T00:00Z
	[ "$output" = "2026-06-13T00:00:00+00:00" ]
}

@test "--next: the @ macros" {
	local m expect
	for m in "@yearly 2027-01-01T00:00:00" "@annually 2027-01-01T00:00:00" \
		"@monthly 2026-07-01T00:00:00" "@weekly 2026-06-07T00:00:00" \
		"@daily 2026-06-02T00:00:00" "@midnight 2026-06-02T00:00:00" \
		"@hourly 2026-06-01T11:00:00"; do
		set -- $m
		TZ=UTC run -0 timer -c "$1" --next 1 --from 2026-06-01T10:30Z
		[ "$output" = "$2+00:00" ]
	done
}

@test "--next: local time follows TZ" {
	TZ=America/New_York run -0 timer -c '0 6 * * *' --next 2 --from 2026-06-01T00:00Z
	[ "$output" = $'2026-06-01T06:00:00-04:00\n2026-06-02T06:00:00-04:00' ]
	TZ=Asia/Kolkata run -0 timer -c '0 6 * * *' --next 1 --from 2026-06-01T00:00Z
	[ "$output" = "2026-06-01T06:00:00+05:30" ]
}

@test "DST spring forward, Berlin: a job in the skipped hour runs once right after the jump" {
	TZ=Europe/Berlin run -0 timer -c '30 2 * * *' --next 3 --from 2026-03-28T12:00
	[ "$output" = $'2026-03-29T03:00:00+02:00\n2026-03-30T02:30:00+02:00\n2026-03-31T02:30:00+02:00' ]
}

@test "DST spring forward, Berlin: every-15-minute job, no loss and no double at the jump" {
	TZ=Europe/Berlin run -0 timer -c '*/15 * * * *' --next 4 --from 2026-03-29T01:40
	[ "$output" = $'2026-03-29T01:45:00+01:00\n2026-03-29T03:00:00+02:00\n2026-03-29T03:15:00+02:00\n2026-03-29T03:30:00+02:00' ]
}

@test "DST fall back, Berlin: a job in the repeated hour runs once" {
	TZ=Europe/Berlin run -0 timer -c '30 2 * * *' --next 3 --from 2026-10-24T12:00
	[ "$output" = $'2026-10-25T02:30:00+02:00\n2026-10-26T02:30:00+01:00\n2026-10-27T02:30:00+01:00' ]
	# counted from inside the second pass: nothing more that day
	TZ=Europe/Berlin run -0 timer -c '30 2 * * *' --next 1 --from 2026-10-25T02:45+01:00
	[ "$output" = "2026-10-26T02:30:00+01:00" ]
}

@test "DST fall back, Berlin: an hourly job runs in both passes of the hour" {
	TZ=Europe/Berlin run -0 timer -c '0 * * * *' --next 4 --from 2026-10-25T01:30
	[ "$output" = $'2026-10-25T02:00:00+02:00\n2026-10-25T02:00:00+01:00\n2026-10-25T03:00:00+01:00\n2026-10-25T04:00:00+01:00' ]
}

@test "DST, New York: spring forward and fall back" {
	TZ=America/New_York run -0 timer -c '15 2 * * *' --next 2 --from 2026-03-07T12:00
	[ "$output" = $'2026-03-08T03:00:00-04:00\n2026-03-09T02:15:00-04:00' ]
	TZ=America/New_York run -0 timer -c '15 1 * * *' --next 2 --from 2026-10-31T12:00
	[ "$output" = $'2026-11-01T01:15:00-04:00\n2026-11-02T01:15:00-05:00' ]
}

@test "DST spring forward, New York: jobs with a wildcard hour follow the clock, no off-grid run" {
	TZ=America/New_York run -0 timer -c '0 */2 * * *' --next 3 --from 2026-03-08T00:30
	[ "$output" = $'2026-03-08T04:00:00-04:00\n2026-03-08T06:00:00-04:00\n2026-03-08T08:00:00-04:00' ]
	TZ=America/New_York run -0 timer -c '45 * * * *' --next 3 --from 2026-03-08T01:00
	[ "$output" = $'2026-03-08T01:45:00-05:00\n2026-03-08T03:45:00-04:00\n2026-03-08T04:45:00-04:00' ]
	# a wildcard minute in a fixed hour is a wildcard job too: nothing that day
	TZ=America/New_York run -0 timer -c '*/15 2 * * *' --next 1 --from 2026-03-08T00:00
	[ "$output" = "2026-03-09T02:00:00-04:00" ]
	# a fixed minute in an hour range is a fixed-time job: caught up once
	TZ=America/New_York run -0 timer -c '0 1-3 * * *' --next 3 --from 2026-03-08T00:30
	[ "$output" = $'2026-03-08T01:00:00-05:00\n2026-03-08T03:00:00-04:00\n2026-03-09T01:00:00-04:00' ]
}

@test "DST fall back, New York: a wildcard-minute job runs in both passes, a fixed one in the first" {
	TZ=America/New_York run -0 timer -c '*/20 1 * * *' --next 7 --from 2026-11-01T00:50
	[ "$output" = $'2026-11-01T01:00:00-04:00\n2026-11-01T01:20:00-04:00\n2026-11-01T01:40:00-04:00\n2026-11-01T01:00:00-05:00\n2026-11-01T01:20:00-05:00\n2026-11-01T01:40:00-05:00\n2026-11-02T01:00:00-05:00' ]
	TZ=America/New_York run -0 timer -c '30 1 * * *' --next 2 --from 2026-11-01T00:50
	[ "$output" = $'2026-11-01T01:30:00-04:00\n2026-11-02T01:30:00-05:00' ]
}

@test "DST fall back: a fixed-time job followed from inside the repeated hour runs in its second pass" {
	# as cron started in the second pass does: the first one came before it
	TZ=America/New_York run -0 timer -c '45 1 * * *' --next 2 --from 2026-11-01T01:30-05:00
	[ "$output" = $'2026-11-01T01:45:00-05:00\n2026-11-02T01:45:00-05:00' ]
}

@test "clock changes beyond 3 hours are clock jumps, under 6 minutes late wakeups (as in cron)" {
	# DST 4 hours ahead: the skipped hours are not caught up, the repeated
	# ones run again for every job
	TZ=XST5XDT1,M3.2.0,M11.1.0 run -0 timer -c '30 3 * * *' --next 1 --from 2026-03-08T00:00
	[ "$output" = "2026-03-09T03:30:00-01:00" ]
	TZ=XST5XDT1,M3.2.0,M11.1.0 run -0 timer -c '30 23 * * *' --next 2 --from 2026-10-31T20:00
	[ "$output" = $'2026-10-31T23:30:00-01:00\n2026-10-31T23:30:00-05:00' ]
	# DST 4 minutes ahead: every job of the skipped minutes runs once after it
	TZ=XST5XDT4:56,M3.2.0,M11.1.0 run -0 timer -c '2 * * * *' --next 2 --from 2026-03-08T01:30
	[ "$output" = $'2026-03-08T02:04:00-04:56\n2026-03-08T03:02:00-04:56' ]
}

# The zones: both hemispheres, 30- and 45-minute offsets, a 30-minute DST
# step (Lord Howe) and changes at midnight (Havana, Santiago).
DST_ZONES="America/New_York Europe/Berlin Australia/Sydney Australia/Lord_Howe America/Santiago Pacific/Chatham America/St_Johns Asia/Gaza America/Havana"

@test "DST: --next agrees with a model of Vixie cron's loop on generated schedules in nine zones" {
	[ -x /usr/bin/python3 ] || needs "needs /usr/bin/python3"
	# 100 schedules per clock change of 2026, each followed from 4 hours
	# before it to 4 hours after
	run -0 /usr/bin/python3 "$BATS_TEST_DIRNAME/timer_cronsim.py" "$PROCBOX" 1 100 $DST_ZONES
	[[ "${lines[-1]}" =~ ^0\ of\ ([0-9]+)\ schedules\ differ$ ]]
	[ "${BASH_REMATCH[1]}" -ge 1500 ]
}

@test "DST spring forward: the real cron runs each job in the same minutes as timer (New York)" {
	need_real_cron
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/timer_realcron.py" "$PROCBOX" America/New_York \
		2026-03-08T01:40 2026-03-08T03:25 200 '30 2 * * *' '0 2 * * *' '15 2,3 * * *' \
		'0 1-4 * * *' '45 * * * *' '0 */2 * * *' '*/15 * * * *' '10 * * * *' '* 2 * * *' \
		'59 1 * * *' '0 3 * * *' '@hourly' '5 */1 * * *' '50 1-3 * * *' '*/7 1-3 * * *'
	echo "$output"
	[ "$status" -eq 0 ]
	# the fixed-time job of the skipped hour did run, after the jump
	[[ "$output" == *"ok    30 2 * * *       cron: 03:00-0400"* ]]
}

@test "DST fall back: the real cron runs each job in the same minutes as timer (Berlin)" {
	need_real_cron
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/timer_realcron.py" "$PROCBOX" Europe/Berlin \
		2026-10-25T01:55 2026-10-25T03:05 200 '30 2 * * *' '*/20 2 * * *' '0 * * * *' \
		'15 2-3 * * *' '5 */1 * * *' '*/30 * * * *' '58 1 * * *' '10 2,3 * * *' '@hourly'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok    */20 2 * * *     cron: 02:00+0200 02:20+0200 02:40+0200 02:00+0100 02:20+0100 02:40+0100"* ]]
}

@test "--from accepts offsets, Z, local times and @SECONDS" {
	TZ=UTC run -0 timer -c '0 * * * *' --next 1 --from 2026-06-01T10:30:00+02:00
	[ "$output" = "2026-06-01T09:00:00+00:00" ]
	TZ=UTC run -0 timer -c '0 * * * *' --next 1 --from 2026-06-01T10:30-0130
	[ "$output" = "2026-06-01T13:00:00+00:00" ]
	TZ=UTC run -0 timer -c '0 * * * *' --next 1 --from @0
	[ "$output" = "1970-01-01T01:00:00+00:00" ]
	TZ=UTC run -0 timer -c '0 0 * * *' --next 1 --from 2026-06-01
	[ "$output" = "2026-06-02T00:00:00+00:00" ]
}

@test "--next does not run a command given with it" {
	TZ=UTC run -0 timer -c '@daily' --next 1 --from 2026-06-01T10:30Z -- touch "$d/ran"
	[ "$output" = "2026-06-02T00:00:00+00:00" ]
	[ ! -e "$d/ran" ]
}

@test "--next without --from counts from now" {
	run -0 timer -c '* * * * *' --next 2
	[ "${#lines[@]}" -eq 2 ]
	local now first
	now=$(date +%s)
	first=$(date -d "${lines[0]}" +%s)
	[ "$first" -gt "$now" ] && [ "$first" -le $((now + 60)) ]
}

@test "a bad --from is a usage error" {
	for t in 2026-13-01 2026-02-30 2026-06-01T25:00 2026-06-01T10:00+2 yesterday @x; do
		run -125 timer -c '* * * * *' --next 1 --from "$t"
		[ "${lines[0]}" = "timer: invalid time '$t': expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] or @SECONDS" ]
	done
}

@test "bad cron: a value out of range names the field, in each field" {
	local c
	for c in "61 * * * *|minute: 61 out of range 0-59" \
		"* 24 * * *|hour: 24 out of range 0-23" \
		"* * 0 * *|day of month: 0 out of range 1-31" \
		"* * 32 * *|day of month: 32 out of range 1-31" \
		"* * * 13 *|month: 13 out of range 1-12" \
		"* * * * 8|day of week: 8 out of range 0-7"; do
		run -125 timer -c "${c%%|*}" -- true
		[ "${lines[0]}" = "timer: invalid cron expression '${c%%|*}': ${c#*|}" ]
		[ "${lines[1]}" = "$(usage)" ]
	done
}

@test "bad cron: syntax errors name the field and the character" {
	local c
	for c in "1x * * * *|minute: unexpected 'x' at character 2" \
		"* 1-  * * *|hour: unexpected end of field at character 5" \
		"* * 1,,2 * *|day of month: unexpected ',' at character 7" \
		"* * * foo *|month: unknown name 'foo' at character 7" \
		"* * * * monday|day of week: unknown name 'monday' at character 9" \
		"* * * * */0|day of week: step 0 out of range 1-7" \
		"*/60 * * * *|minute: step 60 out of range 1-59" \
		"* 5-1 * * *|hour: range 5-1 goes backwards" \
		"jan * * * *|minute: unexpected 'j' at character 1" \
		"* * * * 1/|day of week: unexpected end of field at character 11"; do
		run -125 timer -c "${c%%|*}" --next 1
		[ "${lines[0]}" = "timer: invalid cron expression '${c%%|*}': ${c#*|}" ]
	done
}

@test "bad cron: too few or too many fields" {
	run -125 timer -c '* * * *' -- true
	[ "${lines[0]}" = "timer: invalid cron expression '* * * *': expected 5 fields (minute hour day-of-month month day-of-week), got 4" ]
	run -125 timer -c '* * * * * *' -- true
	[ "${lines[0]}" = "timer: invalid cron expression '* * * * * *': expected 5 fields (minute hour day-of-month month day-of-week), got 6" ]
	run -125 timer -c '' -- true
	[ "${lines[0]}" = "timer: invalid cron expression '': expected 5 fields (minute hour day-of-month month day-of-week), got 0" ]
}

@test "bad cron: unknown macro, @reboot, or fields after a macro" {
	run -125 timer -c '@reboot' -- true
	[ "${lines[0]}" = "timer: invalid cron expression '@reboot': unknown macro '@reboot' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)" ]
	run -125 timer -c '@daily 5' -- true
	[ "${lines[0]}" = "timer: invalid cron expression '@daily 5': @daily takes no fields after it" ]
}

@test "cron: the next fire time is searched over 400 years, from any start, before 1970 too" {
	local py=/usr/bin/python3
	[ -x "$py" ] || needs "needs $py"
	# February 29th on a Sunday ('*/7' starts with '*': day AND weekday)
	run -0 env TZ=UTC timer -c '0 0 29 2 */7' --next 4 --from 2026-03-01T00:00Z
	[ "$output" = "$("$py" -c '
import datetime
ys = [y for y in range(2026, 2200) if y % 4 == 0 and (y % 100 or y % 400 == 0)
      and datetime.date(y, 2, 29).weekday() == 6]
print("\n".join("%d-02-29T00:00:00+00:00" % y for y in ys[:4]))')" ]
	run -0 env TZ=UTC timer -c '0 0 29 2 */7' --next 1 --from 2033-01-01T00:00Z
	[ "$output" = "2060-02-29T00:00:00+00:00" ]
	# before the epoch: Mondays of January 1960
	run -0 env TZ=UTC timer -c '30 6 * * 1' --next 3 --from 1960-01-01T00:00Z
	[ "$output" = "$("$py" -c '
import datetime
d = [datetime.date(1960, 1, 1) + datetime.timedelta(n) for n in range(31)]
print("\n".join(["%sT06:30:00+00:00" % x for x in d if x.weekday() == 0][:3]))')" ]
	run -0 env TZ=UTC timer -c '0 0 1 1 *' --next 1 --from @-1
	[ "$output" = "1970-01-01T00:00:00+00:00" ]
}

@test "bad cron: an expression that never fires" {
	run -125 timer -c '0 0 30 2 *' -- true
	[ "${lines[0]}" = "timer: invalid cron expression '0 0 30 2 *': it never fires" ]
	run -125 timer -c '0 0 31 4,6,9,11 *' --next 1
	[ "${lines[0]}" = "timer: invalid cron expression '0 0 31 4,6,9,11 *': it never fires" ]
}

