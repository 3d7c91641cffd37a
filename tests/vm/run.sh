#!/usr/bin/env bash
# make check-vm: the tests that may change a machine (its wall clock, its
# cgroups) run in a VM instead: Debian's kernel under qemu (software
# emulation; no KVM needed), an initramfs of busybox-static, the static
# procbox and tests/vm/*.sh. Prints TAP and "N passed, N failed, N skipped";
# counts also go to $PROCBOX_COUNTS.
#
# PROCBOX           the static binary to test (default ./procbox)
# PROCBOX_VM_DIR    where the kernel and the image are kept (build/vm)
# PROCBOX_VM_KERNEL a kernel image to use instead of Debian's package
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
vm=${PROCBOX_VM_DIR:-$top/build/vm}
procbox=${PROCBOX:-$top/procbox}
mkdir -p "$vm"

counts() {
	[ -n "${PROCBOX_COUNTS:-}" ] && echo "$1 $2 $3" >"$PROCBOX_COUNTS"
	echo "$1 passed, $2 failed, $3 skipped"
}

# unavailable REASON: a skip, or a failure under PROCBOX_REQUIRE_ALL=1.
unavailable() {
	echo "# check-vm: $*" >&2
	if [ "${PROCBOX_REQUIRE_ALL:-0}" = 1 ]; then
		counts 0 1 0
		exit 1
	fi
	counts 0 0 1
	exit 0
}

# Debian's current cloud kernel, unpacked from its package (no root needed).
kernel() {
	[ -n "${PROCBOX_VM_KERNEL:-}" ] && { echo "$PROCBOX_VM_KERNEL"; return; }
	local k
	k=$(ls "$vm"/kernel/boot/vmlinuz-* 2>/dev/null | head -1)
	if [ -z "$k" ]; then
		local pkg
		pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
		[ -n "$pkg" ] || return 1
		(cd "$vm" && rm -f linux-image-*.deb && apt-get download "$pkg" >/dev/null 2>&1 &&
			dpkg -x linux-image-*.deb kernel) || return 1
		k=$(ls "$vm"/kernel/boot/vmlinuz-* 2>/dev/null | head -1)
	fi
	[ -n "$k" ] && echo "$k"
}

command -v qemu-system-x86_64 >/dev/null || unavailable "needs qemu-system-x86_64 (package qemu-system-x86)"
busybox=$(command -v busybox) || unavailable "needs busybox (package busybox-static)"
"$busybox" ls >/dev/null 2>&1 && ! ldd "$busybox" >/dev/null 2>&1 ||
	unavailable "$busybox is not static (package busybox-static)"
[ -x "$procbox" ] && ! ldd "$procbox" >/dev/null 2>&1 || unavailable "$procbox is not a static binary"
kern=$(kernel) || unavailable "no kernel: apt-get download of linux-image-cloud-amd64's kernel failed (apt-get update first)"

root="$vm/root"
rm -rf "$root"
mkdir -p "$root"/{bin,procbox/bin,tests,proc,sys,dev,tmp}
cp "$busybox" "$root/bin/busybox"
cp "$procbox" "$root/procbox/procbox"
for a in $("$root/procbox/procbox" --list); do ln -s ../procbox "$root/procbox/bin/$a"; done
cp "$top"/tests/vm/*.sh "$root/tests/"
rm -f "$root/tests/run.sh"
install -m 755 "$top/tests/vm/init" "$root/init"
(cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$vm/initrd.gz"

log="$vm/console.log"
timeout 900 qemu-system-x86_64 -accel tcg -m 512 -smp 2 -nographic -no-reboot \
	-kernel "$kern" -initrd "$vm/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 rdinit=/init" </dev/null >"$log" 2>&1
tr -d '\r' <"$log" | grep -E '^(not )?ok [0-9]+ |^# ' | grep -v '^# procbox-vm'
passed=$(tr -d '\r' <"$log" | grep -cE '^ok [0-9]+ ')
failed=$(tr -d '\r' <"$log" | grep -cE '^not ok [0-9]+ ')
if ! tr -d '\r' <"$log" | grep -q '^procbox-vm: done'; then
	echo "# check-vm: the VM did not finish; the end of $log:" >&2
	tail -20 "$log" >&2
	failed=$((failed + 1))
fi
counts "$passed" "$failed" 0
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
