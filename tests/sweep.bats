#!/usr/bin/env bats
# sweep: targets, the ICMP engine (raw and datagram sockets), output forms,
# the MAC stage, the TCP probe and every exit code. Probes go only to
# 127.0.0.0/8 inside network namespaces the tests create, or to hosts in
# such namespaces; every namespace is removed in teardown.

bats_require_minimum_version 1.5.0
load helpers

usage() { usage_line sweep; }

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# mkns NAME: a namespace with loopback up, removed in teardown.
mkns() {
	ip netns add "$1" || return 1
	echo "$1" >> "$BATS_TEST_TMPDIR/netns"
	ip -n "$1" link set lo up
}

# A namespace for this test, with pings closed to every group (the
# default of a new namespace, set explicitly).
netns_setup() {
	need_root
	need_cmd ip
	NS=pbsweep-$$-$BATS_TEST_NUMBER
	mkns "$NS"
	ping_groups "1 0"
}

ping_groups() {
	ip netns exec "$NS" sysctl -qw net.ipv4.ping_group_range="$1"
}

inns() { ip netns exec "$NS" "$@"; }

# Echo requests to 127.0.1.0/25 vanish at the input hook.
drop_half() {
	need_cmd nft
	inns nft -f - <<-'EOF'
	table inet pbsweep {
		chain input {
			type filter hook input priority 0;
			ip daddr 127.0.1.0/25 icmp type echo-request drop
			ip daddr 127.0.1.0/25 tcp dport 1-65535 drop
		}
	}
	EOF
}

teardown() {
	if [ -n "${LISTENER:-}" ]; then
		kill -- -"$LISTENER" 2>/dev/null || true
		wait "$LISTENER" 2>/dev/null || true
	fi
	if [ -f "$BATS_TEST_TMPDIR/netns" ]; then
		while read -r n; do ip netns del "$n" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/netns"
	fi
}

json_field() {	# json_field KEY LINE
	python3 -c 'import json,sys; v=json.loads(sys.argv[2])[sys.argv[1]]; print(json.dumps(v))' "$1" "$2"
}

# ---- help and arguments ---------------------------------------------------

@test "--help prints the usage and exits 0" {
	run -0 "$PROCBOX" sweep --help
	[ "${lines[0]}" = "$(usage)" ]
	[[ "$output" == *"-p PORT"* ]]
}

@test "no targets is a usage error (exit 3)" {
	run -3 sweep
	[ "${lines[0]}" = "sweep: no targets given" ]
	[ "${lines[1]}" = "$(usage)" ]
}

@test "a prefix longer than /32 is refused naming the target" {
	run -3 sweep 10.0.0.0/33
	[ "${lines[0]}" = "sweep: invalid target '10.0.0.0/33': prefix length is not 0-32" ]
	[ "${lines[1]}" = "$(usage)" ]
}

@test "an IPv6 prefix longer than /128 is refused" {
	run -3 "$PROCBOX" sweep ::1/129
	[ "${lines[0]}" = "sweep: invalid target '::1/129': prefix length is not 0-128" ]
}

@test "a bad prefix length or network address is refused" {
	run -3 sweep 10.0.0.0/x
	[ "${lines[0]}" = "sweep: invalid target '10.0.0.0/x': invalid prefix length" ]
	run -3 sweep 10.0.0/24
	[ "${lines[0]}" = "sweep: invalid target '10.0.0/24': invalid network address" ]
}

@test "a range ending past 255 is refused" {
	run -3 sweep 1.2.3.4-300
	[ "${lines[0]}" = "sweep: invalid target '1.2.3.4-300': range end is not 0-255" ]
}

@test "a range ending before its start is refused" {
	run -3 sweep 1.2.3.9-1.2.3.1
	[ "${lines[0]}" = "sweep: invalid target '1.2.3.9-1.2.3.1': range end is before its start" ]
	run -3 sweep 1.2.3.9-4
	[ "${lines[0]}" = "sweep: invalid target '1.2.3.9-4': range end is before its start" ]
	run -3 sweep 1.2.3.9-x.y
	[ "${lines[0]}" = "sweep: invalid target '1.2.3.9-x.y': invalid range end" ]
}

@test "garbage, half addresses and bad IPv6 are refused" {
	run -3 sweep 'garbage!'
	[ "${lines[0]}" = "sweep: invalid target 'garbage!': not an address, range, CIDR block or host name" ]
	run -3 sweep 1.2.3
	[ "${lines[0]}" = "sweep: invalid target '1.2.3': invalid IPv4 address" ]
	run -3 sweep 999.1.1.1
	[ "${lines[0]}" = "sweep: invalid target '999.1.1.1': invalid IPv4 address" ]
	run -3 sweep ::g
	[ "${lines[0]}" = "sweep: invalid target '::g': invalid IPv6 address" ]
	run -3 sweep ''
	[ "${lines[0]}" = "sweep: invalid target '': empty target" ]
}

@test "more than 65536 targets are refused without --force" {
	run -3 sweep 10.0.0.0/15
	[ "${lines[0]}" = "sweep: too many targets (131070, more than 65536): use --force" ]
	[ "${lines[1]}" = "$(usage)" ]
	run -3 sweep 10.0.0.0/16 10.1.0.0-10.1.0.2
	[ "${lines[0]}" = "sweep: too many targets (65537, more than 65536): use --force" ]
}

@test "--force does not lift the hard limit" {
	run -3 sweep --force 0.0.0.0/0
	[ "${lines[0]}" = "sweep: too many targets (4294967294, at most 1048576 even with --force)" ]
}

@test "bad -i, -t, -r, -B, -c, -p and --period values are usage errors" {
	run -3 sweep -i x 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid interval 'x': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
	run -3 sweep -t 0 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid timeout '0': must be more than 0" ]
	run -3 sweep -t -1s 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid timeout '-1s': expected a duration like 1.5, 200ms, 2s, 5m, 1h, 1d" ]
	run -3 sweep -r 21 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid retry count '21': out of range 0-20" ]
	run -3 sweep -r x 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid retry count 'x': not a number" ]
	run -3 sweep -B 0.5 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid backoff '0.5': expected a number from 1.0 to 5.0" ]
	run -3 sweep -B 1.5x 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid backoff '1.5x': expected a number from 1.0 to 5.0" ]
	run -3 sweep -c 0 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid count '0': out of range 1-100000" ]
	run -3 sweep -p 70000 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid port '70000': out of range 1-65535" ]
	run -3 sweep --period 0 -c 2 127.0.0.1
	[ "${lines[0]}" = "sweep: invalid period '0': must be more than 0" ]
	run -3 sweep -x 127.0.0.1
	[ "${lines[0]}" = "sweep: unknown option '-x'" ]
	run -3 sweep 127.0.0.1 -c
	[ "${lines[0]}" = "sweep: option '-c' needs an argument" ]
}

@test "an unreadable target file is a system failure (exit 4)" {
	run -4 sweep -f /nonexistent/targets
	[ "$output" = "sweep: unable to read /nonexistent/targets: No such file or directory" ]
}

# ---- the ICMP engine ---------------------------------------------------------

@test "127.0.0.0/24 is all alive, through the link" {
	netns_setup
	run -0 inns sweep -i 0 127.0.0.0/24
	[ "${#lines[@]}" -eq 254 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -cE '^127\.0\.0\.([0-9]+) is alive \([0-9.]+ ms\)$')" -eq 254 ]
	[[ "$output" != *"127.0.0.0 "* ]]
	[[ "$output" != *"127.0.0.255 "* ]]
}

@test "one alive host is one line, through procbox" {
	netns_setup
	run -0 inns "$PROCBOX" sweep 127.0.0.1
	[[ "$output" =~ ^127\.0\.0\.1\ is\ alive\ \([0-9]+\.[0-9]+\ ms\)$ ]]
}

@test "IPv6 ::1 answers" {
	netns_setup
	run -0 inns sweep ::1
	[[ "$output" =~ ^::1\ is\ alive\ \([0-9.]+\ ms\)$ ]]
}

@test "silenced hosts of a /23 are unreachable in time, with fping's alive set" {
	netns_setup
	need_cmd fping
	drop_half
	local t0 t1
	t0=$(date +%s%N)
	run -1 inns sweep -a -i 0 -t 1s -r 0 127.0.0.0/23
	t1=$(date +%s%N)
	[ "${#lines[@]}" -eq 382 ]
	# a 1 s timeout and no retry: done well within 5 s even under ASan
	[ $(((t1 - t0) / 1000000)) -lt 5000 ]
	printf '%s\n' "${lines[@]}" | sort > "$BATS_TEST_TMPDIR/sweep.alive"
	inns fping -a -i 0 -t 1000 -r 0 -g 127.0.0.0/23 2>/dev/null | sort > "$BATS_TEST_TMPDIR/fping.alive" || true
	[ "$(wc -l < "$BATS_TEST_TMPDIR/fping.alive")" -eq 382 ]
	cmp "$BATS_TEST_TMPDIR/sweep.alive" "$BATS_TEST_TMPDIR/fping.alive"
}

@test "-u prints the unreachable hosts bare, exit 1" {
	netns_setup
	drop_half
	run -1 inns sweep -u -t 1s -r 0 127.0.0.254-127.0.1.2
	[ "$output" = "$(printf '127.0.1.0\n127.0.1.1\n127.0.1.2')" ]
}

@test "-a -u together print both kinds bare" {
	netns_setup
	drop_half
	run -1 inns sweep -s -a -u -t 1s -r 0 127.0.1.1 127.0.0.1
	[ "$output" = "$(printf '127.0.1.1\n127.0.0.1')" ]
}

@test "results come in completion order, or input order with -s" {
	netns_setup
	drop_half
	run -1 inns sweep -t 1s -r 0 127.0.1.5 127.0.0.9
	[[ "${lines[0]}" == "127.0.0.9 is alive ("* ]]
	[ "${lines[1]}" = "127.0.1.5 is unreachable" ]
	run -1 inns sweep -s -t 1s -r 0 127.0.1.5 127.0.0.9
	[ "${lines[0]}" = "127.0.1.5 is unreachable" ]
	[[ "${lines[1]}" == "127.0.0.9 is alive ("* ]]
}

@test "-r and -B: retries back off, and tries are counted" {
	netns_setup
	drop_half
	run -1 inns sweep -j -t 50ms -r 2 -B 2 127.0.1.9
	[ "$(json_field tries "${lines[0]}")" = 3 ]
	[ "$(json_field alive "${lines[0]}")" = false ]
	local ms
	ms=$(json_field elapsed_ms "${lines[1]}")
	# 50 + 100 + 200 ms of waiting
	python3 -c "import sys; sys.exit(not (350 <= $ms < 3000))"
	run -1 inns sweep -j -t 50ms -r 0 127.0.1.9
	[ "$(json_field tries "${lines[0]}")" = 1 ]
}

@test "-i paces every send" {
	netns_setup
	run -0 inns sweep -j -q -i 100ms 127.0.0.1-10
	local ms
	ms=$(json_field elapsed_ms "${lines[0]}")
	# nine gaps of 100 ms between ten sends
	python3 -c "import sys; sys.exit(not (900 <= $ms < 5000))"
	run -0 inns sweep -j -q -i 0 127.0.0.1-10
	ms=$(json_field elapsed_ms "${lines[0]}")
	python3 -c "import sys; sys.exit(not ($ms < 900))"
}

@test "duplicates are removed, first position kept" {
	netns_setup
	run -0 inns sweep -s 127.0.0.2 127.0.0.1 127.0.0.2 127.0.0.0/30
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "127.0.0.2 is alive"* ]]
	[[ "${lines[1]}" == "127.0.0.1 is alive"* ]]
}

@test "target words: first, last and count, and errors, as a table" {
	local unit=${PROCBOX_UNIT:-$PROCBOX_TOP/build/unit/libbox_test}
	[ -x "$unit" ] || needs "unit test binary $unit not built (make check builds it)"
	run "$unit" targets
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "ranges and CIDR blocks expand as documented" {
	netns_setup
	run -0 inns sweep -a -s 127.0.0.250-252 127.0.1.0/31 127.0.2.7/32 127.0.3.0/30 127.0.4.254-127.0.5.1
	[ "$output" = "$(printf '%s\n' 127.0.0.250 127.0.0.251 127.0.0.252 127.0.1.0 127.0.1.1 127.0.2.7 \
		127.0.3.1 127.0.3.2 127.0.4.254 127.0.4.255 127.0.5.0 127.0.5.1)" ]
}

@test "-f reads targets from a file with comments, and from stdin" {
	netns_setup
	local d
	d=$(scratch)
	printf '# lab hosts\n127.0.0.1 127.0.0.2 # two\n\n127.0.0.4-5\n' > "$d/targets"
	run -0 inns sweep -a -s -f "$d/targets"
	[ "$output" = "$(printf '127.0.0.1\n127.0.0.2\n127.0.0.4\n127.0.0.5')" ]
	run -0 inns sh -c 'printf "127.0.0.7\n::1\n" | sweep -a -s -f -'
	[ "$output" = "$(printf '127.0.0.7\n::1')" ]
}

@test "an unknown host name is reported, the rest still probed, exit 2" {
	netns_setup
	run -2 inns sweep -s nosuchhost.invalid 127.0.0.1
	[[ "${lines[0]}" == "sweep: unable to resolve nosuchhost.invalid: "* ]]
	[[ "${lines[1]}" == "127.0.0.1 is alive ("* ]]
}

@test "a host name is shown as given" {
	netns_setup
	run -0 inns sweep -j localhost
	[ "$(json_field name "${lines[0]}")" = '"localhost"' ]
	[[ "$(json_field address "${lines[0]}")" =~ ^\"(127\.0\.0\.1|::1)\"$ ]]
}

@test "-j prints one JSON line per target and a summary record" {
	netns_setup
	drop_half
	run -1 inns sweep -j -s -t 1s -r 1 127.0.0.1 127.0.1.3
	[ "${#lines[@]}" -eq 3 ]
	[ "$(json_field address "${lines[0]}")" = '"127.0.0.1"' ]
	[ "$(json_field alive "${lines[0]}")" = true ]
	[ "$(json_field tries "${lines[0]}")" = 1 ]
	[ "$(json_field name "${lines[0]}")" = null ]
	[ "$(json_field mac "${lines[0]}")" = null ]
	[[ "$(json_field rtt_ms "${lines[0]}")" =~ ^[0-9]+\.[0-9]+$ ]]
	[ "$(json_field alive "${lines[1]}")" = false ]
	[ "$(json_field rtt_ms "${lines[1]}")" = null ]
	[ "$(json_field tries "${lines[1]}")" = 2 ]
	[ "$(json_field summary "${lines[2]}")" = true ]
	[ "$(json_field targets "${lines[2]}")" = 2 ]
	[ "$(json_field alive "${lines[2]}")" = 1 ]
	[ "$(json_field unreachable "${lines[2]}")" = 1 ]
	run -1 inns sweep -j -a -t 1s -r 0 127.0.1.3 127.0.0.1
	[ "${#lines[@]}" -eq 2 ]
	[ "$(json_field address "${lines[0]}")" = '"127.0.0.1"' ]
	[ "$(json_field summary "${lines[1]}")" = true ]
}

@test "-q prints nothing and still sets the status" {
	netns_setup
	run -0 inns sweep -q 127.0.0.1
	[ -z "$output" ]
	drop_half
	run -1 inns sweep -q -t 50ms -r 0 127.0.1.1
	[ -z "$output" ]
}

@test "-c prints fping's per-probe lines and summary" {
	netns_setup
	drop_half
	run -1 inns sweep -c 3 --period 20ms -t 1s 127.0.0.1 127.0.1.1
	[ "$(printf '%s\n' "${lines[@]}" | grep -cE '^127\.0\.0\.1 : \[[0-2]\], 64 bytes, [0-9.]+ ms \([0-9.]+ avg, 0% loss\)$')" -eq 3 ]
	[[ "$output" =~ 127\.0\.0\.1\ :\ xmt/rcv/%loss\ =\ 3/3/0%,\ min/avg/max\ =\ [0-9.]+/[0-9.]+/[0-9.]+ ]]
	[[ "$output" == *"127.0.1.1 : xmt/rcv/%loss = 3/0/100%"* ]]
}

@test "-c with -q keeps only the summary, -j gives the statistics" {
	netns_setup
	run -0 inns sweep -q -c 2 --period 10ms -t 2s 127.0.0.1
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "127.0.0.1 : xmt/rcv/%loss = 2/2/0%, min/avg/max = "* ]]
	run -0 inns sweep -j -c 2 --period 10ms -t 2s 127.0.0.1
	[ "$(json_field sent "${lines[0]}")" = 2 ]
	[ "$(json_field received "${lines[0]}")" = 2 ]
	[ "$(json_field loss_pct "${lines[0]}")" = 0 ]
	[[ "$(json_field min_ms "${lines[0]}")" =~ ^[0-9]+\.[0-9]+$ ]]
}

# fping's output on the same targets, times taken out.
no_times() { sed -E 's#(min/avg/max = ).*#\1T#; s#[0-9.]+ ms#T ms#g; s#\([0-9.]+ avg#(T avg#g'; }

@test "fping's -aq idiom: -a -q prints the live hosts, as fping does" {
	netns_setup
	need_cmd fping
	drop_half
	run -1 inns fping -aq -r 0 -t 50 127.0.0.1 127.0.1.1 127.0.0.2
	local want=$output
	[ "$want" = $'127.0.0.1\n127.0.0.2' ]
	run -1 inns sweep -aq -s -r 0 -t 50ms 127.0.0.1 127.0.1.1 127.0.0.2
	[ "$output" = "$want" ]
	run -1 inns sweep -uq -r 0 -t 50ms 127.0.0.1 127.0.1.1
	[ "$output" = 127.0.1.1 ]
}

@test "-c: per-probe lines say 64 bytes, and -q's summary has no blank line before it, as fping's" {
	netns_setup
	need_cmd fping
	local fp
	run -0 --separate-stderr inns fping -c 2 -p 20 127.0.0.1
	fp=$(printf '%s\n' "$output" "$stderr" | no_times)
	run -0 --separate-stderr inns sweep -c 2 --period 20ms 127.0.0.1
	[ "$(printf '%s\n' "$output" "$stderr" | no_times)" = "$fp" ]
	[[ "$output" == *"127.0.0.1 : [0], 64 bytes, "* ]]
	run -0 --separate-stderr inns fping -q -c 2 -p 20 127.0.0.1
	fp=$(printf '%s\n' "$stderr" | no_times)
	[ "${stderr:0:1}" != "" ] && [ "${stderr:0:1}" != $'\n' ]
	run -0 --separate-stderr inns sweep -q -c 2 --period 20ms 127.0.0.1
	[ -z "$output" ]
	[ "$(printf '%s\n' "$stderr" | no_times)" = "$fp" ]
}

@test "/etc/hosts names match in any letter case, as with fping" {
	need_root
	need_cmd fping unshare
	printf '127.0.0.1 localhost\n127.0.0.5 MyHost.example myhost\n' > "$BATS_TEST_TMPDIR/hosts"
	run -0 unshare -m sh -c 'mount --bind "$1" /etc/hosts && fping MYHOST myhost.EXAMPLE' sh "$BATS_TEST_TMPDIR/hosts"
	[ "$output" = $'MYHOST is alive\nmyhost.EXAMPLE is alive' ]
	run -0 unshare -m sh -c 'mount --bind "$1" /etc/hosts && exec sweep -s MYHOST myhost.EXAMPLE' sh "$BATS_TEST_TMPDIR/hosts"
	[[ "${lines[0]}" == "MYHOST is alive ("* ]]
	[[ "${lines[1]}" == "myhost.EXAMPLE is alive ("* ]]
	run -0 unshare -m sh -c 'mount --bind "$1" /etc/hosts && exec sweep -j MyHost' sh "$BATS_TEST_TMPDIR/hosts"
	[ "$(json_field address "${lines[0]}")" = "\"127.0.0.5\"" ]
}

@test "a name and its address are two targets, each with its line, as in fping" {
	netns_setup
	need_cmd fping
	run -0 inns fping localhost 127.0.0.1
	[ "$output" = $'localhost is alive\n127.0.0.1 is alive' ]
	run -0 inns sweep -s localhost 127.0.0.1 localhost
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "localhost is alive ("* ]]
	[[ "${lines[1]}" == "127.0.0.1 is alive ("* ]]
	run -0 inns sweep -j -q localhost 127.0.0.1
	[ "$(json_field targets "${lines[0]}")" = 2 ]
}

@test "an IPv6 link-local address keeps its %IF scope, ICMP and -p, as with fping" {
	netns_setup
	need_cmd fping
	local peer=$NS-b
	mkns "$peer"
	ip link add pbsw0 netns "$NS" type veth peer name pbsw1 netns "$peer"
	ip -n "$NS" link set pbsw0 up
	ip -n "$peer" link set pbsw1 up
	ip -n "$NS" -6 addr add fe80::1/64 dev pbsw0 nodad
	ip -n "$peer" -6 addr add fe80::2/64 dev pbsw1 nodad
	retry_until 5 inns fping -q -r 0 -t 100 fe80::2%pbsw0
	run -0 inns fping fe80::2%pbsw0
	[ "$output" = "fe80::2%pbsw0 is alive" ]
	run -0 inns sweep fe80::2%pbsw0
	[[ "$output" == "fe80::2%pbsw0 is alive ("* ]]
	# no listener: the peer's refusal proves it is up
	run -0 inns sweep -p 9 -t 1s fe80::2%pbsw0
	[[ "$output" == "fe80::2%pbsw0 is alive ("* ]]
}

@test "-p with no descriptor to spare exits 4 at once, never loops" {
	# only 0-2 open: the signal fd takes 3, the socket finds none
	run -4 timeout 10 bash -c 'for f in /proc/$$/fd/*; do f=${f##*/}
		[ "$f" -gt 2 ] && eval "exec $f>&-"; done; ulimit -n 4; exec sweep -p 9 127.0.0.1'
	[[ "$output" == *"sweep: unable to open a TCP socket: "* ]]
}

# responder DELAY COPIES: 10.77.0.2, one veth away from $NS (10.77.0.1),
# answers echo requests after DELAY seconds, COPIES times (there is no
# netem here: tests/sweep_responder.py does it from a raw socket).
responder() {
	need_cmd fping
	[ -x /usr/bin/python3 ] || needs "needs /usr/bin/python3"
	local peer=$NS-r
	mkns "$peer"
	ip link add pbr0 netns "$NS" type veth peer name pbr1 netns "$peer"
	ip -n "$NS" addr add 10.77.0.1/24 dev pbr0
	ip -n "$peer" addr add 10.77.0.2/24 dev pbr1
	ip -n "$NS" link set pbr0 up
	ip -n "$peer" link set pbr1 up
	ip netns exec "$peer" sysctl -qw net.ipv4.icmp_echo_ignore_all=1
	setsid ip netns exec "$peer" /usr/bin/python3 "$BATS_TEST_DIRNAME/sweep_responder.py" \
		"$1" "$2" "$BATS_TEST_TMPDIR/ready" >/dev/null 2>&1 3>&- &
	LISTENER=$!
	retry_until 10 test -e "$BATS_TEST_TMPDIR/ready"
}

@test "-c waits for a reply up to the period, as fping: a host 0.8 s away is alive" {
	netns_setup
	responder 0.8 1
	local fp
	run -0 --separate-stderr inns fping -q -c 2 -p 1000 10.77.0.2
	fp=$(no_times <<<"$stderr")
	[ "$fp" = "10.77.0.2 : xmt/rcv/%loss = 2/2/0%, min/avg/max = T" ]
	run -0 --separate-stderr inns sweep -q -c 2 --period 1s 10.77.0.2
	[ "$(no_times <<<"$stderr")" = "$fp" ]
	# -t still sets it
	run -1 --separate-stderr inns fping -q -c 2 -p 1000 -t 300 10.77.0.2
	fp=$stderr
	[ "$fp" = "10.77.0.2 : xmt/rcv/%loss = 2/0/100%" ]
	run -1 --separate-stderr inns sweep -q -c 2 --period 1s -t 300ms 10.77.0.2
	[ "$stderr" = "$fp" ]
}

@test "-c: a probe that times out gets fping's 'timed out' line" {
	netns_setup
	need_cmd fping
	drop_half
	local fp fperr
	run -1 --separate-stderr inns fping -c 2 -p 100 127.0.1.1
	fp=$output fperr=$stderr
	[ "$fp" = $'127.0.1.1 : [0], timed out (NaN avg, 100% loss)\n127.0.1.1 : [1], timed out (NaN avg, 100% loss)' ]
	run -1 --separate-stderr inns sweep -c 2 --period 100ms 127.0.1.1
	[ "$output" = "$fp" ]
	[ "$stderr" = "$fperr" ]
}

@test "-q -c: a duplicated reply gets fping's 'duplicate for' line on stderr" {
	netns_setup
	responder 0 2
	run -0 --separate-stderr inns fping -q -c 2 -p 200 10.77.0.2
	[[ "$stderr" == *"10.77.0.2 : duplicate for [0], 64 bytes, "*" ms"* ]]
	run -0 --separate-stderr inns sweep -q -c 2 --period 200ms 10.77.0.2
	[[ "${stderr_lines[0]}" =~ ^10\.77\.0\.2\ :\ duplicate\ for\ \[0\],\ 64\ bytes,\ [0-9.]+\ ms$ ]]
	[[ "$stderr" == *"10.77.0.2 : xmt/rcv/%loss = 2/2/0%, min/avg/max = "* ]]
	# with per-probe lines fping prints none: neither does sweep
	run -0 --separate-stderr inns sweep -c 2 --period 200ms 10.77.0.2
	[[ "$stderr" != *duplicate* ]]
}

@test "an ICMP error from a router gets fping's warning line on stderr" {
	netns_setup
	need_cmd fping
	local gw=$NS-g fperr
	mkns "$gw"
	ip link add pbg0 netns "$NS" type veth peer name pbg1 netns "$gw"
	ip -n "$NS" addr add 10.78.0.1/24 dev pbg0
	ip -n "$gw" addr add 10.78.0.254/24 dev pbg1
	ip -n "$NS" link set pbg0 up
	ip -n "$gw" link set pbg1 up
	ip -n "$NS" route add 10.79.0.0/23 via 10.78.0.254
	ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
	# the router answers with host unreachable, or administratively prohibited
	ip -n "$gw" route add unreachable 10.79.0.0/24
	ip -n "$gw" route add prohibit 10.79.1.0/24
	retry_until 5 inns ping -c 1 -W 1 10.78.0.254
	for host in 10.79.0.5 10.79.1.5; do
		run -1 --separate-stderr inns fping -r 0 -t 300 "$host"
		fperr=$stderr
		run -1 --separate-stderr inns sweep -r 0 -t 300ms "$host"
		[ "$output" = "$host is unreachable" ]
		[ "$stderr" = "$fperr" ]
	done
	[ "$stderr" = "ICMP Unreachable (Communication Administratively Prohibited) from 10.78.0.254 for ICMP Echo sent to 10.79.1.5" ]
	# -q keeps quiet, as fping's does
	run -1 --separate-stderr inns sweep -q -r 0 -t 300ms 10.79.0.5
	[ -z "$stderr" ]
}

@test "--force allows more than 65536 targets" {
	netns_setup
	run -0 inns sweep --force -q -j -i 0 127.0.0.0/15
	[ "$(json_field targets "${lines[0]}")" = 131070 ]
	[ "$(json_field alive "${lines[0]}")" = 131070 ]
}

@test "SIGINT prints what is known so far" {
	netns_setup
	drop_half
	local out=$BATS_TEST_TMPDIR/out pid
	inns sweep -t 30s -r 0 127.0.0.1 127.0.1.1 > "$out" 2>&1 3>&- &
	pid=$!
	retry_until 10 grep -q '^127.0.0.1 is alive' "$out"
	kill -INT "$pid"
	local status=0
	wait "$pid" || status=$?
	[ "$status" -eq 1 ]
	[ "$(sed -n 2p "$out")" = "127.0.1.1 is unreachable" ]
}

# ---- sockets and privileges ---------------------------------------------------

@test "root uses a raw socket when ping_group_range is closed" {
	netns_setup
	run -0 inns sweep -j 127.0.0.1 ::1
	[ "$(json_field method "${lines[2]}")" = '"icmp-raw"' ]
	[ "$(json_field alive "${lines[2]}")" = 2 ]
}

@test "an unprivileged user sweeps over ICMP datagram sockets when allowed" {
	netns_setup
	need_cmd setpriv
	ping_groups "0 2147483647"
	run -0 inns "${NOBODY[@]}" "$PROCBOX" sweep -j -i 0 127.0.0.0/28 ::1
	[ "$(json_field method "${lines[15]}")" = '"icmp-dgram"' ]
	[ "$(json_field alive "${lines[15]}")" = 15 ]
	drop_half
	run -1 inns "${NOBODY[@]}" "$PROCBOX" sweep -a -t 1s -r 0 127.0.1.1 127.0.0.1
	[ "$output" = "127.0.0.1" ]
}

@test "no ICMP socket at all is exit 4 naming the sysctl and -p" {
	netns_setup
	need_cmd setpriv
	run -4 inns "${NOBODY[@]}" "$PROCBOX" sweep 127.0.0.1
	[ "$output" = "sweep: unable to open an ICMP socket: Operation not permitted (allow this group in sysctl net.ipv4.ping_group_range, or run as root or with CAP_NET_RAW, or probe TCP with -p PORT)" ]
}

# ---- TCP probe ------------------------------------------------------------------

@test "-p: a TCP listener, or a refusal, is alive for an unprivileged user" {
	netns_setup
	need_cmd setpriv python3
	drop_half
	# its own process group: python3 may be a wrapper that forks
	setsid ip netns exec "$NS" python3 -m http.server --bind 127.0.0.1 18765 \
		>/dev/null 2>&1 3>&- &
	LISTENER=$!
	retry_until 10 inns bash -c 'exec 3<>/dev/tcp/127.0.0.1/18765'
	run -0 inns "${NOBODY[@]}" "$PROCBOX" sweep -p 18765 -s 127.0.0.1 127.0.0.2
	[[ "${lines[0]}" == "127.0.0.1 is alive ("* ]]
	[[ "${lines[1]}" == "127.0.0.2 is alive ("* ]]
	run -1 inns "${NOBODY[@]}" "$PROCBOX" sweep -j -p 18765 -t 100ms -r 1 127.0.1.1
	[ "$(json_field alive "${lines[0]}")" = false ]
	[ "$(json_field tries "${lines[0]}")" = 2 ]
	[ "$(json_field method "${lines[1]}")" = '"tcp"' ]
}

@test "-p with -c reports every connect" {
	netns_setup
	run -0 inns sweep -p 9 -c 2 --period 10ms -t 2s 127.0.0.1
	[ "$(printf '%s\n' "${lines[@]}" | grep -cE '^127\.0\.0\.1 : \[[01]\], port 9, [0-9.]+ ms')" -eq 2 ]
	[[ "$output" == *"127.0.0.1 : xmt/rcv/%loss = 2/2/0%"* ]]
}

# ---- the MAC stage -----------------------------------------------------------------

# Three namespaces: A --veth-- B --veth-- C, A reaching C's subnet through
# B as a gateway. MACs are fixed here.
mac_setup() {
	netns_setup
	A=$NS B=$NS-b C=$NS-c
	mkns "$B"
	mkns "$C"
	ip link add pbsw$$a netns "$A" type veth peer name pbsw$$b netns "$B"
	ip link add pbsw$$c netns "$B" type veth peer name pbsw$$d netns "$C"
	ip -n "$A" link set pbsw$$a address 02:00:5e:10:01:01
	ip -n "$B" link set pbsw$$b address 02:00:5e:10:01:02
	ip -n "$B" link set pbsw$$c address 02:00:5e:10:02:01
	ip -n "$C" link set pbsw$$d address 02:00:5e:10:02:02
	ip -n "$A" addr add 10.201.1.1/24 dev pbsw$$a
	ip -n "$B" addr add 10.201.1.2/24 dev pbsw$$b
	ip -n "$B" addr add 10.201.2.1/24 dev pbsw$$c
	ip -n "$C" addr add 10.201.2.2/24 dev pbsw$$d
	ip -n "$A" link set pbsw$$a up
	ip -n "$B" link set pbsw$$b up
	ip -n "$B" link set pbsw$$c up
	ip -n "$C" link set pbsw$$d up
	ip netns exec "$B" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$A" route add 10.201.2.0/24 via 10.201.1.2
	ip -n "$C" route add default via 10.201.2.1
}

@test "-m gives the MAC of directly connected hosts, never the gateway's for a routed one" {
	mac_setup
	run -1 inns sweep -m -s -t 1s -r 1 10.201.1.2 10.201.2.2 10.201.1.9
	[[ "${lines[0]}" =~ ^10\.201\.1\.2\ is\ alive\ \([0-9.]+\ ms\)\ 02:00:5e:10:01:02$ ]]
	[[ "${lines[1]}" =~ ^10\.201\.2\.2\ is\ alive\ \([0-9.]+\ ms\)$ ]]
	[ "${lines[2]}" = "10.201.1.9 is unreachable" ]
}

@test "-a -m lists live hosts with their MACs: the subnet flow in one command" {
	mac_setup
	run -0 inns sweep -a -s -m 10.201.1.0/30 10.201.2.2
	[ "$output" = "$(printf '10.201.1.1 02:00:5e:10:01:01\n10.201.1.2 02:00:5e:10:01:02\n10.201.2.2')" ]
	run -0 inns sweep -j -m 10.201.1.2
	[ "$(json_field mac "${lines[0]}")" = '"02:00:5e:10:01:02"' ]
}

# lan_setup COUNT [answer]: a bridge joining $NS (10.80.0.1/20) to host A,
# which holds 10.80.0.2 and COUNT-1 addresses after it and drops every
# ICMP echo (unless "answer"), and host B (10.80.0.40, answering ICMP, and
# 10.80.0.5 again).
lan_setup() {
	netns_setup
	need_cmd arp-scan
	local sw=$NS-s a=$NS-a b=$NS-b i=0 n
	mkns "$sw"; mkns "$a"; mkns "$b"
	ip -n "$sw" link add br0 type bridge
	ip -n "$sw" link set br0 up
	for n in "$NS" "$a" "$b"; do
		i=$((i + 1))
		ip link add lan$i netns "$n" type veth peer name port$i netns "$sw"
		ip -n "$sw" link set port$i master br0 up
		ip -n "$n" link set lan$i up
	done
	ip -n "$NS" addr add 10.80.0.1/20 dev lan1
	/usr/bin/python3 -c 'import ipaddress, sys
for k in range(int(sys.argv[1])):
    print("addr add %s/20 dev lan2" % ipaddress.ip_address(0x0a500002 + k))' "$1" | ip -n "$a" -b -
	[ "${2:-}" = answer ] || ip netns exec "$a" sysctl -qw net.ipv4.icmp_echo_ignore_all=1
	ip -n "$b" addr add 10.80.0.40/20 dev lan3
	ip -n "$b" addr add 10.80.0.5/20 dev lan3
	LAN_A=$(ip -n "$a" -br link show lan2 | awk '{print $3}')
	LAN_B=$(ip -n "$b" -br link show lan3 | awk '{print $3}')
}

@test "-m finds by ARP the hosts that drop ICMP, and both claimants of one address, as arp-scan" {
	lan_setup 30
	# arp-scan: every address of A and B, 10.80.0.5 twice
	run -0 inns arp-scan -q -x -I lan1 10.80.0.0/24
	local want
	want=$(awk '{print $1}' <<<"$output" | sort -uV)
	[ "$(wc -l <<<"$want")" -eq 31 ]
	[ "$(grep -c '^10\.80\.0\.5[[:space:]]' <<<"$output")" -eq 2 ]
	run -1 inns sweep -m -a -s -t 200ms -r 1 10.80.0.0/24
	# the same hosts, and ours
	[ "$(awk '{print $1}' <<<"$output" | grep -vx 10.80.0.1)" = "$want" ]
	[[ "$output" == *"10.80.0.2 $LAN_A"* ]]
	[[ "$output" == *"10.80.0.40 $LAN_B"* ]]
	[[ "$output" =~ 10\.80\.0\.5\ ($LAN_A\ DUP\ $LAN_B|$LAN_B\ DUP\ $LAN_A) ]]
	run -0 inns sweep -m -j 10.80.0.5
	[[ "$(json_field duplicate_mac "${lines[0]}")" =~ ^\"($LAN_A|$LAN_B)\"$ ]]
	# ICMP alone sees only B
	run -1 inns sweep -a -s -t 200ms -r 1 10.80.0.2 10.80.0.40
	[ "$output" = 10.80.0.40 ]
}

@test "-m on a /20 of live hosts finds them all, past the neighbour table's 1024 entries" {
	# A holds 10.80.0.2-10.80.15.254 and answers ICMP: with ours, 4094 hosts
	lan_setup 4093 answer
	run -0 inns arp-scan -q -x -I lan1 -B 8M 10.80.0.0/20
	[ "$(awk '{print $1}' <<<"$output" | sort -u | wc -l)" -eq 4093 ]
	run -0 inns sweep -m -a -i 0.2ms -r 2 10.80.0.1-10.80.15.254
	[ "${#lines[@]}" -eq 4094 ]
}

@test "-m without privilege reads the kernel's neighbour table" {
	mac_setup
	need_cmd setpriv
	ping_groups "0 2147483647"
	ip -n "$A" neigh flush all
	run -0 inns "${NOBODY[@]}" "$PROCBOX" sweep -j -s -m 10.201.1.2 10.201.2.2
	[ "$(json_field mac "${lines[0]}")" = '"02:00:5e:10:01:02"' ]
	[ "$(json_field mac "${lines[1]}")" = null ]
	[ "$(json_field method "${lines[2]}")" = '"icmp-dgram"' ]
}

@test "long options work like the short ones" {
	netns_setup
	drop_half
	run -1 inns sweep --alive --unreachable --sorted --interval 0 --timeout 1s --retry 0 \
		--backoff 2 127.0.1.1 127.0.0.1
	[ "$output" = "$(printf '127.0.1.1\n127.0.0.1')" ]
	run -0 inns sweep --quiet --json --count 1 --port 9 --mac 127.0.0.1
	[ "$(json_field method "${lines[0]}")" = '"tcp"' ]
}
