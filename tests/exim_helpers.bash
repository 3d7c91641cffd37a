# A real mail server for a test file: Debian's exim4 (exim4-daemon-light)
# on two loopback ports, with everything it writes kept in one directory.
#
#   load helpers
#   load exim_helpers
#   setup()         { exim_start "$BATS_FILE_TMPDIR/exim"; }
#   teardown_file() { exim_stop "$BATS_FILE_TMPDIR/exim"; }
#
# (DIR defaults to $BATS_FILE_TMPDIR/exim for both.) exim_start DIR starts
# the server the first time and only sets the variables on later calls, so
# call it from setup() or from each test that needs it: bats 1.8 cannot
# skip from setup_file, and what one test exports does not reach the next.
# Tests of one file that run side by side (bats -j) share the one server;
# a lock in DIR makes sure that only one of them starts it.
#
# What a test gets (all exported):
#   EXIM_DIR       DIR
#   EXIM_PORT      plain SMTP on 127.0.0.1: STARTTLS, then AUTH
#   EXIM_TLS_PORT  implicit TLS (SMTPS) on 127.0.0.1, then AUTH
#   EXIM_USER      the one login, "reporter"
#   EXIM_PASS      its password (random, also in DIR/password)
#   EXIM_CA        DIR/ca.pem, the server's self-signed certificate (for
#                  localhost and 127.0.0.1), for -CAfile or SSL_CERT_FILE
#
# The server refuses every RCPT (530) until the client has authenticated,
# and offers AUTH (PLAIN and LOGIN) only inside TLS. Every accepted
# message, whatever its recipients, becomes one file DIR/mail/*.eml: the
# message as received, after a Return-path: (the envelope sender), an
# Envelope-to: (the envelope recipients) and exim's Received: header. exim
# delivers just after it answered the end of DATA: exim_wait_messages.
# Nothing is looked up in the DNS and nothing is relayed anywhere.
# DIR/log/mainlog is exim's log, DIR/log/paniclog its errors. The system's
# exim (its configuration, /var/spool/exim4, port 25) is left alone.
#
# Root only. exim runs a daemon (-bd) only for root or its own user, and
# an exim started with -C by anyone else than root gives up root at once;
# so as non-root exim_start skips ("needs root").
#
# How it runs as root: root may point exim at any configuration with -C
# (Debian's list of trusted ones, /etc/exim4/trusted_configs, is for other
# callers). Once its ports are bound, the daemon works as exim's user
# Debian-exim, and each delivery, which exim runs by starting itself anew
# as that user, stays that user ("exim user lost privilege for using -C
# option" in the log: harmless, as exim never delivers as root anyway).
# Debian-exim cannot reach DIR when a parent directory is private, as
# bats's temporary directories are (mode 0700). So exim is started with
# the securebit no_setuid_fixup: its processes keep root's capabilities
# after they switch to Debian-exim, and can use DIR wherever it is. Every
# path in the configuration is inside DIR.

EXIM_USER=reporter

# The exim binary: Debian names it exim4.
exim_bin() {
	command -v exim4 2>/dev/null || command -v exim 2>/dev/null ||
		{ [ -x /usr/sbin/exim4 ] && echo /usr/sbin/exim4; }
}

# exim_start [DIR]: the file's exim, started unless it already runs.
exim_start() {
	local d=${1:-$BATS_FILE_TMPDIR/exim} lock rc=0
	[ -n "$(exim_bin)" ] || needs "exim4 not installed (Debian exim4-daemon-light)"
	need_root
	need_cmd openssl setpriv flock
	mkdir -p "$d"
	d=$(cd "$d" && pwd)
	exec {lock}>"$d/lock"
	flock "$lock"
	exim_start_locked "$d" || rc=$?
	exec {lock}>&-
	return "$rc"
}

exim_start_locked() {
	local d=$1 exim try port
	exim=$(exim_bin)
	if exim_running "$d"; then
		exim_export "$d"
		return 0
	fi
	mkdir -p "$d/spool" "$d/log" "$d/mail"
	if [ ! -s "$d/cert.pem" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
			-subj /CN=localhost \
			-addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
			-keyout "$d/key.pem" -out "$d/cert.pem" 2>"$d/openssl.err" ||
			{ cat "$d/openssl.err" >&2; return 1; }
		rm -f "$d/openssl.err"
		cp "$d/cert.pem" "$d/ca.pem"
		openssl rand -hex 16 > "$d/password"
	fi
	# A random even port and the next one. Nothing may listen there now;
	# another job can still take it first, and then exim cannot bind and
	# the next try picks other ports. Below 32768: clear of the ports
	# the kernel hands out to outgoing connections.
	for ((try = 0; try < 8; try++)); do
		port=$((20000 + RANDOM % 6000 * 2))
		if exim_listening "$port" || exim_listening $((port + 1)); then
			continue
		fi
		exim_write_config "$d" "$port" $((port + 1))
		rm -f "$d/exim.pid" "$d/log/paniclog"
		# -bd: exim detaches by itself; -oP: its pid file, here also
		# for the pid file removal that exim runs as it stops (that
		# reads -oP, not the configuration).
		(
			exim_close_fds
			exec setpriv --securebits +no_setuid_fixup \
				"$exim" -C "$d/exim.conf" -oP "$d/exim.pid" -bd
		) </dev/null >"$d/exim.err" 2>&1 ||
			{ cat "$d/exim.err" >&2; return 1; }
		case $(exim_wait_up "$d" "$port") in
		up)
			echo "$port $((port + 1))" > "$d/ports"
			exim_export "$d"
			return 0
			;;
		busy) continue ;;
		*) break ;;
		esac
	done
	echo "could not start exim in $d" >&2
	cat "$d/exim.err" "$d/log/paniclog" "$d/log/mainlog" >&2 2>/dev/null
	return 1
}

# exim_close_fds: closes every descriptor above 2 of this (sub)shell. The
# daemon keeps what it inherits: bats's output (fd 3) would make bats wait
# for it, and the start lock would stay held as long as it runs.
exim_close_fds() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] || continue
		{ exec {fd}>&-; } 2>/dev/null
	done
}

# exim_listening PORT: whether something accepts connections there.
exim_listening() {
	(exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# exim_wait_up DIR PORT: waits up to 10 s for the daemon: prints "up" once
# it wrote its pid file and greets on PORT, "busy" if it could not bind
# its ports (the daemon then logs to its paniclog and ends), "down" if it
# died or never came up.
exim_wait_up() {
	local d=$1 port=$2 i pid
	for ((i = 0; i < 500; i++)); do
		if [ -s "$d/log/paniclog" ]; then
			if grep -q 'bind() to port' "$d/log/paniclog"; then
				echo busy
			else
				echo down
			fi
			return
		fi
		pid=$(cat "$d/exim.pid" 2>/dev/null)
		if [ -n "$pid" ]; then
			if exim_greets "$port"; then
				echo up
				return
			fi
			exim_gone "$pid" && break
		fi
		sleep 0.02
	done
	echo down
}

# exim_greets PORT: connects and reads a 220 greeting, then says QUIT.
exim_greets() {
	(
		exec 9<>"/dev/tcp/127.0.0.1/$1" || exit 1
		read -r -t 5 line <&9 || exit 1
		printf 'QUIT\r\n' >&9
		[[ $line == 220* ]]
	) 2>/dev/null
}

# exim_running DIR: whether the daemon of DIR is alive.
exim_running() {
	local pid
	pid=$(cat "$1/exim.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && ! exim_gone "$pid"
}

# exim_gone PID: the process ended (a zombie counts as ended).
exim_gone() {
	! [ -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

exim_export() {
	local ports
	read -r -a ports < "$1/ports"
	EXIM_DIR=$1
	EXIM_PORT=${ports[0]}
	EXIM_TLS_PORT=${ports[1]}
	EXIM_PASS=$(cat "$1/password")
	EXIM_CA=$1/ca.pem
	export EXIM_DIR EXIM_PORT EXIM_TLS_PORT EXIM_USER EXIM_PASS EXIM_CA
}

# exim_write_config DIR PORT TLS_PORT: DIR/exim.conf. The shell fills in
# the macros at the top; the rest is exim's own syntax, taken literally.
exim_write_config() {
	cat > "$1/exim.conf" <<-EOF
		EXIM_HOME = $1
		SMTP_PORT = $2
		SMTPS_PORT = $3
		AUTH_USER = $EXIM_USER
	EOF
	cat >> "$1/exim.conf" <<-'EOF'

		# Names: set here so that exim asks neither uname nor the DNS.
		primary_hostname = localhost
		qualify_domain = localhost

		# Only 127.0.0.1, on two ports; the second speaks TLS at once.
		local_interfaces = <; 127.0.0.1
		daemon_smtp_ports = SMTP_PORT : SMTPS_PORT
		tls_on_connect_ports = SMTPS_PORT
		disable_ipv6 = true
		# A port in use: give up at once (the caller tries other ports)
		# rather than retry for minutes.
		daemon_startup_retries = 0

		# Everything exim writes stays under EXIM_HOME.
		spool_directory = EXIM_HOME/spool
		log_file_path = EXIM_HOME/log/%slog
		pid_file_path = EXIM_HOME/exim.pid

		tls_advertise_hosts = *
		tls_certificate = EXIM_HOME/cert.pem
		tls_privatekey = EXIM_HOME/key.pem

		# No lookups of the client: no reverse DNS, no ident, no HELO check.
		host_lookup =
		rfc1413_hosts =
		helo_lookup_domains =
		keep_environment =

		# Deliver every message as soon as it is received, however many
		# a connection sends (no queue runner runs).
		smtp_accept_queue_per_connection = 0

		acl_smtp_rcpt = check_rcpt

		begin acl

		check_rcpt:
		  deny    message = 530 5.7.0 Authentication required
		          !authenticated = *
		  accept

		begin routers

		# Every address, any domain, to the files.
		everything:
		  driver = accept
		  transport = to_files

		begin transports

		# One file per message (all its recipients in one delivery),
		# written under a temporary name and then linked to the final
		# *.eml name, so a reader never sees half a message.
		to_files:
		  driver = appendfile
		  directory = EXIM_HOME/mail
		  directory_file = ${message_exim_id}.${inode}.eml
		  batch_max = 1000
		  mode = 0644
		  return_path_add
		  envelope_to_add

		begin retry

		# A delivery that fails for now stays queued (and in the log).
		*  *  F,1h,10m

		begin authenticators

		# Advertised (and accepted) only inside TLS; the password is
		# read from EXIM_HOME/password at each attempt.
		plain:
		  driver = plaintext
		  public_name = PLAIN
		  server_advertise_condition = ${if def:tls_in_cipher}
		  server_prompts = :
		  server_condition = ${if and {{eq{$auth2}{AUTH_USER}} \
		    {eq{$auth3}{${readfile{EXIM_HOME/password}{}}}}}}
		  server_set_id = $auth2

		login:
		  driver = plaintext
		  public_name = LOGIN
		  server_advertise_condition = ${if def:tls_in_cipher}
		  server_prompts = <| Username: | Password:
		  server_condition = ${if and {{eq{$auth1}{AUTH_USER}} \
		    {eq{$auth2}{${readfile{EXIM_HOME/password}{}}}}}}
		  server_set_id = $auth1
	EOF
}

# exim_stop [DIR]: stops the daemon of DIR and waits until it is gone.
# Safe to call when none runs.
exim_stop() {
	local d=${1:-${EXIM_DIR:-$BATS_FILE_TMPDIR/exim}} pid
	[ -f "$d/exim.pid" ] || return 0
	pid=$(cat "$d/exim.pid")
	if [ -n "$pid" ] && ! exim_gone "$pid"; then
		# The daemon leads a process group of its own (it detached
		# with setsid): the signal also ends what runs in it, such as
		# an SMTP session that a client still holds open.
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
		retry_until 10 exim_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$d/exim.pid"
	return 0
}

# exim_messages [DIR]: the delivered message files, oldest first.
exim_messages() {
	local d=${1:-$EXIM_DIR}
	find "$d/mail" -maxdepth 1 -name '*.eml' -printf '%T@ %p\n' |
		sort -n | cut -d' ' -f2-
}

# exim_wait_messages N [DIR]: waits up to 10 s until at least N messages
# were delivered (exim delivers just after it answers the end of DATA).
exim_wait_messages() {
	local n=$1 d=${2:-$EXIM_DIR}
	retry_until 10 exim_has_messages "$n" "$d" && return 0
	echo "exim delivered $(exim_messages "$d" | wc -l) of $n messages" >&2
	tail -20 "$d/log/mainlog" >&2
	return 1
}

exim_has_messages() {
	[ "$(exim_messages "$2" | wc -l)" -ge "$1" ]
}
