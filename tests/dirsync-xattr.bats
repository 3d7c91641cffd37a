#!/usr/bin/env bats
# dirsync -X (extended attributes) and -A (POSIX ACLs): the same tree, and
# the same itemize lines, as rsync -aX / -aA / -aXA on the same input.

bats_require_minimum_version 1.5.0
load helpers
load dirsync_helpers

setup() {
	ds_setup
}

teardown() {
	ds_teardown
}

need_tools() {
	need_cmd rsync setfattr getfattr setfacl getfacl
	[ -x "$PY" ] || needs "needs $PY"
	[ -f "$TREECMP" ] || needs "needs $TREECMP"
}

# same_tree [OPTIONS] A B: treecmp.py finds no difference (type, mode,
# owner, mtime, content, every xattr and ACL); its list goes to the log.
same_tree() {
	"$PY" "$TREECMP" "$@" >&2
}

# xa PATH NAME: one attribute's value, symlinks not followed; fails if absent.
xa() {
	getfattr -h --only-values -n "$2" "$1" 2>/dev/null
}

no_xa() {
	! getfattr -h -n "$2" "$1" >/dev/null 2>&1
}

# A directory below /tmp that nobody can reach (the bats one is private).
public_dir() {
	need_cmd setpriv
	PUBLIC=$(mktemp -d /tmp/dirsync-xattr.XXXXXX)
	chmod 755 "$PUBLIC"
}

# make_xtree DIR: attributes wherever Linux allows them. user.* on files and
# directories (the top one, a 0444 file, a 0555 directory, an empty value,
# binary bytes, rsync's own user.rsync.%stat); as root trusted.* and
# security.* also on a symlink and a FIFO; access ACLs on a file and a
# directory, a default ACL and the file that inherited it.
make_xtree() {
	local t=$1
	mkdir -p "$t/d/sub" "$t/acl" "$t/rodir"
	printf 'hello\n' >"$t/f"
	printf 'x' >"$t/ro"
	printf 'plain\n' >"$t/plain"
	ln -s f "$t/l"
	mkfifo "$t/p"
	setfattr -n user.top -v top "$t"
	setfattr -n user.a -v "value a" "$t/f"
	setfattr -n user.empty "$t/f"
	setfattr -n user.bin -v 0x00ff0a00 "$t/f"
	setfattr -n user.rsync.%stat -v "100644 0,0 0:0" "$t/f"
	setfattr -n user.d -v dir "$t/d"
	setfattr -n user.ro -v ro "$t/ro"
	setfattr -n user.rodir -v rodir "$t/rodir"
	if [ "$(id -u)" = 0 ]; then
		setfattr -n trusted.t -v trusted "$t/f"
		setfattr -n security.s -v security "$t/f"
		setfattr -n security.selinux -v "system_u:object_r:etc_t:s0" "$t/f"
		setfattr -n trusted.dir -v T "$t/d/sub"
		setfattr -h -n trusted.link -v L "$t/l"
		setfattr -n trusted.fifo -v P "$t/p"
	fi
	setfacl -m u:65534:rwx,g:65534:r "$t/f"
	setfacl -m u:65534:rx "$t/d"
	setfacl -d -m u:65534:rwx,g:65534:rx "$t/acl"
	printf 'inherited\n' >"$t/acl/inherited"
	mkdir "$t/acl/subdir"
	chmod 444 "$t/ro"
	chmod 555 "$t/rodir"
	touch -d '2020-01-02 03:04:05.123456789' "$t/f" "$t/acl/inherited"
	touch -h -d '2019-05-06 07:08:09.5' "$t/l"
}

# The tree a DST had before: what make_xtree makes, changed, with extras of
# every kind: attributes SRC lacks, another value, another ACL.
make_old_dst() {
	rsync -aXA -@-1 "$S/" "$1/"
	chmod 755 "$1/rodir"
	setfattr -n user.extra -v x "$1/f"
	setfattr -n user.a -v stale "$1/f"
	setfattr -n user.rsync.%old -v o "$1/f"
	setfattr -n user.extra -v x "$1/rodir"
	setfattr -n user.extra -v x "$1/d"
	setfacl -m u:1:r "$1/plain"
	setfacl -m u:1:rwx "$1/f"
	setfacl -d -m u:1:r "$1/d"
	if [ "$(id -u)" = 0 ]; then
		setfattr -n trusted.extra -v x "$1/f"
		setfattr -n security.extra -v x "$1/d"
		setfattr -h -n trusted.extra -v x "$1/l"
		setfattr -n trusted.fifo -v changed "$1/p"
	fi
	chmod 555 "$1/rodir"
}

@test "-X as root copies user, trusted and security xattrs on every kind of entry, as rsync -aX" {
	need_root
	need_tools
	make_xtree "$S"
	run -0 rsync -aX -@-1 "$S/" "$R/"
	[ "$(xa "$R/f" user.a)" = "value a" ] && [ "$(xa "$R/f" trusted.t)" = trusted ]
	[ "$(xa "$R/f" security.selinux)" = "system_u:object_r:etc_t:s0" ]
	[ "$(xa "$R/l" trusted.link)" = L ] && [ "$(xa "$R/p" trusted.fifo)" = P ]
	[ "$(xa "$R/ro" user.ro)" = ro ] && [ "$(xa "$R" user.top)" = top ]
	no_xa "$R/f" user.rsync.%stat
	no_xa "$R/f" system.posix_acl_access
	no_xa "$R/acl" system.posix_acl_default
	run -0 dirsync -X "$S" "$T"
	same_tree "$R" "$T"
}

@test "-X removes DST's extra xattrs but leaves its ACLs, as rsync -aX" {
	need_root
	need_tools
	make_xtree "$S"
	make_old_dst "$R"
	make_old_dst "$T"
	same_tree "$R" "$T"
	run -0 rsync -aX -@-1 "$S/" "$R/"
	no_xa "$R/f" user.extra
	no_xa "$R/f" trusted.extra
	no_xa "$R/d" security.extra
	no_xa "$R/l" trusted.extra
	no_xa "$R/f" user.rsync.%old
	[ "$(xa "$R/f" user.a)" = "value a" ] && [ "$(xa "$R/p" trusted.fifo)" = P ]
	getfacl -cEn "$R/plain" | grep -qx 'user:1:r--'
	getfacl -cEn "$R/d" | grep -qx 'default:user:1:r--'
	run -0 dirsync -X "$S" "$T"
	same_tree "$R" "$T"
}

@test "-A copies access and default ACLs and no xattr, as rsync -aA" {
	need_tools
	make_xtree "$S"
	run -0 rsync -aA -@-1 "$S/" "$R/"
	getfacl -cEn "$R/f" | grep -qx 'user:65534:rwx'
	getfacl -cEn "$R/acl" | grep -qx 'default:user:65534:rwx'
	getfacl -cEn "$R/acl/inherited" | grep -qx 'user:65534:rwx'
	no_xa "$R/f" user.a
	no_xa "$R/f" trusted.t
	run -0 dirsync -A "$S" "$T"
	same_tree "$R" "$T"
}

@test "-A removes ACLs SRC lacks, access and default, and leaves DST's xattrs, as rsync -aA" {
	need_tools
	make_xtree "$S"
	make_old_dst "$R"
	make_old_dst "$T"
	run -0 rsync -aA -@-1 "$S/" "$R/"
	no_xa "$R/plain" system.posix_acl_access
	[ "$(getfacl -cEn "$R/d" | grep -c '^default:')" = 0 ]
	[ -z "$(getfacl -cEn "$R/f" | grep '^user:1:')" ]
	[ "$(xa "$R/f" user.extra)" = x ] && [ "$(xa "$R/f" user.a)" = stale ]
	run -0 dirsync -A "$S" "$T"
	same_tree "$R" "$T"
}

@test "-XA copies xattrs and ACLs over an old DST, as rsync -aXA" {
	need_tools
	make_xtree "$S"
	make_old_dst "$R"
	make_old_dst "$T"
	run -0 rsync -aXA -@-1 "$S/" "$R/"
	run -0 dirsync -XA "$S" "$T"
	same_tree "$R" "$T"
	same_tree --exclude f "$S" "$T"
	run -0 dirsync -XA -i "$S" "$T"
	[ "$output" = "" ]
}

@test "--xattrs and --acls are -X and -A" {
	need_tools
	make_xtree "$S"
	run -0 rsync -aXA -@-1 "$S/" "$R/"
	run -0 dirsync --xattrs --acls "$S" "$T"
	same_tree "$R" "$T"
}

@test "entries made below a directory with a default ACL get SRC's ACLs, not inherited ones" {
	need_tools
	mkdir "$S/inh"
	setfacl -d -m u:65534:rwx "$S/inh"
	echo plain >"$S/inh/plain"
	echo own >"$S/inh/own"
	mkdir "$S/inh/sub" "$S/inh/keeps"
	setfacl -b "$S/inh/plain" "$S/inh/sub"
	setfacl -m u:1:r "$S/inh/own"
	chmod 640 "$S/inh/plain"
	run -0 rsync -aA -@-1 "$S/" "$R/"
	no_xa "$R/inh/plain" system.posix_acl_access
	no_xa "$R/inh/sub" system.posix_acl_default
	xa "$R/inh/keeps" system.posix_acl_default >/dev/null
	[ "$(stat -c %a "$R/inh/plain")" = 640 ]
	run -0 dirsync -A "$S" "$T"
	same_tree "$R" "$T"
}

@test "a mode changed on files with ACLs leaves mode and mask as rsync -aA does" {
	need_tools
	echo f >"$S/f"
	echo g >"$S/g"
	setfacl -m u:65534:rwx "$S/f" "$S/g"
	rsync -aA -@-1 "$S/" "$R/"
	rsync -aA -@-1 "$S/" "$T/"
	chmod 640 "$S/f"
	setfacl -m u:1:rw "$S/g"
	chmod 604 "$S/g"
	run -0 rsync -aA -@-1 "$S/" "$R/"
	[ "$(stat -c %a "$R/f")" = 640 ] && [ "$(stat -c %a "$R/g")" = 604 ]
	getfacl -cEn "$R/f" | grep -qx 'mask::r--'
	run -0 dirsync -A "$S" "$T"
	same_tree "$R" "$T"
}

@test "-i: changed xattrs are an 'x' on files, directories and symlinks, as rsync -i" {
	need_root
	need_tools
	mkdir "$S/d"
	echo f >"$S/f"
	ln -s f "$S/l"
	setfattr -n user.a -v 1 "$S/f"
	setfattr -n user.d -v 1 "$S/d"
	setfattr -h -n trusted.l -v 1 "$S/l"
	rsync -aX -@-1 "$S/" "$R/"
	rsync -aX -@-1 "$S/" "$T/"
	setfattr -n user.a -v 2 "$S/f"
	setfattr -x user.d "$S/d"
	setfattr -h -n trusted.l -v 2 "$S/l"
	run -0 rsync -aX -@-1 -i "$S/" "$R/"
	[ "$output" = ".f........x f
.L........x l -> f
.d........x d/" ]
	want=$output
	run -0 dirsync -X -i "$S" "$T"
	[ "$output" = "$want" ]
	same_tree "$R" "$T"
}

@test "-i: a changed ACL is an 'a', a mode change alone a 'p', as rsync -i" {
	need_tools
	mkdir "$S/d"
	echo f >"$S/f"
	echo g >"$S/g"
	echo h >"$S/h"
	setfacl -m u:65534:rwx "$S/f" "$S/g"
	setfacl -d -m u:65534:rx "$S/d"
	rsync -aA -@-1 "$S/" "$R/"
	rsync -aA -@-1 "$S/" "$T/"
	chmod 640 "$S/f"
	setfacl -m u:1:r "$S/g"
	setfacl -m u:1:r "$S/h"
	setfacl -k "$S/d"
	run -0 rsync -aA -@-1 -i "$S/" "$R/"
	[ "$output" = ".f...p..... f
.f.......a. g
.f.......a. h
.d.......a. d/" ]
	want=$output
	run -0 dirsync -A -i "$S" "$T"
	[ "$output" = "$want" ]
	same_tree "$R" "$T"
}

@test "-i: an ACL change that also changes the mode is an 'a' alone, as rsync -i" {
	need_tools
	echo g >"$S/g"
	setfacl -m u:65534:rwx "$S/g"
	rsync -aA -@-1 "$S/" "$R/"
	rsync -aA -@-1 "$S/" "$T/"
	# rsync sets the mode with the ACL, so its mode column stays '.'
	setfacl -m u:1:rw "$S/g"
	chmod 700 "$S/g"
	run -0 rsync -aA -@-1 -i "$S/" "$R/"
	[ "$output" = ".f.......a. g" ]
	run -0 dirsync -A -i "$S" "$T"
	[ "$output" = ".f.......a. g" ]
	same_tree "$R" "$T"
}

@test "-n -XA prints what rsync -n prints and changes no attribute" {
	need_tools
	make_xtree "$S"
	make_old_dst "$R"
	make_old_dst "$T"
	make_old_dst "$W/before"
	run -0 rsync -aXA -@-1 -n -i "$S/" "$R/"
	want=$output
	[ -n "$want" ]
	run -0 dirsync -XA -n -i "$S" "$T"
	[ "$output" = "$want" ]
	same_tree "$W/before" "$T"
}

@test "-XA as non-root copies user.* and ACLs only, and leaves DST's other namespaces alone, as rsync" {
	need_root
	need_tools
	public_dir
	S=$PUBLIC/src
	mkdir "$S"
	make_xtree "$S"
	make_old_dst "$PUBLIC/r"
	make_old_dst "$PUBLIC/t"
	setfattr -n trusted.t -v new "$S/f"
	chown -R nobody "$PUBLIC"
	chown -h nobody "$PUBLIC/r/l" "$PUBLIC/t/l"
	run -0 as_nobody rsync -aXA -@-1 "$S/" "$PUBLIC/r/"
	R=$PUBLIC/r
	[ "$(xa "$R/f" user.a)" = "value a" ] && no_xa "$R/f" user.extra
	[ "$(xa "$R/ro" user.ro)" = ro ] && [ "$(xa "$R/rodir" user.rodir)" = rodir ]
	no_xa "$R/rodir" user.extra
	[ "$(xa "$R/f" trusted.t)" = trusted ]
	[ "$(xa "$R/f" trusted.extra)" = x ] && [ "$(xa "$R/d" security.extra)" = x ]
	[ "$(xa "$R/p" trusted.fifo)" = changed ]
	[ "$(stat -c %a "$R/ro") $(stat -c %a "$R/rodir")" = "444 555" ]
	[ -z "$(getfacl -cEn "$R/plain" | grep '^user:1:')" ]
	run -0 as_nobody "$PROCBOX" dirsync -XA "$S" "$PUBLIC/t"
	same_tree "$R" "$PUBLIC/t"
}

@test "security.capability is set after the owner, so it survives, as rsync -aX" {
	need_root
	need_tools
	need_cmd setcap getcap
	echo cap >"$S/cap"
	rsync -a -@-1 "$S/" "$R/"
	rsync -a -@-1 "$S/" "$T/"
	# same data and mtime in DST: only the owner and the attribute change
	chown nobody "$S/cap"
	setcap cap_net_raw+ep "$S/cap"
	echo new >"$S/new"
	chown nobody "$S/new"
	setcap cap_net_bind_service+ep "$S/new"
	run -0 rsync -aX -@-1 "$S/" "$R/"
	[ "$(getcap "$R/cap")" = "$R/cap cap_net_raw=ep" ]
	[ "$(getcap "$R/new")" = "$R/new cap_net_bind_service=ep" ]
	run -0 dirsync -X "$S" "$T"
	same_tree "$R" "$T"
}

@test "a 64 KiB value and 1,000 names on tmpfs are copied, as rsync -aX" {
	need_root
	need_tools
	mkdir "$W/m"
	mount -t tmpfs -o size=64m dirsync-xattr "$W/m"
	MOUNTS+=("$W/m")
	touch "$W/m/probe"
	setfattr -n user.probe -v "0s$(head -c 65536 /dev/zero | base64 -w0)" "$W/m/probe" 2>/dev/null ||
		needs "needs tmpfs with large user.* xattrs (Linux 6.6)"
	S=$W/m/src
	mkdir "$S" "$S/d"
	"$PY" - "$S" <<'EOF'
import os, sys
s = sys.argv[1]
with open(s + "/big", "w") as f:
    f.write("big\n")
os.setxattr(s + "/big", "user.big", bytes(i * 7 % 251 for i in range(65536)))
for i in range(1000):
    os.setxattr(s + "/d", "user.n%04d" % i, b"v%d" % i)
EOF
	run -0 rsync -aX -@-1 "$S/" "$W/m/r/"
	[ "$(xa "$W/m/r/big" user.big | wc -c)" = 65536 ]
	run -0 dirsync -X "$S" "$W/m/t"
	same_tree "$W/m/r" "$W/m/t"
}

@test "a DST filesystem without xattrs: files copied, one warning, exit 23, as rsync -aX" {
	need_root
	need_tools
	mkdir "$W/ram"
	mount -t ramfs dirsync-xattr "$W/ram"
	MOUNTS+=("$W/ram")
	mkdir "$S/d"
	echo a >"$S/a"
	echo b >"$S/b"
	echo c >"$S/c"
	setfattr -n user.a -v 1 "$S/a"
	setfattr -n user.b -v 1 "$S/b"
	setfattr -n user.d -v 1 "$S/d"
	run -23 rsync -aX -@-1 "$S/" "$W/ram/r/"
	run -23 dirsync -X "$S" "$W/ram/t"
	[ "$(grep -ci 'not supported' <<<"$output")" = 1 ]
	same_tree "$W/ram/r" "$W/ram/t"
	run -23 dirsync -X "$S" "$W/ram/t"
	[ "$(grep -ci 'not supported' <<<"$output")" = 1 ]
}

@test "a SRC without xattrs or ACLs onto a filesystem without them is fine, as rsync -aXA" {
	need_root
	need_tools
	mkdir "$W/ram"
	mount -t ramfs dirsync-xattr "$W/ram"
	MOUNTS+=("$W/ram")
	mkdir "$S/d"
	echo a >"$S/a"
	ln -s a "$S/l"
	run -0 rsync -aXA -@-1 "$S/" "$W/ram/r/"
	run -0 dirsync -XA "$S" "$W/ram/t"
	[ "$output" = "" ]
	same_tree "$W/ram/r" "$W/ram/t"
}

unit() {
	local bin=${PROCBOX_UNIT:-$PROCBOX_TOP/build/unit/libbox_test}
	[ -x "$bin" ] || needs "unit test binary $bin not built (make check builds it)"
	run -0 "$bin" "$1"
	if [[ "$output" == skip:* ]]; then
		skip "${output#skip: }"
	fi
}

@test "unit: read, compare and apply user xattrs, by fd, O_PATH fd and name" {
	unit dirsync-xattr
}

@test "unit: trusted and security xattrs as root, on symlinks too" {
	unit dirsync-xattr-root
}

@test "unit: raw ACLs, compared as rsync does, default ACLs and inheritance" {
	unit dirsync-xattr-acl
}

@test "unit: 64 KiB values, 1,000 names, ENOTSUP, write permission lent to a non-root owner" {
	unit dirsync-xattr-limits
}
