# A real OpenSSH sshd on loopback for a test file, with keys made here:
# started by the file's first test that needs it, stopped in teardown_file.
# It listens on 127.0.0.1 and 127.0.0.2 (plus what the file adds);
# nothing listens on 127.0.0.3.

# The ssh options that reach this sshd, without the port.
sshd_ssh() {
	echo "ssh -F /dev/null -i $BATS_FILE_TMPDIR/sshd/userkey -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}

# sshd_start [CONFIG LINE...]: starts the file's sshd unless it runs;
# sets PORT. Tests of one file run side by side under bats -j: one of them
# starts it, under a lock, and the others use it.
sshd_start() {
	local lock rc=0
	need_root
	need_cmd ssh ssh-keygen flock
	mkdir -p "$BATS_FILE_TMPDIR/sshd"
	exec {lock}>"$BATS_FILE_TMPDIR/sshd.lock"
	flock "$lock"
	sshd_start_locked "$@" || rc=$?
	exec {lock}>&-
	return "$rc"
}

sshd_start_locked() {
	local d=$BATS_FILE_TMPDIR/sshd sshd try line
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	[ -x "$sshd" ] || needs "needs sshd (openssh-server)"
	if [ -f "$d/port" ] && kill -0 "$(cat "$d/sshd.pid" 2>/dev/null)" 2>/dev/null; then
		PORT=$(cat "$d/port")
		return 0
	fi
	mkdir -p "$d" /run/sshd
	rm -f "$d"/*
	ssh-keygen -q -t ed25519 -N '' -f "$d/hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$d/userkey"
	cp "$d/userkey.pub" "$d/authorized_keys"
	for try in 1 2 3 4 5 6 7 8; do
		PORT=$((20000 + RANDOM % 30000))
		ss -Hltn "( sport = :$PORT )" 2>/dev/null | grep -q . && continue
		cat > "$d/sshd_config" <<-EOF
			Port $PORT
			ListenAddress 127.0.0.1
			ListenAddress 127.0.0.2
			HostKey $d/hostkey
			AuthorizedKeysFile $d/authorized_keys
			PidFile $d/sshd.pid
			StrictModes no
			UsePAM no
			PermitRootLogin prohibit-password
			PasswordAuthentication no
			KbdInteractiveAuthentication no
		EOF
		for line in "$@"; do
			echo "$line" >> "$d/sshd_config"
		done
		"$sshd" -f "$d/sshd_config" -E "$d/sshd.log" || continue
		retry_until 5 test -s "$d/sshd.pid" || continue
		if $(sshd_ssh) -p "$PORT" -o BatchMode=yes -o ConnectTimeout=10 127.0.0.2 true </dev/null; then
			echo "$PORT" > "$d/port"
			return 0
		fi
		kill "$(cat "$d/sshd.pid")"
		rm -f "$d/sshd.pid"
	done
	cat "$d/sshd.log" >&2
	echo "could not start sshd" >&2
	return 1
}

sshd_stop() {
	if [ -f "$BATS_FILE_TMPDIR/sshd/sshd.pid" ]; then
		kill "$(cat "$BATS_FILE_TMPDIR/sshd/sshd.pid")" 2>/dev/null
	fi
	return 0
}
