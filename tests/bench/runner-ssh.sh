#!/bin/sh
# 100 hosts x 1 command over loopback ssh: `runner -jP -h HOSTS` beside
# parallel-ssh (pssh -p P) and pdsh (-R ssh -f P), interleaved, best of
# ROUNDS. The hosts are 100 aliases (h001..h100) of 127.0.0.1 in an ssh
# config, served by one sshd started here with keys made here, with HOME
# an empty directory so that root's own startup files (a .bashrc that
# sets up pyenv or conda costs more than the ssh connection) do not
# drown the tools' costs; DOTFILES=1 keeps them. Prints each time and
# runner's ratio to the faster peer (target <= 1.0).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
PB=${PROCBOX:-$top/procbox}
HOSTS=${HOSTS:-100}
P=${P:-32}
ROUNDS=${ROUNDS:-3}
DOTFILES=${DOTFILES:-0}
for c in ssh ssh-keygen parallel-ssh pdsh; do
	command -v "$c" >/dev/null || { echo "runner-ssh bench: needs $c (openssh-client, pssh, pdsh)" >&2; exit 1; }
done
sshd=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$sshd" ] || { echo "runner-ssh bench: needs sshd (openssh-server)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "runner-ssh bench: needs root (sshd)" >&2; exit 1; }

tmp=$(mktemp -d)
cleanup() {
	[ -s "$tmp/sshd.pid" ] && kill "$(cat "$tmp/sshd.pid")" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/userkey"
cp "$tmp/userkey.pub" "$tmp/authorized_keys"
mkdir "$tmp/home"

# sshd on a free port of 127.0.0.1; many connections at once are let in
i=0
while :; do
	i=$((i + 1))
	[ $i -le 8 ] || { cat "$tmp/sshd.log" >&2; echo "runner-ssh bench: could not start sshd" >&2; exit 1; }
	port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
	cat > "$tmp/sshd_config" <<-EOF
		Port $port
		ListenAddress 127.0.0.1
		HostKey $tmp/hostkey
		AuthorizedKeysFile $tmp/authorized_keys
		PidFile $tmp/sshd.pid
		StrictModes no
		UsePAM no
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		MaxStartups 1000
	EOF
	[ "$DOTFILES" = 1 ] || echo "SetEnv HOME=$tmp/home" >> "$tmp/sshd_config"
	"$sshd" -f "$tmp/sshd_config" -E "$tmp/sshd.log" || continue
	n=0
	while [ ! -s "$tmp/sshd.pid" ] && [ $n -lt 250 ]; do sleep 0.02; n=$((n + 1)); done
	cat > "$tmp/ssh_config" <<-EOF
		Host h*
		  HostName 127.0.0.1
		  Port $port
		  User root
		  IdentityFile $tmp/userkey
		  IdentitiesOnly yes
		  StrictHostKeyChecking no
		  UserKnownHostsFile /dev/null
		  LogLevel ERROR
		  BatchMode yes
	EOF
	ssh -F "$tmp/ssh_config" h001 true </dev/null 2>/dev/null && break
	[ -s "$tmp/sshd.pid" ] && kill "$(cat "$tmp/sshd.pid")"
	rm -f "$tmp/sshd.pid"
done
seq -f 'h%03g' 1 "$HOSTS" > "$tmp/hosts"

now() { date +%s%N; }
# time_ms NAME CMD...: wall time of one run in ms; its output must have
# one line per host
time_ms() {
	name=$1
	shift
	t0=$(now)
	"$@" > "$tmp/out" 2> "$tmp/err" || true
	t=$((($(now) - t0) / 1000000))
	lines=$(grep -c 'bench-ok' "$tmp/out" || true)
	if [ "$lines" -ne "$HOSTS" ]; then
		echo "runner-ssh bench: $name: $lines of $HOSTS hosts answered" >&2
		tail -5 "$tmp/err" >&2
		exit 1
	fi
	echo "$t"
}
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }

CMD='echo bench-ok'
run_runner() { "$PB" runner -j"$P" -h "$tmp/hosts" --ssh "ssh -F $tmp/ssh_config" "$CMD"; }
run_pssh() { parallel-ssh -i -p "$P" -h "$tmp/hosts" -x "-F $tmp/ssh_config" "$CMD"; }
run_pdsh() {
	PDSH_SSH_ARGS="-F $tmp/ssh_config %h" pdsh -R ssh -f "$P" -w "^$tmp/hosts" "$CMD"
}

best_r=999999 best_s=999999 best_d=999999
i=0
while [ $i -lt "$ROUNDS" ]; do
	best_r=$(min "$best_r" "$(time_ms runner run_runner)")
	best_s=$(min "$best_s" "$(time_ms pssh run_pssh)")
	best_d=$(min "$best_d" "$(time_ms pdsh run_pdsh)")
	i=$((i + 1))
done

home="an empty HOME"
[ "$DOTFILES" = 1 ] && home="root's own startup files"
echo "runner: $HOSTS hosts x 1 command over loopback ssh, $P at a time, best of $ROUNDS, $home"
echo "  procbox runner -j$P -h HOSTS CMD          $best_r ms"
echo "  parallel-ssh -i -p $P -h HOSTS CMD        $best_s ms"
echo "  pdsh -R ssh -f $P -w ^HOSTS CMD           $best_d ms"
awk -v a="$best_r" -v s="$best_s" -v d="$best_d" 'BEGIN {
	f = s < d ? s : d
	printf "runner: ratio runner/pssh = %.2f, runner/pdsh = %.2f, runner/faster = %.2f (target <= 1.0)\n", a / s, a / d, a / f
}'
