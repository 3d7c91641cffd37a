#!/usr/bin/env bats
# diskreport's mail through a real relay: Debian's exim4 on loopback ports,
# which offers AUTH only after STARTTLS (or on its implicit-TLS port) and
# relays nothing for a client that has not logged in, with a certificate
# and a password this file makes. AUTH LOGIN alone and AUTH on a plain
# connection against aiosmtpd (tests/diskreport_smtpd.py).

bats_require_minimum_version 1.5.0
load helpers
load exim_helpers
load diskreport_helpers


setup() {
	SMTPD_PID=
	if [ "${BATS_TEST_DESCRIPTION#*exim}" != "$BATS_TEST_DESCRIPTION" ]; then
		exim_start "$BATS_FILE_TMPDIR/exim"
		need_cmd openssl
	fi
	AUTH=$BATS_TEST_TMPDIR/auth
}

teardown() {
	if [ -n "$SMTPD_PID" ]; then
		kill "$SMTPD_PID" 2>/dev/null || true
		wait "$SMTPD_PID" 2>/dev/null || true
	fi
}

teardown_file() {
	exim_stop "$BATS_FILE_TMPDIR/exim" 2>/dev/null || true
}

# auth_file [USER [PASSWORD]]: the secret, mode 600 (exim's by default).
auth_file() {
	(umask 077 && printf '%s\n%s\n' "${1:-$EXIM_USER}" "${2:-$EXIM_PASS}" >"$AUTH")
}

# report ARGS...: a small report of the root filesystem, mailed; stdout in
# $BATS_TEST_TMPDIR/report.
report() {
	diskreport --mail-to ops@example.com --mail-from reporter@example.com \
		--smtp-retries 0 "$@" / >"$BATS_TEST_TMPDIR/report"
}

# checked_message FILE: the message exim delivered, its lines in CRLF as
# they came over SMTP, checked as a strict reader would (policy SMTP).
checked_message() {
	# exim stores LF lines and puts Return-path and Envelope-to first
	sed -e '1,2d' -e 's/$/\r/' "$1" >"$BATS_TEST_TMPDIR/msg.eml"
	"$SYS_PYTHON" "$BATS_TEST_DIRNAME/diskreport_mailcheck.py" "$BATS_TEST_TMPDIR/msg.eml" \
		"$BATS_TEST_TMPDIR/report" "$2" ops@example.com
}

@test "diskreport exim: STARTTLS and AUTH PLAIN through the default helper, as port 587 wants" {
	auth_file
	# the helper verifies the server's name against the system's CAs: here
	# the test's own CA
	SSL_CERT_FILE=$EXIM_CA run -0 report --subject "nightly" \
		--smtp "localhost:$EXIM_PORT" --smtp-tls starttls --smtp-auth-file "$AUTH"
	exim_wait_messages 1
	local m
	m=$(exim_messages | head -1)
	grep -q '^Envelope-to: ops@example.com$' "$m"
	checked_message "$m" nightly
	# exim saw it over TLS, authenticated as the file's user, with PLAIN
	grep -q "A=plain:$EXIM_USER" "$EXIM_DIR/log/mainlog"
	grep "<= reporter@example.com" "$EXIM_DIR/log/mainlog" | grep -q ' X=TLS'
	# the secret is nowhere in what diskreport said
	! grep -q "$EXIM_PASS" "$BATS_TEST_TMPDIR/report"
	[[ "$output" != *"$EXIM_PASS"* ]]
}

@test "diskreport exim: implicit TLS (port 465 style) with --smtp-tls tls" {
	auth_file
	local before
	before=$(exim_messages | wc -l)
	SSL_CERT_FILE=$EXIM_CA run -0 report --subject "smtps" \
		--smtp "127.0.0.1:$EXIM_TLS_PORT" --smtp-tls tls --smtp-auth-file "$AUTH"
	exim_wait_messages $((before + 1))
	checked_message "$(exim_messages | tail -1)" smtps
}

@test "diskreport exim: a helper of one's own, with %a, %h and %p" {
	auth_file
	local before
	before=$(exim_messages | wc -l)
	run -0 report --subject "own helper" --smtp "localhost:$EXIM_PORT" --smtp-tls starttls \
		--smtp-tls-helper "openssl s_client -quiet -verify_return_error -CAfile $EXIM_CA -verify_hostname %h -starttls smtp -connect %h:%p" \
		--smtp-auth-file "$AUTH"
	exim_wait_messages $((before + 1))
	run -0 report --subject "own helper 2" --smtp "localhost:$EXIM_TLS_PORT" --smtp-tls tls \
		--smtp-tls-helper "openssl s_client -quiet -verify_return_error -CAfile $EXIM_CA -connect %a" \
		--smtp-auth-file "$AUTH"
	exim_wait_messages $((before + 2))
}

@test "diskreport exim: an untrusted certificate stops the mail, the helper named" {
	auth_file
	# no CA for the test's certificate: s_client refuses it
	SSL_CERT_FILE=/dev/null run -4 report --smtp "localhost:$EXIM_PORT" --smtp-tls starttls \
		--smtp-auth-file "$AUTH"
	[[ "$output" == *"mail: EHLO: connection closed by the TLS helper, which exited with status 1: openssl s_client"*"-verify_hostname 'localhost' -starttls smtp -connect 'localhost:$EXIM_PORT'" ]]
	# a name the certificate does not carry
	SSL_CERT_FILE=$EXIM_CA run -4 report --smtp "127.0.0.2:$EXIM_PORT" --smtp-tls starttls \
		--smtp-auth-file "$AUTH"
	[[ "$output" == *"connection closed by the TLS helper"* ]]
}

@test "diskreport exim: a wrong password is refused once, not retried, never printed" {
	auth_file "$EXIM_USER" "not-$EXIM_PASS"
	local fails
	fails=$(grep -c 'authenticator failed' "$EXIM_DIR/log/mainlog" || true)
	SSL_CERT_FILE=$EXIM_CA run -4 report --smtp "localhost:$EXIM_PORT" --smtp-tls starttls \
		--smtp-auth-file "$AUTH" --smtp-retries 3 --smtp-retry-delay 50ms
	[[ "$output" == *"mail: AUTH PLAIN: 535 Incorrect authentication data"* ]]
	[[ "$output" != *"trying again"* ]]
	[[ "$output" != *"not-$EXIM_PASS"* ]]
	retry_until 10 eval 'test "$(grep -c "authenticator failed" "$EXIM_DIR/log/mainlog")" -eq $((fails + 1))'
}

@test "diskreport exim: AUTH without TLS: the server offers none, said plainly" {
	auth_file
	run -4 report --smtp "127.0.0.1:$EXIM_PORT" --smtp-auth-file "$AUTH" \
		--smtp-retries 2 --smtp-retry-delay 50ms
	[ "${lines[-1]}" = "diskreport: mail: AUTH: the server offers no authentication (most offer it only over TLS)" ]
	[[ "$output" != *"trying again"* ]]
}

@test "diskreport exim: without AUTH the relay refuses the recipient (530)" {
	SSL_CERT_FILE=$EXIM_CA run -4 report --smtp "localhost:$EXIM_PORT" --smtp-tls starttls
	[[ "$output" == *"RCPT TO <ops@example.com>: 530 5.7.0 Authentication required"* ]]
}

@test "diskreport: AUTH LOGIN when the server offers only that" {
	start_smtpd --auth 'reporter:se:cret p@ss' --auth-only LOGIN
	auth_file reporter 'se:cret p@ss'
	run -0 report --smtp "127.0.0.1:$PORT" --smtp-auth-file "$AUTH"
	[ "$(cat "$MAILDIR/auths")" = "LOGIN reporter ok" ]
	[ -f "$MAILDIR/ops@example.com/1.eml" ]
	# and PLAIN when both are offered; a CRLF file works the same
	kill "$SMTPD_PID"
	wait "$SMTPD_PID" || true
	start_smtpd --auth 'reporter:pw'
	printf 'reporter\r\npw\r\n' >"$AUTH"
	run -0 report --smtp "127.0.0.1:$PORT" --smtp-auth-file "$AUTH"
	[ "$(cat "$MAILDIR/auths")" = "PLAIN reporter ok" ]
}

@test "diskreport: a server that offers neither PLAIN nor LOGIN" {
	start_smtpd --auth 'reporter:pw' --auth-only CRAM-MD5
	auth_file reporter pw
	run -4 report --smtp "127.0.0.1:$PORT" --smtp-auth-file "$AUTH"
	[[ "$output" == *"mail: AUTH: the server offers neither PLAIN nor LOGIN, only CRAM-MD5" ]]
}

@test "diskreport: --smtp-auth-file that others may read, or not the owner's, is refused at start" {
	need_root
	printf 'u\np\n' >"$AUTH"
	chmod 644 "$AUTH"
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$AUTH" /
	[ "$output" = "diskreport: --smtp-auth-file $AUTH: permissions 0644 are too open: the password must not be readable by group or others (chmod 600)" ]
	chmod 640 "$AUTH"
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$AUTH" /
	[[ "$output" == *"permissions 0640 are too open"* ]]
	chmod 600 "$AUTH"
	chown nobody "$AUTH"
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$AUTH" /
	[[ "$output" == *"$AUTH: owned by uid $(id -u nobody), neither you nor root" ]]
}

@test "diskreport: --smtp-auth-file missing, a directory, one line, empty, too long" {
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$AUTH" /
	[ "$output" = "diskreport: --smtp-auth-file $AUTH: No such file or directory" ]
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$BATS_TEST_TMPDIR" /
	[[ "$output" == *"not a regular file" ]]
	local want="diskreport: --smtp-auth-file $AUTH: expected the user name on the first line and the password on the second (each 1-255 bytes)"
	(umask 077 && echo onlyuser >"$AUTH")
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$AUTH" /
	[ "$output" = "$want" ]
	: >"$AUTH"
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$AUTH" /
	[ "$output" = "$want" ]
	printf 'u\np\nthird\n' >"$AUTH"
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$AUTH" /
	[ "$output" = "$want" ]
	printf 'u\n%0300d\n' 0 >"$AUTH"
	run -3 diskreport --mail-to a@example.com --smtp-auth-file "$AUTH" /
	[ "$output" = "$want" ]
}

@test "diskreport: --smtp-tls and --smtp-tls-helper usage errors" {
	run -3 diskreport --mail-to a@example.com --smtp-tls ssl /
	[ "${lines[0]}" = "diskreport: invalid --smtp-tls 'ssl': expected starttls or tls" ]
	run -3 diskreport --mail-to a@example.com --smtp-tls-helper 'x' /
	[ "${lines[0]}" = "diskreport: --smtp-tls-helper needs --smtp-tls starttls or tls" ]
	run -3 diskreport --mail-to a@example.com --smtp-tls tls --smtp-tls-helper '' /
	[ "${lines[0]}" = "diskreport: empty --smtp-tls-helper" ]
	run -3 diskreport --smtp-tls tls /
	[ "${lines[0]}" = "diskreport: mail options need --mail-to" ]
}

@test "diskreport: the helper's host and port are quoted for the shell; a missing helper" {
	cd "$BATS_TEST_TMPDIR"
	# the helper prints a greeting-less nothing: the mail fails, but the
	# host name reaches it as one word and runs nothing
	run -4 diskreport --mail-to a@example.com --smtp-retries 0 \
		--smtp "x';touch INJECTED;'" --smtp-tls tls \
		--smtp-tls-helper 'printf "%s|" %h %p %a >args' /
	[ ! -e INJECTED ]
	[ "$(cat args)" = "x';touch INJECTED;'|465|x';touch INJECTED;':465|" ]
	[[ "$output" == *"greeting: connection closed by the TLS helper, which exited with status 0: printf"* ]]
	run -4 diskreport --mail-to a@example.com --smtp-retries 0 --smtp-tls tls \
		--smtp-tls-helper 'no-such-helper %a' /
	[[ "$output" == *"greeting: connection closed by the TLS helper, which exited with status 127: no-such-helper '127.0.0.1:465'" ]]
}
