# Shared by the supervise*.bats files: every process a test daemon starts
# carries SVMARK=$D in its environment, so teardown finds them all.

# gone PID: exited, or a zombie nobody has reaped yet
gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

marked_pids() {
	local f
	for f in /proc/[0-9]*/environ; do
		grep -qzx "SVMARK=$D" "$f" 2>/dev/null && { f=${f#/proc/}; echo "${f%/environ}"; }
	done
	return 0
}

# stop_pid PID: SIGTERM (SIGCONT too, for a stopped one), SIGKILL after 15 s
stop_pid() {
	[ -n "$1" ] && ! gone "$1" || return 0
	kill -TERM "$1" 2>/dev/null
	kill -CONT "$1" 2>/dev/null
	retry_until 15 gone "$1" || kill -KILL "$1"
}

# kill_marked: whatever the test's daemons left running
kill_marked() {
	local p
	for p in $(marked_pids); do kill -KILL "$p" 2>/dev/null; done
	return 0
}
