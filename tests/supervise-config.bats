#!/usr/bin/env bats
# supervise on the configs people already have, side by side with the real
# supervisord and supervisorctl: each test writes one config twice, into
# $D/sd (run by supervisord) and $D/sv (run by supervise), the same but for
# the directory, and compares what the two clients print.

bats_require_minimum_version 1.5.0
load helpers
load supervise_helpers

setup() {
	need_cmd supervisord supervisorctl echo_supervisord_conf
	# short: Unix socket paths are limited to 107 bytes
	D=$(mktemp -d /tmp/svc.XXXXXX)
	chmod 755 "$D"
	mkdir "$D/sd" "$D/sv"
	SPID= DPID=
}

# the daemons: the ones started here, and any that wrote a pidfile in $D
daemon_pids() {
	local p
	for p in $SPID $DPID $(cat "$D"/s[dv]/*.pid 2>/dev/null); do
		grep -qF "$D/" "/proc/$p/cmdline" 2>/dev/null && echo "$p"
	done
	return 0
}

teardown() {
	local p
	for p in $(daemon_pids | sort -u); do stop_pid "$p"; done
	kill_marked
	rm -rf "$D"
}

# pair FILE: stdin, with @D@ as the daemon's directory and @M@ as the
# mark, into $D/sd/FILE and $D/sv/FILE.
pair() {
	local text d
	text=$(cat)
	for d in "$D/sd" "$D/sv"; do
		mkdir -p "$(dirname "$d/$1")"
		printf '%s\n' "$text" | sed "s#@D@#$d#g; s#@M@#$D#g" >"$d/$1"
	done
}

# The top of a config both daemons and both clients can use.
HEAD='[supervisord]
logfile=@D@/main.log
pidfile=@D@/sv.pid
childlogdir=@D@
environment=SVMARK="@M@"

[unix_http_server]
file=@D@/sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://@D@/sock
'

# start_both CONF SOCK [OPTION...]: supervisord and supervise on their copy
# of CONF, in the foreground (-n or nodaemon=true), up once SOCK answers.
start_both() {
	local conf=$1 sock=$2
	shift 2
	(cd "$D/sd" && exec supervisord "$@" -c "$D/sd/$conf" >"$D/sd/out" 2>&1 3>&-) &
	SPID=$!
	(cd "$D/sv" && exec supervise "$@" -c "$D/sv/$conf" >"$D/sv/out" 2>&1 3>&-) &
	DPID=$!
	retry_until 15 test -S "$D/sd/$sock" || { cat "$D/sd/out" >&2; return 1; }
	retry_until 15 test -S "$D/sv/$sock" || { cat "$D/sv/out" >&2; return 1; }
}

sd_ctl() { supervisorctl -c "$D/sd/${CONF:-sv.conf}" "$@"; }
sv_ctl() { supervise ctl -c "$D/sv/${CONF:-sv.conf}" "$@" 2>/dev/null; }

# status without what differs between two runs: pids and uptimes
status_of() { "$1" status | sed 's/pid [0-9]*, uptime [0-9:]*$/pid, uptime/'; }

# both settled (nothing STARTING or BACKOFF) and printing the same status
same_status() {
	status_of sd_ctl >"$D/sd/status"
	status_of sv_ctl >"$D/sv/status"
	! grep -qE ' (STARTING|BACKOFF|STOPPING) ' "$D/sd/status" "$D/sv/status" &&
		cmp -s "$D/sd/status" "$D/sv/status"
}

# retry_until counts 20 ms turns, and one supervisorctl call takes a good
# part of a second: this bounded retry counts by the clock instead.
settled() {
	local end=$((SECONDS + 20))
	until same_status; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# waits for the same status, then checks it against the lines given
status_is() {
	settled || diff "$D/sd/status" "$D/sv/status" >&2 || true
	printf '%s\n' "$@" >"$D/want"
	diff "$D/want" "$D/sd/status"
	diff "$D/want" "$D/sv/status"
}

avail_same() {
	sd_ctl avail >"$D/sd/avail"
	sv_ctl avail >"$D/sv/avail"
	diff "$D/sd/avail" "$D/sv/avail"
}

# ---- configs: merged sections, %(ENV_X)s, numprocs=0 ------------------------

@test "a section written twice is merged key by key, the later value winning, as supervisord does" {
	pair sv.conf <<EOF
$HEAD
[include]
files=conf.d/*.conf

[program:web]
command=sleep 300
priority=10
autostart=false
EOF
	pair conf.d/override.conf <<'EOF'
[supervisord]
nodaemon=true

[program:web]
autostart=true
priority=20
EOF
	# no -n: nodaemon=true from conf.d keeps both in the foreground
	start_both sv.conf sock
	status_is "web                              RUNNING   pid, uptime"
	avail_same
	[ "$(sv_ctl avail)" = "web                              in use    auto      20:20" ]
	! gone "$SPID"
	! gone "$DPID"
}

@test "%(ENV_X)s sees [supervisord] environment= and the program's own environment=" {
	pair sv.conf <<EOF
[supervisord]
logfile=@D@/main.log
pidfile=@D@/sv.pid
childlogdir=@D@
environment=SVMARK="@M@",APP_ENV="staging"

[unix_http_server]
file=@D@/sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://@D@/sock

[program:app]
command=sh -c 'echo %(ENV_APP_ENV)s %(ENV_PORT)s; exec sleep 300'
environment=PORT="80%(ENV_APP_ENV)s"
stdout_logfile=@D@/app-%(ENV_APP_ENV)s-%(ENV_PORT)s.log
directory=@D@
EOF
	start_both sv.conf sock -n
	status_is "app                              RUNNING   pid, uptime"
	local d
	for d in sd sv; do
		retry_until 5 grep -qx "staging 80staging" "$D/$d/app-staging-80staging.log"
	done
}

@test "numprocs=0 starts no process of that program, in a group or not, as supervisord does" {
	pair sv.conf <<EOF
$HEAD
[program:web]
command=sleep 300

[program:worker]
command=sleep 300
process_name=%(program_name)s_%(process_num)d
numprocs=0

[program:off]
command=sleep 300
numprocs=%(ENV_OFF_COUNT)s

[group:jobs]
programs=worker,web
EOF
	export OFF_COUNT=0
	start_both sv.conf sock -n
	status_is "jobs:web                         RUNNING   pid, uptime"
	avail_same
}

# ---- behaviour: stdin, order and width of status and avail -------------------

@test "programs get a pipe as stdin that stays open: cat stays RUNNING, as under supervisord" {
	pair sv.conf <<EOF
$HEAD
[program:cat]
command=cat
startsecs=1
EOF
	start_both sv.conf sock -n
	status_is "cat                              RUNNING   pid, uptime"
	local pid
	pid=$(sv_ctl pid cat)
	[[ "$(readlink "/proc/$pid/fd/0")" == pipe:* ]]
}

@test "each program's stdin is its own open file: one setting O_NONBLOCK does not reach another" {
	need_cmd python3
	pair sv.conf <<EOF
$HEAD
[program:a]
command=python3 -c 'import os, time; os.set_blocking(0, False); time.sleep(300)'
startsecs=0
priority=1

[program:b]
command=cat
startsecs=0
priority=2
EOF
	(cd "$D/sv" && exec supervise -n -c "$D/sv/sv.conf" >"$D/sv/out" 2>&1 3>&-) &
	DPID=$!
	retry_until 15 test -S "$D/sv/sock"
	local a b
	retry_until 10 eval 'a=$(sv_ctl pid a) && [ "$a" != 0 ]'
	retry_until 10 eval 'b=$(sv_ctl pid b) && [ "$b" != 0 ]'
	# O_NONBLOCK is 04000 in fdinfo's octal flags
	nonblock() { (( 8#$(awk '/^flags:/ { print $2 }' "/proc/$1/fdinfo/0") & 8#4000 )); }
	retry_until 10 nonblock "$a"
	! nonblock "$b"
	[ "$(readlink "/proc/$a/fd/0")" = "$(readlink "/proc/$b/fd/0")" ]
	[ "$(sv_ctl status b | awk '{ print $2 }')" = RUNNING ]
}

@test "status lists processes by group, then name, and avail by name, as supervisord does" {
	pair sv.conf <<EOF
$HEAD
[program:zeta]
command=sleep 300
priority=1

[program:alpha]
command=sleep 300
priority=500

[program:mid]
command=sleep 300
process_name=%(program_name)s_%(process_num)d
numprocs=2
priority=5

[group:grp]
programs=zz,aa
priority=10

[program:zz]
command=sleep 300

[program:aa]
command=sleep 300
autostart=false
EOF
	start_both sv.conf sock -n
	status_is \
		"alpha                            RUNNING   pid, uptime" \
		"grp:aa                           STOPPED   Not started" \
		"grp:zz                           RUNNING   pid, uptime" \
		"mid:mid_0                        RUNNING   pid, uptime" \
		"mid:mid_1                        RUNNING   pid, uptime" \
		"zeta                             RUNNING   pid, uptime"
	avail_same
	[ "$(sv_ctl avail | head -1)" = "grp:aa                           in use    manual    10:999" ]
	# status with names: each name's processes in that order too
	sd_ctl status zeta 'grp:*' | sed 's/ .*//' >"$D/sd/named"
	sv_ctl status zeta 'grp:*' | sed 's/ .*//' >"$D/sv/named"
	diff "$D/sd/named" "$D/sv/named"
	[ "$(cat "$D/sv/named" | tr '\n' ' ')" = "zeta grp:aa grp:zz " ]
}

@test "status and avail pad non-ASCII names by characters, as supervisorctl does" {
	pair sv.conf <<EOF
$HEAD
[program:café]
command=sleep 300

[program:naïve_service_with_a_long_name_ö]
command=sleep 300
autostart=false
EOF
	start_both sv.conf sock -n
	status_is \
		"café                               RUNNING   pid, uptime" \
		"naïve_service_with_a_long_name_ö   STOPPED   Not started"
	avail_same
}

# ---- real-world configs, side by side -----------------------------------------

@test "Supervisor's sample config (echo_supervisord_conf), made runnable: the same status" {
	# its paths into the test's directory, its example program and group
	# uncommented (the program is /bin/cat, reading stdin)
	echo_supervisord_conf | sed \
		-e 's#/tmp/#@D@/#g' \
		-e 's#^;childlogdir=/tmp#childlogdir=@D@#' \
		-e 's#^;environment=KEY="value".*#environment=SVMARK="@M@"#' \
		-e '/^;\[program:theprogramname\]/,/^$/s/^;//' \
		-e '/^;\[group:thegroupname\]/,/^$/s/^;//' \
		-e 's#^programs=progname1,progname2#programs=theprogramname#' \
		-e '/^user=chrism/d' -e '/^std[a-z]*_logfile=\/a\/path/d' |
		pair supervisord.conf
	grep -q '^\[program:theprogramname\]' "$D/sv/supervisord.conf"
	CONF=supervisord.conf
	start_both supervisord.conf supervisor.sock -n
	status_is "thegroupname:theprogramname      RUNNING   pid, uptime"
	avail_same
}

@test "Debian's stock supervisord.conf with conf.d files, one setting nodaemon=true: the same status" {
	[ -r /etc/supervisor/supervisord.conf ] || needs "needs Debian's /etc/supervisor/supervisord.conf"
	sed -e 's#/var/run#@D@#g' -e 's#/var/log/supervisor#@D@#g' -e 's#/etc/supervisor#@D@#g' \
		/etc/supervisor/supervisord.conf | pair supervisord.conf
	pair conf.d/docker.conf <<'EOF'
[supervisord]
nodaemon=true
environment=SVMARK="@M@",APP_PORT="8080"
EOF
	pair conf.d/web.conf <<'EOF'
[program:web]
command=sh -c 'echo listening on %(ENV_APP_PORT)s; exec cat'
stdout_logfile=%(here)s/web-%(ENV_APP_PORT)s.log
priority=100

[program:worker]
command=sleep 300
process_name=%(program_name)s_%(process_num)02d
numprocs=2
EOF
	pair conf.d/cron.conf <<'EOF'
[program:cron]
command=sleep 300
autostart=false
EOF
	CONF=supervisord.conf
	# no -n: the conf.d file's nodaemon=true keeps both in the foreground
	start_both supervisord.conf supervisor.sock
	status_is \
		"cron                             STOPPED   Not started" \
		"web                              RUNNING   pid, uptime" \
		"worker:worker_00                 RUNNING   pid, uptime" \
		"worker:worker_01                 RUNNING   pid, uptime"
	avail_same
	! gone "$SPID"
	! gone "$DPID"
	local d
	for d in sd sv; do
		retry_until 5 grep -qx "listening on 8080" "$D/$d/conf.d/web-8080.log"
	done
}

@test "a Docker-style nodaemon config with groups and numprocs: the same status and avail" {
	pair supervisord.conf <<'EOF'
[supervisord]
nodaemon=true
user=root
logfile=@D@/supervisord.log
logfile_maxbytes=0
pidfile=@D@/supervisord.pid
childlogdir=@D@
environment=SVMARK="@M@",QUEUE_WORKERS="3",SCHEDULER_WORKERS="0"

[unix_http_server]
file=@D@/supervisor.sock
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://@D@/supervisor.sock

[program:nginx]
command=cat
priority=10
autorestart=true
stdout_logfile=@D@/nginx.log
stdout_logfile_maxbytes=0
redirect_stderr=true

[program:php-fpm]
command=sleep 300
priority=5
autorestart=true

[program:queue]
command=sh -c 'exec sleep 300'
process_name=%(program_name)s_%(process_num)02d
numprocs=%(ENV_QUEUE_WORKERS)s
numprocs_start=1
stopwaitsecs=3
stopasgroup=true
killasgroup=true

[program:scheduler]
command=sleep 300
process_name=%(program_name)s_%(process_num)02d
numprocs=%(ENV_SCHEDULER_WORKERS)s

[group:web]
programs=nginx,php-fpm
priority=20

[group:jobs]
programs=queue,scheduler
priority=30
EOF
	CONF=supervisord.conf
	start_both supervisord.conf supervisor.sock
	status_is \
		"jobs:queue_01                    RUNNING   pid, uptime" \
		"jobs:queue_02                    RUNNING   pid, uptime" \
		"jobs:queue_03                    RUNNING   pid, uptime" \
		"web:nginx                        RUNNING   pid, uptime" \
		"web:php-fpm                      RUNNING   pid, uptime"
	avail_same
	! gone "$SPID"
	! gone "$DPID"
}
