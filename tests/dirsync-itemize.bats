#!/usr/bin/env bats
# dirsync -i side by side with rsync -i: the same change prints the same
# lines, byte for byte, names escaped as rsync escapes them under a UTF-8
# locale; and warnings name files on one line.

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

setup() {
	W=$(scratch)
	export XDG_STATE_HOME="$W/state"
	S=$W/src
	D0=$W/old	# DST as it is before the run; none when it does not exist
	mkdir "$S"
}

teardown() {
	if [ -n "${PUBLIC:-}" ]; then
		rm -rf "$PUBLIC"
	fi
}

# Whole seconds everywhere: rsync compares mtimes to the second, dirsync to
# the nanosecond; a case differs by seconds where it means to.
settle() {
	if [ -x "$PY" ]; then
		"$PY" - "$@" <<'EOF'
import os, sys
def settle(path):
    st = os.lstat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns // 10**9 * 10**9), follow_symlinks=False)
for top in sys.argv[1:]:
    for root, dirs, files in os.walk(os.fsencode(top), topdown=False):
        for name in files + dirs:
            settle(os.path.join(root, name))
    settle(os.fsencode(top))
EOF
	else
		find "$@" -depth -exec sh -c 'for p; do touch -h -d "@$(stat -c %Y "$p")" "$p"; done' sh {} +
	fi
}

# Sorted bytes of a file, shown with cat -A.
shown() {
	LC_ALL=C sort "$1" | cat -A
}

# side_by_side [OPT...]: `rsync -a --delete -i OPT... ../src/ dst/` and
# `dirsync -i OPT... ../src dst`, each in a directory of its own holding a
# copy of $D0 as dst (no dst when $D0 does not exist), each a real run and
# a dry run (-n). dirsync prints rsync's lines; the order may differ (each
# prints in the order of its own walk), so they are compared sorted. Each
# dry run prints what its real run does (rsync -H in another order).
side_by_side() {
	local t
	settle "$S"
	[ ! -e "$D0" ] || settle "$D0"
	for t in rsync rsync-n dirsync dirsync-n; do
		mkdir "$W/$t"
		[ ! -e "$D0" ] || cp -a "$D0" "$W/$t/dst"
	done
	(cd "$W/rsync" && LC_ALL=C.UTF-8 rsync -a --delete -i "$@" ../src/ dst/) >"$W/rsync.out"
	(cd "$W/rsync-n" && LC_ALL=C.UTF-8 rsync -a --delete -n -i "$@" ../src/ dst/) >"$W/rsync-n.out"
	(cd "$W/dirsync" && dirsync -i "$@" ../src dst) >"$W/dirsync.out"
	(cd "$W/dirsync-n" && dirsync -n -i "$@" ../src dst) >"$W/dirsync-n.out"
	cmp <(LC_ALL=C sort "$W/rsync.out") <(LC_ALL=C sort "$W/rsync-n.out")
	if ! cmp -s <(LC_ALL=C sort "$W/rsync.out") <(LC_ALL=C sort "$W/dirsync.out"); then
		echo "rsync printed (sorted, <) and dirsync (>):"
		diff <(shown "$W/rsync.out") <(shown "$W/dirsync.out") || true
		return 1
	fi
	cmp "$W/dirsync.out" "$W/dirsync-n.out"
}

# rsync_printed: what the last side_by_side's rsync printed, sorted, is stdin sorted.
rsync_printed() {
	local want
	want=$(LC_ALL=C sort)
	[ "$(LC_ALL=C sort "$W/rsync.out")" = "$want" ] || {
		echo "rsync printed:"
		cat -A "$W/rsync.out"
		return 1
	}
}

# A DST that exists before the run.
old_dst() {
	mkdir -p "$D0"
}

# DST's top directory at SRC's time: no ./ line.
same_top() {
	settle "$S" "$D0"
	touch -d "@$(stat -c %Y "$S")" "$D0"
}

# An old top directory time on DST: rsync and dirsync both print ".d..t...... ./".
old_top() {
	touch -d '2001-01-01 00:00:00' "$D0"
	touch -d '2002-02-02 00:00:00' "$S"
}

# ---- names: rsync's \#ooo escaping

@test "a name with a newline and a name holding the text \\#012 print apart, as rsync prints them" {
	need_cmd rsync
	touch "$S/x"$'\n'"y" "$S/x\\#012y"
	old_dst
	old_top
	side_by_side
	rsync_printed <<'EOF'
.d..t...... ./
>f+++++++++ x\#012y
>f+++++++++ x\#134#012y
EOF
}

# What rsync takes for UTF-8 is what glibc's iconv from UTF-8 to UTF-8
# converts: sequences of up to six bytes (U+7FFFFFFF), shortest forms, no
# surrogates.
@test "invalid UTF-8 is printed as \\#ooo, valid UTF-8, tab, DEL and C1 controls as they are" {
	need_cmd rsync
	# name, then how rsync prints it
	local -a table=(
		$'inv\xff'                    'inv\#377'
		$'latin1 caf\xe9'             'latin1 caf\#351'
		$'cut\xe2\x82'                'cut\#342\#202'
		$'cut2\xe2\x82x'              'cut2\#342\#202x'
		$'overlong\xc0\xaf'           'overlong\#300\#257'
		$'surrogate\xed\xa0\x80'      'surrogate\#355\#240\#200'
		$'f8short\xf8\x87\xbf\xbf\xbf' 'f8short\#370\#207\#277\#277\#277'
		$'fe\xfe'                     'fe\#376'
		$'beyond\xf4\x90\x80\x80'     $'beyond\xf4\x90\x80\x80'
		$'f5\xf5\x80\x80\x80'         $'f5\xf5\x80\x80\x80'
		$'f8\xf8\x88\x80\x80\x80'     $'f8\xf8\x88\x80\x80\x80'
		$'fc\xfc\x84\x80\x80\x80\x80' $'fc\xfc\x84\x80\x80\x80\x80'
		$'caf\xc3\xa9'                $'caf\xc3\xa9'
		$'euro\xe2\x82\xac'           $'euro\xe2\x82\xac'
		$'emoji\xf0\x9f\x98\x80'      $'emoji\xf0\x9f\x98\x80'
		$'nonchar\xef\xbf\xbe'        $'nonchar\xef\xbf\xbe'
		$'tab\tx'                     $'tab\tx'
		$'del\x7fx'                   $'del\x7fx'
		$'c1\xc2\x85x'                $'c1\xc2\x85x'
		$'cr\rx'                      'cr\#015x'
		$'esc\e[31mx'                 'esc\#033[31mx'
		'bs\x'                        'bs\x'
		'\#0'                         '\#0'
		'\#12'                        '\#12'
		'\#1234'                      '\#134#1234'
		'\#abc'                       '\#abc'
	)
	local i want='.d..t...... ./'
	for ((i = 0; i < ${#table[@]}; i += 2)); do
		touch "$S/${table[i]}"
		want+=$'\n>f+++++++++ '"${table[i + 1]}"
	done
	old_dst
	old_top
	side_by_side
	rsync_printed <<<"$want"
}

# Names of every byte pair, the edges of UTF-8 (leads C0 to FF, overlong
# forms, surrogates, beyond U+10FFFF, five and six bytes), literal \#ooo and near misses, in
# file names, directory names and symlink targets.
@test "every byte pair and the edges of UTF-8 print as rsync prints them" {
	need_cmd rsync
	[ -x "$PY" ] || needs "needs $PY"
	"$PY" - "$S" <<'EOF'
import os, sys
root = os.fsencode(sys.argv[1])
def touch(name):
    path = root + b'/' + name
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'wb').close()
seconds = (0x01, 0x09, 0x0a, 0x1f, 0x20, 0x23, 0x30, 0x41, 0x5c, 0x7f, 0x80, 0x8f, 0x90,
           0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xe0, 0xf0, 0xf8, 0xfe, 0xff)
for a in range(1, 256):
    if a != 0x2f:
        for b in seconds:
            touch(b'p' + bytes([a, b]))
for a in range(0xe0, 0xf0):
    for b in (0x80, 0x9f, 0xa0, 0xbf, 0x41):
        for c in (0x80, 0xbf, 0x41):
            touch(b't' + bytes([a, b, c]))
for a in range(0xf0, 0x100):
    for b in (0x80, 0x83, 0x84, 0x87, 0x88, 0x8f, 0x90, 0xbf, 0x41):
        for k in range(2, 6):
            for tail in ([0x80] * k, [0xbf] * k, [0x80] * (k - 1) + [0x41]):
                touch(b'q' + bytes([a, b] + tail))
for s in (b'\\#012', b'\\#0', b'\\#01', b'\\#0123', b'\\\\#012', b'\\#a12', b'\\#999', b'\\#',
          b'\\', b'\\#\\#012', '\\#\u0661\u0662\u0663'.encode(), b'\\#01\xff2', b'\\\xff#012',
          b'\\#012\\#012', b'\\\n#012', b'\\#\t12'):
    touch(b'e' + s + b'y')
for c in list(range(1, 32)) + [127]:
    touch(b'c' + bytes([c]) + b'x')
    touch(bytes([c]) + b'lead')
for i, t in enumerate((b'a\nb', b'\\#012', b'\xff\xfe', b'x\ty', b'\xe2\x82', b'caf\xc3\xa9', b'../\x7f')):
    os.symlink(t, root + b'/link%d' % i)
for d in (b'd\n', b'd\\#011', b'd\xff', b'd\xc3\xa9', b'd\xe2\x82'):
    touch(d + b'/in\\#1234')
EOF
	old_dst
	old_top
	side_by_side
	[ "$(wc -l <"$W/rsync.out")" -gt 6000 ]
}

# rsync converts a line in chunks of at most 1023 bytes and sees a literal
# \#ooo only when all of it is in one chunk; a multibyte character that
# does not fit ends a chunk early.
@test "a literal \\#ooo and multibyte characters across rsync's 1023-byte chunks print as rsync prints them" {
	need_cmd rsync
	[ -x "$PY" ] || needs "needs $PY"
	"$PY" - "$S" <<'EOF'
import os, sys
root = os.fsencode(sys.argv[1])
def touch(name):
    path = root + b'/' + name
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'wb').close()
seg = b'a' * 199
for ch in (b'', b'\xc3\xa9', b'\xe2\x82\xac', b'\xf0\x9f\x98\x80', b'\xff', b'\n'):
    base = b'L%d' % len(ch) + (b'n' if ch == b'\n' else b'') + b'/' + b'/'.join([seg] * 4)
    for k in range(14):
        # a line is ">f+++++++++ " (12 bytes) and the path: ch ends near byte 1023
        pad = 1023 - 12 - len(base) - 1 - len(ch) - 8 + k
        name = b'b' * pad + ch + b'\\#012' + b'c' * 200 + b'\\#345' + b'd' * 50
        touch(base + b'/' + name[:250])
        touch(base + b'/' + name[:200] + b'/' + name[200:400] + b'/' + b'e' * (k + 10) + ch + b'\\#077')
    # and near the second chunk's end
    for k in range(8):
        deep = base + b'/' + b'/'.join([seg] * 5) + b'/' + b'f' * (220 + k)
        touch(deep + b'/' + ch + b'\\#012' + b'g' * 20)
EOF
	old_dst
	old_top
	side_by_side
	# the chunks are real: some literal \#012 is left as it is
	grep -q 'bbb\\#012c' "$W/rsync.out"
}

# ---- the lines of each change

@test "new entries of every kind, into a DST that does not exist" {
	need_cmd rsync
	[ -x "$PY" ] || needs "needs $PY"
	echo hi >"$S/f"
	mkdir -p "$S/d/e"
	ln -s f "$S/l"
	mkfifo "$S/p"
	"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$S/sock"
	side_by_side
	rsync_printed <<'EOF'
created directory dst
cd+++++++++ ./
>f+++++++++ f
cd+++++++++ d/
cd+++++++++ d/e/
cL+++++++++ l -> f
cS+++++++++ p
cS+++++++++ sock
EOF
}

@test "devices, new and with other device numbers, mode or time" {
	need_root
	need_cmd rsync
	old_dst
	mknod "$S/new" c 1 3
	mknod "$S/blk" b 7 0
	mknod "$D0/blk" b 7 0
	touch -d 2001-01-01 "$D0/blk"
	mknod -m 600 "$S/mode" c 1 3
	mknod -m 644 "$D0/mode" c 1 3
	mknod "$S/rdev" c 1 3
	mknod "$D0/rdev" c 1 5
	touch -r "$S/mode" "$D0/mode"
	touch -r "$S/rdev" "$D0/rdev"
	old_top
	side_by_side
	rsync_printed <<'EOF'
.d..t...... ./
cD+++++++++ new
.D..t...... blk
.D...p..... mode
cDc........ rdev
EOF
}

@test "a DST whose top directory agrees prints no ./ line; one whose time or mode differs does" {
	need_cmd rsync
	echo a >"$S/a"
	old_dst
	cp -a "$S/a" "$D0/a"
	same_top
	side_by_side
	rsync_printed </dev/null
	rm -rf "$W"/rsync* "$W"/dirsync*
	old_top
	side_by_side
	rsync_printed <<<'.d..t...... ./'
	rm -rf "$W"/rsync* "$W"/dirsync*
	same_top
	chmod 700 "$D0"
	side_by_side
	rsync_printed <<<'.d...p..... ./'
}

@test "files: time, size, mode, owner and group changes" {
	need_root
	need_cmd rsync
	old_dst
	local f
	for f in time size mode owner group both same; do
		echo "$f" >"$S/$f"
		cp -a "$S/$f" "$D0/$f"
	done
	touch -d 2001-01-01 "$D0/time"
	echo longer >"$D0/size"
	touch -r "$S/size" "$D0/size"
	chmod 600 "$D0/mode"
	chown 1 "$D0/owner"
	chgrp 2 "$D0/group"
	chown 3:4 "$D0/both"
	chmod 700 "$D0/both"
	old_top
	side_by_side
	rsync_printed <<'EOF'
.d..t...... ./
>f..t...... time
>f.s....... size
.f...p..... mode
.f....o.... owner
.f.....g... group
.f...pog... both
EOF
}

@test "-c: other contents of the same size and time, and the same contents at another time" {
	need_cmd rsync
	old_dst
	echo abc >"$S/content"
	echo xyz >"$D0/content"
	touch -d 2000-01-01 "$S/content" "$D0/content"
	echo same >"$S/time"
	echo same >"$D0/time"
	touch -d 2001-01-01 "$D0/time"
	old_top
	side_by_side -c
	rsync_printed <<'EOF'
.d..t...... ./
>fc........ content
.f..t...... time
EOF
}

@test "directories: time, mode and owner changes" {
	need_root
	need_cmd rsync
	old_dst
	mkdir "$S/time" "$S/mode" "$S/owner" "$D0/time" "$D0/mode" "$D0/owner"
	touch -d 2001-01-01 "$D0/time"
	chmod 700 "$D0/mode"
	chown 5 "$D0/owner"
	touch -r "$S/mode" "$D0/mode"
	touch -r "$S/owner" "$D0/owner"
	old_top
	side_by_side
	rsync_printed <<'EOF'
.d..t...... ./
.d..t...... time/
.d...p..... mode/
.d....o.... owner/
EOF
}

@test "symlinks: another target, another time, another owner" {
	need_root
	need_cmd rsync
	old_dst
	ln -s t "$S/target"
	ln -s u "$D0/target"
	ln -s t "$S/time"
	ln -s t "$D0/time"
	touch -h -d 2001-01-01 "$D0/time"
	ln -s t "$S/owner"
	ln -s t "$D0/owner"
	chown -h 9 "$D0/owner"
	touch -h -r "$S/target" "$D0/target"
	touch -h -r "$S/owner" "$D0/owner"
	old_top
	side_by_side
	rsync_printed <<'EOF'
.d..t...... ./
cLc........ target -> t
.L..t...... time -> t
.L....o.... owner -> t
EOF
}

@test "deletions: files, symlinks, specials and whole trees" {
	need_cmd rsync
	echo keep >"$S/keep"
	old_dst
	cp -a "$S/keep" "$D0/keep"
	echo x >"$D0/f"
	mkdir -p "$D0/d/e"
	echo y >"$D0/d/e/g"
	ln -s z "$D0/l"
	mkfifo "$D0/p"
	old_top
	side_by_side
	rsync_printed <<'EOF'
.d..t...... ./
*deleting   f
*deleting   d/
*deleting   d/e/
*deleting   d/e/g
*deleting   l
*deleting   p
EOF
}

# rsync replaces an entry of another type without a *deleting line for it;
# a directory's contents deleted on the way are listed.
@test "type changes print the new entry only, and a replaced directory's contents as deleted" {
	need_root
	need_cmd rsync
	old_dst
	echo x >"$S/file_for_dir"
	mkdir "$D0/file_for_dir"
	echo x >"$S/file_for_tree"
	mkdir "$D0/file_for_tree"
	echo y >"$D0/file_for_tree/in"
	mkdir "$S/dir_for_file"
	echo x >"$D0/dir_for_file"
	ln -s t "$S/link_for_file"
	echo x >"$D0/link_for_file"
	echo x >"$S/file_for_link"
	ln -s t "$D0/file_for_link"
	ln -s t "$S/link_for_tree"
	mkdir -p "$D0/link_for_tree/sub"
	echo z >"$D0/link_for_tree/sub/z"
	mkfifo "$S/fifo_for_file"
	echo x >"$D0/fifo_for_file"
	echo x >"$S/file_for_fifo"
	mkfifo "$D0/file_for_fifo"
	mknod "$S/device_for_fifo" c 1 3
	mkfifo "$D0/device_for_fifo"
	mkdir "$S/dir_for_link"
	ln -s t "$D0/dir_for_link"
	old_top
	side_by_side
	rsync_printed <<'EOF'
.d..t...... ./
>f+++++++++ file_for_dir
*deleting   file_for_tree/in
>f+++++++++ file_for_tree
cd+++++++++ dir_for_file/
cL+++++++++ link_for_file -> t
>f+++++++++ file_for_link
*deleting   link_for_tree/sub/
*deleting   link_for_tree/sub/z
cL+++++++++ link_for_tree -> t
cS+++++++++ fifo_for_file
>f+++++++++ file_for_fifo
cD+++++++++ device_for_fifo
cd+++++++++ dir_for_link/
EOF
}

# ---- warnings

# Run as nobody, the unreadable file's warning is the only output.
@test "a warning names a file with control characters on one line, escaped" {
	need_root
	need_cmd setpriv
	PUBLIC=$(mktemp -d /tmp/dirsync-itemize.XXXXXX)
	chmod 755 "$PUBLIC"
	mkdir "$PUBLIC/s"
	local name=$'x\ny\tz\e[1m\x7f\xc2\x9b\xff\\#012'
	echo secret >"$PUBLIC/s/$name"
	echo ok >"$PUBLIC/s/ok"
	chmod 000 "$PUBLIC/s/$name"
	chown -R nobody "$PUBLIC"
	run -23 --separate-stderr setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
		env XDG_STATE_HOME="$PUBLIC/state" "$PROCBOX" dirsync "$PUBLIC/s" "$PUBLIC/t"
	[ "$output" = "" ]
	[ "${#stderr_lines[@]}" = 1 ]
	[[ "$stderr" == "dirsync: "*'/s/x\#012y\#011z\#033[1m\#177\#302\#233\#377\#134#012'*": Permission denied" ]]
}

# ---- -H, -X, -A (rsync -aHAX)

# bats test_tags=needs:hard-links
@test "-H: a new hard-link group prints hf+++++++++ NAME => FIRST, a link added to a group too" {
	need_cmd rsync
	echo a >"$S/a"
	ln "$S/a" "$S/b"
	echo c >"$S/c"
	side_by_side -H
	rsync_printed <<'EOF'
created directory dst
cd+++++++++ ./
>f+++++++++ b
hf+++++++++ a => b
>f+++++++++ c
EOF
	mkdir -p "$D0"
	cp -a "$W/rsync/dst/." "$D0"
	rm -rf "$W"/rsync* "$W"/dirsync*
	ln "$S/c" "$S/c2"
	old_top
	side_by_side -H
	rsync_printed <<'EOF'
.d..t...... ./
hf+++++++++ c2 => c
EOF
}

# bats test_tags=needs:xattrs
@test "-X: an extended attribute changed prints the x column" {
	need_cmd rsync setfattr
	old_dst
	echo a >"$S/a"
	echo b >"$S/b"
	cp -a "$S/a" "$S/b" "$D0"
	setfattr -n user.k -v 1 "$S/a"
	setfattr -n user.k -v 1 "$D0/b"
	setfattr -n user.k -v 2 "$S/b"
	echo new >"$S/new"
	setfattr -n user.k -v 3 "$S/new"
	old_top
	side_by_side -X
	rsync_printed <<'EOF'
.d..t...... ./
.f........x a
.f........x b
>f+++++++++ new
EOF
}

# bats test_tags=needs:acls
@test "-A: an ACL changed prints the a column" {
	need_cmd rsync setfacl
	old_dst
	echo a >"$S/a"
	cp -a "$S/a" "$D0"
	setfacl -m u:1:r "$S/a"
	mkdir "$S/d" "$D0/d"
	setfacl -d -m u:1:rx "$S/d"
	touch -r "$S/d" "$D0/d"
	old_top
	side_by_side -A
	rsync_printed <<'EOF'
.d..t...... ./
.f.......a. a
.d.......a. d/
EOF
}

# A directory is read in windows of 512 entries, SRC's side of each on one
# thread and DST's on another: 1,300 entries of one directory, every kind
# of change spread across the windows, print what rsync prints, and DST
# ends as SRC is (the oracle is SRC: rsync leaves some times of the type
# flips at the time it made them).
# bats test_tags=needs:xattrs
@test "every kind of change across a large directory, read in windows on two threads, as rsync -HAX" {
	need_root
	need_cmd rsync
	old_dst
	"$PY" - "$S" "$D0" <<'PYEOF'
import os, sys
src, old = sys.argv[1], sys.argv[2]
def put(path, data, mode=0o644, t=1_000_000_000):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    os.utime(path, (t, t))
for k in range(1300):
    n, kind = "e%04d" % k, k % 13
    s, o = os.path.join(src, n), os.path.join(old, n)
    body = b"entry %d\n" % k
    if kind == 0:                                   # the same
        put(s, body); put(o, body)
    elif kind == 1:                                 # same size, another time
        put(s, body); put(o, body.upper(), t=1_000_000_100)
    elif kind == 2:                                 # another size
        put(s, body); put(o, body + b"more")
    elif kind == 3:                                 # another mode
        put(s, body, 0o600); put(o, body)
    elif kind == 4:                                 # another attribute value
        put(s, body); put(o, body)
        os.setxattr(s, "user.k", b"1"); os.setxattr(o, "user.k", b"2")
    elif kind == 5:                                 # an attribute only in SRC
        put(s, body); put(o, body)
        os.setxattr(s, "user.k", b"%d" % k)
    elif kind == 6:                                 # only in DST
        put(o, body)
    elif kind == 7:                                 # only in SRC
        put(s, body)
    elif kind == 8:                                 # a file for a directory
        put(s, body); os.mkdir(o); put(os.path.join(o, "in"), body)
    elif kind == 9:                                 # a directory for a file
        os.mkdir(s); put(os.path.join(s, "in"), body); put(o, body)
    elif kind == 10:                                # a symlink for a file
        os.symlink("t%d" % k, s); put(o, body)
    elif kind == 11:                                # another link target
        os.symlink("t%d" % k, s); os.symlink("u%d" % k, o)
    else:                                           # a new name of an old file
        os.link(os.path.join(src, "e%04d" % (k - 12)), s)
PYEOF
	old_top
	side_by_side -HAX
	[ "$(grep -c '^\*deleting' "$W/dirsync.out")" -ge 200 ]
	[ "$(grep -c '^hf' "$W/dirsync.out")" -ge 100 ]
	[ "$(grep -c '^\.f\.\.\.\.\.\.\.\.x' "$W/dirsync.out")" -ge 100 ]
	"$PY" "$BATS_TEST_DIRNAME/treecmp.py" "$S" "$W/dirsync/dst"
}
