#!/usr/bin/env bats
# The multi-call dispatcher, the build and the layout rules.

bats_require_minimum_version 1.5.0
load helpers

listed_applets() {
	sed -n 's/^APPLET(\(.*\))$/\1/p' "$PROCBOX_TOP/applets/applets.h"
}

# the compat names (DESIGN.md "Compat names")
listed_compat() {
	sed -n 's/^COMPAT(\([^,]*\),.*$/\1/p' "$PROCBOX_TOP/applets/applets.h"
}

@test "--list prints the applets sorted, one per line" {
	run -0 "$PROCBOX" --list
	[ "$output" = "$(listed_applets)" ]
	[ "$output" = "$(listed_applets | LC_ALL=C sort)" ]
	[[ "$output" == *exitcode* ]]
}

@test "--list --compat adds the compat names, all sorted; --list alone has none" {
	[ -n "$(listed_compat)" ]
	run -0 "$PROCBOX" --list --compat
	[ "$output" = "$( (listed_applets; listed_compat) | LC_ALL=C sort)" ]
	[[ "$output" == *$'\nsupervisord\n'* ]]
	run -0 "$PROCBOX" --list
	[ "$output" = "$(listed_applets)" ]
}

@test "a compat name is dispatched on argv[0] and has its own --help" {
	for c in $(listed_compat); do
		run -0 bash -c 'exec -a "/x/$1" "$PROCBOX" --help' _ "$c"
		[[ "${lines[0]}" == "usage: $c"* ]]
		[ "$output" = "$("$PROCBOX" --help "$c")" ]
		[ "$output" = "$("$PROCBOX" "$c" --help)" ]
	done
}

@test "--version prints the name and version" {
	run -0 "$PROCBOX" --version
	[[ "$output" =~ ^procbox\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "--help prints the usage and the applet list" {
	run -0 "$PROCBOX" --help
	[ "${lines[0]}" = "usage: procbox APPLET [ARG...]" ]
	[[ "$output" == *$'applets:\n'"$(listed_applets)" ]]
}

@test "--help APPLET prints that applet's help" {
	run -0 "$PROCBOX" --help exitcode
	[ "$output" = "$("$PROCBOX" exitcode --help)" ]
}

@test "--help with an unknown applet exits 127" {
	run -127 "$PROCBOX" --help nosuch
	[ "$output" = "procbox: applet not found: nosuch" ]
}

@test "an unknown applet exits 127 with one line" {
	run -127 --separate-stderr "$PROCBOX" nosuch arg
	[ "$stderr" = "procbox: applet not found: nosuch" ]
	[ "$output" = "" ]
}

@test "an unknown applet name in argv[0] exits 127" {
	ln -s "$PROCBOX" "$BATS_TEST_TMPDIR/frobnicate"
	run -127 "$BATS_TEST_TMPDIR/frobnicate"
	[ "$output" = "procbox: applet not found: frobnicate" ]
}

@test "the applet is chosen by basename(argv[0]) with a leading dash stripped" {
	run -0 bash -c 'exec -a /some/dir/-exitcode "$PROCBOX" 0'
	[ "$output" = "0: success" ]
	run -0 bash -c 'exec -a exitcode "$PROCBOX" 0'
	[ "$output" = "0: success" ]
}

@test "no arguments prints the usage on stderr and exits 1" {
	run -1 --separate-stderr "$PROCBOX"
	[ "$output" = "" ]
	[[ "$stderr" == "usage: procbox APPLET"* ]]
}

@test "an unknown procbox option is an error" {
	run -1 "$PROCBOX" --frob
	[ "${lines[0]}" = "procbox: unknown option '--frob'" ]
}

@test "--install makes a hard link per applet" {
	dir=$(scratch)
	run -0 "$PROCBOX" --install "$dir"
	for a in $(listed_applets); do
		[ -f "$dir/$a" ] && [ ! -L "$dir/$a" ]
		[ "$(stat -c %i "$dir/$a")" = "$(stat -Lc %i /proc/$$/root"$(readlink -f "$PROCBOX")")" ] ||
			[ "$(stat -c %h "$dir/$a")" -gt 1 ]
	done
	run -0 "$dir/exitcode" 0
	[ "$output" = "0: success" ]
}

@test "--install -s makes symlinks to the binary" {
	dir=$(scratch)
	run -0 "$PROCBOX" --install -s "$dir"
	for a in $(listed_applets); do
		[ -L "$dir/$a" ]
		[ "$(readlink "$dir/$a")" = "$(readlink -f "$PROCBOX")" ]
	done
	run -0 "$dir/exitcode" 1
	[[ "$output" == "1: general failure"* ]]
}

@test "--install links no compat name; --install --compat links them too" {
	dir=$(scratch)
	run -0 "$PROCBOX" --install -s "$dir"
	[ "$(ls "$dir")" = "$(listed_applets | LC_ALL=C sort)" ]
	run -0 "$PROCBOX" --install --compat "$dir"
	[ "$(ls "$dir")" = "$( (listed_applets; listed_compat) | LC_ALL=C sort)" ]
	[ ! -L "$dir/supervisord" ]
	dir=$(scratch)
	run -0 "$PROCBOX" --install -s --compat "$dir"
	for c in $(listed_compat); do [ "$(readlink "$dir/$c")" = "$(readlink -f "$PROCBOX")" ]; done
	run -0 "$dir/supervisord" --help
	[[ "${lines[0]}" == "usage: supervisord"* ]]
}

@test "--install replaces links that are already there" {
	dir=$(scratch)
	"$PROCBOX" --install -s "$dir"
	run -0 "$PROCBOX" --install "$dir"
	[ ! -L "$dir/exitcode" ]
}

@test "--install into a missing directory fails with a reason" {
	run -1 "$PROCBOX" --install /nonexistent/dir
	first=$(listed_applets | head -1)
	[ "${lines[0]}" = "procbox: unable to link /nonexistent/dir/$first: No such file or directory" ]
	[ "${#lines[@]}" -eq "$(listed_applets | wc -l)" ]
}

@test "--install without a directory is a usage error" {
	run -1 "$PROCBOX" --install
	[ "${lines[0]}" = "procbox: --install needs one directory" ]
}

@test "every applet prints its usage for --help and exits 0" {
	for a in $(listed_applets); do
		run -0 --separate-stderr "$PROCBOX" "$a" --help
		[[ "${lines[0]}" == "usage: $a"* ]]
		[ "$stderr" = "" ]
		run -0 "$PROCBOX_BIN/$a" --help
		[[ "${lines[0]}" == "usage: $a"* ]]
	done
}

@test "the applet list, applets/, docs/ and tests/ agree" {
	cd "$PROCBOX_TOP"
	want=$(listed_applets)
	sources=$(ls applets | sed -n 's/\.c$//p; /\./!p' | grep -vx procbox | LC_ALL=C sort -u)
	# and docs/NAME.1 for every compat name
	pages=$(ls docs | sed -n 's/\.1$//p' | LC_ALL=C sort)
	[ "$pages" = "$("$PROCBOX" --list --compat)" ] || { echo "docs/: $pages"; false; }
	pages=$(printf '%s\n' $pages | grep -vxF "$(listed_compat)")
	# every applet has tests/APPLET.bats; a large one may add APPLET-TOPIC.bats
	# (procbox, libbox, exec and recipes test across applets)
	suites=$(ls tests | sed -n 's/\.bats$//p' | grep -vx -e procbox -e libbox -e exec -e recipes |
		sed 's/-.*//' | LC_ALL=C sort -u)
	[ "$sources" = "$want" ] || { echo "applets/: $sources"; false; }
	[ "$pages" = "$want" ] || { echo "docs/: $pages"; false; }
	[ "$suites" = "$want" ] || { echo "tests/: $suites"; false; }
	for a in $want; do [ -f "tests/$a.bats" ] || { echo "no tests/$a.bats"; false; }; done
}

@test "every man page renders and names its applet" {
	need_cmd man
	for a in $(listed_applets) $(listed_compat); do
		run -0 env MANWIDTH=80 man -l "$PROCBOX_TOP/docs/$a.1"
		[[ "$output" == *"NAME"*"$a"* ]]
		[[ "$output" == *"EXIT STATUS"* ]]
	done
}

@test "every applet has a row in docs/exit-codes.md and a README example" {
	for a in $(listed_applets); do
		grep -q "^| $a" "$PROCBOX_TOP/docs/exit-codes.md"
		grep -q "$a " "$PROCBOX_TOP/README.md"
	done
}

@test "the release binary is static" {
	[ -x "$PROCBOX_TOP/procbox" ] || needs "no ./procbox built"
	run readelf -l "$PROCBOX_TOP/procbox"
	[[ "$output" != *INTERP* ]]
	[[ "$output" != *"DYNAMIC"* ]] || [[ "$output" == *"Elf file type is DYN"* ]]
}

@test "make install puts the binary, a link per applet and the man pages under PREFIX" {
	need_cmd make
	dest=$(scratch)
	run -0 make -s -C "$PROCBOX_TOP" install DESTDIR="$dest" PREFIX=/opt/pb
	[ -x "$dest/opt/pb/bin/procbox" ]
	for a in $(listed_applets); do
		[ "$(stat -c %i "$dest/opt/pb/bin/$a")" = "$(stat -c %i "$dest/opt/pb/bin/procbox")" ]
		[ -f "$dest/opt/pb/share/man/man1/$a.1" ]
	done
	run -0 "$dest/opt/pb/bin/exitcode" 0
	for c in $(listed_compat); do
		[ ! -e "$dest/opt/pb/bin/$c" ]
		[ -f "$dest/opt/pb/share/man/man1/$c.1" ]
	done
}

@test "make install COMPAT=1 links the compat names too" {
	need_cmd make
	dest=$(scratch)
	run -0 make -s -C "$PROCBOX_TOP" install DESTDIR="$dest" PREFIX=/opt/pb COMPAT=1
	for c in $(listed_compat); do
		[ "$(stat -c %i "$dest/opt/pb/bin/$c")" = "$(stat -c %i "$dest/opt/pb/bin/procbox")" ]
	done
}
