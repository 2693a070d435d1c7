#!/bin/sh
# Install the Debian packages ipcprof needs to build and test, if missing.
set -eu
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes (make fuzz, SANITIZE=1)
# python3-minimal: the distribution's stripped /usr/bin/python3.X (method-table tests)
# protobuf-compiler, python3-protobuf: decode Perfetto timelines with Perfetto's schema (tests)
# libmicrohttpd-dev: attach --metrics; prometheus (promtool), python3-prometheus-client, curl:
# scrape and check the metrics (tests); chromium: render the HTML report (tests)
# python3-torch: its DataLoader moves batches through shared memory (shared-memory tests)
# redis-server, redis-tools: a real server over a unix socket and TCP, checked
# against its own byte counters (tests/integration/test_redis.py)
# python3-distributed: Dask's client, scheduler and workers talk TCP on loopback
# (tests/integration/test_dask.py)
pkgs="clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libjson-c-dev libcmocka-dev pkg-config make gcc librsvg2-bin help2man bash-completion man-db libclang-rt-14-dev python3-minimal protobuf-compiler python3-protobuf libmicrohttpd-dev prometheus python3-prometheus-client curl chromium python3-torch redis-server redis-tools python3-distributed"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
