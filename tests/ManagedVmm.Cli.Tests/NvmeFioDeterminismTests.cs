using ManagedVmm.Cli.Bench;

namespace ManagedVmm.Cli.Tests;

/// <summary>
/// Determinism of a real bench configuration: nvme-fio with seed costs, the same configuration run twice on fresh
/// machines gives identical virtual-time results (ignored while the image is not on the branch).
/// </summary>
public sealed class NvmeFioDeterminismTests
{
    [Test]
    public void SameNvmeFioConfigurationTwice_IdenticalVirtualTimeResults()
    {
        string image = Path.Combine(CliRunner.RepositoryRoot(), "guest-images", "nvme-fio", "nvme-fio.elf");
        if (!File.Exists(image))
        {
            Assert.Ignore("guest-images/nvme-fio/nvme-fio.elf is not built on this branch yet");
        }

        var runner = new MachineConfigurationRunner("nvme-fio.elf", File.ReadAllBytes(image));
        var config = BenchMatrix.Select(["lazy-single"], ["randrw-qd32"], CostProfile.Seed, 300, out _)[0];

        var a = runner.Run(config);
        var b = runner.Run(config);

        Assert.That(a.Error, Is.Null);
        Assert.That(a.Ios, Is.EqualTo(300));
        Assert.That(a.Maps, Is.GreaterThan(0), "the run went through the virtio-iommu");
        Assert.That(
            (b.Iops, b.BandwidthMiBs, b.LatencyMeanUs, b.LatencyP99Us, b.LatencyMaxUs, b.Maps, b.Unmaps, b.Kicks, b.VirtualTimeNs, b.Instructions),
            Is.EqualTo((a.Iops, a.BandwidthMiBs, a.LatencyMeanUs, a.LatencyP99Us, a.LatencyMaxUs, a.Maps, a.Unmaps, a.Kicks, a.VirtualTimeNs, a.Instructions)));
    }
}
