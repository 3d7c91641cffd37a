#!/usr/bin/env bats
# dirsync on awkward trees and filesystems: no depth limit, 1-second
# timestamps, read-only source directories, directory attributes set only
# through descriptors, watch mode converging, and -H as rsync -aH.

bats_require_minimum_version 1.5.0
load helpers
load dirsync_helpers

setup() {
	ds_setup
}

teardown() {
	ds_teardown
}

# treecmp, where DST's exactness is not the subject: a state file of an older
# dirsync at DST's top is not a difference.
tc() {
	treecmp "$@"
}

# ---- no recursion limit

# deep_mirror SRC DST [RUNNER...]: dirsync on a 12,000-level tree mirrors it
# (0, treecmp-equal) or stops with a clean error (23 and a message, DST the
# tree down to where it stopped), never a crash, with the 512 KiB stack of
# a small board (deep recursion overflows it). rsync, run on the same
# tree, stops with 23 near PATH_MAX.
deep_mirror() {
	local src=$1 dst=$2
	shift 2
	run "$@" sh -c 'ulimit -s 512 && exec "$@"' sh timeout 600 "$DIRSYNC" "$src" "$dst"
	echo "dirsync: $status" >&2
	printf '%s\n' "$output" | cut -c1-300 | head -5 >&2
	if [ "$status" = 0 ]; then
		tc "$src" "$dst"
	else
		[ "$status" = 23 ]
		[ -n "$output" ]
		run "$PY" "$TREECMP" "$src" "$dst"
		[ "$status" = 1 ]
		[ "${#lines[@]}" = 1 ]
		[[ "${lines[0]}" == *": only in A (directory, "* ]]
	fi
	local st=0
	"$@" rsync -a -@-1 "$src/" "$dst.rsync/" >/dev/null 2>&1 || st=$?
	echo "rsync: $st" >&2
}

@test "a 12,000-level tree is mirrored or cleanly refused, never a crash (root)" {
	need_cmd rsync
	gen_deep "$S" 12000
	deep_mirror "$S" "$T"
}

@test "a 12,000-level tree is mirrored or cleanly refused, never a crash (nobody)" {
	need_root
	need_cmd rsync setpriv
	make_public
	gen_deep "$PUBLIC/s" 12000
	chown -R "nobody:$(id -g nobody)" "$PUBLIC"
	deep_mirror "$PUBLIC/s" "$PUBLIC/t" as_nobody
}

# ---- a DST with 1-second timestamps

@test "on a DST with 1-second timestamps the second run transfers nothing, as rsync -a" {
	need_loop
	need_cmd rsync
	make_ext4 "$W/coarse.img" 32 -I 128
	loop_attach "$W/coarse.img"
	mount_dev "$LOOPDEV" "$W/coarse"
	mkdir -p "$S/d/e"
	echo a >"$S/a"
	head -c 100000 /dev/urandom >"$S/d/big"
	echo f >"$S/d/e/f"
	ln -s a "$S/l"
	touch -d '2021-03-04 05:06:07.891234567' "$S/a" "$S/d/big" "$S/d/e/f"
	touch -h -d '2021-03-04 05:06:07.5' "$S/l"
	touch -d '2021-03-04 05:06:07.75' "$S/d/e" "$S/d" "$S"
	local t=$W/coarse/t r=$W/coarse/r
	# the filesystem keeps whole seconds only
	touch -d '2021-01-01 00:00:00.5' "$W/coarse/probe"
	[ "$(stat -c %y "$W/coarse/probe")" = "2021-01-01 00:00:00.000000000 +0000" ]
	rsync -a "$S/" "$r/"
	run -0 rsync -a -i "$S/" "$r/"
	[ "$output" = "" ]
	run -0 "$DIRSYNC" "$S" "$t"
	find "$t" -printf '%i %p\n' | sort >"$W/inodes-1"
	run -0 "$DIRSYNC" -i "$S" "$t"
	[ "$output" = "" ]
	find "$t" -printf '%i %p\n' | sort >"$W/inodes-2"
	diff "$W/inodes-1" "$W/inodes-2"
	run -0 "$DIRSYNC" -i --modify-window 1 "$S" "$t"
	[ "$output" = "" ]
	tc --modify-window 1 "$r" "$t"
	# a real change is still seen
	touch -d '2021-03-04 05:06:09.5' "$S/a"
	run -0 "$DIRSYNC" -i "$S" "$t"
	[ "$output" = ">f..t...... a" ] || [ "$output" = ".f..t...... a" ]
}

# ---- read-only source directories as non-root

@test "as nobody, a 0555 source directory is mirrored and updated, as rsync does" {
	need_root
	need_cmd rsync setpriv
	make_public
	mkdir -p "$PUBLIC/s/ro/sub"
	echo v1 >"$PUBLIC/s/ro/f"
	echo s >"$PUBLIC/s/ro/sub/g"
	chmod 555 "$PUBLIC/s/ro/sub" "$PUBLIC/s/ro"
	chown -R "nobody:$(id -g nobody)" "$PUBLIC"
	local s=$PUBLIC/s t=$PUBLIC/t r=$PUBLIC/r
	as_nobody rsync -a -@-1 "$s/" "$r/"
	run -0 as_nobody "$DIRSYNC" "$s" "$t"
	[ "$(stat -c %a "$t/ro")" = 555 ]
	as_nobody sh -c "chmod u+w '$s/ro' && echo version-two >'$s/ro/f' && echo new >'$s/ro/h' && chmod 555 '$s/ro'"
	as_nobody rsync -a -@-1 "$s/" "$r/"
	run -0 as_nobody "$DIRSYNC" "$s" "$t"
	echo "$output"
	[ "$(cat "$t/ro/f")" = version-two ]
	[ "$(cat "$t/ro/h")" = new ]
	[ "$(stat -c %a "$t/ro")" = 555 ]
	tc "$s" "$t"
	tc "$r" "$t"
	# a deletion inside a read-only directory too
	as_nobody sh -c "chmod u+w '$s/ro' && rm '$s/ro/h' && chmod 555 '$s/ro'"
	as_nobody rsync -a -@-1 --delete "$s/" "$r/"
	run -0 as_nobody "$DIRSYNC" "$s" "$t"
	tc "$s" "$t"
	tc "$r" "$t"
	chmod -R u+w "$PUBLIC"
}

# ---- directory attributes only through descriptors

# A tree whose directories hold either only directories or only other
# entries: then a by-name attribute call with an undecodable name (strace
# 6.1 shows fchmodat2 raw) can still be judged by the directory it is made in.
attr_tree() {
	mkdir -p "$1/top/a/x" "$1/top/b" "$1/top/c/y/z"
	echo 1 >"$1/top/a/x/f"
	echo 2 >"$1/top/b/g"
	ln -s g "$1/top/b/l"
	echo 3 >"$1/top/c/y/z/h"
	chmod 751 "$1/top/a"
	chmod 700 "$1/top/c/y"
	chmod 2775 "$1/top/b"
	chown 1234:5678 "$1/top/c" "$1/top/b/g"
	touch -d '2019-01-01 01:01:01.5' "$1/top/a/x" "$1/top/c/y/z" "$1/top/b" "$1/top/a/x/f"
	touch -d '2019-01-02 01:01:01.25' "$1/top/a" "$1/top/c/y" "$1/top/c"
	touch -d '2019-01-03 01:01:01.125' "$1/top" "$1"
}

# check_attr_calls TRACE: no call changes a directory's mode, owner or times
# by a path name; some do it through a descriptor. By name: chmod, chown,
# lchown, utime, utimes with a path, and the *at calls with a non-empty name
# (a NULL or empty name with AT_EMPTY_PATH is the descriptor itself, as is a
# /proc/self/fd/N path); the target, resolved from the call's directory
# descriptor (strace -y) or the process's working directory (chdir/fchdir
# followed), is judged by what it is after the run.
check_attr_calls() {
	"$PY" - "$1" "$W" <<'EOF'
import os, re, stat, sys
trace, cwd0 = sys.argv[1], sys.argv[2]
line_re = re.compile(r'^(\d+) +(.*)$')
call_re = re.compile(r'^([a-z0-9_]+)\((.*)\) += (-?\d+|0x[0-9a-f]+)(<[^>]*>)?')
fd_re = re.compile(r'^(\d+|AT_FDCWD)(?:<(.*)>)?$')
cwd = {}
fds = {}
pending = {}
bad, byfd, unknown = [], [], []

def unq(s):
    s = s.strip()
    if s == "NULL":
        return None
    if not (s.startswith('"') and s.endswith('"')):
        return s
    s = s[1:-1]
    return re.sub(r'\\(x[0-9a-f]{2}|[0-7]{1,3}|.)', lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == 'x'
                  else chr(int(m.group(1), 8)) if m.group(1)[0] in '01234567'
                  else {'n': '\n', 't': '\t', '"': '"', '\\': '\\'}.get(m.group(1), m.group(1)), s)

def split_args(s):
    out, depth, cur, q = [], 0, "", False
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            cur += c
            if c == '\\':
                cur += s[i + 1]
                i += 1
            elif c == '"':
                q = False
        elif c == '"':
            q = True
            cur += c
        elif c in '[{(<':
            depth += 1
            cur += c
        elif c in ']})>':
            depth -= 1
            cur += c
        elif c == ',' and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out

def base_of(pid, arg):
    m = fd_re.match(arg)
    if not m:
        return None
    if m.group(1) == "AT_FDCWD":
        return cwd.get(pid, cwd0)
    if m.group(2):
        return m.group(2)
    return fds.get(pid, {}).get(m.group(1))

def isdir(p):
    try:
        return stat.S_ISDIR(os.lstat(p).st_mode)
    except OSError:
        return False

def by_name(pid, call, base, name, line):
    if name is None or name == "":
        return False
    path = name if name.startswith("/") else os.path.join(base or cwd.get(pid, cwd0), name)
    if re.match(r'^/proc/(self|\d+)/fd/\d+$', path):
        return False
    if isdir(path):
        bad.append(line)
    return True

for raw in open(trace, errors="surrogateescape"):
    raw = raw.rstrip("\n")
    m = line_re.match(raw)
    if not m:
        continue
    pid, rest = m.group(1), m.group(2)
    if rest.endswith("<unfinished ...>"):
        pending[pid] = rest[:-len("<unfinished ...>")]
        continue
    r = re.match(r'^<\.\.\. [a-z0-9_]+ resumed>(.*)$', rest)
    if r:
        rest = pending.pop(pid, "") + r.group(1)
    c = call_re.match(rest)
    if not c:
        continue
    name, args, ret = c.group(1), split_args(c.group(2)), c.group(3)
    rpath = c.group(4)
    if rpath and ret.isdigit():
        fds.setdefault(pid, {})[ret] = rpath[1:-1]
    for a in args:
        fm = fd_re.match(a)
        if fm and fm.group(2) and fm.group(1) != "AT_FDCWD":
            fds.setdefault(pid, {})[fm.group(1)] = fm.group(2)
    if ret.startswith("-"):
        continue
    if name == "chdir":
        p = unq(args[0])
        cwd[pid] = os.path.normpath(os.path.join(cwd.get(pid, cwd0), p))
    elif name == "fchdir":
        b = base_of(pid, args[0])
        if b:
            cwd[pid] = b
    elif name in ("chmod", "chown", "lchown", "utime", "utimes"):
        by_name(pid, name, None, unq(args[0]), raw)
    elif name in ("fchmodat", "fchownat", "utimensat", "futimesat"):
        base = base_of(pid, args[0])
        target = unq(args[1])
        if not by_name(pid, name, base, target, raw) and base and isdir(base):
            byfd.append(raw)
    elif name in ("fchmod", "fchown"):
        b = base_of(pid, args[0])
        if b and isdir(b):
            byfd.append(raw)
    elif name == "syscall_0x1c4":  # fchmodat2(dirfd, path, mode, flags), shown raw
        flags = int(args[3], 16) if args[3].startswith("0x") else int(args[3])
        base = fds.get(pid, {}).get(str(int(args[0], 16) if args[0].startswith("0x") else int(args[0])))
        if flags & 0x1000:
            if base and isdir(base):
                byfd.append(raw)
            continue
        # a name it was called with: bad when that directory holds directories
        if base is None:
            unknown.append(raw)
        elif any(isdir(os.path.join(base, e)) for e in os.listdir(base)):
            bad.append(raw + "   [fchmodat2 by name in %s, which holds directories]" % base)

for l in bad:
    print("by name on a directory: " + l[:400])
for l in unknown:
    print("by name, directory unknown: " + l[:400])
print("%d directory attribute calls through descriptors" % len(byfd))
sys.exit(1 if bad or unknown or not byfd else 0)
EOF
}

@test "directory attributes are set through descriptors, never by path name" {
	need_root
	need_cmd strace rsync
	attr_tree "$S"
	cd "$W"
	strace -f -y -s 65535 -o "$W/trace1" "$DIRSYNC" "$S" "$T"
	tc "$S" "$T"
	run check_attr_calls "$W/trace1"
	echo "$output"
	[ "$status" = 0 ]
	# changed directory attributes on an existing mirror
	chmod 705 "$S/top/a"
	chown 4321:8765 "$S/top/c/y"
	touch -d '2018-06-06 06:06:06.6' "$S/top/a/x" "$S/top/c"
	echo 4 >"$S/top/b/g2"
	touch -d '2018-06-07 06:06:06.6' "$S/top/b"
	strace -f -y -s 65535 -o "$W/trace2" "$DIRSYNC" "$S" "$T"
	tc "$S" "$T"
	run check_attr_calls "$W/trace2"
	echo "$output"
	[ "$status" = 0 ]
}

# ---- watch mode converges

@test "-w: a directory removed and recreated with new content is mirrored" {
	need_cmd rsync
	mkdir -p "$S/d/sub" "$S/other"
	echo a >"$S/d/a"
	echo b >"$S/d/sub/b"
	echo o >"$S/other/o"
	start_watch --delay 100ms "$S" "$T"
	wait_until 20 ds_synced "$S" "$T"
	rm -rf "$S/d"
	mkdir -p "$S/d/new"
	echo c >"$S/d/c"
	echo n >"$S/d/new/n"
	wait_until 30 ds_synced "$S" "$T"
	# and it is watched like the one it replaced
	echo later >"$S/d/new/later"
	echo more >>"$S/d/c"
	wait_until 30 ds_synced "$S" "$T"
	watch_alive
}

@test "-w: a file with two hard links changed through the other name is mirrored for both" {
	need_cmd rsync
	mkdir -p "$S/d1" "$S/d2"
	echo one >"$S/d1/f"
	ln "$S/d1/f" "$S/d2/g"
	echo x >"$S/d1/x"
	start_watch --delay 100ms "$S" "$T"
	wait_until 20 ds_synced "$S" "$T"
	# written through d2/g: the events name d2 only
	echo two-longer >>"$S/d2/g"
	wait_until 30 ds_synced "$S" "$T"
	[ "$(cat "$T/d1/f")" = "$(cat "$S/d1/f")" ]
	watch_alive
}

@test "-w: DST deleted while watching is recreated after the next change" {
	need_cmd rsync
	mkdir -p "$S/d"
	echo a >"$S/a"
	echo b >"$S/d/b"
	start_watch --delay 100ms "$S" "$T"
	wait_until 20 ds_synced "$S" "$T"
	rm -rf "$T"
	echo c >"$S/c"
	wait_until 30 ds_synced "$S" "$T"
	watch_alive
}

@test "-w: a DST mount can be unmounted while dirsync is idle" {
	need_root
	need_cmd rsync
	mkdir -p "$S/d"
	echo a >"$S/a"
	echo b >"$S/d/b"
	mount_tmpfs "$T"
	start_watch --delay 100ms "$S" "$T"
	wait_until 20 ds_synced "$S" "$T"
	retry_until 10 umount "$T"
	watch_alive
}

@test "-w: a filesystem mounted inside SRC replaced by another is mirrored" {
	need_root
	need_cmd rsync
	mkdir -p "$S/m"
	echo top >"$S/top"
	mount_tmpfs "$S/m"
	echo first >"$S/m/a"
	mkdir "$S/m/d"
	echo first >"$S/m/d/b"
	mount_tmpfs "$W/second"
	echo second >"$W/second/c"
	mkdir "$W/second/e"
	echo second >"$W/second/e/f"
	start_watch --delay 200ms "$S" "$T"
	wait_until 20 ds_synced "$S" "$T"
	umount "$S/m"
	mount --bind "$W/second" "$S/m"
	MOUNTS+=("$S/m")
	wait_until 30 ds_synced "$S" "$T"
	# and the new one is watched
	echo later >"$S/m/e/later"
	wait_until 30 ds_synced "$S" "$T"
	watch_alive
}

@test "-w: a filesystem stacked over one mounted inside SRC is mirrored" {
	need_root
	need_cmd rsync
	mkdir -p "$S/m"
	echo top >"$S/top"
	mount_tmpfs "$S/m"
	echo first >"$S/m/a"
	mount_tmpfs "$W/second"
	echo second >"$W/second/c"
	start_watch --delay 100ms "$S" "$T"
	wait_until 20 ds_synced "$S" "$T"
	# on top of the first, which stays mounted: no event reaches a watch
	mount --bind "$W/second" "$S/m"
	MOUNTS+=("$S/m")
	wait_until 30 ds_synced "$S" "$T"
	watch_alive
}

@test "-w --rescan 1s heals a change no event reports (a lower layer of an overlay in SRC)" {
	need_root
	need_cmd rsync
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		needs "needs overlayfs in the kernel"
	mkdir -p "$S/m" "$W/lower/d" "$W/upper" "$W/work"
	echo top >"$S/top"
	echo first >"$W/lower/d/f"
	mount -t overlay dirsync-test -o "lowerdir=$W/lower,upperdir=$W/upper,workdir=$W/work" "$S/m"
	MOUNTS+=("$S/m")
	start_watch --delay 100ms --rescan 1s "$S" "$T"
	wait_until 20 ds_synced "$S" "$T"
	# written beside the overlay: seen through it, but no watch on the
	# overlay's inodes hears of it
	echo second-and-longer >"$W/lower/d/f"
	[ "$(cat "$S/m/d/f")" = second-and-longer ]
	wait_until 30 ds_synced "$S" "$T"
	[ "$(cat "$T/m/d/f")" = second-and-longer ]
	watch_alive
}

# ---- -H as rsync -aH

# Groups of different sizes and mtimes: rsync's quick check must not take
# one group's file for another's.
link_tree() {
	mkdir -p "$1/d1" "$1/d2" "$1/d3"
	echo group-one >"$1/d1/a"
	touch -d '2020-01-01 00:00:00.1' "$1/d1/a"
	ln "$1/d1/a" "$1/d2/b"
	ln "$1/d1/a" "$1/c"
	echo group-two, longer >"$1/d1/x"
	touch -d '2020-02-02 00:00:00.2' "$1/d1/x"
	ln "$1/d1/x" "$1/d2/y"
	echo alone, and longer still >"$1/d3/alone"
	echo linked outside the tree >"$1/d3/out"
	ln "$1/d3/out" "$W/outside-link"
}

@test "-H keeps hard-link groups across directories as rsync -aH, also when a group changes" {
	need_cmd rsync
	link_tree "$S"
	rsync -aH -@-1 "$S/" "$R/"
	tc "$S" "$R"
	run "$DIRSYNC" -H "$S" "$T"
	echo "$output"
	[ "$status" = 0 ]
	tc "$R" "$T"
	tc "$S" "$T"
	# a link broken off, one added, one moved to another group, a new group
	rm "$S/d2/b"
	echo now alone, the longest of them all >"$S/d2/b"
	ln "$S/d1/x" "$S/d3/z"
	rm "$S/c"
	ln "$S/d1/x" "$S/c"
	echo group-three: a new group >"$S/d3/p"
	touch -d '2020-03-03 00:00:00.3' "$S/d3/p"
	ln "$S/d3/p" "$S/d1/q"
	rm "$S/d2/y"
	rsync -aH -@-1 --delete "$S/" "$R/"
	tc "$S" "$R"
	run -0 "$DIRSYNC" -H "$S" "$T"
	tc "$R" "$T"
	tc "$S" "$T"
	run -0 "$DIRSYNC" -H -i "$S" "$T"
	[ "$output" = "" ]
}

@test "-H links hard-linked symlinks and fifos as rsync -aH does" {
	need_cmd rsync
	mkdir -p "$S/d1" "$S/d2"
	mkfifo "$S/d1/fifo"
	ln "$S/d1/fifo" "$S/d2/fifo2"
	ln -s d1/fifo "$S/sym"
	ln "$S/sym" "$S/d2/sym2"
	echo f >"$S/d1/f"
	rsync -aH -@-1 "$S/" "$R/"
	treecmp "$S" "$R"
	run -0 "$DIRSYNC" -H "$S" "$T"
	tc "$R" "$T"
	rm "$S/d2/sym2"
	ln -s elsewhere "$S/d2/sym2"
	ln "$S/d1/fifo" "$S/d1/fifo3"
	rsync -aH -@-1 --delete "$S/" "$R/"
	treecmp "$S" "$R"
	run -0 "$DIRSYNC" -H "$S" "$T"
	tc "$R" "$T"
}
