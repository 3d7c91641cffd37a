#!/usr/bin/env bats
# libbox unit tests (tests/unit/libbox_test.c), one group per topic.

load helpers

# unit GROUP: run one group; its failed checks are shown on failure.
unit() {
	run "$PROCBOX_UNIT" "$1"
	echo "$output"
	[ "$status" -eq 0 ]
}

setup() {
	: "${PROCBOX_UNIT:=$PROCBOX_TOP/build/unit/libbox_test}"
	[ -x "$PROCBOX_UNIT" ] || needs "unit test binary $PROCBOX_UNIT not built (make check builds it)"
}

@test "numbers are parsed strictly, with ranges" {
	unit numbers
}

@test "durations accept 1.5, 200ms, 2s, 5m, 1h, 1d and reject the rest" {
	unit durations
}

@test "signal names and numbers round-trip from signal.h" {
	unit signals
}

@test "the word splitter handles quotes and backslashes and reports unterminated quotes" {
	unit split
}

@test "JSON strings are escaped and invalid UTF-8 replaced" {
	unit json
}

@test "the growable buffer stays NUL-terminated" {
	unit buf
}

@test "spawn reports exec failures exactly and starts children clean" {
	unit spawn
}

@test "spawn reports a failed setup step with its errno" {
	unit spawn-setup
}

@test "signals arrive through the signal fd and poll honours deadlines" {
	unit sigfd
}

@test "one wording for a wait status, a spawn failure and a duration" {
	unit fmt
}

@test "the JSON writer keeps commas and nesting, and encodes a wait status one way" {
	unit json-writer
}

@test "path helpers split and join names, and modes parse as octal" {
	unit path
}

@test "growable arrays keep every element" {
	unit grow
}

@test "the event loop waits for the nearest deadline and dispatches fds and signals" {
	unit loop
}

@test "table lines split into fields, and hexadecimal parses strictly" {
	unit fields
}

@test "glob patterns match with bounded time, and name the files they match, sorted" {
	unit glob
}

@test "box_strtod gives libc strtod's value, end and ERANGE (without its 6 KB)" {
	unit strtod
}
