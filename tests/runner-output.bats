#!/usr/bin/env bats
# runner's output at any scale and its joblog, side by side with GNU
# parallel: outputs waiting for -k hold no descriptor, the joblog is one
# line per job that parallel --resume reads, and it is never written
# through a symlink.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	S=$(scratch)
	cd "$S" || return 1
}

# Sixty jobs of 1.1 MB each wait behind a slow first one with -k, under an
# open file limit of 64: nothing may be killed or left unstarted.
@test "-k with sixty large outputs under ulimit -n 64 finishes all, as parallel" {
	need_cmd parallel
	{
		echo 'sleep 1; echo first'
		for i in $(seq 2 60); do
			echo "head -c 1100000 /dev/zero | tr '\\0' x; echo $i"
		done
	} >cmds
	run -0 bash -c 'ulimit -n 64; runner -k -j 8 -f cmds >out'
	run -0 bash -c 'ulimit -n 64; parallel -k -j 8 <cmds >pout 2>/dev/null'
	[ "$(grep -c . out)" = 60 ]
	cmp out pout
	[ "$(head -n 1 out)" = first ]
}

@test "outputs that went to the spill file come back whole and in order, also as JSON" {
	runner -j 3 -k "head -c 3000000 /dev/zero | tr '\\0' a" \
		"head -c 2500000 /dev/zero | tr '\\0' b" 'echo c' >out 2>/dev/null
	[ "$(wc -c <out)" = 5500002 ]
	[ "$(head -c 1 out)" = a ] && [ "$(tail -c +3000000 out | head -c 2)" = ab ]
	[ "$(tail -c 3 out)" = bc ]
	run -0 runner --json "head -c 2000000 /dev/zero | tr '\\0' z"
	[[ "$output" == '{"seq":1,'*'"stdout":"zzz'* ]]
	[[ "$output" == *'zzz","stderr":""}' ]]
	# the command itself holds two: "zero" and "z"
	[ "$(tr -cd z <<<"$output" | wc -c)" = 2000002 ]
}

# A command with a newline: parallel writes it as a NUL byte in its joblog
# and reads it back so; a raw newline breaks --resume.
@test "--joblog writes a newline in a command as parallel does, and parallel --resume reads it" {
	need_cmd parallel
	printf 'echo "a\nb"\0printf "x\\ty\\n"\0' >cmds0
	run -0 parallel -0 --joblog plog -a cmds0
	run -0 runner --joblog rlog 'echo "a
b"' 'printf "x\ty\n"'
	# the Command column byte for byte
	[ "$(cut -f 9 plog | od -c)" = "$(cut -f 9 rlog | od -c)" ]
	[ "$(wc -l <rlog)" = 3 ]
	# parallel resumes from runner's log: nothing left to run
	run -0 parallel -0 --joblog rlog --resume -a cmds0
	[ -z "$output" ]
	[ "$(wc -l <rlog)" = 3 ]
}

@test "--joblog is never written through a symlink" {
	echo precious >target
	ln -s target log
	run -255 runner --joblog log true
	[[ "$output" == "runner: "*log* ]]
	[ "$(cat target)" = precious ]
	[ -L log ]
}
