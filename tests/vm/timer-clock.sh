# timer -c against wall-clock steps: at the fire time, after a jump forward
# (or a resume from suspend) and after the clock is set back. Only here, in
# a VM, may a test set the clock.
. /tests/lib.sh
export TZ=UTC

runs() { [ -f runs ] && wc -l <runs | tr -d ' ' || echo 0; }
runs_are() { [ "$(runs)" = "$1" ]; }
signals_ready() {
	local mask
	mask=$(sed -n 's/^SigBlk:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$mask" ] && [ "$mask" != 0000000000000000 ]
}
no_child() { [ -z "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ]; }
hour_ahead() { echo $((($(date +%s) / 3600 + $1) * 3600)); }
step_clock() { date -s "@$1" >/dev/null; }
# A run records the second it started at. Not with busybox date: it reads
# the clock through time(), the kernel's coarse clock, which in an idle
# tickless guest still shows the second before a timer that just fired.
# runner --json stamps its job with clock_gettime(CLOCK_REALTIME).
now_s='runner --json true | sed -n "s/.*\"start\":\([0-9]*\).*/\1/p"'
record() { timer "$@" -- sh -c "$now_s"' >>"$1"' sh "$PWD/runs" & pid=$!; }

# An emulated CPU on a busy host can take seconds to start a program:
# timer gets 5 s before the fire time (it must be waiting by then, or the
# next fire time is an hour later), and a run may record its time up to
# 2 s after it.
at_the_fire_time() {
	h=$(hour_ahead 2)
	step_clock $((h - 5))
	record -c '0 * * * *' -n 2
	retry_until 20 signals_ready "$pid"
	retry_until 20 runs_are 1
	sleep 0.3
	runs_are 1
	step_clock $((h + 3600 - 1))
	retry_until 20 runs_are 2
	wait "$pid"
	cat runs
	[ "$(sed -n 1p runs)" -ge "$h" ] && [ "$(sed -n 1p runs)" -le $((h + 2)) ]
	[ "$(sed -n 2p runs)" -ge $((h + 3600)) ] && [ "$(sed -n 2p runs)" -le $((h + 3602)) ]
}

step_forward_runs_once() {
	h=$(hour_ahead 2)
	step_clock $((h - 30))
	record -c '0 * * * *'
	retry_until 20 signals_ready "$pid"
	sleep 0.2
	runs_are 0
	# three due times (h, h+1h, h+2h) pass in one step
	step_clock $((h + 2 * 3600 + 600))
	retry_until 20 runs_are 1
	sleep 0.5
	runs_are 1
	# and the schedule goes on from the new time
	step_clock $((h + 3 * 3600 - 1))
	retry_until 20 runs_are 2
	[ "$(sed -n 2p runs)" -ge $((h + 3 * 3600)) ]
	# SIGTERM while no run is going cancels with 143 (with a run going,
	# timer ends with the run's status): wait until the run is reaped
	retry_until 20 no_child "$pid"
	kill "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 143 ]
}

set_back_never_repeats() {
	h=$(hour_ahead 2)
	step_clock $((h - 1))
	record -c '0 * * * *'
	retry_until 20 runs_are 1
	# back before the time that already ran, then past it again
	step_clock $((h - 600))
	sleep 0.3
	step_clock $((h + 1))
	sleep 1
	runs_are 1
	# the next time still runs
	step_clock $((h + 3600 - 1))
	retry_until 20 runs_are 2
	[ "$(sed -n 2p runs)" -ge $((h + 3600)) ]
	kill "$pid"
}

minute_boundary_with_deadline() {
	step_clock $(($(hour_ahead 2) - 1))
	rc=0
	timer -c '* * * * *' -n 1 -t 3 -- sh -c 'date +%S; sleep 10' >out || rc=$?
	[ "$rc" = 124 ]
	[ "$(wc -l <out)" -eq 1 ]
	sec=$(cat out)
	[ "${sec#0}" -lt 5 ]
}

# A step past the armed fire time wakes a timer twice: the timer expires,
# and then the step cancels it. When the cancel comes between the timer's
# read and its arming again, the arming reports ECANCELED, with the timer
# armed all the same. Ten timers, two such steps: each timer must keep its
# timerfd and fire on time after them. (The window is wide when the host
# that runs the VM is busy: then every round of this test lost a timerfd
# before the fix.)
timerfd_open() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q 'anon_inode:\[timerfd\]'; }
all_have_timerfd() {
	for p in $pids; do
		timerfd_open "$p" || { echo "timer $p lost its timerfd" >&2; return 1; }
	done
}
steps_keep_the_timer() {
	h=$(hour_ahead 2)
	step_clock $((h - 1800))
	pids=
	for t in 0 1 2 3 4 5 6 7 8 9; do
		record -c '0 * * * *' -n 3
		pids="$pids $pid"
	done
	for p in $pids; do
		retry_until 20 signals_ready "$p"
		retry_until 20 timerfd_open "$p"
	done
	step_clock $((h + 600))
	retry_until 30 runs_are 10
	sleep 0.5
	all_have_timerfd
	step_clock $((h + 3600 + 600))
	retry_until 30 runs_are 20
	sleep 0.5
	all_have_timerfd
	step_clock $((h + 2 * 3600 - 1))
	retry_until 30 runs_are 30
	for p in $pids; do wait "$p"; done
}

vm_test "timer -c runs CMD at the fire time, each time" at_the_fire_time
vm_test "timer -c: a clock step forward (or a resume) past due times runs once, at once" step_forward_runs_once
vm_test "timer -c: a clock set back never repeats a run" set_back_never_repeats
vm_test "timer -c runs the command at the minute boundary, -n and -t per run" minute_boundary_with_deadline
vm_test "timer -c: steps past the fire time never lose the wall-clock timer" steps_keep_the_timer
