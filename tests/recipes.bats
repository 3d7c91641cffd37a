#!/usr/bin/env bats
# docs/recipes.md: every block of every section run as written, its
# output compared with the one shown (tests/recipes.py).

bats_require_minimum_version 1.5.0
load helpers

RECIPES=$BATS_TEST_DIRNAME/../docs/recipes.md
README=$BATS_TEST_DIRNAME/../README.md
load sshd_helpers
load diskreport_helpers

# a daemon a failed block left behind does not outlive its test
teardown() {
	[ -n "${RECIPE_DIR:-}" ] || return 0
	local p
	for p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "PROCBOX_RECIPE=$RECIPE_DIR" &&
			kill -KILL "${p#/proc/}" 2>/dev/null
	done
	[ -z "${SMTPD_PID:-}" ] || kill "$SMTPD_PID" 2>/dev/null
	[ -z "${RECIPE_NS:-}" ] || ip netns del "$RECIPE_NS" 2>/dev/null
	return 0
}

teardown_file() {
	sshd_stop
}

# recipe "SECTION TITLE" [CMD...]: runs that section's blocks (of $RECIPES,
# docs/recipes.md unless set) in a scratch
# directory (RECIPE_DIR, made beforehand by recipe_dir or here), under CMD
# when given (ip netns exec NS), every process they start marked by
# PROCBOX_RECIPE in its environment
recipe() {
	[ -x /usr/bin/python3 ] || needs "needs /usr/bin/python3"
	[ -n "${RECIPE_DIR:-}" ] || RECIPE_DIR=$(scratch)
	local title=$1
	shift
	PROCBOX_RECIPE=$RECIPE_DIR run "$@" /usr/bin/python3 "$BATS_TEST_DIRNAME/recipes.py" \
		"$RECIPES" "$title" "$RECIPE_DIR"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "recipe: run a command, see or discard its output, get its status" {
	recipe "Run a command: see its output, discard it, get its status"
}

@test "recipe: status codes" {
	recipe "Status codes: failure, not found, not executable, killed"
}

@test "recipe: fallbacks" {
	recipe "Fallbacks: try one tool, another only when the first is missing"
}

@test "recipe: capture output, a series with a pause and progress, on several machines over ssh" {
	sshd_start
	RECIPE_DIR=$(scratch)
	# the hosts as a sysadmin names them in ~/.ssh/config
	mkdir -m 700 "$RECIPE_DIR/.ssh"
	cat >"$RECIPE_DIR/.ssh/config" <<-EOF
	Host web1
		HostName 127.0.0.1
	Host web2
		HostName 127.0.0.2
	Host db3
		HostName 127.0.0.3
	Host *
		Port $PORT
		User root
		IdentityFile $BATS_FILE_TMPDIR/sshd/userkey
		StrictHostKeyChecking no
		UserKnownHostsFile /dev/null
		LogLevel ERROR
	EOF
	# ssh reads the config of the user's home from the password file: in a
	# private mount namespace, that home is the scratch directory
	local home
	home=$(getent passwd "$(id -un)" | cut -d: -f6)
	recipe "Capture output, and a series of commands with a pause and progress" \
		unshare -m sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$RECIPE_DIR" "$home"
}

@test "recipe: stdin and a pipeline with every stage's status" {
	recipe "Feed a command's stdin, and a pipeline with every stage's status"
}

@test "recipe: once after a delay, cancelably; every N seconds without drift" {
	recipe "Run something once after a delay, cancelably; every N seconds without drift"
}

@test "recipe: a supervisord.conf kept running, status and tail" {
	recipe "Keep a program running from a supervisord.conf; look at it with status and tail"
}

@test "recipe: a long job detached, followed later" {
	recipe "Start a long job detached, log out, and come back to its output and status"
}

@test "recipe: a directory mirrored on change, never wiped" {
	recipe "Mirror a directory whenever it changes, without ever wiping the mirror"
}

@test "recipe: a ping sweep, then the MACs of the live hosts" {
	need_root
	need_cmd ip
	RECIPE_NS=pbrecipe-$$
	ip netns add "$RECIPE_NS"
	ip -n "$RECIPE_NS" link set lo up
	ip netns exec "$RECIPE_NS" sysctl -qw net.ipv4.ping_group_range="1 0"
	# a LAN: ours 192.168.77.1, a host holding .2-.4 that drops ping for .4
	ip netns add "$RECIPE_NS-h"
	ip link add pbr0 netns "$RECIPE_NS" type veth peer name pbr1 netns "$RECIPE_NS-h"
	ip -n "$RECIPE_NS" link set pbr0 address 02:00:5e:77:00:01 up
	ip -n "$RECIPE_NS-h" link set pbr1 address 02:00:5e:77:00:02 up
	ip -n "$RECIPE_NS" addr add 192.168.77.1/24 dev pbr0
	local a
	for a in 2 3 4; do ip -n "$RECIPE_NS-h" addr add 192.168.77.$a/24 dev pbr1; done
	ip netns exec "$RECIPE_NS-h" nft add table ip f
	ip netns exec "$RECIPE_NS-h" nft add chain ip f in '{ type filter hook input priority 0; }'
	ip netns exec "$RECIPE_NS-h" nft add rule ip f in ip daddr 192.168.77.4 icmp type echo-request drop
	recipe "Which hosts answer ping, many at once, then the MACs of the live ones" \
		ip netns exec "$RECIPE_NS"
	ip netns del "$RECIPE_NS-h"
}

@test "recipe: a nightly disk report by mail" {
	start_smtpd --port 2525
	recipe "A nightly disk report by mail, from cron and without it"
	# the report reached the relay
	retry_until 5 test -f "$MAILDIR/root@localhost/1.eml"
	grep -qxF "Subject: Disk usage on $(uname -n): OK" <(tr -d '\r' <"$MAILDIR/root@localhost/1.eml")
}

@test "recipe: a pool of workers" {
	recipe "A pool of workers over a list of inputs"
}

@test "recipe: a script as a daemon, checked and stopped" {
	recipe "Turn a script into a daemon, with its output in files; check and stop it"
}

@test "recipes: an expected output changed in the doc fails its section" {
	[ -x /usr/bin/python3 ] || needs "needs /usr/bin/python3"
	local dir
	dir=$(scratch)
	sed 's/^failed with 3$/failed with 4/' "$RECIPES" > "$dir/recipes.md"
	! cmp -s "$RECIPES" "$dir/recipes.md"
	run -1 /usr/bin/python3 "$BATS_TEST_DIRNAME/recipes.py" "$dir/recipes.md" \
		"Status codes: failure, not found, not executable, killed" "$dir"
	[[ "$output" == *"failed with 4"* ]]
	# and a section the doc no longer has is an error, not a pass
	run -1 /usr/bin/python3 "$BATS_TEST_DIRNAME/recipes.py" "$RECIPES" "No such section" "$dir"
}

# The README's example of each applet, as written.
@test "README: the daemonize example" {
	RECIPES=$README recipe daemonize
}

@test "README: the dirsync example" {
	RECIPES=$README recipe dirsync
}

@test "README: the diskreport example" {
	RECIPES=$README recipe diskreport
}

@test "README: the exitcode example" {
	RECIPES=$README recipe exitcode
}

@test "README: the pipe example" {
	RECIPES=$README recipe pipe
}

@test "README: the runner example" {
	RECIPES=$README recipe runner
}

@test "README: the supervise example" {
	RECIPES=$README recipe supervise
}

@test "README: the sweep example" {
	need_root
	need_cmd ip
	RECIPE_NS=pbrecipe-$$
	ip netns add "$RECIPE_NS"
	ip -n "$RECIPE_NS" link set lo up
	RECIPES=$README recipe sweep ip netns exec "$RECIPE_NS"
}

@test "README: the timer example" {
	RECIPES=$README recipe timer
}
