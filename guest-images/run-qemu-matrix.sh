#!/bin/sh
# Runs every image with every variant switch on QEMU (run-on-qemu.sh) and prints one line per run; exit status 0
# when every run ended as expected (status 0, or 2 for the bad-switch cases). Uses the committed .elf files.
here=$(cd "$(dirname "$0")" && pwd)
fails=0
run() { # expected image append
    exp=$1; img=$2; app=$3
    out=$("$here/run-on-qemu.sh" "$here/$img/$img.elf" "$app" 2>&1); st=$?
    last=$(printf '%s\n' "$out" | grep -E "PASS|FAIL" | tail -1)
    perio=$(printf '%s\n' "$out" | grep -E "^per I/O" | tail -1)
    if [ "$st" -eq "$exp" ]; then r=ok; else r=FAIL; fails=$((fails + 1)); fi
    printf '%-4s %-16s %-58s status %s  %s %s\n' "$r" "$img" "[$app]" "$st" "$last" "$perio"
}
for v in "" "iommu.strict=1" "iommu.passthrough=1" "viommu.sync_map=0" "viommu.deferred_flush=0" "iommu.fq=single" \
         "nvme.poll=1" "viommu.sync_map=0 iommu.strict=1"; do
    run 0 nvme-fio "$v"
done
for w in "fio.rw=read fio.verify=1" "fio.rw=write fio.verify=1" "fio.rw=randread fio.verify=1" \
         "fio.rw=randwrite fio.verify=1" "fio.rw=randrw fio.verify=1" "fio.rw=write fio.bs=65536 fio.iodepth=8 fio.verify=1" \
         "fio.rw=randread fio.runtime_ms=50" "fio.rw=randrw fio.verify=1 iommu.fq=single fio.ios=5000"; do
    run 0 nvme-fio "$w"
done
for b in "fio.bogus=1" "iommu.strict=2" "iommu.fq=lazy" "fio.bs=abc" "fio.ios=5 fio.runtime_ms=3"; do
    run 2 nvme-fio "$b"
done
for v in "" "iommu.strict=1" "iommu.passthrough=1" "viommu.sync_map=0" "viommu.deferred_flush=0" "iommu.fq=single" \
         "nvme.poll=1"; do
    run 0 viommu-selftest "$v"
done
run 0 pci-scan ""
QEMU_EXTRA="-device loader,file=$here/../firmware/firmware.elf" run 0 pci-scan "pciscan.firmware=1"
echo "failures: $fails"
[ "$fails" -eq 0 ]
