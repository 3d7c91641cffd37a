#!/usr/bin/env bats
# timer --crontab: a whole crontab in one process, as cron keeps it. Jobs
# at fixed times are checked with --next (and against Debian's real cron
# under libfaketime); what a run gets (environment, shell, stdin, output,
# deadline) is checked with @reboot jobs, which run at start; one test
# waits for a real minute.

bats_require_minimum_version 1.5.0
load helpers
load diskreport_helpers

setup() {
	d=$(scratch)
	pid=
}

teardown() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
	if [ -n "${SMTPD_PID:-}" ]; then
		kill "$SMTPD_PID" 2>/dev/null || true
		wait "$SMTPD_PID" 2>/dev/null || true
	fi
	return 0
}

# tab LINE...: the crontab $d/tab
tab() { printf '%s\n' "$@" >"$d/tab"; }
# start [ARGS...]: timer --crontab $d/tab in the background, its log in $d/err
start() {
	timer --crontab "$d/tab" "$@" >"$d/out" 2>"$d/err" 3>&- &
	pid=$!
}
logged() { grep -qF -- "$1" "$d/err"; }
# at_least N FILE: FILE has N lines or more (read at each retry)
at_least() { [ -f "$2" ] && [ "$(wc -l <"$2")" -ge "$1" ]; }
# logged_times N TEXT: the log has TEXT on N lines or more
logged_times() { [ "$(grep -cF -- "$2" "$d/err")" -ge "$1" ]; }

@test "--next lists the whole crontab's fire times in order, with each job's line" {
	tab '# comment' 'PATH=/bin' '*/20 * * * * echo a' '' '@reboot echo r' \
		'0 1 * * * echo b%input' '30 0 1 1 * echo c'
	TZ=UTC run -0 timer --crontab "$d/tab" --next 6 --from 2027-01-01T00:00Z
	[ "$output" = "2027-01-01T00:20:00+00:00 3 echo a
2027-01-01T00:30:00+00:00 7 echo c
2027-01-01T00:40:00+00:00 3 echo a
2027-01-01T01:00:00+00:00 3 echo a
2027-01-01T01:00:00+00:00 6 echo b
2027-01-01T01:20:00+00:00 3 echo a" ]
}

@test "--system: a user field after the schedule; DST in each job's CRON_TZ" {
	tab '0 2 * * * root echo a' 'CRON_TZ=America/New_York' '30 2 * * * nobody echo b'
	TZ=UTC run -0 timer --crontab "$d/tab" --system --next 3 --from 2026-03-07T12:00Z
	# New York skips 02:00-03:00 on 8 March: the fixed-time job runs at 03:00 EDT
	[ "$output" = "2026-03-08T02:00:00+00:00 1 echo a
2026-03-08T07:00:00+00:00 3 echo b
2026-03-09T02:00:00+00:00 1 echo a" ]
}

@test "the real cron runs a crontab's jobs in the same minutes as timer --crontab (DST, New York)" {
	need_real_cron
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/timer_realcron.py" --crontab "$PROCBOX" \
		America/New_York 2026-03-08T01:40 2026-03-08T03:25 200 '30 2 * * *' '0 2 * * *' \
		'15 2,3 * * *' '45 * * * *' '*/15 * * * *' '@hourly' '*/7 1-3 * * *' '59 1 * * *'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok    */7 1-3 * * *    cron: 01:42-0500 01:49-0500 01:56-0500 03:00-0400"* ]]
}

@test "a job runs by \$SHELL -c in HOME with cron's environment and the lines before it" {
	tab 'A = "one two"' "@reboot echo \"\$A|\$B|\$PATH|\$SHELL|\$LOGNAME|\$USER|\$PWD\" >$d/env1" \
		'B=three' "HOME=$d" "@reboot echo \"\$A|\$B|\$HOME|\$PWD\" >$d/env2; echo \$0 >$d/shell"
	start
	retry_until 10 test -s "$d/env2"
	local me home
	me=$(id -un)
	home=$(getent passwd "$me" | cut -d: -f6)
	[ "$(cat "$d/env1")" = "one two||/usr/bin:/bin|/bin/sh|$me|$me|$home" ]
	[ "$(cat "$d/env2")" = "one two|three|$d|$d" ]
	[ "$(cat "$d/shell")" = /bin/sh ]
	logged "line 2: started echo"
}

@test "% ends the command and the rest is its stdin, each % a newline, \\% a %" {
	tab "@reboot cat >$d/in.tmp; mv $d/in.tmp $d/in%one%two \\% three" \
		"@reboot cat >$d/none; echo \$? >$d/none.rc"
	start
	retry_until 10 test -e "$d/in"
	retry_until 10 test -s "$d/none.rc"
	printf 'one\ntwo %% three' >"$d/want"
	cmp "$d/in" "$d/want"
	[ ! -s "$d/none" ]
}

@test "a job's output goes to the log by line; MAILTO=\"\" drops it" {
	tab '@reboot echo out; echo err >&2; exit 3' 'MAILTO=""' '@reboot echo dropped'
	start
	retry_until 10 logged "line 1: exited with status 3"
	logged "line 1: out"
	logged "line 1: err"
	sleep 0.2
	! logged "line 3: dropped"
}

@test "MAILTO: the output is mailed through --smtp, subject and sender as cron's" {
	start_smtpd
	tab 'MAILTO=ops@example.org, dev@example.org' '@reboot echo mailed output' '@reboot true'
	start --smtp "127.0.0.1:$PORT"
	retry_until 15 test -f "$MAILDIR/dev@example.org/1.eml"
	grep -q '^Subject: Cron <'"$(id -un)@$(uname -n)"'> echo mailed output' "$MAILDIR/ops@example.org/1.eml"
	grep -q '^mailed output' "$MAILDIR/ops@example.org/1.eml"
	grep -qi "^From: .*$(id -un)@$(uname -n)" "$MAILDIR/ops@example.org/1.eml"
	# a run without output sends nothing
	sleep 0.3
	[ "$(ls "$MAILDIR/ops@example.org" | grep -c eml)" = 1 ]
	# MAILFROM is the sender of the jobs after it
	kill "$pid"
	tab 'MAILTO=ops@example.org' 'MAILFROM=cron@example.org' '@reboot echo from set'
	start --smtp "127.0.0.1:$PORT"
	retry_until 15 test -f "$MAILDIR/ops@example.org/2.eml"
	grep -qi '^From: .*cron@example.org' "$MAILDIR/ops@example.org/2.eml"
	grep -q 'cron@example.org' "$MAILDIR/ops@example.org/2.env"
}

@test "#timer: -t gives a job a deadline; -k then kills what ignores it" {
	tab '#timer: -t 300ms' '@reboot sleep 30' '#timer: -t 300ms -k 300ms' "@reboot trap '' TERM; sleep 30"
	start
	retry_until 10 logged "line 2: killed by signal 15"
	logged "line 2: timed out"
	retry_until 10 logged "line 4: killed by signal 9"
}

@test "* * * * * runs at each minute; --overlap skip and kill for a run still going" {
	tab "* * * * * date +\\%s >>$d/ticks" \
		'#timer: --overlap skip' 'SLEEP=sleep 100' "* * * * * \$SLEEP" \
		'#timer: --overlap kill' "* * * * * echo \$\$ >>$d/kill.pids; exec \$SLEEP"
	start
	retry_until 65 test -s "$d/ticks"
	# started within a second of the minute
	[ $(($(head -1 "$d/ticks") % 60)) -le 1 ]
	# the next minute: the one skipped, the other ended and started again
	retry_until 65 at_least 2 "$d/ticks"
	retry_until 10 logged "line 4: previous run still going, this one skipped"
	retry_until 10 at_least 2 "$d/kill.pids"
	retry_until 10 logged "line 6: killed by signal 15"
	[ "$(grep -c 'line 4: started' "$d/err")" = 1 ]
	[ "$(grep -c 'line 6: started' "$d/err")" -ge 2 ]
}

@test "the file is read again when replaced; a broken one keeps the old jobs and names its line" {
	tab '0 0 1 1 * true'
	start
	retry_until 10 inotify_of "$pid"
	printf '%s\n' '0 0 1 1 * true' '0 0 1 1 * true' >"$d/tab.new"
	mv "$d/tab.new" "$d/tab"
	retry_until 10 logged "read again, 2 jobs"
	printf '%s\n' '0 0 1 1 * true' '61 * * * * false' >"$d/tab.new"
	mv "$d/tab.new" "$d/tab"
	retry_until 10 logged "$d/tab:2: minute: 61 out of range 0-59"
	logged "keeping the previous jobs"
	kill -HUP "$pid"
	retry_until 10 logged_times 2 'keeping the previous jobs'
	kill -0 "$pid"
}
inotify_of() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q inotify; }

@test "-: the crontab from stdin, read once: SIGHUP keeps its jobs" {
	printf '@reboot echo from stdin >%s/x\n0 0 1 1 * true\n' "$d" | timer --crontab - 2>"$d/err" 3>&- &
	pid=$!
	retry_until 10 test -s "$d/x"
	kill -HUP "$pid"
	sleep 0.3
	kill -0 "$pid"
	! logged "read again"
}

@test "--system as root: a job runs as its user" {
	need_root
	tab "@reboot nobody id -un >/tmp/timer-crontab.$$" '@reboot nouser_x true'
	start --system
	retry_until 10 test -s "/tmp/timer-crontab.$$"
	[ "$(cat "/tmp/timer-crontab.$$")" = nobody ]
	rm -f "/tmp/timer-crontab.$$"
	retry_until 10 logged "line 2: cannot run as nouser_x"
}

@test "errors: a bad line at start exits 125 naming it; usage errors exit 125" {
	tab 'PATH=/bin' '* * * *'
	run -125 --separate-stderr timer --crontab "$d/tab"
	[ "$stderr" = "timer: $d/tab:2: no command" ]
	tab '#timer: -t soon' '@reboot true'
	run -125 --separate-stderr timer --crontab "$d/tab"
	[ "$stderr" = "timer: $d/tab:1: invalid duration" ]
	run -125 --separate-stderr timer --crontab "$d/missing"
	[[ "$stderr" == "timer: unable to read $d/missing: No such file or directory" ]]
	run -125 timer --crontab "$d/tab" -- echo x
	run -125 timer --system -c '* * * * *' -- true
	run -125 timer --smtp localhost -c '* * * * *' -- true
}

@test "SIGTERM ends timer --crontab with 143 and its running jobs with it" {
	tab '@reboot sleep 60'
	start
	retry_until 10 logged "started sleep 60"
	local child
	child=$(pgrep -P "$pid")
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	pid=
	[ "$rc" = 143 ]
	retry_until 5 eval '! kill -0 '"$child"' 2>/dev/null'
}
