#!/bin/bash
# Boot Debian's stock 6.1 kernel under qemu (TCG) with this machine's root
# file system shared read-only over 9p, and run a command inside it from the
# project directory (default: the integration tests marked for the VM).
#
#   scripts/vm/vmtest.sh [COMMAND...]
#
# scripts/vm/fetch.sh (run by `make deps`) installs qemu and busybox from
# Debian's packages and fetches the kernel into .output/vm/; this script uses
# no network. The guest's exit status is the command's.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VMDIR=${VMDIR:-$ROOT/.output/vm}
MEM=${VM_MEM:-2048}
# One vCPU: the guest's failures under TCG (below) came while kernel text was
# being patched for fentry trampolines with another vCPU running into it;
# with one there is no such race. VM_SMP=2 brings the old setup back.
SMP=${VM_SMP:-1}
TIMEOUT=${VM_TIMEOUT:-1200}
CMD=${*:-python3 tests/integration/run.py --vm}
mkdir -p "$VMDIR"

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x /bin/busybox ] || [ ! -f "$VMDIR/vmlinuz" ]; then
	echo "vmtest: qemu, busybox or the 6.1 kernel is missing: run 'make deps' (network) first" >&2
	exit 1
fi
# --- the initramfs: busybox, the modules, an init that mounts the host ---
ird=$(mktemp -d)
trap 'rm -rf "$ird"' EXIT
mkdir -p "$ird"/{bin,dev,proc,sys,host,modules}
cp /bin/busybox "$ird/bin/busybox"
for a in sh mount umount insmod mkdir chroot poweroff cat echo sleep ip; do
	ln -s busybox "$ird/bin/$a"
done
cp "$VMDIR"/modules/*.ko "$ird/modules/"
cat >"$ird/cmd" <<CMDEOF
cd '$ROOT' || exit 1
export HOME=/root PATH='$PATH' LANG=C.UTF-8 IPCPROF_IN_VM=1 PYTHONDONTWRITEBYTECODE=1
export TMPDIR=/run/vmtmp
$CMD
CMDEOF
cat >"$ird/init" <<'INITEOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ip link set lo up # TCP and UDP tests over 127.0.0.1 and ::1
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache \
	9pnet 9pnet_virtio 9p; do
	insmod /modules/$m.ko || echo "vmtest-guest: insmod $m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host ||
	{ echo "vmtest-guest: cannot mount the host root"; poweroff -f; }
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts
mount -t devpts devpts /host/dev/pts # tests run programs on a pseudo-terminal
mkdir -p /host/dev/shm
mount -t tmpfs shm /host/dev/shm # shm_open(): POSIX shared memory tests
# writable scratch space; the host's /tmp stays visible (the project may
# live there), read-only like the rest
mount -t tmpfs run /host/run
mkdir -p /host/run/vmtmp
mount -t tracefs tracefs /host/sys/kernel/tracing
cp /cmd /host/run/vmtest-cmd
echo "vmtest-guest: kernel $(cat /proc/sys/kernel/osrelease), running the command"
chroot /host /bin/sh /run/vmtest-cmd
echo "vmtest-guest: exit status $?"
poweroff -f
INITEOF
chmod +x "$ird/init"
(cd "$ird" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$VMDIR/initramfs.gz"

# --- boot ----------------------------------------------------------------
# Under TCG the 6.1 guest has, rarely, hit a soft lockup that never clears
# (3 of ~18 runs, not reproducible). The captured stacks show what precedes
# it: an exec'ing task oopses calling a NULL address from vm_mmap_pgoff into
# do_mmap, whose entry carries ipcprof's fentry trampoline while other tests
# attach and detach theirs (kernel text patching under TCG), and then
# ipcprof spins at do_mmap+0. A guest that oopses, reports a lockup, or
# stays silent past the timeout is booted once more; the log of every
# attempt is kept. loglevel=5 and softlockup_all_cpu_backtrace put the
# stacks of every CPU in that log, and the guest is given 20 s to print
# them before it is stopped.
log="$VMDIR/console.log"
boot() {
	# the log exists before tail opens it: qemu's redirection happens in
	# the background job, and tail may get there first (it then gave up,
	# and the guest's test lines were missing from the summary)
	: >"$log"
	qemu-system-x86_64 -accel tcg -cpu max -smp "$SMP" -m "$MEM" -nographic -no-reboot \
		-kernel "$VMDIR/vmlinuz" -initrd "$VMDIR/initramfs.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=5 softlockup_all_cpu_backtrace=1" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		</dev/null >"$log" 2>&1 &
	qpid=$!
	tail -n +1 -f "$log" --pid="$qpid" &
	tpid=$!
	deadline=$(($(date +%s) + TIMEOUT))
	while kill -0 "$qpid" 2>/dev/null; do
		if grep -qE "soft lockup|Oops:" "$log" || [ "$(date +%s)" -ge "$deadline" ]; then
			grep -qE "soft lockup|Oops:" "$log" && sleep 20
			kill "$qpid" 2>/dev/null
			wait "$qpid" 2>/dev/null
			kill "$tpid" 2>/dev/null
			return 1
		fi
		sleep 2
	done
	wait "$qpid" 2>/dev/null
	sleep 0.5
	kill "$tpid" 2>/dev/null
	return 0
}
for attempt in 1 2; do
	echo "vmtest: booting $(cat "$VMDIR/kernel-version") under qemu TCG (attempt $attempt)" >&2
	if boot; then
		break
	fi
	cp "$log" "$VMDIR/console-attempt$attempt.log"
	echo "vmtest: guest failed (oops, soft lockup or ${TIMEOUT}s timeout), see console-attempt$attempt.log" >&2
done
status=$(sed -n 's/^vmtest-guest: exit status \([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$status" ]; then
	echo "vmtest: the guest did not finish (see $log)" >&2
	exit 1
fi
exit "$status"
