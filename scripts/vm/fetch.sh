#!/bin/bash
# What scripts/vm/vmtest.sh needs, fetched once (network: Debian's archive):
# qemu and busybox from Debian's packages, and the newest Debian 6.1 kernel
# package with the virtio/9p modules, unpacked into .output/vm/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VMDIR=${VMDIR:-$ROOT/.output/vm}
mkdir -p "$VMDIR"
need_pkgs=""
for p in qemu-system-x86 busybox-static; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need_pkgs="$need_pkgs $p"
done
if [ -n "$need_pkgs" ]; then
	echo "vmtest: installing$need_pkgs" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need_pkgs >/dev/null
fi

# --- the kernel: newest linux-image-6.1.0-N-amd64 in the archive ----------
if [ ! -f "$VMDIR/vmlinuz" ]; then
	pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' |
		sort -V | tail -n 1)
	if [ -z "$pkg" ]; then
		apt-get update -qq
		pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' |
			awk '{print $1}' | sort -V | tail -n 1)
	fi
	[ -n "$pkg" ] || { echo "vmtest: no linux-image-6.1.0-*-amd64 in the archive" >&2; exit 1; }
	echo "vmtest: fetching $pkg" >&2
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) ||
		{ echo "vmtest: apt-get download $pkg failed" >&2; exit 1; }
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	kver=$(ls "$tmp/root/lib/modules")
	rm -rf "$VMDIR/modules"
	mkdir -p "$VMDIR/modules"
	for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs \
		fscache 9pnet 9pnet_virtio 9p; do
		f=$(find "$tmp/root/lib/modules/$kver" -name "$m.ko*" -print -quit)
		[ -n "$f" ] || { echo "vmtest: module $m missing from $pkg" >&2; exit 1; }
		case "$f" in
		*.xz) xz -dc "$f" >"$VMDIR/modules/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$VMDIR/modules/$m.ko" ;;
		*) cp "$f" "$VMDIR/modules/$m.ko" ;;
		esac
	done
	cp "$tmp/root/boot/vmlinuz-$kver" "$VMDIR/vmlinuz.tmp"
	echo "$kver" >"$VMDIR/kernel-version"
	mv "$VMDIR/vmlinuz.tmp" "$VMDIR/vmlinuz"
	rm -rf "$tmp"
fi

