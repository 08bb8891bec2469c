using ManagedVmm.Testing;

namespace ManagedVmm.Machine.Tests;

/// <summary>
/// Boots the committed guest images on QEMU q35 through their PVH note, where <c>qemu-system-x86_64</c> is
/// installed (ignored otherwise): the images must keep working on the reference machine too.
/// </summary>
[Category("QemuCrossCheck")]
public sealed class QemuCrossCheckTests
{
    private const int TimeoutMs = 120_000;

    [TestCase("hello", "cmdline: \"a=1 b=two\"")]
    [TestCase("compute", "compute: iterations 1000 checksum 0x")]
    public void GuestImage_BootsOnQemuQ35AndExitsWithStatusZero(string image, string expected)
    {
        string? qemu = QemuRunner.Find();
        if (qemu == null)
        {
            Assert.Ignore("qemu-system-x86_64 is not installed");
        }

        var r = QemuRunner.Run(qemu, new[]
        {
            "-machine", "q35", "-m", "256M", "-display", "none", "-serial", "stdio", "-no-reboot", "-nodefaults",
            "-kernel", GuestImages.PathOf(image), "-append", image == "hello" ? "a=1 b=two" : "iterations=1000",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        }, TimeoutMs);
        if (r.TimedOut)
        {
            Assert.Fail($"QEMU did not stop within {TimeoutMs} ms; output so far: {r.Stdout}");
        }

        Assert.Multiple(() =>
        {
            Assert.That(r.Stdout, Does.Contain(expected), r.Stderr);
            Assert.That(r.ExitCode, Is.EqualTo(1), "debug exit with 0 gives (0 << 1) | 1");
        });
    }
}
