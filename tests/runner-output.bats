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

# A command file with comments and a blank line, two failing jobs; each
# job records that it ran in the file "ran".
resume_cmds() {
	printf '%s\n' 'echo 1 >>ran' '# a comment' '' 'echo 4 >>ran; false' \
		'echo 5 >>ran' 'echo 6 >>ran; exit 3' 'echo 7 >>ran' >cmds
}

@test "job numbers are line numbers: parallel --resume-failed on runner's joblog runs only what failed" {
	need_cmd parallel
	resume_cmds
	run -2 runner --joblog log -f cmds
	[ "$(cut -f 1,7 log | tail -n +2 | tr '\t\n' ': ')" = "1:0 4:1 5:0 6:3 7:0 " ]
	rm ran
	# parallel runs the comment and the blank line as commands (doing
	# nothing); of the real jobs only 4 and 6 again
	run -2 parallel --resume-failed --joblog log -a cmds
	[ "$(sort ran | tr '\n' ' ')" = "4 6 " ]
}

@test "--resume-failed runs again only what failed, as parallel --resume-failed on the same joblog" {
	need_cmd parallel
	resume_cmds
	run -2 runner --joblog log -f cmds
	cp log plog
	rm ran
	run -2 --separate-stderr runner --resume-failed --joblog log -f cmds
	[ "$(sort ran | tr '\n' ' ')" = "4 6 " ]
	[[ "$stderr" == *"2 jobs: 0 ok, 2 failed, 3 done before (--resume)"* ]]
	# appended after what was there, the header once
	[ "$(grep -c '^Seq' log)" = 1 ]
	[ "$(cut -f 1,7 log | tail -n +2 | tr '\t\n' ': ')" = "1:0 4:1 5:0 6:3 7:0 4:1 6:3 " ]
	rm ran
	run -2 parallel --resume-failed --joblog plog -a cmds
	[ "$(grep -v '^$' ran | sort | tr '\n' ' ')" = "4 6 " ]
}

@test "runner resumes from parallel's joblog: --resume skips all it has, --resume-failed reruns its failures" {
	need_cmd parallel
	printf '%s\n' 'echo 1 >>ran' 'echo 2 >>ran; false' 'echo 3 >>ran' >cmds
	run -1 parallel --joblog plog -a cmds
	printf '%s\n' 'echo 4 >>ran' >>cmds
	rm ran
	run -0 runner --resume --joblog plog -f cmds
	[ "$(cat ran)" = 4 ]
	rm ran
	run -1 runner --resume-failed --joblog plog -f cmds
	[ "$(cat ran)" = 2 ]
	[ "$(tail -n 1 plog | cut -f 1,7)" = "$(printf '2\t1')" ]
	# and parallel reads back what runner added
	rm ran
	run -0 parallel --resume --joblog plog -a cmds
	[ ! -e ran ]
}

@test "--resume with a joblog that does not exist yet runs everything and starts the log" {
	run -0 runner --resume --joblog log 'echo a' 'echo b'
	[ "$(head -n 1 log | cut -f 1)" = Seq ]
	[ "$(wc -l <log)" = 3 ]
	run -0 --separate-stderr runner --resume --joblog log 'echo a' 'echo b'
	[ -z "$output" ]
	[ "$(wc -l <log)" = 3 ]
}

@test "--resume needs --joblog; a joblog that is not one stops before anything runs" {
	run -255 runner --resume true
	[[ "$output" == *"--resume and --resume-failed need --joblog"* ]]
	run -255 runner --resume-failed true
	printf 'Seq\tHost\n1\t:\tgarbage\n' >log
	run -255 runner --resume --joblog log 'touch ran'
	[ "$output" = "runner: log:2: not a joblog line" ]
	[ ! -e ran ]
	[ "$(wc -l <log)" = 2 ]
}
