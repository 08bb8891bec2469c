using ManagedVmm.Testing;

namespace ManagedVmm.Guest.Tests;

/// <summary>
/// Boots the same committed images on QEMU q35 with virtio-iommu-pci and an NVMe on a fresh zeroed 64 MiB disk
/// (the command line of guest-images/run-on-qemu.sh), where <c>qemu-system-x86_64</c> is installed (ignored
/// otherwise): the guests must pass on the reference machine too.
/// </summary>
[Category("QemuCrossCheck")]
public sealed class QemuCrossCheckTests
{
    private const int TimeoutMs = 300_000;

    [TestCase("nvme-fio", "fio.ios=128 fio.verify=1", "nvme-fio: PASS")]
    [TestCase("nvme-fio", "fio.ios=128 fio.verify=1 iommu.strict=1", "per I/O: MAP 1.000 UNMAP 1.000 syncs 2.000 kicks 2.000")]
    [TestCase("viommu-selftest", "", "viommu-selftest: 43 checks, 0 failed: PASS")]
    public void Image_PassesOnQemuQ35WithVirtioIommuAndNvme(string image, string cmdline, string expected)
    {
        string qemu = QemuRunner.Find() ?? throw new IgnoreException("qemu-system-x86_64 is not installed");
        string disk = Path.Combine(Path.GetTempPath(), $"mvmm-guest-tests-{Guid.NewGuid():N}.img");
        try
        {
            using (var f = File.Create(disk))
            {
                f.SetLength(64L << 20);
            }

            var r = QemuRunner.Run(qemu, new[]
            {
                "-machine", "q35", "-m", "512M", "-display", "none", "-no-reboot", "-monitor", "none", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-device", "virtio-iommu-pci",
                "-drive", $"file={disk},if=none,id=d,format=raw",
                "-device", "nvme,drive=d,serial=mvmm0001",
                "-kernel", GuestRun.ImagePath(image), "-append", cmdline,
            }, TimeoutMs);
            if (r.TimedOut)
            {
                Assert.Fail($"QEMU did not stop within {TimeoutMs} ms");
            }

            Assert.Multiple(() =>
            {
                Assert.That(r.Stdout, Does.Contain(expected), r.Stderr);
                Assert.That(r.ExitCode, Is.EqualTo(1), "debug exit with 0 gives (0 << 1) | 1\n" + r.Stdout);
            });
        }
        finally
        {
            File.Delete(disk);
        }
    }
}
