# supervise's memory_max, cpu_max=N% and pids_max through cgroup v2: each
# limited program in a cgroup of its own under the daemon's, when the
# daemon has a cgroup to itself; setrlimit when it has not.
. /tests/lib.sh

echo "+memory +cpu +pids" >/sys/fs/cgroup/cgroup.subtree_control

conf() {
	cat >sv.conf <<EOF
[supervisord]
logfile=$PWD/main.log
pidfile=$PWD/sv.pid

[unix_http_server]
file=$PWD/sock

EOF
	cat >>sv.conf
}

# the daemon alone in a cgroup, as a service manager's Delegate=yes leaves it
start_delegated() {
	cg=/sys/fs/cgroup/sv$vm_n
	mkdir "$cg"
	sh -c 'echo 0 >"$1/cgroup.procs" && exec supervise -n -c sv.conf' sh "$cg" >out 2>&1 &
	dpid=$!
	trap 'kill $dpid 2>/dev/null; wait $dpid' EXIT
	retry_until 10 test -S sock || { cat out; exit 1; }
}

ctl() { supervise ctl -c sv.conf "$@"; }
state_is() { [ "$(ctl status "$1" | awk '{ print $2 }')" = "$2" ]; }
throttled() { grep -q '^nr_throttled [1-9]' "$cg/burn:burn/cpu.stat"; }
forks_refused() { grep -q '^max [1-9]' "$cg/forks:forks/pids.events"; }

over_memory_max_is_oom_killed() {
	conf <<EOF
[program:hog]
command=dd if=/dev/zero of=/dev/null bs=64M count=1
memory_max=16MB
startsecs=5
startretries=0
autorestart=false
EOF
	start_delegated
	retry_until 20 state_is hog FATAL
	[ "$(ctl status hog)" = "$(printf '%-33s%-10s%s' hog FATAL 'Out of memory (memory_max)')" ]
	ctl status --json | grep -q '"signal":"SIGKILL"'
	grep -q "exited: hog (killed by SIGKILL (Killed), out of memory; not expected)" main.log
	# the daemon moved into a leaf; the program's cgroup is gone
	grep -qx "0::/sv$vm_n/supervise" "/proc/$dpid/cgroup"
	[ ! -e "$cg/hog:hog" ]
}

pids_max_bounds_forks() {
	conf <<EOF
[program:forks]
command=sh -c 'i=0; while [ \$i -lt 50 ]; do i=\$((i + 1)); sleep 600 & done; sleep 600'
pids_max=10
autorestart=false
EOF
	start_delegated
	retry_until 20 forks_refused
	cat "$cg/forks:forks/pids.max" "$cg/forks:forks/pids.current"
	[ "$(cat "$cg/forks:forks/pids.max")" = 10 ]
	[ "$(wc -l <"$cg/forks:forks/cgroup.procs")" -le 10 ]
}

cpu_max_throttles() {
	conf <<EOF
[program:burn]
command=sh -c 'while :; do :; done'
cpu_max=20%%
[program:plain]
command=sleep 600
EOF
	start_delegated
	retry_until 10 state_is burn RUNNING
	[ "$(cat "$cg/burn:burn/cpu.max")" = "20000 100000" ]
	retry_until 20 throttled
	# no limit, no cgroup: it stays with the daemon
	grep -qx "0::/sv$vm_n/supervise" "/proc/$(ctl pid plain)/cgroup"
	ctl stop burn
	[ ! -e "$cg/burn:burn" ]
	# after a reload the daemon finds its leaf, and does not nest another
	ctl reload
	retry_until 10 state_is burn RUNNING
	grep -qx "0::/sv$vm_n/supervise" "/proc/$dpid/cgroup"
	[ "$(cat "$cg/burn:burn/cpu.max")" = "20000 100000" ]
}

bad_values_are_config_errors() {
	for v in "pids_max=0" "pids_max=x" "cpu_max=0%%" "cpu_max=100001%%" "cpu_max=x%%"; do
		conf <<EOF
[program:app]
command=sleep 600
$v
EOF
		rc=0
		supervise -n -c sv.conf 2>err || rc=$?
		cat err
		[ "$rc" = 2 ]
		grep -q "sv.conf:10: .* ${v%%=*}" err
	done
}

without_own_cgroup_setrlimit() {
	conf <<EOF
[program:app]
command=sleep 600
memory_max=64MB
pids_max=10
EOF
	# shares the test's cgroup: nothing is touched
	before=$(ls /sys/fs/cgroup | wc -l)
	supervise -n -c sv.conf >out 2>&1 &
	dpid=$!
	trap 'kill $dpid 2>/dev/null; wait $dpid' EXIT
	retry_until 10 test -S sock || { cat out; exit 1; }
	retry_until 10 state_is app RUNNING
	grep -q "^Max address space *67108864 *67108864" "/proc/$(ctl pid app)/limits"
	grep -q "WARN unable to apply pids_max to app: no cgroup v2 of its own" main.log
	[ "$(ls /sys/fs/cgroup | wc -l)" = "$before" ]
	[ "$(cat /proc/$dpid/cgroup)" = "$(cat /proc/self/cgroup)" ]
}

vm_test "supervise: a program over memory_max is killed by the OOM killer and status says so" over_memory_max_is_oom_killed
vm_test "supervise: pids_max bounds the forks of a program" pids_max_bounds_forks
vm_test "supervise: cpu_max=N% throttles a busy program; its cgroup goes when it stops" cpu_max_throttles
vm_test "supervise: without a cgroup of its own, setrlimit and no cgroup touched" without_own_cgroup_setrlimit
vm_test "supervise: a bad pids_max or cpu_max=N%% is a config error with its line" bad_values_are_config_errors
