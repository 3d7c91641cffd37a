# Sourced by every tests/vm/*.sh inside the VM (busybox sh): a TAP line per
# test, the same waiting helpers as tests/helpers.bash.

vm_n=0

# The processes init has adopted: what a test left running ends up there.
# Only inside the VM (its layout has /procbox/procbox).
vm_orphans() {
	local p
	[ -x /procbox/procbox ] || return 0
	for p in /proc/[0-9]*; do
		grep -q '^PPid:[[:space:]]*1$' "$p/status" 2>/dev/null && echo "${p#/proc/}"
	done
}

# vm_test NAME FUNCTION: runs FUNCTION in a subshell with errexit in a
# fresh directory $d; prints "ok N NAME" or "not ok N NAME" and its log.
vm_test() {
	vm_n=$((vm_n + 1))
	d=$(mktemp -d)
	local before
	before=" $(vm_orphans | tr '\n' ' ') "
	( set -e; cd "$d"; "$2" ) >"$d.log" 2>&1
	local rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok $vm_n $1"
	else
		echo "not ok $vm_n $1"
		sed 's/^/# /' "$d.log"
	fi
	# whatever the test left running goes with it
	for p in $(vm_orphans); do
		case "$before" in *" $p "*) ;; *) kill -9 "$p" 2>/dev/null ;; esac
	done
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
