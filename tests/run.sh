#!/usr/bin/env bash
# Runs the bats suite with TAP output and ends with one line:
# "N passed, N failed, N skipped". Counts also go to $PROCBOX_COUNTS.
# Arguments (bats files) default to every tests/*.bats.
set -u
cd "$(dirname "$0")/.." || exit 2
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/*.bats)
if ! command -v bats >/dev/null; then
	echo "make check needs bats-core: apt-get install bats" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
log=$(mktemp)
bats --tap "${files[@]}" | tee "$log"
passed=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
skipped=$(grep -cE '^ok [0-9]+ .*# skip' "$log" | tr -d ' ')
failed=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -1)
rm -f "$log"
passed=$((passed - skipped))
ran=$((passed + skipped + failed))
# a bats run that died part-way counts what did not run as failed
if [ -n "$planned" ] && [ "$ran" -lt "$planned" ]; then
	failed=$((failed + planned - ran))
fi
[ -n "${PROCBOX_COUNTS:-}" ] && echo "$passed $failed $skipped" > "$PROCBOX_COUNTS"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
