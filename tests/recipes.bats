#!/usr/bin/env bats
# docs/recipes.md: every block of every section run as written, its
# output compared with the one shown (tests/recipes.py).

bats_require_minimum_version 1.5.0
load helpers

RECIPES=$BATS_TEST_DIRNAME/../docs/recipes.md

# a daemon a failed block left behind does not outlive its test
teardown() {
	[ -n "${RECIPE_DIR:-}" ] || return 0
	local p
	for p in /proc/[0-9]*; do
		tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "PROCBOX_RECIPE=$RECIPE_DIR" &&
			kill -KILL "${p#/proc/}" 2>/dev/null
	done
	return 0
}

# recipe "SECTION TITLE": runs that section's blocks in a scratch directory,
# every process they start marked by PROCBOX_RECIPE in its environment
recipe() {
	[ -x /usr/bin/python3 ] || needs "needs /usr/bin/python3"
	RECIPE_DIR=$(scratch)
	PROCBOX_RECIPE=$RECIPE_DIR run /usr/bin/python3 "$BATS_TEST_DIRNAME/recipes.py" \
		"$RECIPES" "$1" "$RECIPE_DIR"
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

@test "recipe: capture output, a series with a pause and progress" {
	recipe "Capture output, and a series of commands with a pause and progress"
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
