using System.Diagnostics;

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
        string? qemu = FindQemu();
        if (qemu == null)
        {
            Assert.Ignore("qemu-system-x86_64 is not installed");
        }

        var psi = new ProcessStartInfo(qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            "-machine", "q35", "-m", "256M", "-display", "none", "-serial", "stdio", "-no-reboot", "-nodefaults",
            "-kernel", GuestImages.PathOf(image), "-append", image == "hello" ? "a=1 b=two" : "iterations=1000",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeoutMs))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"QEMU did not stop within {TimeoutMs} ms; output so far: {stdout.Result}");
        }

        Assert.Multiple(() =>
        {
            Assert.That(stdout.Result, Does.Contain(expected), stderr.Result);
            Assert.That(p.ExitCode, Is.EqualTo(1), "debug exit with 0 gives (0 << 1) | 1");
        });
    }

    private static string? FindQemu()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(dir, "qemu-system-x86_64");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
