# What the diskreport test files share: filesystems the test mounts
# (unmounted by the file's teardown from MOUNTS), a FUSE filesystem that
# never answers, and a real SMTP server on a loopback port.

SYS_PYTHON=/usr/bin/python3

# mount_tmpfs SOURCE DIR OPTIONS: a tmpfs the test owns, unmounted in teardown.
mount_tmpfs() {
	mkdir -p "$2"
	mount -t tmpfs -o "$3" "$1" "$2"
	MOUNTS+=("$2")
}

# start_deadfs DIR: a FUSE filesystem on DIR that stops answering (see
# diskreport_deadfs.py): its callers wait in the kernel, unkillable.
start_deadfs() {
	need_root
	need_cmd "$SYS_PYTHON"
	[ -c /dev/fuse ] || needs "needs /dev/fuse"
	"$SYS_PYTHON" -c 'import fusepy' 2>/dev/null || needs "needs python3-fusepy"
	mkdir -p "$1"
	"$SYS_PYTHON" "$BATS_TEST_DIRNAME/diskreport_deadfs.py" "$1" 3>&- &
	DEAD_PIDS+=($!)
	MOUNTS+=("$1")
	retry_until 15 grep -q " $1 .* - fuse deadfs " /proc/self/mountinfo
}

# finished PID: the process is gone (or a zombie).
finished() {
	! [ -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

need_smtpd() {
	need_cmd "$SYS_PYTHON"
	"$SYS_PYTHON" -c 'import aiosmtpd' 2>/dev/null || needs "needs python3-aiosmtpd"
}

# start_smtpd [OPTIONS]: a real SMTP server on 127.0.0.1; sets MAILDIR, PORT.
start_smtpd() {
	need_smtpd
	MAILDIR=$(scratch)
	"$SYS_PYTHON" "$BATS_TEST_DIRNAME/diskreport_smtpd.py" "$MAILDIR" "$@" \
		>"$MAILDIR/log" 2>&1 3>&- &
	SMTPD_PID=$!
	retry_until 15 test -f "$MAILDIR/port"
	PORT=$(cat "$MAILDIR/port")
}
