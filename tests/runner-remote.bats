#!/usr/bin/env bats
# runner's remote jobs against a real OpenSSH sshd on loopback, beside
# GNU parallel --sshlogin, parallel-ssh (pssh) and pdsh: remote commands
# that stop with the job (timeout, SIGINT, SIGTERM, runner killed), the
# connect timeout for a host that accepts but hangs, re-trying only
# unreachable hosts, and hosts as [user@]host[:port] that never reach
# ssh's option parser. sshd listens on 127.0.0.1, 127.0.0.2 and ::1; a
# second sshd on 127.0.0.4 is stopped (SIGSTOP); nothing listens on
# 127.0.0.3.

bats_require_minimum_version 1.5.0
load helpers
load sshd_helpers

usage() { usage_line runner; }

setup() {
	S=$(scratch)
	cd "$S" || return 1
}

# ---- sshd on loopback, started once for the file, stopped in teardown_file

teardown_file() {
	local d="$BATS_FILE_TMPDIR/sshd"
	if [ -f "$d/hung.pid" ]; then
		kill -KILL "$(cat "$d/hung.pid")" 2>/dev/null
	fi
	sshd_stop
}

# Sets SSH (the --ssh command, with the port), SSH_ANY_PORT (without it)
# and PORT; sshd listens on ::1 too where this machine has it.
sshd_up() {
	local v6=
	need_cmd pgrep
	# ::1 only where this machine has it
	if [ -e /proc/net/if_inet6 ] && grep -q '^0\{31\}1 ' /proc/net/if_inet6; then
		v6="ListenAddress ::1"
	fi
	sshd_start "MaxStartups 100" ${v6:+"$v6"} || return 1
	SSH_ANY_PORT=$(sshd_ssh)
	SSH="$SSH_ANY_PORT -p $PORT"
}

# A second sshd on 127.0.0.4, same port, stopped: it accepts connections
# (the kernel does) and never answers.
hung_up() {
	local d="$BATS_FILE_TMPDIR/sshd" sshd
	sshd_up
	[ -f "$d/hung.pid" ] && return 0
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	sed -e '/^ListenAddress/d' -e '/^PidFile/d' "$d/sshd_config" > "$d/hung_config"
	printf 'ListenAddress 127.0.0.4\nPidFile %s\n' "$d/hung.pid.tmp" >> "$d/hung_config"
	"$sshd" -f "$d/hung_config" -E "$d/hung.log"
	retry_until 5 test -s "$d/hung.pid.tmp"
	$SSH -o BatchMode=yes -o ConnectTimeout=10 127.0.0.4 true </dev/null
	kill -STOP "$(cat "$d/hung.pid.tmp")"
	mv "$d/hung.pid.tmp" "$d/hung.pid"
}

# pdsh and pssh take ssh's options apart from the command
peer_ssh_opts() {
	PSSH_OPTS=${SSH_ANY_PORT#ssh }
	export PDSH_SSH_ARGS="${SSH#ssh } -oBatchMode=yes -l%u %h"
	export PDSH_RCMD_TYPE=ssh
}

# A sleep whose command line no other process has: "sleep 41.PID RANDOM".
marker() {
	printf '41.%d%05d' $$ $RANDOM
}

# Whether a process runs with exactly this command line (from /proc).
running() {
	pgrep -xf "$*" >/dev/null
}
not_running() {
	! running "$@"
}
running_times() {
	local n=$1
	shift
	[ "$(pgrep -cxf "$*")" -eq "$n" ]
}
# Whether no process has this text in its command line.
nothing_mentions() {
	! pgrep -f "$1" >/dev/null
}
mentioned_times() {
	[ "$(pgrep -cf "$2")" -eq "$1" ]
}

# The sshd process that a remote process runs under.
sshd_above() {
	local p=$1 i
	for i in 1 2 3 4 5 6; do
		p=$(ps -o ppid= -p "$p" | tr -d ' ')
		[ "$(ps -o comm= -p "$p")" = sshd ] && { echo "$p"; return 0; }
	done
	return 1
}

# An ssh and sshd in one, to try the remote side under any login shell
# without changing a user's shell: the last word runs under $LOGIN_SHELL
# in a session of its own (as sshd runs it), its input a pipe that ends
# when this script is killed (as the connection's input does).
fake_ssh() {
	cat > "$S/fakessh" <<-'EOF'
		#!/bin/bash
		for a; do last=$a; done
		[ -n "$ARGV_LOG" ] && printf '%s\n' "$@" > "$ARGV_LOG"
		exec 4< <(exec sleep 1000)
		keeper=$!
		SHELL=$LOGIN_SHELL setsid "$LOGIN_SHELL" -c "$last" <&4 4<&-
		rc=$?
		kill "$keeper"
		exit "$rc"
	EOF
	chmod +x "$S/fakessh"
}

# ---- why the remote command needs a wrapper: what OpenSSH does -------------

@test "OpenSSH without a terminal: a killed ssh leaves its remote command running" {
	sshd_up
	m=$(marker)
	$SSH -o BatchMode=yes 127.0.0.1 "sleep $m" </dev/null &
	retry_until 20 running sleep "$m"
	pid=$(pgrep -xf "sleep $m")
	session=$(sshd_above "$pid")
	kill "$!"
	# sshd ends the session when the connection goes; the command stays
	retry_until 10 test ! -e "/proc/$session"
	running sleep "$m"
	kill "$pid"
}

@test "OpenSSH with -tt: a killed ssh hangs up its remote command, but stderr joins stdout with CR LF" {
	sshd_up
	m=$(marker)
	$SSH -tt -o BatchMode=yes 127.0.0.1 "sleep $m" </dev/null &
	retry_until 20 running sleep "$m"
	kill "$!"
	retry_until 10 not_running sleep "$m"
	run -0 --separate-stderr $SSH -tt -o BatchMode=yes 127.0.0.1 'echo out; echo err >&2' </dev/null
	[ "$output" = "$(printf 'out\r\nerr\r')" ]
	[ "$stderr" = "" ]
}

@test "OpenSSH ends the remote command's input when the connection goes, not before" {
	sshd_up
	# ssh's input: a pipe that stays open and nobody writes to
	mkfifo never
	exec 7<>never
	$SSH -o BatchMode=yes 127.0.0.1 "touch $S/connected; cat; touch $S/input-ended" <&7 &
	ssh_pid=$!
	exec 7>&-
	retry_until 20 test -e connected
	[ ! -e input-ended ]
	kill "$ssh_pid"
	retry_until 10 test -e input-ended
}

# ---- remote commands stop with their job --------------------------------------

@test "--timeout stops the remote command too, as parallel --timeout does" {
	sshd_up
	m=$(marker)
	runner --timeout 6 -H 127.0.0.1 --ssh "$SSH" "sleep $m" 2>err &
	retry_until 20 running sleep "$m"
	rc=0
	wait "$!" || rc=$?
	[ "$rc" -eq 1 ]
	[ "$(cat err)" = "runner: timed out: 127.0.0.1: sleep $m" ]
	retry_until 10 not_running sleep "$m"
	# GNU parallel, the same job
	need_cmd parallel
	p=$(marker)
	parallel --will-cite --timeout 6 --ssh "$SSH" -S 127.0.0.1 sleep ::: "$p" 2>/dev/null &
	retry_until 20 running sleep "$p"
	wait "$!" || true
	retry_until 10 not_running sleep "$p"
}

@test "SIGTERM to runner stops the remote commands on every host, as for parallel" {
	sshd_up
	m=$(marker)
	runner -j2 -H 127.0.0.1,127.0.0.2 --ssh "$SSH" "sleep $m" 2>err &
	pid=$!
	retry_until 20 running_times 2 sleep "$m"
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 2 ]
	grep -qx 'runner: 2 jobs: 0 ok, 2 failed (stopped by SIGTERM)' err
	retry_until 10 not_running sleep "$m"
	need_cmd parallel
	p=$(marker)
	parallel --will-cite -j2 --ssh "$SSH" -S 127.0.0.1,127.0.0.2 sleep ::: "$p" "$p" 2>/dev/null &
	retry_until 20 running_times 2 sleep "$p"
	kill -TERM "$!"
	wait "$!" || true
	retry_until 10 not_running sleep "$p"
}

@test "SIGINT (Ctrl-C) to runner stops the remote command, as for parallel" {
	sshd_up
	m=$(marker)
	# a shell starts background jobs with SIGINT ignored: undo that
	env --default-signal=INT runner -H 127.0.0.1 --ssh "$SSH" "sleep $m" 'touch never' 2>err &
	pid=$!
	retry_until 20 running sleep "$m"
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 2 ]
	[ ! -e never ]
	grep -qx 'runner: 1 job: 0 ok, 1 failed, 1 not started (stopped by SIGINT)' err
	retry_until 10 not_running sleep "$m"
	need_cmd parallel
	p=$(marker)
	env --default-signal=INT parallel --will-cite --ssh "$SSH" -S 127.0.0.1 sleep ::: "$p" 2>/dev/null &
	retry_until 20 running sleep "$p"
	kill -INT "$!"
	wait "$!" || true
	retry_until 10 not_running sleep "$p"
}

@test "runner killed with SIGKILL: its remote commands stop all the same" {
	sshd_up
	m=$(marker)
	runner -j2 -H 127.0.0.1,127.0.0.2 --ssh "$SSH" "sleep $m" 2>/dev/null &
	pid=$!
	retry_until 20 running_times 2 sleep "$m"
	kill -KILL "$pid"
	retry_until 10 not_running sleep "$m"
	# and the ssh clients it left end with them
	retry_until 10 nothing_mentions "$m"
}

@test "--timeout stops a remote command that ignores SIGTERM, and what it started" {
	sshd_up
	m=$(marker)
	runner --timeout 6 -H 127.0.0.2 --ssh "$SSH" "trap '' TERM; sleep $m & sleep $m; wait" 2>/dev/null &
	retry_until 20 running_times 2 sleep "$m"
	wait "$!" || true
	retry_until 10 not_running sleep "$m"
}

@test "a remote command that ends by itself leaves what it started in the background" {
	sshd_up
	m=$(marker)
	run -0 runner -H 127.0.0.1 --ssh "$SSH" "sleep $m >/dev/null 2>&1 & echo started"
	[ "$output" = started ]
	# ssh and the remote wrapper are gone, the sleep alone is left
	retry_until 10 mentioned_times 1 "$m"
	running sleep "$m"
	kill "$(pgrep -xf "sleep $m")"
}

@test "remote output comes back as it was: stderr apart, no CR, the exit status, no input" {
	sshd_up
	run -1 --separate-stderr runner -H 127.0.0.1 --ssh "$SSH" 'cat; printf "a\nb\n"; echo err >&2; exit 3'
	[ "$output" = "$(printf 'a\nb')" ]
	[ "$stderr" = "err" ]
	run -0 runner -H 127.0.0.1 --ssh "$SSH" --json 'printf "%s|" "$0" "$#"; echo "it'\''s \\ 100%!"'
	[[ "$output" == *'"stdout":"bash|0|it'\''s \\ 100%!\n","stderr":""}' ]]
	# the command runs in the login shell itself: bash syntax works
	run -0 runner -H 127.0.0.2 --ssh "$SSH" 'echo {1..3} $((2**3)); [[ a == a ]] && echo yes'
	[ "$output" = "$(printf '1 2 3 8\nyes')" ]
}

@test "a remote command killed by a signal ends with 128+n, like a shell says" {
	sshd_up
	run -1 --separate-stderr runner --json -H 127.0.0.1 --ssh "$SSH" 'kill -9 $BASHPID'
	[[ "$output" == *'"result":"failed","exit":137,'* ]]
	[[ "$output" == *'"stderr":""}' ]]
}

@test "--ssh with -tt: the marker still tells a remote 255 from an unreachable host" {
	sshd_up
	run -1 --separate-stderr runner --json -H 127.0.0.1 --ssh "$SSH -tt" 'echo out; exit 255'
	[[ "$output" == *'"result":"failed","exit":255,'* ]]
	# a terminal ends lines with CR LF
	[[ "$output" == *'"stdout":"out\r\n"'* ]]
}

# ---- any login shell ---------------------------------------------------------

@test "the remote side runs under sh, bash, zsh, mksh, tcsh and fish login shells, and stops" {
	need_cmd setsid pgrep
	fake_ssh
	tried=0
	for sh in /bin/sh /bin/bash zsh mksh tcsh fish; do
		sh=$(command -v "$sh") || continue
		tried=$((tried + 1))
		export LOGIN_SHELL=$sh
		run -1 --separate-stderr runner --timeout 20 -H h --ssh "$S/fakessh" \
			'echo "it'\''s \ 100%!"; printf "%s\n" a"	"b; echo "$SHELL"; cat; exit 3'
		[ "$output" = "$(printf 'it'\''s \\ 100%%!\na\tb\n%s' "$sh")" ]
		m=$(marker)
		runner --timeout 4 -H h --ssh "$S/fakessh" "sleep $m" 2>/dev/null &
		retry_until 20 running sleep "$m"
		wait "$!" || true
		retry_until 10 not_running sleep "$m"
	done
	[ "$tried" -ge 2 ]
}

# ---- a host that hangs, a host that is not there ------------------------------

@test "a host whose sshd accepts but hangs is unreachable after 10 s by default, as pdsh gives up" {
	hung_up
	need_cmd pdsh
	peer_ssh_opts
	# both at once, each bounded
	SECONDS=0
	timeout 60 pdsh -w 127.0.0.4 true > pdsh.out 2>&1 &
	peer=$!
	rc=0
	timeout 60 runner -k -j2 -H 127.0.0.4,127.0.0.1 --ssh "$SSH" 'echo up' > out 2> err || rc=$?
	took=$SECONDS
	[ "$rc" -eq 1 ]
	[ "$took" -ge 9 ]
	[ "$(cat out)" = up ]
	grep -q '^Connection timed out during banner exchange' err
	grep -qx 'runner: 2 jobs: 1 ok, 0 failed, 1 unreachable' err
	grep -qx 'runner: unreachable: 127.0.0.4: echo up (ssh exited 255 before the remote command started)' err
	wait "$peer" || true
	grep -q 'Connection timed out during banner exchange' pdsh.out
}

@test "--connect-timeout gives up on a hung host sooner; --connect-timeout 0 leaves it to ssh" {
	hung_up
	run -1 --separate-stderr timeout 60 runner -j2 --connect-timeout 1 -H 127.0.0.4,127.0.0.2 --ssh "$SSH" 'echo up'
	[ "$output" = up ]
	[ "${stderr_lines[-1]}" = 'runner: unreachable: 127.0.0.4: echo up (ssh exited 255 before the remote command started)' ]
	# 0: no ConnectTimeout at all, so only runner's --timeout ends it
	run -1 --separate-stderr timeout 60 runner --connect-timeout 0 --timeout 2 -H 127.0.0.4 --ssh "$SSH" true
	[ "$stderr" = 'runner: timed out: 127.0.0.4: true' ]
}

@test "--connect-timeout becomes ssh's ConnectTimeout in whole seconds, 10 by default" {
	fake_ssh
	export LOGIN_SHELL=/bin/sh ARGV_LOG="$S/argv"
	run -0 runner -H h --ssh "$S/fakessh" true
	grep -qx 'ConnectTimeout=10' argv
	run -0 runner --connect-timeout 1.2 -H h --ssh "$S/fakessh" true
	grep -qx 'ConnectTimeout=2' argv
	run -0 runner --connect-timeout 500ms -H h --ssh "$S/fakessh" true
	grep -qx 'ConnectTimeout=1' argv
	run -0 runner --connect-timeout 0 -H h --ssh "$S/fakessh" true
	! grep -q 'ConnectTimeout' argv
	run -255 runner --connect-timeout soon -H h true
	[ "${lines[0]}" = "runner: invalid connect timeout 'soon': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
	[ "${lines[1]}" = "$(usage)" ]
}

@test "a host with nothing listening is unreachable at once, as pssh and pdsh report it" {
	sshd_up
	run -1 --separate-stderr timeout 30 runner -k -j2 -H 127.0.0.3,127.0.0.1 --ssh "$SSH" 'echo up'
	[ "$output" = up ]
	[[ "${stderr_lines[0]}" == "ssh: connect to host 127.0.0.3 port $PORT: Connection refused"* ]]
	[ "${stderr_lines[-1]}" = 'runner: unreachable: 127.0.0.3: echo up (ssh exited 255 before the remote command started)' ]
	need_cmd parallel-ssh pdsh
	peer_ssh_opts
	run parallel-ssh -p 2 -H "127.0.0.3:$PORT 127.0.0.1:$PORT" -x "$PSSH_OPTS" -O BatchMode=yes 'echo up'
	[[ "$output" == *"[FAILURE] 127.0.0.3:$PORT Exited with error code 255"* ]]
	[[ "$output" == *"[SUCCESS] 127.0.0.1:$PORT"* ]]
	run pdsh -w 127.0.0.3,127.0.0.1 'echo up'
	[[ "$output" == *"127.0.0.3: ssh exited with exit code 255"* ]]
	[[ "$output" == *"127.0.0.1: up"* ]]
}

@test "--retry-unreachable re-tries only the hosts that could not be reached" {
	sshd_up
	run -2 --separate-stderr runner -k --json --retries 2 --retry-unreachable \
		-H 127.0.0.1,127.0.0.3 --ssh "$SSH" "echo x >> $S/tries; exit 3"
	[[ "${lines[0]}" == '{"seq":1,"host":"127.0.0.1","command":"'*'","result":"failed","exit":3,'*'"tries":1,'* ]]
	[[ "${lines[1]}" == '{"seq":2,"host":"127.0.0.3","command":"'*'","result":"unreachable","exit":255,'*'"tries":3,'* ]]
	[ "$(wc -l < tries)" -eq 1 ]
	# without --retries: once
	run -1 --separate-stderr runner --json --retry-unreachable -H 127.0.0.3 --ssh "$SSH" true
	[[ "$output" == *'"result":"unreachable",'*'"tries":2,'* ]]
	# --retries alone re-tries every failure, as before
	run -1 --separate-stderr runner --json --retries 1 -H 127.0.0.1 --ssh "$SSH" "echo x >> $S/tries2; exit 3"
	[ "$(wc -l < tries2)" -eq 2 ]
}

# ---- hosts ----------------------------------------------------------------------

@test "hosts as user@host:port and [address]:port, beside pssh's user@host:port" {
	sshd_up
	hosts="root@127.0.0.1:$PORT [127.0.0.2]:$PORT"
	if grep -qx 'ListenAddress ::1' "$BATS_FILE_TMPDIR/sshd/sshd_config"; then
		hosts="$hosts [::1]:$PORT"
	fi
	run -0 --separate-stderr runner -k --tag -H "$hosts" --ssh "$SSH_ANY_PORT" \
		'echo "$USER ${SSH_CONNECTION#* * }"'
	[ "${lines[0]}" = "$(printf 'root@127.0.0.1:%s\troot 127.0.0.1 %s' "$PORT" "$PORT")" ]
	[ "${lines[1]}" = "$(printf '[127.0.0.2]:%s\troot 127.0.0.2 %s' "$PORT" "$PORT")" ]
	if [ "${#lines[@]}" -eq 3 ]; then
		[ "${lines[2]}" = "$(printf '[::1]:%s\troot ::1 %s' "$PORT" "$PORT")" ]
	fi
	need_cmd parallel-ssh
	peer_ssh_opts
	run -0 parallel-ssh -i -H "root@127.0.0.1:$PORT" -x "$PSSH_OPTS" 'echo "$USER ${SSH_CONNECTION#* * }"'
	[ "${lines[1]}" = "root 127.0.0.1 $PORT" ]
}

@test "the host goes to ssh after --, its port and user as -p and -l" {
	fake_ssh
	export LOGIN_SHELL=/bin/sh ARGV_LOG="$S/argv"
	run -0 runner -H 'deploy@web1:2222' --ssh "$S/fakessh -i key" true
	[ "$(head -n 12 argv)" = "$(printf '%s\n' -i key -p 2222 -l deploy -o BatchMode=yes -o ConnectTimeout=10 -- web1)" ]
	run -0 runner -H '[fe80::1%eth0]' --ssh "$S/fakessh" true
	[ "$(sed -n '5,6p' argv)" = "$(printf '%s\n' -- fe80::1%eth0)" ]
	run -0 runner -H '::1' --ssh "$S/fakessh" true
	[ "$(sed -n '5,6p' argv)" = "$(printf '%s\n' -- ::1)" ]
}

@test "each ssh runs in a session of its own, as pdsh and pssh run it" {
	mkdir spy
	printf '#!/bin/sh\nps -o pid=,sid= -p $$\n' > spy/ssh
	chmod +x spy/ssh
	run -0 runner -H h --ssh "$S/spy/ssh" true
	read -r pid sid <<< "$output"
	[ "$pid" = "$sid" ]
	need_cmd pdsh parallel-ssh
	run -0 env PATH="$S/spy:$PATH" pdsh -R ssh -w h true
	read -r _ pid sid <<< "$output"
	[ "$pid" = "$sid" ]
	run -0 env PATH="$S/spy:$PATH" parallel-ssh -i -H h true
	read -r pid sid <<< "${lines[1]}"
	[ "$pid" = "$sid" ]
}

@test "a host from -h that begins with '-' never reaches ssh's option parser" {
	sshd_up
	printf '%s\n' 127.0.0.1 "-oProxyCommand=touch $S/proxied" -V > hosts
	run -255 runner -h hosts --ssh "$SSH" "touch $S/ran"
	[ "${lines[0]}" = "runner: invalid host '-oProxyCommand=touch $S/proxied': begins with '-'" ]
	[ "${lines[1]}" = "$(usage)" ]
	[ ! -e proxied ]
	[ ! -e ran ]
	printf '%s\n' -V > hosts
	run -255 runner -h hosts --ssh "$SSH" "touch $S/ran"
	[ "${lines[0]}" = "runner: invalid host '-V': begins with '-'" ]
	[ ! -e ran ]
}

@test "a malformed host is a usage error that names it and says why" {
	while IFS='|' read -r host why; do
		run -255 runner -H "$host" true
		[ "${lines[0]}" = "runner: invalid host '$host': $why" ]
		[ "${lines[1]}" = "$(usage)" ]
	done <<-'EOF'
		-l|begins with '-'
		root@-oProxyCommand=x|the host name begins with '-'
		@web1|empty user name
		root@|no host name
		web1:|invalid port (1-65535)
		web1:0|invalid port (1-65535)
		web1:65536|invalid port (1-65535)
		web1:+22|invalid port (1-65535)
		web1:ssh|invalid port (1-65535)
		[::1|expected [ADDRESS] or [ADDRESS]:PORT
		[::1]22|expected [ADDRESS] or [ADDRESS]:PORT
		[]:22|no host name
		web$(id)|a blank, a control character or a shell metacharacter in it
		we`id`b|a blank, a control character or a shell metacharacter in it
		a;b@web1|a blank, a control character or a shell metacharacter in it
	EOF
	printf 'web1 web2\n' > hosts
	run -255 runner -h hosts true
	[ "${lines[0]}" = "runner: invalid host 'web1 web2': a blank, a control character or a shell metacharacter in it" ]
}
