#!/usr/bin/env bats
# dirsync --exclude side by side with rsync: for each pattern, which of
# SRC's entries are copied and which of DST's own entries are kept from
# deletion, on trees made for one rule each and on a generated set of
# patterns; then the matcher's unit tests.

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

# Each pattern is a run of dirsync and of rsync on a fresh copy of DST:
# on tmpfs when there is one (a few ms a run, where a loaded disk takes a
# hundred), else in the test's scratch directory.
setup() {
	need_cmd rsync
	if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
		W=$(mktemp -d /dev/shm/dirsync-exclude.XXXXXX)
		SHM=$W
	else
		W=$(scratch)
	fi
	export XDG_STATE_HOME="$W/state"
	DIRSYNC_PID=() RSYNC_PID=()
	# rsync's [[:alpha:]] is its locale's; dirsync's is the C locale's
	export LC_ALL=C
	S=$W/src
	DST0=$W/dst0
	mkdir "$S" "$DST0"
}

teardown() {
	if [ -n "${SHM:-}" ]; then
		rm -rf "$SHM"
	fi
}

# Every entry below DIR, its type and path, sorted (dirsync's own state
# file left out).
listing() {
	[ -d "$1" ] || return 0
	(cd "$1" && find . -mindepth 1 -printf '%y %P\n') | sort
}

# DST before each run, $DST0: entries SRC does not have (dir/ for a
# directory), in directories named as SRC's.
dst_has() {
	local e
	for e in "$@"; do
		case $e in
		*/) mkdir -p "$DST0/$e" ;;
		*) mkdir -p "$DST0/$(dirname "$e")" && echo extra >"$DST0/$e" ;;
		esac
	done
}

# For one pattern in slot K: dirsync --exclude PAT from $S into a copy of
# $DST0, and rsync -a --delete --exclude PAT into another, in the
# background (a run of dirsync that deletes waits 100 ms first: the slots
# wait together).
start_pair() {
	local k=$1 pat=$2
	rm -rf "$W/dirsync.$k" "$W/rsync.$k"
	cp -a "$DST0" "$W/dirsync.$k"
	cp -a "$DST0" "$W/rsync.$k"
	XDG_STATE_HOME="$W/state.$k" dirsync --exclude="$pat" "$S" "$W/dirsync.$k" \
		2>"$W/dirsync-err.$k" 3>&- &
	DIRSYNC_PID[k]=$!
	rsync -a --delete --exclude="$pat" "$S/" "$W/rsync.$k/" >"$W/rsync-err.$k" 2>&1 3>&- &
	RSYNC_PID[k]=$!
}

# Slot K's runs leave the same entries: SRC's entries copied and DST's own
# entries kept from deletion (their paths differ). Prints the difference.
# When every entry of SRC is excluded, dirsync refuses (exit 16, SRC counts
# as empty): then DST must be untouched. Counts in EXCLUDING the patterns
# for which rsync leaves other than $PLAIN.
same_pair() {
	local k=$1 pat=$2 a=$W/dirsync.$1 b=$W/rsync.$1 st=0 rst=0
	wait "${DIRSYNC_PID[k]}" || st=$?
	wait "${RSYNC_PID[k]}" || rst=$?
	if [ "$rst" != 0 ]; then
		echo "--exclude '$pat': rsync exited $rst: $(cat "$W/rsync-err.$k")"
		return 1
	fi
	if [ -n "${PLAIN+set}" ] && [ "$(listing "$b")" != "$PLAIN" ]; then
		EXCLUDING=$((EXCLUDING + 1))
	fi
	if [ "$st" = 16 ] && [ -n "$(listing "$DST0")" ]; then
		b=$DST0
	elif [ "$st" != 0 ]; then
		echo "--exclude '$pat': dirsync exited $st: $(cat "$W/dirsync-err.$k")"
		return 1
	fi
	if ! diff -a <(listing "$a") <(listing "$b") >"$W/diff"; then
		echo "--exclude '$pat' leaves otherwise than rsync --delete (< dirsync, > rsync):"
		cat "$W/diff"
		return 1
	fi
}

# Each pattern given, eight at a time; all are tried, then it fails if any
# did.
alike() {
	local i k n=$# fails=0
	local -a pats=("$@")
	for ((i = 0; i < n; i += 8)); do
		for ((k = 0; k < 8 && i + k < n; k++)); do
			start_pair "$k" "${pats[i + k]}"
		done
		for ((k = 0; k < 8 && i + k < n; k++)); do
			same_pair "$k" "${pats[i + k]}" || fails=$((fails + 1))
		done
	done
	[ "$fails" = 0 ]
}

@test "**/ matches no directory too: a top-level node_modules is not copied and is kept, as rsync" {
	mkdir -p "$S/node_modules/x" "$S/app/node_modules/y" "$S/app/src"
	touch "$S/node_modules/x/f" "$S/app/node_modules/y/g" "$S/app/src/main.js" "$S/node_modules.txt"
	dst_has node_modules/mine old/node_modules/z app/node_modules/w stray
	alike '**/node_modules/' '**/node_modules' '**/node_modules/**' '/**/node_modules/'
	cp -a "$DST0" "$W/keep"
	run -0 dirsync --exclude '**/node_modules/' "$S" "$W/keep"
	[ -f "$W/keep/node_modules/mine" ] && [ -f "$W/keep/old/node_modules/z" ] && [ ! -e "$W/keep/stray" ]
	[ -f "$W/keep/app/src/main.js" ] && [ ! -e "$W/keep/node_modules/x" ] && [ ! -e "$W/keep/app/node_modules/y" ]
}

@test "[[:digit:]] and the other POSIX classes match as rsync's, in the C locale" {
	local n
	for n in 7 a Q _ ' ' $'\t' '~' F g $'\001' $'\177' $'\xe9' '[' ']' ':'; do
		touch "$S/x$n"
	done
	dst_has y7 ya yQ y_ 'y ' $'y\t' 'y~' yF yg $'y\001' $'y\177' $'y\xe9'
	alike '?[[:digit:]]' '?[[:alpha:]]' '?[[:alnum:]]' '?[[:upper:]]' '?[[:lower:]]' \
		'?[[:space:]]' '?[[:blank:]]' '?[[:punct:]]' '?[[:xdigit:]]' '?[[:print:]]' \
		'?[[:graph:]]' '?[[:cntrl:]]' '?[![:alnum:]]' '?[^[:print:]]' 'x[[:digit:][:upper:]_]' \
		'[[:alpha:]][![:alpha:]]' 'x[:digit:]' 'x[[:]' '?[[:nope:]]' 'x[[:digit:]'
}

@test "dir/*** excludes dir itself and everything below it, as rsync" {
	mkdir -p "$S/dir/sub" "$S/other/dir" "$S/dir2" "$S/x"
	touch "$S/dir/a" "$S/dir/sub/b" "$S/other/dir/c" "$S/dir2/d" "$S/x/dir" "$S/dirf"
	dst_has other/dir/extra dir2/extra y/dir dir3/
	alike 'dir/***' '/dir/***' 'dir/***/' 'other/dir/***' '**/dir/***' 'sub/***' 'dir*/***' 'x/***'
}

@test "a leading slash anchors at SRC's top and one trailing slash means directories, as rsync" {
	mkdir -p "$S/build/o" "$S/src/build" "$S/doc"
	touch "$S/build/o/f" "$S/src/build/g" "$S/doc/build" "$S/top"
	dst_has build/extra src/build/extra doc/build2 lib/build/ top2
	alike /build build /build/ build/ 'build//' '//build' '/src/build' 'src/build/' \
		'/doc/build/' '/*' '/*/' '/*/build'
}

@test "an inner slash matches the last components only; ** crosses directories and * does not, as rsync" {
	mkdir -p "$S/a/x/b" "$S/a/b" "$S/src/sub" "$S/q/src" "$S/xa"
	touch "$S/a/x/b/c" "$S/a/b/c" "$S/src/f.c" "$S/src/sub/g.c" "$S/q/src/h.c" "$S/xa/b"
	dst_has a/x/b/extra.c src/sub/extra.c q/src/sub/extra.c xa/bb
	alike 'a/b' 'a/*' 'a/*/b' '*/b' 'x/b/c' 'src/*.c' 'src/**.c' 'src/**' '/src/**' \
		'a**b' 'a**c' '**.c' '**/*.c' '/**/c' 'a/**/c' '*.c' '?/b' 'a?b' 'a/?/b'
}

@test "a backslash quotes in a pattern with wildcards and is literal in one without, as rsync" {
	local n
	for n in 'a\b' ab 'a*b' 'a?b' '[ab' 'a[b]' 'x\' '\' 'sp ace' '*'; do
		touch "$S/$n"
	done
	dst_has 'a\bb' 'axb' '[abc'
	alike 'a\b' 'a\\b' '?\b' 'a\*b' 'a\?b' '\[ab' '[ab' 'a\[b\]' 'a[b]' 'x\' '*\' '\\' \
		'\*' 'sp\ ace' 'sp ace' '\[a*' '*\[*'
}

@test "rsync's '- ' prefix is an exclude; its '+ ' and '!' rules are refused" {
	touch "$S/f.o" "$S/- g.o" "$S/keep"
	dst_has h.o
	alike '- *.o' '- /keep'
	run -1 dirsync --exclude '+ keep' "$S" "$W/d"
	[ "${lines[0]}" = "dirsync: invalid exclude pattern '+ keep'" ]
	run -1 dirsync --exclude '!' "$S" "$W/d"
	[ "${lines[0]}" = "dirsync: invalid exclude pattern '!'" ]
	[ ! -e "$W/d" ]
}

# A tree of names with wildcard bytes, spaces, classes' edge bytes and
# invalid UTF-8 (fixed seed): in $S, and whole subtrees of it in $DST0
# alone; and a few hundred patterns in $W/patterns, NUL-separated:
# hand-picked edge cases, then ones made from the tree's own paths with
# every rule (anchored or not, dir-only, **, ***, classes, escapes).
generate() {
	"$PY" - "$S" "$DST0" >"$W/patterns" <<'EOF'
import os, random, sys

src, dst = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
rnd = random.Random(17)
NAMES = [b"a", b"b", b"ab", b"abc", b"a1", b"B2", b"x9", b"7", b"42", b"Z",
         b"node_modules", b"build", b"cache", b"tmp", b"dir", b"src", b".git",
         b".hidden", b"f.tmp", b"f.o", b"main.c", b"notes.txt", b"a.tmp.bak",
         b"[x]", b"[ab", b"a*b", b"a?b", b"sp ace", b"tab\tx", b"a\\b", b"-dash",
         b"under_score", b"~tilde", b"caf\xc3\xa9", b"\xff", b"x]", b"!bang",
         b"ctl\x01", b"{br}", b"a-c", b"**"]
entries = []

def fill(rel, depth):
    for name in rnd.sample(NAMES, rnd.randint(3, 5) if depth else 16):
        path = rel + b"/" + name if rel else name
        r = rnd.random()
        kind = "d" if depth < 2 and r < 0.45 else "f" if r < 0.93 else "l"
        entries.append((path, kind))
        if kind == "d":
            fill(path, depth + 1)

def make(base, path, kind):
    p = os.path.join(base, path)
    if kind == "d":
        os.mkdir(p)
    elif kind == "f":
        open(p, "wb").close()
    else:
        os.symlink(b"a", p)

fill(b"", 0)
# DST's own subtrees, a quarter of the entries at most (dirsync's
# mass-deletion guard starts beyond 100), in their parents
extra, n = [], 0
for path, kind in rnd.sample(entries, len(entries)):
    size = sum(1 for p, k in entries if p == path or p.startswith(path + b"/"))
    if size <= 6 and n + size <= len(entries) // 4 and not any(
            path.startswith(e + b"/") or e.startswith(path + b"/") for e in extra):
        extra.append(path)
        n += size
for path, kind in entries:
    below = [e for e in extra if path == e or path.startswith(e + b"/")]
    if not below:
        make(src, path, kind)
    if below or any(e.startswith(path + b"/") for e in extra):
        make(dst, path, kind)

CLASSES = [(b"digit", lambda c: 48 <= c <= 57), (b"upper", lambda c: 65 <= c <= 90),
           (b"lower", lambda c: 97 <= c <= 122), (b"alpha", lambda c: c < 128 and chr(c).isalpha()),
           (b"alnum", lambda c: c < 128 and chr(c).isalnum()), (b"space", lambda c: c == 32 or 9 <= c <= 13),
           (b"blank", lambda c: c in (9, 32)), (b"cntrl", lambda c: c < 32 or c == 127),
           (b"print", lambda c: 32 <= c <= 126), (b"graph", lambda c: 33 <= c <= 126),
           (b"punct", lambda c: 33 <= c <= 126 and not chr(c).isalnum()),
           (b"xdigit", lambda c: chr(c) in "0123456789abcdefABCDEF")]

def byte_class(c):
    r = rnd.random()
    fits = [n for n, f in CLASSES if f(c)]
    if r < 0.4 and fits:
        return b"[[:" + rnd.choice(fits) + b":]]"
    if r < 0.6:
        return b"[![:" + rnd.choice([n for n, f in CLASSES if not f(c)]) + b":]]"
    if r < 0.8 and 48 <= c <= 122:
        return b"[" + bytes([c - 1]) + b"-" + bytes([c + 1]) + b"]"
    return b"[" + (b"\\" if c in b"]\\-^!" else b"") + bytes([c]) + b"]"

def mutate(name):
    out, i = b"", 0
    while i < len(name):
        c, r = name[i], rnd.random()
        if r < 0.1:
            out += b"?"
        elif r < 0.18:
            out += b"*"
            i += rnd.randint(0, len(name) - i - 1)
        elif r < 0.28:
            out += byte_class(c)
        elif c in b"*?[\\" or r < 0.33:
            out += b"\\" + bytes([c])
        else:
            out += bytes([c])
        i += 1
    return out

def some(name):
    return mutate(name) if rnd.random() < 0.7 else name

def anchor():
    return b"/" if rnd.random() < 0.5 else b""

def pattern():
    path, kind = rnd.choice(entries)
    parts = path.split(b"/")
    form, deep = rnd.randrange(9), len(parts) > 1
    if form == 1:
        p = b"/" + b"/".join(some(c) for c in parts)
    elif form == 2 and deep:
        p = b"/".join(some(c) for c in parts[-rnd.randint(2, len(parts)):])
    elif form == 3:
        p = b"**/" + some(parts[-1])
    elif form == 4 and deep:
        p = anchor() + b"/".join(some(c) for c in parts[:rnd.randint(1, len(parts) - 1)]) + b"/**"
    elif form == 5:
        p = anchor() + b"/".join(some(c) for c in parts[:rnd.randint(1, len(parts))]) + b"/***"
    elif form == 6 and deep:
        p = anchor() + some(parts[0]) + b"/**/" + some(parts[-1])
    elif form == 7:
        p = b"**" + parts[-1][rnd.randrange(len(parts[-1])):]
    elif form == 8 and deep:
        a, b = parts[rnd.randrange(len(parts) - 1)], parts[-1]
        p = a[:rnd.randint(1, len(a))] + b"**" + b[rnd.randrange(len(b)):]
    else:
        p = some(parts[-1])
    r = rnd.random()
    return p + b"/" if r < 0.3 or (kind == "d" and r < 0.5) else p

pats = [b"*", b"**", b"***", b"/*", b"/**", b"/***", b"?", b"*/", b"**/", b"?/",
        b"[[:digit:]]", b"[[:digit:]]*", b"*[[:upper:]]*", b"[![:alnum:]]*", b"[[:punct:]]*",
        b"*[[:space:]]*", b"[[:xdigit:]][[:xdigit:]]", b"[[:lower:]]", b"*[[:cntrl:]]",
        b"[[:print:]]", b"[[:graph:]]*", b"*[[:blank:]]*", b"[[:alpha:]][[:digit:]]",
        b"[]]", b"[!]]*", b"*]", b"\\[*", b"*\\*", b"*\\?*", b"a\\b", b"a\\\\b", b"[ab",
        b"\\[ab", b"[[:foo:]]", b"[[:digit:]", b"[:digit:]", b"*\\", b"dir/***",
        b"/dir/***", b"**/dir/***", b"dir/***/", b"**/node_modules/", b"node_modules/",
        b"/node_modules/", b"build/", b"/build/", b"build//", b"//build", b"src/*",
        b"src/**", b"*/*", b"*/*/*", b"/*/*", b"**/*", b"*.tmp", b"**.tmp", b"**/*.tmp",
        b"*.tmp*", b"a**b", b"a**", b"**b", b"*/b", b"a/**/b", b"/a/**", b"-dash", b"- *.o",
        b"sp ace", b"sp?ace", b"sp[[:space:]]ace", b"tab[[:blank:]]x", b"caf\xc3\xa9",
        b"caf[[:alpha:]]*", b"\xff", b"[\xff]", b"[!a-z]", b"[a-c-e]*", b"[z-a]*",
        b"[\\a-c]*", b"**/[ab", b"[[]x]", b"\\*\\*", b"*[!.]*", b".*", b"/.*/", b"!bang",
        b"x]", b"{br}", b"a-c", b"[a-c]", b"[a\\-c]", b"ctl?", b"a*b", b"a?b", b"a\\*b",
        b"a\\?b", b"~*", b"B2/", b"7/", b"42/***", b"cache/tmp", b"tmp/cache/"]
while len(pats) < 300:
    p = pattern()
    if p not in pats and not p.startswith((b"+ ", b"- ")) and p != b"!" and p.strip(b"/"):
        pats.append(p)
sys.stdout.buffer.write(b"".join(p + b"\0" for p in pats))
EOF
}

@test "a generated pattern set: dirsync copies and keeps what rsync -a --delete does" {
	generate
	local -a pats
	mapfile -d '' pats <"$W/patterns"
	cp -a "$DST0" "$W/plain"
	rsync -a --delete "$S/" "$W/plain/" >/dev/null
	PLAIN=$(listing "$W/plain")
	EXCLUDING=0
	alike "${pats[@]}"
	echo "${#pats[@]} patterns, $EXCLUDING excluding something"
	[ "${#pats[@]}" -ge 300 ] && [ "$EXCLUDING" -ge 200 ]
}

# the matcher itself: tests/unit/exclude_test.c and glob_test.c
unit() {
	: "${PROCBOX_UNIT:=$PROCBOX_TOP/build/unit/libbox_test}"
	[ -x "$PROCBOX_UNIT" ] || needs "unit test binary $PROCBOX_UNIT not built (make check builds it)"
	run "$PROCBOX_UNIT" "$1"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "exclude rules: a table of pattern, path, directory or not and rsync's answer" {
	unit exclude
}

@test "one match costs a step per byte of the path and word of the pattern, 1,500 levels deep too" {
	unit exclude-steps
}

@test "the glob matcher: malformed patterns, joined texts, starting after a slash, long patterns" {
	unit wildmatch
}
