# Shared by every tests/*.bats file: where procbox is, and how to skip.
#
# PROCBOX      the binary under test (make check sets it; ./procbox otherwise)
# PROCBOX_BIN  a directory of applet links to it, put first in PATH
# PROCBOX_REQUIRE_ALL=1 turns every "needs X" skip into a failure (CI).

PROCBOX_TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${PROCBOX:=$PROCBOX_TOP/procbox}"
: "${PROCBOX_BIN:=$PROCBOX_TOP/bin}"
export PROCBOX PROCBOX_BIN PROCBOX_TOP
case ":$PATH:" in
*":$PROCBOX_BIN:"*) ;;
*) export PATH="$PROCBOX_BIN:$PATH" ;;
esac

# needs REASON: skip (or fail under PROCBOX_REQUIRE_ALL=1) with a reason.
needs() {
	if [ "${PROCBOX_REQUIRE_ALL:-0}" = 1 ]; then
		echo "required but unavailable: $*" >&2
		return 1
	fi
	skip "$*"
}

need_root() {
	[ "$(id -u)" = 0 ] || needs "needs root"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || needs "needs $c"
	done
}

# retry_until SECONDS CMD...: run CMD every 20 ms until it succeeds or the
# time is up (then fail). The bounded way to wait for a condition.
retry_until() {
	local limit=$1 i n
	shift
	n=$((limit * 50))
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	echo "condition not met within ${limit}s: $*" >&2
	return 1
}

# A private scratch directory per test.
scratch() {
	mktemp -d "$BATS_TEST_TMPDIR/scratch.XXXXXX"
}

# The usage line an applet prints after a usage error.
usage_line() {
	"$PROCBOX" --help "$1" | head -1
}

# Debian's cron, for the tests that run it in a private mount namespace
# under libfaketime (tests/timer_realcron.py).
need_real_cron() {
	need_root
	need_cmd cron unshare
	[ -x /usr/bin/python3 ] || needs "needs /usr/bin/python3"
	compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || needs "needs libfaketime (faketime)"
}
