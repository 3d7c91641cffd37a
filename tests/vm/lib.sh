# Sourced by every tests/vm/*.sh inside the VM (busybox sh): a TAP line per
# test, the same waiting helpers as tests/helpers.bash.

vm_n=0

# vm_test NAME FUNCTION: runs FUNCTION in a subshell with errexit in a
# fresh directory $d; prints "ok N NAME" or "not ok N NAME" and its log.
vm_test() {
	vm_n=$((vm_n + 1))
	d=$(mktemp -d)
	( set -e; cd "$d"; "$2" ) >"$d.log" 2>&1
	local rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok $vm_n $1"
	else
		echo "not ok $vm_n $1"
		sed 's/^/# /' "$d.log"
	fi
	# whatever the test left running goes with it
	pkill -f "procbox" 2>/dev/null
	return 0
}

# retry_until SECONDS CMD...: CMD every 20 ms until it succeeds or time is up.
retry_until() {
	local n=$(($1 * 50))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.02
		n=$((n - 1))
	done
	echo "condition not met: $*" >&2
	return 1
}
