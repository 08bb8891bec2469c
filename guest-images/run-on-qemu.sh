#!/bin/sh
# Boots a guest image on QEMU q35 with virtio-iommu-pci and an NVMe controller (as docs/guest.md describes) and
# returns the guest's status: 0 when the guest wrote debug-exit 0 (QEMU exits with 1), otherwise the guest's
# debug-exit value (QEMU status >> 1), or 125 when QEMU stopped without a debug exit (crash, reset, timeout).
#
#   guest-images/run-on-qemu.sh IMAGE ["kernel command line"]
#
# Environment: QEMU (default qemu-system-x86_64), QEMU_TIMEOUT seconds of wall time (default 300),
# QEMU_EXTRA extra QEMU arguments, NVME_DISK_MB size of the scratch disk (default 64; recreated each run).
set -u
if [ $# -lt 1 ]; then
    echo "usage: $0 IMAGE [append]" >&2
    exit 64
fi
image=$1
append=${2:-}
qemu=${QEMU:-qemu-system-x86_64}
timeout_s=${QEMU_TIMEOUT:-300}
disk=$(mktemp /tmp/mvmm-nvme-XXXXXX.img)
trap 'rm -f "$disk"' EXIT
dd if=/dev/zero of="$disk" bs=1M count="${NVME_DISK_MB:-64}" status=none
# shellcheck disable=SC2086
timeout "$timeout_s" "$qemu" -machine q35 -m 512M -nographic -no-reboot -monitor none -serial stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -device virtio-iommu-pci \
    -drive file="$disk",if=none,id=d,format=raw \
    -device nvme,drive=d,serial=mvmm0001 \
    -kernel "$image" -append "$append" ${QEMU_EXTRA:-}
status=$?
if [ $status -eq 124 ]; then
    echo "run-on-qemu: timed out after ${timeout_s}s" >&2
    exit 125
fi
if [ $((status & 1)) -eq 1 ]; then
    exit $((status >> 1))
fi
echo "run-on-qemu: QEMU exited with status $status without a debug exit" >&2
exit 125
